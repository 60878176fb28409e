/* carbons.c: XEP-0280 Message Carbons: a user's chat messages, sent and received, copied to the user's other resources. */
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"

#define NS_CARBONS	"urn:xmpp:carbons:2"
#define NS_FORWARD	"urn:xmpp:forward:0"
#define NS_HINTS	"urn:xmpp:hints"
#define NS_MUC_USER	"http://jabber.org/protocol/muc#user"
#define NS_RECEIPTS	"urn:xmpp:receipts"
#define NS_MARKERS	"urn:xmpp:chat-markers:0"
#define NS_CHATSTATES	"http://jabber.org/protocol/chatstates"

/*
 * Received copies go to the carbons-enabled resources that did not get
 * the original (XEP-0280 7).  A message to a bare JID may reach several
 * resources, one delivery hook call each, so the copies wait until the
 * routing of that message is over: the inbound hook (which runs before
 * any delivery of a stanza to a local user) opens a batch, the delivery
 * hook adds each resource reached, and the batch is sent when the next
 * stanza comes through a hook here or, at the latest, by a zero-delay
 * timer at the end of this loop iteration.  cur is compared, never
 * dereferenced, outside the route call that set it.
 *
 * A worker is single-threaded: one batch per worker.
 */
static struct {
	xf_worker_t	*w;
	const xf_el_t	*cur;		/* the stanza being routed */
	int		 cur_private;	/* it asked for no copies */
	xf_el_t		*msg;		/* owned copy; NULL = nothing pending */
	char		 owner[XF_JID_MAX + 1];
	char		*sender;	/* owned: its 'from', never copied to */
	char	       **got;		/* owned: resources given the original */
	size_t		 ngot;
	size_t		 capgot;
	uint64_t	 timer;
} pend;

/*
 * XEP-0280 6: the messages an IM client shows.  Errors would need the
 * server to track which message they answer, so they are not copied;
 * neither is group chat (the room sends each resource its own copy),
 * MUC traffic, nor what already is a carbon or an archive result.
 */
static int
eligible(const xf_el_t *st)
{
	const char	*type = xf_el_attr(st, "type");
	const xf_el_t	*ch;
	int		 im = 0;

	if (strcmp(st->e_name, "message") != 0)
		return 0;
	if (type != NULL && !xf_streq(type, "chat") && !xf_streq(type, "normal"))
		return 0;
	for (ch = xf_el_first(st); ch != NULL; ch = xf_el_next(ch)) {
		if (xf_el_in(ch, NS_CARBONS) || xf_el_in(ch, NS_MUC_USER) ||
		    (xf_el_in(ch, NS_HINTS) && strcmp(ch->e_name, "no-copy") == 0))
			return 0;
		if (ch->e_ns != NULL && strcmp(ch->e_name, "result") == 0 &&
		    strncmp(ch->e_ns, "urn:xmpp:mam:", 13) == 0)
			return 0;
		if ((xf_el_in(ch, XF_NS_CLIENT) && strcmp(ch->e_name, "body") == 0)
		    || xf_el_in(ch, NS_RECEIPTS) || xf_el_in(ch, NS_MARKERS) ||
		    xf_el_in(ch, NS_CHATSTATES))
			im = 1;
	}
	return xf_streq(type, "chat") || im;
}

/* <message from=owner type=...><kind><forwarded>msg</forwarded></kind>;
 * 'to' is set per copy.  Caller frees. */
static xf_el_t *
wrap(const char *kind, const xf_el_t *msg, const char *owner)
{
	xf_el_t		*m, *k, *f, *copy;
	const char	*type = xf_el_attr(msg, "type");

	if ((m = xf_el_new(XF_NS_CLIENT, "message")) == NULL)
		return NULL;
	if (xf_el_set_attr(m, "from", owner) != XF_OK ||
	    (type != NULL && xf_el_set_attr(m, "type", type) != XF_OK) ||
	    (k = xf_el_add(m, NS_CARBONS, kind)) == NULL ||
	    (f = xf_el_add(k, NS_FORWARD, "forwarded")) == NULL ||
	    (copy = xf_el_copy(msg)) == NULL)
		goto fail;
	xf_el_append(f, copy);
	return m;
fail:
	xf_el_free(m);
	return NULL;
}

typedef struct copy_s {
	xf_worker_t	*cp_w;
	xf_stream_t	*cp_from;	/* for push-back, or NULL */
	xf_el_t		*cp_msg;	/* the wrapper */
	const char	*cp_skip;	/* a resource that had it already */
	char	* const *cp_got;	/* more of them */
	size_t		 cp_ngot;
	size_t		 cp_sent;
} copy_t;

static int
copy_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	copy_t	*cp = ud;

	if (!(rec->sr_flags & XF_SESS_CARBONS) || xf_streq(cp->cp_skip, full))
		return 0;
	for (size_t i = 0; i < cp->cp_ngot; i++)
		if (strcmp(cp->cp_got[i], full) == 0)
			return 0;
	if (xf_el_set_attr(cp->cp_msg, "to", full) != XF_OK)
		return 0;
	/* A stale record (XF_DECLINED): that resource is gone, no copy. */
	if (xf_route_deliver(cp->cp_w, cp->cp_from, full, rec,
	    cp->cp_msg) == XF_OK)
		cp->cp_sent++;
	return 0;
}

/*
 * Whether any resource of owner other than skip has carbons on: one
 * read of the session table, before a message is copied or wrapped.
 * Most users have no second carbons resource; they pay only this.
 */
static int
wanted(xf_worker_t *w, const char *owner, const char *skip)
{
	return xf_sess_any_flag(w->w_sess, owner, XF_SESS_CARBONS, skip);
}

/* Sends one wrapper to each carbons-enabled resource of owner except
 * skip and got[]. */
static void
copy_to(xf_worker_t *w, xf_stream_t *from, const char *kind,
    const xf_el_t *msg, const char *owner, const char *skip,
    char * const *got, size_t ngot)
{
	copy_t	 cp = { w, from, NULL, skip, got, ngot, 0 };

	if ((cp.cp_msg = wrap(kind, msg, owner)) == NULL) {
		log_warnx("carbons: out of memory, no copies for %s", owner);
		return;
	}
	if (xf_sess_resources(w->w_sess, owner, copy_each, &cp) == XF_ERR)
		log_warnx("carbons: session table: %s",
		    xf_sess_error(w->w_sess));
	xf_el_free(cp.cp_msg);
}

static void
flush(void)
{
	xf_worker_t	*w = pend.w;

	if (w == NULL)
		return;
	if (pend.timer != 0) {
		xf_loop_timer_del(w->w_loop, pend.timer);
		pend.timer = 0;
	}
	pend.cur = NULL;
	pend.cur_private = 0;
	if (pend.msg != NULL) {
		copy_to(w, NULL, "received", pend.msg, pend.owner, pend.sender,
		    pend.got, pend.ngot);
		xf_el_free(pend.msg);
		pend.msg = NULL;
	}
	free(pend.sender);
	pend.sender = NULL;
	for (size_t i = 0; i < pend.ngot; i++)
		free(pend.got[i]);
	pend.ngot = 0;
}

static void
flush_timer(xf_loop_t *l, void *ud)
{
	pend.timer = 0;
	flush();
}

static int
add_got(const char *full)
{
	char	**n;

	if (pend.ngot == pend.capgot) {
		size_t	 cap = pend.capgot ? pend.capgot * 2 : 4;

		if ((n = reallocarray(pend.got, cap, sizeof(*n))) == NULL)
			return XF_ERR;
		pend.got = n;
		pend.capgot = cap;
	}
	if ((pend.got[pend.ngot] = strdup(full)) == NULL)
		return XF_ERR;
	pend.ngot++;
	return XF_OK;
}

/* Opens a batch for st, delivered to full of owner. */
static void
open_batch(const xf_el_t *st, const char *owner, const char *full)
{
	const char	*from = xf_el_attr(st, "from");

	snprintf(pend.owner, sizeof(pend.owner), "%s", owner);
	if ((pend.msg = xf_el_copy(st)) == NULL ||
	    (from != NULL && (pend.sender = strdup(from)) == NULL) ||
	    add_got(full) != XF_OK) {
		log_warnx("carbons: out of memory, no copies for %s", owner);
		xf_el_free(pend.msg);
		pend.msg = NULL;
		return;
	}
	if (pend.timer == 0)
		pend.timer = xf_loop_timer(pend.w->w_loop, 0, flush_timer,
		    NULL);
	if (pend.timer == 0)
		flush();	/* no timer: copy at once rather than never */
}

static void
carbons_init(xf_worker_t *w)
{
	pend.w = w;
}

/* XEP-0280 4, 5: <enable/> and <disable/>, for the sending session only.
 * The flag lives in the session table so every worker sees it. */
static int
carbons_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	int		 on;
	xf_el_t		*r;

	if (!xf_el_in(p, NS_CARBONS))
		return XF_DECLINED;
	if (strcmp(p->e_name, "enable") == 0)
		on = 1;
	else if (strcmp(p->e_name, "disable") == 0)
		on = 0;
	else
		return XF_DECLINED;
	if (c == NULL || (target == XF_IQ_ACCOUNT && !xf_streq(owner, c->s_bare))) {
		xf_route_error(w, c, iq, "cancel", "not-allowed");
		return XF_OK;
	}
	if (!xf_streq(xf_el_attr(iq, "type"), "set")) {
		xf_route_error(w, c, iq, "modify", "bad-request");
		return XF_OK;
	}
	if (xf_sess_flags(w->w_sess, c->s_full, w->w_slot, c->s_id,
	    on ? XF_SESS_CARBONS : 0, on ? 0 : XF_SESS_CARBONS) != XF_OK) {
		log_warnx("c%llu: carbons: session table: %s",
		    (unsigned long long)c->s_id, xf_sess_error(w->w_sess));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return XF_OK;
	}
	log_debug("c%llu: carbons %s", (unsigned long long)c->s_id,
	    on ? "enabled" : "disabled");
	/* From the account whatever the request's 'to' (XEP-0280 4). */
	if ((r = xf_iq_result(iq)) != NULL &&
	    xf_el_set_attr(r, "from", c->s_bare) != XF_OK) {
		xf_el_free(r);
		r = NULL;
	}
	xf_iq_reply(w, c, r);
	return XF_OK;
}

/* XEP-0280 8: a sent message goes, wrapped in <sent/>, to the sender's
 * other carbons-enabled resources, whether the sender enabled carbons
 * or not. */
static int
carbons_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	const char	*to = xf_el_attr(st, "to");
	char		 bare[XF_JID_MAX + 1];

	flush();
	if (c == NULL || to == NULL || !eligible(st) ||
	    xf_el_child(st, NS_CARBONS, "private") != NULL)
		return XF_DECLINED;
	/* To oneself: the received copies cover the other resources. */
	if (xf_jid_bare_of(to, bare, sizeof(bare)) != XF_OK ||
	    strcmp(bare, c->s_bare) == 0)
		return XF_DECLINED;
	if (wanted(w, c->s_bare, c->s_full))
		copy_to(w, c, "sent", st, c->s_bare, c->s_full, NULL, 0);
	return XF_DECLINED;
}

/*
 * A stanza for a local user, before its delivery: the previous batch is
 * complete.  XEP-0280 9: <private/> means no copies, and the receiving
 * server removes it before delivery.
 */
static int
carbons_inbound(xf_worker_t *w, xf_stream_t *from, xf_el_t *st,
    const char *to_bare)
{
	xf_el_t	*priv;

	flush();
	if (strcmp(st->e_name, "message") != 0)
		return XF_DECLINED;
	pend.cur = st;
	if ((priv = xf_el_child(st, NS_CARBONS, "private")) != NULL) {
		pend.cur_private = 1;
		xf_el_remove(st, priv);
	}
	return XF_DECLINED;
}

static int
got_already(const char *full)
{
	for (size_t i = 0; i < pend.ngot; i++)
		if (strcmp(pend.got[i], full) == 0)
			return 1;
	return 0;
}

static void
carbons_delivered(xf_worker_t *w, const xf_el_t *st, const char *full)
{
	const char	*slash = strchr(full, '/');
	char		 owner[XF_JID_MAX + 1];
	size_t		 n;

	if (slash == NULL || (n = (size_t)(slash - full)) >= sizeof(owner))
		return;
	memcpy(owner, full, n);
	owner[n] = '\0';
	if (st != pend.cur) {
		/* Delivered by a path that skipped the inbound hook: a batch
		 * of its own, sent at once. */
		flush();
		if (eligible(st) &&
		    xf_el_child(st, NS_CARBONS, "private") == NULL &&
		    wanted(w, owner, full)) {
			open_batch(st, owner, full);
			flush();
		}
		return;
	}
	if (pend.cur_private || !eligible(st))
		return;
	if (pend.msg != NULL) {
		if (strcmp(pend.owner, owner) == 0 && !got_already(full)) {
			if (add_got(full) != XF_OK)
				log_warnx("carbons: out of memory");
			return;
		}
		/* Not the same routing after all (a resource never gets one
		 * stanza twice): close that batch, open another. */
		flush();
		pend.cur = st;
	}
	if (wanted(w, owner, full))
		open_batch(st, owner, full);
}

xf_mod_t xf_mod_carbons = {
	.m_name = "carbons",
	.m_kind = &xf_kind_c2s,
	.m_init = carbons_init,
	.m_iq = carbons_iq,
	.m_outbound = carbons_outbound,
	.m_inbound = carbons_inbound,
	.m_delivered = carbons_delivered,
};
