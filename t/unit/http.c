/* http.c: unit tests for worker/io/http.c over a socketpair: the WebSocket handshake (RFC 6455 4.2), each error answer, a request split at every byte, mutated requests, the timeout (it links libxfio.a and libxf.a alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tap.h"
#include "xf.h"
#include "conn.h"
#include "http.h"
#include "log.h"

#define PATH	"/xmpp-websocket"

static xf_loop_t		*loop;
static volatile uint32_t	 nconns;
static int			 upgrades;
static xf_conn_t		*upgraded;

/* The upgraded connection's owner: it only lets go at the close. */
static void
up_data(void *ud, xf_conn_t *c, const char *buf, size_t len)
{
}

static void
up_event(void *ud, xf_conn_t *c, int ev)
{
	if (ev == XF_IO_CLOSED) {
		if (upgraded == c)
			upgraded = NULL;
		xf_conn_unref(c);
	}
}

static const xf_conn_up_t up = { up_data, up_event, NULL };

static int
on_upgrade(void *ud, xf_conn_t *c)
{
	upgrades++;
	upgraded = c;
	xf_conn_ref(c);
	xf_conn_set_owner(c, &up, NULL);
	return XF_OK;
}

static void
stop(xf_loop_t *l, void *ud)
{
	xf_loop_stop(l);
}

static void
flush_hook(xf_loop_t *l, void *ud)
{
	xf_conn_flush_all(ud);
}

static void
spin(int ms)
{
	xf_loop_timer(loop, (uint64_t)ms, stop, NULL);
	xf_loop_run(loop);
}

/* An exchange on one end of a socketpair; the other end is returned. */
static int
pair(xf_http_srv_t *hs)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		return -1;
	if (xf_http_accept(hs, sv[0], 0) != XF_OK)
		return -1;
	return sv[1];
}

/* What the server wrote, NUL-terminated; *eof: it closed. */
static size_t
answer(int fd, char *buf, size_t len, int *eof)
{
	ssize_t	 n;
	size_t	 got = 0;

	*eof = 0;
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) >= 0) {
		if (n == 0) {
			*eof = 1;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* Sends req (in two parts, split at split when it is > 0) and returns
 * the status answered, 0 for none; *eof as above. */
static int
exchange(xf_http_srv_t *hs, const char *req, size_t len, size_t split,
    char *buf, size_t buflen, int *eof)
{
	int	 fd, status = 0;

	if ((fd = pair(hs)) == -1)
		return -1;
	if (split > 0 && split < len) {
		if (write(fd, req, split) != (ssize_t)split)
			return -1;
		spin(1);
		req += split;
		len -= split;
	}
	if (len > 0 && write(fd, req, len) != (ssize_t)len)
		return -1;
	spin(5);
	answer(fd, buf, buflen, eof);
	if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
		status = atoi(buf + 9);
	close(fd);
	if (upgraded != NULL) {
		xf_conn_abort(upgraded);
		spin(1);
	}
	return status;
}

static char *
request(const char *path, const char *method, const char *extra)
{
	static char	 buf[16384];

	snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s\r\n", method, path, extra);
	return buf;
}

int
main(void)
{
	static char	 out[65536], big[8192];
	xf_io_t		 io;
	xf_http_srv_t	 hs;
	char		*origins[] = { "https://chat.example.org" };
	const char	*req;
	size_t		 len;
	int		 eof, st, bad, n;

	log_init(1, XF_LOG_ERR);
	if ((loop = xf_loop_new()) == NULL) {
		printf("Bail out! no loop\n");
		return 1;
	}
	memset(&io, 0, sizeof(io));
	io.io_loop = loop;
	io.io_nconns = &nconns;
	xf_loop_before_sleep(loop, flush_hook, &io);
	memset(&hs, 0, sizeof(hs));
	hs.hs_io = &io;
	hs.hs_max_request = 4096;
	hs.hs_origins = origins;
	hs.hs_norigins = 1;
	hs.hs_timeout_ms = 10000;
	hs.hs_ws_path = PATH;
	hs.hs_ws_proto = "xmpp";
	hs.hs_upgrade = on_upgrade;

	/* RFC 6455 1.3's sample key gives its sample answer. */
	req = request(PATH, "GET", "Sec-WebSocket-Protocol: chat, xmpp\r\n"
	    "Origin: https://Chat.Example.org\r\n");
	st = exchange(&hs, req, strlen(req), 0, out, sizeof(out), &eof);
	is_int(st, 101, "upgrade: 101");
	ok(strstr(out, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	    "\r\n") != NULL, "upgrade: RFC 6455's sample accept key");
	ok(strstr(out, "\r\nSec-WebSocket-Protocol: xmpp\r\n") != NULL,
	    "upgrade: subprotocol xmpp");
	ok(strstr(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n") !=
	    NULL, "upgrade: Upgrade and Connection");
	is_int(upgrades, 1, "upgrade: handed over once");
	ok(hs.hs_list == NULL, "upgrade: no exchange left");

	/* Split at every byte: the parser takes it in any pieces. */
	req = request(PATH, "GET", "Sec-WebSocket-Protocol: xmpp\r\n");
	len = strlen(req);
	bad = 0;
	upgrades = 0;
	for (size_t i = 1; i < len; i++)
		if (exchange(&hs, req, len, i, out, sizeof(out), &eof) != 101)
			bad++;
	is_int(bad, 0, "split at each of %zu offsets: 101 every time", len);
	is_int(upgrades, (int)len - 1, "each one handed over");

	/* Errors: the status, and the connection closed. */
	static const struct {
		const char	*name, *path, *method, *extra;
		int		 status;
	} cases[] = {
		{ "another path", "/", "GET", "Sec-WebSocket-Protocol: xmpp\r\n",
		    404 },
		{ "a query is not the path", "/xmpp-websocketx", "GET",
		    "Sec-WebSocket-Protocol: xmpp\r\n", 404 },
		{ "POST", PATH, "POST", "Sec-WebSocket-Protocol: xmpp\r\n",
		    405 },
		{ "no subprotocol", PATH, "GET", "", 400 },
		{ "another subprotocol", PATH, "GET",
		    "Sec-WebSocket-Protocol: xmpp2, XMPP\r\n", 400 },
		{ "origin not allowed", PATH, "GET",
		    "Sec-WebSocket-Protocol: xmpp\r\n"
		    "Origin: https://evil.example\r\n", 403 },
		{ "two keys", PATH, "GET", "Sec-WebSocket-Protocol: xmpp\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 400 },
		{ "a body too large", PATH, "GET",
		    "Sec-WebSocket-Protocol: xmpp\r\nContent-Length: 5000\r\n",
		    413 },
	};
	for (size_t i = 0; i < XF_NELEM(cases); i++) {
		req = request(cases[i].path, cases[i].method, cases[i].extra);
		st = exchange(&hs, req, strlen(req), 0, out, sizeof(out), &eof);
		ok(st == cases[i].status && eof, "%s: %d, closed",
		    cases[i].name, cases[i].status);
		if (st != cases[i].status)
			printf("#   got %d: %.80s\n", st, out);
	}
	static const struct {
		const char	*name, *req;
		int		 status;
	} raw[] = {
		{ "no Upgrade", "GET " PATH " HTTP/1.1\r\nHost: x\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", 400 },
		{ "version 8", "GET " PATH " HTTP/1.1\r\nHost: x\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 8\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", 426 },
		{ "a short key", "GET " PATH " HTTP/1.1\r\nHost: x\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", 400 },
		{ "no Host", "GET " PATH " HTTP/1.1\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", 400 },
		{ "HTTP/1.0", "GET " PATH " HTTP/1.0\r\nHost: x\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n", 400 },
		{ "a frame before the answer", "GET " PATH " HTTP/1.1\r\n"
		    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "Sec-WebSocket-Protocol: xmpp\r\n\r\n\x81\x80xxxx", 400 },
		{ "not HTTP", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		    400 },
		{ "a bad header line", "GET " PATH " HTTP/1.1\r\nHo st: x\r\n"
		    "\r\n", 400 },
	};
	for (size_t i = 0; i < XF_NELEM(raw); i++) {
		st = exchange(&hs, raw[i].req, strlen(raw[i].req), 0, out,
		    sizeof(out), &eof);
		ok(st == raw[i].status && eof, "%s: %d, closed", raw[i].name,
		    raw[i].status);
		if (st != raw[i].status)
			printf("#   got %d: %.80s\n", st, out);
	}

	/* Headers past 'max-request-size', at once or in pieces. */
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		static char	 hdr[5100];

		snprintf(hdr, sizeof(hdr), "X-Big: %.5000s\r\n", big);
		req = request(PATH, "GET", hdr);
	}
	len = strlen(req);
	st = exchange(&hs, req, len, 0, out, sizeof(out), &eof);
	ok(st == 431 && eof, "headers over max-request-size: 431, closed");
	snprintf(big, sizeof(big), "GET " PATH " HTTP/1.1\r\nHost: x\r\n"
	    "X-Big: %0*d", 4200, 0);
	st = exchange(&hs, big, strlen(big), 100, out, sizeof(out), &eof);
	ok(st == 431 && eof, "an unfinished header over max-request-size: "
	    "431, closed");

	/* Mutated requests: one byte changed anywhere; always an answer,
	 * and a connection closed unless upgraded. */
	req = request(PATH, "GET", "Sec-WebSocket-Protocol: xmpp\r\n");
	len = strlen(req);
	srandom(7);
	bad = n = 0;
	for (size_t i = 0; i < len; i++, n++) {
		char	 m[1024];

		memcpy(m, req, len);
		m[i] = (char)(random() & 0xff);
		st = exchange(&hs, m, len, 0, out, sizeof(out), &eof);
		/* A changed header value may leave the request incomplete
		 * (a CRLF broken): no answer until the timeout. */
		if (st != 0 && st != 101 && (st < 400 || st > 431 || !eof))
			bad++;
	}
	is_int(bad, 0, "%d mutated requests: a 101 or a 4xx and a close", n);
	{
		int	 fd = pair(&hs);

		if (fd == -1 || write(fd, "GET / HTTP/1.1\r\n", 16) != 16)
			printf("Bail out! socketpair\n");
		spin(5);
		ok(hs.hs_list != NULL, "an incomplete request waits");
		xf_http_close_all(&hs);
		ok(hs.hs_list == NULL, "xf_http_close_all() ends it");
		answer(fd, out, sizeof(out), &eof);
		ok(eof && out[0] == '\0', "its connection closed, unanswered");
		close(fd);
	}
	spin(5);

	/* The whole request must come in time. */
	hs.hs_timeout_ms = 20;
	{
		int	 fd = pair(&hs);

		if (fd == -1 || write(fd, "GET / HTTP/1.1\r\n", 16) != 16)
			printf("Bail out! socketpair\n");
		spin(60);
		answer(fd, out, sizeof(out), &eof);
		ok(strncmp(out, "HTTP/1.1 408 ", 13) == 0 && eof,
		    "slow request: 408, closed");
		close(fd);
	}
	spin(5);
	is_int(nconns, 0, "no connection left");
	xf_loop_free(loop);
	return done_testing();
}
