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

/* The handlers, by type (XF_MSG_*). */
#define NTYPES	32

static struct {
	xf_ipc_fn	 fn;
	size_t		 min_len;
} handlers[NTYPES];

void
xf_ipc_handle(uint32_t type, size_t min_len, xf_ipc_fn fn)
{
	if (type < NTYPES) {
		handlers[type].fn = fn;
		handlers[type].min_len = min_len;
	}
}

/*
 * A copy of a ring message whose handling may reach the store (a stale
 * session's stanza routed again, a dead worker's users going offline):
 * with the pgsql store it runs on a coroutine of its own, so the ring is
 * not held up while it waits.
 */
typedef struct job_s {
	xf_worker_t	*j_w;
	xf_ipc_fn	 j_fn;
	xf_msg_t	 j_m;
	size_t		 j_len;
	char		 j_to[XF_JID_MAX + 1];
	char		 j_data[];
} job_t;

static void
run_job(void *ud)
{
	job_t		*j = ud;
	xf_ipc_in_t	 in = { &j->j_m, j->j_to, j->j_data, j->j_len, NULL };

	j->j_fn(j->j_w, &in);
	free(j);
}

void
xf_ipc_later(xf_worker_t *w, const xf_ipc_in_t *in, xf_ipc_fn fn)
{
	job_t	*j;

	if ((j = malloc(sizeof(*j) + in->in_len + 1)) == NULL) {
		log_warnx("ring message for %s dropped: out of memory",
		    in->in_to);
		return;
	}
	j->j_w = w;
	j->j_fn = fn;
	j->j_m = *in->in_m;
	j->j_len = in->in_len;
	snprintf(j->j_to, sizeof(j->j_to), "%s", in->in_to);
	memcpy(j->j_data, in->in_data, in->in_len);
	j->j_data[in->in_len] = '\0';
	xf_worker_run(w, run_job, j);
}

/* The stream m_conn while it is still bound to the target JID. */
static xf_stream_t *
target(xf_worker_t *w, const xf_msg_t *m, const char *to)
{
	xf_stream_t	*s = xf_stream_find(w, m->m_conn);

	if (s == NULL || s->s_state != C2S_BOUND ||
	    strlen(s->s_full) != m->m_tolen ||
	    memcmp(s->s_full, to, m->m_tolen) != 0)
		return NULL;
	return s;
}

static void
reroute(xf_worker_t *w, const xf_ipc_in_t *in)
{
	xf_el_t	*el;

	if ((el = xf_xml_parse(in->in_data, in->in_len, XF_NS_CLIENT)) !=
	    NULL) {
		xf_route(w, NULL, el);
		xf_el_free(el);
	}
}

/* XF_MSG_STANZA: serialised stanza bytes for a bound stream. */
static void
on_stanza(xf_worker_t *w, const xf_ipc_in_t *in)
{
	if (in->in_stream != NULL) {
		xf_stream_write(in->in_stream, 0, in->in_data, in->in_len);
		return;
	}
	/* A detached SM session keeps it for its resumption. */
	if (xf_mod_orphan(w, in->in_to, in->in_m->m_conn, in->in_data,
	    in->in_len) == XF_OK)
		return;
	/* The session went away since the sender looked: route again from
	 * here, where the stale record is local and ends it. */
	xf_ipc_later(w, in, reroute);
}

/* XF_MSG_KICK: a stream error condition, NUL, a text. */
static void
on_kick(xf_worker_t *w, const xf_ipc_in_t *in)
{
	xf_stream_t	*s = in->in_stream;
	size_t		 cl = strnlen(in->in_data, in->in_len);
	char		 cbuf[64], tbuf[256];

	if (s == NULL || cl == 0 || cl >= sizeof(cbuf))
		return;
	memcpy(cbuf, in->in_data, cl);
	cbuf[cl] = '\0';
	snprintf(tbuf, sizeof(tbuf), "%.*s",
	    (int)(in->in_len > cl ? in->in_len - cl - 1 : 0),
	    in->in_data + cl + (cl < in->in_len));
	/* For a conflict the record belongs to the new session. */
	if (strcmp(cbuf, "conflict") == 0) {
		s->s_full[0] = '\0';
		w->w_stats->ws_sessions--;
	}
	xf_stream_error(s, cbuf, tbuf[0] ? tbuf : NULL);
}

void
xf_ipc_init(xf_worker_t *w)
{
	xf_ipc_handle(XF_MSG_STANZA, 1, on_stanza);
	xf_ipc_handle(XF_MSG_KICK, 1, on_kick);
}

static void
handle(xf_worker_t *w, uint32_t type, const char *buf, size_t len)
{
	xf_msg_t	 m;
	xf_ipc_in_t	 in;
	char		 tobuf[XF_JID_MAX + 1];

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
	if (type >= NTYPES || handlers[type].fn == NULL) {
		log_warnx("ring message of unknown type %u", type);
		return;
	}
	memcpy(tobuf, buf + sizeof(m), m.m_tolen);
	tobuf[m.m_tolen] = '\0';
	in.in_m = &m;
	in.in_to = tobuf;
	in.in_data = buf + sizeof(m) + m.m_tolen;
	in.in_len = len - sizeof(m) - m.m_tolen;
	if (in.in_len < handlers[type].min_len) {
		log_warnx("ring message of type %u: %zu bytes, %zu at least",
		    type, in.in_len, handlers[type].min_len);
		return;
	}
	in.in_stream = target(w, &m, tobuf);
	handlers[type].fn(w, &in);
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
