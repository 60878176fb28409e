/* route.c: unit tests for worker/route.c, the routing decision, on a temporary session table (it links libxf.a and route.o alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "route.h"

#define MYSLOT	3

static xf_route_ctx_t	 rc;

static void
bind_res(const char *full, uint32_t node, uint32_t worker, uint64_t conn,
    int32_t prio, int avail, int64_t since)
{
	xf_sess_rec_t	 r, old;
	int		 had;

	memset(&r, 0, sizeof(r));
	r.sr_node = node;
	r.sr_worker = worker;
	r.sr_conn = conn;
	r.sr_prio = prio;
	r.sr_avail = (uint8_t)avail;
	r.sr_since = since;
	if (xf_sess_put(rc.rc_sess, full, &r, &old, &had) != XF_OK)
		printf("# cannot bind %s\n", full);
}

static xf_el_t *
stanza(const char *name, const char *type, const char *to)
{
	xf_el_t	*el = xf_el_new("jabber:client", name);

	if (type)
		xf_el_set_attr(el, "type", type);
	if (to)
		xf_el_set_attr(el, "to", to);
	return el;
}

/* Decides for a stanza made on the spot. */
static xf_dest_t *
decide(const char *name, const char *type, const char *to, const char *self)
{
	static xf_dest_t	 d;
	xf_el_t			*el = stanza(name, type, to);

	memset(&d, 0x5a, sizeof(d));	/* nothing left over counts */
	xf_route_decide(&rc, el, self, &d);
	xf_el_free(el);
	return &d;
}

static const char *
kind(int k)
{
	static const char *names[] = { "drop", "error", "server", "account",
	    "bare", "stream", "worker", "node", "dc", "remote", "offline" };

	return k >= 0 && k < (int)XF_NELEM(names) ? names[k] : "?";
}

#define is_kind(d, k, ...)	is_str(kind((d)->d_kind), kind(k), __VA_ARGS__)

int
main(void)
{
	char		 tmpl[] = "/tmp/xf-route-XXXXXX", dir[256], err[256];
	char		 cmd[300];
	char		*vhosts[] = { "example.org", "muc.example.org" };
	xf_conf_t	 cf;
	xf_sess_t	*s;
	xf_dest_t	*d;
	xf_el_t		*el;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/sess", tmpl);
	if (xf_sess_open(dir, 1, &s, err, sizeof(err)) != XF_OK) {
		printf("Bail out! session table: %s\n", err);
		return 1;
	}
	memset(&cf, 0, sizeof(cf));
	cf.cf_vhosts = vhosts;
	cf.cf_nvhosts = 2;
	rc.rc_sess = s;
	rc.rc_conf = &cf;
	rc.rc_node = 0;
	rc.rc_slot = MYSLOT;

	/* alice: two resources here and on another worker; bob: one on
	 * another node; carol: an unavailable one; dave: nothing. */
	bind_res("alice@example.org/home", 0, MYSLOT, 101, 5, 1, 100);
	bind_res("alice@example.org/work", 0, 7, 202, 1, 1, 200);
	bind_res("bob@example.org/phone", 4, 1, 303, 0, 1, 100);
	bind_res("carol@example.org/idle", 0, MYSLOT, 404, 0, 0, 100);
	bind_res("erin@example.org/low", 0, 7, 505, -1, 1, 100);

	/* Full JIDs: by the record. */
	d = decide("message", "chat", "alice@example.org/home", NULL);
	is_kind(d, XF_DEST_STREAM, "full JID on this worker: this stream");
	is_int(d->d_stream, 101, "  its stream id from the record");
	is_str(d->d_full, "alice@example.org/home", "  the full JID");
	is_str(d->d_bare, "alice@example.org", "  the bare JID");
	ok(d->d_inbound, "  for a local user: inbound hooks first");
	is_int(d->d_fallback, XF_FALL_GONE, "  stale: decide again");

	d = decide("message", "chat", "alice@example.org/work", NULL);
	is_kind(d, XF_DEST_WORKER, "full JID on another worker: its ring");
	is_int(d->d_slot, 7, "  slot 7");
	is_int(d->d_stream, 202, "  stream 202 there");

	d = decide("iq", "get", "bob@example.org/phone", NULL);
	is_kind(d, XF_DEST_NODE, "full JID on another node: interconnect");
	is_int(d->d_node, 4, "  node 4");

	/* Normalisation: the session table's keys match. */
	d = decide("message", "chat", "ALICE@Example.ORG/home", NULL);
	is_kind(d, XF_DEST_STREAM, "a JID as written is normalised first");

	/* Bare JIDs (RFC 6121 8.5.2). */
	d = decide("message", "chat", "alice@example.org", NULL);
	is_kind(d, XF_DEST_STREAM, "chat to bare: the best resource");
	is_str(d->d_full, "alice@example.org/home", "  highest priority wins");
	is_int(d->d_fallback, XF_FALL_OFFLINE, "  stale: offline storage");
	d = decide("message", NULL, "alice@example.org", NULL);
	is_kind(d, XF_DEST_STREAM, "normal message: the same");
	d = decide("message", "chat", "carol@example.org", NULL);
	is_kind(d, XF_DEST_OFFLINE, "only an unavailable resource: offline");
	d = decide("message", "chat", "erin@example.org", NULL);
	is_kind(d, XF_DEST_OFFLINE, "only a negative priority: offline");
	d = decide("message", "chat", "dave@example.org", NULL);
	is_kind(d, XF_DEST_OFFLINE, "nobody online: offline");
	is_str(d->d_bare, "dave@example.org", "  for dave");
	d = decide("message", "headline", "alice@example.org", NULL);
	is_kind(d, XF_DEST_BARE, "headline to bare: every resource");
	is_int(d->d_avail, 1, "  available, priority >= 0");
	d = decide("presence", NULL, "alice@example.org", NULL);
	is_kind(d, XF_DEST_BARE, "presence to bare: every resource");
	is_int(d->d_avail, 2, "  every available one");
	d = decide("message", "groupchat", "alice@example.org", NULL);
	is_kind(d, XF_DEST_ERROR, "groupchat to a user: error");
	is_str(d->d_cond, "service-unavailable", "  service-unavailable");
	d = decide("message", "error", "alice@example.org", NULL);
	is_kind(d, XF_DEST_DROP, "an error to bare: dropped, never answered");
	d = decide("iq", "get", "alice@example.org", NULL);
	is_kind(d, XF_DEST_ACCOUNT, "iq to bare: the account answers");
	is_str(d->d_bare, "alice@example.org", "  alice's");
	ok(d->d_inbound, "  after the inbound hooks");

	/* A resource that is not there (8.5.3.2). */
	d = decide("message", "chat", "alice@example.org/gone", NULL);
	is_kind(d, XF_DEST_STREAM, "chat to a missing resource: as bare");
	is_str(d->d_full, "alice@example.org/home", "  the best one");
	d = decide("message", "chat", "dave@example.org/x", NULL);
	is_kind(d, XF_DEST_OFFLINE, "to a missing resource of nobody: offline");
	d = decide("message", "groupchat", "alice@example.org/gone", NULL);
	is_kind(d, XF_DEST_ERROR, "groupchat to a missing resource: error");
	d = decide("iq", "set", "alice@example.org/gone", NULL);
	is_kind(d, XF_DEST_ERROR, "iq set to a missing resource: error");
	d = decide("iq", "result", "alice@example.org/gone", NULL);
	is_kind(d, XF_DEST_DROP, "iq result to a missing resource: dropped");
	d = decide("presence", NULL, "alice@example.org/gone", NULL);
	is_kind(d, XF_DEST_DROP, "presence to a missing resource: dropped");

	/* The record turns out stale at delivery: decide again. */
	el = stanza("message", "chat", "alice@example.org/gone");
	d = decide("message", "chat", "alice@example.org/home", NULL);
	xf_route_resource_gone(&rc, el, d);
	is_kind(d, XF_DEST_STREAM, "stale record: the bare rule picks again");
	is_int(d->d_fallback, XF_FALL_OFFLINE, "  then offline");
	xf_el_free(el);

	/* The server and its domains. */
	d = decide("iq", "get", "example.org", NULL);
	is_kind(d, XF_DEST_SERVER, "iq to the domain: the server");
	d = decide("iq", "get", "EXAMPLE.org", NULL);
	is_kind(d, XF_DEST_SERVER, "  whatever the case");
	d = decide("iq", "get", "muc.example.org", NULL);
	is_kind(d, XF_DEST_SERVER, "  and for each served host");
	d = decide("message", "chat", "example.org", NULL);
	is_kind(d, XF_DEST_ERROR, "a message to the domain: error");
	d = decide("presence", NULL, "example.org", NULL);
	is_kind(d, XF_DEST_DROP, "presence to the domain: dropped");
	d = decide("iq", "get", "example.org/res", NULL);
	is_kind(d, XF_DEST_ERROR, "iq to domain/resource: error");

	/* Elsewhere. */
	d = decide("message", "chat", "someone@jabber.example.net/r", NULL);
	is_kind(d, XF_DEST_REMOTE, "another domain: s2s");
	is_str(d->d_host, "jabber.example.net", "  its domain");
	ok(!d->d_inbound, "  no local hooks");
	d = decide("message", "chat", "a@b@example.org", NULL);
	is_kind(d, XF_DEST_ERROR, "a malformed JID: error");
	is_str(d->d_cond, "jid-malformed", "  jid-malformed");
	is_str(d->d_type, "modify", "  type modify");

	/* No 'to': the sender's own account (RFC 6120 10.3). */
	d = decide("iq", "get", NULL, "alice@example.org");
	is_kind(d, XF_DEST_ACCOUNT, "iq without to: the sender's account");
	ok(!d->d_inbound, "  no inbound hooks for one's own account");
	d = decide("message", "chat", NULL, "alice@example.org");
	is_kind(d, XF_DEST_STREAM, "message without to: to one's bare JID");
	ok(d->d_inbound, "  through the inbound hooks");
	d = decide("presence", NULL, NULL, "alice@example.org");
	is_kind(d, XF_DEST_DROP, "presence without to: not the router's");
	d = decide("message", "chat", NULL, NULL);
	is_kind(d, XF_DEST_DROP, "no to and no local sender: dropped");

	/* A record's own decision. */
	{
		xf_sess_rec_t	 r;
		xf_dest_t	 one;

		memset(&r, 0, sizeof(r));
		r.sr_worker = MYSLOT;
		r.sr_conn = 9;
		xf_route_record(&rc, &r, &one);
		is_kind(&one, XF_DEST_STREAM, "record: this worker");
		r.sr_worker = MYSLOT + 1;
		xf_route_record(&rc, &r, &one);
		is_kind(&one, XF_DEST_WORKER, "record: another worker");
		r.sr_node = 2;
		xf_route_record(&rc, &r, &one);
		is_kind(&one, XF_DEST_NODE, "record: another node");
	}

	xf_sess_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpl);
	return done_testing();
}
