/* xmlstream.c: libFuzzer target: the stream parser, the stanza tree, and serialising it back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "xml.h"
#include "xmlstream.h"

/*
 * Input: a flags byte, two bytes of split point, then the stream.  The
 * stream is fed whole, then again in two pieces split there (a stanza
 * or a tag cut in two by the network), optionally with the parser
 * parked in between; both with or without a size limit, and with the
 * open callback asking for a stream restart or not.  Both runs must see
 * the same events and end the same way: where the bytes were cut must
 * not matter.  Every stanza must serialise, parse again as the same
 * element (written the same way), and copy to the same.
 */
#define F_PARK		0x01	/* xf_xmls_park() between the pieces */
#define F_LIMIT		0x02	/* max_stanza 512 */
#define F_RESTART	0x04	/* open asks for XF_AGAIN: reset, go on */

typedef struct fz_s {
	char		 f_ns[256];	/* the stream's default namespace */
	int		 f_restart;
	xf_buf_t	 f_log;		/* events, stanzas as written */
} fz_t;

static void
die(const char *what, const xf_buf_t *a, const xf_buf_t *b)
{
	fprintf(stderr, "%s\n", what);
	if (a != NULL)
		fprintf(stderr, "first:  %.*s\n", (int)xf_buf_size(a),
		    xf_buf_data(a));
	if (b != NULL)
		fprintf(stderr, "second: %.*s\n", (int)xf_buf_size(b),
		    xf_buf_data(b));
	abort();
}

static int
same(const xf_buf_t *a, const xf_buf_t *b)
{
	return xf_buf_size(a) == xf_buf_size(b) &&
	    memcmp(xf_buf_data(a), xf_buf_data(b), xf_buf_size(a)) == 0;
}

static int
on_open(void *ud, const xf_el_t *hdr)
{
	fz_t		*f = ud;
	const char	*ns = xf_el_attr(hdr, "xmlns");

	snprintf(f->f_ns, sizeof(f->f_ns), "%s", ns != NULL ? ns : "");
	xf_buf_printf(&f->f_log, "open %s\n", f->f_ns);
	return f->f_restart ? XF_AGAIN : XF_OK;
}

static int
on_stanza(void *ud, xf_el_t *st)
{
	fz_t		*f = ud;
	xf_buf_t	 w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	xf_el_t		*re, *cp;
	/* Long namespaces do not fit f_ns: the stanza's own then. */
	const char	*ns = strlen(f->f_ns) < sizeof(f->f_ns) - 1 ?
			    f->f_ns : st->e_ns;

	if (ns == NULL)
		ns = "";
	if (xf_el_write(st, ns, &w1) != XF_OK)
		die("xf_el_write failed", NULL, NULL);
	if ((re = xf_xml_parse(xf_buf_data(&w1), xf_buf_size(&w1), ns)) ==
	    NULL)
		die("a written stanza does not parse", &w1, NULL);
	if (xf_el_write(re, ns, &w2) != XF_OK)
		die("xf_el_write of the reparsed stanza failed", NULL, NULL);
	if (!same(&w1, &w2))
		die("a reparsed stanza writes differently", &w1, &w2);
	if ((cp = xf_el_copy(st)) == NULL)
		die("xf_el_copy failed", NULL, NULL);
	if (xf_el_write(cp, ns, &w3) != XF_OK || !same(&w1, &w3))
		die("a copied stanza writes differently", &w1, &w3);
	xf_buf_append(&f->f_log, xf_buf_data(&w1), xf_buf_size(&w1));
	xf_buf_puts(&f->f_log, "\n");
	xf_el_free(cp);
	xf_el_free(re);
	xf_el_free(st);
	xf_buf_free(&w1);
	xf_buf_free(&w2);
	xf_buf_free(&w3);
	return XF_OK;
}

static int
on_close(void *ud)
{
	fz_t	*f = ud;

	xf_buf_puts(&f->f_log, "close\n");
	return XF_OK;
}

static const xf_xmls_cb_t cb = { on_open, on_stanza, on_close };

/* Feeds one piece, restarting the stream as often as open asks. */
static int
feed(xf_xmls_t *p, const char *buf, size_t len)
{
	size_t	 used;
	int	 rc;

	for (;;) {
		used = 0;
		rc = xf_xmls_feed(p, buf, len, &used);
		if (rc != XF_AGAIN)
			return rc;
		if (used > len)
			die("feed used more than it was given", NULL, NULL);
		if (xf_xmls_reset(p) != XF_OK)
			die("xf_xmls_reset failed", NULL, NULL);
		buf += used;
		len -= used;
	}
}

/*
 * Which error a broken stream gets may depend on where it was cut when
 * it is broken twice over: expat drops the text it was scanning when
 * it meets "]]>" in it, so text between stanzas before a "]]>" is
 * bad-format when a cut delivered it first and not-well-formed when
 * not; and a stanza over the limit is caught at the end of a piece,
 * perhaps before expat reaches a malformed byte further on.  Those
 * three conditions may stand for one another; all else must match.
 */
static int
loose(const char *cond, size_t len)
{
	static const char *const c[] = {
		"not-well-formed", "bad-format", "policy-violation"
	};

	for (size_t i = 0; i < XF_NELEM(c); i++)
		if (len == strlen(c[i]) && memcmp(cond, c[i], len) == 0)
			return 1;
	return 0;
}

/* The last line of a run's log, "end CONDITION\n": *len its length. */
static const char *
last_line(const xf_buf_t *b, size_t *len)
{
	const char	*d = xf_buf_data(b), *nl;
	size_t		 n = xf_buf_size(b);

	nl = n > 1 ? memrchr(d, '\n', n - 1) : NULL;
	nl = nl != NULL ? nl + 1 : d;
	*len = (size_t)(d + n - nl);
	return nl;
}

static int
same_run(const xf_buf_t *a, const xf_buf_t *b)
{
	const char	*ea, *eb;
	size_t		 la, lb;

	if (same(a, b))
		return 1;
	ea = last_line(a, &la);
	eb = last_line(b, &lb);
	if (ea - xf_buf_data(a) != eb - xf_buf_data(b) ||
	    memcmp(xf_buf_data(a), xf_buf_data(b),
	    (size_t)(ea - xf_buf_data(a))) != 0)
		return 0;
	/* "end " and the newline around the condition. */
	return la > 5 && lb > 5 && loose(ea + 4, la - 5) &&
	    loose(eb + 4, lb - 5);
}

/*
 * One run over s, cut at split (len: not cut).  Returns the log of what
 * happened, the outcome last; the caller frees it.
 */
static void
run(const char *s, size_t len, size_t split, uint8_t flags, xf_buf_t *log)
{
	fz_t		 f = { "", 0, { 0 } };
	xf_xmls_t	*p;
	const char	*err;
	int		 rc;

	f.f_restart = (flags & F_RESTART) != 0;
	if ((p = xf_xmls_new(flags & F_LIMIT ? 512 : 0, &cb, &f)) == NULL)
		die("xf_xmls_new failed", NULL, NULL);
	rc = feed(p, s, split);
	if (rc == XF_OK && split < len) {
		if (flags & F_PARK)
			(void)xf_xmls_park(p);
		rc = feed(p, s + split, len - split);
	}
	err = xf_xmls_error(p);
	if ((rc == XF_OK) != (err == NULL))
		die("the outcome and the error disagree", &f.f_log, NULL);
	xf_buf_printf(&f.f_log, "end %s\n", err != NULL ? err : "ok");
	xf_xmls_free(p);
	*log = f.f_log;
}

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xf_buf_t	 whole, cut;
	const char	*s;
	size_t		 split;
	uint8_t		 flags;

	if (size < 3)
		return 0;
	flags = data[0];
	split = (size_t)data[1] << 8 | data[2];
	s = (const char *)data + 3;
	size -= 3;
	if (split > size)
		split = size;

	run(s, size, size, flags & ~F_PARK, &whole);
	run(s, size, split, flags, &cut);
	if (!same_run(&whole, &cut))
		die("fed whole and fed in two pieces differ", &whole, &cut);
	xf_buf_free(&whole);
	xf_buf_free(&cut);
	return 0;
}
