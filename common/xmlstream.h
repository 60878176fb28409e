/* xmlstream.h: the streaming XMPP parser (expat) that hands out one stanza at a time. */
#ifndef XF_XMLSTREAM_H
#define XF_XMLSTREAM_H

#include <stddef.h>

#include "xml.h"

typedef struct xf_xmls_s xf_xmls_t;

/*
 * Callbacks.  open gets the stream header element (attributes only, no
 * children; the parser keeps ownership).  stanza gets each complete
 * depth-1 element and owns it from then on.  close is called for
 * </stream:stream>.  A callback returns XF_OK to go on or XF_AGAIN to
 * make xf_xmls_feed() stop right after this event (used before a stream
 * restart or TLS start); XF_ERR stops with the error already handled.
 */
typedef struct xf_xmls_cb_s {
	int	(*open)(void *ud, const xf_el_t *hdr);
	int	(*stanza)(void *ud, xf_el_t *stanza);
	int	(*close)(void *ud);
} xf_xmls_cb_t;

/* max_stanza: largest depth-1 element in bytes (0 = no limit). */
xf_xmls_t *xf_xmls_new(size_t max_stanza, const xf_xmls_cb_t *, void *ud);
void	 xf_xmls_free(xf_xmls_t *);

/*
 * Limits per element (0 = none, the default): max_attrs attributes on
 * any element, the stream header included; max_children child elements
 * (text does not count) under any element inside a stanza, at any
 * depth.  Crossing one is a "policy-violation".  They hold across
 * resets, until xf_xmls_free().
 */
void	 xf_xmls_limits(xf_xmls_t *, unsigned max_attrs,
	    unsigned max_children);

/*
 * Feeds bytes.  Returns XF_OK when all len bytes were consumed; XF_AGAIN
 * when a callback asked to stop: *used then says how many bytes were
 * consumed (the rest belongs to whatever comes next); XF_ERR on a parse
 * error, with xf_xmls_error() giving the RFC 6120 stream error condition
 * ("not-well-formed", "restricted-xml", "policy-violation",
 * "invalid-namespace", "bad-format", "internal-server-error") and
 * xf_xmls_errtext() a human-readable detail.
 */
int	 xf_xmls_feed(xf_xmls_t *, const char *buf, size_t len, size_t *used);

/*
 * Frees the expat parser of a stream that sits between stanzas with
 * nothing half read (XF_OK), or leaves it (XF_DECLINED); the next feed
 * brings a new one, transparently.  For idle connections.
 */
int	 xf_xmls_park(xf_xmls_t *);

/* 1 when the stream sits between stanzas with nothing half read (a
 * message framing checks that each message held whole elements). */
int	 xf_xmls_idle(const xf_xmls_t *);

/* Starts over for a stream restart (after TLS or SASL). */
int	 xf_xmls_reset(xf_xmls_t *);

const char *xf_xmls_error(const xf_xmls_t *);
/* One element from its serialised bytes, in default namespace ns. */
xf_el_t	*xf_xml_parse(const char *data, size_t len, const char *ns);
const char *xf_xmls_errtext(const xf_xmls_t *);

#endif /* XF_XMLSTREAM_H */
