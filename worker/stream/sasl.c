/* sasl.c: SASL on a c2s stream (RFC 6120 6): SCRAM-SHA-256, SCRAM-SHA-1, PLAIN over TLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "base64.h"
#include "log.h"
#include "worker.h"

/* RFC 6120 6.4.5: a few retries, then the stream is closed. */
#define MAX_AUTH_FAILS	3

#define CID(c)	((unsigned long long)(c)->s_id)

/*
 * Scratch; a worker is single-threaded.  The account lookup may suspend
 * this stanza while other connections' SASL runs (common/coro.h): dec is
 * read only before the lookup, msg and enc are filled and sent after it
 * with nothing that waits between.
 */
static xf_buf_t	 dec, enc, msg;

void
xf_sasl_features(xf_stream_t *c, xf_buf_t *b)
{
	xf_buf_puts(b, "<mechanisms xmlns='" XF_NS_SASL "'>"
	    "<mechanism>SCRAM-SHA-256</mechanism>"
	    "<mechanism>SCRAM-SHA-1</mechanism>");
	/* PLAIN sends the password itself: only inside TLS. */
	if (c->s_secure)
		xf_buf_puts(b, "<mechanism>PLAIN</mechanism>");
	xf_buf_puts(b, "</mechanisms>");
}

static void
send_b64(xf_stream_t *c, const char *el, const char *data, size_t len)
{
	xf_buf_reset(&enc);
	xf_buf_reset(&msg);
	if (len > 0)
		xf_b64_encode(&enc, data, len);
	if (len == 0)
		xf_buf_printf(&msg, "<%s xmlns='" XF_NS_SASL "'/>", el);
	else
		xf_buf_printf(&msg, "<%s xmlns='" XF_NS_SASL "'>%s</%s>", el,
		    xf_buf_cstr(&enc), el);
	xf_stream_send_buf(c, &msg);
}

static int
fail(xf_stream_t *c, const char *cond)
{
	char	 buf[160];

	if (c->s_scram) {
		xf_scram_free(c->s_scram);
		c->s_scram = NULL;
	}
	snprintf(buf, sizeof(buf), "<failure xmlns='" XF_NS_SASL "'><%s/>"
	    "</failure>", cond);
	xf_stream_send_raw(c, buf, strlen(buf));
	if (strcmp(cond, "not-authorized") == 0 &&
	    ++c->s_auth_fails >= MAX_AUTH_FAILS) {
		xf_stream_error(c, "policy-violation",
		    "Too many failed authentication attempts");
		return XF_ERR;
	}
	return XF_OK;
}

/*
 * A wrong password (or an unknown user): a failure for the node's
 * counts, answered when c2s_limit.c says (after a delay, or at once).
 */
static int
wrong(xf_stream_t *c, const char *bare)
{
	if (c->s_scram) {
		xf_scram_free(c->s_scram);
		c->s_scram = NULL;
	}
	return xf_c2s_auth_failed(c, bare, ++c->s_auth_fails >= MAX_AUTH_FAILS);
}

/* Authenticated as user: success, then the client restarts the stream. */
static int
succeed(xf_stream_t *c, const char *user, const char *data, size_t len)
{
	snprintf(c->s_user, sizeof(c->s_user), "%s", user);
	xf_c2s_authed(c);
	send_b64(c, "success", data, len);
	log_info("c%llu: authenticated %s@%s", CID(c), c->s_user, c->s_host);
	c->s_state = C2S_AUTHED;
	xf_stream_restart(c);
	return XF_AGAIN;
}

/* The decoded payload of an <auth/> or <response/>. */
static int
payload(xf_el_t *el)
{
	char	*t = xf_el_text(el);
	int	 r;

	xf_buf_reset(&dec);
	if (t == NULL)
		return XF_OK;		/* no initial response: empty */
	r = xf_b64_decode(&dec, t, strlen(t));
	free(t);
	return r;
}

/*
 * After an account lookup, which may have waited for the store: a stream
 * that ended or hung up meanwhile (c itself stays allocated until this
 * stanza is handled) gets no answer and keeps its closing state.
 */
static int
gone(xf_stream_t *c)
{
	return xf_stream_closing(c);
}

/* A username as a localpart of this host; XF_ERR if it cannot be one. */
static int
user_bare(xf_stream_t *c, const char *user, char *norm, size_t normlen,
    char *bare, size_t barelen)
{
	int	 n;

	n = snprintf(norm, normlen, "%s", user);
	if (n <= 0 || (size_t)n >= normlen || xf_jid_localpart(norm, normlen) != XF_OK)
		return XF_ERR;
	n = snprintf(bare, barelen, "%s@%s", norm, c->s_host);
	return (n < 0 || (size_t)n >= barelen) ? XF_ERR : XF_OK;
}

/*
 * The account could not be read (the database is down, say): RFC 6120
 * 6.5 temporary-auth-failure, which a client may retry, and is not
 * counted as a failed attempt.  While the store is down every login
 * lands here: one log line a second says how many.
 */
static int
store_down(xf_stream_t *c)
{
	static uint64_t	 last, refused;
	uint64_t	 now = xf_loop_now(c->s_w->w_loop);

	refused++;
	if (last == 0 || now - last >= 1000) {
		log_warnx("c%llu: login refused for now (%llu since the last "
		    "report): store: %s", CID(c), (unsigned long long)refused,
		    xf_store_error(c->s_w->w_store));
		last = now;
		refused = 0;
	}
	return fail(c, "temporary-auth-failure");
}

static int
plain(xf_stream_t *c)
{
	char		 authz[XF_JID_MAX + 1], user[1024], pass[1024];
	char		 norm[XF_SESS_JID_MAX + 1], bare[XF_JID_MAX + 1];
	xf_account_t	 ac;
	int		 r;

	if (xf_sasl_plain_parse(xf_buf_data(&dec), xf_buf_size(&dec), authz,
	    sizeof(authz), user, sizeof(user), pass, sizeof(pass)) != XF_OK)
		return fail(c, "malformed-request");
	if (user_bare(c, user, norm, sizeof(norm), bare, sizeof(bare))
	    != XF_OK) {
		explicit_bzero(pass, sizeof(pass));
		if (xf_c2s_auth_refused(c, NULL))
			return XF_ERR;
		return wrong(c, NULL);
	}
	if (xf_c2s_auth_refused(c, bare)) {
		explicit_bzero(pass, sizeof(pass));
		return XF_ERR;
	}
	if (authz[0] && strcmp(authz, bare) != 0) {
		explicit_bzero(pass, sizeof(pass));
		return fail(c, "invalid-authzid");
	}
	r = xf_store_user_get(c->s_w->w_store, bare, &ac);
	if (gone(c)) {
		explicit_bzero(pass, sizeof(pass));
		return XF_ERR;
	}
	if (r == XF_ERR) {
		/* RFC 6120 6.5 temporary-auth-failure: the client may try
		 * again; not counted as a failed attempt. */
		explicit_bzero(pass, sizeof(pass));
		return store_down(c);
	}
	/* Without an account the password is checked against a stand-in
	 * all the same, so the answer comes as late (see scram.h). */
	if (xf_plain_check(r == XF_OK ? &ac.ac_cred : NULL, bare,
	    (unsigned)c->s_w->w_conf->cf_scram_iterations, pass,
	    strlen(pass)) != XF_OK) {
		explicit_bzero(pass, sizeof(pass));
		log_info("c%llu: authentication failed for %s from %s",
		    CID(c), bare, c->s_ip);
		return wrong(c, bare);
	}
	explicit_bzero(pass, sizeof(pass));
	return succeed(c, norm, NULL, 0);
}

static int
scram_first(xf_stream_t *c, xf_hash_t h)
{
	char		 user[1024], norm[XF_SESS_JID_MAX + 1], bare[XF_JID_MAX + 1];
	const char	*cond = "malformed-request";
	xf_account_t	 ac;
	const xf_cred_t	*cred = NULL;
	int		 r;

	if ((c->s_scram = xf_scram_new(h)) == NULL)
		return fail(c, "temporary-auth-failure");
	if (xf_scram_client_first(c->s_scram, xf_buf_data(&dec),
	    xf_buf_size(&dec), user, sizeof(user), &cond) != XF_OK)
		return fail(c, cond);
	c->s_pending_user[0] = '\0';
	r = user_bare(c, user, norm, sizeof(norm), bare, sizeof(bare));
	if (xf_c2s_auth_refused(c, r == XF_OK ? bare : NULL))
		return XF_ERR;
	if (r == XF_OK) {
		r = xf_store_user_get(c->s_w->w_store, bare, &ac);
		if (gone(c))
			return XF_ERR;
		if (r == XF_ERR)
			return store_down(c);
		if (r == XF_OK)
			cred = &ac.ac_cred;
		snprintf(c->s_pending_user, sizeof(c->s_pending_user), "%s",
		    norm);
	}
	/* An unknown user gets a fake challenge, with the iteration count
	 * of a new account, and fails at the proof. */
	xf_buf_reset(&msg);
	if (xf_scram_server_first(c->s_scram, cred,
	    (unsigned)c->s_w->w_conf->cf_scram_iterations, NULL, &msg) != XF_OK)
		return fail(c, "temporary-auth-failure");
	c->s_state = C2S_SASL;
	send_b64(c, "challenge", xf_buf_data(&msg), xf_buf_size(&msg));
	return XF_OK;
}

static int
scram_final(xf_stream_t *c)
{
	const char	*cond = "not-authorized";
	char		 bare[XF_JID_MAX + 1];
	int		 n;

	xf_buf_reset(&msg);
	if (xf_scram_client_final(c->s_scram, xf_buf_data(&dec),
	    xf_buf_size(&dec), &msg, &cond) != XF_OK) {
		log_info("c%llu: authentication failed for %s@%s from %s",
		    CID(c), c->s_pending_user, c->s_host, c->s_ip);
		c->s_state = C2S_FEATURES;
		if (strcmp(cond, "not-authorized") != 0)
			return fail(c, cond);
		n = snprintf(bare, sizeof(bare), "%s@%s", c->s_pending_user,
		    c->s_host);
		return wrong(c, c->s_pending_user[0] && n > 0 &&
		    (size_t)n < sizeof(bare) ? bare : NULL);
	}
	xf_scram_free(c->s_scram);
	c->s_scram = NULL;
	/* RFC 6120 6.3.10: the server's final message rides on success. */
	return succeed(c, c->s_pending_user, xf_buf_data(&msg),
	    xf_buf_size(&msg));
}

int
xf_sasl_handle(xf_stream_t *c, xf_el_t *el)
{
	const char	*mech;

	/* The answer to the last attempt is delayed: this one did not wait
	 * for it (see c2s_limit.c). */
	if (c->s_auth_wait) {
		xf_stream_error(c, "policy-violation",
		    "Wait for the outcome of the last attempt");
		return XF_ERR;
	}
	if (strcmp(el->e_name, "abort") == 0) {
		c->s_state = C2S_FEATURES;
		return fail(c, "aborted");
	}
	if (strcmp(el->e_name, "response") == 0) {
		if (c->s_scram == NULL)
			return fail(c, "malformed-request");
		if (payload(el) != XF_OK) {
			c->s_state = C2S_FEATURES;
			return fail(c, "incorrect-encoding");
		}
		return scram_final(c);
	}
	if (strcmp(el->e_name, "auth") != 0) {
		xf_stream_error(c, "unsupported-stanza-type", NULL);
		return XF_ERR;
	}
	if (c->s_scram != NULL) {
		/* A new <auth/> mid-exchange aborts the old one. */
		xf_scram_free(c->s_scram);
		c->s_scram = NULL;
	}
	if ((mech = xf_el_attr(el, "mechanism")) == NULL)
		return fail(c, "invalid-mechanism");
	if (payload(el) != XF_OK)
		return fail(c, "incorrect-encoding");
	if (strcmp(mech, "PLAIN") == 0) {
		if (!c->s_secure)
			return fail(c, "encryption-required");
		return plain(c);
	}
	if (strcmp(mech, "SCRAM-SHA-256") == 0)
		return scram_first(c, XF_HASH_SHA256);
	if (strcmp(mech, "SCRAM-SHA-1") == 0)
		return scram_first(c, XF_HASH_SHA1);
	return fail(c, "invalid-mechanism");
}
