/* mod.h: the hooks through which IM features (roster, presence, offline, SM, carbons, ...) join the stream and the router. */
#ifndef XF_MOD_H
#define XF_MOD_H

#include "worker.h"

/*
 * A feature module fills the hooks it needs and leaves the rest NULL;
 * worker/mod.c lists the modules in the order they are consulted (like
 * nginx's ngx_modules[]).  Hooks run inside a worker, on its loop: they
 * must not block.  Per-connection state lives in c->s_mod[m->m_index],
 * allocated by the module and freed in its unbound or conn_free hook.
 *
 * Return conventions: XF_DECLINED = not mine, ask the next module;
 * XF_OK = handled (the stanza was answered, consumed or dropped).
 */
typedef struct xf_mod_s xf_mod_t;

enum { XF_IQ_SERVER = 1, XF_IQ_ACCOUNT };

struct xf_mod_s {
	const char	*m_name;
	int		 m_index;	/* set by xf_mod_init() */
	/* The kind of stream whose hooks it serves (features, elements,
	 * bind, send, ...): a client's roster means nothing on a server-to-
	 * server stream.  NULL: every kind.  Routing hooks see every
	 * stanza whatever its stream. */
	const xf_stream_kind_t *m_kind;

	/* Once per worker, after its stores are open. */
	void	(*m_init)(xf_worker_t *);

	/* Stream features: before authentication (after TLS) and after
	 * it (next to <bind/>). */
	void	(*m_features_preauth)(xf_stream_t *, xf_buf_t *);
	void	(*m_features)(xf_stream_t *, xf_buf_t *);

	/* A top-level element on an authenticated stream that is not a
	 * stanza (<enable/>, <r/>, <active/>, ...), or one before
	 * authentication (<iq/> for in-band registration). */
	int	(*m_element)(xf_stream_t *, xf_el_t *);
	int	(*m_preauth)(xf_stream_t *, xf_el_t *);

	/* An IQ get/set for the server (XF_IQ_SERVER) or for the account of
	 * a local user (XF_IQ_ACCOUNT, owner = that user's bare JID).  from
	 * is the sending local connection, or NULL. */
	int	(*m_iq)(xf_worker_t *, xf_stream_t *from, xf_el_t *iq,
		    xf_el_t *payload, int target, const char *owner);

	/*
	 * The connection bound its resource / is going away (still bound,
	 * its record still in the table; c->s_clean says whether the stream
	 * ended with </stream:stream> or a stream error we sent).  An
	 * unbound hook returning XF_OK keeps the session (a detached SM
	 * session): its record stays and the hooks after it do not run, so
	 * no unavailable presence goes out.
	 */
	void	(*m_bound)(xf_stream_t *);
	int	(*m_unbound)(xf_stream_t *);
	/* The connection's memory is about to be freed. */
	void	(*m_stream_free)(xf_stream_t *);

	/*
	 * A stanza from a local client, after 'from' is stamped and before
	 * routing (carbons copy sent chat messages; blocking refuses
	 * stanzas to blocked JIDs).  XF_OK stops the routing.
	 */
	int	(*m_outbound)(xf_worker_t *, xf_stream_t *from, xf_el_t *st);

	/*
	 * A client's stanza has been handled: routed, stored, answered, or
	 * consumed by a module.  SM counts it in h only now, so a stanza
	 * the client's h covers has left this worker (a kill -9 before this
	 * leaves it uncounted: the client sends it again on resume).
	 */
	void	(*m_handled)(xf_stream_t *, const xf_el_t *st);

	/*
	 * A stanza for a local user, before it is delivered to a resource
	 * or handled for the bare JID.  to_bare is the recipient.  XF_OK
	 * means consumed (blocked, stored, ...).
	 */
	int	(*m_inbound)(xf_worker_t *, xf_stream_t *from, xf_el_t *st,
		    const char *to_bare);

	/* A message was delivered to full (carbons copy it to the user's
	 * other resources). */
	void	(*m_delivered)(xf_worker_t *, const xf_el_t *st,
		    const char *full);

	/*
	 * A message for a local user who has no resource to take it
	 * (offline storage).  XF_OK if kept.
	 */
	int	(*m_undeliverable)(xf_worker_t *, xf_stream_t *from,
		    const xf_el_t *st, const char *to_bare);

	/*
	 * A stanza for the bound resource full (rec: its session record),
	 * before it goes to the local connection or another worker's
	 * ring.  XF_OK: the module delivered it (SM queues it in the
	 * session table and wakes the owner).
	 */
	int	(*m_deliver)(xf_worker_t *, xf_stream_t *from, const char *full,
		    const xf_sess_rec_t *rec, const xf_el_t *st);

	/*
	 * Bytes of one stanza about to be written to a bound client (every
	 * path: local, ring, resent).  A module may take them (CSI holds
	 * presence back; SM counts and keeps them until acked): XF_OK
	 * means taken, the module writes them later with xf_stream_write().
	 */
	int	(*m_send)(xf_stream_t *, const char *data, size_t len);

	/* The stream's backlog is out: a module that stopped writing to a
	 * slow reader (SM's inbox pump) goes on. */
	void	(*m_drained)(xf_stream_t *);

	/* Stanza bytes for full that reached this worker with no live
	 * connection behind them (a detached SM session).  XF_OK if kept. */
	int	(*m_orphan)(xf_worker_t *, const char *full, uint64_t conn,
		    const char *data, size_t len);
};

extern xf_mod_t	*xf_mods[];		/* NULL-terminated */

static inline int
xf_mod_serves(const xf_mod_t *m, const xf_stream_t *s)
{
	return m->m_kind == NULL || m->m_kind == s->s_kind;
}

/* The modules, each defined in its own file. */
extern xf_mod_t	 xf_mod_blocking, xf_mod_csi, xf_mod_carbons, xf_mod_sm;
extern xf_mod_t	 xf_mod_roster, xf_mod_presence, xf_mod_offline;
extern xf_mod_t	 xf_mod_vcard, xf_mod_private, xf_mod_pep, xf_mod_register;

void	 xf_mod_init(xf_worker_t *);

/* Hook runners: each walks xf_mods[] in order. */
void	 xf_mod_features_preauth(xf_stream_t *, xf_buf_t *);
void	 xf_mod_features(xf_stream_t *, xf_buf_t *);
int	 xf_mod_element(xf_stream_t *, xf_el_t *);
int	 xf_mod_preauth(xf_stream_t *, xf_el_t *);
int	 xf_mod_iq(xf_worker_t *, xf_stream_t *, xf_el_t *, xf_el_t *, int,
	    const char *);
void	 xf_mod_bound(xf_stream_t *);
int	 xf_mod_unbound(xf_stream_t *);
void	 xf_mod_stream_free(xf_stream_t *);
int	 xf_mod_outbound(xf_worker_t *, xf_stream_t *, xf_el_t *);
void	 xf_mod_handled(xf_stream_t *, const xf_el_t *);
int	 xf_mod_inbound(xf_worker_t *, xf_stream_t *, xf_el_t *, const char *);
void	 xf_mod_delivered(xf_worker_t *, const xf_el_t *, const char *);
int	 xf_mod_undeliverable(xf_worker_t *, xf_stream_t *, const xf_el_t *,
	    const char *);
int	 xf_mod_deliver(xf_worker_t *, xf_stream_t *, const char *,
	    const xf_sess_rec_t *, const xf_el_t *);
int	 xf_mod_send(xf_stream_t *, const char *, size_t);
void	 xf_mod_drained(xf_stream_t *);
int	 xf_mod_orphan(xf_worker_t *, const char *, uint64_t, const char *,
	    size_t);

#endif /* XF_MOD_H */
