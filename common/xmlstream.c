/* xmlstream.c: the streaming XMPP parser: bytes in, one stanza at a time out. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "xf.h"
#include "xml.h"
#include "xmlstream.h"

/*
 * How this parser talks to its caller (beyond xmlstream.h):
 *
 *  - The stream header handed to cb->open is an element named "stream"
 *    in XF_NS_STREAM with the header's attributes.  Its default
 *    namespace declaration (xmlns='jabber:client' or 'jabber:server')
 *    is not an attribute in XML Namespaces terms, but c2s/s2s must check
 *    it, so it is stored as an unqualified attribute named "xmlns":
 *    xf_el_attr(hdr, "xmlns").  Absent when the header declares none.
 *    Prefixed declarations on the header are kept the same way, as
 *    "xmlns:PREFIX" (s2s looks for xmlns:db, XEP-0220), the first
 *    MAX_HDR_DECLS of them.  xf_el_write() never writes these attributes
 *    back.  The header stays valid until xf_xmls_reset() or _free().
 *
 *  - Callbacks must not call xf_xmls_feed(), _reset() or _free() on
 *    their own parser (expat is running); return XF_AGAIN and do it
 *    after feed returns.
 *
 *  - Error conditions: xf_xmls_error() is NULL while all is well.  A
 *    callback returning XF_ERR makes feed return XF_ERR with error ""
 *    (the empty string): the callback has already dealt with it and no
 *    stream error should be generated here.  Besides the conditions
 *    xmlstream.h lists, "unsupported-encoding" is returned for an XML
 *    declaration naming an encoding other than UTF-8 (RFC 6120 11.6).
 *
 *  - After XF_AGAIN the parser is suspended right after the event whose
 *    callback asked for it; the bytes past *used were not parsed and
 *    belong to the caller.  The only ways on are xf_xmls_reset() (then
 *    feed the rest, normally a new stream header) or xf_xmls_free();
 *    feeding without a reset is an "internal-server-error", because
 *    expat has already buffered the unparsed tail and would parse it
 *    twice.
 *
 *  - Depth: the stream element is depth 0, stanzas depth 1.  At most
 *    XMLS_MAX_DEPTH elements may be open inside the stream, i.e. a
 *    stanza nests at most 64 levels including itself.
 *
 *  - Size: the stream header and every stanza are limited to max_stanza
 *    bytes, counted from the first byte of the start tag (for a start
 *    tag still being received: from the end of the previous stanza).
 *    The check runs inside the handlers and after every FEED_CHUNK
 *    bytes handed to expat, so an endless stanza or start tag fails
 *    once it crosses the limit and memory stays bounded by
 *    max_stanza + FEED_CHUNK whatever the caller's buffer size.
 *
 *  - Counts (xf_xmls_limits()): the size limit alone lets a 256 KB
 *    stanza hold 40,000 attributes or 60,000 empty children, each one
 *    an allocation of a hundred bytes or more and a step in every
 *    lookup the server then makes on that element.  Attributes are
 *    counted before the element is built, children as they open, so
 *    nothing past the limit is ever allocated.
 */

#define XMLS_MAX_DEPTH	64
#define FEED_CHUNK	4096
#define MAX_HDR_DECLS	16

/*
 * Expat joins namespace URI and local name with this byte.  0xff never
 * occurs in UTF-8, so it cannot be part of a URI or a name (a '\n'
 * could, in a URI written as &#10;).
 */
#define NS_SEP		'\xff'

struct xf_xmls_s {
	XML_Parser	 x_p;
	xf_xmls_cb_t	 x_cb;
	void		*x_ud;
	size_t		 x_max;		/* 0 = no limit */
	unsigned	 x_max_attrs;	/* per element; 0 = no limit */
	unsigned	 x_max_children; /* per element; 0 = no limit */

	int		 x_depth;	/* open elements; stream = 1 */
	/* Child elements so far of the open element at each depth: owned,
	 * made by the first stanza, given back with the parser when idle
	 * (an idle session's memory). */
	unsigned	*x_nchild;
	xf_el_t		*x_hdr;		/* owned; given to open */
	xf_el_t		*x_stanza;	/* owned until given to stanza */
	xf_el_t		*x_cur;		/* innermost open, in x_stanza */
	xf_el_t		*x_decls;	/* owned; header's ns decls */
	int		 x_ndecls;
	xf_buf_t	 x_text;	/* owned; text not in x_cur yet */

	/* Byte positions since the last reset, as expat counts them. */
	XML_Index	 x_fed;		/* bytes handed to expat */
	XML_Index	 x_mark;	/* where this stanza began */
	XML_Index	 x_again_at;	/* end of the AGAIN event */

	int		 x_suspended;	/* XF_AGAIN given; reset next */
	int		 x_parked;	/* parser freed while idle */
	int		 x_priming;	/* feeding the replacement header */
	int		 x_restarted;	/* reset, nothing but blanks fed yet */
	int		 x_cdata;	/* inside <![CDATA[ ... ]]> */
	const char	*x_err;		/* condition, or NULL */
	char		 x_errtext[256];
};

/*
 * Debian 12 backports the 2.6.0 reparse-deferral switch into its 2.5.0
 * without bumping the version; elsewhere 2.5 lacks it.  A weak
 * reference works on both.  Deferral must be off: it holds a completed
 * tag back until more bytes arrive, which delays stanzas on an idle
 * stream and would let an event end before the bytes of this feed.
 */
XMLPARSEAPI(XML_Bool) XML_SetReparseDeferralEnabled(XML_Parser, XML_Bool)
    __attribute__((weak));

static void
verror(xf_xmls_t *x, const char *cond, const char *fmt, va_list ap)
{
	if (x->x_err != NULL)
		return;		/* the first error is the one to tell */
	x->x_err = cond;
	vsnprintf(x->x_errtext, sizeof(x->x_errtext), fmt, ap);
}

/* Records an error outside expat's handlers. */
static void
set_error(xf_xmls_t *x, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(xf_xmls_t *x, const char *cond, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(x, cond, fmt, ap);
	va_end(ap);
}

/*
 * From a handler: records an error and makes XML_Parse() return for
 * good.  Expat may still call a few handlers after a stop (the end of
 * an empty element, say); every handler returns at once once x_err is
 * set.
 */
static void
fail(xf_xmls_t *x, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(xf_xmls_t *x, const char *cond, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verror(x, cond, fmt, ap);
	va_end(ap);
	XML_StopParser(x->x_p, XML_FALSE);
}

static XML_Index
event_end(xf_xmls_t *x)
{
	return XML_GetCurrentByteIndex(x->x_p) +
	    XML_GetCurrentByteCount(x->x_p);
}

/* Does the stanza (or header) under way reach past max at pos? */
static int
over_limit(const xf_xmls_t *x, XML_Index pos)
{
	return x->x_max != 0 && pos - x->x_mark > (XML_Index)x->x_max;
}

/* From a handler: policy-violation when over the limit at pos. */
static int
too_big(xf_xmls_t *x, XML_Index pos)
{
	if (!over_limit(x, pos))
		return 0;
	fail(x, "policy-violation", "stanza larger than %zu bytes", x->x_max);
	return 1;
}

/* Acts on what a callback returned. */
static void
cb_result(xf_xmls_t *x, int rc)
{
	if (rc == XF_AGAIN) {
		/* A second AGAIN in the same token moves the end along. */
		x->x_again_at = event_end(x);
		if (!x->x_suspended) {
			x->x_suspended = 1;
			XML_StopParser(x->x_p, XML_TRUE);
		}
	} else if (rc != XF_OK)
		fail(x, "", "callback failed");
}

/* Splits expat's "uri<SEP>local" (or "local") into a static pair. */
static const char *
split_name(const char *name, const char **ns, size_t *nslen)
{
	const char	*sep;

	if ((sep = strchr(name, NS_SEP)) == NULL) {
		*ns = "";
		*nslen = 0;
		return name;
	}
	*ns = name;
	*nslen = sep - name;
	return sep + 1;
}

/*
 * Builds the element of a start tag.  Attributes are linked directly, in
 * document order, not through xf_el_set_attr_ns(), whose duplicate
 * check costs O(n) per attribute: expat has already refused duplicates,
 * and a start tag with thousands of attributes must not cost O(n^2).
 * They are malloc'ed like xml.c's own, and xf_el_free() frees them.
 */
static xf_el_t *
make_el(xf_xmls_t *x, const char *name, const char **atts)
{
	xf_el_t		*el = NULL;
	xf_attr_t	*a, **tail;
	const char	*local, *ns;
	char		*nsz;
	size_t		 nslen;

	local = split_name(name, &ns, &nslen);
	if ((nsz = strndup(ns, nslen)) == NULL)
		goto fail;
	el = xf_el_new(nsz, local);
	free(nsz);
	if (el == NULL)
		goto fail;
	tail = &el->e_attrs;
	for (; atts[0] != NULL; atts += 2) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			goto fail;
		*tail = a;
		tail = &a->a_next;
		local = split_name(atts[0], &ns, &nslen);
		if ((nslen > 0 && (a->a_ns = strndup(ns, nslen)) == NULL) ||
		    (a->a_name = strdup(local)) == NULL ||
		    (a->a_value = strdup(atts[1])) == NULL)
			goto fail;
	}
	return el;

fail:
	xf_el_free(el);
	fail(x, "internal-server-error", "out of memory");
	return NULL;
}

/*
 * Expat hands text over in pieces (one per buffer, one per character
 * reference); they are gathered here and added to the open element in
 * one go at its next tag, so "&lt;" repeated 10000 times is one append,
 * not 10000 reallocs of a growing string.
 */
static int
flush_text(xf_xmls_t *x)
{
	int	 rc;

	if (xf_buf_size(&x->x_text) == 0)
		return XF_OK;
	rc = xf_el_add_text(x->x_cur, xf_buf_data(&x->x_text),
	    xf_buf_size(&x->x_text));
	xf_buf_reset(&x->x_text);
	if (rc != XF_OK)
		fail(x, "internal-server-error", "out of memory");
	return rc;
}

/* From a handler: policy-violation when a start tag has too many
 * attributes.  Counted before anything is allocated for them. */
static int
too_many_attrs(xf_xmls_t *x, const XML_Char **atts)
{
	unsigned	 n;

	if (x->x_max_attrs == 0)
		return 0;
	for (n = 0; atts[2 * n] != NULL; n++)
		if (n == x->x_max_attrs) {
			fail(x, "policy-violation", "element with more "
			    "than %u attributes", x->x_max_attrs);
			return 1;
		}
	return 0;
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	xf_xmls_t	*x = ud;
	xf_el_t		*el;
	xf_attr_t	*a;
	XML_Index	 at;

	if (x->x_err != NULL)
		return;
	at = XML_GetCurrentByteIndex(x->x_p);

	if (x->x_depth == 0) {
		if (x->x_priming) {
			/* The stand-in header of an unparked stream. */
			x->x_depth = 1;
			return;
		}
		if (too_big(x, event_end(x)) || too_many_attrs(x, atts))
			return;
		if ((el = make_el(x, name, atts)) == NULL)
			return;
		x->x_hdr = el;
		x->x_depth = 1;
		if (strcmp(el->e_ns, XF_NS_STREAM) != 0 ||
		    strcmp(el->e_name, "stream") != 0) {
			fail(x, "invalid-namespace", "stream element is "
			    "{%.100s}%.50s", el->e_ns, el->e_name);
			return;
		}
		for (a = x->x_decls ? x->x_decls->e_attrs : NULL; a != NULL;
		    a = a->a_next)
			if (xf_el_set_attr(el, a->a_name, a->a_value) !=
			    XF_OK) {
				fail(x, "internal-server-error",
				    "out of memory");
				return;
			}
		x->x_mark = event_end(x);
		if (x->x_cb.open != NULL)
			cb_result(x, x->x_cb.open(x->x_ud, el));
		return;
	}

	if (x->x_depth > XMLS_MAX_DEPTH) {
		fail(x, "policy-violation", "elements nested deeper than %d",
		    XMLS_MAX_DEPTH);
		return;
	}
	if (x->x_depth == 1)
		x->x_mark = at;
	else if (flush_text(x) != XF_OK)
		return;
	if (too_big(x, event_end(x)) || too_many_attrs(x, atts))
		return;
	if (x->x_nchild == NULL && (x->x_nchild = calloc(XMLS_MAX_DEPTH + 1,
	    sizeof(*x->x_nchild))) == NULL) {
		fail(x, "internal-server-error", "out of memory");
		return;
	}
	/* x_nchild[d]: the open element at depth d, the stanza being 1. */
	if (x->x_depth > 1 && x->x_max_children != 0 &&
	    ++x->x_nchild[x->x_depth - 1] > x->x_max_children) {
		fail(x, "policy-violation", "element with more than %u "
		    "children", x->x_max_children);
		return;
	}
	if ((el = make_el(x, name, atts)) == NULL)
		return;
	if (x->x_depth == 1)
		x->x_stanza = el;
	else
		xf_el_append(x->x_cur, el);
	x->x_cur = el;
	x->x_nchild[x->x_depth] = 0;
	x->x_depth++;
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	xf_xmls_t	*x = ud;
	xf_el_t		*st;

	if (x->x_err != NULL)
		return;
	if (x->x_depth > 1 && flush_text(x) != XF_OK)
		return;
	x->x_depth--;
	if (x->x_depth == 0) {
		x->x_mark = event_end(x);
		if (x->x_cb.close != NULL)
			cb_result(x, x->x_cb.close(x->x_ud));
		return;
	}
	if (x->x_depth > 1) {
		x->x_cur = x->x_cur->e_parent;
		return;
	}
	if (too_big(x, event_end(x)))
		return;
	st = x->x_stanza;
	x->x_stanza = x->x_cur = NULL;
	x->x_mark = event_end(x);
	if (x->x_cb.stanza != NULL)
		cb_result(x, x->x_cb.stanza(x->x_ud, st));
	else
		xf_el_free(st);
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	xf_xmls_t	*x = ud;
	int		 i;

	if (x->x_err != NULL)
		return;
	if (x->x_depth > 1) {
		/* Text from an entity reference has no byte count (0). */
		if (too_big(x, event_end(x)))
			return;
		if (xf_buf_append(&x->x_text, s, (size_t)len) != XF_OK)
			fail(x, "internal-server-error", "out of memory");
		return;
	}
	/* Between stanzas: whitespace keepalives only (RFC 6120 4.6.1). */
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r') {
			fail(x, "bad-format", "text between stanzas");
			return;
		}
	if (XML_GetCurrentByteCount(x->x_p) > 0)
		x->x_mark = event_end(x);
}

static void XMLCALL
on_nsdecl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
	xf_xmls_t	*x = ud;
	char		 name[128];

	if (x->x_err != NULL)
		return;
	/* Only the header's declarations are kept (see top). */
	if (x->x_depth != 0 || x->x_priming || x->x_ndecls >= MAX_HDR_DECLS)
		return;
	x->x_ndecls++;
	if (prefix == NULL)
		snprintf(name, sizeof(name), "xmlns");
	else if ((size_t)snprintf(name, sizeof(name), "xmlns:%s", prefix) >=
	    sizeof(name))
		return;		/* nobody looks for such a prefix */
	if ((x->x_decls == NULL &&
	    (x->x_decls = xf_el_new(NULL, "decls")) == NULL) ||
	    xf_el_set_attr(x->x_decls, name, uri ? uri : "") != XF_OK)
		fail(x, "internal-server-error", "out of memory");
}

static void XMLCALL
on_xmldecl(void *ud, const XML_Char *version, const XML_Char *encoding,
    int standalone)
{
	xf_xmls_t	*x = ud;

	if (encoding != NULL && strcasecmp(encoding, "UTF-8") != 0)
		fail(x, "unsupported-encoding", "encoding %.50s", encoding);
}

/*
 * RFC 6120 section 11.1: no comments, processing instructions, internal
 * or external DTD subsets, or entity declarations.  Refusing the DOCTYPE
 * itself means no entity can ever be declared, so entity expansion
 * attacks (billion laughs, external entities) cannot start.
 */
static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	fail(ud, "restricted-xml", "DOCTYPE declaration");
}

static void XMLCALL
on_entitydecl(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	fail(ud, "restricted-xml", "entity declaration");
}

static void XMLCALL
on_unparsed(void *ud, const XML_Char *name, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	fail(ud, "restricted-xml", "unparsed entity declaration");
}

static void XMLCALL
on_notation(void *ud, const XML_Char *name, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid)
{
	fail(ud, "restricted-xml", "notation declaration");
}

static void XMLCALL
on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
	fail(ud, "restricted-xml", "processing instruction");
}

static void XMLCALL
on_comment(void *ud, const XML_Char *data)
{
	fail(ud, "restricted-xml", "comment");
}

/*
 * Whitespace in a CDATA section between stanzas moves x_mark like any
 * other, so without this a stream would look idle inside one, and
 * parking would drop expat's knowledge that it is.
 */
static void XMLCALL
on_cdata_start(void *ud)
{
	((xf_xmls_t *)ud)->x_cdata = 1;
}

static void XMLCALL
on_cdata_end(void *ud)
{
	((xf_xmls_t *)ud)->x_cdata = 0;
}

/* Never load anything from outside; unreachable once DOCTYPE is
 * refused, but it costs nothing to be sure. */
static int XMLCALL
on_extent(XML_Parser p, const XML_Char *context, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid)
{
	return XML_STATUS_ERROR;
}

static void
setup(xf_xmls_t *x)
{
	XML_Parser	 p = x->x_p;

	XML_SetUserData(p, x);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartNamespaceDeclHandler(p, on_nsdecl);
	XML_SetXmlDeclHandler(p, on_xmldecl);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entitydecl);
	XML_SetUnparsedEntityDeclHandler(p, on_unparsed);
	XML_SetNotationDeclHandler(p, on_notation);
	XML_SetProcessingInstructionHandler(p, on_pi);
	XML_SetCommentHandler(p, on_comment);
	XML_SetCdataSectionHandler(p, on_cdata_start, on_cdata_end);
	XML_SetExternalEntityRefHandler(p, on_extent);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_SetReparseDeferralEnabled != NULL)
		XML_SetReparseDeferralEnabled(p, XML_FALSE);
}

/* Drops everything that belongs to the current stream. */
static void
clear(xf_xmls_t *x)
{
	xf_el_free(x->x_hdr);
	xf_el_free(x->x_stanza);
	xf_el_free(x->x_decls);
	xf_buf_free(&x->x_text);
	x->x_hdr = x->x_stanza = x->x_cur = x->x_decls = NULL;
	x->x_ndecls = 0;
	x->x_depth = 0;
	x->x_fed = x->x_mark = x->x_again_at = 0;
	x->x_suspended = 0;
	x->x_parked = 0;
	x->x_cdata = 0;
	x->x_err = NULL;
	x->x_errtext[0] = '\0';
}

xf_xmls_t *
xf_xmls_new(size_t max_stanza, const xf_xmls_cb_t *cb, void *ud)
{
	xf_xmls_t	*x;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	/* Forcing UTF-8 overrides any encoding the document declares. */
	if ((x->x_p = XML_ParserCreateNS("UTF-8", NS_SEP)) == NULL) {
		free(x);
		return NULL;
	}
	if (cb != NULL)
		x->x_cb = *cb;
	x->x_ud = ud;
	x->x_max = max_stanza;
	setup(x);
	return x;
}

void
xf_xmls_limits(xf_xmls_t *x, unsigned max_attrs, unsigned max_children)
{
	x->x_max_attrs = max_attrs;
	x->x_max_children = max_children;
}

void
xf_xmls_free(xf_xmls_t *x)
{
	if (x == NULL)
		return;
	clear(x);
	XML_ParserFree(x->x_p);
	free(x->x_nchild);
	free(x);
}

int
xf_xmls_reset(xf_xmls_t *x)
{
	clear(x);
	x->x_restarted = 1;
	/* Reset keeps the namespace mode but clears every handler. */
	if (x->x_p == NULL || XML_ParserReset(x->x_p, "UTF-8") != XML_TRUE) {
		if (x->x_p != NULL)
			XML_ParserFree(x->x_p);
		if ((x->x_p = XML_ParserCreateNS("UTF-8", NS_SEP)) == NULL) {
			set_error(x, "internal-server-error", "out of memory");
			return XF_ERR;
		}
	}
	setup(x);
	return XF_OK;
}

/*
 * An idle stream's expat parser is most of what the stream costs in
 * memory (about 10 KiB: expat's buffers and name pools).  Between
 * stanzas, with nothing half read, it can go; the next feed makes a new
 * one and primes it with a header declaring the same namespaces, under
 * the same prefixes, so the stream goes on as if nothing had happened
 * (the client's closing tag must match the prefix of its opening one).
 */
int
xf_xmls_idle(const xf_xmls_t *x)
{
	if (x->x_parked)
		return 1;
	return x->x_p != NULL && x->x_err == NULL && !x->x_suspended &&
	    x->x_depth == 1 && x->x_stanza == NULL && !x->x_cdata &&
	    x->x_mark == x->x_fed && xf_buf_size(&x->x_text) == 0 &&
	    x->x_hdr != NULL;
}

int
xf_xmls_park(xf_xmls_t *x)
{
	if (x->x_parked)
		return XF_OK;
	if (!xf_xmls_idle(x))
		return XF_DECLINED;
	XML_ParserFree(x->x_p);
	x->x_p = NULL;
	x->x_parked = 1;
	xf_buf_free(&x->x_text);
	free(x->x_nchild);
	x->x_nchild = NULL;
	return XF_OK;
}

static int
unpark(xf_xmls_t *x)
{
	xf_buf_t	 h = { 0 };
	const xf_attr_t	*a;
	const char	*pfx = "stream";
	enum XML_Status	 st;
	int		 r = XF_ERR;

	if ((x->x_p = XML_ParserCreateNS("UTF-8", NS_SEP)) == NULL)
		goto fail;
	setup(x);
	for (a = x->x_hdr->e_attrs; a != NULL; a = a->a_next)
		if (a->a_ns == NULL && strncmp(a->a_name, "xmlns:", 6) == 0 &&
		    strcmp(a->a_value, XF_NS_STREAM) == 0)
			pfx = a->a_name + 6;
	xf_buf_printf(&h, "<%s:stream", pfx);
	for (a = x->x_hdr->e_attrs; a != NULL; a = a->a_next) {
		if (a->a_ns != NULL || strncmp(a->a_name, "xmlns", 5) != 0 ||
		    (a->a_name[5] != '\0' && a->a_name[5] != ':'))
			continue;
		xf_buf_printf(&h, " %s='", a->a_name);
		xf_xml_escape_attr(&h, a->a_value, strlen(a->a_value));
		xf_buf_puts(&h, "'");
	}
	if (xf_buf_puts(&h, ">") != XF_OK)
		goto fail;
	x->x_depth = 0;
	x->x_priming = 1;
	st = XML_Parse(x->x_p, xf_buf_data(&h), (int)xf_buf_size(&h),
	    XML_FALSE);
	x->x_priming = 0;
	if (st != XML_STATUS_OK || x->x_depth != 1 || x->x_err != NULL)
		goto fail;
	/* Positions count in the new parser's bytes, header included. */
	x->x_fed = x->x_mark = (XML_Index)xf_buf_size(&h);
	x->x_again_at = 0;
	x->x_parked = 0;
	r = XF_OK;
fail:
	xf_buf_free(&h);
	if (r != XF_OK)
		set_error(x, "internal-server-error", "cannot resume parser");
	return r;
}

int
xf_xmls_feed(xf_xmls_t *x, const char *buf, size_t len, size_t *used)
{
	XML_Index		 start, nulpos = 0;
	enum XML_Status		 st;
	size_t			 off = 0, skip, n, end;
	const char		*nul;

	if (used != NULL)
		*used = 0;
	if (x->x_parked && x->x_err == NULL && unpark(x) != XF_OK)
		return XF_ERR;
	start = x->x_fed;
	if (x->x_err != NULL || x->x_p == NULL)
		return XF_ERR;
	if (x->x_suspended) {
		set_error(x, "internal-server-error",
		    "feed after XF_AGAIN without a reset");
		return XF_ERR;
	}
	/*
	 * Clients end the element before a restart (</auth>, <starttls/>)
	 * with a newline, and it arrives at the restarted stream, where
	 * expat allows nothing before an XML declaration.  Blanks between
	 * two XML documents belong to neither: skipped, and counted as used.
	 */
	if (x->x_restarted) {
		while (off < len && (buf[off] == ' ' || buf[off] == '\t' ||
		    buf[off] == '\r' || buf[off] == '\n'))
			off++;
		if (off == len) {
			if (used != NULL)
				*used = len;
			return XF_OK;
		}
		x->x_restarted = 0;
	}
	skip = off;

	/*
	 * Expat guesses UTF-16 from a byte order mark or from a NUL among
	 * the first bytes even when told UTF-8, and then reads a whole
	 * UTF-16 stream; whether it guessed depended on how many bytes the
	 * first read brought.  XML never allows U+0000, and each encoding
	 * expat could guess puts a NUL byte in the first '<': so expat
	 * gets the bytes before a NUL, and the NUL ends the stream, with
	 * unsupported-encoding where it starts one (RFC 6120 11.6).
	 */
	if ((nul = memchr(buf + off, '\0', len - off)) != NULL) {
		end = (size_t)(nul - buf);
		nulpos = x->x_fed + (XML_Index)(end - off);
	} else
		end = len;

	do {
		n = end - off < FEED_CHUNK ? end - off : FEED_CHUNK;
		st = XML_Parse(x->x_p, buf + off, (int)n, XML_FALSE);
		x->x_fed += n;
		off += n;
		if (st == XML_STATUS_ERROR) {
			if (x->x_err == NULL)
				set_error(x, "not-well-formed",
				    "%s (line %lu, column %lu)",
				    XML_ErrorString(XML_GetErrorCode(x->x_p)),
				    (unsigned long)
				    XML_GetCurrentLineNumber(x->x_p),
				    (unsigned long)
				    XML_GetCurrentColumnNumber(x->x_p));
			return XF_ERR;
		}
		if (x->x_err != NULL)
			return XF_ERR;
		if (st == XML_STATUS_SUSPENDED) {
			/* Deferral is off, so the event ended in this feed. */
			if (used != NULL && x->x_again_at > start)
				*used = skip + (size_t)(x->x_again_at - start);
			return XF_AGAIN;
		}
		/* A stanza or start tag that has not ended yet. */
		if (over_limit(x, x->x_fed)) {
			set_error(x, "policy-violation",
			    "stanza larger than %zu bytes", x->x_max);
			return XF_ERR;
		}
	} while (off < end);
	if (nul != NULL) {
		set_error(x, nulpos < 4 ? "unsupported-encoding" :
		    "not-well-formed", "NUL byte at offset %lld: not UTF-8",
		    (long long)nulpos);
		return XF_ERR;
	}

	if (used != NULL)
		*used = len;
	return XF_OK;
}

const char *
xf_xmls_error(const xf_xmls_t *x)
{
	return x->x_err;
}

const char *
xf_xmls_errtext(const xf_xmls_t *x)
{
	return x->x_errtext;
}

/* ---- one element from bytes -------------------------------------------- */

typedef struct one_s {
	xf_el_t	*o_el;
} one_t;

static int
one_open(void *ud, const xf_el_t *hdr)
{
	return XF_OK;
}

static int
one_stanza(void *ud, xf_el_t *el)
{
	one_t	*o = ud;

	if (o->o_el == NULL)
		o->o_el = el;
	else
		xf_el_free(el);
	return XF_OK;
}

/*
 * Parses one serialised element (a stored roster item, a stanza that
 * came through a ring) as if it sat in a stream whose default namespace
 * is ns.  Returns the element, or NULL if the bytes are not one.  The
 * caller frees it.
 */
xf_el_t *
xf_xml_parse(const char *data, size_t len, const char *ns)
{
	static const xf_xmls_cb_t cb = { one_open, one_stanza, NULL };
	one_t		 o = { NULL };
	xf_xmls_t	*p;
	xf_buf_t	 hdr = { 0 };
	size_t		 used;

	if ((p = xf_xmls_new(0, &cb, &o)) == NULL)
		return NULL;
	xf_buf_puts(&hdr, "<stream:stream xmlns='");
	xf_xml_escape_attr(&hdr, ns, strlen(ns));
	xf_buf_puts(&hdr, "' xmlns:stream='" XF_NS_STREAM "'>");
	if (xf_xmls_feed(p, xf_buf_data(&hdr), xf_buf_size(&hdr), &used)
	    != XF_OK || xf_xmls_feed(p, data, len, &used) != XF_OK) {
		xf_el_free(o.o_el);
		o.o_el = NULL;
	}
	xf_buf_free(&hdr);
	xf_xmls_free(p);
	return o.o_el;
}
