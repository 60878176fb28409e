/* relay.c: xfed-relay, a bare epoll byte relay between paired connections: the upper bound for xfed-bench's chat scenario. */
/*
 * A client connects and sends one line, "RELAY <id> <peer-id>\n".  When
 * the connection that named the reverse pair arrives, both get "OK\n" and
 * from then on every byte one sends is written to the other, unparsed.
 * That is all a chat server must do at the least (read, write), so
 * xfed-bench --relay against it gives the ceiling of this machine.
 *
 * Back-pressure as a server would do it: when the receiver's socket is
 * full the rest waits in its buffer and the sender is not read until the
 * buffer is empty.  One process, one thread: pin it with taskset.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ		65536
#define LINE_MAX_	64

enum { R_LOGIN, R_WAIT, R_PAIRED };

typedef struct rconn_s {
	int		 r_fd;		/* -1: free slot */
	int		 r_state;	/* R_LOGIN, R_WAIT, R_PAIRED */
	int		 r_peer;	/* paired slot, -1 until paired */
	uint32_t	 r_id, r_want;	/* own id, peer's id */
	uint32_t	 r_events;
	int		 r_paused;	/* not read: the peer's buffer is full */
	char		*r_pend;	/* bytes waiting for this socket; owned */
	size_t		 r_plen, r_poff;
	char		 r_line[LINE_MAX_];
	size_t		 r_llen;
} rconn_t;

static rconn_t		*conns;
static int		 nconns;
static int		 ep;
/* Open addressing on id: the slot of the connection that claimed it. */
static int		*ids;
static size_t		 idmask;
static volatile sig_atomic_t stop;
static char		 buf[BUFSZ];

static void
die(const char *what)
{
	fprintf(stderr, "xfed-relay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
on_signal(int sig)
{
	stop = 1;
}

static size_t
id_slot(uint32_t id)
{
	size_t	 h = (id * 2654435761u) & idmask;

	while (ids[h] != -1 && conns[ids[h]].r_id != id)
		h = (h + 1) & idmask;
	return h;
}

/* Removes id from the table (linear probing: re-insert the run after it). */
static void
id_del(uint32_t id)
{
	size_t	 h = id_slot(id), j;
	int	 k;

	if (ids[h] == -1)
		return;
	ids[h] = -1;
	for (j = (h + 1) & idmask; ids[j] != -1; j = (j + 1) & idmask) {
		k = ids[j];
		ids[j] = -1;
		ids[id_slot(conns[k].r_id)] = k;
	}
}

static void
set_events(rconn_t *r, uint32_t ev)
{
	struct epoll_event	 e;

	if (ev == r->r_events)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.u32 = (uint32_t)(r - conns);
	epoll_ctl(ep, EPOLL_CTL_MOD, r->r_fd, &e);
	r->r_events = ev;
}

static void
rclose(rconn_t *r)
{
	int	 p = r->r_peer;

	if (r->r_fd == -1)
		return;
	if (r->r_state != R_LOGIN)
		id_del(r->r_id);
	close(r->r_fd);
	r->r_fd = -1;
	r->r_peer = -1;
	r->r_state = R_LOGIN;
	r->r_plen = r->r_poff = r->r_llen = 0;
	r->r_paused = 0;
	free(r->r_pend);
	r->r_pend = NULL;
	/* A pair lives and dies together. */
	if (p >= 0)
		rclose(&conns[p]);
}

/* Writes data to r, keeping what does not fit; -1 if r died. */
static int
rsend(rconn_t *r, const char *data, size_t len)
{
	ssize_t	 n = 0;

	if (r->r_plen == r->r_poff) {
		n = write(r->r_fd, data, len);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			n = 0;
		}
		if ((size_t)n == len)
			return 0;
	}
	if (r->r_poff > 0 && r->r_poff == r->r_plen)
		r->r_poff = r->r_plen = 0;
	r->r_pend = realloc(r->r_pend, r->r_plen + len - (size_t)n);
	if (r->r_pend == NULL)
		die("realloc");
	memcpy(r->r_pend + r->r_plen, data + n, len - (size_t)n);
	r->r_plen += len - (size_t)n;
	set_events(r, (r->r_paused ? 0 : EPOLLIN) | EPOLLOUT);
	return 0;
}

static void
on_login(rconn_t *r, int slot)
{
	ssize_t	 n;
	unsigned long id, want;
	size_t	 h;
	int	 other;

	n = read(r->r_fd, r->r_line + r->r_llen, LINE_MAX_ - 1 - r->r_llen);
	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		rclose(r);
		return;
	}
	r->r_llen += (size_t)n;
	r->r_line[r->r_llen] = '\0';
	if (strchr(r->r_line, '\n') == NULL) {
		if (r->r_llen >= LINE_MAX_ - 1)
			goto bad;
		return;
	}
	/* The client waits for OK: nothing may follow the line. */
	if (sscanf(r->r_line, "RELAY %lu %lu", &id, &want) != 2 ||
	    id >= UINT32_MAX || want >= UINT32_MAX)
		goto bad;
	r->r_id = (uint32_t)id;
	r->r_want = (uint32_t)want;
	h = id_slot(r->r_id);
	if (ids[h] != -1)
		goto bad;		/* id taken */
	ids[h] = slot;
	r->r_state = R_WAIT;
	if ((other = ids[id_slot(r->r_want)]) == -1 ||
	    conns[other].r_want != r->r_id ||
	    conns[other].r_state != R_WAIT)
		return;
	r->r_peer = other;
	conns[other].r_peer = slot;
	r->r_state = conns[other].r_state = R_PAIRED;
	if (rsend(r, "OK\n", 3) == -1 || rsend(&conns[other], "OK\n", 3) == -1)
		rclose(r);
	return;
bad:
	(void)!write(r->r_fd, "NO\n", 3);
	rclose(r);
}

static void
on_read(rconn_t *r)
{
	rconn_t	*p;
	ssize_t	 n;

	if (r->r_state == R_LOGIN) {
		on_login(r, (int)(r - conns));
		return;
	}
	n = read(r->r_fd, buf, sizeof(buf));
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		rclose(r);
		return;
	}
	if (n == -1)
		return;
	if (r->r_state == R_WAIT)
		return;		/* bytes before OK: dropped */
	p = &conns[r->r_peer];
	if (rsend(p, buf, (size_t)n) == -1) {
		rclose(r);
		return;
	}
	if (p->r_plen > p->r_poff) {
		r->r_paused = 1;
		set_events(r, r->r_plen > r->r_poff ? EPOLLOUT : 0);
	}
}

static void
on_write(rconn_t *r)
{
	ssize_t	 n;

	while (r->r_poff < r->r_plen) {
		n = write(r->r_fd, r->r_pend + r->r_poff, r->r_plen -
		    r->r_poff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			rclose(r);
			return;
		}
		r->r_poff += (size_t)n;
	}
	r->r_poff = r->r_plen = 0;
	set_events(r, r->r_paused ? 0 : EPOLLIN);
	if (r->r_peer >= 0 && conns[r->r_peer].r_paused) {
		rconn_t *s = &conns[r->r_peer];

		s->r_paused = 0;
		set_events(s, EPOLLIN | (s->r_plen > s->r_poff ? EPOLLOUT :
		    0));
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sa;
	struct epoll_event	*evs, e;
	struct rlimit		 rl;
	struct sigaction	 sig;
	char			 host[64], *colon;
	int			 lfd, one = 1, i, n, fd;
	size_t			 tsize = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: xfed-relay ADDR:PORT\n");
		return 2;
	}
	snprintf(host, sizeof(host), "%s", argv[1]);
	if ((colon = strrchr(host, ':')) == NULL) {
		fprintf(stderr, "xfed-relay: want ADDR:PORT\n");
		return 2;
	}
	*colon = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "xfed-relay: %s: not an IPv4 address\n", host);
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	nconns = (int)rl.rlim_cur;
	while (tsize < (size_t)nconns * 2)
		tsize <<= 1;
	idmask = tsize - 1;
	if ((conns = calloc((size_t)nconns, sizeof(*conns))) == NULL ||
	    (ids = malloc(tsize * sizeof(int))) == NULL ||
	    (evs = calloc(1024, sizeof(*evs))) == NULL)
		die("malloc");
	memset(ids, 0xff, tsize * sizeof(int));
	for (i = 0; i < nconns; i++)
		conns[i].r_fd = -1;

	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sig, NULL);
	sig.sa_handler = on_signal;
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("bind");
	if (listen(lfd, 4096) == -1)
		die("listen");
	if ((ep = epoll_create1(0)) == -1)
		die("epoll_create1");
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u32 = UINT32_MAX;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);

	while (!stop) {
		n = epoll_wait(ep, evs, 1024, 500);
		if (n == -1 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			rconn_t *r;

			if (evs[i].data.u32 == UINT32_MAX) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) != -1) {
					if (fd >= nconns) {
						close(fd);
						continue;
					}
					r = &conns[fd];	/* fds are unique */
					memset(r, 0, sizeof(*r));
					r->r_fd = fd;
					r->r_peer = -1;
					r->r_state = R_LOGIN;
					r->r_events = EPOLLIN;
					setsockopt(fd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					memset(&e, 0, sizeof(e));
					e.events = EPOLLIN;
					e.data.u32 = (uint32_t)fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			r = &conns[evs[i].data.u32];
			if (r->r_fd == -1)
				continue;
			if (evs[i].events & EPOLLOUT)
				on_write(r);
			if (r->r_fd != -1 && (evs[i].events &
			    (EPOLLIN | EPOLLERR | EPOLLHUP)) && !r->r_paused)
				on_read(r);
		}
	}
	for (i = 0; i < nconns; i++)
		if (conns[i].r_fd != -1) {
			close(conns[i].r_fd);
			free(conns[i].r_pend);
		}
	free(evs);
	free(ids);
	free(conns);
	return 0;
}
