/* worker.c: a worker process: init, its own listeners, accept, signals, drain and stop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "xf.h"
#include "log.h"
#include "net.h"
#include "worker.h"
#include "mod.h"

static volatile sig_atomic_t	 sig_term, sig_quit;
static xf_worker_t		 worker;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		sig_term = 1;
	else if (sig == SIGQUIT)
		sig_quit = 1;
}

/*
 * Runs fn(ud) where it may wait for the store: with pgsql on a coroutine
 * of its own (returning when it finishes or first waits; inline when
 * already on one, or when no coroutine can be had), with LMDB right here.
 */
void
xf_worker_run(xf_worker_t *w, void (*fn)(void *), void *ud)
{
	if (!w->w_async || xf_co_spawn(fn, ud) != XF_OK)
		fn(ud);
}

/*
 * Out of descriptors (EMFILE, ENFILE) the pending connection stays in the
 * backlog and the listener readable: the level-triggered loop would call
 * on_accept at once, forever, and the log would take a line each time.
 * So a spare descriptor is kept (/dev/null): given up, it lets one pending
 * connection be accepted and closed, which its client sees at once rather
 * than hanging; then the listener rests for ACCEPT_PAUSE_MS, and the log
 * gets a line a second at most, with how many were refused meanwhile.
 */
#define ACCEPT_PAUSE_MS	100
#define ACCEPT_LOG_MS	1000

static int		 spare_fd = -1;
static unsigned long	 refused;	/* since the last line */
static uint64_t		 refused_logged;	/* loop ms of that line */

static void
spare_open(void)
{
	if (spare_fd == -1)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
accept_resume(xf_loop_t *l, void *ud)
{
	xf_lst_t	*ls = ud;

	/* Closed meanwhile (drain, stop): its fd may be a connection's. */
	if (ls >= worker.w_lst + worker.w_nlst)
		return;
	spare_open();
	if (xf_loop_mod(l, ls->ls_fd, XF_EV_READ) != XF_OK)
		log_warn("epoll_ctl(listener) failed");
}

static void
accept_starved(xf_loop_t *l, xf_lst_t *ls, int err)
{
	uint64_t	 now = xf_loop_now(l);
	int		 cfd;

	refused++;
	if ((err == EMFILE || err == ENFILE) && spare_fd != -1) {
		close(spare_fd);
		spare_fd = -1;
		if ((cfd = accept4(ls->ls_fd, NULL, NULL, SOCK_CLOEXEC)) != -1)
			close(cfd);
		spare_open();
	}
	if (refused_logged == 0 || now - refused_logged >= ACCEPT_LOG_MS) {
		log_warnx("accept4 failed: %s: %lu connection%s refused, "
		    "accepting again in %d ms", strerror(err), refused,
		    refused == 1 ? "" : "s", ACCEPT_PAUSE_MS);
		refused = 0;
		refused_logged = now;
	}
	if (xf_loop_mod(l, ls->ls_fd, 0) != XF_OK ||
	    xf_loop_timer(l, ACCEPT_PAUSE_MS, accept_resume, ls) == 0)
		/* Cannot rest: keep accepting rather than stop for good. */
		xf_loop_mod(l, ls->ls_fd, XF_EV_READ);
}

static void
on_accept(xf_loop_t *l, int fd, int mask, void *ud)
{
	xf_lst_t	*ls = ud;
	xf_stream_t	*s;
	int		 cfd;

	/* Bounded so one busy listener cannot starve the rest of the loop. */
	for (int i = 0; i < 64; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_starved(l, ls, errno);
			return;
		}
		if (ls->ls_kind == XF_LST_HTTP ||
		    ls->ls_kind == XF_LST_HTTP_TLS) {
			if (xf_http_accept(&worker.w_http, cfd,
			    ls->ls_kind == XF_LST_HTTP_TLS) != XF_OK)
				log_warnx("cannot set up an HTTP exchange "
				    "for fd %d", cfd);
		} else if ((s = xf_tcp_accept(&worker, cfd,
		    ls->ls_kind == XF_LST_C2S_TLS, &xf_kind_c2s)) == NULL)
			log_warnx("cannot set up a stream for fd %d", cfd);
		else
			xf_c2s_admit(s);
	}
}

/* A WebSocket upgrade on /xmpp-websocket: a c2s stream. */
static int
ws_upgrade(void *ud, xf_conn_t *c)
{
	xf_stream_t	*s;

	if ((s = xf_ws_accept(ud, c, &xf_kind_c2s)) == NULL)
		return XF_ERR;
	xf_c2s_admit(s);
	return XF_OK;
}

static void
open_listeners(xf_worker_t *w, const xf_listen_t *ls, size_t n, int kind)
{
	char	 err[256], name[96];
	int	 fd;

	for (size_t i = 0; i < n && w->w_nlst < XF_NELEM(w->w_lst); i++) {
		xf_net_listen_name(&ls[i], name, sizeof(name));
		if (xf_net_listen(&ls[i], 1, &fd, err, sizeof(err)) != XF_OK)
			fatalx("listen on %s: %s", name, err);
		w->w_lst[w->w_nlst] = (xf_lst_t){ fd, kind };
		if (xf_loop_add(w->w_loop, fd, XF_EV_READ, on_accept,
		    &w->w_lst[w->w_nlst]) != XF_OK)
			fatal("epoll_ctl(listener %s)", name);
		w->w_nlst++;
		log_debug("listening on %s", name);
	}
}

static void
close_listeners(xf_worker_t *w)
{
	for (size_t i = 0; i < w->w_nlst; i++) {
		xf_loop_del(w->w_loop, w->w_lst[i].ls_fd);
		close(w->w_lst[i].ls_fd);
	}
	w->w_nlst = 0;
}

static void
close_all(xf_worker_t *w, const char *cond, const char *text)
{
	for (uint32_t i = 0; i < w->w_nstreams; i++) {
		xf_stream_t	*s = w->w_streams[i];

		if (s != NULL && !xf_stream_closing(s))
			xf_stream_error(s, cond, text);
	}
}

static void
drain_expired(xf_loop_t *l, void *ud)
{
	xf_worker_t	*w = ud;

	log_info("drain timeout: closing %u remaining connections",
	    w->w_stats->ws_conns);
	/* RFC 6120 4.9.3.16: the server has new settings; reconnect. */
	xf_http_close_all(&w->w_http);
	close_all(w, "reset", "The server configuration was reloaded");
}

#define IDLE_SWEEP_MS	5000

/*
 * Every few seconds, streams that read nothing since the last sweep
 * give back their parser and their output buffer: an idle session then
 * costs little more than its connection record (they come back on the
 * next byte).  O(connections) per sweep, a few ms for 200k.
 */
static void
idle_sweep(xf_loop_t *l, void *ud)
{
	xf_worker_t	*w = ud;
	size_t		 parked = 0;

	for (uint32_t i = 0; i < w->w_nstreams; i++) {
		xf_stream_t	*s = w->w_streams[i];
		xf_conn_t	*c;

		if (s == NULL || (c = s->s_conn) == NULL ||
		    xf_stream_closing(s) || c->c_co != NULL)
			continue;
		if (!xf_conn_recent(c) && s->s_state == C2S_BOUND &&
		    xf_xmls_park(s->s_xml) == XF_OK) {
			parked++;
			xf_conn_trim(c);
		}
	}
	if (parked > 0)
		log_debug("idle sweep: %zu streams gave back their parser",
		    parked);
	/* Freed chunks amid live ones stay resident until trimmed. */
	if (parked > 64)
		malloc_trim(0);
	xf_loop_timer(l, IDLE_SWEEP_MS, idle_sweep, w);
}

static void
before_sleep(xf_loop_t *l, void *ud)
{
	xf_worker_t	*w = ud;

	if (sig_term && !w->w_stopping) {
		w->w_stopping = 1;
		log_info("shutting down: closing %u connections",
		    w->w_stats->ws_conns);
		close_listeners(w);
		xf_http_close_all(&w->w_http);
		close_all(w, "system-shutdown", NULL);
	}
	if (sig_quit && !w->w_draining && !w->w_stopping) {
		w->w_draining = 1;
		close_listeners(w);
		log_info("draining %u connections for up to %d s",
		    w->w_stats->ws_conns, w->w_conf->cf_drain_timeout);
		if (w->w_conf->cf_drain_timeout == 0)
			drain_expired(l, w);
		else
			xf_loop_timer(l, (uint64_t)w->w_conf->cf_drain_timeout *
			    1000, drain_expired, w);
	}
	xf_conn_flush_all(&w->w_io);
	/* Stanzas still waiting for the store finish first (each within
	 * the store's query timeout). */
	if ((w->w_stopping || w->w_draining) && w->w_stats->ws_conns == 0 &&
	    xf_co_count() == 0)
		xf_loop_stop(l);
}

/*
 * Started as root, a worker has bound its listeners (a port below 1024)
 * and read the TLS key (often root's alone) when it gets here; it then
 * becomes 'user' for good, before it opens the store or reads a byte
 * from a client, so a bug a peer can reach has that user's rights.
 * The master stays root to do the same again for a reload's workers
 * (new ports, a renewed key).  Not started as root, or with no 'user'
 * ('run-as-root', which main.c demands then), there is nothing to drop.
 */
static void
privdrop(const xf_conf_t *conf)
{
	uid_t	 uid = conf->cf_uid;
	gid_t	 gid = conf->cf_gid;

	if (geteuid() != 0 || uid == (uid_t)-1)
		return;
	if (initgroups(conf->cf_user, gid) == -1)
		fatal("initgroups(%s)", conf->cf_user);
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid(%u)", (unsigned)uid);
	if (uid != 0 && setuid(0) != -1)
		fatalx("could become root again after dropping it");
	log_debug("running as %s (uid %u, gid %u)", conf->cf_user,
	    (unsigned)uid, (unsigned)gid);
}

/*
 * Limits, signals and per-process handles in one place, as nginx's
 * ngx_worker_process_init does, then the loop.  LMDB environments are
 * opened here, after fork, never inherited.
 */
void
xf_worker_main(xf_conf_t *conf, xf_rings_t *rings, unsigned slot,
    unsigned index)
{
	xf_worker_t		*w = &worker;
	struct sigaction	 sa;
	char			 err[512], name[32], path[4096];
	int			 fd;

	snprintf(name, sizeof(name), "worker %u", index);
	log_procname(name);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);

	/* Connection ids outlive this process in the session table (a
	 * detached SM session names its old connection), so a respawned
	 * worker must not reuse its predecessor's: start at a random point. */
	if (getrandom(&w->w_seq, sizeof(w->w_seq), 0) != sizeof(w->w_seq))
		w->w_seq = (uint64_t)time(NULL) << 20;
	w->w_seq &= 0xffffffffffULL;
	w->w_conf = conf;
	w->w_slot = slot;
	w->w_index = index;
	w->w_rings = rings;
	w->w_ring = xf_rings_get(rings, slot);
	w->w_stats = xf_rings_stats(rings, slot);
	w->w_stats->ws_pid = getpid();
	if ((w->w_loop = xf_loop_new()) == NULL)
		fatal("epoll_create1");

	/* What needs root first, then root goes. */
	open_listeners(w, conf->cf_c2s_ports, conf->cf_c2s_nports,
	    XF_LST_C2S);
	open_listeners(w, conf->cf_c2s_tls_ports, conf->cf_c2s_ntls_ports,
	    XF_LST_C2S_TLS);
	open_listeners(w, conf->cf_http_ports, conf->cf_http_nports,
	    XF_LST_HTTP);
	open_listeners(w, conf->cf_http_tls_ports, conf->cf_http_ntls_ports,
	    XF_LST_HTTP_TLS);
	if ((w->w_ssl = xf_tls_ctx(conf, err, sizeof(err))) == NULL)
		fatalx("tls: %s", err);
	privdrop(conf);
	/* Set after the switch of user, which clears it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exit(0);

	xf_conf_subdir(conf, XF_DIR_SESSIONS, path, sizeof(path));
	if (xf_sess_open(path, 0, &w->w_sess, err, sizeof(err)) != XF_OK)
		fatalx("session table: %s", err);
	if (xf_store_open_conf(conf, &w->w_store, err, sizeof(err)) != XF_OK)
		fatalx("%s", err);
	if (conf->cf_store_backend == XF_STORE_PGSQL) {
		w->w_async = 1;
		xf_co_init(w->w_loop);
	}
	w->w_io.io_loop = w->w_loop;
	w->w_io.io_ssl = w->w_ssl;
	w->w_io.io_async = w->w_async;
	w->w_io.io_nconns = &w->w_stats->ws_conns;
	w->w_http.hs_io = &w->w_io;
	w->w_http.hs_max_request = conf->cf_http_max_request;
	w->w_http.hs_origins = conf->cf_http_origins;
	w->w_http.hs_norigins = conf->cf_http_norigins;
	w->w_http.hs_timeout_ms = (uint64_t)conf->cf_c2s_handshake_timeout *
	    1000;
	w->w_http.hs_ws_path = "/xmpp-websocket";
	w->w_http.hs_ws_proto = "xmpp";
	w->w_http.hs_upgrade = ws_upgrade;
	w->w_http.hs_ud = w;
	w->w_route.rc_sess = w->w_sess;
	w->w_route.rc_conf = conf;
	w->w_route.rc_node = 0;
	w->w_route.rc_slot = slot;
	xf_ipc_init(w);
	xf_mod_init(w);
	w->w_msgcap = xf_ring_max_msg(w->w_ring);
	if ((w->w_msgbuf = malloc(w->w_msgcap)) == NULL)
		fatal("malloc");

	spare_open();
	fd = xf_ring_fd(w->w_ring);
	if (xf_loop_add(w->w_loop, fd, XF_EV_READ, xf_ipc_readable, w) != XF_OK)
		fatal("epoll_ctl(ring eventfd)");
	/* Messages pushed before we were up are waiting already. */
	xf_ipc_readable(w->w_loop, fd, XF_EV_READ, w);

	xf_loop_timer(w->w_loop, IDLE_SWEEP_MS, idle_sweep, w);
	log_info("started in slot %u", slot);
	xf_loop_before_sleep(w->w_loop, before_sleep, w);
	xf_loop_run(w->w_loop);

	log_info("exiting");
	xf_sess_close(w->w_sess);
	xf_store_close(w->w_store);
	SSL_CTX_free(w->w_ssl);
	free(w->w_streams);
	free(w->w_free);
	free(w->w_paused);
	free(w->w_msgbuf);
	xf_loop_free(w->w_loop);
	exit(0);
}
