/* loop.c: unit test of the event loop's timer heap (order, cancels, ids). */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xf.h"
#include "loop.h"

#define N	2000

static int	 fired[N];
static int	 order_ok = 1;
static uint64_t	 last_when;
static uint64_t	 when[N];
static int	 nfired;

static void
on_timer(xf_loop_t *l, void *ud)
{
	int	 i = (int)(intptr_t)ud;

	fired[i]++;
	nfired++;
	if (when[i] < last_when)
		order_ok = 0;
	last_when = when[i];
}

static void
on_stop(xf_loop_t *l, void *ud)
{
	xf_loop_stop(l);
}

int
main(void)
{
	xf_loop_t	*l = xf_loop_new();
	uint64_t	 ids[N], base;
	int		 cancelled = 0, wrong = 0;

	ok(l != NULL, "loop created");
	base = xf_loop_now(l);
	srand(7);
	for (int i = 0; i < N; i++) {
		uint64_t	 ms = (uint64_t)(rand() % 200);

		when[i] = base + ms;
		ids[i] = xf_loop_timer(l, ms, on_timer, (void *)(intptr_t)i);
	}
	ok(ids[0] != 0 && ids[N - 1] == ids[0] + N - 1, "ids are handed out "
	    "in order");
	/* Cancel every third, some twice, and an id that never existed. */
	for (int i = 0; i < N; i += 3) {
		xf_loop_timer_del(l, ids[i]);
		cancelled++;
	}
	for (int i = 0; i < N; i += 9)
		xf_loop_timer_del(l, ids[i]);
	xf_loop_timer_del(l, ids[N - 1] + 1000);
	xf_loop_timer(l, 400, on_stop, NULL);
	xf_loop_run(l);
	for (int i = 0; i < N; i++)
		if (fired[i] != (i % 3 == 0 ? 0 : 1))
			wrong++;
	is_int(wrong, 0, "exactly the timers not cancelled fired, once each");
	is_int(nfired, N - cancelled, "count of timers fired");
	ok(order_ok, "timers fired in order of their deadline");
	/* Cancelling a timer that already fired finds nothing. */
	xf_loop_timer_del(l, ids[1]);
	xf_loop_timer(l, 10, on_stop, NULL);
	xf_loop_run(l);
	is_int(fired[1], 1, "a fired timer stays fired after a late cancel");
	xf_loop_free(l);
	return done_testing();
}
