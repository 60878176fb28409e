/* control.h: what control.c (socket, framing, dispatch) and ctlcmd.c (the commands) share; private to master/. */
#ifndef XF_CONTROL_H
#define XF_CONTROL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "master.h"

/*
 * One command of the control protocol.  cm_fn gets the request object
 * and cm_arg (a per-command constant) and returns the reply, or NULL
 * when out of memory; the caller owns both.
 */
typedef struct xf_ctlcmd_s {
	const char	*cm_name;	/* the request's "cmd" */
	json_t		*(*cm_fn)(xf_master_t *, json_t *req, int arg);
	int		 cm_arg;
	int		 cm_quiet;	/* reads only: debug, not info, in the log */
} xf_ctlcmd_t;

/* ctlcmd.c: the command called name, or NULL. */
const xf_ctlcmd_t *xf_ctlcmd_find(const char *name);

/*
 * Replies: {"ok":true,...} or {"ok":false,"error":"..."}.  Both files
 * build them; static here so each keeps its own file-local copy.
 */
static inline json_t *
reply_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static inline json_t *
reply_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline json_t *
reply_err(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;
	json_t	*r, *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever a store or parser error string holds. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if ((r = json_object()) == NULL)
		return NULL;
	if ((s = json_string(msg)) == NULL)	/* not UTF-8: say less */
		s = json_string("request failed (unprintable error)");
	json_object_set_new(r, "ok", json_false());
	json_object_set_new(r, "error", s);
	return r;
}

/* json_string() refuses bytes that are not UTF-8; shm data is untrusted. */
static inline json_t *
jstr(const char *s)
{
	json_t	*j;

	if ((j = json_string(s)) == NULL)
		j = json_string("?");
	return j;
}

/*
 * Operator input echoed back in an error message: cut long strings so
 * the reply stays one readable line.
 */
static inline const char *
shorten(const char *s, char *out, size_t outlen)
{
	size_t	 n = strlen(s);

	if (n < outlen) {
		memcpy(out, s, n + 1);
		return out;
	}
	/* Cut at a UTF-8 boundary and mark it. */
	n = outlen - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

#endif /* XF_CONTROL_H */
