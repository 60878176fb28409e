/* stream.c: an XMPP stream whatever its framing and kind: the worker's table of streams, parsing, output through the send hooks, stream errors, lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"

#define SID(s)		((unsigned long long)(s)->s_id)
#define IDX_BITS	24
#define IDX_MAX		((1u << IDX_BITS) - 1)

static int	 on_open(void *, const xf_el_t *);
static int	 on_element(void *, xf_el_t *);
static int	 on_close(void *);

static const xf_xmls_cb_t stream_cb = { on_open, on_element, on_close };

/* ---- the worker's table: ids to streams ------------------------------ */

static int
slot_get(xf_worker_t *w, uint32_t *idx)
{
	if (w->w_nfree > 0) {
		*idx = w->w_free[--w->w_nfree];
		return XF_OK;
	}
	if (w->w_nstreams == w->w_capstreams) {
		uint32_t	 n = w->w_capstreams ? w->w_capstreams * 2 : 1024;
		xf_stream_t	**p;
		uint32_t	*f;

		if (n > IDX_MAX + 1)
			return XF_ERR;
		if ((p = realloc(w->w_streams, n * sizeof(*p))) == NULL)
			return XF_ERR;
		w->w_streams = p;
		if ((f = realloc(w->w_free, n * sizeof(*f))) == NULL)
			return XF_ERR;
		w->w_free = f;
		w->w_capstreams = n;
	}
	*idx = w->w_nstreams++;
	return XF_OK;
}

static void
handshake_timeout(xf_loop_t *l, void *ud)
{
	xf_stream_t	*s = ud;

	s->s_timer = 0;
	if (s->s_state != C2S_BOUND)
		xf_stream_error(s, "connection-timeout", NULL);
}

xf_stream_t *
xf_stream_new(xf_worker_t *w, const xf_stream_kind_t *k,
    const xf_frame_t *f, xf_conn_t *conn)
{
	xf_stream_t	*s;
	uint32_t	 idx;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->s_xml = xf_xmls_new(w->w_conf->cf_c2s_max_stanza, &stream_cb, s);
	if (s->s_xml == NULL || slot_get(w, &idx) != XF_OK) {
		if (s->s_xml)
			xf_xmls_free(s->s_xml);
		free(s);
		return NULL;
	}
	xf_xmls_limits(s->s_xml, (unsigned)w->w_conf->cf_c2s_max_attrs,
	    (unsigned)w->w_conf->cf_c2s_max_children);
	s->s_id = (++w->w_seq << IDX_BITS) | idx;
	s->s_refs = 1;
	s->s_w = w;
	s->s_kind = k;
	s->s_frame = f;
	s->s_state = C2S_HEADER;
	s->s_host = "";
	if (conn != NULL) {
		s->s_conn = conn;
		xf_conn_ref(conn);
		snprintf(s->s_ip, sizeof(s->s_ip), "%s", conn->c_ip);
	}
	w->w_streams[idx] = s;
	s->s_timer = xf_loop_timer(w->w_loop,
	    (uint64_t)w->w_conf->cf_c2s_handshake_timeout * 1000,
	    handshake_timeout, s);
	return s;
}

xf_stream_t *
xf_stream_find(xf_worker_t *w, uint64_t id)
{
	uint32_t	 idx = (uint32_t)(id & IDX_MAX);
	xf_stream_t	*s;

	if (idx >= w->w_nstreams || (s = w->w_streams[idx]) == NULL ||
	    s->s_id != id)
		return NULL;
	return s;
}

/* ---- lifetime -------------------------------------------------------- */

void
xf_stream_hold(xf_stream_t *s)
{
	s->s_refs++;
}

/* ---- a peer that reads slowly --------------------------------------- */

/* Reading s stops for either reason, and goes on when neither holds. */
static void
read_state(xf_stream_t *s)
{
	if (s->s_conn != NULL)
		xf_conn_pause(s->s_conn, (s->s_flags &
		    (XF_STREAM_PAUSED | XF_STREAM_SLOWED)) != 0);
}

int
xf_stream_backlogged(const xf_stream_t *s)
{
	return s->s_conn != NULL && xf_conn_pending(s->s_conn) >=
	    s->s_w->w_conf->cf_c2s_output_buffer;
}

void
xf_stream_wait_for(xf_stream_t *sender, xf_stream_t *slow)
{
	uint64_t	*p;
	uint32_t	 n;

	if (sender->s_flags & (XF_STREAM_SLOWED | XF_STREAM_ENDED))
		return;
	if (slow->s_nwaiters == slow->s_capwaiters) {
		n = slow->s_capwaiters ? slow->s_capwaiters * 2 : 8;
		if ((p = realloc(slow->s_waiters, n * sizeof(*p))) == NULL)
			return;		/* not slowed: 'max-output' holds */
		slow->s_waiters = p;
		slow->s_capwaiters = n;
	}
	slow->s_waiters[slow->s_nwaiters++] = sender->s_id;
	sender->s_flags |= XF_STREAM_SLOWED;
	read_state(sender);
	log_debug("s%llu: not read until s%llu has read its output",
	    SID(sender), SID(slow));
}

/* The streams that waited for s are read again. */
static void
release_waiters(xf_stream_t *s)
{
	xf_stream_t	*o;

	for (uint32_t i = 0; i < s->s_nwaiters; i++)
		if ((o = xf_stream_find(s->s_w, s->s_waiters[i])) != NULL &&
		    (o->s_flags & XF_STREAM_SLOWED)) {
			o->s_flags &= ~XF_STREAM_SLOWED;
			read_state(o);
		}
	s->s_nwaiters = 0;
}

void
xf_stream_drained(xf_stream_t *s)
{
	release_waiters(s);
	xf_mod_drained(s);
}

/*
 * After a write: a peer with more than 'output-buffer' waiting is told
 * of when it has read it (senders wait for that, SM's pump too); past
 * 'max-output' for it, or 'output-budget' for the worker, its stream
 * ends, and what it never read goes offline or back.
 */
static void
check_output(xf_stream_t *s)
{
	const xf_conf_t	*cf = s->s_w->w_conf;
	size_t		 pending = xf_conn_pending(s->s_conn);

	if (pending < cf->cf_c2s_output_buffer)
		return;
	xf_conn_drained(s->s_conn);
	if (pending > cf->cf_c2s_max_output ||
	    s->s_w->w_io.io_pending > cf->cf_output_budget) {
		log_warnx("s%llu: %s does not read its output (%zu bytes "
		    "waiting, %zu on this worker): closing", SID(s),
		    s->s_full[0] ? s->s_full : s->s_ip, pending,
		    s->s_w->w_io.io_pending);
		xf_stream_error(s, "resource-constraint", "Output not read");
	}
}

/* A copy to salvage when the stream is over (final()): storing may wait
 * for the store, which this callback must not. */
static void
keep_unsent(xf_stream_t *s, const char *data, size_t len)
{
	xf_out_t	*o;

	if (s->s_flags & XF_STREAM_KEPT)
		return;		/* SM has it: a resume or its end sees to it */
	if ((o = malloc(sizeof(*o) + len)) == NULL) {
		log_warnx("s%llu: out of memory: an element for %s lost",
		    SID(s), s->s_bare);
		return;
	}
	o->o_next = NULL;
	o->o_len = len;
	memcpy(o->o_data, data, len);
	if (s->s_out_last)
		s->s_out_last->o_next = o;
	else
		s->s_out = o;
	s->s_out_last = o;
}

void
xf_stream_unsent(xf_stream_t *s, const char *data, size_t len)
{
	keep_unsent(s, data, len);
}

/* What the connection never wrote goes offline or back to its sender. */
static void
salvage(xf_stream_t *s)
{
	xf_out_t	*o;

	while ((o = s->s_out) != NULL) {
		s->s_out = o->o_next;
		xf_route_unsent(s->s_w, s, o->o_data, o->o_len);
		free(o);
	}
	s->s_out_last = NULL;
}

/* The last holder is gone: the modules' goodbyes (may wait for the
 * store), then the memory. */
static void
final(void *ud)
{
	xf_stream_t	*s = ud;

	s->s_refs = 1;		/* ours, while the goodbyes run */
	salvage(s);
	xf_stream_unbind(s);
	xf_mod_stream_free(s);
	if (s->s_frame->f_free != NULL)
		s->s_frame->f_free(s);
	xf_el_free(s->s_msg_el);
	xf_xmls_free(s->s_xml);
	if (s->s_scram)
		xf_scram_free(s->s_scram);
	free(s->s_waiters);
	log_debug("s%llu: freed", SID(s));
	free(s);
}

void
xf_stream_unhold(xf_stream_t *s)
{
	if (--s->s_refs == 0)
		xf_worker_run(s->s_w, final, s);
}

/* Off the worker's list of streams waiting for ring room. */
static void
unpause(xf_stream_t *s)
{
	xf_worker_t	*w = s->s_w;

	for (size_t i = 0; i < w->w_npaused; i++)
		if (w->w_paused[i] == s) {
			w->w_paused[i] = w->w_paused[--w->w_npaused];
			break;
		}
}

/* Ring messages s could not push yet keep their place on the worker's
 * queue: a stanza the server took is not lost with its sender. */
static void
hand_over_pend(xf_stream_t *s)
{
	xf_worker_t	*w = s->s_w;

	if (s->s_flags & XF_STREAM_PAUSED) {
		unpause(s);
		s->s_flags &= ~XF_STREAM_PAUSED;
	}
	if (s->s_pend == NULL)
		return;
	if (w->w_pend_last)
		w->w_pend_last->p_next = s->s_pend;
	else
		w->w_pend = s->s_pend;
	w->w_pend_last = s->s_pend_last;
	s->s_pend = s->s_pend_last = NULL;
}

/*
 * Out of the table at once (no stanza finds it any more), off its
 * connection, and freed when its last holder lets go.
 */
void
xf_stream_end(xf_stream_t *s)
{
	xf_worker_t	*w = s->s_w;
	xf_conn_t	*c = s->s_conn;
	uint32_t	 idx = (uint32_t)(s->s_id & IDX_MAX);

	if (s->s_flags & XF_STREAM_ENDED)
		return;
	s->s_flags |= XF_STREAM_ENDED;
	s->s_state = C2S_CLOSING;
	if (w->w_streams[idx] == s) {
		w->w_streams[idx] = NULL;
		w->w_free[w->w_nfree++] = idx;
	}
	xf_loop_timer_del(w->w_loop, s->s_timer);
	s->s_timer = 0;
	hand_over_pend(s);
	release_waiters(s);
	if (c != NULL) {
		s->s_conn = NULL;
		xf_conn_set_owner(c, NULL, NULL);
		xf_conn_close(c);
		xf_conn_unref(c);
	}
	xf_stream_unhold(s);
}

void
xf_stream_unbind(xf_stream_t *s)
{
	if ((s->s_flags & XF_STREAM_UNBINDING) || s->s_kind->k_unbind == NULL)
		return;
	s->s_flags |= XF_STREAM_UNBINDING;
	xf_stream_hold(s);
	s->s_kind->k_unbind(s);
	s->s_flags &= ~XF_STREAM_UNBINDING;
	xf_stream_unhold(s);
}

int
xf_stream_closing(const xf_stream_t *s)
{
	return s->s_state == C2S_CLOSING || s->s_conn == NULL ||
	    xf_conn_closing(s->s_conn);
}

void
xf_stream_pause(xf_stream_t *s, int paused)
{
	xf_worker_t	*w = s->s_w;

	if (!!(s->s_flags & XF_STREAM_PAUSED) == !!paused ||
	    (s->s_flags & XF_STREAM_ENDED))
		return;
	if (paused) {
		if (w->w_npaused == w->w_cappaused) {
			size_t		 n = w->w_cappaused ? w->w_cappaused * 2 : 16;
			xf_stream_t	**p;

			if ((p = realloc(w->w_paused, n * sizeof(*p))) == NULL) {
				/* Cannot track it: better closed than lost. */
				xf_stream_error(s, "resource-constraint", NULL);
				return;
			}
			w->w_paused = p;
			w->w_cappaused = n;
		}
		w->w_paused[w->w_npaused++] = s;
	} else
		unpause(s);
	s->s_flags ^= XF_STREAM_PAUSED;
	read_state(s);
}

/* ---- output ---------------------------------------------------------- */

void
xf_stream_send_raw(xf_stream_t *s, const char *data, size_t len)
{
	if (s->s_conn == NULL)
		return;
	if (s->s_frame->f_write(s, data, len) != XF_OK)
		keep_unsent(s, data, len);	/* closing meanwhile */
	else
		check_output(s);
}

void
xf_stream_send_buf(xf_stream_t *s, const xf_buf_t *b)
{
	xf_stream_send_raw(s, xf_buf_data(b), xf_buf_size(b));
}

void
xf_stream_write(xf_stream_t *s, int first_mod, const char *data, size_t len)
{
	for (int i = first_mod; xf_mods[i] != NULL; i++)
		if (xf_mods[i]->m_send && xf_mod_serves(xf_mods[i], s) &&
		    xf_mods[i]->m_send(s, data, len) != XF_DECLINED)
			return;
	xf_stream_send_raw(s, data, len);
}

void
xf_stream_send_el(xf_stream_t *s, const xf_el_t *el)
{
	static xf_buf_t	 scratch;
	static int	 busy;
	xf_buf_t	 own = { 0 }, *b;

	/*
	 * One buffer kept across calls (no allocation per stanza), unless a
	 * send hook sends in turn while it is in use: then a fresh one.
	 */
	b = busy ? &own : &scratch;
	busy++;
	xf_buf_reset(b);
	if (xf_el_write(el, s->s_kind->k_ns, b) == XF_OK)
		xf_stream_write(s, 0, xf_buf_data(b), xf_buf_size(b));
	busy--;
	xf_buf_free(&own);
}

void
xf_stream_open(xf_stream_t *s, const char *from)
{
	unsigned char	 r[8];
	xf_buf_t	 b = { 0 };

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(s->s_stream_id + 2 * i, 3, "%02x", r[i]);
	if (from == NULL)
		from = s->s_host[0] ? s->s_host : s->s_w->w_conf->cf_vhosts[0];
	xf_buf_puts(&b, " id='");
	xf_buf_puts(&b, s->s_stream_id);
	xf_buf_puts(&b, "' from='");
	xf_xml_escape_attr(&b, from, strlen(from));
	xf_buf_puts(&b, "' version='1.0' xml:lang='en'");
	if (xf_buf_size(&b) > 0 && s->s_conn != NULL)
		s->s_frame->f_open(s, s->s_kind->k_ns, xf_buf_cstr(&b));
	xf_buf_free(&b);
	s->s_header_sent = 1;
}

/* Says the last word and lets the connection go once it is out: the
 * close comes first, so nothing reaches the peer after the close tag
 * (the unbind below announces the user's absence to the others). */
static void
finish(xf_stream_t *s)
{
	s->s_state = C2S_CLOSING;
	if (s->s_conn != NULL)
		xf_conn_close(s->s_conn);
	xf_stream_unbind(s);
}

void
xf_stream_error(xf_stream_t *s, const char *cond, const char *text)
{
	xf_buf_t	 b = { 0 };

	if (s->s_state == C2S_CLOSING)
		return;
	if (!s->s_header_sent)
		xf_stream_open(s, NULL);
	log_debug("s%llu: stream error %s%s%s", SID(s), cond,
	    text ? ": " : "", text ? text : "");
	xf_buf_printf(&b, "<stream:error><%s xmlns='" XF_NS_STREAMS "'/>",
	    cond);
	if (text) {
		xf_buf_puts(&b, "<text xmlns='" XF_NS_STREAMS
		    "' xml:lang='en'>");
		xf_xml_escape(&b, text, strlen(text));
		xf_buf_puts(&b, "</text>");
	}
	xf_buf_puts(&b, "</stream:error>");
	if (s->s_conn != NULL)
		s->s_frame->f_write(s, xf_buf_data(&b), xf_buf_size(&b));
	xf_buf_free(&b);
	if (s->s_conn != NULL)
		s->s_frame->f_close(s);
	/* After a reload the client is asked to come back: its SM session
	 * stays resumable on the new workers.  Other errors end it. */
	s->s_clean = strcmp(cond, "reset") != 0;
	finish(s);
}

void
xf_stream_close(xf_stream_t *s)
{
	if (s->s_state == C2S_CLOSING)
		return;
	s->s_clean = 1;
	if (s->s_conn != NULL)
		s->s_frame->f_close(s);
	finish(s);
}

/* ---- input ----------------------------------------------------------- */

void
xf_stream_restart(xf_stream_t *s)
{
	s->s_flags |= XF_STREAM_RESTART;
	s->s_header_sent = 0;
}

void
xf_stream_starttls(xf_stream_t *s)
{
	s->s_flags |= XF_STREAM_STARTTLS;
}

static int
on_open(void *ud, const xf_el_t *hdr)
{
	xf_stream_t	*s = ud;

	if (s->s_flags & XF_STREAM_FRAMED)
		return XF_OK;		/* the stand-in: see feed_msg */
	return s->s_kind->k_open(s, hdr);
}

static int
on_element(void *ud, xf_el_t *el)
{
	xf_stream_t	*s = ud;

	if (s->s_flags & XF_STREAM_FRAMED) {
		/* Handled once the message is parsed whole. */
		if (s->s_msg_el != NULL) {
			xf_el_free(el);
			return XF_ERR;	/* two in one message */
		}
		s->s_msg_el = el;
		return XF_OK;
	}
	if (s->s_state == C2S_CLOSING) {
		xf_el_free(el);
		return XF_OK;
	}
	return s->s_kind->k_element(s, el);
}

static int
on_close(void *ud)
{
	xf_stream_close(ud);
	return XF_AGAIN;
}

/* An element that came alone in its message. */
static void
framed_element(xf_stream_t *s, xf_el_t *el)
{
	int	 framing = xf_el_in(el, XF_NS_FRAMING);

	if (framing && strcmp(el->e_name, "open") == 0) {
		/* After a restart the header is due again. */
		if (s->s_header_sent)
			xf_stream_error(s, "bad-format",
			    "<open/> in an open stream");
		else
			s->s_kind->k_open(s, el);
	} else if (framing && strcmp(el->e_name, "close") == 0)
		xf_stream_close(s);
	else if (!s->s_header_sent)
		xf_stream_error(s, "bad-format", "<open/> expected");
	else if (s->s_state != C2S_CLOSING) {
		s->s_kind->k_element(s, el);
		return;
	}
	xf_el_free(el);
}

void
xf_stream_feed_msg(xf_stream_t *s, const char *buf, size_t len)
{
	static const char	 one[] = "one XML element per message "
				    "(RFC 7395 3.3.3)";
	xf_buf_t		 hdr = { 0 };
	const char		*cond;
	xf_el_t			*el;
	int			 r;

	if (s->s_state == C2S_CLOSING)
		return;
	xf_stream_hold(s);
	/* A restart needs no new parser: the stand-in header stays, and
	 * the next message is a new <open/>.  TLS never starts here. */
	s->s_flags &= ~(XF_STREAM_RESTART | XF_STREAM_STARTTLS);
	if (!(s->s_flags & XF_STREAM_FRAMED)) {
		s->s_flags |= XF_STREAM_FRAMED;
		xf_buf_puts(&hdr, "<stream:stream xmlns='");
		xf_buf_puts(&hdr, s->s_kind->k_ns);
		xf_buf_puts(&hdr, "' xmlns:stream='" XF_NS_STREAM "'>");
		r = xf_buf_size(&hdr) > 0 ? xf_xmls_feed(s->s_xml,
		    xf_buf_data(&hdr), xf_buf_size(&hdr), NULL) : XF_ERR;
		xf_buf_free(&hdr);
		if (r != XF_OK) {
			xf_stream_error(s, "internal-server-error", NULL);
			goto done;
		}
	}
	if (len == 0 || buf[0] != '<') {
		xf_stream_error(s, "bad-format", one);
		goto done;
	}
	r = xf_xmls_feed(s->s_xml, buf, len, NULL);
	el = s->s_msg_el;
	s->s_msg_el = NULL;
	if (r != XF_OK) {
		xf_el_free(el);
		cond = xf_xmls_error(s->s_xml);
		if (cond != NULL && cond[0] != '\0')
			xf_stream_error(s, cond, xf_xmls_errtext(s->s_xml));
		else
			xf_stream_error(s, "bad-format", one);
		goto done;
	}
	if (el == NULL || !xf_xmls_idle(s->s_xml)) {
		xf_el_free(el);
		xf_stream_error(s, "bad-format", one);
		goto done;
	}
	framed_element(s, el);
done:
	xf_stream_unhold(s);
}

/*
 * Bytes in.  A restart (after SASL) goes on with the rest of the bytes
 * in a fresh parser (which skips whitespace before the new header).
 * After <proceed/> whatever plaintext followed is dropped (RFC 6120
 * 5.4.3.3: nothing may be sent before the TLS handshake).
 */
void
xf_stream_feed(xf_stream_t *s, const char *buf, size_t len)
{
	size_t	 used;
	int	 r;

	xf_stream_hold(s);
	while (len > 0 && s->s_state != C2S_CLOSING) {
		/* Not from inside the parser's callback that asked for it. */
		if (s->s_flags & XF_STREAM_RESTART) {
			s->s_flags &= ~XF_STREAM_RESTART;
			xf_xmls_reset(s->s_xml);
		}
		r = xf_xmls_feed(s->s_xml, buf, len, &used);
		if (r == XF_OK)
			break;
		if (r == XF_ERR) {
			const char	*cond = xf_xmls_error(s->s_xml);

			if (cond && cond[0])
				xf_stream_error(s, cond,
				    xf_xmls_errtext(s->s_xml));
			break;
		}
		buf += used;
		len -= used;
		if (s->s_flags & XF_STREAM_STARTTLS) {
			s->s_flags &= ~XF_STREAM_STARTTLS;
			if (len > 0)
				log_debug("s%llu: %zu bytes after <starttls/>"
				    " dropped", SID(s), len);
			if (s->s_conn == NULL ||
			    xf_conn_start_tls(s->s_conn) != XF_OK) {
				s->s_state = C2S_CLOSING;
				if (s->s_conn != NULL)
					xf_conn_abort(s->s_conn);
			}
			break;
		}
	}
	xf_stream_unhold(s);
}
