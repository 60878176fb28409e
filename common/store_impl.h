/* store_impl.h: what a storage backend implements behind common/store.h. */
#ifndef XF_STORE_IMPL_H
#define XF_STORE_IMPL_H

#include "buf.h"
#include "store.h"

typedef int	(*xf_store_rec_fn)(void *, const void *, size_t, const void *,
		    size_t);
typedef int	(*xf_store_upd_fn)(void *, const void *, size_t, xf_buf_t *);

/* One function per operation of store.h, same meaning; count_max with
 * max SIZE_MAX is count. */
typedef struct xf_store_ops_s {
	const char	*so_name;
	void	(*so_close)(xf_store_t *);
	int	(*so_user_get)(xf_store_t *, const char *, xf_account_t *);
	int	(*so_user_put)(xf_store_t *, const char *,
		    const xf_account_t *, int);
	int	(*so_user_del)(xf_store_t *, const char *);
	int	(*so_user_list)(xf_store_t *, const char *,
		    int (*)(void *, const char *), void *);
	int	(*so_get)(xf_store_t *, int, const void *, size_t, xf_buf_t *);
	int	(*so_put)(xf_store_t *, int, const void *, size_t,
		    const void *, size_t);
	int	(*so_update)(xf_store_t *, int, const void *, size_t,
		    xf_store_upd_fn, void *);
	int	(*so_del)(xf_store_t *, int, const void *, size_t);
	int	(*so_scan)(xf_store_t *, int, const void *, size_t,
		    xf_store_rec_fn, void *);
	int	(*so_del_prefix)(xf_store_t *, int, const void *, size_t,
		    size_t *);
	int	(*so_count_max)(xf_store_t *, int, const void *, size_t,
		    size_t, size_t *);
	int	(*so_usage)(xf_store_t *, int, const void *, size_t,
		    size_t *, size_t *);
	int	(*so_seq)(xf_store_t *, uint64_t *);
	int	(*so_check)(xf_store_t *, int, char *, size_t);
	int	(*so_listen)(xf_store_t *, const char *,
		    void (*)(void *, const char *), void *);
	int	(*so_notify)(xf_store_t *, const char *, const char *);
} xf_store_ops_t;

/* The head of every backend's handle. */
struct xf_store_s {
	const xf_store_ops_t	*st_ops;
	char			 st_err[256];
	int			 st_full;	/* xf_store_full() */
};

/* Sets st_err; returns XF_ERR. */
int	 xf_store_fail(xf_store_t *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* The names of the per-user tables, by XF_T_*. */
extern const char *const xf_store_tables[XF_T_NTABLES];

int	 xf_store_lmdb_open(const xf_store_conf_t *, xf_store_t **, char *,
	    size_t);
int	 xf_store_pg_open(const xf_store_conf_t *, xf_store_t **, char *,
	    size_t);

#endif /* XF_STORE_IMPL_H */
