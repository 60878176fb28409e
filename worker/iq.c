/* iq.c: IQs the server answers itself (XEP-0199, XEP-0030, XEP-0092) and the IQ replies every module builds. */
#include <string.h>

#include "xf.h"
#include "worker.h"
#include "mod.h"

#define NS_PING		"urn:xmpp:ping"
#define NS_DISCO_INFO	"http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS	"http://jabber.org/protocol/disco#items"
#define NS_VERSION	"jabber:iq:version"

static const char *const server_features[] = {
	NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION,
	"urn:xmpp:carbons:2", "urn:xmpp:blocking", "vcard-temp",
	"jabber:iq:private", "jabber:iq:roster", "jabber:iq:register",
	"msgoffline",		/* XEP-0160: offline storage (offline.c) */
};

/* The reply skeleton of xf_iq_result() and xf_iq_error(). */
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

xf_el_t *
xf_iq_result(const xf_el_t *iq)
{
	return answer(iq, "result");
}

xf_el_t *
xf_iq_error(const xf_el_t *iq, const char *type, const char *cond)
{
	xf_el_t	*r = answer(iq, "error"), *e;

	if (r != NULL && (e = xf_el_add(r, XF_NS_CLIENT, "error")) != NULL) {
		xf_el_set_attr(e, "type", type);
		xf_el_add(e, XF_NS_STANZAS, cond);
	}
	return r;
}

/*
 * Anything not for c (an IQ that came through a ring) is routed with no
 * sending connection: should the ring be full, the reply waits on the
 * worker's queue and does not stop c being read (ipc.c).
 */
void
xf_iq_reply(xf_worker_t *w, xf_stream_t *c, xf_el_t *r)
{
	const char	*to;

	if (r == NULL)
		return;
	to = xf_el_attr(r, "to");
	if (c != NULL && to != NULL && strcmp(to, c->s_full) == 0)
		xf_stream_send_el(c, r);
	else
		xf_route(w, NULL, r);
	xf_el_free(r);
}

/*
 * RFC 6120 8.1.3: an IQ must have an id, which the answer echoes.  Told
 * in words: a bare bad-request leaves the sender guessing, and an answer
 * without an id cannot be matched to its request.  Like
 * xf_route_error(), the answer carries no id and comes from the host.
 */
static void
missing_id(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq)
{
	static const char	 text[] = "The IQ has no 'id' attribute";
	xf_el_t			*r = xf_iq_error(iq, "modify", "bad-request");
	xf_el_t			*e, *t;

	if (r == NULL)
		return;
	xf_el_set_attr(r, "id", NULL);
	if (xf_el_attr(iq, "to") == NULL)
		xf_el_set_attr(r, "from", c != NULL && c->s_host[0] ?
		    c->s_host : w->w_conf->cf_vhosts[0]);
	if ((e = xf_el_child(r, XF_NS_CLIENT, "error")) != NULL &&
	    (t = xf_el_add(e, XF_NS_STANZAS, "text")) != NULL)
		xf_el_add_text(t, text, sizeof(text) - 1);
	xf_iq_reply(w, c, r);
}

/*
 * RFC 6120 8.2.3: get/set carry exactly one payload element; results and
 * errors are not answered.  Returns the payload, or NULL when the IQ was
 * dealt with here.
 */
static xf_el_t *
payload(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq)
{
	const char	*type = xf_el_attr(iq, "type");
	xf_el_t		*p;

	if (type == NULL || (strcmp(type, "result") == 0 ||
	    strcmp(type, "error") == 0))
		return NULL;
	if (xf_el_attr(iq, "id") == NULL) {
		missing_id(w, c, iq);
		return NULL;
	}
	if ((strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    (p = xf_el_first(iq)) == NULL || xf_el_next(p) != NULL) {
		xf_route_error(w, c, iq, "modify", "bad-request");
		return NULL;
	}
	return p;
}

static int
is_get(const xf_el_t *iq)
{
	return strcmp(xf_el_attr(iq, "type"), "get") == 0;
}

static void
disco_info(xf_el_t *q, const char *category, const char *type,
    const char *name, const char *const *features, size_t nfeatures)
{
	xf_el_t	*id = xf_el_add(q, NS_DISCO_INFO, "identity");

	if (id != NULL) {
		xf_el_set_attr(id, "category", category);
		xf_el_set_attr(id, "type", type);
		if (name)
			xf_el_set_attr(id, "name", name);
	}
	for (size_t i = 0; i < nfeatures; i++) {
		xf_el_t	*f = xf_el_add(q, NS_DISCO_INFO, "feature");

		if (f != NULL)
			xf_el_set_attr(f, "var", features[i]);
	}
}

void
xf_iq_server(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq)
{
	xf_el_t		*p, *r, *q;

	if ((p = payload(w, c, iq)) == NULL)
		return;
	if (xf_mod_iq(w, c, iq, p, XF_IQ_SERVER, NULL) == XF_OK)
		return;
	if (is_get(iq) && xf_el_in(p, NS_PING) &&
	    strcmp(p->e_name, "ping") == 0) {
		xf_iq_reply(w, c, xf_iq_result(iq));
		return;
	}
	if (is_get(iq) && xf_el_in(p, NS_DISCO_INFO) &&
	    xf_el_attr(p, "node") == NULL) {
		if ((r = xf_iq_result(iq)) == NULL)
			return;
		if ((q = xf_el_add(r, NS_DISCO_INFO, "query")) != NULL)
			disco_info(q, "server", "im", "xfed", server_features,
			    XF_NELEM(server_features));
		xf_iq_reply(w, c, r);
		return;
	}
	if (is_get(iq) && xf_el_in(p, NS_DISCO_ITEMS) &&
	    xf_el_attr(p, "node") == NULL) {
		if ((r = xf_iq_result(iq)) == NULL)
			return;
		xf_el_add(r, NS_DISCO_ITEMS, "query");
		xf_iq_reply(w, c, r);
		return;
	}
	if (is_get(iq) && xf_el_in(p, NS_VERSION)) {
		if ((r = xf_iq_result(iq)) == NULL)
			return;
		if ((q = xf_el_add(r, NS_VERSION, "query")) != NULL) {
			xf_el_add_text(xf_el_add(q, NS_VERSION, "name"),
			    "xfed", 4);
			xf_el_add_text(xf_el_add(q, NS_VERSION, "version"),
			    XF_VERSION, strlen(XF_VERSION));
		}
		xf_iq_reply(w, c, r);
		return;
	}
	xf_route_error(w, c, iq, "cancel", "service-unavailable");
}

/* IQs to a user's bare JID (or with no 'to'): the server answers for
 * the account (RFC 6120 10.3.3). */
void
xf_iq_account(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner)
{
#define PS	"http://jabber.org/protocol/pubsub"
	/* XEP-0163: the account is a PEP service. */
	static const char *const features[] = { NS_DISCO_INFO, PS,
	    PS "#publish", PS "#auto-create", PS "#publish-options",
	    PS "#config-node", PS "#config-node-max", PS "#create-nodes",
	    PS "#create-and-configure", PS "#delete-nodes", PS "#purge-nodes",
	    PS "#retrieve-items", PS "#retract-items", PS "#delete-items",
	    PS "#persistent-items", PS "#item-ids", PS "#multi-items",
	    PS "#access-open", PS "#access-presence", PS "#access-whitelist" };
#undef PS
	xf_el_t		*p, *r, *q, *id;

	if ((p = payload(w, c, iq)) == NULL)
		return;
	if (xf_mod_iq(w, c, iq, p, XF_IQ_ACCOUNT, owner) == XF_OK)
		return;
	if (is_get(iq) && xf_el_in(p, NS_PING)) {
		xf_iq_reply(w, c, xf_iq_result(iq));
		return;
	}
	if (is_get(iq) && xf_el_in(p, NS_DISCO_INFO) &&
	    xf_el_attr(p, "node") == NULL) {
		if ((r = xf_iq_result(iq)) == NULL)
			return;
		if ((q = xf_el_add(r, NS_DISCO_INFO, "query")) != NULL) {
			if ((id = xf_el_add(q, NS_DISCO_INFO, "identity"))
			    != NULL) {
				xf_el_set_attr(id, "category", "pubsub");
				xf_el_set_attr(id, "type", "pep");
			}
			disco_info(q, "account", "registered", NULL, features,
			    XF_NELEM(features));
		}
		xf_iq_reply(w, c, r);
		return;
	}
	xf_route_error(w, c, iq, "cancel", "service-unavailable");
}
