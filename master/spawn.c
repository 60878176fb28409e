/* spawn.c: forking workers, reaping them, respawning the dead, replacing them on reload. */
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

static int
free_slot(xf_master_t *m)
{
	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state == XF_W_FREE)
			return s;
	return -1;
}

static int
spawn_one(xf_master_t *m, int slot, int index)
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
		xf_worker_main(m->m_conf, m->m_rings, (unsigned)slot,
		    (unsigned)index);
		/* NOTREACHED */
	default:
		*wp = (xf_wproc_t){ XF_W_RUNNING, pid, index, m->m_gen,
		    time(NULL), 0 };
		log_info("worker %d started, pid %d, slot %d", index, (int)pid,
		    slot);
	}
	if (xf_master_open_handles(m, err, sizeof(err)) != XF_OK)
		log_warnx("cannot reopen stores: %s", err);
	return pid == -1 ? XF_ERR : XF_OK;
}

/* Starts every worker index of the current generation that is missing. */
int
xf_spawn_workers(xf_master_t *m)
{
	int	 have[XF_MAX_WORKERS] = { 0 }, slot, rc = XF_OK;

	for (int s = 0; s < XF_MAX_WORKERS; s++)
		if (m->m_workers[s].w_state == XF_W_RUNNING &&
		    m->m_workers[s].w_gen == m->m_gen)
			have[m->m_workers[s].w_index] = 1;
	for (int i = 0; i < m->m_conf->cf_workers; i++) {
		if (have[i])
			continue;
		if ((slot = free_slot(m)) == -1) {
			log_warnx("no free worker slot for worker %d", i);
			return XF_ERR;
		}
		if (spawn_one(m, slot, i) != XF_OK)
			rc = XF_ERR;
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
		if (m->m_workers[s].w_state == XF_W_RUNNING)
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

/*
 * A worker exited: its sessions are gone with it, so its records leave
 * the session table before the slot (and its ring) is used again.
 */
void
xf_spawn_reap(xf_master_t *m)
{
	pid_t	 pid;
	int	 status;
	size_t	 n;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int s = 0; s < XF_MAX_WORKERS; s++) {
			xf_wproc_t	*wp = &m->m_workers[s];

			if (wp->w_state == XF_W_FREE || wp->w_pid != pid)
				continue;
			if (WIFSIGNALED(status))
				log_warnx("worker %d (pid %d) killed by signal %d",
				    wp->w_index, (int)pid, WTERMSIG(status));
			else if (wp->w_state == XF_W_DRAINING ||
			    m->m_want_stop || WEXITSTATUS(status) == 0)
				log_info("worker %d (pid %d) exited",
				    wp->w_index, (int)pid);
			else
				log_warnx("worker %d (pid %d) exited with "
				    "status %d", wp->w_index, (int)pid,
				    WEXITSTATUS(status));
			n = 0;
			/* XEP-0198 sessions wait for a resume elsewhere. */
			if (m->m_sess != NULL && xf_sess_sm_detach_worker(
			    m->m_sess, (uint32_t)s, (int64_t)time(NULL) +
			    m->m_conf->cf_sm_resume_timeout, &n) != XF_OK)
				log_warnx("session table: %s",
				    xf_sess_error(m->m_sess));
			if (n > 0)
				log_info("kept %zu stream management sessions "
				    "of worker %d", n, wp->w_index);
			n = 0;
			collect_gone(m, (uint32_t)s);
			if (m->m_sess != NULL && xf_sess_clear_worker(m->m_sess,
			    0, (uint32_t)s, &n) != XF_OK)
				log_warnx("session table: %s",
				    xf_sess_error(m->m_sess));
			if (n > 0)
				log_info("removed %zu sessions of worker %d",
				    n, wp->w_index);
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

	if (xf_spawn_workers(m) != XF_OK)
		log_warnx("reload: not every new worker started");
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

/* SIGTERM every worker; after 10 s, SIGKILL whoever is left. */
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
			log_warnx("worker %d did not exit; killing it",
			    m->m_workers[s].w_index);
			kill(m->m_workers[s].w_pid, SIGKILL);
		}
	for (int i = 0; i < 100 && alive(m) > 0; i++) {
		nanosleep(&ts, NULL);
		xf_spawn_reap(m);
	}
}
