/* loop.h: the event loop (fds, masks, timers) each process runs; epoll below. */
#ifndef XF_LOOP_H
#define XF_LOOP_H

#include <stdint.h>

#define XF_EV_READ	0x1
#define XF_EV_WRITE	0x2

typedef struct xf_loop_s xf_loop_t;
typedef void	(*xf_io_fn)(xf_loop_t *, int fd, int mask, void *ud);
typedef void	(*xf_timer_fn)(xf_loop_t *, void *ud);

xf_loop_t *xf_loop_new(void);
void	 xf_loop_free(xf_loop_t *);

/* Level-triggered interest in fd; mask 0 keeps fd registered but idle. */
int	 xf_loop_add(xf_loop_t *, int fd, int mask, xf_io_fn, void *ud);
int	 xf_loop_mod(xf_loop_t *, int fd, int mask);
void	 xf_loop_del(xf_loop_t *, int fd);

/*
 * One-shot timer after ms milliseconds; returns an id (> 0) for
 * xf_loop_timer_del(), 0 on ENOMEM.  Timers live in a binary heap:
 * O(log n) add and delete, so one timer per connection is fine.
 */
uint64_t xf_loop_timer(xf_loop_t *, uint64_t ms, xf_timer_fn, void *ud);
void	 xf_loop_timer_del(xf_loop_t *, uint64_t id);

/* Runs until xf_loop_stop(); poll_ms bounds each wait so callers may
 * check signal flags through the before-sleep hook. */
void	 xf_loop_run(xf_loop_t *);
void	 xf_loop_stop(xf_loop_t *);
void	 xf_loop_before_sleep(xf_loop_t *, void (*fn)(xf_loop_t *, void *),
	    void *ud);
/* Monotonic milliseconds, cached per loop iteration. */
uint64_t xf_loop_now(const xf_loop_t *);

#endif /* XF_LOOP_H */
