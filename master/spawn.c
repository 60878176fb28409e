/* spawn.c: the kinds of process (procs[]): forking, reaping, respawning the dead, replacing them on reload. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "xf.h"
#include "log.h"
#include "master.h"
#include "worker.h"
#include "msg.h"

/*
 * LMDB forbids using an environment across fork(), so the master closes
 * its handles around every fork and the child opens its own.
 */
static void
close_handles(xf_master_t *m)
{
	xf_sess_close(m->m_sess);
	xf_store_close(m->m_store);
	m->m_sess = NULL;
	m->m_store = NULL;
}

int
xf_master_open_handles(xf_master_t *m, char *err, size_t errlen)
{
	char	 dir[4096];

	xf_conf_subdir(m->m_conf, XF_DIR_SESSIONS, dir, sizeof(dir));
	if (m->m_sess == NULL && xf_sess_open(dir, 0, &m->m_sess, err,
	    errlen) != XF_OK)
		return XF_ERR;
	if (m->m_store == NULL && xf_store_open_conf(m->m_conf, &m->m_store,
	    err, errlen) != XF_OK)
		return XF_ERR;
	return XF_OK;
}

/*
 * A worker's sessions die with it: XEP-0198 sessions wait for a resume
 * elsewhere, the others leave the session table and their contacts are
 * told (xf_spawn_gone).
 */
static void	 worker_gone(xf_master_t *, uint32_t slot, int index);

static int
worker_count(const xf_conf_t *cf)
{
	return cf->cf_workers;
}

/*
 * The kinds of process, as httpd's procs[]: how many of each the
 * configuration wants, what a child of that kind runs, and how the
 * master clears up after one that died.  The interconnect will be one
 * more row whose count is 0 unless 'cluster-mode' is set.
 */
typedef struct xf_proc_s {
	const char	*p_title;	/* in the log: "worker 3 started" */
	int		 p_kind;	/* XF_PROC_*, its index here */
	int		(*p_count)(const xf_conf_t *);
	void		(*p_main)(xf_conf_t *, xf_rings_t *, unsigned slot,
			    unsigned index);	/* never returns */
	void		(*p_gone)(xf_master_t *, uint32_t slot, int index);
} xf_proc_t;

static const xf_proc_t procs[] = {
	{ "worker", XF_PROC_WORKER, worker_count, xf_worker_main,
	    worker_gone },
};

_Static_assert(XF_NELEM(procs) == XF_PROC_MAX, "one row per XF_PROC_*");

/* All the processes conf wants, of every kind. */
int
xf_spawn_count(const xf_conf_t *cf)
{
	int	 n = 0;

	for (size_t k = 0; k < XF_NELEM(procs); k++)
		n += procs[k].p_count(cf);
	return n;
}

static int
free_slot(xf_master_t *m)
{
	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state == XF_W_FREE)
			return s;
	return -1;
}

static int
spawn_one(xf_master_t *m, const xf_proc_t *p, int slot, int index)
{
	xf_wproc_t	*wp = &m->m_workers[slot];
	char		 err[256];
	pid_t		 pid;

	xf_ring_reset(xf_rings_get(m->m_rings, slot));
	close_handles(m);
	switch ((pid = fork())) {
	case -1:
		log_warn("fork failed");
		break;
	case 0:
		xf_control_close(m);	/* fork-safe: closes fds only */
		xf_loop_free(m->m_loop);
		p->p_main(m->m_conf, m->m_rings, (unsigned)slot,
		    (unsigned)index);
		_exit(1);	/* NOTREACHED: p_main exits */
	default:
		*wp = (xf_wproc_t){ XF_W_RUNNING, p->p_kind, pid, index,
		    m->m_gen, time(NULL), 0 };
		log_info("%s %d started, pid %d, slot %d", p->p_title, index,
		    (int)pid, slot);
	}
	if (xf_master_open_handles(m, err, sizeof(err)) != XF_OK)
		log_warnx("cannot reopen stores: %s", err);
	return pid == -1 ? XF_ERR : XF_OK;
}

/* Starts every process of the current generation that is missing. */
int
xf_spawn_procs(xf_master_t *m)
{
	int	 have[XF_MAX_WORKERS], slot, n, rc = XF_OK;

	for (size_t k = 0; k < XF_NELEM(procs); k++) {
		const xf_proc_t	*p = &procs[k];

		memset(have, 0, sizeof(have));
		for (int s = 0; s < XF_MAX_WORKERS; s++)
			if (m->m_workers[s].w_state == XF_W_RUNNING &&
			    m->m_workers[s].w_kind == p->p_kind &&
			    m->m_workers[s].w_gen == m->m_gen)
				have[m->m_workers[s].w_index] = 1;
		n = p->p_count(m->m_conf);
		for (int i = 0; i < n && i < XF_MAX_WORKERS; i++) {
			if (have[i])
				continue;
			if ((slot = free_slot(m)) == -1) {
				log_warnx("no free slot for %s %d",
				    p->p_title, i);
				return XF_ERR;
			}
			if (spawn_one(m, p, slot, i) != XF_OK)
				rc = XF_ERR;
		}
	}
	return rc;
}

typedef struct gone_s {
	xf_master_t	*m;
	uint32_t	 slot;
} gone_t;

static int
gone_each(void *ud, const char *full, const xf_sess_rec_t *rec)
{
	gone_t	*g = ud;

	/* A session kept for resumption has not gone (yet). */
	if (rec->sr_node == 0 && rec->sr_worker == g->slot &&
	    rec->sr_avail && !xf_sess_sm_kept(g->m->m_sess, full, rec))
		xf_buf_append(&g->m->m_gone, full, strlen(full) + 1);
	return 0;
}

/* Sessions that vanish with a worker: their contacts must hear of it. */
static void
collect_gone(xf_master_t *m, uint32_t slot)
{
	gone_t	 g = { m, slot };

	if (m->m_sess != NULL)
		xf_sess_foreach(m->m_sess, gone_each, &g);
}

/*
 * The master does not speak XMPP: it hands each vanished JID to a live
 * worker, which broadcasts the unavailable presence.
 */
void
xf_spawn_gone(xf_master_t *m)
{
	xf_msg_t	 msg;
	size_t		 off = 0, len;
	const char	*full;
	int		 s;

	if (xf_buf_size(&m->m_gone) == 0)
		return;
	for (s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state == XF_W_RUNNING &&
		    m->m_workers[s].w_kind == XF_PROC_WORKER)
			break;
	if (s == XF_MAX_WORKERS)
		return;
	while (off < xf_buf_size(&m->m_gone)) {
		full = xf_buf_data(&m->m_gone) + off;
		len = strlen(full);
		msg.m_conn = 0;
		msg.m_from_worker = XF_MSG_FROM_MASTER;
		msg.m_tolen = (uint32_t)len;
		if (xf_ring_push(xf_rings_get(m->m_rings, s), XF_MSG_GONE,
		    &msg, sizeof(msg), full, len) == XF_AGAIN)
			break;		/* full: the rest next time round */
		off += len + 1;
	}
	xf_buf_consume(&m->m_gone, off);
}

/* A worker's sessions, kept for a resume or gone with it. */
static void
worker_gone(xf_master_t *m, uint32_t slot, int index)
{
	size_t	 n = 0;

	/* XEP-0198 sessions wait for a resume elsewhere. */
	if (m->m_sess != NULL && xf_sess_sm_detach_worker(m->m_sess, slot,
	    (int64_t)time(NULL) + m->m_conf->cf_sm_resume_timeout, &n) != XF_OK)
		log_warnx("session table: %s", xf_sess_error(m->m_sess));
	if (n > 0)
		log_info("kept %zu stream management sessions of worker %d",
		    n, index);
	n = 0;
	collect_gone(m, slot);
	if (m->m_sess != NULL && xf_sess_clear_worker(m->m_sess, 0, slot,
	    &n) != XF_OK)
		log_warnx("session table: %s", xf_sess_error(m->m_sess));
	if (n > 0)
		log_info("removed %zu sessions of worker %d", n, index);
	n = 0;
	n = xf_unauth_clear(m->m_rings, slot);
	if (n > 0)
		log_info("forgot %zu unauthenticated connections of worker %d",
		    n, index);
}

/*
 * A child exited: whatever it held in the session table is cleared by
 * its kind before the slot (and its ring) is used again.
 */
void
xf_spawn_reap(xf_master_t *m)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int s = 0; s < XF_MAX_WORKERS; s++) {
			xf_wproc_t	*wp = &m->m_workers[s];
			const char	*title;

			if (wp->w_state == XF_W_FREE || wp->w_pid != pid)
				continue;
			title = procs[wp->w_kind].p_title;
			if (WIFSIGNALED(status))
				log_warnx("%s %d (pid %d) killed by signal %d",
				    title, wp->w_index, (int)pid,
				    WTERMSIG(status));
			else if (wp->w_state == XF_W_DRAINING ||
			    m->m_want_stop || WEXITSTATUS(status) == 0)
				log_info("%s %d (pid %d) exited", title,
				    wp->w_index, (int)pid);
			else
				log_warnx("%s %d (pid %d) exited with "
				    "status %d", title, wp->w_index, (int)pid,
				    WEXITSTATUS(status));
			procs[wp->w_kind].p_gone(m, (uint32_t)s, wp->w_index);
			xf_ring_reset(xf_rings_get(m->m_rings, s));
			wp->w_state = XF_W_FREE;
			wp->w_pid = 0;
		}
	}
}

/* Reload: a new generation takes the listeners; the old one drains. */
void
xf_spawn_reload(xf_master_t *m)
{
	unsigned	 old = m->m_gen++;

	if (xf_spawn_procs(m) != XF_OK)
		log_warnx("reload: not every new process started");
	for (int s = 0; s < XF_MAX_WORKERS; s++) {
		xf_wproc_t	*wp = &m->m_workers[s];

		if (wp->w_state == XF_W_RUNNING && wp->w_gen == old) {
			wp->w_state = XF_W_DRAINING;
			kill(wp->w_pid, SIGQUIT);
		}
	}
}

static int
alive(const xf_master_t *m)
{
	int	 n = 0;

	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state != XF_W_FREE)
			n++;
	return n;
}

/* SIGTERM every child; after 10 s, SIGKILL whoever is left. */
void
xf_spawn_stop(xf_master_t *m)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };

	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state != XF_W_FREE)
			kill(m->m_workers[s].w_pid, SIGTERM);
	for (int i = 0; i < 500 && alive(m) > 0; i++) {
		nanosleep(&ts, NULL);
		xf_spawn_reap(m);
	}
	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state != XF_W_FREE) {
			log_warnx("%s %d did not exit; killing it",
			    procs[m->m_workers[s].w_kind].p_title,
			    m->m_workers[s].w_index);
			kill(m->m_workers[s].w_pid, SIGKILL);
		}
	for (int i = 0; i < 100 && alive(m) > 0; i++) {
		nanosleep(&ts, NULL);
		xf_spawn_reap(m);
	}
}
