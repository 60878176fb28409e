/* stream.h: one XMPP stream: its framing (how its bytes travel) and its kind (who speaks it) are tables. */
#ifndef XF_STREAM_H
#define XF_STREAM_H

#include <stdint.h>

#include "xf.h"
#include "buf.h"
#include "conn.h"
#include "scram.h"
#include "sess.h"
#include "xml.h"
#include "xmlstream.h"

#define XF_NMODS_MAX	16	/* feature modules, see mod.h */

typedef struct xf_stream_s xf_stream_t;
typedef struct xf_frame_s xf_frame_t;
typedef struct xf_stream_kind_s xf_stream_kind_t;
typedef struct xf_worker_s xf_worker_t;
typedef struct xf_pend_s xf_pend_t;
typedef struct xf_out_s xf_out_t;

/*
 * A framing carries a stream's XML: TCP (RFC 6120) and WebSocket
 * (RFC 7395) now; BOSH (XEP-0124) is a framing too.  Input reaches the
 * stream through xf_stream_feed() (whole XML as it comes, for TCP) or
 * xf_stream_feed_msg() (one element a message, for WebSocket).
 */
struct xf_frame_s {
	const char	*f_name;
	int		 f_starttls;	/* STARTTLS can secure it */
	/* The stream's header toward the peer: default namespace ns and
	 * the other attributes, escaped (" id='…' from='…' …"). */
	void	(*f_open)(xf_stream_t *, const char *ns, const char *attrs);
	/* The end of the stream (</stream:stream>). */
	void	(*f_close)(xf_stream_t *);
	/* Whole top-level elements; XF_ERR when not taken (closing). */
	int	(*f_write)(xf_stream_t *, const char *, size_t);
	/* Frees s_framing with the stream (NULL: nothing to free). */
	void	(*f_free)(xf_stream_t *);
};

/*
 * A kind speaks one protocol over a stream: c2s now; s2s in and out
 * later.  k_element owns el.  k_unbind takes the stream out of the
 * session table as it ends (modules' goodbyes; may wait for the store);
 * it runs once.
 */
struct xf_stream_kind_s {
	const char	*k_name;
	const char	*k_ns;		/* default namespace of its stanzas */
	int	(*k_open)(xf_stream_t *, const xf_el_t *hdr);
	int	(*k_element)(xf_stream_t *, xf_el_t *);
	void	(*k_secured)(xf_stream_t *);	/* TLS is up */
	void	(*k_unbind)(xf_stream_t *);
};

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

/* s_flags */
#define XF_STREAM_RESTART	0x01	/* a new header comes next */
#define XF_STREAM_STARTTLS	0x02	/* TLS starts after this element */
#define XF_STREAM_ENDED		0x04	/* xf_stream_end() ran */
#define XF_STREAM_UNBINDING	0x08	/* k_unbind under way */
#define XF_STREAM_PAUSED	0x10	/* on w_paused: ring push-back */
#define XF_STREAM_SLOWED	0x20	/* waits for a slow reader's backlog */
#define XF_STREAM_KEPT		0x40	/* a module (SM) keeps every stanza
					 * written until the peer acks it */
#define XF_STREAM_FRAMED	0x80	/* input comes a message at a time,
					 * each one element (RFC 7395) */

/* One element its connection could not write before it closed: it goes
 * offline or back to its sender when the stream is over. */
struct xf_out_s {
	xf_out_t	*o_next;
	size_t		 o_len;
	char		 o_data[];
};

/*
 * A ring message that did not fit into the target worker's ring.  The
 * stream that produced it stops being read until its queue drains
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
 * One XMPP stream.  s_id names it in the session table (sr_conn) and in
 * ring messages: (sequence << 24) | its index in w_streams, unique for
 * the worker's life, and not a socket's: a BOSH session outlives its
 * requests.  Its memory lives while references are held: the worker's
 * (until xf_stream_end() has run) and one per holder that may wait with
 * it in hand (xf_stream_hold()).  Everything it points to is owned and
 * freed with it, except s_w and the borrowed s_conn reference.
 */
struct xf_stream_s {
	uint64_t	 s_id;
	int		 s_refs;
	unsigned	 s_flags;	/* XF_STREAM_* */
	const xf_frame_t *s_frame;
	void		*s_framing;	/* owned by s_frame: its state */
	const xf_stream_kind_t *s_kind;
	xf_worker_t	*s_w;		/* borrowed */
	xf_conn_t	*s_conn;	/* a reference; NULL once it is gone */
	xf_xmls_t	*s_xml;		/* owned: the parser */
	xf_el_t		*s_msg_el;	/* owned: a message's element while
					 * it is parsed (XF_STREAM_FRAMED) */
	xf_pend_t	*s_pend;	/* owned: messages waiting for ring room */
	xf_pend_t	*s_pend_last;
	xf_out_t	*s_out;		/* owned: never written, to salvage */
	xf_out_t	*s_out_last;
	uint64_t	*s_waiters;	/* owned: streams slowed for s */
	uint32_t	 s_nwaiters;
	uint32_t	 s_capwaiters;
	uint64_t	 s_timer;	/* handshake timer */
	int		 s_state;	/* the kind's: C2S_* */
	int		 s_secure;	/* TLS (or an https framing) under it */
	int		 s_header_sent;
	int		 s_clean;	/* closed by a close tag or our error */
	char		 s_stream_id[24];
	char		 s_ip[48];

	/*
	 * c2s.  JIDs are kept in 512 bytes: the session table's keys are
	 * LMDB keys, 511 bytes at most, so no longer full JID can be bound.
	 * Per-stream memory is what bounds idle sessions per node.
	 */
	const char	*s_host;	/* borrowed: a cf_vhosts entry, or "" */
	char		 s_user[XF_SESS_JID_MAX + 1];	/* authenticated localpart */
	char		 s_pending_user[XF_SESS_JID_MAX + 1]; /* SCRAM: claimed */
	char		 s_full[XF_SESS_JID_MAX + 1];	/* bound full JID */
	char		 s_bare[XF_SESS_JID_MAX + 1];
	int		 s_auth_fails;
	int		 s_unauth;	/* holds a place: see c2s_limit.c */
	uint64_t	 s_auth_timer;	/* 'auth-timeout', until authenticated */
	int		 s_auth_wait;	/* a failure's answer is delayed */
	xf_scram_t	*s_scram;	/* owned during a SCRAM exchange */
	int32_t		 s_prio;
	int		 s_avail;
	void		*s_mod[XF_NMODS_MAX];	/* owned by each module */
};

/* The framings. */
extern const xf_frame_t	xf_frame_tcp;
extern const xf_frame_t	xf_frame_ws;

/* A stream of kind k over conn (which it takes a reference to), in the
 * worker's table; NULL on failure. */
xf_stream_t *xf_stream_new(xf_worker_t *, const xf_stream_kind_t *,
	    const xf_frame_t *, xf_conn_t *);
/* The live stream with this id, or NULL. */
xf_stream_t *xf_stream_find(xf_worker_t *, uint64_t id);
/* Code that may wait with s in hand holds it. */
void	 xf_stream_hold(xf_stream_t *);
void	 xf_stream_unhold(xf_stream_t *);

/* Bytes from the framing: parsed, elements handed to the kind. */
void	 xf_stream_feed(xf_stream_t *, const char *, size_t);
/*
 * One message of a message framing (RFC 7395 3.3.3): exactly one whole
 * element.  The stream's parser reads each inside a stand-in stream
 * header, so its limits (size, attributes, children) and its parking
 * hold as for TCP.  <open/> is the kind's header, <close/> ends the
 * stream, the rest goes to k_element; anything else is a stream error.
 */
void	 xf_stream_feed_msg(xf_stream_t *, const char *, size_t);
/* The stream restarts (after SASL): a new header comes next. */
void	 xf_stream_restart(xf_stream_t *);
/* TLS starts under the stream once the current element is handled. */
void	 xf_stream_starttls(xf_stream_t *);

/* Sends the stream header: a fresh id, from, version 1.0. */
void	 xf_stream_open(xf_stream_t *, const char *from);
/* Bytes to the peer as they are (negotiation, acks): no send hooks. */
void	 xf_stream_send_raw(xf_stream_t *, const char *, size_t);
void	 xf_stream_send_buf(xf_stream_t *, const xf_buf_t *);
/* Stanza bytes to the peer through the modules' send hooks, starting
 * with module first_mod (0 = all). */
void	 xf_stream_write(xf_stream_t *, int first_mod, const char *, size_t);
void	 xf_stream_send_el(xf_stream_t *, const xf_el_t *);
/* RFC 6120 4.9: an error, then the end of the stream; nothing after. */
void	 xf_stream_error(xf_stream_t *, const char *cond, const char *text);
/* The peer ended the stream: ours ends too. */
void	 xf_stream_close(xf_stream_t *);
/* 1 when nothing more can be written to s. */
int	 xf_stream_closing(const xf_stream_t *);
/* Stops or resumes reading s (ring push-back). */
void	 xf_stream_pause(xf_stream_t *, int);
/* 1 when s has more than 'output-buffer' waiting: its peer reads
 * slower than it is written to. */
int	 xf_stream_backlogged(const xf_stream_t *);
/* sender stops being read until slow's backlog is out (a fast sender is
 * slowed rather than a slow reader cut off). */
void	 xf_stream_wait_for(xf_stream_t *sender, xf_stream_t *slow);
/* The connection's output is out (XF_IO_DRAINED). */
void	 xf_stream_drained(xf_stream_t *);
/* An element the connection never wrote whole (u_unsent). */
void	 xf_stream_unsent(xf_stream_t *, const char *, size_t);
/* Leaves the session table now (k_unbind), once. */
void	 xf_stream_unbind(xf_stream_t *);
/* The stream is over: unbind, modules' goodbyes, memory. */
void	 xf_stream_end(xf_stream_t *);

#endif /* XF_STREAM_H */
