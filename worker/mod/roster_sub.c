/* roster_sub.c: presence subscriptions (RFC 6121 3): the state machine on roster items, both directions, and requests waiting for initial presence. */
#include <string.h>

#include "xf.h"
#include "log.h"
#include "im.h"
#include "mod.h"
#include "roster.h"

/* A subscription presence from owner's bare JID to contact. */
void
xf_roster_send_sub(xf_worker_t *w, const char *owner, const char *contact,
    const char *type)
{
	xf_el_t	*p = xf_el_new(XF_NS_CLIENT, "presence");

	if (p == NULL)
		return;
	xf_el_set_attr(p, "from", owner);
	xf_el_set_attr(p, "to", contact);
	xf_el_set_attr(p, "type", type);
	xf_route(w, NULL, p);
	xf_el_free(p);
}

enum { DIR_OUT, DIR_IN };

/* One subscription presence applied to one roster item. */
typedef struct sub_s {
	int		 s_dir;		/* DIR_OUT: the owner sent it */
	const char	*s_type;
	const char	*s_contact;
	int		 s_pass;	/* route (out) / deliver (in) it */
	int		 s_autoreply;	/* in: already approved, answer it */
	int		 s_visible;	/* the owner's roster changed: push */
	xf_el_t		*s_item;	/* the new item, for the push */
} sub_t;

/*
 * The state machine of RFC 6121 3 for one item: outbound 3.1.2, 3.1.5,
 * 3.2.2, 3.3.2; inbound 3.1.3, 3.1.6, 3.2.3, 3.3.3.  Pre-approval (3.4)
 * is not offered.
 */
static void
transition(sub_t *s, int *state)
{
	int	 st = *state, in = s->s_dir == DIR_IN;

	s->s_pass = 0;
	if (strcmp(s->s_type, "subscribe") == 0) {
		if (!in) {
			if (!(st & XF_SUB_TO))
				st |= XF_SUB_PENDING_OUT;
			st &= ~HIDDEN;
			s->s_pass = 1;
		} else if (st & XF_SUB_FROM)
			s->s_autoreply = 1;
		else {
			st |= XF_SUB_PENDING_IN;
			s->s_pass = 1;
		}
	} else if (strcmp(s->s_type, "subscribed") == 0) {
		int	 want = in ? XF_SUB_PENDING_OUT : XF_SUB_PENDING_IN;
		int	 get = in ? XF_SUB_TO : XF_SUB_FROM;

		if ((st & want) && !(st & get)) {
			st = (st | get) & ~(want | (in ? 0 : HIDDEN));
			s->s_pass = 1;
		}
	} else {
		/* unsubscribe ends what the sender's side had; unsubscribed
		 * what the receiver's side had. */
		int	 mine = (strcmp(s->s_type, "unsubscribe") == 0) == !in;
		int	 bits = mine ? XF_SUB_TO | XF_SUB_PENDING_OUT :
			    XF_SUB_FROM | XF_SUB_PENDING_IN;

		if (st & bits) {
			st &= ~bits;
			s->s_pass = 1;
		}
	}
	*state = st;
}

/*
 * Runs inside the store's write transaction: must not call the store.
 * What it tells the caller is reset first, so a backend that runs a
 * transaction again (a serialisation failure) leaves no stale result.
 */
static int
sub_apply(void *ud, const void *old, size_t oldlen, xf_buf_t *out)
{
	sub_t	*s = ud;
	item_t	 it;
	int	 before, seen_before, seen_after;

	xf_el_free(s->s_item);
	s->s_item = NULL;
	s->s_pass = s->s_autoreply = s->s_visible = 0;

	if (old == NULL) {
		/* Only a request creates an item: hidden when inbound. */
		if (strcmp(s->s_type, "subscribe") != 0)
			return XF_AGAIN;
		if (xf_roster_item_new(&it, s->s_contact) != XF_OK)
			return XF_ERR;
		it.i_state = s->s_dir == DIR_IN ? HIDDEN : 0;
		before = HIDDEN;
	} else {
		if (oldlen < 2 || (it.i_el = xf_xml_parse((const char *)old +
		    1, oldlen - 1, NS_ROSTER)) == NULL)
			return XF_ERR;
		it.i_state = before = *(const unsigned char *)old;
	}
	transition(s, &it.i_state);
	/* What the user sees: subscription and ask, of a visible item. */
	seen_before = (before & HIDDEN) ? -1 :
	    before & (XF_SUB_BOTH | XF_SUB_PENDING_OUT);
	seen_after = (it.i_state & HIDDEN) ? -1 :
	    it.i_state & (XF_SUB_BOTH | XF_SUB_PENDING_OUT);
	s->s_visible = seen_before != seen_after;
	if (it.i_state == before && old != NULL) {
		xf_el_free(it.i_el);
		return XF_AGAIN;
	}
	if ((it.i_state & HIDDEN) && !(it.i_state & ~HIDDEN)) {
		/* A request withdrawn before the user answered. */
		xf_el_free(it.i_el);
		return old != NULL ? XF_DECLINED : XF_AGAIN;
	}
	xf_roster_item_attrs(&it);
	xf_buf_append(out, &(char){ (char)it.i_state }, 1);
	if (xf_el_write(it.i_el, NS_ROSTER, out) != XF_OK ||
	    xf_buf_size(out) > MAX_ITEM_BYTES) {
		xf_el_free(it.i_el);
		return XF_ERR;
	}
	s->s_item = it.i_el;
	return XF_OK;
}

/* Applies one subscription presence to owner's item for contact. */
static int
sub_update(xf_worker_t *w, const char *owner, sub_t *s)
{
	char	 k[2 * XF_JID_MAX + 2], ver[32];
	int	 n, r;

	if ((n = xf_roster_key(k, sizeof(k), owner, s->s_contact)) < 0)
		return XF_ERR;
	r = xf_store_update(w->w_store, XF_T_ROSTER, k, (size_t)n, sub_apply,
	    s);
	if (r == XF_ERR)
		log_warnx("roster of %s: %s", owner, xf_store_error(w->w_store));
	else if (s->s_visible && xf_roster_bump_ver(w, owner, ver,
	    sizeof(ver)) != XF_OK)
		/* The item changed, its push is lost: the next change or
		 * a full roster get shows it. */
		log_warnx("roster of %s: version: %s", owner,
		    xf_store_error(w->w_store));
	else if (s->s_visible) {
		if (s->s_item != NULL)
			xf_roster_push(w, owner, s->s_item, ver);
		else {
			xf_el_t	*rm = xf_el_new(NS_ROSTER, "item");

			if (rm != NULL) {
				xf_el_set_attr(rm, "jid", s->s_contact);
				xf_el_set_attr(rm, "subscription", "remove");
				xf_roster_push(w, owner, rm, ver);
				xf_el_free(rm);
			}
		}
	}
	xf_el_free(s->s_item);
	s->s_item = NULL;
	return r;
}

/*
 * The user sends a subscription presence: roster first, then it goes on
 * from the bare JID (RFC 6121 3.1.2).  If the roster cannot be written
 * the presence goes nowhere and the user gets it back as an error.  c is
 * this stanza's own connection: allocated until it is handled.
 */
int
xf_roster_sub_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	char	 contact[XF_JID_MAX + 1];
	sub_t	 s = { DIR_OUT, xf_el_attr(st, "type"), contact, 0, 0, 0, NULL };
	xf_el_t	*p;

	/* Servers (no '@' in a bare JID), bad JIDs: route decides. */
	if (xf_jid_bare_of(xf_el_attr(st, "to"), contact, sizeof(contact)) !=
	    XF_OK || strchr(contact, '@') == NULL)
		return XF_DECLINED;
	if (sub_update(w, c->s_bare, &s) == XF_ERR) {
		xf_route_error(w, c, st, "wait", "internal-server-error");
		return XF_OK;
	}
	if (!s.s_pass)
		return XF_OK;
	if ((p = xf_el_copy(st)) != NULL) {
		xf_el_set_attr(p, "from", c->s_bare);
		xf_el_set_attr(p, "to", contact);
		xf_route(w, c, p);
		xf_el_free(p);
	}
	if (strcmp(s.s_type, "subscribed") == 0)
		xf_presence_send_current(w, c->s_bare, contact);
	else if (strcmp(s.s_type, "unsubscribed") == 0)
		xf_presence_send_unavailable(w, c->s_bare, contact);
	return XF_OK;
}

typedef struct deliv_s {
	xf_worker_t	*w;
	const xf_el_t	*st;
	int		 n;
} deliv_t;

static int
deliver_avail(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	deliv_t	*d = ud;

	if (rec->sr_avail && rec->sr_prio >= 0 &&
	    xf_route_deliver(d->w, NULL, full, rec, d->st) == XF_OK)
		d->n++;
	return 0;
}

/*
 * A subscription presence for a local user: roster first, then the
 * available resources; a request also waits in the roster (PENDING_IN)
 * for the next available presence.  This runs on the sender's worker;
 * the store's transaction makes it safe against the owner's own
 * updates on another worker.  A store that fails keeps nothing: the
 * sender gets the presence back as an error and may send it again.
 */
int
xf_roster_sub_inbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st,
    const char *owner)
{
	char		 contact[XF_JID_MAX + 1];
	sub_t		 s = { DIR_IN, xf_el_attr(st, "type"), contact, 0, 0, 0,
			    NULL };
	deliv_t		 d = { w, st, 0 };
	xf_account_t	 ac;
	int		 r;

	/* No user's JID: nothing to subscribe with, dropped. */
	if (xf_jid_bare_of(xf_el_attr(st, "from"), contact, sizeof(contact)) !=
	    XF_OK || strchr(contact, '@') == NULL)
		return XF_OK;
	if (strcmp(s.s_type, "subscribe") == 0 &&
	    (r = xf_store_user_get(w->w_store, owner, &ac)) != XF_OK) {
		if (r == XF_ERR) {
			log_warnx("roster of %s: account: %s", owner,
			    xf_store_error(w->w_store));
			xf_route_error(w, c, st, "wait",
			    "internal-server-error");
			return XF_OK;
		}
		/* No such account: nothing to keep (RFC 6121 3.1.3). */
		xf_roster_send_sub(w, owner, contact, "unsubscribed");
		return XF_OK;
	}
	if (sub_update(w, owner, &s) == XF_ERR) {
		xf_route_error(w, c, st, "wait", "internal-server-error");
		return XF_OK;
	}
	if (s.s_autoreply)
		xf_roster_send_sub(w, owner, contact, "subscribed");
	if (s.s_pass)
		xf_sess_resources(w->w_sess, owner, deliver_avail, &d);
	return XF_OK;
}

typedef struct pend_s {
	xf_stream_t	*c;
} pend_t;

static int
pending_each(void *ud, const char *contact, int sub)
{
	pend_t	*p = ud;
	xf_el_t	*pr;

	/* The scan may have waited for the store: the stream may be gone
	 * (the requests wait for the next initial presence). */
	if (p->c->s_state != C2S_BOUND || p->c->s_full[0] == '\0')
		return 1;
	if (!(sub & XF_SUB_PENDING_IN) ||
	    (pr = xf_el_new(XF_NS_CLIENT, "presence")) == NULL)
		return 0;
	xf_el_set_attr(pr, "from", contact);
	xf_el_set_attr(pr, "to", p->c->s_bare);
	xf_el_set_attr(pr, "type", "subscribe");
	xf_stream_send_el(p->c, pr);
	xf_el_free(pr);
	return 0;
}

/* RFC 6121 3.1.3: requests that waited are delivered on initial presence. */
void
xf_roster_pending(xf_worker_t *w, xf_stream_t *c)
{
	pend_t	 p = { c };

	if (xf_roster_each(w, c->s_bare, pending_each, &p) == XF_ERR)
		log_warnx("roster of %s: pending requests: %s", c->s_bare,
		    xf_store_error(w->w_store));
}
