/* main.c: xfed's entry: arguments, configuration check, daemon start-up, the master loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <openssl/ssl.h>

#include "xf.h"
#include "log.h"
#include "master.h"
#include "worker.h"

#define DEFAULT_CONF	"/etc/xfed/xfed.conf"
/* The rings: one per worker slot, sized for a burst of large stanzas. */
#define RING_BYTES	(4u << 20)

static xf_master_t	 master;
/* Where xfed was started: relative paths in the file are taken from
 * there on reload too, though the daemon itself lives in /. */
static int		 start_dir = -1;

/*
 * XFED_RING_BYTES shrinks the rings so tests can fill them and watch
 * push-back work; operators have no reason to touch it.
 */
static size_t
ring_bytes(void)
{
	const char	*s = getenv("XFED_RING_BYTES");
	unsigned long	 n;

	if (s == NULL || (n = strtoul(s, NULL, 10)) < 4096 || n > (1UL << 30))
		return RING_BYTES;
	return n;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: xfed [-dftV] [-c file]\n");
	exit(2);
}

static int
mkdirs(const char *path, mode_t mode)
{
	char	 buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, mode) == -1 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Workers parse what any client sends, so started as root they become
 * 'user' once their ports are bound and the TLS key is read (worker.c).
 * Running them as root takes a word in the file; without one, NULL.
 */
static const char *
root_refused(const xf_conf_t *cf)
{
	if (geteuid() != 0 || cf->cf_run_as_root ||
	    (cf->cf_uid != (uid_t)-1 && cf->cf_uid != 0))
		return NULL;
	return "workers would run as root: set 'user' (and 'group') to an "
	    "unprivileged account, or 'run-as-root' = true";
}

/* chown of one path, never following a link planted there. */
static void
own(const char *path, uid_t uid, gid_t gid)
{
	if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno != ENOENT)
		fatal("chown %s", path);
}

/*
 * What workers write is theirs: the data directory and the LMDB
 * environments in it (the store, the session table).  The master made
 * them as root and, staying root, still reaches them; the pid file and
 * the control socket are the master's alone and stay root's.
 */
static void
own_data(const xf_conf_t *cf)
{
	const char	*subs[] = { XF_DIR_STORE, XF_DIR_SESSIONS };
	char		 dir[4096], path[4096 + 256];
	DIR		*d;
	struct dirent	*de;

	if (geteuid() != 0 || cf->cf_uid == (uid_t)-1)
		return;
	own(cf->cf_data_dir, cf->cf_uid, cf->cf_gid);
	for (size_t i = 0; i < XF_NELEM(subs); i++) {
		if (xf_conf_subdir(cf, subs[i], dir, sizeof(dir)) == -1)
			fatalx("data-dir too long");
		own(dir, cf->cf_uid, cf->cf_gid);
		if ((d = opendir(dir)) == NULL) {
			if (errno == ENOENT)
				continue;
			fatal("opendir %s", dir);
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			own(path, cf->cf_uid, cf->cf_gid);
		}
		closedir(d);
	}
}

/* A live pid in the pid file means another master owns this node. */
static void
check_pidfile(const char *path)
{
	FILE	*f;
	long	 pid;

	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fscanf(f, "%ld", &pid) == 1 && pid > 0 && pid != getpid() &&
	    kill((pid_t)pid, 0) == 0)
		fatalx("already running as pid %ld (%s)", pid, path);
	fclose(f);
}

static void
write_pidfile(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fatal("cannot write pid file %s", path);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static void
daemonize(void)
{
	int	 fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* SIGHUP: a bad new file keeps the old configuration running. */
static void
reload(xf_master_t *m)
{
	xf_conf_t	*nc;
	SSL_CTX		*ctx;
	char		 err[1024];
	int		 rc;

	log_info("reloading %s", m->m_conf_path);
	if (start_dir != -1 && fchdir(start_dir) == -1)
		log_warn("fchdir to the start directory");
	rc = xf_conf_load(m->m_conf_path, &nc, err, sizeof(err));
	if (!m->m_foreground && chdir("/") == -1)
		log_warn("chdir /");
	if (rc != XF_OK) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		return;
	}
	if (strcmp(nc->cf_data_dir, m->m_conf->cf_data_dir) != 0 ||
	    strcmp(nc->cf_control_socket, m->m_conf->cf_control_socket) != 0) {
		log_warnx("reload failed: 'data-dir' and 'control-socket' "
		    "need a restart");
		xf_conf_free(nc);
		return;
	}
	/* The data directory belongs to the running workers' user. */
	if (nc->cf_uid != m->m_conf->cf_uid ||
	    nc->cf_gid != m->m_conf->cf_gid) {
		log_warnx("reload failed: 'user' and 'group' need a restart");
		xf_conf_free(nc);
		return;
	}
	if (root_refused(nc) != NULL) {
		log_warnx("reload failed: %s", root_refused(nc));
		xf_conf_free(nc);
		return;
	}
	if ((ctx = xf_tls_ctx(nc, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		xf_conf_free(nc);
		return;
	}
	SSL_CTX_free(ctx);
	/* Draining workers keep the copy they were forked with. */
	xf_conf_free(m->m_conf);
	m->m_conf = nc;
	log_setlevel(nc->cf_log_level);
	xf_spawn_reload(m);
}

/*
 * Failed-login records say when they are forgotten (shm/authlim.h);
 * readers skip the expired ones, and the master deletes them once a
 * minute so the table holds only the last block time's failures.
 */
#define PURGE_MS	60000

static void
purge_authfail(xf_loop_t *l, void *ud)
{
	xf_master_t	*m = ud;
	size_t		 n = 0;

	if (m->m_sess != NULL && xf_sess_authfail_purge(m->m_sess,
	    (int64_t)xf_loop_now(l), &n) != XF_OK)
		log_warnx("session table: %s", xf_sess_error(m->m_sess));
	if (n > 0)
		log_debug("forgot %zu failed-login records", n);
	xf_loop_timer(l, PURGE_MS, purge_authfail, m);
}

static void
before_sleep(xf_loop_t *l, void *ud)
{
	xf_master_t	*m = ud;
	int		 hup, term, chld;

	xf_signal_take(&hup, &term, &chld);
	if (term)
		m->m_want_stop = 1;
	if (hup)
		m->m_want_reload = 1;
	if (chld)
		xf_spawn_reap(m);
	if (m->m_want_stop) {
		xf_loop_stop(l);
		return;
	}
	if (m->m_want_reload) {
		m->m_want_reload = 0;
		reload(m);
	}
	/* Dead workers of the current generation come back at once. */
	xf_spawn_procs(m);
	xf_spawn_gone(m);
}

int
main(int argc, char *argv[])
{
	xf_master_t	*m = &master;
	const char	*conf_path = getenv("XFED_CONF");
	int		 ch, foreground = 0, check = 0, debug = 0;
	char		 err[1024], path[4096];
	SSL_CTX		*ctx;
	xf_sess_t	*sess;

	if (conf_path == NULL)
		conf_path = DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "c:dftV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("xfed %s\n", XF_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(1, XF_LOG_INFO);
	if (xf_conf_load(conf_path, &m->m_conf, err, sizeof(err)) != XF_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (root_refused(m->m_conf) != NULL) {
		fprintf(stderr, "%s: %s\n", m->m_conf->cf_path,
		    root_refused(m->m_conf));
		return 1;
	}
	if (check) {
		if ((ctx = xf_tls_ctx(m->m_conf, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s: %s\n", conf_path, err);
			return 1;
		}
		SSL_CTX_free(ctx);
		printf("configuration %s is ok\n", m->m_conf->cf_path);
		return 0;
	}
	if ((m->m_conf_path = strdup(m->m_conf->cf_path)) == NULL)
		fatal("strdup");
	log_setlevel(debug ? XF_LOG_DEBUG : m->m_conf->cf_log_level);
	log_procname("master");

	if (mkdirs(m->m_conf->cf_data_dir, 0700) == -1)
		fatal("cannot create data directory %s", m->m_conf->cf_data_dir);
	check_pidfile(m->m_conf->cf_pid_file);
	/* Fail before daemonizing, where the operator can see why. */
	if ((ctx = xf_tls_ctx(m->m_conf, err, sizeof(err))) == NULL)
		fatalx("tls: %s", err);
	SSL_CTX_free(ctx);

	start_dir = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!foreground) {
		daemonize();
		log_init(0, debug ? XF_LOG_DEBUG : m->m_conf->cf_log_level);
	}
	m->m_foreground = foreground;
	m->m_started = time(NULL);
	m->m_ctl_fd = -1;

	/* The session table is volatile: whatever a previous run left is
	 * stale.  Cleared once here, before any worker exists. */
	if (xf_conf_subdir(m->m_conf, XF_DIR_SESSIONS, path, sizeof(path))
	    == -1)
		fatalx("data-dir too long");
	if (xf_sess_open(path, 1, &sess, err, sizeof(err)) != XF_OK)
		fatalx("session table: %s", err);
	xf_sess_close(sess);
	if (xf_master_open_handles(m, err, sizeof(err)) != XF_OK)
		fatalx("%s", err);
	own_data(m->m_conf);
	if (m->m_conf->cf_uid != (uid_t)-1 && geteuid() != 0 &&
	    m->m_conf->cf_uid != geteuid())
		log_warnx("'user' %s ignored: not started as root",
		    m->m_conf->cf_user);
	/* A database that is down is no reason not to start: the node
	 * serves what it can and logins work once it is back. */
	/* Each child: its pool and a listener; the master; one xfedctl. */
	switch (xf_store_check(m->m_store, xf_spawn_count(m->m_conf) *
	    (m->m_conf->cf_store_pool + 1) + 2, err, sizeof(err))) {
	case XF_OK:
		log_info("store: %s", err);
		break;
	case XF_AGAIN:
		log_warnx("store: %s", err);
		break;
	default:
		log_warnx("store: %s", xf_store_error(m->m_store));
	}
	if (xf_rings_create(ring_bytes(), &m->m_rings, err, sizeof(err))
	    != XF_OK)
		fatalx("rings: %s", err);
	if ((m->m_loop = xf_loop_new()) == NULL)
		fatal("epoll_create1");
	if (xf_control_init(m, err, sizeof(err)) != XF_OK)
		fatalx("%s", err);
	xf_signal_init();
	write_pidfile(m->m_conf->cf_pid_file);

	log_info("xfed %s starting %d workers for %zu virtual hosts",
	    XF_VERSION, m->m_conf->cf_workers, m->m_conf->cf_nvhosts);
	if (xf_spawn_procs(m) != XF_OK)
		log_warnx("not every worker started");
	xf_loop_timer(m->m_loop, PURGE_MS, purge_authfail, m);
	xf_loop_before_sleep(m->m_loop, before_sleep, m);
	xf_loop_run(m->m_loop);

	log_info("stopping");
	xf_spawn_stop(m);
	xf_control_close(m);
	unlink(m->m_conf->cf_pid_file);
	xf_sess_close(m->m_sess);
	xf_store_close(m->m_store);
	xf_rings_destroy(m->m_rings);
	xf_loop_free(m->m_loop);
	log_info("stopped");
	xf_conf_free(m->m_conf);
	free(m->m_conf_path);
	return 0;
}
