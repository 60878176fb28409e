/* conn.c: unit tests for worker/io/conn.c over a socketpair: reads to the owner, buffered writes, pause, close and its events, lifetime by references, handlers that wait (it links libxfio.a and libxf.a alone). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tap.h"
#include "xf.h"
#include "buf.h"
#include "conn.h"
#include "log.h"

typedef struct owner_s {
	xf_buf_t	 in;		/* bytes handed up, in order */
	int		 closed;	/* XF_IO_CLOSED seen */
	int		 events;
	int		 abort_in_data;	/* abort from inside u_data */
	int		 wait_ms;	/* u_data waits this long (coroutines) */
	int		 in_data;	/* u_data running now */
	int		 overlap;	/* u_data entered while running */
	int		 unsent;	/* elements handed back at the close */
	int		 unsent_bad;	/* ... not whole */
	size_t		 unsent_bytes;
	xf_conn_t	*c;
} owner_t;

static xf_loop_t		*loop;
static volatile uint32_t	 nconns;

static void
on_data(void *ud, xf_conn_t *c, const char *buf, size_t len)
{
	owner_t	*o = ud;

	if (o->in_data)
		o->overlap = 1;
	o->in_data = 1;
	xf_buf_append(&o->in, buf, len);
	if (o->abort_in_data) {
		xf_conn_abort(c);
		/* Still ours to look at: the handler holds a reference. */
		xf_buf_append(&o->in, c->c_fd == -1 ? "|shut" : "|open", 5);
	}
	if (o->wait_ms > 0 && xf_co_self() != NULL)
		xf_co_suspend_for(o->wait_ms);
	o->in_data = 0;
}

static void
on_event(void *ud, xf_conn_t *c, int ev)
{
	owner_t	*o = ud;

	o->events++;
	if (ev == XF_IO_CLOSED) {
		o->closed++;
		o->c = NULL;
		xf_conn_unref(c);
	}
}

/* Elements are "<e>NNNN...</e>" of 1000 bytes. */
static void
on_unsent(void *ud, xf_conn_t *c, const char *data, size_t len)
{
	owner_t	*o = ud;

	o->unsent++;
	o->unsent_bytes += len;
	if (len != 1000 || memcmp(data, "<e>", 3) != 0 ||
	    memcmp(data + len - 4, "</e>", 4) != 0)
		o->unsent_bad++;
}

static const xf_conn_up_t up = { on_data, on_event, on_unsent };

static void
stop(xf_loop_t *l, void *ud)
{
	xf_loop_stop(l);
}

/* Runs the loop for ms milliseconds, flushing before each sleep. */
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

/* A connection on one end of a fresh socketpair; *peer gets the other.
 * o starts over; what o->in held from the last one is freed. */
static xf_conn_t *
pair(xf_io_t *io, owner_t *o, int *peer)
{
	int		 sv[2];
	xf_conn_t	*c;

	xf_buf_free(&o->in);
	memset(o, 0, sizeof(*o));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		return NULL;
	if ((c = xf_conn_new(io, sv[0], 0)) == NULL)
		return NULL;
	xf_conn_set_owner(c, &up, o);
	o->c = c;
	*peer = sv[1];
	return c;
}

/* Reads what the peer has now (non-blocking), NUL-terminated. */
static ssize_t
peer_read(int fd, char *buf, size_t len)
{
	ssize_t	 n = -1, got = 0;

	while ((size_t)got + 1 < len &&
	    (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	return n == 0 && got == 0 ? 0 : got;
}

static int
peer_eof(int fd)
{
	char	 b;

	return read(fd, &b, 1) == 0;
}

int
main(void)
{
	xf_io_t		 io;
	owner_t		 o = { .c = NULL };
	xf_conn_t	*c;
	char		 buf[65536];
	int		 peer;
	char		*big;

	log_init(1, XF_LOG_ERR);	/* the slow reader's warning is expected */
	if ((loop = xf_loop_new()) == NULL) {
		printf("Bail out! no loop\n");
		return 1;
	}
	memset(&io, 0, sizeof(io));
	io.io_loop = loop;
	io.io_nconns = &nconns;
	xf_loop_before_sleep(loop, flush_hook, &io);

	/* Bytes in, bytes out. */
	c = pair(&io, &o, &peer);
	ok(c != NULL, "a connection on a socketpair");
	is_int(nconns, 1, "  counted");
	write(peer, "<hello/>", 8);
	spin(30);
	is_int(xf_buf_size(&o.in), 8, "its bytes reach the owner");
	ok(memcmp(xf_buf_data(&o.in), "<hello/>", 8) == 0, "  unchanged");
	ok(xf_conn_recent(c), "  a read makes it recent");
	ok(!xf_conn_recent(c), "  and asking clears that");

	xf_conn_send(c, "abc", 3);
	xf_conn_send(c, "def", 3);
	is_int(peer_read(peer, buf, sizeof(buf)), 0, "output waits for the flush");
	spin(10);
	peer_read(peer, buf, sizeof(buf));
	is_str(buf, "abcdef", "  then goes out in one piece, in order");
	xf_conn_trim(c);
	ok(xf_buf_size(&c->c_wbuf) == 0, "an idle connection gives its buffer back");

	/* Pause: no reads while paused, then all of them. */
	xf_buf_reset(&o.in);
	xf_conn_pause(c, 1);
	write(peer, "one", 3);
	spin(30);
	is_int(xf_buf_size(&o.in), 0, "paused: nothing is read");
	xf_conn_pause(c, 0);
	spin(30);
	is_int(xf_buf_size(&o.in), 3, "resumed: what waited is read");

	/* Close: output first, then EOF for the peer, CLOSED for us. */
	xf_conn_send(c, "bye", 3);
	xf_conn_close(c);
	ok(xf_conn_closing(c), "closing is seen at once");
	xf_conn_send(c, "after", 5);
	spin(30);
	peer_read(peer, buf, sizeof(buf));
	is_str(buf, "bye", "what was said before the close goes out, nothing after");
	ok(peer_eof(peer), "  then the peer sees the end");
	is_int(o.closed, 1, "the owner is told once");
	is_int(nconns, 0, "  no longer counted");
	close(peer);

	/* The peer goes away. */
	c = pair(&io, &o, &peer);
	close(peer);
	spin(30);
	is_int(o.closed, 1, "a peer's hang-up: the owner is told");
	ok(o.c == NULL, "  and has let go");

	/* An owner that aborts from inside its handler. */
	c = pair(&io, &o, &peer);
	o.abort_in_data = 1;
	write(peer, "x", 1);
	spin(30);
	is_int(o.closed, 1, "abort inside the handler: closed once");
	ok(xf_buf_size(&o.in) == 6 &&
	    memcmp(xf_buf_data(&o.in), "x|shut", 6) == 0,
	    "  the handler still sees the connection, shut");
	ok(peer_eof(peer), "  the peer sees the end");
	close(peer);

	/* The owner lets go first: a closing connection finishes alone. */
	c = pair(&io, &o, &peer);
	xf_conn_send(c, "last", 4);
	xf_conn_set_owner(c, NULL, NULL);
	xf_conn_close(c);
	xf_conn_unref(c);
	spin(30);
	peer_read(peer, buf, sizeof(buf));
	is_str(buf, "last", "an owner gone: the output still goes out");
	ok(peer_eof(peer), "  and the socket closes");
	is_int(o.closed, 0, "  nobody is told");
	close(peer);

	/* A reader that never reads: what the close leaves unwritten goes
	 * back to the owner element by element, each whole (also the one
	 * written in part). */
	c = pair(&io, &o, &peer);
	big = malloc(1000);
	memset(big, 'x', 1000);
	memcpy(big, "<e>", 3);
	memcpy(big + 996, "</e>", 4);
	for (int i = 0; i < 4000; i++) {
		xf_conn_send_el(c, big, 1000);
		if (i % 100 == 0)
			spin(2);
	}
	spin(10);
	ok(xf_conn_pending(c) > 0 && xf_conn_pending(c) < 4000000,
	    "the socket took some, %zu bytes wait", xf_conn_pending(c));
	ok(io.io_pending == xf_conn_pending(c), "  counted for the process");
	{
		size_t	 left = xf_conn_pending(c);

		xf_conn_abort(c);
		ok(o.unsent > 0 && o.unsent_bad == 0,
		    "closed: %d elements back, all whole", o.unsent);
		ok(o.unsent_bytes >= left && o.unsent_bytes < left + 1000,
		    "  every unwritten byte, and the element written in part");
		is_int(io.io_pending, 0, "  nothing counted any more");
	}
	{
		/* What the peer got plus what came back: all 4000. */
		size_t	 got = 0;
		ssize_t	 n;

		while ((n = read(peer, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		ok(got / 1000 + (size_t)o.unsent >= 4000 &&
		    got / 1000 + (size_t)o.unsent <= 4001,
		    "  read %zu bytes + %d back: none lost", got, o.unsent);
	}
	free(big);
	is_int(o.closed, 1, "  and its owner told");
	close(peer);

	/* Handlers that wait (on coroutines): reads stop meanwhile, and the
	 * bytes keep their order. */
	xf_co_init(loop);
	io.io_async = 1;
	c = pair(&io, &o, &peer);
	o.wait_ms = 50;
	write(peer, "first", 5);
	spin(10);
	write(peer, "second", 6);
	spin(20);
	is_int(xf_buf_size(&o.in), 5, "a waiting handler: no more reads");
	spin(150);
	ok(xf_buf_size(&o.in) == 11 &&
	    memcmp(xf_buf_data(&o.in), "firstsecond", 11) == 0,
	    "  then the rest, in order");
	ok(!o.overlap, "  one handler at a time");
	/* The peer hangs up while a handler waits: told once, after. */
	write(peer, "third", 5);
	spin(10);
	close(peer);
	spin(20);
	is_int(o.closed, 0, "hang-up during a wait: not yet");
	spin(150);
	is_int(o.closed, 1, "  told once the handler is done");
	is_int(xf_co_count(), 0, "  no coroutine left");
	is_int(nconns, 0, "every connection is gone");

	xf_buf_free(&o.in);
	xf_loop_free(loop);
	return done_testing();
}
