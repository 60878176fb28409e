/* unauth.h: unauthenticated connections per node and per address, counted in the rings' shared memory. */
#ifndef XF_UNAUTH_H
#define XF_UNAUTH_H

#include <stdint.h>

#include "ring.h"

/*
 * Every worker counts its own unauthenticated connections in its slot's
 * stats (xf_wstats_t): in all, and by a hash of the source address.  A
 * node's count is the sum over the slots, an address's the sum of its
 * bucket: 64 reads, no lock, no write to the session table, so the
 * admission of a connection costs next to nothing.
 *
 * Invariant: only the slot's worker writes its counters; the master
 * zeroes a dead worker's with its ring (xf_ring_reset()), so a crash
 * leaks nothing.  Workers deciding at the same moment may each let one
 * connection past a cap: a cap holds within one connection per worker.
 * Addresses sharing a bucket count together (4096 buckets: two busy
 * addresses rarely meet), which errs on the side of refusing.
 */
enum {
	XF_UNAUTH_TOTAL = 1,	/* the node's cap ('max-unauth') is reached */
	XF_UNAUTH_IP		/* the address's ('max-unauth-per-ip') */
};

/* A place for a new connection from ip on worker slot: XF_OK, or
 * XF_DECLINED with *why (XF_UNAUTH_*) when a cap is reached; 0: none. */
int	 xf_unauth_take(xf_rings_t *, const char *ip, uint32_t slot,
	    uint32_t max_total, uint32_t max_ip, int *why);
/* Gives back a place xf_unauth_take() gave. */
void	 xf_unauth_give(xf_rings_t *, const char *ip, uint32_t slot);
/* A dead worker's places, forgotten (by the master); how many. */
uint32_t xf_unauth_clear(xf_rings_t *, uint32_t slot);
/* How many places the node and ip's bucket (ip may be NULL) hold. */
void	 xf_unauth_count(xf_rings_t *, const char *ip, uint32_t *total,
	    uint32_t *ipcount);

#endif /* XF_UNAUTH_H */
