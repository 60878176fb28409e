/* authlim.h: the node's login limits, kept in the session environment (see sess.h): unauthenticated connections. */
#ifndef XF_AUTHLIM_H
#define XF_AUTHLIM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Unauthenticated connections, counted per node: every worker takes a
 * place before it serves a new connection and gives it back when the
 * connection authenticates or ends.  One write txn checks and counts,
 * so the caps hold exactly across workers (LMDB's writer lock is the
 * node's lock).
 *
 * Invariant: a place is counted under the slot of the worker that took
 * it, and only that worker gives it back; the master clears a dead
 * worker's places (xf_sess_unauth_clear_worker()) before its slot is
 * used again, as it does for its sessions.  So a crash leaks nothing.
 */
enum {
	XF_UNAUTH_TOTAL = 1,	/* the node's cap ('max-unauth') is reached */
	XF_UNAUTH_IP		/* the address's ('max-unauth-per-ip') */
};

/* A place for a new connection from ip on worker slot: XF_OK, or
 * XF_DECLINED with *why (XF_UNAUTH_*) when a cap is reached; 0: none. */
int	 xf_sess_unauth_take(xf_sess_t *, const char *ip, uint32_t slot,
	    uint32_t max_total, uint32_t max_ip, int *why);
/* Gives back a place xf_sess_unauth_take() gave. */
int	 xf_sess_unauth_give(xf_sess_t *, const char *ip, uint32_t slot);
/* How many places the node and ip (may be NULL) hold now. */
int	 xf_sess_unauth_count(xf_sess_t *, const char *ip, uint32_t *total,
	    uint32_t *ipcount);
/* Every place of one worker slot; *count gets how many. */
int	 xf_sess_unauth_clear_worker(xf_sess_t *, uint32_t slot,
	    size_t *count);

#endif /* XF_AUTHLIM_H */
