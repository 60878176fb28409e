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

struct xf_sess_s {
	MDB_env		*s_env;		/* owned by the process s_pid */
	MDB_dbi		 s_dbi;		/* the unnamed DB */
	MDB_dbi		 s_sm;		/* SM databases: see sess.h */
	MDB_dbi		 s_smjid;
	MDB_dbi		 s_smq;
	MDB_dbi		 s_smin;
	MDB_dbi		 s_smexp;
	MDB_txn		*s_rtxn;	/* reused read txn; reset when idle */
	pid_t		 s_pid;		/* opener; see xf_sess_close() */
	size_t		 s_maxkey;	/* mdb_env_get_maxkeysize(): 511 */
	char		 s_err[256];
};

#define SESS_MAXDBS	8

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
};

/* One place for LMDB (and errno) codes: mdb_strerror() knows both. */
static int
fail(xf_sess_t *s, const char *call, int rc)
{
	snprintf(s->s_err, sizeof(s->s_err), "%s: %s", call,
	    mdb_strerror(rc));
	return XF_ERR;
}

static int
failx(xf_sess_t *s, const char *msg)
{
	snprintf(s->s_err, sizeof(s->s_err), "%s", msg);
	return XF_ERR;
}

static int
rbegin(xf_sess_t *s, MDB_txn **txn)
{
	int	 rc;

	if (s->s_rtxn == NULL)
		rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, &s->s_rtxn);
	else if ((rc = mdb_txn_renew(s->s_rtxn)) == MDB_BAD_RSLOT) {
		/*
		 * Our slot was freed by another process's reader check
		 * (we lost our fcntl pid lock: the env was opened twice in
		 * this process).  Aborting would write into a slot that may
		 * now be someone else's, so the txn is leaked instead.
		 */
		s->s_rtxn = NULL;
		rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, &s->s_rtxn);
	} else if (rc != 0) {
		mdb_txn_abort(s->s_rtxn);
		s->s_rtxn = NULL;
	}
	if (rc != 0) {
		s->s_rtxn = NULL;
		return fail(s, "mdb_txn_begin(MDB_RDONLY)", rc);
	}
	*txn = s->s_rtxn;
	return XF_OK;
}

static void
rend(xf_sess_t *s)
{
	mdb_txn_reset(s->s_rtxn);
}

/* Copies a record out of the map after checking its size. */
static int
getrec(xf_sess_t *s, const MDB_val *v, xf_sess_rec_t *rec)
{
	if (v->mv_size != sizeof(*rec))
		return failx(s, "session record of the wrong size");
	memcpy(rec, v->mv_data, sizeof(*rec));
	return XF_OK;
}

/* XF_DECLINED if full cannot be a key (empty or longer than LMDB allows). */
static int
mkkey(xf_sess_t *s, const char *full, MDB_val *k)
{
	size_t	 n;

	n = strlen(full);
	if (n == 0 || n > s->s_maxkey)
		return XF_DECLINED;
	k->mv_data = (void *)full;
	k->mv_size = n;
	return XF_OK;
}

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
			fail(s, "mdb_dbi_open(sm)", rc);
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

int
xf_sess_update(xf_sess_t *s, const char *full, uint32_t worker,
    uint64_t conn, int32_t prio, int avail)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = wload(s, full, worker, conn, &txn, &k, &rec)) != XF_OK)
		return rc;
	rec.sr_prio = prio;
	rec.sr_avail = avail ? 1 : 0;
	v.mv_data = &rec;
	v.mv_size = sizeof(rec);
	if ((rc = mdb_put(txn, s->s_dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return fail(s, "mdb_put", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

int
xf_sess_flags(xf_sess_t *s, const char *full, uint32_t worker,
    uint64_t conn, uint8_t set, uint8_t clear)
{
	xf_sess_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = wload(s, full, worker, conn, &txn, &k, &rec)) != XF_OK)
		return rc;
	rec.sr_flags = (uint8_t)((rec.sr_flags & ~clear) | set);
	v.mv_data = &rec;
	v.mv_size = sizeof(rec);
	if ((rc = mdb_put(txn, s->s_dbi, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return fail(s, "mdb_put", rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
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

static int	 smkept(xf_sess_t *, MDB_txn *, const MDB_val *,
		    const xf_sess_rec_t *);

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
				    smkept(s, txn, &k, &rec))) {
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

/* ---- XEP-0198 stream management state (see sess.h) ---------------- */

#define SM_QKEYLEN	(XF_SM_IDLEN + 8)	/* id, big-endian seq */
#define SM_HEAD		offsetof(xf_sm_rec_t, sm_full)

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int
idkey(const char *id, MDB_val *k)
{
	if (id == NULL || strlen(id) != XF_SM_IDLEN)
		return XF_DECLINED;
	k->mv_data = (void *)id;
	k->mv_size = XF_SM_IDLEN;
	return XF_OK;
}

static void
qkey(unsigned char *buf, const char *id, uint64_t seq, MDB_val *k)
{
	memcpy(buf, id, XF_SM_IDLEN);
	put64(buf + XF_SM_IDLEN, seq);
	k->mv_data = buf;
	k->mv_size = SM_QKEYLEN;
}

static int
wbegin(xf_sess_t *s, MDB_txn **txn)
{
	int	 rc;

	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	return XF_OK;
}

static int
wcommit(xf_sess_t *s, MDB_txn *txn)
{
	int	 rc;

	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

/* sm[id] into *rec: XF_OK, XF_DECLINED (none), XF_ERR. */
static int
smload(xf_sess_t *s, MDB_txn *txn, const char *id, xf_sm_rec_t *rec)
{
	MDB_val	 k, v;
	int	 rc;

	if (idkey(id, &k) != XF_OK)
		return XF_DECLINED;
	if ((rc = mdb_get(txn, s->s_sm, &k, &v)) == MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get(sm)", rc);
	/* Fixed head, then the JID without its NUL. */
	if (v.mv_size < SM_HEAD || v.mv_size - SM_HEAD >= sizeof(rec->sm_full))
		return failx(s, "SM record of the wrong size");
	memcpy(rec, v.mv_data, v.mv_size);
	rec->sm_full[v.mv_size - SM_HEAD] = '\0';
	return XF_OK;
}

/*
 * Writes rec as the new state of id (o: the state it replaces, or NULL)
 * and keeps the smexp index in step: one entry per DETACHED session.
 */
static int
smstore(xf_sess_t *s, MDB_txn *txn, const char *id, const xf_sm_rec_t *o,
    const xf_sm_rec_t *rec)
{
	unsigned char	 ek[8 + XF_SM_IDLEN];
	MDB_val		 k, v;
	int		 rc;

	k.mv_data = ek;
	k.mv_size = sizeof(ek);
	memcpy(ek + 8, id, XF_SM_IDLEN);
	if (o != NULL && o->sm_state == XF_SM_DETACHED &&
	    (rec->sm_state != XF_SM_DETACHED ||
	    rec->sm_expires != o->sm_expires)) {
		put64(ek, (uint64_t)o->sm_expires);
		if ((rc = mdb_del(txn, s->s_smexp, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return fail(s, "mdb_del(smexp)", rc);
	}
	if (rec->sm_state == XF_SM_DETACHED && (o == NULL ||
	    o->sm_state != XF_SM_DETACHED ||
	    rec->sm_expires != o->sm_expires)) {
		put64(ek, (uint64_t)rec->sm_expires);
		v.mv_data = "";
		v.mv_size = 0;
		if ((rc = mdb_put(txn, s->s_smexp, &k, &v, 0)) != 0)
			return fail(s, "mdb_put(smexp)", rc);
	}
	idkey(id, &k);
	v.mv_data = (void *)rec;
	v.mv_size = SM_HEAD + strlen(rec->sm_full);
	if ((rc = mdb_put(txn, s->s_sm, &k, &v, 0)) != 0)
		return fail(s, "mdb_put(sm)", rc);
	return XF_OK;
}

static int
owned(const xf_sm_rec_t *rec, uint32_t worker, uint64_t conn)
{
	return rec->sm_state == XF_SM_ATTACHED && rec->sm_node == 0 &&
	    rec->sm_worker == worker && rec->sm_conn == conn;
}

/* The session record of full in txn: XF_OK, XF_DECLINED, XF_ERR. */
static int
srload(xf_sess_t *s, MDB_txn *txn, const char *full, MDB_val *k,
    xf_sess_rec_t *rec)
{
	MDB_val	 v;
	int	 rc;

	if (mkkey(s, full, k) != XF_OK)
		return XF_DECLINED;
	if ((rc = mdb_get(txn, s->s_dbi, k, &v)) == MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get", rc);
	return getrec(s, &v, rec);
}

/* The session record rec names the owner of SM state sm. */
static int
names(const xf_sess_rec_t *rec, const xf_sm_rec_t *sm)
{
	return rec->sr_node == sm->sm_node && rec->sr_worker == sm->sm_worker &&
	    rec->sr_conn == sm->sm_conn;
}

/* Deletes the entries of id in queue dbi up to seq upto; *n counts. */
static int
qdel(xf_sess_t *s, MDB_txn *txn, MDB_dbi dbi, const char *id, uint64_t upto,
    uint64_t *n)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return fail(s, "mdb_cursor_open", rc);
	qkey(kb, id, 0, &k);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    k.mv_size == SM_QKEYLEN && memcmp(k.mv_data, id, XF_SM_IDLEN) == 0
	    && get64((unsigned char *)k.mv_data + XF_SM_IDLEN) <= upto;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_cursor_get/del(sm queue)", rc);
	return XF_OK;
}

/*
 * Appends id's entries of queue dbi after seq after (at most max) to
 * out: [seq] when withseq, then [len][bytes].  *n counts.
 */
static int
qcopy(xf_sess_t *s, MDB_txn *txn, MDB_dbi dbi, const char *id,
    uint64_t after, size_t max, int withseq, xf_buf_t *out, size_t *n)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_cursor	*cur;
	MDB_val		 k, v;
	uint64_t	 seq, len;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return fail(s, "mdb_cursor_open", rc);
	qkey(kb, id, after + 1, &k);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    *n < max && k.mv_size == SM_QKEYLEN &&
	    memcmp(k.mv_data, id, XF_SM_IDLEN) == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		seq = get64((unsigned char *)k.mv_data + XF_SM_IDLEN);
		len = v.mv_size;
		if ((withseq && xf_buf_append(out, &seq, sizeof(seq)) !=
		    XF_OK) || xf_buf_append(out, &len, sizeof(len)) != XF_OK ||
		    xf_buf_append(out, v.mv_data, v.mv_size) != XF_OK) {
			mdb_cursor_close(cur);
			return failx(s, "out of memory");
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && *n < max)
		return fail(s, "mdb_cursor_get(sm queue)", rc);
	return XF_OK;
}

/* Appends one stanza to the inbox of id (rec is updated, not stored). */
static int
inbox_put(xf_sess_t *s, MDB_txn *txn, const char *id, xf_sm_rec_t *rec,
    const char *data, size_t len)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_val		 k, v;
	int		 rc;

	qkey(kb, id, rec->sm_inseq + 1, &k);
	v.mv_data = (void *)data;
	v.mv_size = len;
	if ((rc = mdb_put(txn, s->s_smin, &k, &v, 0)) != 0)
		return fail(s, "mdb_put(smin)", rc);
	rec->sm_inseq++;
	rec->sm_inlen++;
	return XF_OK;
}

/* Deletes inbox entry inseq of id, if there (rec is updated). */
static int
inbox_del(xf_sess_t *s, MDB_txn *txn, const char *id, xf_sm_rec_t *rec,
    uint64_t inseq)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_val		 k;
	int		 rc;

	qkey(kb, id, inseq, &k);
	rc = mdb_del(txn, s->s_smin, &k, NULL);
	if (rc == 0 && rec->sm_inlen > 0)
		rec->sm_inlen--;
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_del(smin)", rc);
	return XF_OK;
}

/* smjid[full] into id (XF_SM_IDLEN + 1 bytes). */
static int
jidload(xf_sess_t *s, MDB_txn *txn, const MDB_val *jk, char *id)
{
	MDB_val	 v;
	int	 rc;

	if ((rc = mdb_get(txn, s->s_smjid, (MDB_val *)jk, &v)) ==
	    MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get(smjid)", rc);
	if (v.mv_size != XF_SM_IDLEN)
		return failx(s, "SM JID index entry of the wrong size");
	memcpy(id, v.mv_data, XF_SM_IDLEN);
	id[XF_SM_IDLEN] = '\0';
	return XF_OK;
}

static int
smkept(xf_sess_t *s, MDB_txn *txn, const MDB_val *jk,
    const xf_sess_rec_t *rec)
{
	char		 id[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 sm;

	return jidload(s, txn, jk, id) == XF_OK &&
	    smload(s, txn, id, &sm) == XF_OK &&
	    sm.sm_state == XF_SM_DETACHED && names(rec, &sm);
}

int
xf_sess_sm_create(xf_sess_t *s, const char *id, const char *full,
    uint32_t worker, uint64_t conn, int resume, int64_t now)
{
	char		 oid[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 rec, o, n;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_val		 k, jk, v;
	int		 r, rc;

	if (idkey(id, &k) != XF_OK || strlen(full) >= sizeof(rec.sm_full))
		return failx(s, "bad SM id or JID");
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = srload(s, txn, full, &jk, &sr)) != XF_OK)
		goto fail;
	if (sr.sr_node != 0 || sr.sr_worker != worker || sr.sr_conn != conn) {
		r = XF_DECLINED;
		goto fail;
	}
	sr.sr_flags |= XF_SESS_SM;
	v.mv_data = &sr;
	v.mv_size = sizeof(sr);
	if ((rc = mdb_put(txn, s->s_dbi, &jk, &v, 0)) != 0) {
		r = fail(s, "mdb_put", rc);
		goto fail;
	}
	/* A detached session of this JID was replaced by this bind. */
	if ((r = jidload(s, txn, &jk, oid)) == XF_ERR)
		goto fail;
	if (r == XF_OK && strcmp(oid, id) != 0 &&
	    smload(s, txn, oid, &o) == XF_OK &&
	    o.sm_state == XF_SM_DETACHED && o.sm_expires > 0) {
		n = o;
		n.sm_expires = 0;
		if ((r = smstore(s, txn, oid, &o, &n)) != XF_OK)
			goto fail;
	}
	memset(&rec, 0, sizeof(rec));
	rec.sm_worker = worker;
	rec.sm_conn = conn;
	rec.sm_state = XF_SM_ATTACHED;
	rec.sm_resume = resume ? 1 : 0;
	rec.sm_since = now;
	snprintf(rec.sm_full, sizeof(rec.sm_full), "%s", full);
	if ((r = smstore(s, txn, id, NULL, &rec)) != XF_OK)
		goto fail;
	if ((rc = mdb_put(txn, s->s_smjid, &jk, &k, 0)) != 0) {
		r = fail(s, "mdb_put(smjid)", rc);
		goto fail;
	}
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_get(xf_sess_t *s, const char *id, xf_sm_rec_t *out)
{
	MDB_txn	*txn;
	int	 r;

	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	r = smload(s, txn, id, out);
	rend(s);
	return r;
}

int
xf_sess_sm_find(xf_sess_t *s, const char *full, char *id, xf_sm_rec_t *out)
{
	MDB_txn	*txn;
	MDB_val	 jk;
	int	 r;

	if (mkkey(s, full, &jk) != XF_OK)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = jidload(s, txn, &jk, id)) == XF_OK)
		r = smload(s, txn, id, out);
	rend(s);
	return r;
}

int
xf_sess_sm_handled(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, uint64_t *h)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if (!owned(&rec, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	rec.sm_h_in++;
	if ((r = smstore(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	*h = rec.sm_h_in;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_sent(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, uint64_t inseq, const char *data, size_t len,
    xf_sm_rec_t *out)
{
	unsigned char	 kb[SM_QKEYLEN];
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	if (rec.sm_state == XF_SM_CLAIMED) {
		r = XF_DECLINED;
		goto fail;
	}
	if (!owned(&rec, worker, conn)) {
		/* Taken over: the new owner writes it, after what it has. */
		if (inseq != 0) {
			r = XF_AGAIN;
			goto fail;
		}
		if ((r = inbox_put(s, txn, id, &rec, data, len)) != XF_OK ||
		    (r = smstore(s, txn, id, &rec, &rec)) != XF_OK)
			goto fail;
		*out = rec;
		return wcommit(s, txn) == XF_OK ? XF_AGAIN : XF_ERR;
	}
	qkey(kb, id, rec.sm_sent + 1, &k);
	v.mv_data = (void *)data;
	v.mv_size = len;
	if ((rc = mdb_put(txn, s->s_smq, &k, &v, 0)) != 0) {
		r = fail(s, "mdb_put(smq)", rc);
		goto fail;
	}
	rec.sm_sent++;
	if (inseq != 0 && (r = inbox_del(s, txn, id, &rec, inseq)) != XF_OK)
		goto fail;
	if ((r = smstore(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_queue(xf_sess_t *s, const char *full, uint32_t direct,
    const char *data, size_t len, uint64_t max, char *id, xf_sm_rec_t *out)
{
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	MDB_val		 jk;
	int		 r;

	if (mkkey(s, full, &jk) != XF_OK)
		return XF_DECLINED;
	/* Most stanzas need no write txn: look first. */
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = jidload(s, txn, &jk, id)) == XF_OK)
		r = smload(s, txn, id, &rec);
	rend(s);
	if (r != XF_OK)
		return r;
	if (rec.sm_state == XF_SM_CLAIMED)
		return XF_DECLINED;
	*out = rec;
	if (rec.sm_state == XF_SM_ATTACHED && rec.sm_node == 0 &&
	    rec.sm_worker == direct && rec.sm_inlen == 0)
		return XF_AGAIN;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &o)) != XF_OK)
		goto fail;
	if (o.sm_state == XF_SM_CLAIMED) {
		r = XF_DECLINED;
		goto fail;
	}
	rec = o;
	if ((r = inbox_put(s, txn, id, &rec, data, len)) != XF_OK)
		goto fail;
	/* Over the cap while nobody reads it: end it now. */
	if (rec.sm_state == XF_SM_DETACHED && rec.sm_expires > 0 &&
	    rec.sm_inlen + rec.sm_sent - rec.sm_acked >= max)
		rec.sm_expires = 0;
	if ((r = smstore(s, txn, id, &o, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_inbox(xf_sess_t *s, const char *id, uint64_t after, size_t max,
    xf_buf_t *out, size_t *n)
{
	MDB_txn	*txn;
	int	 r;

	*n = 0;
	if (strlen(id) != XF_SM_IDLEN)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	r = qcopy(s, txn, s->s_smin, id, after, max, 1, out, n);
	rend(s);
	return r;
}

int
xf_sess_sm_unqueue(xf_sess_t *s, const char *id, uint64_t inseq)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) != XF_OK ||
	    (r = inbox_del(s, txn, id, &rec, inseq)) != XF_OK ||
	    (r = smstore(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_ack(xf_sess_t *s, const char *id, uint32_t worker, uint64_t conn,
    uint64_t acked)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	uint64_t	 n;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if (!owned(&rec, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	if (acked > rec.sm_sent)
		acked = rec.sm_sent;
	if (acked <= rec.sm_acked) {
		mdb_txn_abort(txn);
		return XF_OK;
	}
	if ((r = qdel(s, txn, s->s_smq, id, acked, &n)) != XF_OK)
		goto fail;
	rec.sm_acked = acked;
	if ((r = smstore(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_detach(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, int64_t expires)
{
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &o)) != XF_OK)
		goto fail;
	rec = o;
	if (worker == XF_SM_NOWORKER && o.sm_state == XF_SM_DETACHED) {
		if (expires < o.sm_expires)
			rec.sm_expires = expires;
	} else if (worker != XF_SM_NOWORKER && owned(&o, worker, conn)) {
		rec.sm_state = XF_SM_DETACHED;
		rec.sm_expires = expires;
	} else {
		r = XF_DECLINED;
		goto fail;
	}
	if ((r = smstore(s, txn, id, &o, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_take_over(xf_sess_t *s, const char *id, const char *bare,
    uint32_t h, xf_sess_rec_t *srec, xf_sm_rec_t *prev, xf_sm_rec_t *out,
    xf_buf_t *resend)
{
	xf_sm_rec_t	 rec;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_val		 jk, v;
	size_t		 bl = strlen(bare), n = 0;
	uint64_t	 acked, dropped;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, prev)) != XF_OK)
		goto fail;
	/* Someone else's, being ended, or replaced by a new bind: the
	 * client learns only that there is nothing to resume. */
	if (prev->sm_state == XF_SM_CLAIMED ||
	    strncmp(prev->sm_full, bare, bl) != 0 ||
	    prev->sm_full[bl] != '/' ||
	    (r = srload(s, txn, prev->sm_full, &jk, &sr)) == XF_DECLINED ||
	    (r == XF_OK && !names(&sr, prev))) {
		r = XF_DECLINED;
		goto fail;
	}
	if (r != XF_OK)
		goto fail;
	rec = *prev;
	/* h is the low 32 bits of what the client has read; one beyond
	 * what was sent acknowledges nothing new (better twice than lost). */
	acked = rec.sm_acked + (uint32_t)(h - (uint32_t)rec.sm_acked);
	if (acked > rec.sm_sent)
		acked = rec.sm_acked;
	if ((r = qdel(s, txn, s->s_smq, id, acked, &dropped)) != XF_OK ||
	    (r = qcopy(s, txn, s->s_smq, id, acked, SIZE_MAX, 0, resend, &n))
	    != XF_OK)
		goto fail;
	rec.sm_acked = acked;
	rec.sm_node = srec->sr_node;
	rec.sm_worker = srec->sr_worker;
	rec.sm_conn = srec->sr_conn;
	rec.sm_state = XF_SM_ATTACHED;
	rec.sm_expires = 0;
	if ((r = smstore(s, txn, id, prev, &rec)) != XF_OK)
		goto fail;
	/* The session record follows, keeping presence and flags. */
	sr.sr_node = srec->sr_node;
	sr.sr_worker = srec->sr_worker;
	sr.sr_conn = srec->sr_conn;
	sr.sr_since = srec->sr_since;
	memcpy(sr.sr_ip, srec->sr_ip, sizeof(sr.sr_ip));
	v.mv_data = &sr;
	v.mv_size = sizeof(sr);
	if ((rc = mdb_put(txn, s->s_dbi, &jk, &v, 0)) != 0) {
		r = fail(s, "mdb_put", rc);
		goto fail;
	}
	if ((r = wcommit(s, txn)) != XF_OK)
		return r;
	*srec = sr;
	*out = rec;
	return XF_OK;

fail:
	mdb_txn_abort(txn);
	return r;
}

/* Takes the claim on id in txn (o: its state now). */
static int
claim(xf_sess_t *s, MDB_txn *txn, const char *id, const xf_sm_rec_t *o,
    uint32_t worker, xf_sm_rec_t *out)
{
	*out = *o;
	out->sm_state = XF_SM_CLAIMED;
	out->sm_node = 0;
	out->sm_worker = worker;
	out->sm_conn = 0;
	return smstore(s, txn, id, o, out);
}

int
xf_sess_sm_claim_expired(xf_sess_t *s, int64_t now, uint32_t worker,
    char *id, xf_sm_rec_t *out, int *gone)
{
	xf_sm_rec_t	 o;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v, jk;
	int		 r, rc;

	*gone = 0;
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_cursor_open(txn, s->s_smexp, &cur)) != 0) {
		r = fail(s, "mdb_cursor_open(smexp)", rc);
		goto fail;
	}
	/* The index is sorted by expiry: only its head can be due. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 + XF_SM_IDLEN) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		/* Strictly after: a session is kept at least as long as
		 * promised, however the second of its detach was cut. */
		if ((int64_t)get64(k.mv_data) >= now) {
			rc = MDB_NOTFOUND;
			break;
		}
		memcpy(id, (char *)k.mv_data + 8, XF_SM_IDLEN);
		id[XF_SM_IDLEN] = '\0';
		if ((r = smload(s, txn, id, &o)) == XF_ERR) {
			mdb_cursor_close(cur);
			goto fail;
		}
		if (r == XF_OK && o.sm_state == XF_SM_DETACHED &&
		    o.sm_expires == (int64_t)get64(k.mv_data))
			break;
		/* Stale: the index outlived a state change. */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		/* Stale entries may have gone: keep that. */
		return wcommit(s, txn) == XF_OK ? XF_DECLINED : XF_ERR;
	}
	if (rc != 0) {
		r = fail(s, "mdb_cursor_get(smexp)", rc);
		goto fail;
	}
	if ((r = srload(s, txn, o.sm_full, &jk, &sr)) == XF_ERR)
		goto fail;
	if (r == XF_OK && names(&sr, &o)) {
		if ((rc = mdb_del(txn, s->s_dbi, &jk, NULL)) != 0) {
			r = fail(s, "mdb_del", rc);
			goto fail;
		}
		*gone = sr.sr_avail != 0;
	}
	if ((r = claim(s, txn, id, &o, worker, out)) != XF_OK)
		goto fail;
	if ((r = wcommit(s, txn)) != XF_OK)
		*gone = 0;
	return r;

fail:
	*gone = 0;
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_end(xf_sess_t *s, const char *id, uint32_t worker, uint64_t conn,
    xf_sm_rec_t *out)
{
	xf_sm_rec_t	 o;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &o)) != XF_OK)
		goto fail;
	if (!owned(&o, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	if ((r = claim(s, txn, id, &o, worker, out)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_queued(xf_sess_t *s, const char *id, xf_buf_t *out, size_t *n)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	*n = 0;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) == XF_OK &&
	    (r = qcopy(s, txn, s->s_smq, id, rec.sm_acked, SIZE_MAX, 0, out,
	    n)) == XF_OK)
		r = qcopy(s, txn, s->s_smin, id, 0, SIZE_MAX, 0, out, n);
	rend(s);
	return r;
}

int
xf_sess_sm_drop(xf_sess_t *s, const char *id)
{
	char		 jid[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, jk;
	uint64_t	 n;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = smload(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if ((r = qdel(s, txn, s->s_smq, id, UINT64_MAX, &n)) != XF_OK ||
	    (r = qdel(s, txn, s->s_smin, id, UINT64_MAX, &n)) != XF_OK)
		goto fail;
	if (rec.sm_state == XF_SM_DETACHED) {
		xf_sm_rec_t	 gone = rec;

		/* Leaves the index through smstore's bookkeeping. */
		gone.sm_state = XF_SM_CLAIMED;
		if ((r = smstore(s, txn, id, &rec, &gone)) != XF_OK)
			goto fail;
	}
	if (mkkey(s, rec.sm_full, &jk) == XF_OK &&
	    jidload(s, txn, &jk, jid) == XF_OK && strcmp(jid, id) == 0 &&
	    (rc = mdb_del(txn, s->s_smjid, &jk, NULL)) != 0) {
		r = fail(s, "mdb_del(smjid)", rc);
		goto fail;
	}
	idkey(id, &k);
	if ((rc = mdb_del(txn, s->s_sm, &k, NULL)) != 0) {
		r = fail(s, "mdb_del(sm)", rc);
		goto fail;
	}
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r == XF_DECLINED ? XF_OK : r;
}

int
xf_sess_sm_detach_worker(xf_sess_t *s, uint32_t worker, int64_t expires,
    size_t *count)
{
	xf_buf_t	 ids = { 0 };
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	char		 id[XF_SM_IDLEN + 1];
	size_t		 off;
	int		 r = XF_OK, rc;

	*count = 0;
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_cursor_open(txn, s->s_sm, &cur)) != 0) {
		r = fail(s, "mdb_cursor_open(sm)", rc);
		goto fail;
	}
	/* Ids first: the records change size as they are rewritten. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != XF_SM_IDLEN || v.mv_size < SM_HEAD)
			continue;
		memcpy(&o, v.mv_data, SM_HEAD);
		if (o.sm_node == 0 && o.sm_worker == worker &&
		    (o.sm_state == XF_SM_ATTACHED ||
		    o.sm_state == XF_SM_CLAIMED) &&
		    xf_buf_append(&ids, k.mv_data, XF_SM_IDLEN) != XF_OK) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		r = fail(s, "mdb_cursor_get(sm)", rc);
		goto fail;
	}
	for (off = 0; off < xf_buf_size(&ids); off += XF_SM_IDLEN) {
		memcpy(id, xf_buf_data(&ids) + off, XF_SM_IDLEN);
		id[XF_SM_IDLEN] = '\0';
		if ((r = smload(s, txn, id, &o)) != XF_OK)
			goto fail;
		rec = o;
		rec.sm_state = XF_SM_DETACHED;
		/* A claim of the dead worker is taken again at once. */
		rec.sm_expires = o.sm_state == XF_SM_ATTACHED && o.sm_resume ?
		    expires : 0;
		if ((r = smstore(s, txn, id, &o, &rec)) != XF_OK)
			goto fail;
		(*count)++;
	}
	xf_buf_free(&ids);
	return wcommit(s, txn);

fail:
	*count = 0;
	xf_buf_free(&ids);
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_kept(xf_sess_t *s, const char *full, const xf_sess_rec_t *rec)
{
	MDB_txn	*txn;
	MDB_val	 jk;
	int	 kept;

	if (!(rec->sr_flags & XF_SESS_SM) || mkkey(s, full, &jk) != XF_OK ||
	    rbegin(s, &txn) != XF_OK)
		return 0;
	kept = smkept(s, txn, &jk, rec);
	rend(s);
	return kept;
}
