/* authlim.c: the node's login limits in the session environment: unauthenticated connections per node and per address, failed logins per address and per account. */
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "sess.h"
#include "sess_impl.h"

/*
 * The named DB "unauth" holds counters, every key ending with the
 * worker slot that owns the count (4 bytes, big-endian):
 *
 *	'w' slot		connections slot holds
 *	'i' ip NUL slot		of them, those from ip
 *
 * A node's total is the sum of the 'w' keys (at most XF_MAX_WORKERS),
 * an address's the sum of its 'i' keys (as many): both are short cursor
 * walks.  Counting per slot rather than in one key is what lets the
 * master drop a dead worker's share.  Keys exist only while non-zero,
 * so the DB is as large as the number of unauthenticated connections,
 * which the caps bound.
 */
#define UA_IPMAX	47		/* xf_sess_rec_t.sr_ip holds 48 */
#define UA_KEYMAX	(1 + UA_IPMAX + 1 + 4)

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* The prefix of ip's keys ("i" ip NUL); its length, 0 if ip is too long. */
static size_t
ipprefix(const char *ip, unsigned char *k)
{
	size_t	 n = strlen(ip);

	if (n > UA_IPMAX)
		return 0;
	k[0] = 'i';
	memcpy(k + 1, ip, n);
	k[1 + n] = '\0';
	return n + 2;
}

/* Sums the counters whose keys start with pfx. */
static int
sum(xf_sess_t *s, MDB_txn *txn, const unsigned char *pfx, size_t pfxlen,
    uint32_t *out)
{
	MDB_cursor	*cur;
	MDB_val		 k = { pfxlen, (void *)pfx }, v;
	uint32_t	 n = 0, c;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, s->s_unauth, &cur)) != 0)
		return fail(s, "mdb_cursor_open(unauth)", rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    k.mv_size == pfxlen + 4 && memcmp(k.mv_data, pfx, pfxlen) == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (v.mv_size == sizeof(c)) {
			memcpy(&c, v.mv_data, sizeof(c));
			n += c;
		}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_cursor_get(unauth)", rc);
	*out = n;
	return XF_OK;
}

/* Adds d (+1 or -1) to the counter at k; a counter at 0 is deleted. */
static int
add(xf_sess_t *s, MDB_txn *txn, const unsigned char *key, size_t klen,
    int d)
{
	MDB_val		 k = { klen, (void *)key }, v;
	uint32_t	 c = 0;
	int		 rc;

	rc = mdb_get(txn, s->s_unauth, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(c))
		memcpy(&c, v.mv_data, sizeof(c));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_get(unauth)", rc);
	if (d < 0 && c == 0)
		return XF_OK;		/* cleared meanwhile: nothing to give */
	c = d < 0 ? c - 1 : c + 1;
	if (c == 0)
		rc = mdb_del(txn, s->s_unauth, &k, NULL);
	else {
		v.mv_size = sizeof(c);
		v.mv_data = &c;
		rc = mdb_put(txn, s->s_unauth, &k, &v, 0);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_put(unauth)", rc);
	return XF_OK;
}

/* Both counters of (ip, slot) move by d in txn. */
static int
move(xf_sess_t *s, MDB_txn *txn, const char *ip, uint32_t slot, int d)
{
	unsigned char	 wk[5], ik[UA_KEYMAX];
	size_t		 n;

	wk[0] = 'w';
	put32(wk + 1, slot);
	if ((n = ipprefix(ip, ik)) == 0)
		return failx(s, "address too long");
	put32(ik + n, slot);
	if (add(s, txn, wk, sizeof(wk), d) != XF_OK ||
	    add(s, txn, ik, n + 4, d) != XF_OK)
		return XF_ERR;
	return XF_OK;
}

int
xf_sess_unauth_take(xf_sess_t *s, const char *ip, uint32_t slot,
    uint32_t max_total, uint32_t max_ip, int *why)
{
	unsigned char	 pfx[UA_KEYMAX];
	MDB_txn		*txn;
	uint32_t	 total = 0, mine = 0;
	size_t		 n;
	int		 rc;

	*why = 0;
	if ((n = ipprefix(ip, pfx)) == 0)
		return failx(s, "address too long");
	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	if ((max_total > 0 && sum(s, txn, (const unsigned char *)"w", 1,
	    &total) != XF_OK) ||
	    (max_ip > 0 && sum(s, txn, pfx, n, &mine) != XF_OK))
		goto fail;
	if (max_ip > 0 && mine >= max_ip)
		*why = XF_UNAUTH_IP;
	else if (max_total > 0 && total >= max_total)
		*why = XF_UNAUTH_TOTAL;
	if (*why != 0) {
		mdb_txn_abort(txn);
		return XF_DECLINED;
	}
	if (move(s, txn, ip, slot, 1) != XF_OK)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;

fail:
	mdb_txn_abort(txn);
	return XF_ERR;
}

int
xf_sess_unauth_give(xf_sess_t *s, const char *ip, uint32_t slot)
{
	MDB_txn	*txn;
	int	 rc;

	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, &txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	if (move(s, txn, ip, slot, -1) != XF_OK) {
		mdb_txn_abort(txn);
		return XF_ERR;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

int
xf_sess_unauth_count(xf_sess_t *s, const char *ip, uint32_t *total,
    uint32_t *ipcount)
{
	unsigned char	 pfx[UA_KEYMAX];
	MDB_txn		*txn;
	size_t		 n = 0;
	int		 r = XF_OK;

	*total = 0;
	if (ipcount != NULL)
		*ipcount = 0;
	if (ip != NULL && (n = ipprefix(ip, pfx)) == 0)
		return failx(s, "address too long");
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if (sum(s, txn, (const unsigned char *)"w", 1, total) != XF_OK ||
	    (ip != NULL && ipcount != NULL &&
	    sum(s, txn, pfx, n, ipcount) != XF_OK))
		r = XF_ERR;
	rend(s);
	return r;
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

typedef struct slot_sweep_s {
	uint32_t	 slot;
	size_t		*count;
} slot_sweep_t;

/* A dead worker's places: its key ends with its slot; "w" keys count
 * the places it held. */
static int
slot_gone(void *ud, const MDB_val *k, const MDB_val *v)
{
	slot_sweep_t	*ss = ud;
	uint32_t	 c;

	if (k->mv_size < 5 || get32((const unsigned char *)k->mv_data +
	    k->mv_size - 4) != ss->slot)
		return 0;
	if (*(const char *)k->mv_data == 'w' && v->mv_size == sizeof(c)) {
		memcpy(&c, v->mv_data, sizeof(c));
		*ss->count += c;
	}
	return 1;
}

int
xf_sess_unauth_clear_worker(xf_sess_t *s, uint32_t slot, size_t *count)
{
	slot_sweep_t	 ss = { slot, count };

	*count = 0;
	return sweep(s, s->s_unauth, "mdb_cursor(unauth)", slot_gone, &ss);
}

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
