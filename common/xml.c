/* xml.c: the stanza tree: elements, attributes, text, escaping, serialising. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "xml.h"

/*
 * Conventions the rest of the server may rely on:
 *  - an element's e_ns is never NULL: "" means "no namespace";
 *  - a text node has e_name == NULL and e_ns == NULL, and e_text is
 *    NUL-terminated (e_textlen does not count the NUL);
 *  - xf_el_add() with ns == NULL puts the child in its parent's
 *    namespace, which is what a bare <item/> inside <query xmlns=...>
 *    means when parsed;
 *  - attributes keep the order they were set in, so output is stable.
 */

#define NS_XMLNS	"http://www.w3.org/2000/xmlns/"

static void
free_attrs(xf_attr_t *a)
{
	xf_attr_t	*next;

	for (; a != NULL; a = next) {
		next = a->a_next;
		free(a->a_ns);
		free(a->a_name);
		free(a->a_value);
		free(a);
	}
}

/* Frees el and everything under it; el must already be unlinked. */
static void
free_tree(xf_el_t *el)
{
	xf_el_t		*c, *next;

	for (c = el->e_children; c != NULL; c = next) {
		next = c->e_next;
		free_tree(c);
	}
	free_attrs(el->e_attrs);
	free(el->e_ns);
	free(el->e_name);
	free(el->e_text);
	free(el);
}

/* Takes child out of parent's list; does not free it. */
static void
unlink_child(xf_el_t *parent, xf_el_t *child)
{
	xf_el_t		*c, *prev = NULL;

	for (c = parent->e_children; c != NULL; prev = c, c = c->e_next)
		if (c == child)
			break;
	if (c == NULL)
		return;
	if (prev != NULL)
		prev->e_next = child->e_next;
	else
		parent->e_children = child->e_next;
	if (parent->e_last == child)
		parent->e_last = prev;
	child->e_next = NULL;
	child->e_parent = NULL;
}

xf_el_t *
xf_el_new(const char *ns, const char *name)
{
	xf_el_t		*el;

	if (name == NULL || (el = calloc(1, sizeof(*el))) == NULL)
		return NULL;
	if ((el->e_ns = strdup(ns ? ns : "")) == NULL ||
	    (el->e_name = strdup(name)) == NULL)
		goto fail;
	return el;

fail:
	free(el->e_ns);
	free(el);
	return NULL;
}

/* A linked child is unlinked first, so freeing never leaves a dangling
 * pointer in its parent. */
void
xf_el_free(xf_el_t *el)
{
	if (el == NULL)
		return;
	if (el->e_parent != NULL)
		unlink_child(el->e_parent, el);
	free_tree(el);
}

static xf_el_t *
new_text(const char *text, size_t len)
{
	xf_el_t		*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->e_text = malloc(len + 1)) == NULL) {
		free(t);
		return NULL;
	}
	memcpy(t->e_text, text, len);
	t->e_text[len] = '\0';
	t->e_textlen = len;
	return t;
}

static void
link_child(xf_el_t *parent, xf_el_t *child)
{
	child->e_parent = parent;
	child->e_next = NULL;
	if (parent->e_last != NULL)
		parent->e_last->e_next = child;
	else
		parent->e_children = child;
	parent->e_last = child;
}

/*
 * Copies the attribute list as it is, in order.  Not through
 * xf_el_set_attr_ns(): its duplicate check walks the earlier attributes,
 * O(n^2) for the list, and the list being copied already has none (the
 * parser refused them, set_attr replaced them), so there is nothing to
 * find.  A stanza with 20,000 attributes took seconds to copy that way.
 */
static int
copy_attrs(xf_el_t *n, const xf_attr_t *a)
{
	xf_attr_t	*na, **tail = &n->e_attrs;

	for (; a != NULL; a = a->a_next) {
		/* Linked first, so free_tree() frees a half-made one. */
		if ((na = calloc(1, sizeof(*na))) == NULL)
			return XF_ERR;
		*tail = na;
		tail = &na->a_next;
		if ((a->a_ns != NULL && (na->a_ns = strdup(a->a_ns)) == NULL) ||
		    (na->a_name = strdup(a->a_name)) == NULL ||
		    (na->a_value = strdup(a->a_value)) == NULL)
			return XF_ERR;
	}
	return XF_OK;
}

xf_el_t *
xf_el_copy(const xf_el_t *el)
{
	xf_el_t			*n, *cc;
	const xf_el_t		*c;

	if (el->e_name == NULL)
		return new_text(el->e_text, el->e_textlen);
	if ((n = xf_el_new(el->e_ns, el->e_name)) == NULL)
		return NULL;
	if (copy_attrs(n, el->e_attrs) != XF_OK)
		goto fail;
	for (c = el->e_children; c != NULL; c = c->e_next) {
		if ((cc = xf_el_copy(c)) == NULL)
			goto fail;
		link_child(n, cc);
	}
	return n;

fail:
	free_tree(n);
	return NULL;
}

static int
same_ns(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return b == NULL || *b == '\0';
	return b != NULL && strcmp(a, b) == 0;
}

static xf_attr_t *
find_attr(const xf_el_t *el, const char *ns, const char *name,
    xf_attr_t **prevp)
{
	xf_attr_t	*a, *prev = NULL;

	for (a = el->e_attrs; a != NULL; prev = a, a = a->a_next)
		if (strcmp(a->a_name, name) == 0 && same_ns(a->a_ns, ns))
			break;
	if (prevp != NULL)
		*prevp = prev;
	return a;
}

const char *
xf_el_attr_ns(const xf_el_t *el, const char *ns, const char *name)
{
	xf_attr_t	*a;

	if (el->e_name == NULL)
		return NULL;
	a = find_attr(el, ns, name, NULL);
	return a ? a->a_value : NULL;
}

const char *
xf_el_attr(const xf_el_t *el, const char *name)
{
	return xf_el_attr_ns(el, NULL, name);
}

int
xf_el_set_attr_ns(xf_el_t *el, const char *ns, const char *name,
    const char *value)
{
	xf_attr_t	*a, *prev, *last;
	char		*v;

	if (el->e_name == NULL || name == NULL)
		return XF_ERR;
	if (ns != NULL && *ns == '\0')
		ns = NULL;
	a = find_attr(el, ns, name, &prev);
	if (value == NULL) {
		if (a == NULL)
			return XF_OK;
		if (prev != NULL)
			prev->a_next = a->a_next;
		else
			el->e_attrs = a->a_next;
		a->a_next = NULL;
		free_attrs(a);
		return XF_OK;
	}
	if ((v = strdup(value)) == NULL)
		return XF_ERR;
	if (a != NULL) {
		free(a->a_value);
		a->a_value = v;
		return XF_OK;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto fail;
	a->a_value = v;
	if ((a->a_name = strdup(name)) == NULL ||
	    (ns != NULL && (a->a_ns = strdup(ns)) == NULL))
		goto fail;
	/* Append: prev is the last attribute when nothing matched. */
	last = prev;
	if (last != NULL)
		last->a_next = a;
	else
		el->e_attrs = a;
	return XF_OK;

fail:
	if (a != NULL)
		free_attrs(a);
	else
		free(v);
	return XF_ERR;
}

int
xf_el_set_attr(xf_el_t *el, const char *name, const char *value)
{
	return xf_el_set_attr_ns(el, NULL, name, value);
}

xf_el_t *
xf_el_add(xf_el_t *parent, const char *ns, const char *name)
{
	xf_el_t		*el;

	if ((el = xf_el_new(ns ? ns : parent->e_ns, name)) == NULL)
		return NULL;
	link_child(parent, el);
	return el;
}

/* Merges into a preceding text node so text is never split in two
 * siblings, whatever way the parser got it in pieces. */
int
xf_el_add_text(xf_el_t *parent, const char *text, size_t len)
{
	xf_el_t		*t = parent->e_last;
	char		*p;

	if (len == 0)
		return XF_OK;
	if (t != NULL && t->e_name == NULL) {
		if (t->e_textlen + len < len ||
		    (p = realloc(t->e_text, t->e_textlen + len + 1)) == NULL)
			return XF_ERR;
		memcpy(p + t->e_textlen, text, len);
		t->e_textlen += len;
		p[t->e_textlen] = '\0';
		t->e_text = p;
		return XF_OK;
	}
	if ((t = new_text(text, len)) == NULL)
		return XF_ERR;
	link_child(parent, t);
	return XF_OK;
}

void
xf_el_append(xf_el_t *parent, xf_el_t *child)
{
	link_child(parent, child);
}

void
xf_el_remove(xf_el_t *parent, xf_el_t *child)
{
	if (child == NULL || child->e_parent != parent)
		return;
	unlink_child(parent, child);
	free_tree(child);
}

xf_el_t *
xf_el_child(const xf_el_t *el, const char *ns, const char *name)
{
	xf_el_t		*c;

	for (c = xf_el_first(el); c != NULL; c = xf_el_next(c))
		if ((ns == NULL || strcmp(c->e_ns, ns) == 0) &&
		    (name == NULL || strcmp(c->e_name, name) == 0))
			return c;
	return NULL;
}

xf_el_t *
xf_el_first(const xf_el_t *el)
{
	xf_el_t		*c;

	for (c = el->e_children; c != NULL && c->e_name == NULL;
	    c = c->e_next)
		;
	return c;
}

xf_el_t *
xf_el_next(const xf_el_t *el)
{
	xf_el_t		*c;

	for (c = el->e_next; c != NULL && c->e_name == NULL; c = c->e_next)
		;
	return c;
}

char *
xf_el_text(const xf_el_t *el)
{
	const xf_el_t	*c;
	size_t		 len = 0;
	char		*s;

	if (el->e_name == NULL)
		return strndup(el->e_text, el->e_textlen);
	for (c = el->e_children; c != NULL; c = c->e_next)
		if (c->e_name == NULL)
			len += c->e_textlen;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	len = 0;
	for (c = el->e_children; c != NULL; c = c->e_next)
		if (c->e_name == NULL) {
			memcpy(s + len, c->e_text, c->e_textlen);
			len += c->e_textlen;
		}
	s[len] = '\0';
	return s;
}

/*
 * Escaping.  Besides the five entities, two things keep the output
 * well-formed and round-trippable: a parser turns CR into LF in text and
 * tab/LF/CR into spaces in attribute values, so those go out as
 * character references; and C0 controls other than tab/LF/CR cannot be
 * written in XML 1.0 at all, so they become U+FFFD.  Parsed input never
 * holds them; only server-made strings could.
 */
static int
escape(xf_buf_t *out, const char *s, size_t len, int attr)
{
	const char	*rep;
	size_t		 i, run = 0;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '\'':
			rep = attr ? "&apos;" : NULL;
			break;
		case '"':
			rep = attr ? "&quot;" : NULL;
			break;
		case '\r':
			rep = "&#xD;";
			break;
		case '\n':
			rep = attr ? "&#xA;" : NULL;
			break;
		case '\t':
			rep = attr ? "&#x9;" : NULL;
			break;
		default:
			rep = c < 0x20 ? "\xef\xbf\xbd" : NULL;
			break;
		}
		if (rep == NULL)
			continue;
		if (xf_buf_append(out, s + run, i - run) != XF_OK ||
		    xf_buf_puts(out, rep) != XF_OK)
			return XF_ERR;
		run = i + 1;
	}
	return xf_buf_append(out, s + run, len - run);
}

int
xf_xml_escape(xf_buf_t *out, const char *s, size_t len)
{
	return escape(out, s, len, 0);
}

int
xf_xml_escape_attr(xf_buf_t *out, const char *s, size_t len)
{
	return escape(out, s, len, 1);
}

/* Writes ' qualname='value'' with value escaped; qual is "" or "pfx:". */
static int
put_attr(xf_buf_t *out, const char *qual, const char *name,
    const char *value)
{
	/* Appends, not printf: this runs for every attribute written. */
	if (xf_buf_append(out, " ", 1) != XF_OK ||
	    xf_buf_puts(out, qual) != XF_OK ||
	    xf_buf_puts(out, name) != XF_OK ||
	    xf_buf_append(out, "='", 2) != XF_OK ||
	    xf_xml_escape_attr(out, value, strlen(value)) != XF_OK ||
	    xf_buf_puts(out, "'") != XF_OK)
		return XF_ERR;
	return XF_OK;
}

/*
 * Attributes in a namespace other than xml: get a generated prefix nsN
 * declared on the same element.  Element names are never prefixed (the
 * default namespace carries them), so nsN cannot clash with anything; a
 * run of attributes in one namespace shares one prefix, and otherwise a
 * namespace may be declared twice under two prefixes, which is legal and
 * keeps this O(attributes).
 */
static int
write_attrs(const xf_el_t *el, xf_buf_t *out)
{
	const xf_attr_t	*a;
	const char	*lastns = NULL;
	char		 qual[32];
	unsigned	 n = 0;

	for (a = el->e_attrs; a != NULL; a = a->a_next) {
		if (a->a_ns == NULL) {
			/* The namespace lives in e_ns; the stream parser
			 * keeps the header's xmlns[:p] as attributes. */
			if (strncmp(a->a_name, "xmlns", 5) == 0 &&
			    (a->a_name[5] == '\0' || a->a_name[5] == ':'))
				continue;
			if (put_attr(out, "", a->a_name, a->a_value) != XF_OK)
				return XF_ERR;
			continue;
		}
		if (strcmp(a->a_ns, XF_NS_XML) == 0) {
			if (put_attr(out, "xml:", a->a_name,
			    a->a_value) != XF_OK)
				return XF_ERR;
			continue;
		}
		if (strcmp(a->a_ns, NS_XMLNS) == 0)
			continue;
		if (lastns == NULL || strcmp(lastns, a->a_ns) != 0) {
			lastns = a->a_ns;
			snprintf(qual, sizeof(qual), "ns%u", ++n);
			if (put_attr(out, "xmlns:", qual, a->a_ns) != XF_OK)
				return XF_ERR;
		}
		snprintf(qual, sizeof(qual), "ns%u:", n);
		if (put_attr(out, qual, a->a_name, a->a_value) != XF_OK)
			return XF_ERR;
	}
	return XF_OK;
}

static int
write_el(const xf_el_t *el, const char *ctx_ns, xf_buf_t *out)
{
	const xf_el_t	*c;

	if (el->e_name == NULL)
		return xf_xml_escape(out, el->e_text, el->e_textlen);
	if (xf_buf_puts(out, "<") != XF_OK ||
	    xf_buf_puts(out, el->e_name) != XF_OK)
		return XF_ERR;
	if (!same_ns(el->e_ns, ctx_ns)) {
		if (xf_buf_puts(out, " xmlns='") != XF_OK ||
		    xf_xml_escape_attr(out, el->e_ns,
		    strlen(el->e_ns)) != XF_OK ||
		    xf_buf_puts(out, "'") != XF_OK)
			return XF_ERR;
	}
	if (write_attrs(el, out) != XF_OK)
		return XF_ERR;
	if (el->e_children == NULL)
		return xf_buf_puts(out, "/>");
	if (xf_buf_puts(out, ">") != XF_OK)
		return XF_ERR;
	for (c = el->e_children; c != NULL; c = c->e_next)
		if (write_el(c, el->e_ns, out) != XF_OK)
			return XF_ERR;
	if (xf_buf_puts(out, "</") != XF_OK ||
	    xf_buf_puts(out, el->e_name) != XF_OK ||
	    xf_buf_puts(out, ">") != XF_OK)
		return XF_ERR;
	return XF_OK;
}

int
xf_el_write(const xf_el_t *el, const char *ctx_ns, xf_buf_t *out)
{
	return write_el(el, ctx_ns, out);
}
