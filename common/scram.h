/* scram.h: SCRAM-SHA-1 / SCRAM-SHA-256 server side (RFC 5802, RFC 7677) and PLAIN checks. */
#ifndef XF_SCRAM_H
#define XF_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef enum { XF_HASH_SHA1 = 0, XF_HASH_SHA256 = 1 } xf_hash_t;

#define XF_SCRAM_SALT_LEN	16
#define XF_SCRAM_MAX_KEY	32

/*
 * What the store keeps of a password: per hash, StoredKey and ServerKey
 * derived from one salt and iteration count.  Never the password.
 */
typedef struct xf_cred_s {
	uint32_t	cr_iter;
	uint8_t		cr_salt[XF_SCRAM_SALT_LEN];
	uint8_t		cr_stored[2][XF_SCRAM_MAX_KEY];	/* [xf_hash_t] */
	uint8_t		cr_server[2][XF_SCRAM_MAX_KEY];
} xf_cred_t;

size_t	 xf_hash_len(xf_hash_t);		/* 20 or 32 */

/* Derives StoredKey and ServerKey for one hash (RFC 5802 section 3). */
int	 xf_scram_keys(xf_hash_t, const char *password, size_t pwlen,
	    const uint8_t *salt, size_t saltlen, unsigned iter,
	    uint8_t *stored, uint8_t *server);
/* Fills cred from a password (after SASLprep) with a fresh random salt. */
int	 xf_cred_make(const char *password, unsigned iter, xf_cred_t *out);
/* XF_OK when SASLprep (RFC 4013) takes password: not empty after it, no
 * prohibited character, bidi rule kept.  XF_ERR otherwise. */
int	 xf_password_ok(const char *password);
/* XF_OK when password matches cred (constant-time compare), else XF_ERR. */
int	 xf_cred_check(const xf_cred_t *, const char *password, size_t pwlen);
/*
 * PLAIN's check of user's password: XF_OK when it matches cred.  cred
 * NULL is a user without an account: the password is then checked
 * against a stand-in of iter iterations (the node's scram-iterations),
 * with the salt SCRAM would fake for user, so that a failure costs the
 * same one PBKDF2 run either way and its time does not tell whether the
 * account exists (RFC 5802 section 9).  Always XF_ERR for cred NULL.
 */
int	 xf_plain_check(const xf_cred_t *cred, const char *user, unsigned iter,
	    const char *password, size_t pwlen);

/*
 * One server-side SCRAM exchange:
 *   s = xf_scram_new(hash);
 *   xf_scram_client_first(s, msg, len, user, sizeof(user))  -> authcid
 *   (look the user up; on unknown user call it anyway with cred NULL,
 *    which fakes a salt so the exchange fails only at the proof)
 *   xf_scram_server_first(s, cred, it, NULL, &out)       -> challenge
 *   xf_scram_client_final(s, msg, len, &out)             -> XF_OK + success
 *                                                            data, or XF_ERR
 *   xf_scram_free(s);
 * For cred NULL the challenge names fake_iter iterations: give the
 * node's scram-iterations, what an account made now would have, or the
 * count alone would tell an unknown name from a real one whenever it is
 * not the default.  fake_iter is ignored when cred is given.
 * Errors give a SASL condition in *cond ("malformed-request",
 * "not-authorized", ...).  snonce may be given for test vectors; NULL
 * makes a random one.
 */
typedef struct xf_scram_s xf_scram_t;

xf_scram_t *xf_scram_new(xf_hash_t);
void	 xf_scram_free(xf_scram_t *);
int	 xf_scram_client_first(xf_scram_t *, const char *msg, size_t len,
	    char *authcid, size_t authcidlen, const char **cond);
int	 xf_scram_server_first(xf_scram_t *, const xf_cred_t *cred,
	    unsigned fake_iter, const char *snonce, xf_buf_t *out);
int	 xf_scram_client_final(xf_scram_t *, const char *msg, size_t len,
	    xf_buf_t *out, const char **cond);

/* Parses a SASL PLAIN message: authzid NUL authcid NUL passwd. */
int	 xf_sasl_plain_parse(const char *msg, size_t len, char *authzid,
	    size_t azlen, char *authcid, size_t aclen, char *pass, size_t plen);

#endif /* XF_SCRAM_H */
