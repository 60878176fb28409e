/* pep.c: XEP-0163 personal eventing: the XEP-0060 subset clients use on their own account, with notifications to contacts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"
#include "im.h"

#define NS_PUBSUB		"http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_EVENT		NS_PUBSUB "#event"
#define NS_PUBSUB_OWNER		NS_PUBSUB "#owner"
#define NS_PUBSUB_ERRORS	NS_PUBSUB "#errors"
#define NS_NODE_CONFIG		NS_PUBSUB "#node_config"
#define NS_PUBLISH_OPTIONS	NS_PUBSUB "#publish-options"
#define NS_DATA			"jabber:x:data"
#define NS_DISCO_INFO		"http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS		"http://jabber.org/protocol/disco#items"

/*
 * Limits per account.  An item is one payload (an avatar's data is the
 * big one: base64 of a small picture); max_items='max' means
 * PEP_MAX_ITEMS, which XEP-0402 bookmarks (one item per room) and OMEMO 2
 * bundles (one per device) need.
 */
#define PEP_ITEM_MAX	(128 * 1024)	/* serialised payload bytes */
#define PEP_MAX_ITEMS	256		/* items per node */
#define PEP_MAX_NODES	256		/* nodes per account */

/*
 * The store, for owner O, node N, item id I:
 *
 *   XF_T_PEP   "O NUL N NUL I" -> 8-byte big-endian publish sequence
 *                                 (xf_store_seq), then the payload XML
 *   XF_T_META  "O NUL pep:N"   -> node configuration, "v1 MODEL MAX"
 *
 * Node configurations live in the small-values table so that counting
 * and listing an account's nodes never reads the items.  A node is
 * written by its owner's requests only, but those may run on two
 * workers at once: LMDB serialises each write, and the worst a race does
 * is keep one item too many until the next publish trims it.
 */
enum { ACC_OPEN = 0, ACC_PRESENCE, ACC_WHITELIST };
static const char *const access_names[] = { "open", "presence", "whitelist" };

typedef struct cfg_s {
	int	 cf_access;		/* ACC_* */
	int	 cf_max;		/* max_items, 1 .. PEP_MAX_ITEMS */
} cfg_t;

/* Which options a form set (publish-options compare only those). */
#define SET_ACCESS	0x1
#define SET_MAX		0x2

/* Who asks, relative to the owner. */
enum { REL_OTHER = 0, REL_CONTACT, REL_OWNER };

typedef struct item_s {
	uint64_t	 it_seq;
	char		*it_id;
	char		*it_data;	/* payload XML, or NULL */
	size_t		 it_len;
} item_t;

typedef struct items_s {
	item_t		*is_v;
	size_t		 is_n, is_cap;
	int		 is_data;	/* keep the payloads */
	size_t		 is_plen;	/* bytes of the key prefix */
} items_t;

/* Scratch; a worker is single-threaded. */
static xf_buf_t	 key, val;
static uint64_t	 msg_seq;

static int
eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static int
is_el(const xf_el_t *el, const char *ns, const char *name)
{
	return el->e_ns != NULL && strcmp(el->e_ns, ns) == 0 &&
	    strcmp(el->e_name, name) == 0;
}

/* ---- replies --------------------------------------------------------- */

static xf_el_t *
answer(const xf_el_t *iq, const char *type)
{
	xf_el_t		*r = xf_el_new(XF_NS_CLIENT, "iq");
	const char	*id = xf_el_attr(iq, "id");
	const char	*from = xf_el_attr(iq, "from");
	const char	*to = xf_el_attr(iq, "to");

	if (r == NULL)
		return NULL;
	xf_el_set_attr(r, "type", type);
	xf_el_set_attr(r, "id", id ? id : "");
	if (to)
		xf_el_set_attr(r, "from", to);
	if (from)
		xf_el_set_attr(r, "to", from);
	return r;
}

static void
reply(xf_worker_t *w, xf_conn_t *c, xf_el_t *r)
{
	const char	*to;

	if (r == NULL)
		return;
	to = xf_el_attr(r, "to");
	if (c != NULL && to != NULL && strcmp(to, c->c_full) == 0)
		xf_c2s_send_el(c, r);
	else
		xf_route(w, NULL, r);
	xf_el_free(r);
}

/*
 * A stanza error with XEP-0060's pubsub-specific condition app (or
 * NULL); feature names the unsupported feature for <unsupported/>.
 */
static void
fail(xf_worker_t *w, xf_conn_t *c, const xf_el_t *iq, const char *type,
    const char *cond, const char *app, const char *feature)
{
	xf_el_t	*r = answer(iq, "error"), *e, *a;

	if (r == NULL)
		return;
	if ((e = xf_el_add(r, XF_NS_CLIENT, "error")) != NULL) {
		xf_el_set_attr(e, "type", type);
		xf_el_add(e, XF_NS_STANZAS, cond);
		if (app != NULL &&
		    (a = xf_el_add(e, NS_PUBSUB_ERRORS, app)) != NULL &&
		    feature != NULL)
			xf_el_set_attr(a, "feature", feature);
	}
	reply(w, c, r);
}

static void
broken(xf_worker_t *w, xf_conn_t *c, const xf_el_t *iq, const char *owner)
{
	log_warnx("pep: %s: %s", owner, xf_store_error(w->w_store));
	fail(w, c, iq, "wait", "internal-server-error", NULL, NULL);
}

/* ---- helpers ----------------------------------------------------------- */

static int
sender_bare(const xf_el_t *iq, char *out, size_t len)
{
	const char	*from = xf_el_attr(iq, "from");
	xf_jid_t	 j;

	if (from == NULL || xf_jid_parse(from, strlen(from), &j) != XF_OK)
		return XF_ERR;
	return xf_jid_bare(&j, out, len);
}

/* <event><items node=N/></event>, returning the <items/>. */
static xf_el_t *
event_items(const char *node, xf_el_t **items)
{
	xf_el_t	*ev = xf_el_new(NS_PUBSUB_EVENT, "event");

	if (ev == NULL || (*items = xf_el_add(ev, NS_PUBSUB_EVENT, "items"))
	    == NULL) {
		xf_el_free(ev);
		return NULL;
	}
	xf_el_set_attr(*items, "node", node);
	return ev;
}

/* <event><delete node=N/></event> or purge. */
static void
notify_node(xf_worker_t *w, const char *owner, const char *node,
    const cfg_t *cfg, const char *what)
{
	xf_el_t	*ev = xf_el_new(NS_PUBSUB_EVENT, "event"), *e;

	if (ev == NULL)
		return;
	if ((e = xf_el_add(ev, NS_PUBSUB_EVENT, what)) != NULL) {
		xf_el_set_attr(e, "node", node);
		notify(w, owner, cfg, ev);
	}
	xf_el_free(ev);
}

/* ---- the requests ----------------------------------------------------- */

/* Creates node with cfg, within the account's node quota. */
static int
node_create(xf_worker_t *w, xf_conn_t *c, const xf_el_t *iq,
    const char *owner, const char *node, const cfg_t *cfg)
{
	size_t	 n;

	if (node_key(owner, "") != XF_OK || xf_store_count(w->w_store,
	    XF_T_META, xf_buf_data(&key), xf_buf_size(&key), &n) != XF_OK) {
		broken(w, c, iq, owner);
		return XF_ERR;
	}
	if (n >= PEP_MAX_NODES) {
		fail(w, c, iq, "wait", "resource-constraint", NULL, NULL);
		return XF_ERR;
	}
	if (node_put(w, owner, node, cfg) != XF_OK) {
		broken(w, c, iq, owner);
		return XF_ERR;
	}
	return XF_OK;
}

/* The one item of a publish and its one payload, or an error sent. */
static int
publish_item(xf_worker_t *w, xf_conn_t *c, const xf_el_t *iq,
    const xf_el_t *pub, xf_el_t **item, xf_el_t **payload)
{
	xf_el_t	*e;

	*item = NULL;
	for (e = xf_el_first(pub); e != NULL; e = xf_el_next(e))
		if (is_el(e, NS_PUBSUB, "item")) {
			if (*item != NULL)
				goto invalid;
			*item = e;
		}
	if (*item == NULL) {
		/* XEP-0060 7.1.3.6: persistent nodes need an item. */
		fail(w, c, iq, "modify", "bad-request", "item-required",
		    NULL);
		return XF_ERR;
	}
	if ((*payload = xf_el_first(*item)) == NULL) {
		fail(w, c, iq, "modify", "bad-request", "payload-required",
		    NULL);
		return XF_ERR;
	}
	if (xf_el_next(*payload) != NULL)
		goto invalid;
	return XF_OK;
invalid:
	/* 7.1.3.5: one item, one payload. */
	fail(w, c, iq, "modify", "bad-request", "invalid-payload", NULL);
	return XF_ERR;
}

/* XEP-0060 7.1, XEP-0163 3: publish, creating the node if needed. */
static void
publish(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *ps,
    xf_el_t *pub, const char *owner)
{
	const char	*node = xf_el_attr(pub, "node"), *id;
	xf_el_t		*item, *payload, *po, *x = NULL, *r, *e, *ev, *evitems;
	cfg_t		 cfg, want;
	uint64_t	 seq;
	uint8_t		 sb[8];
	char		 gen[24];
	int		 rc, set = 0;

	if (node == NULL || node[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if (publish_item(w, c, iq, pub, &item, &payload) != XF_OK)
		return;
	if ((po = xf_el_child(ps, NS_PUBSUB, "publish-options")) != NULL)
		x = xf_el_child(po, NS_DATA, "x");
	if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED)
		node_defaults(node, &cfg);
	want = cfg;
	/* XEP-0060 7.1.5: publish-options are preconditions on an existing
	 * node and the configuration of one auto-created. */
	if (x != NULL && (form_apply(x, &want, &set) != XF_OK ||
	    (rc == XF_OK && (((set & SET_ACCESS) && want.cf_access !=
	    cfg.cf_access) || ((set & SET_MAX) && want.cf_max !=
	    cfg.cf_max))))) {
		fail(w, c, iq, "cancel", "conflict", "precondition-not-met",
		    NULL);
		return;
	}
	if (rc == XF_DECLINED) {
		cfg = want;
		if (node_create(w, c, iq, owner, node, &cfg) != XF_OK)
			return;
	}

	xf_buf_reset(&val);
	if (xf_store_seq(w->w_store, &seq) != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}
	for (int i = 0; i < 8; i++)
		sb[i] = (uint8_t)(seq >> (56 - 8 * i));
	if (xf_buf_append(&val, sb, sizeof(sb)) != XF_OK ||
	    xf_el_write(payload, NULL, &val) != XF_OK) {
		fail(w, c, iq, "wait", "internal-server-error", NULL, NULL);
		return;
	}
	if (xf_buf_size(&val) - 8 > PEP_ITEM_MAX) {
		fail(w, c, iq, "modify", "not-acceptable", "payload-too-big",
		    NULL);
		return;
	}
	/* 7.1.2: the service makes up an id the publisher did not give. */
	if ((id = xf_el_attr(item, "id")) == NULL || id[0] == '\0') {
		snprintf(gen, sizeof(gen), "%016llx", (unsigned long long)seq);
		id = gen;
	}
	if (item_key(owner, node, id) != XF_OK ||
	    xf_store_put(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), xf_buf_data(&val), xf_buf_size(&val))
	    != XF_OK || trim(w, owner, node, cfg.cf_max) != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}

	if ((r = answer(iq, "result")) != NULL &&
	    (e = xf_el_add(r, NS_PUBSUB, "pubsub")) != NULL &&
	    (e = xf_el_add(e, NS_PUBSUB, "publish")) != NULL) {
		xf_el_set_attr(e, "node", node);
		if ((e = xf_el_add(e, NS_PUBSUB, "item")) != NULL)
			xf_el_set_attr(e, "id", id);
	}
	reply(w, c, r);

	if ((ev = event_items(node, &evitems)) == NULL)
		return;
	if ((e = xf_el_add(evitems, NS_PUBSUB_EVENT, "item")) != NULL) {
		xf_el_t	*copy = xf_el_copy(payload);

		xf_el_set_attr(e, "id", id);
		if (copy != NULL) {
			xf_el_append(e, copy);
			notify(w, owner, &cfg, ev);
		}
	}
	xf_el_free(ev);
}

/* XEP-0060 7.2: retract one item. */
static void
retract(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *rt,
    const char *owner)
{
	const char	*node = xf_el_attr(rt, "node"), *id;
	xf_el_t		*item = xf_el_child(rt, NS_PUBSUB, "item"), *ev, *evitems,
			*e;
	cfg_t		 cfg;
	int		 rc;

	if (node == NULL || node[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if (item == NULL || (id = xf_el_attr(item, "id")) == NULL ||
	    id[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "item-required", NULL);
		return;
	}
	if ((rc = node_get(w, owner, node, &cfg)) == XF_OK) {
		if (item_key(owner, node, id) != XF_OK)
			rc = XF_ERR;
		else
			rc = xf_store_del(w->w_store, XF_T_PEP,
			    xf_buf_data(&key), xf_buf_size(&key));
	}
	if (rc == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED) {
		fail(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return;
	}
	reply(w, c, answer(iq, "result"));
	/* 7.2.2.1 asks for the notification when notify='true'; Prosody
	 * and clients (XEP-0402 removals) expect it always. */
	if ((ev = event_items(node, &evitems)) == NULL)
		return;
	if ((e = xf_el_add(evitems, NS_PUBSUB_EVENT, "retract")) != NULL) {
		xf_el_set_attr(e, "id", id);
		notify(w, owner, &cfg, ev);
	}
	xf_el_free(ev);
}

/* The payload of one stored item as an <item/> in ns under parent. */
static void
add_item(xf_el_t *parent, const char *ns, const item_t *it)
{
	xf_el_t	*e = xf_el_add(parent, ns, "item"), *p;

	if (e == NULL)
		return;
	xf_el_set_attr(e, "id", it->it_id);
	if ((p = xf_xml_parse(it->it_data, it->it_len, ns)) != NULL)
		xf_el_append(e, p);
}

/* XEP-0060 6.5: items, all, the max_items most recent, or by id. */
static void
items(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner, const char *sender)
{
	const char	*node = xf_el_attr(req, "node");
	const char	*mx = xf_el_attr(req, "max_items");
	xf_el_t		*r, *out, *e;
	items_t		 is;
	cfg_t		 cfg;
	size_t		 from = 0;
	long		 max = 0;
	int		 rc, byid = 0;
	char		*end;

	if (node == NULL || node[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED) {
		fail(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return;
	}
	if (!readable(&cfg, relation(w, owner, sender))) {
		refuse_read(w, c, iq, &cfg);
		return;
	}
	if (mx != NULL) {
		max = strtol(mx, &end, 10);
		if (mx[0] == '\0' || *end != '\0' || max < 1) {
			fail(w, c, iq, "modify", "bad-request", NULL, NULL);
			return;
		}
	}
	if (items_load(w, owner, node, 1, &is) != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}
	if (max > 0 && (size_t)max < is.is_n)
		from = is.is_n - (size_t)max;
	for (e = xf_el_first(req); e != NULL; e = xf_el_next(e))
		if (is_el(e, NS_PUBSUB, "item") && xf_el_attr(e, "id"))
			byid = 1;
	if ((r = answer(iq, "result")) == NULL ||
	    (out = xf_el_add(r, NS_PUBSUB, "pubsub")) == NULL ||
	    (out = xf_el_add(out, NS_PUBSUB, "items")) == NULL) {
		xf_el_free(r);
		items_free(&is);
		return;
	}
	xf_el_set_attr(out, "node", node);
	for (size_t i = byid ? 0 : from; i < is.is_n; i++) {
		if (byid) {
			/* 6.5.8: only the items asked for, those that exist. */
			for (e = xf_el_first(req); e != NULL; e = xf_el_next(e))
				if (is_el(e, NS_PUBSUB, "item") &&
				    eq(xf_el_attr(e, "id"), is.is_v[i].it_id))
					break;
			if (e == NULL)
				continue;
		}
		add_item(out, NS_PUBSUB, &is.is_v[i]);
	}
	items_free(&is);
	reply(w, c, r);
}

/* XEP-0060 8.1: create a node, optionally configured. */
static void
create(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *ps, xf_el_t *cr,
    const char *owner)
{
	const char	*node = xf_el_attr(cr, "node");
	xf_el_t		*conf, *x;
	cfg_t		 cfg;
	int		 rc, set;

	if (node == NULL || node[0] == '\0') {
		/* 8.1.3: instant nodes are not offered. */
		fail(w, c, iq, "modify", "not-acceptable", "nodeid-required",
		    NULL);
		return;
	}
	if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_OK) {
		fail(w, c, iq, "cancel", "conflict", NULL, NULL);
		return;
	}
	node_defaults(node, &cfg);
	if ((conf = xf_el_child(ps, NS_PUBSUB, "configure")) != NULL &&
	    (x = xf_el_child(conf, NS_DATA, "x")) != NULL &&
	    form_apply(x, &cfg, &set) != XF_OK) {
		fail(w, c, iq, "modify", "not-acceptable", NULL, NULL);
		return;
	}
	if (node_create(w, c, iq, owner, node, &cfg) == XF_OK)
		reply(w, c, answer(iq, "result"));
}

/* XEP-0060 8.2: read or change a node's configuration. */
static void
configure(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner)
{
	const char	*node = xf_el_attr(req, "node");
	xf_el_t		*x, *r, *e;
	cfg_t		 cfg;
	int		 rc, set;

	if (node == NULL || node[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED) {
		fail(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return;
	}
	if (eq(xf_el_attr(iq, "type"), "get")) {
		if ((r = answer(iq, "result")) != NULL &&
		    (e = xf_el_add(r, NS_PUBSUB_OWNER, "pubsub")) != NULL &&
		    (e = xf_el_add(e, NS_PUBSUB_OWNER, "configure")) != NULL) {
			xf_el_set_attr(e, "node", node);
			form_make(e, &cfg);
		}
		reply(w, c, r);
		return;
	}
	if ((x = xf_el_child(req, NS_DATA, "x")) == NULL) {
		fail(w, c, iq, "modify", "bad-request", NULL, NULL);
		return;
	}
	/* 8.2.5: type='cancel' changes nothing. */
	if (!eq(xf_el_attr(x, "type"), "cancel")) {
		if (form_apply(x, &cfg, &set) != XF_OK) {
			fail(w, c, iq, "modify", "not-acceptable", NULL, NULL);
			return;
		}
		if (node_put(w, owner, node, &cfg) != XF_OK ||
		    trim(w, owner, node, cfg.cf_max) != XF_OK) {
			broken(w, c, iq, owner);
			return;
		}
	}
	reply(w, c, answer(iq, "result"));
}

/* XEP-0060 8.4 delete and 8.5 purge. */
static void
delete_or_purge(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner, int purge)
{
	const char	*node = xf_el_attr(req, "node");
	cfg_t		 cfg;
	int		 rc;

	if (node == NULL || node[0] == '\0') {
		fail(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED) {
		fail(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return;
	}
	/* Items first: a node record without items is a valid node, items
	 * without one would be unreachable garbage. */
	if (item_key(owner, node, "") != XF_OK ||
	    xf_store_del_prefix(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), NULL) == XF_ERR ||
	    (!purge && (node_key(owner, node) != XF_OK ||
	    xf_store_del(w->w_store, XF_T_META, xf_buf_data(&key),
	    xf_buf_size(&key)) == XF_ERR))) {
		broken(w, c, iq, owner);
		return;
	}
	reply(w, c, answer(iq, "result"));
	notify_node(w, owner, node, &cfg, purge ? "purge" : "delete");
}

/* ---- service discovery of the account's nodes (XEP-0060 5) ------------ */

typedef struct list_s {
	xf_worker_t	*l_w;
	xf_el_t		*l_query;
	const char	*l_owner;
	size_t		 l_plen;
	int		 l_rel;
} list_t;

static int
list_node(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	list_t	*l = ud;
	cfg_t	 cfg;
	xf_el_t	*it;
	char	*node;

	if (klen <= l->l_plen || cfg_decode(v, vlen, &cfg) != XF_OK ||
	    !readable(&cfg, l->l_rel))
		return 0;
	if ((node = strndup((const char *)k + l->l_plen, klen - l->l_plen))
	    == NULL)
		return 1;
	if ((it = xf_el_add(l->l_query, NS_DISCO_ITEMS, "item")) != NULL) {
		xf_el_set_attr(it, "jid", l->l_owner);
		xf_el_set_attr(it, "node", node);
	}
	free(node);
	return 0;
}

static int
disco(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner, const char *sender)
{
	const char	*node = xf_el_attr(q, "node");
	int		 info = is_el(q, NS_DISCO_INFO, "query"), rc, rel;
	xf_el_t		*r, *rq, *e;
	items_t		 is;
	list_t		 l;
	cfg_t		 cfg;

	/* The account's own disco#info (no node) is iq.c's. */
	if (info && node == NULL)
		return XF_DECLINED;
	rel = relation(w, owner, sender);
	if (node != NULL) {
		if ((rc = node_get(w, owner, node, &cfg)) == XF_ERR) {
			broken(w, c, iq, owner);
			return XF_OK;
		}
		if (rc == XF_DECLINED || !readable(&cfg, rel)) {
			fail(w, c, iq, "cancel", "item-not-found", NULL, NULL);
			return XF_OK;
		}
	}
	if ((r = answer(iq, "result")) == NULL || (rq = xf_el_add(r,
	    info ? NS_DISCO_INFO : NS_DISCO_ITEMS, "query")) == NULL) {
		xf_el_free(r);
		return XF_OK;
	}
	if (node != NULL)
		xf_el_set_attr(rq, "node", node);
	if (info) {
		/* 5.3: a leaf node. */
		if ((e = xf_el_add(rq, NS_DISCO_INFO, "identity")) != NULL) {
			xf_el_set_attr(e, "category", "pubsub");
			xf_el_set_attr(e, "type", "leaf");
		}
		if ((e = xf_el_add(rq, NS_DISCO_INFO, "feature")) != NULL)
			xf_el_set_attr(e, "var", NS_PUBSUB);
	} else if (node == NULL) {
		/* 5.2: the nodes this asker may read. */
		l.l_w = w;
		l.l_query = rq;
		l.l_owner = owner;
		l.l_rel = rel;
		if (node_key(owner, "") == XF_OK) {
			l.l_plen = xf_buf_size(&key);
			xf_store_scan(w->w_store, XF_T_META, xf_buf_data(&key),
			    xf_buf_size(&key), list_node, &l);
		}
	} else if (items_load(w, owner, node, 0, &is) == XF_OK) {
		/* 5.5: the node's items, by id. */
		for (size_t i = 0; i < is.is_n; i++)
			if ((e = xf_el_add(rq, NS_DISCO_ITEMS, "item")) !=
			    NULL) {
				xf_el_set_attr(e, "jid", owner);
				xf_el_set_attr(e, "name", is.is_v[i].it_id);
			}
		items_free(&is);
	}
	reply(w, c, r);
	return XF_OK;
}

/* ---- dispatch --------------------------------------------------------- */

static int
pep_iq(xf_worker_t *w, xf_conn_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	char	 sender[XF_JID_MAX + 1];
	int	 get = eq(xf_el_attr(iq, "type"), "get"), own;
	xf_el_t	*e;

	if (target != XF_IQ_ACCOUNT || p->e_ns == NULL)
		return XF_DECLINED;
	if (!is_el(p, NS_PUBSUB, "pubsub") &&
	    !is_el(p, NS_PUBSUB_OWNER, "pubsub") &&
	    !(get && (is_el(p, NS_DISCO_INFO, "query") ||
	    is_el(p, NS_DISCO_ITEMS, "query"))))
		return XF_DECLINED;
	if (sender_bare(iq, sender, sizeof(sender)) != XF_OK) {
		fail(w, c, iq, "modify", "bad-request", NULL, NULL);
		return XF_OK;
	}
	if (strcmp(p->e_name, "query") == 0)
		return disco(w, c, iq, p, owner, sender);
	own = strcmp(sender, owner) == 0;

	if (strcmp(p->e_ns, NS_PUBSUB_OWNER) == 0) {
		if (!own) {
			fail(w, c, iq, "auth", "forbidden", NULL, NULL);
			return XF_OK;
		}
		if ((e = xf_el_first(p)) != NULL && is_el(e, NS_PUBSUB_OWNER,
		    "configure"))
			configure(w, c, iq, e, owner);
		else if (e != NULL && !get && is_el(e, NS_PUBSUB_OWNER,
		    "delete"))
			delete_or_purge(w, c, iq, e, owner, 0);
		else if (e != NULL && !get && is_el(e, NS_PUBSUB_OWNER,
		    "purge"))
			delete_or_purge(w, c, iq, e, owner, 1);
		else
			fail(w, c, iq, "cancel", "feature-not-implemented",
			    "unsupported", e != NULL ? e->e_name : NULL);
		return XF_OK;
	}

	if (get) {
		if ((e = xf_el_child(p, NS_PUBSUB, "items")) != NULL)
			items(w, c, iq, e, owner, sender);
		else
			fail(w, c, iq, "cancel", "feature-not-implemented",
			    "unsupported", (e = xf_el_first(p)) != NULL ?
			    e->e_name : NULL);
		return XF_OK;
	}
	if (!own) {
		/* XEP-0163: only the owner writes to an account's nodes;
		 * subscribing is implicit (presence), not a request. */
		fail(w, c, iq, "auth", "forbidden", NULL, NULL);
		return XF_OK;
	}
	if ((e = xf_el_child(p, NS_PUBSUB, "publish")) != NULL)
		publish(w, c, iq, p, e, owner);
	else if ((e = xf_el_child(p, NS_PUBSUB, "retract")) != NULL)
		retract(w, c, iq, e, owner);
	else if ((e = xf_el_child(p, NS_PUBSUB, "create")) != NULL)
		create(w, c, iq, p, e, owner);
	else
		fail(w, c, iq, "cancel", "feature-not-implemented",
		    "unsupported", (e = xf_el_first(p)) != NULL ? e->e_name :
		    NULL);
	return XF_OK;
}

xf_mod_t xf_mod_pep = {
	.m_name = "pep",
	.m_iq = pep_iq,
};
