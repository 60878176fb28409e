/* blocking_cache.c: each worker's cache of XEP-0191 blocklists (LRU, bounded, kept coherent by change notices): whether owner blocks a JID. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "blocking.h"

#define CACHE_BUCKETS		(2 * XF_BLOCK_CACHE_OWNERS)	/* power of 2 */

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
	return b->b_n > 0 && xf_blocking_each_candidate(j, bl_has, (void *)b);
}

/* Whether owner's list is cached, current and empty: most users block
 * nobody, and then the hooks need not even parse a JID. */
int
xf_blocking_nobody(xf_worker_t *w, const char *owner)
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
int
xf_blocking_blocked(xf_worker_t *w, const char *owner, const xf_jid_t *j)
{
	items_t		 it = { 0 };
	uint64_t	 gen, now, ttl;
	bl_t		*b;
	int		 r;

	if ((b = cache_hit(w, owner)) != NULL)
		return bl_blocks(b, j);
	gen = cache.c_gen;
	if (xf_blocking_list(w, owner, &it) != XF_OK) {
		xf_blocking_items_free(&it);
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
			r = xf_blocking_matches(it.it_jid[i], j);
		xf_blocking_items_free(&it);
		return r;
	}
	xf_blocking_items_free(&it);
	r = bl_blocks(b, j);
	if (gen != cache.c_gen || cache_put(b) != XF_OK)
		free(b);
	return r;
}

int
xf_blocking_cached(xf_worker_t *w, const char *owner)
{
	return cache_hit(w, owner) != NULL;
}

void
xf_blocking_cache_forget(const char *owner)
{
	bl_t	*b;

	cache.c_gen++;
	if ((b = cache_find(owner)) != NULL)
		cache_drop(b);
}

void
xf_blocking_cache_clear(void)
{
	cache.c_gen++;
	while (cache.c_head != NULL)
		cache_drop(cache.c_head);
}
