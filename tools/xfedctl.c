/* xfedctl.c: the operator's command line: one request to a running master over its control socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "ctldb.h"

#define DEFAULT_CONF	"/etc/xfed/xfed.conf"
#define TIMEOUT_MS	10000
#define PASS_MAX	1023
#define REPLY_MAX	(256u * 1024 * 1024)	/* a sessions list, generously */

#define USAGE	"usage: xfedctl [-s socket | -c file] [--json] " \
		"status|sessions|user|roster|offline|kick|reload|stop|db|" \
		"help [args]"

static int	 opt_json;

static void	 die(const char *, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void	 usage(const char *)
	__attribute__((noreturn));
static void	 help(void)
	__attribute__((noreturn));

/* Every failure is one line on stderr and exit 1. */
static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("xfedctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
usage(const char *line)
{
	fprintf(stderr, "%s\n", line != NULL ? line : USAGE);
	exit(2);
}

static void
help(void)
{
	printf(
"usage: xfedctl [-s socket | -c file] [--json] command [args]\n"
"\n"
"commands:\n"
"  status               node, version, uptime and the workers\n"
"  sessions [BARE]      bound sessions, all or of one user\n"
"  user add JID         create an account (password from stdin)\n"
"  user passwd JID      set an account's password (from stdin)\n"
"  user del JID         delete an account and kick its sessions\n"
"  user list [DOMAIN]   accounts, all or of one domain\n"
"  roster JID           an account's roster\n"
"  offline JID          an account's offline messages\n"
"  kick JID             close one session (full JID) or all (bare JID)\n"
"  reload               re-read the configuration (like SIGHUP)\n"
"  stop                 stop the node (like SIGTERM)\n"
"  db init              create the PostgreSQL schema (backend 'pgsql')\n"
"  db migrate-from-lmdb DIR\n"
"                       copy the LMDB store in DIR into PostgreSQL\n"
"  help                 this text\n"
"\n"
"options:\n"
"  -s SOCKET            control socket (overrides the configuration)\n"
"  -c FILE              configuration to take 'control-socket' from, and\n"
"                       'storage' for db (default $XFED_CONF or\n"
"                       " DEFAULT_CONF ")\n"
"  --json               print the reply as one line of JSON\n"
"\n"
"environment: XFED_SOCKET, XFED_CONF, XFED_SCHEMA (db init)\n");
	exit(0);
}

/* ---- socket -------------------------------------------------------- */

/*
 * The socket path: -s, else 'control-socket' of -c FILE, else
 * $XFED_SOCKET, else that of $XFED_CONF or the default file.  An explicit
 * option beats the environment.  Returns a string the caller frees.
 */
static char *
socket_path(const char *opt_sock, const char *opt_conf)
{
	xf_conf_t	*cf;
	const char	*path, *env;
	char		 err[1024], *s;

	if (opt_sock != NULL)
		path = opt_sock;
	else if (opt_conf == NULL && (env = getenv("XFED_SOCKET")) != NULL &&
	    env[0] != '\0')
		path = env;
	else {
		path = opt_conf;
		if (path == NULL && ((path = getenv("XFED_CONF")) == NULL ||
		    path[0] == '\0'))
			path = DEFAULT_CONF;
		if (xf_conf_load(path, &cf, err, sizeof(err)) != XF_OK)
			die("%s", err);
		if (cf->cf_control_socket == NULL ||
		    cf->cf_control_socket[0] == '\0')
			die("%s: no 'control-socket' configured", path);
		if ((s = strdup(cf->cf_control_socket)) == NULL)
			die("out of memory");
		xf_conf_free(cf);
		return s;
	}
	if ((s = strdup(path)) == NULL)
		die("out of memory");
	return s;
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline; dies on timeout. */
static void
wait_fd(int fd, short events, int64_t deadline, const char *path)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			die("timed out talking to %s", path);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return;
		if (n == -1 && errno != EINTR)
			die("poll failed: %s", strerror(errno));
	}
}

/* A connected socket to the master, or death with the reason. */
static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { TIMEOUT_MS / 1000, 0 };
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("cannot connect to %s: %s", path, strerror(ENAMETOOLONG));
	memcpy(sun.sun_path, path, strlen(path));

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket failed: %s", strerror(errno));
	/* connect() on a full backlog blocks; SO_SNDTIMEO bounds it. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			die("timed out talking to %s", path);
		die("cannot connect to %s: %s", path, strerror(errno));
	}
	return fd;
}

/*
 * Sends req (one line) and returns the reply line, NUL-terminated, in
 * reply.  The whole exchange must finish within TIMEOUT_MS.
 */
static void
exchange(const char *path, const char *req, size_t reqlen, xf_buf_t *reply)
{
	int64_t		 deadline = now_ms() + TIMEOUT_MS;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	fd = connect_to(path);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		die("fcntl failed: %s", strerror(errno));

	while (off < reqlen) {
		wait_fd(fd, POLLOUT, deadline, path);
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("cannot send to %s: %s", path, strerror(errno));
		}
		off += (size_t)n;
	}

	for (;;) {
		if (xf_buf_size(reply) > REPLY_MAX)
			die("reply from %s is too large", path);
		if (xf_buf_reserve(reply, 65536) != XF_OK)
			die("out of memory");
		wait_fd(fd, POLLIN, deadline, path);
		n = recv(fd, reply->b_data + reply->b_len,
		    reply->b_cap - reply->b_len, 0);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("cannot read from %s: %s", path, strerror(errno));
		}
		if (n == 0) {
			if (xf_buf_size(reply) == 0)
				die("%s closed the connection without a reply",
				    path);
			break;
		}
		reply->b_len += (size_t)n;
		/* Only the new bytes can hold the line's end. */
		if (memchr(reply->b_data + reply->b_len - (size_t)n, '\n',
		    (size_t)n) != NULL)
			break;
	}
	close(fd);
	if (xf_buf_cstr(reply) == NULL)
		die("out of memory");
}

/*
 * One request: returns the reply object (ok == true) or dies with the
 * master's error message.
 */
static json_t *
request(const char *path, json_t *req)
{
	xf_buf_t	 out, in;
	json_error_t	 jerr;
	json_t		*reply, *ok, *e;
	char		*s;

	if ((s = json_dumps(req, JSON_COMPACT)) == NULL)
		die("out of memory");
	memset(&out, 0, sizeof(out));
	memset(&in, 0, sizeof(in));
	if (xf_buf_puts(&out, s) != XF_OK || xf_buf_puts(&out, "\n") != XF_OK)
		die("out of memory");
	/* The request may carry a password: wipe every copy. */
	explicit_bzero(s, strlen(s));
	free(s);
	exchange(path, xf_buf_data(&out), xf_buf_size(&out), &in);
	explicit_bzero(out.b_data, out.b_cap);
	xf_buf_free(&out);

	reply = json_loads(xf_buf_data(&in), JSON_DISABLE_EOF_CHECK, &jerr);
	xf_buf_free(&in);
	if (reply == NULL || !json_is_object(reply))
		die("bad reply from %s: %s", path,
		    reply == NULL ? jerr.text : "not a JSON object");
	ok = json_object_get(reply, "ok");
	if (!json_is_boolean(ok))
		die("bad reply from %s: no 'ok'", path);
	if (!json_is_true(ok)) {
		e = json_object_get(reply, "error");
		die("%s", json_is_string(e) ? json_string_value(e) :
		    "request failed");
	}
	return reply;
}

/* ---- password ------------------------------------------------------- */

static struct termios	 tty_saved;
static volatile sig_atomic_t tty_changed;

static void
tty_restore(int sig)
{
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	/* Leave the way the signal would have, with the terminal sane. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line from stdin into buf; returns its length without the
 * line end, or -1 when it does not fit (the rest of the line is read
 * and dropped).  Never dies: the terminal may have echo off.
 */
static ssize_t
read_line(char *buf, size_t buflen)
{
	size_t	 n = 0;
	int	 ch, toolong = 0;

	while ((ch = getchar()) != EOF && ch != '\n') {
		if (n + 1 >= buflen)
			toolong = 1;
		else
			buf[n++] = (char)ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (toolong) {
		explicit_bzero(buf, buflen);
		return -1;
	}
	return (ssize_t)n;
}

static ssize_t
prompt(const char *what, char *buf, size_t buflen)
{
	struct termios		 t;
	struct sigaction	 sa, old[3];
	const int		 sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	ssize_t			 n;

	if (tcgetattr(STDIN_FILENO, &tty_saved) == -1)
		die("tcgetattr failed: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_restore;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	fputs(what, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		die("tcsetattr failed: %s", strerror(errno));
	tty_changed = 1;
	n = read_line(buf, buflen);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	tty_changed = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	fputc('\n', stderr);
	return n;
}

/*
 * The new password: typed twice with echo off on a terminal, else the
 * first line of stdin (so scripts can pipe it: never on the command
 * line, where ps(1) would show it).
 */
static void
read_password(char *pw, size_t pwlen)
{
	char	 again[PASS_MAX + 2];
	ssize_t	 n;

	/* No copy of the password left behind in a stdio buffer. */
	setvbuf(stdin, NULL, _IONBF, 0);
	if (isatty(STDIN_FILENO)) {
		if ((n = prompt("Password: ", pw, pwlen)) > 0 &&
		    (prompt("Retype password: ", again, sizeof(again)) != n ||
		    strcmp(pw, again) != 0)) {
			explicit_bzero(again, sizeof(again));
			explicit_bzero(pw, pwlen);
			die("passwords do not match");
		}
		explicit_bzero(again, sizeof(again));
	} else
		n = read_line(pw, pwlen);
	if (ferror(stdin))
		die("cannot read the password: %s", strerror(errno));
	if (n == -1)
		die("password longer than %d bytes", PASS_MAX);
	if (n == 0)
		die("empty password");
}

/* ---- output --------------------------------------------------------- */

static json_int_t
jint(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *
jstring(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "?";
}

/* The reply minus "ok", as one line: what --json prints. */
static void
print_json(json_t *reply)
{
	char	*s;

	json_object_del(reply, "ok");
	if ((s = json_dumps(reply, JSON_COMPACT)) == NULL)
		die("out of memory");
	printf("%s\n", s);
	free(s);
}

static void
fmt_time(json_int_t t, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "-");
}

static void
fmt_uptime(json_int_t s, char *out, size_t outlen)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, outlen, "%lldd %02lld:%02lld:%02lld",
		    s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
	else
		snprintf(out, outlen, "%02lld:%02lld:%02lld",
		    s / 3600, s % 3600 / 60, s % 60);
}

static void
print_status(json_t *r)
{
	json_t	*ws = json_object_get(r, "workers"), *w;
	char	 up[64], started[32];
	size_t	 i;

	fmt_uptime(jint(r, "uptime"), up, sizeof(up));
	printf("node:        %s\n", jstring(r, "node"));
	printf("version:     %s\n", jstring(r, "version"));
	printf("pid:         %lld\n", jint(r, "pid"));
	printf("uptime:      %s\n", up);
	printf("config:      %s\n", jstring(r, "config"));
	printf("store:       %s\n", jstring(r, "store"));
	printf("connections: %lld\n", jint(r, "connections"));
	printf("sessions:    %lld\n", jint(r, "sessions"));
	if (!json_is_array(ws) || json_array_size(ws) == 0) {
		printf("\nno workers\n");
		return;
	}
	printf("\n%-4s  %-5s  %-7s  %-8s  %-19s  %11s  %8s\n", "SLOT",
	    "INDEX", "PID", "STATE", "STARTED", "CONNECTIONS", "SESSIONS");
	json_array_foreach(ws, i, w) {
		fmt_time(jint(w, "started"), started, sizeof(started));
		printf("%-4lld  %-5lld  %-7lld  %-8s  %-19s  %11lld  %8lld\n",
		    jint(w, "slot"), jint(w, "index"), jint(w, "pid"),
		    jstring(w, "state"), started, jint(w, "connections"),
		    jint(w, "sessions"));
	}
}

/* Display width of a UTF-8 string, one column per code point. */
static int
width(const char *s)
{
	int	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
pad(const char *s, int w)
{
	fputs(s, stdout);
	for (int n = width(s); n < w; n++)
		putchar(' ');
}

static void
print_sessions(json_t *r)
{
	json_t	*ss = json_object_get(r, "sessions"), *s;
	int	 wj = 3, wi = 2;
	char	 since[32], worker[32];
	size_t	 i;

	if (!json_is_array(ss) || json_array_size(ss) == 0) {
		printf("no sessions\n");
		return;
	}
	json_array_foreach(ss, i, s) {
		if (width(jstring(s, "jid")) > wj)
			wj = width(jstring(s, "jid"));
		if (width(jstring(s, "ip")) > wi)
			wi = width(jstring(s, "ip"));
	}
	pad("JID", wj);
	printf("  WORKER  ");
	pad("IP", wi);
	printf("  %-19s  %4s  %s\n", "SINCE", "PRIO", "AVAIL");
	json_array_foreach(ss, i, s) {
		/* A session of another node shows as node/worker. */
		if (jint(s, "node") != 0)
			snprintf(worker, sizeof(worker), "%lld/%lld",
			    jint(s, "node"), jint(s, "worker"));
		else
			snprintf(worker, sizeof(worker), "%lld",
			    jint(s, "worker"));
		fmt_time(jint(s, "since"), since, sizeof(since));
		pad(jstring(s, "jid"), wj);
		printf("  %-6s  ", worker);
		pad(jstring(s, "ip"), wi);
		printf("  %-19s  %4lld  %s\n", since, jint(s, "priority"),
		    json_is_true(json_object_get(s, "available")) ? "yes" :
		    "no");
	}
}

static void
print_users(json_t *r)
{
	json_t	*us = json_object_get(r, "users"), *u;
	size_t	 i;

	if (!json_is_array(us))
		return;
	json_array_foreach(us, i, u)
		if (json_is_string(u))
			printf("%s\n", json_string_value(u));
}

/* ---- commands ------------------------------------------------------- */

/*
 * argv here starts at the command.  Builds the request; *kind says how
 * to print the reply, *needpw that it still wants a "password".
 */
enum { OUT_STATUS, OUT_SESSIONS, OUT_USERS, OUT_ADDED, OUT_PASSWD,
    OUT_DELETED, OUT_KICKED, OUT_RELOAD, OUT_STOP, OUT_ROSTER, OUT_OFFLINE };

static json_t *
build(int argc, char **argv, int *kind, int *needpw)
{
	const char	*cmd = argv[0];
	json_t		*req;

	if ((req = json_object()) == NULL)
		die("out of memory");
#define SET(k, v)	do {						\
	if (json_object_set_new(req, (k), (v)) == -1)			\
		die("'%s' is not valid UTF-8", (k));			\
} while (0)

	if (strcmp(cmd, "status") == 0) {
		if (argc != 1)
			usage("usage: xfedctl status");
		SET("cmd", json_string("status"));
		*kind = OUT_STATUS;
	} else if (strcmp(cmd, "sessions") == 0) {
		if (argc > 2)
			usage("usage: xfedctl sessions [BARE-JID]");
		SET("cmd", json_string("sessions"));
		if (argc == 2)
			SET("user", json_string(argv[1]));
		*kind = OUT_SESSIONS;
	} else if (strcmp(cmd, "user") == 0) {
		const char	*sub = argc > 1 ? argv[1] : "";

		if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
			if (argc != 3)
				usage(sub[0] == 'a' ? "usage: xfedctl user add JID" :
				    "usage: xfedctl user passwd JID");
			SET("cmd", json_string(sub[0] == 'a' ? "user-add" :
			    "user-passwd"));
			SET("jid", json_string(argv[2]));
			*needpw = 1;
			*kind = sub[0] == 'a' ? OUT_ADDED : OUT_PASSWD;
		} else if (strcmp(sub, "del") == 0) {
			if (argc != 3)
				usage("usage: xfedctl user del JID");
			SET("cmd", json_string("user-del"));
			SET("jid", json_string(argv[2]));
			*kind = OUT_DELETED;
		} else if (strcmp(sub, "list") == 0) {
			if (argc > 3)
				usage("usage: xfedctl user list [DOMAIN]");
			SET("cmd", json_string("user-list"));
			if (argc == 3)
				SET("domain", json_string(argv[2]));
			*kind = OUT_USERS;
		} else
			usage("usage: xfedctl user add|passwd|del JID | "
			    "user list [DOMAIN]");
	} else if (strcmp(cmd, "kick") == 0) {
		if (argc != 2)
			usage("usage: xfedctl kick JID");
		SET("cmd", json_string("kick"));
		SET("jid", json_string(argv[1]));
		*kind = OUT_KICKED;
	} else if (strcmp(cmd, "roster") == 0 || strcmp(cmd, "offline") == 0) {
		if (argc != 2)
			usage(cmd[0] == 'r' ? "usage: xfedctl roster JID" :
			    "usage: xfedctl offline JID");
		SET("cmd", json_string(cmd));
		SET("jid", json_string(argv[1]));
		*kind = cmd[0] == 'r' ? OUT_ROSTER : OUT_OFFLINE;
	} else if (strcmp(cmd, "reload") == 0 || strcmp(cmd, "stop") == 0) {
		if (argc != 1)
			usage(cmd[0] == 'r' ? "usage: xfedctl reload" :
			    "usage: xfedctl stop");
		SET("cmd", json_string(cmd));
		*kind = cmd[0] == 'r' ? OUT_RELOAD : OUT_STOP;
	} else
		usage(NULL);
#undef SET
	return req;
}

static const char *
jopt(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static void
print_roster(json_t *r)
{
	json_t	*items = json_object_get(r, "roster"), *it, *g;
	size_t	 i, j;

	if (json_array_size(items) == 0) {
		printf("roster of %s is empty\n", jopt(r, "jid"));
		return;
	}
	printf("%-40s %-6s %-4s %-8s %-20s %s\n", "JID", "SUB", "ASK",
	    "PENDING", "NAME", "GROUPS");
	json_array_foreach(items, i, it) {
		printf("%-40s %-6s %-4s %-8s %-20s ", jopt(it, "jid"),
		    jopt(it, "subscription"),
		    json_is_true(json_object_get(it, "ask")) ? "yes" : "-",
		    json_is_true(json_object_get(it, "pending_in")) ? "in" :
		    "-", jopt(it, "name"));
		json_array_foreach(json_object_get(it, "groups"), j, g)
			printf("%s%s", j ? "," : "", json_string_value(g));
		printf("\n");
	}
}

static void
print_offline(json_t *r)
{
	json_t	*msgs = json_object_get(r, "messages"), *m;
	size_t	 i;

	if (json_array_size(msgs) == 0) {
		printf("no offline messages for %s\n", jopt(r, "jid"));
		return;
	}
	printf("%-22s %-40s %s\n", "STAMP", "FROM", "BODY");
	json_array_foreach(msgs, i, m)
		printf("%-22s %-40s %s\n", jopt(m, "stamp"), jopt(m, "from"),
		    jopt(m, "body"));
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "config",	required_argument,	NULL, 'c' },
		{ NULL,		0,			NULL, 0 }
	};
	const char	*opt_sock = NULL, *opt_conf = NULL;
	char		 pw[PASS_MAX + 2], *path;
	json_t		*req, *reply;
	int		 ch, kind = OUT_STATUS, needpw = 0;

	/* '+': options end at the command, so "kick -x" reaches the master. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+s:c:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			opt_sock = optarg;
			break;
		case 'c':
			opt_conf = optarg;
			break;
		case 'j':
			opt_json = 1;
			break;
		case 'h':
			help();
		case 'V':
			printf("xfedctl %s\n", XF_VERSION);
			return 0;
		default:
			usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (opt_sock != NULL && opt_conf != NULL))
		usage(NULL);
	if (strcmp(argv[0], "help") == 0)
		help();
	/* db works on the store the configuration names, not on a node. */
	if (strcmp(argv[0], "db") == 0) {
		if (opt_sock != NULL)
			usage("usage: xfedctl [-c file] [--json] db init | "
			    "db migrate-from-lmdb DIR");
		if (opt_conf == NULL && ((opt_conf = getenv("XFED_CONF")) ==
		    NULL || opt_conf[0] == '\0'))
			opt_conf = DEFAULT_CONF;
		return xf_ctl_db(opt_conf, argc, argv, opt_json);
	}

	/* Usage, then the socket, then the password: no typing for nothing. */
	memset(pw, 0, sizeof(pw));
	req = build(argc, argv, &kind, &needpw);
	path = socket_path(opt_sock, opt_conf);
	if (needpw) {
		/*
		 * Someone about to type a password twice wants to know first
		 * that the master is there.  The probe closes at once; the
		 * master takes an empty connection for nothing.
		 */
		if (isatty(STDIN_FILENO))
			close(connect_to(path));
		read_password(pw, sizeof(pw));
		if (json_object_set_new(req, "password", json_string(pw)) == -1)
			die("the password is not valid UTF-8");
		explicit_bzero(pw, sizeof(pw));
	}
	reply = request(path, req);
	/* jansson copied the password; wipe that copy too. */
	if (json_is_string(json_object_get(req, "password")))
		explicit_bzero((char *)json_string_value(json_object_get(req,
		    "password")), json_string_length(json_object_get(req,
		    "password")));
	json_decref(req);
	free(path);

	if (opt_json) {
		print_json(reply);
		json_decref(reply);
		return 0;
	}
	switch (kind) {
	case OUT_STATUS:
		print_status(reply);
		break;
	case OUT_SESSIONS:
		print_sessions(reply);
		break;
	case OUT_USERS:
		print_users(reply);
		break;
	case OUT_ROSTER:
		print_roster(reply);
		break;
	case OUT_OFFLINE:
		print_offline(reply);
		break;
	case OUT_ADDED:
		printf("user %s added\n", jstring(reply, "jid"));
		break;
	case OUT_PASSWD:
		printf("password of %s changed\n", jstring(reply, "jid"));
		break;
	case OUT_DELETED:
		if (jint(reply, "kicked") > 0)
			printf("user %s deleted, %lld session%s kicked\n",
			    jstring(reply, "jid"), jint(reply, "kicked"),
			    jint(reply, "kicked") == 1 ? "" : "s");
		else
			printf("user %s deleted\n", jstring(reply, "jid"));
		break;
	case OUT_KICKED:
		printf("%lld session%s of %s kicked\n", jint(reply, "kicked"),
		    jint(reply, "kicked") == 1 ? "" : "s",
		    jstring(reply, "jid"));
		break;
	case OUT_RELOAD:
		printf("reload requested\n");
		break;
	case OUT_STOP:
		printf("stop requested\n");
		break;
	}
	json_decref(reply);
	if (fflush(stdout) == EOF || ferror(stdout))
		die("cannot write output: %s", strerror(errno));
	return 0;
}
