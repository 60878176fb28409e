/* pep.c: XEP-0163 personal eventing: the XEP-0060 requests clients send to their own account's nodes, and node discovery. */
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"
#include "pep.h"

#define NS_DISCO_INFO		"http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS		"http://jabber.org/protocol/disco#items"

static int
is_el(const xf_el_t *el, const char *ns, const char *name)
{
	return el->e_ns != NULL && strcmp(el->e_ns, ns) == 0 &&
	    strcmp(el->e_name, name) == 0;
}

/* ---- replies --------------------------------------------------------- */

/*
 * A stanza error with XEP-0060's pubsub-specific condition app (or
 * NULL); feature names the unsupported feature for <unsupported/>.
 */
static void
iq_error(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq, const char *type,
    const char *cond, const char *app, const char *feature)
{
	xf_el_t	*r = xf_iq_error(iq, type, cond), *e, *a;

	if (r != NULL && app != NULL &&
	    (e = xf_el_child(r, XF_NS_CLIENT, "error")) != NULL &&
	    (a = xf_el_add(e, XF_NS_PUBSUB_ERRORS, app)) != NULL &&
	    feature != NULL)
		xf_el_set_attr(a, "feature", feature);
	xf_iq_reply(w, c, r);
}

static void
broken(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq, const char *owner)
{
	log_warnx("pep: %s: %s", owner, xf_store_error(w->w_store));
	iq_error(w, c, iq, "wait", "internal-server-error", NULL, NULL);
}

/* ---- helpers ----------------------------------------------------------- */

/* XEP-0060 6.5.9: why a reader was refused. */
static void
refuse_read(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq,
    const xf_pep_cfg_t *cfg)
{
	if (cfg->pc_access == XF_PEP_PRESENCE)
		iq_error(w, c, iq, "auth", "not-authorized",
		    "presence-subscription-required", NULL);
	else
		iq_error(w, c, iq, "cancel", "not-allowed",
		    "closed-node", NULL);
}

/* <event><items node=N/></event>, returning the <items/>. */
static xf_el_t *
event_items(const char *node, xf_el_t **items)
{
	xf_el_t	*ev = xf_el_new(XF_NS_PUBSUB_EVENT, "event");

	if (ev == NULL || (*items = xf_el_add(ev, XF_NS_PUBSUB_EVENT, "items"))
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
    const xf_pep_cfg_t *cfg, const char *what)
{
	xf_el_t	*ev = xf_el_new(XF_NS_PUBSUB_EVENT, "event"), *e;

	if (ev == NULL)
		return;
	if ((e = xf_el_add(ev, XF_NS_PUBSUB_EVENT, what)) != NULL) {
		xf_el_set_attr(e, "node", node);
		xf_pep_notify(w, owner, cfg, ev);
	}
	xf_el_free(ev);
}

/* ---- the requests ----------------------------------------------------- */

/* The node a request names, which must exist: XF_OK with *cfg, or an
 * error sent (XEP-0060 6.5.9.3 nodeid-required, 6.5.9.11 item-not-found). */
static int
node_existing(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq,
    const char *owner, const char *node, xf_pep_cfg_t *cfg)
{
	int	 rc;

	if (node == NULL || node[0] == '\0') {
		iq_error(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return XF_ERR;
	}
	if ((rc = xf_pep_node_get(w, owner, node, cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return XF_ERR;
	}
	if (rc == XF_DECLINED) {
		iq_error(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return XF_ERR;
	}
	return XF_OK;
}

/* Creates node with cfg, within the account's node quota; an error is
 * sent when it cannot. */
static int
node_create(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq,
    const char *owner, const char *node, const xf_pep_cfg_t *cfg)
{
	int	 rc;

	if ((rc = xf_pep_node_put(w, owner, node, cfg, 1)) == XF_DECLINED)
		iq_error(w, c, iq, "wait", "resource-constraint", NULL, NULL);
	else if (rc != XF_OK)
		broken(w, c, iq, owner);
	return rc;
}

/* The one item of a publish and its one payload, or an error sent. */
static int
publish_item(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq,
    const xf_el_t *pub, xf_el_t **item, xf_el_t **payload)
{
	xf_el_t	*e;

	*item = NULL;
	for (e = xf_el_first(pub); e != NULL; e = xf_el_next(e))
		if (is_el(e, XF_NS_PUBSUB, "item")) {
			if (*item != NULL)
				goto invalid;
			*item = e;
		}
	if (*item == NULL) {
		/* XEP-0060 7.1.3.6: persistent nodes need an item. */
		iq_error(w, c, iq, "modify", "bad-request", "item-required",
		    NULL);
		return XF_ERR;
	}
	if ((*payload = xf_el_first(*item)) == NULL) {
		iq_error(w, c, iq, "modify", "bad-request", "payload-required",
		    NULL);
		return XF_ERR;
	}
	if (xf_el_next(*payload) != NULL)
		goto invalid;
	return XF_OK;
invalid:
	/* 7.1.3.5: one item, one payload. */
	iq_error(w, c, iq, "modify", "bad-request", "invalid-payload", NULL);
	return XF_ERR;
}

/* XEP-0060 7.1, XEP-0163 3: publish, creating the node if needed. */
static void
publish(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *ps,
    xf_el_t *pub, const char *owner)
{
	const char	*node = xf_el_attr(pub, "node"), *id;
	xf_el_t		*item, *payload, *po, *x = NULL, *r, *e;
	xf_el_t		*ev, *evitems;
	xf_pep_cfg_t	 cfg, want;
	char		 gen[24];
	int		 rc, set = 0;

	if (node == NULL || node[0] == '\0') {
		iq_error(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if (publish_item(w, c, iq, pub, &item, &payload) != XF_OK)
		return;
	if (!xf_pep_key_fits(owner, node, xf_el_attr(item, "id"))) {
		iq_error(w, c, iq, "modify", "not-acceptable", NULL, NULL);
		return;
	}
	if ((po = xf_el_child(ps, XF_NS_PUBSUB, "publish-options")) != NULL)
		x = xf_el_child(po, XF_NS_DATA, "x");
	if ((rc = xf_pep_node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED)
		xf_pep_node_defaults(node, &cfg);
	want = cfg;
	/* XEP-0060 7.1.5: publish-options are preconditions on an existing
	 * node and the configuration of one auto-created. */
	if (x != NULL && (xf_pep_form_apply(x, &want, &set) != XF_OK ||
	    (rc == XF_OK && (((set & XF_PEP_SET_ACCESS) && want.pc_access !=
	    cfg.pc_access) || ((set & XF_PEP_SET_MAX) && want.pc_max !=
	    cfg.pc_max))))) {
		iq_error(w, c, iq, "cancel", "conflict", "precondition-not-met",
		    NULL);
		return;
	}
	if (rc == XF_DECLINED) {
		cfg = want;
		if (node_create(w, c, iq, owner, node, &cfg) != XF_OK)
			return;
	}

	rc = xf_pep_item_put(w, owner, node, xf_el_attr(item, "id"), payload,
	    cfg.pc_max, gen, sizeof(gen), &id);
	if (rc == XF_DECLINED) {
		iq_error(w, c, iq, "modify", "not-acceptable",
		    "payload-too-big", NULL);
		return;
	}
	if (rc != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}

	if ((r = xf_iq_result(iq)) != NULL &&
	    (e = xf_el_add(r, XF_NS_PUBSUB, "pubsub")) != NULL &&
	    (e = xf_el_add(e, XF_NS_PUBSUB, "publish")) != NULL) {
		xf_el_set_attr(e, "node", node);
		if ((e = xf_el_add(e, XF_NS_PUBSUB, "item")) != NULL)
			xf_el_set_attr(e, "id", id);
	}
	xf_iq_reply(w, c, r);

	if ((ev = event_items(node, &evitems)) == NULL)
		return;
	if ((e = xf_el_add(evitems, XF_NS_PUBSUB_EVENT, "item")) != NULL) {
		xf_el_t	*copy = xf_el_copy(payload);

		xf_el_set_attr(e, "id", id);
		if (copy != NULL) {
			xf_el_append(e, copy);
			xf_pep_notify(w, owner, &cfg, ev);
		}
	}
	xf_el_free(ev);
}

/* XEP-0060 7.2: retract one item. */
static void
retract(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *rt,
    const char *owner)
{
	const char	*node = xf_el_attr(rt, "node"), *id;
	xf_el_t		*item = xf_el_child(rt, XF_NS_PUBSUB, "item");
	xf_el_t		*ev, *evitems, *e;
	xf_pep_cfg_t	 cfg;
	int		 rc;

	if (node == NULL || node[0] == '\0') {
		iq_error(w, c, iq, "modify", "bad-request", "nodeid-required",
		    NULL);
		return;
	}
	if (item == NULL || (id = xf_el_attr(item, "id")) == NULL ||
	    id[0] == '\0') {
		iq_error(w, c, iq, "modify", "bad-request",
		    "item-required", NULL);
		return;
	}
	if ((rc = xf_pep_node_get(w, owner, node, &cfg)) == XF_OK)
		rc = xf_pep_item_del(w, owner, node, id);
	if (rc == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_DECLINED) {
		iq_error(w, c, iq, "cancel", "item-not-found", NULL, NULL);
		return;
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
	/* 7.2.2.1 asks for the notification when notify='true'; Prosody
	 * and clients (XEP-0402 removals) expect it always. */
	if ((ev = event_items(node, &evitems)) == NULL)
		return;
	if ((e = xf_el_add(evitems, XF_NS_PUBSUB_EVENT, "retract")) != NULL) {
		xf_el_set_attr(e, "id", id);
		xf_pep_notify(w, owner, &cfg, ev);
	}
	xf_el_free(ev);
}

/* The payload of one stored item as an <item/> in ns under parent. */
static void
add_item(xf_el_t *parent, const char *ns, const xf_pep_item_t *it)
{
	xf_el_t	*e = xf_el_add(parent, ns, "item"), *p;

	if (e == NULL)
		return;
	xf_el_set_attr(e, "id", it->pi_id);
	if ((p = xf_xml_parse(it->pi_data, it->pi_len, ns)) != NULL)
		xf_el_append(e, p);
}

/* XEP-0060 6.5: items, all, the max_items most recent, or by id. */
static void
items(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner, const char *sender)
{
	const char	*node = xf_el_attr(req, "node");
	const char	*mx = xf_el_attr(req, "max_items");
	xf_el_t		*r, *out, *e;
	xf_pep_items_t	 is;
	xf_pep_cfg_t	 cfg;
	size_t		 from = 0;
	long		 max = 0;
	int		 byid = 0, rel;
	char		*end;

	if (node_existing(w, c, iq, owner, node, &cfg) != XF_OK)
		return;
	if ((rel = xf_pep_relation(w, owner, sender)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (!xf_pep_readable(&cfg, rel)) {
		refuse_read(w, c, iq, &cfg);
		return;
	}
	if (mx != NULL) {
		max = strtol(mx, &end, 10);
		if (mx[0] == '\0' || *end != '\0' || max < 1) {
			iq_error(w, c, iq, "modify", "bad-request", NULL, NULL);
			return;
		}
	}
	if (xf_pep_items_load(w, owner, node, 1, &is) != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}
	if (max > 0 && (size_t)max < is.pis_n)
		from = is.pis_n - (size_t)max;
	for (e = xf_el_first(req); e != NULL; e = xf_el_next(e))
		if (is_el(e, XF_NS_PUBSUB, "item") && xf_el_attr(e, "id"))
			byid = 1;
	if ((r = xf_iq_result(iq)) == NULL ||
	    (out = xf_el_add(r, XF_NS_PUBSUB, "pubsub")) == NULL ||
	    (out = xf_el_add(out, XF_NS_PUBSUB, "items")) == NULL) {
		xf_el_free(r);
		xf_pep_items_free(&is);
		return;
	}
	xf_el_set_attr(out, "node", node);
	for (size_t i = byid ? 0 : from; i < is.pis_n; i++) {
		if (byid) {
			/* 6.5.8: only the items asked for, those that exist. */
			for (e = xf_el_first(req); e != NULL; e = xf_el_next(e))
				if (is_el(e, XF_NS_PUBSUB, "item") &&
				    xf_streq(xf_el_attr(e, "id"), is.pis_v[i].pi_id))
					break;
			if (e == NULL)
				continue;
		}
		add_item(out, XF_NS_PUBSUB, &is.pis_v[i]);
	}
	xf_pep_items_free(&is);
	xf_iq_reply(w, c, r);
}

/* XEP-0060 8.1: create a node, optionally configured. */
static void
create(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *ps, xf_el_t *cr,
    const char *owner)
{
	const char	*node = xf_el_attr(cr, "node");
	xf_el_t		*conf, *x;
	xf_pep_cfg_t	 cfg;
	int		 rc, set;

	if (node == NULL || node[0] == '\0') {
		/* 8.1.3: instant nodes are not offered. */
		iq_error(w, c, iq, "modify", "not-acceptable",
		    "nodeid-required", NULL);
		return;
	}
	if (!xf_pep_key_fits(owner, node, NULL)) {
		iq_error(w, c, iq, "modify", "not-acceptable", NULL, NULL);
		return;
	}
	if ((rc = xf_pep_node_get(w, owner, node, &cfg)) == XF_ERR) {
		broken(w, c, iq, owner);
		return;
	}
	if (rc == XF_OK) {
		iq_error(w, c, iq, "cancel", "conflict", NULL, NULL);
		return;
	}
	xf_pep_node_defaults(node, &cfg);
	if ((conf = xf_el_child(ps, XF_NS_PUBSUB, "configure")) != NULL &&
	    (x = xf_el_child(conf, XF_NS_DATA, "x")) != NULL &&
	    xf_pep_form_apply(x, &cfg, &set) != XF_OK) {
		iq_error(w, c, iq, "modify", "not-acceptable", NULL, NULL);
		return;
	}
	if (node_create(w, c, iq, owner, node, &cfg) == XF_OK)
		xf_iq_reply(w, c, xf_iq_result(iq));
}

/* XEP-0060 8.2: read or change a node's configuration. */
static void
configure(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner)
{
	const char	*node = xf_el_attr(req, "node");
	xf_el_t		*x, *r, *e;
	xf_pep_cfg_t	 cfg;
	int		 set;

	if (node_existing(w, c, iq, owner, node, &cfg) != XF_OK)
		return;
	if (xf_streq(xf_el_attr(iq, "type"), "get")) {
		if ((r = xf_iq_result(iq)) != NULL &&
		    (e = xf_el_add(r, XF_NS_PUBSUB_OWNER, "pubsub")) != NULL &&
		    (e = xf_el_add(e, XF_NS_PUBSUB_OWNER, "configure")) !=
		    NULL) {
			xf_el_set_attr(e, "node", node);
			xf_pep_form_make(e, &cfg);
		}
		xf_iq_reply(w, c, r);
		return;
	}
	if ((x = xf_el_child(req, XF_NS_DATA, "x")) == NULL) {
		iq_error(w, c, iq, "modify", "bad-request", NULL, NULL);
		return;
	}
	/* 8.2.5: type='cancel' changes nothing. */
	if (!xf_streq(xf_el_attr(x, "type"), "cancel")) {
		if (xf_pep_form_apply(x, &cfg, &set) != XF_OK) {
			iq_error(w, c, iq, "modify", "not-acceptable",
			    NULL, NULL);
			return;
		}
		if (xf_pep_node_put(w, owner, node, &cfg, 0) != XF_OK ||
		    xf_pep_trim(w, owner, node, cfg.pc_max) != XF_OK) {
			broken(w, c, iq, owner);
			return;
		}
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
}

/* XEP-0060 8.4 delete and 8.5 purge. */
static void
delete_or_purge(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *req,
    const char *owner, int purge)
{
	const char	*node = xf_el_attr(req, "node");
	xf_pep_cfg_t	 cfg;

	if (node_existing(w, c, iq, owner, node, &cfg) != XF_OK)
		return;
	if (xf_pep_node_del(w, owner, node, purge) != XF_OK) {
		broken(w, c, iq, owner);
		return;
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
	notify_node(w, owner, node, &cfg, purge ? "purge" : "delete");
}

/* ---- service discovery of the account's nodes (XEP-0060 5) ------------ */

typedef struct list_s {
	xf_el_t		*l_query;
	const char	*l_owner;
	int		 l_rel;
} list_t;

static int
list_node(void *ud, const char *node, const xf_pep_cfg_t *cfg)
{
	list_t	*l = ud;
	xf_el_t	*it;

	if (xf_pep_readable(cfg, l->l_rel) &&
	    (it = xf_el_add(l->l_query, NS_DISCO_ITEMS, "item")) != NULL) {
		xf_el_set_attr(it, "jid", l->l_owner);
		xf_el_set_attr(it, "node", node);
	}
	return 0;
}

static int
disco(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner, const char *sender)
{
	const char	*node = xf_el_attr(q, "node");
	int		 info = is_el(q, NS_DISCO_INFO, "query"), rc, rel;
	xf_el_t		*r, *rq, *e;
	xf_pep_items_t	 is;
	list_t		 l;
	xf_pep_cfg_t	 cfg;

	/* The account's own disco#info (no node) is iq.c's. */
	if (info && node == NULL)
		return XF_DECLINED;
	if ((rel = xf_pep_relation(w, owner, sender)) == XF_ERR) {
		broken(w, c, iq, owner);
		return XF_OK;
	}
	if (node != NULL) {
		if ((rc = xf_pep_node_get(w, owner, node, &cfg)) == XF_ERR) {
			broken(w, c, iq, owner);
			return XF_OK;
		}
		if (rc == XF_DECLINED || !xf_pep_readable(&cfg, rel)) {
			iq_error(w, c, iq, "cancel", "item-not-found",
			    NULL, NULL);
			return XF_OK;
		}
	}
	if ((r = xf_iq_result(iq)) == NULL || (rq = xf_el_add(r,
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
			xf_el_set_attr(e, "var", XF_NS_PUBSUB);
	} else if (node == NULL) {
		/* 5.2: the nodes this asker may read. */
		l.l_query = rq;
		l.l_owner = owner;
		l.l_rel = rel;
		if (xf_pep_node_each(w, owner, list_node, &l) == XF_ERR) {
			xf_el_free(r);
			broken(w, c, iq, owner);
			return XF_OK;
		}
	} else {
		/* 5.5: the node's items, by id. */
		if (xf_pep_items_load(w, owner, node, 0, &is) != XF_OK) {
			xf_el_free(r);
			broken(w, c, iq, owner);
			return XF_OK;
		}
		for (size_t i = 0; i < is.pis_n; i++)
			if ((e = xf_el_add(rq, NS_DISCO_ITEMS, "item")) !=
			    NULL) {
				xf_el_set_attr(e, "jid", owner);
				xf_el_set_attr(e, "name", is.pis_v[i].pi_id);
			}
		xf_pep_items_free(&is);
	}
	xf_iq_reply(w, c, r);
	return XF_OK;
}

/* ---- dispatch --------------------------------------------------------- */

/*
 * XEP-0060 requests this PEP service does not offer: explicit
 * subscriptions (PEP subscribes contacts by presence, XEP-0163 4),
 * affiliations, subscription options, default configurations.
 */
static void
unsupported(xf_worker_t *w, xf_stream_t *c, const xf_el_t *iq,
    const xf_el_t *ps)
{
	static const char *const features[][2] = {
		{ "subscribe", "subscribe" },
		{ "unsubscribe", "subscribe" },
		{ "subscriptions", "retrieve-subscriptions" },
		{ "affiliations", "retrieve-affiliations" },
		{ "options", "subscription-options" },
		{ "default", "retrieve-default" },
	};
	const xf_el_t	*e = xf_el_first(ps);
	const char	*feature = NULL;

	for (size_t i = 0; e != NULL && i < XF_NELEM(features); i++)
		if (strcmp(e->e_name, features[i][0]) == 0)
			feature = features[i][1];
	iq_error(w, c, iq, "cancel", "feature-not-implemented", "unsupported",
	    feature);
}

static int
pep_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	char	 sender[XF_JID_MAX + 1];
	int	 get = xf_streq(xf_el_attr(iq, "type"), "get"), own;
	xf_el_t	*e;

	if (target != XF_IQ_ACCOUNT || p->e_ns == NULL)
		return XF_DECLINED;
	if (!is_el(p, XF_NS_PUBSUB, "pubsub") &&
	    !is_el(p, XF_NS_PUBSUB_OWNER, "pubsub") &&
	    !(get && (is_el(p, NS_DISCO_INFO, "query") ||
	    is_el(p, NS_DISCO_ITEMS, "query"))))
		return XF_DECLINED;
	if (xf_jid_bare_of(xf_el_attr(iq, "from"), sender, sizeof(sender)) !=
	    XF_OK) {
		iq_error(w, c, iq, "modify", "bad-request", NULL, NULL);
		return XF_OK;
	}
	if (strcmp(p->e_name, "query") == 0)
		return disco(w, c, iq, p, owner, sender);
	own = strcmp(sender, owner) == 0;

	if (strcmp(p->e_ns, XF_NS_PUBSUB_OWNER) == 0) {
		if (!own) {
			iq_error(w, c, iq, "auth", "forbidden", NULL, NULL);
			return XF_OK;
		}
		if ((e = xf_el_first(p)) != NULL && is_el(e, XF_NS_PUBSUB_OWNER,
		    "configure"))
			configure(w, c, iq, e, owner);
		else if (e != NULL && !get && is_el(e, XF_NS_PUBSUB_OWNER,
		    "delete"))
			delete_or_purge(w, c, iq, e, owner, 0);
		else if (e != NULL && !get && is_el(e, XF_NS_PUBSUB_OWNER,
		    "purge"))
			delete_or_purge(w, c, iq, e, owner, 1);
		else
			unsupported(w, c, iq, p);
		return XF_OK;
	}

	if (get) {
		if ((e = xf_el_child(p, XF_NS_PUBSUB, "items")) != NULL)
			items(w, c, iq, e, owner, sender);
		else
			unsupported(w, c, iq, p);
		return XF_OK;
	}
	if ((e = xf_el_child(p, XF_NS_PUBSUB, "publish")) == NULL &&
	    (e = xf_el_child(p, XF_NS_PUBSUB, "retract")) == NULL &&
	    (e = xf_el_child(p, XF_NS_PUBSUB, "create")) == NULL) {
		unsupported(w, c, iq, p);
		return XF_OK;
	}
	if (!own)
		/* XEP-0163: only the owner writes to an account's nodes. */
		iq_error(w, c, iq, "auth", "forbidden", NULL, NULL);
	else if (strcmp(e->e_name, "publish") == 0)
		publish(w, c, iq, p, e, owner);
	else if (strcmp(e->e_name, "retract") == 0)
		retract(w, c, iq, e, owner);
	else
		create(w, c, iq, p, e, owner);
	return XF_OK;
}

xf_mod_t xf_mod_pep = {
	.m_name = "pep",
	.m_kind = &xf_kind_c2s,
	.m_iq = pep_iq,
};
