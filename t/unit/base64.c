/* base64.c: unit tests for common/base64.c (RFC 4648 vectors, strictness). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "buf.h"
#include "base64.h"

static const struct {
	const char	*raw;
	const char	*enc;
} vectors[] = {
	/* RFC 4648 section 10 */
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	/* SCRAM gs2 headers (RFC 5802 section 5) */
	{ "n,,", "biws" },
	{ "y,,", "eSws" },
};

static const struct {
	const char	*enc;
	const char	*why;
} bad[] = {
	{ "Zg", "missing padding" },
	{ "Zg=", "short padding" },
	{ "Zm9", "length not a multiple of 4" },
	{ "Zh==", "non-canonical: bits under '==' set" },
	{ "Zm9=", "non-canonical: bits under '=' set" },
	{ "====", "padding only" },
	{ "==", "padding only, short" },
	{ "A===", "three pad characters" },
	{ "Zg==Zg==", "padding in the middle" },
	{ "Z=g=", "'=' before a data character" },
	{ "Zm9\n", "newline" },
	{ "Zm 9", "space" },
	{ "Zm9v!A==", "character outside the alphabet" },
	{ "Zm-_", "base64url alphabet" },
};

static int
decode_str(const char *s, xf_buf_t *out)
{
	return xf_b64_decode(out, s, strlen(s));
}

int
main(void)
{
	xf_buf_t	 b = { 0 };
	uint8_t		 all[256];
	size_t		 i;

	for (i = 0; i < XF_NELEM(vectors); i++) {
		xf_buf_reset(&b);
		is_int(xf_b64_encode(&b, vectors[i].raw,
		    strlen(vectors[i].raw)), XF_OK, "encode '%s'",
		    vectors[i].raw);
		is_str(xf_buf_cstr(&b), vectors[i].enc, "encode '%s' text",
		    vectors[i].raw);

		xf_buf_reset(&b);
		is_int(decode_str(vectors[i].enc, &b), XF_OK, "decode '%s'",
		    vectors[i].enc);
		is_str(xf_buf_cstr(&b), vectors[i].raw, "decode '%s' text",
		    vectors[i].enc);
	}

	/* The SASL empty response. */
	xf_buf_reset(&b);
	is_int(decode_str("=", &b), XF_OK, "'=' decodes");
	is_int(xf_buf_size(&b), 0, "'=' decodes to zero bytes");

	/* Encode and decode append to what the buffer holds. */
	xf_buf_reset(&b);
	xf_buf_puts(&b, "x:");
	xf_b64_encode(&b, "foo", 3);
	is_str(xf_buf_cstr(&b), "x:Zm9v", "encode appends");
	xf_buf_reset(&b);
	xf_buf_puts(&b, "x:");
	decode_str("Zm9v", &b);
	is_str(xf_buf_cstr(&b), "x:foo", "decode appends");

	for (i = 0; i < XF_NELEM(bad); i++) {
		xf_buf_reset(&b);
		xf_buf_puts(&b, "keep");
		is_int(decode_str(bad[i].enc, &b), XF_ERR, "reject: %s",
		    bad[i].why);
		is_str(xf_buf_cstr(&b), "keep", "%s: buffer unchanged",
		    bad[i].why);
	}

	/* An embedded NUL is not a base64 character. */
	xf_buf_reset(&b);
	is_int(xf_b64_decode(&b, "Zm\0v", 4), XF_ERR, "reject embedded NUL");

	/* Every byte value, at each of the three tail lengths. */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(255 - i);
	for (i = 254; i <= 256; i++) {
		xf_buf_t	 enc = { 0 }, dec = { 0 };

		xf_b64_encode(&enc, all, i);
		is_int(xf_buf_size(&enc), (i + 2) / 3 * 4,
		    "%zu bytes encode to %zu chars", i, (i + 2) / 3 * 4);
		is_int(xf_b64_decode(&dec, xf_buf_data(&enc),
		    xf_buf_size(&enc)), XF_OK, "%zu bytes round-trip", i);
		ok(xf_buf_size(&dec) == i &&
		    memcmp(xf_buf_data(&dec), all, i) == 0,
		    "%zu bytes round-trip intact", i);
		xf_buf_free(&enc);
		xf_buf_free(&dec);
	}

	xf_buf_free(&b);
	return done_testing();
}
