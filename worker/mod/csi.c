/* csi.c: XEP-0352 Client State Indication: presence held back while the client says it is inactive. */
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "log.h"
#include "worker.h"
#include "mod.h"

#define NS_CSI		"urn:xmpp:csi:0"

/*
 * Bounds of what one inactive connection holds: past either, everything
 * held goes out (the client is woken once, not never).  The lookup of a
 * sender is a linear walk, which these bounds keep cheap.
 */
#define HELD_MAX	256
#define HELD_BYTES_MAX	(256 * 1024)

/*
 * What is held: the latest available or unavailable presence of each
 * sender (full JID), in the order they came.  Everything else goes out
 * at once -- messages, IQs, subscription requests, errors, and the
 * client's own presence -- after the held presence of the same sender,
 * if any, so that one sender's stanzas keep their order (RFC 6120 10.1);
 * other senders' presence stays held.  Going active sends the lot.
 *
 * Held bytes were not written yet: SM (after this module) counts them
 * only when they go out through xf_stream_write(c, index + 1, ...).
 */
typedef struct held_s held_t;
struct held_s {
	held_t	*h_next;
	char	*h_from;	/* unescaped 'from'; inside this allocation */
	size_t	 h_len;
	char	 h_data[];	/* the stanza, then h_from's bytes */
};

typedef struct csi_s {
	int	 cs_inactive;
	held_t	*cs_head;	/* owned, oldest first */
	held_t **cs_tail;
	size_t	 cs_n;
	size_t	 cs_bytes;
} csi_t;


#define CSI(c)	((csi_t *)(c)->s_mod[xf_mod_csi.m_index])

/* Attribute value to text: the five predefined entities. */
static int
unescape(const char *s, size_t len, char *out, size_t outlen)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&apos;", '\'' }, { "&quot;", '"' },
	};
	size_t	 i = 0, o = 0, k;

	while (i < len) {
		if (o + 1 >= outlen)
			return XF_DECLINED;
		if (s[i] == '&') {
			for (k = 0; k < XF_NELEM(ents); k++) {
				size_t	 el = strlen(ents[k].e);

				if (len - i >= el &&
				    memcmp(s + i, ents[k].e, el) == 0) {
					out[o++] = ents[k].c;
					i += el;
					break;
				}
			}
			if (k < XF_NELEM(ents))
				continue;
			/* Numeric references only stand for control
			 * characters here, which no JID or type holds. */
			return XF_DECLINED;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	return XF_OK;
}

/*
 * The name and the 'type' and 'from' attributes of the element data
 * starts with (serialised by xf_el_write(): no prefix on the element,
 * values quoted).  Values are unescaped.  XF_DECLINED when data is not
 * an element start tag or a value does not fit.
 */
static int
scan_tag(const char *d, size_t len, char *name, size_t namelen,
    char *type, size_t typelen, char *from, size_t fromlen)
{
	size_t	 i = 1, n, an, vs;
	char	 q;

	name[0] = type[0] = from[0] = '\0';
	if (len < 2 || d[0] != '<')
		return XF_DECLINED;
	while (i < len && d[i] != ' ' && d[i] != '>' && d[i] != '/')
		i++;
	if ((n = i - 1) == 0 || n >= namelen)
		return XF_DECLINED;
	memcpy(name, d + 1, n);
	name[n] = '\0';
	for (;;) {
		while (i < len && (d[i] == ' ' || d[i] == '\t' ||
		    d[i] == '\n' || d[i] == '\r'))
			i++;
		if (i >= len)
			return XF_DECLINED;
		if (d[i] == '>' || d[i] == '/')
			return XF_OK;
		an = i;
		while (i < len && d[i] != '=')
			i++;
		if (i + 1 >= len || (d[i + 1] != '\'' && d[i + 1] != '"'))
			return XF_DECLINED;
		n = i - an;
		q = d[i + 1];
		vs = i + 2;
		for (i = vs; i < len && d[i] != q; i++)
			;
		if (i >= len)
			return XF_DECLINED;
		if (n == 4 && memcmp(d + an, "type", 4) == 0) {
			if (unescape(d + vs, i - vs, type, typelen) != XF_OK)
				return XF_DECLINED;
		} else if (n == 4 && memcmp(d + an, "from", 4) == 0) {
			if (unescape(d + vs, i - vs, from, fromlen) != XF_OK)
				return XF_DECLINED;
		}
		i++;
	}
}

/* Unlinks h from cs's list; pp points at the link to h. */
static void
unlink_held(csi_t *cs, held_t **pp, held_t *h)
{
	*pp = h->h_next;
	if (cs->cs_tail == &h->h_next)
		cs->cs_tail = pp;
	cs->cs_n--;
	cs->cs_bytes -= h->h_len;
}

static void
flush_all(xf_stream_t *c, csi_t *cs)
{
	held_t	*h, *next;

	/* Detached first: the writes run the later modules' hooks. */
	h = cs->cs_head;
	cs->cs_head = NULL;
	cs->cs_tail = &cs->cs_head;
	cs->cs_n = 0;
	cs->cs_bytes = 0;
	for (; h != NULL; h = next) {
		next = h->h_next;
		xf_stream_write(c, xf_mod_csi.m_index + 1, h->h_data, h->h_len);
		free(h);
	}
}

static void
drop_all(csi_t *cs)
{
	held_t	*h, *next;

	for (h = cs->cs_head; h != NULL; h = next) {
		next = h->h_next;
		free(h);
	}
	cs->cs_head = NULL;
	cs->cs_tail = &cs->cs_head;
	cs->cs_n = 0;
	cs->cs_bytes = 0;
}

/* Takes from's held presence out of the list; NULL if none. */
static held_t *
take(csi_t *cs, const char *from)
{
	held_t	**pp, *h;

	for (pp = &cs->cs_head; (h = *pp) != NULL; pp = &h->h_next)
		if (strcmp(h->h_from, from) == 0) {
			unlink_held(cs, pp, h);
			h->h_next = NULL;
			return h;
		}
	return NULL;
}

static int
hold(xf_stream_t *c, csi_t *cs, const char *from, const char *data, size_t len)
{
	held_t	*h;
	size_t	 fl = strlen(from);

	if ((h = malloc(sizeof(*h) + len + fl + 1)) == NULL)
		return XF_DECLINED;		/* not held: it goes out now */
	free(take(cs, from));			/* superseded */
	h->h_next = NULL;
	h->h_len = len;
	memcpy(h->h_data, data, len);
	h->h_from = h->h_data + len;
	memcpy(h->h_from, from, fl + 1);
	*cs->cs_tail = h;
	cs->cs_tail = &h->h_next;
	cs->cs_n++;
	cs->cs_bytes += len;
	if (cs->cs_n > HELD_MAX || cs->cs_bytes > HELD_BYTES_MAX)
		flush_all(c, cs);
	return XF_OK;
}

static int
csi_send(xf_stream_t *c, const char *data, size_t len)
{
	csi_t	*cs = CSI(c);
	char	 name[16], type[32], from[XF_JID_MAX + 1];
	held_t	*h;

	if (cs == NULL || !cs->cs_inactive)
		return XF_DECLINED;
	if (scan_tag(data, len, name, sizeof(name), type, sizeof(type), from,
	    sizeof(from)) != XF_OK || from[0] == '\0')
		return XF_DECLINED;
	if (strcmp(name, "presence") == 0 && (type[0] == '\0' ||
	    strcmp(type, "unavailable") == 0) && strcmp(from, c->s_full) != 0)
		return hold(c, cs, from, data, len);
	if ((h = take(cs, from)) != NULL) {
		xf_stream_write(c, xf_mod_csi.m_index + 1, h->h_data, h->h_len);
		free(h);
	}
	return XF_DECLINED;
}

static csi_t *
state(xf_stream_t *c)
{
	csi_t	*cs = CSI(c);

	if (cs == NULL && (cs = calloc(1, sizeof(*cs))) != NULL) {
		cs->cs_tail = &cs->cs_head;
		c->s_mod[xf_mod_csi.m_index] = cs;
	}
	return cs;
}

/* <active/> and <inactive/> are nonzas: no answer (XEP-0352). */
static int
csi_element(xf_stream_t *c, xf_el_t *el)
{
	csi_t	*cs;

	if (el->e_ns == NULL || strcmp(el->e_ns, NS_CSI) != 0)
		return XF_DECLINED;
	if (strcmp(el->e_name, "inactive") == 0) {
		if ((cs = state(c)) != NULL)
			cs->cs_inactive = 1;
	} else if (strcmp(el->e_name, "active") == 0) {
		if ((cs = CSI(c)) != NULL) {
			cs->cs_inactive = 0;
			flush_all(c, cs);
		}
	} else
		return XF_DECLINED;
	log_debug("c%llu: csi %s", (unsigned long long)c->s_id, el->e_name);
	return XF_OK;
}

static void
csi_features(xf_stream_t *c, xf_buf_t *b)
{
	xf_buf_puts(b, "<csi xmlns='" NS_CSI "'/>");
}

/*
 * The stream was cut (not closed): what is held goes on to SM, which may
 * keep it for a resumption.  After a clean close nothing may follow
 * </stream:stream>, so it is dropped with the connection.
 */
static int
csi_unbound(xf_stream_t *c)
{
	csi_t	*cs = CSI(c);

	if (cs == NULL)
		return XF_DECLINED;
	cs->cs_inactive = 0;
	if (c->s_clean)
		drop_all(cs);
	else
		flush_all(c, cs);
	return XF_DECLINED;
}

static void
csi_conn_free(xf_stream_t *c)
{
	csi_t	*cs = CSI(c);

	if (cs == NULL)
		return;
	drop_all(cs);
	free(cs);
	c->s_mod[xf_mod_csi.m_index] = NULL;
}

xf_mod_t xf_mod_csi = {
	.m_name = "csi",
	.m_kind = &xf_kind_c2s,
	.m_features = csi_features,
	.m_element = csi_element,
	.m_send = csi_send,
	.m_unbound = csi_unbound,
	.m_stream_free = csi_conn_free,
};
