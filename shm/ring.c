/* ring.c: per-worker inbound rings in shared memory (MPSC) with eventfd wake-ups. */
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xf.h"
#include "ring.h"
#include "ring_test.h"

/*
 * Layout.  One MAP_SHARED|MAP_ANONYMOUS region made by the master
 * before forking holds XF_MAX_WORKERS slots of (slot_t header, ring
 * data).  The ring size is a power of two, so a byte's place is
 * counter & (size - 1) and the 64-bit counters never need wrapping.
 *
 * Records.  [uint32 len][uint32 type][payload][pad to 8].  Records start
 * 8-aligned and the size is a multiple of 8, so a header never straddles
 * the end of the buffer; the payload may, and is copied in two parts.
 * No skip markers: a record occupies exactly 8 + roundup(len, 8) bytes,
 * which keeps the free-space test one subtraction.
 *
 * Who writes what.  s_head (bytes ever published) is written only by a
 * producer holding s_lock, with release order after the record is
 * copied; s_tail (bytes ever consumed) only by the slot's consumer, with
 * release order after it has copied the record out.  The consumer reads
 * without the lock.  A producer killed while copying leaves s_head where
 * it was, so its half-written record is invisible: the ring stays
 * consistent and the next producer, getting EOWNERDEAD, only marks the
 * mutex consistent.
 *
 * Wake-ups.  The consumer sleeps in epoll on the eventfd after a pop
 * found the ring empty.  A producer writes the eventfd when the ring was
 * empty just before its record, judged *after* publishing: it stores
 * s_head, fences, then loads s_tail; the consumer stores s_tail, fences,
 * then loads s_head before saying XF_AGAIN.  With both seq_cst fences
 * either the consumer sees the new record or the producer sees the
 * consumer's final tail (== its old head) and wakes it: no wake-up is
 * lost.  Judging emptiness before the copy (under the lock) would not be
 * enough: the tail read then may be stale while the consumer drains the
 * ring and goes to sleep.  A spare wake-up costs one empty pop.
 */

#define RING_MIN	256
#define RING_MAX	(1UL << 30)
#define RING_ALIGN	64
#define RING_HDR	8	/* uint32 len, uint32 type */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "64-bit atomics must be lock-free to be shared between processes");

typedef struct slot_s {
	pthread_mutex_t		 s_lock;	/* producers; robust, pshared */
	xf_wstats_t		 s_stats;	/* the slot's worker writes */
	_Alignas(RING_ALIGN) _Atomic uint64_t s_head;
	_Alignas(RING_ALIGN) _Atomic uint64_t s_tail;
	_Alignas(RING_ALIGN) unsigned char s_data[];
} slot_t;

/* Process-private view of one slot; inherited by fork. */
struct xf_ring_s {
	slot_t		*r_slot;	/* in the shared region */
	uint64_t	 r_size;	/* power of two */
	int		 r_efd;		/* eventfd, owned by xf_rings_t */
};

struct xf_rings_s {
	void		*rs_map;	/* owned; munmap'ed by destroy */
	size_t		 rs_maplen;
	uint64_t	 rs_run;	/* random: this run of the node */
	xf_ring_t	 rs_ring[XF_MAX_WORKERS];
};

static size_t
pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void
copyin(xf_ring_t *r, uint64_t pos, const void *src, size_t n)
{
	size_t	 off, first;

	if (n == 0)
		return;
	off = pos & (r->r_size - 1);
	first = r->r_size - off < n ? r->r_size - off : n;
	memcpy(r->r_slot->s_data + off, src, first);
	if (first < n)
		memcpy(r->r_slot->s_data, (const char *)src + first, n - first);
}

static void
copyout(xf_ring_t *r, uint64_t pos, void *dst, size_t n)
{
	size_t	 off, first;

	if (n == 0)
		return;
	off = pos & (r->r_size - 1);
	first = r->r_size - off < n ? r->r_size - off : n;
	memcpy(dst, r->r_slot->s_data + off, first);
	if (first < n)
		memcpy((char *)dst + first, r->r_slot->s_data, n - first);
}

/* A dead holder's critical section never moved s_head: just recover. */
static int
lock(slot_t *sl)
{
	int	 rc;

	rc = pthread_mutex_lock(&sl->s_lock);
	if (rc == EOWNERDEAD)
		rc = pthread_mutex_consistent(&sl->s_lock);
	return rc == 0 ? XF_OK : XF_ERR;
}

static void
wake(xf_ring_t *r)
{
	uint64_t	 one = 1;

	/* EAGAIN means the counter is already non-zero: awake anyway. */
	while (write(r->r_efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

static void
drain(int fd)
{
	uint64_t	 v;

	while (read(fd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
}

int
xf_rings_create(size_t ring_bytes, xf_rings_t **out, char *err,
    size_t errlen)
{
	xf_rings_t		*rs;
	pthread_mutexattr_t	 ma;
	slot_t			*sl;
	size_t			 size, stride, i;
	int			 rc, mainit = 0;

	*out = NULL;
	if (ring_bytes == 0 || ring_bytes > RING_MAX) {
		snprintf(err, errlen, "ring size %zu out of range (1..%lu)",
		    ring_bytes, RING_MAX);
		return XF_ERR;
	}
	for (size = RING_MIN; size < ring_bytes; size <<= 1)
		;
	stride = sizeof(slot_t) + size;	/* a multiple of RING_ALIGN */

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		snprintf(err, errlen, "calloc: %s", strerror(errno));
		return XF_ERR;
	}
	for (i = 0; i < XF_MAX_WORKERS; i++)
		rs->rs_ring[i].r_efd = -1;
	if (getrandom(&rs->rs_run, sizeof(rs->rs_run), 0) !=
	    sizeof(rs->rs_run)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	rs->rs_maplen = stride * XF_MAX_WORKERS;
	rs->rs_map = mmap(NULL, rs->rs_maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rs->rs_map == MAP_FAILED) {
		rs->rs_map = NULL;
		snprintf(err, errlen, "mmap(%zu): %s", rs->rs_maplen,
		    strerror(errno));
		goto fail;
	}

	if ((rc = pthread_mutexattr_init(&ma)) != 0) {
		snprintf(err, errlen, "pthread_mutexattr_init: %s",
		    strerror(rc));
		goto fail;
	}
	mainit = 1;
	if ((rc = pthread_mutexattr_setpshared(&ma,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&ma,
	    PTHREAD_MUTEX_ROBUST)) != 0) {
		snprintf(err, errlen, "pthread_mutexattr_set*: %s",
		    strerror(rc));
		goto fail;
	}
	for (i = 0; i < XF_MAX_WORKERS; i++) {
		sl = (slot_t *)((char *)rs->rs_map + i * stride);
		if ((rc = pthread_mutex_init(&sl->s_lock, &ma)) != 0) {
			snprintf(err, errlen, "pthread_mutex_init: %s",
			    strerror(rc));
			goto fail;
		}
		atomic_init(&sl->s_head, 0);
		atomic_init(&sl->s_tail, 0);
		rs->rs_ring[i].r_slot = sl;
		rs->rs_ring[i].r_size = size;
		/*
		 * Workers fork without exec and inherit it; CLOEXEC only
		 * keeps it from anything the master might exec.
		 */
		rs->rs_ring[i].r_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (rs->rs_ring[i].r_efd == -1) {
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
			goto fail;
		}
	}
	pthread_mutexattr_destroy(&ma);
	*out = rs;
	return XF_OK;

fail:
	if (mainit)
		pthread_mutexattr_destroy(&ma);
	xf_rings_destroy(rs);
	return XF_ERR;
}

/* The mutexes need no destroy: other processes may still map them. */
void
xf_rings_destroy(xf_rings_t *rs)
{
	size_t	 i;

	if (rs == NULL)
		return;
	for (i = 0; i < XF_MAX_WORKERS; i++)
		if (rs->rs_ring[i].r_efd != -1)
			close(rs->rs_ring[i].r_efd);
	if (rs->rs_map != NULL)
		munmap(rs->rs_map, rs->rs_maplen);
	free(rs);
}

xf_ring_t *
xf_rings_get(xf_rings_t *rs, unsigned slot)
{
	return slot < XF_MAX_WORKERS ? &rs->rs_ring[slot] : NULL;
}

uint64_t
xf_rings_run(const xf_rings_t *rs)
{
	return rs->rs_run;
}

xf_wstats_t *
xf_rings_stats(xf_rings_t *rs, unsigned slot)
{
	if (slot >= XF_MAX_WORKERS)
		return NULL;
	return &rs->rs_ring[slot].r_slot->s_stats;
}

/*
 * Under the lock so that a late producer (routing on a record not yet
 * cleared) cannot interleave; no consumer runs when this is called.
 */
void
xf_ring_reset(xf_ring_t *r)
{
	slot_t		*sl = r->r_slot;
	int		 locked;

	locked = lock(sl) == XF_OK;
	atomic_store_explicit(&sl->s_tail, 0, memory_order_relaxed);
	atomic_store_explicit(&sl->s_head, 0, memory_order_release);
	if (locked)
		pthread_mutex_unlock(&sl->s_lock);
	sl->s_stats.ws_pid = 0;
	sl->s_stats.ws_conns = 0;
	sl->s_stats.ws_sessions = 0;
	sl->s_stats.ws_stanzas_in = 0;
	sl->s_stats.ws_stanzas_out = 0;
	/* A dead worker's unauthenticated connections went with it. */
	sl->s_stats.ws_unauth = 0;
	memset((void *)sl->s_stats.ws_unauth_ip, 0,
	    sizeof(sl->s_stats.ws_unauth_ip));
	drain(r->r_efd);
}

int
xf_ring_fd(const xf_ring_t *r)
{
	return r->r_efd;
}

size_t
xf_ring_max_msg(const xf_ring_t *r)
{
	return r->r_size / 4;
}

int
xf_ring_push(xf_ring_t *r, uint32_t type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	slot_t		*sl = r->r_slot;
	uint64_t	 head, tail, need;
	uint32_t	 hdr[2];
	size_t		 max = xf_ring_max_msg(r);

	if (alen > max || blen > max - alen)
		return XF_ERR;
	need = RING_HDR + pad8(alen + blen);
	hdr[0] = (uint32_t)(alen + blen);
	hdr[1] = type;

	if (lock(sl) != XF_OK)
		return XF_ERR;
	head = atomic_load_explicit(&sl->s_head, memory_order_relaxed);
	/* Acquire: the consumer has finished reading what it freed. */
	tail = atomic_load_explicit(&sl->s_tail, memory_order_acquire);
	if (r->r_size - (head - tail) < need) {
		pthread_mutex_unlock(&sl->s_lock);
		return XF_AGAIN;
	}
	copyin(r, head, hdr, sizeof(hdr));
	copyin(r, head + RING_HDR, a, alen);
	copyin(r, head + RING_HDR + alen, b, blen);
	atomic_store_explicit(&sl->s_head, head + need, memory_order_release);
	pthread_mutex_unlock(&sl->s_lock);

	/* See "Wake-ups" above: publish, fence, then look at the tail. */
	atomic_thread_fence(memory_order_seq_cst);
	tail = atomic_load_explicit(&sl->s_tail, memory_order_relaxed);
	if (tail == head)
		wake(r);
	return XF_OK;
}

int
xf_ring_pop(xf_ring_t *r, uint32_t *type, void *buf, size_t buflen,
    size_t *len)
{
	slot_t		*sl = r->r_slot;
	uint64_t	 head, tail, need;
	uint32_t	 hdr[2];

	tail = atomic_load_explicit(&sl->s_tail, memory_order_relaxed);
	head = atomic_load_explicit(&sl->s_head, memory_order_acquire);
	if (head == tail) {
		/* Pairs with the producer's fence (see "Wake-ups"). */
		atomic_thread_fence(memory_order_seq_cst);
		head = atomic_load_explicit(&sl->s_head, memory_order_acquire);
		if (head == tail)
			return XF_AGAIN;
	}

	copyout(r, tail, hdr, sizeof(hdr));
	need = RING_HDR + pad8(hdr[0]);
	if (hdr[0] > xf_ring_max_msg(r) || need > head - tail) {
		/*
		 * Cannot happen unless something scribbled on the region:
		 * drop everything rather than loop on garbage.
		 */
		atomic_store_explicit(&sl->s_tail, head, memory_order_release);
		*len = 0;
		return XF_ERR;
	}
	*type = hdr[1];
	*len = hdr[0];
	if (hdr[0] > buflen)
		return XF_ERR;	/* left in place: retry with max_msg bytes */
	copyout(r, tail + RING_HDR, buf, hdr[0]);
	atomic_store_explicit(&sl->s_tail, tail + need, memory_order_release);
	return XF_OK;
}

void
xf_ring_ack(xf_ring_t *r)
{
	drain(r->r_efd);
}

/* Test-only, declared in ring_test.h: see there. */
int
xf_ring_test_lock(xf_ring_t *r)
{
	return lock(r->r_slot);
}
