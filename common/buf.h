/* buf.h: a growable byte buffer with a consumed-prefix offset. */
#ifndef XF_BUF_H
#define XF_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct xf_buf_s xf_buf_t;

/*
 * Bytes b_data[b_off .. b_len) are live; the prefix before b_off has been
 * consumed and is reclaimed lazily by xf_buf_reserve().  A zeroed struct
 * is an empty buffer.  b_data is owned; freed by xf_buf_free().
 */
struct xf_buf_s {
	char	*b_data;
	size_t	 b_off;
	size_t	 b_len;
	size_t	 b_cap;
};

int	 xf_buf_reserve(xf_buf_t *, size_t more);	/* XF_OK or XF_ERR */
int	 xf_buf_append(xf_buf_t *, const void *, size_t);
int	 xf_buf_puts(xf_buf_t *, const char *);
int	 xf_buf_printf(xf_buf_t *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 xf_buf_consume(xf_buf_t *, size_t);
void	 xf_buf_reset(xf_buf_t *);
void	 xf_buf_free(xf_buf_t *);
/* NUL-terminates the live bytes (not counted in the length). */
const char *xf_buf_cstr(xf_buf_t *);

static inline char *
xf_buf_data(const xf_buf_t *b)
{
	return b->b_data + b->b_off;
}

static inline size_t
xf_buf_size(const xf_buf_t *b)
{
	return b->b_len - b->b_off;
}

#endif /* XF_BUF_H */
