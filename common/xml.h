/* xml.h: the stanza tree: elements, attributes, text, escaping, serialising. */
#ifndef XF_XML_H
#define XF_XML_H

#include <stddef.h>

#include "buf.h"

#define XF_NS_CLIENT	"jabber:client"
#define XF_NS_SERVER	"jabber:server"
#define XF_NS_STREAM	"http://etherx.jabber.org/streams"
#define XF_NS_XML	"http://www.w3.org/XML/1998/namespace"
#define XF_NS_STANZAS	"urn:ietf:params:xml:ns:xmpp-stanzas"
#define XF_NS_STREAMS	"urn:ietf:params:xml:ns:xmpp-streams"
#define XF_NS_TLS	"urn:ietf:params:xml:ns:xmpp-tls"
#define XF_NS_SASL	"urn:ietf:params:xml:ns:xmpp-sasl"
#define XF_NS_BIND	"urn:ietf:params:xml:ns:xmpp-bind"
#define XF_NS_SESSION	"urn:ietf:params:xml:ns:xmpp-session"
#define XF_NS_FRAMING	"urn:ietf:params:xml:ns:xmpp-framing"	/* RFC 7395 */

typedef struct xf_el_s xf_el_t;
typedef struct xf_attr_s xf_attr_t;

/*
 * An element owns its name, namespace, attributes and children; freeing
 * the root with xf_el_free() frees the whole tree.  Namespaces are
 * resolved: e_ns is the namespace URI (never a prefix).  Attribute a_ns
 * is NULL for unqualified attributes; xml:lang has a_ns == XF_NS_XML.
 * Children are elements and text nodes in document order.
 */
struct xf_attr_s {
	char		*a_ns;
	char		*a_name;
	char		*a_value;
	xf_attr_t	*a_next;
};

struct xf_el_s {
	char		*e_ns;
	char		*e_name;
	xf_attr_t	*e_attrs;
	xf_el_t		*e_parent;
	xf_el_t		*e_children;	/* first child (element or text) */
	xf_el_t		*e_last;
	xf_el_t		*e_next;	/* next sibling */
	char		*e_text;	/* text node when e_name == NULL */
	size_t		 e_textlen;
};

xf_el_t	*xf_el_new(const char *ns, const char *name);
void	 xf_el_free(xf_el_t *);
xf_el_t	*xf_el_copy(const xf_el_t *);

/* Unqualified attribute by name, or NULL. */
const char *xf_el_attr(const xf_el_t *, const char *name);
/* Sets (value != NULL) or removes (value == NULL) an unqualified attr. */
int	 xf_el_set_attr(xf_el_t *, const char *name, const char *value);
int	 xf_el_set_attr_ns(xf_el_t *, const char *ns, const char *name,
	    const char *value);
const char *xf_el_attr_ns(const xf_el_t *, const char *ns, const char *name);

/* Appends a child element / text; returns the child or NULL on ENOMEM. */
xf_el_t	*xf_el_add(xf_el_t *parent, const char *ns, const char *name);
int	 xf_el_add_text(xf_el_t *parent, const char *text, size_t len);
/* Takes ownership of child and appends it. */
void	 xf_el_append(xf_el_t *parent, xf_el_t *child);
/* Unlinks and frees a direct child. */
void	 xf_el_remove(xf_el_t *parent, xf_el_t *child);

/* First child element matching ns and name (either may be NULL = any). */
xf_el_t	*xf_el_child(const xf_el_t *, const char *ns, const char *name);
/* Element-only iteration over children. */
xf_el_t	*xf_el_first(const xf_el_t *);
xf_el_t	*xf_el_next(const xf_el_t *);
/* Concatenated text of direct text children; caller frees. */
char	*xf_el_text(const xf_el_t *);

/*
 * Serialises el as it would appear inside a stream whose default
 * namespace is ctx_ns: an xmlns attribute is written only where the
 * namespace differs from the enclosing one.
 */
int	 xf_el_write(const xf_el_t *, const char *ctx_ns, xf_buf_t *out);

/* a equals b; a may be NULL (an absent attribute): then false. */
static inline int
xf_streq(const char *a, const char *b)
{
	return a != NULL && __builtin_strcmp(a, b) == 0;
}

/* el is in namespace ns. */
static inline int
xf_el_in(const xf_el_t *el, const char *ns)
{
	return el->e_ns != NULL && __builtin_strcmp(el->e_ns, ns) == 0;
}

/* Escapes text for element content (&, <, >) or attribute values
 * (also ' and "). */
int	 xf_xml_escape(xf_buf_t *out, const char *s, size_t len);
int	 xf_xml_escape_attr(xf_buf_t *out, const char *s, size_t len);

#endif /* XF_XML_H */
