/* offline.c: offline messages (XEP-0160) kept in the durable store and delivered with a delay stamp (XEP-0203). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xf.h"
#include "log.h"
#include "im.h"
#include "mod.h"

#define NS_DELAY	"urn:xmpp:delay"
#define NS_CHATSTATES	"http://jabber.org/protocol/chatstates"

static int
okey(char *k, size_t klen, const char *bare, uint64_t seq)
{
	size_t	 bl = strlen(bare);

	if (bl + 9 > klen)
		return -1;
	memcpy(k, bare, bl);
	k[bl] = '\0';
	/* Big-endian so keys sort in arrival order. */
	for (int i = 0; i < 8; i++)
		k[bl + 1 + i] = (char)(seq >> (56 - 8 * i));
	return (int)(bl + 9);
}

/*
 * Says why a message was not stored.  A full store fails every message
 * until there is room again: that is said once, when it starts, rather
 * than once a message (each sender is told by its bounce).
 */
static int
store_failed(xf_worker_t *w, const char *bare)
{
	static int	 full_said;

	if (!xf_store_full(w->w_store)) {
		full_said = 0;
		log_warnx("offline message for %s: %s", bare,
		    xf_store_error(w->w_store));
	} else if (!full_said) {
		full_said = 1;
		log_warnx("offline messages go back to their senders until "
		    "the store has room: %s", xf_store_error(w->w_store));
	}
	return XF_ERR;
}

/*
 * Two quotas, either of which bounces a message: 'offline-quota'
 * messages and 'offline-quota-bytes' of them as stored (serialised, with
 * the delay stamp).  Both are read from the store at each message, as
 * the count always was, so there is no total to keep in step with the
 * deletes.  Checking and storing are two steps, not one transaction:
 * messages for one user stored at the same moment by several workers
 * (or nodes) may each pass the check, so a quota may be passed by at
 * most one message per process storing at that moment.
 */
int
xf_offline_store_raw(xf_worker_t *w, const char *bare, const char *data,
    size_t len)
{
	char	 k[XF_JID_MAX + 10];
	size_t	 n, used, max = w->w_conf->cf_offline_quota_bytes;
	uint64_t seq;
	int	 kl;

	if (okey(k, sizeof(k), bare, 0) < 0)
		return XF_ERR;
	if (xf_store_usage(w->w_store, XF_T_OFFLINE, bare, strlen(bare) + 1,
	    &n, &used) != XF_OK)
		return store_failed(w, bare);
	if (n >= (size_t)w->w_conf->cf_offline_quota || len > max ||
	    used > max - len)
		return XF_DECLINED;
	if (xf_store_seq(w->w_store, &seq) != XF_OK)
		return store_failed(w, bare);
	kl = okey(k, sizeof(k), bare, seq);
	/* The commit is synced: acknowledged means on disk. */
	if (xf_store_put(w->w_store, XF_T_OFFLINE, k, (size_t)kl, data, len)
	    != XF_OK)
		return store_failed(w, bare);
	return XF_OK;
}

int
xf_offline_store(xf_worker_t *w, const char *bare, const xf_el_t *msg)
{
	xf_el_t		*m, *d;
	xf_buf_t	 b = { 0 };
	char		 stamp[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 r = XF_ERR;

	if ((m = xf_el_copy(msg)) == NULL)
		return XF_ERR;
	if (xf_el_child(m, NS_DELAY, "delay") == NULL &&
	    (d = xf_el_add(m, NS_DELAY, "delay")) != NULL) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		xf_el_set_attr(d, "from", strchr(bare, '@') + 1);
		xf_el_set_attr(d, "stamp", stamp);
		xf_el_add_text(d, "Offline storage", 15);
	}
	if (xf_el_write(m, XF_NS_CLIENT, &b) == XF_OK)
		r = xf_offline_store_raw(w, bare, xf_buf_data(&b),
		    xf_buf_size(&b));
	xf_buf_free(&b);
	xf_el_free(m);
	return r;
}

/* Worth keeping: not errors, group chat or headlines, not bare chat
 * states (XEP-0160 2, XEP-0085 5.6). */
static int
storable(const xf_el_t *msg)
{
	const char	*type = xf_el_attr(msg, "type");
	xf_el_t		*ch;

	if (type != NULL && strcmp(type, "normal") != 0 &&
	    strcmp(type, "chat") != 0)
		return 0;
	for (ch = xf_el_first(msg); ch != NULL; ch = xf_el_next(ch))
		if (strcmp(ch->e_ns, NS_CHATSTATES) != 0)
			return 1;
	return 0;
}

/*
 * A message is taken only once its commit returned (XF_OK): a store that
 * fails or is unreachable sends it back to the sender as a 'wait' error,
 * never service-unavailable (the account may well exist) nor silence.
 */
static int
offline_undeliverable(xf_worker_t *w, xf_stream_t *from, const xf_el_t *st,
    const char *bare)
{
	xf_account_t	 ac;
	int		 r;

	if (strcmp(st->e_name, "message") != 0)
		return XF_DECLINED;
	/* RFC 6121 8.5.2.2.1: no such account, the sender is told. */
	if ((r = xf_store_user_get(w->w_store, bare, &ac)) == XF_DECLINED)
		return XF_DECLINED;
	if (r != XF_OK) {
		log_warnx("offline message for %s: %s", bare,
		    xf_store_error(w->w_store));
		xf_route_error(w, from, st, "wait", "internal-server-error");
		return XF_OK;
	}
	if (!storable(st))
		return XF_OK;	/* dropped silently, as the XEP allows */
	r = xf_offline_store(w, bare, st);
	if (r == XF_DECLINED) {
		/* A quota full, in messages or bytes: the sender learns
		 * (XEP-0160 3). */
		xf_route_error(w, from, st, "wait", "resource-constraint");
		return XF_OK;
	}
	if (r != XF_OK)
		/* xf_offline_store_raw() logged why. */
		xf_route_error(w, from, st, "wait", "internal-server-error");
	return XF_OK;
}

typedef struct dl_s {
	xf_stream_t	*c;
	xf_buf_t	 keys;		/* [size_t klen][key] of each written */
	size_t		 n;
	int		 more;		/* stopped for a slow reader */
} dl_t;

/* c's per-stream slot: non-NULL while the rest of its messages wait for
 * it to read what it has (offline_drained). */
#define MORE(c)		((c)->s_mod[xf_mod_offline.m_index])

/*
 * Whether what is written to c reaches the client: bound, not closing,
 * not hung up while its input waited for the store (conn.c mutes it and
 * frees it later), output not dropped.
 */
static int
reachable(const xf_stream_t *c)
{
	return c->s_state == C2S_BOUND && c->s_full[0] != '\0' &&
	    !xf_stream_closing(c);
}

/*
 * Runs after the scan's read, with no store call of its own: every
 * message is written to the client back to back, in stored order, before
 * any live stanza can come between.  The scan may have waited for the
 * store, so the stream is checked first: a stream gone meanwhile leaves
 * the rest stored.
 */
static int
deliver_each(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	dl_t	*d = ud;

	if (!reachable(d->c))
		return 1;
	/* A client reads them at its pace: the rest when it has read
	 * these (live stanzas may then come between: each stored one
	 * carries its delay stamp). */
	if (xf_stream_backlogged(d->c)) {
		d->more = 1;
		return 1;
	}
	if (xf_buf_append(&d->keys, &klen, sizeof(klen)) != XF_OK ||
	    xf_buf_append(&d->keys, k, klen) != XF_OK)
		return 1;	/* not written, so kept */
	xf_stream_write(d->c, 0, v, vlen);
	d->n++;
	return 0;
}

/*
 * On initial presence with non-negative priority (XEP-0160 4).  A message
 * is deleted only after it was handed to the client, and one by one (a
 * message stored meanwhile is not among these keys).  A delete that
 * fails stops the deletes: those messages come again at the next initial
 * presence, in their order, at least once rather than at most once.
 */
void
xf_offline_deliver(xf_worker_t *w, xf_stream_t *c)
{
	dl_t		 d = { c, { 0 }, 0, 0 };
	const char	*p;
	size_t		 off, klen, deleted = 0;
	char		 bare[XF_SESS_JID_MAX + 1];

	/* c outlives this call (its own stanza), its JID may not. */
	snprintf(bare, sizeof(bare), "%s", c->s_bare);
	if (xf_store_scan(w->w_store, XF_T_OFFLINE, bare, strlen(bare) + 1,
	    deliver_each, &d) == XF_ERR)
		log_warnx("offline messages for %s: %s", bare,
		    xf_store_error(w->w_store));
	p = xf_buf_data(&d.keys);
	for (off = 0; off < xf_buf_size(&d.keys); off += sizeof(klen) + klen) {
		memcpy(&klen, p + off, sizeof(klen));
		if (xf_store_del(w->w_store, XF_T_OFFLINE, p + off +
		    sizeof(klen), klen) == XF_ERR) {
			log_warnx("offline messages for %s: %zu delivered, "
			    "kept to come again: %s", bare, d.n - deleted,
			    xf_store_error(w->w_store));
			break;
		}
		deleted++;
	}
	xf_buf_free(&d.keys);
	if (d.n > 0)
		log_info("delivered %zu offline messages to %s%s", d.n, bare,
		    d.more ? ", more when it has read them" : "");
	if (d.more && reachable(c))
		MORE(c) = c;
}

static void
deliver_more(void *ud)
{
	xf_stream_t	*c = ud;

	if (reachable(c))
		xf_offline_deliver(c->s_w, c);
	xf_stream_unhold(c);
}

/* The client read what it had: the next messages (the store may wait:
 * not from inside the flush that called this). */
static void
offline_drained(xf_stream_t *c)
{
	if (MORE(c) == NULL)
		return;
	MORE(c) = NULL;
	xf_stream_hold(c);
	xf_worker_run(c->s_w, deliver_more, c);
}

xf_mod_t xf_mod_offline = {
	.m_name = "offline",
	.m_kind = &xf_kind_c2s,
	.m_undeliverable = offline_undeliverable,
	.m_drained = offline_drained,
};
