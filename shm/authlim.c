/* authlim.c: failed logins per address and per account, counted per node in the session environment. */
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "sess.h"
#include "sess_impl.h"

/* ---- failed logins ----------------------------------------------- */

/*
 * The named DB "authfail": 'i' ip, or 'a' bare JID, to an af_t.  It
 * holds one record per address or account that failed within the block
 * time, so its size is bounded by the rate of failures the delays let
 * through, not by the number of attempts.
 */
typedef struct af_s {
	uint32_t	 af_fails;	/* since the last block, or expiry */
	uint32_t	 af_pad;
	int64_t		 af_expire;	/* forgotten from then on */
	int64_t		 af_until;	/* blocked (locked) until then */
	int64_t		 af_relock;	/* account: no new lock before */
} af_t;

#define AF_KEYMAX	512

/* The key of ip (kind 'i') or bare ('a'); 0 if it cannot be one. */
static size_t
afkey(xf_sess_t *s, char kind, const char *name, unsigned char *k)
{
	size_t	 n = strlen(name);

	if (n == 0 || n + 1 > s->s_maxkey || n + 1 > AF_KEYMAX)
		return 0;
	k[0] = (unsigned char)kind;
	memcpy(k + 1, name, n);
	return n + 1;
}

/* The record at key as of now: zeroed if absent or forgotten. */
static int
afget(xf_sess_t *s, MDB_txn *txn, const unsigned char *key, size_t klen,
    int64_t now, af_t *af)
{
	MDB_val	 k = { klen, (void *)key }, v;
	int	 rc;

	memset(af, 0, sizeof(*af));
	if ((rc = mdb_get(txn, s->s_authfail, &k, &v)) == MDB_NOTFOUND)
		return XF_OK;
	if (rc != 0)
		return fail(s, "mdb_get(authfail)", rc);
	if (v.mv_size == sizeof(*af))
		memcpy(af, v.mv_data, sizeof(*af));
	if (af->af_expire <= now)
		memset(af, 0, sizeof(*af));
	return XF_OK;
}

static int
afput(xf_sess_t *s, MDB_txn *txn, const unsigned char *key, size_t klen,
    const af_t *af)
{
	MDB_val	 k = { klen, (void *)key }, v = { sizeof(*af), (void *)af };
	int	 rc;

	if ((rc = mdb_put(txn, s->s_authfail, &k, &v, 0)) != 0)
		return fail(s, "mdb_put(authfail)", rc);
	return XF_OK;
}

static int64_t
later(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int
xf_sess_authfail_check(xf_sess_t *s, const char *ip, const char *bare,
    int64_t now, int *state)
{
	unsigned char	 key[AF_KEYMAX];
	MDB_txn		*txn;
	af_t		 af;
	size_t		 n;
	int		 r = XF_OK;

	*state = 0;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((n = afkey(s, 'i', ip, key)) > 0) {
		if ((r = afget(s, txn, key, n, now, &af)) == XF_OK &&
		    af.af_until > now)
			*state |= XF_AUTH_BLOCKED;
	}
	if (r == XF_OK && bare != NULL && (n = afkey(s, 'a', bare, key)) > 0) {
		if ((r = afget(s, txn, key, n, now, &af)) == XF_OK &&
		    af.af_until > now)
			*state |= XF_AUTH_LOCKED;
	}
	rend(s);
	return r;
}

int
xf_sess_authfail_add(xf_sess_t *s, const char *ip, const char *bare,
    int64_t now, const xf_authlim_t *al, uint32_t *ipfails,
    uint32_t *acfails, int *newly)
{
	unsigned char	 key[AF_KEYMAX];
	MDB_txn		*txn;
	af_t		 af;
	size_t		 n;
	int		 rc;

	*ipfails = *acfails = 0;
	*newly = 0;
	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);

	if ((n = afkey(s, 'i', ip, key)) > 0) {
		if (afget(s, txn, key, n, now, &af) != XF_OK)
			goto fail;
		*ipfails = ++af.af_fails;
		af.af_expire = now + al->al_block_ms;
		if (al->al_block_after > 0 &&
		    af.af_fails >= al->al_block_after && af.af_until <= now) {
			af.af_until = now + al->al_block_ms;
			af.af_fails = 0;
			*newly |= XF_AUTH_BLOCKED;
		}
		af.af_expire = later(af.af_expire, af.af_until);
		if (afput(s, txn, key, n, &af) != XF_OK)
			goto fail;
	}
	if (bare != NULL && (n = afkey(s, 'a', bare, key)) > 0) {
		if (afget(s, txn, key, n, now, &af) != XF_OK)
			goto fail;
		if (af.af_until <= now) {
			*acfails = ++af.af_fails;
			af.af_expire = now + al->al_block_ms;
			if (al->al_lock_after > 0 &&
			    af.af_fails >= al->al_lock_after &&
			    af.af_relock <= now) {
				af.af_until = now + al->al_lock_ms;
				af.af_relock = af.af_until + al->al_lock_ms;
				af.af_fails = 0;
				*newly |= XF_AUTH_LOCKED;
			}
			af.af_expire = later(af.af_expire, af.af_relock);
			if (afput(s, txn, key, n, &af) != XF_OK)
				goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;

fail:
	mdb_txn_abort(txn);
	*newly = 0;
	return XF_ERR;
}

/*
 * Deletes every record of dbi for which gone(ud, key, value) says so, in
 * one write txn; gone may count what it sees.  name is for errors.
 */
static int
sweep(xf_sess_t *s, MDB_dbi dbi, const char *name,
    int (*gone)(void *, const MDB_val *, const MDB_val *), void *ud)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return fail(s, name, rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!gone(ud, &k, &v))
			continue;
		/* After a delete, MDB_NEXT yields the following key. */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return fail(s, name, rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

typedef struct expiry_sweep_s {
	int64_t		 now;
	size_t		*count;
} expiry_sweep_t;

/* An expired record, or one that is not a record. */
static int
expired(void *ud, const MDB_val *k, const MDB_val *v)
{
	expiry_sweep_t	*es = ud;
	af_t		 af;

	if (v->mv_size == sizeof(af)) {
		memcpy(&af, v->mv_data, sizeof(af));
		if (af.af_expire > es->now)
			return 0;
	}
	(*es->count)++;
	return 1;
}

int
xf_sess_authfail_purge(xf_sess_t *s, int64_t now, size_t *count)
{
	expiry_sweep_t	 es = { now, count };

	*count = 0;
	return sweep(s, s->s_authfail, "mdb_cursor(authfail)", expired, &es);
}
