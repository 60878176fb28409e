/* authlim.h: failed logins per address and per account, kept in the session environment (see sess.h); unauthenticated connections are unauth.h's. */
#ifndef XF_AUTHLIM_H
#define XF_AUTHLIM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Failed logins, counted per node for each source address and each
 * account, in milliseconds of CLOCK_MONOTONIC (one clock for every
 * process of the machine; the table is wiped at each start anyway).
 *
 * Invariant: every record says when it is forgotten (its expiry: 'the
 * block time' after its last failure, and never while it blocks), so
 * readers treat an expired record as absent and anyone may delete it;
 * the master does, once a minute (xf_sess_authfail_purge()).
 *
 * An address with al_block_after failures is blocked for al_block_ms,
 * then starts from zero.  An account with al_lock_after failures (from
 * any addresses) is locked for al_lock_ms; failures while it is locked
 * are not counted (a lock does not feed itself), and it cannot be locked
 * again for another al_lock_ms after the lock ends: however many
 * addresses an attacker has, the owner gets that window to log in.
 */
typedef struct xf_authlim_s {
	uint32_t	 al_block_after;	/* 0: addresses never blocked */
	int64_t		 al_block_ms;
	uint32_t	 al_lock_after;		/* 0: accounts never locked */
	int64_t		 al_lock_ms;
} xf_authlim_t;

/* What xf_sess_authfail_check() and _add() report (bits). */
#define XF_AUTH_BLOCKED	0x01	/* the address is blocked */
#define XF_AUTH_LOCKED	0x02	/* the account is locked */

/* Whether ip is blocked or the account bare (may be NULL) locked at
 * now: *state gets XF_AUTH_* bits. */
int	 xf_sess_authfail_check(xf_sess_t *, const char *ip, const char *bare,
	    int64_t now, int *state);
/* Counts a failed login from ip for bare (may be NULL) at now.  *ipfails
 * gets the address's failures so far (the one that blocks it included),
 * *newly the XF_AUTH_* bits this failure set. */
int	 xf_sess_authfail_add(xf_sess_t *, const char *ip, const char *bare,
	    int64_t now, const xf_authlim_t *, uint32_t *ipfails,
	    uint32_t *acfails, int *newly);
/* Deletes the records forgotten at now; *count gets how many. */
int	 xf_sess_authfail_purge(xf_sess_t *, int64_t now, size_t *count);

#endif /* XF_AUTHLIM_H */
