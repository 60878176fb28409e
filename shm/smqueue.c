/* smqueue.c: an XEP-0198 session's stanza queues in the session environment: the inbox (smin) and the unacknowledged (smq). */
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "sess.h"
#include "sess_impl.h"
#include "smstate_impl.h"

#define SM_QKEYLEN	(XF_SM_IDLEN + 8)	/* id, big-endian seq */

static void
qkey(unsigned char *buf, const char *id, uint64_t seq, MDB_val *k)
{
	memcpy(buf, id, XF_SM_IDLEN);
	put64(buf + XF_SM_IDLEN, seq);
	k->mv_data = buf;
	k->mv_size = SM_QKEYLEN;
}

/* Deletes the entries of id in queue dbi up to seq upto; *n counts. */
int
xf_smqueue_del(xf_sess_t *s, MDB_txn *txn, MDB_dbi dbi, const char *id,
    uint64_t upto, uint64_t *n)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return fail(s, "mdb_cursor_open", rc);
	qkey(kb, id, 0, &k);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    k.mv_size == SM_QKEYLEN && memcmp(k.mv_data, id, XF_SM_IDLEN) == 0
	    && get64((unsigned char *)k.mv_data + XF_SM_IDLEN) <= upto;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_cursor_get/del(sm queue)", rc);
	return XF_OK;
}

/*
 * Appends id's entries of queue dbi after seq after (at most max) to
 * out: [seq] when withseq, then [len][bytes].  *n counts.
 */
int
xf_smqueue_copy(xf_sess_t *s, MDB_txn *txn, MDB_dbi dbi, const char *id,
    uint64_t after, size_t max, int withseq, xf_buf_t *out, size_t *n)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_cursor	*cur;
	MDB_val		 k, v;
	uint64_t	 seq, len;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return fail(s, "mdb_cursor_open", rc);
	qkey(kb, id, after + 1, &k);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    *n < max && k.mv_size == SM_QKEYLEN &&
	    memcmp(k.mv_data, id, XF_SM_IDLEN) == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		seq = get64((unsigned char *)k.mv_data + XF_SM_IDLEN);
		len = v.mv_size;
		if ((withseq && xf_buf_append(out, &seq, sizeof(seq)) !=
		    XF_OK) || xf_buf_append(out, &len, sizeof(len)) != XF_OK ||
		    xf_buf_append(out, v.mv_data, v.mv_size) != XF_OK) {
			mdb_cursor_close(cur);
			return failx(s, "out of memory");
		}
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND && *n < max)
		return fail(s, "mdb_cursor_get(sm queue)", rc);
	return XF_OK;
}

/* Appends one stanza to the inbox of id (rec is updated, not stored). */
static int
inbox_put(xf_sess_t *s, MDB_txn *txn, const char *id, xf_sm_rec_t *rec,
    const char *data, size_t len)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_val		 k, v;
	int		 rc;

	qkey(kb, id, rec->sm_inseq + 1, &k);
	v.mv_data = (void *)data;
	v.mv_size = len;
	if ((rc = mdb_put(txn, s->s_smin, &k, &v, 0)) != 0)
		return fail(s, "mdb_put(smin)", rc);
	rec->sm_inseq++;
	rec->sm_inlen++;
	return XF_OK;
}

/* Deletes inbox entry inseq of id, if there (rec is updated). */
static int
inbox_del(xf_sess_t *s, MDB_txn *txn, const char *id, xf_sm_rec_t *rec,
    uint64_t inseq)
{
	unsigned char	 kb[SM_QKEYLEN];
	MDB_val		 k;
	int		 rc;

	qkey(kb, id, inseq, &k);
	rc = mdb_del(txn, s->s_smin, &k, NULL);
	if (rc == 0 && rec->sm_inlen > 0)
		rec->sm_inlen--;
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return fail(s, "mdb_del(smin)", rc);
	return XF_OK;
}

int
xf_sess_sm_handled(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, uint64_t *h)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if (!owned(&rec, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	rec.sm_h_in++;
	if ((r = xf_smstate_store(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	*h = rec.sm_h_in;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_sent(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, uint64_t inseq, const char *data, size_t len,
    xf_sm_rec_t *out)
{
	unsigned char	 kb[SM_QKEYLEN];
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	if (rec.sm_state == XF_SM_CLAIMED) {
		r = XF_DECLINED;
		goto fail;
	}
	if (!owned(&rec, worker, conn)) {
		/* Taken over: the new owner writes it, after what it has. */
		if (inseq != 0) {
			r = XF_AGAIN;
			goto fail;
		}
		if ((r = inbox_put(s, txn, id, &rec, data, len)) != XF_OK ||
		    (r = xf_smstate_store(s, txn, id, &rec, &rec)) != XF_OK)
			goto fail;
		*out = rec;
		return wcommit(s, txn) == XF_OK ? XF_AGAIN : XF_ERR;
	}
	qkey(kb, id, rec.sm_sent + 1, &k);
	v.mv_data = (void *)data;
	v.mv_size = len;
	if ((rc = mdb_put(txn, s->s_smq, &k, &v, 0)) != 0) {
		r = fail(s, "mdb_put(smq)", rc);
		goto fail;
	}
	rec.sm_sent++;
	if (inseq != 0 && (r = inbox_del(s, txn, id, &rec, inseq)) != XF_OK)
		goto fail;
	if ((r = xf_smstate_store(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_queue(xf_sess_t *s, const char *full, uint32_t direct,
    const char *data, size_t len, uint64_t max, char *id, xf_sm_rec_t *out)
{
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	MDB_val		 jk;
	int		 r;

	if (mkkey(s, full, &jk) != XF_OK)
		return XF_DECLINED;
	/* Most stanzas need no write txn: look first. */
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_jid(s, txn, &jk, id)) == XF_OK)
		r = xf_smstate_load(s, txn, id, &rec);
	rend(s);
	if (r != XF_OK)
		return r;
	if (rec.sm_state == XF_SM_CLAIMED)
		return XF_DECLINED;
	*out = rec;
	if (rec.sm_state == XF_SM_ATTACHED && rec.sm_node == 0 &&
	    rec.sm_worker == direct && rec.sm_inlen == 0)
		return XF_AGAIN;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &o)) != XF_OK)
		goto fail;
	if (o.sm_state == XF_SM_CLAIMED) {
		r = XF_DECLINED;
		goto fail;
	}
	rec = o;
	if ((r = inbox_put(s, txn, id, &rec, data, len)) != XF_OK)
		goto fail;
	/* Over the cap while nobody reads it: end it now. */
	if (rec.sm_state == XF_SM_DETACHED && rec.sm_expires > 0 &&
	    rec.sm_inlen + rec.sm_sent - rec.sm_acked >= max)
		rec.sm_expires = 0;
	if ((r = xf_smstate_store(s, txn, id, &o, &rec)) != XF_OK)
		goto fail;
	*out = rec;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_inbox(xf_sess_t *s, const char *id, uint64_t after, size_t max,
    xf_buf_t *out, size_t *n)
{
	MDB_txn	*txn;
	int	 r;

	*n = 0;
	if (strlen(id) != XF_SM_IDLEN)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	r = xf_smqueue_copy(s, txn, s->s_smin, id, after, max, 1, out, n);
	rend(s);
	return r;
}

int
xf_sess_sm_unqueue(xf_sess_t *s, const char *id, uint64_t inseq)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK ||
	    (r = inbox_del(s, txn, id, &rec, inseq)) != XF_OK ||
	    (r = xf_smstate_store(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_ack(xf_sess_t *s, const char *id, uint32_t worker, uint64_t conn,
    uint64_t acked)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	uint64_t	 n;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if (!owned(&rec, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	if (acked > rec.sm_sent)
		acked = rec.sm_sent;
	if (acked <= rec.sm_acked) {
		mdb_txn_abort(txn);
		return XF_OK;
	}
	if ((r = xf_smqueue_del(s, txn, s->s_smq, id, acked, &n)) != XF_OK)
		goto fail;
	rec.sm_acked = acked;
	if ((r = xf_smstate_store(s, txn, id, &rec, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_queued(xf_sess_t *s, const char *id, xf_buf_t *out, size_t *n)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	int		 r;

	*n = 0;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) == XF_OK &&
	    (r = xf_smqueue_copy(s, txn, s->s_smq, id, rec.sm_acked,
	    SIZE_MAX, 0, out, n)) == XF_OK)
		r = xf_smqueue_copy(s, txn, s->s_smin, id, 0, SIZE_MAX, 0,
		    out, n);
	rend(s);
	return r;
}
