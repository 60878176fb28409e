/* control.c: the master's control socket: one JSON request and one JSON reply per xfedctl connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <jansson.h>

#include "xf.h"
#include "buf.h"
#include "log.h"
#include "master.h"
#include "control.h"

#define CTL_MAX_REQUEST	(64 * 1024)	/* bytes before the '\n' */
#define CTL_TIMEOUT_MS	5000		/* a whole request and reply */
#define CTL_MAX_CONNS	32		/* open control connections */

/*
 * One xfedctl connection.  It reads until '\n', answers, and closes:
 * there is no state between requests, so a client that dies mid-way
 * costs nothing but its slot until the timer fires.
 */
typedef struct ctl_conn_s ctl_conn_t;
struct ctl_conn_s {
	xf_master_t	*cc_m;		/* borrowed */
	int		 cc_fd;
	uid_t		 cc_uid;	/* peer, for the log */
	pid_t		 cc_pid;
	uint64_t	 cc_timer;
	int		 cc_writing;	/* reply queued, no more reading */
	xf_buf_t	 cc_rbuf;	/* owned; wiped: it may hold a password */
	xf_buf_t	 cc_wbuf;	/* owned */
	ctl_conn_t	*cc_next;
};

/*
 * The master has one control socket, so its connections live in one
 * file-local list.  ctl_pid is the process that created the socket: a
 * forked worker inherits the fds and the epoll instance, and must not
 * unlink the socket or touch the (shared) epoll registrations.
 */
static ctl_conn_t	*ctl_conns;
static size_t		 ctl_nconns;
static pid_t		 ctl_pid;
static char		 ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void	 ctl_accept(xf_loop_t *, int, int, void *);
static void	 conn_io(xf_loop_t *, int, int, void *);
static void	 conn_timeout(xf_loop_t *, void *);
static void	 conn_close(ctl_conn_t *);
static void	 conn_request(ctl_conn_t *, const char *, size_t);
static void	 conn_flush(ctl_conn_t *);

/* ---- socket ------------------------------------------------------- */

int
xf_control_init(xf_master_t *m, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*path = m->m_conf->cf_control_socket;
	mode_t			 old;
	int			 fd = -1, probe;

	m->m_ctl_fd = -1;
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "no control socket configured");
		return XF_ERR;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long "
		    "(max %zu bytes)", path, sizeof(sun.sun_path) - 1);
		return XF_ERR;
	}
	memcpy(sun.sun_path, path, strlen(path));

	/*
	 * A socket file left by a master that died is stale and goes; one a
	 * live master still answers on is not ours to take.  Anything that
	 * is not a socket is left alone: the operator named the wrong path.
	 */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket path %s exists "
			    "and is not a socket", path);
			return XF_ERR;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1) {
			snprintf(err, errlen, "socket failed: %s",
			    strerror(errno));
			return XF_ERR;
		}
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control socket %s is in use by "
			    "a running xfed", path);
			return XF_ERR;
		}
		close(probe);
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "unlink %s failed: %s", path,
			    strerror(errno));
			return XF_ERR;
		}
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "socket failed: %s", strerror(errno));
		return XF_ERR;
	}
	/* The socket is the only access control: owner only from birth. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s failed: %s", path,
		    strerror(errno));
		goto fail;
	}
	umask(old);
	if (chmod(path, 0600) == -1) {
		snprintf(err, errlen, "chmod %s failed: %s", path,
		    strerror(errno));
		goto fail_unlink;
	}
	if (listen(fd, 16) == -1) {
		snprintf(err, errlen, "listen %s failed: %s", path,
		    strerror(errno));
		goto fail_unlink;
	}
	if (xf_loop_add(m->m_loop, fd, XF_EV_READ, ctl_accept, m) != XF_OK) {
		snprintf(err, errlen, "cannot watch control socket: %s",
		    strerror(errno));
		goto fail_unlink;
	}
	memcpy(ctl_path, sun.sun_path, sizeof(ctl_path));
	ctl_pid = getpid();
	m->m_ctl_fd = fd;
	return XF_OK;

fail_unlink:
	unlink(path);
fail:
	close(fd);
	return XF_ERR;
}

/*
 * In the master: drops every connection, closes and unlinks the socket.
 * In a forked child: only closes the inherited fds (the socket file and
 * the epoll registrations belong to the master).
 */
void
xf_control_close(xf_master_t *m)
{
	while (ctl_conns != NULL)
		conn_close(ctl_conns);
	if (m->m_ctl_fd != -1) {
		if (getpid() == ctl_pid) {
			xf_loop_del(m->m_loop, m->m_ctl_fd);
			unlink(ctl_path);
		}
		close(m->m_ctl_fd);
		m->m_ctl_fd = -1;
	}
	if (getpid() == ctl_pid)
		ctl_pid = 0;
}

static void
ctl_accept(xf_loop_t *loop, int lfd, int mask, void *ud)
{
	xf_master_t	*m = ud;
	ctl_conn_t	*c;
	struct ucred	 cred;
	socklen_t	 clen;
	int		 fd;

	/* A few per wake-up: the master has workers to look after too. */
	for (int i = 0; i < 8; i++) {
		if ((fd = accept4(lfd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("control: accept failed");
			return;
		}
		/*
		 * Full: drop the connection that has waited longest, not the
		 * new one, so a stuck script cannot lock the operator out.
		 */
		if (ctl_nconns >= CTL_MAX_CONNS && ctl_conns != NULL) {
			for (c = ctl_conns; c->cc_next != NULL; c = c->cc_next)
				;
			log_warnx("control: %d connections open, dropping "
			    "the oldest (pid %ld)", CTL_MAX_CONNS,
			    (long)c->cc_pid);
			conn_close(c);
		}
		memset(&cred, 0, sizeof(cred));
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &clen) == -1) {
			cred.uid = (uid_t)-1;
			cred.pid = 0;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("control: calloc failed");
			close(fd);
			continue;
		}
		c->cc_m = m;
		c->cc_fd = fd;
		c->cc_uid = cred.uid;
		c->cc_pid = cred.pid;
		if (xf_loop_add(loop, fd, XF_EV_READ, conn_io, c) != XF_OK) {
			log_warn("control: cannot watch connection");
			close(fd);
			free(c);
			continue;
		}
		if ((c->cc_timer = xf_loop_timer(loop, CTL_TIMEOUT_MS,
		    conn_timeout, c)) == 0) {
			log_warnx("control: cannot arm timer");
			xf_loop_del(loop, fd);
			close(fd);
			free(c);
			continue;
		}
		c->cc_next = ctl_conns;
		ctl_conns = c;
		ctl_nconns++;
	}
}

/*
 * The one place a connection's memory is freed.  In a forked child the
 * epoll instance is still the master's: deleting from it there would
 * silence the master's connection, so the child only closes its copy.
 */
static void
conn_close(ctl_conn_t *c)
{
	ctl_conn_t	**pp;

	for (pp = &ctl_conns; *pp != NULL; pp = &(*pp)->cc_next)
		if (*pp == c) {
			*pp = c->cc_next;
			ctl_nconns--;
			break;
		}
	xf_loop_timer_del(c->cc_m->m_loop, c->cc_timer);
	if (getpid() == ctl_pid)
		xf_loop_del(c->cc_m->m_loop, c->cc_fd);
	close(c->cc_fd);
	if (c->cc_rbuf.b_data != NULL)
		explicit_bzero(c->cc_rbuf.b_data, c->cc_rbuf.b_cap);
	xf_buf_free(&c->cc_rbuf);
	xf_buf_free(&c->cc_wbuf);
	free(c);
}

static void
conn_timeout(xf_loop_t *loop, void *ud)
{
	ctl_conn_t	*c = ud;

	log_debug("control: connection from pid %ld timed out",
	    (long)c->cc_pid);
	c->cc_timer = 0;	/* fired: nothing to delete */
	conn_close(c);
}

/* ---- replies ------------------------------------------------------ */

/* Queues reply (consumed) plus '\n' and starts writing. */
static void
conn_reply(ctl_conn_t *c, json_t *reply)
{
	char	*s;

	c->cc_writing = 1;
	if (reply == NULL ||
	    (s = json_dumps(reply, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL) {
		json_decref(reply);
		log_warnx("control: cannot serialise reply");
		conn_close(c);
		return;
	}
	json_decref(reply);
	if (xf_buf_puts(&c->cc_wbuf, s) != XF_OK ||
	    xf_buf_append(&c->cc_wbuf, "\n", 1) != XF_OK) {
		free(s);
		log_warnx("control: out of memory for a reply");
		conn_close(c);
		return;
	}
	free(s);
	/*
	 * Write at once: most replies fit the socket buffer, and a "stop"
	 * reply must leave before the loop that would send it ends.
	 */
	conn_flush(c);
}

/* ---- reading ------------------------------------------------------ */

static void
conn_flush(ctl_conn_t *c)
{
	ssize_t	 n;

	while (xf_buf_size(&c->cc_wbuf) > 0) {
		n = send(c->cc_fd, xf_buf_data(&c->cc_wbuf),
		    xf_buf_size(&c->cc_wbuf), MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (xf_loop_mod(c->cc_m->m_loop, c->cc_fd,
				    XF_EV_WRITE) != XF_OK) {
					log_warn("control: epoll_ctl failed");
					conn_close(c);
				}
				return;
			}
			log_debug("control: send failed: %s", strerror(errno));
			conn_close(c);
			return;
		}
		xf_buf_consume(&c->cc_wbuf, (size_t)n);
	}
	conn_close(c);
}

static void
conn_io(xf_loop_t *loop, int fd, int mask, void *ud)
{
	ctl_conn_t	*c = ud;
	const char	*nl;
	ssize_t		 n;
	size_t		 len;

	if (c->cc_writing) {
		if (mask & XF_EV_WRITE)
			conn_flush(c);
		return;
	}
	if (!(mask & XF_EV_READ))
		return;

	for (;;) {
		if (xf_buf_reserve(&c->cc_rbuf, 4096) != XF_OK) {
			conn_reply(c, reply_err("out of memory"));
			return;
		}
		n = recv(fd, c->cc_rbuf.b_data + c->cc_rbuf.b_len,
		    c->cc_rbuf.b_cap - c->cc_rbuf.b_len, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_debug("control: recv failed: %s", strerror(errno));
			conn_close(c);
			return;
		}
		if (n == 0) {
			/*
			 * The client half-closed without a newline: take what
			 * it sent as the request, or just go if it sent none.
			 */
			if (xf_buf_size(&c->cc_rbuf) == 0) {
				conn_close(c);
				return;
			}
			conn_request(c, xf_buf_data(&c->cc_rbuf),
			    xf_buf_size(&c->cc_rbuf));
			return;
		}
		len = xf_buf_size(&c->cc_rbuf);
		c->cc_rbuf.b_len += (size_t)n;
		/* Only the new bytes can hold the first newline. */
		nl = memchr(xf_buf_data(&c->cc_rbuf) + len, '\n', (size_t)n);
		if (nl != NULL) {
			conn_request(c, xf_buf_data(&c->cc_rbuf),
			    (size_t)(nl - xf_buf_data(&c->cc_rbuf)));
			return;
		}
		if (xf_buf_size(&c->cc_rbuf) > CTL_MAX_REQUEST) {
			conn_reply(c, reply_err("bad request: larger than "
			    "%d bytes", CTL_MAX_REQUEST));
			return;
		}
	}
}

/* ---- dispatch ----------------------------------------------------- */

/* jansson's copy of a password: wipe it before the request is freed. */
static void
wipe_password(json_t *req)
{
	json_t	*v = json_object_get(req, "password");

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
}

static void
conn_request(ctl_conn_t *c, const char *data, size_t len)
{
	json_error_t	 jerr;
	json_t		*req, *reply, *v;
	const xf_ctlcmd_t	*ct;
	const char	*cmd;
	char		 sh[64];

	req = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	/* The request bytes may hold a password: gone before anything else. */
	explicit_bzero(c->cc_rbuf.b_data, c->cc_rbuf.b_cap);
	xf_buf_reset(&c->cc_rbuf);
	if (req == NULL) {
		conn_reply(c, reply_err("bad request: %s", jerr.text));
		return;
	}
	if (!json_is_object(req)) {
		reply = reply_err("bad request: not a JSON object");
		goto done;
	}
	if ((v = json_object_get(req, "cmd")) == NULL || !json_is_string(v)) {
		reply = reply_err("bad request: 'cmd' must be a string");
		goto done;
	}
	cmd = json_string_value(v);
	if ((ct = xf_ctlcmd_find(cmd)) == NULL) {
		reply = reply_err("unknown command '%s'",
		    shorten(cmd, sh, sizeof(sh)));
		goto done;
	}
	if (ct->cm_quiet)
		log_debug("control: %s from uid %ld pid %ld", cmd,
		    (long)c->cc_uid, (long)c->cc_pid);
	else
		log_info("control: %s from uid %ld pid %ld", cmd,
		    (long)c->cc_uid, (long)c->cc_pid);
	reply = ct->cm_fn(c->cc_m, req, ct->cm_arg);
	v = reply != NULL ? json_object_get(reply, "error") : NULL;
	if (!ct->cm_quiet && json_is_string(v))
		log_info("control: %s failed: %s", cmd, json_string_value(v));
done:
	wipe_password(req);
	json_decref(req);
	if (reply == NULL)
		reply = reply_err("out of memory");
	conn_reply(c, reply);
}
