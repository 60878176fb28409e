/* im.h: what the IM modules (roster, presence, offline) offer the others. */
#ifndef XF_IM_H
#define XF_IM_H

#include "worker.h"

/* Subscription states (RFC 6121 2.1.2.5), as bits: TO | FROM = BOTH. */
#define XF_SUB_NONE	0x0
#define XF_SUB_TO	0x1	/* owner sees contact's presence */
#define XF_SUB_FROM	0x2	/* contact sees owner's presence */
#define XF_SUB_BOTH	(XF_SUB_TO | XF_SUB_FROM)
#define XF_SUB_PENDING_OUT 0x4	/* owner asked, contact has not answered */
#define XF_SUB_PENDING_IN  0x8	/* contact asked, owner has not answered */

/* roster.c */
/* The subscription bits of contact in owner's roster: XF_OK, or
 * XF_DECLINED when contact is not in the roster. */
int	 xf_roster_sub(xf_worker_t *, const char *owner, const char *contact,
	    int *sub);
/* Calls fn for each roster item of owner; fn returns non-zero to stop. */
int	 xf_roster_each(xf_worker_t *, const char *owner,
	    int (*fn)(void *ud, const char *contact, int sub), void *ud);
/* RFC 6121 3.1.3: subscription requests that waited for c's initial
 * presence are delivered to it. */
void	 xf_roster_pending(xf_worker_t *, xf_stream_t *c);

/* presence.c */
/* A session vanished without saying so (its worker died, its SM session
 * timed out): tell its contacts and directed-presence targets. */
void	 xf_presence_gone(xf_worker_t *, const char *full);

/* Hands c's presence state to xf_sm_keep_presence() (SM enabled with
 * resumption), and puts it back on the connection that resumed. */
void	 xf_presence_keep(xf_stream_t *);
void	 xf_presence_restore(xf_stream_t *, const char *data, size_t len);

/* Sends owner's current presence, from each available resource, to to
 * (a subscription was approved, a block lifted). */
void	 xf_presence_send_current(xf_worker_t *, const char *owner,
	    const char *to);

/* Unavailable presence from each of owner's available resources to to
 * (a subscription ended, a contact was blocked). */
void	 xf_presence_send_unavailable(xf_worker_t *, const char *owner,
	    const char *to);

/* blocking.c */
/* Drops owner's blocklist from this worker's cache (XF_MSG_BLOCKS). */
void	 xf_blocking_forget(xf_worker_t *, const char *owner);
/* owner's blocklist changed in the store (an account deleted, say):
 * forget it here and send XF_MSG_BLOCKS to every other live worker. */
void	 xf_blocking_changed(xf_worker_t *, const char *owner);
/* Tells the other nodes sharing the store (pgsql NOTIFY; the master's
 * account deletion uses it too). */
void	 xf_blocking_notify_nodes(xf_store_t *, xf_rings_t *,
	    const char *owner);

/* offline.c */
/* Keeps a message for bare (XEP-0160) with a XEP-0203 delay stamp.
 * XF_OK kept (committed to disk), XF_DECLINED over quota, XF_ERR. */
int	 xf_offline_store(xf_worker_t *, const char *bare, const xf_el_t *msg);
int	 xf_offline_store_raw(xf_worker_t *, const char *bare,
	    const char *data, size_t len);
/* XEP-0160 4: the messages kept for c's user, on its initial presence. */
void	 xf_offline_deliver(xf_worker_t *, xf_stream_t *c);

#endif /* XF_IM_H */
