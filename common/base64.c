/* base64.c: strict base64 (RFC 4648 section 4, with padding) for SASL and SCRAM. */
#include <stddef.h>
#include <stdint.h>

#include "xf.h"
#include "buf.h"
#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of an alphabet character, -1 for anything else. */
static int
b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Appends the encoding of data to out. */
int
xf_b64_encode(xf_buf_t *out, const void *data, size_t len)
{
	const uint8_t	*p = data;
	char		*d;
	size_t		 i, n;
	uint32_t	 v;

	if (len > ((size_t)-1) / 4 * 3 - 3)
		return XF_ERR;
	n = (len + 2) / 3 * 4;
	if (xf_buf_reserve(out, n) != XF_OK)
		return XF_ERR;
	d = out->b_data + out->b_len;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*d++ = b64_alphabet[v >> 18];
		*d++ = b64_alphabet[(v >> 12) & 0x3f];
		*d++ = b64_alphabet[(v >> 6) & 0x3f];
		*d++ = b64_alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*d++ = b64_alphabet[v >> 18];
		*d++ = b64_alphabet[(v >> 12) & 0x3f];
		*d++ = '=';
		*d++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*d++ = b64_alphabet[v >> 18];
		*d++ = b64_alphabet[(v >> 12) & 0x3f];
		*d++ = b64_alphabet[(v >> 6) & 0x3f];
		*d++ = '=';
	}
	out->b_len += n;
	return XF_OK;
}

/*
 * Appends the decoding of s[0 .. len) to out.  Strict, because a SASL
 * peer that sends sloppy base64 is broken or probing: the length must be
 * a multiple of 4, no whitespace, '=' only as the last one or two
 * characters, and the bits the padding discards must be zero (so every
 * byte string has exactly one accepted encoding).  "" and "=" both decode
 * to nothing: RFC 6120 section 6.4.2 sends an empty response as "=".
 * On error out is left as it was.
 */
int
xf_b64_decode(xf_buf_t *out, const char *s, size_t len)
{
	const uint8_t	*p = (const uint8_t *)s;
	uint8_t		*d;
	size_t		 i, pad, n;
	uint32_t	 v;
	int		 c0, c1, c2, c3;

	if (len == 0 || (len == 1 && s[0] == '='))
		return XF_OK;
	if (len % 4 != 0)
		return XF_ERR;

	pad = 0;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	n = len / 4 * 3 - pad;
	if (xf_buf_reserve(out, n) != XF_OK)
		return XF_ERR;
	d = (uint8_t *)out->b_data + out->b_len;

	for (i = 0; i < len; i += 4) {
		c0 = b64_value(p[i]);
		c1 = b64_value(p[i + 1]);
		if (c0 < 0 || c1 < 0)
			return XF_ERR;
		if (i + 4 == len && pad == 2) {
			if ((c1 & 0x0f) != 0)
				return XF_ERR;
			*d++ = (uint8_t)(c0 << 2 | c1 >> 4);
			break;
		}
		c2 = b64_value(p[i + 2]);
		if (c2 < 0)
			return XF_ERR;
		if (i + 4 == len && pad == 1) {
			if ((c2 & 0x03) != 0)
				return XF_ERR;
			v = (uint32_t)c0 << 18 | (uint32_t)c1 << 12 |
			    (uint32_t)c2 << 6;
			*d++ = (uint8_t)(v >> 16);
			*d++ = (uint8_t)(v >> 8);
			break;
		}
		c3 = b64_value(p[i + 3]);
		if (c3 < 0)
			return XF_ERR;
		v = (uint32_t)c0 << 18 | (uint32_t)c1 << 12 |
		    (uint32_t)c2 << 6 | (uint32_t)c3;
		*d++ = (uint8_t)(v >> 16);
		*d++ = (uint8_t)(v >> 8);
		*d++ = (uint8_t)v;
	}
	out->b_len += n;
	return XF_OK;
}
