/* sess.c: the session table, a volatile LMDB environment every process of a node opens. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xf.h"
#include "buf.h"
#include "sess.h"
#include "sess_impl.h"

/*
 * The table is rebuilt at every start, so it is never fsynced
 * (MDB_NOSYNC | MDB_NOMETASYNC): a power cut loses nothing we need.
 * The map is sparse; 1 GiB holds millions of ~100-byte records.
 *
 * MDB_NOTLS ties a reader slot to the MDB_txn object instead of the
 * thread, so each handle keeps one read txn and recycles it with
 * mdb_txn_reset()/mdb_txn_renew(): a lookup on the routing path costs
 * no malloc and no reader-table search.  The txn is reset before every
 * function returns, so no reader pins old pages between calls.
 *
 * Reader slots: one per process and handle, plus stale ones left by
 * killed workers until mdb_reader_check() (at open and in
 * xf_sess_clear_worker()) frees them.  64 worker slots of several
 * generations, the master and the interconnect fit well in 512.
 */
#define SESS_MAPSIZE	(1UL << 30)
#define SESS_MAXREADERS	512
#define SESS_FLAGS	(MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS)

/*
 * Keys are at most 511 bytes (LMDB's compiled-in MDB_MAXKEYSIZE), less
 * than XF_JID_MAX: xf_sess_put() refuses a longer full JID with XF_ERR,
 * and the binding code must refuse (or shorten) such a resource.
 *
 * Processes.  LMDB forbids using an env across fork() and opening one
 * env twice in a process: closing either copy's lock-file descriptor
 * drops the process's fcntl locks, after which another process's reader
 * check frees our reader slot.  So each process opens exactly one handle
 * after fork, and a child only frees the handle it inherited (see
 * xf_sess_close()).
 */

/*
 * Scans copy at most SESS_BATCH records out of the map per read txn and
 * call the callback with no txn open: a slow callback pins no pages and
 * may itself call any xf_sess_ function (kick, delete, look up).  The
 * price is that a scan is not one snapshot: a record written during the
 * scan may or may not be seen.  For a volatile presence table that is
 * what any reader sees a moment later anyway.
 */
#define SESS_BATCH	256

/*
 * xf_sess_clear_worker() walks the whole table (there is no index by
 * worker: it runs once per dead worker, and a second DB would double the
 * cost of every bind).  It commits every SESS_WBATCH visited keys so the
 * other workers' binds never wait long behind the writer lock.
 */
#define SESS_WBATCH	4096

#define SESS_MAXDBS	12

/*
 * LMDB keeps the names of named databases as keys of the unnamed one,
 * which is the session table.  None contains a '/', so no full JID
 * (xf_sess_put() requires one) collides with them, and the scans skip
 * them.
 */
static const struct {
	const char	*name;
	size_t		 off;
} sess_dbs[] = {
	{ "sm",		offsetof(struct xf_sess_s, s_sm) },
	{ "smjid",	offsetof(struct xf_sess_s, s_smjid) },
	{ "smq",	offsetof(struct xf_sess_s, s_smq) },
	{ "smin",	offsetof(struct xf_sess_s, s_smin) },
	{ "smexp",	offsetof(struct xf_sess_s, s_smexp) },
	{ "smpres",	offsetof(struct xf_sess_s, s_smpres) },
	{ "authfail",	offsetof(struct xf_sess_s, s_authfail) },
};

/*
 * "local@domain/": the key range of bare's resources.  The '/' keeps
 * "alice@localhost" from matching "alice@localhost.org/x".  XF_DECLINED
 * if bare is not a bare JID or no full JID under it fits in a key.
 */
static int
mkprefix(xf_sess_t *s, const char *bare, char *pfx, size_t *pfxlen)
{
	size_t	 n;

	n = strlen(bare);
	if (n == 0 || strchr(bare, '/') != NULL || n + 1 >= s->s_maxkey)
		return XF_DECLINED;
	memcpy(pfx, bare, n);
	pfx[n] = '/';
	pfx[n + 1] = '\0';
	*pfxlen = n + 1;
	return XF_OK;
}

static int
hasprefix(const MDB_val *k, const char *pfx, size_t pfxlen)
{
	return k->mv_size >= pfxlen && memcmp(k->mv_data, pfx, pfxlen) == 0;
}

int
xf_sess_open(const char *dir, int clear, xf_sess_t **out, char *err,
    size_t errlen)
{
	xf_sess_t	*s;
	MDB_txn		*txn;
	char		 path[4096];
	const char	*files[] = { "data.mdb", "lock.mdb" };
	size_t		 i;
	int		 rc, dead;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "calloc: %s", strerror(errno));
		return XF_ERR;
	}
	s->s_pid = getpid();

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fail(s, "mkdir", errno);
		goto fail;
	}
	if (clear) {
		for (i = 0; i < XF_NELEM(files); i++) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			    files[i]) >= sizeof(path)) {
				failx(s, "session directory name too long");
				goto fail;
			}
			if (unlink(path) == -1 && errno != ENOENT) {
				fail(s, "unlink", errno);
				goto fail;
			}
		}
	}

	if ((rc = mdb_env_create(&s->s_env)) != 0) {
		fail(s, "mdb_env_create", rc);
		goto fail;
	}
	if ((rc = mdb_env_set_mapsize(s->s_env, SESS_MAPSIZE)) != 0) {
		fail(s, "mdb_env_set_mapsize", rc);
		goto fail;
	}
	if ((rc = mdb_env_set_maxreaders(s->s_env, SESS_MAXREADERS)) != 0) {
		fail(s, "mdb_env_set_maxreaders", rc);
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(s->s_env, SESS_MAXDBS)) != 0) {
		fail(s, "mdb_env_set_maxdbs", rc);
		goto fail;
	}
	if ((rc = mdb_env_open(s->s_env, dir, SESS_FLAGS, 0600)) != 0) {
		fail(s, "mdb_env_open", rc);
		goto fail;
	}
	s->s_maxkey = (size_t)mdb_env_get_maxkeysize(s->s_env);

	/* A write txn: the named DBs are created by whoever comes first. */
	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0) {
		fail(s, "mdb_txn_begin", rc);
		goto fail;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &s->s_dbi)) != 0) {
		mdb_txn_abort(txn);
		fail(s, "mdb_dbi_open", rc);
		goto fail;
	}
	for (i = 0; i < XF_NELEM(sess_dbs); i++)
		if ((rc = mdb_dbi_open(txn, sess_dbs[i].name, MDB_CREATE,
		    (MDB_dbi *)((char *)s + sess_dbs[i].off))) != 0) {
			mdb_txn_abort(txn);
			fail(s, "mdb_dbi_open(named)", rc);
			goto fail;
		}
	/* Committed, not aborted: an abort closes the handles it opened. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		fail(s, "mdb_txn_commit", rc);
		goto fail;
	}
	(void)mdb_reader_check(s->s_env, &dead);

	*out = s;
	return XF_OK;

fail:
	snprintf(err, errlen, "%s: %s", dir, s->s_err);
	if (s->s_env != NULL)
		mdb_env_close(s->s_env);
	free(s);
	return XF_ERR;
}

/*
 * In a forked child the inherited handle is only freed: mdb_env_close()
 * there would release the parent's reader slot, and closing the
 * inherited lock-file descriptor would drop the child's own fcntl locks
 * on lock.mdb if it has opened a handle of its own.
 */
void
xf_sess_close(xf_sess_t *s)
{
	if (s == NULL)
		return;
	if (s->s_pid == getpid()) {
		if (s->s_rtxn != NULL)
			mdb_txn_abort(s->s_rtxn);
		mdb_env_close(s->s_env);
	}
	free(s);
}

const char *
xf_sess_error(const xf_sess_t *s)
{
	return s->s_err;
}

int
xf_sess_put(xf_sess_t *s, const char *full, const xf_sess_rec_t *rec,
    xf_sess_rec_t *old, int *had_old)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;

	*had_old = 0;
	if (mkkey(s, full, &k) != XF_OK)
		return failx(s, "JID empty or too long for the session table");
	if (strchr(full, '/') == NULL)
		return failx(s, "not a full JID");

	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	rc = mdb_get(txn, s->s_dbi, &k, &v);
	if (rc == 0) {
		/* A record of the wrong size is overwritten, not reported. */
		if (v.mv_size == sizeof(*old)) {
			if (old != NULL)
				memcpy(old, v.mv_data, sizeof(*old));
			*had_old = 1;
		}
	} else if (rc != MDB_NOTFOUND) {
		fail(s, "mdb_get", rc);
		goto fail;
	}
	v.mv_data = (void *)rec;
	v.mv_size = sizeof(*rec);
	if ((rc = mdb_put(txn, s->s_dbi, &k, &v, 0)) != 0) {
		fail(s, "mdb_put", rc);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		*had_old = 0;
		return fail(s, "mdb_txn_commit", rc);
	}
	return XF_OK;

fail:
	*had_old = 0;
	mdb_txn_abort(txn);
	return XF_ERR;
}

/*
 * Shared by update and del: opens a write txn and loads the record of
 * full if it names (worker, conn).  XF_OK leaves *txn open.
 */
static int
wload(xf_sess_t *s, const char *full, uint32_t worker, uint64_t conn,
    MDB_txn **txn, MDB_val *k, xf_sess_rec_t *rec)
{
	MDB_val	 v;
	int	 rc;

	if (mkkey(s, full, k) != XF_OK)
		return XF_DECLINED;
	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	if ((rc = mdb_get(*txn, s->s_dbi, k, &v)) != 0) {
		mdb_txn_abort(*txn);
		if (rc == MDB_NOTFOUND)
			return XF_DECLINED;
		return fail(s, "mdb_get", rc);
	}
	if (getrec(s, &v, rec) != XF_OK) {
		mdb_txn_abort(*txn);
		return XF_ERR;
	}
	if (rec->sr_worker != worker || rec->sr_conn != conn) {
		mdb_txn_abort(*txn);
		return XF_DECLINED;
	}
	return XF_OK;
}

/* Writes back a record loaded by wload() and commits (or aborts). */
static int
wstore(xf_sess_t *s, MDB_txn *txn, MDB_val *k, const xf_sess_rec_t *rec)
{
	MDB_val	 v = { sizeof(*rec), (void *)rec };
	int	 rc;

	if ((rc = mdb_put(txn, s->s_dbi, k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return fail(s, "mdb_put", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

int
xf_sess_update(xf_sess_t *s, const char *full, uint32_t worker,
    uint64_t conn, int32_t prio, int avail)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if ((rc = wload(s, full, worker, conn, &txn, &k, &rec)) != XF_OK)
		return rc;
	rec.sr_prio = prio;
	rec.sr_avail = avail ? 1 : 0;
	return wstore(s, txn, &k, &rec);
}

int
xf_sess_flags(xf_sess_t *s, const char *full, uint32_t worker,
    uint64_t conn, uint8_t set, uint8_t clear)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if ((rc = wload(s, full, worker, conn, &txn, &k, &rec)) != XF_OK)
		return rc;
	rec.sr_flags = (uint8_t)((rec.sr_flags & ~clear) | set);
	return wstore(s, txn, &k, &rec);
}

int
xf_sess_del(xf_sess_t *s, const char *full, uint32_t worker, uint64_t conn)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if ((rc = wload(s, full, worker, conn, &txn, &k, &rec)) != XF_OK)
		return rc;
	if ((rc = mdb_del(txn, s->s_dbi, &k, NULL)) != 0) {
		mdb_txn_abort(txn);
		return fail(s, "mdb_del", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

int
xf_sess_get(xf_sess_t *s, const char *full, xf_sess_rec_t *out)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;

	if (mkkey(s, full, &k) != XF_OK)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	rc = mdb_get(txn, s->s_dbi, &k, &v);
	if (rc == 0)
		rc = getrec(s, &v, out);
	else if (rc == MDB_NOTFOUND)
		rc = XF_DECLINED;
	else
		rc = fail(s, "mdb_get", rc);
	rend(s);
	return rc;
}

/*
 * Calls fn for each key starting with pfx (every key if pfxlen is 0), in
 * batches of SESS_BATCH copied out of the map.  A batch entry is
 * [size_t keylen][key][NUL][xf_sess_rec_t], unaligned: fields are
 * memcpy'd out before use.
 */
static int
scan(xf_sess_t *s, const char *pfx, size_t pfxlen,
    int (*fn)(void *, const char *, const xf_sess_rec_t *), void *ud)
{
	xf_buf_t	 batch = { 0 };
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	char		 last[XF_JID_MAX + 1];
	size_t		 lastlen = 0, n, off, klen;
	const char	*p;
	int		 rc, done = 0, ret = XF_OK;

	while (!done) {
		if (rbegin(s, &txn) != XF_OK) {
			ret = XF_ERR;
			break;
		}
		if ((rc = mdb_cursor_open(txn, s->s_dbi, &cur)) != 0) {
			rend(s);
			ret = fail(s, "mdb_cursor_open", rc);
			break;
		}
		if (lastlen > 0) {
			/* Resume after the last key of the previous batch. */
			k.mv_data = last;
			k.mv_size = lastlen;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			if (rc == 0 && k.mv_size == lastlen &&
			    memcmp(k.mv_data, last, lastlen) == 0)
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		} else if (pfxlen > 0) {
			k.mv_data = (void *)pfx;
			k.mv_size = pfxlen;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);

		for (n = 0; rc == 0 && n < SESS_BATCH; n++) {
			if (!hasprefix(&k, pfx, pfxlen)) {
				rc = MDB_NOTFOUND;
				break;
			}
			if (memchr(k.mv_data, '/', k.mv_size) == NULL) {
				/* A named DB (see sess_dbs[]), not a JID. */
				memcpy(last, k.mv_data, k.mv_size);
				lastlen = k.mv_size;
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
				continue;
			}
			if (v.mv_size != sizeof(rec) ||
			    k.mv_size > XF_JID_MAX) {
				rc = -1;
				failx(s, "session record of the wrong size");
				break;
			}
			if (xf_buf_append(&batch, &k.mv_size,
			    sizeof(k.mv_size)) != XF_OK ||
			    xf_buf_append(&batch, k.mv_data,
			    k.mv_size) != XF_OK ||
			    xf_buf_append(&batch, "", 1) != XF_OK ||
			    xf_buf_append(&batch, v.mv_data,
			    v.mv_size) != XF_OK) {
				rc = -1;
				failx(s, "out of memory");
				break;
			}
			memcpy(last, k.mv_data, k.mv_size);
			lastlen = k.mv_size;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		rend(s);
		if (rc == MDB_NOTFOUND)
			done = 1;
		else if (rc == -1) {
			ret = XF_ERR;
			break;
		} else if (rc != 0) {
			ret = fail(s, "mdb_cursor_get", rc);
			break;
		}

		/* No txn is open while the callbacks run. */
		p = xf_buf_data(&batch);
		for (off = 0; off < xf_buf_size(&batch); ) {
			memcpy(&klen, p + off, sizeof(klen));
			off += sizeof(klen);
			memcpy(&rec, p + off + klen + 1, sizeof(rec));
			if (fn(ud, p + off, &rec) != 0) {
				done = 1;
				break;
			}
			off += klen + 1 + sizeof(rec);
		}
		xf_buf_reset(&batch);
	}
	xf_buf_free(&batch);
	return ret;
}

int
xf_sess_resources(xf_sess_t *s, const char *bare,
    int (*fn)(void *ud, const char *full, const xf_sess_rec_t *), void *ud)
{
	char	 pfx[XF_JID_MAX + 2];
	size_t	 pfxlen;

	if (strlen(bare) > XF_JID_MAX ||
	    mkprefix(s, bare, pfx, &pfxlen) != XF_OK)
		return XF_OK;		/* no resource can exist */
	return scan(s, pfx, pfxlen, fn, ud);
}

int
xf_sess_foreach(xf_sess_t *s,
    int (*fn)(void *ud, const char *full, const xf_sess_rec_t *), void *ud)
{
	return scan(s, "", 0, fn, ud);
}

/*
 * One read txn, no callback: the best key stays a pointer into the map
 * (valid until the txn is reset) and is copied out once at the end.
 */
/*
 * Whether a resource of bare other than skip has all bits of flag set:
 * one read, nothing copied.  A router check before costly work (carbons
 * wrap a message only when someone will get the copy).
 */
int
xf_sess_any_flag(xf_sess_t *s, const char *bare, uint8_t flag,
    const char *skip)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	char		 pfx[XF_JID_MAX + 2];
	size_t		 pfxlen, skiplen = skip ? strlen(skip) : 0;
	int		 rc, found = 0;

	if (strlen(bare) > XF_JID_MAX ||
	    mkprefix(s, bare, pfx, &pfxlen) != XF_OK)
		return 0;
	if (rbegin(s, &txn) != XF_OK)
		return 0;
	if ((rc = mdb_cursor_open(txn, s->s_dbi, &cur)) != 0) {
		rend(s);
		return 0;
	}
	k.mv_data = pfx;
	k.mv_size = pfxlen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    rc == 0 && hasprefix(&k, pfx, pfxlen);
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size != sizeof(rec))
			continue;
		memcpy(&rec, v.mv_data, sizeof(rec));
		if ((rec.sr_flags & flag) != flag || (skip != NULL &&
		    k.mv_size == skiplen && memcmp(k.mv_data, skip,
		    skiplen) == 0))
			continue;
		found = 1;
		break;
	}
	mdb_cursor_close(cur);
	rend(s);
	return found;
}

int
xf_sess_best(xf_sess_t *s, const char *bare, char *full, size_t fulllen,
    xf_sess_rec_t *out)
{
	xf_sess_rec_t	 rec, best;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v, bestk = { 0, NULL };
	char		 pfx[XF_JID_MAX + 2];
	size_t		 pfxlen;
	int		 rc, ret;

	memset(&best, 0, sizeof(best));
	if (strlen(bare) > XF_JID_MAX ||
	    mkprefix(s, bare, pfx, &pfxlen) != XF_OK)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_cursor_open(txn, s->s_dbi, &cur)) != 0) {
		rend(s);
		return fail(s, "mdb_cursor_open", rc);
	}
	k.mv_data = pfx;
	k.mv_size = pfxlen;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    rc == 0 && hasprefix(&k, pfx, pfxlen);
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size != sizeof(rec))
			continue;	/* unreadable: never a routing target */
		memcpy(&rec, v.mv_data, sizeof(rec));
		if (!rec.sr_avail || rec.sr_prio < 0)
			continue;
		/* ">=" on since: equal binds go to the last in key order. */
		if (bestk.mv_data == NULL || rec.sr_prio > best.sr_prio ||
		    (rec.sr_prio == best.sr_prio &&
		    rec.sr_since >= best.sr_since)) {
			best = rec;
			bestk = k;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = fail(s, "mdb_cursor_get", rc);
	else if (bestk.mv_data == NULL)
		ret = XF_DECLINED;
	else if (full != NULL && bestk.mv_size >= fulllen)
		ret = failx(s, "buffer too small for the full JID");
	else {
		if (full != NULL) {
			memcpy(full, bestk.mv_data, bestk.mv_size);
			full[bestk.mv_size] = '\0';
		}
		if (out != NULL)
			*out = best;
		ret = XF_OK;
	}
	mdb_cursor_close(cur);
	rend(s);
	return ret;
}

int
xf_sess_clear_worker(xf_sess_t *s, uint32_t node, uint32_t worker,
    size_t *count)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	char		 next[XF_JID_MAX + 1];
	size_t		 nextlen = 0, visited, n;
	int		 rc, dead, more;

	*count = 0;
	/* The dead worker's reader slot goes too, or it pins old pages. */
	(void)mdb_reader_check(s->s_env, &dead);

	do {
		more = 0;
		n = 0;
		if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
			return fail(s, "mdb_txn_begin", rc);
		if ((rc = mdb_cursor_open(txn, s->s_dbi, &cur)) != 0) {
			mdb_txn_abort(txn);
			return fail(s, "mdb_cursor_open", rc);
		}
		if (nextlen > 0) {
			k.mv_data = next;
			k.mv_size = nextlen;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		for (visited = 0; rc == 0; visited++) {
			if (visited == SESS_WBATCH && k.mv_size <= XF_JID_MAX) {
				memcpy(next, k.mv_data, k.mv_size);
				nextlen = k.mv_size;
				more = 1;
				break;
			}
			if (v.mv_size == sizeof(rec)) {
				memcpy(&rec, v.mv_data, sizeof(rec));
				if (rec.sr_node == node &&
				    rec.sr_worker == worker &&
				    !((rec.sr_flags & XF_SESS_SM) &&
				    xf_sess_sm_kept_txn(s, txn, &k, &rec))) {
					if ((rc = mdb_cursor_del(cur, 0)) != 0)
						break;
					n++;
				}
			}
			/* After a delete, MDB_NEXT yields the following key. */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return fail(s, "mdb_cursor_get/del", rc);
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			return fail(s, "mdb_txn_commit", rc);
		*count += n;
	} while (more);
	return XF_OK;
}
