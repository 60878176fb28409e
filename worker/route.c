/* route.c: the routing decision (RFC 6120 10, RFC 6121 8): from a stanza's 'to' and the session table to one destination, without I/O. */
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "jid.h"
#include "route.h"

static int
is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static void
dest(xf_dest_t *d, int kind)
{
	d->d_kind = kind;
}

static void
error(xf_dest_t *d, const char *type, const char *cond)
{
	d->d_kind = XF_DEST_ERROR;
	d->d_type = type;
	d->d_cond = cond;
}

void
xf_route_record(const xf_route_ctx_t *rc, const xf_sess_rec_t *rec,
    xf_dest_t *d)
{
	d->d_rec = *rec;
	d->d_stream = rec->sr_conn;
	if (rec->sr_node != rc->rc_node) {
		d->d_kind = XF_DEST_NODE;
		d->d_node = rec->sr_node;
	} else if (rec->sr_worker == rc->rc_slot) {
		d->d_kind = XF_DEST_STREAM;
	} else {
		d->d_kind = XF_DEST_WORKER;
		d->d_slot = rec->sr_worker;
	}
}

/* RFC 6121 8.5.2: a stanza to the bare JID d_bare of a local user. */
static void
to_bare(const xf_route_ctx_t *rc, const xf_el_t *st, xf_dest_t *d)
{
	const char	*type = xf_el_attr(st, "type");

	if (strcmp(st->e_name, "iq") == 0) {
		dest(d, XF_DEST_ACCOUNT);
		return;
	}
	if (strcmp(st->e_name, "presence") == 0) {
		/* 8.5.2.1.1: every available resource. */
		dest(d, XF_DEST_BARE);
		d->d_avail = 2;
		return;
	}
	if (is(type, "error")) {
		dest(d, XF_DEST_DROP);
		return;
	}
	if (is(type, "groupchat")) {
		error(d, "cancel", "service-unavailable");
		return;
	}
	if (is(type, "headline")) {
		/* 8.5.2.1.1: each resource with non-negative priority. */
		dest(d, XF_DEST_BARE);
		d->d_avail = 1;
		return;
	}
	/* 8.5.2.1.1 (chat, normal): the most available resource. */
	if (xf_sess_best(rc->rc_sess, d->d_bare, d->d_full, sizeof(d->d_full),
	    &d->d_rec) == XF_OK) {
		xf_route_record(rc, &d->d_rec, d);
		d->d_fallback = XF_FALL_OFFLINE;
		return;
	}
	dest(d, XF_DEST_OFFLINE);
}

void
xf_route_resource_gone(const xf_route_ctx_t *rc, const xf_el_t *st,
    xf_dest_t *d)
{
	const char	*type = xf_el_attr(st, "type");

	d->d_fallback = XF_FALL_NONE;
	if (strcmp(st->e_name, "message") == 0) {
		/* 8.5.3.2.1: as if to the bare JID, but for groupchat. */
		if (!is(type, "groupchat") && !is(type, "error"))
			to_bare(rc, st, d);
		else
			error(d, "cancel", "service-unavailable");
	} else if (strcmp(st->e_name, "iq") == 0 && (is(type, "get") ||
	    is(type, "set")))
		error(d, "cancel", "service-unavailable");	/* 8.5.3.2.3 */
	else
		dest(d, XF_DEST_DROP);				/* 8.5.3.2.2 */
}

/*
 * The stanza's 'to' was checked by nobody yet: it may be anything the
 * sender wrote.  d_bare and d_full are normalised JIDs, so the session
 * table's keys match them.
 */
void
xf_route_decide(const xf_route_ctx_t *rc, const xf_el_t *st,
    const char *self_bare, xf_dest_t *d)
{
	const char	*to = xf_el_attr(st, "to");
	xf_jid_t	 j;

	d->d_inbound = 0;
	d->d_fallback = XF_FALL_NONE;
	d->d_avail = 0;
	if (to == NULL) {
		/* RFC 6120 10.3: for the sender's own account.  Presence
		 * without 'to' is the presence module's broadcast; what
		 * reaches here (probes, errors) has nowhere to go. */
		if (self_bare == NULL || strcmp(st->e_name, "presence") == 0) {
			dest(d, XF_DEST_DROP);
			return;
		}
		snprintf(d->d_bare, sizeof(d->d_bare), "%s", self_bare);
		if (strcmp(st->e_name, "iq") == 0) {
			dest(d, XF_DEST_ACCOUNT);
			return;
		}
		d->d_inbound = 1;
		to_bare(rc, st, d);
		return;
	}
	if (xf_jid_parse(to, strlen(to), &j) != XF_OK) {
		error(d, "modify", "jid-malformed");
		return;
	}
	if (!xf_conf_is_vhost(rc->rc_conf, j.j_domain)) {
		dest(d, XF_DEST_REMOTE);
		snprintf(d->d_host, sizeof(d->d_host), "%s", j.j_domain);
		return;
	}
	if (j.j_local == NULL) {
		if (j.j_resource == NULL && strcmp(st->e_name, "iq") == 0)
			dest(d, XF_DEST_SERVER);
		else if (strcmp(st->e_name, "presence") == 0)
			dest(d, XF_DEST_DROP);
		else
			error(d, "cancel", "service-unavailable");
		return;
	}
	xf_jid_bare(&j, d->d_bare, sizeof(d->d_bare));
	d->d_inbound = 1;
	if (j.j_resource == NULL) {
		to_bare(rc, st, d);
		return;
	}
	xf_jid_full(&j, d->d_full, sizeof(d->d_full));
	if (xf_sess_get(rc->rc_sess, d->d_full, &d->d_rec) == XF_OK) {
		xf_route_record(rc, &d->d_rec, d);
		d->d_fallback = XF_FALL_GONE;
		return;
	}
	xf_route_resource_gone(rc, st, d);
}
