/* ctldb_migrate.c: xfedctl db migrate-from-lmdb: copy an LMDB store's accounts and records into PostgreSQL. */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <lmdb.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "store.h"
#include "ctldb_impl.h"

/* The tables by XF_T_*, as the output and --json name them. */
static const char *const tables[] = {
	"roster", "offline", "vcard", "private", "pep", "block", "meta",
};
_Static_assert(XF_NELEM(tables) == XF_T_NTABLES, "tables[] and XF_T_*");

/*
 * The LMDB backend keeps the node-wide sequence (xf_store_seq) in the
 * meta table under this key, no JID's: offline keys and PEP items carry
 * numbers from it, so PostgreSQL's sequence must start past it.
 */
static const char lmdb_seq_key[] = "\0seq";
#define LMDB_SEQ_KLEN	(sizeof(lmdb_seq_key) - 1)

typedef struct mig_s {
	xf_store_t	*m_src;		/* the LMDB store, only read */
	xf_store_t	*m_dst;		/* the pgsql store */
	char	       **m_users;	/* the source's accounts, sorted */
	size_t		 m_nusers;
	size_t		 m_cap;
	size_t		 m_copied;	/* accounts created in PostgreSQL */
	size_t		 m_skipped;	/* accounts PostgreSQL had already */
	size_t		 m_recs[XF_T_NTABLES];
	size_t		 m_theirs;	/* records of skipped accounts */
	size_t		 m_orphans;	/* records no account owns */
	const char	*m_user;	/* the account being copied */
	int		 m_table;	/* the table being copied */
	uint64_t	 m_maxseq;	/* largest sequence number seen */
	int		 m_failed;	/* a put failed; m_err says why */
	char		 m_err[512];
} mig_t;

/*
 * Checks that dir holds an xfed store before xf_store_open_lmdb() goes
 * near it: that call creates what is missing, and must neither make an
 * empty store out of a typo nor add tables to another LMDB environment
 * (the session table's, say).  Opened read-only here.
 */
static int
lmdb_check(const char *dir)
{
	MDB_env		*env = NULL;
	MDB_txn		*txn = NULL;
	MDB_dbi		 dbi;
	struct stat	 sb;
	xf_buf_t	 path = { 0 };
	int		 rc, ret = XF_ERR;

	if (stat(dir, &sb) == -1)
		return xf_ctldb_fail("%s: %s", dir, strerror(errno)), XF_ERR;
	if (!S_ISDIR(sb.st_mode))
		return xf_ctldb_fail("%s: not a directory", dir), XF_ERR;
	if (xf_buf_printf(&path, "%s/data.mdb", dir) != XF_OK ||
	    xf_buf_cstr(&path) == NULL) {
		xf_ctldb_fail("out of memory");
		goto fail;
	}
	if (stat(xf_buf_data(&path), &sb) == -1) {
		if (errno == ENOENT)
			xf_ctldb_fail("%s: no LMDB store here (no data.mdb)",
			    dir);
		else
			xf_ctldb_fail("%s: %s", xf_buf_data(&path),
			    strerror(errno));
		goto fail;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 16)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		xf_ctldb_fail("%s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_dbi_open(txn, "accounts", 0, &dbi)) != 0) {
		if (rc == MDB_NOTFOUND)
			xf_ctldb_fail("%s: not an xfed store (no accounts in "
			    "data.mdb)", dir);
		else
			xf_ctldb_fail("%s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	ret = XF_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	xf_buf_free(&path);
	return ret;
}

static int
add_user(void *ud, const char *bare)
{
	mig_t	*m = ud;
	char	**u;

	if (m->m_nusers == m->m_cap) {
		m->m_cap = m->m_cap ? m->m_cap * 2 : 256;
		if ((u = reallocarray(m->m_users, m->m_cap,
		    sizeof(*u))) == NULL)
			goto fail;
		m->m_users = u;
	}
	if ((m->m_users[m->m_nusers] = strdup(bare)) == NULL)
		goto fail;
	m->m_nusers++;
	return 0;
fail:
	snprintf(m->m_err, sizeof(m->m_err), "out of memory");
	m->m_failed = 1;
	return 1;
}

static uint64_t
be64(const uint8_t *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The offline table's key ends in the message's sequence number. */
static void
see_key(mig_t *m, const void *key, size_t klen)
{
	const char	*nul;
	uint64_t	 seq;

	if (m->m_table != XF_T_OFFLINE ||
	    (nul = memchr(key, '\0', klen)) == NULL ||
	    klen - (size_t)(nul + 1 - (const char *)key) != 8)
		return;
	if ((seq = be64((const uint8_t *)nul + 1)) > m->m_maxseq)
		m->m_maxseq = seq;
}

/* m_err: "bare: what: the store's error", on one line. */
static void
store_error(mig_t *m, xf_store_t *st, const char *what)
{
	char	 msg[400];

	xf_ctldb_one_line(xf_store_error(st), msg, sizeof(msg));
	snprintf(m->m_err, sizeof(m->m_err), "%s: %s: %s", m->m_user, what,
	    msg);
}

static int
copy_rec(void *ud, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	mig_t	*m = ud;

	if (xf_store_put(m->m_dst, m->m_table, key, klen, val, vlen) !=
	    XF_OK) {
		store_error(m, m->m_dst, tables[m->m_table]);
		m->m_failed = 1;
		return 1;
	}
	see_key(m, key, klen);
	m->m_recs[m->m_table]++;
	return 0;
}

/*
 * Everything one user owns, then the account: a run cut short leaves
 * that user without an account in PostgreSQL, so the next run copies
 * the user again (puts overwrite, nothing doubles).  Per user rather
 * than a whole table at once: a scan holds its records in memory, and
 * one user's are bounded by the quotas.
 */
static int
copy_user(mig_t *m, const char *bare)
{
	xf_account_t	 acct;
	xf_buf_t	 val = { 0 }, pfx = { 0 };
	size_t		 blen = strlen(bare);
	int		 rc, ret = XF_ERR;

	m->m_user = bare;
	/* The key "bare" alone (vcard), then "bare NUL ..." (the rest). */
	if (xf_buf_append(&pfx, bare, blen + 1) != XF_OK) {
		snprintf(m->m_err, sizeof(m->m_err), "out of memory");
		goto fail;
	}
	for (m->m_table = 0; m->m_table < XF_T_NTABLES; m->m_table++) {
		xf_buf_reset(&val);
		rc = xf_store_get(m->m_src, m->m_table, bare, blen, &val);
		if (rc == XF_ERR) {
			store_error(m, m->m_src, tables[m->m_table]);
			goto fail;
		}
		if (rc == XF_OK && copy_rec(m, bare, blen, xf_buf_data(&val),
		    xf_buf_size(&val)) != 0)
			goto fail;
		rc = xf_store_scan(m->m_src, m->m_table, xf_buf_data(&pfx),
		    blen + 1, copy_rec, m);
		if (m->m_failed)
			goto fail;
		if (rc == XF_ERR) {
			store_error(m, m->m_src, tables[m->m_table]);
			goto fail;
		}
	}

	if ((rc = xf_store_user_get(m->m_src, bare, &acct)) == XF_DECLINED) {
		snprintf(m->m_err, sizeof(m->m_err), "%s: the account went away "
		    "while it was copied (is xfed running on this store?)", bare);
		goto fail;
	}
	if (rc != XF_OK) {
		store_error(m, m->m_src, "account");
		goto fail;
	}
	rc = xf_store_user_put(m->m_dst, bare, &acct, 1);
	explicit_bzero(&acct, sizeof(acct));
	if (rc == XF_ERR) {
		store_error(m, m->m_dst, "account");
		goto fail;
	}
	/* XF_DECLINED: created in PostgreSQL since we looked. */
	if (rc == XF_OK)
		m->m_copied++;
	else
		m->m_skipped++;
	ret = XF_OK;
fail:
	xf_buf_free(&val);
	xf_buf_free(&pfx);
	return ret;
}

/* How many records bare owns in the source, into *n. */
static int
count_user(mig_t *m, const char *bare, size_t *n)
{
	xf_buf_t	 val = { 0 }, pfx = { 0 };
	size_t		 blen = strlen(bare), c;
	int		 rc, ret = XF_ERR;

	*n = 0;
	if (xf_buf_append(&pfx, bare, blen + 1) != XF_OK) {
		snprintf(m->m_err, sizeof(m->m_err), "out of memory");
		goto fail;
	}
	for (int t = 0; t < XF_T_NTABLES; t++) {
		xf_buf_reset(&val);
		if ((rc = xf_store_get(m->m_src, t, bare, blen, &val)) ==
		    XF_ERR || xf_store_count(m->m_src, t, xf_buf_data(&pfx),
		    blen + 1, &c) != XF_OK) {
			m->m_user = bare;
			store_error(m, m->m_src, tables[t]);
			goto fail;
		}
		*n += c + (rc == XF_OK);
	}
	ret = XF_OK;
fail:
	xf_buf_free(&val);
	xf_buf_free(&pfx);
	return ret;
}

/*
 * What was not copied, all told: the records of skipped accounts (in
 * m_theirs already) and those no account owns (left behind by a user's
 * deletion that did not finish, say), which would otherwise go to the
 * next user of that name.  skip: keys left out on purpose.
 */
static int
count_orphans(mig_t *m, size_t skip)
{
	size_t	 total = 0, c;

	for (int t = 0; t < XF_T_NTABLES; t++) {
		if (xf_store_count(m->m_src, t, "", 0, &c) != XF_OK) {
			m->m_user = "count";
			store_error(m, m->m_src, tables[t]);
			return XF_ERR;
		}
		total += c;
		skip += m->m_recs[t];
	}
	skip += m->m_theirs;
	/* The source may have changed under us: no node should run on it. */
	m->m_orphans = total > skip ? total - skip : 0;
	return XF_OK;
}

/*
 * Moves xf_offline_seq past seq, never back: nodes that already use the
 * database may have taken numbers beyond it.
 */
static int
raise_seq(PGconn *pg, uint64_t seq, char *err, size_t errlen)
{
	const char	*params[1];
	char		 num[32];
	PGresult	*res;
	int		 ret = XF_OK;

	if (seq == 0)
		return XF_OK;	/* setval() refuses 0; nothing to pass */
	if (seq > INT64_MAX) {
		snprintf(err, errlen, "sequence number %" PRIu64 " does not "
		    "fit a PostgreSQL bigint", seq);
		return XF_ERR;
	}
	snprintf(num, sizeof(num), "%" PRIu64, seq);
	params[0] = num;
	res = PQexecParams(pg, "SELECT setval('xf_offline_seq', "
	    "GREATEST($1::bigint, last_value)) FROM xf_offline_seq", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		xf_ctldb_pg_error(pg, res, err, errlen);
		ret = XF_ERR;
	}
	PQclear(res);
	return ret;
}

static void
print_counts(const mig_t *m, const char *dir, const char *where,
    uint64_t seq, int json)
{
	json_t	*o;
	char	*s = NULL;

	if (json) {
		if ((o = json_pack("{s:I, s:I}", "accounts",
		    (json_int_t)m->m_copied, "skipped",
		    (json_int_t)m->m_skipped)) != NULL) {
			for (int t = 0; t < XF_T_NTABLES; t++)
				json_object_set_new(o, tables[t],
				    json_integer((json_int_t)m->m_recs[t]));
			json_object_set_new(o, "seq", json_integer((json_int_t)seq));
			json_object_set_new(o, "skipped_records",
			    json_integer((json_int_t)m->m_theirs));
			json_object_set_new(o, "orphans",
			    json_integer((json_int_t)m->m_orphans));
			s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(o);
		}
		if (s == NULL) {
			xf_ctldb_fail("out of memory");
			return;
		}
		printf("%s\n", s);
		free(s);
		return;
	}
	printf("copied %s to database %s:\n", dir, where);
	printf("  %-9s %zu", "accounts", m->m_copied);
	if (m->m_skipped > 0)
		printf(" (%zu %s in the database already: skipped, with "
		    "their %zu record%s)", m->m_skipped, m->m_skipped == 1 ?
		    "was" : "were", m->m_theirs, m->m_theirs == 1 ? "" : "s");
	printf("\n");
	for (int t = 0; t < XF_T_NTABLES; t++)
		printf("  %-9s %zu\n", tables[t], m->m_recs[t]);
	if (m->m_orphans > 0)
		printf("%zu record%s that no account owns not copied\n",
		    m->m_orphans, m->m_orphans == 1 ? "" : "s");
	if (seq > 0)
		printf("xf_offline_seq is now at least %" PRIu64 "\n", seq);
}

int
xf_ctldb_migrate(const xf_conf_t *cf, const char *dir, int json)
{
	xf_store_conf_t	 sc;
	mig_t		 m;
	xf_buf_t	 val = { 0 };
	xf_account_t	 acct;
	PGconn		*pg = NULL;
	char		 err[1024], where[512], missing[64];
	uint64_t	 seq = 0;
	int		 ret = 1, version, rc;
	size_t		 i, n, seqkey;

	memset(&m, 0, sizeof(m));
	if (cf->cf_store_backend != XF_STORE_PGSQL)
		return xf_ctldb_fail("the storage backend of %s is "
		    "'lmdb'; set backend 'pgsql' and its dsn first", cf->cf_path);
	if (lmdb_check(dir) != XF_OK)
		return 1;

	if ((pg = xf_ctldb_pg_connect(cf, err, sizeof(err))) == NULL) {
		xf_ctldb_fail("%s", err);
		goto fail;
	}
	xf_ctldb_pg_where(pg, where, sizeof(where));
	if (xf_ctldb_pg_schema(pg, &version, missing, sizeof(missing), err,
	    sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s: %s", where, err);
		goto fail;
	}
	if (missing[0] != '\0' || version < 1) {
		xf_ctldb_fail("database %s has no xfed schema (no "
		    "%s); run 'xfedctl db init' first", where,
		    missing[0] != '\0' ? missing : "version");
		goto fail;
	}

	if (xf_store_open_lmdb(dir, &m.m_src, err, sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s", err);
		goto fail;
	}
	memset(&sc, 0, sizeof(sc));
	sc.sc_backend = XF_STORE_PGSQL;
	sc.sc_dsn = cf->cf_store_dsn;
	sc.sc_pool = cf->cf_store_pool;
	sc.sc_timeout = cf->cf_store_timeout;
	if (xf_store_open(&sc, &m.m_dst, err, sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s", err);
		goto fail;
	}

	rc = xf_store_get(m.m_src, XF_T_META, lmdb_seq_key, LMDB_SEQ_KLEN,
	    &val);
	if (rc == XF_ERR) {
		m.m_user = dir;
		store_error(&m, m.m_src, "meta");
		xf_ctldb_fail("%s", m.m_err);
		goto fail;
	}
	seqkey = rc == XF_OK;
	/* Little-endian, as store_lmdb.c writes it. */
	if (rc == XF_OK && xf_buf_size(&val) == 8)
		for (int b = 7; b >= 0; b--)
			seq = seq << 8 | (uint8_t)xf_buf_data(&val)[b];
	/* Raised first, so that a node already on the database numbers its
	 * new messages after every migrated one from the start. */
	if (raise_seq(pg, seq, err, sizeof(err)) != XF_OK) {
		xf_ctldb_fail("%s: %s", where, err);
		goto fail;
	}

	if (xf_store_user_list(m.m_src, NULL, add_user, &m) != XF_OK) {
		if (!m.m_failed) {
			m.m_user = dir;
			store_error(&m, m.m_src, "accounts");
		}
		xf_ctldb_fail("%s", m.m_err);
		goto fail;
	}
	for (i = 0; i < m.m_nusers; i++) {
		/*
		 * An account PostgreSQL has already is someone else's (or a
		 * finished earlier run's): left alone, with all it owns.
		 */
		rc = xf_store_user_get(m.m_dst, m.m_users[i], &acct);
		explicit_bzero(&acct, sizeof(acct));
		if (rc == XF_ERR) {
			m.m_user = m.m_users[i];
			store_error(&m, m.m_dst, "account");
			xf_ctldb_fail("%s", m.m_err);
			goto fail;
		}
		if (rc == XF_OK) {
			m.m_skipped++;
			if (count_user(&m, m.m_users[i], &n) != XF_OK) {
				xf_ctldb_fail("%s", m.m_err);
				goto fail;
			}
			m.m_theirs += n;
			continue;
		}
		if (copy_user(&m, m.m_users[i]) != XF_OK) {
			xf_ctldb_fail("%s (%zu account%s copied; running again "
			    "resumes)", m.m_err, m.m_copied,
			    m.m_copied == 1 ? "" : "s");
			goto fail;
		}
	}
	/* The counter covers every offline key, unless it was lost. */
	if (m.m_maxseq > seq) {
		seq = m.m_maxseq;
		if (raise_seq(pg, seq, err, sizeof(err)) != XF_OK) {
			xf_ctldb_fail("%s: %s", where, err);
			goto fail;
		}
	}
	if (count_orphans(&m, seqkey) != XF_OK) {
		xf_ctldb_fail("%s: %s", dir, m.m_err);
		goto fail;
	}
	print_counts(&m, dir, where, seq, json);
	ret = 0;
fail:
	for (i = 0; i < m.m_nusers; i++)
		free(m.m_users[i]);
	free(m.m_users);
	xf_buf_free(&val);
	xf_store_close(m.m_dst);
	xf_store_close(m.m_src);
	PQfinish(pg);
	return ret;
}
