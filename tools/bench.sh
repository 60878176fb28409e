#!/bin/sh
# bench.sh: `make bench`: the fixed benchmark scenarios against xfed (and the bare relay), with a table at the end.
#
# Server pinned to core 0, xfed-bench to core 1; plain TCP, SCRAM-SHA-1 at
# 4096 iterations.  The scenarios are described at the top of
# tools/bench/suite.py and in BENCHMARKS.md.  Knobs (environment):
#
#   BENCH_QUICK=1      about a minute: 2,000 users, 3 s windows
#   BENCH_USERS=N      chat users (default 10,000)
#   BENCH_DURATION=S   seconds measured per scenario (default 10)
#   BENCH_IDLE=N       also hold N idle sessions on one xfed node (one
#                      worker per 14,000, sessions sharing the BENCH_USERS
#                      accounts with distinct resources, SCRAM at 64
#                      iterations to log them in quickly), e.g. 200000
#   BENCH_PGSQL=1      also xfed with storage on PostgreSQL (a throwaway
#                      server pinned with xfed; Debian's postgresql);
#                      BENCH_PG_POOL=N sets its 'pool-size' (default 4)
#   BENCH_JSON=FILE    all results as JSON
#   BENCH_KEEP=1       keep the temp dirs (logs, configs)
#
# Extra arguments go to the suite (--no-workers, --servers xfed).
# tools/bench-compare runs the same against Prosody and ejabberd too.
set -eu
cd "$(dirname "$0")/.."
for b in xfed xfedctl xfed-bench xfed-relay; do
	if [ ! -x "build/bin/$b" ]; then
		echo "bench.sh: build/bin/$b is missing: run make bench" >&2
		exit 1
	fi
done
command -v taskset >/dev/null || { echo "bench.sh: taskset missing (util-linux)" >&2; exit 1; }
set -- --servers relay,xfed${BENCH_PGSQL:+,xfed-pgsql} \
    ${BENCH_JSON:+--json "$BENCH_JSON"} "$@"
exec /usr/bin/python3 tools/bench/suite.py "$@"
