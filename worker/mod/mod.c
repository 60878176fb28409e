/* mod.c: the list of feature modules and the loops that run their hooks. */
#include <stddef.h>

#include "xf.h"
#include "mod.h"

/*
 * Order matters where hooks take stanzas: blocking filters before
 * offline storage sees a message; CSI holds presence before SM counts
 * what is really written; SM comes before every module that consumes a
 * client's stanzas (h counts them all) or announces a session's end (a
 * detached session must not look gone).
 */

xf_mod_t *xf_mods[XF_NMODS_MAX + 1] = {
	&xf_mod_csi,
	&xf_mod_sm,
	&xf_mod_blocking,
	&xf_mod_carbons,
	&xf_mod_roster,
	&xf_mod_presence,
	&xf_mod_offline,
	&xf_mod_vcard,
	&xf_mod_private,
	&xf_mod_pep,
	&xf_mod_register,
	NULL
};

#define EACH(m)	for (xf_mod_t **mp_ = xf_mods, *m; (m = *mp_) != NULL; mp_++)

void
xf_mod_init(xf_worker_t *w)
{
	int	 i = 0;

	EACH(m) {
		m->m_index = i++;
		if (m->m_init)
			m->m_init(w);
	}
}

void
xf_mod_features_preauth(xf_stream_t *c, xf_buf_t *b)
{
	EACH(m)
		if (m->m_features_preauth && xf_mod_serves(m, c))
			m->m_features_preauth(c, b);
}

void
xf_mod_features(xf_stream_t *c, xf_buf_t *b)
{
	EACH(m)
		if (m->m_features && xf_mod_serves(m, c))
			m->m_features(c, b);
}

int
xf_mod_element(xf_stream_t *c, xf_el_t *el)
{
	EACH(m)
		if (m->m_element && xf_mod_serves(m, c) && m->m_element(c, el) != XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

int
xf_mod_preauth(xf_stream_t *c, xf_el_t *el)
{
	EACH(m)
		if (m->m_preauth && xf_mod_serves(m, c) && m->m_preauth(c, el) != XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

int
xf_mod_iq(xf_worker_t *w, xf_stream_t *c, xf_el_t *iq, xf_el_t *p, int target,
    const char *owner)
{
	EACH(m)
		if (m->m_iq && m->m_iq(w, c, iq, p, target, owner) !=
		    XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

void
xf_mod_bound(xf_stream_t *c)
{
	EACH(m)
		if (m->m_bound && xf_mod_serves(m, c))
			m->m_bound(c);
}

int
xf_mod_unbound(xf_stream_t *c)
{
	EACH(m)
		if (m->m_unbound && xf_mod_serves(m, c) && m->m_unbound(c) == XF_OK)
			return XF_OK;
	return XF_DECLINED;
}

void
xf_mod_stream_free(xf_stream_t *c)
{
	EACH(m)
		if (m->m_stream_free && xf_mod_serves(m, c))
			m->m_stream_free(c);
}

int
xf_mod_outbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st)
{
	EACH(m)
		if (m->m_outbound && m->m_outbound(w, c, st) != XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

void
xf_mod_handled(xf_stream_t *c, const xf_el_t *st)
{
	EACH(m)
		if (m->m_handled && xf_mod_serves(m, c))
			m->m_handled(c, st);
}

int
xf_mod_inbound(xf_worker_t *w, xf_stream_t *c, xf_el_t *st, const char *bare)
{
	EACH(m)
		if (m->m_inbound && m->m_inbound(w, c, st, bare) !=
		    XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

void
xf_mod_delivered(xf_worker_t *w, const xf_el_t *st, const char *full)
{
	EACH(m)
		if (m->m_delivered)
			m->m_delivered(w, st, full);
}

int
xf_mod_undeliverable(xf_worker_t *w, xf_stream_t *c, const xf_el_t *st,
    const char *bare)
{
	EACH(m)
		if (m->m_undeliverable && m->m_undeliverable(w, c, st, bare) !=
		    XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

int
xf_mod_deliver(xf_worker_t *w, xf_stream_t *c, const char *full,
    const xf_sess_rec_t *rec, const xf_el_t *st)
{
	EACH(m)
		if (m->m_deliver && m->m_deliver(w, c, full, rec, st) !=
		    XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

int
xf_mod_send(xf_stream_t *c, const char *data, size_t len)
{
	EACH(m)
		if (m->m_send && xf_mod_serves(m, c) &&
		    m->m_send(c, data, len) != XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}

void
xf_mod_drained(xf_stream_t *c)
{
	EACH(m)
		if (m->m_drained && xf_mod_serves(m, c))
			m->m_drained(c);
}

int
xf_mod_orphan(xf_worker_t *w, const char *full, uint64_t conn,
    const char *data, size_t len)
{
	EACH(m)
		if (m->m_orphan && m->m_orphan(w, full, conn, data, len) !=
		    XF_DECLINED)
			return XF_OK;
	return XF_DECLINED;
}
