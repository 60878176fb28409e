/* loop.c: the event loop: fd handlers over epoll and a binary heap of timers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "xf.h"
#include "loop.h"

typedef struct fdh_s {
	xf_io_fn	 f_fn;
	void		*f_ud;
	int		 f_mask;
	int		 f_used;
} fdh_t;

typedef struct timer_s {
	uint64_t	 t_when;
	uint64_t	 t_id;
	xf_timer_fn	 t_fn;
	void		*t_ud;
} timer_t_;

/* Timer id -> its index in the heap, so a cancel is O(log n). */
typedef struct pos_s {
	uint64_t	 p_id;		/* 0 = empty */
	size_t		 p_at;
} pos_t;

struct xf_loop_s {
	int		 l_epfd;
	fdh_t		*l_fds;		/* indexed by fd */
	int		 l_nfds;
	timer_t_	*l_heap;	/* min-heap on t_when */
	size_t		 l_nheap;
	size_t		 l_capheap;
	pos_t		*l_pos;		/* open addressing, linear probing */
	size_t		 l_capos;	/* power of two */
	size_t		 l_npos;
	uint64_t	 l_next_id;
	uint64_t	 l_now;
	int		 l_stop;
	void		(*l_before)(xf_loop_t *, void *);
	void		*l_before_ud;
};

static uint64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

xf_loop_t *
xf_loop_new(void)
{
	xf_loop_t	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->l_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	l->l_now = mono_ms();
	l->l_next_id = 1;
	return l;
}

void
xf_loop_free(xf_loop_t *l)
{
	if (l == NULL)
		return;
	close(l->l_epfd);
	free(l->l_fds);
	free(l->l_heap);
	free(l->l_pos);
	free(l);
}

static uint32_t
ep_events(int mask)
{
	uint32_t	 ev = 0;

	if (mask & XF_EV_READ)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (mask & XF_EV_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

int
xf_loop_add(xf_loop_t *l, int fd, int mask, xf_io_fn fn, void *ud)
{
	struct epoll_event	 ev;

	if (fd >= l->l_nfds) {
		int	 n = l->l_nfds ? l->l_nfds : 64;
		fdh_t	*p;

		while (n <= fd)
			n *= 2;
		if ((p = realloc(l->l_fds, (size_t)n * sizeof(*p))) == NULL)
			return XF_ERR;
		memset(p + l->l_nfds, 0, (size_t)(n - l->l_nfds) * sizeof(*p));
		l->l_fds = p;
		l->l_nfds = n;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(mask);
	ev.data.fd = fd;
	if (epoll_ctl(l->l_epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return XF_ERR;
	l->l_fds[fd] = (fdh_t){ fn, ud, mask, 1 };
	return XF_OK;
}

int
xf_loop_mod(xf_loop_t *l, int fd, int mask)
{
	struct epoll_event	 ev;

	if (fd >= l->l_nfds || !l->l_fds[fd].f_used)
		return XF_ERR;
	if (l->l_fds[fd].f_mask == mask)
		return XF_OK;
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(mask);
	ev.data.fd = fd;
	if (epoll_ctl(l->l_epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return XF_ERR;
	l->l_fds[fd].f_mask = mask;
	return XF_OK;
}

void
xf_loop_del(xf_loop_t *l, int fd)
{
	if (fd < 0 || fd >= l->l_nfds || !l->l_fds[fd].f_used)
		return;
	epoll_ctl(l->l_epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->l_fds[fd], 0, sizeof(fdh_t));
}

static size_t
pos_slot(const xf_loop_t *l, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (l->l_capos - 1);
}

/* The slot holding id, or the empty slot where it would go. */
static pos_t *
pos_find(const xf_loop_t *l, uint64_t id)
{
	size_t	 i = pos_slot(l, id);

	while (l->l_pos[i].p_id != 0 && l->l_pos[i].p_id != id)
		i = (i + 1) & (l->l_capos - 1);
	return &l->l_pos[i];
}

static int
pos_grow(xf_loop_t *l)
{
	pos_t	*old = l->l_pos;
	size_t	 oldcap = l->l_capos, cap = oldcap ? oldcap * 2 : 128;

	if ((l->l_pos = calloc(cap, sizeof(*l->l_pos))) == NULL) {
		l->l_pos = old;
		return XF_ERR;
	}
	l->l_capos = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].p_id != 0)
			*pos_find(l, old[i].p_id) = old[i];
	free(old);
	return XF_OK;
}

/* Records where id sits (the map was grown before the push). */
static void
pos_set(xf_loop_t *l, uint64_t id, size_t at)
{
	pos_t	*p = pos_find(l, id);

	if (p->p_id == 0)
		l->l_npos++;
	p->p_id = id;
	p->p_at = at;
}

/* Backward-shift deletion: no tombstones, probes stay short. */
static void
pos_del(xf_loop_t *l, uint64_t id)
{
	size_t	 mask = l->l_capos - 1, i, j, h;
	pos_t	*p = pos_find(l, id);

	if (p->p_id == 0)
		return;
	i = (size_t)(p - l->l_pos);
	l->l_npos--;
	for (j = (i + 1) & mask; l->l_pos[j].p_id != 0; j = (j + 1) & mask) {
		h = pos_slot(l, l->l_pos[j].p_id);
		/* Move j back into the hole at i unless its home lies in
		 * (i, j] cyclically. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			l->l_pos[i] = l->l_pos[j];
			i = j;
		}
	}
	l->l_pos[i].p_id = 0;
}

static void
heap_swap(xf_loop_t *l, size_t a, size_t b)
{
	timer_t_	 t = l->l_heap[a];

	l->l_heap[a] = l->l_heap[b];
	l->l_heap[b] = t;
	pos_set(l, l->l_heap[a].t_id, a);
	pos_set(l, l->l_heap[b].t_id, b);
}

static void
heap_up(xf_loop_t *l, size_t i)
{
	while (i > 0 && l->l_heap[(i - 1) / 2].t_when > l->l_heap[i].t_when) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(xf_loop_t *l, size_t i)
{
	for (;;) {
		size_t	 s = i, c1 = 2 * i + 1, c2 = 2 * i + 2;

		if (c1 < l->l_nheap && l->l_heap[c1].t_when < l->l_heap[s].t_when)
			s = c1;
		if (c2 < l->l_nheap && l->l_heap[c2].t_when < l->l_heap[s].t_when)
			s = c2;
		if (s == i)
			return;
		heap_swap(l, i, s);
		i = s;
	}
}

static void
heap_remove(xf_loop_t *l, size_t i)
{
	pos_del(l, l->l_heap[i].t_id);
	l->l_heap[i] = l->l_heap[--l->l_nheap];
	if (i < l->l_nheap) {
		pos_set(l, l->l_heap[i].t_id, i);
		heap_up(l, i);
		heap_down(l, i);
	}
}

uint64_t
xf_loop_timer(xf_loop_t *l, uint64_t ms, xf_timer_fn fn, void *ud)
{
	if (l->l_nheap == l->l_capheap) {
		size_t		 n = l->l_capheap ? l->l_capheap * 2 : 64;
		timer_t_	*p;

		if ((p = realloc(l->l_heap, n * sizeof(*p))) == NULL)
			return 0;
		l->l_heap = p;
		l->l_capheap = n;
	}
	if ((l->l_npos + 1) * 2 > l->l_capos && pos_grow(l) != XF_OK)
		return 0;
	l->l_heap[l->l_nheap] = (timer_t_){ l->l_now + ms, l->l_next_id, fn, ud };
	pos_set(l, l->l_next_id, l->l_nheap);
	heap_up(l, l->l_nheap++);
	return l->l_next_id++;
}

/*
 * O(log n) through the id-to-index map: stream management cancels and
 * re-arms a timer per stanza on busy sessions.  An id that already fired
 * is simply not found.
 */
void
xf_loop_timer_del(xf_loop_t *l, uint64_t id)
{
	pos_t	*p;

	if (id == 0 || l->l_capos == 0)
		return;
	p = pos_find(l, id);
	if (p->p_id == id)
		heap_remove(l, p->p_at);
}

void
xf_loop_before_sleep(xf_loop_t *l, void (*fn)(xf_loop_t *, void *), void *ud)
{
	l->l_before = fn;
	l->l_before_ud = ud;
}

uint64_t
xf_loop_now(const xf_loop_t *l)
{
	return l->l_now;
}

void
xf_loop_stop(xf_loop_t *l)
{
	l->l_stop = 1;
}

static void
run_timers(xf_loop_t *l)
{
	while (l->l_nheap > 0 && l->l_heap[0].t_when <= l->l_now) {
		timer_t_	 t = l->l_heap[0];

		heap_remove(l, 0);
		t.t_fn(l, t.t_ud);
	}
}

void
xf_loop_run(xf_loop_t *l)
{
	struct epoll_event	 evs[256];
	int			 n, timeout;

	l->l_stop = 0;
	while (!l->l_stop) {
		if (l->l_before)
			l->l_before(l, l->l_before_ud);
		if (l->l_stop)
			break;
		/* Wake at least once a second so signal flags get looked at. */
		timeout = 1000;
		if (l->l_nheap > 0) {
			uint64_t	 w = l->l_heap[0].t_when;

			timeout = w <= l->l_now ? 0 :
			    (w - l->l_now < 1000 ? (int)(w - l->l_now) : 1000);
		}
		n = epoll_wait(l->l_epfd, evs, (int)XF_NELEM(evs), timeout);
		l->l_now = mono_ms();
		if (n == -1 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			int	 fd = evs[i].data.fd, mask = 0;
			fdh_t	*h;

			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
			    EPOLLERR))
				mask |= XF_EV_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				mask |= XF_EV_WRITE;
			/* A handler earlier in this batch may have closed fd. */
			if (fd >= l->l_nfds || !(h = &l->l_fds[fd])->f_used)
				continue;
			/*
			 * Hang-ups and errors are reported even for an fd with
			 * no interest (a paused connection); pass them on, or a
			 * level-triggered loop would spin on them.
			 */
			if (!(evs[i].events & (EPOLLHUP | EPOLLERR)))
				mask &= h->f_mask;
			if (mask)
				h->f_fn(l, fd, mask, h->f_ud);
		}
		run_timers(l);
	}
}
