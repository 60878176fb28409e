/* coro.c: coroutines (ucontext stacks) that park on the event loop while they wait for a socket. */
#include <sys/mman.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "xf.h"
#include "coro.h"

#if defined(__SANITIZE_ADDRESS__)
#define CO_ASAN	1
#include <sanitizer/common_interface_defs.h>
#else
#define CO_ASAN	0
#endif

/* Deep enough for expat's callbacks plus a stanza's handlers (a few
 * JID-sized buffers a frame); untouched pages cost nothing. */
#define CO_STACK	(256u << 10)
#define CO_KEEP		64		/* idle stacks kept for reuse */

struct xf_co_s {
	ucontext_t	 co_ctx;
	void		*co_map;	/* guard page + stack */
	size_t		 co_maplen;
	void		(*co_fn)(void *);
	void		*co_ud;
	int		 co_done;
	/* a wait in progress */
	int		 co_fd;
	int		 co_ready;
	uint64_t	 co_timer;
	int		 co_parked;	/* in a suspend, no wake yet */
	void		*co_fake;	/* ASan's fake stack while away */
	xf_co_t		*co_next;	/* free list */
};

static xf_loop_t	*loop;
static xf_co_t		*current;
static ucontext_t	 main_ctx;
static xf_co_t		*idle;
static size_t		 nidle, nlive;
#if CO_ASAN
static const void	*main_bottom;
static size_t		 main_size;
#endif

void
xf_co_init(xf_loop_t *l)
{
	loop = l;
}

xf_loop_t *
xf_co_loop(void)
{
	return loop;
}

xf_co_t *
xf_co_self(void)
{
	return current;
}

size_t
xf_co_count(void)
{
	return nlive;
}

/* Switches from the main stack into co until it waits or ends. */
static void
resume(xf_co_t *co)
{
#if CO_ASAN
	void	*fake = NULL;

	__sanitizer_start_switch_fiber(&fake, (char *)co->co_map +
	    getpagesize(), co->co_maplen - (size_t)getpagesize());
#endif
	current = co;
	swapcontext(&main_ctx, &co->co_ctx);
	current = NULL;
#if CO_ASAN
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
	if (co->co_done) {
		nlive--;
		if (nidle < CO_KEEP) {
			co->co_next = idle;
			idle = co;
			nidle++;
		} else {
			munmap(co->co_map, co->co_maplen);
			free(co);
		}
	}
}

/* Switches from the running coroutine back to the main stack. */
static void
yield(void)
{
	xf_co_t	*co = current;

#if CO_ASAN
	__sanitizer_start_switch_fiber(co->co_done ? NULL : &co->co_fake,
	    main_bottom, main_size);
#endif
	swapcontext(&co->co_ctx, &main_ctx);
#if CO_ASAN
	__sanitizer_finish_switch_fiber(co->co_fake, &main_bottom, &main_size);
#endif
}

static void
trampoline(void)
{
	xf_co_t	*co = current;

#if CO_ASAN
	__sanitizer_finish_switch_fiber(NULL, &main_bottom, &main_size);
#endif
	co->co_fn(co->co_ud);
	co->co_done = 1;
	yield();
	abort();		/* a finished coroutine is never resumed */
}

static xf_co_t *
co_new(void)
{
	xf_co_t	*co;
	size_t	 page = (size_t)getpagesize();

	if ((co = idle) != NULL) {
		idle = co->co_next;
		nidle--;
		return co;
	}
	if ((co = calloc(1, sizeof(*co))) == NULL)
		return NULL;
	co->co_maplen = CO_STACK + page;
	co->co_map = mmap(NULL, co->co_maplen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (co->co_map == MAP_FAILED) {
		free(co);
		return NULL;
	}
	/* Stacks grow down: an overflow hits the guard and faults. */
	if (mprotect(co->co_map, page, PROT_NONE) == -1) {
		munmap(co->co_map, co->co_maplen);
		free(co);
		return NULL;
	}
	return co;
}

/* Apart, so that no caller's locals live across getcontext(). */
static __attribute__((noinline)) int
prepare(xf_co_t *co)
{
	size_t	 page = (size_t)getpagesize();

	if (getcontext(&co->co_ctx) == -1)
		return XF_ERR;
	co->co_ctx.uc_stack.ss_sp = (char *)co->co_map + page;
	co->co_ctx.uc_stack.ss_size = co->co_maplen - page;
	co->co_ctx.uc_link = NULL;
	makecontext(&co->co_ctx, trampoline, 0);
	return XF_OK;
}

int
xf_co_spawn(void (*fn)(void *), void *ud)
{
	xf_co_t	*co;

	if (current != NULL) {
		fn(ud);
		return XF_OK;
	}
	if ((co = co_new()) == NULL)
		return XF_ERR;
	co->co_fn = fn;
	co->co_ud = ud;
	co->co_done = 0;
	co->co_fd = -1;
	co->co_timer = 0;
	co->co_parked = 0;
	co->co_fake = NULL;
	co->co_next = NULL;
	if (prepare(co) != XF_OK) {
		munmap(co->co_map, co->co_maplen);
		free(co);
		return XF_ERR;
	}
	nlive++;
	resume(co);
	return XF_OK;
}

static void
wake_timer(xf_loop_t *l, void *ud)
{
	resume(ud);
}

void
xf_co_wake(xf_co_t *co)
{
	/* Woken already, or its time ran out: nothing to do. */
	if (!co->co_parked)
		return;
	co->co_parked = 0;
	if (co->co_timer != 0) {
		xf_loop_timer_del(loop, co->co_timer);
		co->co_timer = 0;
	}
	co->co_ready = 1;
	/* From the loop, never nested in another coroutine's stack. */
	while (xf_loop_timer(loop, 0, wake_timer, co) == 0)
		usleep(1000);
}

static void
suspend_timeout(xf_loop_t *l, void *ud)
{
	xf_co_t	*co = ud;

	co->co_timer = 0;
	co->co_parked = 0;
	co->co_ready = 0;
	resume(co);
}

int
xf_co_suspend_for(int timeout_ms)
{
	xf_co_t	*co = current;

	if (co == NULL)
		abort();	/* the main stack cannot park */
	if (timeout_ms == 0)
		return 0;
	co->co_ready = 0;
	if (timeout_ms > 0 && (co->co_timer = xf_loop_timer(loop,
	    (uint64_t)timeout_ms, suspend_timeout, co)) == 0)
		return 0;	/* no timer: as if it had run out */
	co->co_parked = 1;
	yield();
	return co->co_ready;	/* co_parked cleared by whoever resumed */
}

void
xf_co_suspend(void)
{
	xf_co_suspend_for(-1);
}

static void
wait_done(xf_co_t *co, int ready)
{
	if (co->co_fd != -1) {
		xf_loop_del(loop, co->co_fd);
		co->co_fd = -1;
	}
	if (co->co_timer != 0) {
		xf_loop_timer_del(loop, co->co_timer);
		co->co_timer = 0;
	}
	co->co_ready = ready;
	resume(co);
}

static void
on_fd(xf_loop_t *l, int fd, int mask, void *ud)
{
	wait_done(ud, mask);
}

static void
on_timeout(xf_loop_t *l, void *ud)
{
	xf_co_t	*co = ud;

	co->co_timer = 0;
	wait_done(co, 0);
}

static int
poll_fd(int fd, int mask, int timeout_ms)
{
	struct pollfd	 p = { fd, 0, 0 };
	int		 r, ready = 0;

	if (mask & XF_EV_READ)
		p.events |= POLLIN;
	if (mask & XF_EV_WRITE)
		p.events |= POLLOUT;
	do
		r = poll(&p, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return r;
	if (p.revents & (POLLIN | POLLHUP | POLLERR))
		ready |= XF_EV_READ;
	if (p.revents & (POLLOUT | POLLERR))
		ready |= XF_EV_WRITE;
	return ready ? ready : mask;
}

int
xf_co_wait_fd(int fd, int mask, int timeout_ms)
{
	xf_co_t	*co = current;

	if (co == NULL || loop == NULL)
		return poll_fd(fd, mask, timeout_ms);
	if (xf_loop_add(loop, fd, mask, on_fd, co) != XF_OK)
		return -1;
	co->co_fd = fd;
	co->co_ready = 0;
	co->co_timer = xf_loop_timer(loop, (uint64_t)timeout_ms, on_timeout,
	    co);
	yield();
	return co->co_ready;
}
