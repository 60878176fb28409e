/* msg.h: the messages that cross processes through a worker's ring. */
#ifndef XF_MSG_H
#define XF_MSG_H

#include <stdint.h>

/*
 * Every ring message starts with xf_msg_t, then m_tolen bytes of the
 * target full JID (no NUL), then the payload (m_type specific).  The
 * consumer checks sizes before reading (the ring gives the total length).
 *
 * XF_MSG_STANZA  payload: one serialised stanza (jabber:client context)
 *                for connection m_conn bound to the target JID.
 * XF_MSG_KICK    payload: stream error condition, then NUL, then text;
 *                close connection m_conn if still bound to the target JID.
 * XF_MSG_PROBE   payload: a JID; send it the current presence of
 *                connection m_conn (the target JID).
 * XF_MSG_SM_WAKE no payload; connection m_conn (the target JID) has
 *                stanzas in its XEP-0198 inbox (worker/sm.c): write them.
 * XF_MSG_GONE    no payload; the target's session vanished with its
 *                worker: broadcast unavailable presence for it.
 * XF_MSG_BLOCKS  no payload, m_conn 0; the target is a bare JID whose
 *                XEP-0191 blocklist changed in the store: drop it from
 *                the worker's cache (worker/blocking.c).
 */
enum {
	XF_MSG_STANZA = 1,
	XF_MSG_KICK = 2,
	XF_MSG_PROBE = 3,	/* payload: the JID asking for presence */
	XF_MSG_GONE = 4,	/* master: the target's worker died */
	XF_MSG_SM_WAKE = 5,	/* the target's SM inbox has stanzas */
	XF_MSG_BLOCKS = 6,	/* the target's blocklist changed */
};

typedef struct xf_msg_s {
	uint64_t	m_conn;
	uint32_t	m_from_worker;	/* sender slot, or UINT32_MAX = master */
	uint32_t	m_tolen;
} xf_msg_t;

#define XF_MSG_FROM_MASTER	UINT32_MAX

#endif /* XF_MSG_H */
