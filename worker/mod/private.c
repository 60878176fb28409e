/* private.c: XEP-0049 private XML storage (jabber:iq:private): one stored fragment per namespace, for its owner only. */
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"

#define NS_PRIVATE	"jabber:iq:private"

/*
 * Limits per account: bytes of one namespace's fragment (serialised) and
 * how many namespaces.  Clients keep bookmarks, roster notes and a few
 * preferences here; the caps stop the store from being a free disk.
 */
#define PRIVATE_MAX		(64 * 1024)
#define PRIVATE_MAX_NS		128
/* LMDB's compiled-in MDB_MAXKEYSIZE (store.c refuses longer keys). */
#define KEY_MAX			511

/*
 * Scratch; a worker is single-threaded.  A store call may suspend the
 * caller while other stanzas run this code (common/coro.h): key and val
 * are built and handed to the store in the same call (it copies them
 * first) and never read after one; what the store reads out goes to a
 * buffer local to the caller.
 */
static xf_buf_t	 key, val;

/*
 * XEP-0049 2.3: namespaces beginning with 'jabber:' or
 * 'http://jabber.org/', and 'vcard-temp', are reserved.  Refusing them is
 * optional there; we do, so nobody mistakes this store for the roster or
 * the vCard.  An element written without xmlns inside <query/> inherits
 * jabber:iq:private and is refused by the same rule.
 */
static int
reserved(const char *ns)
{
	return ns == NULL || *ns == '\0' || strncmp(ns, "jabber:", 7) == 0 ||
	    strncmp(ns, "http://jabber.org/", 18) == 0 ||
	    strcmp(ns, "vcard-temp") == 0;
}

/* "owner NUL ns" into key; XF_DECLINED when it would be too long. */
static int
make_key(const char *owner, const char *ns)
{
	if (strlen(owner) + 1 + strlen(ns) > KEY_MAX)
		return XF_DECLINED;
	xf_buf_reset(&key);
	if (xf_buf_append(&key, owner, strlen(owner) + 1) != XF_OK ||
	    xf_buf_puts(&key, ns) != XF_OK)
		return XF_ERR;
	return XF_OK;
}

static void
get(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q,
    const char *owner)
{
	xf_el_t		*want = xf_el_first(q), *e, *r, *rq;
	xf_el_t		*stored = NULL;
	xf_buf_t	 got = { 0 };
	int		 rc;

	/* XEP-0049 2.3: exactly one namespace per get. */
	if (want == NULL) {
		xf_route_error(w, c, iq, "modify", "bad-request");
		return;
	}
	for (e = xf_el_next(want); e != NULL; e = xf_el_next(e))
		if (strcmp(e->e_ns ? e->e_ns : "", want->e_ns ?
		    want->e_ns : "") != 0) {
			xf_route_error(w, c, iq, "modify", "bad-request");
			return;
		}
	if (reserved(want->e_ns)) {
		xf_route_error(w, c, iq, "modify", "not-acceptable");
		return;
	}
	if ((rc = make_key(owner, want->e_ns)) != XF_OK) {
		xf_route_error(w, c, iq, rc == XF_DECLINED ? "modify" : "wait",
		    rc == XF_DECLINED ? "not-acceptable" :
		    "internal-server-error");
		return;
	}
	rc = xf_store_get(w->w_store, XF_T_PRIVATE, xf_buf_data(&key),
	    xf_buf_size(&key), &got);
	if (rc == XF_ERR) {
		xf_buf_free(&got);
		log_warnx("private: %s: %s", owner, xf_store_error(w->w_store));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	if (rc == XF_OK && (stored = xf_xml_parse(xf_buf_data(&got),
	    xf_buf_size(&got), NS_PRIVATE)) == NULL)
		log_warnx("private: %s: stored %s does not parse", owner,
		    want->e_ns);
	xf_buf_free(&got);
	if ((r = xf_iq_result(iq)) == NULL || (rq = xf_el_add(r, NS_PRIVATE,
	    "query")) == NULL) {
		xf_el_free(r);
		xf_el_free(stored);
		return;
	}
	if (stored != NULL) {
		/* Stored as <query/> around the fragment: its children. */
		for (e = xf_el_first(stored); e != NULL; e = xf_el_next(e)) {
			xf_el_t	*copy = xf_el_copy(e);

			if (copy != NULL)
				xf_el_append(rq, copy);
		}
		xf_el_free(stored);
	} else if (xf_el_add(rq, want->e_ns, want->e_name) == NULL) {
		xf_el_free(r);
		return;
	}
	/* Nothing stored: the element asked for comes back empty, which
	 * is what clients expect (and what other servers answer). */
	xf_iq_reply(w, c, r);
}

/* One namespace's children of q, wrapped in <query/> and serialised
 * into val. */
static int
serialise_ns(const xf_el_t *q, const char *ns)
{
	xf_el_t		*wrap, *e;
	int		 rc = XF_OK;

	if ((wrap = xf_el_new(NS_PRIVATE, "query")) == NULL)
		return XF_ERR;
	for (e = xf_el_first(q); e != NULL; e = xf_el_next(e)) {
		xf_el_t	*copy;

		if (strcmp(e->e_ns, ns) != 0)
			continue;
		if ((copy = xf_el_copy(e)) == NULL) {
			rc = XF_ERR;
			break;
		}
		xf_el_append(wrap, copy);
	}
	xf_buf_reset(&val);
	if (rc == XF_OK)
		rc = xf_el_write(wrap, NULL, &val);
	xf_el_free(wrap);
	return rc;
}

/* 1 if an earlier sibling of e has e's namespace (already stored). */
static int
seen_ns(const xf_el_t *q, const xf_el_t *e)
{
	const xf_el_t	*p;

	for (p = xf_el_first(q); p != NULL && p != e; p = xf_el_next(p))
		if (strcmp(p->e_ns, e->e_ns) == 0)
			return 1;
	return 0;
}

/* Whether the key in key has a value: XF_OK, XF_DECLINED or XF_ERR. */
static int
stored(xf_worker_t *w)
{
	xf_buf_t	 tmp = { 0 };
	int		 rc;

	rc = xf_store_get(w->w_store, XF_T_PRIVATE, xf_buf_data(&key),
	    xf_buf_size(&key), &tmp);
	xf_buf_free(&tmp);
	return rc;
}

/* The storage failed: say so to the log and return the condition. */
static const char *
broken(xf_worker_t *w, const char *owner)
{
	log_warnx("private: %s: %s", owner, xf_store_error(w->w_store));
	return "internal-server-error";
}

static void
set(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *q, const char *owner)
{
	xf_el_t		*e;
	const char	*cond = "not-acceptable";
	size_t		 n = 0, have;
	int		 rc;

	/* XEP-0049 2.3: at least one child, none in a reserved namespace;
	 * all checked before anything is written. */
	if (xf_el_first(q) == NULL)
		goto fail;
	for (e = xf_el_first(q); e != NULL; e = xf_el_next(e))
		if (reserved(e->e_ns))
			goto fail;
	for (e = xf_el_first(q); e != NULL; e = xf_el_next(e)) {
		if (seen_ns(q, e))
			continue;
		if (serialise_ns(q, e->e_ns) != XF_OK ||
		    (rc = make_key(owner, e->e_ns)) == XF_ERR) {
			cond = "internal-server-error";
			goto fail;
		}
		if (rc == XF_DECLINED || xf_buf_size(&val) > PRIVATE_MAX)
			goto fail;
		if ((rc = stored(w)) == XF_ERR) {
			cond = broken(w, owner);
			goto fail;
		}
		if (rc == XF_DECLINED)
			n++;
	}
	if (make_key(owner, "") != XF_OK ||
	    xf_store_count(w->w_store, XF_T_PRIVATE, xf_buf_data(&key),
	    xf_buf_size(&key), &have) != XF_OK) {
		cond = broken(w, owner);
		goto fail;
	}
	if (have + n > PRIVATE_MAX_NS) {
		cond = "resource-constraint";
		goto fail;
	}
	/* One write per namespace: a set of two namespaces is not atomic,
	 * which no client relies on (they store one at a time). */
	for (e = xf_el_first(q); e != NULL; e = xf_el_next(e)) {
		if (seen_ns(q, e))
			continue;
		if (serialise_ns(q, e->e_ns) != XF_OK ||
		    make_key(owner, e->e_ns) != XF_OK ||
		    xf_store_put(w->w_store, XF_T_PRIVATE, xf_buf_data(&key),
		    xf_buf_size(&key), xf_buf_data(&val),
		    xf_buf_size(&val)) != XF_OK) {
			cond = broken(w, owner);
			goto fail;
		}
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
	return;
fail:
	xf_route_error(w, c, iq, strcmp(cond, "not-acceptable") == 0 ?
	    "modify" : "wait", cond);
}

static int
private_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p,
    int target, const char *owner)
{
	char	 sender[XF_JID_MAX + 1];

	if (target != XF_IQ_ACCOUNT || p->e_ns == NULL ||
	    strcmp(p->e_ns, NS_PRIVATE) != 0 || strcmp(p->e_name, "query") != 0)
		return XF_DECLINED;
	/* XEP-0049 2.3 and 5: the owner's own resources only. */
	if (xf_jid_bare_of(xf_el_attr(iq, "from"), sender,
	    sizeof(sender)) != XF_OK ||
	    strcmp(sender, owner) != 0) {
		xf_route_error(w, c, iq, "auth", "forbidden");
		return XF_OK;
	}
	if (strcmp(xf_el_attr(iq, "type"), "get") == 0)
		get(w, c, iq, p, owner);
	else
		set(w, c, iq, p, owner);
	return XF_OK;
}

xf_mod_t xf_mod_private = {
	.m_name = "private",
	.m_kind = &xf_kind_c2s,
	.m_iq = private_iq,
};
