/* ipc.c: this worker's end of the rings: pushes with push-back, and the inbound ring's consumer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ssl.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"
#include "im.h"

void	 xf_presence_answer_probe(xf_worker_t *, xf_stream_t *, const char *);

#define RETRY_MS	2

static char	 hdrbuf[sizeof(xf_msg_t) + XF_JID_MAX + 1];

static void	 retry_timer(xf_loop_t *, void *);

static int
enqueue(xf_worker_t *w, xf_stream_t *from, unsigned slot, uint32_t type,
    size_t hlen, const char *data, size_t len)
{
	xf_pend_t	*p;

	if ((p = malloc(sizeof(*p) + hlen + len)) == NULL)
		return XF_ERR;
	p->p_next = NULL;
	p->p_slot = slot;
	p->p_type = type;
	p->p_hlen = hlen;
	p->p_len = hlen + len;
	memcpy(p->p_data, hdrbuf, hlen);
	memcpy(p->p_data + hlen, data, len);
	if (from != NULL) {
		if (from->s_pend_last)
			from->s_pend_last->p_next = p;
		else
			from->s_pend = p;
		from->s_pend_last = p;
		if (!(from->s_flags & XF_STREAM_PAUSED))
			log_debug("s%llu: ring of slot %u full, not reading",
			    (unsigned long long)from->s_id, slot);
		xf_stream_pause(from, 1);
	} else {
		if (w->w_pend_last)
			w->w_pend_last->p_next = p;
		else
			w->w_pend = p;
		w->w_pend_last = p;
	}
	if (w->w_retry_timer == 0)
		w->w_retry_timer = xf_loop_timer(w->w_loop, RETRY_MS,
		    retry_timer, w);
	return XF_OK;
}

/*
 * Pushes one message into slot's ring.  When the ring is full the
 * message waits on the sending connection, which stops being read until
 * its queue is out: push-back instead of loss.  Messages of one sender
 * keep their order because a sender with a queue always queues.
 */
int
xf_ipc_push(xf_worker_t *w, xf_stream_t *from, unsigned slot, uint32_t type,
    uint64_t conn, const char *to, const char *data, size_t len)
{
	xf_msg_t	 m;
	size_t		 tolen = strlen(to), hlen;
	int		 r;

	if (slot >= XF_MAX_WORKERS || tolen > XF_JID_MAX)
		return XF_ERR;
	m.m_conn = conn;
	m.m_from_worker = w->w_slot;
	m.m_tolen = (uint32_t)tolen;
	memcpy(hdrbuf, &m, sizeof(m));
	memcpy(hdrbuf + sizeof(m), to, tolen);
	hlen = sizeof(m) + tolen;

	if ((from != NULL && from->s_pend != NULL) ||
	    (from == NULL && w->w_pend != NULL))
		return enqueue(w, from, slot, type, hlen, data, len);
	r = xf_ring_push(xf_rings_get(w->w_rings, slot), type, hdrbuf, hlen,
	    data, len);
	if (r == XF_AGAIN)
		return enqueue(w, from, slot, type, hlen, data, len);
	if (r == XF_OK)
		w->w_stats->ws_stanzas_out++;
	return r;
}

/* Pushes a queue's head messages; XF_AGAIN while some are left. */
static int
drain(xf_worker_t *w, xf_pend_t **head, xf_pend_t **last)
{
	xf_pend_t	*p;
	int		 r;

	while ((p = *head) != NULL) {
		r = xf_ring_push(xf_rings_get(w->w_rings, p->p_slot), p->p_type,
		    p->p_data, p->p_hlen, p->p_data + p->p_hlen,
		    p->p_len - p->p_hlen);
		if (r == XF_AGAIN)
			return XF_AGAIN;
		if (r != XF_OK)
			log_warnx("ring message to slot %u dropped: too large",
			    p->p_slot);
		*head = p->p_next;
		if (*head == NULL)
			*last = NULL;
		free(p);
	}
	return XF_OK;
}

static void
retry_timer(xf_loop_t *l, void *ud)
{
	xf_worker_t	*w = ud;
	size_t		 i = 0;

	w->w_retry_timer = 0;
	drain(w, &w->w_pend, &w->w_pend_last);
	while (i < w->w_npaused) {
		xf_stream_t	*c = w->w_paused[i];

		if (drain(w, &c->s_pend, &c->s_pend_last) == XF_OK)
			xf_stream_pause(c, 0);	/* takes it off w_paused */
		else
			i++;
	}
	if (w->w_npaused > 0 || w->w_pend != NULL)
		w->w_retry_timer = xf_loop_timer(l, RETRY_MS, retry_timer, w);
}

/*
 * A ring message whose handling may reach the store (a stale session's
 * stanza routed again, a dead worker's users going offline): with the
 * pgsql store it runs on a coroutine of its own, so the ring is not held
 * up while it waits.  Their order against later messages does not
 * matter: each is about sessions that are gone.
 */
typedef struct job_s {
	xf_worker_t	*j_w;
	uint32_t	 j_type;
	size_t		 j_len;
	char		 j_to[XF_JID_MAX + 1];
	char		 j_data[];
} job_t;

static void
run_job(void *ud)
{
	job_t	*j = ud;
	xf_el_t	*el;

	if (j->j_type == XF_MSG_GONE)
		xf_presence_gone(j->j_w, j->j_to);
	else if ((el = xf_xml_parse(j->j_data, j->j_len, XF_NS_CLIENT)) !=
	    NULL) {
		xf_route(j->j_w, NULL, el);
		xf_el_free(el);
	}
	free(j);
}

static void
later(xf_worker_t *w, uint32_t type, const char *to, const char *data,
    size_t len)
{
	job_t	*j;

	if ((j = malloc(sizeof(*j) + len)) == NULL) {
		log_warnx("ring message for %s dropped: out of memory", to);
		return;
	}
	j->j_w = w;
	j->j_type = type;
	j->j_len = len;
	snprintf(j->j_to, sizeof(j->j_to), "%s", to);
	memcpy(j->j_data, data, len);
	xf_worker_run(w, run_job, j);
}

static xf_stream_t *
target(xf_worker_t *w, const xf_msg_t *m, const char *to)
{
	xf_stream_t	*c = xf_stream_find(w, m->m_conn);

	if (c == NULL || c->s_state != C2S_BOUND ||
	    strlen(c->s_full) != m->m_tolen ||
	    memcmp(c->s_full, to, m->m_tolen) != 0)
		return NULL;
	return c;
}

static void
handle(xf_worker_t *w, uint32_t type, const char *buf, size_t len)
{
	xf_msg_t	 m;
	char		 tobuf[XF_JID_MAX + 1];
	const char	*to, *data;
	size_t		 dlen;
	xf_stream_t	*c;

	/* Sizes first: never read past what the ring handed over. */
	if (len < sizeof(m)) {
		log_warnx("ring message of %zu bytes: too short", len);
		return;
	}
	memcpy(&m, buf, sizeof(m));
	if (m.m_tolen > XF_JID_MAX || m.m_tolen > len - sizeof(m)) {
		log_warnx("ring message with a bad JID length %u", m.m_tolen);
		return;
	}
	memcpy(tobuf, buf + sizeof(m), m.m_tolen);
	tobuf[m.m_tolen] = '\0';
	to = tobuf;
	data = buf + sizeof(m) + m.m_tolen;
	dlen = len - sizeof(m) - m.m_tolen;
	c = target(w, &m, to);

	switch (type) {
	case XF_MSG_STANZA:
		if (c != NULL) {
			xf_stream_write(c, 0, data, dlen);
			return;
		}
		/* A detached SM session keeps it for its resumption. */
		if (xf_mod_orphan(w, to, m.m_conn, data, dlen) == XF_OK)
			return;
		/* The session went away since the sender looked: route again
		 * from here, where the stale record is local and ends it. */
		later(w, type, to, data, dlen);
		return;
	case XF_MSG_KICK: {
		const char	*cond = data, *text;
		size_t		 cl = strnlen(data, dlen);
		char		 cbuf[64], tbuf[256];

		if (c == NULL || cl == 0 || cl >= sizeof(cbuf))
			return;
		memcpy(cbuf, cond, cl);
		cbuf[cl] = '\0';
		text = cl < dlen ? data + cl + 1 : "";
		snprintf(tbuf, sizeof(tbuf), "%.*s",
		    (int)(dlen > cl ? dlen - cl - 1 : 0), text);
		/* For a conflict the record belongs to the new session. */
		if (strcmp(cbuf, "conflict") == 0) {
			c->s_full[0] = '\0';
			w->w_stats->ws_sessions--;
		}
		xf_stream_error(c, cbuf, tbuf[0] ? tbuf : NULL);
		return;
	}
	case XF_MSG_PROBE: {
		char	 pbuf[XF_JID_MAX + 1];

		if (c == NULL || dlen == 0 || dlen > XF_JID_MAX)
			return;
		memcpy(pbuf, data, dlen);
		pbuf[dlen] = '\0';
		xf_presence_answer_probe(w, c, pbuf);
		return;
	}
	case XF_MSG_SM_WAKE:
		if (c != NULL)
			xf_sm_wake(w, c);
		return;
	case XF_MSG_GONE:
		later(w, type, to, data, dlen);
		return;
	case XF_MSG_BLOCKS:
		/* In the ring's order: before the sender's next stanza. */
		xf_blocking_forget(w, to);
		return;
	default:
		log_warnx("ring message of unknown type %u", type);
	}
}

void
xf_ipc_readable(xf_loop_t *l, int fd, int mask, void *ud)
{
	xf_worker_t	*w = ud;
	uint32_t	 type;
	size_t		 len;

	xf_ring_ack(w->w_ring);
	while (xf_ring_pop(w->w_ring, &type, w->w_msgbuf, w->w_msgcap, &len)
	    == XF_OK)
		handle(w, type, w->w_msgbuf, len);
}
