/* c2s_limit.c: who may try to log in: unauthenticated connections per node and per address, and the time they have. */
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"

#define CID(c)	((unsigned long long)(c)->s_id)

/*
 * Every c2s connection holds a place among the node's unauthenticated
 * connections (shm/authlim.c) from its accept until it authenticates
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

	r = xf_sess_unauth_take(w->w_sess, c->s_ip, w->w_slot,
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
	/* A table we cannot write is no reason to turn everyone away. */
	if (r == XF_ERR)
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
	else
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
	if (xf_sess_unauth_give(w->w_sess, c->s_ip, w->w_slot) != XF_OK)
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
}

void
xf_c2s_limit_end(xf_stream_t *c)
{
	xf_c2s_authed(c);
}
