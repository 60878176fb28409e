/* store_pg.c: the PostgreSQL storage backend: libpq's asynchronous API, a connection pool, waits on coroutines. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "xf.h"
#include "buf.h"
#include "coro.h"
#include "jid.h"
#include "store.h"
#include "store_impl.h"

/*
 * The schema is conf/pgsql.sql.  Accounts are rows of xf_users with the
 * SCRAM keys in columns; every per-user table has the shape (owner,
 * skey, val): the store's key "bare NUL rest" is split at its first NUL
 * into owner (text) and skey (bytea), a key without a NUL is all owner.
 * Owners compare with the "C" collation, so (owner, skey) sorts as the
 * whole key's bytes do, as in LMDB.
 *
 * Every statement is sent with PQsendQueryParams, parameters and
 * results in binary, and awaited with xf_co_wait_fd(): on a coroutine
 * only the caller waits.  A query that has not answered after the
 * configured timeout fails and its connection is dropped.  After a
 * failed connect the store fails at once for DOWN_RETRY_MS, so a
 * database that is down costs nothing per stanza.
 */

#define DOWN_RETRY_MS	1000

#define OID_INT4	23
#define OID_INT8	20
#define OID_TEXT	25
#define OID_BYTEA	17

/* Statements with parameters are prepared once per connection. */
#define PREP_MAX	96

typedef struct pgc_s {
	PGconn		*pc_conn;
	int		 pc_busy;
	uint64_t	 pc_prep[PREP_MAX];	/* hashes of prepared SQL */
	int		 pc_nprep;
} pgc_t;

typedef struct waiter_s {
	xf_co_t		*wt_co;
	pgc_t		*wt_pc;		/* handed over by release() */
	struct waiter_s	*wt_next;
} waiter_t;

#define WATCH_MAX	4

typedef struct watch_s {
	char		 wa_chan[64];
	void		(*wa_fn)(void *, const char *);
	void		*wa_ud;
} watch_t;

typedef struct pg_s {
	xf_store_t	 st_base;
	char		*pg_dsn;
	int		 pg_timeout_ms;
	int		 pg_npool;
	pgc_t		*pg_pool;	/* for coroutines */
	pgc_t		 pg_sync;	/* for the main stack */
	waiter_t	*pg_wait, *pg_wait_last;
	uint64_t	 pg_down_until;
	/* change notices: one more connection, LISTENing on the loop */
	pgc_t		 pg_listen;
	watch_t		 pg_watch[WATCH_MAX];
	int		 pg_nwatch;
	xf_loop_t	*pg_loop;
	uint64_t	 pg_listen_timer;
	int		 pg_listen_fd;	/* in the loop, or -1 */
} pg_t;

/* One statement's parameters. */
typedef struct params_s {
	int		 n;
	const char	*v[8];
	int		 len[8];
	int		 fmt[8];
	unsigned int	 type[8];
} params_t;

static const xf_store_ops_t pg_ops;

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

/* libpq's messages may take several lines; the store's errors are one. */
static int
pg_fail(pg_t *pg, const char *what, const char *msg)
{
	size_t	 n;
	char	*p;

	xf_store_fail(&pg->st_base, "%s: %s", what, msg && *msg ? msg :
	    "unknown error");
	for (p = pg->st_base.st_err; (p = strpbrk(p, "\n\t")) != NULL; )
		*p = ' ';
	n = strlen(pg->st_base.st_err);
	while (n > 0 && (pg->st_base.st_err[n - 1] == '\n' ||
	    pg->st_base.st_err[n - 1] == ' '))
		pg->st_base.st_err[--n] = '\0';
	return XF_ERR;
}

static void
param(params_t *p, unsigned int type, const void *v, size_t len)
{
	p->v[p->n] = len ? v : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->type[p->n] = type;
	p->n++;
}

static void
param_str(params_t *p, const char *s)
{
	param(p, OID_TEXT, s, strlen(s));
}

/* ---- connections ---------------------------------------------------- */

static void
drop(pgc_t *pc)
{
	if (pc->pc_conn != NULL) {
		PQfinish(pc->pc_conn);
		pc->pc_conn = NULL;
	}
	pc->pc_nprep = 0;
}

/* Waits for fd until the deadline; the ready mask or 0 on timeout. */
static int
wait_until(int fd, int mask, uint64_t deadline)
{
	uint64_t	 now = now_ms();

	if (now >= deadline)
		return 0;
	return xf_co_wait_fd(fd, mask, (int)(deadline - now));
}

static int
connect_pc(pg_t *pg, pgc_t *pc)
{
	PostgresPollingStatusType	 ps = PGRES_POLLING_WRITING;
	uint64_t			 deadline;
	int				 r;

	if (pc->pc_conn != NULL && PQstatus(pc->pc_conn) == CONNECTION_OK)
		return XF_OK;
	drop(pc);
	if (now_ms() < pg->pg_down_until)
		return XF_ERR;		/* the last attempt's error stands */
	deadline = now_ms() + (uint64_t)pg->pg_timeout_ms;
	if ((pc->pc_conn = PQconnectStart(pg->pg_dsn)) == NULL)
		return xf_store_fail(&pg->st_base, "connect: out of memory");
	if (PQstatus(pc->pc_conn) == CONNECTION_BAD)
		goto fail;
	while (ps != PGRES_POLLING_OK) {
		if (ps == PGRES_POLLING_FAILED)
			goto fail;
		r = wait_until(PQsocket(pc->pc_conn), ps ==
		    PGRES_POLLING_READING ? XF_EV_READ : XF_EV_WRITE, deadline);
		if (r <= 0) {
			drop(pc);
			pg->pg_down_until = now_ms() + DOWN_RETRY_MS;
			return xf_store_fail(&pg->st_base, "connect: timed out");
		}
		ps = PQconnectPoll(pc->pc_conn);
	}
	if (PQsetnonblocking(pc->pc_conn, 1) != 0)
		goto fail;
	return XF_OK;
fail:
	pg_fail(pg, "connect", PQerrorMessage(pc->pc_conn));
	drop(pc);
	pg->pg_down_until = now_ms() + DOWN_RETRY_MS;
	return XF_ERR;
}

static void
unqueue(pg_t *pg, waiter_t *me)
{
	waiter_t	**pp, *prev = NULL;

	for (pp = &pg->pg_wait; *pp != NULL; prev = *pp, pp = &(*pp)->wt_next)
		if (*pp == me) {
			*pp = me->wt_next;
			if (pg->pg_wait_last == me)
				pg->pg_wait_last = prev;
			return;
		}
}

/*
 * A connection for the caller: the main stack has its own; coroutines
 * share the pool and queue for it in order when all are busy (release
 * hands it over: no newcomer overtakes), for at most query-timeout: a
 * database that stopped answering holds every pooled connection that
 * long, and the queue must not add it up.  NULL with the error set.
 */
static pgc_t *
acquire(pg_t *pg)
{
	waiter_t	 me;

	if (xf_co_self() == NULL) {
		if (pg->pg_sync.pc_busy) {
			xf_store_fail(&pg->st_base, "store called while in "
			    "use");
			return NULL;
		}
		pg->pg_sync.pc_busy = 1;
		return &pg->pg_sync;
	}
	for (int i = 0; i < pg->pg_npool; i++)
		if (!pg->pg_pool[i].pc_busy) {
			pg->pg_pool[i].pc_busy = 1;
			return &pg->pg_pool[i];
		}
	me.wt_co = xf_co_self();
	me.wt_pc = NULL;
	me.wt_next = NULL;
	if (pg->pg_wait_last != NULL)
		pg->pg_wait_last->wt_next = &me;
	else
		pg->pg_wait = &me;
	pg->pg_wait_last = &me;
	if (xf_co_suspend_for(pg->pg_timeout_ms) && me.wt_pc != NULL)
		return me.wt_pc;
	unqueue(pg, &me);
	xf_store_fail(&pg->st_base, "query: no free database connection in "
	    "%d s (pool-size %d)", pg->pg_timeout_ms / 1000, pg->pg_npool);
	return NULL;
}

/* Hands pc to the first coroutine waiting for one, or frees it. */
static void
release(pg_t *pg, pgc_t *pc)
{
	waiter_t	*w;

	if (pc == &pg->pg_sync || (w = pg->pg_wait) == NULL) {
		pc->pc_busy = 0;
		return;
	}
	if ((pg->pg_wait = w->wt_next) == NULL)
		pg->pg_wait_last = NULL;
	w->wt_pc = pc;
	xf_co_wake(w->wt_co);
}

/*
 * After a send on pc: flushes it, then collects the results (the first
 * failure, else the last).  NULL with the error set; a connection that
 * broke or did not answer by the deadline is dropped (the next call
 * connects again), a statement error leaves it usable.
 */
static PGresult *
collect(pg_t *pg, pgc_t *pc, uint64_t deadline)
{
	PGconn		*c = pc->pc_conn;
	PGresult	*res = NULL, *r;
	int		 fl, ready;
	ExecStatusType	 es;

	while ((fl = PQflush(c)) == 1) {
		ready = wait_until(PQsocket(c), XF_EV_READ | XF_EV_WRITE,
		    deadline);
		if (ready <= 0)
			goto timeout;
		if ((ready & XF_EV_READ) && !PQconsumeInput(c))
			goto broken;
	}
	if (fl == -1)
		goto broken;
	for (;;) {
		while (PQisBusy(c)) {
			if ((ready = wait_until(PQsocket(c), XF_EV_READ,
			    deadline)) <= 0)
				goto timeout;
			if (!PQconsumeInput(c))
				goto broken;
		}
		if ((r = PQgetResult(c)) == NULL)
			break;
		if (res != NULL && PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			PQclear(r);
			continue;
		}
		PQclear(res);
		res = r;
	}
	if (res == NULL)
		goto broken;
	es = PQresultStatus(res);
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		pg_fail(pg, "query", PQresultErrorMessage(res));
		PQclear(res);
		if (PQstatus(c) != CONNECTION_OK)
			drop(pc);
		return NULL;
	}
	return res;

timeout:
	PQclear(res);
	drop(pc);
	xf_store_fail(&pg->st_base, "query: no answer in %d s",
	    pg->pg_timeout_ms / 1000);
	return NULL;
broken:
	PQclear(res);
	pg_fail(pg, "query", PQerrorMessage(c));
	drop(pc);
	return NULL;
}

/* FNV-1a 64 of a statement's text: its prepared name. */
static uint64_t
sql_hash(const char *sql)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *sql != '\0'; sql++)
		h = (h ^ (uint8_t)*sql) * 1099511628211ULL;
	return h;
}

/*
 * Runs one statement on pc.  One with parameters is prepared the first
 * time this connection runs it (the server then parses and plans it
 * once), up to PREP_MAX of them; the rest go as they are.
 */
static PGresult *
exec_pc(pg_t *pg, pgc_t *pc, const char *sql, const params_t *p)
{
	PGresult	*res;
	uint64_t	 deadline, h = 0;
	char		 name[24];
	int		 prep = 0, i, n = p ? p->n : 0;

	if (connect_pc(pg, pc) != XF_OK)
		return NULL;
	deadline = now_ms() + (uint64_t)pg->pg_timeout_ms;
	if (n > 0) {
		h = sql_hash(sql);
		snprintf(name, sizeof(name), "x%016llx", (unsigned long long)h);
		for (i = 0; i < pc->pc_nprep && pc->pc_prep[i] != h; i++)
			;
		prep = i < pc->pc_nprep;
		if (!prep && pc->pc_nprep < PREP_MAX) {
			if (!PQsendPrepare(pc->pc_conn, name, sql, n, p->type))
				goto broken;
			if ((res = collect(pg, pc, deadline)) == NULL)
				return NULL;
			PQclear(res);
			pc->pc_prep[pc->pc_nprep++] = h;
			prep = 1;
		}
	}
	if (prep ? !PQsendQueryPrepared(pc->pc_conn, name, n, p->v, p->len,
	    p->fmt, 1) : !PQsendQueryParams(pc->pc_conn, sql, n,
	    p ? p->type : NULL, p ? p->v : NULL, p ? p->len : NULL,
	    p ? p->fmt : NULL, 1))
		goto broken;
	return collect(pg, pc, deadline);
broken:
	pg_fail(pg, "query", PQerrorMessage(pc->pc_conn));
	drop(pc);
	return NULL;
}

/* One statement on a connection of its own. */
static PGresult *
exec1(pg_t *pg, const char *sql, const params_t *p)
{
	pgc_t		*pc;
	PGresult	*res;

	if ((pc = acquire(pg)) == NULL)
		return NULL;
	res = exec_pc(pg, pc, sql, p);
	release(pg, pc);
	return res;
}

/* Runs a statement whose answer is a row count. */
static int
exec_count(pg_t *pg, const char *sql, const params_t *p, size_t *n)
{
	PGresult	*res;

	if ((res = exec1(pg, sql, p)) == NULL)
		return XF_ERR;
	if (n != NULL)
		*n = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return XF_OK;
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

	if (pg->pg_listen_fd != -1)
		xf_loop_del(pg->pg_loop, pg->pg_listen_fd);
	if (pg->pg_listen_timer != 0)
		xf_loop_timer_del(pg->pg_loop, pg->pg_listen_timer);
	drop(&pg->pg_listen);
	for (int i = 0; i < pg->pg_npool; i++)
		drop(&pg->pg_pool[i]);
	drop(&pg->pg_sync);
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
	if ((res = exec1(pg, "SELECT iterations, salt, stored_key_sha1, "
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
	if (exec_count(pg, create ?
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
	if (exec_count(pg, sql, &p, &n) != XF_OK)
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
	if ((res = exec1(pg, domain != NULL ?
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
	if ((res = exec1(pg, sql, &p)) == NULL)
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
	return exec_count(pg, sql, &p, NULL);
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
	if (exec_count(pg, sql, &p, &n) != XF_OK)
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
	if ((pc = acquire(pg)) == NULL)
		return XF_ERR;
	be64(lk, (uint64_t)lock_id(table, key, klen));
	param(&lp, OID_INT8, lk, 8);
	if ((res = exec_pc(pg, pc, "BEGIN", NULL)) == NULL)
		goto out;
	PQclear(res);
	if ((res = exec_pc(pg, pc, "SELECT pg_advisory_xact_lock($1)",
	    &lp)) == NULL)
		goto rollback;
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT val FROM xf_%s WHERE owner = $1 "
	    "AND skey = $2", xf_store_tables[table]);
	if ((res = exec_pc(pg, pc, sql, &p)) == NULL)
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
		if ((res = exec_pc(pg, pc, "ROLLBACK", NULL)) != NULL)
			PQclear(res);
		ret = r;
		goto out;
	}
	if ((res = exec_pc(pg, pc, sql, &p)) == NULL)
		goto rollback;
	PQclear(res);
	if ((res = exec_pc(pg, pc, "COMMIT", NULL)) == NULL)
		goto out;
	PQclear(res);
	ret = r;
	goto out;
rollback:
	/* Keep the first error; a broken connection was dropped already. */
	if (pc->pc_conn != NULL) {
		char	 err[sizeof(base->st_err)];

		memcpy(err, base->st_err, sizeof(err));
		if ((res = exec_pc(pg, pc, "ROLLBACK", NULL)) != NULL)
			PQclear(res);
		memcpy(base->st_err, err, sizeof(err));
	}
out:
	release(pg, pc);
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
	if ((res = exec1(pg, sql, &p)) == NULL)
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
	if (exec_count(pg, sql, &p, &n) != XF_OK)
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
	if ((res = exec1(pg, sql, &p)) == NULL)
		return XF_ERR;
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8)
		*count = (size_t)get_be(PQgetvalue(res, 0, 0), 8);
	PQclear(res);
	return XF_OK;
}

static int
pg_seq(xf_store_t *base, uint64_t *seq)
{
	pg_t		*pg = (pg_t *)base;
	PGresult	*res;
	int		 ret = XF_OK;

	if ((res = exec1(pg, "SELECT nextval('xf_offline_seq')", NULL)) ==
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

	if ((res = exec1(pg, "SELECT max(version), current_setting("
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

/* ---- change notices (LISTEN / NOTIFY) -------------------------------- */

static void	 listen_timer(xf_loop_t *, void *);

static void
listen_retry(pg_t *pg)
{
	if (pg->pg_listen_fd != -1) {
		xf_loop_del(pg->pg_loop, pg->pg_listen_fd);
		pg->pg_listen_fd = -1;
	}
	drop(&pg->pg_listen);
	if (pg->pg_listen_timer == 0)
		pg->pg_listen_timer = xf_loop_timer(pg->pg_loop, DOWN_RETRY_MS,
		    listen_timer, pg);
}

static void
listen_drain(pg_t *pg)
{
	PGnotify	*n;

	while ((n = PQnotifies(pg->pg_listen.pc_conn)) != NULL) {
		for (int i = 0; i < pg->pg_nwatch; i++)
			if (strcmp(n->relname, pg->pg_watch[i].wa_chan) == 0)
				pg->pg_watch[i].wa_fn(pg->pg_watch[i].wa_ud,
				    n->extra);
		PQfreemem(n);
	}
}

static void
on_listen(xf_loop_t *l, int fd, int mask, void *ud)
{
	pg_t	*pg = ud;

	if (!PQconsumeInput(pg->pg_listen.pc_conn)) {
		listen_retry(pg);
		return;
	}
	listen_drain(pg);
	if (PQstatus(pg->pg_listen.pc_conn) != CONNECTION_OK)
		listen_retry(pg);
}

/* On a coroutine: connect, LISTEN on every channel, then watch the
 * socket.  Whatever was sent meanwhile is lost: the watchers hear NULL. */
static void
listen_connect(void *ud)
{
	pg_t		*pg = ud;
	PGresult	*res;
	char		 sql[96];

	if (connect_pc(pg, &pg->pg_listen) != XF_OK)
		goto retry;
	for (int i = 0; i < pg->pg_nwatch; i++) {
		snprintf(sql, sizeof(sql), "LISTEN \"%s\"",
		    pg->pg_watch[i].wa_chan);
		if ((res = exec_pc(pg, &pg->pg_listen, sql, NULL)) == NULL)
			goto retry;
		PQclear(res);
	}
	pg->pg_listen_fd = PQsocket(pg->pg_listen.pc_conn);
	if (xf_loop_add(pg->pg_loop, pg->pg_listen_fd, XF_EV_READ, on_listen,
	    pg) != XF_OK) {
		pg->pg_listen_fd = -1;
		goto retry;
	}
	for (int i = 0; i < pg->pg_nwatch; i++)
		pg->pg_watch[i].wa_fn(pg->pg_watch[i].wa_ud, NULL);
	listen_drain(pg);
	return;
retry:
	listen_retry(pg);
}

static void
listen_timer(xf_loop_t *l, void *ud)
{
	pg_t	*pg = ud;

	pg->pg_listen_timer = 0;
	if (xf_co_spawn(listen_connect, pg) != XF_OK)
		listen_retry(pg);
}

static int
pg_listen(xf_store_t *base, const char *channel,
    void (*fn)(void *, const char *), void *ud)
{
	pg_t	*pg = (pg_t *)base;
	size_t	 len = strlen(channel);

	if ((pg->pg_loop = xf_co_loop()) == NULL)
		return xf_store_fail(base, "listen: no event loop");
	if (pg->pg_nwatch == WATCH_MAX)
		return xf_store_fail(base, "listen: too many channels");
	if (len == 0 || len >= sizeof(pg->pg_watch[0].wa_chan) ||
	    strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != len)
		return xf_store_fail(base, "listen: bad channel name");
	memcpy(pg->pg_watch[pg->pg_nwatch].wa_chan, channel, len + 1);
	pg->pg_watch[pg->pg_nwatch].wa_fn = fn;
	pg->pg_watch[pg->pg_nwatch].wa_ud = ud;
	pg->pg_nwatch++;
	/* (Re)connect from the loop, LISTENing on every channel. */
	listen_retry(pg);
	xf_loop_timer_del(pg->pg_loop, pg->pg_listen_timer);
	pg->pg_listen_timer = xf_loop_timer(pg->pg_loop, 0, listen_timer, pg);
	return XF_OK;
}

static int
pg_notify(xf_store_t *base, const char *channel, const char *payload)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;

	param_str(&p, channel);
	param_str(&p, payload);
	if ((res = exec1(pg, "SELECT pg_notify($1, $2)", &p)) == NULL)
		return XF_ERR;
	PQclear(res);
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
	pg_seq,
	pg_check,
	pg_listen,
	pg_notify,
};
