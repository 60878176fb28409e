/* conf_parse.c: the syntax of xfed.conf (Tigase DSL style): tokenizer and a generic tree of nodes. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "conf_parse.h"

#define MAX_DEPTH	8	/* nested blocks; options use one level */

enum {
	T_EOF, T_NL, T_SEMI, T_EQ, T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK,
	T_COMMA, T_STR, T_INT, T_WORD
};

typedef struct parse_s {
	const char	*p_file;	/* for messages, as given */
	const char	*p_cur;
	const char	*p_end;
	int		 p_line;
	char		*p_err;
	size_t		 p_errlen;

	/* The current token.  A word points into the text; a string's
	 * unescaped bytes are in p_sbuf until the next token. */
	int		 p_tok;
	int		 p_tline;
	long long	 p_int;
	const char	*p_word;
	size_t		 p_wlen;
	xf_buf_t	 p_sbuf;
} parse_t;

static int	 perr(parse_t *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
perr(parse_t *p, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	verr(p->p_err, p->p_errlen, p->p_file, line, fmt, ap);
	va_end(ap);
	return XF_ERR;
}

static int
is_word(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* A character for a message: printable as itself, else as an escape. */
static const char *
show_char(int c, char *buf, size_t len)
{
	c &= 0xff;
	if (isprint(c))
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "'\\x%02x'", c);
	return buf;
}

/* The current token, for "expected X, found Y". */
static const char *
show_tok(parse_t *p, char *buf, size_t len)
{
	static const char *const names[] = {
		"end of file", "end of line", "';'", "'='", "'{'", "'}'",
		"'['", "']'", "','"
	};

	switch (p->p_tok) {
	case T_STR:
		snprintf(buf, len, "string '%.32s'", xf_buf_cstr(&p->p_sbuf));
		break;
	case T_INT:
		snprintf(buf, len, "number %lld", p->p_int);
		break;
	case T_WORD:
		snprintf(buf, len, "'%.*s'", (int)(p->p_wlen > 32 ? 32 :
		    p->p_wlen), p->p_word);
		break;
	default:
		snprintf(buf, len, "%s", names[p->p_tok]);
		break;
	}
	return buf;
}

static int
lex_string(parse_t *p)
{
	char	 q = *p->p_cur++, c;

	xf_buf_reset(&p->p_sbuf);
	for (;;) {
		/* Strings do not span lines: a missing quote is then
		 * reported on its own line, not at the end of the file. */
		if (p->p_cur == p->p_end || *p->p_cur == '\n')
			return perr(p, p->p_tline, "unterminated string");
		c = *p->p_cur++;
		if (c == q)
			break;
		if (c == '\0')
			return perr(p, p->p_tline, "NUL byte in string");
		if (c == '\\') {
			if (p->p_cur == p->p_end || *p->p_cur == '\n')
				return perr(p, p->p_tline,
				    "unterminated string");
			c = *p->p_cur++;
			switch (c) {
			case '\\': case '\'': case '"':
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			default:
				if (isprint((unsigned char)c))
					return perr(p, p->p_tline, "invalid "
					    "escape '\\%c' in string", c);
				return perr(p, p->p_tline, "invalid escape "
				    "(byte 0x%02x after '\\') in string",
				    c & 0xff);
			}
		}
		if (xf_buf_append(&p->p_sbuf, &c, 1) != XF_OK)
			return perr(p, p->p_tline, "out of memory");
	}
	if (xf_buf_cstr(&p->p_sbuf) == NULL)
		return perr(p, p->p_tline, "out of memory");
	p->p_tok = T_STR;
	return XF_OK;
}

/* A run of word characters: an integer if it looks like one, else a word. */
static int
lex_word(parse_t *p)
{
	const char	*s = p->p_cur, *e, *d;
	char		 num[32], *end;
	size_t		 n;

	while (p->p_cur < p->p_end && is_word((unsigned char)*p->p_cur))
		p->p_cur++;
	p->p_word = s;
	p->p_wlen = n = p->p_cur - s;
	p->p_tok = T_WORD;

	e = p->p_cur;
	if (e[-1] == 'L')
		e--;
	d = (*s == '-') ? s + 1 : s;
	if (d == e)
		return XF_OK;
	for (const char *c = d; c < e; c++)
		if (!isdigit((unsigned char)*c))
			return XF_OK;
	if ((size_t)(e - s) >= sizeof(num))
		return perr(p, p->p_tline, "number '%.*s' out of range",
		    (int)n, s);
	memcpy(num, s, e - s);
	num[e - s] = '\0';
	errno = 0;
	p->p_int = strtoll(num, &end, 10);
	if (errno == ERANGE)
		return perr(p, p->p_tline, "number '%.*s' out of range",
		    (int)n, s);
	p->p_tok = T_INT;
	return XF_OK;
}

/* Moves to the next token.  Comments are skipped; a line end is a token
 * because it ends a statement. */
static int
lex(parse_t *p)
{
	char	 c, cb[16];
	int	 nl;

	for (;;) {
		while (p->p_cur < p->p_end && (*p->p_cur == ' ' ||
		    *p->p_cur == '\t' || *p->p_cur == '\r' ||
		    *p->p_cur == '\f' || *p->p_cur == '\v'))
			p->p_cur++;
		p->p_tline = p->p_line;
		if (p->p_cur == p->p_end) {
			p->p_tok = T_EOF;
			return XF_OK;
		}
		c = *p->p_cur;
		if (c == '#' || (c == '/' && p->p_cur + 1 < p->p_end &&
		    p->p_cur[1] == '/')) {
			while (p->p_cur < p->p_end && *p->p_cur != '\n')
				p->p_cur++;
			continue;
		}
		if (c == '/' && p->p_cur + 1 < p->p_end && p->p_cur[1] == '*') {
			p->p_cur += 2;
			nl = 0;
			for (;;) {
				if (p->p_cur + 1 >= p->p_end)
					return perr(p, p->p_tline,
					    "unterminated comment");
				if (p->p_cur[0] == '*' && p->p_cur[1] == '/')
					break;
				if (*p->p_cur++ == '\n') {
					p->p_line++;
					nl = 1;
				}
			}
			p->p_cur += 2;
			/* A comment over several lines ends a statement
			 * as the line end it contains would. */
			if (nl) {
				p->p_tok = T_NL;
				return XF_OK;
			}
			continue;
		}
		break;
	}

	switch (c) {
	case '\n':
		p->p_cur++;
		p->p_line++;
		p->p_tok = T_NL;
		return XF_OK;
	case ';': p->p_tok = T_SEMI; break;
	case '=': p->p_tok = T_EQ; break;
	case '{': p->p_tok = T_LBRACE; break;
	case '}': p->p_tok = T_RBRACE; break;
	case '[': p->p_tok = T_LBRACK; break;
	case ']': p->p_tok = T_RBRACK; break;
	case ',': p->p_tok = T_COMMA; break;
	case '\'': case '"':
		return lex_string(p);
	default:
		if (is_word((unsigned char)c))
			return lex_word(p);
		return perr(p, p->p_tline, "unexpected character %s",
		    show_char(c, cb, sizeof(cb)));
	}
	p->p_cur++;
	return XF_OK;
}

void
xf_conf_node_free(node_t *n)
{
	node_t	*next;

	for (; n != NULL; n = next) {
		next = n->n_next;
		xf_conf_node_free(n->n_child);
		free(n->n_key);
		free(n->n_str);
		free(n);
	}
}

static node_t *
node_new(parse_t *p, int type, int line)
{
	node_t	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		perr(p, line, "out of memory");
		return NULL;
	}
	n->n_type = type;
	n->n_line = line;
	return n;
}

static int
skip_nl(parse_t *p)
{
	while (p->p_tok == T_NL)
		if (lex(p) != XF_OK)
			return XF_ERR;
	return XF_OK;
}

/* One scalar at the current token; leaves the token after it. */
static int
parse_scalar(parse_t *p, node_t **out)
{
	node_t	*n;
	char	 tb[64];
	int	 line = p->p_tline;

	switch (p->p_tok) {
	case T_STR:
		if ((n = node_new(p, V_STR, line)) == NULL)
			return XF_ERR;
		if ((n->n_str = strdup(xf_buf_cstr(&p->p_sbuf))) == NULL) {
			free(n);
			return perr(p, line, "out of memory");
		}
		break;
	case T_INT:
		if ((n = node_new(p, V_INT, line)) == NULL)
			return XF_ERR;
		n->n_int = p->p_int;
		break;
	case T_WORD:
		if ((p->p_wlen == 4 && memcmp(p->p_word, "true", 4) == 0) ||
		    (p->p_wlen == 5 && memcmp(p->p_word, "false", 5) == 0)) {
			if ((n = node_new(p, V_BOOL, line)) == NULL)
				return XF_ERR;
			n->n_int = p->p_wlen == 4;
			break;
		}
		if (isdigit((unsigned char)*p->p_word) || *p->p_word == '-')
			return perr(p, line, "invalid number '%.*s'",
			    (int)p->p_wlen, p->p_word);
		return perr(p, line, "unexpected word '%.*s' (strings must "
		    "be quoted)", (int)p->p_wlen, p->p_word);
	default:
		return perr(p, line, "expected a value, found %s",
		    show_tok(p, tb, sizeof(tb)));
	}
	*out = n;
	return lex(p);
}

/* [ v, v, ... ] at the current '['; items may span lines. */
static int
parse_list(parse_t *p, node_t *list)
{
	node_t	**tail = &list->n_child;
	int	 open = p->p_tline;
	char	 tb[64];

	if (lex(p) != XF_OK)
		return XF_ERR;
	for (;;) {
		if (skip_nl(p) != XF_OK)
			return XF_ERR;
		if (p->p_tok == T_RBRACK)
			break;
		if (p->p_tok == T_EOF)
			return perr(p, open, "unterminated list");
		if (p->p_tok == T_LBRACK)
			return perr(p, p->p_tline, "lists cannot be nested");
		if (p->p_tok != T_STR && p->p_tok != T_INT &&
		    p->p_tok != T_WORD && p->p_tok != T_COMMA)
			return perr(p, open, "unterminated list");
		if (parse_scalar(p, tail) != XF_OK)
			return XF_ERR;
		tail = &(*tail)->n_next;
		if (skip_nl(p) != XF_OK)
			return XF_ERR;
		if (p->p_tok == T_COMMA) {
			if (lex(p) != XF_OK)
				return XF_ERR;
			continue;
		}
		if (p->p_tok == T_RBRACK)
			break;
		/* Tokens that cannot be in a list mean its ']' is missing;
		 * say where it was opened, not where that was noticed. */
		if (p->p_tok == T_EOF || p->p_tok == T_EQ ||
		    p->p_tok == T_LBRACE || p->p_tok == T_RBRACE ||
		    p->p_tok == T_SEMI)
			return perr(p, open, "unterminated list");
		return perr(p, p->p_tline, "expected ',' or ']' in the list "
		    "opened at line %d, found %s", open,
		    show_tok(p, tb, sizeof(tb)));
	}
	return lex(p);
}

static int	 parse_block(parse_t *, node_t **, int, const char *, int);

/* key = value, or key { ... }, at the current token. */
static int
parse_stmt(parse_t *p, node_t **out, int depth)
{
	node_t	*n = NULL;
	char	*key, tb[64];
	int	 line = p->p_tline;

	if (p->p_tok == T_STR)
		key = strdup(xf_buf_cstr(&p->p_sbuf));
	else if (p->p_tok == T_WORD)
		key = strndup(p->p_word, p->p_wlen);
	else
		return perr(p, line, "expected an option name, found %s",
		    show_tok(p, tb, sizeof(tb)));
	if (key == NULL)
		return perr(p, line, "out of memory");
	if (lex(p) != XF_OK)
		goto fail;

	if (p->p_tok == T_EQ) {
		if (lex(p) != XF_OK)
			goto fail;
		if (p->p_tok == T_NL || p->p_tok == T_EOF ||
		    p->p_tok == T_SEMI || p->p_tok == T_RBRACE) {
			perr(p, line, "missing value for '%s'", key);
			goto fail;
		}
		if (p->p_tok == T_LBRACK) {
			if ((n = node_new(p, V_LIST, line)) == NULL ||
			    parse_list(p, n) != XF_OK)
				goto fail;
		} else if (parse_scalar(p, &n) != XF_OK)
			goto fail;
		n->n_line = line;
	} else if (p->p_tok == T_LBRACE) {
		if (depth + 1 >= MAX_DEPTH) {
			perr(p, line, "blocks nested too deeply");
			goto fail;
		}
		if ((n = node_new(p, V_BLOCK, line)) == NULL ||
		    lex(p) != XF_OK ||
		    parse_block(p, &n->n_child, depth + 1, key, line) != XF_OK)
			goto fail;
		/* parse_block stops at the '}' */
		if (lex(p) != XF_OK)
			goto fail;
	} else {
		perr(p, line, "missing '=' after '%s'", key);
		goto fail;
	}
	n->n_key = key;
	*out = n;

	if (p->p_tok != T_NL && p->p_tok != T_SEMI && p->p_tok != T_EOF &&
	    p->p_tok != T_RBRACE)
		return perr(p, p->p_tline, "expected end of line or ';' after "
		    "'%s', found %s", key, show_tok(p, tb, sizeof(tb)));
	return XF_OK;

fail:
	xf_conf_node_free(n);
	free(key);
	return XF_ERR;
}

/* Statements up to the end of the file (depth 0) or the closing '}'. */
static int
parse_block(parse_t *p, node_t **head, int depth, const char *name, int open)
{
	node_t	**tail = head;

	for (;;) {
		while (p->p_tok == T_NL || p->p_tok == T_SEMI)
			if (lex(p) != XF_OK)
				return XF_ERR;
		if (p->p_tok == T_EOF) {
			if (depth > 0)
				return perr(p, open,
				    "unterminated block '%s'", name);
			return XF_OK;
		}
		if (p->p_tok == T_RBRACE) {
			if (depth == 0)
				return perr(p, p->p_tline, "unexpected '}'");
			return XF_OK;
		}
		if (parse_stmt(p, tail, depth) != XF_OK)
			return XF_ERR;
		tail = &(*tail)->n_next;
	}
}

static void
parse_init(parse_t *p, const char *file, const char *text, size_t len,
    char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->p_file = file;
	p->p_cur = text;
	p->p_end = text + len;
	p->p_line = 1;
	p->p_err = err;
	p->p_errlen = errlen;
}

int
xf_conf_parse(const char *file, const char *text, size_t len, node_t **out,
    char *err, size_t errlen)
{
	parse_t	 p;
	int	 rc;

	*out = NULL;
	parse_init(&p, file, text, len, err, errlen);
	rc = lex(&p);
	if (rc == XF_OK)
		rc = parse_block(&p, out, 0, NULL, 0);
	if (rc != XF_OK) {
		xf_conf_node_free(*out);
		*out = NULL;
	}
	xf_buf_free(&p.p_sbuf);
	return rc;
}

int
xf_conf_parse_value(const char *text, node_t **out, char *err, size_t errlen)
{
	parse_t	 p;
	int	 rc;

	*out = NULL;
	parse_init(&p, "(default)", text, strlen(text), err, errlen);
	rc = lex(&p);
	if (rc == XF_OK) {
		if (p.p_tok == T_LBRACK) {
			if ((*out = node_new(&p, V_LIST, 0)) == NULL ||
			    parse_list(&p, *out) != XF_OK)
				rc = XF_ERR;
		} else
			rc = parse_scalar(&p, out);
	}
	if (rc == XF_OK && p.p_tok != T_EOF)
		rc = perr(&p, 1, "trailing text");
	if (rc != XF_OK) {
		xf_conf_node_free(*out);
		*out = NULL;
	}
	xf_buf_free(&p.p_sbuf);
	return rc;
}
