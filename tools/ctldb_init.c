/* ctldb_init.c: xfedctl db init: create the PostgreSQL schema from conf/pgsql.sql, in one transaction. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "ctldb_impl.h"

#define SCHEMA_NAME	"pgsql.sql"
/* db init's advisory lock ("xfed" 1): two at once would race on CREATE. */
#define SCHEMA_LOCK	"8675733212346974209"

/* Runs a statement whose rows are not wanted; XF_OK, or XF_ERR and err. */
static int
pg_cmd(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult	*res;
	int		 ret = XF_OK;

	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		xf_ctldb_pg_error(pg, res, err, errlen);
		ret = XF_ERR;
	}
	PQclear(res);
	return ret;
}

/*
 * The schema file: $XFED_SCHEMA, else conf/pgsql.sql of the source tree
 * the binary was built in (build/bin/xfedctl), else PREFIX/share/xfed/
 * of an installed one (PREFIX/bin/xfedctl).  /proc/self/exe has the
 * symbolic links (bin/xfedctl -> ../build/bin/xfedctl) resolved.
 */
static int
schema_path(char *out, size_t outlen)
{
	const char	*env = getenv("XFED_SCHEMA"), *rel[2] = {
	    "../../conf/" SCHEMA_NAME, "../share/xfed/" SCHEMA_NAME };
	char		 exe[PATH_MAX], try[2][PATH_MAX + 32], *slash;
	ssize_t		 n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, outlen, "%s", env);
		return XF_OK;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1) {
		xf_ctldb_fail("cannot find %s: readlink /proc/self/exe: %s; "
		    "set XFED_SCHEMA", SCHEMA_NAME, strerror(errno));
		return XF_ERR;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (int i = 0; i < 2; i++) {
		snprintf(try[i], sizeof(try[i]), "%s/%s", exe, rel[i]);
		if (access(try[i], R_OK) == 0) {
			if (realpath(try[i], out) != NULL)
				return XF_OK;
			if (strlen(try[i]) < outlen) {
				memcpy(out, try[i], strlen(try[i]) + 1);
				return XF_OK;
			}
		}
	}
	xf_ctldb_fail("cannot find %s (not in %s nor %s); set XFED_SCHEMA to "
	    "its path", SCHEMA_NAME, try[0], try[1]);
	return XF_ERR;
}

static int
read_file(const char *path, xf_buf_t *b)
{
	FILE	*fp;
	char	 chunk[8192];
	size_t	 n;
	int	 ret = XF_ERR;

	if ((fp = fopen(path, "r")) == NULL)
		return xf_ctldb_fail("%s: %s", path, strerror(errno)), XF_ERR;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (xf_buf_append(b, chunk, n) != XF_OK) {
			xf_ctldb_fail("%s: out of memory", path);
			goto fail;
		}
	if (ferror(fp)) {
		xf_ctldb_fail("%s: %s", path, strerror(errno));
		goto fail;
	}
	/* PQexec takes a C string: a NUL would cut the schema short. */
	if (memchr(xf_buf_data(b), '\0', xf_buf_size(b)) != NULL) {
		xf_ctldb_fail("%s: not a text file", path);
		goto fail;
	}
	if (xf_buf_cstr(b) == NULL) {
		xf_ctldb_fail("%s: out of memory", path);
		goto fail;
	}
	ret = XF_OK;
fail:
	fclose(fp);
	return ret;
}

/*
 * The line of the schema an error points at: PostgreSQL counts the
 * position in characters from 1.  0 when it gave none.
 */
static int
error_line(const PGresult *res, const char *sql)
{
	const char	*pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	long		 chars;
	int		 line = 1;

	if (pos == NULL || (chars = strtol(pos, NULL, 10)) < 1)
		return 0;
	for (; *sql != '\0'; sql++) {
		if (((unsigned char)*sql & 0xc0) != 0x80 && --chars == 0)
			return line;
		if (*sql == '\n')
			line++;
	}
	return line;
}

int
xf_ctldb_init(const xf_conf_t *cf, int json)
{
	xf_buf_t	 sql = { 0 };
	PGconn		*pg = NULL;
	PGresult	*res = NULL;
	char		 path[PATH_MAX + 64], err[1024], msg[512], where[512];
	char		 missing[64];
	int		 ret = 1, before, version, line;

	if (cf->cf_store_backend != XF_STORE_PGSQL)
		return xf_ctldb_fail("the storage backend of %s is 'lmdb': "
		    "nothing to create", cf->cf_path);
	if (schema_path(path, sizeof(path)) != XF_OK ||
	    read_file(path, &sql) != XF_OK)
		goto fail;
	if ((pg = xf_ctldb_pg_connect(cf, err, sizeof(err))) == NULL) {
		xf_ctldb_fail("%s", err);
		goto fail;
	}
	xf_ctldb_pg_where(pg, where, sizeof(where));

	/* One transaction: a failing statement leaves the database as it was. */
	if (pg_cmd(pg, "BEGIN", err, sizeof(err)) != XF_OK ||
	    pg_cmd(pg, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", err,
	    sizeof(err)) != XF_OK ||
	    xf_ctldb_pg_schema(pg, &before, missing, sizeof(missing), err,
	    sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s: %s", where, err);
		goto fail;
	}
	/* PQexec runs every statement of the file, stopping at an error. */
	res = PQexec(pg, xf_buf_data(&sql));
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		xf_ctldb_pg_error(pg, res, msg, sizeof(msg));
		if ((line = error_line(res, xf_buf_data(&sql))) > 0)
			xf_ctldb_fail("%s:%d: %s", path, line, msg);
		else
			xf_ctldb_fail("%s: %s", path, msg);
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (xf_ctldb_pg_schema(pg, &version, missing, sizeof(missing), err,
	    sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s: %s", where, err);
		goto fail;
	}
	/* Not committed: PQfinish() rolls it back. */
	if (missing[0] != '\0' || version < 1) {
		xf_ctldb_fail("%s did not create %s", path, missing[0] != '\0' ?
		    missing : "a schema version");
		goto fail;
	}
	if (pg_cmd(pg, "COMMIT", err, sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s: %s", where, err);
		goto fail;
	}

	if (json) {
		json_t	*o = json_pack("{s:i, s:s, s:b, s:s}", "version",
		    version, "database", PQdb(pg), "created", before == 0,
		    "schema", path);
		char	*s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		if (s == NULL) {
			xf_ctldb_fail("out of memory");
			goto fail;
		}
		printf("%s\n", s);
		free(s);
	} else if (before == 0)
		printf("schema version %d created in database %s\n", version,
		    where);
	else
		printf("schema version %d ready in database %s (it was there "
		    "already)\n", version, where);
	ret = 0;
fail:
	PQclear(res);
	PQfinish(pg);
	xf_buf_free(&sql);
	return ret;
}
