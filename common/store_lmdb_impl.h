/* store_lmdb_impl.h: the LMDB backend's handle and what store_lmdb.c (operations) and store_lmdb_env.c (environment) share; private to them. */
#ifndef XF_STORE_LMDB_IMPL_H
#define XF_STORE_LMDB_IMPL_H

#include <stddef.h>

#include <lmdb.h>

#include "xf.h"
#include "store.h"
#include "store_impl.h"

#define table_names	xf_store_tables

typedef struct lmdb_s {
	xf_store_t	 st_base;
	MDB_env		*st_env;
	MDB_txn		*st_rtxn;	/* kept reset between reads */
	MDB_dbi		 st_accounts;
	MDB_dbi		 st_tables[XF_T_NTABLES];
	size_t		 st_mapsize;
} lmdb_t;

#define st_err	st_base.st_err

/* Commits a write; one that goes through means there is room again.
 * Commit frees the txn, failed or not. */
static inline int
wcommit(lmdb_t *st, MDB_txn *txn)
{
	int	 rc;

	if ((rc = mdb_txn_commit(txn)) == 0)
		st->st_base.st_full = 0;
	return rc;
}

static inline void
rend(lmdb_t *st, MDB_txn *txn)
{
	mdb_txn_reset(txn);
}

/* In store_lmdb_env.c.  The store's error from an LMDB or errno code (0:
 * none) and a message; returns XF_ERR. */
int	 xf_lmdb_fail(lmdb_t *st, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Makes a write that adds data leave room for deletes (see there). */
int	 xf_lmdb_headroom(lmdb_t *, MDB_txn *);
/* A read transaction on the handle's one reused txn; ended by rend(). */
int	 xf_lmdb_rbegin(lmdb_t *, MDB_txn **);
/* so_close, in store_lmdb_env.c with the open. */
void	 xf_lmdb_close(xf_store_t *);

/* The operations, in store_lmdb.c. */
extern const xf_store_ops_t xf_lmdb_ops;

#endif /* XF_STORE_LMDB_IMPL_H */
