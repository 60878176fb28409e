/* conn.h: a connection: a socket, TLS on it, buffered output, and the owner it reports to; it names no XMPP. */
#ifndef XF_CONN_H
#define XF_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "coro.h"
#include "loop.h"

typedef struct xf_conn_s xf_conn_t;
typedef struct xf_io_s xf_io_t;

/* Events a connection reports to its owner besides data. */
enum {
	XF_IO_TLSREADY = 1,	/* TLS asked by xf_conn_start_tls() is up */
	XF_IO_DRAINED,		/* the output asked for by xf_conn_drained()
				 * is all out */
	XF_IO_FLOOD,		/* reads stayed over the rate too long */
	XF_IO_CLOSED		/* the socket is gone (EOF, error, close done) */
};

/*
 * The owner of a connection: an XMPP stream today, an HTTP exchange or a
 * cluster link tomorrow.  u_data gets the bytes read; it may write,
 * pause, close or start TLS on c meanwhile.  With io_async its handler
 * runs on a coroutine and may wait (for the store): the connection is
 * not read until it returns.  u_event gets XF_IO_*: XF_IO_CLOSED is the
 * last call, after which the owner drops its reference with
 * xf_conn_unref() and uses c no more.
 */
typedef struct xf_conn_up_s {
	void	(*u_data)(void *owner, xf_conn_t *, const char *, size_t);
	void	(*u_event)(void *owner, xf_conn_t *, int ev);
	/* At the close, before XF_IO_CLOSED: each element given with
	 * xf_conn_send_el() that was not written whole, oldest first. */
	void	(*u_unsent)(void *owner, xf_conn_t *, const char *, size_t);
} xf_conn_up_t;

/* Per process: what every connection shares. */
struct xf_io_s {
	xf_loop_t	*io_loop;	/* borrowed */
	SSL_CTX		*io_ssl;	/* borrowed: the server's TLS context */
	int		 io_async;	/* owners' handlers may wait */
	xf_conn_t	*io_flush;	/* connections with output to write */
	volatile uint32_t *io_nconns;	/* borrowed: kept up to date */
	size_t		 io_pending;	/* output bytes waiting, all conns */
	uint64_t	 io_seq;
};

/* c_flags */
#define XF_CONN_TLS_UP		0x01	/* TLS handshake complete */
#define XF_CONN_DIRECT_TLS	0x02	/* TLS from the first byte */
#define XF_CONN_WANT_WRITE	0x04	/* EPOLLOUT needed */
#define XF_CONN_CLOSING		0x08	/* output flushed, then closed */
#define XF_CONN_SHUT		0x10	/* socket closed, owner told */
#define XF_CONN_MUTE		0x20	/* output dropped */
#define XF_CONN_IN_FLUSH	0x40	/* on io_flush */
#define XF_CONN_OFF		0x80	/* out of epoll while its handler waits */
#define XF_CONN_RECENT		0x100	/* read since xf_conn_recent() asked */
#define XF_CONN_PAUSED		0x200	/* not reading: push-back */
#define XF_CONN_WANT_DRAIN	0x400	/* XF_IO_DRAINED when the output is out */
#define XF_CONN_THROTTLED	0x800	/* not reading: over its read rate */

/*
 * One socket.  Its memory lives while references are held: the owner's
 * (from xf_conn_new() until after XF_IO_CLOSED) and one while a handler
 * runs on it, so a close inside a handler only closes the socket and
 * the memory goes when the last reference does (Redis's connection
 * helpers do the same).  c_id is for logs.
 */
struct xf_conn_s {
	int		 c_fd;		/* -1 once shut */
	unsigned	 c_flags;	/* XF_CONN_* */
	int		 c_mask;	/* XF_EV_* as epoll has it */
	int		 c_refs;
	uint64_t	 c_id;
	xf_io_t		*c_io;		/* borrowed */
	const xf_conn_up_t *c_up;	/* borrowed: the owner's callbacks */
	void		*c_owner;	/* borrowed */
	SSL		*c_ssl;		/* owned; NULL until TLS */
	xf_co_t		*c_co;		/* the coroutine running a handler */
	xf_conn_t	*c_flush_next;
	xf_buf_t	 c_wbuf;	/* owned: pending output */
	/*
	 * Where the elements in c_wbuf lie, as [start, end) offsets in
	 * the bytes ever queued (c_queued; c_written of them are out), so
	 * the ones a close leaves unwritten go back to the owner whole.
	 */
	uint64_t	 c_queued;
	uint64_t	 c_written;
	uint64_t	 c_base;	/* c_wbuf's first byte: the start of
					 * an element partly written, or
					 * c_written */
	uint64_t	*c_marks;	/* owned: start, end pairs */
	uint32_t	 c_mhead;	/* first pair still (partly) unwritten */
	uint32_t	 c_nmarks;	/* pairs in use */
	uint32_t	 c_capmarks;
	uint64_t	 c_timer;	/* linger, or reading again */
	/* Read rate: a token bucket in bytes (0: no limit). */
	uint32_t	 c_rate;	/* bytes a second */
	uint32_t	 c_burst;	/* the bucket's size */
	int64_t		 c_tokens;
	uint64_t	 c_tstamp;	/* ms: the tokens' last refill */
	uint64_t	 c_over_since;	/* ms: throttled since, its socket
					 * never read dry in between; 0:
					 * not */
	uint32_t	 c_flood_ms;	/* throttled that long: XF_IO_FLOOD */
	char		 c_ip[48];
};

/* A connection for an accepted socket, owned by the caller (one
 * reference) and read once it has an owner: NULL on failure, fd then
 * left to the caller. */
xf_conn_t *xf_conn_new(xf_io_t *, int fd, int direct_tls);
void	 xf_conn_set_owner(xf_conn_t *, const xf_conn_up_t *, void *owner);
void	 xf_conn_ref(xf_conn_t *);
void	 xf_conn_unref(xf_conn_t *);

/*
 * Queues output; it is written once per loop iteration (before sleep),
 * so a burst of stanzas to one peer costs one write.  How much a peer
 * that does not read may have waiting is its owner's policy
 * (xf_conn_pending()); past a last-resort limit the connection closes.
 */
void	 xf_conn_send(xf_conn_t *, const char *data, size_t len);
/* The same for one whole element, which the close hands back to the
 * owner (u_unsent) if it was not all written.  XF_ERR: not taken (c is
 * closing). */
int	 xf_conn_send_el(xf_conn_t *, const char *data, size_t len);
/* Writes the output for every connection that has some (before sleep). */
void	 xf_conn_flush_all(xf_io_t *);
/* Sends what is queued in the clear, then starts a server-side TLS
 * handshake; XF_IO_TLSREADY follows.  XF_ERR if that cannot be. */
int	 xf_conn_start_tls(xf_conn_t *);
/* Closes after the output is out (at most a short linger). */
void	 xf_conn_close(xf_conn_t *);
/* Closes now, dropping output. */
void	 xf_conn_abort(xf_conn_t *);
/* Stops or resumes reading (push-back). */
void	 xf_conn_pause(xf_conn_t *, int paused);
/*
 * Reads at most rate bytes a second with bursts of burst bytes (a token
 * bucket; rate 0: no limit).  Over it the connection is not read, which
 * slows the peer through TCP; throttled for flood_ms without its socket
 * read dry in between (a peer that keeps to the rate has nothing more
 * waiting), the owner gets XF_IO_FLOOD.
 */
void	 xf_conn_set_rate(xf_conn_t *, uint32_t rate, uint32_t burst,
	    uint32_t flood_ms);
/* Bytes of output not written yet. */
size_t	 xf_conn_pending(const xf_conn_t *);
/* Asks for XF_IO_DRAINED once the output is all written. */
void	 xf_conn_drained(xf_conn_t *);
/* 1 when TLS is up on c. */
int	 xf_conn_secure(const xf_conn_t *);
/* 1 when the socket is closing or shut: output goes nowhere. */
int	 xf_conn_closing(const xf_conn_t *);
/* 1 when c read bytes since the last call (idle sweeps). */
int	 xf_conn_recent(xf_conn_t *);
/* Gives back an empty output buffer's memory (idle connections). */
void	 xf_conn_trim(xf_conn_t *);

#endif /* XF_CONN_H */
