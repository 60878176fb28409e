/* ipc.h: messages between a node's processes through the workers' rings: pushes with push-back, and a table of handlers for what arrives. */
#ifndef XF_IPC_H
#define XF_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "msg.h"

typedef struct xf_worker_s xf_worker_t;
typedef struct xf_stream_s xf_stream_t;

/* A ring message, sized and split before a handler sees it. */
typedef struct xf_ipc_in_s {
	const xf_msg_t	*in_m;
	const char	*in_to;		/* the target JID, NUL-terminated */
	const char	*in_data;	/* the payload: in_len >= the min */
	size_t		 in_len;
	/* The live stream m_conn when it is still bound to in_to (NULL
	 * otherwise, and always for a handler run later). */
	xf_stream_t	*in_stream;
} xf_ipc_in_t;

typedef void	(*xf_ipc_fn)(xf_worker_t *, const xf_ipc_in_t *);

/*
 * Who handles ring messages of type: the module that owns the type says
 * so at its init (OpenBSD's imsg dispatch, sized as IMSG_SIZE_CHECK
 * does).  A message shorter than min_len bytes of payload, or of a type
 * nobody handles, is logged and dropped: a ring is shared, and one bad
 * message must not stop the others.
 */
void	 xf_ipc_handle(uint32_t type, size_t min_len, xf_ipc_fn);
/* Runs fn(in) where it may wait for the store (a coroutine with pgsql),
 * on a copy of the message: for handling whose order against later
 * messages does not matter. */
void	 xf_ipc_later(xf_worker_t *, const xf_ipc_in_t *, xf_ipc_fn);

/* The ring's own messages (stanzas, kicks); before the modules' init. */
void	 xf_ipc_init(xf_worker_t *);
/*
 * Pushes one message into slot's ring.  When the ring is full it waits
 * on the sending stream (from), which stops being read until its queue
 * is out, or on the worker's queue when from is NULL: push-back, no loss.
 */
int	 xf_ipc_push(xf_worker_t *, xf_stream_t *from, unsigned slot,
	    uint32_t type, uint64_t conn, const char *to, const char *data,
	    size_t len);
void	 xf_ipc_readable(xf_loop_t *, int fd, int mask, void *ud);

#endif /* XF_IPC_H */
