/* c2s_limit.c: who may try to log in: unauthenticated connections per node and per address, the time they have, failed logins. */
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"

#define CID(c)	((unsigned long long)(c)->s_id)

/*
 * Every c2s connection holds a place among the node's unauthenticated
 * connections (shm/unauth.c) from its accept until it authenticates
 * or ends, whichever comes first; s_unauth says it holds one.  The
 * place is given back exactly once: by xf_c2s_authed() or by
 * xf_c2s_limit_end(), which the kind's unbind runs as the stream
 * closes and again, harmlessly, as it is freed.
 *
 * Beyond a cap the connection is accepted, told why, and closed: a
 * client that is simply refused at the TCP level retries at once, while
 * a stream error tells it (and the person reading its log) what
 * happened.  The conditions (RFC 6120 4.9.3):
 *
 *  - too many from one address: policy-violation (4.9.3.13), "the
 *    entity has violated some local service policy": the peer's own
 *    behaviour crossed a configured limit;
 *  - too many on the node: resource-constraint (4.9.3.17), "the server
 *    lacks the system resources necessary to service the stream": the
 *    peer did nothing wrong and may come back later.
 *
 * connection-timeout (4.9.3.4) is kept for a stream that does not
 * authenticate in time ('auth-timeout'), as for 'handshake-timeout'.
 */

/* Refusals since the last log line, one line a second at most. */
static uint64_t		 refused_logged;
static unsigned long	 refused_ip, refused_total;

static void
log_refusal(xf_stream_t *c, int why)
{
	uint64_t	 now = xf_loop_now(c->s_w->w_loop);

	if (why == XF_UNAUTH_IP)
		refused_ip++;
	else
		refused_total++;
	if (refused_logged != 0 && now - refused_logged < 1000)
		return;
	log_warnx("c%llu: unauthenticated connection from %s refused: "
	    "%lu over 'max-unauth-per-ip', %lu over 'max-unauth' since the "
	    "last report", CID(c), c->s_ip, refused_ip, refused_total);
	refused_logged = now;
	refused_ip = refused_total = 0;
}

static void
auth_expired(xf_loop_t *l, void *ud)
{
	xf_stream_t	*c = ud;

	c->s_auth_timer = 0;
	if (c->s_user[0] == '\0') {
		log_info("c%llu: not authenticated within %d s, from %s",
		    CID(c), c->s_w->w_conf->cf_c2s_auth_timeout, c->s_ip);
		xf_stream_error(c, "connection-timeout",
		    "Not authenticated in time");
	}
}

void
xf_c2s_admit(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;
	const xf_conf_t	*cf = w->w_conf;
	int		 why = 0, r;

	r = xf_unauth_take(w->w_rings, c->s_ip, w->w_slot,
	    (uint32_t)cf->cf_c2s_max_unauth,
	    (uint32_t)cf->cf_c2s_max_unauth_ip, &why);
	if (r == XF_DECLINED) {
		log_refusal(c, why);
		if (why == XF_UNAUTH_IP)
			xf_stream_error(c, "policy-violation", "Too many "
			    "unauthenticated connections from your address");
		else
			xf_stream_error(c, "resource-constraint", "Too many "
			    "unauthenticated connections; try again later");
		return;
	}
	if (r == XF_OK)
		c->s_unauth = 1;
	/* The handshake timer ends a slower stream anyway. */
	if (cf->cf_c2s_auth_timeout < cf->cf_c2s_handshake_timeout)
		c->s_auth_timer = xf_loop_timer(w->w_loop,
		    (uint64_t)cf->cf_c2s_auth_timeout * 1000, auth_expired, c);
}

void
xf_c2s_authed(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;

	if (c->s_auth_timer != 0) {
		xf_loop_timer_del(w->w_loop, c->s_auth_timer);
		c->s_auth_timer = 0;
	}
	if (!c->s_unauth)
		return;
	c->s_unauth = 0;
	xf_unauth_give(w->w_rings, c->s_ip, w->w_slot);
}

void
xf_c2s_limit_end(xf_stream_t *c)
{
	xf_c2s_authed(c);
}

/* ---- failed logins ------------------------------------------------ */

/*
 * The counts are the node's (shm/authlim.c): a client gains nothing by
 * landing on another worker.  The delay grows with the address's
 * failures (n times 'auth-fail-delay', at most AUTH_DELAY_STEPS times);
 * while it runs the stream is not read and holds a reference, so the
 * timer's stream is always valid, and a client that sends another
 * attempt without waiting for the answer (it could only have read the
 * bytes before the pause) is closed: the delay cannot be pipelined
 * away.  Blocked addresses and locked accounts are answered at once,
 * without looking at the password, and the stream is closed:
 * not-authorized (RFC 6120 6.5.10) says no more than a wrong password
 * would, then policy-violation as for too many failures on one stream.
 */
#define AUTH_DELAY_STEPS	10

static void
answer(xf_stream_t *c, int last)
{
	static const char	 f[] = "<failure xmlns='" XF_NS_SASL "'>"
	    "<not-authorized/></failure>";

	xf_stream_send_raw(c, f, sizeof(f) - 1);
	if (last)
		xf_stream_error(c, "policy-violation",
		    "Too many failed authentication attempts");
}

static int64_t
now_ms(xf_stream_t *c)
{
	return (int64_t)xf_loop_now(c->s_w->w_loop);
}

int
xf_c2s_auth_refused(xf_stream_t *c, const char *bare)
{
	xf_worker_t	*w = c->s_w;
	int		 st = 0;

	if (xf_sess_authfail_check(w->w_sess, c->s_ip, bare, now_ms(c), &st)
	    != XF_OK) {
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
		return 0;
	}
	if (st == 0)
		return 0;
	log_info("c%llu: login%s%s refused: %s", CID(c), bare ? " as " : "",
	    bare ? bare : "", (st & XF_AUTH_BLOCKED) ?
	    "address blocked" : "account locked");
	answer(c, 1);
	return 1;
}

static void
delayed(xf_loop_t *l, void *ud)
{
	xf_stream_t	*c = ud;
	int		 last = c->s_auth_wait > 1;

	c->s_auth_wait = 0;
	if (!xf_stream_closing(c)) {
		answer(c, last);
		if (!last && c->s_conn != NULL)
			xf_conn_pause(c->s_conn, 0);
	}
	xf_stream_unhold(c);
}

int
xf_c2s_auth_failed(xf_stream_t *c, const char *bare, int last)
{
	xf_worker_t	*w = c->s_w;
	const xf_conf_t	*cf = w->w_conf;
	xf_authlim_t	 al;
	uint32_t	 ipf = 0, acf = 0, steps;
	uint64_t	 ms;
	int		 newly = 0;

	al.al_block_after = (uint32_t)cf->cf_c2s_auth_block_after;
	al.al_block_ms = (int64_t)cf->cf_c2s_auth_block_time * 1000;
	al.al_lock_after = (uint32_t)cf->cf_c2s_auth_lock_after;
	al.al_lock_ms = (int64_t)cf->cf_c2s_auth_lock_time * 1000;
	if (xf_sess_authfail_add(w->w_sess, c->s_ip, bare, now_ms(c), &al,
	    &ipf, &acf, &newly) != XF_OK)
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
	if (newly & XF_AUTH_BLOCKED)
		log_warnx("blocking logins from %s for %d s after %u failures "
		    "(the last as %s)", c->s_ip, cf->cf_c2s_auth_block_time,
		    ipf, bare ? bare : "an invalid username");
	if (newly & XF_AUTH_LOCKED)
		log_warnx("locking password logins to %s for %d s after %u "
		    "failures (the last from %s)", bare,
		    cf->cf_c2s_auth_lock_time, acf, c->s_ip);
	if (newly)
		last = 1;
	steps = ipf < AUTH_DELAY_STEPS ? ipf : AUTH_DELAY_STEPS;
	ms = (uint64_t)steps * (uint64_t)cf->cf_c2s_auth_fail_delay * 1000;
	if (ms == 0 || c->s_conn == NULL) {
		answer(c, last);
		return last ? XF_ERR : XF_OK;
	}
	log_info("c%llu: failure %u from %s answered in %llu ms", CID(c), ipf,
	    c->s_ip, (unsigned long long)ms);
	if (xf_loop_timer(w->w_loop, ms, delayed, c) == 0) {
		answer(c, last);
		return last ? XF_ERR : XF_OK;
	}
	c->s_auth_wait = last ? 2 : 1;
	xf_stream_hold(c);
	xf_conn_pause(c->s_conn, 1);
	return XF_OK;
}
