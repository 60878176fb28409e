/* master.h: the master's state, shared by its files (main, spawn, signal, control). */
#ifndef XF_MASTER_H
#define XF_MASTER_H

#include <stdint.h>
#include <sys/types.h>

#include "xf.h"
#include "buf.h"
#include "conf.h"
#include "loop.h"
#include "ring.h"
#include "sess.h"
#include "store.h"

enum { XF_W_FREE = 0, XF_W_RUNNING, XF_W_DRAINING };

/*
 * The kinds of process the master runs, one row each in spawn.c's
 * procs[] (as httpd's procs[]): XF_PROC_WORKER serves clients; the
 * cluster's interconnect will be one more row.
 */
enum { XF_PROC_WORKER = 0, XF_PROC_MAX };

/* One child process of any kind, indexed by its ring slot. */
typedef struct xf_wproc_s {
	int		 w_state;	/* XF_W_* */
	int		 w_kind;	/* XF_PROC_*: its row in procs[] */
	pid_t		 w_pid;
	int		 w_index;	/* position 0..n-1 in its generation */
	unsigned	 w_gen;		/* config generation it runs */
	int64_t		 w_started;	/* unix time */
	uint64_t	 w_drain_deadline; /* loop ms, when draining */
} xf_wproc_t;

typedef struct xf_master_s {
	xf_conf_t	*m_conf;	/* owned; replaced on reload */
	char		*m_conf_path;
	xf_loop_t	*m_loop;
	xf_store_t	*m_store;	/* the master's own handle */
	xf_sess_t	*m_sess;	/* the master's own handle */
	xf_rings_t	*m_rings;
	xf_wproc_t	 m_workers[XF_MAX_WORKERS];
	unsigned	 m_gen;
	int64_t		 m_started;
	int		 m_foreground;
	volatile int	 m_want_reload;	/* set by SIGHUP or xfedctl reload */
	volatile int	 m_want_stop;	/* set by SIGTERM/SIGINT or xfedctl stop */
	int		 m_ctl_fd;
	xf_buf_t	 m_gone;	/* NUL-separated full JIDs whose worker
					   died: their contacts are told */
} xf_master_t;

/* spawn.c */
int	 xf_master_open_handles(xf_master_t *, char *err, size_t errlen);
int	 xf_spawn_procs(xf_master_t *);	/* starts what procs[] wants */
void	 xf_spawn_reap(xf_master_t *);		/* waitpid, clear, respawn */
void	 xf_spawn_reload(xf_master_t *);	/* new generation, drain old */
void	 xf_spawn_stop(xf_master_t *);		/* SIGTERM all, wait */
int	 xf_spawn_count(const xf_conf_t *);	/* processes conf wants */
void	 xf_spawn_gone(xf_master_t *);		/* hand m_gone to a worker */

/* signal.c */
void	 xf_signal_init(void);
int	 xf_signal_take(int *reload, int *stop, int *child);

/* control.c */
int	 xf_control_init(xf_master_t *, char *err, size_t errlen);
void	 xf_control_close(xf_master_t *);

#endif /* XF_MASTER_H */
