/* unauth.c: unauthenticated connections per node and per address, counted in the rings' shared memory. */
#include <stdint.h>

#include "xf.h"
#include "unauth.h"

/* FNV-1a of the address text: where its count lives. */
static uint32_t
bucket(const char *ip)
{
	uint32_t	 h = 2166136261u;

	for (; *ip != '\0'; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % XF_UNAUTH_BUCKETS;
}

void
xf_unauth_count(xf_rings_t *rs, const char *ip, uint32_t *total,
    uint32_t *ipcount)
{
	uint32_t	 b = ip != NULL ? bucket(ip) : 0;

	*total = 0;
	if (ipcount != NULL)
		*ipcount = 0;
	for (unsigned i = 0; i < XF_MAX_WORKERS; i++) {
		const xf_wstats_t	*st = xf_rings_stats(rs, i);

		*total += st->ws_unauth;
		if (ip != NULL && ipcount != NULL)
			*ipcount += st->ws_unauth_ip[b];
	}
}

int
xf_unauth_take(xf_rings_t *rs, const char *ip, uint32_t slot,
    uint32_t max_total, uint32_t max_ip, int *why)
{
	xf_wstats_t	*mine;
	uint32_t	 total, ipcount;

	*why = 0;
	if (slot >= XF_MAX_WORKERS)
		return XF_ERR;
	if (max_total > 0 || max_ip > 0) {
		xf_unauth_count(rs, ip, &total, &ipcount);
		if (max_ip > 0 && ipcount >= max_ip)
			*why = XF_UNAUTH_IP;
		else if (max_total > 0 && total >= max_total)
			*why = XF_UNAUTH_TOTAL;
		if (*why != 0)
			return XF_DECLINED;
	}
	mine = xf_rings_stats(rs, slot);
	mine->ws_unauth++;
	mine->ws_unauth_ip[bucket(ip)]++;
	return XF_OK;
}

void
xf_unauth_give(xf_rings_t *rs, const char *ip, uint32_t slot)
{
	xf_wstats_t	*mine;
	uint32_t	 b = bucket(ip);

	if (slot >= XF_MAX_WORKERS)
		return;
	mine = xf_rings_stats(rs, slot);
	/* A reset slot (its worker was declared dead) owes nothing. */
	if (mine->ws_unauth > 0)
		mine->ws_unauth--;
	if (mine->ws_unauth_ip[b] > 0)
		mine->ws_unauth_ip[b]--;
}

uint32_t
xf_unauth_clear(xf_rings_t *rs, uint32_t slot)
{
	xf_wstats_t	*st;
	uint32_t	 n;

	if (slot >= XF_MAX_WORKERS)
		return 0;
	st = xf_rings_stats(rs, slot);
	n = st->ws_unauth;
	st->ws_unauth = 0;
	for (unsigned i = 0; i < XF_UNAUTH_BUCKETS; i++)
		st->ws_unauth_ip[i] = 0;
	return n;
}
