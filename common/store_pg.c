/* store_pg.c: the PostgreSQL storage backend: the handle and its operations as SQL (connections in store_pg_conn.c, notices in store_pg_listen.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "xf.h"
#include "buf.h"
#include "jid.h"
#include "store.h"
#include "store_impl.h"
#include "store_pg_impl.h"

/*
 * The schema is conf/pgsql.sql.  Accounts are rows of xf_users with the
 * SCRAM keys in columns; every per-user table has the shape (owner,
 * skey, val): the store's key "bare NUL rest" is split at its first NUL
 * into owner (text) and skey (bytea), a key without a NUL is all owner.
 * Owners compare with the "C" collation, so (owner, skey) sorts as the
 * whole key's bytes do, as in LMDB.
 *
 * Every statement waits on a coroutine, or on the main stack's own
 * connection: see store_pg_conn.c.
 */

static const xf_store_ops_t pg_ops;

static void
be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be(const char *p, int len)
{
	uint64_t	 v = 0;

	for (int i = 0; i < len; i++)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

/* ---- the handle ----------------------------------------------------- */

int
xf_store_pg_open(const xf_store_conf_t *sc, xf_store_t **out, char *err,
    size_t errlen)
{
	pg_t	*pg;

	*out = NULL;
	if (sc->sc_dsn == NULL || *sc->sc_dsn == '\0') {
		snprintf(err, errlen, "store: pgsql needs a dsn");
		return XF_ERR;
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL ||
	    (pg->pg_dsn = strdup(sc->sc_dsn)) == NULL ||
	    (pg->pg_pool = calloc((size_t)(sc->sc_pool > 0 ? sc->sc_pool : 1),
	    sizeof(pgc_t))) == NULL) {
		if (pg != NULL)
			free(pg->pg_dsn);
		free(pg);
		snprintf(err, errlen, "store: out of memory");
		return XF_ERR;
	}
	pg->st_base.st_ops = &pg_ops;
	pg->pg_listen_fd = -1;
	pg->pg_npool = sc->sc_pool > 0 ? sc->sc_pool : 1;
	pg->pg_timeout_ms = (sc->sc_timeout > 0 ? sc->sc_timeout : 10) * 1000;
	*out = &pg->st_base;
	return XF_OK;
}

static void
pg_close(xf_store_t *base)
{
	pg_t	*pg = (pg_t *)base;

	xf_pg_listen_close(pg);
	for (int i = 0; i < pg->pg_npool; i++)
		xf_pg_drop(&pg->pg_pool[i]);
	xf_pg_drop(&pg->pg_sync);
	free(pg->pg_pool);
	free(pg->pg_dsn);
	free(pg);
}

/* ---- accounts ------------------------------------------------------- */

static int
pg_user_get(xf_store_t *base, const char *bare, xf_account_t *out)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	xf_cred_t	*c = &out->ac_cred;
	int		 ret = XF_OK;

	param_str(&p, bare);
	if ((res = xf_pg_exec(pg, "SELECT iterations, salt, stored_key_sha1, "
	    "server_key_sha1, stored_key_sha256, server_key_sha256, created "
	    "FROM xf_users WHERE jid = $1", &p)) == NULL)
		return XF_ERR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return XF_DECLINED;
	}
	if (PQgetlength(res, 0, 0) != 4 ||
	    PQgetlength(res, 0, 1) != XF_SCRAM_SALT_LEN ||
	    PQgetlength(res, 0, 2) != 20 || PQgetlength(res, 0, 3) != 20 ||
	    PQgetlength(res, 0, 4) != 32 || PQgetlength(res, 0, 5) != 32 ||
	    PQgetlength(res, 0, 6) != 8) {
		PQclear(res);
		return xf_store_fail(base, "get %s: corrupt account row",
		    bare);
	}
	memset(out, 0, sizeof(*out));
	c->cr_iter = (uint32_t)get_be(PQgetvalue(res, 0, 0), 4);
	memcpy(c->cr_salt, PQgetvalue(res, 0, 1), XF_SCRAM_SALT_LEN);
	memcpy(c->cr_stored[XF_HASH_SHA1], PQgetvalue(res, 0, 2), 20);
	memcpy(c->cr_server[XF_HASH_SHA1], PQgetvalue(res, 0, 3), 20);
	memcpy(c->cr_stored[XF_HASH_SHA256], PQgetvalue(res, 0, 4), 32);
	memcpy(c->cr_server[XF_HASH_SHA256], PQgetvalue(res, 0, 5), 32);
	out->ac_created = (int64_t)get_be(PQgetvalue(res, 0, 6), 8);
	if (c->cr_iter < 1)
		ret = xf_store_fail(base, "get %s: corrupt account row", bare);
	PQclear(res);
	return ret;
}

static int
pg_user_put(xf_store_t *base, const char *bare, const xf_account_t *a,
    int create)
{
	pg_t		*pg = (pg_t *)base;
	const xf_cred_t	*c = &a->ac_cred;
	params_t	 p = { 0 };
	uint8_t		 iter[4], created[8];
	size_t		 n = 0;

	if (*bare == '\0')
		return xf_store_fail(base, "empty JID");
	iter[0] = (uint8_t)(c->cr_iter >> 24);
	iter[1] = (uint8_t)(c->cr_iter >> 16);
	iter[2] = (uint8_t)(c->cr_iter >> 8);
	iter[3] = (uint8_t)c->cr_iter;
	be64(created, (uint64_t)a->ac_created);
	param_str(&p, bare);
	param(&p, OID_INT4, iter, 4);
	param(&p, OID_BYTEA, c->cr_salt, XF_SCRAM_SALT_LEN);
	param(&p, OID_BYTEA, c->cr_stored[XF_HASH_SHA1], 20);
	param(&p, OID_BYTEA, c->cr_server[XF_HASH_SHA1], 20);
	param(&p, OID_BYTEA, c->cr_stored[XF_HASH_SHA256], 32);
	param(&p, OID_BYTEA, c->cr_server[XF_HASH_SHA256], 32);
	param(&p, OID_INT8, created, 8);
	if (xf_pg_exec_count(pg, create ?
	    "INSERT INTO xf_users (jid, iterations, salt, stored_key_sha1, "
	    "server_key_sha1, stored_key_sha256, server_key_sha256, created) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	    "ON CONFLICT (jid) DO NOTHING" :
	    "UPDATE xf_users SET iterations = $2, salt = $3, "
	    "stored_key_sha1 = $4, server_key_sha1 = $5, "
	    "stored_key_sha256 = $6, server_key_sha256 = $7, created = $8 "
	    "WHERE jid = $1", &p, &n) != XF_OK)
		return XF_ERR;
	return n == 1 ? XF_OK : XF_DECLINED;
}

/* The account and all its records go in one statement. */
static int
pg_user_del(xf_store_t *base, const char *bare)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	char		 sql[1024];
	int		 off = 0;
	size_t		 n = 0;

	off = snprintf(sql, sizeof(sql), "WITH ");
	for (int i = 0; i < XF_T_NTABLES; i++)
		off += snprintf(sql + off, sizeof(sql) - (size_t)off,
		    "%st%d AS (DELETE FROM xf_%s WHERE owner = $1) ",
		    i ? ", " : "", i, xf_store_tables[i]);
	snprintf(sql + off, sizeof(sql) - (size_t)off,
	    "DELETE FROM xf_users WHERE jid = $1");
	param_str(&p, bare);
	if (xf_pg_exec_count(pg, sql, &p, &n) != XF_OK)
		return XF_ERR;
	return n == 1 ? XF_OK : XF_DECLINED;
}

/* The names are read whole, then fn runs: fn may call the store. */
static int
pg_user_list(xf_store_t *base, const char *domain,
    int (*fn)(void *, const char *), void *ud)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	int		 ret = XF_OK;

	if (domain != NULL)
		param_str(&p, domain);
	if ((res = xf_pg_exec(pg, domain != NULL ?
	    "SELECT jid FROM xf_users WHERE split_part(jid, '@', 2) = $1 "
	    "ORDER BY jid" : "SELECT jid FROM xf_users ORDER BY jid",
	    &p)) == NULL)
		return XF_ERR;
	for (int i = 0; ret == XF_OK && i < PQntuples(res); i++)
		ret = fn(ud, PQgetvalue(res, i, 0));
	PQclear(res);
	return ret;
}

/* ---- tables --------------------------------------------------------- */

/* Splits a key at its first NUL into owner and skey parameters. */
static int
key_params(pg_t *pg, const void *key, size_t klen, params_t *p,
    char *owner, size_t olen)
{
	const char	*nul = memchr(key, '\0', klen);
	size_t		 ol = nul ? (size_t)(nul - (const char *)key) : klen;

	if (ol == 0 || ol >= olen)
		return xf_store_fail(&pg->st_base, "key with an owner of %zu "
		    "bytes", ol);
	memcpy(owner, key, ol);
	owner[ol] = '\0';
	param_str(p, owner);
	if (nul != NULL)
		param(p, OID_BYTEA, nul + 1, klen - ol - 1);
	else
		param(p, OID_BYTEA, "", 0);
	return XF_OK;
}

/*
 * The WHERE clause for "keys starting with prefix": nothing, an owner
 * prefix (no NUL in it), or one owner and an skey prefix.
 */
static int
prefix_where(pg_t *pg, const void *prefix, size_t plen, params_t *p,
    char *owner, size_t olen, char *where, size_t wlen)
{
	const char	*nul;
	size_t		 ol, sl;

	if (plen == 0) {
		where[0] = '\0';
		return XF_OK;
	}
	if ((nul = memchr(prefix, '\0', plen)) == NULL) {
		if (plen >= olen)
			return xf_store_fail(&pg->st_base, "prefix of %zu "
			    "bytes", plen);
		memcpy(owner, prefix, plen);
		owner[plen] = '\0';
		param_str(p, owner);
		snprintf(where, wlen, " WHERE starts_with(owner, $1)");
		return XF_OK;
	}
	ol = (size_t)(nul - (const char *)prefix);
	if (ol == 0 || ol >= olen)
		return xf_store_fail(&pg->st_base, "prefix with an owner of "
		    "%zu bytes", ol);
	memcpy(owner, prefix, ol);
	owner[ol] = '\0';
	param_str(p, owner);
	sl = plen - ol - 1;
	if (sl == 0) {
		snprintf(where, wlen, " WHERE owner = $1");
		return XF_OK;
	}
	param(p, OID_BYTEA, nul + 1, sl);
	snprintf(where, wlen, " WHERE owner = $1 AND "
	    "substring(skey FROM 1 FOR %zu) = $2", sl);
	return XF_OK;
}

static int
pg_get(xf_store_t *base, int table, const void *key, size_t klen,
    xf_buf_t *val)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	char		 owner[XF_JID_MAX + 1], sql[128];
	int		 ret = XF_OK;

	if (key_params(pg, key, klen, &p, owner, sizeof(owner)) != XF_OK)
		return XF_ERR;
	snprintf(sql, sizeof(sql), "SELECT val FROM xf_%s WHERE owner = $1 "
	    "AND skey = $2", xf_store_tables[table]);
	if ((res = xf_pg_exec(pg, sql, &p)) == NULL)
		return XF_ERR;
	if (PQntuples(res) == 0)
		ret = XF_DECLINED;
	else if (xf_buf_append(val, PQgetvalue(res, 0, 0),
	    (size_t)PQgetlength(res, 0, 0)) != XF_OK)
		ret = xf_store_fail(base, "get: out of memory");
	PQclear(res);
	return ret;
}

static void
put_sql(int table, char *sql, size_t len)
{
	snprintf(sql, len, "INSERT INTO xf_%s (owner, skey, val) "
	    "VALUES ($1, $2, $3) ON CONFLICT (owner, skey) "
	    "DO UPDATE SET val = EXCLUDED.val", xf_store_tables[table]);
}

static int
pg_put(xf_store_t *base, int table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	char		 owner[XF_JID_MAX + 1], sql[256];

	if (key_params(pg, key, klen, &p, owner, sizeof(owner)) != XF_OK)
		return XF_ERR;
	param(&p, OID_BYTEA, val, vlen);
	put_sql(table, sql, sizeof(sql));
	return xf_pg_exec_count(pg, sql, &p, NULL);
}

static int
pg_del(xf_store_t *base, int table, const void *key, size_t klen)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	char		 owner[XF_JID_MAX + 1], sql[128];
	size_t		 n = 0;

	if (key_params(pg, key, klen, &p, owner, sizeof(owner)) != XF_OK)
		return XF_ERR;
	snprintf(sql, sizeof(sql), "DELETE FROM xf_%s WHERE owner = $1 "
	    "AND skey = $2", xf_store_tables[table]);
	if (xf_pg_exec_count(pg, sql, &p, &n) != XF_OK)
		return XF_ERR;
	return n ? XF_OK : XF_DECLINED;
}

/* 64-bit FNV-1a of the table and key: the advisory lock's number. */
static int64_t
lock_id(int table, const void *key, size_t klen)
{
	const uint8_t	*k = key;
	uint64_t	 h = 14695981039346656037ULL;

	h = (h ^ (uint8_t)table) * 1099511628211ULL;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return (int64_t)h;
}

/*
 * Read-modify-write in one transaction.  A row that does not exist yet
 * cannot be locked with FOR UPDATE, so writers of one key serialise on
 * a transaction-scoped advisory lock named by a hash of the key.
 */
static int
pg_update(xf_store_t *base, int table, const void *key, size_t klen,
    int (*fn)(void *, const void *, size_t, xf_buf_t *), void *ud)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 }, lp = { 0 };
	pgc_t		*pc;
	PGresult	*res = NULL;
	xf_buf_t	 nv = { 0 };
	char		 owner[XF_JID_MAX + 1], sql[256];
	uint8_t		 lk[8];
	int		 r, ret = XF_ERR;

	if (key_params(pg, key, klen, &p, owner, sizeof(owner)) != XF_OK)
		return XF_ERR;
	if ((pc = xf_pg_acquire(pg)) == NULL)
		return XF_ERR;
	be64(lk, (uint64_t)lock_id(table, key, klen));
	param(&lp, OID_INT8, lk, 8);
	if ((res = xf_pg_exec_pc(pg, pc, "BEGIN", NULL)) == NULL)
		goto out;
	PQclear(res);
	if ((res = xf_pg_exec_pc(pg, pc, "SELECT pg_advisory_xact_lock($1)",
	    &lp)) == NULL)
		goto rollback;
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT val FROM xf_%s WHERE owner = $1 "
	    "AND skey = $2", xf_store_tables[table]);
	if ((res = xf_pg_exec_pc(pg, pc, sql, &p)) == NULL)
		goto rollback;
	r = PQntuples(res) ? fn(ud, PQgetvalue(res, 0, 0),
	    (size_t)PQgetlength(res, 0, 0), &nv) : fn(ud, NULL, 0, &nv);
	PQclear(res);
	res = NULL;
	if (r == XF_OK) {
		param(&p, OID_BYTEA, xf_buf_data(&nv), xf_buf_size(&nv));
		put_sql(table, sql, sizeof(sql));
	} else if (r == XF_DECLINED)
		snprintf(sql, sizeof(sql), "DELETE FROM xf_%s WHERE "
		    "owner = $1 AND skey = $2", xf_store_tables[table]);
	else {
		if ((res = xf_pg_exec_pc(pg, pc, "ROLLBACK", NULL)) != NULL)
			PQclear(res);
		ret = r;
		goto out;
	}
	if ((res = xf_pg_exec_pc(pg, pc, sql, &p)) == NULL)
		goto rollback;
	PQclear(res);
	if ((res = xf_pg_exec_pc(pg, pc, "COMMIT", NULL)) == NULL)
		goto out;
	PQclear(res);
	ret = r;
	goto out;
rollback:
	/* Keep the first error; a broken connection was dropped already. */
	if (pc->pc_conn != NULL) {
		char	 err[sizeof(base->st_err)];

		memcpy(err, base->st_err, sizeof(err));
		if ((res = xf_pg_exec_pc(pg, pc, "ROLLBACK", NULL)) != NULL)
			PQclear(res);
		memcpy(base->st_err, err, sizeof(err));
	}
out:
	xf_pg_release(pg, pc);
	xf_buf_free(&nv);
	return ret;
}

/* Reads the records whole, then calls fn: fn may call the store. */
static int
pg_scan(xf_store_t *base, int table, const void *prefix, size_t plen,
    int (*fn)(void *, const void *, size_t, const void *, size_t), void *ud)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	xf_buf_t	 key = { 0 };
	char		 owner[XF_JID_MAX + 1], where[128], sql[256];
	int		 ret = XF_OK;

	if (prefix_where(pg, prefix, plen, &p, owner, sizeof(owner), where,
	    sizeof(where)) != XF_OK)
		return XF_ERR;
	snprintf(sql, sizeof(sql), "SELECT owner, skey, val FROM xf_%s%s "
	    "ORDER BY owner, skey", xf_store_tables[table], where);
	if ((res = xf_pg_exec(pg, sql, &p)) == NULL)
		return XF_ERR;
	for (int i = 0; ret == XF_OK && i < PQntuples(res); i++) {
		int	 sl = PQgetlength(res, i, 1);

		xf_buf_reset(&key);
		if (xf_buf_append(&key, PQgetvalue(res, i, 0),
		    (size_t)PQgetlength(res, i, 0)) != XF_OK ||
		    (sl > 0 && (xf_buf_append(&key, "", 1) != XF_OK ||
		    xf_buf_append(&key, PQgetvalue(res, i, 1), (size_t)sl) !=
		    XF_OK))) {
			ret = xf_store_fail(base, "scan: out of memory");
			break;
		}
		ret = fn(ud, xf_buf_data(&key), xf_buf_size(&key),
		    PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
	}
	PQclear(res);
	xf_buf_free(&key);
	return ret;
}

static int
pg_del_prefix(xf_store_t *base, int table, const void *prefix, size_t plen,
    size_t *count)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	char		 owner[XF_JID_MAX + 1], where[128], sql[256];
	size_t		 n = 0;

	if (prefix_where(pg, prefix, plen, &p, owner, sizeof(owner), where,
	    sizeof(where)) != XF_OK)
		return XF_ERR;
	snprintf(sql, sizeof(sql), "DELETE FROM xf_%s%s",
	    xf_store_tables[table], where);
	if (xf_pg_exec_count(pg, sql, &p, &n) != XF_OK)
		return XF_ERR;
	if (count != NULL)
		*count = n;
	return XF_OK;
}

static int
pg_count_max(xf_store_t *base, int table, const void *prefix, size_t plen,
    size_t max, size_t *count)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	char		 owner[XF_JID_MAX + 1], where[128], sql[256], lim[32];

	*count = 0;
	if (prefix_where(pg, prefix, plen, &p, owner, sizeof(owner), where,
	    sizeof(where)) != XF_OK)
		return XF_ERR;
	lim[0] = '\0';
	if (max != 0 && max != SIZE_MAX)
		snprintf(lim, sizeof(lim), " LIMIT %zu", max);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM "
	    "xf_%s%s%s) s", xf_store_tables[table], where, lim);
	if ((res = xf_pg_exec(pg, sql, &p)) == NULL)
		return XF_ERR;
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8)
		*count = (size_t)get_be(PQgetvalue(res, 0, 0), 8);
	PQclear(res);
	return XF_OK;
}

static int
pg_usage(xf_store_t *base, int table, const void *prefix, size_t plen,
    size_t *count, size_t *bytes)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;
	char		 owner[XF_JID_MAX + 1], where[128], sql[256];

	*count = 0;
	*bytes = 0;
	if (prefix_where(pg, prefix, plen, &p, owner, sizeof(owner), where,
	    sizeof(where)) != XF_OK)
		return XF_ERR;
	snprintf(sql, sizeof(sql), "SELECT count(*), "
	    "COALESCE(sum(octet_length(val)), 0)::bigint FROM xf_%s%s",
	    xf_store_tables[table], where);
	if ((res = xf_pg_exec(pg, sql, &p)) == NULL)
		return XF_ERR;
	/* A quota check must not read a wrong answer as "nothing". */
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8 ||
	    PQgetlength(res, 0, 1) != 8) {
		PQclear(res);
		return xf_store_fail(base, "usage of %s: unexpected answer",
		    xf_store_tables[table]);
	}
	*count = (size_t)get_be(PQgetvalue(res, 0, 0), 8);
	*bytes = (size_t)get_be(PQgetvalue(res, 0, 1), 8);
	PQclear(res);
	return XF_OK;
}

static int
pg_seq(xf_store_t *base, uint64_t *seq)
{
	pg_t		*pg = (pg_t *)base;
	PGresult	*res;
	int		 ret = XF_OK;

	if ((res = xf_pg_exec(pg, "SELECT nextval('xf_offline_seq')", NULL)) ==
	    NULL)
		return XF_ERR;
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8)
		*seq = get_be(PQgetvalue(res, 0, 0), 8);
	else
		ret = xf_store_fail(base, "seq: unexpected answer");
	PQclear(res);
	return ret;
}

static int
pg_check(xf_store_t *base, int conns, char *msg, size_t len)
{
	pg_t		*pg = (pg_t *)base;
	PGresult	*res;
	const char	*db = "?", *host = "?", *port = "?";
	int		 ver = -1, maxc = -1;

	if ((res = xf_pg_exec(pg, "SELECT max(version), current_setting("
	    "'max_connections')::int4 FROM xf_schema", NULL)) == NULL) {
		if (strstr(base->st_err, "\"xf_schema\" does not exist") !=
		    NULL)
			return xf_store_fail(base, "no xfed schema in the "
			    "database: run `xfedctl db init`");
		return XF_ERR;
	}
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 4)
		ver = (int)get_be(PQgetvalue(res, 0, 0), 4);
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 1) == 4)
		maxc = (int)get_be(PQgetvalue(res, 0, 1), 4);
	PQclear(res);
	if (pg->pg_sync.pc_conn != NULL) {
		db = PQdb(pg->pg_sync.pc_conn);
		host = PQhost(pg->pg_sync.pc_conn);
		port = PQport(pg->pg_sync.pc_conn);
	}
	if (maxc >= 0 && maxc < conns) {
		snprintf(msg, len, "pgsql database %s on %s port %s: "
		    "max_connections is %d, this node may open %d (workers x "
		    "(pool-size + 1) + 2); raise it or lower pool-size", db,
		    host, port, maxc, conns);
		return XF_AGAIN;
	}
	snprintf(msg, len, "pgsql database %s on %s port %s, schema version "
	    "%d", db, host, port, ver);
	return XF_OK;
}

static const xf_store_ops_t pg_ops = {
	"pgsql",
	pg_close,
	pg_user_get,
	pg_user_put,
	pg_user_del,
	pg_user_list,
	pg_get,
	pg_put,
	pg_update,
	pg_del,
	pg_scan,
	pg_del_prefix,
	pg_count_max,
	pg_usage,
	pg_seq,
	pg_check,
	xf_pg_listen,
	xf_pg_notify,
};
