/* conf.h: the configuration file (Tigase DSL style) and the options xfed knows. */
#ifndef XF_CONF_H
#define XF_CONF_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * One listener: a bare port means every address, IPv4 and IPv6
 * (l_addr[0] == '\0'); 'address:port' or '[v6]:port' binds one address.
 */
typedef struct xf_listen_s {
	char	 l_addr[64];	/* numeric address without brackets, or "" */
	int	 l_port;
} xf_listen_t;

enum { XF_STORE_LMDB = 0, XF_STORE_PGSQL };

typedef struct xf_conf_s {
	char		*cf_path;		/* absolute path of the file */

	char	       **cf_vhosts;		/* 'virtual-hosts', normalised */
	size_t		 cf_nvhosts;
	char		*cf_data_dir;		/* 'data-dir', absolute */
	int		 cf_workers;		/* 'workers': 'auto' = nproc */
	char	       **cf_admins;		/* 'admins' (bare JIDs) */
	size_t		 cf_nadmins;
	char		*cf_control_socket;	/* 'control-socket', absolute */
	int		 cf_log_level;		/* 'log-level', XF_LOG_* */
	char		*cf_pid_file;		/* 'pid-file', absolute */
	int		 cf_scram_iterations;	/* 'scram-iterations' */
	int		 cf_drain_timeout;	/* 'drain-timeout', seconds */
	char		*cf_user;		/* 'user', "" when not set */
	char		*cf_group;		/* 'group', "" when not set */
	uid_t		 cf_uid;		/* of 'user'; (uid_t)-1 unset */
	gid_t		 cf_gid;		/* of 'group', else of 'user' */
	int		 cf_run_as_root;	/* 'run-as-root' */

	/* c2s { ... } */
	xf_listen_t	*cf_c2s_ports;		/* 'ports' (STARTTLS) */
	size_t		 cf_c2s_nports;
	xf_listen_t	*cf_c2s_tls_ports;	/* 'tls-ports' (direct TLS) */
	size_t		 cf_c2s_ntls_ports;
	int		 cf_c2s_tls_required;	/* 'tls-required' */
	size_t		 cf_c2s_max_stanza;	/* 'max-stanza-size', bytes */
	int		 cf_c2s_max_attrs;	/* 'max-attributes', per element */
	int		 cf_c2s_max_children;	/* 'max-children', per element */
	int		 cf_c2s_handshake_timeout; /* 'handshake-timeout', s */
	size_t		 cf_c2s_output_buffer;	/* 'output-buffer': then backlog */
	size_t		 cf_c2s_max_output;	/* 'max-output': backlog cap */
	size_t		 cf_c2s_read_rate;	/* 'read-rate', bytes/s; 0: none */
	size_t		 cf_c2s_read_burst;	/* 'read-burst', bytes */
	int		 cf_c2s_flood_time;	/* 'flood-time', s; 0: never */
	size_t		 cf_output_budget;	/* 'output-budget': per worker */
	int		 cf_c2s_auth_timeout;	/* 'auth-timeout', s */
	int		 cf_c2s_max_unauth;	/* 'max-unauth', per node; 0: no cap */
	int		 cf_c2s_max_unauth_ip;	/* 'max-unauth-per-ip'; 0: no cap */
	int		 cf_c2s_auth_fail_delay; /* 'auth-fail-delay', s */
	int		 cf_c2s_auth_block_after; /* 'auth-fail-block-after' */
	int		 cf_c2s_auth_block_time; /* 'auth-block-time', s */
	int		 cf_c2s_auth_lock_after; /* 'auth-fail-lock-after' */
	int		 cf_c2s_auth_lock_time;	/* 'auth-lock-time', s */
	int		 cf_c2s_registration;	/* 'registration' (XEP-0077) */
	int		 cf_sm_resume_timeout;	/* 'sm-resume-timeout', s */
	int		 cf_sm_max_unacked;	/* 'sm-max-unacked', stanzas */
	int		 cf_offline_quota;	/* 'offline-quota', messages */
	size_t		 cf_offline_quota_bytes; /* 'offline-quota-bytes' */

	/* http { ... }: WebSocket (RFC 7395) for now */
	xf_listen_t	*cf_http_ports;		/* 'ports' (plain) */
	size_t		 cf_http_nports;
	xf_listen_t	*cf_http_tls_ports;	/* 'tls-ports' (HTTPS) */
	size_t		 cf_http_ntls_ports;
	size_t		 cf_http_max_request;	/* 'max-request-size', bytes */
	char		**cf_http_origins;	/* 'allowed-origins'; none: any */
	size_t		 cf_http_norigins;

	/* storage { ... } */
	int		 cf_store_backend;	/* 'backend': XF_STORE_* */
	char		*cf_store_dsn;		/* 'dsn' (libpq conninfo) */
	int		 cf_store_pool;		/* 'pool-size', per process */
	int		 cf_store_timeout;	/* 'query-timeout', s */
	size_t		 cf_store_map_size;	/* 'map-size', bytes (lmdb) */

	/* tls { ... } */
	char		*cf_tls_cert;		/* 'cert', absolute */
	char		*cf_tls_key;		/* 'key', absolute */
} xf_conf_t;

/*
 * Parses and checks the file.  On error returns XF_ERR and writes
 * "file:line: message" into err.  Relative paths in the file are made
 * absolute against the current directory at load time.  The result is
 * owned by the caller; free it with xf_conf_free().
 */
int	 xf_conf_load(const char *path, xf_conf_t **out, char *err, size_t errlen);
/* The same from text already read; path names it in errors and is made
 * absolute into cf_path.  text need not end in a NUL. */
int	 xf_conf_load_text(const char *path, const char *text, size_t len,
	    xf_conf_t **out, char *err, size_t errlen);
void	 xf_conf_free(xf_conf_t *);

/* Parses one listener spec ("5222", "127.0.0.2:5222", "[::1]:5222"). */
int	 xf_conf_listen(const char *spec, xf_listen_t *out);

/* 1 when host is one of the configured virtual hosts. */
int	 xf_conf_is_vhost(const xf_conf_t *, const char *host);

/*
 * The data directory holds one LMDB environment per subdirectory:
 * "store" (durable accounts) and "sessions" (the volatile session table,
 * wiped at every start).  They must never share a directory.
 */
#define XF_DIR_STORE	"store"
#define XF_DIR_SESSIONS	"sessions"

static inline int
xf_conf_subdir(const xf_conf_t *cf, const char *sub, char *out, size_t len)
{
	int	 n = snprintf(out, len, "%s/%s", cf->cf_data_dir, sub);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

#endif /* XF_CONF_H */
