/* store.h: the durable store interface: accounts and per-user tables, on LMDB or PostgreSQL. */
#ifndef XF_STORE_H
#define XF_STORE_H

#include <stddef.h>

#include "scram.h"

typedef struct xf_store_s xf_store_t;

/*
 * Which backend and where.  lmdb: an environment in sc_dir, zero set-up,
 * one node.  pgsql: a PostgreSQL database (libpq conninfo in sc_dsn)
 * that every node of a cluster shares, created by `xfedctl db init`
 * from conf/pgsql.sql.
 *
 * The pgsql backend never blocks a worker's loop: called on a coroutine
 * (common/coro.h) a query suspends the caller until PostgreSQL answers
 * and the loop serves everybody else meanwhile; up to sc_pool queries
 * run at once, more wait for a connection.  Called outside a coroutine
 * (the master, xfedctl) it waits, on one connection of its own.  Either
 * way a query that takes longer than sc_timeout seconds fails, and a
 * database that cannot be reached makes calls fail at once (XF_ERR,
 * xf_store_error() says why) for a second before it is tried again.
 */
typedef struct xf_store_conf_s {
	int		 sc_backend;	/* XF_STORE_LMDB, XF_STORE_PGSQL */
	const char	*sc_dir;	/* lmdb */
	const char	*sc_dsn;	/* pgsql */
	int		 sc_pool;	/* pgsql: connections per process */
	int		 sc_timeout;	/* pgsql: seconds per query */
	size_t		 sc_map_size;	/* lmdb: bytes the map may take
					   (storage 'map-size'); 0: 1 GiB */
} xf_store_conf_t;

typedef struct xf_account_s {
	xf_cred_t	ac_cred;
	int64_t		ac_created;	/* unix time */
} xf_account_t;

/*
 * Opens a store (lmdb: the directory is created if missing; pgsql:
 * connects lazily, so a database that is down does not stop a node from
 * starting).  Each process opens its own handle after fork (LMDB forbids
 * sharing an env across fork; a libpq connection is one process's).
 * err gets a message on failure; the caller logs it.
 */
int	 xf_store_open(const xf_store_conf_t *, xf_store_t **out, char *err,
	    size_t);
/* The store the configuration names (lmdb: <data-dir>/store). */
struct xf_conf_s;
int	 xf_store_open_conf(const struct xf_conf_s *, xf_store_t **out,
	    char *err, size_t);
/* An LMDB store in dir: the unit tests' and migration's shorthand. */
int	 xf_store_open_lmdb(const char *dir, xf_store_t **out, char *err,
	    size_t);
void	 xf_store_close(xf_store_t *);
/* "lmdb" or "pgsql". */
const char *xf_store_backend(const xf_store_t *);
/*
 * Whether the store answers and its schema is there: XF_OK with a line
 * for the log in msg; XF_AGAIN when it works but msg warns (pgsql: the
 * server takes fewer connections than conns, what the node may open);
 * XF_ERR (xf_store_error() says why).
 */
int	 xf_store_check(xf_store_t *, int conns, char *msg, size_t);

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
/* Counts keys with the prefix and adds up the sizes of their values (a
 * quota in bytes), in one read. */
int	 xf_store_usage(xf_store_t *, int table, const void *prefix,
	    size_t plen, size_t *count, size_t *bytes);
/* A node-wide increasing number (offline message order). */
int	 xf_store_seq(xf_store_t *, uint64_t *seq);

/*
 * Change notices between every process and node that shares the store,
 * for what they cache (a worker's blocklists): pgsql sends them with
 * NOTIFY and takes them on a connection of its own that LISTENs, on the
 * loop given to xf_co_init(); lmdb has one node, whose workers tell each
 * other through their rings, so there both are no-ops.  fn gets each
 * payload (this process's own notices too), or NULL when notices may
 * have been missed (the listening connection was lost and is back):
 * then everything cached from the store must go.
 */
int	 xf_store_listen(xf_store_t *, const char *channel,
	    void (*fn)(void *ud, const char *payload), void *ud);
int	 xf_store_notify(xf_store_t *, const char *channel,
	    const char *payload);

const char *xf_store_error(const xf_store_t *);
/*
 * Non-zero while the store is out of space: set by a write that failed
 * for want of room (lmdb: its map of storage 'map-size' bytes is used
 * up, or the disk is full; pgsql: the server's disk is full), cleared
 * by the next write that succeeds.  A caller that fails writes one
 * after another (a stanza each) logs the state once with it rather than
 * a line per write.
 */
int	 xf_store_full(const xf_store_t *);

#endif /* XF_STORE_H */
