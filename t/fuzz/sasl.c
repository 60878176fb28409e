/* sasl.c: libFuzzer target: what a client sends to SASL: base64, PLAIN, SCRAM's two messages. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "base64.h"
#include "scram.h"

/*
 * Input: a mode byte, then the message.
 *   mode & 3 == 0: PLAIN (authzid NUL authcid NUL passwd)
 *   mode & 3 == 1: base64: decode, and if it is accepted, encoding the
 *                  result must give the same text back (one encoding per
 *                  byte string); decode(encode(x)) == x always
 *   mode & 3 == 2: SCRAM client-first alone
 *   mode & 3 == 3: a whole exchange: client-first up to the first NUL,
 *                  the server's challenge, client-final after it
 * mode & 4 picks SHA-256 over SHA-1; mode & 8 an unknown user (cred
 * NULL).  The user "user" has password "pencil", salt 0..15, 1
 * iteration, and the server's nonce part is "fuzz", so a seed can hold
 * an exchange that succeeds (t/fuzz/corpus/sasl/).
 */
static xf_cred_t	 cred;
static int		 cred_ok;

static void
die(const char *what, const char *s, size_t len)
{
	fprintf(stderr, "%s: '%.*s'\n", what, (int)len, s);
	abort();
}

static void
plain(const char *s, size_t len)
{
	char	 az[64], ac[64], pw[64];

	if (xf_sasl_plain_parse(s, len, az, sizeof(az), ac, sizeof(ac), pw,
	    sizeof(pw)) != XF_OK) {
		if (az[0] != '\0' || ac[0] != '\0' || pw[0] != '\0')
			die("PLAIN failed but left output", s, len);
		return;
	}
	/* What was split must be what was sent. */
	if (strlen(az) + strlen(ac) + strlen(pw) + 2 != len ||
	    memcmp(s, az, strlen(az)) != 0 ||
	    memcmp(s + strlen(az) + 1, ac, strlen(ac)) != 0 ||
	    memcmp(s + len - strlen(pw), pw, strlen(pw)) != 0 ||
	    ac[0] == '\0' || pw[0] == '\0')
		die("PLAIN split wrongly", s, len);
}

static void
base64(const char *s, size_t len)
{
	xf_buf_t	 dec = { 0 }, enc = { 0 }, back = { 0 };

	/* Something already in out must survive an error. */
	xf_buf_append(&dec, "x", 1);
	if (xf_b64_decode(&dec, s, len) != XF_OK) {
		if (xf_buf_size(&dec) != 1)
			die("a failed decode changed its output", s, len);
	} else {
		if (xf_b64_encode(&enc, xf_buf_data(&dec) + 1,
		    xf_buf_size(&dec) - 1) != XF_OK)
			die("encode failed", s, len);
		if (!(len == 1 && s[0] == '=') && (xf_buf_size(&enc) != len ||
		    memcmp(xf_buf_data(&enc), s, len) != 0))
			die("decode accepted a second encoding", s, len);
	}
	xf_buf_reset(&enc);
	if (xf_b64_encode(&enc, s, len) != XF_OK ||
	    xf_b64_decode(&back, xf_buf_data(&enc), xf_buf_size(&enc)) !=
	    XF_OK || xf_buf_size(&back) != len ||
	    (len > 0 && memcmp(xf_buf_data(&back), s, len) != 0))
		die("decode(encode(x)) != x", s, len);
	xf_buf_free(&dec);
	xf_buf_free(&enc);
	xf_buf_free(&back);
}

static void
scram(const char *s, size_t len, int mode)
{
	xf_scram_t	*sc;
	xf_buf_t	 out = { 0 };
	const char	*cond, *nul = NULL;
	char		 user[1024];
	size_t		 first = len;

	if ((mode & 3) == 3 && (nul = memchr(s, '\0', len)) != NULL)
		first = (size_t)(nul - s);
	if ((sc = xf_scram_new(mode & 4 ? XF_HASH_SHA256 : XF_HASH_SHA1)) ==
	    NULL)
		return;
	cond = NULL;
	if (xf_scram_client_first(sc, s, first, user, sizeof(user), &cond) !=
	    XF_OK) {
		if (cond == NULL)
			die("client-first failed without a condition", s, len);
		goto done;
	}
	if (cond != NULL || strlen(user) == 0)
		die("client-first passed oddly", s, len);
	if ((mode & 3) != 3)
		goto done;
	if (xf_scram_server_first(sc, mode & 8 ? NULL : &cred, 4096, "fuzz",
	    &out) != XF_OK)
		die("server-first failed", s, len);
	xf_buf_reset(&out);
	if (nul == NULL)
		goto done;
	cond = NULL;
	if (xf_scram_client_final(sc, nul + 1, len - first - 1, &out,
	    &cond) == XF_OK) {
		if (mode & 8 || strcmp(user, "user") != 0)
			die("client-final passed for the wrong user", s, len);
		if (xf_buf_size(&out) < 3)
			die("client-final passed without a signature", s, len);
	} else if (cond == NULL)
		die("client-final failed without a condition", s, len);
done:
	xf_buf_free(&out);
	xf_scram_free(sc);
}

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data + 1;
	int		 mode, h;

	if (!cred_ok) {
		cred.cr_iter = 1;
		for (int i = 0; i < XF_SCRAM_SALT_LEN; i++)
			cred.cr_salt[i] = (uint8_t)i;
		for (h = XF_HASH_SHA1; h <= XF_HASH_SHA256; h++)
			if (xf_scram_keys(h, "pencil", 6, cred.cr_salt,
			    sizeof(cred.cr_salt), 1, cred.cr_stored[h],
			    cred.cr_server[h]) != XF_OK)
				abort();
		cred_ok = 1;
	}
	if (size < 1)
		return 0;
	mode = data[0];
	switch (mode & 3) {
	case 0:
		plain(s, size - 1);
		break;
	case 1:
		base64(s, size - 1);
		break;
	default:
		scram(s, size - 1, mode);
		break;
	}
	return 0;
}
