/* xmlstream.c: unit tests for the streaming XMPP parser. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "buf.h"
#include "xml.h"
#include "xmlstream.h"

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

#define HDR	"<stream:stream xmlns='jabber:client' " \
		"xmlns:stream='http://etherx.jabber.org/streams' " \
		"to='localhost' version='1.0'>"

/* A client stream: the header, stanzas with nested children, entities,
 * CDATA, UTF-8, whitespace keepalives, a prefixed stanza, the close. */
static const char stream1[] =
    "<?xml version='1.0'?>" HDR "\n"
    "  <iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<resource>home</resource></bind></iq>\n"
    "<message to='juliet@localhost' type=\"chat\" id='m1' xml:lang='en'>"
    "<body>a &amp; b &lt; c &#x41;&#66; &quot;q&quot; "
    "<![CDATA[<raw> & ]]>end</body>"
    "<thread>t1</thread></message> \r\n\t"
    "<presence/>"
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'>"
    "<item jid='a@b' name='A &apos;b&apos;'><group>G1</group></item>"
    "</query></iq>"
    "<c:message xmlns:c='jabber:client' to='x@y'><c:body>pfx</c:body>"
    "<e:x xmlns:e='urn:ext' e:a='1'/></c:message>"
    "<message><body>caf\xc3\xa9 \xf0\x9f\x98\x80</body></message>"
    "</stream:stream>";

static const char stream1_log[] =
    "open {http://etherx.jabber.org/streams}stream to=localhost "
    "version=1.0 xmlns=jabber:client "
    "xmlns:stream=http://etherx.jabber.org/streams\n"
    "stanza <iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:"
    "xmpp-bind'><resource>home</resource></bind></iq>\n"
    "stanza <message to='juliet@localhost' type='chat' id='m1' "
    "xml:lang='en'><body>a &amp; b &lt; c AB \"q\" &lt;raw&gt; &amp; end"
    "</body><thread>t1</thread></message>\n"
    "stanza <presence/>\n"
    "stanza <iq type='get' id='r1'><query xmlns='jabber:iq:roster'>"
    "<item jid='a@b' name='A &apos;b&apos;'><group>G1</group></item>"
    "</query></iq>\n"
    "stanza <message to='x@y'><body>pfx</body><x xmlns='urn:ext' "
    "xmlns:ns1='urn:ext' ns1:a='1'/></message>\n"
    "stanza <message><body>caf\xc3\xa9 \xf0\x9f\x98\x80</body></message>\n"
    "close\n";

/* STARTTLS-like: the callback stops after <starttls/>, the caller
 * resets and the rest is a new stream header (a stream restart). */
static const char stream2[] =
    "<?xml version='1.0'?>" HDR
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    "<?xml version='1.0'?>" HDR
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
    "AGFAYg==</auth>"
    HDR "<presence/></stream:stream>";

typedef struct rec_s {
	xf_buf_t	 log;
	int		 nstanza;
	const char	*again_on;	/* " name name ": return XF_AGAIN */
	int		 again_open;	/* return XF_AGAIN from open */
	const char	*err_on;	/* element name: return XF_ERR */
	int		 hdr_ok;	/* header element looked right */
} rec_t;

static int
on_open(void *ud, const xf_el_t *hdr)
{
	rec_t		*r = ud;
	xf_attr_t	*a;

	r->hdr_ok = hdr->e_children == NULL &&
	    xf_el_attr(hdr, "xmlns") != NULL;
	xf_buf_printf(&r->log, "open {%s}%s", hdr->e_ns, hdr->e_name);
	for (a = hdr->e_attrs; a != NULL; a = a->a_next)
		xf_buf_printf(&r->log, " %s%s=%s", a->a_ns ? "{ns}" : "",
		    a->a_name, a->a_value);
	xf_buf_puts(&r->log, "\n");
	return r->again_open ? XF_AGAIN : XF_OK;
}

static int
on_stanza(void *ud, xf_el_t *st)
{
	rec_t	*r = ud;
	int	 rc = XF_OK;

	r->nstanza++;
	xf_buf_puts(&r->log, "stanza ");
	xf_el_write(st, XF_NS_CLIENT, &r->log);
	xf_buf_puts(&r->log, "\n");
	if (r->again_on != NULL) {
		char	 word[64];

		snprintf(word, sizeof(word), " %s ", st->e_name);
		if (strstr(r->again_on, word) != NULL)
			rc = XF_AGAIN;
	}
	if (r->err_on && strcmp(st->e_name, r->err_on) == 0)
		rc = XF_ERR;
	xf_el_free(st);
	return rc;
}

static int
on_close(void *ud)
{
	rec_t	*r = ud;

	xf_buf_puts(&r->log, "close\n");
	return XF_OK;
}

static const xf_xmls_cb_t cbs = { on_open, on_stanza, on_close };

/*
 * Feeds doc[from, to); on XF_AGAIN logs where the stop happened (as a
 * document offset, so every way of splitting logs the same), resets and
 * feeds the rest, as c2s does on a stream restart.
 */
static int
feed_range(xf_xmls_t *x, rec_t *r, const char *doc, size_t from, size_t to)
{
	size_t	 used;
	int	 rc;

	do {
		rc = xf_xmls_feed(x, doc + from, to - from, &used);
		if (rc != XF_AGAIN)
			return rc;
		xf_buf_printf(&r->log, "again@%zu\n", from + used);
		if (xf_xmls_reset(x) != XF_OK)
			return XF_ERR;
		from += used;
	} while (from < to);
	return XF_OK;
}

/* Mode 0: whole; mode 1: split at cut; mode 2: one byte at a time. */
static int
run(const char *doc, size_t len, int mode, size_t cut, rec_t *r,
    char *err, size_t errlen)
{
	xf_xmls_t	*x;
	size_t		 i;
	int		 rc = XF_OK;

	xf_buf_reset(&r->log);
	r->nstanza = 0;
	x = xf_xmls_new(65536, &cbs, r);
	if (mode == 0)
		rc = feed_range(x, r, doc, 0, len);
	else if (mode == 1) {
		rc = feed_range(x, r, doc, 0, cut);
		if (rc == XF_OK)
			rc = feed_range(x, r, doc, cut, len);
	} else
		for (i = 0; i < len && rc == XF_OK; i++)
			rc = feed_range(x, r, doc, i, i + 1);
	if (err != NULL)
		snprintf(err, errlen, "%s", xf_xmls_error(x) ?
		    xf_xmls_error(x) : "(none)");
	xf_xmls_free(x);
	return rc;
}

/* Runs doc whole, at every split and byte by byte; all must log want. */
static void
every_split(const char *name, const char *doc, rec_t *r, const char *want)
{
	size_t		 len = strlen(doc), cut, bad = 0, firstbad = 0;
	int		 rc;

	rc = run(doc, len, 0, 0, r, NULL, 0);
	is_int(rc, XF_OK, "%s: whole feed ok", name);
	is_str(xf_buf_cstr(&r->log), want, "%s: whole feed callbacks", name);

	for (cut = 0; cut <= len; cut++) {
		rc = run(doc, len, 1, cut, r, NULL, 0);
		if (rc != XF_OK || strcmp(xf_buf_cstr(&r->log), want) != 0) {
			if (bad++ == 0)
				firstbad = cut;
		}
	}
	is_int(bad, 0, "%s: split at each of %zu offsets (first bad %zu)",
	    name, len + 1, firstbad);

	rc = run(doc, len, 2, 0, r, NULL, 0);
	is_int(rc, XF_OK, "%s: byte at a time ok", name);
	is_str(xf_buf_cstr(&r->log), want, "%s: byte at a time callbacks",
	    name);
}

static void
test_streams(void)
{
	rec_t	 r = { 0 };
	char	*want2;
	size_t	 at1, at2;

	every_split("client stream", stream1, &r, stream1_log);
	ok(r.hdr_ok, "header has xmlns attribute and no children");

	/* The stops land right after <starttls .../> and </auth>. */
	at1 = strstr(stream2, "tls'/>") - stream2 + 6;
	at2 = strstr(stream2, "</auth>") - stream2 + 7;
	if (asprintf(&want2,
	    "open {http://etherx.jabber.org/streams}stream to=localhost "
	    "version=1.0 xmlns=jabber:client "
	    "xmlns:stream=http://etherx.jabber.org/streams\n"
	    "stanza <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n"
	    "again@%zu\n"
	    "open {http://etherx.jabber.org/streams}stream to=localhost "
	    "version=1.0 xmlns=jabber:client "
	    "xmlns:stream=http://etherx.jabber.org/streams\n"
	    "stanza <auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
	    "mechanism='PLAIN'>AGFAYg==</auth>\n"
	    "again@%zu\n"
	    "open {http://etherx.jabber.org/streams}stream to=localhost "
	    "version=1.0 xmlns=jabber:client "
	    "xmlns:stream=http://etherx.jabber.org/streams\n"
	    "stanza <presence/>\n"
	    "close\n", at1, at2) < 0)
		return;
	r.again_on = " starttls auth ";
	every_split("restart stream", stream2, &r, want2);
	r.again_on = NULL;
	free(want2);
	xf_buf_free(&r.log);
}

static void
test_again(void)
{
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	const char	*doc = stream2;
	size_t		 used, at1;
	int		 rc;

	at1 = strstr(doc, "tls'/>") - doc + 6;
	r.again_on = " starttls ";
	x = xf_xmls_new(0, &cbs, &r);
	rc = xf_xmls_feed(x, doc, strlen(doc), &used);
	is_int(rc, XF_AGAIN, "AGAIN from stanza callback");
	is_int(used, at1, "*used ends right after the stanza");
	is_int(r.nstanza, 1, "nothing parsed past the stop");
	rc = xf_xmls_feed(x, doc + used, strlen(doc) - used, &used);
	is_int(rc, XF_ERR, "feeding on without a reset is refused");
	is_str(xf_xmls_error(x), "internal-server-error", "... and says so");
	xf_xmls_free(x);

	/* A stop from the open callback (the header is what is consumed). */
	xf_buf_reset(&r.log);
	r.again_on = NULL;
	r.again_open = 1;
	x = xf_xmls_new(0, &cbs, &r);
	rc = xf_xmls_feed(x, doc, strlen(doc), &used);
	is_int(rc, XF_AGAIN, "AGAIN from open callback");
	is_int(used, strlen("<?xml version='1.0'?>" HDR),
	    "*used ends right after the header");
	r.again_open = 0;
	xf_xmls_reset(x);
	rc = xf_xmls_feed(x, HDR "<presence/>", strlen(HDR "<presence/>"),
	    &used);
	is_int(rc, XF_OK, "fresh stream after reset");
	is_int(used, strlen(HDR "<presence/>"), "*used is len on XF_OK");
	xf_xmls_free(x);

	/* XF_ERR from a callback: handled, so the condition is empty. */
	xf_buf_reset(&r.log);
	r.err_on = "presence";
	r.nstanza = 0;
	x = xf_xmls_new(0, &cbs, &r);
	rc = xf_xmls_feed(x, HDR "<presence/><message/>",
	    strlen(HDR "<presence/><message/>"), &used);
	is_int(rc, XF_ERR, "XF_ERR from callback stops the feed");
	is_str(xf_xmls_error(x), "", "... with the empty condition");
	is_int(r.nstanza, 1, "... and nothing after it");
	rc = xf_xmls_feed(x, "<message/>", 10, &used);
	is_int(rc, XF_ERR, "feeding after an error fails again");
	xf_xmls_free(x);
	r.err_on = NULL;
	xf_buf_free(&r.log);
}

static unsigned	 lim_attrs, lim_children;	/* for cond_of() */
static char	 errtext[256];			/* of the last cond_of() */

/* Feeds doc whole (chunk 0) or in chunks; returns the error condition. */
static const char *
cond_of(const char *doc, size_t max, size_t chunk, int *nstanza)
{
	static char	 cond[64];
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	size_t		 len = strlen(doc), off, n, used;
	int		 rc = XF_OK;

	x = xf_xmls_new(max, &cbs, &r);
	xf_xmls_limits(x, lim_attrs, lim_children);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len && rc == XF_OK; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = xf_xmls_feed(x, doc + off, n, &used);
	}
	snprintf(cond, sizeof(cond), "%s", rc == XF_OK ? "ok" :
	    xf_xmls_error(x) ? xf_xmls_error(x) : "(null)");
	snprintf(errtext, sizeof(errtext), "%s", xf_xmls_errtext(x));
	if (nstanza != NULL)
		*nstanza = r.nstanza;
	xf_xmls_free(x);
	xf_buf_free(&r.log);
	return cond;
}

static void
test_restricted(void)
{
	const char	*lol =
	    "<?xml version='1.0'?>"
	    "<!DOCTYPE lolz [<!ENTITY lol 'lol'>"
	    "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
	    "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"
	    "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"
	    "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>]>"
	    HDR "<message><body>&lol4;</body></message>";
	int		 n = -1;

	is_str(cond_of("<?xml version='1.0'?><!DOCTYPE stream:stream>" HDR,
	    0, 0, NULL), "restricted-xml", "DOCTYPE");
	is_str(cond_of("<!DOCTYPE s [<!ENTITY a 'b'>]>" HDR, 0, 0, NULL),
	    "restricted-xml", "internal subset with <!ENTITY");
	is_str(cond_of("<!DOCTYPE s SYSTEM 'file:///etc/passwd'>" HDR
	    "<message>&x;</message>", 0, 0, NULL), "restricted-xml",
	    "external DTD");
	is_str(cond_of(lol, 0, 0, &n), "restricted-xml", "billion laughs");
	is_int(n, 0, "... no stanza delivered");
	is_str(cond_of(lol, 0, 1, NULL), "restricted-xml",
	    "billion laughs byte by byte");
	is_str(cond_of(HDR "<?php echo 1; ?>", 0, 0, NULL), "restricted-xml",
	    "processing instruction in the stream");
	is_str(cond_of("<?xml-stylesheet href='a'?>" HDR, 0, 0, NULL),
	    "restricted-xml", "processing instruction before the header");
	is_str(cond_of(HDR "<message><!-- hi --></message>", 0, 0, NULL),
	    "restricted-xml", "comment in a stanza");
	is_str(cond_of(HDR "<message>&ent;</message>", 0, 0, NULL),
	    "not-well-formed", "undeclared entity");
	is_str(cond_of("<?xml version='1.0' encoding='ISO-8859-1'?>" HDR,
	    0, 0, NULL), "unsupported-encoding", "non-UTF-8 encoding");
	is_str(cond_of("<?xml version='1.0' encoding='utf-8'?>" HDR,
	    0, 0, NULL), "ok", "utf-8 encoding declaration is fine");
}

static void
test_malformed(void)
{
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	const char	*doc = HDR "\n<message><body>x</message>";
	size_t		 used;
	int		 n = -1;

	x = xf_xmls_new(0, &cbs, &r);
	is_int(xf_xmls_feed(x, doc, strlen(doc), &used), XF_ERR,
	    "mismatched tag fails");
	is_str(xf_xmls_error(x), "not-well-formed", "... not-well-formed");
	ok(strstr(xf_xmls_errtext(x), "line 2") != NULL,
	    "errtext has the line: %s", xf_xmls_errtext(x));
	is_int(xf_xmls_feed(x, "<a/>", 4, &used), XF_ERR,
	    "feeding after an error fails again");
	is_str(xf_xmls_error(x), "not-well-formed", "... same error");
	is_int(xf_xmls_reset(x), XF_OK, "reset after an error");
	ok(xf_xmls_error(x) == NULL, "... clears it");
	r.nstanza = 0;
	is_int(xf_xmls_feed(x, HDR "<presence/>", strlen(HDR) + 11, &used),
	    XF_OK, "... and a new stream parses");
	is_int(r.nstanza, 1, "... with its stanza");
	xf_xmls_free(x);
	xf_buf_free(&r.log);

	is_str(cond_of(HDR "<message a='1' a='2'/>", 0, 0, NULL),
	    "not-well-formed", "duplicate attribute");
	is_str(cond_of(HDR "<p:message/>", 0, 0, NULL), "not-well-formed",
	    "unbound prefix");
	is_str(cond_of(HDR "<message>\xff</message>", 0, 0, NULL),
	    "not-well-formed", "invalid UTF-8");
	is_str(cond_of(HDR "<message>\xc0\xbc</message>", 0, 0, NULL),
	    "not-well-formed", "overlong UTF-8");
	is_str(cond_of(HDR "<message>&#0;</message>", 0, 0, NULL),
	    "not-well-formed", "character reference to NUL");
	is_str(cond_of(HDR " hello <presence/>", 0, 0, NULL), "bad-format",
	    "text between stanzas");
	is_str(cond_of(HDR " \n\t\r <presence/>\n  \n", 0, 1, &n), "ok",
	    "whitespace between stanzas ignored");
	is_int(n, 1, "... the stanza after it is delivered");
	is_str(cond_of("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='urn:wrong'>", 0, 0, NULL), "invalid-namespace",
	    "wrong stream namespace");
	is_str(cond_of("<stream xmlns='jabber:client'>", 0, 0, NULL),
	    "invalid-namespace", "stream element in jabber:client");
	is_str(cond_of("<stream:features xmlns:stream='"
	    XF_NS_STREAM "'>", 0, 0, NULL), "invalid-namespace",
	    "wrong root name");
	is_str(cond_of(HDR "<presence/></stream:stream>", 0, 0, NULL), "ok",
	    "stream close");
	is_str(cond_of(HDR "</stream:stream><presence/>", 0, 0, NULL),
	    "not-well-formed", "junk after the stream close");
}

static void
test_limits(void)
{
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	char		 chunk[4096], *deep;
	const char	*head = "<?xml version='1.0'?>" HDR "<message><body>";
	size_t		 used, fed, i;
	int		 rc = XF_OK, n;

	/* A 100 MB body fed in 4 KB chunks fails as it passes 10000. */
	memset(chunk, 'x', sizeof(chunk));
	x = xf_xmls_new(10000, &cbs, &r);
	rc = xf_xmls_feed(x, head, strlen(head), &used);
	fed = 0;
	for (i = 0; i < 25600 && rc == XF_OK; i++) {
		rc = xf_xmls_feed(x, chunk, sizeof(chunk), &used);
		fed += sizeof(chunk);
	}
	is_int(rc, XF_ERR, "huge stanza fails");
	is_str(xf_xmls_error(x), "policy-violation", "... policy-violation");
	ok(fed <= 10000 + sizeof(chunk), "... as soon as it crossed the "
	    "limit (after %zu bytes of body)", fed);
	xf_xmls_free(x);

	/* A start tag that never ends: no expat event at all. */
	x = xf_xmls_new(10000, &cbs, &r);
	rc = xf_xmls_feed(x, HDR "<message a='", strlen(HDR) + 12, &used);
	fed = 0;
	for (i = 0; i < 25600 && rc == XF_OK; i++) {
		rc = xf_xmls_feed(x, chunk, 1000, &used);
		fed += 1000;
	}
	is_str(xf_xmls_error(x), "policy-violation", "endless start tag");
	ok(fed <= 11000, "... stopped after %zu bytes", fed);
	xf_xmls_free(x);

	/* One buffer holding a too-big stanza that ends inside it. */
	memset(chunk, 'y', sizeof(chunk));
	memcpy(chunk, HDR "<message><body>", strlen(HDR) + 15);
	memcpy(chunk + 3000, "</body></message>", 17);
	x = xf_xmls_new(1000, &cbs, &r);
	r.nstanza = 0;
	rc = xf_xmls_feed(x, chunk, 3017, &used);
	is_str(xf_xmls_error(x), "policy-violation",
	    "over-limit stanza complete within one feed");
	is_int(r.nstanza, 0, "... not delivered");
	xf_xmls_free(x);

	/* At the limit is fine: exactly max bytes (the header, shorter
	 * than max, is held to the same limit). */
	deep = malloc(20000);
	snprintf(deep, 20000, HDR "<presence>%0190d</presence>", 0);
	n = -1;
	is_str(cond_of(deep, 211, 0, &n), "ok", "stanza of exactly max bytes");
	is_int(n, 1, "... delivered");
	is_str(cond_of(deep, 211, 1, &n), "ok", "... byte by byte");
	is_str(cond_of(deep, 210, 0, NULL), "policy-violation",
	    "stanza of max + 1 bytes");
	is_str(cond_of(deep, 210, 1, NULL), "policy-violation",
	    "... byte by byte");
	is_str(cond_of(deep, 100, 0, NULL), "policy-violation",
	    "header longer than max");

	/* Whitespace keepalives do not add up to a stanza. */
	snprintf(deep, 20000, "%s", HDR);
	memset(deep + strlen(HDR), ' ', 10000);
	strcpy(deep + strlen(HDR) + 10000, "<presence/>");
	is_str(cond_of(deep, 300, 100, &n), "ok",
	    "10000 bytes of keepalives with max 300");
	is_int(n, 1, "... stanza delivered");

	/* Thousands of attributes or character references: linear work. */
	strcpy(deep, HDR "<message");
	for (i = 0; i < 1000; i++)
		sprintf(deep + strlen(deep), " a%zu='%zu'", i, i);
	strcat(deep, "/>");
	ncmp = 0;
	is_str(cond_of(deep, 0, 0, &n), "ok", "1000 attributes");
	is_int(n, 1, "... delivered");
	/* expat refused duplicates already; checking again is O(n^2). */
	ok(ncmp < 1000, "... no attribute compared with the others "
	    "(%lu comparisons)", ncmp);
	strcpy(deep, HDR "<message>");
	for (i = 0; i < 3000; i++)
		strcat(deep, "&lt;");
	strcat(deep, "</message>");
	is_str(cond_of(deep, 0, 7, &n), "ok", "3000 character references");

	/* Depth: a stanza may nest 64 levels, not 65. */
	strcpy(deep, HDR);
	for (i = 0; i < 64; i++)
		strcat(deep, "<a>");
	for (i = 0; i < 64; i++)
		strcat(deep, "</a>");
	is_str(cond_of(deep, 0, 0, &n), "ok", "64 nested elements");
	is_int(n, 1, "... delivered");
	strcpy(deep, HDR);
	for (i = 0; i < 65; i++)
		strcat(deep, "<a>");
	is_str(cond_of(deep, 0, 0, NULL), "policy-violation",
	    "65 nested elements");
	free(deep);
	xf_buf_free(&r.log);
}

/* Appends n elements "<name/>" (or n attributes " aI='I'" for "@"). */
static void
add_n(xf_buf_t *b, const char *what, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (strcmp(what, "@") == 0)
			xf_buf_printf(b, " a%d='%d'", i, i);
		else
			xf_buf_printf(b, "<%s/>", what);
}

/* Builds a document in b from printf-free pieces; returns its text. */
static const char *
doc_of(xf_buf_t *b, const char *head, const char *what, int n,
    const char *tail)
{
	xf_buf_reset(b);
	xf_buf_puts(b, head);
	add_n(b, what, n);
	xf_buf_puts(b, tail);
	return xf_buf_cstr(b);
}

/*
 * Attributes and children per element (xf_xmls_limits()): at the limit
 * is fine, one more is a policy-violation, whole or byte by byte.
 */
static void
test_counts(void)
{
	xf_buf_t	 b = { 0 };
	xf_xmls_t	*x;
	rec_t		 r = { 0 };
	const char	*d;
	size_t		 used;
	int		 n;

	lim_attrs = 100;
	lim_children = 100;

	d = doc_of(&b, HDR "<message", "@", 100, "/>");
	n = 0;
	is_str(cond_of(d, 0, 0, &n), "ok", "100 attributes, limit 100");
	is_int(n, 1, "... delivered");
	d = doc_of(&b, HDR "<message", "@", 101, "/>");
	n = 0;
	is_str(cond_of(d, 0, 0, &n), "policy-violation",
	    "101 attributes, limit 100");
	is_int(n, 0, "... not delivered");
	is_str(errtext, "element with more than 100 attributes",
	    "... with a text saying why");
	is_str(cond_of(d, 0, 1, NULL), "policy-violation", "... byte by byte");
	d = doc_of(&b, HDR "<message><x xmlns='urn:x'><y", "@", 101,
	    "/></x></message>");
	is_str(cond_of(d, 0, 0, NULL), "policy-violation",
	    "101 attributes at depth 3");
	d = doc_of(&b, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams'", "@", 101, ">");
	is_str(cond_of(d, 0, 0, NULL), "policy-violation",
	    "101 attributes on the stream header");
	d = doc_of(&b, "<stream:stream xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams'", "@", 100, "><presence/>");
	is_str(cond_of(d, 0, 0, NULL), "ok",
	    "100 on the header (namespace declarations do not count)");

	d = doc_of(&b, HDR "<iq type='set' id='1'><query xmlns='urn:q'>",
	    "item", 100, "</query></iq>");
	n = 0;
	is_str(cond_of(d, 0, 0, &n), "ok", "100 children, limit 100");
	is_int(n, 1, "... delivered");
	d = doc_of(&b, HDR "<iq type='set' id='1'><query xmlns='urn:q'>",
	    "item", 101, "</query></iq>");
	n = 0;
	is_str(cond_of(d, 0, 0, &n), "policy-violation",
	    "101 children, limit 100");
	is_int(n, 0, "... not delivered");
	is_str(errtext, "element with more than 100 children",
	    "... with a text saying why");
	is_str(cond_of(d, 0, 1, NULL), "policy-violation", "... byte by byte");
	d = doc_of(&b, HDR "<message>", "x", 101, "</message>");
	is_str(cond_of(d, 0, 0, NULL), "policy-violation",
	    "101 children of the stanza itself");
	d = doc_of(&b, HDR "<message><a><b><c>", "x", 101,
	    "</c></b></a></message>");
	is_str(cond_of(d, 0, 0, NULL), "policy-violation",
	    "101 children at depth 4");

	/* Counts are per element: siblings' children do not add up, a
	 * closed element's do not leak into the next, text is not a
	 * child, and stanzas are not children of anything. */
	xf_buf_reset(&b);
	xf_buf_puts(&b, HDR "<message><a>");
	add_n(&b, "x", 100);
	xf_buf_puts(&b, "</a><b>");
	add_n(&b, "y", 100);
	xf_buf_puts(&b, "</b>");
	for (n = 0; n < 98; n++)
		xf_buf_puts(&b, "t<z>u</z>v");
	xf_buf_puts(&b, "</message><message><a>");
	add_n(&b, "x", 100);
	xf_buf_puts(&b, "</a></message>");
	add_n(&b, "presence", 300);
	n = 0;
	is_str(cond_of(xf_buf_cstr(&b), 0, 0, &n), "ok",
	    "100 + 100 grandchildren, 100 children with text between, "
	    "then 300 stanzas");
	is_int(n, 302, "... all delivered");

	/* 0 is no limit, as before. */
	lim_attrs = lim_children = 0;
	d = doc_of(&b, HDR "<message", "@", 5000, "/>");
	is_str(cond_of(d, 0, 0, NULL), "ok", "no attribute limit: 5000");
	d = doc_of(&b, HDR "<message>", "x", 20000, "</message>");
	is_str(cond_of(d, 0, 0, NULL), "ok", "no child limit: 20000");

	/* The limits hold across a stream restart. */
	x = xf_xmls_new(0, &cbs, &r);
	xf_xmls_limits(x, 5, 0);
	ok(xf_xmls_feed(x, HDR, strlen(HDR), &used) == XF_OK &&
	    xf_xmls_reset(x) == XF_OK, "restart");
	d = doc_of(&b, HDR "<message", "@", 6, "/>");
	is_int(xf_xmls_feed(x, d, strlen(d), &used), XF_ERR,
	    "6 attributes with limit 5 after a restart");
	is_str(xf_xmls_error(x), "policy-violation", "... policy-violation");
	xf_xmls_free(x);
	xf_buf_free(&r.log);
	xf_buf_free(&b);
}

/* Parses a stanza, writes it, parses the output: the trees agree. */
static void
test_prefixed_roundtrip(void)
{
	rec_t		 r = { 0 };
	xf_buf_t	 doc = { 0 }, first = { 0 };
	xf_xmls_t	*x;
	size_t		 used;
	const char	*st =
	    "<c:iq xmlns:c='jabber:client' xmlns:x='urn:x' x:k='v&#10;w' "
	    "xml:lang='en' type='get'><x:q a='&lt;&amp;&quot;&apos;&#9;'>"
	    "t&#13;u<c:inner/><empty xmlns=''/></x:q></c:iq>";

	xf_buf_printf(&doc, "%s%s", HDR, st);
	x = xf_xmls_new(0, &cbs, &r);
	is_int(xf_xmls_feed(x, xf_buf_data(&doc), xf_buf_size(&doc), &used),
	    XF_OK, "prefixed stanza parses");
	is_str(xf_buf_cstr(&r.log) + strcspn(xf_buf_cstr(&r.log), "\n") + 1,
	    "stanza <iq xmlns:ns1='urn:x' ns1:k='v&#xA;w' xml:lang='en' "
	    "type='get'><q xmlns='urn:x' a='&lt;&amp;&quot;&apos;&#x9;'>"
	    "t&#xD;u<inner xmlns='jabber:client'/><empty xmlns=''/></q></iq>\n",
	    "prefixes resolved to namespaces");
	xf_xmls_free(x);

	/* Round trip: feed the serialised stanza back in. */
	xf_buf_printf(&first, "%s", xf_buf_cstr(&r.log));
	xf_buf_reset(&doc);
	xf_buf_printf(&doc, "%s%s", HDR,
	    strstr(xf_buf_cstr(&first), "stanza ") + 7);
	xf_buf_reset(&r.log);
	x = xf_xmls_new(0, &cbs, &r);
	is_int(xf_xmls_feed(x, xf_buf_data(&doc), xf_buf_size(&doc), &used),
	    XF_OK, "serialised stanza parses again");
	is_str(xf_buf_cstr(&r.log), xf_buf_cstr(&first),
	    "round trip gives the same tree");
	xf_xmls_free(x);
	xf_buf_free(&doc);
	xf_buf_free(&first);
	xf_buf_free(&r.log);
}

/* A server stream: jabber:server default, dialback prefix, stream:
 * prefixed features and error stanzas. */
static void
test_server_stream(void)
{
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	size_t		 used;
	const char	*doc =
	    "<stream:stream xmlns='jabber:server' "
	    "xmlns:db='jabber:server:dialback' "
	    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
	    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-tls'><required/></starttls></stream:features>"
	    "<db:result from='a' to='b'>key</db:result>"
	    "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-streams'/></stream:error>";

	x = xf_xmls_new(0, &cbs, &r);
	is_int(xf_xmls_feed(x, doc, strlen(doc), &used), XF_OK,
	    "server stream parses");
	is_str(xf_buf_cstr(&r.log),
	    "open {http://etherx.jabber.org/streams}stream version=1.0 "
	    "xmlns=jabber:server xmlns:db=jabber:server:dialback "
	    "xmlns:stream=http://etherx.jabber.org/streams\n"
	    "stanza <features xmlns='http://etherx.jabber.org/streams'>"
	    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
	    "</starttls></features>\n"
	    "stanza <result xmlns='jabber:server:dialback' from='a' to='b'>"
	    "key</result>\n"
	    "stanza <error xmlns='http://etherx.jabber.org/streams'>"
	    "<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "</error>\n",
	    "stream: and db: prefixes resolved; header keeps xmlns decls");
	xf_xmls_free(x);
	xf_buf_free(&r.log);
}

/* Parking frees the parser between stanzas; the stream carries on. */
static void
test_park(void)
{
	static const char *const pieces[] = {
	    "<?xml version='1.0'?><str:stream xmlns='jabber:client' "
	    "xmlns:str='http://etherx.jabber.org/streams' xmlns:x='urn:x' "
	    "to='localhost' version='1.0'>",
	    "<message to='a@b'><body>one &amp; two</body></message>",
	    "<iq type='get' id='1'><x:q/></iq>",
	    "<presence><show>away</show></presence>",
	    "</str:stream>",
	};
	rec_t		 a, b;
	xf_xmls_t	*x, *y;
	size_t		 used;
	int		 parked = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	x = xf_xmls_new(4096, &cbs, &a);
	y = xf_xmls_new(4096, &cbs, &b);
	for (size_t i = 0; i < XF_NELEM(pieces); i++) {
		xf_xmls_feed(x, pieces[i], strlen(pieces[i]), &used);
		xf_xmls_feed(y, pieces[i], strlen(pieces[i]), &used);
		if (i > 0 && i < XF_NELEM(pieces) - 1 &&
		    xf_xmls_park(y) == XF_OK)
			parked++;
	}
	is_int(parked, 3, "park succeeds between stanzas");
	is_str(xf_buf_cstr(&b.log), xf_buf_cstr(&a.log),
	    "a parked stream parses like one never parked (custom prefixes, "
	    "namespaced children, closing tag)");
	ok(xf_xmls_error(y) == NULL, "no error after parking");
	xf_xmls_free(x);
	xf_xmls_free(y);

	/* Half a stanza read: the parser must stay. */
	xf_buf_free(&b.log);
	memset(&b, 0, sizeof(b));
	y = xf_xmls_new(4096, &cbs, &b);
	xf_xmls_feed(y, pieces[0], strlen(pieces[0]), &used);
	ok(xf_xmls_idle(y), "idle after the header");
	xf_xmls_feed(y, "<message><bo", 12, &used);
	ok(!xf_xmls_idle(y), "not idle in mid-stanza");
	is_int(xf_xmls_park(y), XF_DECLINED, "no parking in mid-stanza");
	xf_xmls_feed(y, "dy>x</body></message>", 21, &used);
	is_int(b.nstanza, 1, "the stanza completes");
	ok(xf_xmls_idle(y), "idle again after it");
	xf_xmls_feed(y, "<pres", 5, &used);
	ok(!xf_xmls_idle(y), "not idle in a start tag not yet ended");
	xf_xmls_feed(y, "ence/>", 6, &used);
	ok(xf_xmls_idle(y) && b.nstanza == 2, "idle once it ends");
	b.nstanza = 1;	/* the counts below leave the presence out */
	is_int(xf_xmls_park(y), XF_OK, "and then parking works");
	xf_xmls_feed(y, "<a:b xmlns:a='urn:a'/>", 22, &used);
	is_int(b.nstanza, 2, "a stanza after parking arrives");
	xf_xmls_feed(y, "<oops>", 6, &used);
	xf_xmls_feed(y, "</wrong>", 8, &used);
	is_str(xf_xmls_error(y), "not-well-formed",
	    "errors are still found after an unpark");
	xf_xmls_free(y);

	/*
	 * Inside a CDATA section between stanzas, whitespace so far: it
	 * looked idle, and parking forgot the section, so "<presence/>"
	 * became a stanza instead of text (found by t/fuzz/xmlstream.c).
	 */
	xf_buf_free(&b.log);
	memset(&b, 0, sizeof(b));
	y = xf_xmls_new(4096, &cbs, &b);
	xf_xmls_feed(y, pieces[0], strlen(pieces[0]), &used);
	xf_xmls_feed(y, " <![CDATA[  ", 12, &used);
	is_int(xf_xmls_park(y), XF_DECLINED, "no parking in a CDATA section");
	is_int(xf_xmls_feed(y, "<presence/>", 11, &used), XF_ERR,
	    "so what follows is still its text");
	is_str(xf_xmls_error(y), "bad-format", "... text between stanzas");
	is_int(b.nstanza, 0, "... not a stanza");
	xf_xmls_free(y);
	xf_buf_free(&b.log);
	memset(&b, 0, sizeof(b));
	y = xf_xmls_new(4096, &cbs, &b);
	xf_xmls_feed(y, pieces[0], strlen(pieces[0]), &used);
	xf_xmls_feed(y, " <![CDATA[  ]]> ", 16, &used);
	is_int(xf_xmls_park(y), XF_OK, "parking after the section ends");
	xf_xmls_feed(y, "<presence/>", 11, &used);
	is_int(b.nstanza, 1, "... and the next stanza arrives");
	xf_xmls_free(y);
	xf_buf_free(&a.log);
	xf_buf_free(&b.log);
}

/*
 * go-sendxmpp ends </auth> with a newline: blanks before a restarted
 * stream's XML declaration are skipped, in the feed that stopped or in
 * feeds of their own; a first stream gets no such leniency.
 */
static void
test_restart_blanks(void)
{
	static const char auth[] = "<?xml version='1.0'?>" HDR
	    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>\n";
	static const char again[] = "<?xml version='1.0'?>" HDR "<presence/>";
	rec_t		 r = { 0 };
	xf_xmls_t	*x;
	size_t		 used;
	int		 rc;

	r.again_on = " auth ";
	x = xf_xmls_new(0, &cbs, &r);
	rc = xf_xmls_feed(x, auth, strlen(auth), &used);
	is_int(rc, XF_AGAIN, "restart blanks: AGAIN after </auth>");
	is_int(strlen(auth) - used, 1, "... the newline left over");
	xf_xmls_reset(x);
	rc = xf_xmls_feed(x, auth + used, strlen(auth) - used, &used);
	is_int(rc, XF_OK, "the newline alone goes into the restarted stream");
	is_int(used, 1, "... and counts as used");
	rc = xf_xmls_feed(x, " \r\n\t", 4, &used);
	is_int(rc, XF_OK, "more blanks in a feed of their own");
	rc = xf_xmls_feed(x, "\n" "<?xml version='1.0'?>" HDR "<presence/>",
	    strlen(again) + 1, &used);
	is_int(rc, XF_OK, "then blanks and the XML declaration");
	is_int(r.nstanza, 2, "... and the stanza after the new header");
	rc = xf_xmls_feed(x, "\n<message/>", 11, &used);
	is_int(rc, XF_OK, "blanks inside the stream are the stream's");
	xf_xmls_free(x);

	x = xf_xmls_new(0, &cbs, &r);
	rc = xf_xmls_feed(x, "\n" "<?xml version='1.0'?>" HDR,
	    strlen("\n" "<?xml version='1.0'?>" HDR), &used);
	is_int(rc, XF_ERR, "blanks before a first stream's declaration");
	is_str(xf_xmls_error(x), "not-well-formed", "... are not-well-formed");
	xf_xmls_free(x);
	xf_buf_free(&r.log);
}

/* doc (ASCII) as UTF-16, little or big endian, with a byte order mark
 * or not, into out; returns its length. */
static size_t
utf16(const char *doc, int be, int bom, char *out)
{
	size_t	 n = 0;

	if (bom) {
		out[n++] = be ? '\xfe' : '\xff';
		out[n++] = be ? '\xff' : '\xfe';
	}
	for (; *doc != '\0'; doc++) {
		out[n++] = be ? '\0' : *doc;
		out[n++] = be ? *doc : '\0';
	}
	return n;
}

/* doc[0, len) fails with cond, whole, at every cut and byte by byte,
 * after delivering nstanza stanzas. */
static void
fails_everywhere(const char *name, const char *doc, size_t len,
    const char *cond, int nstanza)
{
	rec_t	 r = { 0 };
	char	 err[64];
	size_t	 cut, bad = 0, firstbad = 0;
	int	 mode;

	for (mode = 0; mode <= 2; mode++)
		for (cut = 0; cut <= (mode == 1 ? len : 0); cut++) {
			if (run(doc, len, mode, cut, &r, err, sizeof(err)) ==
			    XF_OK || strcmp(err, cond) != 0 ||
			    r.nstanza != nstanza) {
				if (bad++ == 0)
					firstbad = cut;
			}
		}
	is_int(bad, 0, "%s: %s whole, at each of %zu cuts and byte by byte "
	    "(first bad cut %zu)", name, cond, len + 1, firstbad);
	xf_buf_free(&r.log);
}

/*
 * Expat takes a byte order mark, or a NUL among the first bytes, for
 * UTF-16 even when told UTF-8, and read such a stream whole: when the
 * first read held two bytes or more.  Found by t/fuzz/xmlstream.c: "9",
 * NUL, ">" was an error cut after the "9" and none fed whole.
 */
static void
test_encodings(void)
{
	const char	*doc = HDR "<message><body>hi</body></message>";
	char		 buf[1024];
	size_t		 n;

	n = utf16(doc, 0, 0, buf);
	fails_everywhere("UTF-16LE", buf, n, "unsupported-encoding", 0);
	n = utf16(doc, 0, 1, buf);
	fails_everywhere("UTF-16LE with BOM", buf, n, "unsupported-encoding",
	    0);
	n = utf16(doc, 1, 0, buf);
	fails_everywhere("UTF-16BE", buf, n, "unsupported-encoding", 0);
	n = utf16(doc, 1, 1, buf);
	fails_everywhere("UTF-16BE with BOM", buf, n, "unsupported-encoding",
	    0);
	fails_everywhere("'9' NUL '>'", "9\0>", 3, "unsupported-encoding", 0);
	n = strlen(HDR "<presence/>");
	memcpy(buf, HDR "<presence/>\0<presence/>", n + 12);
	fails_everywhere("NUL between stanzas", buf, n + 12, "not-well-formed",
	    1);
	n = strlen(HDR "<message>a");
	memcpy(buf, HDR "<message>a\0b</message>", n + 12);
	fails_everywhere("NUL in a stanza", buf, n + 12, "not-well-formed", 0);
	is_str(cond_of("\xef\xbb\xbf" HDR "<presence/>", 0, 1, NULL), "ok",
	    "a UTF-8 byte order mark is fine");
}

int
main(void)
{
	test_streams();
	test_again();
	test_restricted();
	test_malformed();
	test_limits();
	test_counts();
	test_prefixed_roundtrip();
	test_server_stream();
	test_park();
	test_restart_blanks();
	test_encodings();
	return done_testing();
}
