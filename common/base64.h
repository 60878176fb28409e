/* base64.h: base64 (RFC 4648) as SASL and SCRAM use it. */
#ifndef XF_BASE64_H
#define XF_BASE64_H

#include <stddef.h>

#include "buf.h"

int	 xf_b64_encode(xf_buf_t *out, const void *data, size_t len);
/* Strict decode: XF_ERR on bad characters or padding.  "=" decodes to
 * zero bytes (the SASL empty response). */
int	 xf_b64_decode(xf_buf_t *out, const char *s, size_t len);

#endif /* XF_BASE64_H */
