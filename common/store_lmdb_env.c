/* store_lmdb_env.c: the LMDB backend's environment: opening and closing it, its transactions, and the one place an LMDB code becomes the store's error. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "xf.h"
#include "store.h"
#include "store_impl.h"
#include "store_lmdb_impl.h"

/*
 * One LMDB environment per node, in its own directory, holding one named
 * database per kind of data:
 *
 *   "accounts"   bare JID -> account record (below)
 *   "rosters"    reserved: bare JID NUL contact JID -> roster item
 *   "offline"    reserved: bare JID NUL sequence -> stanza
 *
 * Every process (master, each worker, xfedctl) opens its own handle after
 * fork: LMDB keeps per-process state (the lock file's fcntl locks, reader
 * slots) that a forked child must not use, so an xf_store_t never crosses
 * a fork.  Nor may one process open the same directory twice: closing
 * either handle would drop the other's locks.
 *
 * Any process may write.  LMDB serialises writers across processes with
 * its own mutex in the lock file, and readers never block: a read sees
 * the last transaction committed before it began.  Commits are synced
 * (no MDB_NOSYNC): an account that was created stays created after a
 * crash or power loss.
 */

#define STORE_MAPSIZE	((size_t)1 << 30)	/* default storage 'map-size' */
#define STORE_MAXDBS	16			/* accounts + tables + room */
#define STORE_HEADROOM	(32 * 1024)		/* kept free for deletes */

/*
 * The one place an LMDB (or errno) code becomes the store's error.  Out
 * of room is said plainly, with the setting that bounds the map: the map
 * is a sparse file, so MDB_MAP_FULL comes long before the disk is full
 * unless storage 'map-size' was set larger than the disk.
 */
int
xf_lmdb_fail(lmdb_t *st, int rc, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(st->st_err, sizeof(st->st_err), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(st->st_err))
		n = 0;
	if (rc == MDB_MAP_FULL) {
		MDB_envinfo	 ei;

		/* What the map is, which the data may have made larger. */
		if (mdb_env_info(st->st_env, &ei) != 0)
			ei.me_mapsize = st->st_mapsize;
		st->st_base.st_full = 1;
		snprintf(st->st_err + n, sizeof(st->st_err) - (size_t)n,
		    ": store full: its map of %zu bytes is used up (storage "
		    "'map-size')", ei.me_mapsize);
	} else if (rc == ENOSPC || rc == EDQUOT) {
		st->st_base.st_full = 1;
		snprintf(st->st_err + n, sizeof(st->st_err) - (size_t)n,
		    ": store full: %s", mdb_strerror(rc));
	} else if (rc != 0)
		snprintf(st->st_err + n, sizeof(st->st_err) - (size_t)n,
		    ": %s", mdb_strerror(rc));
	return XF_ERR;
}

/*
 * LMDB copies every page a write touches, a delete too, so a map with
 * no free page left refuses even the deletes that would make room: a
 * full store would stay full however many messages were delivered.  A
 * write that adds data must therefore leave STORE_HEADROOM free: it
 * takes that much more in its transaction and gives it back before the
 * commit, so the pages go to the free list where deletes find them, or
 * it fails with MDB_MAP_FULL as if its own data had not fitted.
 */
int
xf_lmdb_headroom(lmdb_t *st, MDB_txn *txn)
{
	static const char key[] = "\0room";	/* no JID starts with NUL */
	MDB_val		 k = { sizeof(key) - 1, (void *)key };
	MDB_val		 v = { STORE_HEADROOM, NULL };
	int		 rc;

	if ((rc = mdb_put(txn, st->st_tables[XF_T_META], &k, &v,
	    MDB_RESERVE)) != 0)
		return rc;
	return mdb_del(txn, st->st_tables[XF_T_META], &k, NULL);
}

/* mkdir -p with mode 0700 for what it creates. */
static int
mkdirs(const char *dir)
{
	char		 path[4096], *p, c;
	struct stat	 sb;
	size_t		 len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '/' && p[-1] == '/')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(dir, &sb) == -1)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * Reads reuse one transaction handle, reset between uses and renewed for
 * the next (mdb_txn_renew): a router lookup then costs no reader-slot
 * search.  A reset handle holds no snapshot, so writers are not held
 * back.  One read at a time per handle: callers never nest them.
 */
int
xf_lmdb_rbegin(lmdb_t *st, MDB_txn **txn)
{
	int	 rc;

	if (st->st_rtxn != NULL && (rc = mdb_txn_renew(st->st_rtxn)) == 0) {
		*txn = st->st_rtxn;
		return 0;
	}
	if (st->st_rtxn != NULL) {
		mdb_txn_abort(st->st_rtxn);
		st->st_rtxn = NULL;
	}
	if ((rc = mdb_txn_begin(st->st_env, NULL, MDB_RDONLY, txn)) != 0)
		return rc;
	st->st_rtxn = *txn;
	return 0;
}

int
xf_store_open_lmdb(const char *dir, xf_store_t **out, char *err, size_t errlen)
{
	xf_store_conf_t	 sc = { .sc_dir = dir };

	return xf_store_lmdb_open(&sc, out, err, errlen);
}

/*
 * The map size is each process's own: a process opening with a smaller
 * one than the data already takes gets the data's size (LMDB grows it),
 * and a larger one takes effect for all at the next write.
 */
int
xf_store_lmdb_open(const xf_store_conf_t *sc, xf_store_t **out, char *err,
    size_t errlen)
{
	const char	*dir = sc->sc_dir;
	lmdb_t		*st;
	MDB_txn		*txn = NULL;
	int		 rc, dead;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "store: out of memory");
		return XF_ERR;
	}
	if (mkdirs(dir) == -1) {
		xf_lmdb_fail(st, errno, "mkdir %s", dir);
		goto fail;
	}
	if ((rc = mdb_env_create(&st->st_env)) != 0) {
		xf_lmdb_fail(st, rc, "mdb_env_create");
		goto fail;
	}
	st->st_mapsize = sc->sc_map_size ? sc->sc_map_size : STORE_MAPSIZE;
	if ((rc = mdb_env_set_mapsize(st->st_env, st->st_mapsize)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->st_env, STORE_MAXDBS)) != 0) {
		xf_lmdb_fail(st, rc, "mdb_env_set");
		goto fail;
	}
	if ((rc = mdb_env_open(st->st_env, dir, 0, 0600)) != 0) {
		xf_lmdb_fail(st, rc, "mdb_env_open %s", dir);
		goto fail;
	}
	/* Free reader slots left by processes that died in a read txn. */
	if ((rc = mdb_reader_check(st->st_env, &dead)) != 0) {
		xf_lmdb_fail(st, rc, "mdb_reader_check %s", dir);
		goto fail;
	}
	/* A DBI opened in a committed txn stays valid for the env's life. */
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "accounts", MDB_CREATE,
	    &st->st_accounts)) != 0) {
		xf_lmdb_fail(st, rc, "open accounts in %s", dir);
		goto fail;
	}
	for (int i = 0; i < XF_T_NTABLES; i++)
		if ((rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE,
		    &st->st_tables[i])) != 0) {
			xf_lmdb_fail(st, rc, "open %s in %s", table_names[i],
			    dir);
			goto fail;
		}
	rc = wcommit(st, txn);
	txn = NULL;
	if (rc != 0) {
		xf_lmdb_fail(st, rc, "open accounts in %s", dir);
		goto fail;
	}
	st->st_base.st_ops = &xf_lmdb_ops;
	*out = &st->st_base;
	return XF_OK;
fail:
	snprintf(err, errlen, "store: %s", st->st_err);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->st_env != NULL)
		mdb_env_close(st->st_env);
	free(st);
	return XF_ERR;
}

void
xf_lmdb_close(xf_store_t *base)
{
	lmdb_t		*st = (lmdb_t *)base;
	if (st == NULL)
		return;
	if (st->st_rtxn != NULL)
		mdb_txn_abort(st->st_rtxn);
	mdb_env_close(st->st_env);
	free(st);
}
