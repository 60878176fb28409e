/* smstate_impl.h: what smstate.c (SM records) and smqueue.c (their stanza queues) share; private to shm/. */
#ifndef XF_SMSTATE_IMPL_H
#define XF_SMSTATE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "xf.h"
#include "buf.h"
#include "sess.h"
#include "sess_impl.h"

static inline void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static inline uint64_t
get64(const unsigned char *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline int
wbegin(xf_sess_t *s, MDB_txn **txn)
{
	int	 rc;

	if ((rc = mdb_txn_begin(s->s_env, NULL, 0, txn)) != 0)
		return fail(s, "mdb_txn_begin", rc);
	return XF_OK;
}

static inline int
wcommit(xf_sess_t *s, MDB_txn *txn)
{
	int	 rc;

	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(s, "mdb_txn_commit", rc);
	return XF_OK;
}

static inline int
owned(const xf_sm_rec_t *rec, uint32_t worker, uint64_t conn)
{
	return rec->sm_state == XF_SM_ATTACHED && rec->sm_node == 0 &&
	    rec->sm_worker == worker && rec->sm_conn == conn;
}
/* smstate.c: sm[id] into *rec: XF_OK, XF_DECLINED (none), XF_ERR. */
int	 xf_smstate_load(xf_sess_t *, MDB_txn *, const char *id,
	    xf_sm_rec_t *rec);
/* Writes rec as the new state of id (o: the state it replaces, or NULL),
 * keeping the smexp index in step. */
int	 xf_smstate_store(xf_sess_t *, MDB_txn *, const char *id,
	    const xf_sm_rec_t *o, const xf_sm_rec_t *rec);
/* smjid[full] into id (XF_SM_IDLEN + 1 bytes). */
int	 xf_smstate_jid(xf_sess_t *, MDB_txn *, const MDB_val *jk, char *id);

/* smqueue.c: deletes the entries of id in queue dbi up to seq upto. */
int	 xf_smqueue_del(xf_sess_t *, MDB_txn *, MDB_dbi dbi, const char *id,
	    uint64_t upto, uint64_t *n);
/* Appends id's entries of queue dbi after seq after (at most max) to out. */
int	 xf_smqueue_copy(xf_sess_t *, MDB_txn *, MDB_dbi dbi, const char *id,
	    uint64_t after, size_t max, int withseq, xf_buf_t *out, size_t *n);

#endif /* XF_SMSTATE_IMPL_H */
