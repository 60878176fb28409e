/* store.c: the storage interface: picks a backend and hands each call to it. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xf.h"
#include "conf.h"
#include "store_impl.h"

const char *const xf_store_tables[XF_T_NTABLES] = {
	"roster", "offline", "vcard", "private", "pep", "block", "meta",
};

int
xf_store_fail(xf_store_t *st, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(st->st_err, sizeof(st->st_err), fmt, ap);
	va_end(ap);
	return XF_ERR;
}

int
xf_store_open(const xf_store_conf_t *sc, xf_store_t **out, char *err,
    size_t errlen)
{
	switch (sc->sc_backend) {
	case XF_STORE_LMDB:
		return xf_store_lmdb_open(sc, out, err, errlen);
	case XF_STORE_PGSQL:
		return xf_store_pg_open(sc, out, err, errlen);
	}
	snprintf(err, errlen, "store: unknown backend %d", sc->sc_backend);
	return XF_ERR;
}

int
xf_store_open_conf(const xf_conf_t *cf, xf_store_t **out, char *err,
    size_t errlen)
{
	xf_store_conf_t	 sc;
	char		 dir[4096];

	if (xf_conf_subdir(cf, XF_DIR_STORE, dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "store: data-dir too long");
		return XF_ERR;
	}
	sc.sc_backend = cf->cf_store_backend;
	sc.sc_dir = dir;
	sc.sc_dsn = cf->cf_store_dsn;
	sc.sc_pool = cf->cf_store_pool;
	sc.sc_timeout = cf->cf_store_timeout;
	sc.sc_map_size = cf->cf_store_map_size;
	return xf_store_open(&sc, out, err, errlen);
}

void
xf_store_close(xf_store_t *st)
{
	if (st != NULL)
		st->st_ops->so_close(st);
}

const char *
xf_store_backend(const xf_store_t *st)
{
	return st->st_ops->so_name;
}

const char *
xf_store_error(const xf_store_t *st)
{
	return st->st_err;
}

int
xf_store_full(const xf_store_t *st)
{
	return st->st_full;
}

int
xf_store_check(xf_store_t *st, int conns, char *msg, size_t len)
{
	return st->st_ops->so_check(st, conns, msg, len);
}

int
xf_store_listen(xf_store_t *st, const char *channel,
    void (*fn)(void *, const char *), void *ud)
{
	if (st->st_ops->so_listen == NULL)
		return XF_OK;
	return st->st_ops->so_listen(st, channel, fn, ud);
}

int
xf_store_notify(xf_store_t *st, const char *channel, const char *payload)
{
	if (st->st_ops->so_notify == NULL)
		return XF_OK;
	return st->st_ops->so_notify(st, channel, payload);
}

static int
bad_table(xf_store_t *st, int table)
{
	if (table >= 0 && table < XF_T_NTABLES)
		return 0;
	xf_store_fail(st, "no table %d", table);
	return 1;
}

int
xf_store_user_get(xf_store_t *st, const char *bare, xf_account_t *out)
{
	return st->st_ops->so_user_get(st, bare, out);
}

int
xf_store_user_put(xf_store_t *st, const char *bare, const xf_account_t *a,
    int create)
{
	return st->st_ops->so_user_put(st, bare, a, create);
}

int
xf_store_user_del(xf_store_t *st, const char *bare)
{
	return st->st_ops->so_user_del(st, bare);
}

int
xf_store_user_list(xf_store_t *st, const char *domain,
    int (*fn)(void *, const char *), void *ud)
{
	return st->st_ops->so_user_list(st, domain, fn, ud);
}

int
xf_store_get(xf_store_t *st, int table, const void *key, size_t klen,
    xf_buf_t *val)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_get(st, table, key, klen, val);
}

int
xf_store_put(xf_store_t *st, int table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_put(st, table, key, klen, val, vlen);
}

int
xf_store_update(xf_store_t *st, int table, const void *key, size_t klen,
    int (*fn)(void *, const void *, size_t, xf_buf_t *), void *ud)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_update(st, table, key, klen, fn, ud);
}

int
xf_store_del(xf_store_t *st, int table, const void *key, size_t klen)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_del(st, table, key, klen);
}

int
xf_store_scan(xf_store_t *st, int table, const void *prefix, size_t plen,
    int (*fn)(void *, const void *, size_t, const void *, size_t), void *ud)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_scan(st, table, prefix, plen, fn, ud);
}

int
xf_store_del_prefix(xf_store_t *st, int table, const void *prefix,
    size_t plen, size_t *count)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_del_prefix(st, table, prefix, plen, count);
}

int
xf_store_count_max(xf_store_t *st, int table, const void *prefix,
    size_t plen, size_t max, size_t *count)
{
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_count_max(st, table, prefix, plen, max, count);
}

int
xf_store_usage(xf_store_t *st, int table, const void *prefix, size_t plen,
    size_t *count, size_t *bytes)
{
	*count = 0;
	*bytes = 0;
	if (bad_table(st, table))
		return XF_ERR;
	return st->st_ops->so_usage(st, table, prefix, plen, count, bytes);
}

int
xf_store_count(xf_store_t *st, int table, const void *prefix, size_t plen,
    size_t *count)
{
	return xf_store_count_max(st, table, prefix, plen, SIZE_MAX, count);
}

int
xf_store_seq(xf_store_t *st, uint64_t *seq)
{
	return st->st_ops->so_seq(st, seq);
}
