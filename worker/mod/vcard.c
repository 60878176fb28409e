/* vcard.c: XEP-0054 vcard-temp: each account's vCard, kept in the store and served for it. */
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"

#define NS_VCARD	"vcard-temp"

/*
 * Serialised bytes of one vCard.  XEP-0153 avatars ride inside it as
 * base64, so the cap is generous; larger pictures belong in PEP
 * (XEP-0084), which has its own cap.
 */
#define VCARD_MAX	(64 * 1024)

/*
 * Scratch for serialising; a worker is single-threaded.  A store call
 * may suspend the caller while other stanzas run this code (coro.h): val
 * is filled and handed to the store in the same call, never read after
 * one; a vCard read from the store goes to a local buffer.
 */
static xf_buf_t	 val;

static void
get(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, const char *owner,
    int own)
{
	xf_account_t	 ac;
	xf_buf_t	 got = { 0 };
	xf_el_t		*r, *v = NULL;
	int		 rc;

	rc = xf_store_get(w->w_store, XF_T_VCARD, owner, strlen(owner), &got);
	if (rc == XF_ERR) {
		xf_buf_free(&got);
		log_warnx("vcard: %s: %s", owner, xf_store_error(w->w_store));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	if (rc == XF_OK && (v = xf_xml_parse(xf_buf_data(&got),
	    xf_buf_size(&got), NS_VCARD)) == NULL) {
		log_warnx("vcard: %s: stored vCard does not parse", owner);
		rc = XF_DECLINED;
	}
	xf_buf_free(&got);
	if (rc == XF_DECLINED && !own) {
		/*
		 * XEP-0054 3.3: another user's missing vCard is an error
		 * (item-not-found, as Prosody answers); a missing account
		 * is RFC 6121 8.5.1's service-unavailable.
		 */
		if ((rc = xf_store_user_get(w->w_store, owner, &ac)) ==
		    XF_DECLINED)
			xf_route_error(w, c, iq, "cancel",
			    "service-unavailable");
		else if (rc == XF_ERR) {
			log_warnx("vcard: %s: %s", owner,
			    xf_store_error(w->w_store));
			xf_route_error(w, c, iq, "wait",
			    "internal-server-error");
		} else
			xf_route_error(w, c, iq, "cancel", "item-not-found");
		return;
	}
	if ((r = xf_iq_result(iq)) == NULL) {
		xf_el_free(v);
		return;
	}
	/* XEP-0054 3.1: one's own missing vCard may be an empty one,
	 * which every client takes as "nothing set yet". */
	if (v != NULL)
		xf_el_append(r, v);
	else
		xf_el_add(r, NS_VCARD, "vCard");
	xf_iq_reply(w, c, r);
}

static void
set(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *vc,
    const char *owner)
{
	int	 rc;

	xf_buf_reset(&val);
	if (xf_el_write(vc, NULL, &val) != XF_OK) {
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	if (xf_buf_size(&val) > VCARD_MAX) {
		xf_route_error(w, c, iq, "modify", "not-acceptable");
		return;
	}
	/* An empty vCard clears it: the next get says "nothing set". */
	if (xf_el_first(vc) == NULL) {
		rc = xf_store_del(w->w_store, XF_T_VCARD, owner, strlen(owner));
		if (rc == XF_DECLINED)
			rc = XF_OK;
	} else
		rc = xf_store_put(w->w_store, XF_T_VCARD, owner, strlen(owner),
		    xf_buf_data(&val), xf_buf_size(&val));
	if (rc != XF_OK) {
		log_warnx("vcard: %s: %s", owner, xf_store_error(w->w_store));
		xf_route_error(w, c, iq, "wait", "internal-server-error");
		return;
	}
	xf_iq_reply(w, c, xf_iq_result(iq));
}

static int
vcard_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	char	 sender[XF_JID_MAX + 1];
	int	 own;

	if (target != XF_IQ_ACCOUNT || p->e_ns == NULL ||
	    strcmp(p->e_ns, NS_VCARD) != 0 || strcmp(p->e_name, "vCard") != 0)
		return XF_DECLINED;
	own = xf_jid_bare_of(xf_el_attr(iq, "from"), sender,
	    sizeof(sender)) == XF_OK &&
	    strcmp(sender, owner) == 0;
	if (strcmp(xf_el_attr(iq, "type"), "get") == 0)
		get(w, c, iq, owner, own);
	else if (!own)
		/* XEP-0054 3.2: only the owner writes a vCard. */
		xf_route_error(w, c, iq, "auth", "forbidden");
	else
		set(w, c, iq, p, owner);
	return XF_OK;
}

xf_mod_t xf_mod_vcard = {
	.m_name = "vcard",
	.m_kind = &xf_kind_c2s,
	.m_iq = vcard_iq,
};
