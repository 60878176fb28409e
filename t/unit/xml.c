/* xml.c: unit tests for the stanza tree, escaping and serialising. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "buf.h"
#include "xml.h"

static xf_buf_t	 out;

/*
 * Counts the library's string comparisons, so a test can tell linear
 * work from quadratic without timing anything: a definition in the
 * program takes precedence over libc's for the calls from libxf.a.
 */
static unsigned long	 ncmp;

int
strcmp(const char *a, const char *b)
{
	const unsigned char	*p = (const unsigned char *)a;
	const unsigned char	*q = (const unsigned char *)b;

	ncmp++;
	while (*p != '\0' && *p == *q)
		p++, q++;
	return *p - *q;
}

static const char *
esc(const char *s, int attr)
{
	xf_buf_reset(&out);
	if ((attr ? xf_xml_escape_attr(&out, s, strlen(s)) :
	    xf_xml_escape(&out, s, strlen(s))) != XF_OK)
		return "(error)";
	return xf_buf_cstr(&out);
}

static const char *
wr(const xf_el_t *el, const char *ctx)
{
	xf_buf_reset(&out);
	if (xf_el_write(el, ctx, &out) != XF_OK)
		return "(error)";
	return xf_buf_cstr(&out);
}

static void
test_escape(void)
{
	is_str(esc("a&b", 0), "a&amp;b", "text: &");
	is_str(esc("a<b", 0), "a&lt;b", "text: <");
	is_str(esc("a>b", 0), "a&gt;b", "text: >");
	is_str(esc("it's \"q\"", 0), "it's \"q\"", "text: quotes kept");
	is_str(esc("l1\nl2\tx", 0), "l1\nl2\tx", "text: LF and tab kept");
	is_str(esc("a\rb", 0), "a&#xD;b", "text: CR as reference");
	is_str(esc("a&b", 1), "a&amp;b", "attr: &");
	is_str(esc("a<b", 1), "a&lt;b", "attr: <");
	is_str(esc("a>b", 1), "a&gt;b", "attr: >");
	is_str(esc("a'b", 1), "a&apos;b", "attr: '");
	is_str(esc("a\"b", 1), "a&quot;b", "attr: \"");
	is_str(esc("a\tb\nc\rd", 1), "a&#x9;b&#xA;c&#xD;d",
	    "attr: whitespace as references");
	is_str(esc("<&'\">", 1), "&lt;&amp;&apos;&quot;&gt;", "attr: all five");
	is_str(esc("a\x01z", 0), "a\xef\xbf\xbdz", "control char -> U+FFFD");
	is_str(esc("caf\xc3\xa9", 0), "caf\xc3\xa9", "UTF-8 passes through");
	is_str(esc("", 1), "", "empty string");
	xf_buf_reset(&out);
	is_int(xf_xml_escape(&out, "a<b\0c", 5), XF_OK, "escape honours len");
	is_int(xf_buf_size(&out), 10, "... NUL became U+FFFD (a&lt;b+3+c)");
}

static void
test_build(void)
{
	xf_el_t		*m, *b, *t, *x;
	char		*s;

	m = xf_el_new(XF_NS_CLIENT, "message");
	ok(m != NULL, "xf_el_new");
	is_str(m->e_ns, XF_NS_CLIENT, "e_ns");
	is_str(m->e_name, "message", "e_name");
	is_int(xf_el_set_attr(m, "to", "a@b"), XF_OK, "set to");
	xf_el_set_attr(m, "type", "chat");
	xf_el_set_attr(m, "id", "x'1\"&<");
	is_str(xf_el_attr(m, "to"), "a@b", "get to");
	is_str(xf_el_attr(m, "nope"), NULL, "missing attr is NULL");
	xf_el_set_attr(m, "to", "c@d");
	is_str(xf_el_attr(m, "to"), "c@d", "set replaces");
	is_int(xf_el_set_attr_ns(m, XF_NS_XML, "lang", "en"), XF_OK,
	    "set xml:lang");
	is_str(xf_el_attr_ns(m, XF_NS_XML, "lang"), "en", "get xml:lang");
	is_str(xf_el_attr(m, "lang"), NULL, "xml:lang is not unqualified");

	b = xf_el_add(m, NULL, "body");
	is_str(b->e_ns, XF_NS_CLIENT, "add with NULL ns inherits parent's");
	ok(b->e_parent == m, "child's parent");
	is_int(xf_el_add_text(b, "Hi <you> & ", 11), XF_OK, "add text");
	is_int(xf_el_add_text(b, "me", 2), XF_OK, "add more text");
	ok(b->e_children == b->e_last, "adjacent text merged into one node");
	is_int(b->e_children->e_textlen, 13, "merged length");
	s = xf_el_text(b);
	is_str(s, "Hi <you> & me", "xf_el_text");
	free(s);

	t = xf_el_add(m, "http://jabber.org/protocol/chatstates", "active");
	xf_el_add(m, "urn:xmpp:receipts", "request");

	is_str(wr(m, XF_NS_CLIENT),
	    "<message to='c@d' type='chat' id='x&apos;1&quot;&amp;&lt;' "
	    "xml:lang='en'><body>Hi &lt;you&gt; &amp; me</body>"
	    "<active xmlns='http://jabber.org/protocol/chatstates'/>"
	    "<request xmlns='urn:xmpp:receipts'/></message>",
	    "write in jabber:client context");
	ok(strncmp(wr(m, XF_NS_SERVER),
	    "<message xmlns='jabber:client' to=", 34) == 0,
	    "write in another context declares the namespace");
	ok(strncmp(wr(m, NULL), "<message xmlns='jabber:client' ", 31) == 0,
	    "write with NULL context declares the namespace");

	/* Element-only iteration skips text; child lookup. */
	ok(xf_el_first(m) == b, "first element child");
	ok(xf_el_next(b) == t, "next element");
	ok(xf_el_child(m, "urn:xmpp:receipts", NULL) != NULL,
	    "child by namespace");
	ok(xf_el_child(m, NULL, "active") == t, "child by name");
	ok(xf_el_child(m, XF_NS_CLIENT, "active") == NULL,
	    "child by name, wrong namespace");
	xf_el_add_text(m, "  ", 2);
	x = xf_el_add(m, "", "nons");
	ok(xf_el_next(xf_el_child(m, NULL, "request")) == x,
	    "next skips a text node");
	is_str(x->e_ns, "", "empty namespace");
	ok(strstr(wr(m, XF_NS_CLIENT), "<nons xmlns=''/>") != NULL,
	    "no-namespace child undeclares the default");

	/* Remove. */
	xf_el_remove(m, t);
	ok(xf_el_child(m, NULL, "active") == NULL, "removed child gone");
	xf_el_remove(m, x);
	ok(m->e_last != NULL && m->e_last->e_name == NULL,
	    "e_last fixed after removing the last child");
	is_int(xf_el_set_attr(m, "type", NULL), XF_OK, "remove attr");
	is_str(xf_el_attr(m, "type"), NULL, "removed attr gone");
	is_int(xf_el_set_attr(m, "nothere", NULL), XF_OK,
	    "removing a missing attr is fine");
	is_str(wr(m, XF_NS_CLIENT),
	    "<message to='c@d' id='x&apos;1&quot;&amp;&lt;' xml:lang='en'>"
	    "<body>Hi &lt;you&gt; &amp; me</body>"
	    "<request xmlns='urn:xmpp:receipts'/>  </message>",
	    "write after removals");

	/* Free of a linked child unlinks it. */
	xf_el_free(xf_el_child(m, NULL, "request"));
	ok(xf_el_child(m, NULL, "request") == NULL, "xf_el_free unlinks");
	xf_el_free(m);
}

static void
test_ns(void)
{
	xf_el_t		*iq, *q, *item, *c;

	iq = xf_el_new(XF_NS_CLIENT, "iq");
	xf_el_set_attr(iq, "type", "result");
	q = xf_el_add(iq, "jabber:iq:roster", "query");
	item = xf_el_add(q, "jabber:iq:roster", "item");
	xf_el_set_attr(item, "jid", "a@b");
	xf_el_add(item, NULL, "group");
	xf_el_add_text(xf_el_child(item, NULL, "group"), "Friends", 7);
	c = xf_el_add(q, XF_NS_CLIENT, "back");
	xf_el_set_attr_ns(c, "urn:a", "x", "1");
	xf_el_set_attr_ns(c, "urn:a", "y", "2");
	xf_el_set_attr_ns(c, "urn:b", "x", "3");
	xf_el_set_attr_ns(c, XF_NS_XML, "lang", "de");
	is_str(xf_el_attr_ns(c, "urn:b", "x"), "3", "ns attr lookup");
	ok(xf_el_attr(c, "x") == NULL, "ns attr is not unqualified");

	is_str(wr(iq, XF_NS_CLIENT),
	    "<iq type='result'><query xmlns='jabber:iq:roster'>"
	    "<item jid='a@b'><group>Friends</group></item>"
	    "<back xmlns='jabber:client' xmlns:ns1='urn:a' ns1:x='1' "
	    "ns1:y='2' xmlns:ns2='urn:b' ns2:x='3' xml:lang='de'/>"
	    "</query></iq>",
	    "same ns: no xmlns; different: declared; ns attrs prefixed");

	/* The stream parser keeps the header's xmlns as an attribute. */
	xf_el_set_attr(iq, "xmlns", "jabber:client");
	xf_el_set_attr(iq, "xmlns:db", "jabber:server:dialback");
	ok(strncmp(wr(iq, XF_NS_CLIENT), "<iq type='result'>", 18) == 0,
	    "xmlns attributes are not written twice");
	xf_el_free(iq);
}

static void
test_copy(void)
{
	xf_el_t		*a, *b;
	char		*sa, *sb;

	a = xf_el_new(XF_NS_CLIENT, "presence");
	xf_el_set_attr(a, "from", "x@y/z");
	xf_el_set_attr_ns(a, XF_NS_XML, "lang", "fr");
	xf_el_add_text(xf_el_add(a, NULL, "status"), "away & <gone>", 13);
	xf_el_add(xf_el_add(a, "vcard-temp:x:update", "x"), NULL, "photo");
	b = xf_el_copy(a);
	ok(b != NULL && b != a, "copy");
	ok(b->e_parent == NULL && b->e_next == NULL, "copy is detached");
	sa = strdup(wr(a, XF_NS_CLIENT));
	sb = strdup(wr(b, XF_NS_CLIENT));
	is_str(sb, sa, "copy writes the same");
	ok(xf_el_first(b) != xf_el_first(a), "copy is deep");
	xf_el_set_attr(a, "from", "changed");
	is_str(xf_el_attr(b, "from"), "x@y/z", "copy independent of original");
	xf_el_free(a);
	is_str(wr(b, XF_NS_CLIENT), sb, "copy survives original's free");
	free(sa);
	free(sb);
	xf_el_free(b);
}

/*
 * A copy of a valid element has no duplicate attributes to find, so it
 * must not look for them: with one pass over earlier attributes per
 * attribute, a 189 KB message with 20,000 of them cost a worker 0.8 s
 * per copy (bounce, offline store, carbons, presence broadcast).
 */
static void
test_copy_many_attrs(void)
{
	enum { N = 4000 };
	xf_el_t		*a, *b;
	xf_attr_t	*x, *y;
	char		 name[16];
	int		 i, same = 1;

	a = xf_el_new(XF_NS_CLIENT, "message");
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		xf_el_set_attr(a, name, "v");
	}
	ncmp = 0;
	b = xf_el_copy(a);
	ok(b != NULL, "copy of %d attributes", N);
	ok(ncmp < N, "copy compares no attribute with another "
	    "(%lu comparisons)", ncmp);
	for (x = a->e_attrs, y = b ? b->e_attrs : NULL; x != NULL && y != NULL;
	    x = x->a_next, y = y->a_next)
		if (strcmp(x->a_name, y->a_name) != 0 || x == y)
			same = 0;
	ok(same && x == NULL && y == NULL, "copy keeps every attribute, "
	    "in order");
	xf_el_free(a);
	xf_el_free(b);
}

static void
test_append(void)
{
	xf_el_t		*p, *c;
	char		*s;

	p = xf_el_new("urn:p", "p");
	c = xf_el_new("urn:p", "c");
	xf_el_set_attr(c, "k", "v\tw");
	xf_el_append(p, c);
	ok(p->e_children == c && c->e_parent == p, "append links");
	is_str(wr(p, "urn:p"), "<p><c k='v&#x9;w'/></p>", "appended child");
	s = xf_el_text(p);
	is_str(s, "", "text of element without text is empty");
	free(s);
	xf_el_free(p);
}

int
main(void)
{
	test_escape();
	test_build();
	test_ns();
	test_copy();
	test_copy_many_attrs();
	test_append();
	xf_buf_free(&out);
	return done_testing();
}
