/* http.c: HTTP/1.1 requests (http-parser) up to a WebSocket upgrade: the handshake of RFC 6455 4.2, Origin checks, limits, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <http_parser.h>

#include "xf.h"
#include "log.h"
#include "base64.h"
#include "http.h"

#define CID(c)		((unsigned long long)(c)->c_id)
#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* The request headers the handshake reads; the rest are skipped. */
enum { H_HOST, H_UPGRADE, H_CONNECTION, H_KEY, H_VERSION, H_PROTOCOL,
	H_ORIGIN, H_NUM, H_OTHER = H_NUM };

static const struct {
	const char	*name;
	int		 list;	/* repeated: joined with ", " (RFC 9110 5.3) */
} hdrs[H_NUM] = {
	[H_HOST] = { "host", 0 },
	[H_UPGRADE] = { "upgrade", 1 },
	[H_CONNECTION] = { "connection", 1 },
	[H_KEY] = { "sec-websocket-key", 0 },
	[H_VERSION] = { "sec-websocket-version", 0 },
	[H_PROTOCOL] = { "sec-websocket-protocol", 1 },
	[H_ORIGIN] = { "origin", 0 },
};

/*
 * One request on one connection.  It owns the connection (one
 * reference) until it is answered and closed, or handed over; it is
 * freed when the connection reports its close, or at the hand-over.
 */
struct xf_http_s {
	xf_http_t	*h_next;
	xf_http_t	*h_prev;
	xf_http_srv_t	*h_srv;		/* borrowed */
	xf_conn_t	*h_conn;	/* a reference */
	http_parser	 h_p;
	uint64_t	 h_timer;
	size_t		 h_head;	/* bytes fed before the headers ended */
	int		 h_done;	/* the headers are in */
	int		 h_status;	/* answered with it; 0: not yet */
	int		 h_field;	/* H_*: whose value is being read */
	int		 h_in_value;
	int		 h_dup;		/* a single-valued header repeated */
	xf_buf_t	 h_name;	/* owned: the header name being read */
	xf_buf_t	 h_url;		/* owned */
	xf_buf_t	 h_val[H_NUM];	/* owned */
	int		 h_seen[H_NUM];
};

static void	 on_data(void *, xf_conn_t *, const char *, size_t);
static void	 on_event(void *, xf_conn_t *, int);

static const xf_conn_up_t http_up = { on_data, on_event, NULL };

/* ---- parsing: http-parser's callbacks -------------------------------- */

static int
on_url(http_parser *p, const char *at, size_t len)
{
	xf_http_t	*h = p->data;

	return xf_buf_append(&h->h_url, at, len) == XF_OK ? 0 : -1;
}

static int
on_field(http_parser *p, const char *at, size_t len)
{
	xf_http_t	*h = p->data;

	if (h->h_in_value) {
		h->h_in_value = 0;
		xf_buf_reset(&h->h_name);
	}
	return xf_buf_append(&h->h_name, at, len) == XF_OK ? 0 : -1;
}

static int
on_value(http_parser *p, const char *at, size_t len)
{
	xf_http_t	*h = p->data;
	const char	*name;
	int		 i;

	if (!h->h_in_value) {
		/* The name is whole: which header is it? */
		h->h_in_value = 1;
		h->h_field = H_OTHER;
		if ((name = xf_buf_cstr(&h->h_name)) == NULL)
			return -1;
		for (i = 0; i < H_NUM; i++)
			if (strcasecmp(name, hdrs[i].name) == 0)
				break;
		if (i == H_NUM)
			return 0;
		h->h_field = i;
		if (h->h_seen[i]++) {
			if (!hdrs[i].list)
				h->h_dup = 1;
			else if (xf_buf_puts(&h->h_val[i], ", ") != XF_OK)
				return -1;
		}
	}
	if (h->h_field == H_OTHER)
		return 0;
	return xf_buf_append(&h->h_val[h->h_field], at, len) == XF_OK ? 0 : -1;
}

static int
on_headers_complete(http_parser *p)
{
	xf_http_t	*h = p->data;

	h->h_done = 1;
	return 1;		/* no body is read: see on_message_complete */
}

/*
 * The request is in: the parser stops right after it, so what it was
 * given beyond it is left over (and a request with a body is answered
 * without reading the body: the connection closes after the answer).
 */
static int
on_message_complete(http_parser *p)
{
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_field,
	.on_header_value = on_value,
	.on_headers_complete = on_headers_complete,
	.on_message_complete = on_message_complete,
};

/* ---- the answer ------------------------------------------------------ */

/* 1 when the comma-separated list has tok (case-insensitive unless
 * exact). */
static int
has_token(const xf_buf_t *b, const char *tok, int exact)
{
	const char	*p = xf_buf_data(b), *end = p + xf_buf_size(b), *q;
	size_t		 n = strlen(tok), len;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		for (q = p; q < end && *q != ','; q++)
			;
		len = (size_t)(q - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && (exact ? memcmp(p, tok, n) == 0 :
		    strncasecmp(p, tok, n) == 0))
			return 1;
		p = q;
	}
	return 0;
}

static const char *
reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	}
	return "Error";
}

/* An error answer, then the connection closes once it is out. */
static void
answer_error(xf_http_t *h, int status, const char *why)
{
	char	 buf[512];
	int	 n;

	h->h_status = status;
	log_debug("c%llu: HTTP %d: %s", CID(h->h_conn), status, why);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n%s\n", status, reason(status), strlen(why) + 1,
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" :
	    status == 405 ? "Allow: GET\r\n" : "", why);
	if (n > 0 && (size_t)n < sizeof(buf))
		xf_conn_send(h->h_conn, buf, (size_t)n);
	xf_conn_close(h->h_conn);
}

/*
 * RFC 6455 4.2.1: a GET on the path, Upgrade: websocket, Connection:
 * Upgrade, a 16-byte key, version 13; RFC 7395 3.1: the subprotocol
 * xmpp; and an Origin the configuration allows.  0 when it is a good
 * upgrade, else the status to answer with (*why says why).
 */
static int
check(xf_http_t *h, size_t extra, const char **why)
{
	const xf_http_srv_t	*hs = h->h_srv;
	const char		*url, *origin;
	xf_buf_t		 key = { 0 };
	size_t			 plen;
	int			 ok;

	if (h->h_dup)
		return *why = "a header given twice", 400;
	if ((h->h_p.flags & F_CONTENTLENGTH) &&
	    h->h_p.content_length > hs->hs_max_request)
		return *why = "body too large", 413;
	if ((url = xf_buf_cstr(&h->h_url)) == NULL)
		return *why = "out of memory", 500;
	plen = strcspn(url, "?#");
	if (plen != strlen(hs->hs_ws_path) ||
	    strncmp(url, hs->hs_ws_path, plen) != 0)
		return *why = "nothing here", 404;
	if (h->h_p.method != HTTP_GET)
		return *why = "GET only", 405;
	if (h->h_p.http_major != 1 || h->h_p.http_minor < 1)
		return *why = "HTTP/1.1 needed", 400;
	if (!h->h_seen[H_HOST])
		return *why = "no Host", 400;
	if (hs->hs_norigins > 0 && h->h_seen[H_ORIGIN]) {
		if ((origin = xf_buf_cstr(&h->h_val[H_ORIGIN])) == NULL)
			return *why = "out of memory", 500;
		ok = 0;
		for (size_t i = 0; i < hs->hs_norigins && !ok; i++)
			ok = strcasecmp(origin, hs->hs_origins[i]) == 0;
		if (!ok)
			return *why = "origin not allowed", 403;
	}
	if (!has_token(&h->h_val[H_UPGRADE], "websocket", 0) ||
	    !has_token(&h->h_val[H_CONNECTION], "upgrade", 0))
		return *why = "a WebSocket upgrade only", 400;
	if (xf_buf_size(&h->h_val[H_VERSION]) != 2 ||
	    memcmp(xf_buf_data(&h->h_val[H_VERSION]), "13", 2) != 0)
		return *why = "WebSocket version 13 only", 426;
	ok = xf_buf_size(&h->h_val[H_KEY]) == 24 &&
	    xf_b64_decode(&key, xf_buf_data(&h->h_val[H_KEY]), 24) == XF_OK &&
	    xf_buf_size(&key) == 16;
	xf_buf_free(&key);
	if (!ok)
		return *why = "bad Sec-WebSocket-Key", 400;
	if (!has_token(&h->h_val[H_PROTOCOL], hs->hs_ws_proto, 1))
		return *why = "subprotocol xmpp needed (RFC 7395)", 400;
	/* RFC 6455 4.1: the client waits for the answer before it sends. */
	if (extra > 0)
		return *why = "bytes before the handshake's answer", 400;
	return 0;
}

static void
unlink_h(xf_http_t *h)
{
	xf_http_srv_t	*hs = h->h_srv;

	if (h->h_prev != NULL)
		h->h_prev->h_next = h->h_next;
	else if (hs->hs_list == h)
		hs->hs_list = h->h_next;
	if (h->h_next != NULL)
		h->h_next->h_prev = h->h_prev;
	h->h_next = h->h_prev = NULL;
}

static void
free_h(xf_http_t *h)
{
	unlink_h(h);
	xf_loop_timer_del(h->h_srv->hs_io->io_loop, h->h_timer);
	xf_buf_free(&h->h_name);
	xf_buf_free(&h->h_url);
	for (int i = 0; i < H_NUM; i++)
		xf_buf_free(&h->h_val[i]);
	free(h);
}

/* 101, then the connection is the upgrade's; h is gone. */
static void
upgrade(xf_http_t *h)
{
	xf_conn_t	*c = h->h_conn;
	xf_http_srv_t	*hs = h->h_srv;
	xf_buf_t	 b = { 0 };
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 in[24 + sizeof(WS_GUID)];

	/* RFC 6455 4.2.2: the key (checked: 24 characters) and the GUID. */
	memcpy(in, xf_buf_data(&h->h_val[H_KEY]), 24);
	memcpy(in + 24, WS_GUID, sizeof(WS_GUID) - 1);
	if (EVP_Digest(in, sizeof(in) - 1, md, &mdlen, EVP_sha1(), NULL) != 1) {
		answer_error(h, 500, "SHA-1 failed");
		return;
	}
	xf_buf_puts(&b, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: ");
	xf_b64_encode(&b, md, mdlen);
	xf_buf_printf(&b, "\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
	    hs->hs_ws_proto);
	if (xf_buf_cstr(&b) == NULL) {
		xf_buf_free(&b);
		answer_error(h, 500, "out of memory");
		return;
	}
	h->h_status = 101;
	xf_conn_send(c, xf_buf_data(&b), xf_buf_size(&b));
	xf_buf_free(&b);
	log_debug("c%llu: WebSocket upgrade", CID(c));
	xf_conn_set_owner(c, NULL, NULL);
	if (hs->hs_upgrade(hs->hs_ud, c) != XF_OK) {
		log_warnx("c%llu: cannot set up the WebSocket stream", CID(c));
		xf_conn_abort(c);
	}
	free_h(h);
	xf_conn_unref(c);	/* the new owner holds its own */
}

/* ---- the connection's events ---------------------------------------- */

static void
on_data(void *owner, xf_conn_t *c, const char *buf, size_t len)
{
	xf_http_t		*h = owner;
	const xf_http_srv_t	*hs = h->h_srv;
	enum http_errno		 e;
	const char		*why = NULL;
	size_t			 n;
	int			 status;

	if (h->h_status != 0)
		return;		/* answered: closing */
	n = http_parser_execute(&h->h_p, &settings, buf, len);
	e = HTTP_PARSER_ERRNO(&h->h_p);
	if (!h->h_done) {
		h->h_head += len;
		if (e == HPE_HEADER_OVERFLOW || h->h_head > hs->hs_max_request)
			answer_error(h, 431, "request headers too large");
		else if (e != HPE_OK)
			answer_error(h, 400, http_errno_description(e));
		return;		/* else more to come */
	}
	h->h_head += n;
	if (e != HPE_OK && e != HPE_PAUSED)
		answer_error(h, 400, http_errno_description(e));
	else if (h->h_head > hs->hs_max_request)
		answer_error(h, 431, "request headers too large");
	else if ((status = check(h, len - n, &why)) != 0)
		answer_error(h, status, why);
	else
		upgrade(h);
}

static void
on_event(void *owner, xf_conn_t *c, int ev)
{
	xf_http_t	*h = owner;

	if (ev != XF_IO_CLOSED)
		return;
	free_h(h);
	xf_conn_unref(c);
}

static void
on_timeout(xf_loop_t *l, void *ud)
{
	xf_http_t	*h = ud;

	h->h_timer = 0;
	if (h->h_status == 0)
		answer_error(h, 408, "request not received in time");
}

int
xf_http_accept(xf_http_srv_t *hs, int fd, int direct_tls)
{
	xf_http_t	*h;
	xf_conn_t	*c;

	if ((c = xf_conn_new(hs->hs_io, fd, direct_tls)) == NULL) {
		close(fd);
		return XF_ERR;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		xf_conn_unref(c);
		return XF_ERR;
	}
	h->h_srv = hs;
	h->h_conn = c;
	http_parser_init(&h->h_p, HTTP_REQUEST);
	h->h_p.data = h;
	h->h_timer = xf_loop_timer(hs->hs_io->io_loop, hs->hs_timeout_ms,
	    on_timeout, h);
	if ((h->h_next = hs->hs_list) != NULL)
		h->h_next->h_prev = h;
	hs->hs_list = h;
	xf_conn_set_owner(c, &http_up, h);
	return XF_OK;
}

void
xf_http_close_all(xf_http_srv_t *hs)
{
	xf_http_t	*h;
	xf_conn_t	*c;

	/* Each close frees its exchange (on_event), which leaves the list;
	 * one whose socket was shut already is freed here. */
	while ((h = hs->hs_list) != NULL) {
		c = h->h_conn;
		xf_conn_abort(c);
		if (hs->hs_list == h) {
			xf_conn_set_owner(c, NULL, NULL);
			free_h(h);
			xf_conn_unref(c);
		}
	}
}
