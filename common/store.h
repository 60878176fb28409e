/* store.h: the durable store interface (accounts now; rosters, offline later). */
#ifndef XF_STORE_H
#define XF_STORE_H

#include <stddef.h>

#include "scram.h"

typedef struct xf_store_s xf_store_t;

typedef struct xf_account_s {
	xf_cred_t	ac_cred;
	int64_t		ac_created;	/* unix time */
} xf_account_t;

/*
 * Opens the store under dir (created if missing).  Each process opens
 * its own handle after fork (LMDB forbids sharing an env across fork).
 * err gets a message on failure; the caller logs it.
 */
int	 xf_store_open(const char *dir, xf_store_t **out, char *err, size_t);
void	 xf_store_close(xf_store_t *);

/* bare: a normalised bare JID.  XF_OK, XF_DECLINED (no such user), XF_ERR. */
int	 xf_store_user_get(xf_store_t *, const char *bare, xf_account_t *out);
/* create: XF_DECLINED when the user exists already.  !create: XF_DECLINED
 * when the user does not exist. */
int	 xf_store_user_put(xf_store_t *, const char *bare,
	    const xf_account_t *, int create);
int	 xf_store_user_del(xf_store_t *, const char *bare);
/* Calls fn for each bare JID (optionally only of one domain), sorted. */
int	 xf_store_user_list(xf_store_t *, const char *domain,
	    int (*fn)(void *ud, const char *bare), void *ud);

/*
 * Tables for everything else a user owns.  Keys are bytes; by
 * convention "bare JID NUL subkey", so one user's records are one key
 * range and a user's deletion removes them all.  Values are bytes the
 * caller encodes (usually serialised XML).
 */
enum {
	XF_T_ROSTER = 0,	/* bare NUL contact -> roster item */
	XF_T_OFFLINE,		/* bare NUL seq(8, big-endian) -> stanza */
	XF_T_VCARD,		/* bare -> vCard element */
	XF_T_PRIVATE,		/* bare NUL ns -> private XML */
	XF_T_PEP,		/* bare NUL node NUL item id -> item */
	XF_T_BLOCK,		/* bare NUL jid -> "" */
	XF_T_META,		/* bare NUL name -> small values (roster ver) */
	XF_T_NTABLES
};

/* XF_OK with the value appended to val, XF_DECLINED, XF_ERR. */
int	 xf_store_get(xf_store_t *, int table, const void *key, size_t klen,
	    xf_buf_t *val);
int	 xf_store_put(xf_store_t *, int table, const void *key, size_t klen,
	    const void *val, size_t vlen);
/*
 * A read-modify-write in one write transaction: writers of all processes
 * are serialised by LMDB, so two workers updating one record cannot lose
 * either update.  fn gets the current value (NULL when there is none)
 * and appends the new one to out; it returns XF_OK to store out,
 * XF_DECLINED to delete the key, XF_AGAIN to leave it as it is.  fn must
 * not call the store (the write transaction is open).  Returns what fn
 * returned, or XF_ERR.
 */
int	 xf_store_update(xf_store_t *, int table, const void *key, size_t klen,
	    int (*fn)(void *ud, const void *old, size_t oldlen, xf_buf_t *out),
	    void *ud);
/* XF_DECLINED when there was no such key. */
int	 xf_store_del(xf_store_t *, int table, const void *key, size_t klen);
/* Calls fn for each key starting with prefix, in key order, after the
 * read has ended (fn may write).  fn returns non-zero to stop. */
int	 xf_store_scan(xf_store_t *, int table, const void *prefix,
	    size_t plen, int (*fn)(void *ud, const void *key, size_t klen,
	    const void *val, size_t vlen), void *ud);
int	 xf_store_del_prefix(xf_store_t *, int table, const void *prefix,
	    size_t plen, size_t *count);
/* Counts keys with the prefix (a quota check); _max stops at max. */
int	 xf_store_count(xf_store_t *, int table, const void *prefix,
	    size_t plen, size_t *count);
int	 xf_store_count_max(xf_store_t *, int table, const void *prefix,
	    size_t plen, size_t max, size_t *count);
/* A node-wide increasing number (offline message order). */
int	 xf_store_seq(xf_store_t *, uint64_t *seq);

const char *xf_store_error(const xf_store_t *);

#endif /* XF_STORE_H */
