/* ring.c: unit tests for shm/ring.c (order, wrap, full, wake-ups, MPSC, robust lock). */
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "xf.h"
#include "ring.h"
#include "ring_test.h"

#define NPROD		3
#define PERPROD		20000

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
readable(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
fill(unsigned char *p, size_t n, uint64_t seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static int
check(const unsigned char *p, size_t n, uint64_t seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 131 + i * 7 + (i >> 8)))
			return 0;
	return 1;
}

/* Pushes until XF_AGAIN; returns how many went in. */
static int
fillup(xf_ring_t *r, size_t len)
{
	char	 buf[1024];
	int	 n = 0;

	memset(buf, 'f', sizeof(buf));
	while (n < 10000 && xf_ring_push(r, 1, buf, len, NULL, 0) == XF_OK)
		n++;
	return n;
}

static void
test_basic(xf_rings_t *rs)
{
	xf_ring_t	*r = xf_rings_get(rs, 0);
	char		 buf[512], big[300];
	uint32_t	 type;
	size_t		 len;
	int		 n, fd;

	ok(r != NULL, "slot 0");
	ok(xf_rings_get(rs, XF_MAX_WORKERS) == NULL, "slot 64 is out of range");
	ok(xf_rings_stats(rs, XF_MAX_WORKERS) == NULL, "stats 64 out of range");
	ok(xf_rings_stats(rs, 0) != xf_rings_stats(rs, 1), "stats per slot");
	is_int(xf_ring_max_msg(r), 256, "1000 bytes round up to 1024: max 256");
	fd = xf_ring_fd(r);
	ok(fd >= 0 && fd != xf_ring_fd(xf_rings_get(rs, 1)),
	    "one eventfd per slot");

	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_AGAIN,
	    "pop of an empty ring");
	ok(!readable(fd, 0), "eventfd quiet while empty");

	is_int(xf_ring_push(r, 7, "hello", 5, " world", 6), XF_OK, "push a+b");
	ok(readable(fd, 100), "eventfd readable after push into an empty ring");
	is_int(xf_ring_push(r, 8, NULL, 0, "second", 6), XF_OK, "push b only");
	is_int(xf_ring_push(r, 9, "third", 5, NULL, 0), XF_OK, "push a only");
	is_int(xf_ring_push(r, 10, NULL, 0, NULL, 0), XF_OK, "push empty");
	xf_ring_ack(r);
	ok(!readable(fd, 0), "ack clears the eventfd");

	memset(buf, 0, sizeof(buf));
	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_OK, "pop 1");
	ok(type == 7 && len == 11 && memcmp(buf, "hello world", 11) == 0,
	    "payload is a followed by b, type kept");
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(type == 8 && len == 6 && memcmp(buf, "second", 6) == 0, "pop 2");
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(type == 9 && len == 5 && memcmp(buf, "third", 5) == 0, "pop 3");
	is_int(xf_ring_pop(r, &type, NULL, 0, &len), XF_OK, "pop empty msg");
	ok(type == 10 && len == 0, "empty message");
	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_AGAIN,
	    "empty again");
	ok(!readable(fd, 0), "no spurious wake-up after the pushes");

	/* pushes into a non-empty ring do not re-arm; empty again does */
	xf_ring_push(r, 1, "x", 1, NULL, 0);
	xf_ring_ack(r);
	xf_ring_push(r, 1, "y", 1, NULL, 0);
	ok(!readable(fd, 0), "push into a non-empty ring does not wake");
	while (xf_ring_pop(r, &type, buf, sizeof(buf), &len) == XF_OK)
		;
	xf_ring_push(r, 1, "z", 1, NULL, 0);
	ok(readable(fd, 100), "push after the consumer drained it wakes");
	xf_ring_ack(r);
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(len == 1 && buf[0] == 'z', "z popped");

	/* sizes */
	memset(big, 'b', sizeof(big));
	is_int(xf_ring_push(r, 1, big, 257, NULL, 0), XF_ERR,
	    "max + 1 is too large");
	is_int(xf_ring_push(r, 1, big, 200, big, 57), XF_ERR,
	    "a + b over max is too large");
	is_int(xf_ring_push(r, 1, big, (size_t)-1, big, 2), XF_ERR,
	    "overflowing lengths are too large");
	is_int(xf_ring_push(r, 2, big, 128, big, 128), XF_OK, "max fits");
	is_int(xf_ring_pop(r, &type, buf, 100, &len), XF_ERR,
	    "pop into a too small buffer fails");
	is_int(len, 256, "and says how much is needed");
	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_OK,
	    "the message is still there");
	ok(type == 2 && len == 256 && memcmp(buf, big, 256) == 0,
	    "max message intact");

	/* full */
	n = fillup(r, 100);	/* 8 + 104 bytes each: 9 in 1024 */
	is_int(n, 9, "ring holds 9 records of 112 bytes");
	is_int(xf_ring_push(r, 1, big, 100, NULL, 0), XF_AGAIN, "full: AGAIN");
	is_int(xf_ring_push(r, 1, big, 0, NULL, 0), XF_OK,
	    "an 8-byte record still fits the last 16 bytes");
	is_int(xf_ring_push(r, 1, big, 9, NULL, 0), XF_AGAIN,
	    "a 24-byte record does not fit 8 bytes");
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	is_int(xf_ring_push(r, 1, big, 100, NULL, 0), XF_OK,
	    "room after one pop");
	is_int(xf_ring_push(r, 1, big, 100, NULL, 0), XF_AGAIN, "full again");
	n = 0;
	while (n < 100 && xf_ring_pop(r, &type, buf, sizeof(buf), &len) ==
	    XF_OK)
		n++;
	is_int(n, 10, "everything pushed pops");
	xf_ring_ack(r);

	/* reset */
	xf_ring_push(r, 1, "q", 1, NULL, 0);
	xf_rings_stats(rs, 0)->ws_conns = 12;
	xf_rings_stats(rs, 0)->ws_stanzas_in = 99;
	xf_ring_reset(r);
	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_AGAIN,
	    "reset empties the ring");
	ok(!readable(fd, 0), "reset drains the eventfd");
	ok(xf_rings_stats(rs, 0)->ws_conns == 0 &&
	    xf_rings_stats(rs, 0)->ws_stanzas_in == 0, "reset zeroes stats");
	is_int(fillup(r, 100), 9, "full capacity after reset");
	xf_ring_reset(r);
}

/*
 * Many cycles of a few pushes then a few pops with sizes 0..max, so
 * records and their payloads wrap at every offset; every byte checked.
 */
static void
test_wrap(xf_rings_t *rs)
{
	xf_ring_t	*r = xf_rings_get(rs, 1);
	unsigned char	 a[256], b[256], out[256], want[256];
	uint64_t	 x = 88172645463325252ULL, pseq = 0, cseq = 0;
	size_t		 max = xf_ring_max_msg(r), alen, blen, len, inq = 0;
	size_t		 lens[64];
	uint32_t	 type;
	int		 cycle, k, bad = 0, pushed, rc;

	for (cycle = 0; cycle < 20000 && !bad; cycle++) {
		pushed = (int)(rnd(&x) % 5);
		for (k = 0; k < pushed && inq < XF_NELEM(lens); k++) {
			len = rnd(&x) % (max + 1);
			alen = rnd(&x) % (len + 1);
			blen = len - alen;
			fill(want, len, pseq);
			memcpy(a, want, alen);
			memcpy(b, want + alen, blen);
			rc = xf_ring_push(r, (uint32_t)pseq, a, alen, b, blen);
			if (rc == XF_AGAIN)
				break;
			if (rc != XF_OK) {
				bad = 1;
				break;
			}
			lens[(pseq++) % XF_NELEM(lens)] = len;
			inq++;
		}
		k = (int)(rnd(&x) % 5);
		for (; k > 0 && !bad; k--) {
			rc = xf_ring_pop(r, &type, out, sizeof(out), &len);
			if (rc == XF_AGAIN) {
				if (inq != 0)
					bad = 2;
				break;
			}
			if (rc != XF_OK || type != (uint32_t)cseq ||
			    len != lens[cseq % XF_NELEM(lens)] ||
			    !check(out, len, cseq))
				bad = 3;
			cseq++;
			inq--;
		}
	}
	while (!bad && xf_ring_pop(r, &type, out, sizeof(out), &len) == XF_OK) {
		if (type != (uint32_t)cseq || !check(out, len, cseq))
			bad = 4;
		cseq++;
		inq--;
	}
	is_int(bad, 0, "wrap-around: %d cycles, every byte checked", cycle);
	ok(pseq == cseq && inq == 0 && pseq > 10000,
	    "all %llu messages popped in order", (unsigned long long)cseq);
	xf_ring_ack(r);
}

static void
producer(xf_ring_t *r, uint32_t id)
{
	unsigned char	 pay[64];
	uint32_t	 seq, hdr[2];
	size_t		 extra;
	double		 deadline = now() + 60;
	int		 rc;

	for (seq = 0; seq < PERPROD; seq++) {
		hdr[0] = id;
		hdr[1] = seq;
		extra = seq % 50;
		fill(pay, extra, (uint64_t)id * 1000003 + seq);
		while ((rc = xf_ring_push(r, id, hdr, sizeof(hdr), pay,
		    extra)) == XF_AGAIN) {
			if (now() > deadline)
				_exit(2);
			usleep(20);
		}
		if (rc != XF_OK)
			_exit(3);
	}
	_exit(0);
}

/* Pops until XF_AGAIN, checking each message; returns how many. */
static int
consume(xf_ring_t *r, uint32_t *next, int *bad)
{
	unsigned char	 buf[256];
	uint32_t	 hdr[2], type;
	size_t		 len;
	int		 n = 0;

	while (!*bad && xf_ring_pop(r, &type, buf, sizeof(buf), &len) ==
	    XF_OK) {
		if (len < sizeof(hdr)) {
			*bad = 1;
			break;
		}
		memcpy(hdr, buf, sizeof(hdr));
		if (hdr[0] >= NPROD || type != hdr[0] ||
		    hdr[1] != next[hdr[0]] ||
		    len != sizeof(hdr) + hdr[1] % 50 ||
		    !check(buf + sizeof(hdr), len - sizeof(hdr),
		    (uint64_t)hdr[0] * 1000003 + hdr[1])) {
			printf("# bad message: producer %u seq %u (want %u) "
			    "len %zu\n", hdr[0], hdr[1],
			    hdr[0] < NPROD ? next[hdr[0]] : 0, len);
			*bad = 1;
			break;
		}
		next[hdr[0]]++;
		n++;
	}
	return n;
}

static void
test_mpsc(xf_rings_t *rs)
{
	xf_ring_t	*r = xf_rings_get(rs, 2);
	unsigned char	 buf[256];
	uint32_t	 next[NPROD] = { 0 }, type;
	pid_t		 pids[NPROD];
	size_t		 len;
	double		 deadline;
	int		 i, status, got = 0, bad = 0, lost = 0, wakes = 0;
	int		 woke, n, allok;

	fflush(stdout);
	for (i = 0; i < NPROD; i++) {
		if ((pids[i] = fork()) == 0)
			producer(r, (uint32_t)i);
		if (pids[i] == -1)
			printf("# fork: %s\n", strerror(errno));
	}
	deadline = now() + 60;
	while (got < NPROD * PERPROD && !bad && now() < deadline) {
		/*
		 * Messages found after a poll timeout would be a lost
		 * wake-up: producers never stall for a second between
		 * publishing and writing the eventfd.
		 */
		woke = readable(xf_ring_fd(r), 1000);
		if (woke) {
			wakes++;
			xf_ring_ack(r);
		}
		n = consume(r, next, &bad);
		if (!woke && n > 0)
			lost++;
		got += n;
	}
	allok = 1;
	for (i = 0; i < NPROD; i++) {
		if (pids[i] <= 0) {
			allok = 0;
			continue;
		}
		if (got < NPROD * PERPROD)
			kill(pids[i], SIGKILL);
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			allok = 0;
	}
	ok(allok, "%d producers pushed %d messages each", NPROD, PERPROD);
	is_int(bad, 0, "every message intact, per-producer order kept");
	is_int(got, NPROD * PERPROD, "every message arrived exactly once");
	ok(next[0] == PERPROD && next[1] == PERPROD && next[2] == PERPROD,
	    "each producer's sequence complete");
	is_int(xf_ring_pop(r, &type, buf, sizeof(buf), &len), XF_AGAIN,
	    "nothing extra in the ring");
	is_int(lost, 0, "no lost wake-up (%d wake-ups)", wakes);
}

static void
test_robust(xf_rings_t *rs)
{
	xf_ring_t	*r = xf_rings_get(rs, 3);
	char		 buf[64], c;
	uint32_t	 type;
	size_t		 len;
	pid_t		 pid;
	int		 p[2], status;

	is_int(xf_ring_push(r, 1, "before", 6, NULL, 0), XF_OK,
	    "push before the crash");
	if (pipe(p) == -1) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (xf_ring_test_lock(r) != XF_OK)
			_exit(1);
		if (write(p[1], "L", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ok(pid > 0 && read(p[0], &c, 1) == 1 && c == 'L',
	    "child holds the ring mutex");
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "child killed while holding it");

	alarm(10);	/* a dead lock would hang here: let SIGALRM fail us */
	is_int(xf_ring_push(r, 2, "after", 5, NULL, 0), XF_OK,
	    "push after the holder died succeeds");
	is_int(xf_ring_push(r, 3, "again", 5, NULL, 0), XF_OK,
	    "and the mutex stays usable");
	alarm(0);
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(type == 1 && len == 6 && memcmp(buf, "before", 6) == 0,
	    "ring consistent: old message first");
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(type == 2 && len == 5 && memcmp(buf, "after", 5) == 0,
	    "then the new one");
	xf_ring_pop(r, &type, buf, sizeof(buf), &len);
	ok(type == 3 && len == 5, "then the next");
}

static void
test_stats(xf_rings_t *rs)
{
	xf_wstats_t	*st = xf_rings_stats(rs, 5);
	pid_t		 pid;
	int		 status;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		st->ws_pid = getpid();
		st->ws_conns = 5;
		st->ws_stanzas_out = 1ULL << 40;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(st->ws_pid == pid && st->ws_conns == 5 &&
	    st->ws_stanzas_out == 1ULL << 40,
	    "stats written by a child are seen by the parent");
}

int
main(void)
{
	xf_rings_t	*rs;
	char		 err[256];

	alarm(300);	/* the whole test, whatever happens */
	is_int(xf_rings_create(0, &rs, err, sizeof(err)), XF_ERR,
	    "size 0 refused: %s", err);
	is_int(xf_rings_create((size_t)1 << 40, &rs, err, sizeof(err)),
	    XF_ERR, "absurd size refused");
	if (xf_rings_create(1000, &rs, err, sizeof(err)) != XF_OK) {
		ok(0, "xf_rings_create: %s", err);
		return done_testing();
	}
	ok(1, "xf_rings_create");

	test_basic(rs);
	test_wrap(rs);
	test_mpsc(rs);
	test_robust(rs);
	test_stats(rs);

	xf_rings_destroy(rs);
	return done_testing();
}
