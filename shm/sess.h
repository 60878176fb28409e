/* sess.h: the node's session table (volatile LMDB environment shared by all processes). */
#ifndef XF_SESS_H
#define XF_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "xf.h"
#include "buf.h"

/*
 * Key: normalised full JID "local@domain/resource".  Because the key
 * sorts bare JID first, the resources of one bare JID are one key range
 * ("local@domain/" prefix): that range is the bare-JID index.
 *
 * Invariant: a record is written by the worker that binds the session.
 * When a newer bind takes over a resource (conflict), the new owner
 * overwrites the record; the old owner later deletes only if the record
 * still names its own (worker, conn).  The master deletes every record
 * of a dead worker before that slot is reused.
 */
/* A key is an LMDB key: a full JID in the table is at most this long. */
#define XF_SESS_JID_MAX	511
_Static_assert(XF_ACCOUNT_JID_MAX + 1 + XF_RESOURCE_ROOM <= XF_SESS_JID_MAX,
    "every account must be able to bind a resource of XF_RESOURCE_ROOM");

typedef struct xf_sess_rec_s {
	uint32_t	sr_node;	/* 0 = this node; cluster ids later */
	uint32_t	sr_worker;	/* ring slot of the owning worker */
	uint64_t	sr_conn;	/* connection id within that worker */
	int32_t		sr_prio;	/* presence priority */
	uint8_t		sr_avail;	/* 1 after available presence */
	uint8_t		sr_flags;	/* XF_SESS_* */
	uint8_t		sr_pad[2];
	int64_t		sr_since;	/* unix time of bind */
	char		sr_ip[48];	/* peer address, text */
} xf_sess_rec_t;

/* sr_flags: what other workers must know of a session. */
#define XF_SESS_CARBONS		0x01	/* XEP-0280 enabled */
#define XF_SESS_INTERESTED	0x02	/* requested the roster (RFC 6121 2.1.6) */
#define XF_SESS_SM		0x04	/* XEP-0198 enabled */

typedef struct xf_sess_s xf_sess_t;

/*
 * Opens (creating) the environment in dir.  clear != 0 empties it: the
 * master does that once at start.  Each process opens its own handle
 * after fork.  err gets a message on failure.
 */
int	 xf_sess_open(const char *dir, int clear, xf_sess_t **out,
	    char *err, size_t errlen);
void	 xf_sess_close(xf_sess_t *);

/* Inserts or replaces.  If a record existed, *old gets it and
 * *had_old = 1 (the caller kicks that session: resource conflict). */
int	 xf_sess_put(xf_sess_t *, const char *full, const xf_sess_rec_t *rec,
	    xf_sess_rec_t *old, int *had_old);
/* Updates priority / availability of an existing record if still owned
 * by (worker, conn).  XF_DECLINED if not found or not owned. */
int	 xf_sess_update(xf_sess_t *, const char *full, uint32_t worker,
	    uint64_t conn, int32_t prio, int avail);
/* Sets (set) and clears (clear) flag bits of an owned record. */
int	 xf_sess_flags(xf_sess_t *, const char *full, uint32_t worker,
	    uint64_t conn, uint8_t set, uint8_t clear);
/* Deletes only if the record names (worker, conn); XF_DECLINED otherwise. */
int	 xf_sess_del(xf_sess_t *, const char *full, uint32_t worker,
	    uint64_t conn);
/* XF_OK with *out, or XF_DECLINED. */
int	 xf_sess_get(xf_sess_t *, const char *full, xf_sess_rec_t *out);

/* Calls fn for each resource of bare (in key order); fn returns non-zero
 * to stop. */
int	 xf_sess_resources(xf_sess_t *, const char *bare,
	    int (*fn)(void *ud, const char *full, const xf_sess_rec_t *),
	    void *ud);
/* The available resource with the highest non-negative priority (ties:
 * the most recent bind).  XF_DECLINED if none. */
int	 xf_sess_best(xf_sess_t *, const char *bare, char *full, size_t fulllen,
	    xf_sess_rec_t *out);
/* 1 if a resource of bare other than skip (may be NULL) has flag set. */
int	 xf_sess_any_flag(xf_sess_t *, const char *bare, uint8_t flag,
	    const char *skip);
/* Every record; fn returns non-zero to stop. */
int	 xf_sess_foreach(xf_sess_t *,
	    int (*fn)(void *ud, const char *full, const xf_sess_rec_t *),
	    void *ud);
/* Deletes every record of one worker slot, except those kept for a
 * detached SM session (see xf_sess_sm_detach_worker()); *count gets how
 * many. */
int	 xf_sess_clear_worker(xf_sess_t *, uint32_t node, uint32_t worker,
	    size_t *count);

const char *xf_sess_error(const xf_sess_t *);

/* The XEP-0198 state and the login limits share the environment;
 * callers include only this. */
#include "smstate.h"
#include "authlim.h"

#endif /* XF_SESS_H */
