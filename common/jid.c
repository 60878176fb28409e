/* jid.c: JID parsing, validation and normalisation (RFC 7622). */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "xf.h"
#include "jid.h"

/*
 * A part that is all ASCII is checked and case-folded here (the common
 * case, on every stanza).  One with other characters goes through
 * libidn's stringprep profiles, Nodeprep, Nameprep and Resourceprep
 * (RFC 6122): the Unicode case folding and NFKC normalisation that
 * Prosody and ejabberd apply too, so "ÄB@x" and "äb@x" are one JID on
 * every server of a federation.  Code points unassigned in stringprep's
 * Unicode 3.2 (emoji in resources, say) pass unchanged, as in a query.
 * RFC 7622's PRECIS classes differ from these mostly on compatibility
 * characters, which stringprep maps and PRECIS refuses, and on a few
 * foldings (stringprep makes U+00DF "ss", PRECIS keeps it).
 *
 * Before and after: valid shortest-form UTF-8 (no surrogates, nothing
 * above U+10FFFF), no C0/C1 controls, the characters RFC 7622 forbids in
 * each part, and the length limits.
 */

#define PART_MAX	1023	/* bytes, RFC 7622 section 3.1 */
#define LABEL_MAX	63	/* bytes, RFC 1035 */

/*
 * Decodes one UTF-8 sequence at s (n bytes available) into *cp; returns
 * its length, or 0 when it is invalid: a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate or > U+10FFFF.
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c, min;
	size_t		 len, i;

	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		min = 0x10000;
		c &= 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* C0 and C1 controls and DEL: never allowed in any part. */
static int
is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Unicode space separators (Zs) other than U+0020. */
static int
is_wide_space(uint32_t c)
{
	return c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x202f || c == 0x205f || c == 0x3000 ||
	    c == 0x2028 || c == 0x2029;
}

/*
 * Runs profile on s in place (cap bytes there, with the NUL): the part
 * may grow (U+00DF becomes "ss").  XF_ERR when stringprep refuses it or
 * it no longer fits.
 */
static int
prep(char *s, size_t cap, const char *profile)
{
	char	*out;
	size_t	 n;

	if (stringprep_profile(s, &out, profile, 0) != STRINGPREP_OK)
		return XF_ERR;
	n = strlen(out);
	if (n == 0 || n > PART_MAX || n >= cap) {
		free(out);
		return XF_ERR;
	}
	memcpy(s, out, n + 1);
	free(out);
	return XF_OK;
}

/*
 * check(s), and for a part with non-ASCII (check says *wide) profile
 * and check again: what came out of stringprep must pass too.
 */
static int
normalise(char *s, size_t cap, int (*check)(char *, int *),
    const char *profile)
{
	int	 wide;

	if (check(s, &wide) != XF_OK)
		return XF_ERR;
	if (!wide)
		return XF_OK;
	if (prep(s, cap, profile) != XF_OK)
		return XF_ERR;
	return check(s, &wide);
}

/* The checks of a localpart; *wide when it holds non-ASCII. */
static int
local_check(char *s, int *wide)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 len, i, n;
	uint32_t	 c;

	*wide = 0;
	len = strlen(s);
	if (len == 0 || len > PART_MAX)
		return XF_ERR;
	for (i = 0; i < len; i += n) {
		if ((n = utf8_next(p + i, len - i, &c)) == 0)
			return XF_ERR;
		if (is_control(c) || is_wide_space(c))
			return XF_ERR;
		if (c >= 0x80) {
			*wide = 1;
			continue;
		}
		/* RFC 7622 section 3.3.1: these are never allowed. */
		if (strchr(" \"&'/:<>@", (int)c) != NULL)
			return XF_ERR;
		if (c >= 'A' && c <= 'Z')
			p[i] = (unsigned char)(c - 'A' + 'a');
	}
	return XF_OK;
}

int
xf_jid_localpart(char *s, size_t cap)
{
	return normalise(s, cap, local_check, "Nodeprep");
}

/* The inside of "[...]" must be an IPv6 address (RFC 7622 3.2, 3986). */
static int
ipv6_literal(char *s, size_t len)
{
	char			 tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr		 a;
	size_t			 i;

	if (len < 3 || s[len - 1] != ']' || len - 2 > INET6_ADDRSTRLEN)
		return XF_ERR;
	memcpy(tmp, s + 1, len - 2);
	tmp[len - 2] = '\0';
	if (inet_pton(AF_INET6, tmp, &a) != 1)
		return XF_ERR;
	for (i = 1; i < len - 1; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	return XF_OK;
}

/*
 * ASCII in a domainpart is held to letters, digits, '-', '_' and the
 * label dots: stricter than "anything but @ / \ [ ] and spaces", since
 * nothing else can name a host, and it keeps ':' and XML specials out.
 * '_' is tolerated because some deployments use it in component names.
 */
static int
domain_check(char *s, int *wide)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 len, i, n, label;
	uint32_t	 c;

	*wide = 0;
	len = strlen(s);
	if (len == 0 || len > PART_MAX)
		return XF_ERR;
	label = 0;
	for (i = 0; i < len; i += n) {
		if ((n = utf8_next(p + i, len - i, &c)) == 0)
			return XF_ERR;
		if (c == '.') {
			if (label == 0)
				return XF_ERR;	/* empty label */
			label = 0;
			continue;
		}
		label += n;
		if (label > LABEL_MAX)
			return XF_ERR;
		if (c >= 0x80) {
			if (is_control(c) || is_wide_space(c))
				return XF_ERR;
			*wide = 1;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			p[i] = (unsigned char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return XF_ERR;
	}
	if (label == 0)
		return XF_ERR;		/* ended in a second dot */
	return XF_OK;
}

/* Non-ASCII labels stay U-labels, after Nameprep. */
int
xf_jid_domainpart(char *s, size_t cap)
{
	size_t	 len = strlen(s);

	if (len > 0 && s[0] == '[')
		return ipv6_literal(s, len);
	/* One trailing dot is the fully-qualified form of the same name. */
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	return normalise(s, cap, domain_check, "Nameprep");
}

static int
resource_check(char *s, int *wide)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len, i, n;
	uint32_t		 c;

	*wide = 0;
	len = strlen(s);
	if (len == 0 || len > PART_MAX)
		return XF_ERR;
	for (i = 0; i < len; i += n) {
		if ((n = utf8_next(p + i, len - i, &c)) == 0)
			return XF_ERR;
		if (is_control(c))
			return XF_ERR;
		if (c >= 0x80)
			*wide = 1;
	}
	return XF_OK;
}

int
xf_jid_resourcepart(char *s, size_t cap)
{
	return normalise(s, cap, resource_check, "Resourceprep");
}

/*
 * Copies len bytes of src into the JID buffer at *off as a C string and
 * normalises it with fn, which may make it longer: *off moves past what
 * it became.  NULL when it does not fit or fn refuses it.
 */
static char *
put_part(xf_jid_t *j, size_t *off, const char *src, size_t len,
    int (*fn)(char *, size_t))
{
	char	*dst;

	if (*off + len + 1 > sizeof(j->j_buf))
		return NULL;
	dst = j->j_buf + *off;
	memcpy(dst, src, len);
	dst[len] = '\0';
	if (fn(dst, sizeof(j->j_buf) - *off) != XF_OK)
		return NULL;
	*off += strlen(dst) + 1;
	return dst;
}

/*
 * RFC 7622 section 3.1: the first '/' starts the resourcepart (which may
 * itself hold '@' and '/'); before it, an '@' ends the localpart.  Only
 * one '@' may appear there, as the domainpart cannot hold one.
 */
int
xf_jid_parse(const char *s, size_t len, xf_jid_t *out)
{
	const char	*slash, *at, *dom;
	size_t		 off = 0, prelen, domlen;

	out->j_local = out->j_domain = out->j_resource = NULL;
	if (len == 0 || memchr(s, '\0', len) != NULL)
		goto fail;

	slash = memchr(s, '/', len);
	prelen = slash ? (size_t)(slash - s) : len;
	at = memchr(s, '@', prelen);
	if (at != NULL && memchr(at + 1, '@', prelen - (at - s) - 1) != NULL)
		goto fail;

	if (at != NULL) {
		if (at == s || (size_t)(at - s) > PART_MAX)
			goto fail;
		if ((out->j_local = put_part(out, &off, s, at - s,
		    xf_jid_localpart)) == NULL)
			goto fail;
		dom = at + 1;
	} else
		dom = s;

	/* PART_MAX + 1: the trailing dot is stripped before the check. */
	domlen = prelen - (dom - s);
	if (domlen == 0 || domlen > PART_MAX + 1)
		goto fail;
	if ((out->j_domain = put_part(out, &off, dom, domlen,
	    xf_jid_domainpart)) == NULL)
		goto fail;

	if (slash != NULL) {
		if (len - prelen - 1 > PART_MAX)
			goto fail;
		if ((out->j_resource = put_part(out, &off, slash + 1,
		    len - prelen - 1, xf_jid_resourcepart)) == NULL)
			goto fail;
	}
	return XF_OK;

fail:
	out->j_local = out->j_domain = out->j_resource = NULL;
	return XF_ERR;
}

static int
write_jid(const xf_jid_t *j, int full, char *out, size_t outlen)
{
	size_t	 ll, dl, rl, need;

	if (j->j_domain == NULL)
		return XF_ERR;
	ll = j->j_local ? strlen(j->j_local) : 0;
	dl = strlen(j->j_domain);
	rl = (full && j->j_resource) ? strlen(j->j_resource) : 0;
	need = (ll ? ll + 1 : 0) + dl + (rl ? rl + 1 : 0) + 1;
	if (out == NULL || need > outlen)
		return XF_ERR;
	if (ll) {
		memcpy(out, j->j_local, ll);
		out[ll++] = '@';
	}
	memcpy(out + ll, j->j_domain, dl);
	ll += dl;
	if (rl) {
		out[ll++] = '/';
		memcpy(out + ll, j->j_resource, rl);
		ll += rl;
	}
	out[ll] = '\0';
	return XF_OK;
}

int
xf_jid_full(const xf_jid_t *j, char *out, size_t outlen)
{
	return write_jid(j, 1, out, outlen);
}

int
xf_jid_bare(const xf_jid_t *j, char *out, size_t outlen)
{
	return write_jid(j, 0, out, outlen);
}

int
xf_jid_bare_of(const char *jid, char *out, size_t outlen)
{
	xf_jid_t	 j;

	if (jid == NULL || xf_jid_parse(jid, strlen(jid), &j) != XF_OK)
		return XF_ERR;
	return xf_jid_bare(&j, out, outlen);
}
