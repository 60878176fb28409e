/* router.c: a stanza taken where route.c decides: hooks, then a local stream, another worker's ring, the server, the account, offline storage, or an error. */
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"

static xf_buf_t	 ser;

/*
 * Delivers to one bound resource.  XF_DECLINED when the record is stale
 * (its connection is gone): the caller treats the resource as offline.
 */
int
xf_route_deliver(xf_worker_t *w, xf_stream_t *from, const char *full,
    const xf_sess_rec_t *rec, const xf_el_t *st)
{
	xf_stream_t	*c;
	xf_dest_t	 d;

	xf_route_record(&w->w_route, rec, &d);
	if (d.d_kind == XF_DEST_NODE)
		return XF_DECLINED;	/* other nodes: the cluster issue */
	if (xf_mod_deliver(w, from, full, rec, st) == XF_OK)
		return XF_OK;
	if (d.d_kind == XF_DEST_STREAM) {
		c = xf_stream_find(w, rec->sr_conn);
		if (c == NULL || c->s_state != C2S_BOUND ||
		    strcmp(c->s_full, full) != 0) {
			/* No connection: a detached SM session may keep it. */
			xf_buf_reset(&ser);
			if (xf_el_write(st, XF_NS_CLIENT, &ser) == XF_OK &&
			    xf_mod_orphan(w, full, rec->sr_conn,
			    xf_buf_data(&ser), xf_buf_size(&ser)) == XF_OK)
				return XF_OK;
			return XF_DECLINED;
		}
		xf_stream_send_el(c, st);
		w->w_stats->ws_stanzas_out++;
		/* A fast sender waits for a slow reader rather than filling
		 * its backlog until it is cut off. */
		if (from != NULL && from != c && xf_stream_backlogged(c))
			xf_stream_wait_for(from, c);
		return XF_OK;
	}
	xf_buf_reset(&ser);
	if (xf_el_write(st, XF_NS_CLIENT, &ser) != XF_OK)
		return XF_ERR;
	return xf_ipc_push(w, from, rec->sr_worker, XF_MSG_STANZA,
	    rec->sr_conn, full, xf_buf_data(&ser), xf_buf_size(&ser));
}

/*
 * Bounces a stanza with a stanza error (RFC 6120 8.3).  Errors are never
 * answered with errors, so two servers cannot loop.
 */
void
xf_route_error(xf_worker_t *w, xf_stream_t *from, const xf_el_t *st,
    const char *type, const char *cond)
{
	xf_el_t		*e, *err;
	const char	*sfrom = xf_el_attr(st, "from");
	const char	*sto = xf_el_attr(st, "to");
	char		*to;

	if (xf_streq(xf_el_attr(st, "type"), "error") || sfrom == NULL)
		return;
	if ((e = xf_el_copy(st)) == NULL)
		return;
	if ((to = strdup(sfrom)) == NULL) {
		xf_el_free(e);
		return;
	}
	xf_el_set_attr(e, "from", sto ? sto : (from && from->s_host[0] ?
	    from->s_host : w->w_conf->cf_vhosts[0]));
	xf_el_set_attr(e, "to", to);
	xf_el_set_attr(e, "type", "error");
	if ((err = xf_el_add(e, XF_NS_CLIENT, "error")) != NULL) {
		xf_el_set_attr(err, "type", type);
		xf_el_add(err, XF_NS_STANZAS, cond);
	}
	if (from != NULL && strcmp(to, from->s_full) == 0)
		xf_stream_send_el(from, e);
	else
		xf_route(w, NULL, e);
	free(to);
	xf_el_free(e);
}

typedef struct each_s {
	xf_worker_t	*w;
	xf_stream_t	*from;
	const xf_el_t	*st;
	int		 need_avail;
} each_t;

static int
deliver_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	each_t	*e = ud;

	if (!rec->sr_avail || (e->need_avail == 1 && rec->sr_prio < 0))
		return 0;
	if (xf_route_deliver(e->w, e->from, full, rec, e->st) == XF_OK &&
	    strcmp(e->st->e_name, "message") == 0)
		xf_mod_delivered(e->w, e->st, full);
	return 0;
}

/* One resource: delivered, or where its absence sends the stanza. */
static void
to_resource(xf_worker_t *w, xf_stream_t *from, xf_el_t *st, xf_dest_t *d)
{
	if (xf_route_deliver(w, from, d->d_full, &d->d_rec, st) == XF_OK) {
		if (strcmp(st->e_name, "message") == 0)
			xf_mod_delivered(w, st, d->d_full);
		return;
	}
	/* The record was stale: its stream is gone. */
	if (d->d_fallback == XF_FALL_OFFLINE)
		d->d_kind = XF_DEST_OFFLINE;
	else if (d->d_fallback == XF_FALL_GONE)
		xf_route_resource_gone(&w->w_route, st, d);
	else
		return;
	xf_route_to(w, from, st, d);
}

/* Takes st where d says; d may be changed on the way (a stale record). */
void
xf_route_to(xf_worker_t *w, xf_stream_t *from, xf_el_t *st, xf_dest_t *d)
{
	switch (d->d_kind) {
	case XF_DEST_DROP:
		return;
	case XF_DEST_ERROR:
		xf_route_error(w, from, st, d->d_type, d->d_cond);
		return;
	case XF_DEST_SERVER:
		xf_iq_server(w, from, st);
		return;
	case XF_DEST_ACCOUNT:
		xf_iq_account(w, from, st, d->d_bare);
		return;
	case XF_DEST_BARE: {
		each_t	 e = { w, from, st, d->d_avail };

		xf_sess_resources(w->w_sess, d->d_bare, deliver_each, &e);
		return;
	}
	case XF_DEST_STREAM:
	case XF_DEST_WORKER:
	case XF_DEST_NODE:
		to_resource(w, from, st, d);
		return;
	case XF_DEST_OFFLINE:
		if (xf_mod_undeliverable(w, from, st, d->d_bare) != XF_OK)
			xf_route_error(w, from, st, "cancel",
			    "service-unavailable");
		return;
	case XF_DEST_DC:
	case XF_DEST_REMOTE:
		/* Federation and global distribution: their issues. */
		xf_route_error(w, from, st, "cancel",
		    "remote-server-not-found");
		return;
	}
}

/* Routes a stanza from a local stream (from) or from the server (NULL). */
void
xf_route(xf_worker_t *w, xf_stream_t *from, xf_el_t *st)
{
	static xf_dest_t	 d;	/* 6 KB: not on a coroutine's stack */
	xf_dest_t		*dp = &d, *own = NULL;
	static int		 busy;

	/* A hook may route in turn while d is in use. */
	if (busy && (dp = own = malloc(sizeof(*own))) == NULL) {
		xf_route_error(w, from, st, "wait", "resource-constraint");
		return;
	}
	busy++;
	xf_route_decide(&w->w_route, st, from ? from->s_bare : NULL, dp);
	if (!dp->d_inbound ||
	    xf_mod_inbound(w, from, st, dp->d_bare) != XF_OK)
		xf_route_to(w, from, st, dp);
	busy--;
	free(own);
}

void
xf_route_unsent(xf_worker_t *w, xf_stream_t *s, const char *data,
    size_t len)
{
	xf_el_t		*el;
	const char	*type;

	if (s->s_bare[0] == '\0' ||
	    (el = xf_xml_parse(data, len, XF_NS_CLIENT)) == NULL)
		return;
	type = xf_el_attr(el, "type");
	if (strcmp(el->e_name, "message") == 0) {
		/* As for a user with no resource (RFC 6121 8.5.2.2.1). */
		if (xf_mod_undeliverable(w, NULL, el, s->s_bare) != XF_OK)
			xf_route_error(w, NULL, el, "cancel",
			    "service-unavailable");
	} else if (strcmp(el->e_name, "iq") == 0 && (xf_streq(type, "get") ||
	    xf_streq(type, "set")))
		xf_route_error(w, NULL, el, "cancel", "service-unavailable");
	/* Presence is state: the user's going away says what counts. */
	xf_el_free(el);
}
