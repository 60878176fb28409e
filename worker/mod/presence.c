/* presence.c: presence (RFC 6121 4): broadcast to subscribers, probes, directed presence, unavailable when a session ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "im.h"
#include "mod.h"
#include "xmlstream.h"

#define MAX_DIRECTED	64

static void	 answer_probe(xf_worker_t *, xf_stream_t *, const char *);


/*
 * Per connection: the last broadcast presence and directed targets.
 *
 * A broadcast reads the roster and routes one stanza per contact; with a
 * suspending store (common/coro.h) either may wait while the loop runs
 * other stanzas, the end of this very stream among them.  p_gen names
 * the connection's latest broadcast: one that finds it moved (a newer
 * presence, or the unavailable one of the stream's end) stops, so an
 * available presence never follows the unavailable one.  What a
 * broadcast needs of the connection (its JIDs, the directed targets) is
 * copied or taken out before the first call that may wait.
 */
typedef struct pres_s {
	xf_el_t	*p_last;			/* owned */
	char	*p_directed[MAX_DIRECTED];	/* owned strings */
	int	 p_ndirected;
	uint64_t p_gen;
} pres_t;

static pres_t *
state(xf_stream_t *c, int create)
{
	pres_t	**pp = (pres_t **)&c->s_mod[xf_mod_presence.m_index];

	if (*pp == NULL && create)
		*pp = calloc(1, sizeof(**pp));
	return *pp;
}

static void
pres_free(xf_stream_t *c)
{
	pres_t	*p = state(c, 0);

	if (p == NULL)
		return;
	xf_el_free(p->p_last);
	for (int i = 0; i < p->p_ndirected; i++)
		free(p->p_directed[i]);
	free(p);
	c->s_mod[xf_mod_presence.m_index] = NULL;
}

static void
send_from(xf_worker_t *w, const xf_el_t *st, const char *from, const char *to,
    const char *type)
{
	xf_el_t	*p = st ? xf_el_copy(st) : xf_el_new(XF_NS_CLIENT, "presence");

	if (p == NULL)
		return;
	xf_el_set_attr(p, "from", from);
	xf_el_set_attr(p, "to", to);
	if (type != NULL)
		xf_el_set_attr(p, "type", type);
	xf_route(w, NULL, p);
	xf_el_free(p);
}

typedef struct bc_s {
	xf_worker_t	*w;
	const xf_el_t	*st;
	const char	*from;
	const char	*type;
	int		 probe;		/* initial presence: probe TO contacts */
	xf_stream_t	*c;		/* whose broadcast, or NULL: no check */
	uint64_t	 gen;		/* ... as its p_gen was then */
	int		 gone;		/* from's stream has ended */
} bc_t;

/* Whether the broadcast of c numbered gen is still c's latest. */
static int
current(xf_stream_t *c, uint64_t gen)
{
	pres_t	*p;

	if (c == NULL)
		return 1;
	p = state(c, 0);
	return p != NULL && p->p_gen == gen;
}

static int
contact_each(void *ud, const char *contact, int sub)
{
	bc_t	*b = ud;

	if (!current(b->c, b->gen))
		return 1;
	if (sub & XF_SUB_FROM)
		send_from(b->w, b->st, b->from, contact, b->type);
	if (b->probe && (sub & XF_SUB_TO))
		send_from(b->w, NULL, b->from, contact, "probe");
	return 0;
}

static int
own_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	bc_t	*b = ud;
	xf_el_t	*p;

	if (!current(b->c, b->gen))
		return 1;
	if (!rec->sr_avail && strcmp(full, b->from) != 0)
		return 0;
	/* A stream that has ended wrote </stream:stream>, after which
	 * nothing may follow (RFC 6120 4.4); its record is still there. */
	if (b->gone && strcmp(full, b->from) == 0)
		return 0;
	if ((p = b->st ? xf_el_copy(b->st) :
	    xf_el_new(XF_NS_CLIENT, "presence")) == NULL)
		return 0;
	xf_el_set_attr(p, "from", b->from);
	xf_el_set_attr(p, "to", full);
	if (b->type)
		xf_el_set_attr(p, "type", b->type);
	xf_route_deliver(b->w, NULL, full, rec, p);
	xf_el_free(p);
	return 0;
}

/*
 * Presence of full to its contacts (FROM) and the account's resources;
 * c, gen and gone as in bc_t.  full and bare must not be c's own
 * buffers: the broadcast may outlive c's stream.
 */
static void
broadcast(xf_worker_t *w, const xf_el_t *st, const char *full,
    const char *bare, const char *type, int probe, xf_stream_t *c,
    uint64_t gen, int gone)
{
	bc_t	 b = { w, st, full, type, probe, c, gen, gone };

	/* Without the roster the contacts are not told; the session's own
	 * resources still are. */
	if (xf_roster_each(w, bare, contact_each, &b) == XF_ERR)
		log_warnx("presence of %s: roster: %s", full,
		    xf_store_error(w->w_store));
	xf_sess_resources(w->w_sess, bare, own_each, &b);
}

static int32_t
prio_of(const xf_el_t *st)
{
	xf_el_t	*p = xf_el_child(st, XF_NS_CLIENT, "priority");
	char	*t;
	long	 v = 0;

	if (p != NULL && (t = xf_el_text(p)) != NULL) {
		v = strtol(t, NULL, 10);
		free(t);
	}
	return v < -128 ? -128 : v > 127 ? 127 : (int32_t)v;
}

/*
 * What a resumed session needs of p (xf_sm_keep_presence): the last
 * broadcast presence serialised (empty: none), NUL, then each directed
 * target NUL-terminated.  Nothing at all when there is neither.
 */
void
xf_presence_keep(xf_stream_t *c)
{
	pres_t	*p = state(c, 0);
	xf_buf_t b = { 0 };
	int	 bad = 0;

	if (!xf_sm_resumable(c))
		return;
	if (p != NULL && (p->p_last != NULL || p->p_ndirected > 0)) {
		if (p->p_last != NULL)
			bad |= xf_el_write(p->p_last, XF_NS_CLIENT, &b);
		bad |= xf_buf_append(&b, "", 1);
		for (int i = 0; i < p->p_ndirected; i++)
			bad |= xf_buf_append(&b, p->p_directed[i],
			    strlen(p->p_directed[i]) + 1);
	}
	if (bad != XF_OK)
		log_warnx("presence of %s not kept for a resume: out of "
		    "memory", c->s_full);
	else
		xf_sm_keep_presence(c, xf_buf_data(&b), xf_buf_size(&b));
	xf_buf_free(&b);
}

/* The other half, on the connection that resumed the session. */
void
xf_presence_restore(xf_stream_t *c, const char *data, size_t len)
{
	const char	*end = data + len, *z;
	pres_t		*p;

	if ((z = memchr(data, '\0', len)) == NULL || (p = state(c, 1)) ==
	    NULL)
		return;
	xf_el_free(p->p_last);
	p->p_last = z > data ? xf_xml_parse(data, (size_t)(z - data),
	    XF_NS_CLIENT) : NULL;
	for (data = z + 1; data < end && p->p_ndirected < MAX_DIRECTED;
	    data = z + 1) {
		if ((z = memchr(data, '\0', (size_t)(end - data))) == NULL)
			break;
		if ((p->p_directed[p->p_ndirected] = strdup(data)) != NULL)
			p->p_ndirected++;
	}
}

/* Takes the directed-presence targets out of p (to holds MAX_DIRECTED). */
static int
take_directed(pres_t *p, char **to)
{
	int	 n = 0;

	if (p != NULL) {
		n = p->p_ndirected;
		memcpy(to, p->p_directed, (size_t)n * sizeof(*to));
		p->p_ndirected = 0;
	}
	return n;
}

/* Unavailable presence from full to n targets taken out; frees them. */
static void
directed_unavailable(xf_worker_t *w, const char *full, char **to, int n)
{
	for (int i = 0; i < n; i++) {
		send_from(w, NULL, full, to[i], "unavailable");
		free(to[i]);
	}
}

/* Presence with no 'to': the user's broadcast (RFC 6121 4.2, 4.4, 4.5). */
static int
broadcast_out(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	const char	*type = xf_el_attr(st, "type");
	int		 avail = type == NULL, initial = avail && !c->s_avail;
	pres_t		*p = state(c, 1);
	char		 full[XF_SESS_JID_MAX + 1], bare[XF_SESS_JID_MAX + 1];
	char		*to[MAX_DIRECTED];
	uint64_t	 gen = 0;
	int		 n = 0;

	if (type != NULL && strcmp(type, "unavailable") != 0)
		return XF_OK;	/* probe/error with no 'to': nothing to do */
	if (!avail && !c->s_avail)
		return XF_OK;	/* unavailable twice */
	c->s_avail = avail;
	c->s_prio = avail ? prio_of(st) : 0;
	if (xf_sess_update(w->w_sess, c->s_full, w->w_slot, c->s_id,
	    c->s_prio, c->s_avail) == XF_ERR)
		log_warnx("session table: %s", xf_sess_error(w->w_sess));
	if (p != NULL) {
		xf_el_free(p->p_last);
		p->p_last = avail ? xf_el_copy(st) : NULL;
		if (p->p_last) {
			xf_el_set_attr(p->p_last, "to", NULL);
			xf_el_set_attr(p->p_last, "from", NULL);
		}
		gen = ++p->p_gen;
	}
	snprintf(full, sizeof(full), "%s", c->s_full);
	snprintf(bare, sizeof(bare), "%s", c->s_bare);
	if (!avail)
		n = take_directed(p, to);
	xf_presence_keep(c);
	broadcast(w, st, full, bare, NULL, initial, p != NULL ? c : NULL, gen,
	    0);
	directed_unavailable(w, full, to, n);
	/*
	 * c is this stanza's own connection, allocated until it is handled;
	 * but the broadcast may have waited for the store, and the stream
	 * ended or a newer presence gone out meanwhile.  Then there is no
	 * initial presence to act on any more.
	 */
	if (!initial || c->s_state != C2S_BOUND || c->s_full[0] == '\0' ||
	    (p != NULL && !current(c, gen)))
		return XF_OK;
	xf_roster_pending(w, c);
	if (c->s_prio >= 0 && c->s_state == C2S_BOUND && c->s_full[0] != '\0')
		xf_offline_deliver(w, c);
	return XF_OK;
}

/* Directed presence: remember targets so they hear when we go. */
static void
track_directed(xf_stream_t *c, const xf_el_t *st)
{
	const char	*to = xf_el_attr(st, "to"), *type = xf_el_attr(st, "type");
	pres_t		*p = state(c, 1);
	int		 i;

	if (p == NULL || to == NULL)
		return;
	for (i = 0; i < p->p_ndirected; i++)
		if (strcmp(p->p_directed[i], to) == 0)
			break;
	if (type == NULL && i == p->p_ndirected &&
	    p->p_ndirected < MAX_DIRECTED) {
		if ((p->p_directed[i] = strdup(to)) == NULL)
			return;
		p->p_ndirected++;
	} else if (type != NULL && strcmp(type, "unavailable") == 0 &&
	    i < p->p_ndirected) {
		free(p->p_directed[i]);
		p->p_directed[i] = p->p_directed[--p->p_ndirected];
	} else
		return;
	xf_presence_keep(c);
}

/*
 * RFC 6121 4.7.2.1: <show/> is away, chat, dnd or xa.  An empty one is
 * taken for none (available), as clients that write it mean, and left
 * out so contacts get a valid stanza; any other value does not follow
 * the schema: bad-request to the sender (RFC 6120 8.3.3.1), no broadcast.
 */
static int
show_ok(xf_el_t *st)
{
	static const char *const shows[] = { "away", "chat", "dnd", "xa" };
	xf_el_t		*sh = xf_el_child(st, XF_NS_CLIENT, "show");
	char		*t;
	int		 good = 0;

	if (sh == NULL)
		return 1;
	t = xf_el_text(sh);
	if (t == NULL || t[strspn(t, " \t\r\n")] == '\0') {
		xf_el_remove(st, sh);
		good = 1;
	} else
		for (size_t i = 0; i < XF_NELEM(shows); i++)
			good |= strcmp(t, shows[i]) == 0;
	free(t);
	return good;
}

static int
pres_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	if (strcmp(st->e_name, "presence") != 0)
		return XF_DECLINED;
	if (xf_el_attr(st, "type") == NULL && !show_ok(st)) {
		xf_route_error(w, c, st, "modify", "bad-request");
		return XF_OK;
	}
	if (xf_el_attr(st, "to") == NULL)
		return broadcast_out(w, c, st);
	track_directed(c, st);
	return XF_DECLINED;
}

typedef struct probe_s {
	xf_worker_t	*w;
	const char	*to;
} probe_t;

static int
probe_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	probe_t		*p = ud;
	xf_stream_t	*c;

	if (!rec->sr_avail || rec->sr_node != 0)
		return 0;
	if (rec->sr_worker == p->w->w_slot) {
		if ((c = xf_stream_find(p->w, rec->sr_conn)) != NULL &&
		    strcmp(c->s_full, full) == 0)
			answer_probe(p->w, c, p->to);
		return 0;
	}
	/* The last presence lives with the connection: ask its worker. */
	xf_ipc_push(p->w, NULL, rec->sr_worker, XF_MSG_PROBE, rec->sr_conn,
	    full, p->to, strlen(p->to));
	return 0;
}

/* Sends owner's current presence, from each available resource, to to. */
void
xf_presence_send_current(xf_worker_t *w, const char *owner, const char *to)
{
	probe_t	 p = { w, to };

	xf_sess_resources(w->w_sess, owner, probe_each, &p);
}

static int
unavail_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	probe_t	*p = ud;

	if (rec->sr_avail)
		send_from(p->w, NULL, full, p->to, "unavailable");
	return 0;
}

void
xf_presence_send_unavailable(xf_worker_t *w, const char *owner,
    const char *to)
{
	probe_t	 p = { w, to };

	xf_sess_resources(w->w_sess, owner, unavail_each, &p);
}

static void
answer_probe(xf_worker_t *w, xf_stream_t *c, const char *to)
{
	pres_t	*p = state(c, 0);

	if (!c->s_avail)
		return;
	send_from(w, p ? p->p_last : NULL, c->s_full, to, NULL);
}

/* Probes (RFC 6121 4.3.2): answered only for subscribers. */
static int
pres_inbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st, const char *owner)
{
	const char	*type = xf_el_attr(st, "type");
	const char	*from = xf_el_attr(st, "from");
	char		 bare[XF_JID_MAX + 1];
	int		 sub, r;

	if (strcmp(st->e_name, "presence") != 0 || type == NULL ||
	    strcmp(type, "probe") != 0)
		return XF_DECLINED;
	if (xf_jid_bare_of(from, bare, sizeof(bare)) != XF_OK)
		return XF_OK;
	/* The user's own resources may always probe each other.  A roster
	 * that cannot be read answers nothing: the prober asks again. */
	if (strcmp(bare, owner) == 0)
		xf_presence_send_current(w, owner, from);
	else if ((r = xf_roster_sub(w, owner, bare, &sub)) == XF_ERR)
		log_warnx("presence probe of %s: roster: %s", owner,
		    xf_store_error(w->w_store));
	else if (r == XF_OK && (sub & XF_SUB_FROM))
		xf_presence_send_current(w, owner, from);
	return XF_OK;
}

/*
 * The stream's end may run on another stanza's coroutine (a kick, a
 * replaced resource) and c may be freed while the broadcast waits: all
 * it needs is copied or taken out of c first, and c is not looked at
 * after the first call that may wait.
 */
static int
pres_unbound(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;
	pres_t		*p = state(c, 0);
	char		 full[XF_SESS_JID_MAX + 1], bare[XF_SESS_JID_MAX + 1];
	char		*to[MAX_DIRECTED];
	int		 n, avail = c->s_avail;

	snprintf(full, sizeof(full), "%s", c->s_full);
	snprintf(bare, sizeof(bare), "%s", c->s_bare);
	n = take_directed(p, to);
	if (avail) {
		c->s_avail = 0;
		/* An available broadcast still on its way stops. */
		if (p != NULL)
			p->p_gen++;
		broadcast(w, NULL, full, bare, "unavailable", 0, NULL, 0, 1);
	}
	directed_unavailable(w, full, to, n);
	return XF_DECLINED;
}

void
xf_presence_gone(xf_worker_t *w, const char *full)
{
	char	 bare[XF_JID_MAX + 1], from[XF_SESS_JID_MAX + 1];

	/* A copy: the caller's buffer may be reused while this waits. */
	if (xf_jid_bare_of(full, bare, sizeof(bare)) != XF_OK ||
	    (size_t)snprintf(from, sizeof(from), "%s", full) >= sizeof(from))
		return;
	broadcast(w, NULL, from, bare, "unavailable", 0, NULL, 0, 1);
}

/* XF_MSG_PROBE: a JID asks for the presence of a stream here. */
static void
on_probe(xf_worker_t *w, const xf_ipc_in_t *in)
{
	char	 to[XF_JID_MAX + 1];

	if (in->in_stream == NULL || in->in_len > XF_JID_MAX)
		return;
	memcpy(to, in->in_data, in->in_len);
	to[in->in_len] = '\0';
	answer_probe(w, in->in_stream, to);
}

static void
gone_later(xf_worker_t *w, const xf_ipc_in_t *in)
{
	xf_presence_gone(w, in->in_to);
}

/* XF_MSG_GONE: the master says the target's worker died. */
static void
on_gone(xf_worker_t *w, const xf_ipc_in_t *in)
{
	xf_ipc_later(w, in, gone_later);
}

static void
pres_init(xf_worker_t *w)
{
	xf_ipc_handle(XF_MSG_PROBE, 1, on_probe);
	xf_ipc_handle(XF_MSG_GONE, 0, on_gone);
}

xf_mod_t xf_mod_presence = {
	.m_name = "presence",
	.m_kind = &xf_kind_c2s,
	.m_init = pres_init,
	.m_outbound = pres_outbound,
	.m_inbound = pres_inbound,
	.m_unbound = pres_unbound,
	.m_stream_free = pres_free,
};
