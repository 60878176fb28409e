/* coro.c: unit test of the coroutines: waits on fds and timeouts through the loop, suspend/wake order, nesting, reuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xf.h"
#include "coro.h"
#include "loop.h"

#define NMANY	200

static xf_loop_t	*loop;
static int		 log_[16], nlog;

static void
note(int v)
{
	if (nlog < (int)XF_NELEM(log_))
		log_[nlog++] = v;
}

static void
plain(void *ud)
{
	*(int *)ud += 1;
}

typedef struct rd_s {
	int	 fd;
	int	 ready;
	char	 byte;
	int	 done;
} rd_t;

static void
reader(void *ud)
{
	rd_t	*r = ud;
	char	 deep[8192];		/* stack of its own: use some */

	memset(deep, 'x', sizeof(deep));
	r->ready = xf_co_wait_fd(r->fd, XF_EV_READ, 5000);
	if (r->ready > 0 && read(r->fd, &r->byte, 1) != 1)
		r->byte = 0;
	r->done = deep[sizeof(deep) - 1] == 'x';
	xf_loop_stop(loop);
}

static void
timeouter(void *ud)
{
	int	*fds = ud;

	fds[2] = xf_co_wait_fd(fds[0], XF_EV_READ, 30);
	fds[3] = 1;
	xf_loop_stop(loop);
}

static void
write_timer(xf_loop_t *l, void *ud)
{
	int	 fd = (int)(intptr_t)ud;

	if (write(fd, "z", 1) != 1)
		abort();
}

static void
stop_timer(xf_loop_t *l, void *ud)
{
	xf_loop_stop(l);
}

static xf_co_t	*parked[3];

static void
sleeper(void *ud)
{
	int	 id = (int)(intptr_t)ud;

	parked[id] = xf_co_self();
	note(id * 10);
	xf_co_suspend();
	note(id * 10 + 1);
}

/* Suspends for ud ms; notes 100 + what the suspend returned, twice:
 * the second suspend is there to be resumed by nothing but its own
 * timer (a stale wake must not reach it). */
static xf_co_t	*timed;

static void
timed_sleeper(void *ud)
{
	int	 ms = (int)(intptr_t)ud;

	timed = xf_co_self();
	note(100 + xf_co_suspend_for(ms));
	note(200 + xf_co_suspend_for(40));
}

static void
wake_later(xf_loop_t *l, void *ud)
{
	xf_co_wake(timed);
}

static void
inner(void *ud)
{
	*(xf_co_t **)ud = xf_co_self();
}

static void
outer(void *ud)
{
	xf_co_t	**pair = ud;

	pair[0] = xf_co_self();
	xf_co_spawn(inner, &pair[1]);
}

static int	 many_done;

static int	 mp[NMANY][2];

static void
many(void *ud)
{
	int	*fds = ud;

	if (xf_co_wait_fd(fds[0], XF_EV_READ, 5000) > 0)
		many_done++;
	if (many_done == NMANY)
		xf_loop_stop(loop);
}

int
main(void)
{
	int	 n = 0, p[2], q[2], fds[4];
	rd_t	 r;
	xf_co_t	*pair[2] = { NULL, NULL };

	loop = xf_loop_new();
	xf_co_init(loop);

	/* A coroutine that never waits runs to its end at once. */
	ok(xf_co_spawn(plain, &n) == XF_OK && n == 1,
	    "a coroutine that does not wait finishes inside spawn");
	ok(xf_co_count() == 0, "and counts as finished");
	ok(xf_co_self() == NULL, "the main stack is no coroutine");

	/* Waiting on a pipe parks it until the loop sees the byte. */
	if (pipe(p) == -1)
		abort();
	memset(&r, 0, sizeof(r));
	r.fd = p[0];
	xf_co_spawn(reader, &r);
	ok(xf_co_count() == 1 && r.ready == 0,
	    "a waiting coroutine returns control to the caller");
	xf_loop_timer(loop, 20, write_timer, (void *)(intptr_t)p[1]);
	xf_loop_run(loop);
	ok(r.ready & XF_EV_READ, "it is resumed when its fd is readable");
	ok(r.byte == 'z' && r.done, "and goes on with its own stack intact");
	ok(xf_co_count() == 0, "then it is finished");

	/* A wait times out. */
	if (pipe(q) == -1)
		abort();
	fds[0] = q[0];
	fds[2] = -5;
	fds[3] = 0;
	xf_co_spawn(timeouter, fds);
	xf_loop_run(loop);
	ok(fds[3] == 1 && fds[2] == 0, "a wait with nothing ready times out "
	    "with 0");

	/* On the main stack a wait is a plain poll. */
	ok(xf_co_wait_fd(q[0], XF_EV_READ, 10) == 0,
	    "a wait on the main stack times out too");
	if (write(q[1], "a", 1) != 1)
		abort();
	ok(xf_co_wait_fd(q[0], XF_EV_READ, 10) & XF_EV_READ,
	    "and sees a readable fd");
	if (read(q[0], fds, 1) != 1)
		abort();

	/* Suspend and wake: resumed from the loop, in the order woken. */
	nlog = 0;
	xf_co_spawn(sleeper, (void *)(intptr_t)1);
	xf_co_spawn(sleeper, (void *)(intptr_t)2);
	ok(nlog == 2 && log_[0] == 10 && log_[1] == 20,
	    "two coroutines ran up to their suspend");
	xf_co_wake(parked[2]);
	xf_co_wake(parked[1]);
	ok(nlog == 2, "a wake does not resume at once");
	xf_loop_timer(loop, 10, stop_timer, NULL);
	xf_loop_run(loop);
	ok(nlog == 4 && log_[2] == 21 && log_[3] == 11,
	    "both resumed by the loop, in the order they were woken");
	ok(xf_co_count() == 0, "and finished");

	/* A suspend with a time limit: woken in time, or not. */
	nlog = 0;
	xf_co_spawn(timed_sleeper, (void *)(intptr_t)1000);
	xf_loop_timer(loop, 5, wake_later, NULL);
	xf_loop_timer(loop, 500, stop_timer, NULL);
	xf_loop_run(loop);
	ok(nlog == 2 && log_[0] == 101 && log_[1] == 200 &&
	    xf_co_count() == 0, "a suspend_for woken in time says 1; the "
	    "next one runs out (0)");
	nlog = 0;
	xf_co_spawn(timed_sleeper, (void *)(intptr_t)10);
	/* The wake comes after the first limit, during the second. */
	xf_loop_timer(loop, 25, wake_later, NULL);
	xf_loop_timer(loop, 500, stop_timer, NULL);
	xf_loop_run(loop);
	ok(nlog == 2 && log_[0] == 100 && log_[1] == 201,
	    "one that runs out says 0, and a wake reaches only a suspend "
	    "in progress");
	nlog = 0;
	xf_co_spawn(timed_sleeper, (void *)(intptr_t)0);
	xf_co_wake(timed);	/* parked in the second suspend now */
	xf_co_wake(timed);	/* twice: the second is a no-op */
	xf_loop_timer(loop, 100, stop_timer, NULL);
	xf_loop_run(loop);
	ok(nlog == 2 && log_[0] == 100 && log_[1] == 201 &&
	    xf_co_count() == 0, "a zero limit returns at once; a double "
	    "wake resumes once");

	/* Spawning on a coroutine runs inline on the same one. */
	xf_co_spawn(outer, pair);
	ok(pair[0] != NULL && pair[0] == pair[1],
	    "a spawn inside a coroutine runs on the caller's coroutine");

	/* Many at once, each on its own pipe. */
	many_done = 0;
	for (int i = 0; i < NMANY; i++) {
		if (pipe(mp[i]) == -1)
			abort();
		xf_co_spawn(many, mp[i]);
	}
	ok(xf_co_count() == NMANY, "%d coroutines wait at once", NMANY);
	for (int i = NMANY - 1; i >= 0; i--)
		if (write(mp[i][1], "b", 1) != 1)
			abort();
	xf_loop_timer(loop, 3000, stop_timer, NULL);
	xf_loop_run(loop);
	ok(many_done == NMANY && xf_co_count() == 0,
	    "all of them resumed and finished (%d)", many_done);

	/* Stacks are reused: another round costs no new mapping. */
	n = 0;
	for (int i = 0; i < 1000; i++)
		xf_co_spawn(plain, &n);
	ok(n == 1000 && xf_co_count() == 0, "1000 more ran on reused stacks");

	for (int i = 0; i < NMANY; i++) {
		close(mp[i][0]);
		close(mp[i][1]);
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	xf_loop_free(loop);
	done_testing();
}
