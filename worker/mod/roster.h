/* roster.h: what roster.c (items, versions, pushes, roster IQs) and roster_sub.c (subscriptions) share; private to them. */
#ifndef XF_ROSTER_H
#define XF_ROSTER_H

#include <stddef.h>

#include "worker.h"

#define NS_ROSTER	"jabber:iq:roster"
#define MAX_ITEM_BYTES	8192

/*
 * A stored item: one byte of state (XF_SUB_* bits, HIDDEN), then the
 * <item/> element serialised in the roster namespace.  HIDDEN marks a
 * contact that only asked to subscribe: RFC 6121 3.1.3 keeps the request
 * but does not put the contact in the roster until the user answers.
 */
#define HIDDEN		0x10

typedef struct item_s {
	int	 i_state;
	xf_el_t	*i_el;		/* owned */
} item_t;

/* roster.c */
/* The store key of owner's item for contact into k: its length, or -1. */
int	 xf_roster_key(char *k, size_t klen, const char *owner,
	    const char *contact);
/* A new item for contact, state 0: XF_OK or XF_ERR. */
int	 xf_roster_item_new(item_t *, const char *contact);
/* The item as clients see it: subscription and ask from the state. */
void	 xf_roster_item_attrs(item_t *);
/* A new roster version into ver (at least 32 bytes). */
int	 xf_roster_bump_ver(xf_worker_t *, const char *owner, char *ver,
	    size_t verlen);
/* Sends the item (or its removal) to every interested resource. */
void	 xf_roster_push(xf_worker_t *, const char *owner, const xf_el_t *item,
	    const char *ver);

/* roster_sub.c */
/* A subscription presence of type from owner's bare JID to contact. */
void	 xf_roster_send_sub(xf_worker_t *, const char *owner,
	    const char *contact, const char *type);
/* A subscription presence sent by the user on c (the m_outbound hook),
 * and one for the local user owner (m_inbound). */
int	 xf_roster_sub_outbound(xf_worker_t *, xf_stream_t *c, xf_el_t *st);
int	 xf_roster_sub_inbound(xf_worker_t *, xf_stream_t *c, xf_el_t *st,
	    const char *owner);

#endif /* XF_ROSTER_H */
