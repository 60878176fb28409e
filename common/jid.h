/* jid.h: JID parsing and normalisation (RFC 7622). */
#ifndef XF_JID_H
#define XF_JID_H

#include <stddef.h>

/*
 * A parsed JID: three NUL-terminated parts in one owned buffer.
 * j_local and j_resource are NULL when absent.  Parts are normalised
 * (Nodeprep, Nameprep, Resourceprep: see jid.c), domain without a
 * trailing dot.
 */
typedef struct xf_jid_s {
	char	*j_local;
	char	*j_domain;
	char	*j_resource;
	char	 j_buf[3072 + 3];
} xf_jid_t;

/* XF_OK, or XF_ERR when s is not a valid JID (jid-malformed). */
int	 xf_jid_parse(const char *s, size_t len, xf_jid_t *out);

/* Writes "local@domain/resource" (full) or "local@domain" (bare). */
int	 xf_jid_full(const xf_jid_t *, char *out, size_t outlen);
int	 xf_jid_bare(const xf_jid_t *, char *out, size_t outlen);

/* The bare JID of the JID string jid (NULL is allowed) into out: XF_OK,
 * or XF_ERR when jid is NULL, not a valid JID or out is too short. */
int	 xf_jid_bare_of(const char *jid, char *out, size_t outlen);

/* Validates and normalises one part in place, where cap bytes are (it
 * may grow); XF_OK or XF_ERR. */
int	 xf_jid_localpart(char *s, size_t cap);
int	 xf_jid_domainpart(char *s, size_t cap);
int	 xf_jid_resourcepart(char *s, size_t cap);

#endif /* XF_JID_H */
