/* net.c: sockets: listeners (SO_REUSEPORT, dual stack), non-blocking mode, peer names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "xf.h"
#include "net.h"

int
xf_net_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return XF_ERR;
	return XF_OK;
}

static int
try_listen(int family, const struct sockaddr *sa, socklen_t salen,
    int v6only, int reuseport, int *fdp, char *err, size_t errlen)
{
	int	 fd, on = 1;

	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket failed: %s", strerror(errno));
		return XF_ERR;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1)) {
		snprintf(err, errlen, "setsockopt(SO_REUSE*) failed: %s",
		    strerror(errno));
		goto fail;
	}
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &v6only, sizeof(v6only)) == -1) {
		snprintf(err, errlen, "setsockopt(IPV6_V6ONLY) failed: %s",
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, sa, salen) == -1) {
		snprintf(err, errlen, "bind failed: %s", strerror(errno));
		goto fail;
	}
	if (listen(fd, 1024) == -1) {
		snprintf(err, errlen, "listen failed: %s", strerror(errno));
		goto fail;
	}
	*fdp = fd;
	return XF_OK;
fail:
	close(fd);
	return XF_ERR;
}

int
xf_net_listen(const xf_listen_t *l, int reuseport, int *fd, char *err,
    size_t errlen)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)l->l_port);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)l->l_port);

	if (l->l_addr[0] == '\0') {
		sin6.sin6_addr = in6addr_any;
		if (try_listen(AF_INET6, (struct sockaddr *)&sin6, sizeof(sin6),
		    0, reuseport, fd, err, errlen) == XF_OK)
			return XF_OK;
		if (errno != EAFNOSUPPORT)
			return XF_ERR;
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		return try_listen(AF_INET, (struct sockaddr *)&sin, sizeof(sin),
		    0, reuseport, fd, err, errlen);
	}
	if (inet_pton(AF_INET, l->l_addr, &sin.sin_addr) == 1)
		return try_listen(AF_INET, (struct sockaddr *)&sin, sizeof(sin),
		    0, reuseport, fd, err, errlen);
	if (inet_pton(AF_INET6, l->l_addr, &sin6.sin6_addr) == 1)
		return try_listen(AF_INET6, (struct sockaddr *)&sin6,
		    sizeof(sin6), 1, reuseport, fd, err, errlen);
	snprintf(err, errlen, "bad listen address '%s'", l->l_addr);
	return XF_ERR;
}

/*
 * Per-connection options: no Nagle delay (stanzas are small and written
 * once per loop turn already), and keepalives so a peer that vanished
 * without a FIN is noticed within minutes, not hours.
 */
void
xf_net_tune(int fd)
{
	int	 on = 1, idle = 120, intvl = 20, cnt = 4;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void
xf_net_peer(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	snprintf(out, outlen, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    out, (socklen_t)outlen);
	else if (ss.ss_family == AF_INET6) {
		struct in6_addr	*a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out,
			    (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	} else if (ss.ss_family == AF_UNIX)
		snprintf(out, outlen, "unix");
}

void
xf_net_listen_name(const xf_listen_t *l, char *out, size_t outlen)
{
	if (l->l_addr[0] == '\0')
		snprintf(out, outlen, "*:%d", l->l_port);
	else if (strchr(l->l_addr, ':'))
		snprintf(out, outlen, "[%s]:%d", l->l_addr, l->l_port);
	else
		snprintf(out, outlen, "%s:%d", l->l_addr, l->l_port);
}
