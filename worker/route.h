/* route.h: where a stanza goes: one decision for every destination, made without I/O. */
#ifndef XF_ROUTE_H
#define XF_ROUTE_H

#include <stdint.h>

#include "xf.h"
#include "conf.h"
#include "sess.h"
#include "xml.h"

/*
 * The destinations (RFC 6120 10, RFC 6121 8).  A stanza for a bound
 * resource goes to a STREAM of this worker, another WORKER's ring or
 * another NODE of the cluster, as its session record says.
 */
enum {
	XF_DEST_DROP = 0,	/* nowhere: no error is owed (RFC 6121 8.5) */
	XF_DEST_ERROR,		/* back to the sender: d_type, d_cond */
	XF_DEST_SERVER,		/* the server itself answers (an IQ) */
	XF_DEST_ACCOUNT,	/* the account d_bare answers (an IQ) */
	XF_DEST_BARE,		/* each available resource of d_bare */
	XF_DEST_STREAM,		/* d_stream on this worker */
	XF_DEST_WORKER,		/* d_stream on worker d_slot of this node */
	XF_DEST_NODE,		/* a session on cluster node d_node */
	XF_DEST_DC,		/* a user served by another datacenter */
	XF_DEST_REMOTE,		/* another domain: d_host, over s2s */
	XF_DEST_OFFLINE		/* d_bare is offline: storage, or an error */
};

enum { XF_FALL_NONE = 0, XF_FALL_GONE, XF_FALL_OFFLINE };

/* What the decision reads: the session table and the served hosts. */
typedef struct xf_route_ctx_s {
	xf_sess_t	*rc_sess;
	const xf_conf_t	*rc_conf;
	uint32_t	 rc_node;	/* this node (0 until the cluster) */
	uint32_t	 rc_slot;	/* the deciding worker's ring slot */
} xf_route_ctx_t;

typedef struct xf_dest_s {
	int		 d_kind;	/* XF_DEST_* */
	/* The local user's inbound hooks run first (blocking, roster,
	 * presence, carbons): the stanza is for d_bare from outside. */
	int		 d_inbound;
	/* When the resource turns out gone (its record was stale):
	 * XF_FALL_GONE: xf_route_resource_gone() decides again;
	 * XF_FALL_OFFLINE: the message goes to OFFLINE. */
	int		 d_fallback;
	/* BARE: which resources: 1 available with priority >= 0
	 * (headline), 2 every available one (presence). */
	int		 d_avail;
	uint32_t	 d_node;
	uint32_t	 d_slot;
	uint64_t	 d_stream;
	const char	*d_type;	/* ERROR */
	const char	*d_cond;
	char		 d_host[1024];	/* REMOTE: the domain */
	char		 d_bare[XF_JID_MAX + 1];
	char		 d_full[XF_JID_MAX + 1];
	xf_sess_rec_t	 d_rec;		/* STREAM, WORKER, NODE */
} xf_dest_t;

/*
 * Decides where st goes: its 'to' as it stands; self_bare is the sending
 * local user's bare JID (for a stanza without 'to'), or NULL.  Reads the
 * session table, writes nothing, sends nothing.
 */
void	 xf_route_decide(const xf_route_ctx_t *, const xf_el_t *st,
	    const char *self_bare, xf_dest_t *out);
/* A message for full that has no live resource behind it (RFC 6121
 * 8.5.3.2): as if to bare JID d_bare. */
void	 xf_route_resource_gone(const xf_route_ctx_t *, const xf_el_t *st,
	    xf_dest_t *d);
/* One bound resource, by its session record: STREAM, WORKER or NODE. */
void	 xf_route_record(const xf_route_ctx_t *, const xf_sess_rec_t *,
	    xf_dest_t *out);

#endif /* XF_ROUTE_H */
