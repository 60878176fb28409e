/* http.h: an HTTP/1.1 exchange on a connection until a WebSocket upgrade hands the connection over; names no XMPP. */
#ifndef XF_HTTP_H
#define XF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

typedef struct xf_http_s xf_http_t;
typedef struct xf_http_srv_s xf_http_srv_t;

/*
 * What the HTTP listeners of a process share: the limits, the one path
 * that upgrades to WebSocket (RFC 6455 4.2) with the subprotocol it
 * needs, and the exchanges under way.  Every other request is answered
 * with an error and its connection closed: there is nothing else to
 * serve yet, so there is no keep-alive either.
 */
struct xf_http_srv_s {
	xf_io_t		*hs_io;		/* borrowed */
	size_t		 hs_max_request; /* request line + headers; a body */
	char *const	*hs_origins;	/* borrowed: allowed Origin values,
					 * lowercase; none: any */
	size_t		 hs_norigins;
	uint64_t	 hs_timeout_ms;	/* for the whole request */
	const char	*hs_ws_path;	/* "/xmpp-websocket" */
	const char	*hs_ws_proto;	/* "xmpp" */
	/*
	 * The upgrade is answered (101 queued): c is the callee's, which
	 * takes a reference and becomes its owner.  XF_ERR: it did not,
	 * and c is closed.
	 */
	int		(*hs_upgrade)(void *ud, xf_conn_t *c);
	void		*hs_ud;
	xf_http_t	*hs_list;	/* owned: exchanges under way */
};

/* An exchange on an accepted socket; fd is its own from now on (closed
 * on failure). */
int	 xf_http_accept(xf_http_srv_t *, int fd, int direct_tls);
/* Closes every exchange under way (shutdown, drain). */
void	 xf_http_close_all(xf_http_srv_t *);

#endif /* XF_HTTP_H */
