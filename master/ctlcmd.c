/* ctlcmd.c: the control commands: status, sessions, kick, accounts, rosters and offline messages, reload, stop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "xf.h"
#include "buf.h"
#include "jid.h"
#include "log.h"
#include "msg.h"
#include "master.h"
#include "xmlstream.h"
#include "control.h"
#include "im.h"

#define CTL_PASS_MAX	1023		/* bytes of a password */

#define KICK_COND	"policy-violation"
#define KICK_TEXT	"Kicked by an administrator"

/* ---- request members ---------------------------------------------- */

/*
 * Reads a string member.  Returns it, or NULL with *errp set to an
 * error reply when it is missing (and required) or not a string.
 */
static const char *
req_str(json_t *req, const char *key, int required, json_t **errp)
{
	json_t	*v;

	*errp = NULL;
	if ((v = json_object_get(req, key)) == NULL || json_is_null(v)) {
		if (required)
			*errp = reply_err("bad request: missing '%s'", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		*errp = reply_err("bad request: '%s' must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* Parses and normalises a JID member; 1 on success, else *errp. */
static int
req_jid(json_t *req, xf_jid_t *jid, json_t **errp)
{
	const char	*s;
	char		 sh[128];

	if ((s = req_str(req, "jid", 1, errp)) == NULL)
		return 0;
	if (xf_jid_parse(s, json_string_length(json_object_get(req, "jid")),
	    jid) != XF_OK) {
		*errp = reply_err("invalid JID '%s'", shorten(s, sh,
		    sizeof(sh)));
		return 0;
	}
	return 1;
}

/* An account JID: bare, with a localpart, in one of our domains. */
static int
req_account(xf_master_t *m, json_t *req, char *bare, size_t barelen,
    json_t **errp)
{
	xf_jid_t	 jid;
	char		 sh[128];

	if (!req_jid(req, &jid, errp))
		return 0;
	if (xf_jid_bare(&jid, bare, barelen) != XF_OK) {
		*errp = reply_err("invalid JID");
		return 0;
	}
	if (jid.j_resource != NULL) {
		*errp = reply_err("%s/%s is not a bare JID",
		    shorten(bare, sh, sizeof(sh)), jid.j_resource);
		return 0;
	}
	if (jid.j_local == NULL) {
		*errp = reply_err("%s has no localpart", bare);
		return 0;
	}
	if (!xf_conf_is_vhost(m->m_conf, jid.j_domain)) {
		*errp = reply_err("domain %s is not served here",
		    shorten(jid.j_domain, sh, sizeof(sh)));
		return 0;
	}
	return 1;
}

/*
 * The password member.  jansson refuses "\u0000" by default, so the
 * string length is the C string length.
 */
static const char *
req_password(json_t *req, json_t **errp)
{
	const char	*pw;

	if ((pw = req_str(req, "password", 1, errp)) == NULL)
		return NULL;
	if (pw[0] == '\0') {
		*errp = reply_err("empty password");
		return NULL;
	}
	if (strlen(pw) > CTL_PASS_MAX) {
		*errp = reply_err("password longer than %d bytes",
		    CTL_PASS_MAX);
		return NULL;
	}
	return pw;
}


static json_t *
cmd_status(xf_master_t *m, json_t *req, int arg)
{
	json_t		*r, *ws, *w;
	char		 host[256];
	uint64_t	 tconns = 0, tsess = 0;
	int64_t		 now = (int64_t)time(NULL);

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	if ((ws = json_array()) == NULL)
		return NULL;
	for (unsigned i = 0; i < XF_MAX_WORKERS; i++) {
		const xf_wproc_t	*wp = &m->m_workers[i];
		const xf_wstats_t	*st = NULL;
		uint32_t		 nc = 0, ns = 0;

		if (wp->w_state != XF_W_RUNNING && wp->w_state != XF_W_DRAINING)
			continue;
		if (m->m_rings != NULL)
			st = xf_rings_stats(m->m_rings, i);
		if (st != NULL) {
			nc = st->ws_conns;
			ns = st->ws_sessions;
		}
		tconns += nc;
		tsess += ns;
		w = json_pack("{s:I,s:i,s:I,s:s,s:I,s:I,s:I,s:I}",
		    "slot", (json_int_t)i,
		    "index", wp->w_index,
		    "pid", (json_int_t)wp->w_pid,
		    "state", wp->w_state == XF_W_RUNNING ? "running" :
			"draining",
		    "generation", (json_int_t)wp->w_gen,
		    "started", (json_int_t)wp->w_started,
		    "connections", (json_int_t)nc,
		    "sessions", (json_int_t)ns);
		if (w == NULL || json_array_append_new(ws, w) == -1) {
			json_decref(ws);
			return reply_err("out of memory");
		}
	}
	r = json_pack("{s:b,s:o,s:s,s:s,s:I,s:I,s:o,s:o,s:I,s:I}",
	    "ok", 1,
	    "node", jstr(host),
	    "store", m->m_conf->cf_store_backend == XF_STORE_PGSQL ? "pgsql" :
		"lmdb",
	    "version", XF_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime", (json_int_t)(m->m_started > 0 && now > m->m_started ?
		now - m->m_started : 0),
	    "config", jstr(m->m_conf->cf_path != NULL ? m->m_conf->cf_path :
		(m->m_conf_path != NULL ? m->m_conf_path : "")),
	    "workers", ws,
	    "connections", (json_int_t)tconns,
	    "sessions", (json_int_t)tsess);
	return r != NULL ? r : reply_err("out of memory");
}

/* One session row for "sessions". */
static json_t *
sess_json(const char *full, const xf_sess_rec_t *rec)
{
	char	 ip[sizeof(rec->sr_ip) + 1];

	/* The record is another process's bytes: bound the string. */
	memcpy(ip, rec->sr_ip, sizeof(rec->sr_ip));
	ip[sizeof(rec->sr_ip)] = '\0';
	return json_pack("{s:o,s:I,s:I,s:o,s:I,s:i,s:b,s:{s:b,s:b,s:b}}",
	    "jid", jstr(full),
	    "node", (json_int_t)rec->sr_node,
	    "worker", (json_int_t)rec->sr_worker,
	    "ip", jstr(ip),
	    "since", (json_int_t)rec->sr_since,
	    "priority", (int)rec->sr_prio,
	    "available", rec->sr_avail != 0,
	    "flags",
	    "carbons", (rec->sr_flags & XF_SESS_CARBONS) != 0,
	    "roster", (rec->sr_flags & XF_SESS_INTERESTED) != 0,
	    "sm", (rec->sr_flags & XF_SESS_SM) != 0);
}

static int
sess_row(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	json_t	*row;

	if ((row = sess_json(full, rec)) == NULL ||
	    json_array_append_new(ud, row) == -1)
		return 1;	/* out of memory: stop, reply with what we have */
	return 0;
}

static json_t *
cmd_sessions(xf_master_t *m, json_t *req, int arg)
{
	json_t		*r, *arr, *err;
	const char	*user;
	xf_jid_t	 jid;
	char		 bare[XF_JID_MAX + 1], sh[128];
	int		 rc;

	if ((user = req_str(req, "user", 0, &err)) == NULL && err != NULL)
		return err;
	if (m->m_sess == NULL)
		return reply_err("no session table");
	if ((arr = json_array()) == NULL)
		return reply_err("out of memory");
	if (user != NULL) {
		if (xf_jid_parse(user, strlen(user), &jid) != XF_OK ||
		    xf_jid_bare(&jid, bare, sizeof(bare)) != XF_OK) {
			json_decref(arr);
			return reply_err("invalid JID '%s'",
			    shorten(user, sh, sizeof(sh)));
		}
		rc = xf_sess_resources(m->m_sess, bare, sess_row, arr);
	} else
		rc = xf_sess_foreach(m->m_sess, sess_row, arr);
	if (rc == XF_ERR) {
		json_decref(arr);
		return reply_err("session table: %s", xf_sess_error(m->m_sess));
	}
	if ((r = reply_ok()) == NULL ||
	    json_object_set_new(r, "sessions", arr) == -1) {
		json_decref(r);
		return reply_err("out of memory");
	}
	return r;
}

/* ---- kick --------------------------------------------------------- */

typedef struct kick_s {
	char		*k_full;	/* owned */
	xf_sess_rec_t	 k_rec;
} kick_t;

typedef struct kicks_s {
	kick_t		*ks_v;
	size_t		 ks_n, ks_cap;
	int		 ks_oom;
} kicks_t;

static int
kick_collect(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	kicks_t	*ks = ud;
	kick_t	*v;

	if (ks->ks_n == ks->ks_cap) {
		size_t	 n = ks->ks_cap ? ks->ks_cap * 2 : 8;

		if ((v = realloc(ks->ks_v, n * sizeof(*v))) == NULL) {
			ks->ks_oom = 1;
			return 1;
		}
		ks->ks_v = v;
		ks->ks_cap = n;
	}
	if ((ks->ks_v[ks->ks_n].k_full = strdup(full)) == NULL) {
		ks->ks_oom = 1;
		return 1;
	}
	ks->ks_v[ks->ks_n].k_rec = *rec;
	ks->ks_n++;
	return 0;
}

static void
kicks_free(kicks_t *ks)
{
	for (size_t i = 0; i < ks->ks_n; i++)
		free(ks->ks_v[i].k_full);
	free(ks->ks_v);
	memset(ks, 0, sizeof(*ks));
}

/*
 * Asks the owning worker to close one session.  The worker checks that
 * connection m_conn is still bound to the JID, so a stale record (the
 * session went away, or a newer bind took the resource) is harmless.
 */
static int
kick_one(xf_master_t *m, const char *full, const xf_sess_rec_t *rec)
{
	xf_msg_t	 msg;
	xf_ring_t	*ring;
	char		*payload;
	size_t		 flen = strlen(full), plen;
	int		 rc;

	/* Sessions of other nodes have no ring here; clustering kicks them. */
	if (rec->sr_node != 0 || rec->sr_worker >= XF_MAX_WORKERS ||
	    m->m_rings == NULL)
		return XF_DECLINED;
	if ((ring = xf_rings_get(m->m_rings, rec->sr_worker)) == NULL)
		return XF_DECLINED;

	plen = flen + sizeof(KICK_COND) + sizeof(KICK_TEXT) - 1;
	if ((payload = malloc(plen)) == NULL)
		return XF_ERR;
	memcpy(payload, full, flen);
	memcpy(payload + flen, KICK_COND, sizeof(KICK_COND));	/* with NUL */
	memcpy(payload + flen + sizeof(KICK_COND), KICK_TEXT,
	    sizeof(KICK_TEXT) - 1);

	memset(&msg, 0, sizeof(msg));
	msg.m_conn = rec->sr_conn;
	msg.m_from_worker = XF_MSG_FROM_MASTER;
	msg.m_tolen = (uint32_t)flen;
	rc = xf_ring_push(ring, XF_MSG_KICK, &msg, sizeof(msg), payload, plen);
	free(payload);
	return rc;
}

/* Tells every worker to drop its cached copy of bare's blocklist. */
static void
forget_blocklist(xf_master_t *m, const char *bare)
{
	xf_msg_t	 msg;

	if (m->m_rings == NULL)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.m_from_worker = XF_MSG_FROM_MASTER;
	msg.m_tolen = (uint32_t)strlen(bare);
	for (unsigned i = 0; i < XF_MAX_WORKERS; i++) {
		const xf_wproc_t	*wp = &m->m_workers[i];
		xf_ring_t		*ring;

		if ((wp->w_state != XF_W_RUNNING &&
		    wp->w_state != XF_W_DRAINING) ||
		    (ring = xf_rings_get(m->m_rings, i)) == NULL)
			continue;
		if (xf_ring_push(ring, XF_MSG_BLOCKS, &msg, sizeof(msg), bare,
		    msg.m_tolen) != XF_OK)
			log_warnx("control: worker %u keeps %s's blocklist "
			    "until it expires: ring full", i, bare);
	}
}

/*
 * Kicks every local session of target (full: that one; bare: all its
 * resources).  Returns XF_OK with *kicked, XF_DECLINED when there was no
 * session, or an error reply in *errp.
 */
static int
kick_target(xf_master_t *m, const xf_jid_t *jid, size_t *kicked,
    json_t **errp)
{
	kicks_t		 ks;
	char		 name[XF_JID_MAX + 1];
	xf_sess_rec_t	 rec;
	int		 rc, busy = 0, failed = 0;

	*kicked = 0;
	*errp = NULL;
	memset(&ks, 0, sizeof(ks));
	if (m->m_sess == NULL)
		return XF_DECLINED;
	if (jid->j_resource != NULL) {
		if (xf_jid_full(jid, name, sizeof(name)) != XF_OK) {
			*errp = reply_err("invalid JID");
			return XF_ERR;
		}
		rc = xf_sess_get(m->m_sess, name, &rec);
		if (rc == XF_OK)
			rc = kick_collect(&ks, name, &rec) ? XF_ERR : XF_OK;
	} else {
		if (xf_jid_bare(jid, name, sizeof(name)) != XF_OK) {
			*errp = reply_err("invalid JID");
			return XF_ERR;
		}
		/* Collect first: no ring mutex taken inside a read txn. */
		rc = xf_sess_resources(m->m_sess, name, kick_collect, &ks);
	}
	if (ks.ks_oom) {
		kicks_free(&ks);
		*errp = reply_err("out of memory");
		return XF_ERR;
	}
	if (rc == XF_ERR) {
		kicks_free(&ks);
		*errp = reply_err("session table: %s", xf_sess_error(m->m_sess));
		return XF_ERR;
	}
	for (size_t i = 0; i < ks.ks_n; i++) {
		switch (kick_one(m, ks.ks_v[i].k_full, &ks.ks_v[i].k_rec)) {
		case XF_OK:
			(*kicked)++;
			log_info("control: kicked %s (worker %u, c%llu)",
			    ks.ks_v[i].k_full, ks.ks_v[i].k_rec.sr_worker,
			    (unsigned long long)ks.ks_v[i].k_rec.sr_conn);
			break;
		case XF_AGAIN:
			busy++;
			break;
		case XF_DECLINED:
			break;
		default:
			failed++;
			break;
		}
	}
	kicks_free(&ks);
	if (busy > 0) {
		*errp = reply_err("worker busy, try again");
		return XF_ERR;
	}
	if (failed > 0) {
		*errp = reply_err("cannot queue the kick for %s", name);
		return XF_ERR;
	}
	return *kicked > 0 ? XF_OK : XF_DECLINED;
}

static json_t *
cmd_kick(xf_master_t *m, json_t *req, int arg)
{
	xf_jid_t	 jid;
	json_t		*err, *r;
	char		 name[XF_JID_MAX + 1], sh[128];
	size_t		 kicked;

	if (!req_jid(req, &jid, &err))
		return err;
	if ((jid.j_resource != NULL ? xf_jid_full(&jid, name, sizeof(name)) :
	    xf_jid_bare(&jid, name, sizeof(name))) != XF_OK)
		return reply_err("invalid JID");
	switch (kick_target(m, &jid, &kicked, &err)) {
	case XF_OK:
		break;
	case XF_DECLINED:
		return reply_err("no session for %s",
		    shorten(name, sh, sizeof(sh)));
	default:
		return err;
	}
	if ((r = json_pack("{s:b,s:o,s:I}", "ok", 1, "jid", jstr(name),
	    "kicked", (json_int_t)kicked)) == NULL)
		return reply_err("out of memory");
	return r;
}

/* ---- accounts ----------------------------------------------------- */

/* user-add (create = 1) and user-passwd (create = 0). */
static json_t *
cmd_user_set(xf_master_t *m, json_t *req, int create)
{
	xf_account_t	 acct;
	const char	*pw;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 1], sh[128];
	int		 rc;

	if (!req_account(m, req, bare, sizeof(bare), &err))
		return err;
	if ((pw = req_password(req, &err)) == NULL)
		return err;
	if (xf_password_ok(pw) != XF_OK)
		return reply_err("password refused: SASLprep (RFC 4013) "
		    "prohibits a character in it, or leaves nothing");
	if (m->m_store == NULL)
		return reply_err("no account store");

	memset(&acct, 0, sizeof(acct));
	if (!create) {
		/* Keep the creation time of the account. */
		rc = xf_store_user_get(m->m_store, bare, &acct);
		if (rc == XF_DECLINED)
			return reply_err("no such user %s",
			    shorten(bare, sh, sizeof(sh)));
		if (rc != XF_OK)
			return reply_err("store: %s",
			    xf_store_error(m->m_store));
	} else if (strlen(bare) > XF_ACCOUNT_JID_MAX) {
		/* The session table could not hold it with a resource. */
		return reply_err("%s is longer than %d bytes, the most an "
		    "account's JID may have", shorten(bare, sh, sizeof(sh)),
		    XF_ACCOUNT_JID_MAX);
	} else
		acct.ac_created = (int64_t)time(NULL);

	/*
	 * PBKDF2 at scram-iterations blocks the master for a few ms per
	 * hash; accounts are rare operator actions, and the master carries
	 * no client traffic, so that is cheaper than a helper process.
	 */
	if (xf_cred_make(pw, (unsigned)m->m_conf->cf_scram_iterations,
	    &acct.ac_cred) != XF_OK) {
		explicit_bzero(&acct, sizeof(acct));
		return reply_err("cannot derive SCRAM credentials");
	}
	rc = xf_store_user_put(m->m_store, bare, &acct, create);
	explicit_bzero(&acct, sizeof(acct));
	if (rc == XF_DECLINED)
		return create ?
		    reply_err("user %s exists", shorten(bare, sh, sizeof(sh))) :
		    reply_err("no such user %s", shorten(bare, sh, sizeof(sh)));
	if (rc != XF_OK)
		return reply_err("store: %s", xf_store_error(m->m_store));
	log_info("control: %s %s", create ? "added user" : "new password for",
	    bare);
	if ((r = json_pack("{s:b,s:o}", "ok", 1, "jid", jstr(bare))) == NULL)
		return reply_err("out of memory");
	return r;
}

static json_t *
cmd_user_del(xf_master_t *m, json_t *req, int arg)
{
	xf_jid_t	 jid;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 1], sh[128];
	size_t		 kicked = 0;
	int		 rc;

	if (!req_account(m, req, bare, sizeof(bare), &err))
		return err;
	if (m->m_store == NULL)
		return reply_err("no account store");
	rc = xf_store_user_del(m->m_store, bare);
	if (rc == XF_DECLINED)
		return reply_err("no such user %s",
		    shorten(bare, sh, sizeof(sh)));
	if (rc != XF_OK)
		return reply_err("store: %s", xf_store_error(m->m_store));
	log_info("control: deleted user %s", bare);
	forget_blocklist(m, bare);
	if (m->m_rings != NULL)
		xf_blocking_notify_nodes(m->m_store, m->m_rings, bare);

	/*
	 * The account is gone whatever happens next; a session we fail to
	 * kick is logged, not reported as a failed delete.
	 */
	if (xf_jid_parse(bare, strlen(bare), &jid) == XF_OK) {
		rc = kick_target(m, &jid, &kicked, &err);
		if (err != NULL) {
			json_t	*e = json_object_get(err, "error");

			log_warnx("control: sessions of deleted user %s: %s",
			    bare, json_is_string(e) ? json_string_value(e) :
			    "kick failed");
			json_decref(err);
		}
	}
	if ((r = json_pack("{s:b,s:o,s:I}", "ok", 1, "jid", jstr(bare),
	    "kicked", (json_int_t)kicked)) == NULL)
		return reply_err("out of memory");
	return r;
}

static int
user_row(void *ud, const char *bare)
{
	json_t	*s;

	if ((s = json_string(bare)) == NULL)
		return 0;	/* not UTF-8: cannot be one of ours, skip */
	return json_array_append_new(ud, s) == -1 ? 1 : 0;
}

static json_t *
cmd_user_list(xf_master_t *m, json_t *req, int arg)
{
	const char	*dom;
	json_t		*err, *arr, *r;
	char		 d[1024], sh[128];

	if ((dom = req_str(req, "domain", 0, &err)) == NULL && err != NULL)
		return err;
	if (dom != NULL) {
		if (strlen(dom) >= sizeof(d)) {
			return reply_err("invalid domain '%s'",
			    shorten(dom, sh, sizeof(sh)));
		}
		memcpy(d, dom, strlen(dom) + 1);
		if (xf_jid_domainpart(d, sizeof(d)) != XF_OK)
			return reply_err("invalid domain '%s'",
			    shorten(dom, sh, sizeof(sh)));
		dom = d;
	}
	if (m->m_store == NULL)
		return reply_err("no account store");
	if ((arr = json_array()) == NULL)
		return reply_err("out of memory");
	if (xf_store_user_list(m->m_store, dom, user_row, arr) == XF_ERR) {
		json_decref(arr);
		return reply_err("store: %s", xf_store_error(m->m_store));
	}
	if ((r = reply_ok()) == NULL ||
	    json_object_set_new(r, "users", arr) == -1) {
		json_decref(r);
		return reply_err("out of memory");
	}
	return r;
}

/* ---- IM data: rosters and offline messages ------------------------- */

typedef struct im_rows_s {
	json_t	*arr;
	size_t	 olen;
} im_rows_t;

static const char *
sub_name(int state)
{
	static const char *const names[] = { "none", "to", "from", "both" };

	return names[state & 3];
}

/* A stored item: one state byte (subscription bits, 0x4 asked, 0x8
 * pending in, 0x10 hidden request), then the <item/> element. */
static int
roster_row(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	im_rows_t	*rows = ud;
	int		 st;
	xf_el_t		*el, *g;
	json_t		*o, *groups;
	const char	*name;

	if (vlen < 2 || klen <= rows->olen + 1)
		return 0;
	st = *(const unsigned char *)v;
	if ((el = xf_xml_parse((const char *)v + 1, vlen - 1,
	    "jabber:iq:roster")) == NULL)
		return 0;
	if ((groups = json_array()) == NULL) {
		xf_el_free(el);
		return 1;
	}
	for (g = xf_el_first(el); g != NULL; g = xf_el_next(g)) {
		char	*t = xf_el_text(g);

		if (t != NULL)
			json_array_append_new(groups, jstr(t));
		free(t);
	}
	name = xf_el_attr(el, "name");
	o = json_pack("{s:s%,s:s,s:b,s:b,s:o,s:o}",
	    "jid", (const char *)k + rows->olen + 1, klen - rows->olen - 1,
	    "subscription", sub_name(st), "ask", (st & 0x4) != 0,
	    "pending_in", (st & 0x8) != 0,
	    "name", name ? jstr(name) : json_null(), "groups", groups);
	xf_el_free(el);
	return o == NULL || json_array_append_new(rows->arr, o) == -1;
}

static int
offline_row(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	im_rows_t	*rows = ud;
	xf_el_t		*el, *b, *d;
	char		*body = NULL;
	const char	*from, *stamp = NULL;
	json_t		*o;

	if ((el = xf_xml_parse(v, vlen, XF_NS_CLIENT)) == NULL)
		return 0;
	if ((b = xf_el_child(el, XF_NS_CLIENT, "body")) != NULL)
		body = xf_el_text(b);
	if ((d = xf_el_child(el, "urn:xmpp:delay", "delay")) != NULL)
		stamp = xf_el_attr(d, "stamp");
	from = xf_el_attr(el, "from");
	o = json_pack("{s:o,s:o,s:o,s:s%}",
	    "from", from ? jstr(from) : json_null(),
	    "stamp", stamp ? jstr(stamp) : json_null(),
	    "body", body ? jstr(body) : json_null(),
	    "xml", (const char *)v, vlen);
	free(body);
	xf_el_free(el);
	return o == NULL || json_array_append_new(rows->arr, o) == -1;
}

/* roster / offline: one user's rows of one table, decoded. */
static json_t *
cmd_im(xf_master_t *m, json_t *req, int table)
{
	im_rows_t	 rows;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 2];
	xf_account_t	 ac;

	if (!req_account(m, req, bare, sizeof(bare) - 1, &err))
		return err;
	if (m->m_store == NULL)
		return reply_err("no account store");
	if (xf_store_user_get(m->m_store, bare, &ac) == XF_DECLINED)
		return reply_err("no such user %s", bare);
	if ((rows.arr = json_array()) == NULL)
		return reply_err("out of memory");
	rows.olen = strlen(bare);
	if (xf_store_scan(m->m_store, table, bare, rows.olen + 1,
	    table == XF_T_ROSTER ? roster_row : offline_row, &rows)
	    == XF_ERR) {
		json_decref(rows.arr);
		return reply_err("store: %s", xf_store_error(m->m_store));
	}
	if ((r = json_pack("{s:b,s:o,s:o}", "ok", 1, "jid", jstr(bare),
	    table == XF_T_ROSTER ? "roster" : "messages", rows.arr)) == NULL)
		return reply_err("out of memory");
	return r;
}

/* ---- master --------------------------------------------------------- */

static json_t *
cmd_reload(xf_master_t *m, json_t *req, int arg)
{
	m->m_want_reload = 1;
	return reply_ok();
}

static json_t *
cmd_stop(xf_master_t *m, json_t *req, int arg)
{
	m->m_want_stop = 1;
	return reply_ok();
}

/* What control.c dispatches on, through xf_ctlcmd_find(). */
static const xf_ctlcmd_t cmds[] = {
	{ "status",		cmd_status,	0, 1 },
	{ "sessions",		cmd_sessions,	0, 1 },
	{ "user-add",		cmd_user_set,	1, 0 },
	{ "user-passwd",	cmd_user_set,	0, 0 },
	{ "user-del",		cmd_user_del,	0, 0 },
	{ "user-list",		cmd_user_list,	0, 1 },
	{ "kick",		cmd_kick,	0, 0 },
	{ "roster",		cmd_im,		XF_T_ROSTER, 1 },
	{ "offline",		cmd_im,		XF_T_OFFLINE, 1 },
	{ "reload",		cmd_reload,	0, 0 },
	{ "stop",		cmd_stop,	0, 0 },
};

const xf_ctlcmd_t *
xf_ctlcmd_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < XF_NELEM(cmds); i++)
		if (strcmp(name, cmds[i].cm_name) == 0)
			return &cmds[i];
	return NULL;
}
