/* buf.c: a growable byte buffer with a consumed-prefix offset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "buf.h"

int
xf_buf_reserve(xf_buf_t *b, size_t more)
{
	size_t	 live = b->b_len - b->b_off, cap;
	char	*p;

	if (b->b_cap - b->b_len > more)
		return XF_OK;
	/* Reclaim the consumed prefix before growing. */
	if (b->b_off > 0) {
		memmove(b->b_data, b->b_data + b->b_off, live);
		b->b_off = 0;
		b->b_len = live;
		if (b->b_cap - b->b_len > more)
			return XF_OK;
	}
	cap = b->b_cap ? b->b_cap : 256;
	while (cap - live <= more) {
		if (cap > ((size_t)-1) / 2)
			return XF_ERR;
		cap *= 2;
	}
	if ((p = realloc(b->b_data, cap)) == NULL)
		return XF_ERR;
	b->b_data = p;
	b->b_cap = cap;
	return XF_OK;
}

int
xf_buf_append(xf_buf_t *b, const void *data, size_t len)
{
	if (xf_buf_reserve(b, len) != XF_OK)
		return XF_ERR;
	if (len > 0)
		memcpy(b->b_data + b->b_len, data, len);
	b->b_len += len;
	return XF_OK;
}

int
xf_buf_puts(xf_buf_t *b, const char *s)
{
	return xf_buf_append(b, s, strlen(s));
}

int
xf_buf_printf(xf_buf_t *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || xf_buf_reserve(b, (size_t)n + 1) != XF_OK)
		return XF_ERR;
	va_start(ap, fmt);
	vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
	return XF_OK;
}

void
xf_buf_consume(xf_buf_t *b, size_t n)
{
	b->b_off += n;
	if (b->b_off >= b->b_len)
		b->b_off = b->b_len = 0;
}

void
xf_buf_reset(xf_buf_t *b)
{
	b->b_off = b->b_len = 0;
}

void
xf_buf_free(xf_buf_t *b)
{
	free(b->b_data);
	memset(b, 0, sizeof(*b));
}

const char *
xf_buf_cstr(xf_buf_t *b)
{
	if (xf_buf_reserve(b, 1) != XF_OK)
		return NULL;
	b->b_data[b->b_len] = '\0';
	return b->b_data + b->b_off;
}
