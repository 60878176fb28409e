/* conn.c: a connection's bytes: reads, buffered writes, TLS on the socket, closing, and its lifetime. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/err.h>

#include "xf.h"
#include "log.h"
#include "net.h"
#include "conn.h"

#define READ_CHUNK	16384
#define CLOSE_LINGER_MS	2000
/* The owner bounds a slow reader's output ('max-output'); this is the
 * last resort should it not. */
#define WBUF_MAX	(1ull << 30)

#define CID(c)		((unsigned long long)(c)->c_id)

static void	 on_io(xf_loop_t *, int, int, void *);
static void	 read_input(xf_conn_t *);

static int
io_mask(const xf_conn_t *c)
{
	int	 mask = 0;

	if (c->c_flags & XF_CONN_SHUT)
		return 0;
	if (c->c_up != NULL && !(c->c_flags & (XF_CONN_PAUSED |
	    XF_CONN_CLOSING | XF_CONN_THROTTLED)))
		mask |= XF_EV_READ;
	if (c->c_flags & XF_CONN_WANT_WRITE)
		mask |= XF_EV_WRITE;
	return mask;
}

static void
update_mask(xf_conn_t *c)
{
	int	 mask = io_mask(c);

	/* Out of epoll while its handler waits: set when it is back.
	 * Unchanged: no system call. */
	if (!(c->c_flags & (XF_CONN_OFF | XF_CONN_SHUT)) &&
	    mask != c->c_mask) {
		xf_loop_mod(c->c_io->io_loop, c->c_fd, mask);
		c->c_mask = mask;
	}
}

static void
ssl_log(xf_conn_t *c, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("c%llu: %s: %s", CID(c), what, buf);
	}
	ERR_clear_error();
}

xf_conn_t *
xf_conn_new(xf_io_t *io, int fd, int direct_tls)
{
	xf_conn_t	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_fd = fd;
	c->c_io = io;
	c->c_refs = 1;
	c->c_id = ++io->io_seq;
	xf_net_peer(fd, c->c_ip, sizeof(c->c_ip));
	xf_net_tune(fd);
	if (direct_tls) {
		c->c_flags |= XF_CONN_DIRECT_TLS;
		if ((c->c_ssl = SSL_new(io->io_ssl)) == NULL ||
		    SSL_set_fd(c->c_ssl, fd) != 1)
			goto fail;
		SSL_set_accept_state(c->c_ssl);
	}
	/* Read from the start: the owner is set before the loop runs
	 * again (on_io and read_input wait for one meanwhile). */
	if (xf_loop_add(io->io_loop, fd, XF_EV_READ, on_io, c) != XF_OK)
		goto fail;
	c->c_mask = XF_EV_READ;
	(*io->io_nconns)++;
	log_debug("c%llu: connection from %s%s", CID(c), c->c_ip,
	    direct_tls ? " (direct TLS)" : "");
	return c;
fail:
	if (c->c_ssl)
		SSL_free(c->c_ssl);
	free(c);
	return NULL;
}

void
xf_conn_set_owner(xf_conn_t *c, const xf_conn_up_t *up, void *owner)
{
	c->c_up = up;
	c->c_owner = owner;
	update_mask(c);
}

void
xf_conn_ref(xf_conn_t *c)
{
	c->c_refs++;
}

static void
unflush(xf_conn_t *c)
{
	xf_conn_t	**pp;

	if (!(c->c_flags & XF_CONN_IN_FLUSH))
		return;
	for (pp = &c->c_io->io_flush; *pp; pp = &(*pp)->c_flush_next)
		if (*pp == c) {
			*pp = c->c_flush_next;
			break;
		}
	c->c_flags &= ~XF_CONN_IN_FLUSH;
	c->c_flush_next = NULL;
}

/*
 * Closes the socket and tells the owner, once.  The caller must not use
 * c afterwards unless it holds a reference: the owner lets its own go.
 */
static void
shut(xf_conn_t *c, int clean)
{
	xf_io_t	*io = c->c_io;
	int	 closing;

	if (c->c_flags & XF_CONN_SHUT)
		return;
	closing = (c->c_flags & XF_CONN_CLOSING) != 0;
	c->c_flags |= XF_CONN_SHUT;
	xf_loop_timer_del(io->io_loop, c->c_timer);
	c->c_timer = 0;
	if (!(c->c_flags & XF_CONN_OFF))
		xf_loop_del(io->io_loop, c->c_fd);
	unflush(c);
	if (c->c_ssl) {
		if (clean && (c->c_flags & XF_CONN_TLS_UP))
			SSL_shutdown(c->c_ssl);
		SSL_free(c->c_ssl);
		c->c_ssl = NULL;
	}
	close(c->c_fd);
	c->c_fd = -1;
	(*io->io_nconns)--;
	/* What never left goes back whole: the owner may keep it. */
	for (uint32_t i = c->c_mhead; i < c->c_nmarks; i++)
		if (c->c_up != NULL && c->c_up->u_unsent != NULL)
			c->c_up->u_unsent(c->c_owner, c, xf_buf_data(&c->c_wbuf) +
			    (c->c_marks[2 * i] - c->c_base),
			    c->c_marks[2 * i + 1] - c->c_marks[2 * i]);
	io->io_pending -= c->c_queued - c->c_written;
	c->c_written = c->c_base = c->c_queued;
	c->c_mhead = c->c_nmarks = 0;
	free(c->c_marks);
	c->c_marks = NULL;
	c->c_capmarks = 0;
	xf_buf_free(&c->c_wbuf);
	log_debug("c%llu: closed", CID(c));
	if (c->c_up != NULL)
		c->c_up->u_event(c->c_owner, c, XF_IO_CLOSED);
	if (closing)
		xf_conn_unref(c);	/* xf_conn_close()'s */
}

void
xf_conn_unref(xf_conn_t *c)
{
	if (--c->c_refs > 0)
		return;
	/* The owner let go without a close: nobody is left to tell. */
	c->c_up = NULL;
	shut(c, 0);
	free(c);
}

/*
 * n more bytes are out.  The buffer lets go of them, except for an
 * element only partly written: it stays whole until its last byte is
 * out, so a close can hand it back.
 */
static void
written(xf_conn_t *c, size_t n)
{
	uint64_t	 keep;

	c->c_written += n;
	c->c_io->io_pending -= n;
	while (c->c_mhead < c->c_nmarks &&
	    c->c_marks[2 * c->c_mhead + 1] <= c->c_written)
		c->c_mhead++;
	if (c->c_mhead == c->c_nmarks) {
		c->c_mhead = c->c_nmarks = 0;
		keep = c->c_written;
	} else if ((keep = c->c_marks[2 * c->c_mhead]) > c->c_written)
		keep = c->c_written;
	xf_buf_consume(&c->c_wbuf, (size_t)(keep - c->c_base));
	c->c_base = keep;
}

/*
 * Writes what c_wbuf holds.  XF_OK when empty, XF_AGAIN when the socket
 * is full, XF_ERR when the peer is gone.
 */
static int
flush(xf_conn_t *c)
{
	ssize_t	 n;

	if (c->c_flags & XF_CONN_SHUT)
		return XF_ERR;
	while (c->c_queued > c->c_written) {
		const char	*p = xf_buf_data(&c->c_wbuf) +
				    (c->c_written - c->c_base);
		size_t		 len = (size_t)(c->c_queued - c->c_written);

		if (c->c_ssl) {
			int	 r, e;

			if (!(c->c_flags & XF_CONN_TLS_UP))
				return XF_AGAIN;
			if (len > 65536)
				len = 65536;
			ERR_clear_error();
			r = SSL_write(c->c_ssl, p, (int)len);
			if (r <= 0) {
				e = SSL_get_error(c->c_ssl, r);
				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ)
					return XF_AGAIN;
				ssl_log(c, "SSL_write");
				return XF_ERR;
			}
			n = r;
		} else {
			n = send(c->c_fd, p, len, MSG_NOSIGNAL);
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					return XF_AGAIN;
				return XF_ERR;
			}
		}
		written(c, (size_t)n);
	}
	return XF_OK;
}

/* Writes one connection's output; shuts it when closing and done (the
 * caller then must not touch c). */
static void
flush_one(xf_conn_t *c)
{
	int	 r = flush(c);

	if (r == XF_ERR || (r == XF_OK && (c->c_flags & XF_CONN_CLOSING))) {
		shut(c, r == XF_OK);
		return;
	}
	if ((r == XF_AGAIN) != !!(c->c_flags & XF_CONN_WANT_WRITE)) {
		c->c_flags ^= XF_CONN_WANT_WRITE;
		update_mask(c);
	}
	if (r == XF_OK && (c->c_flags & XF_CONN_WANT_DRAIN) &&
	    c->c_up != NULL) {
		c->c_flags &= ~XF_CONN_WANT_DRAIN;
		c->c_up->u_event(c->c_owner, c, XF_IO_DRAINED);
	}
}

void
xf_conn_flush_all(xf_io_t *io)
{
	xf_conn_t	*c;

	while ((c = io->io_flush) != NULL) {
		io->io_flush = c->c_flush_next;
		c->c_flags &= ~XF_CONN_IN_FLUSH;
		c->c_flush_next = NULL;
		flush_one(c);
	}
}

static void
schedule_flush(xf_conn_t *c)
{
	if (c->c_flags & (XF_CONN_IN_FLUSH | XF_CONN_SHUT))
		return;
	c->c_flags |= XF_CONN_IN_FLUSH;
	c->c_flush_next = c->c_io->io_flush;
	c->c_io->io_flush = c;
}

/* Appends output; XF_ERR when it cannot be taken (and c closes: what
 * it holds goes back to the owner). */
static int
queue(xf_conn_t *c, const char *data, size_t len)
{
	/* After a close the owner has had its last word. */
	if (c->c_flags & (XF_CONN_MUTE | XF_CONN_CLOSING | XF_CONN_SHUT))
		return XF_ERR;
	if (c->c_queued - c->c_base + len > WBUF_MAX ||
	    xf_buf_append(&c->c_wbuf, data, len) != XF_OK) {
		log_warnx("c%llu: %zu bytes of output waiting: closing",
		    CID(c), (size_t)(c->c_queued - c->c_written));
		c->c_flags |= XF_CONN_MUTE;
		xf_conn_close(c);
		return XF_ERR;
	}
	c->c_queued += len;
	c->c_io->io_pending += len;
	schedule_flush(c);
	return XF_OK;
}

void
xf_conn_send(xf_conn_t *c, const char *data, size_t len)
{
	queue(c, data, len);
}

int
xf_conn_send_el(xf_conn_t *c, const char *data, size_t len)
{
	uint64_t	*p;
	uint32_t	 n;

	if (c->c_nmarks == c->c_capmarks) {
		n = c->c_capmarks ? c->c_capmarks * 2 : 16;
		if ((p = realloc(c->c_marks, 2 * n * sizeof(*p))) == NULL) {
			log_warnx("c%llu: out of memory", CID(c));
			c->c_flags |= XF_CONN_MUTE;
			xf_conn_close(c);
			return XF_ERR;
		}
		c->c_marks = p;
		c->c_capmarks = n;
	}
	if (queue(c, data, len) != XF_OK)
		return XF_ERR;
	c->c_marks[2 * c->c_nmarks] = c->c_queued - len;
	c->c_marks[2 * c->c_nmarks + 1] = c->c_queued;
	c->c_nmarks++;
	return XF_OK;
}

static void
close_linger(xf_loop_t *l, void *ud)
{
	xf_conn_t	*c = ud;

	c->c_timer = 0;
	shut(c, 0);
}

void
xf_conn_close(xf_conn_t *c)
{
	xf_io_t	*io = c->c_io;

	if (c->c_flags & (XF_CONN_CLOSING | XF_CONN_SHUT))
		return;
	/* A closing connection keeps itself until its output is out,
	 * whether or not its owner still holds it. */
	c->c_flags |= XF_CONN_CLOSING;
	xf_conn_ref(c);
	xf_loop_timer_del(io->io_loop, c->c_timer);
	c->c_timer = xf_loop_timer(io->io_loop, CLOSE_LINGER_MS,
	    close_linger, c);
	update_mask(c);
	/* The flush list shuts it once the output is out. */
	schedule_flush(c);
}

void
xf_conn_abort(xf_conn_t *c)
{
	shut(c, 0);
}

size_t
xf_conn_pending(const xf_conn_t *c)
{
	return (size_t)(c->c_queued - c->c_written);
}

void
xf_conn_drained(xf_conn_t *c)
{
	c->c_flags |= XF_CONN_WANT_DRAIN;
}

int
xf_conn_secure(const xf_conn_t *c)
{
	return (c->c_flags & XF_CONN_TLS_UP) != 0;
}

int
xf_conn_closing(const xf_conn_t *c)
{
	return (c->c_flags & (XF_CONN_CLOSING | XF_CONN_SHUT |
	    XF_CONN_MUTE)) != 0;
}

int
xf_conn_recent(xf_conn_t *c)
{
	int	 r = (c->c_flags & XF_CONN_RECENT) != 0;

	c->c_flags &= ~XF_CONN_RECENT;
	return r;
}

void
xf_conn_trim(xf_conn_t *c)
{
	if (c->c_queued == c->c_base && !(c->c_flags & XF_CONN_IN_FLUSH)) {
		xf_buf_free(&c->c_wbuf);
		free(c->c_marks);
		c->c_marks = NULL;
		c->c_capmarks = 0;
	}
}

/* TLS may hold decrypted bytes epoll knows nothing of, and a throttled
 * connection has tokens again: read. */
static void
pending_read(xf_loop_t *l, void *ud)
{
	xf_conn_t	*c = ud;

	c->c_timer = 0;
	if (c->c_flags & XF_CONN_THROTTLED) {
		c->c_flags &= ~XF_CONN_THROTTLED;
		update_mask(c);
	}
	read_input(c);
}

void
xf_conn_set_rate(xf_conn_t *c, uint32_t rate, uint32_t burst,
    uint32_t flood_ms)
{
	c->c_rate = rate;
	c->c_burst = burst > READ_CHUNK ? burst : READ_CHUNK;
	c->c_tokens = c->c_burst;
	c->c_tstamp = xf_loop_now(c->c_io->io_loop);
	c->c_flood_ms = flood_ms;
}

/*
 * Refills the bucket; 1 when c may read now.  Otherwise it is out of
 * epoll's read set until the tokens for one chunk are back.  Tokens may
 * go below zero by one read: the next waits for them.
 */
static int
may_read(xf_conn_t *c)
{
	uint64_t	 now, ms;

	if (c->c_rate == 0)
		return 1;
	now = xf_loop_now(c->c_io->io_loop);
	c->c_tokens += (int64_t)((now - c->c_tstamp) * c->c_rate / 1000);
	c->c_tstamp = now;
	if (c->c_tokens > (int64_t)c->c_burst)
		c->c_tokens = c->c_burst;
	if (c->c_tokens > 0)
		return 1;
	if (c->c_over_since == 0)
		c->c_over_since = now;
	else if (c->c_flood_ms > 0 && now - c->c_over_since >= c->c_flood_ms) {
		c->c_up->u_event(c->c_owner, c, XF_IO_FLOOD);
		if (c->c_flags & (XF_CONN_CLOSING | XF_CONN_SHUT))
			return 0;
	}
	c->c_flags |= XF_CONN_THROTTLED;
	update_mask(c);
	ms = (uint64_t)(-c->c_tokens + READ_CHUNK) * 1000 / c->c_rate + 1;
	if (c->c_timer == 0)
		c->c_timer = xf_loop_timer(c->c_io->io_loop, ms, pending_read,
		    c);
	return 0;
}

void
xf_conn_pause(xf_conn_t *c, int paused)
{
	if (!!(c->c_flags & XF_CONN_PAUSED) == !!paused)
		return;
	c->c_flags ^= XF_CONN_PAUSED;
	update_mask(c);
	if (!paused && c->c_ssl && SSL_pending(c->c_ssl) > 0 &&
	    c->c_timer == 0 && !(c->c_flags & XF_CONN_CLOSING))
		c->c_timer = xf_loop_timer(c->c_io->io_loop, 0, pending_read,
		    c);
}

int
xf_conn_start_tls(xf_conn_t *c)
{
	/* What is queued (<proceed/>) goes out in the clear first. */
	if (c->c_ssl != NULL || flush(c) != XF_OK)
		return XF_ERR;
	if ((c->c_ssl = SSL_new(c->c_io->io_ssl)) == NULL ||
	    SSL_set_fd(c->c_ssl, c->c_fd) != 1) {
		ssl_log(c, "SSL_new");
		return XF_ERR;
	}
	SSL_set_accept_state(c->c_ssl);
	return XF_OK;
}

static int
tls_handshake(xf_conn_t *c)
{
	int	 r, e;

	ERR_clear_error();
	if ((r = SSL_do_handshake(c->c_ssl)) == 1) {
		c->c_flags |= XF_CONN_TLS_UP;
		log_debug("c%llu: %s with %s", CID(c),
		    SSL_get_version(c->c_ssl), SSL_get_cipher_name(c->c_ssl));
		c->c_up->u_event(c->c_owner, c, XF_IO_TLSREADY);
		if (c->c_queued > c->c_written)
			schedule_flush(c);
		return XF_OK;
	}
	e = SSL_get_error(c->c_ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return XF_AGAIN;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->c_flags |= XF_CONN_WANT_WRITE;
		update_mask(c);
		return XF_AGAIN;
	}
	ssl_log(c, "TLS handshake failed");
	return XF_ERR;
}

/* Reads what the socket has and hands it to the owner.  The caller
 * holds a reference. */
static void
conn_read(xf_conn_t *c)
{
	char	 buf[READ_CHUNK];
	ssize_t	 n;

	for (;;) {
		if (c->c_flags & (XF_CONN_SHUT | XF_CONN_PAUSED |
		    XF_CONN_CLOSING | XF_CONN_THROTTLED))
			return;
		if (c->c_ssl && !(c->c_flags & XF_CONN_TLS_UP)) {
			int	 r = tls_handshake(c);

			if (r == XF_ERR)
				shut(c, 0);
			if (r != XF_OK)
				return;
			continue;
		}
		if (!may_read(c))
			return;
		if (c->c_ssl) {
			int	 r, e;

			ERR_clear_error();
			r = SSL_read(c->c_ssl, buf, sizeof(buf));
			if (r <= 0) {
				e = SSL_get_error(c->c_ssl, r);
				if (e == SSL_ERROR_WANT_READ) {
					c->c_over_since = 0;	/* drained */
					return;
				}
				if (e == SSL_ERROR_WANT_WRITE) {
					c->c_flags |= XF_CONN_WANT_WRITE;
					update_mask(c);
					return;
				}
				if (e != SSL_ERROR_ZERO_RETURN)
					ssl_log(c, "SSL_read");
				shut(c, 0);
				return;
			}
			n = r;
		} else {
			n = recv(c->c_fd, buf, sizeof(buf), 0);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				c->c_over_since = 0;	/* drained */
				return;
			}
			if (n <= 0) {
				shut(c, 0);
				return;
			}
		}
		c->c_flags |= XF_CONN_RECENT;
		c->c_tokens -= n;
		c->c_up->u_data(c->c_owner, c, buf, (size_t)n);
		/* Plain sockets are level-triggered: one read per event.
		 * TLS (also just started by STARTTLS) reads until dry. */
		if (c->c_ssl == NULL)
			return;
	}
}

static void
read_co(void *ud)
{
	xf_conn_t	*c = ud;

	c->c_co = xf_co_self();
	conn_read(c);
	c->c_co = NULL;
	if ((c->c_flags & (XF_CONN_OFF | XF_CONN_SHUT)) == XF_CONN_OFF) {
		c->c_flags &= ~XF_CONN_OFF;
		c->c_mask = io_mask(c);
		if (xf_loop_add(c->c_io->io_loop, c->c_fd, c->c_mask, on_io,
		    c) != XF_OK)
			shut(c, 0);
	}
	if (c->c_ssl && SSL_pending(c->c_ssl) > 0)
		read_input(c);
	xf_conn_unref(c);
}

/*
 * Reads and hands over input: on the main stack when handlers never
 * wait; on a coroutine when they may (pgsql store), so a stanza that
 * waits for the database parks this connection alone (out of epoll: no
 * reads, no hang-up spin) while the loop serves the others.  Its later
 * bytes wait in the socket, so their order holds.
 */
static void
read_input(xf_conn_t *c)
{
	if ((c->c_flags & (XF_CONN_SHUT | XF_CONN_PAUSED | XF_CONN_CLOSING |
	    XF_CONN_THROTTLED)) || c->c_up == NULL)
		return;
	xf_conn_ref(c);
	if (!c->c_io->io_async) {
		conn_read(c);
		xf_conn_unref(c);
		return;
	}
	if (c->c_co != NULL) {
		xf_conn_unref(c);
		return;
	}
	xf_conn_ref(c);		/* the coroutine's */
	if (xf_co_spawn(read_co, c) != XF_OK) {
		xf_conn_unref(c);
		conn_read(c);
	} else if (c->c_co != NULL &&
	    !(c->c_flags & (XF_CONN_OFF | XF_CONN_SHUT))) {
		/* Still running: it waits. */
		xf_loop_del(c->c_io->io_loop, c->c_fd);
		c->c_flags |= XF_CONN_OFF;
	}
	xf_conn_unref(c);
}

static void
on_io(xf_loop_t *l, int fd, int mask, void *ud)
{
	xf_conn_t	*c = ud;

	if ((c->c_flags & XF_CONN_SHUT) || c->c_co != NULL)
		return;
	xf_conn_ref(c);
	if (mask & XF_EV_WRITE) {
		if (c->c_ssl && !(c->c_flags & XF_CONN_TLS_UP)) {
			c->c_flags &= ~XF_CONN_WANT_WRITE;
			update_mask(c);
			read_input(c);
		} else
			flush_one(c);
	}
	if ((mask & XF_EV_READ) && !(c->c_flags & XF_CONN_SHUT) &&
	    c->c_co == NULL) {
		/* A closing connection reads nothing; this is a hang-up. */
		if (c->c_flags & XF_CONN_CLOSING)
			shut(c, 0);
		else
			read_input(c);
	}
	xf_conn_unref(c);
}
