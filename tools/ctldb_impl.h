/* ctldb_impl.h: what the files of xfedctl db (ctldb*.c) share; private to them. */
#ifndef XF_CTLDB_IMPL_H
#define XF_CTLDB_IMPL_H

#include <stddef.h>

#include <libpq-fe.h>

#include "conf.h"

/* The commands, in ctldb_init.c and ctldb_migrate.c: the exit status. */
int	 xf_ctldb_init(const xf_conf_t *, int json);
int	 xf_ctldb_migrate(const xf_conf_t *, const char *dir, int json);

/* In ctldb.c. */
/* Every failure: one line on stderr; returns the exit status 1. */
int	 xf_ctldb_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* libpq's message msg as one line, into out. */
void	 xf_ctldb_one_line(const char *msg, char *out, size_t outlen);
/* A blocking connection to the configured database; NULL and err. */
PGconn	*xf_ctldb_pg_connect(const xf_conf_t *, char *err, size_t errlen);
/* The error of a failed result, one line. */
void	 xf_ctldb_pg_error(PGconn *, const PGresult *, char *out,
	    size_t outlen);
/* Where the database is, for messages. */
void	 xf_ctldb_pg_where(PGconn *, char *out, size_t outlen);
/* The schema's version (0: none) and the first missing table, or XF_ERR. */
int	 xf_ctldb_pg_schema(PGconn *, int *version, char *missing,
	    size_t mlen, char *err, size_t errlen);

#endif /* XF_CTLDB_IMPL_H */
