/* control.c: the master's control socket: one JSON request and one JSON reply per xfedctl connection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <jansson.h>

#include "xf.h"
#include "buf.h"
#include "jid.h"
#include "log.h"
#include "msg.h"
#include "master.h"
#include "xmlstream.h"

#define CTL_MAX_REQUEST	(64 * 1024)	/* bytes before the '\n' */
#define CTL_TIMEOUT_MS	5000		/* a whole request and reply */
#define CTL_MAX_CONNS	32		/* open control connections */
#define CTL_PASS_MAX	1023		/* bytes of a password */

#define KICK_COND	"policy-violation"
#define KICK_TEXT	"Kicked by an administrator"

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

static json_t *
reply_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
reply_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static json_t *
reply_err(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;
	json_t	*r, *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever a store or parser error string holds. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if ((r = json_object()) == NULL)
		return NULL;
	if ((s = json_string(msg)) == NULL)	/* not UTF-8: say less */
		s = json_string("request failed (unprintable error)");
	json_object_set_new(r, "ok", json_false());
	json_object_set_new(r, "error", s);
	return r;
}

/* json_string() refuses bytes that are not UTF-8; shm data is untrusted. */
static json_t *
jstr(const char *s)
{
	json_t	*j;

	if ((j = json_string(s)) == NULL)
		j = json_string("?");
	return j;
}

/*
 * Operator input echoed back in an error message: cut long strings so
 * the reply stays one readable line.
 */
static const char *
shorten(const char *s, char *out, size_t outlen)
{
	size_t	 n = strlen(s);

	if (n < outlen) {
		memcpy(out, s, n + 1);
		return out;
	}
	/* Cut at a UTF-8 boundary and mark it. */
	n = outlen - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
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

/* ---- commands ----------------------------------------------------- */

/* arg: a per-command constant from the table below. */
typedef json_t *(*cmd_fn)(xf_master_t *, json_t *req, int arg);

/*
 * Reads a string member.  Returns it, or NULL with *errp set to an
 * error reply when it is missing (and required) or not a string.
 */
static const char *
req_str(json_t *req, const char *key, int required, json_t **errp)
{
	json_t	*v;

	*errp = NULL;
	if ((v = json_object_get(req, key)) == NULL || json_is_null(v)) {
		if (required)
			*errp = reply_err("bad request: missing '%s'", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		*errp = reply_err("bad request: '%s' must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* Parses and normalises a JID member; 1 on success, else *errp. */
static int
req_jid(json_t *req, xf_jid_t *jid, json_t **errp)
{
	const char	*s;
	char		 sh[128];

	if ((s = req_str(req, "jid", 1, errp)) == NULL)
		return 0;
	if (xf_jid_parse(s, json_string_length(json_object_get(req, "jid")),
	    jid) != XF_OK) {
		*errp = reply_err("invalid JID '%s'", shorten(s, sh,
		    sizeof(sh)));
		return 0;
	}
	return 1;
}

/* An account JID: bare, with a localpart, in one of our domains. */
static int
req_account(xf_master_t *m, json_t *req, char *bare, size_t barelen,
    json_t **errp)
{
	xf_jid_t	 jid;
	char		 sh[128];

	if (!req_jid(req, &jid, errp))
		return 0;
	if (xf_jid_bare(&jid, bare, barelen) != XF_OK) {
		*errp = reply_err("invalid JID");
		return 0;
	}
	if (jid.j_resource != NULL) {
		*errp = reply_err("%s/%s is not a bare JID",
		    shorten(bare, sh, sizeof(sh)), jid.j_resource);
		return 0;
	}
	if (jid.j_local == NULL) {
		*errp = reply_err("%s has no localpart", bare);
		return 0;
	}
	if (!xf_conf_is_vhost(m->m_conf, jid.j_domain)) {
		*errp = reply_err("domain %s is not served here",
		    shorten(jid.j_domain, sh, sizeof(sh)));
		return 0;
	}
	return 1;
}

/*
 * The password member.  jansson refuses "\u0000" by default, so the
 * string length is the C string length.
 */
static const char *
req_password(json_t *req, json_t **errp)
{
	const char	*pw;

	if ((pw = req_str(req, "password", 1, errp)) == NULL)
		return NULL;
	if (pw[0] == '\0') {
		*errp = reply_err("empty password");
		return NULL;
	}
	if (strlen(pw) > CTL_PASS_MAX) {
		*errp = reply_err("password longer than %d bytes",
		    CTL_PASS_MAX);
		return NULL;
	}
	return pw;
}

/* jansson's copy of a password: wipe it before the request is freed. */
static void
wipe_password(json_t *req)
{
	json_t	*v = json_object_get(req, "password");

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
		    json_string_length(v));
}

static json_t *
cmd_status(xf_master_t *m, json_t *req, int arg)
{
	json_t		*r, *ws, *w;
	char		 host[256];
	uint64_t	 tconns = 0, tsess = 0;
	int64_t		 now = (int64_t)time(NULL);

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	if ((ws = json_array()) == NULL)
		return NULL;
	for (unsigned i = 0; i < XF_MAX_WORKERS; i++) {
		const xf_wproc_t	*wp = &m->m_workers[i];
		const xf_wstats_t	*st = NULL;
		uint32_t		 nc = 0, ns = 0;

		if (wp->w_state != XF_W_RUNNING && wp->w_state != XF_W_DRAINING)
			continue;
		if (m->m_rings != NULL)
			st = xf_rings_stats(m->m_rings, i);
		if (st != NULL) {
			nc = st->ws_conns;
			ns = st->ws_sessions;
		}
		tconns += nc;
		tsess += ns;
		w = json_pack("{s:I,s:i,s:I,s:s,s:I,s:I,s:I,s:I}",
		    "slot", (json_int_t)i,
		    "index", wp->w_index,
		    "pid", (json_int_t)wp->w_pid,
		    "state", wp->w_state == XF_W_RUNNING ? "running" :
			"draining",
		    "generation", (json_int_t)wp->w_gen,
		    "started", (json_int_t)wp->w_started,
		    "connections", (json_int_t)nc,
		    "sessions", (json_int_t)ns);
		if (w == NULL || json_array_append_new(ws, w) == -1) {
			json_decref(ws);
			return reply_err("out of memory");
		}
	}
	r = json_pack("{s:b,s:o,s:s,s:I,s:I,s:o,s:o,s:I,s:I}",
	    "ok", 1,
	    "node", jstr(host),
	    "version", XF_VERSION,
	    "pid", (json_int_t)getpid(),
	    "uptime", (json_int_t)(m->m_started > 0 && now > m->m_started ?
		now - m->m_started : 0),
	    "config", jstr(m->m_conf->cf_path != NULL ? m->m_conf->cf_path :
		(m->m_conf_path != NULL ? m->m_conf_path : "")),
	    "workers", ws,
	    "connections", (json_int_t)tconns,
	    "sessions", (json_int_t)tsess);
	return r != NULL ? r : reply_err("out of memory");
}

/* One session row for "sessions". */
static json_t *
sess_json(const char *full, const xf_sess_rec_t *rec)
{
	char	 ip[sizeof(rec->sr_ip) + 1];

	/* The record is another process's bytes: bound the string. */
	memcpy(ip, rec->sr_ip, sizeof(rec->sr_ip));
	ip[sizeof(rec->sr_ip)] = '\0';
	return json_pack("{s:o,s:I,s:I,s:o,s:I,s:i,s:b,s:{s:b,s:b,s:b}}",
	    "jid", jstr(full),
	    "node", (json_int_t)rec->sr_node,
	    "worker", (json_int_t)rec->sr_worker,
	    "ip", jstr(ip),
	    "since", (json_int_t)rec->sr_since,
	    "priority", (int)rec->sr_prio,
	    "available", rec->sr_avail != 0,
	    "flags",
	    "carbons", (rec->sr_flags & XF_SESS_CARBONS) != 0,
	    "roster", (rec->sr_flags & XF_SESS_INTERESTED) != 0,
	    "sm", (rec->sr_flags & XF_SESS_SM) != 0);
}

static int
sess_row(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	json_t	*row;

	if ((row = sess_json(full, rec)) == NULL ||
	    json_array_append_new(ud, row) == -1)
		return 1;	/* out of memory: stop, reply with what we have */
	return 0;
}

static json_t *
cmd_sessions(xf_master_t *m, json_t *req, int arg)
{
	json_t		*r, *arr, *err;
	const char	*user;
	xf_jid_t	 jid;
	char		 bare[XF_JID_MAX + 1], sh[128];
	int		 rc;

	if ((user = req_str(req, "user", 0, &err)) == NULL && err != NULL)
		return err;
	if (m->m_sess == NULL)
		return reply_err("no session table");
	if ((arr = json_array()) == NULL)
		return reply_err("out of memory");
	if (user != NULL) {
		if (xf_jid_parse(user, strlen(user), &jid) != XF_OK ||
		    xf_jid_bare(&jid, bare, sizeof(bare)) != XF_OK) {
			json_decref(arr);
			return reply_err("invalid JID '%s'",
			    shorten(user, sh, sizeof(sh)));
		}
		rc = xf_sess_resources(m->m_sess, bare, sess_row, arr);
	} else
		rc = xf_sess_foreach(m->m_sess, sess_row, arr);
	if (rc == XF_ERR) {
		json_decref(arr);
		return reply_err("session table: %s", xf_sess_error(m->m_sess));
	}
	if ((r = reply_ok()) == NULL ||
	    json_object_set_new(r, "sessions", arr) == -1) {
		json_decref(r);
		return reply_err("out of memory");
	}
	return r;
}

/* ---- kick --------------------------------------------------------- */

typedef struct kick_s {
	char		*k_full;	/* owned */
	xf_sess_rec_t	 k_rec;
} kick_t;

typedef struct kicks_s {
	kick_t		*ks_v;
	size_t		 ks_n, ks_cap;
	int		 ks_oom;
} kicks_t;

static int
kick_collect(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	kicks_t	*ks = ud;
	kick_t	*v;

	if (ks->ks_n == ks->ks_cap) {
		size_t	 n = ks->ks_cap ? ks->ks_cap * 2 : 8;

		if ((v = realloc(ks->ks_v, n * sizeof(*v))) == NULL) {
			ks->ks_oom = 1;
			return 1;
		}
		ks->ks_v = v;
		ks->ks_cap = n;
	}
	if ((ks->ks_v[ks->ks_n].k_full = strdup(full)) == NULL) {
		ks->ks_oom = 1;
		return 1;
	}
	ks->ks_v[ks->ks_n].k_rec = *rec;
	ks->ks_n++;
	return 0;
}

static void
kicks_free(kicks_t *ks)
{
	for (size_t i = 0; i < ks->ks_n; i++)
		free(ks->ks_v[i].k_full);
	free(ks->ks_v);
	memset(ks, 0, sizeof(*ks));
}

/*
 * Asks the owning worker to close one session.  The worker checks that
 * connection m_conn is still bound to the JID, so a stale record (the
 * session went away, or a newer bind took the resource) is harmless.
 */
static int
kick_one(xf_master_t *m, const char *full, const xf_sess_rec_t *rec)
{
	xf_msg_t	 msg;
	xf_ring_t	*ring;
	char		*payload;
	size_t		 flen = strlen(full), plen;
	int		 rc;

	/* Sessions of other nodes have no ring here; clustering kicks them. */
	if (rec->sr_node != 0 || rec->sr_worker >= XF_MAX_WORKERS ||
	    m->m_rings == NULL)
		return XF_DECLINED;
	if ((ring = xf_rings_get(m->m_rings, rec->sr_worker)) == NULL)
		return XF_DECLINED;

	plen = flen + sizeof(KICK_COND) + sizeof(KICK_TEXT) - 1;
	if ((payload = malloc(plen)) == NULL)
		return XF_ERR;
	memcpy(payload, full, flen);
	memcpy(payload + flen, KICK_COND, sizeof(KICK_COND));	/* with NUL */
	memcpy(payload + flen + sizeof(KICK_COND), KICK_TEXT,
	    sizeof(KICK_TEXT) - 1);

	memset(&msg, 0, sizeof(msg));
	msg.m_conn = rec->sr_conn;
	msg.m_from_worker = XF_MSG_FROM_MASTER;
	msg.m_tolen = (uint32_t)flen;
	rc = xf_ring_push(ring, XF_MSG_KICK, &msg, sizeof(msg), payload, plen);
	free(payload);
	return rc;
}

/*
 * Kicks every local session of target (full: that one; bare: all its
 * resources).  Returns XF_OK with *kicked, XF_DECLINED when there was no
 * session, or an error reply in *errp.
 */
static int
kick_target(xf_master_t *m, const xf_jid_t *jid, size_t *kicked,
    json_t **errp)
{
	kicks_t		 ks;
	char		 name[XF_JID_MAX + 1];
	xf_sess_rec_t	 rec;
	int		 rc, busy = 0, failed = 0;

	*kicked = 0;
	*errp = NULL;
	memset(&ks, 0, sizeof(ks));
	if (m->m_sess == NULL)
		return XF_DECLINED;
	if (jid->j_resource != NULL) {
		if (xf_jid_full(jid, name, sizeof(name)) != XF_OK) {
			*errp = reply_err("invalid JID");
			return XF_ERR;
		}
		rc = xf_sess_get(m->m_sess, name, &rec);
		if (rc == XF_OK)
			rc = kick_collect(&ks, name, &rec) ? XF_ERR : XF_OK;
	} else {
		if (xf_jid_bare(jid, name, sizeof(name)) != XF_OK) {
			*errp = reply_err("invalid JID");
			return XF_ERR;
		}
		/* Collect first: no ring mutex taken inside a read txn. */
		rc = xf_sess_resources(m->m_sess, name, kick_collect, &ks);
	}
	if (ks.ks_oom) {
		kicks_free(&ks);
		*errp = reply_err("out of memory");
		return XF_ERR;
	}
	if (rc == XF_ERR) {
		kicks_free(&ks);
		*errp = reply_err("session table: %s", xf_sess_error(m->m_sess));
		return XF_ERR;
	}
	for (size_t i = 0; i < ks.ks_n; i++) {
		switch (kick_one(m, ks.ks_v[i].k_full, &ks.ks_v[i].k_rec)) {
		case XF_OK:
			(*kicked)++;
			log_info("control: kicked %s (worker %u, c%llu)",
			    ks.ks_v[i].k_full, ks.ks_v[i].k_rec.sr_worker,
			    (unsigned long long)ks.ks_v[i].k_rec.sr_conn);
			break;
		case XF_AGAIN:
			busy++;
			break;
		case XF_DECLINED:
			break;
		default:
			failed++;
			break;
		}
	}
	kicks_free(&ks);
	if (busy > 0) {
		*errp = reply_err("worker busy, try again");
		return XF_ERR;
	}
	if (failed > 0) {
		*errp = reply_err("cannot queue the kick for %s", name);
		return XF_ERR;
	}
	return *kicked > 0 ? XF_OK : XF_DECLINED;
}

static json_t *
cmd_kick(xf_master_t *m, json_t *req, int arg)
{
	xf_jid_t	 jid;
	json_t		*err, *r;
	char		 name[XF_JID_MAX + 1], sh[128];
	size_t		 kicked;

	if (!req_jid(req, &jid, &err))
		return err;
	if ((jid.j_resource != NULL ? xf_jid_full(&jid, name, sizeof(name)) :
	    xf_jid_bare(&jid, name, sizeof(name))) != XF_OK)
		return reply_err("invalid JID");
	switch (kick_target(m, &jid, &kicked, &err)) {
	case XF_OK:
		break;
	case XF_DECLINED:
		return reply_err("no session for %s",
		    shorten(name, sh, sizeof(sh)));
	default:
		return err;
	}
	if ((r = json_pack("{s:b,s:o,s:I}", "ok", 1, "jid", jstr(name),
	    "kicked", (json_int_t)kicked)) == NULL)
		return reply_err("out of memory");
	return r;
}

/* ---- accounts ----------------------------------------------------- */

/* user-add (create = 1) and user-passwd (create = 0). */
static json_t *
cmd_user_set(xf_master_t *m, json_t *req, int create)
{
	xf_account_t	 acct;
	const char	*pw;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 1], sh[128];
	int		 rc;

	if (!req_account(m, req, bare, sizeof(bare), &err))
		return err;
	if ((pw = req_password(req, &err)) == NULL)
		return err;
	if (m->m_store == NULL)
		return reply_err("no account store");

	memset(&acct, 0, sizeof(acct));
	if (!create) {
		/* Keep the creation time of the account. */
		rc = xf_store_user_get(m->m_store, bare, &acct);
		if (rc == XF_DECLINED)
			return reply_err("no such user %s",
			    shorten(bare, sh, sizeof(sh)));
		if (rc != XF_OK)
			return reply_err("store: %s",
			    xf_store_error(m->m_store));
	} else
		acct.ac_created = (int64_t)time(NULL);

	/*
	 * PBKDF2 at scram-iterations blocks the master for a few ms per
	 * hash; accounts are rare operator actions, and the master carries
	 * no client traffic, so that is cheaper than a helper process.
	 */
	if (xf_cred_make(pw, (unsigned)m->m_conf->cf_scram_iterations,
	    &acct.ac_cred) != XF_OK) {
		explicit_bzero(&acct, sizeof(acct));
		return reply_err("cannot derive SCRAM credentials");
	}
	rc = xf_store_user_put(m->m_store, bare, &acct, create);
	explicit_bzero(&acct, sizeof(acct));
	if (rc == XF_DECLINED)
		return create ?
		    reply_err("user %s exists", shorten(bare, sh, sizeof(sh))) :
		    reply_err("no such user %s", shorten(bare, sh, sizeof(sh)));
	if (rc != XF_OK)
		return reply_err("store: %s", xf_store_error(m->m_store));
	log_info("control: %s %s", create ? "added user" : "new password for",
	    bare);
	if ((r = json_pack("{s:b,s:o}", "ok", 1, "jid", jstr(bare))) == NULL)
		return reply_err("out of memory");
	return r;
}

static json_t *
cmd_user_del(xf_master_t *m, json_t *req, int arg)
{
	xf_jid_t	 jid;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 1], sh[128];
	size_t		 kicked = 0;
	int		 rc;

	if (!req_account(m, req, bare, sizeof(bare), &err))
		return err;
	if (m->m_store == NULL)
		return reply_err("no account store");
	rc = xf_store_user_del(m->m_store, bare);
	if (rc == XF_DECLINED)
		return reply_err("no such user %s",
		    shorten(bare, sh, sizeof(sh)));
	if (rc != XF_OK)
		return reply_err("store: %s", xf_store_error(m->m_store));
	log_info("control: deleted user %s", bare);

	/*
	 * The account is gone whatever happens next; a session we fail to
	 * kick is logged, not reported as a failed delete.
	 */
	if (xf_jid_parse(bare, strlen(bare), &jid) == XF_OK) {
		rc = kick_target(m, &jid, &kicked, &err);
		if (err != NULL) {
			json_t	*e = json_object_get(err, "error");

			log_warnx("control: sessions of deleted user %s: %s",
			    bare, json_is_string(e) ? json_string_value(e) :
			    "kick failed");
			json_decref(err);
		}
	}
	if ((r = json_pack("{s:b,s:o,s:I}", "ok", 1, "jid", jstr(bare),
	    "kicked", (json_int_t)kicked)) == NULL)
		return reply_err("out of memory");
	return r;
}

static int
user_row(void *ud, const char *bare)
{
	json_t	*s;

	if ((s = json_string(bare)) == NULL)
		return 0;	/* not UTF-8: cannot be one of ours, skip */
	return json_array_append_new(ud, s) == -1 ? 1 : 0;
}

static json_t *
cmd_user_list(xf_master_t *m, json_t *req, int arg)
{
	const char	*dom;
	json_t		*err, *arr, *r;
	char		 d[1024], sh[128];

	if ((dom = req_str(req, "domain", 0, &err)) == NULL && err != NULL)
		return err;
	if (dom != NULL) {
		if (strlen(dom) >= sizeof(d)) {
			return reply_err("invalid domain '%s'",
			    shorten(dom, sh, sizeof(sh)));
		}
		memcpy(d, dom, strlen(dom) + 1);
		if (xf_jid_domainpart(d) != XF_OK)
			return reply_err("invalid domain '%s'",
			    shorten(dom, sh, sizeof(sh)));
		dom = d;
	}
	if (m->m_store == NULL)
		return reply_err("no account store");
	if ((arr = json_array()) == NULL)
		return reply_err("out of memory");
	if (xf_store_user_list(m->m_store, dom, user_row, arr) == XF_ERR) {
		json_decref(arr);
		return reply_err("store: %s", xf_store_error(m->m_store));
	}
	if ((r = reply_ok()) == NULL ||
	    json_object_set_new(r, "users", arr) == -1) {
		json_decref(r);
		return reply_err("out of memory");
	}
	return r;
}

/* ---- IM data: rosters and offline messages ------------------------- */

typedef struct im_rows_s {
	json_t	*arr;
	size_t	 olen;
} im_rows_t;

static const char *
sub_name(int state)
{
	static const char *const names[] = { "none", "to", "from", "both" };

	return names[state & 3];
}

/* A stored item: one state byte (subscription bits, 0x4 asked, 0x8
 * pending in, 0x10 hidden request), then the <item/> element. */
static int
roster_row(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	im_rows_t	*rows = ud;
	int		 st;
	xf_el_t		*el, *g;
	json_t		*o, *groups;
	const char	*name;

	if (vlen < 2 || klen <= rows->olen + 1)
		return 0;
	st = *(const unsigned char *)v;
	if ((el = xf_xml_parse((const char *)v + 1, vlen - 1,
	    "jabber:iq:roster")) == NULL)
		return 0;
	if ((groups = json_array()) == NULL) {
		xf_el_free(el);
		return 1;
	}
	for (g = xf_el_first(el); g != NULL; g = xf_el_next(g)) {
		char	*t = xf_el_text(g);

		if (t != NULL)
			json_array_append_new(groups, jstr(t));
		free(t);
	}
	name = xf_el_attr(el, "name");
	o = json_pack("{s:s%,s:s,s:b,s:b,s:o,s:o}",
	    "jid", (const char *)k + rows->olen + 1, klen - rows->olen - 1,
	    "subscription", sub_name(st), "ask", (st & 0x4) != 0,
	    "pending_in", (st & 0x8) != 0,
	    "name", name ? jstr(name) : json_null(), "groups", groups);
	xf_el_free(el);
	return o == NULL || json_array_append_new(rows->arr, o) == -1;
}

static int
offline_row(void *ud, const void *k, size_t klen, const void *v, size_t vlen)
{
	im_rows_t	*rows = ud;
	xf_el_t		*el, *b, *d;
	char		*body = NULL;
	const char	*from, *stamp = NULL;
	json_t		*o;

	if ((el = xf_xml_parse(v, vlen, XF_NS_CLIENT)) == NULL)
		return 0;
	if ((b = xf_el_child(el, XF_NS_CLIENT, "body")) != NULL)
		body = xf_el_text(b);
	if ((d = xf_el_child(el, "urn:xmpp:delay", "delay")) != NULL)
		stamp = xf_el_attr(d, "stamp");
	from = xf_el_attr(el, "from");
	o = json_pack("{s:o,s:o,s:o,s:s%}",
	    "from", from ? jstr(from) : json_null(),
	    "stamp", stamp ? jstr(stamp) : json_null(),
	    "body", body ? jstr(body) : json_null(),
	    "xml", (const char *)v, vlen);
	free(body);
	xf_el_free(el);
	return o == NULL || json_array_append_new(rows->arr, o) == -1;
}

/* roster / offline: one user's rows of one table, decoded. */
static json_t *
cmd_im(xf_master_t *m, json_t *req, int table)
{
	im_rows_t	 rows;
	json_t		*err, *r;
	char		 bare[XF_JID_MAX + 2];
	xf_account_t	 ac;

	if (!req_account(m, req, bare, sizeof(bare) - 1, &err))
		return err;
	if (m->m_store == NULL)
		return reply_err("no account store");
	if (xf_store_user_get(m->m_store, bare, &ac) == XF_DECLINED)
		return reply_err("no such user %s", bare);
	if ((rows.arr = json_array()) == NULL)
		return reply_err("out of memory");
	rows.olen = strlen(bare);
	if (xf_store_scan(m->m_store, table, bare, rows.olen + 1,
	    table == XF_T_ROSTER ? roster_row : offline_row, &rows)
	    == XF_ERR) {
		json_decref(rows.arr);
		return reply_err("store: %s", xf_store_error(m->m_store));
	}
	if ((r = json_pack("{s:b,s:o,s:o}", "ok", 1, "jid", jstr(bare),
	    table == XF_T_ROSTER ? "roster" : "messages", rows.arr)) == NULL)
		return reply_err("out of memory");
	return r;
}

/* ---- master --------------------------------------------------------- */

static json_t *
cmd_reload(xf_master_t *m, json_t *req, int arg)
{
	m->m_want_reload = 1;
	return reply_ok();
}

static json_t *
cmd_stop(xf_master_t *m, json_t *req, int arg)
{
	m->m_want_stop = 1;
	return reply_ok();
}

static const struct {
	const char	*name;
	cmd_fn		 fn;
	int		 arg;
	int		 quiet;		/* reads only: debug, not info, in the log */
} cmds[] = {
	{ "status",		cmd_status,	0, 1 },
	{ "sessions",		cmd_sessions,	0, 1 },
	{ "user-add",		cmd_user_set,	1, 0 },
	{ "user-passwd",	cmd_user_set,	0, 0 },
	{ "user-del",		cmd_user_del,	0, 0 },
	{ "user-list",		cmd_user_list,	0, 1 },
	{ "kick",		cmd_kick,	0, 0 },
	{ "roster",		cmd_im,		XF_T_ROSTER, 1 },
	{ "offline",		cmd_im,		XF_T_OFFLINE, 1 },
	{ "reload",		cmd_reload,	0, 0 },
	{ "stop",		cmd_stop,	0, 0 },
};

static void
conn_request(ctl_conn_t *c, const char *data, size_t len)
{
	json_error_t	 jerr;
	json_t		*req, *reply, *v;
	const char	*cmd;
	char		 sh[64];
	size_t		 i;

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
	for (i = 0; i < XF_NELEM(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			break;
	if (i == XF_NELEM(cmds)) {
		reply = reply_err("unknown command '%s'",
		    shorten(cmd, sh, sizeof(sh)));
		goto done;
	}
	if (cmds[i].quiet)
		log_debug("control: %s from uid %ld pid %ld", cmd,
		    (long)c->cc_uid, (long)c->cc_pid);
	else
		log_info("control: %s from uid %ld pid %ld", cmd,
		    (long)c->cc_uid, (long)c->cc_pid);
	reply = cmds[i].fn(c->cc_m, req, cmds[i].arg);
	v = reply != NULL ? json_object_get(reply, "error") : NULL;
	if (!cmds[i].quiet && json_is_string(v))
		log_info("control: %s failed: %s", cmd, json_string_value(v));
done:
	wipe_password(req);
	json_decref(req);
	if (reply == NULL)
		reply = reply_err("out of memory");
	conn_reply(c, reply);
}
