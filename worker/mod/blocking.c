/* blocking.c: XEP-0191 Blocking Command: the blocklist in the store, its pushes, and the stanzas it stops both ways. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"
#include "im.h"
#include "blocking.h"

#define NS_BLOCKING	"urn:xmpp:blocking"
#define NS_BLOCKED	"urn:xmpp:blocking:errors"

/* Items per user: a bound on what one account may make the store hold. */
#define BLOCK_MAX	10000
/* LMDB's default key limit (mdb_env_get_maxkeysize): longer items could
 * not be stored, so they are refused up front. */
#define STORE_KEY_MAX	511

/* The store's channel for "owner's blocklist changed" across nodes. */
#define NOTICE_CHANNEL		"xf_blocks"

/* Store keys are "owner NUL jid". */
#define KEY_BUF		(STORE_KEY_MAX + 1)

static uint64_t	 push_seq;

/* Length of the key of owner's jid (NULL: the prefix of owner's keys). */
static size_t
keylen(const char *owner, const char *jid)
{
	return strlen(owner) + 1 + (jid ? strlen(jid) : 0);
}

/*
 * Fills key (KEY_BUF bytes); 0 when the key would exceed STORE_KEY_MAX,
 * and then nothing under it can be in the store.  Never hand a 0 length
 * to a prefix call: the empty prefix is every user's list.
 */
static size_t
mkkey(char *key, const char *owner, const char *jid)
{
	size_t	 ol = strlen(owner), jl = jid ? strlen(jid) : 0;

	if (ol + 1 + jl > STORE_KEY_MAX)
		return 0;
	memcpy(key, owner, ol);
	key[ol] = '\0';
	if (jl)
		memcpy(key + ol + 1, jid, jl);
	return ol + 1 + jl;
}

/*
 * XEP-0191 4 (the XEP-0016 order): the entries that match j are
 * user@domain/resource, user@domain, domain/resource and domain, where
 * a domain also matches its subdomains.  Calls fn with each until it
 * returns non-zero, and returns that.
 */
int
xf_blocking_each_candidate(const xf_jid_t *j, int (*fn)(void *, const char *),
    void *ud)
{
	char		 c[XF_JID_MAX + 1];
	const char	*d;

	if (j->j_local && j->j_resource) {
		snprintf(c, sizeof(c), "%s@%s/%s", j->j_local, j->j_domain,
		    j->j_resource);
		if (fn(ud, c))
			return 1;
	}
	if (j->j_local) {
		snprintf(c, sizeof(c), "%s@%s", j->j_local, j->j_domain);
		if (fn(ud, c))
			return 1;
	}
	if (j->j_resource) {
		snprintf(c, sizeof(c), "%s/%s", j->j_domain, j->j_resource);
		if (fn(ud, c))
			return 1;
	}
	for (d = j->j_domain; d != NULL && *d; d = strchr(d, '.')) {
		if (*d == '.')
			d++;
		if (*d && fn(ud, d))
			return 1;
	}
	return 0;
}

static int
same(void *ud, const char *cand)
{
	return strcmp(ud, cand) == 0;
}

/* Whether item (a normalised blocklist entry) matches j. */
int
xf_blocking_matches(const char *item, const xf_jid_t *j)
{
	return xf_blocking_each_candidate(j, same, (void *)item);
}

/* ------------------------------------------------------------ items */

void
xf_blocking_items_free(items_t *it)
{
	for (size_t i = 0; i < it->it_n; i++)
		free(it->it_jid[i]);
	free(it->it_jid);
	memset(it, 0, sizeof(*it));
}

static int
items_add(items_t *it, const char *jid, size_t len)
{
	char	**n;

	if (it->it_n == it->it_cap) {
		size_t	 cap = it->it_cap ? it->it_cap * 2 : 8;

		if ((n = reallocarray(it->it_jid, cap, sizeof(*n))) == NULL)
			return XF_ERR;
		it->it_jid = n;
		it->it_cap = cap;
	}
	if ((it->it_jid[it->it_n] = strndup(jid, len)) == NULL)
		return XF_ERR;
	it->it_n++;
	return XF_OK;
}

static int
list_each(void *ud, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	items_t		*it = ud;
	const char	*k = key;
	const char	*z = memchr(k, '\0', klen);

	if (z == NULL || z + 1 >= k + klen)
		return 0;
	if (items_add(it, z + 1, (size_t)(k + klen - (z + 1))) != XF_OK)
		it->it_oom = 1;
	return it->it_oom;
}

/* owner's blocklist from the store into it (which the caller frees
 * either way).  May suspend (pgsql). */
int
xf_blocking_list(xf_worker_t *w, const char *owner, items_t *it)
{
	char	 key[KEY_BUF];
	size_t	 kl = mkkey(key, owner, NULL);

	if (kl == 0)
		return XF_OK;
	if (xf_store_scan(w->w_store, XF_T_BLOCK, key, kl, list_each, it) !=
	    XF_OK)
		return XF_ERR;
	/* A part of the list is no list: never cache or show it. */
	return it->it_oom ? XF_ERR : XF_OK;
}

/*
 * Drops owner's list from this worker's cache: its blocklist changed
 * (here or on another worker, XF_MSG_BLOCKS) or the account went away.
 * Any load in progress on this worker will not install what it read.
 */
void
xf_blocking_forget(xf_worker_t *w, const char *owner)
{
	xf_blocking_cache_forget(owner);
}

/*
 * A notice from the store (pgsql: NOTIFY from any node sharing the
 * database): "RUN OWNER", owner's list changed on the node whose run id
 * (xf_rings_run) is RUN in hex.  This node's own notices are skipped:
 * its workers heard of the change through their rings before the client
 * was answered, and a late echo would only drop a list read since.
 * NULL: notices may have been lost, nothing cached can be trusted.
 */
static void
on_notice(void *ud, const char *payload)
{
	xf_worker_t	*w = ud;
	unsigned long long run;
	char		*end;

	if (payload == NULL) {
		xf_blocking_cache_clear();
		return;
	}
	run = strtoull(payload, &end, 16);
	if (end == payload || *end != ' ') {
		log_warnx("blocking: notice without a node id ignored");
		return;
	}
	if (run != xf_rings_run(w->w_rings))
		xf_blocking_forget(w, end + 1);
}

/* XF_MSG_BLOCKS: in the ring's order, before the sender's next stanza. */
static void
on_blocks(xf_worker_t *w, const xf_ipc_in_t *in)
{
	xf_blocking_forget(w, in->in_to);
}

static void
blocking_init(xf_worker_t *w)
{
	xf_ipc_handle(XF_MSG_BLOCKS, 0, on_blocks);
	if (xf_store_listen(w->w_store, NOTICE_CHANNEL, on_notice, w) !=
	    XF_OK)
		log_warnx("blocking: no change notices from other nodes: %s",
		    xf_store_error(w->w_store));
}

/*
 * owner's blocklist changed in the store (committed): forget it here and
 * tell every other live worker of the node.  Called before the client
 * hears that the change is done, so that the notices are in the other
 * rings before its next stanza can be read.  A full ring queues the
 * notice on this worker (ipc.c), in order.
 */
void
xf_blocking_changed(xf_worker_t *w, const char *owner)
{
	const xf_wstats_t	*st;

	xf_blocking_forget(w, owner);
	xf_blocking_notify_nodes(w->w_store, w->w_rings, owner);
	for (unsigned s = 0; s < XF_MAX_WORKERS; s++) {
		if (s == w->w_slot ||
		    (st = xf_rings_stats(w->w_rings, s)) == NULL ||
		    st->ws_pid == 0)
			continue;
		/* A worker that sets ws_pid after this reads the store after
		 * the change: it cannot hold the old list. */
		if (xf_ipc_push(w, NULL, s, XF_MSG_BLOCKS, 0, owner, "", 0) !=
		    XF_OK)
			log_warnx("blocking: cannot tell worker slot %u that "
			    "%s's blocklist changed", s, owner);
	}
}

/*
 * Tells the other nodes sharing st that owner's blocklist changed (see
 * on_notice; a no-op on LMDB).  Failing, their copies last until they
 * expire: logged, not an error for the change itself.
 */
void
xf_blocking_notify_nodes(xf_store_t *st, xf_rings_t *rings,
    const char *owner)
{
	char	*payload;

	if (asprintf(&payload, "%016llx %s",
	    (unsigned long long)xf_rings_run(rings), owner) == -1) {
		log_warnx("blocking: notice for %s: out of memory", owner);
		return;
	}
	if (xf_store_notify(st, NOTICE_CHANNEL, payload) != XF_OK)
		log_warnx("blocking: other nodes keep %s's old blocklist for "
		    "up to %d s: %s", owner, XF_BLOCK_CACHE_TTL_MS / 1000,
		    xf_store_error(st));
	free(payload);
}

/* The server itself (a bare virtual host): never blocked, or a user
 * could cut off the answers to his own IQs. */
static int
is_server(xf_worker_t *w, const xf_jid_t *j)
{
	return j->j_local == NULL && j->j_resource == NULL &&
	    xf_conf_is_vhost(w->w_conf, j->j_domain);
}

/* ---------------------------------------------------------------- IQs */

/* The <item jid=.../> children of p, normalised.  XF_DECLINED for a
 * missing or malformed JID. */
static int
items_parse(const xf_el_t *p, items_t *it)
{
	const xf_el_t	*ch;
	const char	*s;
	xf_jid_t	 j;
	char		 n[XF_JID_MAX + 1];

	for (ch = xf_el_first(p); ch != NULL; ch = xf_el_next(ch)) {
		if (!xf_el_in(ch, NS_BLOCKING) || strcmp(ch->e_name, "item") != 0)
			continue;
		if ((s = xf_el_attr(ch, "jid")) == NULL ||
		    xf_jid_parse(s, strlen(s), &j) != XF_OK ||
		    xf_jid_full(&j, n, sizeof(n)) != XF_OK)
			return XF_DECLINED;
		if (items_add(it, n, strlen(n)) != XF_OK)
			return XF_ERR;
	}
	return XF_OK;
}

static void
add_items(xf_el_t *parent, const items_t *it)
{
	xf_el_t	*i;

	if (parent == NULL)
		return;
	for (size_t k = 0; k < it->it_n; k++)
		if ((i = xf_el_add(parent, NS_BLOCKING, "item")) != NULL)
			xf_el_set_attr(i, "jid", it->it_jid[k]);
}

typedef struct push_s {
	xf_worker_t	*p_w;
	xf_stream_t	*p_c;
	xf_el_t		*p_iq;
} push_t;

static int
push_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	push_t	*p = ud;
	char	 id[48];

	snprintf(id, sizeof(id), "xfblock-%u-%llu", p->p_w->w_slot,
	    (unsigned long long)++push_seq);
	if (xf_el_set_attr(p->p_iq, "to", full) == XF_OK &&
	    xf_el_set_attr(p->p_iq, "id", id) == XF_OK)
		xf_route_deliver(p->p_w, p->p_c, full, rec, p->p_iq);
	return 0;
}

/*
 * XEP-0191 5.3, 5.4: pushes to the user's resources.  The XEP names
 * those that requested the blocklist; every bound resource gets it here,
 * since "requested" would have to follow a session across workers and
 * SM resumptions, and a push to a client that never asked is harmless
 * (it answers with an error the server ignores).
 */
static void
push(xf_worker_t *w, xf_stream_t *c, const char *owner, const char *kind,
    const items_t *it)
{
	push_t	 p = { w, c, NULL };

	if ((p.p_iq = xf_el_new(XF_NS_CLIENT, "iq")) == NULL)
		return;
	xf_el_set_attr(p.p_iq, "type", "set");
	xf_el_set_attr(p.p_iq, "from", owner);
	add_items(xf_el_add(p.p_iq, NS_BLOCKING, kind), it);
	if (xf_sess_resources(w->w_sess, owner, push_each, &p) == XF_ERR)
		log_warnx("blocking: session table: %s",
		    xf_sess_error(w->w_sess));
	xf_el_free(p.p_iq);
}

/* ------------------------------------------------------ presence */

/* presence.c: owner's current presence, from each available resource,
 * to to.  Not in im.h yet; declared here as roster.c does. */

typedef struct targets_s {
	const items_t	*tg_items;	/* the items just (un)blocked */
	items_t		 tg_to;		/* contacts they concern */
} targets_t;

static int
contact_each(void *ud, const char *contact, int sub)
{
	targets_t	*tg = ud;
	xf_jid_t	 cj, ij;
	char		 b[XF_JID_MAX + 1];

	if (!(sub & XF_SUB_FROM) ||
	    xf_jid_parse(contact, strlen(contact), &cj) != XF_OK)
		return 0;
	for (size_t i = 0; i < tg->tg_items->it_n; i++) {
		const char	*item = tg->tg_items->it_jid[i];

		if (xf_blocking_matches(item, &cj)) {
			items_add(&tg->tg_to, contact, strlen(contact));
			return 0;
		}
		/* One resource of the contact: that one. */
		if (xf_jid_parse(item, strlen(item), &ij) == XF_OK &&
		    ij.j_local && ij.j_resource &&
		    xf_jid_bare(&ij, b, sizeof(b)) == XF_OK &&
		    strcmp(b, contact) == 0)
			items_add(&tg->tg_to, item, strlen(item));
	}
	return 0;
}

/*
 * The contacts allowed to see owner's presence (a subscription 'from',
 * RFC 6121 4.1) that items concern.  Collected before anything is sent,
 * so nothing runs inside the roster walk.
 */
static void
targets(xf_worker_t *w, const char *owner, const items_t *items,
    items_t *to)
{
	targets_t	 tg = { items, { 0 } };

	if (xf_roster_each(w, owner, contact_each, &tg) == XF_ERR)
		log_warnx("blocking: cannot read the roster of %s", owner);
	*to = tg.tg_to;
}

/*
 * Presence to the contacts among items: XEP-0191 5.3, a blocked contact
 * sees the user go offline (xf_presence_send_unavailable); 5.4, an
 * unblocked one gets the current presence (xf_presence_send_current).
 */
static void
presence_to(xf_worker_t *w, const char *owner, const items_t *items,
    void (*send)(xf_worker_t *, const char *, const char *))
{
	items_t		 to;

	targets(w, owner, items, &to);
	for (size_t i = 0; i < to.it_n; i++)
		send(w, owner, to.it_jid[i]);
	xf_blocking_items_free(&to);
}

/* A store call failed: the IQ may work later (coro rule: type 'wait'). */
static void
store_failed(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner)
{
	log_warnx("c%llu: blocking: %s: %s", (unsigned long long)c->s_id,
	    owner, xf_store_error(w->w_store));
	xf_iq_reply(w, c, xf_iq_error(iq, "wait", "internal-server-error"));
}

static void
do_get(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner)
{
	items_t	 it = { 0 };
	xf_el_t	*r;

	if (xf_blocking_list(w, owner, &it) != XF_OK) {
		store_failed(w, c, iq, owner);
		goto done;
	}
	if ((r = xf_iq_result(iq)) != NULL)
		add_items(xf_el_add(r, NS_BLOCKING, "blocklist"), &it);
	xf_iq_reply(w, c, r);
done:
	xf_blocking_items_free(&it);
}

/* Answers a failed items_parse(); XF_OK when the items are usable. */
static int
items_check(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, int r,
    const items_t *it, const char *owner)
{
	if (r == XF_ERR) {
		xf_route_error(w, c, iq, "wait", "resource-constraint");
		return XF_ERR;
	}
	if (r == XF_DECLINED) {
		xf_route_error(w, c, iq, "modify", "jid-malformed");
		return XF_ERR;
	}
	for (size_t i = 0; i < it->it_n; i++)
		if (keylen(owner, it->it_jid[i]) > STORE_KEY_MAX) {
			xf_route_error(w, c, iq, "modify", "not-acceptable");
			return XF_ERR;
		}
	return XF_OK;
}

/*
 * Every write below is followed by xf_blocking_changed(), also when a
 * later one fails: what was committed must not stay hidden by a cached
 * list, here or on another worker.
 */
static void
do_block(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p,
    const char *owner)
{
	items_t	 it = { 0 };
	char	 key[KEY_BUF];
	size_t	 have = 0, kl, i;

	if (items_check(w, c, iq, items_parse(p, &it), &it, owner) != XF_OK)
		goto done;
	if (it.it_n == 0) {
		/* XEP-0191 5.3: at least one item. */
		xf_route_error(w, c, iq, "modify", "bad-request");
		goto done;
	}
	/* items_check() let no key past STORE_KEY_MAX: kl is not 0. */
	kl = mkkey(key, owner, NULL);
	if (xf_store_count(w->w_store, XF_T_BLOCK, key, kl, &have) != XF_OK) {
		store_failed(w, c, iq, owner);
		goto done;
	}
	if (have + it.it_n > BLOCK_MAX) {
		xf_route_error(w, c, iq, "wait", "resource-constraint");
		goto done;
	}
	for (i = 0; i < it.it_n; i++) {
		kl = mkkey(key, owner, it.it_jid[i]);
		if (xf_store_put(w->w_store, XF_T_BLOCK, key, kl, "", 0) !=
		    XF_OK)
			break;
	}
	xf_blocking_changed(w, owner);
	if (i < it.it_n) {
		store_failed(w, c, iq, owner);
		goto done;
	}
	log_debug("c%llu: %s blocked %zu JID(s)", (unsigned long long)c->s_id,
	    owner, it.it_n);
	xf_iq_reply(w, c, xf_iq_result(iq));
	push(w, c, owner, "block", &it);
	presence_to(w, owner, &it, xf_presence_send_unavailable);
done:
	xf_blocking_items_free(&it);
}

static void
do_unblock(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p,
    const char *owner)
{
	items_t	 it = { 0 }, all = { 0 };
	char	 key[KEY_BUF];
	size_t	 kl, n, i;
	int	 rc = XF_OK;

	if (items_check(w, c, iq, items_parse(p, &it), &it, owner) != XF_OK)
		goto done;
	if (it.it_n == 0) {
		/* XEP-0191 5.5: an empty <unblock/> unblocks everyone. */
		if (xf_blocking_list(w, owner, &all) != XF_OK) {
			store_failed(w, c, iq, owner);
			goto done;
		}
		if ((kl = mkkey(key, owner, NULL)) != 0)
			rc = xf_store_del_prefix(w->w_store, XF_T_BLOCK, key,
			    kl, &n);
	}
	for (i = 0; i < it.it_n && rc != XF_ERR; i++) {
		kl = mkkey(key, owner, it.it_jid[i]);
		rc = xf_store_del(w->w_store, XF_T_BLOCK, key, kl);
	}
	xf_blocking_changed(w, owner);
	if (rc == XF_ERR) {
		store_failed(w, c, iq, owner);
		goto done;
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
	/* The push repeats the request: empty for "everyone". */
	push(w, c, owner, "unblock", &it);
	presence_to(w, owner, it.it_n ? &it : &all,
	    xf_presence_send_current);
done:
	xf_blocking_items_free(&all);
	xf_blocking_items_free(&it);
}

static int
blocking_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p,
    int target, const char *owner)
{
	const char	*type = xf_el_attr(iq, "type");
	char		 own[XF_SESS_JID_MAX + 1];

	if (!xf_el_in(p, NS_BLOCKING) || target != XF_IQ_ACCOUNT)
		return XF_DECLINED;
	/* Only the user's own sessions read or change the list. */
	if (c == NULL || !xf_streq(owner, c->s_bare)) {
		xf_route_error(w, c, iq, "auth", "forbidden");
		return XF_OK;
	}
	/* Store calls may suspend: keep the owner in this frame. */
	snprintf(own, sizeof(own), "%s", c->s_bare);
	owner = own;
	if (xf_streq(type, "get") && strcmp(p->e_name, "blocklist") == 0)
		do_get(w, c, iq, owner);
	else if (xf_streq(type, "set") && strcmp(p->e_name, "block") == 0)
		do_block(w, c, iq, p, owner);
	else if (xf_streq(type, "set") && strcmp(p->e_name, "unblock") == 0)
		do_unblock(w, c, iq, p, owner);
	else
		xf_route_error(w, c, iq, "modify", "bad-request");
	return XF_OK;
}

/* ------------------------------------------------------- stanzas */

/*
 * XEP-0191 5.3: from a blocked entity, presence vanishes, a message or
 * an IQ get/set gets service-unavailable (the user seems offline), any
 * other IQ vanishes.
 */
static void
refuse_inbound(xf_worker_t *w, xf_stream_t *from, const xf_el_t *st)
{
	const char	*type = xf_el_attr(st, "type");

	if (strcmp(st->e_name, "message") == 0 ||
	    (strcmp(st->e_name, "iq") == 0 && (xf_streq(type, "get") ||
	    xf_streq(type, "set"))))
		xf_route_error(w, from, st, "cancel", "service-unavailable");
}

static int
blocking_inbound(xf_worker_t *w, xf_stream_t *from, xf_el_t *st,
    const char *to_bare)
{
	const char	*sfrom = xf_el_attr(st, "from");
	const char	*to = xf_el_attr(st, "to");
	const char	*type;
	xf_jid_t	 j, tj;
	char		 sbare[XF_JID_MAX + 1];

	/* A local client's stanza, and neither side blocks anybody. */
	if (from != NULL && sfrom != NULL && strcmp(sfrom, from->s_full) == 0 &&
	    xf_blocking_nobody(w, to_bare) &&
	    xf_blocking_nobody(w, from->s_bare))
		return XF_DECLINED;
	if (sfrom == NULL || xf_jid_parse(sfrom, strlen(sfrom), &j) != XF_OK ||
	    xf_jid_bare(&j, sbare, sizeof(sbare)) != XF_OK ||
	    strcmp(sbare, to_bare) == 0 || is_server(w, &j))
		return XF_DECLINED;
	if (xf_blocking_blocked(w, to_bare, &j)) {
		log_debug("blocking: %s -> %s refused", sfrom, to_bare);
		refuse_inbound(w, from, st);
		return XF_OK;
	}
	/*
	 * The other way: what the server sends for a local user who blocked
	 * the recipient (presence broadcasts, PEP notifications) vanishes.
	 * A client's own stanzas were stopped by the outbound hook already.
	 * Errors pass, or the bounces above would be lost; so does
	 * unavailable presence, which tells nothing and is how the block
	 * itself is announced (presence_block()).
	 */
	type = xf_el_attr(st, "type");
	if (j.j_local != NULL && xf_conf_is_vhost(w->w_conf, j.j_domain) &&
	    !xf_streq(type, "error") && !(strcmp(st->e_name, "presence") == 0 &&
	    xf_streq(type, "unavailable")) && to != NULL &&
	    xf_jid_parse(to, strlen(to), &tj) == XF_OK &&
	    xf_blocking_blocked(w, sbare, &tj)) {
		log_debug("blocking: %s -> %s dropped (blocked by sender)",
		    sfrom, to);
		return XF_OK;
	}
	return XF_DECLINED;
}

/* XEP-0191 5.3: not-acceptable with <blocked/>, to the sender only. */
static void
bounce_blocked(xf_stream_t *c, const xf_el_t *st)
{
	xf_el_t	*e, *err;

	if ((e = xf_el_copy(st)) == NULL)
		return;
	xf_el_set_attr(e, "from", xf_el_attr(st, "to"));
	xf_el_set_attr(e, "to", c->s_full);
	xf_el_set_attr(e, "type", "error");
	if ((err = xf_el_add(e, XF_NS_CLIENT, "error")) != NULL) {
		xf_el_set_attr(err, "type", "cancel");
		xf_el_add(err, XF_NS_STANZAS, "not-acceptable");
		xf_el_add(err, NS_BLOCKED, "blocked");
	}
	xf_stream_send_el(c, e);
	xf_el_free(e);
}

static int
blocking_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	const char	*to = xf_el_attr(st, "to");
	const char	*type = xf_el_attr(st, "type");
	xf_jid_t	 j;
	char		 tbare[XF_JID_MAX + 1];

	if (c == NULL || to == NULL || xf_blocking_nobody(w, c->s_bare) ||
	    xf_jid_parse(to, strlen(to), &j) != XF_OK ||
	    xf_jid_bare(&j, tbare, sizeof(tbare)) != XF_OK ||
	    strcmp(tbare, c->s_bare) == 0 || is_server(w, &j) ||
	    !xf_blocking_blocked(w, c->s_bare, &j))
		return XF_DECLINED;
	log_debug("c%llu: %s -> %s: blocked", (unsigned long long)c->s_id,
	    c->s_bare, to);
	/* The list may have been read on this coroutine (pgsql): the
	 * stream may have ended meanwhile, and then there is nobody to
	 * answer. */
	if (c->s_state != C2S_BOUND || c->s_full[0] == '\0')
		return XF_OK;
	/* Errors are never answered; an IQ result just goes nowhere. */
	if (!xf_streq(type, "error") && !(strcmp(st->e_name, "iq") == 0 &&
	    xf_streq(type, "result")))
		bounce_blocked(c, st);
	return XF_OK;
}

/*
 * A session starts: read its owner's list now, while the login waits for
 * the store anyway, so that its first stanzas need not (pgsql).
 */
static void
blocking_bound(xf_stream_t *c)
{
	xf_jid_t	 self;
	char		 owner[XF_JID_MAX + 1];

	snprintf(owner, sizeof(owner), "%s", c->s_bare);
	if (!xf_blocking_cached(c->s_w, owner) &&
	    xf_jid_parse(owner, strlen(owner), &self) == XF_OK)
		(void)xf_blocking_blocked(c->s_w, owner, &self);
}

xf_mod_t xf_mod_blocking = {
	.m_name = "blocking",
	.m_kind = &xf_kind_c2s,
	.m_init = blocking_init,
	.m_bound = blocking_bound,
	.m_iq = blocking_iq,
	.m_outbound = blocking_outbound,
	.m_inbound = blocking_inbound,
};
