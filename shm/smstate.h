/* smstate.h: XEP-0198 stream management state, kept in the session environment (see sess.h). */
#ifndef XF_SMSTATE_H
#define XF_SMSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sess.h"

/*
 * XEP-0198 stream management state.  It lives in named databases of
 * the session environment, rather than on a worker's heap: a session
 * survives a kill -9 of its worker, and any worker can resume it.  Like
 * the table it is volatile (wiped at node start).
 *
 *   sm     id -> xf_sm_rec_t (the counters, the owner, the state)
 *   smjid  full JID -> id
 *   smq    id, seq -> stanza written to the client, not yet acknowledged
 *          (seq 1, 2, ... counts every stanza written: XEP-0198's h)
 *   smin   id, seq -> stanza for the client not yet written (the inbox:
 *          any worker appends, the owner moves entries to smq as it
 *          writes them, in seq order)
 *   smexp  expiry, id -> "" (one entry per DETACHED session; it ends
 *          once the clock is past its expiry; 0 = at once)
 *   smpres id -> the client's presence as the worker holding it keeps it
 *          (worker/presence.c), for the worker that resumes the session
 *
 * Who writes what: only the attached owner (sm_worker, sm_conn) appends
 * to smq and changes sm_h_in, sm_sent and sm_acked; anyone appends to
 * smin.  Every change of owner or state is one write txn, so exactly one
 * process ever holds a session.  Seq numbers are big-endian 64-bit keys;
 * the 32-bit h of the protocol is the low half.
 */
#define XF_SM_IDLEN	32		/* resumption id: 32 hex digits */
#define XF_SM_NOWORKER	UINT32_MAX	/* no worker slot (detach, queue) */

enum {
	XF_SM_ATTACHED = 1,	/* a connection holds it */
	XF_SM_DETACHED,		/* cut off, waiting for <resume/> or expiry */
	XF_SM_CLAIMED		/* being ended by sm_worker; nothing joins it */
};

typedef struct xf_sm_rec_s {
	uint32_t	sm_node;	/* owner node: 0 = this one */
	uint32_t	sm_worker;	/* owner (or claimer) worker slot */
	uint64_t	sm_conn;	/* owner connection id */
	uint32_t	sm_state;	/* XF_SM_* */
	uint32_t	sm_resume;	/* 1: may be resumed after a cut */
	uint64_t	sm_h_in;	/* stanzas handled from the client */
	uint64_t	sm_sent;	/* stanzas written to the client */
	uint64_t	sm_acked;	/* of which the client acknowledged */
	uint64_t	sm_inseq;	/* last inbox seq handed out */
	uint64_t	sm_inlen;	/* entries in the inbox */
	int64_t		sm_expires;	/* DETACHED: unix time it ends */
	int64_t		sm_since;	/* unix time of <enable/> */
	char		sm_full[512];	/* the session's full JID */
} xf_sm_rec_t;

/*
 * Creates SM state id for full, owned by (worker, conn), which must own
 * full's session record (XF_DECLINED otherwise); sets XF_SESS_SM on that
 * record.  An older detached SM session of the same JID ends at once.
 */
int	 xf_sess_sm_create(xf_sess_t *, const char *id, const char *full,
	    uint32_t worker, uint64_t conn, int resume, int64_t now);
/* XF_OK with *out, or XF_DECLINED. */
int	 xf_sess_sm_get(xf_sess_t *, const char *id, xf_sm_rec_t *out);
/* By full JID; id gets XF_SM_IDLEN + 1 bytes.  XF_OK or XF_DECLINED. */
int	 xf_sess_sm_find(xf_sess_t *, const char *full, char *id,
	    xf_sm_rec_t *out);

/* The attached owner counts one stanza from its client: *h = new count.
 * XF_DECLINED if (worker, conn) is not the attached owner. */
int	 xf_sess_sm_handled(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, uint64_t *h);
/*
 * A stanza (worker, conn) is about to write to its client.  XF_OK: it
 * is the attached owner; the stanza is queued as number ++sm_sent (and
 * inbox entry inseq, if not 0, is removed in the same txn).  XF_AGAIN:
 * it is no longer the owner; the stanza went to the inbox (inseq == 0)
 * or stays there, and *out names the owner to wake.  XF_DECLINED: the
 * session is gone or ending.
 */
int	 xf_sess_sm_sent(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, uint64_t inseq, const char *data, size_t len,
	    xf_sm_rec_t *out);
/*
 * A stanza for full from anywhere, into its session's inbox.  XF_OK:
 * queued, *out names the owner to wake.  XF_AGAIN: nothing queued: the
 * session is attached to worker direct (XF_SM_NOWORKER: never) with an
 * empty inbox, so the caller delivers it straight.  XF_DECLINED: no SM session for full, or
 * it is ending.  A detached session whose queues reach max ends at once
 * (expires 0).  id gets the session's id (XF_SM_IDLEN + 1 bytes).
 */
int	 xf_sess_sm_queue(xf_sess_t *, const char *full, uint32_t direct,
	    const char *data, size_t len, uint64_t max, char *id,
	    xf_sm_rec_t *out);
/*
 * Copies up to max inbox entries after seq after into out, each as
 * [uint64_t seq][uint64_t len][len bytes] (unaligned); *n gets how many.
 */
int	 xf_sess_sm_inbox(xf_sess_t *, const char *id, uint64_t after,
	    size_t max, xf_buf_t *out, size_t *n);
/* Removes one inbox entry that was handled without being written. */
int	 xf_sess_sm_unqueue(xf_sess_t *, const char *id, uint64_t inseq);
/* The client acknowledged acked (absolute count, <= sm_sent) stanzas:
 * they leave the queue.  XF_DECLINED if not the attached owner. */
int	 xf_sess_sm_ack(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, uint64_t acked);
/*
 * The owner's connection is cut: DETACHED until expires.  With worker
 * XF_SM_NOWORKER (not an owner), only brings the expiry of a detached
 * session forward.
 * XF_DECLINED if (worker, conn) is not the attached owner.
 */
int	 xf_sess_sm_detach(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, int64_t expires);
/*
 * The attached owner's presence state for id (opaque; len 0 removes
 * it), which a resume on any worker reads back with xf_sess_sm_pres().
 * XF_DECLINED if (worker, conn) is not the attached owner.
 */
int	 xf_sess_sm_set_pres(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, const void *data, size_t len);
/* Appends id's presence state to out: XF_OK, XF_DECLINED (none). */
int	 xf_sess_sm_pres(xf_sess_t *, const char *id, xf_buf_t *out);
/*
 * <resume/>: in one txn, checks that bare owns the session and that its
 * session record still names the old owner, drops what h acknowledges,
 * makes the connection in srec (sr_node, sr_worker, sr_conn, sr_since,
 * sr_ip) the attached owner and points full's session record at it,
 * keeping priority, availability and flags; srec gets the record as
 * stored.  prev gets the SM state as it was (the old owner to close),
 * out as it is now; resend gets the stanzas to write again, each as
 * [uint64_t len][len bytes].  XF_DECLINED: nothing bare may resume.
 */
int	 xf_sess_sm_take_over(xf_sess_t *, const char *id, const char *bare,
	    uint32_t h, xf_sess_rec_t *srec, xf_sm_rec_t *prev,
	    xf_sm_rec_t *out, xf_buf_t *resend);
/*
 * Ending a session takes a claim first (state CLAIMED, by worker), so
 * exactly one process moves its queues to offline storage:
 * claim_expired takes the first DETACHED session whose expiry is before
 * now, strictly (id gets its id), deleting its session record if that still names
 * it (*gone = 1: its contacts must hear it left); end is the attached
 * owner ending its own session (clean close).  Then queued and drop.
 * XF_DECLINED: nothing to claim / not the owner.
 */
int	 xf_sess_sm_claim_expired(xf_sess_t *, int64_t now, uint32_t worker,
	    char *id, xf_sm_rec_t *out, int *gone);
int	 xf_sess_sm_end(xf_sess_t *, const char *id, uint32_t worker,
	    uint64_t conn, xf_sm_rec_t *out);
/* Every queued stanza, unacknowledged ones first, each as
 * [uint64_t len][len bytes]; *n gets how many. */
int	 xf_sess_sm_queued(xf_sess_t *, const char *id, xf_buf_t *out,
	    size_t *n);
/* Deletes a session's SM state and queues. */
int	 xf_sess_sm_drop(xf_sess_t *, const char *id);
/*
 * The master, for a dead worker, before xf_sess_clear_worker(): its
 * resumable sessions become DETACHED until expires, the others (and its
 * claims) expire at once.  *count gets how many.
 */
int	 xf_sess_sm_detach_worker(xf_sess_t *, uint32_t worker,
	    int64_t expires, size_t *count);
/* 1 if rec (full's session record) is kept for a detached SM session:
 * xf_sess_clear_worker() leaves it, and nobody must say it went. */
int	 xf_sess_sm_kept(xf_sess_t *, const char *full,
	    const xf_sess_rec_t *rec);

#endif /* XF_SMSTATE_H */
