/* store_pg_listen.c: the PostgreSQL backend's change notices: LISTEN on a connection of its own, watched by the loop; NOTIFY. */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "xf.h"
#include "coro.h"
#include "loop.h"
#include "store_impl.h"
#include "store_pg_impl.h"

static void	 listen_timer(xf_loop_t *, void *);

static void
listen_retry(pg_t *pg)
{
	if (pg->pg_listen_fd != -1) {
		xf_loop_del(pg->pg_loop, pg->pg_listen_fd);
		pg->pg_listen_fd = -1;
	}
	xf_pg_drop(&pg->pg_listen);
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

	if (xf_pg_connect(pg, &pg->pg_listen) != XF_OK)
		goto retry;
	for (int i = 0; i < pg->pg_nwatch; i++) {
		snprintf(sql, sizeof(sql), "LISTEN \"%s\"",
		    pg->pg_watch[i].wa_chan);
		if ((res = xf_pg_exec_pc(pg, &pg->pg_listen, sql, NULL)) == NULL)
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

int
xf_pg_listen(xf_store_t *base, const char *channel,
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

int
xf_pg_notify(xf_store_t *base, const char *channel, const char *payload)
{
	pg_t		*pg = (pg_t *)base;
	params_t	 p = { 0 };
	PGresult	*res;

	param_str(&p, channel);
	param_str(&p, payload);
	if ((res = xf_pg_exec(pg, "SELECT pg_notify($1, $2)", &p)) == NULL)
		return XF_ERR;
	PQclear(res);
	return XF_OK;
}

/* What pg_close() leaves to this file: the listener and its timer. */
void
xf_pg_listen_close(pg_t *pg)
{
	if (pg->pg_listen_fd != -1)
		xf_loop_del(pg->pg_loop, pg->pg_listen_fd);
	if (pg->pg_listen_timer != 0)
		xf_loop_timer_del(pg->pg_loop, pg->pg_listen_timer);
	xf_pg_drop(&pg->pg_listen);
}
