/* ring.h: per-worker inbound rings in shared memory (multi-producer, single consumer) with eventfd wake-ups. */
#ifndef XF_RING_H
#define XF_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The master creates one region before forking: XF_MAX_WORKERS slots,
 * each with a ring of ring_bytes, an eventfd and a stats block.  Every
 * child inherits the mapping and the eventfds.  Slot i's ring is read
 * only by the worker that holds slot i; anyone may push into it.
 *
 * A message is (type, payload) up to a quarter of the ring.  Producers
 * serialise on a robust process-shared mutex, so a producer killed
 * mid-push leaves the ring consistent (the head moves only after the
 * copy).  A full ring returns XF_AGAIN: the sender keeps the message and
 * stops reading its own client until there is room (push-back, no drop).
 */
typedef struct xf_rings_s xf_rings_t;
typedef struct xf_ring_s xf_ring_t;

/* Buckets of unauthenticated connections by address hash (unauth.c). */
#define XF_UNAUTH_BUCKETS	4096

/* Per-slot counters, written by the slot's worker, read by the master
 * and by the other workers (unauth.c). */
typedef struct xf_wstats_s {
	volatile pid_t		ws_pid;
	volatile uint32_t	ws_conns;	/* open connections */
	volatile uint32_t	ws_sessions;	/* bound sessions */
	volatile uint64_t	ws_stanzas_in;
	volatile uint64_t	ws_stanzas_out;
	volatile uint32_t	ws_unauth;	/* unauthenticated connections */
	volatile uint32_t	ws_unauth_ip[XF_UNAUTH_BUCKETS];
} xf_wstats_t;

int	 xf_rings_create(size_t ring_bytes, xf_rings_t **out, char *err,
	    size_t errlen);
void	 xf_rings_destroy(xf_rings_t *);

xf_ring_t   *xf_rings_get(xf_rings_t *, unsigned slot);
xf_wstats_t *xf_rings_stats(xf_rings_t *, unsigned slot);
/* Random, drawn at create: the same in the master and every worker of
 * this run of the node, different on any other node or run.  Tells a
 * node's own notices (store NOTIFY) from other nodes'. */
uint64_t     xf_rings_run(const xf_rings_t *);

/* Empties a slot's ring and stats (master, before a worker takes it). */
void	 xf_ring_reset(xf_ring_t *);
/* The eventfd that becomes readable when the ring goes non-empty. */
int	 xf_ring_fd(const xf_ring_t *);

/* XF_OK, XF_AGAIN (full), XF_ERR (message too large). */
int	 xf_ring_push(xf_ring_t *, uint32_t type, const void *a, size_t alen,
	    const void *b, size_t blen);	/* payload = a followed by b */
/*
 * Consumer: pops one message into buf (up to buflen).  Returns XF_OK with
 * *type and *len set, XF_AGAIN when empty.  Call xf_ring_ack() after
 * reading the eventfd, then pop until XF_AGAIN.
 */
int	 xf_ring_pop(xf_ring_t *, uint32_t *type, void *buf, size_t buflen,
	    size_t *len);
void	 xf_ring_ack(xf_ring_t *);	/* drains the eventfd counter */
size_t	 xf_ring_max_msg(const xf_ring_t *);

#endif /* XF_RING_H */
