/* roster.c: rosters (RFC 6121 2) in the durable store: items, versions, pushes, the roster IQs; subscriptions are in roster_sub.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "im.h"
#include "mod.h"
#include "roster.h"

#define NS_ROSTERVER	"urn:xmpp:features:rosterver"
#define MAX_ITEMS	2000	/* a roster larger than this is refused */


int
xf_roster_key(char *k, size_t klen, const char *owner, const char *contact)
{
	int	 n = snprintf(k, klen, "%s%c%s", owner, '\0', contact);

	return (n < 0 || (size_t)n >= klen) ? -1 : n;
}

static int
item_load(xf_worker_t *w, const char *owner, const char *contact, item_t *it)
{
	char		 k[2 * XF_JID_MAX + 2];
	xf_buf_t	 v = { 0 };
	int		 n, r;

	it->i_state = 0;
	it->i_el = NULL;
	if ((n = xf_roster_key(k, sizeof(k), owner, contact)) < 0)
		return XF_ERR;
	r = xf_store_get(w->w_store, XF_T_ROSTER, k, (size_t)n, &v);
	if (r == XF_OK) {
		if (xf_buf_size(&v) < 2 || (it->i_el = xf_xml_parse(
		    xf_buf_data(&v) + 1, xf_buf_size(&v) - 1, NS_ROSTER))
		    == NULL)
			r = XF_ERR;
		else
			it->i_state = (unsigned char)xf_buf_data(&v)[0];
	}
	xf_buf_free(&v);
	return r;
}

static const char *
sub_name(int state)
{
	switch (state & XF_SUB_BOTH) {
	case XF_SUB_TO:
		return "to";
	case XF_SUB_FROM:
		return "from";
	case XF_SUB_BOTH:
		return "both";
	}
	return "none";
}

/* The item as clients see it: subscription and ask from the state. */
void
xf_roster_item_attrs(item_t *it)
{
	xf_el_set_attr(it->i_el, "subscription", sub_name(it->i_state));
	xf_el_set_attr(it->i_el, "ask",
	    (it->i_state & XF_SUB_PENDING_OUT) ? "subscribe" : NULL);
	xf_el_set_attr(it->i_el, "approved", NULL);
}

static int
ver_apply(void *ud, const void *old, size_t oldlen, xf_buf_t *out)
{
	char		 num[24];
	unsigned long long n = 0;

	if (old != NULL && oldlen < sizeof(num)) {
		memcpy(num, old, oldlen);
		num[oldlen] = '\0';
		n = strtoull(num, NULL, 10);
	}
	snprintf(ud, 32, "%llu", n + 1);
	return xf_buf_puts(out, ud);
}

/* A new roster version; one transaction, so versions never repeat. */
int
xf_roster_bump_ver(xf_worker_t *w, const char *owner, char *ver, size_t verlen)
{
	char	 k[XF_JID_MAX + 16];
	int	 kl;

	if (verlen < 32 || (kl = xf_roster_key(k, sizeof(k), owner, "ver")) < 0)
		return XF_ERR;
	return xf_store_update(w->w_store, XF_T_META, k, (size_t)kl,
	    ver_apply, ver);
}

/* The roster's version ("0" before the first change), or XF_ERR. */
static int
get_ver(xf_worker_t *w, const char *owner, char *ver, size_t verlen)
{
	char		 k[XF_JID_MAX + 16];
	xf_buf_t	 v = { 0 };
	int		 kl, r = XF_DECLINED;

	if ((kl = xf_roster_key(k, sizeof(k), owner, "ver")) >= 0)
		r = xf_store_get(w->w_store, XF_T_META, k, (size_t)kl, &v);
	if (r == XF_OK)
		snprintf(ver, verlen, "%s", xf_buf_cstr(&v));
	else
		snprintf(ver, verlen, "0");
	xf_buf_free(&v);
	return r == XF_ERR ? XF_ERR : XF_OK;
}

typedef struct push_s {
	xf_worker_t	*w;
	const xf_el_t	*iq;
} push_t;

static int
push_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	push_t	*p = ud;

	/* RFC 6121 2.1.6: pushes go to resources that asked for the roster. */
	if (!(rec->sr_flags & XF_SESS_INTERESTED))
		return 0;
	xf_el_set_attr((xf_el_t *)p->iq, "to", full);
	xf_route_deliver(p->w, NULL, full, rec, p->iq);
	return 0;
}

/* Sends the item (or its removal) to every interested resource. */
void
xf_roster_push(xf_worker_t *w, const char *owner, const xf_el_t *item,
    const char *ver)
{
	static unsigned	 seq;
	xf_el_t		*iq, *q;
	char		 id[32];
	push_t		 p;

	if ((iq = xf_el_new(XF_NS_CLIENT, "iq")) == NULL)
		return;
	snprintf(id, sizeof(id), "push%u-%u", w->w_slot, ++seq);
	xf_el_set_attr(iq, "type", "set");
	xf_el_set_attr(iq, "id", id);
	xf_el_set_attr(iq, "from", owner);
	if ((q = xf_el_add(iq, NS_ROSTER, "query")) != NULL) {
		xf_el_set_attr(q, "ver", ver);
		xf_el_append(q, xf_el_copy(item));
	}
	p.w = w;
	p.iq = iq;
	xf_sess_resources(w->w_sess, owner, push_each, &p);
	xf_el_free(iq);
}

/*
 * Stores the item and pushes it when the user can see the change.  The
 * version moves in a second write: should that fail, nothing is pushed
 * and XF_ERR tells the client, whose retry stores the same item again
 * and moves the version then.
 */
static int
item_save(xf_worker_t *w, const char *owner, const char *contact,
    item_t *it, int visible_change)
{
	char		 k[2 * XF_JID_MAX + 2], ver[32];
	xf_buf_t	 v = { 0 };
	int		 n, r;

	if ((n = xf_roster_key(k, sizeof(k), owner, contact)) < 0)
		return XF_ERR;
	xf_roster_item_attrs(it);
	xf_buf_append(&v, &(char){ (char)it->i_state }, 1);
	if (xf_el_write(it->i_el, NS_ROSTER, &v) != XF_OK ||
	    xf_buf_size(&v) > MAX_ITEM_BYTES) {
		xf_buf_free(&v);
		return XF_ERR;
	}
	r = xf_store_put(w->w_store, XF_T_ROSTER, k, (size_t)n,
	    xf_buf_data(&v), xf_buf_size(&v));
	xf_buf_free(&v);
	if (r != XF_OK) {
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
		return r;
	}
	if (visible_change && !(it->i_state & HIDDEN)) {
		if (xf_roster_bump_ver(w, owner, ver, sizeof(ver)) != XF_OK) {
			log_warnx("roster of %s: version: %s", owner,
			    xf_store_error(w->w_store));
			return XF_ERR;
		}
		xf_roster_push(w, owner, it->i_el, ver);
	}
	return XF_OK;
}

int
xf_roster_item_new(item_t *it, const char *contact)
{
	it->i_state = 0;
	if ((it->i_el = xf_el_new(NS_ROSTER, "item")) == NULL)
		return XF_ERR;
	xf_el_set_attr(it->i_el, "jid", contact);
	return XF_OK;
}

/* XF_ERR if the item could not be deleted.  Once it is, a version that
 * cannot move is only logged: the removal stands either way. */
static int
item_remove(xf_worker_t *w, const char *owner, const char *contact,
    item_t *it)
{
	char	 k[2 * XF_JID_MAX + 2], ver[32];
	int	 n, hidden = it->i_state & HIDDEN;

	if ((n = xf_roster_key(k, sizeof(k), owner, contact)) < 0)
		return XF_ERR;
	if (xf_store_del(w->w_store, XF_T_ROSTER, k, (size_t)n) == XF_ERR) {
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
		return XF_ERR;
	}
	if (hidden)
		return XF_OK;
	if (xf_roster_bump_ver(w, owner, ver, sizeof(ver)) != XF_OK)
		log_warnx("roster of %s: version: %s", owner,
		    xf_store_error(w->w_store));
	else {
		xf_el_t	*rm = xf_el_new(NS_ROSTER, "item");

		if (rm != NULL) {
			xf_el_set_attr(rm, "jid", contact);
			xf_el_set_attr(rm, "subscription", "remove");
			xf_roster_push(w, owner, rm, ver);
			xf_el_free(rm);
		}
	}
	return XF_OK;
}

int
xf_roster_sub(xf_worker_t *w, const char *owner, const char *contact,
    int *sub)
{
	item_t	 it;
	int	 r;

	if ((r = item_load(w, owner, contact, &it)) == XF_OK) {
		*sub = it.i_state & ~HIDDEN;
		xf_el_free(it.i_el);
	}
	return r;
}

typedef struct each_s {
	int		(*fn)(void *, const char *, int);
	void		*ud;
	const char	*owner;
	size_t		 olen;
} each_t;

static int
each_item(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	each_t	*e = ud;
	char	 contact[XF_JID_MAX + 1];
	size_t	 cl;

	if (klen <= e->olen + 1 || vlen < 1)
		return 0;
	cl = klen - e->olen - 1;
	if (cl > XF_JID_MAX)
		return 0;
	memcpy(contact, (const char *)k + e->olen + 1, cl);
	contact[cl] = '\0';
	return e->fn(e->ud, contact, *(const unsigned char *)v & ~HIDDEN);
}

int
xf_roster_each(xf_worker_t *w, const char *owner,
    int (*fn)(void *, const char *, int), void *ud)
{
	each_t	 e = { fn, ud, owner, strlen(owner) };

	/* The key prefix "owner NUL" is owner with its terminator. */
	if (e.olen > XF_JID_MAX)
		return XF_ERR;
	return xf_store_scan(w->w_store, XF_T_ROSTER, owner, e.olen + 1,
	    each_item, &e);
}

/* ---- roster IQs (RFC 6121 2.1 - 2.5) --------------------------------- */

typedef struct get_s {
	xf_el_t	*query;
	size_t	 olen;
} get_t;

static int
get_item(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	get_t	*g = ud;
	xf_el_t	*el;

	if (vlen < 2 || (*(const unsigned char *)v & HIDDEN))
		return 0;
	if ((el = xf_xml_parse((const char *)v + 1, vlen - 1, NS_ROSTER))
	    != NULL)
		xf_el_append(g->query, el);
	return 0;
}

static void
roster_get(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner)
{
	const char	*cver = xf_el_attr(q, "ver");
	char		 ver[32];
	xf_el_t		*r;
	get_t		 g;

	if (get_ver(w, owner, ver, sizeof(ver)) != XF_OK) {
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	/* c is this stanza's own connection: allocated still after the
	 * read, though its stream may have ended meanwhile (unbound). */
	if (c != NULL && c->s_full[0] != '\0' && xf_sess_flags(w->w_sess,
	    c->s_full, w->w_slot, c->s_id, XF_SESS_INTERESTED, 0) == XF_ERR)
		log_warnx("session table: %s", xf_sess_error(w->w_sess));
	/* XEP-0237: nothing changed, pushes will follow. */
	if (cver != NULL && strcmp(cver, ver) == 0) {
		xf_iq_reply(w, c, xf_iq_result(iq));
		return;
	}
	if ((g.query = xf_el_new(NS_ROSTER, "query")) == NULL)
		return;
	xf_el_set_attr(g.query, "ver", ver);
	g.olen = strlen(owner);
	if (xf_store_scan(w->w_store, XF_T_ROSTER, owner, g.olen + 1,
	    get_item, &g) != XF_OK) {
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
		xf_el_free(g.query);
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	if ((r = xf_iq_result(iq)) == NULL) {
		xf_el_free(g.query);
		return;
	}
	xf_el_append(r, g.query);
	xf_iq_reply(w, c, r);
}

static void
roster_set(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner)
{
	xf_el_t		*in = xf_el_first(q), *g, *el;
	const char	*jid, *name, *sub;
	xf_jid_t	 j;
	char		 contact[XF_JID_MAX + 1];
	item_t		 it;
	size_t		 n;
	int		 r;

	/* RFC 6121 2.3.3: exactly one item, with a bare JID. */
	if (in == NULL || xf_el_next(in) != NULL ||
	    strcmp(in->e_name, "item") != 0 ||
	    (jid = xf_el_attr(in, "jid")) == NULL ||
	    xf_jid_parse(jid, strlen(jid), &j) != XF_OK || j.j_resource) {
		xf_route_error(w, c, iq, "modify", "bad-request");
		return;
	}
	xf_jid_bare(&j, contact, sizeof(contact));
	sub = xf_el_attr(in, "subscription");
	r = item_load(w, owner, contact, &it);
	if (r == XF_ERR) {
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	if (sub != NULL && strcmp(sub, "remove") == 0) {
		if (r == XF_DECLINED || (it.i_state & HIDDEN)) {
			xf_el_free(it.i_el);
			xf_route_error(w, c, iq, "cancel", "item-not-found");
			return;
		}
		/*
		 * RFC 6121 2.5.2: both directions end.  The item goes first:
		 * if the store fails, nothing was said to the contact and
		 * the user's retry starts over; the contact's side does not
		 * depend on the item (send_sub routes from the bare JID).
		 */
		if (item_remove(w, owner, contact, &it) != XF_OK) {
			xf_el_free(it.i_el);
			xf_route_error(w, c, iq, "wait",
			    "internal-server-error");
			return;
		}
		if (it.i_state & (XF_SUB_TO | XF_SUB_PENDING_OUT))
			xf_roster_send_sub(w, owner, contact, "unsubscribe");
		if (it.i_state & (XF_SUB_FROM | XF_SUB_PENDING_IN)) {
			xf_roster_send_sub(w, owner, contact, "unsubscribed");
			xf_presence_send_unavailable(w, owner, contact);
		}
		xf_el_free(it.i_el);
		xf_iq_reply(w, c, xf_iq_result(iq));
		return;
	}
	/* Groups: non-empty, no duplicates (RFC 6121 2.3.3). */
	for (g = xf_el_first(in); g != NULL; g = xf_el_next(g)) {
		char	*t = xf_el_text(g);
		int	 bad = t == NULL || t[0] == '\0' || strlen(t) > 1023;

		for (el = xf_el_next(g); !bad && el != NULL;
		    el = xf_el_next(el)) {
			char	*u = xf_el_text(el);

			bad = u != NULL && strcmp(t, u) == 0;
			free(u);
		}
		free(t);
		if (bad || strcmp(g->e_name, "group") != 0) {
			xf_el_free(it.i_el);
			xf_route_error(w, c, iq, "modify", "bad-request");
			return;
		}
	}
	if (r == XF_DECLINED) {
		if (xf_store_count(w->w_store, XF_T_ROSTER, owner,
		    strlen(owner) + 1, &n) != XF_OK) {
			log_warnx("roster of %s: %s", owner,
			    xf_store_error(w->w_store));
			xf_route_error(w, c, iq, "wait",
			    "internal-server-error");
			return;
		}
		if (n >= MAX_ITEMS) {
			xf_route_error(w, c, iq, "cancel",
			    "resource-constraint");
			return;
		}
		it.i_state = 0;
	} else
		xf_el_free(it.i_el);
	/* The client's item, minus what only the server may set. */
	it.i_el = xf_el_copy(in);
	if (it.i_el == NULL) {
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	xf_el_set_attr(it.i_el, "jid", contact);
	name = xf_el_attr(it.i_el, "name");
	if (name != NULL && name[0] == '\0')
		xf_el_set_attr(it.i_el, "name", NULL);
	it.i_state &= ~HIDDEN;
	if (item_save(w, owner, contact, &it, 1) != XF_OK)
		xf_route_error(w, c, iq, "wait", "internal-server-error");
	else
		xf_iq_reply(w, c, xf_iq_result(iq));
	xf_el_free(it.i_el);
}

static int
roster_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	char		 bare[XF_JID_MAX + 1];

	if (target != XF_IQ_ACCOUNT || p->e_ns == NULL ||
	    strcmp(p->e_ns, NS_ROSTER) != 0 || strcmp(p->e_name, "query"))
		return XF_DECLINED;
	/* Only the owner reads or writes a roster (RFC 6121 2.1.5). */
	if (xf_jid_bare_of(xf_el_attr(iq, "from"), bare, sizeof(bare)) !=
	    XF_OK || strcmp(bare, owner) != 0) {
		xf_route_error(w, c, iq, "cancel", "service-unavailable");
		return XF_OK;
	}
	if (strcmp(xf_el_attr(iq, "type"), "get") == 0)
		roster_get(w, c, iq, p, owner);
	else
		roster_set(w, c, iq, p, owner);
	return XF_OK;
}

static int
is_sub_type(const char *type)
{
	return type != NULL && (strcmp(type, "subscribe") == 0 ||
	    strcmp(type, "subscribed") == 0 ||
	    strcmp(type, "unsubscribe") == 0 ||
	    strcmp(type, "unsubscribed") == 0);
}

static int
roster_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	if (strcmp(st->e_name, "presence") != 0 ||
	    !is_sub_type(xf_el_attr(st, "type")) ||
	    xf_el_attr(st, "to") == NULL)
		return XF_DECLINED;
	return xf_roster_sub_outbound(w, c, st);
}

static int
roster_inbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st, const char *owner)
{
	if (strcmp(st->e_name, "presence") != 0 ||
	    !is_sub_type(xf_el_attr(st, "type")))
		return XF_DECLINED;
	return xf_roster_sub_inbound(w, c, st, owner);
}

static void
roster_features(xf_stream_t *c, xf_buf_t *b)
{
	xf_buf_puts(b, "<ver xmlns='" NS_ROSTERVER "'/>");
}

xf_mod_t xf_mod_roster = {
	.m_name = "roster",
	.m_kind = &xf_kind_c2s,
	.m_features = roster_features,
	.m_iq = roster_iq,
	.m_outbound = roster_outbound,
	.m_inbound = roster_inbound,
};
