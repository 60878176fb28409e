/* store.h: the durable store interface (accounts now; rosters, offline later). */
#ifndef XF_STORE_H
#define XF_STORE_H

#include <stddef.h>

#include "scram.h"

typedef struct xf_store_s xf_store_t;

typedef struct xf_account_s {
	xf_cred_t	ac_cred;
	int64_t		ac_created;	/* unix time */
} xf_account_t;

/*
 * Opens the store under dir (created if missing).  Each process opens
 * its own handle after fork (LMDB forbids sharing an env across fork).
 * err gets a message on failure; the caller logs it.
 */
int	 xf_store_open(const char *dir, xf_store_t **out, char *err, size_t);
void	 xf_store_close(xf_store_t *);

/* bare: a normalised bare JID.  XF_OK, XF_DECLINED (no such user), XF_ERR. */
int	 xf_store_user_get(xf_store_t *, const char *bare, xf_account_t *out);
/* create: XF_DECLINED when the user exists already.  !create: XF_DECLINED
 * when the user does not exist. */
int	 xf_store_user_put(xf_store_t *, const char *bare,
	    const xf_account_t *, int create);
int	 xf_store_user_del(xf_store_t *, const char *bare);
/* Calls fn for each bare JID (optionally only of one domain), sorted. */
int	 xf_store_user_list(xf_store_t *, const char *domain,
	    int (*fn)(void *ud, const char *bare), void *ud);

const char *xf_store_error(const xf_store_t *);

#endif /* XF_STORE_H */
