# suite.py: the fixed set of benchmark scenarios, run against one or more servers, and the table of results.
#
# Scenarios (each on a freshly started server, server on core 0 and
# xfed-bench on core 1 unless said otherwise; all plain TCP, SCRAM-SHA-1,
# 4096 PBKDF2 iterations for every server):
#
#   peak     1:1 chat flat out: N users in pairs, each with W messages in
#            flight, for D seconds after a warm-up: messages/s delivered.
#   half     the same users sending at half the peak rate (open loop,
#            spread evenly): p50/p99 latency.
#   quarter  the same at a quarter of the peak.
#   idle     N idle sessions: (RSS with them - RSS before) / N, read
#            5 s after the last login; sum of all processes.
#   login    connect + SCRAM + bind + close, 50 at once, over 200
#            accounts (the client caches SaltedPassword as real clients
#            do): logins/s.
#   workers  (xfed) peak with 1 and with 2 workers, nothing pinned.
#
#   big idle (xfed, when BENCH_IDLE > BENCH_USERS) BENCH_IDLE idle
#            sessions on one node, one worker per 14,000 sessions.
#
# Environment: BENCH_QUICK=1 (about a minute for xfed alone), BENCH_USERS,
# BENCH_DURATION, BENCH_IDLE, BENCH_WINDOW (see tools/bench.sh).

import json
import os
import sys

# No __pycache__ in the tree.
sys.dont_write_bytecode = True
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
from driver import log  # noqa: E402


def settings():
	quick = bool(os.environ.get('BENCH_QUICK'))
	s = {
		'quick': quick,
		'users': int(os.environ.get('BENCH_USERS',
		    2000 if quick else 10000)),
		'duration': float(os.environ.get('BENCH_DURATION',
		    3 if quick else 10)),
		'warmup': 1 if quick else 2,
		'window': int(os.environ.get('BENCH_WINDOW', 4)),
		'login_accounts': 200,
		'login_conc': 50,
	}
	s['idle'] = int(os.environ.get('BENCH_IDLE', s['users']))
	return s


def fresh(server):
	server.restart()
	time.sleep(0.5)


def idle_run(server, s, name, n=None, fresh_start=True):
	n = n or s['users']
	accounts = None if n <= s['users'] else s['users']
	sources = '127.0.0.2-127.0.0.40' if n > 20000 else None
	if fresh_start:
		fresh(server)
	time.sleep(2)
	base = driver.rss_kib(server.pids())
	base_pss = driver.pss_kib(server.pids())
	r = driver.run(server, 'idle', n, duration=2, warmup=0,
	    concurrency=200, accounts=accounts, sources=sources, settle=5,
	    timeout=300 + n / 100.0)
	r['rss_base_kib'] = base
	r['pss_base_kib'] = base_pss
	if r.get('ok') and r['established']:
		# PSS: shared pages (LMDB maps in every worker) once.
		r['per_session_b'] = (r['pss_kib'] - base_pss) * 1024.0 / \
		    r['established']
		r['per_session_rss_b'] = (r['rss_kib'] - base) * 1024.0 / \
		    r['established']
	log('%s idle: %s; %.0f bytes/session (PSS), %.0f (summed RSS)' % (
	    name, driver.describe(r), r.get('per_session_b', 0),
	    r.get('per_session_rss_b', 0)))
	return r


def chat_set(server, s, name, latency=True):
	"""peak, then half and quarter of it."""
	out = {}
	fresh(server)
	r = driver.run(server, 'chat', s['users'], duration=s['duration'],
	    warmup=s['warmup'], window=s['window'])
	log('%s peak: %s' % (name, driver.describe(r)))
	out['peak'] = r
	peak = r.get('throughput', 0)
	if not latency or not peak:
		return out
	for key, frac in (('half', 0.5), ('quarter', 0.25)):
		fresh(server)
		rate = peak * frac / s['users']
		r = driver.run(server, 'chat', s['users'],
		    duration=s['duration'], warmup=s['warmup'], rate=rate)
		r['target'] = peak * frac
		log('%s %s (%.0f msg/s): %s' % (name, key, peak * frac,
		    driver.describe(r)))
		out[key] = r
	return out


def login_run(server, s, name):
	fresh(server)
	r = driver.run(server, 'login', s['login_accounts'],
	    duration=s['duration'], warmup=s['warmup'],
	    concurrency=s['login_conc'])
	log('%s login: %s' % (name, driver.describe(r)))
	return r


def run_server(server, s, kinds):
	name = server.name
	res = {'name': name}
	log('%s: starting' % name)
	server.start()
	try:
		if 'chat' in kinds:
			server.add_users(max(s['users'], s['login_accounts']))
			res.update(chat_set(server, s, name))
		if 'idle' in kinds:
			server.add_users(s['users'])
			res['idle'] = idle_run(server, s, name)
		if 'login' in kinds:
			server.add_users(s['login_accounts'])
			res['login'] = login_run(server, s, name)
	finally:
		server.stop()
	return res


def run_big_idle(s):
	"""xfed holding BENCH_IDLE sessions: one worker per 14,000 (20,000
	open files per process), SCRAM at 64 iterations so that logging in
	200k sessions does not take minutes of PBKDF2 (memory does not
	depend on it), the sessions sharing s['users'] accounts."""
	n = s['idle']
	x = driver.Xfed(workers=-(-n // 14000), iterations=64, cpu=None)
	x.start()
	try:
		x.add_users(s['users'])
		r = idle_run(x, s, 'xfed (%d workers)' % x.workers, n=n)
		r['workers'] = x.workers
	finally:
		x.stop()
	return r


def run_workers(s):
	"""xfed with 1 and 2 workers, nothing pinned (the load generator
	shares the cores)."""
	out = {}
	for w in (1, 2):
		x = driver.Xfed(workers=w, cpu=None)
		x.start()
		try:
			x.add_users(s['users'])
			fresh(x)
			r = driver.run(x, 'chat', s['users'],
			    duration=s['duration'], warmup=s['warmup'],
			    window=s['window'], bench_cpu=None)
		finally:
			x.stop()
		log('xfed %d worker(s), unpinned: %s' % (w, driver.describe(r)))
		out[w] = r
	return out


# ------------------------------------------------------------ table

def _g(res, *path):
	v = res
	for p in path:
		if not isinstance(v, dict) or p not in v:
			return None
		v = v[p]
	return v


ROWS = [
	# label, path, format, higher is better
	('1:1 msg/s, flat out (per server core)', ('peak', 'throughput'),
	    '%.0f', True),
	('  p50 / p99 ms at peak', ('peak',), 'lat', False),
	('  server CPU at peak', ('peak', 'server_cpu'), 'pct', None),
	('  load generator CPU at peak', ('peak', 'bench_cpu'), 'pct', None),
	('  lost / duplicated', ('peak',), 'loss', None),
	('p99 ms at 1/2 of own peak', ('half', 'p99_ms'), '%.2f', False),
	('p99 ms at 1/4 of own peak', ('quarter', 'p99_ms'), '%.2f', False),
	('idle sessions held', ('idle', 'established'), '%.0f', True),
	('memory per idle session, bytes (PSS)', ('idle', 'per_session_b'),
	    '%.0f', False),
	('logins/s (SCRAM-SHA-1, 4096 it.)', ('login', 'logins_per_s'),
	    '%.0f', True),
]


def cell(res, path, fmt):
	v = _g(res, *path)
	if v is None:
		return '-'
	run = _g(res, path[0])
	mark = ''
	if isinstance(run, dict) and run.get('bench_cpu', 0) > 0.9 and \
	    path[0] in ('peak', 'half', 'quarter') and (fmt == 'lat' or
	    path[-1] in ('throughput', 'p99_ms')):
		mark = '*'
	return _cell(v, fmt) + mark


def _cell(v, fmt):
	if fmt == 'lat':
		if not v.get('ok') or not v.get('lat_n'):
			return '-'
		return '%.2f / %.2f' % (v['p50_ms'], v['p99_ms'])
	if fmt == 'loss':
		if not v.get('ok'):
			return '-'
		return '%d / %d' % (v['lost'], v['duplicates'])
	if fmt == 'pct':
		return '%.0f%%' % (100 * v)
	return fmt % v


def table(results, s, ref='xfed'):
	"""Side by side, with xfed's advantage (x times) over each rival."""
	base = next((r for r in results if r['name'] == ref), None)
	hdr = ['metric']
	for r in results:
		hdr.append(r['name'])
		if base is not None and r is not base:
			hdr.append('xfed/relay' if r['name'] == 'relay' else
			    'xfed vs ' + r['name'])
	rows = [hdr]
	for label, path, fmt, higher in ROWS:
		row = [label]
		for r in results:
			row.append(cell(r, path, fmt))
			if base is None or r is base:
				continue
			ratio = '-'
			a, b = _g(base, *path), _g(r, *path)
			if higher is not None and isinstance(a, (int, float)) \
			    and isinstance(b, (int, float)) and a > 0 and b > 0:
				x = a / b if higher else b / a
				ratio = '%.2fx' % x
			row.append(ratio)
		rows.append(row)
	width = [max(len(r[i]) for r in rows) for i in range(len(hdr))]
	lines = []
	for k, row in enumerate(rows):
		lines.append('  '.join(c.ljust(width[0]) if i == 0 else
		    c.rjust(width[i]) for i, c in enumerate(row)).rstrip())
		if k == 0:
			lines.append('-' * len(lines[0]))
	lines.append('')
	lines.append('*: the load generator used over 90% of its core: the '
	    'figure is its limit, not the server\'s.')
	lines.append('ratios: how many times better xfed is (throughput, '
	    'sessions, logins: xfed/other; latency, memory: other/xfed).')
	lines.append('%d chat users in pairs, %d messages in flight per '
	    'sender at peak, %g s measured after %g s warm-up; idle: %d '
	    'sessions.' % (s['users'], s['window'], s['duration'],
	    s['warmup'], s['users']))
	return '\n'.join(lines)


def workers_table(w):
	lines = ['xfed workers (server and load generator unpinned, '
	    'sharing 2 cores):']
	for k in sorted(w):
		r = w[k]
		lines.append('  %d worker(s): %s' % (k, driver.describe(r)))
	if w.get(1, {}).get('throughput') and w.get(2, {}).get('throughput'):
		lines.append('  2 vs 1 worker: %.2fx' % (w[2]['throughput'] /
		    w[1]['throughput']))
	return '\n'.join(lines)


def save(path, obj):
	if not path:
		return
	with open(path, 'w') as f:
		json.dump(obj, f, indent=1, default=str)


def machine_noise(seconds=3):
	"""Both cores busy-looping at once: how much the host steals."""
	import subprocess
	outs = []
	procs = [subprocess.Popen(['taskset', '-c', c, driver.BENCH, '-x',
	    'spin', '-d', str(seconds), '-j'], stdout=subprocess.PIPE)
	    for c in ('0', '1')]
	for p in procs:
		try:
			outs.append(json.loads(p.communicate(timeout=seconds +
			    30)[0]))
		except Exception:
			p.kill()
	if not outs:
		return None
	return {'gaps_over_1ms_per_s': sum(o['gaps_over_1ms'] for o in outs)
	    / seconds / len(outs), 'max_gap_ms': max(o['max_gap_ms']
	    for o in outs), 'stolen_pct': 100 * sum(o['stolen_ms']
	    for o in outs) / 1e3 / seconds / len(outs)}


def noise_line(n):
	if not n:
		return 'vCPU stalls: not measured'
	return ('vCPU stalls with both cores busy: %.0f/s over 1 ms per '
	    'core, longest %.1f ms, %.1f%% of the time lost' % (
	    n['gaps_over_1ms_per_s'], n['max_gap_ms'], n['stolen_pct']))


def make_server(name):
	if name == 'xfed':
		return driver.Xfed(workers=1)
	if name == 'xfed-pgsql':
		return driver.XfedPg(workers=1)
	if name == 'relay':
		return driver.Relay()
	import rivals
	if name == 'prosody':
		return rivals.Prosody()
	if name == 'ejabberd':
		return rivals.Ejabberd()
	raise SystemExit('unknown server %s' % name)


def main(argv=None):
	import argparse
	ap = argparse.ArgumentParser(description='xfed benchmark suite')
	ap.add_argument('--servers', default='relay,xfed',
	    help='comma-separated: relay, xfed, xfed-pgsql, prosody, '
	    'ejabberd')
	ap.add_argument('--no-workers', action='store_true',
	    help='skip the 1 vs 2 workers run')
	ap.add_argument('--json', help='write all results here')
	ap.add_argument('--only', default='chat,idle,login,workers,big-idle',
	    help='comma-separated scenario groups to run (default: all)')
	a = ap.parse_args(argv)
	for b in (driver.BENCH, driver.RELAY, driver.XFED, driver.XFEDCTL):
		if not os.access(b, os.X_OK):
			raise SystemExit('%s is missing: run make' % b)
	driver.snapshot_bins()
	s = settings()
	t0 = time.monotonic()
	log('settings: %s' % json.dumps(s))
	only = a.only.split(',')
	noise = [machine_noise()]
	log(noise_line(noise[0]))
	results = []
	for name in a.servers.split(','):
		server = make_server(name)
		kinds = ('chat',) if name == 'relay' else \
		    ('chat', 'idle', 'login')
		kinds = [k for k in kinds if k in only]
		if kinds:
			results.append(run_server(server, s, kinds))
	w = None
	if not a.no_workers and 'xfed' in a.servers.split(',') and \
	    'workers' in only:
		w = run_workers(s)
	big = None
	if s['idle'] > s['users'] and 'xfed' in a.servers.split(',') and \
	    'big-idle' in only:
		big = run_big_idle(s)
	print()
	print('xfed benchmarks, %s, %d cores, kernel %s, xfed %s' % (
	    time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
	    os.cpu_count(), os.uname().release, driver.REV))
	print()
	if results:
		print(table(results, s))
	if w:
		print()
		print(workers_table(w))
	if big:
		print()
		print('xfed, %d idle sessions (%d accounts, %d workers, '
		    'unpinned): %d held, %.0f bytes each (PSS: %d KiB before, '
		    '%d KiB with them; summed RSS %.0f bytes each)' % (
		    s['idle'], s['users'], big.get('workers', 0),
		    big.get('established', 0), big.get('per_session_b', 0),
		    big.get('pss_base_kib', 0), big.get('pss_kib', 0),
		    big.get('per_session_rss_b', 0)))
	noise.append(machine_noise())
	print()
	print('at start: ' + noise_line(noise[0]))
	print('at end:   ' + noise_line(noise[1]))
	print('total time %.0f s' % (time.monotonic() - t0))
	save(a.json, {'settings': s, 'results': results, 'workers': w,
	    'big_idle': big, 'noise': noise})


if __name__ == '__main__':
	main()
