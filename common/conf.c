/* conf.c: loading xfed.conf: the tree checked against the options, their defaults, the checks across options (syntax: conf_parse.c; options: conf_opts.c). */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "conf_parse.h"
#include "conf_impl.h"

/*
 * Loading is two passes.  The parser (conf_parse.c) knows only the
 * syntax and builds a tree of nodes (key, type, value, line); it knows
 * no option names.  The checker (here) walks that tree against opts[] in
 * conf_opts.c, the one place an option's name, default and meaning live.
 * Keeping them apart lets the defaults be written in the file's own
 * syntax and go through the same handlers as values from the file.
 */

/* The blocks that entries of opts[] name (o_block). */
static const char *const blocks[] = { "c2s", "http", "storage", "tls" };

static const opt_t *
find_opt(const char *block, const char *name)
{
	for (size_t i = 0; i < xf_conf_nopts; i++) {
		if ((block == NULL) != (xf_conf_opts[i].o_block == NULL))
			continue;
		if (block != NULL &&
		    strcmp(block, xf_conf_opts[i].o_block) != 0)
			continue;
		if (strcmp(name, xf_conf_opts[i].o_name) == 0)
			return &xf_conf_opts[i];
	}
	return NULL;
}

static int
is_block(const char *name)
{
	for (size_t i = 0; i < XF_NELEM(blocks); i++)
		if (strcmp(name, blocks[i]) == 0)
			return 1;
	return 0;
}

/* Says where the option belongs when it exists elsewhere. */
static int
unknown_opt(load_t *l, const char *block, const node_t *n)
{
	const opt_t	*o = NULL;
	const char	*in = block ? "' in block '" : "";
	const char	*b = block ? block : "";

	if (block == NULL && is_block(n->n_key))
		return lerr(l, n->n_line, "'%s' is a block: write %s { ... }",
		    n->n_key, n->n_key);
	for (size_t i = 0; i < xf_conf_nopts && o == NULL; i++)
		if (strcmp(n->n_key, xf_conf_opts[i].o_name) == 0)
			o = &xf_conf_opts[i];
	if (o == NULL)
		return lerr(l, n->n_line, "unknown option '%s%s%s'", n->n_key,
		    in, b);
	if (o->o_block == NULL)
		return lerr(l, n->n_line, "unknown option '%s%s%s'; it belongs "
		    "at the top level", n->n_key, in, b);
	return lerr(l, n->n_line, "unknown option '%s%s%s'; it belongs in "
	    "block '%s'", n->n_key, in, b, o->o_block);
}

/* Checks the members of one block (NULL: the top level) against opts[].
 * A block may appear more than once; its options still may not. */
static int
check_block(load_t *l, const node_t *n, const char *block)
{
	const opt_t	*o;
	int		*seen;

	for (; n != NULL; n = n->n_next) {
		if (n->n_type == V_BLOCK) {
			if (block != NULL)
				return lerr(l, n->n_line, "unknown block '%s' "
				    "in block '%s'", n->n_key, block);
			if (!is_block(n->n_key))
				return lerr(l, n->n_line, "unknown block '%s'",
				    n->n_key);
			if (check_block(l, n->n_child, n->n_key) != XF_OK)
				return XF_ERR;
			continue;
		}
		if ((o = find_opt(block, n->n_key)) == NULL)
			return unknown_opt(l, block, n);
		seen = &l->l_seen[o - xf_conf_opts];
		if (*seen)
			return lerr(l, n->n_line, "duplicate option '%s' "
			    "(first set at line %d)", n->n_key, *seen);
		*seen = n->n_line;
		if (o->o_set(l, o, n) != XF_OK)
			return XF_ERR;
	}
	return XF_OK;
}

/* Applies the default of every option the file did not set. */
static int
apply_defaults(load_t *l)
{
	xf_conf_t	*cf = l->l_conf;
	node_t		*n;
	char		 err[256];
	int		 rc;

	for (size_t i = 0; i < xf_conf_nopts; i++) {
		if (l->l_seen[i] || xf_conf_opts[i].o_default == NULL)
			continue;
		if (xf_conf_parse_value(xf_conf_opts[i].o_default, &n, err,
		    sizeof(err)) != XF_OK)
			return lerr(l, 0, "default of '%s': %s",
			    xf_conf_opts[i].o_name, err);
		rc = xf_conf_opts[i].o_set(l, &xf_conf_opts[i], n);
		xf_conf_node_free(n);
		if (rc != XF_OK)
			return XF_ERR;
	}

	/* These live in the data directory unless said otherwise. */
	if (cf->cf_control_socket == NULL &&
	    asprintf(&cf->cf_control_socket, "%s/xfed.sock",
	    strcmp(cf->cf_data_dir, "/") == 0 ? "" : cf->cf_data_dir) < 0) {
		cf->cf_control_socket = NULL;
		return lerr(l, 0, "out of memory");
	}
	if (cf->cf_pid_file == NULL &&
	    asprintf(&cf->cf_pid_file, "%s/xfed.pid",
	    strcmp(cf->cf_data_dir, "/") == 0 ? "" : cf->cf_data_dir) < 0) {
		cf->cf_pid_file = NULL;
		return lerr(l, 0, "out of memory");
	}
	return XF_OK;
}

/*
 * No two listeners may share a socket address: STARTTLS and direct TLS,
 * XMPP and HTTP would be mixed on it (see clash()).
 */
static int
check_listeners(load_t *l)
{
	static const struct {
		const char	*block, *name;
		size_t		 off, noff;
	} lists[] = {
		{ "c2s", "ports", offsetof(xf_conf_t, cf_c2s_ports),
		    offsetof(xf_conf_t, cf_c2s_nports) },
		{ "c2s", "tls-ports", offsetof(xf_conf_t, cf_c2s_tls_ports),
		    offsetof(xf_conf_t, cf_c2s_ntls_ports) },
		{ "http", "ports", offsetof(xf_conf_t, cf_http_ports),
		    offsetof(xf_conf_t, cf_http_nports) },
		{ "http", "tls-ports", offsetof(xf_conf_t, cf_http_tls_ports),
		    offsetof(xf_conf_t, cf_http_ntls_ports) },
	};
	xf_conf_t	*cf = l->l_conf;
	char		 a[80];

	for (size_t i = 0; i < XF_NELEM(lists); i++)
		for (size_t j = 0; j < i; j++) {
			xf_listen_t	*vi = *(xf_listen_t **)(void *)
					    ((char *)cf + lists[i].off);
			xf_listen_t	*vj = *(xf_listen_t **)(void *)
					    ((char *)cf + lists[j].off);
			size_t		 ni = *(size_t *)(void *)
					    ((char *)cf + lists[i].noff);
			size_t		 nj = *(size_t *)(void *)
					    ((char *)cf + lists[j].noff);
			int		 li = l->l_seen[find_opt(lists[i].block,
					    lists[i].name) - xf_conf_opts];
			int		 lj = l->l_seen[find_opt(lists[j].block,
					    lists[j].name) - xf_conf_opts];

			for (size_t x = 0; x < ni; x++)
				for (size_t y = 0; y < nj; y++) {
					if (!clash(&vi[x], &vj[y]))
						continue;
					show_listen(&vi[x], a, sizeof(a));
					return lerr(l, li > lj ? li : lj,
					    "listener '%s' is in both %s "
					    "'%s' and %s '%s'", a,
					    lists[j].block, lists[j].name,
					    lists[i].block, lists[i].name);
				}
		}
	return XF_OK;
}

static int
check_storage(load_t *l)
{
	xf_conf_t		*cf = l->l_conf;
	const opt_t		*bo = find_opt("storage", "backend");
	const opt_t		*dso = find_opt("storage", "dsn");
	PQconninfoOption	*ci;
	char			*why = NULL, *p;
	int			 rc;

	if (cf->cf_store_backend == XF_STORE_PGSQL && *cf->cf_store_dsn == '\0')
		return lerr(l, l->l_seen[bo - xf_conf_opts], "backend 'pgsql' "
		    "needs 'dsn' in block 'storage'");
	if (*cf->cf_store_dsn == '\0')
		return XF_OK;
	if ((ci = PQconninfoParse(cf->cf_store_dsn, &why)) != NULL) {
		PQconninfoFree(ci);
		return XF_OK;
	}
	for (p = why; p != NULL && *p != '\0'; p++)
		if (*p == '\n')
			*p = p[1] == '\0' ? '\0' : ' ';
	rc = lerr(l, l->l_seen[dso - xf_conf_opts], "'dsn': %s",
	    why != NULL ? why : "out of memory");
	PQfreemem(why);
	return rc;
}

/*
 * The user and group workers switch to, looked up now so that a typo is
 * a file:line error at `xfed -t` rather than a worker dying at start.
 * Whether they are needed (started as root) is the master's business.
 */
static int
check_user(load_t *l)
{
	xf_conf_t	*cf = l->l_conf;
	const opt_t	*uo = find_opt(NULL, "user");
	const opt_t	*go = find_opt(NULL, "group");
	int		 ul = l->l_seen[uo - xf_conf_opts];
	int		 gl = l->l_seen[go - xf_conf_opts];
	struct passwd	*pw;
	struct group	*gr;

	cf->cf_uid = (uid_t)-1;
	cf->cf_gid = (gid_t)-1;
	if (*cf->cf_user == '\0') {
		if (*cf->cf_group != '\0')
			return lerr(l, gl, "'group' needs 'user'");
		return XF_OK;
	}
	if ((pw = getpwnam(cf->cf_user)) == NULL)
		return lerr(l, ul, "unknown user '%s' in 'user'", cf->cf_user);
	cf->cf_uid = pw->pw_uid;
	cf->cf_gid = pw->pw_gid;
	if (*cf->cf_group == '\0')
		return XF_OK;
	if ((gr = getgrnam(cf->cf_group)) == NULL)
		return lerr(l, gl, "unknown group '%s' in 'group'",
		    cf->cf_group);
	cf->cf_gid = gr->gr_gid;
	return XF_OK;
}

static int
read_file(load_t *l, const char *path, xf_buf_t *b)
{
	FILE	*fp;
	char	 chunk[8192];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return lerr(l, 0, "cannot open: %s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (xf_buf_append(b, chunk, n) != XF_OK) {
			fclose(fp);
			return lerr(l, 0, "out of memory");
		}
	if (ferror(fp)) {
		lerr(l, 0, "cannot read: %s", strerror(errno));
		fclose(fp);
		return XF_ERR;
	}
	fclose(fp);
	return XF_OK;
}

int
xf_conf_load(const char *path, xf_conf_t **out, char *err, size_t errlen)
{
	load_t		 l;
	xf_buf_t	 text = { 0 };
	int		 rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&l, 0, sizeof(l));
	l.l_file = path;
	l.l_err = err;
	l.l_errlen = errlen;
	if (read_file(&l, path, &text) != XF_OK) {
		xf_buf_free(&text);
		return XF_ERR;
	}
	rc = xf_conf_load_text(path, xf_buf_data(&text), xf_buf_size(&text),
	    out, err, errlen);
	xf_buf_free(&text);
	return rc;
}

int
xf_conf_load_text(const char *path, const char *text, size_t len,
    xf_conf_t **out, char *err, size_t errlen)
{
	load_t		 l;
	node_t		*tree = NULL;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&l, 0, sizeof(l));
	l.l_file = path;
	l.l_err = err;
	l.l_errlen = errlen;

	if ((l.l_conf = calloc(1, sizeof(*l.l_conf))) == NULL) {
		lerr(&l, 0, "out of memory");
		goto fail;
	}
	if (xf_conf_parse(path, text, len, &tree, err, errlen) != XF_OK)
		goto fail;
	if ((l.l_conf->cf_path = xf_conf_absolute(&l, path, 0)) == NULL ||
	    check_block(&l, tree, NULL) != XF_OK ||
	    apply_defaults(&l) != XF_OK ||
	    check_listeners(&l) != XF_OK || check_storage(&l) != XF_OK ||
	    check_user(&l) != XF_OK)
		goto fail;

	xf_conf_node_free(tree);
	free(l.l_cwd);
	*out = l.l_conf;
	return XF_OK;

fail:
	xf_conf_node_free(tree);
	free(l.l_cwd);
	xf_conf_free(l.l_conf);
	return XF_ERR;
}

void
xf_conf_free(xf_conf_t *cf)
{
	if (cf == NULL)
		return;
	free(cf->cf_path);
	free_strv(cf->cf_vhosts, cf->cf_nvhosts);
	free(cf->cf_data_dir);
	free_strv(cf->cf_admins, cf->cf_nadmins);
	free(cf->cf_control_socket);
	free(cf->cf_pid_file);
	free(cf->cf_user);
	free(cf->cf_group);
	free(cf->cf_c2s_ports);
	free(cf->cf_c2s_tls_ports);
	free(cf->cf_http_ports);
	free(cf->cf_http_tls_ports);
	free_strv(cf->cf_http_origins, cf->cf_http_norigins);
	free(cf->cf_store_dsn);
	free(cf->cf_tls_cert);
	free(cf->cf_tls_key);
	free(cf);
}


int
xf_conf_is_vhost(const xf_conf_t *cf, const char *host)
{
	if (cf == NULL || host == NULL)
		return 0;
	for (size_t i = 0; i < cf->cf_nvhosts; i++)
		if (strcasecmp(cf->cf_vhosts[i], host) == 0)
			return 1;
	return 0;
}
