/* unauth.c: unit tests for shm/unauth.c: caps across worker slots, give, a dead slot, counters in shared memory seen by another process. */
#include <sys/wait.h>

#include <stdio.h>
#include <unistd.h>

#include "tap.h"
#include "xf.h"
#include "unauth.h"

int
main(void)
{
	xf_rings_t	*rs;
	char		 err[256];
	uint32_t	 total, ip;
	int		 why, i, status;
	pid_t		 pid;

	if (xf_rings_create(4096, &rs, err, sizeof(err)) != XF_OK) {
		printf("Bail out! rings: %s\n", err);
		return 1;
	}
	for (i = 0; i < 3; i++)
		is_int(xf_unauth_take(rs, "10.0.0.1", (uint32_t)i % 2, 5, 3,
		    &why), XF_OK, "take %d from 10.0.0.1", i);
	is_int(xf_unauth_take(rs, "10.0.0.1", 1, 5, 3, &why), XF_DECLINED,
	    "the fourth from one address, on either slot, is declined");
	is_int(why, XF_UNAUTH_IP, "  because of the address cap");
	is_int(xf_unauth_take(rs, "10.0.0.10", 0, 5, 3, &why), XF_OK,
	    "10.0.0.10 is another address");
	is_int(xf_unauth_take(rs, "10.0.0.2", 2, 5, 3, &why), XF_OK,
	    "a fifth on the node");
	is_int(xf_unauth_take(rs, "10.0.0.3", 2, 5, 3, &why), XF_DECLINED,
	    "a sixth is declined");
	is_int(why, XF_UNAUTH_TOTAL, "  because of the node's cap");
	is_int(xf_unauth_take(rs, "10.0.0.3", 2, 0, 0, &why), XF_OK,
	    "0: no cap");
	xf_unauth_count(rs, "10.0.0.1", &total, &ip);
	ok(total == 6 && ip == 3, "count: 6 on the node, 3 from 10.0.0.1");

	/* Another process (a worker) sees the same counters and adds. */
	if ((pid = fork()) == 0) {
		xf_unauth_count(rs, "10.0.0.1", &total, &ip);
		if (total != 6 || ip != 3)
			_exit(1);
		_exit(xf_unauth_take(rs, "10.0.0.9", 3, 0, 0, &why) == XF_OK ?
		    0 : 2);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a forked worker sees the node's counts and takes a place");
	xf_unauth_count(rs, NULL, &total, NULL);
	is_int(total, 7, "  which the parent sees");

	xf_unauth_give(rs, "10.0.0.1", 0);
	xf_unauth_count(rs, "10.0.0.1", &total, &ip);
	ok(total == 6 && ip == 2, "count after a give: 6, 2");
	is_int(xf_unauth_clear(rs, 2), 2, "a dead slot 2 held two places");
	xf_unauth_count(rs, "10.0.0.3", &total, &ip);
	ok(total == 4 && ip == 0, "count after the clear: 4, 0");
	xf_unauth_give(rs, "10.0.0.3", 2);
	xf_unauth_count(rs, NULL, &total, NULL);
	is_int(total, 4, "giving back a cleared place changes nothing");
	xf_ring_reset(xf_rings_get(rs, 3));
	xf_unauth_count(rs, NULL, &total, NULL);
	is_int(total, 3, "a slot reset for a new worker starts at zero");
	is_int(xf_unauth_take(rs, "10.0.0.1", XF_MAX_WORKERS, 0, 0, &why),
	    XF_ERR, "a slot out of range is refused");
	xf_rings_destroy(rs);
	return done_testing();
}
