/* websocket.c: the WebSocket framing (RFC 6455 frames by wslay, RFC 7395 messages): one element per text message, <open/> and <close/>. */
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "xf.h"
#include "log.h"
#include "worker.h"

#define SID(s)		((unsigned long long)(s)->s_id)

/*
 * A stream's WebSocket, in s_framing.  wslay reads frames from the bytes
 * the connection hands over (ws_in, only while they are handed over) and
 * writes frames into scratch, from where they go to the connection at
 * once: wslay's own output queue never holds anything between calls,
 * so the connection's output limits ('output-buffer', 'max-output')
 * hold as for TCP.
 */
typedef struct ws_s {
	wslay_event_context_ptr	 ws_ctx;	/* owned */
	xf_stream_t		*ws_s;		/* borrowed: whose framing */
	const char		*ws_in;		/* borrowed during ws_data */
	size_t			 ws_inlen;
} ws_t;

/* Frames wslay wrote, on their way to the connection; a worker is
 * single-threaded, and nothing stays here between calls. */
static xf_buf_t	 scratch;
/* An element's message with its namespaces declared (see standalone). */
static xf_buf_t	 msgbuf;

/* The length of the server frame at p (unmasked: RFC 6455 5.1) and of
 * its header, or 0 when n bytes do not hold it whole. */
static size_t
frame_len(const unsigned char *p, size_t n, size_t *hlen)
{
	uint64_t	 plen;

	if (n < 2)
		return 0;
	plen = p[1] & 0x7f;
	*hlen = 2;
	if (plen == 126) {
		if (n < 4)
			return 0;
		plen = (uint64_t)p[2] << 8 | p[3];
		*hlen = 4;
	} else if (plen == 127) {
		if (n < 10)
			return 0;
		plen = 0;
		for (int i = 2; i < 10; i++)
			plen = plen << 8 | p[i];
		*hlen = 10;
	}
	if (plen > n - *hlen)
		return 0;
	return *hlen + (size_t)plen;
}

/*
 * Has wslay write what it has queued, and passes the frames on.  With
 * el, text frames are elements: the connection hands one it could not
 * write back whole (ws_unsent), as it does for TCP.
 */
static void
flush(xf_stream_t *s, int el)
{
	ws_t			*ws = s->s_framing;
	xf_conn_t		*c = s->s_conn;
	const unsigned char	*p;
	size_t			 n, len, hlen = 0;

	xf_buf_reset(&scratch);
	wslay_event_send(ws->ws_ctx);
	if (c == NULL)
		return;
	p = (const unsigned char *)xf_buf_data(&scratch);
	n = xf_buf_size(&scratch);
	while (n > 0) {
		if ((len = frame_len(p, n, &hlen)) == 0)
			len = n;	/* cannot be: wslay writes whole frames */
		if (el && (p[0] & 0x0f) == WSLAY_TEXT_FRAME)
			xf_conn_send_el(c, (const char *)p, len);
		else
			xf_conn_send(c, (const char *)p, len);
		p += len;
		n -= len;
	}
}

/* ---- wslay's callbacks ----------------------------------------------- */

static ssize_t
ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *ud)
{
	ws_t	*ws = ud;

	if (ws->ws_inlen == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > ws->ws_inlen)
		len = ws->ws_inlen;
	memcpy(buf, ws->ws_in, len);
	ws->ws_in += len;
	ws->ws_inlen -= len;
	return (ssize_t)len;
}

static ssize_t
ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *ud)
{
	if (xf_buf_append(&scratch, data, len) != XF_OK) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* The peer's close (answered by wslay), or one of ours for a frame the
 * stream cannot take: reading stops, the connection closes once the
 * close frame is out (ws_data). */
static void
ws_refuse(ws_t *ws, uint16_t code, const char *why)
{
	log_debug("s%llu: WebSocket close %u: %s", SID(ws->ws_s),
	    (unsigned)code, why);
	wslay_event_queue_close(ws->ws_ctx, code, (const uint8_t *)why,
	    strlen(why));
	wslay_event_shutdown_read(ws->ws_ctx);
}

/* A whole message: reassembled from its fragments by wslay, which has
 * also checked the masking, the opcodes, the size and UTF-8, answered
 * pings and closes. */
static void
ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg
    *arg, void *ud)
{
	ws_t		*ws = ud;
	xf_stream_t	*s = ws->ws_s;

	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
		if (!xf_stream_closing(s))
			xf_stream_feed_msg(s, (const char *)arg->msg,
			    arg->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		/* RFC 7395 3.2: XMPP travels in text frames only. */
		ws_refuse(ws, WSLAY_CODE_UNSUPPORTED_DATA, "text frames only");
		break;
	case WSLAY_CONNECTION_CLOSE:
		log_debug("s%llu: WebSocket closed by the peer (%u)", SID(s),
		    (unsigned)arg->status_code);
		break;
	}
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv,
	.send_callback = ws_send,
	.on_msg_recv_callback = ws_msg,
};

/* ---- the connection's events ---------------------------------------- */

static void
ws_data(void *owner, xf_conn_t *c, const char *buf, size_t len)
{
	xf_stream_t	*s = owner;
	ws_t		*ws = s->s_framing;
	int		 r;

	xf_stream_hold(s);
	ws->ws_in = buf;
	ws->ws_inlen = len;
	r = wslay_event_recv(ws->ws_ctx);
	ws->ws_in = NULL;
	ws->ws_inlen = 0;
	if (s->s_conn != NULL) {
		flush(s, 0);	/* pongs, closes */
		/* Both closes exchanged, or ours after a bad frame is out:
		 * the server closes the TCP connection (RFC 6455 7.1.1). */
		if (r != 0 || !wslay_event_want_read(ws->ws_ctx))
			xf_conn_close(s->s_conn);
	}
	xf_stream_unhold(s);
}

static void
ws_event(void *owner, xf_conn_t *c, int ev)
{
	xf_stream_t	*s = owner;

	switch (ev) {
	case XF_IO_DRAINED:
		xf_stream_drained(s);
		break;
	case XF_IO_FLOOD:
		log_warnx("s%llu: %s keeps sending faster than 'read-rate'",
		    SID(s), s->s_full[0] ? s->s_full : s->s_ip);
		xf_stream_error(s, "policy-violation",
		    "Too much data, too fast");
		break;
	case XF_IO_CLOSED:
		xf_stream_end(s);
		break;
	}
}

/* An element never written whole: the payload of its text frame. */
static void
ws_unsent(void *owner, xf_conn_t *c, const char *data, size_t len)
{
	size_t	 hlen = 0;

	if (frame_len((const unsigned char *)data, len, &hlen) == len)
		xf_stream_unsent(owner, data + hlen, len - hlen);
}

static const xf_conn_up_t ws_up = { ws_data, ws_event, ws_unsent };

/* ---- the framing ----------------------------------------------------- */

static int
send_text(xf_stream_t *s, const char *data, size_t len, int el)
{
	ws_t			*ws = s->s_framing;
	struct wslay_event_msg	 m = { WSLAY_TEXT_FRAME,
				    (const uint8_t *)data, len };

	if (s->s_conn == NULL || xf_conn_closing(s->s_conn) ||
	    wslay_event_queue_msg(ws->ws_ctx, &m) != 0)
		return XF_ERR;
	flush(s, el);
	return XF_OK;
}

static void
ws_open(xf_stream_t *s, const char *ns, const char *attrs)
{
	xf_buf_t	 b = { 0 };

	xf_buf_puts(&b, "<open xmlns='" XF_NS_FRAMING "'");
	xf_buf_puts(&b, attrs);
	xf_buf_puts(&b, "/>");
	if (xf_buf_cstr(&b) != NULL)
		send_text(s, xf_buf_data(&b), xf_buf_size(&b), 0);
	xf_buf_free(&b);
}

/* RFC 7395 3.6: <close/>, then the WebSocket closes. */
static void
ws_close(xf_stream_t *s)
{
	static const char	 close_el[] = "<close xmlns='" XF_NS_FRAMING
				    "'/>";
	ws_t			*ws = s->s_framing;

	send_text(s, close_el, sizeof(close_el) - 1, 0);
	wslay_event_queue_close(ws->ws_ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL,
	    0);
	wslay_event_shutdown_read(ws->ws_ctx);
	flush(s, 0);
}

/*
 * RFC 7395 3.3.3: a message is a document of its own, its namespaces
 * declared; on TCP the stream header declares them.  So the root of el
 * gets the stream's default namespace when it is unprefixed and names
 * none, and the stream: prefix (<stream:features/>, <stream:error/>)
 * when it uses it.  Our own serialiser wrote el: its start tag is
 * well-formed, with quoted attribute values.
 */
static int
standalone(xf_buf_t *b, const char *ns, const char *el, size_t len)
{
	const char	*p = el + 1, *end = el + len, *name, *q;
	size_t		 nlen;
	int		 has_default = 0, has_stream = 0, stream_pfx;

	if (len < 2 || el[0] != '<')
		return XF_DECLINED;
	name = p;
	while (p < end && *p != ' ' && *p != '/' && *p != '>' && *p != '\t' &&
	    *p != '\n' && *p != '\r')
		p++;
	nlen = (size_t)(p - name);
	stream_pfx = nlen > 7 && memcmp(name, "stream:", 7) == 0;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
		    *p == '\r'))
			p++;
		if (p >= end || *p == '/' || *p == '>')
			break;
		for (q = p; q < end && *q != '=' && *q != ' '; q++)
			;
		if ((size_t)(q - p) == 5 && memcmp(p, "xmlns", 5) == 0)
			has_default = 1;
		else if ((size_t)(q - p) == 12 && memcmp(p, "xmlns:stream", 12)
		    == 0)
			has_stream = 1;
		while (q < end && *q != '\'' && *q != '"')
			q++;
		if (q >= end || (q = memchr(q + 1, *q, (size_t)(end - q - 1)))
		    == NULL)
			return XF_DECLINED;
		p = q + 1;
	}
	if ((stream_pfx ? has_stream : (has_default ||
	    memchr(name, ':', nlen) != NULL)))
		return XF_DECLINED;
	xf_buf_reset(b);
	xf_buf_append(b, el, 1 + nlen);
	if (stream_pfx)
		xf_buf_puts(b, " xmlns:stream='" XF_NS_STREAM "'");
	else {
		xf_buf_puts(b, " xmlns='");
		xf_buf_puts(b, ns);
		xf_buf_puts(b, "'");
	}
	xf_buf_append(b, el + 1 + nlen, len - 1 - nlen);
	return xf_buf_cstr(b) != NULL ? XF_OK : XF_ERR;
}

static int
ws_write(xf_stream_t *s, const char *data, size_t len)
{
	switch (standalone(&msgbuf, s->s_kind->k_ns, data, len)) {
	case XF_OK:
		return send_text(s, xf_buf_data(&msgbuf), xf_buf_size(&msgbuf),
		    1);
	case XF_DECLINED:
		return send_text(s, data, len, 1);
	}
	return XF_ERR;
}

static void
ws_free(xf_stream_t *s)
{
	ws_t	*ws = s->s_framing;

	if (ws == NULL)
		return;
	wslay_event_context_free(ws->ws_ctx);
	free(ws);
	s->s_framing = NULL;
}

const xf_frame_t xf_frame_ws = {
	.f_name = "websocket",
	.f_starttls = 0,	/* wss:// or nothing (RFC 7395 3.7) */
	.f_open = ws_open,
	.f_close = ws_close,
	.f_write = ws_write,
	.f_free = ws_free,
};

xf_stream_t *
xf_ws_accept(xf_worker_t *w, xf_conn_t *c, const xf_stream_kind_t *k)
{
	const xf_conf_t	*cf = w->w_conf;
	xf_stream_t	*s;
	ws_t		*ws;

	if ((ws = calloc(1, sizeof(*ws))) == NULL)
		return NULL;
	if (wslay_event_context_server_init(&ws->ws_ctx, &ws_callbacks, ws)
	    != 0) {
		free(ws);
		return NULL;
	}
	/* A larger message is closed with 1009 before it is buffered. */
	wslay_event_config_set_max_recv_msg_length(ws->ws_ctx,
	    cf->cf_c2s_max_stanza);
	if ((s = xf_stream_new(w, k, &xf_frame_ws, c)) == NULL) {
		wslay_event_context_free(ws->ws_ctx);
		free(ws);
		return NULL;
	}
	ws->ws_s = s;
	s->s_framing = ws;
	/* The upgrade came over TLS on 'tls-ports', and only there. */
	s->s_secure = xf_conn_secure(c);
	xf_conn_set_rate(c, (uint32_t)cf->cf_c2s_read_rate,
	    (uint32_t)cf->cf_c2s_read_burst,
	    (uint32_t)cf->cf_c2s_flood_time * 1000);
	xf_conn_set_owner(c, &ws_up, s);
	return s;
}
