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

static int	 on_open(void *, const xf_el_t *);
static int	 on_stanza(void *, xf_el_t *);
static int	 on_close(void *);

static const xf_xmls_cb_t c2s_cb = { on_open, on_stanza, on_close };

#define CID(c)	((unsigned long long)(c)->c_id)

void
xf_c2s_write(xf_conn_t *c, int first_mod, const char *data, size_t len)
{
	for (int i = first_mod; xf_mods[i] != NULL; i++)
		if (xf_mods[i]->m_send && xf_mods[i]->m_send(c, data, len)
		    != XF_DECLINED)
			return;
	xf_conn_send(c, data, len);
}

void
xf_c2s_send_el(xf_conn_t *c, const xf_el_t *el)
{
	static xf_buf_t	 scratch;
	static int	 busy;
	xf_buf_t	 own = { 0 }, *b;

	/*
	 * One buffer kept across calls (no allocation per stanza), unless a
	 * send hook sends in turn while it is in use: then a fresh one.
	 */
	b = busy ? &own : &scratch;
	busy++;
	xf_buf_reset(b);
	if (xf_el_write(el, XF_NS_CLIENT, b) == XF_OK)
		xf_c2s_write(c, 0, xf_buf_data(b), xf_buf_size(b));
	busy--;
	xf_buf_free(&own);
}

static void
send_str(xf_conn_t *c, const char *s)
{
	xf_conn_send(c, s, strlen(s));
}

static void
new_stream_id(xf_conn_t *c)
{
	unsigned char	 r[8];

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(c->c_stream_id + 2 * i, 3, "%02x", r[i]);
}

static void
send_header(xf_conn_t *c)
{
	const char	*from = c->c_host[0] ? c->c_host :
			    c->c_w->w_conf->cf_vhosts[0];

	new_stream_id(c);
	xf_buf_reset(&out);
	xf_buf_puts(&out, "<?xml version='1.0'?><stream:stream "
	    "xmlns='" XF_NS_CLIENT "' xmlns:stream='" XF_NS_STREAM "' id='");
	xf_buf_puts(&out, c->c_stream_id);
	xf_buf_puts(&out, "' from='");
	xf_xml_escape_attr(&out, from, strlen(from));
	xf_buf_puts(&out, "' version='1.0' xml:lang='en'>");
	xf_conn_sendbuf(c, &out);
	c->c_header_sent = 1;
}

void
xf_c2s_start(xf_conn_t *c)
{
	c->c_state = C2S_HEADER;
	c->c_host = "";
	c->c_xml = xf_xmls_new(c->c_w->w_conf->cf_c2s_max_stanza, &c2s_cb, c);
	if (c->c_xml == NULL)
		xf_conn_close(c);
}

/* RFC 6120 4.9: an error, then the closing tag; nothing after. */
void
xf_c2s_stream_error(xf_conn_t *c, const char *cond, const char *text)
{
	if (c->c_state == C2S_CLOSING)
		return;
	if (!c->c_header_sent)
		send_header(c);
	log_debug("c%llu: stream error %s%s%s", CID(c), cond,
	    text ? ": " : "", text ? text : "");
	xf_buf_reset(&out);
	xf_buf_printf(&out, "<stream:error><%s xmlns='" XF_NS_STREAMS "'/>",
	    cond);
	if (text) {
		xf_buf_puts(&out, "<text xmlns='" XF_NS_STREAMS
		    "' xml:lang='en'>");
		xf_xml_escape(&out, text, strlen(text));
		xf_buf_puts(&out, "</text>");
	}
	xf_buf_puts(&out, "</stream:error></stream:stream>");
	xf_conn_sendbuf(c, &out);
	/* After a reload the client is asked to come back: its SM session
	 * stays resumable on the new workers.  Other errors end it. */
	c->c_clean = strcmp(cond, "reset") != 0;
	/* Unbind now: nothing more may be routed to this stream. */
	xf_c2s_closed(c);
	c->c_state = C2S_CLOSING;
	xf_conn_close(c);
}

static void
send_features(xf_conn_t *c)
{
	const xf_conf_t	*cf = c->c_w->w_conf;

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<stream:features>");
	if (c->c_user[0]) {
		if (!c->c_full[0])
			xf_buf_puts(&out, "<bind xmlns='" XF_NS_BIND "'/>"
			    "<session xmlns='" XF_NS_SESSION "'><optional/>"
			    "</session>");
		xf_mod_features(c, &out);
	} else {
		if (!c->c_tls_up) {
			xf_buf_puts(&out, "<starttls xmlns='" XF_NS_TLS "'>");
			if (cf->cf_c2s_tls_required)
				xf_buf_puts(&out, "<required/>");
			xf_buf_puts(&out, "</starttls>");
		}
		/* With TLS mandatory, STARTTLS is the only feature before it. */
		if (c->c_tls_up || !cf->cf_c2s_tls_required) {
			xf_sasl_features(c, &out);
			xf_mod_features_preauth(c, &out);
		}
	}
	xf_buf_puts(&out, "</stream:features>");
	xf_conn_sendbuf(c, &out);
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
on_open(void *ud, const xf_el_t *hdr)
{
	xf_conn_t	*c = ud;
	const char	*ns = xf_el_attr(hdr, "xmlns");
	const char	*to = xf_el_attr(hdr, "to");
	const char	*ver = xf_el_attr(hdr, "version");
	xf_jid_t	 j;

	if (to && xf_jid_parse(to, strlen(to), &j) == XF_OK && !j.j_local &&
	    !j.j_resource && xf_conf_is_vhost(c->c_w->w_conf, j.j_domain)) {
		/* After a restart the host must stay the same. */
		if (c->c_host[0] && strcmp(c->c_host, j.j_domain) != 0) {
			xf_c2s_stream_error(c, "host-unknown", NULL);
			return XF_ERR;
		}
		c->c_host = vhost(c->c_w->w_conf, j.j_domain);
		send_header(c);
	} else {
		send_header(c);
		xf_c2s_stream_error(c, "host-unknown", NULL);
		return XF_ERR;
	}
	if (ns == NULL || strcmp(ns, XF_NS_CLIENT) != 0) {
		xf_c2s_stream_error(c, "invalid-namespace", NULL);
		return XF_ERR;
	}
	if (ver == NULL || atoi(ver) < 1) {
		xf_c2s_stream_error(c, "unsupported-version", NULL);
		return XF_ERR;
	}
	c->c_state = c->c_full[0] ? C2S_BOUND :
	    c->c_user[0] ? C2S_AUTHED : C2S_FEATURES;
	send_features(c);
	return XF_OK;
}

static int
on_close(void *ud)
{
	xf_conn_t	*c = ud;

	if (c->c_state != C2S_CLOSING) {
		c->c_clean = 1;
		send_str(c, "</stream:stream>");
		xf_c2s_closed(c);
		c->c_state = C2S_CLOSING;
		xf_conn_close(c);
	}
	return XF_AGAIN;
}

void
xf_c2s_tls_ready(xf_conn_t *c)
{
	c->c_state = C2S_HEADER;
	c->c_header_sent = 0;
	xf_xmls_reset(c->c_xml);
}

static int
starttls(xf_conn_t *c)
{
	if (c->c_ssl != NULL) {
		/* RFC 6120 5.4.2.2: failure, then close. */
		send_str(c, "<failure xmlns='" XF_NS_TLS "'/></stream:stream>");
		c->c_state = C2S_CLOSING;
		xf_conn_close(c);
		return XF_ERR;
	}
	send_str(c, "<proceed xmlns='" XF_NS_TLS "'/>");
	c->c_state = C2S_TLS_START;
	return XF_AGAIN;
}

static void
iq_reply(xf_conn_t *c, const xf_el_t *iq, const char *payload)
{
	const char	*id = xf_el_attr(iq, "id");

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<iq type='result' id='");
	xf_xml_escape_attr(&out, id ? id : "", id ? strlen(id) : 0);
	xf_buf_puts(&out, "'");
	if (c->c_full[0]) {
		xf_buf_puts(&out, " to='");
		xf_xml_escape_attr(&out, c->c_full, strlen(c->c_full));
		xf_buf_puts(&out, "'");
	}
	if (payload) {
		xf_buf_puts(&out, ">");
		xf_buf_puts(&out, payload);
		xf_buf_puts(&out, "</iq>");
	} else
		xf_buf_puts(&out, "/>");
	if (c->c_state == C2S_BOUND)
		xf_c2s_write(c, 0, xf_buf_data(&out), xf_buf_size(&out));
	else
		xf_conn_sendbuf(c, &out);
}

static void
iq_error(xf_conn_t *c, const xf_el_t *iq, const char *type, const char *cond)
{
	const char	*id = xf_el_attr(iq, "id");

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<iq type='error' id='");
	xf_xml_escape_attr(&out, id ? id : "", id ? strlen(id) : 0);
	xf_buf_printf(&out, "'><error type='%s'><%s xmlns='" XF_NS_STANZAS
	    "'/></error></iq>", type, cond);
	xf_conn_sendbuf(c, &out);
}

/*
 * Ends the stream that held c's full JID before c took it over (a newer
 * bind, a resumed SM session), wherever it lives, with a conflict stream
 * error.  The old stream does not unbind: the record is c's now.
 */
void
xf_c2s_replace(xf_conn_t *c, uint32_t slot, uint64_t conn, const char *text)
{
	xf_worker_t	*w = c->c_w;
	xf_conn_t	*oc;
	char		 payload[128];
	int		 n;

	if (slot == w->w_slot) {
		oc = xf_worker_conn(w, conn);
		if (oc != NULL && oc != c && strcmp(oc->c_full, c->c_full) == 0) {
			oc->c_full[0] = '\0';
			w->w_stats->ws_sessions--;
			xf_c2s_stream_error(oc, "conflict", text);
		}
		return;
	}
	n = snprintf(payload, sizeof(payload), "conflict%c%s", '\0', text);
	if (n < 0 || (size_t)n >= sizeof(payload) ||
	    xf_ipc_push(w, NULL, slot, XF_MSG_KICK, conn, c->c_full, payload,
	    (size_t)n) == XF_ERR)
		log_warnx("c%llu: cannot close the old stream on worker slot %u",
		    CID(c), slot);
}

/* c holds the session full from now on: what a bind or a resume does. */
void
xf_c2s_attach(xf_conn_t *c, const char *full, int32_t prio, int avail)
{
	xf_worker_t	*w = c->c_w;

	size_t		 n;

	if (full != c->c_full)
		snprintf(c->c_full, sizeof(c->c_full), "%s", full);
	/* The bare JID is the full one up to the resource. */
	n = strcspn(c->c_full, "/");
	memcpy(c->c_bare, c->c_full, n);
	c->c_bare[n] = '\0';
	c->c_state = C2S_BOUND;
	c->c_prio = prio;
	c->c_avail = avail;
	w->w_stats->ws_sessions++;
	xf_loop_timer_del(w->w_loop, c->c_timer);
	c->c_timer = 0;
}

static void
bind_resource(xf_conn_t *c, xf_el_t *iq)
{
	xf_worker_t	*w = c->c_w;
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
	n = snprintf(c->c_full, sizeof(c->c_full), "%s@%s/%s", c->c_user,
	    c->c_host, resource);
	/* The session table's keys are LMDB keys: 511 bytes at most. */
	if (n < 0 || (size_t)n >= sizeof(c->c_full)) {
		c->c_full[0] = '\0';
		iq_error(c, iq, "modify", "bad-request");
		return;
	}

	memset(&rec, 0, sizeof(rec));
	rec.sr_node = 0;
	rec.sr_worker = w->w_slot;
	rec.sr_conn = c->c_id;
	rec.sr_since = time(NULL);
	snprintf(rec.sr_ip, sizeof(rec.sr_ip), "%s", c->c_ip);
	if (xf_sess_put(w->w_sess, c->c_full, &rec, &old, &had_old) != XF_OK) {
		log_warnx("c%llu: session table: %s", CID(c),
		    xf_sess_error(w->w_sess));
		c->c_full[0] = '\0';
		iq_error(c, iq, "wait", "internal-server-error");
		return;
	}
	xf_c2s_attach(c, c->c_full, 0, 0);
	if (had_old && old.sr_node == 0)
		xf_c2s_replace(c, old.sr_worker, old.sr_conn,
		    "Replaced by new connection");
	log_info("c%llu: %s bound from %s", CID(c), c->c_full, c->c_ip);

	xf_buf_reset(&out);
	xf_buf_puts(&out, "<bind xmlns='" XF_NS_BIND "'><jid>");
	xf_xml_escape(&out, c->c_full, strlen(c->c_full));
	xf_buf_puts(&out, "</jid></bind>");
	snprintf(payload, sizeof(payload), "%s", xf_buf_cstr(&out));
	iq_reply(c, iq, payload);
	xf_mod_bound(c);
}

void
xf_c2s_closed(xf_conn_t *c)
{
	xf_worker_t	*w = c->c_w;

	/* Once: the modules' goodbyes may wait (pgsql store), and the
	 * stream may be ended from elsewhere meanwhile. */
	if (c->c_full[0] == '\0' || c->c_unbinding)
		return;
	c->c_unbinding = 1;
	xf_conn_hold(c);
	if (xf_mod_unbound(c) == XF_OK) {
		log_info("c%llu: %s detached", CID(c), c->c_full);
	} else {
		if (xf_sess_del(w->w_sess, c->c_full, w->w_slot, c->c_id)
		    == XF_ERR)
			log_warnx("c%llu: session table: %s", CID(c),
			    xf_sess_error(w->w_sess));
		log_info("c%llu: %s unbound", CID(c), c->c_full);
	}
	c->c_full[0] = '\0';
	c->c_unbinding = 0;
	w->w_stats->ws_sessions--;
	xf_conn_unhold(c);
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
client_stanza(xf_conn_t *c, xf_el_t *el)
{
	const char	*from = xf_el_attr(el, "from");
	xf_jid_t	 j;
	char		 buf[XF_JID_MAX + 1];

	if (from != NULL) {
		/* RFC 6120 8.1.2.1: it must be our full or bare JID. */
		if (xf_jid_parse(from, strlen(from), &j) != XF_OK ||
		    xf_jid_full(&j, buf, sizeof(buf)) != XF_OK ||
		    (strcmp(buf, c->c_full) != 0 &&
		    strcmp(buf, c->c_bare) != 0)) {
			xf_c2s_stream_error(c, "invalid-from", NULL);
			return XF_ERR;
		}
	}
	xf_el_set_attr(el, "from", c->c_full);
	c->c_w->w_stats->ws_stanzas_in++;
	if (xf_mod_outbound(c->c_w, c, el) == XF_OK)
		return XF_OK;
	if (strcmp(el->e_name, "iq") == 0 && xf_el_child(el, XF_NS_SESSION,
	    "session") != NULL && xf_el_attr(el, "to") == NULL) {
		/* RFC 3921 session establishment: a no-op kept for old clients. */
		iq_reply(c, el, NULL);
		return XF_OK;
	}
	xf_route(c->c_w, c, el);
	return XF_OK;
}

static int
on_stanza(void *ud, xf_el_t *el)
{
	xf_conn_t	*c = ud;
	const xf_conf_t	*cf = c->c_w->w_conf;
	int		 r = XF_OK;

	if (c->c_state == C2S_CLOSING)
		goto done;
	if (el->e_ns && strcmp(el->e_ns, XF_NS_TLS) == 0 &&
	    strcmp(el->e_name, "starttls") == 0 && !c->c_user[0]) {
		r = starttls(c);
		goto done;
	}
	if (!c->c_tls_up && cf->cf_c2s_tls_required) {
		if (el->e_ns && strcmp(el->e_ns, XF_NS_SASL) == 0 &&
		    strcmp(el->e_name, "auth") == 0) {
			send_str(c, "<failure xmlns='" XF_NS_SASL "'>"
			    "<encryption-required/></failure>");
			goto done;
		}
		xf_c2s_stream_error(c, "policy-violation",
		    "STARTTLS is required");
		r = XF_ERR;
		goto done;
	}
	if (el->e_ns && strcmp(el->e_ns, XF_NS_SASL) == 0 && !c->c_user[0]) {
		r = xf_sasl_handle(c, el);
		goto done;
	}
	if (!c->c_user[0]) {
		if (xf_mod_preauth(c, el) == XF_OK)
			goto done;
		xf_c2s_stream_error(c, is_stanza(el) ? "not-authorized" :
		    "unsupported-stanza-type", NULL);
		r = XF_ERR;
		goto done;
	}
	if (!is_stanza(el)) {
		if (xf_mod_element(c, el) == XF_OK)
			goto done;
		xf_c2s_stream_error(c, "unsupported-stanza-type", NULL);
		r = XF_ERR;
		goto done;
	}
	if (c->c_state != C2S_BOUND) {
		if (strcmp(el->e_name, "iq") == 0 &&
		    xf_el_child(el, XF_NS_BIND, "bind") != NULL)
			bind_resource(c, el);
		else if (strcmp(el->e_name, "iq") == 0 &&
		    xf_el_child(el, XF_NS_SESSION, "session") != NULL)
			iq_reply(c, el, NULL);
		else {
			xf_c2s_stream_error(c, "not-authorized",
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

/*
 * Feeds bytes from the transport.  A stream restart (after SASL)
 * continues with the rest of the bytes in a fresh parser; after
 * <proceed/> whatever plaintext followed is dropped (RFC 6120 5.4.3.3:
 * nothing may be sent before the TLS handshake).
 */
int
xf_c2s_input(xf_conn_t *c, const char *buf, size_t len)
{
	size_t	 used;
	int	 r;

	while (len > 0 && c->c_state != C2S_CLOSING) {
		r = xf_xmls_feed(c->c_xml, buf, len, &used);
		if (r == XF_OK)
			return XF_OK;
		if (r == XF_ERR) {
			const char	*cond = xf_xmls_error(c->c_xml);

			if (cond && cond[0])
				xf_c2s_stream_error(c, cond,
				    xf_xmls_errtext(c->c_xml));
			return XF_ERR;
		}
		buf += used;
		len -= used;
		if (c->c_state == C2S_TLS_START) {
			if (len > 0)
				log_debug("c%llu: %zu bytes after <starttls/>"
				    " dropped", CID(c), len);
			/* proceed must go out in the clear before TLS. */
			if (xf_conn_flush_now(c) != XF_OK ||
			    xf_conn_start_tls(c) != XF_OK) {
				c->c_state = C2S_CLOSING;
				xf_conn_close(c);
				return XF_ERR;
			}
			return XF_OK;
		}
		if (c->c_state == C2S_AUTHED && c->c_header_sent == 0) {
			xf_xmls_reset(c->c_xml);
			continue;
		}
		if (c->c_state == C2S_CLOSING)
			return XF_ERR;
	}
	return XF_OK;
}
