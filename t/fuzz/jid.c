/* jid.c: libFuzzer target: JID parsing and the part normalisers, which must be idempotent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "jid.h"

/*
 * The whole input is one JID and also, when it holds no NUL, one part
 * for each of the three normalisers.  Whatever is accepted, normalised
 * once more, must be accepted and stay the same: a JID is compared and
 * looked up by its normalised bytes, so a second pass that changed them
 * would give one account two names.
 */
#define CAP	(3 * 1024 + 16)

static void
die(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "%s\nfirst:  '%s'\nsecond: '%s'\n", what, a,
	    b != NULL ? b : "(refused)");
	abort();
}

static void
part(const char *s, size_t len, int (*fn)(char *, size_t), const char *name)
{
	static char	 once[CAP], twice[CAP];

	if (len >= CAP || memchr(s, '\0', len) != NULL)
		return;
	memcpy(once, s, len);
	once[len] = '\0';
	if (fn(once, sizeof(once)) != XF_OK)
		return;
	memcpy(twice, once, strlen(once) + 1);
	if (fn(twice, sizeof(twice)) != XF_OK)
		die(name, once, NULL);
	if (strcmp(once, twice) != 0)
		die(name, once, twice);
}

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static xf_jid_t	 j, k;
	static char	 full[sizeof(j.j_buf)], full2[sizeof(j.j_buf)];
	static char	 bare[sizeof(j.j_buf)], bare2[sizeof(j.j_buf)];
	const char	*s = (const char *)data;

	if (xf_jid_parse(s, size, &j) == XF_OK) {
		if (j.j_domain == NULL ||
		    xf_jid_full(&j, full, sizeof(full)) != XF_OK ||
		    xf_jid_bare(&j, bare, sizeof(bare)) != XF_OK)
			die("a parsed JID does not write", "", NULL);
		if (xf_jid_parse(full, strlen(full), &k) != XF_OK)
			die("jid", full, NULL);
		if (xf_jid_full(&k, full2, sizeof(full2)) != XF_OK ||
		    strcmp(full, full2) != 0)
			die("jid", full, full2);
		if (xf_jid_bare_of(full, bare2, sizeof(bare2)) != XF_OK ||
		    strcmp(bare, bare2) != 0)
			die("bare jid", bare, bare2);
	}
	part(s, size, xf_jid_localpart, "localpart");
	part(s, size, xf_jid_domainpart, "domainpart");
	part(s, size, xf_jid_resourcepart, "resourcepart");
	return 0;
}
