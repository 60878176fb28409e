/* store.c: unit tests for common/store.c (accounts in LMDB, reopen, fork). */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "tap.h"
#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "scram.h"
#include "store.h"

static void
account(xf_account_t *a, unsigned iter, int64_t created, uint8_t fill)
{
	memset(a, 0, sizeof(*a));
	a->ac_cred.cr_iter = iter;
	a->ac_created = created;
	memset(a->ac_cred.cr_salt, fill, sizeof(a->ac_cred.cr_salt));
	memset(a->ac_cred.cr_stored[XF_HASH_SHA1], fill + 1, 20);
	memset(a->ac_cred.cr_stored[XF_HASH_SHA256], fill + 2, 32);
	memset(a->ac_cred.cr_server[XF_HASH_SHA1], fill + 3, 20);
	memset(a->ac_cred.cr_server[XF_HASH_SHA256], fill + 4, 32);
}

static int
collect(void *ud, const char *bare)
{
	xf_buf_t	*b = ud;

	if (xf_buf_size(b) > 0)
		xf_buf_puts(b, " ");
	xf_buf_puts(b, bare);
	return XF_OK;
}

static int
stop_after_one(void *ud, const char *bare)
{
	collect(ud, bare);
	return 7;
}

static int
delete_each(void *ud, const char *bare)
{
	return xf_store_user_del(ud, bare);
}

static const char *
list(xf_store_t *st, const char *domain, xf_buf_t *b)
{
	xf_buf_reset(b);
	if (xf_store_user_list(st, domain, collect, b) != XF_OK)
		return "(error)";
	return xf_buf_cstr(b);
}

/* Writes a raw value under key in "accounts", bypassing store.c. */
static int
raw_put(const char *dir, const char *key, const void *val, size_t len)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k = { strlen(key), (void *)key };
	MDB_val		 v = { len, (void *)val };
	int		 rc;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 8);
	rc = mdb_env_open(env, dir, 0, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc == 0) {
		if ((rc = mdb_dbi_open(txn, "accounts", 0, &dbi)) == 0 &&
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

static int
scan_cb(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	xf_buf_t	*b = ud;

	xf_buf_append(b, key, klen);
	xf_buf_append(b, "=", 1);
	xf_buf_append(b, val, vlen);
	xf_buf_append(b, ";", 1);
	return 0;
}

/* xf_store_update's function: appends "+" to the value, or creates "0";
 * a value "del" asks for deletion, "keep" for no change. */
static int
bump(void *ud, const void *old, size_t oldlen, xf_buf_t *out)
{
	if (old != NULL && oldlen == 3 && memcmp(old, "del", 3) == 0)
		return XF_DECLINED;
	if (old != NULL && oldlen == 4 && memcmp(old, "keep", 4) == 0)
		return XF_AGAIN;
	if (old == NULL)
		return xf_buf_append(out, "0", 1);
	if (xf_buf_append(out, old, oldlen) != XF_OK)
		return XF_ERR;
	return xf_buf_append(out, "+", 1);
}

/* The generic tables: get/put/del, prefix scans, read-modify-write, a
 * user's deletion; the same for every backend. */
static void
tables_on(xf_store_t *st, const char *name)
{
	char		 key[64];
	xf_account_t	 a;
	xf_buf_t	 b = { 0 };
	size_t		 n, bytes;
	uint64_t	 s1 = 0, s2 = 0;

	printf("# tables on %s\n", name);
	memset(&a, 0, sizeof(a));
	a.ac_cred.cr_iter = 1;
	xf_store_user_put(st, "bob@x", &a, 1);
	xf_store_user_put(st, "bob@x.org", &a, 1);
	is_int(xf_store_put(st, XF_T_ROSTER, "bob@x\0a@x", 9, "A", 1), XF_OK,
	    "table put");
	xf_store_put(st, XF_T_ROSTER, "bob@x\0c@x", 9, "C", 1);
	xf_store_put(st, XF_T_ROSTER, "bob@x.org\0a@x", 13, "O", 1);
	xf_store_put(st, XF_T_VCARD, "bob@x", 5, "V", 1);
	xf_store_put(st, XF_T_VCARD, "bob@x.org", 9, "W", 1);
	is_int(xf_store_get(st, XF_T_ROSTER, "bob@x\0a@x", 9, &b), XF_OK,
	    "table get");
	is_int(xf_buf_size(&b), 1, "table get: value length");
	is_int(xf_store_get(st, XF_T_ROSTER, "bob@x\0b@x", 9, &b),
	    XF_DECLINED, "table get: missing key");
	xf_buf_reset(&b);
	is_int(xf_store_scan(st, XF_T_ROSTER, "bob@x\0", 6, scan_cb, &b),
	    XF_OK, "scan one user's records");
	is_int(xf_buf_size(&b), 2 * (9 + 3), "scan saw exactly bob@x's two");
	is_int(xf_store_count(st, XF_T_ROSTER, "bob@x", 5, &n), XF_OK,
	    "count");
	is_int(n, 3, "count by plain prefix includes bob@x.org");
	is_int(xf_store_del(st, XF_T_ROSTER, "bob@x\0c@x", 9), XF_OK,
	    "table del");
	is_int(xf_store_del(st, XF_T_ROSTER, "bob@x\0c@x", 9), XF_DECLINED,
	    "table del again");
	for (int i = 0; i < 1000; i++) {
		int	 kl = snprintf(key, sizeof(key), "m@x%c%04d", 0, i);

		xf_store_put(st, XF_T_OFFLINE, key, (size_t)kl, "msg", 3);
	}
	xf_store_put(st, XF_T_OFFLINE, "m@xx\0a", 6, "keep", 4);
	n = bytes = 99;
	is_int(xf_store_usage(st, XF_T_OFFLINE, "m@x\0", 4, &n, &bytes),
	    XF_OK, "usage");
	ok(n == 1000 && bytes == 3000, "usage: 1000 records of 3 bytes "
	    "(%zu, %zu), not m@xx's", n, bytes);
	xf_store_usage(st, XF_T_OFFLINE, "nobody@x\0", 9, &n, &bytes);
	ok(n == 0 && bytes == 0, "usage of nothing: 0, 0 (%zu, %zu)", n,
	    bytes);
	is_int(xf_store_del_prefix(st, XF_T_OFFLINE, "m@x\0", 4, &n), XF_OK,
	    "del_prefix over many pages");
	is_int(n, 1000, "del_prefix removed all 1000");
	is_int(xf_store_count(st, XF_T_OFFLINE, "m@x", 3, &n), XF_OK,
	    "count after del_prefix");
	is_int(n, 1, "del_prefix kept m@xx's record");
	is_int(xf_store_user_del(st, "bob@x"), XF_OK, "delete user bob@x");
	is_int(xf_store_count(st, XF_T_ROSTER, "bob@x\0", 6, &n), XF_OK,
	    "count bob@x's roster");
	is_int(n, 0, "bob@x's roster went with the account");
	xf_buf_reset(&b);
	is_int(xf_store_get(st, XF_T_VCARD, "bob@x", 5, &b), XF_DECLINED,
	    "bob@x's vcard went with the account");
	is_int(xf_store_get(st, XF_T_VCARD, "bob@x.org", 9, &b), XF_OK,
	    "bob@x.org's vcard stays");
	is_int(xf_store_count(st, XF_T_ROSTER, "bob@x.org\0", 10, &n), XF_OK,
	    "count bob@x.org's roster");
	is_int(n, 1, "bob@x.org's roster stays");
	ok(xf_store_seq(st, &s1) == XF_OK && xf_store_seq(st, &s2) == XF_OK &&
	    s2 == s1 + 1, "seq increases (%llu, %llu)",
	    (unsigned long long)s1, (unsigned long long)s2);
	is_int(xf_store_put(st, XF_T_NTABLES, "k", 1, "v", 1), XF_ERR,
	    "no such table");

	/* Read-modify-write. */
	is_int(xf_store_update(st, XF_T_META, "u@x\0n", 5, bump, NULL),
	    XF_OK, "update creates");
	is_int(xf_store_update(st, XF_T_META, "u@x\0n", 5, bump, NULL),
	    XF_OK, "update changes");
	xf_buf_reset(&b);
	xf_store_get(st, XF_T_META, "u@x\0n", 5, &b);
	is_str(xf_buf_cstr(&b), "0+", "update saw the old value");
	xf_store_put(st, XF_T_META, "u@x\0k", 5, "keep", 4);
	is_int(xf_store_update(st, XF_T_META, "u@x\0k", 5, bump, NULL),
	    XF_AGAIN, "update leaves a value as it is");
	xf_store_put(st, XF_T_META, "u@x\0d", 5, "del", 3);
	is_int(xf_store_update(st, XF_T_META, "u@x\0d", 5, bump, NULL),
	    XF_DECLINED, "update deletes");
	xf_buf_reset(&b);
	is_int(xf_store_get(st, XF_T_META, "u@x\0d", 5, &b), XF_DECLINED,
	    "deleted by update");
	xf_buf_reset(&b);
	is_int(xf_store_get(st, XF_T_META, "u@x\0k", 5, &b), XF_OK,
	    "kept by update");
	is_str(xf_buf_cstr(&b), "keep", "kept unchanged");

	/* Binary keys and values, in byte order. */
	xf_store_put(st, XF_T_PEP, "p@x\0n\0\xff", 7, "\0\1", 2);
	xf_store_put(st, XF_T_PEP, "p@x\0n\0\x01", 7, "\xfe", 1);
	xf_buf_reset(&b);
	is_int(xf_store_scan(st, XF_T_PEP, "p@x\0n\0", 6, scan_cb, &b),
	    XF_OK, "scan binary keys");
	is_int(xf_buf_size(&b), 2 * (7 + 2) + 1 + 2, "both, with their values");
	ok(xf_buf_size(&b) > 7 && memcmp(xf_buf_data(&b), "p@x\0n\0\x01",
	    7) == 0, "in byte order (0x01 before 0xff)");
	xf_buf_free(&b);
}

static void
tables(const char *dir)
{
	char		 err[256];
	xf_store_t	*st;

	if (xf_store_open_lmdb(dir, &st, err, sizeof(err)) != XF_OK) {
		ok(0, "open for tables: %s", err);
		return;
	}
	tables_on(st, "lmdb");
	xf_store_close(st);
}

static void
like_schema(const char *msg)
{
	ok(strstr(msg, "schema version 1") != NULL, "check: %s", msg);
}

/*
 * A map of storage 'map-size' that fills up: writes fail and say so
 * (xf_store_full(), the option in the message), reads go on, and once
 * records are deleted writes go through again.
 */
static void
full(const char *dir)
{
	xf_store_conf_t	 sc = { XF_STORE_LMDB, dir, NULL, 0, 0, 262144 };
	xf_store_t	*st;
	char		 err[256], key[64], val[200];
	size_t		 n, count = 0;
	int		 rc = XF_OK, i;
	xf_buf_t	 v = { 0 };

	if (xf_store_open(&sc, &st, err, sizeof(err)) != XF_OK) {
		ok(0, "open a 256k map: %s", err);
		return;
	}
	memset(val, 'x', sizeof(val));
	ok(!xf_store_full(st), "a new store is not full");
	for (i = 0; i < 100000 && rc == XF_OK; i++) {
		n = (size_t)snprintf(key, sizeof(key), "u@example.org%c%06d",
		    '\0', i);
		rc = xf_store_put(st, XF_T_OFFLINE, key, n, val, sizeof(val));
	}
	ok(rc == XF_ERR && i > 10, "a 256k map fills up after %d records", i);
	ok(xf_store_full(st), "xf_store_full() says so");
	ok(strstr(xf_store_error(st), "store full") != NULL &&
	    strstr(xf_store_error(st), "'map-size'") != NULL,
	    "the error names the option: %s", xf_store_error(st));
	is_int(xf_store_get(st, XF_T_OFFLINE, key, n, &v),
	    XF_DECLINED, "reads still work (the refused record is not there)");
	is_int(xf_store_count(st, XF_T_OFFLINE, "u@example.org", 14, &count),
	    XF_OK, "count works on a full map");
	is_int(count, i - 1, "every write that said yes is there");
	for (rc = XF_OK, i = 0; i < (int)count && rc == XF_OK; i++) {
		n = (size_t)snprintf(key, sizeof(key), "u@example.org%c%06d",
		    '\0', i);
		rc = xf_store_del(st, XF_T_OFFLINE, key, n);
	}
	is_int(rc, XF_OK, "a full map can still be emptied one by one "
	    "(%d deletes)", i);
	is_int(xf_store_put(st, XF_T_OFFLINE, key, n, val, sizeof(val)),
	    XF_OK, "then takes writes again");
	ok(!xf_store_full(st), "and is no longer full");
	xf_buf_free(&v);
	xf_store_close(st);
}

/*
 * The same against PostgreSQL when XFED_TEST_PG_DSN names a database
 * with the schema (t/pgsql/store_unit.t sets one up): accounts and
 * tables, what a node and xfedctl see.
 */
static void
pgsql(const char *dsn)
{
	xf_store_conf_t	 sc = { XF_STORE_PGSQL, NULL, dsn, 2, 10, 0 };
	xf_store_t	*st;
	xf_account_t	 a, b;
	xf_buf_t	 names = { 0 };
	char		 err[256], msg[256];

	if (xf_store_open(&sc, &st, err, sizeof(err)) != XF_OK) {
		ok(0, "open pgsql: %s", err);
		return;
	}
	is_str(xf_store_backend(st), "pgsql", "the pgsql backend");
	if (xf_store_check(st, 10, msg, sizeof(msg)) != XF_OK)
		snprintf(msg, sizeof(msg), "%s", xf_store_error(st));
	like_schema(msg);
	is_int(xf_store_check(st, 100000, msg, sizeof(msg)), XF_AGAIN,
	    "check warns when the node may open more connections than the "
	    "server takes");
	ok(strstr(msg, "max_connections") != NULL, "and says so: %s", msg);
	account(&a, 4096, 1700000000, 0x10);
	is_int(xf_store_user_put(st, "alice@example.org", &a, 1), XF_OK,
	    "pgsql: create alice");
	is_int(xf_store_user_put(st, "alice@example.org", &a, 1), XF_DECLINED,
	    "pgsql: create alice again: exists");
	is_int(xf_store_user_put(st, "nobody@example.org", &a, 0),
	    XF_DECLINED, "pgsql: update a missing user");
	memset(&b, 0xff, sizeof(b));
	is_int(xf_store_user_get(st, "alice@example.org", &b), XF_OK,
	    "pgsql: get alice");
	ok(memcmp(&a, &b, sizeof(a)) == 0, "pgsql: alice's record "
	    "round-trips");
	account(&a, 4096, -5, 0x30);
	xf_store_user_put(st, "bob@example.org", &a, 1);
	xf_store_user_put(st, "erin@xexample.org", &a, 1);
	xf_store_user_get(st, "bob@example.org", &b);
	is_int(b.ac_created, -5, "pgsql: negative time round-trips");
	is_str(list(st, "example.org", &names), "alice@example.org "
	    "bob@example.org", "pgsql: list one domain");
	is_int(xf_store_user_del(st, "bob@example.org"), XF_OK,
	    "pgsql: del bob");
	is_int(xf_store_user_del(st, "bob@example.org"), XF_DECLINED,
	    "pgsql: del bob again: no such user");
	tables_on(st, "pgsql");
	xf_buf_free(&names);
	xf_store_close(st);

	/* A server that is not there: an error, at once. */
	sc.sc_dsn = "host=127.0.0.1 port=1 dbname=x connect_timeout=2";
	if (xf_store_open(&sc, &st, err, sizeof(err)) == XF_OK) {
		is_int(xf_store_user_get(st, "alice@example.org", &b), XF_ERR,
		    "pgsql down: a lookup fails");
		ok(strstr(xf_store_error(st), "connect") != NULL,
		    "and says why: %s", xf_store_error(st));
		xf_store_close(st);
	}
}

int
main(void)
{
	char		 tmp[] = "/tmp/xf-store-t.XXXXXX", dir[256], err[256];
	char		 longjid[600], cmd[300];
	xf_store_t	*st;
	xf_account_t	 a, b;
	xf_buf_t	 names = { 0 };
	struct stat	 sb;
	pid_t		 pid;
	int		 status;
	uint8_t		 bad[136];

	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/a/b", tmp);

	is_int(xf_store_open_lmdb(dir, &st, err, sizeof(err)), XF_OK,
	    "open creates the directory");
	ok(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 077) == 0, "directory has mode 0700");

	account(&a, 4096, 1700000000, 0x10);
	is_int(xf_store_user_get(st, "alice@example.org", &b), XF_DECLINED,
	    "get before put: no such user");
	is_int(xf_store_user_put(st, "alice@example.org", &a, 1), XF_OK,
	    "create alice");
	is_int(xf_store_user_put(st, "alice@example.org", &a, 1), XF_DECLINED,
	    "create alice again: exists");
	is_int(xf_store_user_put(st, "nobody@example.org", &a, 0), XF_DECLINED,
	    "update a missing user");
	is_int(xf_store_user_get(st, "nobody@example.org", &b), XF_DECLINED,
	    "update did not create");
	{
		/* A valid JID (RFC 7622: 1023-byte localpart) longer than
		 * any key: no such user, not a store failure, so a message
		 * to it bounces as to any unknown user. */
		char	 rfcjid[1040];

		memset(rfcjid, 'l', 1023);
		strcpy(rfcjid + 1023, "@example.org");
		is_int(xf_store_user_get(st, rfcjid, &b), XF_DECLINED,
		    "get a JID longer than any key: no such user");
	}

	memset(&b, 0xff, sizeof(b));
	is_int(xf_store_user_get(st, "alice@example.org", &b), XF_OK,
	    "get alice");
	ok(memcmp(&a, &b, sizeof(a)) == 0, "alice's record round-trips");

	account(&a, 8192, 1700000001, 0x20);
	is_int(xf_store_user_put(st, "alice@example.org", &a, 0), XF_OK,
	    "update alice");
	xf_store_user_get(st, "alice@example.org", &b);
	ok(memcmp(&a, &b, sizeof(a)) == 0 && b.ac_cred.cr_iter == 8192,
	    "update is visible");

	account(&a, 4096, -5, 0x30);
	xf_store_user_put(st, "carol@example.org", &a, 1);
	xf_store_user_put(st, "bob@example.org", &a, 1);
	xf_store_user_put(st, "dave@other.example", &a, 1);
	xf_store_user_put(st, "erin@xexample.org", &a, 1);
	xf_store_user_put(st, "example.org", &a, 1);
	xf_store_user_get(st, "carol@example.org", &b);
	is_int(b.ac_created, -5, "negative time round-trips");

	is_str(list(st, NULL, &names), "alice@example.org bob@example.org "
	    "carol@example.org dave@other.example erin@xexample.org "
	    "example.org", "list all, sorted");
	is_str(list(st, "example.org", &names), "alice@example.org "
	    "bob@example.org carol@example.org", "list one domain");
	is_str(list(st, "other.example", &names), "dave@other.example",
	    "list another domain");
	is_str(list(st, "nowhere.example", &names), "", "list empty domain");
	xf_buf_reset(&names);
	is_int(xf_store_user_list(st, NULL, stop_after_one, &names), 7,
	    "callback's non-zero return stops the list");
	is_str(xf_buf_cstr(&names), "alice@example.org", "stopped after one");

	is_int(xf_store_user_del(st, "bob@example.org"), XF_OK, "del bob");
	is_int(xf_store_user_del(st, "bob@example.org"), XF_DECLINED,
	    "del bob again: no such user");
	is_int(xf_store_user_get(st, "bob@example.org", &b), XF_DECLINED,
	    "bob is gone");

	memset(longjid, 'x', sizeof(longjid) - 1);
	longjid[sizeof(longjid) - 1] = '\0';
	is_int(xf_store_user_put(st, longjid, &a, 1), XF_ERR,
	    "599-byte key refused");
	ok(strstr(xf_store_error(st), "longer than") != NULL,
	    "error says why: %s", xf_store_error(st));
	is_int(xf_store_user_get(st, "", &b), XF_ERR, "empty JID refused");
	a.ac_cred.cr_iter = 0;
	is_int(xf_store_user_put(st, "zed@example.org", &a, 1), XF_ERR,
	    "zero iterations refused");
	a.ac_cred.cr_iter = 4096;

	/* Reopen: the data is on disk. */
	xf_store_close(st);
	is_int(xf_store_open_lmdb(dir, &st, err, sizeof(err)), XF_OK, "reopen");
	account(&a, 8192, 1700000001, 0x20);
	ok(xf_store_user_get(st, "alice@example.org", &b) == XF_OK &&
	    memcmp(&a, &b, sizeof(a)) == 0, "alice survives reopen");
	is_str(list(st, "example.org", &names),
	    "alice@example.org carol@example.org", "list after reopen");

	/* A forked child opens its own handle: each sees the other's
	 * writes.  The child must not touch the parent's handle. */
	account(&a, 4096, 42, 0x40);
	xf_store_user_put(st, "parent@example.org", &a, 1);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		xf_store_t	*cst;
		int		 bad_ = 0;

		if (xf_store_open_lmdb(dir, &cst, err, sizeof(err)) != XF_OK)
			_exit(2);
		if (xf_store_user_get(cst, "parent@example.org", &b) != XF_OK ||
		    b.ac_created != 42)
			bad_ = 3;
		else if (xf_store_user_put(cst, "child@example.org", &b, 1) !=
		    XF_OK)
			bad_ = 4;
		xf_store_close(cst);
		_exit(bad_);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	    "child ran");
	is_int(WEXITSTATUS(status), 0, "child saw the parent's user");
	ok(xf_store_user_get(st, "child@example.org", &b) == XF_OK &&
	    b.ac_created == 42, "parent sees the child's user");

	/* The callback may write to the store. */
	is_int(xf_store_user_list(st, "example.org", delete_each, st), XF_OK,
	    "delete a domain from the list callback");
	is_str(list(st, NULL, &names), "dave@other.example "
	    "erin@xexample.org example.org", "only other domains left");

	/* Records that are not ours. */
	xf_store_close(st);
	memset(bad, 0, sizeof(bad));
	bad[0] = 2;
	bad[4] = 1;
	raw_put(dir, "v2@example.org", bad, sizeof(bad));
	bad[0] = 1;
	raw_put(dir, "short@example.org", bad, sizeof(bad) - 1);
	raw_put(dir, "ok@example.org", bad, sizeof(bad));
	bad[4] = 0;
	raw_put(dir, "iter0@example.org", bad, sizeof(bad));
	is_int(xf_store_open_lmdb(dir, &st, err, sizeof(err)), XF_OK,
	    "reopen after raw writes");
	is_int(xf_store_user_get(st, "v2@example.org", &b), XF_ERR,
	    "unknown version is corrupt");
	ok(strstr(xf_store_error(st), "corrupt") != NULL,
	    "error says corrupt: %s", xf_store_error(st));
	is_int(xf_store_user_get(st, "short@example.org", &b), XF_ERR,
	    "short record is corrupt");
	is_int(xf_store_user_get(st, "iter0@example.org", &b), XF_ERR,
	    "zero iterations is corrupt");
	is_int(xf_store_user_get(st, "ok@example.org", &b), XF_OK,
	    "hand-made version 1 record reads");
	is_int(b.ac_cred.cr_iter, 1, "hand-made record: iterations");
	xf_store_close(st);

	/* Errors reach the caller's buffer. */
	snprintf(cmd, sizeof(cmd), "%s/file", tmp);
	fclose(fopen(cmd, "w"));
	is_int(xf_store_open_lmdb(cmd, &st, err, sizeof(err)), XF_ERR,
	    "open over a file fails");
	ok(st == NULL && strncmp(err, "store: ", 7) == 0,
	    "error message: %s", err);

	snprintf(cmd, sizeof(cmd), "%s/tables", tmp);
	tables(cmd);
	snprintf(cmd, sizeof(cmd), "%s/full", tmp);
	full(cmd);
	if (getenv("XFED_TEST_PG_DSN") != NULL)
		pgsql(getenv("XFED_TEST_PG_DSN"));

	xf_buf_free(&names);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return done_testing();
}
