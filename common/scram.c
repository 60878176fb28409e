/* scram.c: the server side of SCRAM-SHA-1/-256 (RFC 5802, RFC 7677) and SASL PLAIN parsing. */
#include <sys/random.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

#include "xf.h"
#include "buf.h"
#include "base64.h"
#include "scram.h"

/*
 * Passwords are hashed after SASLprep (RFC 4013, as RFC 5802 asks; with
 * libidn's stringprep): what a client that normalises (slixmpp, Gajim,
 * Conversations do) derives its SCRAM proof from, and what PLAIN
 * compares.  Code points unassigned in Unicode 3.2 pass unchanged, as in
 * a query: refusing them would refuse today's emoji.  Printable ASCII is
 * its own SASLprep and skips the library.
 */

#define SCRAM_MSG_MAX		4096	/* any one SASL message */
#define SCRAM_USER_MAX		1023	/* authcid: one JID localpart */
#define SCRAM_PASS_MAX		4096
#define SCRAM_ITER_MAX		10000000
#define SCRAM_SNONCE_RAW	18	/* random bytes in our nonce part */

#define COND_MALFORMED		"malformed-request"
#define COND_NOTAUTH		"not-authorized"
#define COND_AUTHZID		"invalid-authzid"
#define COND_TEMP		"temporary-auth-failure"

enum {
	SCRAM_INIT,		/* waiting for client-first-message */
	SCRAM_FIRST,		/* have it; server-first-message next */
	SCRAM_CHALLENGED,	/* sent server-first; waiting for the proof */
	SCRAM_DONE		/* succeeded or failed: nothing more */
};

struct xf_scram_s {
	xf_hash_t	 sc_hash;
	int		 sc_state;
	int		 sc_fake;	/* unknown user: fail at the proof */
	const char	*sc_cbind;	/* base64 of our gs2 header */
	char		 sc_user[SCRAM_USER_MAX + 1];	/* decoded authcid */
	xf_buf_t	 sc_nonce;	/* client nonce, then client+server */
	/* client-first-bare "," server-first "," client-final-without-proof:
	 * grows one part per step and is the AuthMessage at the end. */
	xf_buf_t	 sc_auth;
	uint8_t		 sc_stored[XF_SCRAM_MAX_KEY];
	uint8_t		 sc_server[XF_SCRAM_MAX_KEY];
};

/*
 * The key that makes up salts for unknown users (RFC 5802 section 9:
 * do not reveal which users exist).  It is drawn before main() so the
 * master draws it once and every worker forked from it inherits the same
 * key: a client asking different workers about one unknown name then
 * sees one salt, as it would for a real user.  It still changes across
 * restarts, where a real user's salt does not; closing that would take a
 * secret kept on disk.
 */
static uint8_t	 fake_key[32];
static int	 fake_key_ok;

__attribute__((constructor)) static void
fake_key_init(void)
{
	if (getrandom(fake_key, sizeof(fake_key), 0) ==
	    (ssize_t)sizeof(fake_key))
		fake_key_ok = 1;
}

static int
hash_ok(xf_hash_t h)
{
	return h == XF_HASH_SHA1 || h == XF_HASH_SHA256;
}

static const EVP_MD *
hash_md(xf_hash_t h)
{
	return h == XF_HASH_SHA256 ? EVP_sha256() : EVP_sha1();
}

size_t
xf_hash_len(xf_hash_t h)
{
	return h == XF_HASH_SHA256 ? 32 : 20;
}

static int
hmac(xf_hash_t h, const void *key, size_t keylen, const void *data,
    size_t len, uint8_t *out)
{
	unsigned int	 n;

	if (keylen > INT_MAX)
		return XF_ERR;
	if (HMAC(hash_md(h), key, (int)keylen, data, len, out, &n) == NULL ||
	    n != xf_hash_len(h))
		return XF_ERR;
	return XF_OK;
}

static int
digest(xf_hash_t h, const void *data, size_t len, uint8_t *out)
{
	unsigned int	 n;

	if (EVP_Digest(data, len, out, &n, hash_md(h), NULL) != 1 ||
	    n != xf_hash_len(h))
		return XF_ERR;
	return XF_OK;
}

int
xf_scram_keys(xf_hash_t h, const char *password, size_t pwlen,
    const uint8_t *salt, size_t saltlen, unsigned iter,
    uint8_t *stored, uint8_t *server)
{
	uint8_t		 salted[XF_SCRAM_MAX_KEY], ckey[XF_SCRAM_MAX_KEY];
	size_t		 hl;
	int		 rc = XF_ERR;

	if (!hash_ok(h) || pwlen > SCRAM_PASS_MAX || saltlen == 0 ||
	    saltlen > SCRAM_MSG_MAX || iter < 1 || iter > SCRAM_ITER_MAX)
		return XF_ERR;
	hl = xf_hash_len(h);

	/* SaltedPassword := Hi(Normalize(password), salt, i) */
	if (PKCS5_PBKDF2_HMAC(pwlen ? password : "", (int)pwlen, salt,
	    (int)saltlen, (int)iter, hash_md(h), (int)hl, salted) != 1)
		goto fail;
	/* ClientKey := HMAC(SaltedPassword, "Client Key");
	 * StoredKey := H(ClientKey) */
	if (hmac(h, salted, hl, "Client Key", 10, ckey) != XF_OK ||
	    digest(h, ckey, hl, stored) != XF_OK)
		goto fail;
	/* ServerKey := HMAC(SaltedPassword, "Server Key") */
	if (hmac(h, salted, hl, "Server Key", 10, server) != XF_OK)
		goto fail;
	rc = XF_OK;
fail:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return rc;
}

/*
 * An empty password is refused: RFC 4616 cannot carry one, so such an
 * account could only ever log in by SCRAM.
 */
/*
 * SASLprep of password (len bytes): *out is password itself or a new
 * string (free it with free_prepped).  XF_ERR when SASLprep refuses it
 * (a prohibited character, broken bidi) or it comes out empty.
 */
static int
prep_password(const char *password, size_t len, char **out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)password;
	char	*tmp;
	size_t	 i;
	int	 rc;

	for (i = 0; i < len && p[i] >= 0x20 && p[i] < 0x7f; i++)
		;
	if (i == len) {
		*out = (char *)password;
		*outlen = len;
		return len ? XF_OK : XF_ERR;
	}
	if (memchr(password, '\0', len) != NULL ||
	    (tmp = strndup(password, len)) == NULL)
		return XF_ERR;
	rc = stringprep_profile(tmp, out, "SASLprep", 0);
	OPENSSL_cleanse(tmp, len);
	free(tmp);
	if (rc != STRINGPREP_OK)
		return XF_ERR;
	if ((*outlen = strlen(*out)) == 0) {
		free(*out);
		return XF_ERR;
	}
	return XF_OK;
}

static void
free_prepped(const char *password, char *prepped, size_t len)
{
	if (prepped != password) {
		OPENSSL_cleanse(prepped, len);
		free(prepped);
	}
}

int
xf_password_ok(const char *password)
{
	char	*pw;
	size_t	 len;

	if (prep_password(password, strlen(password), &pw, &len) != XF_OK)
		return XF_ERR;
	free_prepped(password, pw, len);
	return XF_OK;
}

int
xf_cred_make(const char *password, unsigned iter, xf_cred_t *out)
{
	char		*pw;
	size_t		 pwlen;
	xf_hash_t	 h;

	memset(out, 0, sizeof(*out));
	if (iter < 1 || iter > SCRAM_ITER_MAX ||
	    prep_password(password, strlen(password), &pw, &pwlen) != XF_OK)
		return XF_ERR;
	out->cr_iter = iter;
	if (RAND_bytes(out->cr_salt, sizeof(out->cr_salt)) != 1)
		goto fail;
	for (h = XF_HASH_SHA1; h <= XF_HASH_SHA256; h++)
		if (xf_scram_keys(h, pw, pwlen, out->cr_salt,
		    sizeof(out->cr_salt), iter, out->cr_stored[h],
		    out->cr_server[h]) != XF_OK)
			goto fail;
	free_prepped(password, pw, pwlen);
	return XF_OK;
fail:
	free_prepped(password, pw, pwlen);
	OPENSSL_cleanse(out, sizeof(*out));
	return XF_ERR;
}

/* For PLAIN: one PBKDF2 run, on the stronger hash. */
int
xf_cred_check(const xf_cred_t *cred, const char *password, size_t pwlen)
{
	uint8_t		 stored[XF_SCRAM_MAX_KEY], server[XF_SCRAM_MAX_KEY];
	char		*pw;
	size_t		 len;
	int		 rc = XF_ERR;

	if (prep_password(password, pwlen, &pw, &len) != XF_OK)
		return XF_ERR;
	if (xf_scram_keys(XF_HASH_SHA256, pw, len, cred->cr_salt,
	    sizeof(cred->cr_salt), cred->cr_iter, stored, server) != XF_OK)
		goto fail;
	if (CRYPTO_memcmp(stored, cred->cr_stored[XF_HASH_SHA256],
	    xf_hash_len(XF_HASH_SHA256)) == 0)
		rc = XF_OK;
fail:
	free_prepped(password, pw, len);
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server, sizeof(server));
	return rc;
}

/* The salt SCRAM shows for a user without an account: stable per name
 * (and per node run), like a real account's. */
static int
fake_salt(const char *user, uint8_t *salt)
{
	uint8_t		 mac[XF_SCRAM_MAX_KEY];

	if (!fake_key_ok) {
		if (RAND_bytes(fake_key, sizeof(fake_key)) != 1)
			return XF_ERR;
		fake_key_ok = 1;
	}
	if (hmac(XF_HASH_SHA256, fake_key, sizeof(fake_key), user,
	    strlen(user), mac) != XF_OK)
		return XF_ERR;
	memcpy(salt, mac, XF_SCRAM_SALT_LEN);
	return XF_OK;
}

int
xf_plain_check(const xf_cred_t *cred, const char *user, unsigned iter,
    const char *password, size_t pwlen)
{
	xf_cred_t	 dummy;

	if (cred != NULL)
		return xf_cred_check(cred, password, pwlen);
	/*
	 * Keys no password derives (random), checked all the same: one
	 * PBKDF2 run of iter, what a wrong password for a real account
	 * costs.  Without it the failure came 7 times sooner.
	 */
	memset(&dummy, 0, sizeof(dummy));
	dummy.cr_iter = iter;
	if (iter >= 1 && iter <= SCRAM_ITER_MAX && user != NULL &&
	    fake_salt(user, dummy.cr_salt) == XF_OK &&
	    RAND_bytes(dummy.cr_stored[XF_HASH_SHA256],
	    XF_SCRAM_MAX_KEY) == 1)
		(void)xf_cred_check(&dummy, password, pwlen);
	OPENSSL_cleanse(&dummy, sizeof(dummy));
	return XF_ERR;
}

/* Well-formed UTF-8 (RFC 3629): no overlongs, surrogates or > U+10FFFF. */
static int
utf8_ok(const char *str, size_t len)
{
	const uint8_t	*p = (const uint8_t *)str, *end = p + len;
	uint32_t	 cp, min;
	int		 n;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1, min = 0x80, cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2, min = 0x800, cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, cp = *p & 0x07;
		} else
			return 0;
		if (end - p <= n)
			return 0;
		for (p++; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

/*
 * Takes the next comma-separated field from *p.  *p becomes NULL after
 * the last field, so "a,b," yields a third, empty, field.
 */
static void
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char	*c;

	*f = *p;
	if ((c = memchr(*p, ',', (size_t)(end - *p))) == NULL) {
		*flen = (size_t)(end - *p);
		*p = NULL;
	} else {
		*flen = (size_t)(c - *p);
		*p = c + 1;
	}
}

/* "x=" followed by a value, for attribute x. */
static int
is_attr(const char *f, size_t flen, char attr)
{
	return flen >= 2 && f[0] == attr && f[1] == '=';
}

/* printable = %x21-2B / %x2D-7E: no controls, spaces or commas. */
static int
nonce_ok(const char *n, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == ',')
			return 0;
	return 1;
}

/* An extension we ignore: attr-val = ALPHA "=" 1*value-char. */
static int
ext_ok(const char *f, size_t flen)
{
	return flen >= 3 && ((f[0] >= 'a' && f[0] <= 'z') ||
	    (f[0] >= 'A' && f[0] <= 'Z')) && f[1] == '=' && utf8_ok(f, flen);
}

/* saslname: "=2C" is ',', "=3D" is '=', any other '=' is an error. */
static int
saslname_decode(const char *src, size_t len, char *dst, size_t dstlen)
{
	size_t	 i, n = 0;
	char	 c;

	for (i = 0; i < len; i++) {
		c = src[i];
		if (c == '=') {
			if (len - i < 3)
				return XF_ERR;
			if (src[i + 1] == '2' && src[i + 2] == 'C')
				c = ',';
			else if (src[i + 1] == '3' && src[i + 2] == 'D')
				c = '=';
			else
				return XF_ERR;
			i += 2;
		}
		if (n + 1 >= dstlen)
			return XF_ERR;
		dst[n++] = c;
	}
	dst[n] = '\0';
	if (n == 0 || !utf8_ok(dst, n))
		return XF_ERR;
	return XF_OK;
}

xf_scram_t *
xf_scram_new(xf_hash_t h)
{
	xf_scram_t	*s;

	if (!hash_ok(h) || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sc_hash = h;
	s->sc_state = SCRAM_INIT;
	return s;
}

void
xf_scram_free(xf_scram_t *s)
{
	if (s == NULL)
		return;
	xf_buf_free(&s->sc_nonce);
	xf_buf_free(&s->sc_auth);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/*
 * client-first-message = gs2-header client-first-message-bare
 *   gs2-header = gs2-cbind-flag "," [ authzid ] ","
 *   client-first-message-bare = [reserved-mext ","] username "," nonce
 *       ["," extensions]
 * Channel binding: "n" (client cannot) and "y" (client can, but thinks
 * we cannot) are accepted because we offer no -PLUS mechanism.  If xfed
 * ever offers SCRAM-*-PLUS, "y" must fail here: it then means a
 * downgrade.  "p=" asks for binding we do not do.
 * An authzid is refused: the authenticated identity is the only one a
 * c2s session may take.
 */
int
xf_scram_client_first(xf_scram_t *s, const char *msg, size_t len,
    char *authcid, size_t authcidlen, const char **cond)
{
	const char	*p, *end, *bare, *f, *nonce;
	size_t		 flen, noncelen, ulen;

	*cond = COND_MALFORMED;
	if (s->sc_state != SCRAM_INIT)
		goto fail;
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len) != NULL)
		goto fail;
	p = msg;
	end = msg + len;

	next_field(&p, end, &f, &flen);
	if (flen == 1 && f[0] == 'n')
		s->sc_cbind = "biws";		/* base64("n,,") */
	else if (flen == 1 && f[0] == 'y')
		s->sc_cbind = "eSws";		/* base64("y,,") */
	else if (is_attr(f, flen, 'p')) {
		*cond = COND_NOTAUTH;
		goto fail;
	} else
		goto fail;
	if (p == NULL)
		goto fail;

	next_field(&p, end, &f, &flen);
	if (flen != 0) {
		if (is_attr(f, flen, 'a'))
			*cond = COND_AUTHZID;
		goto fail;
	}
	if (p == NULL)
		goto fail;
	bare = p;

	/* username; a leading "m=" is a mandatory extension we lack. */
	next_field(&p, end, &f, &flen);
	if (p == NULL || !is_attr(f, flen, 'n') ||
	    saslname_decode(f + 2, flen - 2, s->sc_user,
	    sizeof(s->sc_user)) != XF_OK)
		goto fail;

	next_field(&p, end, &f, &flen);
	if (!is_attr(f, flen, 'r') || !nonce_ok(f + 2, flen - 2))
		goto fail;
	nonce = f + 2;
	noncelen = flen - 2;

	while (p != NULL) {
		next_field(&p, end, &f, &flen);
		if (!ext_ok(f, flen))
			goto fail;
	}

	ulen = strlen(s->sc_user);
	if (ulen >= authcidlen)
		goto fail;
	memcpy(authcid, s->sc_user, ulen + 1);

	if (xf_buf_append(&s->sc_auth, bare, (size_t)(end - bare)) != XF_OK ||
	    xf_buf_append(&s->sc_nonce, nonce, noncelen) != XF_OK) {
		*cond = COND_TEMP;
		goto fail;
	}
	s->sc_state = SCRAM_FIRST;
	*cond = NULL;
	return XF_OK;
fail:
	s->sc_state = SCRAM_DONE;
	return XF_ERR;
}

/*
 * Appends server-first-message to out: "r=" nonce ",s=" salt ",i=" iter.
 * snonce, when given, is only OUR part of the nonce: it is appended to
 * the client's, as a random one would be.  (For the RFC 5802 example
 * that is "3rfcNHYJY1ZVvWVs7j".)  It must be printable without commas.
 * cred NULL means the user does not exist: we answer with a made-up but
 * stable salt and fake_iter, the count a new account would get, and fail
 * at the proof, as for a wrong password.
 */
int
xf_scram_server_first(xf_scram_t *s, const xf_cred_t *cred,
    unsigned fake_iter, const char *snonce, xf_buf_t *out)
{
	xf_buf_t	 sf = { 0 };
	uint8_t		 salt[XF_SCRAM_MAX_KEY], raw[SCRAM_SNONCE_RAW];
	size_t		 hl = xf_hash_len(s->sc_hash), saltlen;
	unsigned	 iter;

	if (s->sc_state != SCRAM_FIRST)
		goto fail;

	if (cred != NULL) {
		if (cred->cr_iter < 1 || cred->cr_iter > SCRAM_ITER_MAX)
			goto fail;
		iter = cred->cr_iter;
		memcpy(salt, cred->cr_salt, sizeof(cred->cr_salt));
		saltlen = sizeof(cred->cr_salt);
		memcpy(s->sc_stored, cred->cr_stored[s->sc_hash], hl);
		memcpy(s->sc_server, cred->cr_server[s->sc_hash], hl);
	} else {
		if (!fake_key_ok) {
			if (RAND_bytes(fake_key, sizeof(fake_key)) != 1)
				goto fail;
			fake_key_ok = 1;
		}
		if (fake_iter < 1 || fake_iter > SCRAM_ITER_MAX)
			goto fail;
		s->sc_fake = 1;
		iter = fake_iter;
		if (fake_salt(s->sc_user, salt) != XF_OK)
			goto fail;
		saltlen = XF_SCRAM_SALT_LEN;
		/* Keys nobody can match; the proof is checked anyway so
		 * the failure takes the usual time. */
		if (RAND_bytes(s->sc_stored, (int)hl) != 1 ||
		    RAND_bytes(s->sc_server, (int)hl) != 1)
			goto fail;
	}

	if (snonce != NULL) {
		if (!nonce_ok(snonce, strlen(snonce)) ||
		    xf_buf_puts(&s->sc_nonce, snonce) != XF_OK)
			goto fail;
	} else {
		if (RAND_bytes(raw, sizeof(raw)) != 1 ||
		    xf_b64_encode(&s->sc_nonce, raw, sizeof(raw)) != XF_OK)
			goto fail;
	}

	if (xf_buf_puts(&sf, "r=") != XF_OK ||
	    xf_buf_append(&sf, xf_buf_data(&s->sc_nonce),
	    xf_buf_size(&s->sc_nonce)) != XF_OK ||
	    xf_buf_puts(&sf, ",s=") != XF_OK ||
	    xf_b64_encode(&sf, salt, saltlen) != XF_OK ||
	    xf_buf_printf(&sf, ",i=%u", iter) != XF_OK)
		goto fail;
	if (xf_buf_puts(&s->sc_auth, ",") != XF_OK ||
	    xf_buf_append(&s->sc_auth, xf_buf_data(&sf),
	    xf_buf_size(&sf)) != XF_OK ||
	    xf_buf_puts(&s->sc_auth, ",") != XF_OK ||
	    xf_buf_append(out, xf_buf_data(&sf), xf_buf_size(&sf)) != XF_OK)
		goto fail;

	xf_buf_free(&sf);
	s->sc_state = SCRAM_CHALLENGED;
	return XF_OK;
fail:
	xf_buf_free(&sf);
	s->sc_state = SCRAM_DONE;
	return XF_ERR;
}

/*
 * client-final-message = "c=" base64(gs2-header) ",r=" nonce
 *     ["," extensions] ",p=" ClientProof
 * On success appends server-final-message "v=" ServerSignature to out.
 * Syntax errors are malformed-request; a wrong channel binding, nonce
 * or proof, or an unknown user, is not-authorized.
 */
int
xf_scram_client_final(xf_scram_t *s, const char *msg, size_t len,
    xf_buf_t *out, const char **cond)
{
	xf_buf_t	 proof = { 0 };
	const char	*p, *end, *f, *cb, *nonce, *pf;
	size_t		 flen, cblen, noncelen, hl, i;
	uint8_t		 sig[XF_SCRAM_MAX_KEY], ckey[XF_SCRAM_MAX_KEY];
	uint8_t		 stored[XF_SCRAM_MAX_KEY];
	int		 match;

	*cond = COND_MALFORMED;
	if (s->sc_state != SCRAM_CHALLENGED)
		goto fail;
	if (len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len) != NULL)
		goto fail;
	hl = xf_hash_len(s->sc_hash);

	/* The proof comes last and the AuthMessage covers all before it;
	 * base64 has no comma, so the last comma starts it. */
	if ((pf = memrchr(msg, ',', len)) == NULL)
		goto fail;
	end = pf;
	pf++;
	if (!is_attr(pf, (size_t)(msg + len - pf), 'p') ||
	    xf_b64_decode(&proof, pf + 2, (size_t)(msg + len - pf - 2)) !=
	    XF_OK)
		goto fail;

	p = msg;
	next_field(&p, end, &f, &flen);
	if (p == NULL || !is_attr(f, flen, 'c'))
		goto fail;
	cb = f + 2;
	cblen = flen - 2;
	next_field(&p, end, &f, &flen);
	if (!is_attr(f, flen, 'r') || !nonce_ok(f + 2, flen - 2))
		goto fail;
	nonce = f + 2;
	noncelen = flen - 2;
	while (p != NULL) {
		next_field(&p, end, &f, &flen);
		if (!ext_ok(f, flen))
			goto fail;
	}

	*cond = COND_NOTAUTH;
	if (cblen != strlen(s->sc_cbind) ||
	    memcmp(cb, s->sc_cbind, cblen) != 0)
		goto fail;
	if (noncelen != xf_buf_size(&s->sc_nonce) ||
	    memcmp(nonce, xf_buf_data(&s->sc_nonce), noncelen) != 0)
		goto fail;
	if (xf_buf_size(&proof) != hl)
		goto fail;

	if (xf_buf_append(&s->sc_auth, msg, (size_t)(end - msg)) != XF_OK) {
		*cond = COND_TEMP;
		goto fail;
	}
	/* ClientKey := ClientProof XOR HMAC(StoredKey, AuthMessage);
	 * the client knows the password iff H(ClientKey) == StoredKey. */
	if (hmac(s->sc_hash, s->sc_stored, hl, xf_buf_data(&s->sc_auth),
	    xf_buf_size(&s->sc_auth), sig) != XF_OK) {
		*cond = COND_TEMP;
		goto fail;
	}
	for (i = 0; i < hl; i++)
		ckey[i] = (uint8_t)xf_buf_data(&proof)[i] ^ sig[i];
	if (digest(s->sc_hash, ckey, hl, stored) != XF_OK) {
		*cond = COND_TEMP;
		goto fail;
	}
	match = CRYPTO_memcmp(stored, s->sc_stored, hl) == 0;
	if (!match || s->sc_fake)
		goto fail;

	/* ServerSignature := HMAC(ServerKey, AuthMessage) */
	if (hmac(s->sc_hash, s->sc_server, hl, xf_buf_data(&s->sc_auth),
	    xf_buf_size(&s->sc_auth), sig) != XF_OK ||
	    xf_buf_puts(out, "v=") != XF_OK ||
	    xf_b64_encode(out, sig, hl) != XF_OK) {
		*cond = COND_TEMP;
		goto fail;
	}

	xf_buf_free(&proof);
	OPENSSL_cleanse(ckey, sizeof(ckey));
	s->sc_state = SCRAM_DONE;
	*cond = NULL;
	return XF_OK;
fail:
	xf_buf_free(&proof);
	OPENSSL_cleanse(ckey, sizeof(ckey));
	s->sc_state = SCRAM_DONE;
	return XF_ERR;
}

static int
plain_copy(const char *src, size_t len, char *dst, size_t dstlen)
{
	if (len >= dstlen || !utf8_ok(src, len))
		return XF_ERR;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return XF_OK;
}

/*
 * RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd, with
 * authcid and passwd non-empty and no further NUL.  Each output buffer
 * must hold its field and a NUL; the authcid is also held to one
 * localpart (1023 bytes).  On error the outputs are emptied.
 */
int
xf_sasl_plain_parse(const char *msg, size_t len, char *authzid,
    size_t azlen, char *authcid, size_t aclen, char *pass, size_t plen)
{
	const char	*end = msg + len, *n1, *n2;

	if (len == 0 || len > SCRAM_MSG_MAX)
		goto fail;
	if ((n1 = memchr(msg, '\0', len)) == NULL ||
	    (n2 = memchr(n1 + 1, '\0', (size_t)(end - n1 - 1))) == NULL ||
	    memchr(n2 + 1, '\0', (size_t)(end - n2 - 1)) != NULL)
		goto fail;
	if (n2 == n1 + 1 || n2 + 1 == end ||
	    (size_t)(n2 - n1 - 1) > SCRAM_USER_MAX)
		goto fail;
	if (plain_copy(msg, (size_t)(n1 - msg), authzid, azlen) != XF_OK ||
	    plain_copy(n1 + 1, (size_t)(n2 - n1 - 1), authcid, aclen) !=
	    XF_OK ||
	    plain_copy(n2 + 1, (size_t)(end - n2 - 1), pass, plen) != XF_OK)
		goto fail;
	return XF_OK;
fail:
	if (azlen > 0)
		authzid[0] = '\0';
	if (aclen > 0)
		authcid[0] = '\0';
	if (plen > 0)
		OPENSSL_cleanse(pass, plen);
	return XF_ERR;
}
