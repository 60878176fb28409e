/* sess.c: unit tests for shm/sess.c (ownership, bare ranges, best, fork). */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xf.h"
#include "sess.h"

static xf_sess_rec_t
mkrec(uint32_t worker, uint64_t conn, int32_t prio, int avail, int64_t since)
{
	xf_sess_rec_t	 r;

	memset(&r, 0, sizeof(r));
	r.sr_worker = worker;
	r.sr_conn = conn;
	r.sr_prio = prio;
	r.sr_avail = (uint8_t)avail;
	r.sr_since = since;
	snprintf(r.sr_ip, sizeof(r.sr_ip), "192.0.2.%u", worker);
	return r;
}

static int
put(xf_sess_t *s, const char *full, uint32_t worker, uint64_t conn,
    int32_t prio, int avail, int64_t since)
{
	xf_sess_rec_t	 r, old;
	int		 had;

	r = mkrec(worker, conn, prio, avail, since);
	return xf_sess_put(s, full, &r, &old, &had);
}

/* Collects "full,full,..." for comparison. */
struct collect {
	char	 list[4096];
	int	 n;
	int	 stop_at;
};

static int
collect_fn(void *ud, const char *full, const xf_sess_rec_t *r)
{
	struct collect	*c = ud;
	size_t		 l = strlen(c->list);

	snprintf(c->list + l, sizeof(c->list) - l, "%s%s", l ? "," : "", full);
	c->n++;
	return c->stop_at && c->n >= c->stop_at;
}

static int
count_fn(void *ud, const char *full, const xf_sess_rec_t *r)
{
	(*(int *)ud)++;
	return 0;
}

/* Deletes from inside the callback: scans run with no txn open. */
static int
del_fn(void *ud, const char *full, const xf_sess_rec_t *r)
{
	xf_sess_t	*s = ud;

	return xf_sess_del(s, full, r->sr_worker, r->sr_conn) != XF_OK;
}

static int
count(xf_sess_t *s)
{
	int	 n = 0;

	if (xf_sess_foreach(s, count_fn, &n) != XF_OK)
		return -1;
	return n;
}

int
main(void)
{
	char		 tmpl[] = "/tmp/xf-sess-XXXXXX", dir[64], err[256];
	char		 full[XF_JID_MAX + 1], big[600], cmd[128];
	xf_sess_t	*s;
	xf_sess_rec_t	 r, old;
	struct collect	 c;
	size_t		 n;
	pid_t		 pid;
	int		 had, status, i, rc;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* A directory that does not exist yet: open makes it. */
	snprintf(dir, sizeof(dir), "%s/sess", tmpl);

	ok(xf_sess_open(dir, 1, &s, err, sizeof(err)) == XF_OK, "open: %s",
	    err);

	/* put / get */
	is_int(xf_sess_get(s, "alice@localhost/a", &r), XF_DECLINED,
	    "get of a missing JID declines");
	r = mkrec(1, 10, 5, 1, 1000);
	is_int(xf_sess_put(s, "alice@localhost/a", &r, &old, &had), XF_OK,
	    "put");
	is_int(had, 0, "first put has no old record");
	memset(&r, 0, sizeof(r));
	is_int(xf_sess_get(s, "alice@localhost/a", &r), XF_OK, "get");
	ok(r.sr_worker == 1 && r.sr_conn == 10 && r.sr_prio == 5 &&
	    r.sr_avail == 1 && r.sr_since == 1000, "get returns the record");
	is_str(r.sr_ip, "192.0.2.1", "ip round-trips");
	is_int(xf_sess_get(s, "alice@localhost", &r), XF_DECLINED,
	    "bare JID is not a key");
	is_int(xf_sess_get(s, "", &r), XF_DECLINED, "empty JID declines");

	/* conflict: a second bind of the same resource */
	r = mkrec(2, 20, 0, 0, 1001);
	is_int(xf_sess_put(s, "alice@localhost/a", &r, &old, &had), XF_OK,
	    "put over an existing resource");
	is_int(had, 1, "had_old set");
	ok(old.sr_worker == 1 && old.sr_conn == 10, "old record returned");
	xf_sess_get(s, "alice@localhost/a", &r);
	ok(r.sr_worker == 2 && r.sr_conn == 20, "new owner stored");

	/* del / update by the wrong owner */
	is_int(xf_sess_del(s, "alice@localhost/a", 1, 10), XF_DECLINED,
	    "del by the old owner declines");
	is_int(xf_sess_get(s, "alice@localhost/a", &r), XF_OK,
	    "record survives the old owner's del");
	is_int(xf_sess_update(s, "alice@localhost/a", 2, 21, 7, 1),
	    XF_DECLINED, "update with the wrong conn declines");
	is_int(xf_sess_update(s, "alice@localhost/a", 3, 20, 7, 1),
	    XF_DECLINED, "update with the wrong worker declines");
	is_int(xf_sess_update(s, "nobody@localhost/x", 2, 20, 7, 1),
	    XF_DECLINED, "update of a missing record declines");
	xf_sess_get(s, "alice@localhost/a", &r);
	ok(r.sr_prio == 0 && r.sr_avail == 0, "unchanged after refused update");
	is_int(xf_sess_update(s, "alice@localhost/a", 2, 20, 7, 1), XF_OK,
	    "update by the owner");
	xf_sess_get(s, "alice@localhost/a", &r);
	ok(r.sr_prio == 7 && r.sr_avail == 1 && r.sr_since == 1001 &&
	    r.sr_worker == 2, "update changes prio/avail only");
	is_int(xf_sess_del(s, "alice@localhost/a", 2, 20), XF_OK,
	    "del by the owner");
	is_int(xf_sess_get(s, "alice@localhost/a", &r), XF_DECLINED,
	    "gone after del");
	is_int(xf_sess_del(s, "alice@localhost/a", 2, 20), XF_DECLINED,
	    "second del declines");

	/* put refuses what cannot be a full JID key */
	is_int(put(s, "alice@localhost", 1, 1, 0, 1, 1), XF_ERR,
	    "put of a bare JID is an error");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "bob@localhost/", 14);
	is_int(put(s, big, 1, 1, 0, 1, 1), XF_ERR,
	    "put of a JID longer than an LMDB key is an error");
	ok(strlen(xf_sess_error(s)) > 0, "error string: %s", xf_sess_error(s));
	is_int(xf_sess_get(s, big, &r), XF_DECLINED, "get of it declines");

	/* bare-JID ranges */
	put(s, "alice@localhost/home", 1, 1, 1, 1, 100);
	put(s, "alice@localhost/work", 1, 2, 5, 1, 100);
	put(s, "alice@localhost/phone", 2, 3, 5, 1, 200);
	put(s, "alice@localhost/away", 2, 4, 50, 0, 300);	/* unavail. */
	put(s, "alice@localhost/neg", 3, 5, -1, 1, 400);	/* prio < 0 */
	put(s, "alice@localhost.org/x", 1, 6, 99, 1, 500);
	put(s, "alice@localhost.org/y", 1, 7, 99, 1, 500);
	put(s, "alicex@localhost/z", 1, 8, 99, 1, 500);
	put(s, "alice@localhosu/z", 1, 9, 99, 1, 500);
	put(s, "al@localhost/z", 3, 10, 99, 1, 500);

	memset(&c, 0, sizeof(c));
	is_int(xf_sess_resources(s, "alice@localhost", collect_fn, &c), XF_OK,
	    "resources");
	is_str(c.list, "alice@localhost/away,alice@localhost/home,"
	    "alice@localhost/neg,alice@localhost/phone,alice@localhost/work",
	    "exactly alice@localhost's resources, in key order");
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	xf_sess_resources(s, "alice@localhost", collect_fn, &c);
	is_int(c.n, 2, "callback returning non-zero stops the scan");
	memset(&c, 0, sizeof(c));
	xf_sess_resources(s, "alice@localhost.org", collect_fn, &c);
	is_str(c.list, "alice@localhost.org/x,alice@localhost.org/y",
	    "resources of alice@localhost.org");
	memset(&c, 0, sizeof(c));
	xf_sess_resources(s, "nobody@localhost", collect_fn, &c);
	is_int(c.n, 0, "no resources for an unknown JID");
	memset(&c, 0, sizeof(c));
	xf_sess_resources(s, "alice@localhost/home", collect_fn, &c);
	is_int(c.n, 0, "a full JID as bare argument matches nothing");

	/* best: prio 5 twice (work since 100, phone since 200) -> phone */
	memset(full, 0, sizeof(full));
	is_int(xf_sess_best(s, "alice@localhost", full, sizeof(full), &r),
	    XF_OK, "best");
	is_str(full, "alice@localhost/phone",
	    "best: highest available non-negative, newest on ties");
	ok(r.sr_conn == 3, "best returns its record");
	put(s, "alice@localhost/zz", 3, 11, 5, 1, 200);
	xf_sess_best(s, "alice@localhost", full, sizeof(full), &r);
	is_str(full, "alice@localhost/zz",
	    "equal prio and since: last in key order");
	xf_sess_update(s, "alice@localhost/zz", 3, 11, 5, 0);
	xf_sess_best(s, "alice@localhost", full, sizeof(full), &r);
	is_str(full, "alice@localhost/phone", "unavailable is skipped");
	xf_sess_update(s, "alice@localhost/home", 1, 1, 6, 1);
	xf_sess_best(s, "alice@localhost", full, sizeof(full), &r);
	is_str(full, "alice@localhost/home", "higher priority wins over since");
	is_int(xf_sess_best(s, "alice@localhost", full, 5, &r), XF_ERR,
	    "best with a too small buffer is an error");
	put(s, "carol@localhost/a", 1, 12, -5, 1, 1);
	put(s, "carol@localhost/b", 1, 13, 10, 0, 1);
	is_int(xf_sess_best(s, "carol@localhost", full, sizeof(full), &r),
	    XF_DECLINED, "best declines when only negative/unavailable");
	is_int(xf_sess_best(s, "dave@localhost", full, sizeof(full), &r),
	    XF_DECLINED, "best declines for an unknown JID");
	put(s, "carol@localhost/c", 1, 14, 0, 1, 1);
	xf_sess_best(s, "carol@localhost", full, sizeof(full), &r);
	is_str(full, "carol@localhost/c", "priority 0 is eligible");

	/* foreach */
	is_int(count(s), 14, "foreach counts every record");

	/* clear_worker: worker 1 of node 0 only; a node-1 record stays */
	r = mkrec(1, 99, 0, 1, 1);
	r.sr_node = 1;
	xf_sess_put(s, "remote@localhost/r", &r, &old, &had);
	is_int(xf_sess_clear_worker(s, 0, 1, &n), XF_OK, "clear_worker");
	is_int(n, 9, "clear_worker counts the deleted records");
	is_int(count(s), 6, "other workers' and nodes' records stay");
	is_int(xf_sess_get(s, "alice@localhost/home", &r), XF_DECLINED,
	    "worker 1 record gone");
	is_int(xf_sess_get(s, "alice@localhost/phone", &r), XF_OK,
	    "worker 2 record kept");
	is_int(xf_sess_get(s, "remote@localhost/r", &r), XF_OK,
	    "node 1 worker 1 record kept");

	/* many records: scans and clear_worker cross batch boundaries */
	for (i = 0, rc = XF_OK; i < 10000 && rc == XF_OK; i++) {
		snprintf(full, sizeof(full), "u%05d@localhost/r%d", i, i % 3);
		rc = put(s, full, 5 + i % 2, (uint64_t)i, 0, 1, i);
	}
	is_int(rc, XF_OK, "10000 puts");
	is_int(count(s), 10006, "foreach over 10006 records");
	for (i = 0, rc = XF_OK; i < 700 && rc == XF_OK; i++) {
		snprintf(full, sizeof(full), "many@localhost/r%04d", i);
		rc = put(s, full, 7, (uint64_t)i, i == 345 ? 9 : 1, 1, i);
	}
	memset(&c, 0, sizeof(c));
	i = 0;
	xf_sess_resources(s, "many@localhost", count_fn, &i);
	is_int(i, 700, "resources across several batches");
	xf_sess_best(s, "many@localhost", full, sizeof(full), &r);
	is_str(full, "many@localhost/r0345", "best among 700");
	is_int(xf_sess_clear_worker(s, 0, 5, &n), XF_OK,
	    "clear_worker over 10706 records");
	is_int(n, 5000, "clear_worker deletes all 5000 of worker 5");
	is_int(count(s), 5706, "the rest stays");
	xf_sess_resources(s, "many@localhost", del_fn, s);
	i = 0;
	xf_sess_resources(s, "many@localhost", count_fn, &i);
	is_int(i, 0, "callback may delete the records it is shown");

	/*
	 * No second handle in this process: LMDB forbids opening one env
	 * twice per process (closing one drops the other's fcntl locks, and
	 * another process's mdb_reader_check() then frees our reader slot).
	 */
	/* fork: the child opens its own handle and writes */
	fflush(stdout);
	if ((pid = fork()) == 0) {
		xf_sess_t	*cs;

		xf_sess_close(s);	/* the inherited handle: free only */
		if (xf_sess_open(dir, 0, &cs, err, sizeof(err)) != XF_OK)
			_exit(2);
		if (put(cs, "child@localhost/fork", 9, 42, 3, 1, 7) != XF_OK)
			_exit(3);
		xf_sess_close(cs);
		_exit(0);
	}
	ok(pid > 0, "fork");
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child opened its own handle and wrote (status %d)", status);
	memset(&r, 0, sizeof(r));
	is_int(xf_sess_get(s, "child@localhost/fork", &r), XF_OK,
	    "parent reads the child's record: %s", xf_sess_error(s));
	ok(r.sr_worker == 9 && r.sr_conn == 42, "child's record intact");
	is_int(xf_sess_get(s, "alice@localhost/phone", &r), XF_OK,
	    "parent handle still works after the child closed its copy");

	/* reopen: clear = 0 keeps, clear = 1 empties */
	xf_sess_close(s);
	ok(xf_sess_open(dir, 0, &s, err, sizeof(err)) == XF_OK, "reopen");
	is_int(count(s), 5007, "reopen without clear keeps the records");
	xf_sess_close(s);
	ok(xf_sess_open(dir, 1, &s, err, sizeof(err)) == XF_OK,
	    "reopen with clear");
	is_int(count(s), 0, "clear empties the table");
	xf_sess_close(s);

	ok(xf_sess_open("/proc/nonexistent/xf", 0, &s, err, sizeof(err)) ==
	    XF_ERR && s == NULL, "open of an impossible dir fails: %s", err);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpl);
	return done_testing();
}
