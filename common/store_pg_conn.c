/* store_pg_conn.c: the PostgreSQL backend's connections: connect, the pool and its queue, one statement sent and awaited. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "xf.h"
#include "coro.h"
#include "store_impl.h"
#include "store_pg_impl.h"

/*
 * Every statement is sent with PQsendQueryParams, parameters and
 * results in binary, and awaited with xf_co_wait_fd(): on a coroutine
 * only the caller waits.  A query that has not answered after the
 * configured timeout fails and its connection is dropped.  After a
 * failed connect the store fails at once for DOWN_RETRY_MS, so a
 * database that is down costs nothing per stanza.
 */

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

void
xf_pg_drop(pgc_t *pc)
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

int
xf_pg_connect(pg_t *pg, pgc_t *pc)
{
	PostgresPollingStatusType	 ps = PGRES_POLLING_WRITING;
	uint64_t			 deadline;
	int				 r;

	if (pc->pc_conn != NULL && PQstatus(pc->pc_conn) == CONNECTION_OK)
		return XF_OK;
	xf_pg_drop(pc);
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
			xf_pg_drop(pc);
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
	xf_pg_drop(pc);
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
pgc_t *
xf_pg_acquire(pg_t *pg)
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
void
xf_pg_release(pg_t *pg, pgc_t *pc)
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
		const char	*state = PQresultErrorField(res,
		    PG_DIAG_SQLSTATE);

		/* Class 53, insufficient resources: disk_full and kin. */
		if (state != NULL && strncmp(state, "53", 2) == 0)
			pg->st_base.st_full = 1;
		pg_fail(pg, "query", PQresultErrorMessage(res));
		PQclear(res);
		if (PQstatus(c) != CONNECTION_OK)
			xf_pg_drop(pc);
		return NULL;
	}
	/* Writes answer COMMAND_OK (reads and RETURNING, TUPLES_OK). */
	if (es == PGRES_COMMAND_OK)
		pg->st_base.st_full = 0;
	return res;

timeout:
	PQclear(res);
	xf_pg_drop(pc);
	xf_store_fail(&pg->st_base, "query: no answer in %d s",
	    pg->pg_timeout_ms / 1000);
	return NULL;
broken:
	PQclear(res);
	pg_fail(pg, "query", PQerrorMessage(c));
	xf_pg_drop(pc);
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
PGresult *
xf_pg_exec_pc(pg_t *pg, pgc_t *pc, const char *sql, const params_t *p)
{
	PGresult	*res;
	uint64_t	 deadline, h = 0;
	char		 name[24];
	int		 prep = 0, i, n = p ? p->n : 0;

	if (xf_pg_connect(pg, pc) != XF_OK)
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
	xf_pg_drop(pc);
	return NULL;
}

/* One statement on a connection of its own. */
PGresult *
xf_pg_exec(pg_t *pg, const char *sql, const params_t *p)
{
	pgc_t		*pc;
	PGresult	*res;

	if ((pc = xf_pg_acquire(pg)) == NULL)
		return NULL;
	res = xf_pg_exec_pc(pg, pc, sql, p);
	xf_pg_release(pg, pc);
	return res;
}

/* Runs a statement whose answer is a row count. */
int
xf_pg_exec_count(pg_t *pg, const char *sql, const params_t *p, size_t *n)
{
	PGresult	*res;

	if ((res = xf_pg_exec(pg, sql, p)) == NULL)
		return XF_ERR;
	if (n != NULL)
		*n = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return XF_OK;
}
