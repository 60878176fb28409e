/* conf_opts.c: the options of xfed.conf: their table, defaults, and the setters that check and store each value. */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xf.h"
#include "buf.h"
#include "log.h"
#include "conf.h"
#include "conf_parse.h"
#include "conf_impl.h"

#define MAX_HOST	1023	/* domainpart, RFC 7622 section 3.2 */
#define MAX_LABEL	63	/* RFC 1035 */

static int	 set_path(load_t *, const opt_t *, const node_t *);
static int	 set_int(load_t *, const opt_t *, const node_t *);
static int	 set_size(load_t *, const opt_t *, const node_t *);
static int	 set_bool(load_t *, const opt_t *, const node_t *);
static int	 set_workers(load_t *, const opt_t *, const node_t *);
static int	 set_loglevel(load_t *, const opt_t *, const node_t *);
static int	 set_vhosts(load_t *, const opt_t *, const node_t *);
static int	 set_admins(load_t *, const opt_t *, const node_t *);
static int	 set_listen(load_t *, const opt_t *, const node_t *);
static int	 set_string(load_t *, const opt_t *, const node_t *);
static int	 set_backend(load_t *, const opt_t *, const node_t *);
static int	 set_origins(load_t *, const opt_t *, const node_t *);

#define F(f)	offsetof(xf_conf_t, f)

/* Keep in step with man/xfed.conf.5 and conf/xfed.conf. */
const opt_t xf_conf_opts[] = {
	{ NULL, "virtual-hosts", "[ 'localhost' ]", set_vhosts,
	    F(cf_vhosts), F(cf_nvhosts), 0, 0 },
	{ NULL, "data-dir", "'/var/lib/xfed'", set_path,
	    F(cf_data_dir), 0, 0, 0 },
	{ NULL, "workers", "'auto'", set_workers,
	    F(cf_workers), 0, 1, XF_MAX_WORKERS },
	{ NULL, "admins", "[]", set_admins,
	    F(cf_admins), F(cf_nadmins), 0, 0 },
	{ NULL, "control-socket", NULL, set_path,
	    F(cf_control_socket), 0, 0, 0 },
	{ NULL, "log-level", "'info'", set_loglevel,
	    F(cf_log_level), 0, 0, 0 },
	{ NULL, "pid-file", NULL, set_path,
	    F(cf_pid_file), 0, 0, 0 },
	{ NULL, "scram-iterations", "4096", set_int,
	    F(cf_scram_iterations), 0, 1, 10000000 },
	{ NULL, "drain-timeout", "600", set_int,
	    F(cf_drain_timeout), 0, 0, 86400 },
	{ NULL, "user", "''", set_string,
	    F(cf_user), 0, 0, 0 },
	{ NULL, "group", "''", set_string,
	    F(cf_group), 0, 0, 0 },
	{ NULL, "run-as-root", "false", set_bool,
	    F(cf_run_as_root), 0, 0, 0 },
	{ NULL, "output-budget", "'128M'", set_size,
	    F(cf_output_budget), 0, 1048576, 68719476736LL },

	{ "c2s", "ports", "[ 5222 ]", set_listen,
	    F(cf_c2s_ports), F(cf_c2s_nports), 0, 0 },
	{ "c2s", "tls-ports", "[ 5223 ]", set_listen,
	    F(cf_c2s_tls_ports), F(cf_c2s_ntls_ports), 0, 0 },
	{ "c2s", "tls-required", "true", set_bool,
	    F(cf_c2s_tls_required), 0, 0, 0 },
	{ "c2s", "max-stanza-size", "262144", set_size,
	    F(cf_c2s_max_stanza), 0, 1024, 67108864 },
	{ "c2s", "max-attributes", "100", set_int,
	    F(cf_c2s_max_attrs), 0, 16, 100000 },
	{ "c2s", "max-children", "10000", set_int,
	    F(cf_c2s_max_children), 0, 100, 10000000 },
	{ "c2s", "output-buffer", "'256k'", set_size,
	    F(cf_c2s_output_buffer), 0, 4096, 67108864 },
	{ "c2s", "max-output", "'8M'", set_size,
	    F(cf_c2s_max_output), 0, 65536, 1073741824 },
	{ "c2s", "read-rate", "'128k'", set_size,
	    F(cf_c2s_read_rate), 0, 0, 1073741824 },
	{ "c2s", "read-burst", "'512k'", set_size,
	    F(cf_c2s_read_burst), 0, 16384, 1073741824 },
	{ "c2s", "flood-time", "30", set_int,
	    F(cf_c2s_flood_time), 0, 0, 86400 },
	{ "c2s", "handshake-timeout", "60", set_int,
	    F(cf_c2s_handshake_timeout), 0, 1, 3600 },
	{ "c2s", "auth-timeout", "30", set_int,
	    F(cf_c2s_auth_timeout), 0, 1, 3600 },
	{ "c2s", "max-unauth", "10000", set_int,
	    F(cf_c2s_max_unauth), 0, 0, 10000000 },
	{ "c2s", "max-unauth-per-ip", "100", set_int,
	    F(cf_c2s_max_unauth_ip), 0, 0, 10000000 },
	{ "c2s", "auth-fail-delay", "1", set_int,
	    F(cf_c2s_auth_fail_delay), 0, 0, 60 },
	{ "c2s", "auth-fail-block-after", "20", set_int,
	    F(cf_c2s_auth_block_after), 0, 0, 1000000 },
	{ "c2s", "auth-block-time", "3600", set_int,
	    F(cf_c2s_auth_block_time), 0, 1, 604800 },
	{ "c2s", "auth-fail-lock-after", "50", set_int,
	    F(cf_c2s_auth_lock_after), 0, 0, 1000000 },
	{ "c2s", "auth-lock-time", "60", set_int,
	    F(cf_c2s_auth_lock_time), 0, 1, 3600 },
	{ "c2s", "registration", "false", set_bool,
	    F(cf_c2s_registration), 0, 0, 0 },
	{ "c2s", "sm-resume-timeout", "300", set_int,
	    F(cf_sm_resume_timeout), 0, 0, 86400 },
	{ "c2s", "sm-max-unacked", "1000", set_int,
	    F(cf_sm_max_unacked), 0, 10, 100000 },
	{ NULL, "offline-quota", "1000", set_int,
	    F(cf_offline_quota), 0, 0, 1000000 },
	{ NULL, "offline-quota-bytes", "'1M'", set_size,
	    F(cf_offline_quota_bytes), 0, 0, 68719476736LL },

	{ "http", "ports", "[]", set_listen,
	    F(cf_http_ports), F(cf_http_nports), 0, 0 },
	{ "http", "tls-ports", "[]", set_listen,
	    F(cf_http_tls_ports), F(cf_http_ntls_ports), 0, 0 },
	{ "http", "max-request-size", "'16k'", set_size,
	    F(cf_http_max_request), 0, 1024, 1048576 },
	{ "http", "allowed-origins", "[]", set_origins,
	    F(cf_http_origins), F(cf_http_norigins), 0, 0 },

	{ "storage", "backend", "'lmdb'", set_backend,
	    F(cf_store_backend), 0, 0, 0 },
	{ "storage", "dsn", "''", set_string,
	    F(cf_store_dsn), 0, 0, 0 },
	{ "storage", "pool-size", "4", set_int,
	    F(cf_store_pool), 0, 1, 64 },
	{ "storage", "query-timeout", "10", set_int,
	    F(cf_store_timeout), 0, 1, 3600 },
	{ "storage", "map-size", "'1G'", set_size,
	    F(cf_store_map_size), 0, 65536, 1LL << 46 },

	{ "tls", "cert", "'/etc/xfed/xfed.crt'", set_path,
	    F(cf_tls_cert), 0, 0, 0 },
	{ "tls", "key", "'/etc/xfed/xfed.key'", set_path,
	    F(cf_tls_key), 0, 0, 0 },
};

const size_t xf_conf_nopts = XF_NELEM(xf_conf_opts);

_Static_assert(XF_NELEM(xf_conf_opts) <= XF_NELEM(((load_t *)0)->l_seen),
    "load_t.l_seen is too small for opts[]");

#define FIELD(conf, off, type)	((type *)(void *)((char *)(conf) + (off)))

/* ---- the options --------------------------------------------------- */

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = tolower((unsigned char)*s);
}

/* Absolute form of path against the current directory, without "./"
 * prefixes or trailing slashes.  Returns a new string or NULL. */
char *
xf_conf_absolute(load_t *l, const char *path, int line)
{
	xf_buf_t	 b = { 0 };
	size_t		 n;
	char		*s;

	if (*path != '/') {
		if (l->l_cwd == NULL &&
		    (l->l_cwd = getcwd(NULL, 0)) == NULL) {
			lerr(l, line, "cannot get the current directory: %s",
			    strerror(errno));
			return NULL;
		}
		while (path[0] == '.' && path[1] == '/')
			for (path += 2; *path == '/'; path++)
				;
		if (strcmp(path, ".") == 0)
			path = "";
		if (xf_buf_puts(&b, l->l_cwd) != XF_OK)
			goto fail;
		if (*path != '\0' && strcmp(l->l_cwd, "/") != 0 &&
		    xf_buf_puts(&b, "/") != XF_OK)
			goto fail;
	}
	if (xf_buf_puts(&b, path) != XF_OK || xf_buf_cstr(&b) == NULL)
		goto fail;
	s = xf_buf_data(&b);
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;

fail:
	xf_buf_free(&b);
	lerr(l, line, "out of memory");
	return NULL;
}

static int
set_path(load_t *l, const opt_t *o, const node_t *n)
{
	char	**f = FIELD(l->l_conf, o->o_off, char *), *s;

	if (n->n_type != V_STR)
		return lerr(l, n->n_line, "'%s' must be a string", o->o_name);
	if (*n->n_str == '\0')
		return lerr(l, n->n_line, "'%s' must not be empty", o->o_name);
	if ((s = xf_conf_absolute(l, n->n_str, n->n_line)) == NULL)
		return XF_ERR;
	free(*f);
	*f = s;
	return XF_OK;
}

static int
set_string(load_t *l, const opt_t *o, const node_t *n)
{
	char	**f = FIELD(l->l_conf, o->o_off, char *), *s;

	if (n->n_type != V_STR)
		return lerr(l, n->n_line, "'%s' must be a string", o->o_name);
	if ((s = strdup(n->n_str)) == NULL)
		return lerr(l, n->n_line, "out of memory");
	free(*f);
	*f = s;
	return XF_OK;
}

static int
set_backend(load_t *l, const opt_t *o, const node_t *n)
{
	int	 v;

	if (n->n_type == V_STR && strcmp(n->n_str, "lmdb") == 0)
		v = XF_STORE_LMDB;
	else if (n->n_type == V_STR && strcmp(n->n_str, "pgsql") == 0)
		v = XF_STORE_PGSQL;
	else
		return lerr(l, n->n_line, "'%s' must be 'lmdb' or 'pgsql'",
		    o->o_name);
	*FIELD(l->l_conf, o->o_off, int) = v;
	return XF_OK;
}

static int
get_int(load_t *l, const opt_t *o, const node_t *n, long long *v)
{
	if (n->n_type != V_INT)
		return lerr(l, n->n_line, "'%s' must be an integer", o->o_name);
	if (n->n_int < o->o_min || n->n_int > o->o_max)
		return lerr(l, n->n_line, "'%s' must be between %lld and %lld",
		    o->o_name, o->o_min, o->o_max);
	*v = n->n_int;
	return XF_OK;
}

static int
set_int(load_t *l, const opt_t *o, const node_t *n)
{
	long long	 v = 0;

	if (get_int(l, o, n, &v) != XF_OK)
		return XF_ERR;
	*FIELD(l->l_conf, o->o_off, int) = (int)v;
	return XF_OK;
}

/*
 * A byte count: an integer, or a string of one with a binary suffix
 * ('64k', '16M', '1G'), which the syntax cannot take bare: a word
 * starting with a digit is an invalid number there.
 */
static int
set_size(load_t *l, const opt_t *o, const node_t *n)
{
	long long	 v = 0;
	node_t		 num;
	char		*end;
	int		 shift = 0;

	if (n->n_type == V_STR) {
		errno = 0;
		num = *n;
		num.n_type = V_INT;
		num.n_int = strtoll(n->n_str, &end, 10);
		if (*end != '\0' && end[1] == '\0')
			switch (*end) {
			case 'k': case 'K': shift = 10; end++; break;
			case 'm': case 'M': shift = 20; end++; break;
			case 'g': case 'G': shift = 30; end++; break;
			}
		if (end == n->n_str || !isdigit((unsigned char)*n->n_str) ||
		    *end != '\0' || errno == ERANGE ||
		    num.n_int > (LLONG_MAX >> shift))
			return lerr(l, n->n_line, "'%s' must be a number of "
			    "bytes, with an optional k, M or G", o->o_name);
		num.n_int <<= shift;
		n = &num;
	}
	if (get_int(l, o, n, &v) != XF_OK)
		return XF_ERR;
	*FIELD(l->l_conf, o->o_off, size_t) = (size_t)v;
	return XF_OK;
}

static int
set_bool(load_t *l, const opt_t *o, const node_t *n)
{
	if (n->n_type != V_BOOL)
		return lerr(l, n->n_line, "'%s' must be true or false",
		    o->o_name);
	*FIELD(l->l_conf, o->o_off, int) = (int)n->n_int;
	return XF_OK;
}

static int
set_workers(load_t *l, const opt_t *o, const node_t *n)
{
	long		 ncpu;
	long long	 v = 0;

	if (n->n_type == V_STR && strcmp(n->n_str, "auto") == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		v = ncpu < 1 ? 1 : ncpu > o->o_max ? o->o_max : ncpu;
	} else if (n->n_type != V_INT || n->n_int < 1)
		return lerr(l, n->n_line,
		    "'%s' must be 'auto' or a positive integer", o->o_name);
	else if (n->n_int > o->o_max)
		return lerr(l, n->n_line, "'%s' must be at most %lld",
		    o->o_name, o->o_max);
	else
		v = n->n_int;
	*FIELD(l->l_conf, o->o_off, int) = (int)v;
	return XF_OK;
}

static int
set_loglevel(load_t *l, const opt_t *o, const node_t *n)
{
	int	 v;

	if (n->n_type != V_STR || (v = log_parselevel(n->n_str)) < 0)
		return lerr(l, n->n_line, "'%s' must be one of 'error', "
		    "'warn', 'info', 'debug'", o->o_name);
	*FIELD(l->l_conf, o->o_off, int) = v;
	return XF_OK;
}

/* A list of strings, each checked and normalised in place by check(),
 * which returns NULL or why the item is wrong. */
static int
set_strv(load_t *l, const opt_t *o, const node_t *n,
    const char *(*check)(char *), const char *item)
{
	char		**v = NULL, ***f;
	size_t		 nv = 0, i;
	const node_t	*c;
	const char	*why;
	int		 line;

	if (n->n_type != V_LIST)
		return lerr(l, n->n_line, "'%s' must be a list of strings",
		    o->o_name);
	for (c = n->n_child; c != NULL; c = c->n_next)
		nv++;
	if (nv > 0 && (v = calloc(nv, sizeof(*v))) == NULL)
		return lerr(l, n->n_line, "out of memory");
	for (c = n->n_child, i = 0; c != NULL; c = c->n_next, i++) {
		/* Items of the built-in defaults have no line of their own. */
		line = c->n_line ? c->n_line : n->n_line;
		if (c->n_type != V_STR) {
			lerr(l, line, "'%s' must be a list of strings",
			    o->o_name);
			goto fail;
		}
		if ((v[i] = strdup(c->n_str)) == NULL) {
			lerr(l, line, "out of memory");
			goto fail;
		}
		if ((why = check(v[i])) != NULL) {
			lerr(l, line, "invalid %s '%s' in '%s' (%s)", item,
			    c->n_str, o->o_name, why);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[j], v[i]) == 0) {
				lerr(l, line, "%s '%s' appears twice in '%s'",
				    item, v[i], o->o_name);
				goto fail;
			}
	}
	f = FIELD(l->l_conf, o->o_off, char **);
	free_strv(*f, *FIELD(l->l_conf, o->o_noff, size_t));
	*f = v;
	*FIELD(l->l_conf, o->o_noff, size_t) = nv;
	return XF_OK;

fail:
	free_strv(v, nv);
	return XF_ERR;
}

/* A domain name as XMPP uses it: lowercased, no empty label, none of the
 * characters that would make it something else (a JID, a path). */
static const char *
check_host(char *s)
{
	size_t	 label = 0, len = 0;

	lower(s);
	if (*s == '\0')
		return "empty";
	for (; *s != '\0'; s++, len++) {
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return "space or control character";
		if (*s == '@' || *s == '/' || *s == '\\')
			return "'@', '/' and '\\' are not allowed";
		if (*s == '.') {
			if (label == 0)
				return "empty label";
			label = 0;
		} else if (++label > MAX_LABEL)
			return "label longer than 63 bytes";
	}
	if (label == 0)
		return "empty label";
	if (len > MAX_HOST)
		return "longer than 1023 bytes";
	return NULL;
}

/* A bare JID, local@domain; ASCII case-folded as the JID code does. */
static const char *
check_bare_jid(char *s)
{
	char	*at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    strchr(s, '/') != NULL)
		return "want a bare JID, local@domain";
	for (char *c = s; c < at; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '"' ||
		    *c == '&' || *c == '\'' || *c == ':' || *c == '<' ||
		    *c == '>')
			return "character not allowed in a localpart";
	if (check_host(at + 1) != NULL)
		return "invalid domain";
	lower(s);
	return NULL;
}

static int
set_vhosts(load_t *l, const opt_t *o, const node_t *n)
{
	if (n->n_type == V_LIST && n->n_child == NULL)
		return lerr(l, n->n_line, "'%s' must not be empty", o->o_name);
	return set_strv(l, o, n, check_host, "host name");
}

static int
set_admins(load_t *l, const opt_t *o, const node_t *n)
{
	return set_strv(l, o, n, check_bare_jid, "admin");
}

/*
 * A web origin as browsers send it (RFC 6454 7): scheme "://" host, an
 * optional port, no path; lowercased, since Origin compares so.
 */
static const char *
check_origin(char *s)
{
	char	*h;

	lower(s);
	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return "want 'https://host' or 'http://host[:port]'";
	if (*h == '\0' || strpbrk(h, "/?#@ \t") != NULL)
		return "a scheme and a host, nothing after";
	return NULL;
}

static int
set_origins(load_t *l, const opt_t *o, const node_t *n)
{
	return set_strv(l, o, n, check_origin, "origin");
}

enum { LS_OK, LS_INVALID, LS_RANGE };

/* Digits only, 1..65535; LS_RANGE when numeric but out of range. */
static int
parse_port(const char *s, int *port)
{
	long	 v = 0;

	if (*s == '\0')
		return LS_INVALID;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return LS_INVALID;
		if (v < 100000)
			v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > 65535)
		return LS_RANGE;
	*port = (int)v;
	return LS_OK;
}

static int
parse_listen(const char *spec, xf_listen_t *out)
{
	const char	*colon, *a, *ae;
	unsigned char	 any[16];
	char		 addr[sizeof(out->l_addr)];
	int		 rc, af;
	size_t		 alen;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '[') {
		a = spec + 1;
		if ((ae = strchr(a, ']')) == NULL || ae[1] != ':')
			return LS_INVALID;
		colon = ae + 1;
		af = AF_INET6;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		a = spec;
		ae = colon;
		af = AF_INET;
	} else
		return parse_port(spec, &out->l_port);

	if ((alen = ae - a) == 0 || alen >= sizeof(addr))
		return LS_INVALID;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (inet_pton(af, addr, any) != 1)
		return LS_INVALID;
	if ((rc = parse_port(colon + 1, &out->l_port)) != LS_OK)
		return rc;
	/* The canonical text, so that equal addresses compare equal. */
	if (inet_ntop(af, any, out->l_addr, sizeof(out->l_addr)) == NULL)
		return LS_INVALID;
	return LS_OK;
}

static int
set_listen(load_t *l, const opt_t *o, const node_t *n)
{
	xf_listen_t	*v = NULL, **f;
	size_t		 nv = 0, i;
	const node_t	*c;
	char		 num[24], a[80];
	const char	*spec;
	int		 line, rc;

	if (n->n_type != V_LIST)
		return lerr(l, n->n_line, "'%s' must be a list of ports",
		    o->o_name);
	for (c = n->n_child; c != NULL; c = c->n_next)
		nv++;
	if (nv > 0 && (v = calloc(nv, sizeof(*v))) == NULL)
		return lerr(l, n->n_line, "out of memory");
	for (c = n->n_child, i = 0; c != NULL; c = c->n_next, i++) {
		line = c->n_line ? c->n_line : n->n_line;
		if (c->n_type == V_INT) {
			snprintf(num, sizeof(num), "%lld", c->n_int);
			spec = num;
			rc = c->n_int < 1 || c->n_int > 65535 ? LS_RANGE :
			    parse_listen(spec, &v[i]);
		} else if (c->n_type == V_STR) {
			spec = c->n_str;
			rc = parse_listen(spec, &v[i]);
		} else {
			lerr(l, line, "'%s' must be a list of ports",
			    o->o_name);
			goto fail;
		}
		if (rc == LS_RANGE) {
			lerr(l, line, "port out of range (1-65535): '%s' in "
			    "'%s'", spec, o->o_name);
			goto fail;
		} else if (rc != LS_OK) {
			lerr(l, line, "invalid listener '%s' in '%s' (want "
			    "port, 'address:port' or '[address]:port')", spec,
			    o->o_name);
			goto fail;
		}
		for (size_t j = 0; j < i; j++)
			if (clash(&v[j], &v[i])) {
				show_listen(&v[i], a, sizeof(a));
				lerr(l, line, "listener '%s' appears twice in "
				    "'%s'", a, o->o_name);
				goto fail;
			}
	}
	f = FIELD(l->l_conf, o->o_off, xf_listen_t *);
	free(*f);
	*f = v;
	*FIELD(l->l_conf, o->o_noff, size_t) = nv;
	return XF_OK;

fail:
	free(v);
	return XF_ERR;
}

int
xf_conf_listen(const char *spec, xf_listen_t *out)
{
	if (spec == NULL || parse_listen(spec, out) != LS_OK)
		return XF_ERR;
	return XF_OK;
}
