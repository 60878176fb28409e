/* store_lmdb.c: the embedded storage backend's operations: accounts and the per-user tables in one LMDB environment (store_lmdb_env.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "xf.h"
#include "buf.h"
#include "scram.h"
#include "store.h"
#include "store_impl.h"
#include "store_lmdb_impl.h"

#define STORE_ITER_MAX	10000000

/*
 * Account record, version 1: 136 bytes, integers little-endian so the
 * layout does not depend on the compiler.  Only the hash-length prefix
 * of each key is kept.
 *
 *   0  version (1)       1  3 zero bytes      4  iteration count (u32)
 *   8  created (i64)    16  salt (16)
 *  32  StoredKey SHA-1 (20)    52  StoredKey SHA-256 (32)
 *  84  ServerKey SHA-1 (20)   104  ServerKey SHA-256 (32)
 *
 * A new layout takes a new version byte, and acct_decode() learns to read
 * the old ones.
 */
#define ACCT_VERSION	1
#define ACCT_SIZE	136

static int	 del_range(MDB_txn *, MDB_dbi, const void *, size_t, size_t *);

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_u32(const uint8_t *p)
{
	uint32_t	 v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void
acct_encode(const xf_account_t *a, uint8_t *p)
{
	const xf_cred_t	*c = &a->ac_cred;

	memset(p, 0, ACCT_SIZE);
	p[0] = ACCT_VERSION;
	put_u32(p + 4, c->cr_iter);
	put_u64(p + 8, (uint64_t)a->ac_created);
	memcpy(p + 16, c->cr_salt, XF_SCRAM_SALT_LEN);
	memcpy(p + 32, c->cr_stored[XF_HASH_SHA1], 20);
	memcpy(p + 52, c->cr_stored[XF_HASH_SHA256], 32);
	memcpy(p + 84, c->cr_server[XF_HASH_SHA1], 20);
	memcpy(p + 104, c->cr_server[XF_HASH_SHA256], 32);
}

static int
acct_decode(const MDB_val *v, xf_account_t *a)
{
	const uint8_t	*p = v->mv_data;
	xf_cred_t	*c = &a->ac_cred;

	if (v->mv_size != ACCT_SIZE || p[0] != ACCT_VERSION ||
	    p[1] != 0 || p[2] != 0 || p[3] != 0)
		return XF_ERR;
	memset(a, 0, sizeof(*a));
	c->cr_iter = get_u32(p + 4);
	if (c->cr_iter < 1 || c->cr_iter > STORE_ITER_MAX)
		return XF_ERR;
	a->ac_created = (int64_t)get_u64(p + 8);
	memcpy(c->cr_salt, p + 16, XF_SCRAM_SALT_LEN);
	memcpy(c->cr_stored[XF_HASH_SHA1], p + 32, 20);
	memcpy(c->cr_stored[XF_HASH_SHA256], p + 52, 32);
	memcpy(c->cr_server[XF_HASH_SHA1], p + 84, 20);
	memcpy(c->cr_server[XF_HASH_SHA256], p + 104, 32);
	return XF_OK;
}

/*
 * The key for a bare JID.  LMDB's keys are at most 511 bytes
 * (mdb_env_get_maxkeysize), well short of the 2047 a bare JID may take;
 * longer JIDs are refused rather than hashed, so keys stay readable and
 * sorted.
 */
static int
jid_key(lmdb_t *st, const char *bare, MDB_val *k)
{
	size_t	 len;
	int	 max = mdb_env_get_maxkeysize(st->st_env);

	if (bare == NULL || (len = strlen(bare)) == 0)
		return xf_lmdb_fail(st, 0, "empty JID");
	if (len > (size_t)max)
		return xf_lmdb_fail(st, 0, "JID longer than %d bytes", max);
	k->mv_data = (void *)bare;
	k->mv_size = len;
	return XF_OK;
}

static int
lmdb_user_get(xf_store_t *base, const char *bare, xf_account_t *out)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 rc, ret = XF_ERR;

	/* No record can have a key that long: no such user (a stanza to
	 * such an address is not a store failure). */
	if (bare != NULL && strlen(bare) >
	    (size_t)mdb_env_get_maxkeysize(st->st_env))
		return XF_DECLINED;
	if (jid_key(st, bare, &k) != XF_OK)
		return XF_ERR;
	if ((rc = xf_lmdb_rbegin(st, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "get %s", bare);
	rc = mdb_get(txn, st->st_accounts, &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = XF_DECLINED;
	else if (rc != 0)
		xf_lmdb_fail(st, rc, "get %s", bare);
	else if (acct_decode(&v, out) != XF_OK)
		xf_lmdb_fail(st, 0, "get %s: corrupt account record", bare);
	else
		ret = XF_OK;
	/* v points into the map: decoded above, before the txn ends. */
	rend(st, txn);
	return ret;
}

static int
lmdb_user_put(xf_store_t *base, const char *bare, const xf_account_t *a,
    int create)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k, v;
	uint8_t		 rec[ACCT_SIZE];
	int		 rc;

	if (jid_key(st, bare, &k) != XF_OK)
		return XF_ERR;
	if (a->ac_cred.cr_iter < 1 || a->ac_cred.cr_iter > STORE_ITER_MAX)
		return xf_lmdb_fail(st, 0, "put %s: bad iteration count", bare);
	acct_encode(a, rec);
	v.mv_data = rec;
	v.mv_size = sizeof(rec);

	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "put %s", bare);
	if (!create) {
		MDB_val	 old;

		rc = mdb_get(txn, st->st_accounts, &k, &old);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return XF_DECLINED;
		}
		if (rc != 0)
			goto fail;
	}
	rc = mdb_put(txn, st->st_accounts, &k, &v,
	    create ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST) {
		mdb_txn_abort(txn);
		return XF_DECLINED;
	}
	if (rc == 0)
		rc = xf_lmdb_headroom(st, txn);
	if (rc != 0)
		goto fail;
	/* Commit frees the txn, failed or not. */
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "put %s", bare);
	return XF_OK;
fail:
	mdb_txn_abort(txn);
	return xf_lmdb_fail(st, rc, "put %s", bare);
}

static int
lmdb_user_del(xf_store_t *base, const char *bare)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if (jid_key(st, bare, &k) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", bare);
	rc = mdb_del(txn, st->st_accounts, &k, NULL);
	/* Everything else the user owns goes in the same transaction. */
	for (int i = 0; rc == 0 && i < XF_T_NTABLES; i++) {
		/* "bare" itself and "bare NUL ...": not "bare.org". */
		rc = mdb_del(txn, st->st_tables[i], &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = del_range(txn, st->st_tables[i], bare,
			    strlen(bare) + 1, NULL);
	}
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return XF_DECLINED;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "del %s", bare);
	}
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", bare);
	return XF_OK;
}

/*
 * Keys sort by the whole bare JID, so one domain's users are not
 * contiguous and a domain filter reads every key: O(all accounts).  An
 * index keyed domain-first would fix that if listing ever leaves the
 * admin path.  The names are copied out and the read txn ended before fn
 * runs, so fn may call back into the store (to delete, say); the cost is
 * memory for all the names at once.  A non-zero return from fn stops the
 * walk and is returned.
 */
static int
lmdb_user_list(xf_store_t *base, const char *domain,
    int (*fn)(void *ud, const char *bare), void *ud)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	xf_buf_t	 names = { 0 };
	size_t		 dlen = domain ? strlen(domain) : 0, off;
	const char	*key, *name;
	int		 rc, op, ret = XF_OK;

	if ((rc = xf_lmdb_rbegin(st, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "list");
	if ((rc = mdb_cursor_open(txn, st->st_accounts, &cur)) != 0) {
		rend(st, txn);
		return xf_lmdb_fail(st, rc, "list");
	}
	for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		key = k.mv_data;
		if (k.mv_size == 0 || memchr(key, '\0', k.mv_size) != NULL) {
			ret = xf_lmdb_fail(st, 0, "list: corrupt key");
			break;
		}
		if (dlen > 0 && (k.mv_size < dlen + 2 ||
		    key[k.mv_size - dlen - 1] != '@' ||
		    memcmp(key + k.mv_size - dlen, domain, dlen) != 0))
			continue;
		if (xf_buf_append(&names, key, k.mv_size) != XF_OK ||
		    xf_buf_append(&names, "", 1) != XF_OK) {
			ret = xf_lmdb_fail(st, ENOMEM, "list");
			break;
		}
	}
	if (ret == XF_OK && rc != MDB_NOTFOUND)
		ret = xf_lmdb_fail(st, rc, "list");
	mdb_cursor_close(cur);
	rend(st, txn);

	for (off = 0; ret == XF_OK && off < xf_buf_size(&names);
	    off += strlen(name) + 1) {
		name = xf_buf_data(&names) + off;
		ret = fn(ud, name);
	}
	xf_buf_free(&names);
	return ret;
}

/* ---- tables ------------------------------------------------------------ */

static int
table_key(lmdb_t *st, int table, const void *key, size_t klen, MDB_val *k)
{
	if (table < 0 || table >= XF_T_NTABLES)
		return xf_lmdb_fail(st, 0, "no table %d", table);
	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(st->st_env))
		return xf_lmdb_fail(st, 0, "%s: key of %zu bytes",
		    table_names[table], klen);
	k->mv_data = (void *)key;
	k->mv_size = klen;
	return XF_OK;
}

static int
lmdb_get(xf_store_t *base, int table, const void *key, size_t klen,
    xf_buf_t *val)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 rc, ret = XF_ERR;

	if (table_key(st, table, key, klen, &k) != XF_OK)
		return XF_ERR;
	if ((rc = xf_lmdb_rbegin(st, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "get");
	rc = mdb_get(txn, st->st_tables[table], &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = XF_DECLINED;
	else if (rc != 0)
		xf_lmdb_fail(st, rc, "get %s", table_names[table]);
	else if (xf_buf_append(val, v.mv_data, v.mv_size) != XF_OK)
		xf_lmdb_fail(st, ENOMEM, "get %s", table_names[table]);
	else
		ret = XF_OK;
	rend(st, txn);
	return ret;
}

static int
lmdb_put(xf_store_t *base, int table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k, v = { vlen, (void *)val };
	int		 rc;

	if (table_key(st, table, key, klen, &k) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "put %s", table_names[table]);
	if ((rc = mdb_put(txn, st->st_tables[table], &k, &v, 0)) != 0 ||
	    (rc = xf_lmdb_headroom(st, txn)) != 0) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "put %s", table_names[table]);
	}
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "put %s", table_names[table]);
	return XF_OK;
}

static int
lmdb_update(xf_store_t *base, int table, const void *key, size_t klen,
    int (*fn)(void *, const void *, size_t, xf_buf_t *), void *ud)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k, v;
	xf_buf_t	 out = { 0 };
	int		 rc, r;

	if (table_key(st, table, key, klen, &k) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "update %s", table_names[table]);
	rc = mdb_get(txn, st->st_tables[table], &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "update %s", table_names[table]);
	}
	r = fn(ud, rc == 0 ? v.mv_data : NULL, rc == 0 ? v.mv_size : 0, &out);
	if (r == XF_OK) {
		MDB_val	 nv = { xf_buf_size(&out), xf_buf_data(&out) };

		if ((rc = mdb_put(txn, st->st_tables[table], &k, &nv, 0)) == 0)
			rc = xf_lmdb_headroom(st, txn);
	} else if (r == XF_DECLINED && rc == 0)
		rc = mdb_del(txn, st->st_tables[table], &k, NULL);
	else {
		/* Nothing to write: fn said so, or fn failed. */
		mdb_txn_abort(txn);
		xf_buf_free(&out);
		return r == XF_DECLINED ? XF_DECLINED : r;
	}
	xf_buf_free(&out);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "update %s", table_names[table]);
	}
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "update %s", table_names[table]);
	return r;
}

static int
lmdb_del(xf_store_t *base, int table, const void *key, size_t klen)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if (table_key(st, table, key, klen, &k) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	rc = mdb_del(txn, st->st_tables[table], &k, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return XF_DECLINED;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	}
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	return XF_OK;
}

/* Deletes every key that starts with prefix (which may hold NULs). */
static int
del_range(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
    size_t *count)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;
	size_t		 n = 0;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return rc;
	k.mv_data = (void *)prefix;
	k.mv_size = plen;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
		/* After a delete the cursor sits on the next key. */
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
	}
	mdb_cursor_close(cur);
	if (count)
		*count = n;
	return rc == MDB_NOTFOUND || rc == EINVAL || rc == 0 ? 0 : rc;
}

static int
lmdb_del_prefix(xf_store_t *base, int table, const void *prefix,
    size_t plen, size_t *count)
{
	lmdb_t		*st = (lmdb_t *)base;
	MDB_txn		*txn;
	MDB_val		 k;
	int		 rc;

	if (table_key(st, table, prefix, plen, &k) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	if ((rc = del_range(txn, st->st_tables[table], prefix, plen,
	    count)) != 0) {
		mdb_txn_abort(txn);
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	}
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "del %s", table_names[table]);
	return XF_OK;
}

/*
 * Walks the keys of table that start with prefix inside one read
 * transaction, calling each with pointers into the map (valid only
 * during the call).  each returns non-zero to stop.
 */
static int
walk(lmdb_t *st, int table, const void *prefix, size_t plen,
    int (*each)(void *, const MDB_val *, const MDB_val *), void *ud,
    const char *what)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc, op, ret = XF_OK;

	if (table < 0 || table >= XF_T_NTABLES)
		return xf_lmdb_fail(st, 0, "no table %d", table);
	if ((rc = xf_lmdb_rbegin(st, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "%s", what);
	if ((rc = mdb_cursor_open(txn, st->st_tables[table], &cur)) != 0) {
		rend(st, txn);
		return xf_lmdb_fail(st, rc, "%s", what);
	}
	k.mv_data = (void *)prefix;
	k.mv_size = plen;
	op = plen ? MDB_SET_RANGE : MDB_FIRST;
	for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rc = each(ud, &k, &v)) != 0) {
			/* < 0: seen enough; > 0: out of memory. */
			if (rc > 0)
				ret = xf_lmdb_fail(st, ENOMEM, "%s", what);
			rc = 0;
			break;
		}
	}
	if (ret == XF_OK && rc != 0 && rc != MDB_NOTFOUND)
		ret = xf_lmdb_fail(st, rc, "%s %s", what, table_names[table]);
	mdb_cursor_close(cur);
	rend(st, txn);
	return ret;
}

static int
copy_rec(void *ud, const MDB_val *k, const MDB_val *v)
{
	xf_buf_t	*recs = ud;

	return xf_buf_append(recs, &k->mv_size, sizeof(size_t)) != XF_OK ||
	    xf_buf_append(recs, &v->mv_size, sizeof(size_t)) != XF_OK ||
	    xf_buf_append(recs, k->mv_data, k->mv_size) != XF_OK ||
	    xf_buf_append(recs, v->mv_data, v->mv_size) != XF_OK;
}

/*
 * Copies the matching records out, ends the read, then calls fn: fn may
 * write to the store.  Memory: all matching records at once, which is
 * bounded by the quotas of the callers (roster size, offline quota).
 */
static int
lmdb_scan(xf_store_t *base, int table, const void *prefix, size_t plen,
    int (*fn)(void *, const void *, size_t, const void *, size_t), void *ud)
{
	lmdb_t		*st = (lmdb_t *)base;
	xf_buf_t	 recs = { 0 };
	size_t		 off, kl, vl;
	int		 ret;

	ret = walk(st, table, prefix, plen, copy_rec, &recs, "scan");
	for (off = 0; ret == XF_OK && off < xf_buf_size(&recs);
	    off += 2 * sizeof(size_t) + kl + vl) {
		const char	*p = xf_buf_data(&recs) + off;

		memcpy(&kl, p, sizeof(kl));
		memcpy(&vl, p + sizeof(kl), sizeof(vl));
		ret = fn(ud, p + 2 * sizeof(size_t), kl,
		    p + 2 * sizeof(size_t) + kl, vl);
	}
	xf_buf_free(&recs);
	return ret;
}

typedef struct cnt_s {
	size_t	 n;
	size_t	 max;
} cnt_t;

static int
count_rec(void *ud, const MDB_val *k, const MDB_val *v)
{
	cnt_t	*c = ud;

	return ++c->n >= c->max ? -1 : 0;
}

static int
lmdb_count_max(xf_store_t *base, int table, const void *prefix,
    size_t plen, size_t max, size_t *count)
{
	lmdb_t		*st = (lmdb_t *)base;
	cnt_t	 c = { 0, max ? max : (size_t)-1 };
	int	 r;

	r = walk(st, table, prefix, plen, count_rec, &c, "count");
	*count = c.n;
	return r;
}

typedef struct use_s {
	size_t	 n;
	size_t	 bytes;
} use_t;

static int
use_rec(void *ud, const MDB_val *k, const MDB_val *v)
{
	use_t	*u = ud;

	u->n++;
	u->bytes += v->mv_size;
	return 0;
}

static int
lmdb_usage(xf_store_t *base, int table, const void *prefix, size_t plen,
    size_t *count, size_t *bytes)
{
	lmdb_t		*st = (lmdb_t *)base;
	use_t		 u = { 0, 0 };
	int		 r;

	r = walk(st, table, prefix, plen, use_rec, &u, "usage");
	*count = u.n;
	*bytes = u.bytes;
	return r;
}

static int
lmdb_seq(xf_store_t *base, uint64_t *seq)
{
	lmdb_t		*st = (lmdb_t *)base;
	static const char key[] = "\0seq";	/* no JID starts with NUL */
	MDB_txn		*txn;
	MDB_val		 k = { sizeof(key) - 1, (void *)key }, v;
	uint8_t		 b[8];
	uint64_t	 n = 0;
	int		 rc;

	if ((rc = mdb_txn_begin(st->st_env, NULL, 0, &txn)) != 0)
		return xf_lmdb_fail(st, rc, "seq");
	rc = mdb_get(txn, st->st_tables[XF_T_META], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		n = get_u64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	put_u64(b, ++n);
	v.mv_data = b;
	v.mv_size = 8;
	if ((rc = mdb_put(txn, st->st_tables[XF_T_META], &k, &v, 0)) != 0 ||
	    (rc = xf_lmdb_headroom(st, txn)) != 0)
		goto fail;
	if ((rc = wcommit(st, txn)) != 0)
		return xf_lmdb_fail(st, rc, "seq");
	*seq = n;
	return XF_OK;
fail:
	mdb_txn_abort(txn);
	return xf_lmdb_fail(st, rc, "seq");
}

static int
lmdb_check(xf_store_t *base, int conns, char *msg, size_t len)
{
	lmdb_t		*st = (lmdb_t *)base;
	const char	*path = "?";

	mdb_env_get_path(st->st_env, &path);
	snprintf(msg, len, "lmdb in %s", path);
	return XF_OK;
}

const xf_store_ops_t xf_lmdb_ops = {
	"lmdb",
	xf_lmdb_close,
	lmdb_user_get,
	lmdb_user_put,
	lmdb_user_del,
	lmdb_user_list,
	lmdb_get,
	lmdb_put,
	lmdb_update,
	lmdb_del,
	lmdb_scan,
	lmdb_del_prefix,
	lmdb_count_max,
	lmdb_usage,
	lmdb_seq,
	lmdb_check,
	NULL,		/* listen: one node, rings tell the workers */
	NULL,		/* notify */
};

