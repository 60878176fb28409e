/* coro.h: coroutines on a process's event loop, so code can wait for a socket without stopping the loop. */
#ifndef XF_CORO_H
#define XF_CORO_H

#include <stddef.h>

#include "loop.h"

/*
 * The pgsql store waits for PostgreSQL without blocking a worker: the
 * worker runs whatever may reach the store (a connection's input, a
 * timer, some ring messages) with xf_co_spawn(); a store call then
 * waits with xf_co_wait_fd(), which parks the coroutine, and the loop
 * serves every other connection until the answer is there.  Code that
 * runs on the main stack (no coroutine) waits in poll(2) instead, so the
 * same store code serves the master and xfedctl.
 *
 * Coroutines are resumed only from the loop, never from each other, and
 * one runs at a time: between two waits its code runs as if alone.
 * Each has its own stack (mmap'd, with a guard page), kept for reuse.
 */
typedef struct xf_co_s xf_co_t;

/* The loop coroutines wait on (NULL: none, waits block). */
void	 xf_co_init(xf_loop_t *);
xf_loop_t *xf_co_loop(void);

/*
 * Runs fn(ud) on a new coroutine until it returns or first waits.  On a
 * coroutine already it just calls fn (the caller's coroutine waits for
 * both).  XF_ERR (out of memory) when fn could not run at all.
 */
int	 xf_co_spawn(void (*fn)(void *), void *ud);

/* The running coroutine, or NULL on the main stack. */
xf_co_t	*xf_co_self(void);

/*
 * Waits until fd is ready for mask (XF_EV_READ, XF_EV_WRITE) or
 * timeout_ms passes: returns the ready events, 0 on timeout, -1 on
 * error.
 */
int	 xf_co_wait_fd(int fd, int mask, int timeout_ms);

/* Parks the running coroutine until xf_co_wake() (coroutines only). */
void	 xf_co_suspend(void);
/* The same for at most timeout_ms (-1: no limit): 1 when woken, 0 when
 * the time ran out (a wake after that is a no-op). */
int	 xf_co_suspend_for(int timeout_ms);
/* Resumes a parked coroutine from the loop's next turn; a coroutine not
 * parked (woken already, timed out) is left alone. */
void	 xf_co_wake(xf_co_t *);

/* Coroutines started and not finished. */
size_t	 xf_co_count(void);

#endif /* XF_CORO_H */
