/* register.c: XEP-0077 in-band registration before authentication; password change and account removal after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"
#include "im.h"

#define NS_REGISTER	"jabber:iq:register"
#define NS_FEAT_REGISTER "http://jabber.org/features/iq-register"

/*
 * One account per connection (XEP-0077 3.1.1 allows refusing a second
 * one), and a few tries to find a free name before the stream is closed,
 * so one connection cannot probe the user list or burn PBKDF2 time.
 */
#define REG_MAX_TRIES	5
/* sasl.c reads PLAIN passwords into 1024 bytes: keep them loginable. */
#define PASSWORD_MAX	1023

#define CID(c)	((unsigned long long)(c)->s_id)

/* Per connection, in c->s_mod[]: registration attempts before auth. */
typedef struct reg_s {
	int	 r_tries;
	int	 r_done;
} reg_t;


/* Before authentication the client has no address: straight back on
 * its connection. */
static void
send_raw(xf_stream_t *c, xf_el_t *r)
{
	xf_buf_t	 b = { 0 };

	if (r == NULL)
		return;
	if (xf_el_write(r, XF_NS_CLIENT, &b) == XF_OK)
		xf_stream_send_raw(c, xf_buf_data(&b), xf_buf_size(&b));
	xf_buf_free(&b);
	xf_el_free(r);
}

/* Text of q's child name (NULL if absent); caller frees. */
static char *
field(const xf_el_t *q, const char *name)
{
	xf_el_t	*f = xf_el_child(q, NS_REGISTER, name);

	return f != NULL ? xf_el_text(f) : NULL;
}

static void
wipe(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Passwords cross only encrypted streams, whatever 'tls-required'
 * says (xfed.conf(5)). */
static void
features_preauth(xf_stream_t *c, xf_buf_t *b)
{
	if (c->s_w->w_conf->cf_c2s_registration && c->s_secure)
		xf_buf_puts(b, "<register xmlns='" NS_FEAT_REGISTER "'/>");
}

/* XEP-0077 3.1: the fields a new account needs. */
static xf_el_t *
form(const xf_el_t *iq)
{
	static const char instr[] =
	    "Choose a username and password for use with this service.";
	xf_el_t		*r = xf_iq_result(iq), *q;

	if (r == NULL || (q = xf_el_add(r, NS_REGISTER, "query")) == NULL) {
		xf_el_free(r);
		return NULL;
	}
	xf_el_add_text(xf_el_add(q, NS_REGISTER, "instructions"), instr,
	    sizeof(instr) - 1);
	xf_el_add(q, NS_REGISTER, "username");
	xf_el_add(q, NS_REGISTER, "password");
	return r;
}

/* Stores new credentials for bare: XF_OK, XF_DECLINED (create and it
 * exists, or !create and it does not), XF_ERR. */
static int
put_password(xf_worker_t *w, const char *bare, const char *pw, int create)
{
	xf_account_t	 ac;
	int		 rc;

	memset(&ac, 0, sizeof(ac));
	if (!create && (rc = xf_store_user_get(w->w_store, bare, &ac))
	    != XF_OK)
		return rc;
	if (create)
		ac.ac_created = time(NULL);
	/* PBKDF2 runs on the loop, as for a PLAIN login: a few ms at the
	 * configured iteration count, once per registration. */
	if (xf_cred_make(pw, (unsigned)w->w_conf->cf_scram_iterations,
	    &ac.ac_cred) != XF_OK)
		return XF_ERR;
	rc = xf_store_user_put(w->w_store, bare, &ac, create);
	explicit_bzero(&ac, sizeof(ac));
	return rc;
}

/* A registration on a stream that has not authenticated (XEP-0077 3.1). */
static void
signup(xf_stream_t *c, xf_el_t *iq, xf_el_t *q)
{
	xf_worker_t	*w = c->s_w;
	reg_t		*rg = c->s_mod[xf_mod_register.m_index];
	char		*user = NULL, *pw = NULL, norm[1024];
	char		 bare[XF_JID_MAX + 1];
	const char	*etype = "modify", *cond = "not-acceptable";
	int		 n, rc;

	if (rg == NULL) {
		if ((rg = calloc(1, sizeof(*rg))) == NULL) {
			etype = "wait";
			cond = "resource-constraint";
			goto fail;
		}
		c->s_mod[xf_mod_register.m_index] = rg;
	}
	if (xf_el_child(q, NS_REGISTER, "remove") != NULL) {
		/* XEP-0077 3.2: nobody to remove before authentication. */
		etype = "cancel";
		cond = "unexpected-request";
		goto fail;
	}
	if (rg->r_done)
		goto fail;
	if (++rg->r_tries > REG_MAX_TRIES) {
		xf_stream_error(c, "policy-violation",
		    "Too many registration attempts");
		return;
	}
	user = field(q, "username");
	pw = field(q, "password");
	/* XEP-0077 3.1: every field filled in, an empty password too. */
	if (user == NULL || pw == NULL || user[0] == '\0' || pw[0] == '\0' ||
	    strlen(pw) > PASSWORD_MAX)
		goto fail;
	if (xf_password_ok(pw) != XF_OK) {
		cond = "not-acceptable";	/* SASLprep refuses it */
		goto fail;
	}
	n = snprintf(norm, sizeof(norm), "%s", user);
	if (n <= 0 || (size_t)n >= sizeof(norm) ||
	    xf_jid_localpart(norm, sizeof(norm)) != XF_OK) {
		cond = "jid-malformed";
		goto fail;
	}
	n = snprintf(bare, sizeof(bare), "%s@%s", norm, c->s_host);
	if (n < 0 || (size_t)n >= sizeof(bare)) {
		cond = "jid-malformed";
		goto fail;
	}
	/* Longer, the account could log in but never bind a resource
	 * (see XF_ACCOUNT_JID_MAX): a policy of this server, hence
	 * not-acceptable (RFC 6120 8.3.3.12), not jid-malformed. */
	if (n > XF_ACCOUNT_JID_MAX)
		goto fail;
	rc = put_password(w, bare, pw, 1);
	/* The store may have suspended us: c is ours still, but look its
	 * state up again rather than trust the pointer from before. */
	rg = c->s_mod[xf_mod_register.m_index];
	if (rc == XF_DECLINED) {
		etype = "cancel";
		cond = "conflict";
		goto fail;
	}
	if (rc != XF_OK) {
		log_warnx("c%llu: register %s: %s", CID(c), bare,
		    xf_store_error(w->w_store));
		/* RFC 6120 8.3.3.6, type wait: try again later; never
		 * conflict, the name may well be free. */
		etype = "wait";
		cond = "internal-server-error";
		goto fail;
	}
	if (rg != NULL)
		rg->r_done = 1;
	log_info("c%llu: registered %s from %s", CID(c), bare, c->s_ip);
	free(user);
	wipe(pw);
	send_raw(c, xf_iq_result(iq));
	return;
fail:
	free(user);
	wipe(pw);
	send_raw(c, xf_iq_error(iq, etype, cond));
}

static int
reg_preauth(xf_stream_t *c, xf_el_t *el)
{
	const char	*type = xf_el_attr(el, "type");
	const char	*to = xf_el_attr(el, "to");
	xf_el_t		*q;

	if (el->e_ns == NULL || strcmp(el->e_ns, XF_NS_CLIENT) != 0 ||
	    strcmp(el->e_name, "iq") != 0 ||
	    (q = xf_el_child(el, NS_REGISTER, "query")) == NULL)
		return XF_DECLINED;
	if (xf_streq(type, "result") || xf_streq(type, "error"))
		return XF_OK;
	if (xf_el_attr(el, "id") == NULL || (!xf_streq(type, "get") &&
	    !xf_streq(type, "set"))) {
		send_raw(c, xf_iq_error(el, "modify", "bad-request"));
		return XF_OK;
	}
	/* The stream's host, or no address at all. */
	if (!c->s_w->w_conf->cf_c2s_registration ||
	    (to != NULL && strcmp(to, c->s_host) != 0)) {
		send_raw(c, xf_iq_error(el, "cancel",
		    "service-unavailable"));
		return XF_OK;
	}
	if (!c->s_secure)
		send_raw(c, xf_iq_error(el, "modify", "not-authorized"));
	else if (xf_streq(type, "get"))
		send_raw(c, form(el));
	else
		signup(c, el, q);
	return XF_OK;
}

/* ---- after authentication: the account's own registration ------------ */

typedef struct contact_s {
	char	*ct_jid;
	int	 ct_sub;
} contact_t;

typedef struct contacts_s {
	contact_t	*cs_v;
	size_t		 cs_n, cs_cap;
} contacts_t;

static int
collect_contact(void *ud, const char *jid, int sub)
{
	contacts_t	*cs = ud;
	contact_t	*v;

	if (cs->cs_n == cs->cs_cap) {
		size_t	 cap = cs->cs_cap ? 2 * cs->cs_cap : 16;

		if ((v = reallocarray(cs->cs_v, cap, sizeof(*v))) == NULL)
			return 1;
		cs->cs_v = v;
		cs->cs_cap = cap;
	}
	if ((cs->cs_v[cs->cs_n].ct_jid = strdup(jid)) == NULL)
		return 1;
	cs->cs_v[cs->cs_n++].ct_sub = sub;
	return 0;
}

/* The presence the account's own client would send to contact jid. */
static void
sub_presence(xf_worker_t *w, xf_stream_t *c, const char *jid, const char *type)
{
	xf_el_t	*p = xf_el_new(XF_NS_CLIENT, "presence");

	if (p == NULL)
		return;
	xf_el_set_attr(p, "from", c->s_full);
	xf_el_set_attr(p, "to", jid);
	xf_el_set_attr(p, "type", type);
	if (xf_mod_outbound(w, c, p) != XF_OK)
		xf_route(w, c, p);
	xf_el_free(p);
}

/*
 * XEP-0077 3.2: cancel every subscription as if the client had sent
 * unsubscribe / unsubscribed itself, so the roster module tells each
 * contact (and sends the unavailable presence RFC 6121 3.2 asks for)
 * while the roster still exists.  Not XF_OK, with nothing sent, when
 * the roster cannot be read whole: the account must not go before its
 * contacts are told.
 */
static int
cancel_subscriptions(xf_worker_t *w, xf_stream_t *c, const char *owner)
{
	contacts_t	 cs = { NULL, 0, 0 };
	int		 rc;

	rc = xf_roster_each(w, owner, collect_contact, &cs);
	for (size_t i = 0; i < cs.cs_n; i++) {
		contact_t	*ct = &cs.cs_v[i];

		if (rc != XF_OK) {
			free(ct->ct_jid);
			continue;
		}
		if (c != NULL && (ct->ct_sub & (XF_SUB_TO |
		    XF_SUB_PENDING_OUT)))
			sub_presence(w, c, ct->ct_jid, "unsubscribe");
		if (c != NULL && (ct->ct_sub & (XF_SUB_FROM |
		    XF_SUB_PENDING_IN)))
			sub_presence(w, c, ct->ct_jid, "unsubscribed");
		free(ct->ct_jid);
	}
	free(cs.cs_v);
	return rc;
}

typedef struct sess_s {
	char		 s_full[XF_JID_MAX + 1];
	xf_sess_rec_t	 s_rec;
} sess_t;

typedef struct sesses_s {
	sess_t		*ss_v;
	size_t		 ss_n, ss_cap;
} sesses_t;

static int
collect_sess(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	sesses_t	*ss = ud;
	sess_t		*v;

	if (ss->ss_n == ss->ss_cap) {
		size_t	 cap = ss->ss_cap ? 2 * ss->ss_cap : 4;

		if ((v = reallocarray(ss->ss_v, cap, sizeof(*v))) == NULL)
			return 1;
		ss->ss_v = v;
		ss->ss_cap = cap;
	}
	snprintf(ss->ss_v[ss->ss_n].s_full, sizeof(ss->ss_v[0].s_full), "%s",
	    full);
	ss->ss_v[ss->ss_n++].s_rec = *rec;
	return 0;
}

/* Ends every other session of the removed account, here or on another
 * worker (the records are copied first: closing one deletes it). */
static void
kick_sessions(xf_worker_t *w, xf_stream_t *c, const char *owner)
{
	static const char payload[] = "not-authorized\0Account removed";
	sesses_t	 ss = { NULL, 0, 0 };
	xf_stream_t	*oc;

	xf_sess_resources(w->w_sess, owner, collect_sess, &ss);
	for (size_t i = 0; i < ss.ss_n; i++) {
		sess_t	*s = &ss.ss_v[i];

		if (c != NULL && strcmp(s->s_full, c->s_full) == 0)
			continue;
		if (s->s_rec.sr_node != 0)
			continue;	/* other nodes: the cluster issue */
		if (s->s_rec.sr_worker != w->w_slot) {
			if (xf_ipc_push(w, NULL, s->s_rec.sr_worker,
			    XF_MSG_KICK, s->s_rec.sr_conn, s->s_full, payload,
			    sizeof(payload) - 1) != XF_OK)
				log_warnx("register: cannot tell worker slot "
				    "%u to close %s", s->s_rec.sr_worker,
				    s->s_full);
			continue;
		}
		oc = xf_stream_find(w, s->s_rec.sr_conn);
		if (oc != NULL && strcmp(oc->s_full, s->s_full) == 0)
			xf_stream_error(oc, "not-authorized",
			    "Account removed");
	}
	free(ss.ss_v);
}

static void
remove_account(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner)
{
	int	 rc = XF_ERR;

	if (cancel_subscriptions(w, c, owner) != XF_OK ||
	    (rc = xf_store_user_del(w->w_store, owner)) == XF_ERR) {
		log_warnx("register: remove %s: %s", owner,
		    xf_store_error(w->w_store));
		xf_iq_reply(w, c, xf_iq_error(iq, "wait",
		    "internal-server-error"));
		return;
	}
	if (rc == XF_DECLINED) {
		xf_iq_reply(w, c, xf_iq_error(iq, "auth",
		    "registration-required"));
		return;
	}
	log_info("register: %s removed its account", owner);
	xf_blocking_changed(w, owner);
	xf_iq_reply(w, c, xf_iq_result(iq));
	kick_sessions(w, c, owner);
	/* XEP-0077 3.2: then a not-authorized stream error. */
	if (c != NULL && strcmp(c->s_bare, owner) == 0)
		xf_stream_error(c, "not-authorized", "Account removed");
}

/* XEP-0077 3.3: a new password for the account that asks. */
static void
change_password(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner)
{
	char		*user = field(q, "username");
	char		*pw = field(q, "password");
	char		 norm[1024];
	const char	*etype = "modify", *cond = "bad-request";
	size_t		 ul = strcspn(owner, "@");
	int		 n, rc;

	if (user == NULL)
		goto fail;
	n = snprintf(norm, sizeof(norm), "%s", user);
	if (n <= 0 || (size_t)n >= sizeof(norm) ||
	    xf_jid_localpart(norm, sizeof(norm)) != XF_OK || strlen(norm) != ul ||
	    strncmp(norm, owner, ul) != 0)
		goto fail;
	/* An empty password never replaces the old one (3.3). */
	if (pw == NULL || pw[0] == '\0' || strlen(pw) > PASSWORD_MAX ||
	    xf_password_ok(pw) != XF_OK) {
		cond = "not-acceptable";
		goto fail;
	}
	if (c != NULL && !c->s_secure) {
		cond = "not-authorized";
		goto fail;
	}
	if ((rc = put_password(w, owner, pw, 0)) != XF_OK) {
		if (rc == XF_ERR)
			log_warnx("register: password of %s: %s", owner,
			    xf_store_error(w->w_store));
		etype = rc == XF_DECLINED ? "auth" : "wait";
		cond = rc == XF_DECLINED ? "registration-required" :
		    "internal-server-error";
		goto fail;
	}
	log_info("register: %s changed its password", owner);
	free(user);
	wipe(pw);
	xf_iq_reply(w, c, xf_iq_result(iq));
	return;
fail:
	free(user);
	wipe(pw);
	xf_iq_reply(w, c, xf_iq_error(iq, etype, cond));
}

/* XEP-0077 3.1: an account asking about itself is registered. */
static void
registered(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner)
{
	xf_el_t	*r = xf_iq_result(iq), *q;

	if (r == NULL || (q = xf_el_add(r, NS_REGISTER, "query")) == NULL) {
		xf_el_free(r);
		return;
	}
	xf_el_add(q, NS_REGISTER, "registered");
	xf_el_add_text(xf_el_add(q, NS_REGISTER, "username"), owner,
	    strcspn(owner, "@"));
	xf_el_add(q, NS_REGISTER, "password");
	xf_iq_reply(w, c, r);
}

/*
 * Sent to the server (to='domain') or to the account itself (no 'to').
 * Both work whatever 'registration' says: they are for users who have
 * an account already (Prosody's mod_register behaves the same).
 */
static int
reg_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	const char	*to = xf_el_attr(iq, "to"), *domain;
	char		 sender[XF_JID_MAX + 1];
	xf_el_t		*e;

	if (p->e_ns == NULL || strcmp(p->e_ns, NS_REGISTER) != 0 ||
	    strcmp(p->e_name, "query") != 0)
		return XF_DECLINED;
	/* A user's JID: only a localpart puts an '@' in a bare JID. */
	if (xf_jid_bare_of(xf_el_attr(iq, "from"), sender, sizeof(sender)) !=
	    XF_OK || (domain = strchr(sender, '@')) == NULL) {
		xf_iq_reply(w, c, xf_iq_error(iq, "cancel",
		    "service-unavailable"));
		return XF_OK;
	}
	domain++;
	if (target == XF_IQ_SERVER) {
		/* Only this server's own users have a registration here. */
		if (to == NULL || strcmp(domain, to) != 0 ||
		    c == NULL || strcmp(c->s_bare, sender) != 0) {
			xf_iq_reply(w, c, xf_iq_error(iq, "cancel",
			    "service-unavailable"));
			return XF_OK;
		}
	} else if (strcmp(sender, owner) != 0) {
		xf_iq_reply(w, c, xf_iq_error(iq, "auth", "forbidden"));
		return XF_OK;
	}
	if (xf_streq(xf_el_attr(iq, "type"), "get")) {
		registered(w, c, iq, sender);
		return XF_OK;
	}
	if ((e = xf_el_child(p, NS_REGISTER, "remove")) != NULL) {
		/* 3.2: <remove/> alone. */
		if (xf_el_first(p) != e || xf_el_next(e) != NULL)
			xf_iq_reply(w, c, xf_iq_error(iq, "modify",
			    "bad-request"));
		else
			remove_account(w, c, iq, sender);
		return XF_OK;
	}
	change_password(w, c, iq, p, sender);
	return XF_OK;
}

static void
reg_conn_free(xf_stream_t *c)
{
	free(c->s_mod[xf_mod_register.m_index]);
	c->s_mod[xf_mod_register.m_index] = NULL;
}

xf_mod_t xf_mod_register = {
	.m_name = "register",
	.m_kind = &xf_kind_c2s,
	.m_features_preauth = features_preauth,
	.m_preauth = reg_preauth,
	.m_iq = reg_iq,
	.m_stream_free = reg_conn_free,
};
