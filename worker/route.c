/* route.c: where a stanza goes (RFC 6120 10, RFC 6121 8): local session, another worker's ring, the server itself, or an error. */
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

	if (rec->sr_node != 0)
		return XF_DECLINED;	/* other nodes: the cluster issue */
	if (xf_mod_deliver(w, from, full, rec, st) == XF_OK)
		return XF_OK;
	if (rec->sr_worker == w->w_slot) {
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
	int		 delivered;
	int		 need_avail;
} each_t;

static int
deliver_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	each_t	*e = ud;

	if (e->need_avail && (!rec->sr_avail ||
	    (e->need_avail == 1 && rec->sr_prio < 0)))
		return 0;
	if (xf_route_deliver(e->w, e->from, full, rec, e->st) == XF_OK) {
		e->delivered++;
		if (strcmp(e->st->e_name, "message") == 0)
			xf_mod_delivered(e->w, e->st, full);
	}
	return 0;
}

/* RFC 6121 8.5.2: a stanza to a bare JID of a local user. */
static void
to_bare(xf_worker_t *w, xf_stream_t *from, const xf_el_t *st, const char *bare)
{
	const char	*type = xf_el_attr(st, "type");
	char		 full[XF_JID_MAX + 1];
	xf_sess_rec_t	 rec;
	each_t		 e = { w, from, st, 0, 1 };

	if (strcmp(st->e_name, "iq") == 0) {
		xf_iq_account(w, from, (xf_el_t *)st, bare);
		return;
	}
	if (strcmp(st->e_name, "presence") == 0) {
		/* RFC 6121 8.5.2.1.1: every available resource. */
		e.need_avail = 2;
		xf_sess_resources(w->w_sess, bare, deliver_each, &e);
		return;
	}
	/* message */
	if (xf_streq(type, "error"))
		return;
	if (xf_streq(type, "groupchat")) {
		xf_route_error(w, from, st, "cancel", "service-unavailable");
		return;
	}
	if (xf_streq(type, "headline")) {
		xf_sess_resources(w->w_sess, bare, deliver_each, &e);
		return;
	}
	if (xf_sess_best(w->w_sess, bare, full, sizeof(full), &rec) == XF_OK &&
	    xf_route_deliver(w, from, full, &rec, st) == XF_OK) {
		xf_mod_delivered(w, st, full);
		return;
	}
	if (xf_mod_undeliverable(w, from, st, bare) == XF_OK)
		return;
	xf_route_error(w, from, st, "cancel", "service-unavailable");
}

/* A stanza with no 'to': for the sender's own account (RFC 6120 10.3). */
static void
to_self(xf_worker_t *w, xf_stream_t *from, xf_el_t *st)
{
	if (from == NULL)
		return;
	if (strcmp(st->e_name, "iq") == 0) {
		xf_iq_account(w, from, st, from->s_bare);
		return;
	}
	if (strcmp(st->e_name, "message") == 0) {
		if (xf_mod_inbound(w, from, st, from->s_bare) != XF_OK)
			to_bare(w, from, st, from->s_bare);
		return;
	}
	/* Presence with no 'to' is the presence module's broadcast; what
	 * reaches here (probes, errors) has nowhere to go. */
}

void
xf_route(xf_worker_t *w, xf_stream_t *from, xf_el_t *st)
{
	const char	*to = xf_el_attr(st, "to");
	const char	*type = xf_el_attr(st, "type");
	xf_jid_t	 j;
	char		 bare[XF_JID_MAX + 1], full[XF_JID_MAX + 1];
	xf_sess_rec_t	 rec;

	if (to == NULL) {
		to_self(w, from, st);
		return;
	}
	if (xf_jid_parse(to, strlen(to), &j) != XF_OK) {
		xf_route_error(w, from, st, "modify", "jid-malformed");
		return;
	}
	if (!xf_conf_is_vhost(w->w_conf, j.j_domain)) {
		/* Federation is the s2s issue. */
		xf_route_error(w, from, st, "cancel", "remote-server-not-found");
		return;
	}
	if (j.j_local == NULL) {
		if (j.j_resource == NULL && strcmp(st->e_name, "iq") == 0)
			xf_iq_server(w, from, st);
		else if (strcmp(st->e_name, "presence") != 0)
			xf_route_error(w, from, st, "cancel",
			    "service-unavailable");
		return;
	}
	xf_jid_bare(&j, bare, sizeof(bare));
	if (xf_mod_inbound(w, from, st, bare) == XF_OK)
		return;
	if (j.j_resource == NULL) {
		to_bare(w, from, st, bare);
		return;
	}
	xf_jid_full(&j, full, sizeof(full));
	if (xf_sess_get(w->w_sess, full, &rec) == XF_OK &&
	    xf_route_deliver(w, from, full, &rec, st) == XF_OK) {
		if (strcmp(st->e_name, "message") == 0)
			xf_mod_delivered(w, st, full);
		return;
	}
	/* RFC 6121 8.5.3.2: no such resource. */
	if (strcmp(st->e_name, "message") == 0) {
		if (!xf_streq(type, "groupchat") && !xf_streq(type, "error"))
			to_bare(w, from, st, bare);
		else
			xf_route_error(w, from, st, "cancel",
			    "service-unavailable");
	} else if (strcmp(st->e_name, "iq") == 0 && (xf_streq(type, "get") ||
	    xf_streq(type, "set")))
		xf_route_error(w, from, st, "cancel", "service-unavailable");
}
