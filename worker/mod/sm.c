/* sm.c: XEP-0198 stream management: acks, and resumption on any worker, with each session's state in the session table so it outlives its worker. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"
#include "im.h"

/*
 * Where a stanza for an SM session goes.  Everything the session has not
 * had acknowledged is in LMDB (shm/sess.h: smq, smin), never only on a
 * heap, so a resume on another worker or after a kill -9 finds it:
 *
 * - A stanza routed to the session (m_deliver, m_orphan) is appended to
 *   its inbox in one write txn by whichever worker routes it; the owner
 *   is woken through its ring (XF_MSG_SM_WAKE, which carries no data:
 *   a lost wake-up loses nothing) and writes the inbox in order.  When
 *   the owner is the routing worker itself and the inbox is empty, the
 *   stanza goes straight to the connection instead.
 * - Every stanza written to the client passes m_send, which moves it to
 *   the unacked queue as number h (one write txn) and then writes it.
 *   A connection that has lost the session to a <resume/> elsewhere
 *   puts what it would have written into the inbox for the new owner.
 * - <a h/> deletes the queue up to h; <resume h/> resends what is left
 *   in one txn that also makes the new connection the owner.
 *
 * Order: the inbox is ordered by append, which is ordered per sender, and
 * every owner writes it in that order; the unacked queue is the order of
 * writing.  Every owner change is one txn, so one owner at a time.
 *
 * Ending: a stream closed by either side (or cut, without resumption)
 * ends its session at once; a cut one waits 'sm-resume-timeout' seconds,
 * detached; then one worker claims it, and its queued messages go to
 * offline storage, other stanzas are dropped.  'sm-max-unacked' bounds
 * what may be outstanding: a live stream over it is closed with
 * <policy-violation/> (so its session ends as above), a detached session
 * reaching it ends at once.
 *
 * In xf_mods[] this module comes after CSI (m_send: what CSI holds back
 * is not written, so not counted) and before every module that consumes
 * client stanzas or announces a session's end (m_outbound: h counts every
 * stanza; m_unbound: a detached session must not look gone).
 */

#define NS_SM		"urn:xmpp:sm:3"
#define REQ_EVERY	5	/* <r/> once this many stanzas are unacked */
#define REQ_MS		1000	/* or this long after the first one */
#define EXPIRE_MS	1000	/* detached sessions are checked this often */
#define EXPIRE_BATCH	64	/* sessions ended per check */
#define PUMP_BATCH	64	/* inbox entries read per txn */


typedef struct sm_s {
	char		 s_id[XF_SM_IDLEN + 1];
	int		 s_resume;
	/* Copies of the record's counters: the owner alone changes them. */
	uint64_t	 s_h_in;
	uint64_t	 s_sent;
	uint64_t	 s_acked;
	int		 s_asked;	/* <r/> sent, no <a/> since */
	int		 s_over;	/* too many unacked: close */
	uint64_t	 s_timer;	/* ack request / close */
	int		 s_pumping;
	int		 s_again;	/* woken while writing the inbox */
	int		 s_handling;	/* client stanzas passed, not counted */
} sm_t;

#define SM(c)	((sm_t *)(c)->s_mod[xf_mod_sm.m_index])
#define CID(c)	((unsigned long long)(c)->s_id)

/* The inbox entry being written, so m_send knows it is one. */
static struct {
	xf_stream_t	*c;
	const char	*data;
	uint64_t	 seq;
	int		 taken;		/* m_send saw it */
	int		 moved;		/* ... and the session is elsewhere */
} cur;

static xf_buf_t	 ser;		/* scratch for serialising */

static void	 pump(xf_stream_t *);

static void
sendf(xf_stream_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sendf(xf_stream_t *c, const char *fmt, ...)
{
	va_list		 ap;
	char		 tmp[512];
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(tmp))
		xf_stream_send_raw(c, tmp, (size_t)n);
}

static void
failed(xf_stream_t *c, const char *cond)
{
	sendf(c, "<failed xmlns='" NS_SM "'><%s xmlns='" XF_NS_STANZAS
	    "'/></failed>", cond);
}

/* h as the protocol writes it: a 32-bit decimal. */
static int
parse_h(const char *s, uint32_t *h)
{
	unsigned long long	 v;
	char			*end;

	if (s == NULL || *s < '0' || *s > '9')
		return XF_ERR;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return XF_ERR;
	*h = (uint32_t)v;
	return XF_OK;
}

static int
new_id(char *id)
{
	unsigned char	 r[XF_SM_IDLEN / 2];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return XF_ERR;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return XF_OK;
}

static void
sm_free(xf_stream_t *c)
{
	sm_t	*sm = SM(c);

	if (sm == NULL)
		return;
	xf_loop_timer_del(c->s_w->w_loop, sm->s_timer);
	free(sm);
	c->s_mod[xf_mod_sm.m_index] = NULL;
}

/* Wakes the owner of a session that has something in its inbox. */
static void
wake(xf_worker_t *w, xf_stream_t *from, const xf_sm_rec_t *rec)
{
	xf_stream_t	*oc;

	if (rec->sm_state != XF_SM_ATTACHED || rec->sm_node != 0)
		return;			/* the resume will write it */
	if (rec->sm_worker == w->w_slot) {
		if ((oc = xf_stream_find(w, rec->sm_conn)) != NULL &&
		    strcmp(oc->s_full, rec->sm_full) == 0)
			pump(oc);
		return;
	}
	if (xf_ipc_push(w, from, rec->sm_worker, XF_MSG_SM_WAKE, rec->sm_conn,
	    rec->sm_full, "", 0) == XF_ERR)
		log_warnx("sm: cannot wake worker slot %u for %s",
		    rec->sm_worker, rec->sm_full);
}

/* The backlog is out: the rest of the inbox follows. */
static void
sm_drained(xf_stream_t *c)
{
	pump(c);
}

/* XF_MSG_SM_WAKE: the stream's inbox has stanzas. */
static void
on_wake(xf_worker_t *w, const xf_ipc_in_t *in)
{
	if (in->in_stream != NULL)
		pump(in->in_stream);
}

static void
ask(xf_stream_t *c, sm_t *sm)
{
	sendf(c, "<r xmlns='" NS_SM "'/>");
	sm->s_asked = 1;
	xf_loop_timer_del(c->s_w->w_loop, sm->s_timer);
	sm->s_timer = 0;
}

static void
conn_timer(xf_loop_t *l, void *ud)
{
	xf_stream_t	*c = ud;
	sm_t		*sm = SM(c);

	if (sm == NULL)
		return;
	sm->s_timer = 0;
	if (c->s_state != C2S_BOUND)
		return;
	if (sm->s_over) {
		/* Closing counts as clean: what is queued goes offline. */
		xf_stream_error(c, "policy-violation",
		    "Too many unacknowledged stanzas");
		return;
	}
	if (!sm->s_asked && sm->s_sent > sm->s_acked)
		ask(c, sm);
}

/* After a write: ask for an ack now, later, or close (too many). */
static void
written(xf_stream_t *c, sm_t *sm)
{
	xf_worker_t	*w = c->s_w;
	uint64_t	 unacked = sm->s_sent - sm->s_acked;

	if (unacked > (uint64_t)w->w_conf->cf_sm_max_unacked) {
		/* Not from here: we are deep inside somebody's routing. */
		if (!sm->s_over) {
			sm->s_over = 1;
			xf_loop_timer_del(w->w_loop, sm->s_timer);
			sm->s_timer = xf_loop_timer(w->w_loop, 0, conn_timer, c);
		}
		return;
	}
	if (sm->s_asked || sm->s_over)
		return;
	if (unacked >= REQ_EVERY)
		ask(c, sm);
	else if (sm->s_timer == 0)
		sm->s_timer = xf_loop_timer(w->w_loop, REQ_MS, conn_timer, c);
}

/*
 * Writes the session's inbox, oldest first, through every send hook (a
 * module before this one may hold a stanza back: CSI).  Re-entered (a
 * write woke us again), it only notes that there is more.
 */
static void
pump(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);
	xf_buf_t	 b = { 0 };
	uint64_t	 after = 0, seq, len;
	size_t		 n = 0, off;
	const char	*p;
	int		 r, moved = 0;

	/* A slow reader's backlog drains first (sm_drained). */
	if (sm == NULL || c->s_state != C2S_BOUND || xf_stream_closing(c) ||
	    xf_stream_backlogged(c))
		return;
	if (sm->s_pumping) {
		sm->s_again = 1;
		return;
	}
	sm->s_pumping = 1;
	do {
		sm->s_again = 0;
		xf_buf_reset(&b);
		r = xf_sess_sm_inbox(w->w_sess, sm->s_id, after, PUMP_BATCH, &b,
		    &n);
		if (r != XF_OK) {
			if (r == XF_ERR)
				log_warnx("c%llu: sm: %s", CID(c),
				    xf_sess_error(w->w_sess));
			break;
		}
		p = xf_buf_data(&b);
		for (off = 0; off < xf_buf_size(&b) &&
		    c->s_state == C2S_BOUND && !xf_stream_closing(c) &&
		    !xf_stream_backlogged(c); off += 16 + len) {
			memcpy(&seq, p + off, 8);
			memcpy(&len, p + off + 8, 8);
			cur.c = c;
			cur.data = p + off + 16;
			cur.seq = seq;
			cur.taken = cur.moved = 0;
			xf_stream_write(c, 0, p + off + 16, len);
			cur.c = NULL;
			if ((moved = cur.moved))
				break;	/* the new owner writes the rest */
			/* Held by a module before us: it is out of the inbox. */
			if (!cur.taken && xf_sess_sm_unqueue(w->w_sess,
			    sm->s_id, seq) == XF_ERR)
				log_warnx("c%llu: sm: %s", CID(c),
				    xf_sess_error(w->w_sess));
			after = seq;
		}
	} while ((n == PUMP_BATCH || sm->s_again) && !moved &&
	    c->s_state == C2S_BOUND && !xf_stream_closing(c) &&
	    !xf_stream_backlogged(c));
	sm->s_pumping = 0;
	xf_buf_free(&b);
}

/* Worth offline storage (XEP-0160): chat or normal messages with a body. */
static int
storable(const xf_el_t *el)
{
	const char	*type = xf_el_attr(el, "type");

	return strcmp(el->e_name, "message") == 0 &&
	    (type == NULL || strcmp(type, "chat") == 0 ||
	    strcmp(type, "normal") == 0) &&
	    xf_el_child(el, XF_NS_CLIENT, "body") != NULL;
}

/*
 * Ends a session this worker has claimed: messages still queued go to
 * offline storage (in order, unacked first), everything else is dropped
 * with the state.  A message the store does not take (quota, or the
 * store failed) goes back to its sender as an error, as offline.c does
 * for one sent to a user offline: none is lost without a word.
 */
static void
finish(xf_worker_t *w, const char *id, const char *full)
{
	xf_buf_t	 b = { 0 };
	char		 bare[XF_JID_MAX + 1];
	const char	*p, *slash = strchr(full, '/');
	size_t		 n, off, stored = 0, dropped = 0, bounced = 0;
	uint64_t	 len;
	xf_el_t		*el;
	int		 r;

	snprintf(bare, sizeof(bare), "%.*s",
	    (int)(slash ? (size_t)(slash - full) : strlen(full)), full);
	if (xf_sess_sm_queued(w->w_sess, id, &b, &n) == XF_ERR)
		log_warnx("sm %s: %s", full, xf_sess_error(w->w_sess));
	p = xf_buf_data(&b);
	for (off = 0; off < xf_buf_size(&b); off += 8 + len) {
		memcpy(&len, p + off, 8);
		el = xf_xml_parse(p + off + 8, len, XF_NS_CLIENT);
		if (el == NULL || !storable(el))
			dropped++;
		else if ((r = xf_offline_store(w, bare, el)) == XF_OK)
			stored++;
		else {
			xf_route_error(w, NULL, el, "wait", r == XF_DECLINED ?
			    "resource-constraint" : "internal-server-error");
			bounced++;
		}
		xf_el_free(el);
	}
	xf_buf_free(&b);
	if (xf_sess_sm_drop(w->w_sess, id) == XF_ERR)
		log_warnx("sm %s: %s", full, xf_sess_error(w->w_sess));
	if (bounced > 0)
		log_warnx("sm %s: %zu messages not kept offline, returned to "
		    "their senders", full, bounced);
	log_info("sm %s: ended; %zu messages to offline storage, %zu stanzas "
	    "dropped", full, stored, dropped);
}

static void	 expire(xf_loop_t *, void *);

/*
 * Detached sessions past their time, taken by exactly one worker each.
 * Their messages go to the store: with pgsql on a coroutine, and the
 * next round is set only when this one is done.
 */
static void
expire_run(void *ud)
{
	xf_worker_t	*w = ud;
	xf_sm_rec_t	 rec;
	char		 id[XF_SM_IDLEN + 1];
	int		 gone, r = XF_DECLINED;

	for (int i = 0; i < EXPIRE_BATCH; i++) {
		r = xf_sess_sm_claim_expired(w->w_sess, time(NULL), w->w_slot,
		    id, &rec, &gone);
		if (r != XF_OK)
			break;
		log_info("sm %s: not resumed in time", rec.sm_full);
		finish(w, id, rec.sm_full);
		if (gone)
			xf_presence_gone(w, rec.sm_full);
	}
	if (r == XF_ERR)
		log_warnx("sm: %s", xf_sess_error(w->w_sess));
	/* More due (a full batch): go on at the next turn of the loop. */
	if (xf_loop_timer(w->w_loop, r == XF_OK ? 0 : EXPIRE_MS, expire, w)
	    == 0)
		log_warnx("sm: no timer: this worker stops ending sessions");
}

static void
expire(xf_loop_t *l, void *ud)
{
	xf_worker_run(ud, expire_run, ud);
}

static void
sm_init(xf_worker_t *w)
{
	xf_ipc_handle(XF_MSG_SM_WAKE, 0, on_wake);
	if (xf_loop_timer(w->w_loop, EXPIRE_MS, expire, w) == 0)
		fatalx("sm: cannot set the expiry timer");
}

static void
sm_features(xf_stream_t *c, xf_buf_t *b)
{
	xf_buf_puts(b, "<sm xmlns='" NS_SM "'/>");
}

static void
sm_enable(xf_stream_t *c, const xf_el_t *el)
{
	xf_worker_t	*w = c->s_w;
	const char	*ra = xf_el_attr(el, "resume");
	sm_t		*sm;
	int		 resume, r;

	/* XEP-0198 3: after binding, once. */
	if (c->s_state != C2S_BOUND || SM(c) != NULL) {
		failed(c, "unexpected-request");
		return;
	}
	resume = ra != NULL && (strcmp(ra, "true") == 0 ||
	    strcmp(ra, "1") == 0) && w->w_conf->cf_sm_resume_timeout > 0;
	if ((sm = calloc(1, sizeof(*sm))) == NULL || new_id(sm->s_id) != XF_OK) {
		free(sm);
		failed(c, "internal-server-error");
		return;
	}
	r = xf_sess_sm_create(w->w_sess, sm->s_id, c->s_full, w->w_slot,
	    c->s_id, resume, time(NULL));
	if (r != XF_OK) {
		if (r == XF_ERR)
			log_warnx("c%llu: sm: %s", CID(c),
			    xf_sess_error(w->w_sess));
		free(sm);
		failed(c, "internal-server-error");
		return;
	}
	sm->s_resume = resume;
	c->s_mod[xf_mod_sm.m_index] = sm;
	/* Every stanza from now on is in the unacked queue until acked. */
	c->s_flags |= XF_STREAM_KEPT;
	if (resume) {
		xf_presence_keep(c);	/* a presence sent before <enable/> */
		sendf(c, "<enabled xmlns='" NS_SM "' id='%s' resume='true' "
		    "max='%d'/>", sm->s_id, w->w_conf->cf_sm_resume_timeout);
	} else
		sendf(c, "<enabled xmlns='" NS_SM "'/>");
	log_debug("c%llu: sm enabled%s", CID(c), resume ? ", resumable" : "");
}

static void
sm_resume(xf_stream_t *c, const xf_el_t *el)
{
	xf_worker_t	*w = c->s_w;
	const char	*previd = xf_el_attr(el, "previd");
	char		 bare[XF_JID_MAX + 1];
	xf_sess_rec_t	 srec;
	xf_sm_rec_t	 prev, rec;
	xf_buf_t	 resend = { 0 }, pres = { 0 };
	uint32_t	 h;
	uint64_t	 len;
	size_t		 off, n = 0;
	sm_t		*sm;
	int		 r;

	/* XEP-0198 5: after authentication, instead of binding. */
	if (c->s_state != C2S_AUTHED || c->s_full[0] || SM(c) != NULL) {
		failed(c, "unexpected-request");
		return;
	}
	if (parse_h(xf_el_attr(el, "h"), &h) != XF_OK || previd == NULL) {
		failed(c, "bad-request");
		return;
	}
	if ((sm = calloc(1, sizeof(*sm))) == NULL) {
		failed(c, "internal-server-error");
		return;
	}
	snprintf(bare, sizeof(bare), "%s@%s", c->s_user, c->s_host);
	memset(&srec, 0, sizeof(srec));
	srec.sr_worker = w->w_slot;
	srec.sr_conn = c->s_id;
	srec.sr_since = time(NULL);
	snprintf(srec.sr_ip, sizeof(srec.sr_ip), "%s", c->s_ip);
	r = xf_sess_sm_take_over(w->w_sess, previd, bare, h, &srec, &prev,
	    &rec, &resend);
	if (r != XF_OK) {
		if (r == XF_ERR)
			log_warnx("c%llu: sm resume: %s", CID(c),
			    xf_sess_error(w->w_sess));
		else
			log_debug("c%llu: sm resume of '%.40s': no such "
			    "session for %s", CID(c), previd, bare);
		xf_buf_free(&resend);
		free(sm);
		failed(c, r == XF_ERR ? "internal-server-error" :
		    "item-not-found");
		return;
	}
	snprintf(sm->s_id, sizeof(sm->s_id), "%s", previd);
	sm->s_resume = rec.sm_resume;
	sm->s_h_in = rec.sm_h_in;
	sm->s_sent = rec.sm_sent;
	sm->s_acked = rec.sm_acked;
	c->s_mod[xf_mod_sm.m_index] = sm;
	/* Every stanza from now on is in the unacked queue until acked. */
	c->s_flags |= XF_STREAM_KEPT;
	xf_c2s_attach(c, rec.sm_full, srec.sr_prio, srec.sr_avail);
	if ((r = xf_sess_sm_pres(w->w_sess, sm->s_id, &pres)) == XF_OK)
		xf_presence_restore(c, xf_buf_data(&pres), xf_buf_size(&pres));
	else if (r == XF_ERR)
		log_warnx("c%llu: sm resume: presence: %s", CID(c),
		    xf_sess_error(w->w_sess));
	xf_buf_free(&pres);
	/* The old stream, if still open, ends without unbinding. */
	if (prev.sm_state == XF_SM_ATTACHED && prev.sm_node == 0)
		xf_c2s_replace(c, prev.sm_worker, prev.sm_conn,
		    "Replaced by resumed session");

	sendf(c, "<resumed xmlns='" NS_SM "' previd='%s' h='%u'/>", sm->s_id,
	    (uint32_t)sm->s_h_in);
	/* Counted already: past this module's m_send. */
	for (off = 0; off < xf_buf_size(&resend); off += 8 + len, n++) {
		memcpy(&len, xf_buf_data(&resend) + off, 8);
		xf_stream_write(c, xf_mod_sm.m_index + 1,
		    xf_buf_data(&resend) + off + 8, len);
	}
	xf_buf_free(&resend);
	log_info("c%llu: %s resumed from %s (worker slot %u%s), h %u, %zu "
	    "stanzas sent again, %llu waiting", CID(c), c->s_full, c->s_ip,
	    prev.sm_worker, prev.sm_state == XF_SM_ATTACHED ? ", attached" :
	    "", h, n, (unsigned long long)rec.sm_inlen);
	pump(c);
	if (sm->s_sent > sm->s_acked)
		written(c, sm);
}

int
xf_sm_resumable(xf_stream_t *c)
{
	return SM(c) != NULL && SM(c)->s_resume;
}

void
xf_sm_keep_presence(xf_stream_t *c, const void *data, size_t len)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);

	if (!xf_sm_resumable(c))
		return;
	/* Not ours any more (resumed elsewhere): the new owner keeps it. */
	if (xf_sess_sm_set_pres(w->w_sess, sm->s_id, w->w_slot, c->s_id,
	    data, len) == XF_ERR)
		log_warnx("c%llu: sm: presence not kept for a resume: %s",
		    CID(c), xf_sess_error(w->w_sess));
}

static void
sm_ack(xf_stream_t *c, const xf_el_t *el)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);
	uint32_t	 h, d;
	char		 text[128];

	if (sm == NULL || parse_h(xf_el_attr(el, "h"), &h) != XF_OK)
		return;
	sm->s_asked = 0;
	d = h - (uint32_t)sm->s_acked;
	if (d > sm->s_sent - sm->s_acked) {
		/* XEP-0198 4: an h beyond what was sent is a broken peer. */
		snprintf(text, sizeof(text), "You acknowledged %u stanzas, but "
		    "I only sent you %u so far.", h, (uint32_t)sm->s_sent);
		xf_stream_error(c, "undefined-condition", text);
		return;
	}
	if (d == 0)
		return;
	if (xf_sess_sm_ack(w->w_sess, sm->s_id, w->w_slot, c->s_id,
	    sm->s_acked + d) == XF_ERR)
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(w->w_sess));
	else
		sm->s_acked += d;
}

static int
sm_element(xf_stream_t *c, xf_el_t *el)
{
	sm_t	*sm = SM(c);

	if (el->e_ns == NULL || strcmp(el->e_ns, NS_SM) != 0)
		return XF_DECLINED;
	if (strcmp(el->e_name, "enable") == 0)
		sm_enable(c, el);
	else if (strcmp(el->e_name, "resume") == 0)
		sm_resume(c, el);
	else if (strcmp(el->e_name, "r") == 0) {
		if (sm != NULL)
			sendf(c, "<a xmlns='" NS_SM "' h='%u'/>",
			    (uint32_t)sm->s_h_in);
	} else if (strcmp(el->e_name, "a") == 0)
		sm_ack(c, el);
	else
		return XF_DECLINED;
	return XF_OK;
}

/* What the client sends, first of all modules (h counts every stanza
 * whoever consumes it): a session that moved meanwhile takes nothing
 * more here.  It is counted once handled (sm_handled). */
static int
sm_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	sm_t		*sm = SM(c);
	xf_sm_rec_t	 rec;
	int		 r;

	if (sm == NULL)
		return XF_DECLINED;
	r = xf_sess_sm_get(w->w_sess, sm->s_id, &rec);
	if (r == XF_OK && (rec.sm_state != XF_SM_ATTACHED ||
	    rec.sm_node != 0 || rec.sm_worker != w->w_slot ||
	    rec.sm_conn != c->s_id)) {
		/* Resumed elsewhere with an h that left this one out: the
		 * client sends it again there. */
		log_debug("c%llu: sm: stanza after the session moved: dropped",
		    CID(c));
		return XF_OK;
	}
	if (r == XF_ERR)
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(w->w_sess));
	sm->s_handling++;
	return XF_DECLINED;
}

/*
 * The stanza is routed, stored or answered: now h counts it.  Counted
 * before, a worker killed while the stanza waited (for the database, say)
 * would leave the client believing it taken when it was lost; counted
 * after, the client sends it again on resume (at least once).
 */
static void
sm_handled(xf_stream_t *c, const xf_el_t *st)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);
	uint64_t	 h;
	int		 r;

	if (sm == NULL || sm->s_handling == 0)
		return;
	sm->s_handling--;
	r = xf_sess_sm_handled(w->w_sess, sm->s_id, w->w_slot, c->s_id, &h);
	if (r == XF_OK)
		sm->s_h_in = h;
	else if (r == XF_DECLINED)
		log_debug("c%llu: sm: the session moved while a stanza was "
		    "handled: the client may send it again", CID(c));
	else {
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(w->w_sess));
		sm->s_h_in++;
	}
}

static int
sm_send(xf_stream_t *c, const char *data, size_t len)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);
	xf_sm_rec_t	 rec;
	uint64_t	 inseq = 0;
	int		 r;

	if (sm == NULL)
		return XF_DECLINED;
	if (cur.c == c && cur.data == data) {
		inseq = cur.seq;
		cur.taken = 1;
	}
	r = xf_sess_sm_sent(w->w_sess, sm->s_id, w->w_slot, c->s_id, inseq,
	    data, len, &rec);
	switch (r) {
	case XF_OK:
		sm->s_sent = rec.sm_sent;
		xf_stream_write(c, xf_mod_sm.m_index + 1, data, len);
		written(c, sm);
		return XF_OK;
	case XF_AGAIN:
		/* Resumed elsewhere: the new owner writes it. */
		if (inseq == 0)
			wake(w, NULL, &rec);
		else
			cur.moved = 1;
		return XF_OK;
	case XF_DECLINED:
		return XF_DECLINED;	/* ended: as without SM */
	default:
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(w->w_sess));
		return XF_DECLINED;
	}
}

/* A stanza for a session with SM: into its inbox, unless it can be
 * written here and now. */
static int
sm_deliver(xf_worker_t *w, xf_stream_t *from, const char *full,
    const xf_sess_rec_t *srec, const xf_el_t *st)
{
	xf_sm_rec_t	 rec;
	char		 id[XF_SM_IDLEN + 1];
	int		 r;

	if (!(srec->sr_flags & XF_SESS_SM) || srec->sr_node != 0)
		return XF_DECLINED;
	xf_buf_reset(&ser);
	if (xf_el_write(st, XF_NS_CLIENT, &ser) != XF_OK)
		return XF_DECLINED;
	r = xf_sess_sm_queue(w->w_sess, full, w->w_slot, xf_buf_data(&ser),
	    xf_buf_size(&ser), (uint64_t)w->w_conf->cf_sm_max_unacked, id,
	    &rec);
	if (r == XF_OK) {
		w->w_stats->ws_stanzas_out++;
		wake(w, from, &rec);
		return XF_OK;
	}
	if (r == XF_ERR)
		log_warnx("sm %s: %s", full, xf_sess_error(w->w_sess));
	return XF_DECLINED;
}

/* Stanza bytes that found no connection: a detached session keeps them. */
static int
sm_orphan(xf_worker_t *w, const char *full, uint64_t conn, const char *data,
    size_t len)
{
	xf_sm_rec_t	 rec;
	char		 id[XF_SM_IDLEN + 1];
	int		 r;

	r = xf_sess_sm_queue(w->w_sess, full, XF_SM_NOWORKER, data, len,
	    (uint64_t)w->w_conf->cf_sm_max_unacked, id, &rec);
	if (r == XF_OK) {
		wake(w, NULL, &rec);
		return XF_OK;
	}
	if (r == XF_ERR)
		log_warnx("sm %s: %s", full, xf_sess_error(w->w_sess));
	return XF_DECLINED;
}

/* A new bind of a JID whose old session waits detached replaces it. */
static void
sm_bound(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;
	xf_sm_rec_t	 rec;
	char		 id[XF_SM_IDLEN + 1];

	if (xf_sess_sm_find(w->w_sess, c->s_full, id, &rec) == XF_OK &&
	    rec.sm_state == XF_SM_DETACHED)
		xf_sess_sm_detach(w->w_sess, id, XF_SM_NOWORKER, 0, 0);
}

/* XF_OK when the session now belongs to another connection. */
static int
moved(xf_stream_t *c, const char *id)
{
	xf_sm_rec_t	 rec;

	return xf_sess_sm_get(c->s_w->w_sess, id, &rec) == XF_OK &&
	    rec.sm_state == XF_SM_ATTACHED &&
	    (rec.sm_worker != c->s_w->w_slot || rec.sm_conn != c->s_id);
}

/*
 * The stream ended.  Cut off with resumption on: the session waits,
 * detached, and nobody hears it went (XF_OK).  Closed, by either side
 * (or without resumption): its queue goes to offline storage and it
 * ends.
 */
static int
sm_unbound(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;
	sm_t		*sm = SM(c);
	xf_sm_rec_t	 rec;
	int		 timeout = w->w_conf->cf_sm_resume_timeout, r;

	if (sm == NULL)
		return XF_DECLINED;
	if (!c->s_clean && sm->s_resume) {
		r = xf_sess_sm_detach(w->w_sess, sm->s_id, w->w_slot, c->s_id,
		    (int64_t)time(NULL) + timeout);
		if (r == XF_OK) {
			log_info("c%llu: %s: sm session %s kept for %d s",
			    CID(c), c->s_full, sm->s_id, timeout);
			sm_free(c);
			return XF_OK;
		}
		if (r == XF_ERR)
			log_warnx("c%llu: sm: %s", CID(c),
			    xf_sess_error(w->w_sess));
	}
	r = xf_sess_sm_end(w->w_sess, sm->s_id, w->w_slot, c->s_id, &rec);
	if (r == XF_OK)
		finish(w, sm->s_id, rec.sm_full);
	else if (r == XF_DECLINED && moved(c, sm->s_id)) {
		sm_free(c);
		return XF_OK;
	} else if (r == XF_ERR)
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(w->w_sess));
	sm_free(c);
	return XF_DECLINED;
}

/*
 * Freed without unbinding: a newer bind took the JID (conflict) or a
 * resume took the session.  In the first case the session, still ours,
 * ends at the next expiry check, leaving the new bind's record alone.
 */
static void
sm_conn_free(xf_stream_t *c)
{
	sm_t	*sm = SM(c);

	if (sm == NULL)
		return;
	if (xf_sess_sm_detach(c->s_w->w_sess, sm->s_id, c->s_w->w_slot,
	    c->s_id, 0) == XF_ERR)
		log_warnx("c%llu: sm: %s", CID(c), xf_sess_error(c->s_w->w_sess));
	sm_free(c);
}

xf_mod_t xf_mod_sm = {
	.m_name = "sm",
	.m_kind = &xf_kind_c2s,
	.m_init = sm_init,
	.m_features = sm_features,
	.m_element = sm_element,
	.m_bound = sm_bound,
	.m_unbound = sm_unbound,
	.m_stream_free = sm_conn_free,
	.m_outbound = sm_outbound,
	.m_handled = sm_handled,
	.m_deliver = sm_deliver,
	.m_drained = sm_drained,
	.m_send = sm_send,
	.m_orphan = sm_orphan,
};
