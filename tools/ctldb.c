/* ctldb.c: xfedctl db: the dispatch, and the errors and PostgreSQL connection its commands share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "xf.h"
#include "conf.h"
#include "ctldb.h"
#include "ctldb_impl.h"

#define DB_USAGE	"usage: xfedctl [-c file] [--json] " \
			"db init | db migrate-from-lmdb DIR"

/* The command running ("db init"), the start of its error messages. */
static const char	*cmd;

/* Every failure: one line on stderr; returns the exit status 1. */
int
xf_ctldb_fail(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fprintf(stderr, "xfedctl: %s%s", cmd != NULL ? cmd : "",
	    cmd != NULL ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
usage(const char *line)
{
	fprintf(stderr, "%s\n", line);
	return 2;
}

/* ---- PostgreSQL ------------------------------------------------------ */

/*
 * libpq's messages span lines ("...failed: Connection refused\n\tIs the
 * server running...?\n"): keep the lines that are not indented hints,
 * joined by "; ", with runs of blanks squeezed, so an error is one line.
 */
void
xf_ctldb_one_line(const char *msg, char *out, size_t outlen)
{
	size_t	 n = 0;
	int	 hint = 0, sp = 0, bol = 1;

	for (; *msg != '\0' && n + 3 < outlen; msg++) {
		if (bol) {
			hint = *msg == '\t';
			bol = 0;
			if (!hint && *msg != '\n' && n > 0) {
				out[n++] = ';';
				out[n++] = ' ';
				sp = 1;
			}
		}
		if (*msg == '\n') {
			bol = 1;
			continue;
		}
		if (hint)
			continue;
		if (*msg == ' ' || *msg == '\t') {
			if (!sp && n > 0)
				out[n++] = ' ';
			sp = 1;
			continue;
		}
		sp = 0;
		out[n++] = *msg;
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == ';'))
		n--;
	out[n] = '\0';
}

/* NOTICEs ("relation already exists, skipping") are not for the user. */
static void
quiet(void *arg, const char *msg)
{
}

/*
 * A blocking connection to the configured database.  connect_timeout
 * comes before the dsn so that one in the dsn wins.
 */
PGconn *
xf_ctldb_pg_connect(const xf_conf_t *cf, char *err, size_t errlen)
{
	const char	*keys[] = { "connect_timeout", "dbname", NULL };
	const char	*vals[] = { NULL, cf->cf_store_dsn, NULL };
	char		 tmo[16], msg[512];
	PGconn		*pg;

	snprintf(tmo, sizeof(tmo), "%d", cf->cf_store_timeout);
	vals[0] = tmo;
	if ((pg = PQconnectdbParams(keys, vals, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		xf_ctldb_one_line(PQerrorMessage(pg), msg, sizeof(msg));
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg;
}

/* The error of a failed result, one line. */
void
xf_ctldb_pg_error(PGconn *pg, const PGresult *res, char *out, size_t outlen)
{
	const char	*m = NULL;

	if (res != NULL)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	xf_ctldb_one_line(m != NULL ? m : PQerrorMessage(pg), out, outlen);
}

/* Where the database is, for messages: "'xfed' on /run/postgresql:5432". */
void
xf_ctldb_pg_where(PGconn *pg, char *out, size_t outlen)
{
	const char	*host = PQhost(pg), *port = PQport(pg);

	snprintf(out, outlen, "'%s' on %s%s%s", PQdb(pg),
	    host != NULL && host[0] != '\0' ? host : "localhost",
	    port != NULL && port[0] != '\0' ? ":" : "",
	    port != NULL ? port : "");
}

/*
 * The schema's version, 0 when there is no xf_schema table, or XF_ERR.
 * missing gets the first of xfed's tables that does not exist (""
 * when all do).
 */
int
xf_ctldb_pg_schema(PGconn *pg, int *version, char *missing, size_t mlen,
    char *err, size_t errlen)
{
	PGresult	*res;
	int		 ret = XF_ERR;

	*version = 0;
	missing[0] = '\0';
	res = PQexec(pg, "SELECT (SELECT t FROM unnest(ARRAY['xf_schema',"
	    "'xf_users','xf_roster','xf_offline','xf_vcard','xf_private',"
	    "'xf_pep','xf_block','xf_meta','xf_offline_seq']) AS t "
	    "WHERE to_regclass(t) IS NULL LIMIT 1)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		xf_ctldb_pg_error(pg, res, err, errlen);
		goto fail;
	}
	if (!PQgetisnull(res, 0, 0))
		snprintf(missing, mlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	/* The array's order: a missing xf_schema is the one named. */
	if (strcmp(missing, "xf_schema") == 0)
		return XF_OK;
	res = PQexec(pg, "SELECT coalesce(max(version), 0) FROM xf_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		xf_ctldb_pg_error(pg, res, err, errlen);
		goto fail;
	}
	*version = atoi(PQgetvalue(res, 0, 0));
	ret = XF_OK;
fail:
	PQclear(res);
	return ret;
}

/* ---- dispatch -------------------------------------------------------- */

int
xf_ctl_db(const char *conf_path, int argc, char **argv, int json)
{
	xf_conf_t	*cf;
	char		 err[1024];
	const char	*sub = argc > 1 ? argv[1] : "";
	int		 ret;

	/* Usage first, then the configuration. */
	cmd = NULL;
	if (strcmp(sub, "init") == 0) {
		if (argc != 2)
			return usage("usage: xfedctl [-c file] [--json] db init");
	} else if (strcmp(sub, "migrate-from-lmdb") == 0) {
		if (argc != 3 || argv[2][0] == '\0')
			return usage("usage: xfedctl [-c file] [--json] "
			    "db migrate-from-lmdb DIR");
	} else
		return usage(DB_USAGE);

	if (xf_conf_load(conf_path, &cf, err, sizeof(err)) != XF_OK)
		return xf_ctldb_fail("%s", err);
	cmd = sub[0] == 'i' ? "db init" : "db migrate-from-lmdb";
	if (sub[0] == 'i')
		ret = xf_ctldb_init(cf, json);
	else
		ret = xf_ctldb_migrate(cf, argv[2], json);
	xf_conf_free(cf);
	if (ret == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		ret = xf_ctldb_fail("cannot write output: %s", strerror(errno));
	return ret;
}
