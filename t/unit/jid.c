/* jid.c: unit tests for JID parsing and normalisation (RFC 7622). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "jid.h"

static xf_jid_t	 j;

static int
parse(const char *s)
{
	return xf_jid_parse(s, strlen(s), &j);
}

/* Parses s and returns its full form, or "(invalid)". */
static const char *
full(const char *s)
{
	static char	 out[XF_JID_MAX + 2];

	if (parse(s) != XF_OK)
		return "(invalid)";
	if (xf_jid_full(&j, out, sizeof(out)) != XF_OK)
		return "(no room)";
	return out;
}

static char *
rep(char c, size_t n)
{
	char	*s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_split(void)
{
	char	 out[64];

	is_int(parse("user@example.com/res"), XF_OK, "full JID parses");
	is_str(j.j_local, "user", "localpart");
	is_str(j.j_domain, "example.com", "domainpart");
	is_str(j.j_resource, "res", "resourcepart");

	is_int(parse("example.com"), XF_OK, "domain-only JID parses");
	ok(j.j_local == NULL && j.j_resource == NULL, "no local, no resource");
	is_str(j.j_domain, "example.com", "domain-only domainpart");

	is_int(parse("example.com/r"), XF_OK, "domain/resource parses");
	ok(j.j_local == NULL, "domain/resource: no localpart");
	is_str(j.j_resource, "r", "domain/resource: resource");

	is_str(full("a@b/c@d/e"), "a@b/c@d/e", "resource keeps '@' and '/'");
	is_str(j.j_resource, "c@d/e", "resource is everything after first /");
	is_str(full("b/c@d"), "b/c@d", "'@' after the first '/' is resource");
	ok(j.j_local == NULL, "... and so there is no localpart");

	is_int(parse("a@b@c"), XF_ERR, "two '@' before the resource");
	is_int(parse("@example.com"), XF_ERR, "empty localpart");
	is_int(parse("user@"), XF_ERR, "empty domainpart");
	is_int(parse("user@/r"), XF_ERR, "empty domainpart with resource");
	is_int(parse("example.com/"), XF_ERR, "empty resourcepart");
	is_int(parse(""), XF_ERR, "empty JID");
	is_int(parse("/r"), XF_ERR, "resource only");
	is_int(xf_jid_parse("a@b\0c", 5, &j), XF_ERR, "embedded NUL");
	ok(j.j_domain == NULL, "failed parse leaves no parts");

	is_int(xf_jid_parse("x@y/zzz", 5, &j), XF_OK, "len is honoured");
	is_str(j.j_resource, "z", "... resource cut at len");

	is_int(parse("u@e.com/r"), XF_OK, "parse for output");
	is_int(xf_jid_bare(&j, out, sizeof(out)), XF_OK, "bare");
	is_str(out, "u@e.com", "bare form");
	is_int(xf_jid_full(&j, out, sizeof(out)), XF_OK, "full");
	is_str(out, "u@e.com/r", "full form");
	is_int(xf_jid_full(&j, out, 10), XF_OK, "full fits exactly (9+NUL)");
	is_int(xf_jid_full(&j, out, 9), XF_ERR, "full one byte short");
	is_int(xf_jid_bare(&j, out, 7), XF_ERR, "bare one byte short");
	parse("e.com/r");
	xf_jid_bare(&j, out, sizeof(out));
	is_str(out, "e.com", "bare of a domain JID");
	xf_jid_full(&j, out, sizeof(out));
	is_str(out, "e.com/r", "full of a domain/resource JID");
	parse("u@e.com");
	xf_jid_full(&j, out, sizeof(out));
	is_str(out, "u@e.com", "full of a bare JID is the bare JID");

	is_int(xf_jid_bare_of("U@E.com/Res", out, sizeof(out)), XF_OK,
	    "bare_of a full JID");
	is_str(out, "u@e.com", "... normalised, resource dropped");
	is_int(xf_jid_bare_of("e.com/r", out, sizeof(out)), XF_OK,
	    "bare_of a domain/resource JID");
	is_str(out, "e.com", "... is the domain");
	is_int(xf_jid_bare_of(NULL, out, sizeof(out)), XF_ERR, "bare_of NULL");
	is_int(xf_jid_bare_of("a@b@c", out, sizeof(out)), XF_ERR,
	    "bare_of a malformed JID");
	is_int(xf_jid_bare_of("u@e.com/r", out, 7), XF_ERR,
	    "bare_of one byte short");
	is_int(xf_jid_bare_of("u@e.com/r", out, 8), XF_OK,
	    "bare_of fits exactly (7+NUL)");
}

static void
test_local(void)
{
	const char	*bad[] = { "a b", "a\"b", "a&b", "a'b", "a:b",
			    "a<b", "a>b", "a\tb", "a\x7f" "b", "a\x01" "b",
			    "a\xc2\x85" "b", "a\xc2\xa0" "b" };
	char		 buf[64];
	size_t		 i;

	is_str(full("JuLiEt@Example.COM/Balcony"),
	    "juliet@example.com/Balcony", "local and domain folded, "
	    "resource kept");
	is_str(full("\xc3\x84" "B@x"), "\xc3\xa4" "b@x",
	    "non-ASCII folded too (Nodeprep): \u00c4B -> \u00e4b");
	is_str(full("\xd0\xae\xd0\xbb\xd0\xb8\xd1\x8f@x"),
	    "\xd1\x8e\xd0\xbb\xd0\xb8\xd1\x8f@x", "Cyrillic capital folded");
	is_str(full("Stra\xc3\x9f" "e@x"), "strasse@x",
	    "\u00df folds to ss: the part grows");
	is_str(full("\xef\xbd\x81" "b@x"), "ab@x",
	    "fullwidth a (U+FF41) normalised (NFKC)");
	is_int(parse("a\xef\xbc\xa0" "b@x"), XF_ERR,
	    "fullwidth @ (U+FF20) becomes '@': refused");
	is_int(parse("a\xc2\xad" "b@x") == XF_OK &&
	    strcmp(full("a\xc2\xad" "b@x"), "ab@x") == 0, 1,
	    "soft hyphen mapped to nothing");
	is_str(full("user.name+tag_1-x@x"), "user.name+tag_1-x@x",
	    "punctuation allowed in localpart");
	for (i = 0; i < XF_NELEM(bad); i++) {
		snprintf(buf, sizeof(buf), "%s@x", bad[i]);
		is_int(parse(buf), XF_ERR, "localpart rejects char %zu", i);
	}
	strcpy(buf, "ABC");
	is_int(xf_jid_localpart(buf, sizeof(buf)), XF_OK,
	    "xf_jid_localpart in place");
	is_str(buf, "abc", "... folded in place");
	buf[0] = '\0';
	is_int(xf_jid_localpart(buf, sizeof(buf)), XF_ERR,
	    "empty localpart part");
	/* U+0130 (2 bytes) folds to i + U+0307 (3 bytes). */
	strcpy(buf, "\xc4\xb0\xc4\xb0");
	is_int(xf_jid_localpart(buf, 6), XF_ERR,
	    "a part that outgrows its room is refused");
	strcpy(buf, "\xc4\xb0\xc4\xb0");
	ok(xf_jid_localpart(buf, 7) == XF_OK &&
	    strcmp(buf, "i\xcc\x87i\xcc\x87") == 0,
	    "and fits with one byte more");
	{
		char	*big = malloc(511 * 2 + 3);

		for (i = 0; i < 511; i++)
			memcpy(big + 2 * i, "\xc4\xb0", 2);
		strcpy(big + 1022, "@x");
		is_int(parse(big), XF_ERR, "a localpart folded past 1023 "
		    "bytes is refused");
		free(big);
	}
}

static void
test_domain(void)
{
	const char	*bad[] = { "a b.com", "a\\b", "a[b", "a]b", "a\x01",
			    "a..b", ".a", "a:5222", "a<b", "\xc2\x80x",
			    "a.com..", "." };
	char		 buf[1100];
	size_t		 i;
	char		*l63, *l64;

	is_str(full("EXAMPLE.com."), "example.com", "trailing dot stripped, "
	    "folded");
	is_str(full("u@[::1]/r"), "u@[::1]/r", "IPv6 literal");
	is_str(full("[2001:DB8::A]"), "[2001:db8::a]", "IPv6 literal folded");
	is_int(parse("[::g]"), XF_ERR, "bad IPv6 literal");
	is_int(parse("[1.2.3.4]"), XF_ERR, "IPv4 in brackets");
	is_int(parse("[::1"), XF_ERR, "unclosed bracket");
	is_int(parse("[::1]."), XF_ERR, "IPv6 literal with trailing dot");
	is_str(full("192.0.2.1"), "192.0.2.1", "IPv4 address domain");
	is_str(full("m\xc3\xbcnchen.de"), "m\xc3\xbcnchen.de",
	    "UTF-8 domain kept");
	is_str(full("M\xc3\x9cNCHEN.de"), "m\xc3\xbcnchen.de",
	    "non-ASCII domain folded (Nameprep)");
	is_str(full("\xef\xbd\x98.com"), "x.com",
	    "fullwidth x in a domain normalised");
	is_int(parse("a\xef\xbc\x8f" "b.com"), XF_ERR,
	    "fullwidth solidus in a domain becomes '/': refused");
	for (i = 0; i < XF_NELEM(bad); i++)
		is_int(parse(bad[i]), XF_ERR, "domainpart rejects '%s'",
		    bad[i][0] == '\x01' || (unsigned char)bad[i][0] >= 0x80 ?
		    "ctl" : bad[i]);

	l63 = rep('a', 63);
	l64 = rep('a', 64);
	snprintf(buf, sizeof(buf), "%s.com", l63);
	is_int(parse(buf), XF_OK, "63-byte label");
	snprintf(buf, sizeof(buf), "%s.com", l64);
	is_int(parse(buf), XF_ERR, "64-byte label");
	free(l63);
	free(l64);

	strcpy(buf, "Foo.Bar.");
	is_int(xf_jid_domainpart(buf, sizeof(buf)), XF_OK,
	    "xf_jid_domainpart in place");
	is_str(buf, "foo.bar", "... folded, dot stripped");
}

static void
test_resource(void)
{
	is_str(full("x/ My Res  "), "x/ My Res  ", "spaces kept in resource");
	is_str(full("x/\xe2\x98\x83"), "x/\xe2\x98\x83", "UTF-8 resource");
	is_int(parse("x/a\nb"), XF_ERR, "control char in resource");
	is_int(parse("x/a\x7f"), XF_ERR, "DEL in resource");
	char	 buf[16];

	is_str(full("x/\xc3\x84" "B"), "x/\xc3\x84" "B",
	    "resource case kept (Resourceprep)");
	is_str(full("x/\xef\xac\x81" "le"), "x/file",
	    "ligature fi (U+FB01) normalised (NFKC)");
	is_str(full("x/Phone \xf0\x9f\x93\xb1"), "x/Phone \xf0\x9f\x93\xb1",
	    "an emoji (unassigned in Unicode 3.2) passes");
	is_str(full("x/a\xc2\xa0" "b"), "x/a b",
	    "no-break space becomes a space (NFKC)");
	strcpy(buf, "ok");
	is_int(xf_jid_resourcepart(buf, sizeof(buf)), XF_OK,
	    "xf_jid_resourcepart ok");
	buf[0] = '\0';
	is_int(xf_jid_resourcepart(buf, sizeof(buf)), XF_ERR,
	    "xf_jid_resourcepart empty");
}

static void
test_utf8(void)
{
	is_int(parse("\xc0\xaf@x"), XF_ERR, "overlong 2-byte '/'");
	is_int(parse("\xe0\x80\xaf@x"), XF_ERR, "overlong 3-byte");
	is_int(parse("\xf0\x80\x80\xaf@x"), XF_ERR, "overlong 4-byte");
	is_int(parse("\xed\xa0\x80@x"), XF_ERR, "surrogate U+D800");
	is_int(parse("x/\xed\xbf\xbf"), XF_ERR, "surrogate U+DFFF in resource");
	is_int(parse("\xf4\x90\x80\x80@x"), XF_ERR, "U+110000");
	is_int(parse("x/\xf4\x8f\xbf\xbf"), XF_ERR,
	    "U+10FFFF, a noncharacter, refused (Resourceprep)");
	is_int(parse("x/\xf0\x9f\x98\x80"), XF_OK, "U+1F600 allowed");
	is_int(parse("\x80@x"), XF_ERR, "stray continuation byte");
	is_int(parse("a\xc3@x"), XF_ERR, "truncated sequence");
	is_int(parse("x/\xe2\x98"), XF_ERR, "truncated at end of resource");
	is_int(parse("\xff@x"), XF_ERR, "0xff byte");
	is_int(parse("x.\xfe"), XF_ERR, "0xfe in domain");
}

static void
test_lengths(void)
{
	char	*p1023 = rep('a', 1023), *p1024 = rep('a', 1024);
	char	*s, *dom1023, *out;
	size_t	 i;

	s = malloc(4000);
	out = malloc(4000);

	snprintf(s, 4000, "%s@x", p1023);
	is_int(parse(s), XF_OK, "1023-byte localpart");
	snprintf(s, 4000, "%s@x", p1024);
	is_int(parse(s), XF_ERR, "1024-byte localpart");

	snprintf(s, 4000, "x/%s", p1023);
	is_int(parse(s), XF_OK, "1023-byte resourcepart");
	snprintf(s, 4000, "x/%s", p1024);
	is_int(parse(s), XF_ERR, "1024-byte resourcepart");

	/* Domain labels are at most 63 bytes: build 1023 from 63 + dots. */
	dom1023 = rep('b', 1023);
	for (i = 63; i < 1023; i += 64)
		dom1023[i] = '.';
	is_int(parse(dom1023), XF_OK, "1023-byte domainpart");
	snprintf(s, 4000, "%s.", dom1023);
	is_int(parse(s), XF_OK, "1023-byte domainpart plus trailing dot");
	snprintf(s, 4000, "%sc", dom1023);
	is_int(parse(s), XF_ERR, "1024-byte domainpart");

	snprintf(s, 4000, "%s@%s/%s", p1023, dom1023, p1023);
	is_int(parse(s), XF_OK, "3071-byte JID (all parts at maximum)");
	is_int(xf_jid_full(&j, out, XF_JID_MAX + 1), XF_OK,
	    "full form fits in XF_JID_MAX + 1");
	is_int(strlen(out), XF_JID_MAX, "full form is XF_JID_MAX bytes");
	is_int(xf_jid_full(&j, out, XF_JID_MAX), XF_ERR, "but not in one less");

	free(p1023);
	free(p1024);
	free(dom1023);
	free(s);
	free(out);
}

int
main(void)
{
	test_split();
	test_local();
	test_domain();
	test_resource();
	test_utf8();
	test_lengths();
	return done_testing();
}
