/* worker.h: a worker process's state and the connection record its files share. */
#ifndef XF_WORKER_H
#define XF_WORKER_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "xf.h"
#include "conn.h"
#include "http.h"
#include "stream.h"
#include "route.h"
#include "buf.h"
#include "conf.h"
#include "jid.h"
#include "coro.h"
#include "loop.h"
#include "ring.h"
#include "unauth.h"
#include "scram.h"
#include "sess.h"
#include "store.h"
#include "xml.h"
#include "xmlstream.h"

typedef struct xf_worker_s xf_worker_t;

enum { XF_LST_C2S = 1, XF_LST_C2S_TLS, XF_LST_HTTP, XF_LST_HTTP_TLS };

typedef struct xf_lst_s {
	int		 ls_fd;
	int		 ls_kind;	/* XF_LST_* */
} xf_lst_t;

struct xf_worker_s {
	xf_conf_t	*w_conf;	/* borrowed from the master's fork */
	unsigned	 w_slot;
	unsigned	 w_index;
	xf_loop_t	*w_loop;
	xf_sess_t	*w_sess;
	xf_store_t	*w_store;
	xf_rings_t	*w_rings;
	xf_ring_t	*w_ring;	/* this worker's inbound ring */
	xf_wstats_t	*w_stats;
	SSL_CTX		*w_ssl;
	xf_lst_t	 w_lst[32];
	size_t		 w_nlst;
	xf_io_t		 w_io;		/* connections: loop, TLS, flush list */
	xf_http_srv_t	 w_http;	/* HTTP requests before an upgrade */
	xf_route_ctx_t	 w_route;	/* what routing decisions read */
	xf_stream_t    **w_streams;	/* by the index in their id */
	uint32_t	 w_nstreams;	/* indexes handed out */
	uint32_t	 w_capstreams;
	uint32_t	*w_free;	/* indexes free again */
	uint32_t	 w_nfree;
	uint64_t	 w_seq;
	xf_stream_t    **w_paused;	/* streams waiting for ring room */
	size_t		 w_npaused;
	size_t		 w_cappaused;
	uint64_t	 w_retry_timer;
	xf_pend_t	*w_pend;	/* ring messages with no connection */
	xf_pend_t	*w_pend_last;
	char		*w_msgbuf;	/* ring pop buffer */
	size_t		 w_msgcap;
	int		 w_draining;
	int		 w_stopping;
	int		 w_async;	/* the store may suspend: coroutines */
};

/* worker.c */
void	 xf_worker_main(xf_conf_t *, xf_rings_t *, unsigned slot,
	    unsigned index) __attribute__((noreturn));
void	 xf_worker_run(xf_worker_t *, void (*)(void *), void *);

/* tls.c */
SSL_CTX	*xf_tls_ctx(const xf_conf_t *, char *err, size_t errlen);

/* tcp.c: a stream of kind k on an accepted socket (fd is the stream's,
 * closed on failure). */
xf_stream_t *xf_tcp_accept(xf_worker_t *, int fd, int direct_tls,
	    const xf_stream_kind_t *);

/* websocket.c: a stream of kind k on c, whose WebSocket upgrade was
 * just answered (c: the stream takes its own reference). */
xf_stream_t *xf_ws_accept(xf_worker_t *, xf_conn_t *c,
	    const xf_stream_kind_t *);

/* c2s.c: the client stream kind. */
extern const xf_stream_kind_t xf_kind_c2s;
void	 xf_c2s_attach(xf_stream_t *, const char *full, int32_t prio,
	    int avail);
void	 xf_c2s_replace(xf_stream_t *, uint32_t slot, uint64_t conn,
	    const char *text);

/* c2s_limit.c: a new c2s stream takes a place among the node's
 * unauthenticated connections or is refused with a stream error; it
 * gives it back once authenticated (authed) or when it ends. */
void	 xf_c2s_admit(xf_stream_t *);
void	 xf_c2s_authed(xf_stream_t *);
void	 xf_c2s_limit_end(xf_stream_t *);
/* 1 when c may not try to log in as bare (may be NULL): it has been
 * answered and its stream closed.  After a wrong password, _failed
 * counts it for the node and answers after the delay it earns; last:
 * the stream ends after the answer.  XF_ERR when it ended at once. */
int	 xf_c2s_auth_refused(xf_stream_t *, const char *bare);
int	 xf_c2s_auth_failed(xf_stream_t *, const char *bare, int last);

/* sasl.c: <auth/>, <response/>, <abort/> on a c2s stream. */
void	 xf_sasl_features(xf_stream_t *, xf_buf_t *);
int	 xf_sasl_handle(xf_stream_t *, xf_el_t *);

/* router.c: stanzas taken where route.c decides. */
void	 xf_route(xf_worker_t *, xf_stream_t *from, xf_el_t *stanza);
void	 xf_route_to(xf_worker_t *, xf_stream_t *from, xf_el_t *stanza,
	    xf_dest_t *);
/* Element bytes that never reached the peer of s (a backlog when s
 * ended): a message goes offline, a request back as an error. */
void	 xf_route_unsent(xf_worker_t *, xf_stream_t *s, const char *data,
	    size_t len);
void	 xf_route_error(xf_worker_t *, xf_stream_t *from, const xf_el_t *stanza,
	    const char *type, const char *cond);
int	 xf_route_deliver(xf_worker_t *, xf_stream_t *from, const char *full,
	    const xf_sess_rec_t *, const xf_el_t *stanza);

/* iq.c: IQs the server answers itself, and every module's IQ replies. */
void	 xf_iq_server(xf_worker_t *, xf_stream_t *from, xf_el_t *iq);
void	 xf_iq_account(xf_worker_t *, xf_stream_t *from, xf_el_t *iq,
	    const char *owner);
/*
 * The reply to iq: same id, its 'to' as 'from' and its 'from' as 'to'
 * (each only when iq has it), never the request's payload (it may hold a
 * password).  A new element or NULL; the caller frees it or hands it to
 * xf_iq_reply().  _error adds <error type=type><cond/></error>.
 */
xf_el_t	*xf_iq_result(const xf_el_t *iq);
xf_el_t	*xf_iq_error(const xf_el_t *iq, const char *type,
	    const char *cond);
/* Sends r to c when r's 'to' is c's full JID, else routes it; frees r.
 * r may be NULL (nothing is sent), c too. */
void	 xf_iq_reply(xf_worker_t *, xf_stream_t *c, xf_el_t *r);

/* sm.c: stream management (XEP-0198). */
/* c's presence state (presence.c's, opaque; len 0: none) changed: kept
 * with a resumable session, for the worker that resumes it. */
void	 xf_sm_keep_presence(xf_stream_t *, const void *data, size_t len);
/* 1 when c's session may be resumed: then its presence state is kept. */
int	 xf_sm_resumable(xf_stream_t *);

#include "ipc.h"

#endif /* XF_WORKER_H */
