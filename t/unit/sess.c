/* sess.c: unit tests for shm/sess.c (ownership, bare ranges, best, fork, SM state). */
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

/* Walks a [len][bytes]... buffer into "a,b,..." */
static void
joined(xf_buf_t *b, int withseq, char *out, size_t outlen)
{
	const char	*p = xf_buf_data(b);
	size_t		 off = 0, l;
	uint64_t	 len;

	out[0] = '\0';
	while (off < xf_buf_size(b)) {
		if (withseq)
			off += 8;
		memcpy(&len, p + off, 8);
		off += 8;
		l = strlen(out);
		snprintf(out + l, outlen - l, "%s%.*s", l ? "," : "", (int)len,
		    p + off);
		off += len;
	}
}

#define ID1	"0123456789abcdef0123456789abcdef"
#define ID2	"fedcba9876543210fedcba9876543210"
#define ID3	"11111111111111111111111111111111"

/* XEP-0198 state: the life of a session across owners. */
static void
sm_tests(const char *dir)
{
	char		 err[256], id[XF_SM_IDLEN + 1], list[1024];
	xf_sess_t	*s;
	xf_sess_rec_t	 r, old;
	xf_sm_rec_t	 sm, prev;
	xf_buf_t	 b = { 0 };
	uint64_t	 h = 0;
	size_t		 n;
	int		 had, gone;

	ok(xf_sess_open(dir, 1, &s, err, sizeof(err)) == XF_OK,
	    "sm: open: %s", err);
	r = mkrec(1, 10, 3, 1, 100);
	xf_sess_put(s, "u@h/r", &r, &old, &had);

	is_int(xf_sess_sm_create(s, ID1, "u@h/r", 2, 10, 1, 1000),
	    XF_DECLINED, "create by a worker that does not own the JID");
	is_int(xf_sess_sm_create(s, ID1, "u@h/r", 1, 10, 1, 1000), XF_OK,
	    "create by the owner");
	xf_sess_get(s, "u@h/r", &r);
	ok(r.sr_flags & XF_SESS_SM, "the session record is flagged SM");
	is_int(count(s), 1, "scans skip the SM databases' names");
	is_int(xf_sess_sm_find(s, "u@h/r", id, &sm), XF_OK, "find by JID");
	is_str(id, ID1, "find gives the id");
	ok(sm.sm_state == XF_SM_ATTACHED && sm.sm_worker == 1 &&
	    sm.sm_conn == 10 && sm.sm_resume == 1, "attached to its owner");

	xf_sess_sm_handled(s, ID1, 1, 10, &h);
	xf_sess_sm_handled(s, ID1, 1, 10, &h);
	is_int(h, 2, "handled counts");
	is_int(xf_sess_sm_set_pres(s, ID1, 2, 10, "p\0t", 3), XF_DECLINED,
	    "presence state: only the owner keeps it");
	is_int(xf_sess_sm_set_pres(s, ID1, 1, 10, "x", 1), XF_OK, "kept");
	is_int(xf_sess_sm_set_pres(s, ID1, 1, 10, "p\0t", 3), XF_OK,
	    "and replaced");
	is_int(xf_sess_sm_handled(s, ID1, 1, 11, &h), XF_DECLINED,
	    "handled by another connection declines");

	is_int(xf_sess_sm_sent(s, ID1, 1, 10, 0, "s1", 2, &sm), XF_OK,
	    "sent by the owner");
	xf_sess_sm_sent(s, ID1, 1, 10, 0, "s2", 2, &sm);
	xf_sess_sm_sent(s, ID1, 1, 10, 0, "s3", 2, &sm);
	is_int(sm.sm_sent, 3, "three written");

	is_int(xf_sess_sm_queue(s, "u@h/r", 1, "q1", 2, 100, id, &sm),
	    XF_AGAIN, "queue on the owner's worker, inbox empty: direct");
	is_int(xf_sess_sm_queue(s, "u@h/r", 2, "q1", 2, 100, id, &sm),
	    XF_OK, "queue from another worker goes to the inbox");
	ok(sm.sm_inlen == 1 && sm.sm_worker == 1, "inbox 1, owner named");
	is_int(xf_sess_sm_queue(s, "u@h/r", 1, "q2", 2, 100, id, &sm),
	    XF_OK, "queue on the owner's worker behind a full inbox queues");
	is_int(xf_sess_sm_queue(s, "x@h/r", 2, "q", 1, 100, id, &sm),
	    XF_DECLINED, "queue for a JID without SM declines");
	xf_sess_sm_inbox(s, ID1, 0, 10, &b, &n);
	joined(&b, 1, list, sizeof(list));
	is_str(list, "q1,q2", "inbox in order");
	xf_buf_reset(&b);
	is_int(xf_sess_sm_sent(s, ID1, 1, 10, 1, "q1", 2, &sm), XF_OK,
	    "the owner writes inbox entry 1");
	ok(sm.sm_sent == 4 && sm.sm_inlen == 1, "moved from inbox to queue");
	is_int(xf_sess_sm_unqueue(s, ID1, 2), XF_OK, "unqueue entry 2");
	xf_sess_sm_get(s, ID1, &sm);
	is_int(sm.sm_inlen, 0, "inbox empty");

	is_int(xf_sess_sm_ack(s, ID1, 1, 10, 2), XF_OK, "ack 2");
	xf_sess_sm_queued(s, ID1, &b, &n);
	joined(&b, 0, list, sizeof(list));
	is_str(list, "s3,q1", "acked stanzas left the queue");
	xf_buf_reset(&b);

	is_int(xf_sess_sm_detach(s, ID1, 1, 11, 2000), XF_DECLINED,
	    "detach by another connection declines");
	is_int(xf_sess_sm_detach(s, ID1, 1, 10, 2000), XF_OK, "detach");
	xf_sess_sm_queue(s, "u@h/r", 1, "d1", 2, 100, id, &sm);
	ok(sm.sm_state == XF_SM_DETACHED && sm.sm_inlen == 1,
	    "a detached session queues even on its own worker");
	xf_sess_get(s, "u@h/r", &r);
	ok(xf_sess_sm_kept(s, "u@h/r", &r), "its record is kept");
	xf_sess_clear_worker(s, 0, 1, &n);
	is_int(n, 0, "clear_worker leaves a kept record");
	is_int(xf_sess_sm_claim_expired(s, 1999, 5, id, &sm, &gone),
	    XF_DECLINED, "nothing to claim before the expiry");

	/* resume on worker 3 */
	memset(&r, 0, sizeof(r));
	r.sr_worker = 3;
	r.sr_conn = 30;
	r.sr_since = 1500;
	is_int(xf_sess_sm_take_over(s, ID1, "v@h", 3, &r, &prev, &sm, &b),
	    XF_DECLINED, "another user cannot resume it");
	is_int(xf_sess_sm_take_over(s, ID1, "u@h", 3, &r, &prev, &sm, &b),
	    XF_OK, "take over with h = 3");
	joined(&b, 0, list, sizeof(list));
	is_str(list, "q1", "what h did not cover is resent");
	xf_buf_reset(&b);
	ok(xf_sess_sm_pres(s, ID1, &b) == XF_OK && xf_buf_size(&b) == 3 &&
	    memcmp(xf_buf_data(&b), "p\0t", 3) == 0,
	    "the presence state, as kept, for the new owner");
	xf_buf_reset(&b);
	is_int(xf_sess_sm_set_pres(s, ID1, 1, 10, "y", 1), XF_DECLINED,
	    "the old owner no longer changes it");
	ok(prev.sm_state == XF_SM_DETACHED && prev.sm_worker == 1,
	    "prev names the old owner");
	ok(sm.sm_state == XF_SM_ATTACHED && sm.sm_worker == 3 &&
	    sm.sm_conn == 30 && sm.sm_acked == 3 && sm.sm_h_in == 2 &&
	    sm.sm_inlen == 1, "attached to the new owner, counters kept");
	xf_sess_get(s, "u@h/r", &r);
	ok(r.sr_worker == 3 && r.sr_conn == 30 && r.sr_prio == 3 &&
	    r.sr_avail == 1 && (r.sr_flags & XF_SESS_SM),
	    "session record follows, presence and flags kept");
	is_int(xf_sess_sm_claim_expired(s, 5000, 5, id, &sm, &gone),
	    XF_DECLINED, "an attached session is never claimed");
	is_int(xf_sess_sm_sent(s, ID1, 1, 10, 0, "late", 4, &sm), XF_AGAIN,
	    "the old owner's write goes to the inbox");
	is_int(sm.sm_worker, 3, "and names the new owner to wake");
	is_int(xf_sess_sm_sent(s, ID1, 1, 10, 2, "x", 1, &sm), XF_AGAIN,
	    "the old owner cannot move inbox entries");
	xf_sess_sm_inbox(s, ID1, 0, 10, &b, &n);
	joined(&b, 1, list, sizeof(list));
	is_str(list, "d1,late", "inbox kept in order for the new owner");
	xf_buf_reset(&b);
	is_int(xf_sess_sm_take_over(s, ID1, "u@h", 0, &r, &prev, &sm, &b),
	    XF_OK, "a second take-over, with an h behind what was acked");
	joined(&b, 0, list, sizeof(list));
	ok(sm.sm_acked == 3 && strcmp(list, "q1") == 0,
	    "acknowledges nothing and loses nothing");
	xf_buf_reset(&b);

	/* the new owner's worker dies */
	is_int(xf_sess_sm_detach_worker(s, 3, 3000, &n), XF_OK,
	    "detach_worker");
	is_int(n, 1, "one session detached");
	xf_sess_sm_get(s, ID1, &sm);
	ok(sm.sm_state == XF_SM_DETACHED && sm.sm_expires == 3000,
	    "detached until the resume timeout");
	is_int(xf_sess_sm_claim_expired(s, 3000, 5, id, &sm, &gone),
	    XF_DECLINED, "not claimed in its last second");
	is_int(xf_sess_sm_claim_expired(s, 3001, 5, id, &sm, &gone), XF_OK,
	    "claimed once expired");
	ok(strcmp(id, ID1) == 0 && sm.sm_state == XF_SM_CLAIMED &&
	    sm.sm_worker == 5 && gone == 1, "claimed by worker 5, gone");
	is_int(xf_sess_get(s, "u@h/r", &r), XF_DECLINED,
	    "the claim removed the session record");
	is_int(xf_sess_sm_claim_expired(s, 9999, 6, id, &sm, &gone),
	    XF_DECLINED, "claimed only once");
	is_int(xf_sess_sm_queue(s, "u@h/r", 2, "z", 1, 100, id, &sm),
	    XF_DECLINED, "a claimed session takes nothing more");
	xf_sess_sm_queued(s, ID1, &b, &n);
	joined(&b, 0, list, sizeof(list));
	is_str(list, "q1,d1,late", "queued: everything not acknowledged");
	xf_buf_reset(&b);
	is_int(xf_sess_sm_drop(s, ID1), XF_OK, "drop");
	is_int(xf_sess_sm_get(s, ID1, &sm), XF_DECLINED, "gone after drop");
	is_int(xf_sess_sm_pres(s, ID1, &b), XF_DECLINED,
	    "its presence state too");
	is_int(xf_sess_sm_find(s, "u@h/r", id, &sm), XF_DECLINED,
	    "JID index gone");
	xf_sess_sm_inbox(s, ID1, 0, 10, &b, &n);
	is_int(n, 0, "inbox gone");

	/* clean end; a claim by a worker that then dies */
	r = mkrec(1, 11, 0, 1, 100);
	xf_sess_put(s, "u@h/r", &r, &old, &had);
	xf_sess_sm_create(s, ID2, "u@h/r", 1, 11, 0, 1000);
	is_int(xf_sess_sm_end(s, ID2, 1, 12, &sm), XF_DECLINED,
	    "end by another connection declines");
	is_int(xf_sess_sm_end(s, ID2, 1, 11, &sm), XF_OK, "end by the owner");
	memset(&r, 0, sizeof(r));
	r.sr_worker = 2;
	is_int(xf_sess_sm_take_over(s, ID2, "u@h", 0, &r, &prev, &sm, &b),
	    XF_DECLINED, "an ending session cannot be resumed");
	xf_sess_sm_detach_worker(s, 1, 5000, &n);
	xf_sess_sm_get(s, ID2, &sm);
	ok(n == 1 && sm.sm_state == XF_SM_DETACHED && sm.sm_expires == 0,
	    "a dead worker's claim is up for taking again");
	xf_sess_sm_drop(s, ID2);

	/* not resumable: ends at once when its worker dies */
	xf_sess_sm_create(s, ID2, "u@h/r", 1, 11, 0, 1000);
	xf_sess_sm_detach_worker(s, 1, 5000, &n);
	xf_sess_sm_get(s, ID2, &sm);
	ok(sm.sm_state == XF_SM_DETACHED && sm.sm_expires == 0,
	    "a session without resumption expires at once");
	xf_sess_sm_drop(s, ID2);

	/* a new bind replaces a detached session; the cap */
	r = mkrec(1, 13, 0, 1, 100);
	xf_sess_put(s, "u@h/r", &r, &old, &had);
	xf_sess_sm_create(s, ID2, "u@h/r", 1, 13, 1, 1000);
	xf_sess_sm_detach(s, ID2, 1, 13, 4000);
	r = mkrec(2, 20, 0, 1, 100);
	xf_sess_put(s, "u@h/r", &r, &old, &had);
	xf_sess_get(s, "u@h/r", &r);
	ok(!xf_sess_sm_kept(s, "u@h/r", &r),
	    "a record of a new bind is not kept");
	xf_sess_sm_create(s, ID3, "u@h/r", 2, 20, 1, 1000);
	xf_sess_sm_get(s, ID2, &sm);
	is_int(sm.sm_expires, 0, "the replaced session expires at once");
	is_int(xf_sess_sm_claim_expired(s, 1000, 5, id, &sm, &gone), XF_OK,
	    "and is claimed");
	ok(strcmp(id, ID2) == 0 && gone == 0,
	    "without touching the new session's record");
	xf_sess_get(s, "u@h/r", &r);
	is_int(r.sr_conn, 20, "which stays");
	xf_sess_sm_drop(s, ID2);
	is_int(xf_sess_sm_find(s, "u@h/r", id, &sm), XF_OK,
	    "drop of the old session leaves the new one's index");
	is_str(id, ID3, "the JID names the new session");
	xf_sess_sm_detach(s, ID3, 2, 20, 4000);
	xf_sess_sm_queue(s, "u@h/r", 1, "a", 1, 2, id, &sm);
	is_int(sm.sm_expires, 4000, "under the cap: expiry unchanged");
	xf_sess_sm_queue(s, "u@h/r", 1, "b", 1, 2, id, &sm);
	is_int(sm.sm_expires, 0, "at the cap a detached session ends");

	xf_buf_free(&b);
	xf_sess_close(s);
}

/* Failed logins: block, lock, the lock's grace, expiry, purge. */
static void
authfail_tests(const char *dir)
{
	xf_authlim_t	 al = { 3, 10000, 4, 1000 };
	char		 err[256];
	xf_sess_t	*s;
	uint32_t	 ipf, acf;
	size_t		 n;
	int		 newly, st, i;

	ok(xf_sess_open(dir, 1, &s, err, sizeof(err)) == XF_OK, "open: %s",
	    err);
	for (i = 1; i <= 3; i++)
		xf_sess_authfail_add(s, "10.0.0.1", "u@h", 100 * i, &al, &ipf,
		    &acf, &newly);
	ok(ipf == 3 && newly == XF_AUTH_BLOCKED,
	    "the third failure from an address blocks it");
	xf_sess_authfail_check(s, "10.0.0.1", NULL, 9000, &st);
	is_int(st, XF_AUTH_BLOCKED, "blocked within the block time");
	xf_sess_authfail_check(s, "10.0.0.2", "u@h", 9000, &st);
	is_int(st, 0, "another address, the account below its limit: free");
	xf_sess_authfail_check(s, "10.0.0.1", NULL, 10300, &st);
	is_int(st, 0, "the block ends");
	xf_sess_authfail_add(s, "10.0.0.2", "u@h", 10200, &al, &ipf, &acf,
	    &newly);
	ok(acf == 4 && newly == XF_AUTH_LOCKED,
	    "the fourth failure for the account, from any address, locks it");
	xf_sess_authfail_check(s, "10.0.0.3", "u@h", 11000, &st);
	is_int(st, XF_AUTH_LOCKED, "locked for any address");
	xf_sess_authfail_add(s, "10.0.0.3", "u@h", 11000, &al, &ipf, &acf,
	    &newly);
	is_int(acf, 0, "failures while locked are not counted");
	xf_sess_authfail_check(s, "10.0.0.3", "u@h", 11400, &st);
	is_int(st, 0, "the lock ends after its time");
	for (i = 0; i < 6; i++)
		xf_sess_authfail_add(s, "10.0.1.1", "u@h", 11500 + i, &al, &ipf,
		    &acf, &newly);
	xf_sess_authfail_check(s, "10.0.2.1", "u@h", 11600, &st);
	is_int(st, 0, "and cannot come back for as long (the owner's turn)");
	xf_sess_authfail_add(s, "10.0.1.2", "u@h", 12500, &al, &ipf, &acf,
	    &newly);
	is_int(newly & XF_AUTH_LOCKED, XF_AUTH_LOCKED, "then it can");
	is_int(xf_sess_authfail_purge(s, 15000, &n), XF_OK, "purge");
	is_int(n, 1, "only the address whose last failure is older than the "
	    "block time is forgotten");
	is_int(xf_sess_authfail_purge(s, 30000, &n), XF_OK, "purge later");
	ok(n >= 4, "everything is forgotten after it (%zu)", n);
	xf_sess_authfail_check(s, "10.0.0.1", "u@h", 30000, &st);
	is_int(st, 0, "nothing left");
	xf_sess_close(s);
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
	ok(!xf_sess_any_flag(s, "alice@localhost", XF_SESS_CARBONS, NULL),
	    "any_flag: no resource has carbons yet");
	xf_sess_flags(s, "alice@localhost.org/x", 1, 6, XF_SESS_CARBONS, 0);
	ok(!xf_sess_any_flag(s, "alice@localhost", XF_SESS_CARBONS, NULL),
	    "any_flag: alice@localhost.org's flag is not alice@localhost's");
	ok(xf_sess_any_flag(s, "alice@localhost.org", XF_SESS_CARBONS, NULL),
	    "any_flag: alice@localhost.org/x has carbons");
	ok(!xf_sess_any_flag(s, "alice@localhost.org", XF_SESS_CARBONS,
	    "alice@localhost.org/x"), "any_flag: skip leaves no other");
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

	sm_tests(dir);
	authfail_tests(dir);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpl);
	return done_testing();
}
