/* c2s.c: the client-to-server stream (RFC 6120): header, features, STARTTLS, SASL hand-off, bind, stream errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/rand.h>

#include "xf.h"
#include "log.h"
#include "msg.h"
#include "worker.h"
#include "mod.h"

/* Scratch for serialising; a worker is single-threaded. */
static xf_buf_t	 out;

static int	 c2s_open(xf_stream_t *, const xf_el_t *);
static int	 c2s_element(xf_stream_t *, xf_el_t *);
static void	 c2s_secured(xf_stream_t *);
static void	 c2s_unbind(xf_stream_t *);

const xf_stream_kind_t xf_kind_c2s = {
	.k_name = "c2s",
	.k_ns = XF_NS_CLIENT,
	.k_open = c2s_open,
	.k_element = c2s_element,
	.k_secured = c2s_secured,
	.k_unbind = c2s_unbind,
};

#define CID(c)	((unsigned long long)(c)->s_id)

static void
send_str(xf_stream_t *c, const char *s)
{
	xf_stream_send_raw(c, s, strlen(s));
}

static void
send_features(xf_stream_t *c)
{
	const xf_conf_t	*cf = c->s_w->w_conf;

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<stream:features>");
	if (c->s_user[0]) {
		if (!c->s_full[0])
			xf_buf_puts(&out, "<bind xmlns='" XF_NS_BIND "'/>"
			    "<session xmlns='" XF_NS_SESSION "'><optional/>"
			    "</session>");
		xf_mod_features(c, &out);
	} else {
		if (!c->s_secure && c->s_frame->f_starttls) {
			xf_buf_puts(&out, "<starttls xmlns='" XF_NS_TLS "'>");
			if (cf->cf_c2s_tls_required)
				xf_buf_puts(&out, "<required/>");
			xf_buf_puts(&out, "</starttls>");
		}
		/* With TLS mandatory, STARTTLS is the only feature before it. */
		if (c->s_secure || !cf->cf_c2s_tls_required) {
			xf_sasl_features(c, &out);
			xf_mod_features_preauth(c, &out);
		}
	}
	xf_buf_puts(&out, "</stream:features>");
	xf_stream_send_raw(c, xf_buf_data(&out), xf_buf_size(&out));
}

/* The configured name of a served host (so c_host can borrow it). */
static const char *
vhost(const xf_conf_t *cf, const char *host)
{
	for (size_t i = 0; i < cf->cf_nvhosts; i++)
		if (strcasecmp(cf->cf_vhosts[i], host) == 0)
			return cf->cf_vhosts[i];
	return "";
}

static int
c2s_open(xf_stream_t *c, const xf_el_t *hdr)
{
	const char	*ns = xf_el_attr(hdr, "xmlns");
	const char	*to = xf_el_attr(hdr, "to");
	const char	*ver = xf_el_attr(hdr, "version");
	xf_jid_t	 j;

	if (to && xf_jid_parse(to, strlen(to), &j) == XF_OK && !j.j_local &&
	    !j.j_resource && xf_conf_is_vhost(c->s_w->w_conf, j.j_domain)) {
		/* After a restart the host must stay the same. */
		if (c->s_host[0] && strcmp(c->s_host, j.j_domain) != 0) {
			xf_stream_error(c, "host-unknown", NULL);
			return XF_ERR;
		}
		c->s_host = vhost(c->s_w->w_conf, j.j_domain);
		xf_stream_open(c, NULL);
	} else {
		xf_stream_open(c, NULL);
		xf_stream_error(c, "host-unknown", NULL);
		return XF_ERR;
	}
	/* RFC 7395's <open/> stands for a jabber:client stream. */
	if (!xf_el_in(hdr, XF_NS_FRAMING) && !xf_streq(ns, XF_NS_CLIENT)) {
		xf_stream_error(c, "invalid-namespace", NULL);
		return XF_ERR;
	}
	if (ver == NULL || atoi(ver) < 1) {
		xf_stream_error(c, "unsupported-version", NULL);
		return XF_ERR;
	}
	/* A framing without STARTTLS (ws://) cannot meet 'tls-required'. */
	if (!c->s_secure && !c->s_frame->f_starttls &&
	    c->s_w->w_conf->cf_c2s_tls_required) {
		xf_stream_error(c, "policy-violation", "TLS is required: "
		    "connect with TLS");
		return XF_ERR;
	}
	c->s_state = c->s_full[0] ? C2S_BOUND :
	    c->s_user[0] ? C2S_AUTHED : C2S_FEATURES;
	send_features(c);
	return XF_OK;
}

/* TLS is up under the stream: after STARTTLS the client starts over. */
static void
c2s_secured(xf_stream_t *c)
{
	if (c->s_state != C2S_TLS_START)
		return;
	c->s_state = C2S_HEADER;
	xf_stream_restart(c);
}

static int
starttls(xf_stream_t *c)
{
	if (c->s_secure || !c->s_frame->f_starttls) {
		/* RFC 6120 5.4.2.2: failure, then close. */
		send_str(c, "<failure xmlns='" XF_NS_TLS "'/>");
		xf_stream_close(c);
		return XF_ERR;
	}
	send_str(c, "<proceed xmlns='" XF_NS_TLS "'/>");
	c->s_state = C2S_TLS_START;
	xf_stream_starttls(c);
	return XF_AGAIN;
}

static void
iq_reply(xf_stream_t *c, const xf_el_t *iq, const char *payload)
{
	const char	*id = xf_el_attr(iq, "id");

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<iq type='result' id='");
	xf_xml_escape_attr(&out, id ? id : "", id ? strlen(id) : 0);
	xf_buf_puts(&out, "'");
	if (c->s_full[0]) {
		xf_buf_puts(&out, " to='");
		xf_xml_escape_attr(&out, c->s_full, strlen(c->s_full));
		xf_buf_puts(&out, "'");
	}
	if (payload) {
		xf_buf_puts(&out, ">");
		xf_buf_puts(&out, payload);
		xf_buf_puts(&out, "</iq>");
	} else
		xf_buf_puts(&out, "/>");
	if (c->s_state == C2S_BOUND)
		xf_stream_write(c, 0, xf_buf_data(&out), xf_buf_size(&out));
	else
		xf_stream_send_raw(c, xf_buf_data(&out), xf_buf_size(&out));
}

static void
iq_error(xf_stream_t *c, const xf_el_t *iq, const char *type, const char *cond)
{
	const char	*id = xf_el_attr(iq, "id");

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<iq type='error' id='");
	xf_xml_escape_attr(&out, id ? id : "", id ? strlen(id) : 0);
	xf_buf_printf(&out, "'><error type='%s'><%s xmlns='" XF_NS_STANZAS
	    "'/></error></iq>", type, cond);
	xf_stream_send_raw(c, xf_buf_data(&out), xf_buf_size(&out));
}

/*
 * Ends the stream that held c's full JID before c took it over (a newer
 * bind, a resumed SM session), wherever it lives, with a conflict stream
 * error.  The old stream does not unbind: the record is c's now.
 */
void
xf_c2s_replace(xf_stream_t *c, uint32_t slot, uint64_t conn, const char *text)
{
	xf_worker_t	*w = c->s_w;
	xf_stream_t	*oc;
	char		 payload[128];
	int		 n;

	if (slot == w->w_slot) {
		oc = xf_stream_find(w, conn);
		if (oc != NULL && oc != c && strcmp(oc->s_full, c->s_full) == 0) {
			oc->s_full[0] = '\0';
			w->w_stats->ws_sessions--;
			xf_stream_error(oc, "conflict", text);
		}
		return;
	}
	n = snprintf(payload, sizeof(payload), "conflict%c%s", '\0', text);
	if (n < 0 || (size_t)n >= sizeof(payload) ||
	    xf_ipc_push(w, NULL, slot, XF_MSG_KICK, conn, c->s_full, payload,
	    (size_t)n) == XF_ERR)
		log_warnx("c%llu: cannot close the old stream on worker slot %u",
		    CID(c), slot);
}

/* c holds the session full from now on: what a bind or a resume does. */
void
xf_c2s_attach(xf_stream_t *c, const char *full, int32_t prio, int avail)
{
	xf_worker_t	*w = c->s_w;

	size_t		 n;

	if (full != c->s_full)
		snprintf(c->s_full, sizeof(c->s_full), "%s", full);
	/* The bare JID is the full one up to the resource. */
	n = strcspn(c->s_full, "/");
	memcpy(c->s_bare, c->s_full, n);
	c->s_bare[n] = '\0';
	c->s_state = C2S_BOUND;
	c->s_prio = prio;
	c->s_avail = avail;
	w->w_stats->ws_sessions++;
	xf_loop_timer_del(w->w_loop, c->s_timer);
	c->s_timer = 0;
}

static void
bind_resource(xf_stream_t *c, xf_el_t *iq)
{
	xf_worker_t	*w = c->s_w;
	xf_el_t		*b = xf_el_child(iq, XF_NS_BIND, "bind"), *r;
	char		*res = NULL, gen[24], payload[XF_JID_MAX + 128];
	char		 rbuf[1024];
	const char	*resource = gen;
	xf_sess_rec_t	 rec, old;
	int		 had_old = 0, n;
	unsigned char	 rnd[6];
	const char	*type = xf_el_attr(iq, "type");

	if (b == NULL || type == NULL || strcmp(type, "set") != 0) {
		iq_error(c, iq, "modify", "bad-request");
		return;
	}
	if ((r = xf_el_child(b, XF_NS_BIND, "resource")) != NULL)
		res = xf_el_text(r);
	if (res == NULL || res[0] == '\0') {
		free(res);
		res = NULL;
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			memset(rnd, 0, sizeof(rnd));
		snprintf(gen, sizeof(gen), "xfed-%02x%02x%02x%02x%02x%02x",
		    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	}
	/* Normalised as a stanza's 'to' will be; Resourceprep may make it
	 * longer, so it moves to a buffer with room for the longest. */
	if (res != NULL) {
		n = snprintf(rbuf, sizeof(rbuf), "%s", res);
		free(res);
		if (n < 0 || (size_t)n >= sizeof(rbuf) ||
		    xf_jid_resourcepart(rbuf, sizeof(rbuf)) != XF_OK) {
			iq_error(c, iq, "modify", "bad-request");
			return;
		}
		resource = rbuf;
	}
	n = snprintf(c->s_full, sizeof(c->s_full), "%s@%s/%s", c->s_user,
	    c->s_host, resource);
	/* The session table's keys are LMDB keys: 511 bytes at most. */
	if (n < 0 || (size_t)n >= sizeof(c->s_full)) {
		c->s_full[0] = '\0';
		iq_error(c, iq, "modify", "bad-request");
		return;
	}

	memset(&rec, 0, sizeof(rec));
	rec.sr_node = 0;
	rec.sr_worker = w->w_slot;
	rec.sr_conn = c->s_id;
	rec.sr_since = time(NULL);
	snprintf(rec.sr_ip, sizeof(rec.sr_ip), "%s", c->s_ip);
	if (xf_sess_put(w->w_sess, c->s_full, &rec, &old, &had_old) != XF_OK) {
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
		c->s_full[0] = '\0';
		iq_error(c, iq, "wait", "internal-server-error");
		return;
	}
	xf_c2s_attach(c, c->s_full, 0, 0);
	if (had_old && old.sr_node == 0)
		xf_c2s_replace(c, old.sr_worker, old.sr_conn,
		    "Replaced by new connection");
	log_info("c%llu: %s bound from %s", CID(c), c->s_full, c->s_ip);

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<bind xmlns='" XF_NS_BIND "'><jid>");
	xf_xml_escape(&out, c->s_full, strlen(c->s_full));
	xf_buf_puts(&out, "</jid></bind>");
	snprintf(payload, sizeof(payload), "%s", xf_buf_cstr(&out));
	iq_reply(c, iq, payload);
	xf_mod_bound(c);
}

static void
c2s_unbind(xf_stream_t *c)
{
	xf_worker_t	*w = c->s_w;

	xf_c2s_limit_end(c);
	/* The modules' goodbyes may wait (pgsql store); the stream layer
	 * runs this once at a time, and a bound stream unbinds once. */
	if (c->s_full[0] == '\0')
		return;
	if (xf_mod_unbound(c) == XF_OK) {
		log_info("c%llu: %s detached", CID(c), c->s_full);
	} else {
		if (xf_sess_del(w->w_sess, c->s_full, w->w_slot, c->s_id)
		    == XF_ERR)
			log_warnx("c%llu: session table: %s", CID(c),
			    xf_sess_error(w->w_sess));
		log_info("c%llu: %s unbound", CID(c), c->s_full);
	}
	c->s_full[0] = '\0';
	w->w_stats->ws_sessions--;
}

static int
is_stanza(const xf_el_t *el)
{
	return el->e_ns && strcmp(el->e_ns, XF_NS_CLIENT) == 0 &&
	    (strcmp(el->e_name, "message") == 0 ||
	    strcmp(el->e_name, "presence") == 0 ||
	    strcmp(el->e_name, "iq") == 0);
}

/* Stanzas from a bound client: check, stamp 'from', route. */
static int
client_stanza(xf_stream_t *c, xf_el_t *el)
{
	const char	*from = xf_el_attr(el, "from");
	xf_jid_t	 j;
	char		 buf[XF_JID_MAX + 1];

	if (from != NULL) {
		/* RFC 6120 8.1.2.1: it must be our full or bare JID. */
		if (xf_jid_parse(from, strlen(from), &j) != XF_OK ||
		    xf_jid_full(&j, buf, sizeof(buf)) != XF_OK ||
		    (strcmp(buf, c->s_full) != 0 &&
		    strcmp(buf, c->s_bare) != 0)) {
			xf_stream_error(c, "invalid-from", NULL);
			return XF_ERR;
		}
	}
	xf_el_set_attr(el, "from", c->s_full);
	c->s_w->w_stats->ws_stanzas_in++;
	xf_stream_hold(c);
	if (xf_mod_outbound(c->s_w, c, el) == XF_OK)
		;
	else if (strcmp(el->e_name, "iq") == 0 && xf_el_child(el,
	    XF_NS_SESSION, "session") != NULL && xf_el_attr(el, "to") == NULL)
		/* RFC 3921 session establishment: a no-op kept for old clients. */
		iq_reply(c, el, NULL);
	else
		xf_route(c->s_w, c, el);
	xf_mod_handled(c, el);
	xf_stream_unhold(c);
	return XF_OK;
}

static int
c2s_element(xf_stream_t *c, xf_el_t *el)
{
	const xf_conf_t	*cf = c->s_w->w_conf;
	int		 r = XF_OK;

	if (c->s_state == C2S_CLOSING)
		goto done;
	if (el->e_ns && strcmp(el->e_ns, XF_NS_TLS) == 0 &&
	    strcmp(el->e_name, "starttls") == 0 && !c->s_user[0]) {
		r = starttls(c);
		goto done;
	}
	if (!c->s_secure && cf->cf_c2s_tls_required) {
		if (el->e_ns && strcmp(el->e_ns, XF_NS_SASL) == 0 &&
		    strcmp(el->e_name, "auth") == 0) {
			send_str(c, "<failure xmlns='" XF_NS_SASL "'>"
			    "<encryption-required/></failure>");
			goto done;
		}
		xf_stream_error(c, "policy-violation",
		    "STARTTLS is required");
		r = XF_ERR;
		goto done;
	}
	if (el->e_ns && strcmp(el->e_ns, XF_NS_SASL) == 0 && !c->s_user[0]) {
		r = xf_sasl_handle(c, el);
		goto done;
	}
	if (!c->s_user[0]) {
		if (xf_mod_preauth(c, el) == XF_OK)
			goto done;
		xf_stream_error(c, is_stanza(el) ? "not-authorized" :
		    "unsupported-stanza-type", NULL);
		r = XF_ERR;
		goto done;
	}
	if (!is_stanza(el)) {
		if (xf_mod_element(c, el) == XF_OK)
			goto done;
		xf_stream_error(c, "unsupported-stanza-type", NULL);
		r = XF_ERR;
		goto done;
	}
	if (c->s_state != C2S_BOUND) {
		if (strcmp(el->e_name, "iq") == 0 &&
		    xf_el_child(el, XF_NS_BIND, "bind") != NULL)
			bind_resource(c, el);
		else if (strcmp(el->e_name, "iq") == 0 &&
		    xf_el_child(el, XF_NS_SESSION, "session") != NULL)
			iq_reply(c, el, NULL);
		else {
			xf_stream_error(c, "not-authorized",
			    "Bind a resource first");
			r = XF_ERR;
		}
		goto done;
	}
	r = client_stanza(c, el);
done:
	xf_el_free(el);
	return r;
}
