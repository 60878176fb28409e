/* store_pg_impl.h: the PostgreSQL backend's handle and what store_pg*.c share; private to them. */
#ifndef XF_STORE_PG_IMPL_H
#define XF_STORE_PG_IMPL_H

#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "xf.h"
#include "coro.h"
#include "store_impl.h"

/*
 * After a failed connect the store fails at once for this long, so a
 * database that is down costs nothing per stanza; the listening
 * connection is tried again as often.
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
	pgc_t		*wt_pc;		/* handed over by xf_pg_release() */
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

static inline void
param(params_t *p, unsigned int type, const void *v, size_t len)
{
	p->v[p->n] = len ? v : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->type[p->n] = type;
	p->n++;
}

static inline void
param_str(params_t *p, const char *s)
{
	param(p, OID_TEXT, s, strlen(s));
}

/* Connections, in store_pg_conn.c. */
void		 xf_pg_drop(pgc_t *);
int		 xf_pg_connect(pg_t *, pgc_t *);
/* A connection for the caller, until xf_pg_release(); NULL with the
 * error set. */
pgc_t		*xf_pg_acquire(pg_t *);
void		 xf_pg_release(pg_t *, pgc_t *);
/* One statement on pc, on a connection of its own, one whose answer is
 * a row count (into *n).  The result is the caller's to PQclear(). */
PGresult	*xf_pg_exec_pc(pg_t *, pgc_t *, const char *sql,
		    const params_t *);
PGresult	*xf_pg_exec(pg_t *, const char *sql, const params_t *);
int		 xf_pg_exec_count(pg_t *, const char *sql, const params_t *,
		    size_t *n);

/* Change notices, in store_pg_listen.c: the ops and what pg_close() asks. */
int		 xf_pg_listen(xf_store_t *, const char *channel,
		    void (*)(void *, const char *), void *);
int		 xf_pg_notify(xf_store_t *, const char *channel,
		    const char *payload);
void		 xf_pg_listen_close(pg_t *);

#endif /* XF_STORE_PG_IMPL_H */
