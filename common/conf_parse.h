/* conf_parse.h: the syntax pass of xfed.conf, shared by conf.c and conf_parse.c; private to common/. */
#ifndef XF_CONF_PARSE_H
#define XF_CONF_PARSE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "xf.h"

/*
 * The parser knows the syntax and nothing else: it turns the text into
 * a tree of nodes (key, type, value, line) and leaves every option name
 * to conf.c.
 */

enum { V_STR, V_INT, V_BOOL, V_LIST, V_BLOCK };

typedef struct node_s node_t;
struct node_s {
	char		*n_key;		/* NULL for list items */
	int		 n_type;	/* V_* */
	int		 n_line;	/* 0 for built-in defaults */
	char		*n_str;		/* V_STR */
	long long	 n_int;		/* V_INT, V_BOOL */
	node_t		*n_child;	/* V_LIST items, V_BLOCK body */
	node_t		*n_next;
};

/* "file:line: message", or "file: message" for line 0.  Returns XF_ERR. */
static inline int
verr(char *err, size_t errlen, const char *file, int line, const char *fmt,
    va_list ap)
{
	int	 n;

	if (err == NULL || errlen == 0)
		return XF_ERR;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", file, line);
	else
		n = snprintf(err, errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	return XF_ERR;
}

/* Parses a whole file's text into a tree; the caller frees *out. */
int	 xf_conf_parse(const char *file, const char *text, size_t len,
	    node_t **out, char *err, size_t errlen);
/* Parses one value written in file syntax: an entry of opts[].o_default. */
int	 xf_conf_parse_value(const char *text, node_t **out, char *err,
	    size_t errlen);
/* Frees n, its children and the nodes after it. */
void	 xf_conf_node_free(node_t *n);

#endif /* XF_CONF_PARSE_H */
