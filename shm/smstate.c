/* smstate.c: XEP-0198 stream management state in named databases of the session environment: the SM records and their owners. */
#include <errno.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "buf.h"
#include "sess.h"
#include "sess_impl.h"
#include "smstate_impl.h"

#define SM_HEAD		offsetof(xf_sm_rec_t, sm_full)

static int
idkey(const char *id, MDB_val *k)
{
	if (id == NULL || strlen(id) != XF_SM_IDLEN)
		return XF_DECLINED;
	k->mv_data = (void *)id;
	k->mv_size = XF_SM_IDLEN;
	return XF_OK;
}

/* sm[id] into *rec: XF_OK, XF_DECLINED (none), XF_ERR. */
int
xf_smstate_load(xf_sess_t *s, MDB_txn *txn, const char *id,
    xf_sm_rec_t *rec)
{
	MDB_val	 k, v;
	int	 rc;

	if (idkey(id, &k) != XF_OK)
		return XF_DECLINED;
	if ((rc = mdb_get(txn, s->s_sm, &k, &v)) == MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get(sm)", rc);
	/* Fixed head, then the JID without its NUL. */
	if (v.mv_size < SM_HEAD || v.mv_size - SM_HEAD >= sizeof(rec->sm_full))
		return failx(s, "SM record of the wrong size");
	memcpy(rec, v.mv_data, v.mv_size);
	rec->sm_full[v.mv_size - SM_HEAD] = '\0';
	return XF_OK;
}

/*
 * Writes rec as the new state of id (o: the state it replaces, or NULL)
 * and keeps the smexp index in step: one entry per DETACHED session.
 */
int
xf_smstate_store(xf_sess_t *s, MDB_txn *txn, const char *id,
    const xf_sm_rec_t *o, const xf_sm_rec_t *rec)
{
	unsigned char	 ek[8 + XF_SM_IDLEN];
	MDB_val		 k, v;
	int		 rc;

	k.mv_data = ek;
	k.mv_size = sizeof(ek);
	memcpy(ek + 8, id, XF_SM_IDLEN);
	if (o != NULL && o->sm_state == XF_SM_DETACHED &&
	    (rec->sm_state != XF_SM_DETACHED ||
	    rec->sm_expires != o->sm_expires)) {
		put64(ek, (uint64_t)o->sm_expires);
		if ((rc = mdb_del(txn, s->s_smexp, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return fail(s, "mdb_del(smexp)", rc);
	}
	if (rec->sm_state == XF_SM_DETACHED && (o == NULL ||
	    o->sm_state != XF_SM_DETACHED ||
	    rec->sm_expires != o->sm_expires)) {
		put64(ek, (uint64_t)rec->sm_expires);
		v.mv_data = "";
		v.mv_size = 0;
		if ((rc = mdb_put(txn, s->s_smexp, &k, &v, 0)) != 0)
			return fail(s, "mdb_put(smexp)", rc);
	}
	idkey(id, &k);
	v.mv_data = (void *)rec;
	v.mv_size = SM_HEAD + strlen(rec->sm_full);
	if ((rc = mdb_put(txn, s->s_sm, &k, &v, 0)) != 0)
		return fail(s, "mdb_put(sm)", rc);
	return XF_OK;
}

/* The session record of full in txn: XF_OK, XF_DECLINED, XF_ERR. */
static int
srload(xf_sess_t *s, MDB_txn *txn, const char *full, MDB_val *k,
    xf_sess_rec_t *rec)
{
	MDB_val	 v;
	int	 rc;

	if (mkkey(s, full, k) != XF_OK)
		return XF_DECLINED;
	if ((rc = mdb_get(txn, s->s_dbi, k, &v)) == MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get", rc);
	return getrec(s, &v, rec);
}

/* The session record rec names the owner of SM state sm. */
static int
names(const xf_sess_rec_t *rec, const xf_sm_rec_t *sm)
{
	return rec->sr_node == sm->sm_node && rec->sr_worker == sm->sm_worker &&
	    rec->sr_conn == sm->sm_conn;
}

/* smjid[full] into id (XF_SM_IDLEN + 1 bytes). */
int
xf_smstate_jid(xf_sess_t *s, MDB_txn *txn, const MDB_val *jk, char *id)
{
	MDB_val	 v;
	int	 rc;

	if ((rc = mdb_get(txn, s->s_smjid, (MDB_val *)jk, &v)) ==
	    MDB_NOTFOUND)
		return XF_DECLINED;
	if (rc != 0)
		return fail(s, "mdb_get(smjid)", rc);
	if (v.mv_size != XF_SM_IDLEN)
		return failx(s, "SM JID index entry of the wrong size");
	memcpy(id, v.mv_data, XF_SM_IDLEN);
	id[XF_SM_IDLEN] = '\0';
	return XF_OK;
}

int
xf_sess_sm_kept_txn(xf_sess_t *s, MDB_txn *txn, const MDB_val *jk,
    const xf_sess_rec_t *rec)
{
	char		 id[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 sm;

	return xf_smstate_jid(s, txn, jk, id) == XF_OK &&
	    xf_smstate_load(s, txn, id, &sm) == XF_OK &&
	    sm.sm_state == XF_SM_DETACHED && names(rec, &sm);
}

int
xf_sess_sm_create(xf_sess_t *s, const char *id, const char *full,
    uint32_t worker, uint64_t conn, int resume, int64_t now)
{
	char		 oid[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 rec, o, n;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_val		 k, jk, v;
	int		 r, rc;

	if (idkey(id, &k) != XF_OK || strlen(full) >= sizeof(rec.sm_full))
		return failx(s, "bad SM id or JID");
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = srload(s, txn, full, &jk, &sr)) != XF_OK)
		goto fail;
	if (sr.sr_node != 0 || sr.sr_worker != worker || sr.sr_conn != conn) {
		r = XF_DECLINED;
		goto fail;
	}
	sr.sr_flags |= XF_SESS_SM;
	v.mv_data = &sr;
	v.mv_size = sizeof(sr);
	if ((rc = mdb_put(txn, s->s_dbi, &jk, &v, 0)) != 0) {
		r = fail(s, "mdb_put", rc);
		goto fail;
	}
	/* A detached session of this JID was replaced by this bind. */
	if ((r = xf_smstate_jid(s, txn, &jk, oid)) == XF_ERR)
		goto fail;
	if (r == XF_OK && strcmp(oid, id) != 0 &&
	    xf_smstate_load(s, txn, oid, &o) == XF_OK &&
	    o.sm_state == XF_SM_DETACHED && o.sm_expires > 0) {
		n = o;
		n.sm_expires = 0;
		if ((r = xf_smstate_store(s, txn, oid, &o, &n)) != XF_OK)
			goto fail;
	}
	memset(&rec, 0, sizeof(rec));
	rec.sm_worker = worker;
	rec.sm_conn = conn;
	rec.sm_state = XF_SM_ATTACHED;
	rec.sm_resume = resume ? 1 : 0;
	rec.sm_since = now;
	snprintf(rec.sm_full, sizeof(rec.sm_full), "%s", full);
	if ((r = xf_smstate_store(s, txn, id, NULL, &rec)) != XF_OK)
		goto fail;
	if ((rc = mdb_put(txn, s->s_smjid, &jk, &k, 0)) != 0) {
		r = fail(s, "mdb_put(smjid)", rc);
		goto fail;
	}
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_get(xf_sess_t *s, const char *id, xf_sm_rec_t *out)
{
	MDB_txn	*txn;
	int	 r;

	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	r = xf_smstate_load(s, txn, id, out);
	rend(s);
	return r;
}

int
xf_sess_sm_find(xf_sess_t *s, const char *full, char *id, xf_sm_rec_t *out)
{
	MDB_txn	*txn;
	MDB_val	 jk;
	int	 r;

	if (mkkey(s, full, &jk) != XF_OK)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_jid(s, txn, &jk, id)) == XF_OK)
		r = xf_smstate_load(s, txn, id, out);
	rend(s);
	return r;
}

int
xf_sess_sm_set_pres(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, const void *data, size_t len)
{
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if (!owned(&rec, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	idkey(id, &k);
	v.mv_data = (void *)data;
	v.mv_size = len;
	if (len == 0)
		rc = mdb_del(txn, s->s_smpres, &k, NULL);
	else
		rc = mdb_put(txn, s->s_smpres, &k, &v, 0);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		r = fail(s, len ? "mdb_put(smpres)" : "mdb_del(smpres)", rc);
		goto fail;
	}
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_pres(xf_sess_t *s, const char *id, xf_buf_t *out)
{
	MDB_txn		*txn;
	MDB_val		 k, v;
	int		 r = XF_OK, rc;

	if (idkey(id, &k) != XF_OK)
		return XF_DECLINED;
	if (rbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_get(txn, s->s_smpres, &k, &v)) == MDB_NOTFOUND)
		r = XF_DECLINED;
	else if (rc != 0)
		r = fail(s, "mdb_get(smpres)", rc);
	else if (xf_buf_append(out, v.mv_data, v.mv_size) != XF_OK)
		r = failx(s, "out of memory");
	rend(s);
	return r;
}

int
xf_sess_sm_detach(xf_sess_t *s, const char *id, uint32_t worker,
    uint64_t conn, int64_t expires)
{
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &o)) != XF_OK)
		goto fail;
	rec = o;
	if (worker == XF_SM_NOWORKER && o.sm_state == XF_SM_DETACHED) {
		if (expires < o.sm_expires)
			rec.sm_expires = expires;
	} else if (worker != XF_SM_NOWORKER && owned(&o, worker, conn)) {
		rec.sm_state = XF_SM_DETACHED;
		rec.sm_expires = expires;
	} else {
		r = XF_DECLINED;
		goto fail;
	}
	if ((r = xf_smstate_store(s, txn, id, &o, &rec)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_take_over(xf_sess_t *s, const char *id, const char *bare,
    uint32_t h, xf_sess_rec_t *srec, xf_sm_rec_t *prev, xf_sm_rec_t *out,
    xf_buf_t *resend)
{
	xf_sm_rec_t	 rec;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_val		 jk, v;
	size_t		 bl = strlen(bare), n = 0;
	uint64_t	 acked, dropped;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, prev)) != XF_OK)
		goto fail;
	/* Someone else's, being ended, or replaced by a new bind: the
	 * client learns only that there is nothing to resume. */
	if (prev->sm_state == XF_SM_CLAIMED ||
	    strncmp(prev->sm_full, bare, bl) != 0 ||
	    prev->sm_full[bl] != '/' ||
	    (r = srload(s, txn, prev->sm_full, &jk, &sr)) == XF_DECLINED ||
	    (r == XF_OK && !names(&sr, prev))) {
		r = XF_DECLINED;
		goto fail;
	}
	if (r != XF_OK)
		goto fail;
	rec = *prev;
	/* h is the low 32 bits of what the client has read; one beyond
	 * what was sent acknowledges nothing new (better twice than lost). */
	acked = rec.sm_acked + (uint32_t)(h - (uint32_t)rec.sm_acked);
	if (acked > rec.sm_sent)
		acked = rec.sm_acked;
	if ((r = xf_smqueue_del(s, txn, s->s_smq, id, acked, &dropped)) !=
	    XF_OK || (r = xf_smqueue_copy(s, txn, s->s_smq, id, acked,
	    SIZE_MAX, 0, resend, &n)) != XF_OK)
		goto fail;
	rec.sm_acked = acked;
	rec.sm_node = srec->sr_node;
	rec.sm_worker = srec->sr_worker;
	rec.sm_conn = srec->sr_conn;
	rec.sm_state = XF_SM_ATTACHED;
	rec.sm_expires = 0;
	if ((r = xf_smstate_store(s, txn, id, prev, &rec)) != XF_OK)
		goto fail;
	/* The session record follows, keeping presence and flags. */
	sr.sr_node = srec->sr_node;
	sr.sr_worker = srec->sr_worker;
	sr.sr_conn = srec->sr_conn;
	sr.sr_since = srec->sr_since;
	memcpy(sr.sr_ip, srec->sr_ip, sizeof(sr.sr_ip));
	v.mv_data = &sr;
	v.mv_size = sizeof(sr);
	if ((rc = mdb_put(txn, s->s_dbi, &jk, &v, 0)) != 0) {
		r = fail(s, "mdb_put", rc);
		goto fail;
	}
	if ((r = wcommit(s, txn)) != XF_OK)
		return r;
	*srec = sr;
	*out = rec;
	return XF_OK;

fail:
	mdb_txn_abort(txn);
	return r;
}

/* Takes the claim on id in txn (o: its state now). */
static int
claim(xf_sess_t *s, MDB_txn *txn, const char *id, const xf_sm_rec_t *o,
    uint32_t worker, xf_sm_rec_t *out)
{
	*out = *o;
	out->sm_state = XF_SM_CLAIMED;
	out->sm_node = 0;
	out->sm_worker = worker;
	out->sm_conn = 0;
	return xf_smstate_store(s, txn, id, o, out);
}

int
xf_sess_sm_claim_expired(xf_sess_t *s, int64_t now, uint32_t worker,
    char *id, xf_sm_rec_t *out, int *gone)
{
	xf_sm_rec_t	 o;
	xf_sess_rec_t	 sr;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v, jk;
	int		 r, rc;

	*gone = 0;
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_cursor_open(txn, s->s_smexp, &cur)) != 0) {
		r = fail(s, "mdb_cursor_open(smexp)", rc);
		goto fail;
	}
	/* The index is sorted by expiry: only its head can be due. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 + XF_SM_IDLEN) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		/* Strictly after: a session is kept at least as long as
		 * promised, however the second of its detach was cut. */
		if ((int64_t)get64(k.mv_data) >= now) {
			rc = MDB_NOTFOUND;
			break;
		}
		memcpy(id, (char *)k.mv_data + 8, XF_SM_IDLEN);
		id[XF_SM_IDLEN] = '\0';
		if ((r = xf_smstate_load(s, txn, id, &o)) == XF_ERR) {
			mdb_cursor_close(cur);
			goto fail;
		}
		if (r == XF_OK && o.sm_state == XF_SM_DETACHED &&
		    o.sm_expires == (int64_t)get64(k.mv_data))
			break;
		/* Stale: the index outlived a state change. */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		/* Stale entries may have gone: keep that. */
		return wcommit(s, txn) == XF_OK ? XF_DECLINED : XF_ERR;
	}
	if (rc != 0) {
		r = fail(s, "mdb_cursor_get(smexp)", rc);
		goto fail;
	}
	if ((r = srload(s, txn, o.sm_full, &jk, &sr)) == XF_ERR)
		goto fail;
	if (r == XF_OK && names(&sr, &o)) {
		if ((rc = mdb_del(txn, s->s_dbi, &jk, NULL)) != 0) {
			r = fail(s, "mdb_del", rc);
			goto fail;
		}
		*gone = sr.sr_avail != 0;
	}
	if ((r = claim(s, txn, id, &o, worker, out)) != XF_OK)
		goto fail;
	if ((r = wcommit(s, txn)) != XF_OK)
		*gone = 0;
	return r;

fail:
	*gone = 0;
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_end(xf_sess_t *s, const char *id, uint32_t worker, uint64_t conn,
    xf_sm_rec_t *out)
{
	xf_sm_rec_t	 o;
	MDB_txn		*txn;
	int		 r;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &o)) != XF_OK)
		goto fail;
	if (!owned(&o, worker, conn)) {
		r = XF_DECLINED;
		goto fail;
	}
	if ((r = claim(s, txn, id, &o, worker, out)) != XF_OK)
		goto fail;
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_drop(xf_sess_t *s, const char *id)
{
	char		 jid[XF_SM_IDLEN + 1];
	xf_sm_rec_t	 rec;
	MDB_txn		*txn;
	MDB_val		 k, jk;
	uint64_t	 n;
	int		 r, rc;

	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((r = xf_smstate_load(s, txn, id, &rec)) != XF_OK)
		goto fail;
	if ((r = xf_smqueue_del(s, txn, s->s_smq, id, UINT64_MAX, &n)) !=
	    XF_OK || (r = xf_smqueue_del(s, txn, s->s_smin, id, UINT64_MAX,
	    &n)) != XF_OK)
		goto fail;
	if (rec.sm_state == XF_SM_DETACHED) {
		xf_sm_rec_t	 gone = rec;

		/* Leaves the index through smstore's bookkeeping. */
		gone.sm_state = XF_SM_CLAIMED;
		if ((r = xf_smstate_store(s, txn, id, &rec, &gone)) != XF_OK)
			goto fail;
	}
	if (mkkey(s, rec.sm_full, &jk) == XF_OK &&
	    xf_smstate_jid(s, txn, &jk, jid) == XF_OK && strcmp(jid, id) == 0 &&
	    (rc = mdb_del(txn, s->s_smjid, &jk, NULL)) != 0) {
		r = fail(s, "mdb_del(smjid)", rc);
		goto fail;
	}
	idkey(id, &k);
	if ((rc = mdb_del(txn, s->s_smpres, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND) {
		r = fail(s, "mdb_del(smpres)", rc);
		goto fail;
	}
	if ((rc = mdb_del(txn, s->s_sm, &k, NULL)) != 0) {
		r = fail(s, "mdb_del(sm)", rc);
		goto fail;
	}
	return wcommit(s, txn);

fail:
	mdb_txn_abort(txn);
	return r == XF_DECLINED ? XF_OK : r;
}

int
xf_sess_sm_detach_worker(xf_sess_t *s, uint32_t worker, int64_t expires,
    size_t *count)
{
	xf_buf_t	 ids = { 0 };
	xf_sm_rec_t	 o, rec;
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	char		 id[XF_SM_IDLEN + 1];
	size_t		 off;
	int		 r = XF_OK, rc;

	*count = 0;
	if (wbegin(s, &txn) != XF_OK)
		return XF_ERR;
	if ((rc = mdb_cursor_open(txn, s->s_sm, &cur)) != 0) {
		r = fail(s, "mdb_cursor_open(sm)", rc);
		goto fail;
	}
	/* Ids first: the records change size as they are rewritten. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != XF_SM_IDLEN || v.mv_size < SM_HEAD)
			continue;
		memcpy(&o, v.mv_data, SM_HEAD);
		if (o.sm_node == 0 && o.sm_worker == worker &&
		    (o.sm_state == XF_SM_ATTACHED ||
		    o.sm_state == XF_SM_CLAIMED) &&
		    xf_buf_append(&ids, k.mv_data, XF_SM_IDLEN) != XF_OK) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		r = fail(s, "mdb_cursor_get(sm)", rc);
		goto fail;
	}
	for (off = 0; off < xf_buf_size(&ids); off += XF_SM_IDLEN) {
		memcpy(id, xf_buf_data(&ids) + off, XF_SM_IDLEN);
		id[XF_SM_IDLEN] = '\0';
		if ((r = xf_smstate_load(s, txn, id, &o)) != XF_OK)
			goto fail;
		rec = o;
		rec.sm_state = XF_SM_DETACHED;
		/* A claim of the dead worker is taken again at once. */
		rec.sm_expires = o.sm_state == XF_SM_ATTACHED && o.sm_resume ?
		    expires : 0;
		if ((r = xf_smstate_store(s, txn, id, &o, &rec)) != XF_OK)
			goto fail;
		(*count)++;
	}
	xf_buf_free(&ids);
	return wcommit(s, txn);

fail:
	*count = 0;
	xf_buf_free(&ids);
	mdb_txn_abort(txn);
	return r;
}

int
xf_sess_sm_kept(xf_sess_t *s, const char *full, const xf_sess_rec_t *rec)
{
	MDB_txn	*txn;
	MDB_val	 jk;
	int	 kept;

	if (!(rec->sr_flags & XF_SESS_SM) || mkkey(s, full, &jk) != XF_OK ||
	    rbegin(s, &txn) != XF_OK)
		return 0;
	kept = xf_sess_sm_kept_txn(s, txn, &jk, rec);
	rend(s);
	return kept;
}
