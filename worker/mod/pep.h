/* pep.h: PEP nodes and items in the store, who may read them, and their events (pepnode.c), for the protocol in pep.c. */
#ifndef XF_PEP_H
#define XF_PEP_H

#include <stdint.h>

#include "worker.h"

#define XF_NS_PUBSUB		"http://jabber.org/protocol/pubsub"
#define XF_NS_PUBSUB_EVENT	XF_NS_PUBSUB "#event"
#define XF_NS_PUBSUB_OWNER	XF_NS_PUBSUB "#owner"
#define XF_NS_PUBSUB_ERRORS	XF_NS_PUBSUB "#errors"
#define XF_NS_DATA		"jabber:x:data"

/*
 * Limits per account.  An item is one payload (an avatar's data is the
 * big one: base64 of a small picture); max_items='max' means
 * XF_PEP_MAX_ITEMS, which XEP-0402 bookmarks (one item per room) and
 * OMEMO 2 bundles (one per device) need.
 */
#define XF_PEP_ITEM_MAX		(128 * 1024)	/* payload bytes */
#define XF_PEP_MAX_ITEMS	256		/* items per node */
#define XF_PEP_MAX_NODES	256		/* nodes per account */

/* XEP-0060 4.5 access models offered. */
enum { XF_PEP_OPEN = 0, XF_PEP_PRESENCE, XF_PEP_WHITELIST };

/* Who asks, relative to the owner. */
enum { XF_PEP_OTHER = 0, XF_PEP_CONTACT, XF_PEP_OWNER };

/* What xf_pep_form_apply() found in a form. */
#define XF_PEP_SET_ACCESS	0x1
#define XF_PEP_SET_MAX		0x2

typedef struct xf_pep_cfg_s {
	int		 pc_access;	/* XF_PEP_OPEN ... */
	int		 pc_max;	/* max_items: 1 .. MAX_ITEMS */
} xf_pep_cfg_t;

typedef struct xf_pep_item_s {
	uint64_t	 pi_seq;	/* publish order */
	char		*pi_id;		/* owned */
	char		*pi_data;	/* owned: payload XML, or NULL */
	size_t		 pi_len;
} xf_pep_item_t;

/* A node's items, oldest first; freed by xf_pep_items_free(). */
typedef struct xf_pep_items_s {
	xf_pep_item_t	*pis_v;
	size_t		 pis_n, pis_cap;
	int		 pis_data;	/* load the payloads too */
	size_t		 pis_plen;	/* bytes of the key prefix */
} xf_pep_items_t;

/* 1 if the keys of owner's node (and item id, or NULL) fit the store. */
int	 xf_pep_key_fits(const char *owner, const char *node,
	    const char *id);

/* Nodes.  get: XF_OK with *cfg, XF_DECLINED (no such node), XF_ERR. */
int	 xf_pep_node_get(xf_worker_t *, const char *owner, const char *node,
	    xf_pep_cfg_t *);
/* Creates (within XF_PEP_MAX_NODES: XF_DECLINED beyond) or rewrites. */
int	 xf_pep_node_put(xf_worker_t *, const char *owner, const char *node,
	    const xf_pep_cfg_t *, int create);
/* Deletes the items, and the node itself unless purge. */
int	 xf_pep_node_del(xf_worker_t *, const char *owner, const char *node,
	    int purge);
/* Calls fn for each of owner's nodes; fn returns non-zero to stop. */
int	 xf_pep_node_each(xf_worker_t *, const char *owner,
	    int (*fn)(void *ud, const char *node, const xf_pep_cfg_t *),
	    void *ud);
void	 xf_pep_node_defaults(const char *node, xf_pep_cfg_t *);

/*
 * Items.  put stores payload under id (NULL or "": one is made up and
 * written into idbuf), then drops the oldest beyond max.  XF_OK,
 * XF_DECLINED (payload over XF_PEP_ITEM_MAX), XF_ERR.  *idp gets the id.
 */
int	 xf_pep_item_put(xf_worker_t *, const char *owner, const char *node,
	    const char *id, const xf_el_t *payload, int max, char *idbuf,
	    size_t idlen, const char **idp);
/* XF_DECLINED when there was no such item. */
int	 xf_pep_item_del(xf_worker_t *, const char *owner, const char *node,
	    const char *id);
int	 xf_pep_items_load(xf_worker_t *, const char *owner,
	    const char *node, int data, xf_pep_items_t *);
void	 xf_pep_items_free(xf_pep_items_t *);
/* Drops the oldest items beyond max. */
int	 xf_pep_trim(xf_worker_t *, const char *owner, const char *node,
	    int max);

/* Access: what who is to owner (the roster's subscription), or XF_ERR
 * when the roster cannot be read (answer with an error, never refuse a
 * contact for the store's failure). */
int	 xf_pep_relation(xf_worker_t *, const char *owner, const char *who);
int	 xf_pep_readable(const xf_pep_cfg_t *, int relation);
const char *xf_pep_access_name(int access);

/* Data forms (XEP-0004) of node configuration.  apply: XF_ERR for a
 * value that cannot be honoured; *set gets XF_PEP_SET_* bits. */
int	 xf_pep_form_apply(const xf_el_t *x, xf_pep_cfg_t *, int *set);
void	 xf_pep_form_make(xf_el_t *parent, const xf_pep_cfg_t *);

/* Sends event (an <event/> element) to the owner's resources and the
 * contacts allowed to read a node configured cfg. */
void	 xf_pep_notify(xf_worker_t *, const char *owner,
	    const xf_pep_cfg_t *, const xf_el_t *event);

#endif /* XF_PEP_H */
