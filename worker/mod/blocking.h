/* blocking.h: what blocking.c (the blocklist's IQs and hooks) and blocking_cache.c (its per-worker cache) share; private to them. */
#ifndef XF_BLOCKING_H
#define XF_BLOCKING_H

#include <stddef.h>

#include "worker.h"

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

typedef struct items_s {
	char	**it_jid;	/* owned, normalised */
	size_t	 it_n;
	size_t	 it_cap;
	int	 it_oom;	/* list_each ran out of memory */
} items_t;

/* blocking.c */
/* XEP-0191 4: calls fn with each blocklist entry that would match j,
 * until it returns non-zero, and returns that. */
int	 xf_blocking_each_candidate(const xf_jid_t *j,
	    int (*fn)(void *, const char *), void *ud);
/* Whether item (a normalised blocklist entry) matches j. */
int	 xf_blocking_matches(const char *item, const xf_jid_t *j);
void	 xf_blocking_items_free(items_t *);
/* owner's blocklist from the store into it (which the caller frees
 * either way).  May suspend (pgsql). */
int	 xf_blocking_list(xf_worker_t *, const char *owner, items_t *it);

/* blocking_cache.c */
/* Whether owner blocks j: from the cache, or read from the store (may
 * suspend) and cached. */
int	 xf_blocking_blocked(xf_worker_t *, const char *owner,
	    const xf_jid_t *j);
/* Whether owner's list is cached, current and empty. */
int	 xf_blocking_nobody(xf_worker_t *, const char *owner);
/* Whether owner's list is cached and current (now the most recently
 * used). */
int	 xf_blocking_cached(xf_worker_t *, const char *owner);
/* Drops owner's list, if cached; a load in progress on this worker will
 * not install what it read. */
void	 xf_blocking_cache_forget(const char *owner);
/* Drops every list: notices may have been lost. */
void	 xf_blocking_cache_clear(void);

#endif /* XF_BLOCKING_H */
