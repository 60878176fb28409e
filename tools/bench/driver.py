# driver.py: starts servers (xfed, xfed-relay, Prosody, ejabberd) in temp dirs, runs xfed-bench against them and merges the results.
#
# Used by tools/bench.sh (xfed alone) and tools/bench-compare (side by side).
# Every server runs on 127.0.0.1 on ports below 32768, in its own process
# group, and is killed (TERM, then KILL) when its run ends or the driver
# exits for any reason.

import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), '..', '..'))
BUILD = os.environ.get('BENCH_BUILD', os.path.join(REPO, 'build', 'bin'))
BENCH = os.path.join(BUILD, 'xfed-bench')
RELAY = os.path.join(BUILD, 'xfed-relay')
XFED = os.path.join(BUILD, 'xfed')
XFEDCTL = os.path.join(BUILD, 'xfedctl')

DOMAIN = 'localhost'
USER_PAT = 'user%d@' + DOMAIN
PASS_PAT = 'pass%d'
# Connections per xfed-bench process: 20,000 open files at most.
PER_PROC = 18000
SERVER_CPU = '0'
BENCH_CPU = '1'

H_SUB_BITS = 6

REV = '?'		# git describe when the binaries were copied
_live = []		# Popen objects to kill at exit
_tmp = []


def snapshot_bins():
	"""Copies the four binaries to a temp dir and uses the copies for the
	whole run: a rebuild in the tree meanwhile (a half-linked file, a
	new version) must not change what is measured halfway."""
	global BENCH, RELAY, XFED, XFEDCTL, REV
	d = mkdtemp('bin')
	REV = subprocess.run(['git', '-C', REPO, 'describe', '--always',
	    '--dirty'], capture_output=True, text=True).stdout.strip() or '?'
	REV += ', binaries of %s' % time.strftime('%H:%M:%S UTC', time.gmtime(
	    os.stat(XFED).st_mtime))
	out = []
	for src in (BENCH, RELAY, XFED, XFEDCTL):
		dst = os.path.join(d, os.path.basename(src))
		for _ in range(120):
			try:
				shutil.copy2(src, dst)
				if os.access(dst, os.X_OK):
					break
			except OSError:
				pass
			time.sleep(0.5)
		else:
			raise SystemExit('cannot copy %s' % src)
		out.append(dst)
	BENCH, RELAY, XFED, XFEDCTL = out


def log(msg):
	print('bench: ' + msg, file=sys.stderr, flush=True)


def _cleanup():
	for p in list(_live):
		kill_tree(p)
	for d in _tmp:
		if not os.environ.get('BENCH_KEEP'):
			shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_signal(signum, frame):
	raise SystemExit('killed by signal %d' % signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def mkdtemp(name):
	d = tempfile.mkdtemp(prefix='xfed-bench-%s-' % name)
	os.chmod(d, 0o755)
	_tmp.append(d)
	return d


def free_port():
	"""A port in 20000-32000 nobody listens on (below the ephemeral
	range, so that no client socket can take it first)."""
	for _ in range(500):
		port = random.randint(20000, 32000)
		s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		try:
			s.bind(('127.0.0.1', port))
		except OSError:
			continue
		finally:
			s.close()
		return port
	raise RuntimeError('no free port')


def port_open(port, timeout=0.3):
	try:
		s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
	except OSError:
		return False
	s.close()
	return True


def wait_for(pred, timeout, interval=0.1):
	end = time.monotonic() + timeout
	while True:
		v = pred()
		if v or time.monotonic() >= end:
			return v
		time.sleep(interval)


def spawn(argv, cpu=None, **kw):
	if cpu is not None:
		argv = ['taskset', '-c', cpu] + list(argv)
	p = subprocess.Popen(argv, start_new_session=True, **kw)
	_live.append(p)
	return p


def descendants(pid):
	"""pid and every process below it."""
	kids = {}
	for d in os.listdir('/proc'):
		if not d.isdigit():
			continue
		try:
			with open('/proc/%s/stat' % d) as f:
				ppid = int(f.read().rsplit(')', 1)[1].split()[1])
		except (OSError, IndexError, ValueError):
			continue
		kids.setdefault(ppid, []).append(int(d))
	out, todo = [], [pid]
	while todo:
		p = todo.pop()
		out.append(p)
		todo.extend(kids.get(p, []))
	return out


def kill_tree(p, grace=10):
	"""TERM the process group, wait, then KILL it and its strays."""
	if p in _live:
		_live.remove(p)
	try:
		pids = descendants(p.pid)
	except OSError:
		pids = [p.pid]
	try:
		os.killpg(p.pid, signal.SIGTERM)
	except (ProcessLookupError, PermissionError):
		pass
	# The leader may be a shell that dies at once while the server
	# below it is still shutting down (ejabberd dumps mnesia): wait for
	# every process of the tree.
	def gone():
		p.poll()
		return not any(alive(q) for q in pids)
	wait_for(gone, grace, 0.05)
	try:
		os.killpg(p.pid, signal.SIGKILL)
	except (ProcessLookupError, PermissionError):
		pass
	for q in pids:
		try:
			os.kill(q, signal.SIGKILL)
		except (ProcessLookupError, PermissionError):
			pass
	try:
		p.wait(timeout=5)
	except subprocess.TimeoutExpired:
		pass


def alive(pid):
	try:
		with open('/proc/%d/stat' % pid) as f:
			return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
	except (OSError, IndexError):
		return False


def rss_kib(pids):
	tot = 0
	for pid in pids:
		try:
			with open('/proc/%d/status' % pid) as f:
				for line in f:
					if line.startswith('VmRSS:'):
						tot += int(line.split()[1])
		except OSError:
			pass
	return tot


def pss_kib(pids):
	"""Proportional set size summed: a page shared by the processes (an
	LMDB map every worker has open, the libraries) counts once in
	total, where summed RSS would count it once per process."""
	tot = 0
	for pid in pids:
		try:
			with open('/proc/%d/smaps_rollup' % pid) as f:
				for line in f:
					if line.startswith('Pss:'):
						tot += int(line.split()[1])
						break
		except OSError:
			pass
	return tot


def cpu_ticks(pids):
	tot = 0
	for pid in pids:
		try:
			with open('/proc/%d/stat' % pid) as f:
				v = f.read().rsplit(')', 1)[1].split()
			tot += int(v[11]) + int(v[12])
		except (OSError, IndexError, ValueError):
			pass
	return tot


HZ = os.sysconf('SC_CLK_TCK')


# ------------------------------------------------------------ servers

class Server:
	"""A server under test: start(), add_users(n), pids(), stop()."""
	name = 'server'
	mode = 'xmpp'		# or 'relay'
	cpu = SERVER_CPU	# taskset list, None for unpinned

	def __init__(self):
		self.proc = None
		self.port = free_port()

	def pids(self):
		if self.proc is None or self.proc.poll() is not None:
			return []
		return descendants(self.proc.pid)

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def stop(self):
		if self.proc is not None:
			kill_tree(self.proc)
			self.proc = None

	def restart(self):
		self.stop()
		self.port = free_port()
		self.start()


class Relay(Server):
	name = 'relay'
	mode = 'relay'

	def start(self):
		self.proc = spawn([RELAY, '127.0.0.1:%d' % self.port],
		    cpu=self.cpu)
		if not wait_for(lambda: port_open(self.port), 10):
			raise RuntimeError('xfed-relay did not start')

	def add_users(self, n):
		pass


class Xfed(Server):
	name = 'xfed'

	def __init__(self, workers=1, iterations=4096, cpu=SERVER_CPU):
		Server.__init__(self)
		self.workers = workers
		self.iterations = iterations
		self.cpu = cpu
		self.dir = mkdtemp('xfed')
		self.sock = os.path.join(self.dir, 'xfed.sock')
		self.tls_port = free_port()
		self.users = 0
		subprocess.run(['sh', os.path.join(REPO, 'tools', 'mkcert.sh'),
		    os.path.join(self.dir, 'tls'), DOMAIN], check=True,
		    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
		os.makedirs(os.path.join(self.dir, 'data'), exist_ok=True)

	def write_conf(self):
		d = self.dir
		with open(os.path.join(d, 'xfed.conf'), 'w') as f:
			f.write("""# written by tools/bench/driver.py
'virtual-hosts' = [ '%(dom)s' ]
'data-dir' = '%(d)s/data'
'control-socket' = '%(d)s/xfed.sock'
'pid-file' = '%(d)s/xfed.pid'
workers = %(w)d
'log-level' = 'warn'
'run-as-root' = true
'scram-iterations' = %(it)d
c2s {
	'ports' = [ '127.0.0.1:%(p)d' ]
	'tls-ports' = [ '127.0.0.1:%(tp)d' ]
	'tls-required' = false
	# No read-rate limit nor caps on unauthenticated connections, as
	# the rivals run without shapers or limits (BENCH-NOTES.md): the
	# figures are the server's, and the load comes from one address.
	'read-rate' = 0
	'max-unauth' = 0
	'max-unauth-per-ip' = 0
}
tls {
	'cert' = '%(d)s/tls/%(dom)s.crt'
	'key' = '%(d)s/tls/%(dom)s.key'
}
""" % {'d': d, 'dom': DOMAIN, 'w': self.workers, 'p': self.port,
			    'tp': self.tls_port, 'it': self.iterations})

	def start(self):
		self.write_conf()
		self.log = open(os.path.join(self.dir, 'xfed.log'), 'ab')
		self.proc = spawn([XFED, '-f', '-c',
		    os.path.join(self.dir, 'xfed.conf')], cpu=self.cpu,
		    stdout=self.log, stderr=self.log)
		if not wait_for(lambda: port_open(self.port) and
		    os.path.exists(self.sock), 15):
			raise RuntimeError('xfed did not start: %s' %
			    self.log_tail())
		# Every worker up (each listens on its own socket).
		wait_for(lambda: len(self.pids()) >= self.workers + 1, 10)

	def log_tail(self):
		try:
			with open(os.path.join(self.dir, 'xfed.log')) as f:
				return f.read()[-2000:]
		except OSError:
			return ''

	def add_users(self, n):
		"""Accounts user0..user(n-1); xfedctl is one process and one
		PBKDF2 in the master per account."""
		if n <= self.users:
			return
		t0 = time.monotonic()
		procs = []
		for i in range(self.users, n):
			p = subprocess.Popen([XFEDCTL, '-s', self.sock, 'user',
			    'add', USER_PAT % i], stdin=subprocess.PIPE,
			    stdout=subprocess.DEVNULL,
			    stderr=subprocess.PIPE)
			p.stdin.write((PASS_PAT % i + '\n').encode())
			p.stdin.close()
			procs.append((i, p))
			if len(procs) >= 8:
				self._reap(procs.pop(0))
		for x in procs:
			self._reap(x)
		self.users = n
		log('xfed: %d accounts in %.1f s' % (n,
		    time.monotonic() - t0))

	def _reap(self, x):
		i, p = x
		err = p.stderr.read()
		if p.wait(timeout=30) != 0 and b'exist' not in err:
			raise RuntimeError('xfedctl user add user%d: %s' % (i,
			    err.decode(errors='replace')))

	def stop(self):
		Server.stop(self)
		try:
			self.log.close()
		except Exception:
			pass


def pg_bin():
	"""The newest PostgreSQL server binaries, or None."""
	d = os.environ.get('BENCH_PG_BIN')
	if d:
		return d
	base = '/usr/lib/postgresql'
	try:
		vers = sorted(os.listdir(base), key=lambda v: int(v)
		    if v.isdigit() else 0)
	except OSError:
		return None
	for v in reversed(vers):
		b = os.path.join(base, v, 'bin')
		if os.access(os.path.join(b, 'postgres'), os.X_OK):
			return b
	return None


class XfedPg(Xfed):
	"""xfed with storage on PostgreSQL: a throwaway server of its own,
	pinned to the server's core too (the database is part of what a
	login or an offline message costs), run as 'postgres' under root.
	Accounts persist across the restarts between scenarios."""
	name = 'xfed-pgsql'

	def __init__(self, **kw):
		Xfed.__init__(self, **kw)
		self.bin = pg_bin()
		if self.bin is None:
			raise RuntimeError('PostgreSQL not found (apt-get install '
			    'postgresql, or set BENCH_PG_BIN)')
		self.pg_dir = mkdtemp('pg')
		self.as_pg = []
		if os.geteuid() == 0:
			import pwd
			pw = pwd.getpwnam('postgres')
			os.chown(self.pg_dir, pw.pw_uid, pw.pw_gid)
			self.as_pg = ['runuser', '-u', 'postgres', '--']
		self.pg_port = free_port()
		data = os.path.join(self.pg_dir, 'data')
		subprocess.run(self.as_pg + [os.path.join(self.bin, 'initdb'),
		    '-D', data, '-A', 'trust', '-U', 'xfed', '--no-sync'],
		    check=True, stdout=subprocess.DEVNULL,
		    stderr=subprocess.DEVNULL)
		log_f = open(os.path.join(self.pg_dir, 'postgres.log'), 'ab')
		# Durable commits as in production (synchronous_commit on);
		# fsync off only spares the disk of this VM.
		self.pg = spawn(self.as_pg + [os.path.join(self.bin,
		    'postgres'), '-D', data, '-p', str(self.pg_port), '-k',
		    self.pg_dir, '-c', 'listen_addresses=127.0.0.1', '-c',
		    'fsync=off', '-c', 'max_connections=200'], cpu=self.cpu,
		    stdout=log_f, stderr=log_f)
		if not wait_for(lambda: port_open(self.pg_port), 20):
			raise RuntimeError('postgres did not start')
		time.sleep(0.5)
		subprocess.run([os.path.join(self.bin, 'createdb'), '-h',
		    '127.0.0.1', '-p', str(self.pg_port), '-U', 'xfed', 'xfed'],
		    check=True)
		self.inited = False

	def write_conf(self):
		Xfed.write_conf(self)
		with open(os.path.join(self.dir, 'xfed.conf'), 'a') as f:
			f.write("""storage {
	'backend' = 'pgsql'
	'dsn' = 'host=127.0.0.1 port=%d dbname=xfed user=xfed'
	'pool-size' = %d
}
""" % (self.pg_port, int(os.environ.get('BENCH_PG_POOL', 4))))

	def start(self):
		if not self.inited:
			self.write_conf()
			subprocess.run([XFEDCTL, '-c', os.path.join(self.dir,
			    'xfed.conf'), 'db', 'init'], check=True,
			    stdout=subprocess.DEVNULL, env=dict(os.environ,
			    XFED_SCHEMA=os.path.join(REPO, 'conf', 'pgsql.sql')))
			self.inited = True
		Xfed.start(self)


# ------------------------------------------------------------ runs

def merge_hist(results):
	buckets = {}
	mx = 0
	for r in results:
		h = r.get('hist', {})
		mx = max(mx, h.get('max', 0))
		for i, c in h.get('buckets', []):
			buckets[i] = buckets.get(i, 0) + c
	return buckets, mx


def hist_value(i):
	sub = 1 << H_SUB_BITS
	if i < sub:
		return float(i)
	shift = i // sub - 1
	return float((sub + i % sub) << shift) + float(1 << shift) / 2


def hist_pct(buckets, mx, p):
	n = sum(buckets.values())
	if n == 0:
		return 0.0
	want = max(1, -(-p * n // 100))
	seen = 0
	for i in sorted(buckets):
		seen += buckets[i]
		if seen >= want:
			return min(hist_value(i), float(mx))
	return float(mx)


def split(n, per):
	"""n users in chunks of at most per, each even."""
	k = max(1, -(-n // per))
	base = (n // k) & ~1
	sizes = [base] * k
	sizes[-1] += n - base * k
	return sizes


def run(server, scenario, users, duration=10, warmup=2, rate=0,
    window=4, concurrency=100, tls='none', mech='SCRAM-SHA-1',
    accounts=None, bench_cpu=BENCH_CPU, sources=None, settle=0,
    extra=(), timeout=None):
	"""Runs xfed-bench against server and returns the merged result."""
	sizes = split(users, PER_PROC)
	d = mkdtemp('run')
	procs = []
	first = 0
	for k, n in enumerate(sizes):
		argv = [BENCH, '-s', '127.0.0.1:%d' % server.port, '-n',
		    str(n), '-f', str(first), '-u', USER_PAT, '-p', PASS_PAT,
		    '-x', scenario, '-d', str(duration), '-w', str(warmup),
		    '-c', str(concurrency), '-t', tls, '-m', mech, '-j', '-q',
		    '--ready-file', os.path.join(d, 'ready.%d' % k)]
		if server.mode == 'relay':
			argv.append('--relay')
		if scenario == 'chat':
			# A slow server may hold seconds of messages at the
			# end of the window: wait for them (the generator
			# stops as soon as all have arrived).
			argv += ['-r', '%g' % rate, '--window', str(window),
			    '--drain', '60']
		if accounts:
			argv += ['--accounts', str(accounts)]
		if sources:
			argv += ['-S', sources]
		argv += list(extra)
		out = open(os.path.join(d, 'out.%d' % k), 'w+')
		err = open(os.path.join(d, 'err.%d' % k), 'w+')
		procs.append((spawn(argv, cpu=bench_cpu, stdout=out,
		    stderr=err), out, err))
		first += n
	limit = timeout or (120 + users / 200.0)
	t0 = time.monotonic()

	def all_ready():
		for k, (p, _, _) in enumerate(procs):
			if not os.path.exists(os.path.join(d, 'ready.%d' % k)):
				if p.poll() is not None:
					return 'exit'
				return False
		return True
	r = wait_for(all_ready, limit, 0.05)
	setup_s = time.monotonic() - t0
	if r is not True and scenario != 'register':
		log('%s %s: not every load generator got ready (%s)' %
		    (server.name, scenario, r))
	if settle:
		time.sleep(settle)
	res = {'rss_idle_kib': None}
	spids = server.pids()
	res['rss_kib'] = rss_kib(spids)
	res['pss_kib'] = pss_kib(spids)
	res['server_procs'] = len(spids)
	for p, _, _ in procs:
		try:
			p.send_signal(signal.SIGUSR1)
		except ProcessLookupError:
			pass
	# CPU over the measuring window only.
	time.sleep(warmup if scenario in ('chat', 'login') else 0)
	bpids = [p.pid for p, _, _ in procs]
	s0, b0, w0 = cpu_ticks(spids), cpu_ticks(bpids), time.monotonic()
	time.sleep(max(0.1, duration - 0.2))
	s1, b1, w1 = cpu_ticks(server.pids()), cpu_ticks(bpids), \
	    time.monotonic()
	res['server_cpu'] = (s1 - s0) / HZ / (w1 - w0)
	res['bench_cpu'] = (b1 - b0) / HZ / (w1 - w0)
	outs = []
	for p, out, err in procs:
		try:
			p.wait(timeout=90 + users / 500.0)
		except subprocess.TimeoutExpired:
			log('xfed-bench %d did not finish; killed' % p.pid)
		kill_tree(p, grace=2)
		out.seek(0)
		err.seek(0)
		txt = out.read().strip()
		try:
			outs.append(json.loads(txt.splitlines()[-1]))
		except (ValueError, IndexError):
			log('xfed-bench gave no result: %s %s' % (txt[-300:],
			    err.read()[-500:]))
		out.close()
		err.close()
	return merge(res, outs, users, setup_s)


def merge(res, outs, users, setup_s):
	res['users'] = users
	res['procs'] = len(outs)
	if not outs:
		res['ok'] = False
		return res
	res['ok'] = True
	for k in ('established', 'errors', 'sent', 'received',
	    'window_received', 'window_sent', 'duplicates', 'lost',
	    'reordered', 'stanza_errors', 'logins', 'registered',
	    'reg_conflict', 'online_at_end', 'throttled'):
		res[k] = sum(o.get(k, 0) for o in outs)
	res['first_error'] = next((o['first_error'] for o in outs
	    if o.get('first_error')), '')
	win = max(o.get('window_s', 0) for o in outs) or 1e-9
	res['window_s'] = win
	res['throughput'] = sum(o.get('throughput', 0) for o in outs)
	res['logins_per_s'] = res['logins'] / win if res['logins'] else \
	    sum(o.get('login_rate', 0) for o in outs)
	res['setup_s'] = max(o.get('setup_s', 0) for o in outs)
	b, mx = merge_hist(outs)
	res['lat_n'] = sum(b.values())
	for name, p in (('p50', 50), ('p90', 90), ('p99', 99),
	    ('p999', 99.9)):
		res[name + '_ms'] = hist_pct(b, mx, p) / 1e6
	res['max_ms'] = mx / 1e6
	res['login_p50_ms'] = max(o['login_latency_us']['p50'] for o in outs) \
	    / 1e3
	return res


def describe(r):
	if not r.get('ok'):
		return 'FAILED'
	s = '%d/%d sessions, %d errors' % (r['established'], r['users'],
	    r['errors'])
	if r.get('throughput'):
		s += ', %.0f msg/s, p50 %.2f p99 %.2f max %.2f ms, %d lost, ' \
		    '%d dup' % (r['throughput'], r['p50_ms'], r['p99_ms'],
		    r['max_ms'], r['lost'], r['duplicates'])
	if r.get('logins'):
		s += ', %.0f logins/s' % r['logins_per_s']
	s += ', server cpu %.0f%%, bench cpu %.0f%%, rss %d KiB' % (
	    100 * r.get('server_cpu', 0), 100 * r.get('bench_cpu', 0),
	    r.get('rss_kib', 0))
	if r.get('errors'):
		s += ' [first error: %s]' % r.get('first_error', '')[:200]
	return s


def idle_rss(server, settle=2):
	time.sleep(settle)
	return rss_kib(server.pids())
