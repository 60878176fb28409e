/* conf_impl.h: the option table's types and what conf.c (loading) and conf_opts.c (the options) share; private to them. */
#ifndef XF_CONF_IMPL_H
#define XF_CONF_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "conf.h"
#include "conf_parse.h"

typedef struct load_s load_t;
typedef struct opt_s opt_t;

struct opt_s {
	const char	*o_block;	/* NULL at top level */
	const char	*o_name;
	const char	*o_default;	/* file syntax; NULL: derived */
	int		(*o_set)(load_t *, const opt_t *, const node_t *);
	size_t		 o_off;		/* field in xf_conf_t */
	size_t		 o_noff;	/* its count, for lists */
	long long	 o_min;		/* integers */
	long long	 o_max;
};

struct load_s {
	const char	*l_file;
	char		*l_err;
	size_t		 l_errlen;
	xf_conf_t	*l_conf;
	char		*l_cwd;		/* fetched when needed */
	int		 l_seen[64];	/* line each opts[] was set at */
};

/* The options, in conf_opts.c: one entry per name the file may set. */
extern const opt_t	 xf_conf_opts[];
extern const size_t	 xf_conf_nopts;

/* Absolute form of a path from the file; in conf_opts.c. */
char	*xf_conf_absolute(load_t *, const char *path, int line);

static inline int lerr(load_t *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static inline int
lerr(load_t *l, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(l->l_err, l->l_errlen, l->l_file, line, fmt, ap);
	va_end(ap);
	return XF_ERR;
}

static inline void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static inline void
show_listen(const xf_listen_t *ls, char *buf, size_t len)
{
	if (ls->l_addr[0] == '\0')
		snprintf(buf, len, "%d", ls->l_port);
	else if (strchr(ls->l_addr, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", ls->l_addr, ls->l_port);
	else
		snprintf(buf, len, "%s:%d", ls->l_addr, ls->l_port);
}

/*
 * Two listeners clash when they name the same socket address.  With
 * SO_REUSEPORT the kernel would accept both binds and then spread
 * connections between them, so a port listed twice, or in both 'ports'
 * and 'tls-ports', would silently mix STARTTLS and direct TLS.  A
 * wildcard and a specific address on one port are fine: the specific
 * bind wins for its address.
 */
static inline int
clash(const xf_listen_t *a, const xf_listen_t *b)
{
	return a->l_port == b->l_port && strcmp(a->l_addr, b->l_addr) == 0;
}

#endif /* XF_CONF_IMPL_H */
