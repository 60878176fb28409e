/* net.h: sockets: listeners (SO_REUSEPORT, dual stack), non-blocking mode, peer names. */
#ifndef XF_NET_H
#define XF_NET_H

#include <stddef.h>

#include "conf.h"

/*
 * Opens one non-blocking listening socket for l.  A bare port binds
 * [::] with IPV6_V6ONLY off (IPv4 and IPv6 in one socket), falling back
 * to 0.0.0.0 where IPv6 is absent.  reuseport sets SO_REUSEPORT so every
 * worker binds its own socket on the same port.
 */
int	 xf_net_listen(const xf_listen_t *l, int reuseport, int *fd,
	    char *err, size_t errlen);
int	 xf_net_nonblock(int fd);
/* TCP_NODELAY and keepalives on an accepted connection. */
void	 xf_net_tune(int fd);
/* Text address of fd's peer ("127.0.0.1", "::1"); IPv4-mapped shown as v4. */
void	 xf_net_peer(int fd, char *out, size_t outlen);
/* "addr:port" / "[addr]:port" / "*:port" for logs. */
void	 xf_net_listen_name(const xf_listen_t *, char *out, size_t outlen);

#endif /* XF_NET_H */
