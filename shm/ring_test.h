/* ring_test.h: shm/ring.c's test-only hook, for t/unit/ring.c; not part of ring.h. */
#ifndef XF_RING_TEST_H
#define XF_RING_TEST_H

#include "ring.h"

/*
 * Takes the slot's producer lock and returns without releasing it, so
 * t/unit/ring.c can kill a holder and check that the next push
 * recovers.  Nothing but that test may call it.
 */
int	 xf_ring_test_lock(xf_ring_t *);

#endif /* XF_RING_TEST_H */
