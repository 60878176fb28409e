/* conn.c: a connection's bytes: reads, buffered writes, TLS on the socket, closing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/err.h>

#include "xf.h"
#include "log.h"
#include "net.h"
#include "worker.h"
#include "mod.h"

#define READ_CHUNK	16384
#define CLOSE_LINGER_MS	2000
/* Output a peer does not read is capped: a slow reader is cut off. */
#define WBUF_MAX	(8u << 20)

static void	 on_io(xf_loop_t *, int, int, void *);
static int	 read_input(xf_conn_t *);

static int
io_mask(const xf_conn_t *c)
{
	int	 mask = 0;

	if (c->c_freeing || c->c_free_later)
		return 0;
	if (!c->c_paused && !c->c_closing)
		mask |= XF_EV_READ;
	if (c->c_want_write)
		mask |= XF_EV_WRITE;
	return mask;
}

static void
update_mask(xf_conn_t *c)
{
	/* Out of epoll while its coroutine waits: set when it is back. */
	if (!c->c_off)
		xf_loop_mod(c->c_w->w_loop, c->c_fd, io_mask(c));
}

static void
handshake_timeout(xf_loop_t *l, void *ud)
{
	xf_conn_t	*c = ud;

	c->c_timer = 0;
	if (c->c_state != C2S_BOUND && !c->c_closing)
		xf_c2s_stream_error(c, "connection-timeout", NULL);
}

xf_conn_t *
xf_conn_new(xf_worker_t *w, int fd, int direct_tls)
{
	xf_conn_t	*c;

	if (fd > 0xffffff)
		return NULL;
	if (fd >= w->w_nconns) {
		int		 n = w->w_nconns ? w->w_nconns : 1024;
		xf_conn_t	**p;

		while (n <= fd)
			n *= 2;
		if ((p = realloc(w->w_conns, (size_t)n * sizeof(*p))) == NULL)
			return NULL;
		memset(p + w->w_nconns, 0,
		    (size_t)(n - w->w_nconns) * sizeof(*p));
		w->w_conns = p;
		w->w_nconns = n;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_fd = fd;
	c->c_w = w;
	c->c_id = (++w->w_seq << 24) | (uint64_t)fd;
	c->c_since = time(NULL);
	c->c_direct_tls = direct_tls;
	xf_net_peer(fd, c->c_ip, sizeof(c->c_ip));
	xf_net_tune(fd);
	if (direct_tls) {
		if ((c->c_ssl = SSL_new(w->w_ssl)) == NULL ||
		    SSL_set_fd(c->c_ssl, fd) != 1)
			goto fail;
		SSL_set_accept_state(c->c_ssl);
	}
	if (xf_loop_add(w->w_loop, fd, XF_EV_READ, on_io, c) != XF_OK)
		goto fail;
	w->w_conns[fd] = c;
	w->w_stats->ws_conns++;
	c->c_timer = xf_loop_timer(w->w_loop,
	    (uint64_t)w->w_conf->cf_c2s_handshake_timeout * 1000,
	    handshake_timeout, c);
	xf_c2s_start(c);
	log_debug("c%llu: connection from %s%s", (unsigned long long)c->c_id,
	    c->c_ip, direct_tls ? " (direct TLS)" : "");
	return c;
fail:
	if (c->c_ssl)
		SSL_free(c->c_ssl);
	free(c);
	return NULL;
}

/*
 * What freeing takes: the stream's end for the modules (unavailable
 * presence, SM detach: may wait for the store), then the memory.
 */
static void
free_body(void *ud)
{
	xf_conn_t	*c = ud;
	xf_worker_t	*w = c->c_w;
	xf_pend_t	*p, *next;

	xf_c2s_closed(c);
	xf_mod_conn_free(c);
	if (c->c_in_flush) {
		/* Unlink from the flush list. */
		xf_conn_t	**pp;

		for (pp = &w->w_flush; *pp; pp = &(*pp)->c_flush_next)
			if (*pp == c) {
				*pp = c->c_flush_next;
				break;
			}
	}
	if (c->c_paused)
		for (size_t i = 0; i < w->w_npaused; i++)
			if (w->w_paused[i] == c) {
				w->w_paused[i] = w->w_paused[--w->w_npaused];
				break;
			}
	xf_loop_timer_del(w->w_loop, c->c_timer);
	xf_loop_del(w->w_loop, c->c_fd);
	if (c->c_ssl)
		SSL_free(c->c_ssl);
	close(c->c_fd);
	w->w_conns[c->c_fd] = NULL;
	w->w_stats->ws_conns--;
	for (p = c->c_pend; p; p = next) {
		next = p->p_next;
		free(p);
	}
	xf_buf_free(&c->c_wbuf);
	if (c->c_xml)
		xf_xmls_free(c->c_xml);
	if (c->c_scram)
		xf_scram_free(c->c_scram);
	log_debug("c%llu: closed", (unsigned long long)c->c_id);
	free(c);
}

/*
 * Ends a connection.  With the pgsql store the modules' goodbyes may
 * wait for the database, so they run on a coroutine and the memory goes
 * when they are done; meanwhile the connection is out of epoll and
 * invisible to xf_worker_conn().  A connection whose input coroutine is
 * waiting is freed when that coroutine ends: its stack still uses c.
 */
void
xf_conn_free(xf_conn_t *c)
{
	xf_worker_t	*w = c->c_w;

	if (c->c_freeing)
		return;
	if ((c->c_co != NULL && c->c_co != xf_co_self()) || c->c_holds > 0) {
		c->c_free_later = 1;
		c->c_mute = 1;
		xf_loop_del(w->w_loop, c->c_fd);
		c->c_off = 1;
		return;
	}
	c->c_freeing = 1;
	xf_loop_timer_del(w->w_loop, c->c_timer);
	c->c_timer = 0;
	xf_loop_del(w->w_loop, c->c_fd);
	c->c_off = 1;
	xf_worker_run(w, free_body, c);
}

static void
ssl_log(xf_conn_t *c, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[256];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("c%llu: %s: %s", (unsigned long long)c->c_id, what,
		    buf);
	}
	ERR_clear_error();
}

/*
 * Writes what c_wbuf holds.  XF_OK when empty, XF_AGAIN when the socket
 * is full, XF_ERR when the peer is gone.
 */
static int
flush(xf_conn_t *c)
{
	ssize_t	 n;

	while (xf_buf_size(&c->c_wbuf) > 0) {
		size_t	 len = xf_buf_size(&c->c_wbuf);

		if (c->c_ssl) {
			int	 r, e;

			if (!c->c_tls_up)
				return XF_AGAIN;
			if (len > 65536)
				len = 65536;
			ERR_clear_error();
			r = SSL_write(c->c_ssl, xf_buf_data(&c->c_wbuf),
			    (int)len);
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
			n = send(c->c_fd, xf_buf_data(&c->c_wbuf), len,
			    MSG_NOSIGNAL);
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					return XF_AGAIN;
				return XF_ERR;
			}
		}
		xf_buf_consume(&c->c_wbuf, (size_t)n);
	}
	return XF_OK;
}

/* Writes c's output now; XF_OK only when all of it went out. */
int
xf_conn_flush_now(xf_conn_t *c)
{
	return flush(c);
}

/* Flushes one connection; frees it when closing and done.  1 if freed. */
static int
flush_one(xf_conn_t *c)
{
	int	 r = flush(c);

	if (r == XF_ERR || (r == XF_OK && c->c_closing)) {
		if (r == XF_OK && c->c_ssl && c->c_tls_up)
			SSL_shutdown(c->c_ssl);
		xf_conn_free(c);
		return 1;
	}
	if ((r == XF_AGAIN) != c->c_want_write) {
		c->c_want_write = (r == XF_AGAIN);
		update_mask(c);
	}
	return 0;
}

void
xf_conn_flush_all(xf_worker_t *w)
{
	xf_conn_t	*c;

	while ((c = w->w_flush) != NULL) {
		w->w_flush = c->c_flush_next;
		c->c_in_flush = 0;
		c->c_flush_next = NULL;
		flush_one(c);
	}
}

/*
 * Queues output; it is written once per loop iteration (before sleep),
 * so a burst of stanzas to one client costs one write.
 */
void
xf_conn_send(xf_conn_t *c, const char *data, size_t len)
{
	xf_worker_t	*w = c->c_w;

	if (c->c_mute)
		return;
	if (xf_buf_size(&c->c_wbuf) + len > WBUF_MAX) {
		log_warnx("c%llu: peer does not read its output, closing",
		    (unsigned long long)c->c_id);
		xf_buf_reset(&c->c_wbuf);
		c->c_mute = 1;
		xf_conn_close(c);
		return;
	} else if (xf_buf_append(&c->c_wbuf, data, len) != XF_OK) {
		log_warnx("c%llu: out of memory", (unsigned long long)c->c_id);
		c->c_mute = 1;
		xf_conn_close(c);
		return;
	}
	if (!c->c_in_flush) {
		c->c_in_flush = 1;
		c->c_flush_next = w->w_flush;
		w->w_flush = c;
	}
}

void
xf_conn_sendbuf(xf_conn_t *c, xf_buf_t *b)
{
	xf_conn_send(c, xf_buf_data(b), xf_buf_size(b));
}

static void
close_linger(xf_loop_t *l, void *ud)
{
	xf_conn_t	*c = ud;

	c->c_timer = 0;
	xf_conn_free(c);
}

void
xf_conn_hold(xf_conn_t *c)
{
	c->c_holds++;
}

static void
free_now(xf_loop_t *l, void *ud)
{
	xf_conn_t	*c = ud;

	c->c_timer = 0;
	c->c_free_later = 0;
	xf_conn_free(c);
}

void
xf_conn_unhold(xf_conn_t *c)
{
	if (--c->c_holds > 0 || !c->c_free_later || c->c_co != NULL)
		return;
	/* The holder's caller may still use c: free it from the loop. */
	xf_loop_timer_del(c->c_w->w_loop, c->c_timer);
	c->c_timer = xf_loop_timer(c->c_w->w_loop, 0, free_now, c);
}

void
xf_conn_close(xf_conn_t *c)
{
	if (c->c_freeing || c->c_free_later ||
	    (c->c_closing && c->c_in_flush))
		return;
	c->c_closing = 1;
	xf_loop_timer_del(c->c_w->w_loop, c->c_timer);
	c->c_timer = xf_loop_timer(c->c_w->w_loop, CLOSE_LINGER_MS,
	    close_linger, c);
	update_mask(c);
	/* The flush list frees it once the output is out. */
	if (!c->c_in_flush) {
		c->c_in_flush = 1;
		c->c_flush_next = c->c_w->w_flush;
		c->c_w->w_flush = c;
	}
}

void
xf_conn_pause(xf_conn_t *c, int paused)
{
	xf_worker_t	*w = c->c_w;

	if (c->c_paused == paused)
		return;
	c->c_paused = paused;
	if (paused) {
		if (w->w_npaused == w->w_cappaused) {
			size_t		 n = w->w_cappaused ? w->w_cappaused * 2 : 16;
			xf_conn_t	**p;

			if ((p = realloc(w->w_paused, n * sizeof(*p))) == NULL) {
				/* Cannot track it: better closed than lost. */
				c->c_paused = 0;
				xf_c2s_stream_error(c, "resource-constraint",
				    NULL);
				return;
			}
			w->w_paused = p;
			w->w_cappaused = n;
		}
		w->w_paused[w->w_npaused++] = c;
	}
	update_mask(c);
}

int
xf_conn_start_tls(xf_conn_t *c)
{
	if ((c->c_ssl = SSL_new(c->c_w->w_ssl)) == NULL ||
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
		c->c_tls_up = 1;
		log_debug("c%llu: %s with %s", (unsigned long long)c->c_id,
		    SSL_get_version(c->c_ssl), SSL_get_cipher_name(c->c_ssl));
		if (!c->c_direct_tls)
			xf_c2s_tls_ready(c);
		if (xf_buf_size(&c->c_wbuf) > 0)
			xf_conn_send(c, "", 0);	/* schedule the flush */
		return XF_OK;
	}
	e = SSL_get_error(c->c_ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return XF_AGAIN;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->c_want_write = 1;
		update_mask(c);
		return XF_AGAIN;
	}
	ssl_log(c, "TLS handshake failed");
	return XF_ERR;
}

/* Reads what the socket has and hands it to the stream.  1 if freed. */
static int
conn_read(xf_conn_t *c)
{
	char	 buf[READ_CHUNK];
	ssize_t	 n;

	if (c->c_ssl && !c->c_tls_up) {
		int	 r = tls_handshake(c);

		if (r == XF_ERR) {
			xf_conn_free(c);
			return 1;
		}
		if (r == XF_AGAIN)
			return 0;
	}
	for (;;) {
		if (c->c_paused || c->c_closing)
			return 0;
		if (c->c_ssl) {
			int	 r, e;

			ERR_clear_error();
			r = SSL_read(c->c_ssl, buf, sizeof(buf));
			if (r <= 0) {
				e = SSL_get_error(c->c_ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					return 0;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->c_want_write = 1;
					update_mask(c);
					return 0;
				}
				if (e != SSL_ERROR_ZERO_RETURN)
					ssl_log(c, "SSL_read");
				xf_conn_free(c);
				return 1;
			}
			n = r;
		} else {
			n = recv(c->c_fd, buf, sizeof(buf), 0);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0) {
				xf_conn_free(c);
				return 1;
			}
		}
		c->c_recent = 1;
		xf_c2s_input(c, buf, (size_t)n);
		/* STARTTLS switched the transport under us: read via TLS. */
		if (c->c_ssl && !c->c_tls_up)
			return conn_read(c);
		/* Plain sockets are level-triggered: one read per event. */
		if (!c->c_ssl)
			return 0;
	}
}

static void
read_co(void *ud)
{
	xf_conn_t	*c = ud;

	c->c_co = xf_co_self();
	if (conn_read(c))
		return;
	c->c_co = NULL;
	if (c->c_free_later) {
		c->c_free_later = 0;
		xf_conn_free(c);
		return;
	}
	if (c->c_off) {
		c->c_off = 0;
		if (xf_loop_add(c->c_w->w_loop, c->c_fd, io_mask(c), on_io,
		    c) != XF_OK) {
			xf_conn_free(c);
			return;
		}
	}
	/* TLS may hold decrypted bytes epoll knows nothing of. */
	if (c->c_ssl && SSL_pending(c->c_ssl) > 0 && !c->c_paused &&
	    !c->c_closing)
		read_input(c);
}

/*
 * Reads and handles input: on the main stack with LMDB; on a coroutine
 * with the pgsql store, so a stanza that waits for the database parks
 * this connection alone (out of epoll: no reads, no hang-up spin) while
 * the loop serves the others.  Its later bytes wait in the socket, so
 * its stanzas keep their order.  1 if c was freed.
 */
static int
read_input(xf_conn_t *c)
{
	xf_worker_t	*w = c->c_w;
	uint64_t	 id = c->c_id;

	if (!w->w_async)
		return conn_read(c);
	if (c->c_co != NULL)
		return 0;
	if (xf_co_spawn(read_co, c) != XF_OK)
		return conn_read(c);
	/* Still running: it waits.  Gone, or done: nothing to do. */
	if ((c = xf_worker_conn(w, id)) != NULL && c->c_co != NULL &&
	    !c->c_off) {
		xf_loop_del(w->w_loop, c->c_fd);
		c->c_off = 1;
	}
	return xf_worker_conn(w, id) == NULL;
}

static void
on_io(xf_loop_t *l, int fd, int mask, void *ud)
{
	xf_conn_t	*c = ud;

	if (c->c_freeing || c->c_co != NULL)
		return;
	if (mask & XF_EV_WRITE) {
		if (c->c_ssl && !c->c_tls_up) {
			c->c_want_write = 0;
			update_mask(c);
			if (read_input(c))
				return;
		} else if (flush_one(c))
			return;
	}
	if (mask & XF_EV_READ) {
		/* A closing stream reads nothing; this is a hang-up. */
		if (c->c_closing) {
			xf_conn_free(c);
			return;
		}
		read_input(c);
	}
}
