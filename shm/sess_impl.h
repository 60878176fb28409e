/* sess_impl.h: the session handle and helpers shared by sess.c and smstate.c; private to shm/. */
#ifndef XF_SESS_IMPL_H
#define XF_SESS_IMPL_H

#include <sys/types.h>

#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "sess.h"

/*
 * One handle per process (see xf_sess_open() in sess.c).  The session
 * table is the unnamed DB; the SM state and the login limits are in
 * the named ones.
 */
struct xf_sess_s {
	MDB_env		*s_env;		/* owned by the process s_pid */
	MDB_dbi		 s_dbi;		/* the unnamed DB */
	MDB_dbi		 s_sm;		/* SM databases: see smstate.h */
	MDB_dbi		 s_smjid;
	MDB_dbi		 s_smq;
	MDB_dbi		 s_smin;
	MDB_dbi		 s_smexp;
	MDB_dbi		 s_smpres;
	MDB_dbi		 s_authfail;
	MDB_txn		*s_rtxn;	/* reused read txn; reset when idle */
	pid_t		 s_pid;		/* opener; see xf_sess_close() */
	size_t		 s_maxkey;	/* mdb_env_get_maxkeysize(): 511 */
	char		 s_err[256];
};

/* One place for LMDB (and errno) codes: mdb_strerror() knows both. */
static inline int
fail(xf_sess_t *s, const char *call, int rc)
{
	snprintf(s->s_err, sizeof(s->s_err), "%s: %s", call,
	    mdb_strerror(rc));
	return XF_ERR;
}

static inline int
failx(xf_sess_t *s, const char *msg)
{
	snprintf(s->s_err, sizeof(s->s_err), "%s", msg);
	return XF_ERR;
}

/* The handle's one read txn, renewed, not begun: see MDB_NOTLS in sess.c. */
static inline int
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

static inline void
rend(xf_sess_t *s)
{
	mdb_txn_reset(s->s_rtxn);
}

/* Copies a record out of the map after checking its size. */
static inline int
getrec(xf_sess_t *s, const MDB_val *v, xf_sess_rec_t *rec)
{
	if (v->mv_size != sizeof(*rec))
		return failx(s, "session record of the wrong size");
	memcpy(rec, v->mv_data, sizeof(*rec));
	return XF_OK;
}

/* XF_DECLINED if full cannot be a key (empty or longer than LMDB allows). */
static inline int
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
 * 1 if rec, full's session record (jk its key) read in txn, is kept
 * for a detached SM session.  In smstate.c; xf_sess_clear_worker()
 * asks it inside its own write txn.
 */
int	 xf_sess_sm_kept_txn(xf_sess_t *, MDB_txn *, const MDB_val *jk,
	    const xf_sess_rec_t *);

#endif /* XF_SESS_IMPL_H */
