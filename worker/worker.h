/* worker.h: a worker process's state and the connection record its files share. */
#ifndef XF_WORKER_H
#define XF_WORKER_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "jid.h"
#include "coro.h"
#include "loop.h"
#include "ring.h"
#include "scram.h"
#include "sess.h"
#include "store.h"
#include "xml.h"
#include "xmlstream.h"

#define XF_NMODS_MAX	16	/* feature modules, see mod.h */

typedef struct xf_conn_s xf_conn_t;
typedef struct xf_worker_s xf_worker_t;
typedef struct xf_pend_s xf_pend_t;

enum { XF_LST_C2S = 1, XF_LST_C2S_TLS };

typedef struct xf_lst_s {
	int		 ls_fd;
	int		 ls_kind;	/* XF_LST_* */
} xf_lst_t;

/* c2s stream states, in the order RFC 6120 negotiates them. */
enum {
	C2S_HEADER = 0,		/* waiting for <stream:stream> */
	C2S_FEATURES,		/* features sent; STARTTLS or SASL next */
	C2S_TLS_START,		/* <proceed/> queued; TLS once it is written */
	C2S_SASL,		/* SCRAM exchange in progress */
	C2S_AUTHED,		/* authenticated, bind next */
	C2S_BOUND,		/* resource bound: stanzas routed */
	C2S_CLOSING		/* stream closed, flushing output */
};

/*
 * A ring message that did not fit into the target worker's ring.  The
 * connection that produced it stops being read until its queue drains
 * (push-back), so a full ring never drops a stanza.
 */
struct xf_pend_s {
	xf_pend_t	*p_next;
	unsigned	 p_slot;
	uint32_t	 p_type;
	size_t		 p_hlen;	/* bytes of header (xf_msg_t + JID) */
	size_t		 p_len;		/* total bytes in p_data */
	char		 p_data[];
};

/*
 * One client connection.  Everything it points to is owned and freed by
 * xf_conn_free(), except c_w.  c_id is unique for the life of the
 * worker: (sequence << 24) | fd, so a lookup by id checks both.
 */
struct xf_conn_s {
	int		 c_fd;
	uint64_t	 c_id;
	xf_worker_t	*c_w;		/* borrowed */
	SSL		*c_ssl;		/* owned; NULL until TLS */
	int		 c_tls_up;	/* TLS handshake complete */
	int		 c_direct_tls;
	int		 c_paused;	/* not reading: push-back */
	int		 c_want_write;	/* EPOLLOUT needed */
	int		 c_closing;	/* output flushed, then closed */
	int		 c_clean;	/* the stream was closed, not cut */
	int		 c_mute;	/* output dropped: peer stopped reading */
	int		 c_recent;	/* read since the last idle sweep */
	int		 c_in_flush;	/* on the worker's flush list */
	/* pgsql store: input runs on a coroutine that may wait */
	xf_co_t		*c_co;		/* the one running c's input, or NULL */
	int		 c_off;		/* fd out of epoll while c_co waits */
	int		 c_freeing;	/* xf_conn_free() under way */
	int		 c_free_later;	/* freed when c_co ends, holds gone */
	int		 c_holds;	/* coroutines using c across a wait */
	int		 c_unbinding;	/* xf_c2s_closed() under way */
	xf_conn_t	*c_flush_next;
	xf_buf_t	 c_wbuf;	/* owned: pending output */
	xf_pend_t	*c_pend;	/* owned: messages waiting for ring room */
	xf_pend_t	*c_pend_last;
	xf_xmls_t	*c_xml;		/* owned: stream parser */
	char		 c_ip[48];
	uint64_t	 c_timer;	/* handshake / close timer id */
	int64_t		 c_since;

	/* c2s */
	int		 c_state;	/* C2S_* */
	int		 c_header_sent;
	char		 c_stream_id[24];
	/*
	 * JIDs are kept in 512 bytes: the session table's keys are LMDB
	 * keys, 511 bytes at most, so no longer full JID can be bound.
	 * Per-connection memory is what bounds idle sessions per node.
	 */
	const char	*c_host;	/* borrowed: a cf_vhosts entry, or "" */
	char		 c_user[XF_SESS_JID_MAX + 1];	/* authenticated localpart */
	char		 c_pending_user[XF_SESS_JID_MAX + 1]; /* SCRAM: claimed */
	char		 c_full[XF_SESS_JID_MAX + 1];	/* bound full JID */
	char		 c_bare[XF_SESS_JID_MAX + 1];
	int		 c_auth_fails;
	xf_scram_t	*c_scram;	/* owned during a SCRAM exchange */
	int32_t		 c_prio;
	int		 c_avail;
	void		*c_mod[XF_NMODS_MAX];	/* owned by each module */
};

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
	xf_conn_t      **w_conns;	/* indexed by fd */
	int		 w_nconns;
	uint64_t	 w_seq;
	xf_conn_t	*w_flush;	/* connections with output to write */
	xf_conn_t      **w_paused;	/* connections waiting for ring room */
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
xf_conn_t *xf_worker_conn(xf_worker_t *, uint64_t id);
void	 xf_worker_run(xf_worker_t *, void (*)(void *), void *);

/* conn.c: bytes in and out, TLS or not. */
xf_conn_t *xf_conn_new(xf_worker_t *, int fd, int direct_tls);
void	 xf_conn_send(xf_conn_t *, const char *data, size_t len);
void	 xf_conn_sendbuf(xf_conn_t *, xf_buf_t *);
void	 xf_conn_flush_all(xf_worker_t *);
int	 xf_conn_flush_now(xf_conn_t *);
int	 xf_conn_start_tls(xf_conn_t *);
void	 xf_conn_close(xf_conn_t *);		/* after flushing output */
void	 xf_conn_free(xf_conn_t *);		/* at once */
/* Code that may wait with c in hand holds it: a free meanwhile is put
 * off until the last hold is let go. */
void	 xf_conn_hold(xf_conn_t *);
void	 xf_conn_unhold(xf_conn_t *);
void	 xf_conn_pause(xf_conn_t *, int paused);

/* tls.c */
SSL_CTX	*xf_tls_ctx(const xf_conf_t *, char *err, size_t errlen);

/* c2s.c: the client stream state machine. */
void	 xf_c2s_start(xf_conn_t *);
int	 xf_c2s_input(xf_conn_t *, const char *buf, size_t len);
void	 xf_c2s_tls_ready(xf_conn_t *);
void	 xf_c2s_stream_error(xf_conn_t *, const char *cond, const char *text);
void	 xf_c2s_closed(xf_conn_t *);		/* unbind before free */
void	 xf_c2s_attach(xf_conn_t *, const char *full, int32_t prio,
	    int avail);
void	 xf_c2s_replace(xf_conn_t *, uint32_t slot, uint64_t conn,
	    const char *text);
void	 xf_c2s_send_el(xf_conn_t *, const xf_el_t *);
/* Stanza bytes to a bound client through the modules' send hooks,
 * starting with module first_mod (0 = all). */
void	 xf_c2s_write(xf_conn_t *, int first_mod, const char *data,
	    size_t len);

/* sasl.c: <auth/>, <response/>, <abort/> on a c2s stream. */
void	 xf_sasl_features(xf_conn_t *, xf_buf_t *);
int	 xf_sasl_handle(xf_conn_t *, xf_el_t *);

/* route.c: where a stanza goes. */
void	 xf_route(xf_worker_t *, xf_conn_t *from, xf_el_t *stanza);
void	 xf_route_error(xf_worker_t *, xf_conn_t *from, const xf_el_t *stanza,
	    const char *type, const char *cond);
int	 xf_route_deliver(xf_worker_t *, xf_conn_t *from, const char *full,
	    const xf_sess_rec_t *, const xf_el_t *stanza);

/* iq.c: IQs the server answers itself, and every module's IQ replies. */
void	 xf_iq_server(xf_worker_t *, xf_conn_t *from, xf_el_t *iq);
void	 xf_iq_account(xf_worker_t *, xf_conn_t *from, xf_el_t *iq,
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
void	 xf_iq_reply(xf_worker_t *, xf_conn_t *c, xf_el_t *r);

/* sm.c: stream management (XEP-0198): an SM inbox to write out. */
void	 xf_sm_wake(xf_worker_t *, xf_conn_t *);
/* c's presence state (presence.c's, opaque; len 0: none) changed: kept
 * with a resumable session, for the worker that resumes it. */
void	 xf_sm_keep_presence(xf_conn_t *, const void *data, size_t len);
/* 1 when c's session may be resumed: then its presence state is kept. */
int	 xf_sm_resumable(xf_conn_t *);

/* ipc.c: the inbound ring and pushes into other workers' rings. */
int	 xf_ipc_push(xf_worker_t *, xf_conn_t *from, unsigned slot,
	    uint32_t type, uint64_t conn, const char *to, const char *data,
	    size_t len);
void	 xf_ipc_readable(xf_loop_t *, int fd, int mask, void *ud);
void	 xf_ipc_retry(xf_worker_t *);

#endif /* XF_WORKER_H */
