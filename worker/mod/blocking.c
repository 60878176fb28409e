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

#define NS_BLOCKING	"urn:xmpp:blocking"
#define NS_BLOCKED	"urn:xmpp:blocking:errors"

/* Items per user: a bound on what one account may make the store hold. */
#define BLOCK_MAX	10000
/* LMDB's default key limit (mdb_env_get_maxkeysize): longer items could
 * not be stored, so they are refused up front. */
#define STORE_KEY_MAX	511

/*
 * The per-worker blocklist cache: owners held (LRU beyond that), bytes
 * of lists held (a list may have BLOCK_MAX items of 511 bytes: 5 MB),
 * and how long a list is trusted without a change notice.  The notices
 * (XF_MSG_BLOCKS) keep the workers of this node coherent; the lifetime
 * only bounds how stale a list can get when the store is changed behind
 * blocking.c's back: an account deleted and created again, or, on a
 * PostgreSQL store that other nodes share, a change made on another node
 * whose notice (NOTIFY, see on_notice) could not be sent.
 */
#define XF_BLOCK_CACHE_OWNERS	16384
#define XF_BLOCK_CACHE_BYTES	(16u << 20)
#define XF_BLOCK_CACHE_TTL_MS	(5 * 60 * 1000)
/* An expired list whose reload failed is used for this long before the
 * store is asked again (a store that is down fails for a second). */
#define XF_BLOCK_CACHE_RETRY_MS	1000
#define CACHE_BUCKETS		(2 * XF_BLOCK_CACHE_OWNERS)	/* power of 2 */
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
static int
each_candidate(const xf_jid_t *j, int (*fn)(void *, const char *),
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
static int
matches(const char *item, const xf_jid_t *j)
{
	return each_candidate(j, same, (void *)item);
}

/* ------------------------------------------------------------ items */

typedef struct items_s {
	char	**it_jid;	/* owned, normalised */
	size_t	 it_n;
	size_t	 it_cap;
	int	 it_oom;	/* list_each ran out of memory */
} items_t;

static void
items_free(items_t *it)
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
static int
blocklist(xf_worker_t *w, const char *owner, items_t *it)
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

/* ------------------------------------------------------------ cache */

/*
 * One owner's blocklist: one allocation holding the entry, the owner,
 * the item pointers (sorted, for bsearch) and the item strings.  Most
 * owners block nobody: b_n == 0 answers them with no search at all.
 */
typedef struct bl_s bl_t;
struct bl_s {
	bl_t		*b_hnext;	/* hash chain */
	bl_t		*b_prev;	/* LRU, most recently used first */
	bl_t		*b_next;
	uint64_t	 b_expires;	/* xf_loop_now() ms */
	size_t		 b_bytes;	/* the allocation's size */
	uint32_t	 b_hash;
	size_t		 b_n;
	const char	*b_owner;	/* points into the allocation */
	const char	*b_items[];	/* sorted by strcmp */
};

/*
 * The worker's cache (one worker per process).  No pointer into it is
 * held across a store call: a call may suspend the coroutine, and other
 * stanzas meanwhile may evict or invalidate any entry.  c_gen moves with
 * every invalidation; a load installs its list only when c_gen did not
 * move while it read the store, so a list read before a change cannot
 * be installed after the change's notice.
 */
static struct {
	bl_t		**c_tab;	/* CACHE_BUCKETS chains, lazily */
	bl_t		 *c_head;	/* LRU list */
	bl_t		 *c_tail;
	size_t		  c_n;
	size_t		  c_bytes;
	uint64_t	  c_gen;
} cache;

static uint32_t
hash(const char *s)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int
cmp_item(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/* A new entry (not in the cache) for owner's items; NULL on ENOMEM. */
static bl_t *
bl_new(const char *owner, const items_t *it, uint64_t expires)
{
	size_t	 ol = strlen(owner) + 1, sz, len;
	bl_t	*b;
	char	*p;

	sz = sizeof(*b) + it->it_n * sizeof(b->b_items[0]) + ol;
	for (size_t i = 0; i < it->it_n; i++)
		sz += strlen(it->it_jid[i]) + 1;
	if ((b = malloc(sz)) == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->b_bytes = sz;
	b->b_hash = hash(owner);
	b->b_expires = expires;
	b->b_n = it->it_n;
	p = (char *)&b->b_items[it->it_n];
	memcpy(p, owner, ol);
	b->b_owner = p;
	p += ol;
	for (size_t i = 0; i < it->it_n; i++) {
		len = strlen(it->it_jid[i]) + 1;
		memcpy(p, it->it_jid[i], len);
		b->b_items[i] = p;
		p += len;
	}
	qsort(b->b_items, b->b_n, sizeof(b->b_items[0]), cmp_item);
	return b;
}

static bl_t **
chain(uint32_t h)
{
	return &cache.c_tab[h & (CACHE_BUCKETS - 1)];
}

static void
lru_unlink(bl_t *b)
{
	if (b->b_prev)
		b->b_prev->b_next = b->b_next;
	else
		cache.c_head = b->b_next;
	if (b->b_next)
		b->b_next->b_prev = b->b_prev;
	else
		cache.c_tail = b->b_prev;
	b->b_prev = b->b_next = NULL;
}

static void
lru_front(bl_t *b)
{
	b->b_next = cache.c_head;
	if (cache.c_head)
		cache.c_head->b_prev = b;
	cache.c_head = b;
	if (cache.c_tail == NULL)
		cache.c_tail = b;
}

static bl_t *
cache_find(const char *owner)
{
	uint32_t	 h;
	bl_t		*b;

	if (cache.c_tab == NULL)
		return NULL;
	h = hash(owner);
	for (b = *chain(h); b != NULL; b = b->b_hnext)
		if (b->b_hash == h && strcmp(b->b_owner, owner) == 0)
			return b;
	return NULL;
}

static void
cache_drop(bl_t *b)
{
	bl_t	**pp;

	for (pp = chain(b->b_hash); *pp != b; pp = &(*pp)->b_hnext)
		;
	*pp = b->b_hnext;
	lru_unlink(b);
	cache.c_n--;
	cache.c_bytes -= b->b_bytes;
	free(b);
}

/* Takes b into the cache, replacing owner's entry, evicting the least
 * recently used past the bounds.  XF_ERR (b not taken) when it cannot. */
static int
cache_put(bl_t *b)
{
	bl_t	*old, **pp;

	if (b->b_bytes > XF_BLOCK_CACHE_BYTES / 2)
		return XF_ERR;		/* would evict half the cache */
	if (cache.c_tab == NULL &&
	    (cache.c_tab = calloc(CACHE_BUCKETS, sizeof(*cache.c_tab))) ==
	    NULL)
		return XF_ERR;
	if ((old = cache_find(b->b_owner)) != NULL)
		cache_drop(old);
	while (cache.c_tail != NULL && (cache.c_n >= XF_BLOCK_CACHE_OWNERS ||
	    cache.c_bytes + b->b_bytes > XF_BLOCK_CACHE_BYTES))
		cache_drop(cache.c_tail);
	pp = chain(b->b_hash);
	b->b_hnext = *pp;
	*pp = b;
	lru_front(b);
	cache.c_n++;
	cache.c_bytes += b->b_bytes;
	return XF_OK;
}

/*
 * Drops owner's list from this worker's cache: its blocklist changed
 * (here or on another worker, XF_MSG_BLOCKS) or the account went away.
 * Any load in progress on this worker will not install what it read.
 */
void
xf_blocking_forget(xf_worker_t *w, const char *owner)
{
	bl_t	*b;

	cache.c_gen++;
	if ((b = cache_find(owner)) != NULL)
		cache_drop(b);
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
		cache.c_gen++;
		while (cache.c_head != NULL)
			cache_drop(cache.c_head);
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

/* owner's current cached list, now the most recently used; or NULL. */
static bl_t *
cache_hit(xf_worker_t *w, const char *owner)
{
	bl_t	*b = cache_find(owner);

	if (b == NULL || b->b_expires <= xf_loop_now(w->w_loop))
		return NULL;
	if (b != cache.c_head) {
		lru_unlink(b);
		lru_front(b);
	}
	return b;
}

static int
bl_has(void *ud, const char *cand)
{
	const bl_t	*b = ud;

	return bsearch(&cand, b->b_items, b->b_n, sizeof(b->b_items[0]),
	    cmp_item) != NULL;
}

static int
bl_blocks(const bl_t *b, const xf_jid_t *j)
{
	return b->b_n > 0 && each_candidate(j, bl_has, (void *)b);
}

/* Whether owner's list is cached, current and empty: most users block
 * nobody, and then the hooks need not even parse a JID. */
static int
blocks_nobody(xf_worker_t *w, const char *owner)
{
	bl_t	*b = cache_hit(w, owner);

	return b != NULL && b->b_n == 0;
}

/* One warning a second while the store fails, not one per stanza. */
static void
load_failed(xf_worker_t *w, const char *owner, const char *what)
{
	static uint64_t	 last;
	uint64_t	 now = xf_loop_now(w->w_loop);

	if (last != 0 && now - last < 1000)
		return;
	last = now;
	log_warnx("blocking: cannot read %s's blocklist: %s; %s", owner,
	    xf_store_error(w->w_store), what);
}

/*
 * Whether owner blocks j.  A cached list costs a hash lookup and, when
 * owner blocks anybody, a binary search per candidate form of j.
 * Otherwise the list is read (this may suspend on pgsql) and cached
 * unless a change notice arrived meanwhile.  A store error counts as
 * "not blocked" and is not cached, except that an expired list stays
 * in use until the store answers again.
 */
static int
blocked(xf_worker_t *w, const char *owner, const xf_jid_t *j)
{
	items_t		 it = { 0 };
	uint64_t	 gen, now, ttl;
	bl_t		*b;
	int		 r;

	if ((b = cache_hit(w, owner)) != NULL)
		return bl_blocks(b, j);
	gen = cache.c_gen;
	if (blocklist(w, owner, &it) != XF_OK) {
		items_free(&it);
		/* Look again: the call may have suspended, and whatever is in
		 * the cache now was installed with no notice after it. */
		if ((b = cache_find(owner)) == NULL) {
			load_failed(w, owner, "treated as blocking nobody");
			return 0;
		}
		now = xf_loop_now(w->w_loop);
		if (b->b_expires <= now) {
			load_failed(w, owner, "using the list read before");
			b->b_expires = now + XF_BLOCK_CACHE_RETRY_MS;
		}
		return bl_blocks(b, j);
	}
	ttl = XF_BLOCK_CACHE_TTL_MS;
	if ((b = bl_new(owner, &it, xf_loop_now(w->w_loop) + ttl)) == NULL) {
		/* Out of memory: answer from the list just read. */
		r = 0;
		for (size_t i = 0; i < it.it_n && !r; i++)
			r = matches(it.it_jid[i], j);
		items_free(&it);
		return r;
	}
	items_free(&it);
	r = bl_blocks(b, j);
	if (gen != cache.c_gen || cache_put(b) != XF_OK)
		free(b);
	return r;
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

		if (matches(item, &cj)) {
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
	items_free(&to);
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

	if (blocklist(w, owner, &it) != XF_OK) {
		store_failed(w, c, iq, owner);
		goto done;
	}
	if ((r = xf_iq_result(iq)) != NULL)
		add_items(xf_el_add(r, NS_BLOCKING, "blocklist"), &it);
	xf_iq_reply(w, c, r);
done:
	items_free(&it);
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
	items_free(&it);
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
		if (blocklist(w, owner, &all) != XF_OK) {
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
	items_free(&all);
	items_free(&it);
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
	    blocks_nobody(w, to_bare) && blocks_nobody(w, from->s_bare))
		return XF_DECLINED;
	if (sfrom == NULL || xf_jid_parse(sfrom, strlen(sfrom), &j) != XF_OK ||
	    xf_jid_bare(&j, sbare, sizeof(sbare)) != XF_OK ||
	    strcmp(sbare, to_bare) == 0 || is_server(w, &j))
		return XF_DECLINED;
	if (blocked(w, to_bare, &j)) {
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
	    blocked(w, sbare, &tj)) {
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

	if (c == NULL || to == NULL || blocks_nobody(w, c->s_bare) ||
	    xf_jid_parse(to, strlen(to), &j) != XF_OK ||
	    xf_jid_bare(&j, tbare, sizeof(tbare)) != XF_OK ||
	    strcmp(tbare, c->s_bare) == 0 || is_server(w, &j) ||
	    !blocked(w, c->s_bare, &j))
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
	if (cache_hit(c->s_w, owner) == NULL &&
	    xf_jid_parse(owner, strlen(owner), &self) == XF_OK)
		(void)blocked(c->s_w, owner, &self);
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
