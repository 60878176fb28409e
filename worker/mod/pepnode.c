/* pepnode.c: PEP nodes and items in the store, access models, node configuration forms and event notifications. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "im.h"
#include "pep.h"

/*
 * The store, for owner O, node N, item id I:
 *
 *   XF_T_PEP   "O NUL N NUL I" -> 8-byte big-endian publish sequence
 *                                 (xf_store_seq), then the payload XML
 *   XF_T_META  "O NUL pep:N"   -> node configuration, "v1 MODEL MAX"
 *
 * Node configurations live in the small-values table so that counting
 * and listing an account's nodes never reads the items.  Only the
 * owner's requests write a node, but two of the owner's resources may
 * sit on two workers: LMDB serialises each write, and the worst a race
 * does is keep one item too many until the next publish trims it.
 */

static const char *const access_names[] = { "open", "presence", "whitelist" };

/* LMDB's compiled-in MDB_MAXKEYSIZE (store.c refuses longer keys). */
#define KEY_MAX		511

/*
 * Scratch key; a worker is single-threaded.  With the pgsql backend a
 * store call may suspend the caller while other stanzas run this code
 * (common/coro.h), so key is only ever built and handed to the store in
 * the same call (the store copies it first), never read after one;
 * values read from the store go to a buffer local to the caller.
 */
static xf_buf_t	 key;
static uint64_t	 msg_seq;

const char *
xf_pep_access_name(int access)
{
	return access_names[access];
}

int
xf_pep_key_fits(const char *owner, const char *node, const char *id)
{
	return strlen(owner) + 1 + strlen(node) + 1 + (id ? strlen(id) : 0)
	    <= KEY_MAX && strlen(owner) + 5 + strlen(node) <= KEY_MAX;
}

/* "owner NUL node NUL id" (id may be "") into key; XF_DECLINED when no
 * such key can exist. */
static int
item_key(const char *owner, const char *node, const char *id)
{
	if (strlen(owner) + strlen(node) + strlen(id) + 2 > KEY_MAX)
		return XF_DECLINED;
	xf_buf_reset(&key);
	if (xf_buf_append(&key, owner, strlen(owner) + 1) != XF_OK ||
	    xf_buf_append(&key, node, strlen(node) + 1) != XF_OK ||
	    xf_buf_puts(&key, id) != XF_OK)
		return XF_ERR;
	return XF_OK;
}

/* "owner NUL pep:node" (node may be "": the prefix of all) into key. */
static int
node_key(const char *owner, const char *node)
{
	if (strlen(owner) + strlen(node) + 5 > KEY_MAX)
		return XF_DECLINED;
	xf_buf_reset(&key);
	if (xf_buf_append(&key, owner, strlen(owner) + 1) != XF_OK ||
	    xf_buf_puts(&key, "pep:") != XF_OK || xf_buf_puts(&key, node)
	    != XF_OK)
		return XF_ERR;
	return XF_OK;
}

static int
cfg_decode(const char *p, size_t len, xf_pep_cfg_t *cfg)
{
	char	 s[64], model[16];
	int	 max;

	if (len >= sizeof(s))
		return XF_ERR;
	memcpy(s, p, len);
	s[len] = '\0';
	if (sscanf(s, "v1 %15s %d", model, &max) != 2 || max < 1 ||
	    max > XF_PEP_MAX_ITEMS)
		return XF_ERR;
	for (size_t i = 0; i < XF_NELEM(access_names); i++)
		if (strcmp(model, access_names[i]) == 0) {
			cfg->pc_access = (int)i;
			cfg->pc_max = max;
			return XF_OK;
		}
	return XF_ERR;
}

/* ---- nodes ------------------------------------------------------------ */

int
xf_pep_node_get(xf_worker_t *w, const char *owner, const char *node,
    xf_pep_cfg_t *cfg)
{
	xf_buf_t	 val = { 0 };
	int		 rc;

	if ((rc = node_key(owner, node)) != XF_OK)
		return rc;
	rc = xf_store_get(w->w_store, XF_T_META, xf_buf_data(&key),
	    xf_buf_size(&key), &val);
	if (rc != XF_OK) {
		xf_buf_free(&val);
		return rc;
	}
	if (cfg_decode(xf_buf_data(&val), xf_buf_size(&val), cfg) != XF_OK) {
		/* Unreadable: the safe reading is owner-only. */
		log_warnx("pep: %s: bad configuration of node %s", owner,
		    node);
		cfg->pc_access = XF_PEP_WHITELIST;
		cfg->pc_max = 1;
	}
	xf_buf_free(&val);
	return XF_OK;
}

int
xf_pep_node_put(xf_worker_t *w, const char *owner, const char *node,
    const xf_pep_cfg_t *cfg, int create)
{
	char	 s[64];
	size_t	 count;
	int	 n;

	if (create) {
		if (node_key(owner, "") != XF_OK ||
		    xf_store_count(w->w_store, XF_T_META, xf_buf_data(&key),
		    xf_buf_size(&key), &count) != XF_OK)
			return XF_ERR;
		if (count >= XF_PEP_MAX_NODES)
			return XF_DECLINED;
	}
	n = snprintf(s, sizeof(s), "v1 %s %d", access_names[cfg->pc_access],
	    cfg->pc_max);
	if (n < 0 || (size_t)n >= sizeof(s) || node_key(owner, node) != XF_OK)
		return XF_ERR;
	return xf_store_put(w->w_store, XF_T_META, xf_buf_data(&key),
	    xf_buf_size(&key), s, (size_t)n);
}

/* Items first: a node without items is a valid node, items without a
 * node would be unreachable garbage. */
int
xf_pep_node_del(xf_worker_t *w, const char *owner, const char *node,
    int purge)
{
	if (item_key(owner, node, "") != XF_OK ||
	    xf_store_del_prefix(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), NULL) == XF_ERR)
		return XF_ERR;
	if (purge)
		return XF_OK;
	if (node_key(owner, node) != XF_OK ||
	    xf_store_del(w->w_store, XF_T_META, xf_buf_data(&key),
	    xf_buf_size(&key)) == XF_ERR)
		return XF_ERR;
	return XF_OK;
}

typedef struct each_s {
	int		(*fn)(void *, const char *, const xf_pep_cfg_t *);
	void		*ud;
	size_t		 plen;
} each_t;

static int
each_node(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	each_t		*e = ud;
	xf_pep_cfg_t	 cfg;
	char		*node;
	int		 r;

	if (klen <= e->plen || cfg_decode(v, vlen, &cfg) != XF_OK)
		return 0;
	if ((node = strndup((const char *)k + e->plen, klen - e->plen)) ==
	    NULL)
		return 1;
	r = e->fn(e->ud, node, &cfg);
	free(node);
	return r;
}

int
xf_pep_node_each(xf_worker_t *w, const char *owner,
    int (*fn)(void *, const char *, const xf_pep_cfg_t *), void *ud)
{
	each_t	 e = { fn, ud, 0 };

	if (node_key(owner, "") != XF_OK)
		return XF_ERR;
	e.plen = xf_buf_size(&key);
	return xf_store_scan(w->w_store, XF_T_META, xf_buf_data(&key),
	    xf_buf_size(&key), each_node, &e);
}

/*
 * What a node gets when nobody said otherwise: XEP-0163 5's 'presence'
 * and one item, except for the nodes that hold private data (XEP-0402
 * bookmarks, XEP-0048 bookmarks in PEP, XEP-0490 displayed markers),
 * which only their owner may read, with room for many items.
 */
void
xf_pep_node_defaults(const char *node, xf_pep_cfg_t *cfg)
{
	static const char *const private_nodes[] = {
		"urn:xmpp:bookmarks:1", "storage:bookmarks",
		"urn:xmpp:mds:displayed:0",
	};

	cfg->pc_access = XF_PEP_PRESENCE;
	cfg->pc_max = 1;
	for (size_t i = 0; i < XF_NELEM(private_nodes); i++)
		if (strcmp(node, private_nodes[i]) == 0) {
			cfg->pc_access = XF_PEP_WHITELIST;
			cfg->pc_max = XF_PEP_MAX_ITEMS;
		}
}

/* ---- items ------------------------------------------------------------ */

/*
 * The item is published once its put commits: a trim that fails after
 * it (the store went away meanwhile) is logged, not reported, and the
 * next publish or configure trims again.
 */
int
xf_pep_item_put(xf_worker_t *w, const char *owner, const char *node,
    const char *id, const xf_el_t *payload, int max, char *idbuf,
    size_t idlen, const char **idp)
{
	xf_buf_t	 val = { 0 };
	uint64_t	 seq;
	uint8_t		 sb[8];
	int		 rc = XF_ERR;

	if (xf_store_seq(w->w_store, &seq) != XF_OK)
		return XF_ERR;
	for (int i = 0; i < 8; i++)
		sb[i] = (uint8_t)(seq >> (56 - 8 * i));
	if (xf_buf_append(&val, sb, sizeof(sb)) != XF_OK ||
	    xf_el_write(payload, NULL, &val) != XF_OK)
		goto fail;
	if (xf_buf_size(&val) - sizeof(sb) > XF_PEP_ITEM_MAX) {
		rc = XF_DECLINED;
		goto fail;
	}
	/* XEP-0060 7.1.2: the service makes up an id the publisher did not
	 * give; the node-wide sequence is unique. */
	if (id == NULL || id[0] == '\0') {
		snprintf(idbuf, idlen, "%016llx", (unsigned long long)seq);
		id = idbuf;
	}
	*idp = id;
	if (item_key(owner, node, id) != XF_OK ||
	    xf_store_put(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), xf_buf_data(&val), xf_buf_size(&val)) != XF_OK)
		goto fail;
	rc = XF_OK;
	if (xf_pep_trim(w, owner, node, max) != XF_OK)
		log_warnx("pep: %s: trimming node %s: %s", owner, node,
		    xf_store_error(w->w_store));
fail:
	xf_buf_free(&val);
	return rc;
}

int
xf_pep_item_del(xf_worker_t *w, const char *owner, const char *node,
    const char *id)
{
	int	 rc;

	if ((rc = item_key(owner, node, id)) != XF_OK)
		return rc;
	return xf_store_del(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key));
}

static int
collect_item(void *ud, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	xf_pep_items_t	*is = ud;
	xf_pep_item_t	*it;
	const uint8_t	*p = v;

	if (klen <= is->pis_plen || vlen < 8)
		return 0;
	if (is->pis_n == is->pis_cap) {
		size_t	 cap = is->pis_cap ? 2 * is->pis_cap : 8;

		if ((it = reallocarray(is->pis_v, cap, sizeof(*it))) == NULL)
			return 1;
		is->pis_v = it;
		is->pis_cap = cap;
	}
	it = &is->pis_v[is->pis_n];
	memset(it, 0, sizeof(*it));
	for (int i = 0; i < 8; i++)
		it->pi_seq = it->pi_seq << 8 | p[i];
	if ((it->pi_id = strndup((const char *)k + is->pis_plen,
	    klen - is->pis_plen)) == NULL)
		return 1;
	if (is->pis_data) {
		it->pi_len = vlen - 8;
		if ((it->pi_data = malloc(it->pi_len)) == NULL) {
			free(it->pi_id);
			return 1;
		}
		memcpy(it->pi_data, p + 8, it->pi_len);
	}
	is->pis_n++;
	return 0;
}

static int
by_seq(const void *a, const void *b)
{
	const xf_pep_item_t	*x = a, *y = b;

	return x->pi_seq < y->pi_seq ? -1 : x->pi_seq > y->pi_seq;
}

void
xf_pep_items_free(xf_pep_items_t *is)
{
	for (size_t i = 0; i < is->pis_n; i++) {
		free(is->pis_v[i].pi_id);
		free(is->pis_v[i].pi_data);
	}
	free(is->pis_v);
	memset(is, 0, sizeof(*is));
}

int
xf_pep_items_load(xf_worker_t *w, const char *owner, const char *node,
    int data, xf_pep_items_t *is)
{
	int	 rc;

	memset(is, 0, sizeof(*is));
	is->pis_data = data;
	if (item_key(owner, node, "") != XF_OK)
		return XF_ERR;
	is->pis_plen = xf_buf_size(&key);
	rc = xf_store_scan(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), collect_item, is);
	if (rc != XF_OK) {
		xf_pep_items_free(is);
		return rc;
	}
	qsort(is->pis_v, is->pis_n, sizeof(*is->pis_v), by_seq);
	return XF_OK;
}

/* XEP-0060 7.1.2: a node keeps its max_items most recent items.  The
 * count is a key walk; the items are read only when some must go. */
int
xf_pep_trim(xf_worker_t *w, const char *owner, const char *node, int max)
{
	xf_pep_items_t	 is;
	size_t		 count;
	int		 rc = XF_OK;

	if (item_key(owner, node, "") != XF_OK ||
	    xf_store_count(w->w_store, XF_T_PEP, xf_buf_data(&key),
	    xf_buf_size(&key), &count) != XF_OK)
		return XF_ERR;
	if (count <= (size_t)max)
		return XF_OK;
	if (xf_pep_items_load(w, owner, node, 0, &is) != XF_OK)
		return XF_ERR;
	for (size_t i = 0; rc == XF_OK && i + (size_t)max < is.pis_n; i++)
		if (xf_pep_item_del(w, owner, node, is.pis_v[i].pi_id) ==
		    XF_ERR)
			rc = XF_ERR;
	xf_pep_items_free(&is);
	return rc;
}

/* ---- who may read ----------------------------------------------------- */

/*
 * XF_ERR when the roster cannot be read: the caller answers with an
 * error rather than refuse a contact for the store's failure.
 */
int
xf_pep_relation(xf_worker_t *w, const char *owner, const char *who)
{
	int	 sub, rc;

	if (strcmp(owner, who) == 0)
		return XF_PEP_OWNER;
	/* XEP-0060 4.5 'presence': who is subscribed to the owner's
	 * presence, i.e. 'from' or 'both' in the owner's roster. */
	if ((rc = xf_roster_sub(w, owner, who, &sub)) == XF_ERR)
		return XF_ERR;
	if (rc == XF_OK && (sub & XF_SUB_FROM))
		return XF_PEP_CONTACT;
	return XF_PEP_OTHER;
}

int
xf_pep_readable(const xf_pep_cfg_t *cfg, int rel)
{
	switch (cfg->pc_access) {
	case XF_PEP_OPEN:
		return 1;
	case XF_PEP_PRESENCE:
		return rel >= XF_PEP_CONTACT;
	default:
		return rel == XF_PEP_OWNER;	/* whitelist: nobody else */
	}
}

/* ---- data forms ------------------------------------------------------- */

static int
is_field(const xf_el_t *f, const char *var)
{
	const char	*v = xf_el_attr(f, "var");

	return f->e_ns != NULL && strcmp(f->e_ns, XF_NS_DATA) == 0 &&
	    strcmp(f->e_name, "field") == 0 && v != NULL &&
	    strcmp(v, var) == 0;
}

/* The first <value/> of field var in form x ("" if it has none), or
 * NULL without such a field; caller frees. */
static char *
form_value(const xf_el_t *x, const char *var)
{
	xf_el_t	*f, *v;

	for (f = xf_el_first(x); f != NULL; f = xf_el_next(f))
		if (is_field(f, var))
			return (v = xf_el_child(f, XF_NS_DATA, "value")) !=
			    NULL ? xf_el_text(v) : strdup("");
	return NULL;
}

/*
 * Options this service does not know are ignored, as Prosody does
 * (pubsub#persist_items, pubsub#send_last_published_item, ...: items
 * always persist here).
 */
int
xf_pep_form_apply(const xf_el_t *x, xf_pep_cfg_t *cfg, int *set)
{
	char	*v, *end;
	long	 n;
	int	 rc = XF_OK;

	*set = 0;
	if ((v = form_value(x, "pubsub#access_model")) != NULL) {
		rc = XF_ERR;
		for (size_t i = 0; i < XF_NELEM(access_names); i++)
			if (strcmp(v, access_names[i]) == 0) {
				cfg->pc_access = (int)i;
				*set |= XF_PEP_SET_ACCESS;
				rc = XF_OK;
			}
		free(v);
	}
	if (rc == XF_OK && (v = form_value(x, "pubsub#max_items")) != NULL) {
		if (strcmp(v, "max") == 0)
			n = XF_PEP_MAX_ITEMS;
		else {
			n = strtol(v, &end, 10);
			if (v[0] == '\0' || *end != '\0' || n < 1)
				rc = XF_ERR;
			else if (n > XF_PEP_MAX_ITEMS)
				n = XF_PEP_MAX_ITEMS;
		}
		if (rc == XF_OK) {
			cfg->pc_max = (int)n;
			*set |= XF_PEP_SET_MAX;
		}
		free(v);
	}
	return rc;
}

static xf_el_t *
add_field(xf_el_t *x, const char *var, const char *type, const char *label,
    const char *value)
{
	xf_el_t	*f = xf_el_add(x, XF_NS_DATA, "field");

	if (f == NULL)
		return NULL;
	xf_el_set_attr(f, "var", var);
	xf_el_set_attr(f, "type", type);
	if (label)
		xf_el_set_attr(f, "label", label);
	if (value)
		xf_el_add_text(xf_el_add(f, XF_NS_DATA, "value"), value,
		    strlen(value));
	return f;
}

/* XEP-0060 8.2: the node's configuration as a form. */
void
xf_pep_form_make(xf_el_t *parent, const xf_pep_cfg_t *cfg)
{
	xf_el_t	*x = xf_el_add(parent, XF_NS_DATA, "x"), *f, *o;
	char	 max[16];

	if (x == NULL)
		return;
	xf_el_set_attr(x, "type", "form");
	add_field(x, "FORM_TYPE", "hidden", NULL,
	    XF_NS_PUBSUB "#node_config");
	f = add_field(x, "pubsub#access_model", "list-single",
	    "Who may retrieve items", access_names[cfg->pc_access]);
	for (size_t i = 0; f != NULL && i < XF_NELEM(access_names); i++)
		if ((o = xf_el_add(f, XF_NS_DATA, "option")) != NULL)
			xf_el_add_text(xf_el_add(o, XF_NS_DATA, "value"),
			    access_names[i], strlen(access_names[i]));
	snprintf(max, sizeof(max), "%d", cfg->pc_max);
	add_field(x, "pubsub#max_items", "text-single",
	    "Max number of items to persist", max);
	add_field(x, "pubsub#persist_items", "boolean", NULL, "1");
}

/* ---- notifications ---------------------------------------------------- */

typedef struct rcpt_s {
	char	       **r_v;
	size_t		 r_n, r_cap;
} rcpt_t;

static int
collect_rcpt(void *ud, const char *contact, int sub)
{
	rcpt_t	*r = ud;
	char   **v;

	if (!(sub & XF_SUB_FROM))
		return 0;
	if (r->r_n == r->r_cap) {
		size_t	 cap = r->r_cap ? 2 * r->r_cap : 16;

		if ((v = reallocarray(r->r_v, cap, sizeof(*v))) == NULL)
			return 1;
		r->r_v = v;
		r->r_cap = cap;
	}
	if ((r->r_v[r->r_n] = strdup(contact)) == NULL)
		return 1;
	r->r_n++;
	return 0;
}

static void
send_event(xf_worker_t *w, const char *owner, const char *to,
    const xf_el_t *ev)
{
	xf_el_t	*m = xf_el_new(XF_NS_CLIENT, "message"), *copy;
	char	 id[48];

	if (m == NULL)
		return;
	snprintf(id, sizeof(id), "pep-%u-%llx", w->w_slot,
	    (unsigned long long)++msg_seq);
	xf_el_set_attr(m, "from", owner);
	xf_el_set_attr(m, "to", to);
	xf_el_set_attr(m, "type", "headline");
	xf_el_set_attr(m, "id", id);
	if ((copy = xf_el_copy(ev)) != NULL) {
		xf_el_append(m, copy);
		xf_route(w, NULL, m);
	}
	xf_el_free(m);
}

/*
 * XEP-0163 4.3: an event goes to the owner's own available resources and
 * to each contact allowed to read the node (subscription 'from' or
 * 'both'), as a headline to the bare JID: every available resource of
 * the contact gets it.  XEP-0115 "+notify" filtering (only resources
 * whose caps ask for the node) is not done yet: clients that did not ask
 * ignore the headline.  Nor is the last item sent when a contact comes
 * online (XEP-0163 4.3.2); clients fetch what they need.  Contacts are
 * collected before any routing, so no store scan is open while stanzas
 * move.
 */
void
xf_pep_notify(xf_worker_t *w, const char *owner, const xf_pep_cfg_t *cfg,
    const xf_el_t *ev)
{
	rcpt_t	 r = { NULL, 0, 0 };

	send_event(w, owner, owner, ev);
	/* The item is stored: contacts not told now fetch it later. */
	if (cfg->pc_access != XF_PEP_WHITELIST &&
	    xf_roster_each(w, owner, collect_rcpt, &r) == XF_ERR)
		log_warnx("pep: %s: no events to contacts: %s", owner,
		    xf_store_error(w->w_store));
	for (size_t i = 0; i < r.r_n; i++) {
		if (strcmp(r.r_v[i], owner) != 0)
			send_event(w, owner, r.r_v[i], ev);
		free(r.r_v[i]);
	}
	free(r.r_v);
}
