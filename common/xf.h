/* xf.h: return codes and small definitions every xfed source file shares. */
#ifndef XF_H
#define XF_H

#include <stddef.h>
#include <stdint.h>

#define XF_VERSION	"0.1.0"

/*
 * Return codes on the event path and in library-like code (nginx style).
 * A short read is XF_AGAIN, not an error; XF_DECLINED means "not mine /
 * not found", and the caller tries the next thing.
 */
#define XF_OK		 0
#define XF_ERR		-1
#define XF_AGAIN	-2
#define XF_DECLINED	-3

/* Limits shared by every process of a node. */
#define XF_MAX_WORKERS	64	/* ring slots: workers of all generations */
#define XF_JID_MAX	3071	/* 3 x 1023 bytes + separators, RFC 7622 */
/*
 * The longest bare JID an account may have.  RFC 7622 allows 1023-byte
 * localparts, but a bound session's full JID is a key of the session
 * table, an LMDB key of at most 511 bytes (XF_SESS_JID_MAX): this leaves
 * every account room for a resource of 127 bytes.  Accounts are refused
 * past it where they are made (xfedctl, XEP-0077); an address past it is
 * no account, as for any unknown user.
 */
#define XF_ACCOUNT_JID_MAX	383
#define XF_RESOURCE_ROOM	127

#define XF_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#endif /* XF_H */
