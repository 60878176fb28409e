# xfedtest.py: TAP output, a throwaway xfed node and XMPP clients for t/e2e/*.t.
#
# A test is a function given to main(); main() runs it under a watchdog and,
# whatever happens, kills every process the test started, closes its clients
# and removes its temp dirs (kept when XFED_KEEP is set).  On any failure the
# tail of each node's log is printed as diagnostics.
#
# Everything listens on 127.0.0.1 and on ports picked at random below 32768,
# so tests may run in parallel (prove -j).
#
# Run: prove -j2 --exec env t/e2e/*.t   (after make; `make test` does both)
# Environment: XFED_BIN, XFEDCTL_BIN  binaries (default <repo>/bin/...)
#              XFED_KEEP=1            keep the temp dirs (logs, configs)
#              XFED_DEBUG=1           slixmpp's debug log on stderr
#              XFED_TEST_STORE=pgsql  nodes store in PostgreSQL (the
#                                     default for tests in t/pgsql/)
#              XFED_PG_BIN            PostgreSQL's bin dir (see pg.py)
#
# Storage: a Node stores in LMDB under its data dir, or with store='pgsql'
# in a database of its own (pg_db= names one to share between nodes) on
# one PostgreSQL server per test file (lib/pg.py); Node() runs `xfedctl
# db init` on it (db_init=False leaves that to the test) and a node
# restarted in a test finds its data there again.

import asyncio
import base64
import json as jsonlib
import logging
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(
    sys.argv[0])), '..', '..'))
XFED = os.environ.get('XFED_BIN', os.path.join(REPO, 'bin', 'xfed'))
XFEDCTL = os.environ.get('XFEDCTL_BIN', os.path.join(REPO, 'bin', 'xfedctl'))
KEEP = bool(os.environ.get('XFED_KEEP'))
# A test linked into t/pgsql/ runs against PostgreSQL.  argv[0] is not
# resolved: the link's own directory counts.
STORE = 'pgsql' if os.environ.get('XFED_TEST_STORE') == 'pgsql' or \
    os.path.basename(os.path.dirname(os.path.abspath(sys.argv[0]))) == \
    'pgsql' else 'lmdb'

NS_CLIENT = 'jabber:client'
NS_STREAM = 'http://etherx.jabber.org/streams'
NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams'
NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind'
NS_SM = 'urn:xmpp:sm:3'

# ---------------------------------------------------------------- TAP

_tap = {'n': 0, 'failed': 0, 'planned': None}


def plan(n):
	_tap['planned'] = n
	print('1..%d' % n, flush=True)


def diag(msg):
	for line in str(msg).splitlines() or ['']:
		print('# ' + line, flush=True)


def ok(cond, name=''):
	_tap['n'] += 1
	if not cond:
		_tap['failed'] += 1
	# A '#' in a name would read as a TAP directive; a newline would end
	# the line.
	name = str(name).replace('\\', '\\\\').replace('#', '\\#') \
	    .replace('\n', ' ')
	print('%s %d - %s' % ('ok' if cond else 'not ok', _tap['n'], name),
	    flush=True)
	if not cond:
		here = os.path.abspath(__file__)
		for fr in reversed(traceback.extract_stack()):
			if os.path.abspath(fr.filename) != here:
				diag('  Failed test at %s line %d.' %
				    (os.path.basename(fr.filename),
				    fr.lineno))
				break
	return bool(cond)


def is_(got, expected, name=''):
	r = ok(got == expected, name)
	if not r:
		diag('         got: %r' % (got,))
		diag('    expected: %r' % (expected,))
	return r


def like(got, pattern, name=''):
	r = ok(got is not None and re.search(pattern, got) is not None, name)
	if not r:
		diag('                  %r' % (got,))
		diag('    doesn\'t match %r' % (pattern,))
	return r


def skip(name, reason=''):
	_tap['n'] += 1
	print('ok %d - %s # SKIP %s' % (_tap['n'], name, reason), flush=True)


class _SkipAll(Exception):
	pass


def skip_all(reason):
	if _tap['n'] == 0 and _tap['planned'] is None:
		print('1..0 # SKIP %s' % reason, flush=True)
		_tap['planned'] = 0
	raise _SkipAll(reason)


def bail(reason):
	print('Bail out! %s' % reason, flush=True)
	raise _SkipAll(reason)


def done_testing():
	if _tap['planned'] is None:
		_tap['planned'] = _tap['n']
		print('1..%d' % _tap['n'], flush=True)


# ---------------------------------------------------------------- cleanup

_nodes = []
_clients = []
_tmpdirs = []
_procs = []		# extra Popen objects started by tests (own pgid)
_hooks = []		# functions to call at clean-up (daemons, ...)


def at_cleanup(fn):
	_hooks.append(fn)


class Timeout(Exception):
	pass


def _alarm(signum, frame):
	raise Timeout('test watchdog expired')


def _term(signum, frame):
	raise SystemExit('killed by signal %d' % signum)


def _cleanup():
	for c in list(_clients):
		try:
			c.abort()
		except Exception:
			pass
	for n in list(_nodes):
		try:
			n.kill()
		except Exception:
			pass
	for p in list(_procs):
		_killpg(p)
	for fn in list(_hooks):
		try:
			fn()
		except Exception:
			pass
	_hooks.clear()
	for d in list(_tmpdirs):
		if KEEP:
			print('# kept %s' % d, flush=True)
		else:
			shutil.rmtree(d, ignore_errors=True)
	for p in list(_reserved):
		release_port(p)
	_clients.clear()
	_nodes.clear()
	_procs.clear()
	_tmpdirs.clear()


def _killpg(p):
	# Even when the leader is gone its children may not be.
	try:
		os.killpg(p.pid, signal.SIGKILL)
	except (ProcessLookupError, PermissionError):
		pass
	try:
		p.wait(timeout=5)
	except Exception:
		pass


def killpg_wait(proc, timeout=5):
	"""SIGKILL to proc's process group, then reap proc (bounded)."""
	try:
		os.killpg(proc.pid, signal.SIGKILL)
	except (ProcessLookupError, PermissionError):
		pass
	try:
		proc.wait(timeout=timeout)
	except Exception:
		pass


def _die_with_parent():
	# In the child before exec: if this test is SIGKILLed (no clean-up
	# runs), the kernel kills the master too.
	try:
		import ctypes
		libc = ctypes.CDLL(None, use_errno=True)
		libc.prctl(1, signal.SIGKILL, 0, 0, 0)	# PR_SET_PDEATHSIG
	except Exception:
		pass


def mkdtemp():
	d = tempfile.mkdtemp(prefix='xfed-e2e-')
	_tmpdirs.append(d)
	return d


def spawn(argv, **kw):
	"""Popen in its own process group, killed at the end of the test."""
	p = subprocess.Popen(argv, start_new_session=True, **kw)
	_procs.append(p)
	return p


def main(fn, timeout=150, needs_xfed=True):
	"""Runs fn() as the test, bounded by timeout seconds."""
	import atexit
	atexit.register(_cleanup)
	signal.signal(signal.SIGTERM, _term)
	signal.signal(signal.SIGINT, _term)
	signal.signal(signal.SIGALRM, _alarm)
	if os.environ.get('XFED_DEBUG'):
		logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
	else:
		logging.basicConfig(level=logging.CRITICAL)
	status = 0
	signal.alarm(timeout)
	missing = [b for b in (XFED, XFEDCTL) if not os.access(b, os.X_OK)]
	if needs_xfed and missing:
		plan(1)
		ok(False, '%s built (run make)' % ' and '.join(missing))
		sys.exit(1)
	try:
		fn()
	except _SkipAll:
		pass
	except BaseException as e:
		signal.alarm(0)
		status = 255
		ok(False, 'test died: %s: %s' % (type(e).__name__, e))
		diag(traceback.format_exc())
	finally:
		signal.alarm(0)
		for c in list(_clients):
			c.abort()
		# A node still up ends with SIGTERM as in production, so a
		# hang or a crash at shutdown and the sanitizers' exit-time
		# reports are seen.
		problems = []
		for n in _nodes:
			problems += n.shutdown()
		if _tap['failed'] or status or problems:
			for n in _nodes:
				n.diag_log()
			if _pg['server'] is not None:
				_pg['server'].diag_log()
		if problems:
			diag('--- problems found in the server logs:')
			for p in problems:
				diag(p)
		_cleanup()
		_close_loop()
	if _tap['planned'] is None:
		done_testing()
	if status:
		sys.exit(status)
	if problems:
		sys.exit(254)
	sys.exit(min(_tap['failed'], 254))


def _close_loop():
	# Let the aborted clients see their connections go, then cancel what
	# slixmpp still has running so nothing complains at exit.
	try:
		_loop.run_until_complete(asyncio.sleep(0.05))
		tasks = asyncio.all_tasks(_loop)
		for t in tasks:
			t.cancel()
		if tasks:
			_loop.run_until_complete(asyncio.wait(tasks, timeout=2))
		_loop.close()
	except Exception:
		pass


# ---------------------------------------------------------------- helpers

_reserved = {}		# port -> socket holding it until the node listens


def free_port():
	"""A port in 20000-32000 that nobody uses, held for this test: a
	socket bound with SO_REUSEPORT keeps other tests (whose check is a
	plain bind) off it, while xfed's SO_REUSEPORT listeners may still
	bind it.  Node releases it once the node listens."""
	for _ in range(200):
		port = random.randint(20000, 32000)
		s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		try:
			s.bind(('127.0.0.1', port))
		except OSError:
			continue
		finally:
			s.close()
		r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
		try:
			r.bind(('127.0.0.1', port))
		except OSError:
			r.close()
			continue
		_reserved[port] = r
		return port
	raise RuntimeError('no free port')


def release_port(port):
	s = _reserved.pop(port, None)
	if s is not None:
		s.close()


def wait_for(pred, timeout, interval=0.05):
	"""Polls pred() until it returns a true value or timeout seconds pass.
	Between looks the clients' loop runs, so what they send goes out and
	what they receive is read (a pred may wait on either)."""
	flush_all()
	deadline = time.monotonic() + timeout
	while True:
		v = pred()
		if v:
			return v
		if time.monotonic() >= deadline:
			return v
		pump(interval)


def port_open(port, host='127.0.0.1'):
	try:
		s = socket.create_connection((host, port), timeout=0.5)
	except OSError:
		return False
	s.close()
	return True


def make_cert(d, cn='localhost'):
	cert = os.path.join(d, 'cert.pem')
	key = os.path.join(d, 'key.pem')
	subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec',
	    '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
	    '-subj', '/CN=' + cn, '-addext', 'subjectAltName=DNS:' + cn,
	    '-keyout', key, '-out', cert], check=True, timeout=30,
	    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	return cert, key


def pid_alive(pid):
	try:
		os.kill(pid, 0)
	except ProcessLookupError:
		return False
	except PermissionError:
		return True
	# A zombie still answers kill(0): look at its state.
	try:
		with open('/proc/%d/stat' % pid) as f:
			return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
	except OSError:
		return False


class CtlResult:
	def __init__(self, rc, out, err):
		self.rc = rc
		self.out = out
		self.err = err
		self.data = None
		try:
			self.data = jsonlib.loads(out) if out.strip() else None
		except ValueError:
			pass

	def __repr__(self):
		return 'CtlResult(rc=%r, out=%r, err=%r)' % (self.rc,
		    self.out[:300], self.err[:300])


def run_ctl(sock, *args, input=None, json=True, timeout=15):
	flush_all()
	argv = [XFEDCTL, '-s', sock] + (['--json'] if json else []) + \
	    [str(a) for a in args]
	try:
		p = subprocess.run(argv, input=input, capture_output=True,
		    text=True, timeout=timeout)
	except subprocess.TimeoutExpired as e:
		return CtlResult(-1, e.stdout or '', 'timeout: %s' % (argv,))
	return CtlResult(p.returncode, p.stdout, p.stderr)


# ---------------------------------------------------------------- PostgreSQL

_pg = {'server': None, 'dbs': 0}


def pg_server():
	"""The test's PostgreSQL server (lib/pg.py), started on first use;
	the test is skipped when PostgreSQL is not installed."""
	if _pg['server'] is None:
		import pg
		if not pg.available():
			skip_all('PostgreSQL is not installed (XFED_PG_BIN)')
		_pg['server'] = pg.PgServer()
	return _pg['server']


def _pg_new_db():
	"""A database of its own for a new node: 'xfed' for the first."""
	_pg['dbs'] += 1
	return 'xfed' if _pg['dbs'] == 1 else 'xfed_%d' % _pg['dbs']


def run_ctl_conf(conf, *args, input=None, timeout=30):
	"""xfedctl -c conf args (commands that need no running node, such
	as db init); never raises."""
	flush_all()
	argv = [XFEDCTL, '-c', conf] + [str(a) for a in args]
	try:
		p = subprocess.run(argv, input=input, capture_output=True,
		    text=True, timeout=timeout)
	except subprocess.TimeoutExpired as e:
		return CtlResult(-1, e.stdout or '', 'timeout: %s' % (argv,))
	except OSError as e:
		return CtlResult(-1, '', '%s: %s' % (argv[0], e))
	return CtlResult(p.returncode, p.stdout, p.stderr)


# ---------------------------------------------------------------- the node

class Node:
	"""One xfed master with its workers, in its own temp dir."""

	def __init__(self, workers=2, tls_required=True, max_stanza=65536,
	    vhosts=('localhost',), log_level='debug', extra='', c2s_extra='',
	    start=True, name='node', store=None, pg_db=None,
	    storage_extra='', db_init=True, user=None, group=None,
	    auth_fail_delay=0):
		self.name = name
		# Tests log in with wrong passwords on purpose and expect the
		# answer before their clients give up: no delay unless asked.
		self.auth_fail_delay = auth_fail_delay
		# Without a user to switch to, a node started as root (as on
		# CI) must be told that its workers may stay root.
		self.user = user
		self.group = group
		self.store = store or STORE
		if self.store not in ('lmdb', 'pgsql'):
			raise ValueError('store %r' % (self.store,))
		self.storage_extra = storage_extra
		self.pg = None
		self.pg_db = None
		if self.store == 'pgsql':
			self.pg = pg_server()
			self.pg_db = self.pg.create_db(pg_db or _pg_new_db())
			diag('%s stores in PostgreSQL: %s' % (name,
			    self.pg.dsn(self.pg_db)))
		self.dir = mkdtemp()
		self.workers = workers
		self.tls_required = tls_required
		self.max_stanza = max_stanza
		self.vhosts = list(vhosts)
		self.log_level = log_level
		self.extra = extra
		self.c2s_extra = c2s_extra
		self.port = free_port()
		self.tls_port = free_port()
		while self.tls_port == self.port:
			self.tls_port = free_port()
		self.data_dir = os.path.join(self.dir, 'data')
		self.sock = os.path.join(self.dir, 'xfed.sock')
		self.pid_file = os.path.join(self.dir, 'xfed.pid')
		self.conf = os.path.join(self.dir, 'xfed.conf')
		self.log = os.path.join(self.dir, 'xfed.log')
		self.cert, self.key = make_cert(self.dir)
		self.proc = None
		self.write_conf()
		_nodes.append(self)
		# Before any start, by this harness or by anyone given the
		# configuration (init.t's init script).
		if self.store == 'pgsql' and db_init:
			self.db_init()
		if start:
			self.start()

	def conf_text(self):
		q = lambda s: "'%s'" % s
		lst = lambda l: '[ ' + ', '.join(q(s) for s in l) + ' ]'
		return '\n'.join([
		    '# written by t/e2e/lib/xfedtest.py',
		    "'virtual-hosts' = %s" % lst(self.vhosts),
		    "'data-dir' = %s" % q(self.data_dir),
		    "'control-socket' = %s" % q(self.sock),
		    "'pid-file' = %s" % q(self.pid_file),
		    "'workers' = %d" % self.workers,
		    "'log-level' = %s" % q(self.log_level),
		    "'scram-iterations' = 4096",
		    ] + (["'user' = %s" % q(self.user)] if self.user else
			["'run-as-root' = true"]) + (
		    ["'group' = %s" % q(self.group)] if self.group else []) + [
		    self.extra,
		    'c2s {',
		    "    'ports' = %s" % lst(['127.0.0.1:%d' % self.port]),
		    "    'tls-ports' = %s" % lst(['127.0.0.1:%d' %
			self.tls_port]),
		    "    'tls-required' = %s" % ('true' if self.tls_required
			else 'false'),
		    "    'max-stanza-size' = %d" % self.max_stanza,
		    "    'auth-fail-delay' = %d" % self.auth_fail_delay,
		    self.c2s_extra,
		    '}'] + self.storage_conf() + [
		    'tls {',
		    "    'cert' = %s" % q(self.cert),
		    "    'key' = %s" % q(self.key),
		    '}',
		    ''])

	def storage_conf(self):
		"""The storage block's lines (for LMDB, the default, only
		storage_extra's)."""
		if self.store != 'pgsql':
			return ['storage {', self.storage_extra, '}'] if \
			    self.storage_extra else []
		return ['storage {',
		    "    'backend' = 'pgsql'",
		    "    'dsn' = '%s'" % self.pg.dsn(self.pg_db),
		    self.storage_extra,
		    '}']

	def write_conf(self):
		with open(self.conf, 'w') as f:
			f.write(self.conf_text())

	def dbctl(self, *args, timeout=30):
		"""xfedctl -c <this node's conf> db args: a CtlResult."""
		return run_ctl_conf(self.conf, 'db', *args, timeout=timeout)

	def db_init(self):
		"""xfedctl db init for this node's database (raises on
		failure)."""
		r = self.dbctl('init')
		if r.rc != 0:
			raise RuntimeError('%s: xfedctl db init: %r' %
			    (self.name, r))
		return r

	def start(self, wait=True, timeout=10):
		self.logf = open(self.log, 'ab')
		self.proc = subprocess.Popen([XFED, '-f', '-c', self.conf],
		    stdin=subprocess.DEVNULL, stdout=self.logf,
		    stderr=subprocess.STDOUT, cwd=self.dir,
		    start_new_session=True, preexec_fn=_die_with_parent)
		self.pid = self.proc.pid
		if wait:
			self.wait_ready(timeout)
			# A test meant for PostgreSQL must not pass on LMDB.
			st = self.status().get('store')
			if st is not None and st != self.store:
				raise RuntimeError('%s: meant to store in %s, '
				    'the node says %r' % (self.name, self.store,
				    st))
		return self

	def ready(self):
		if not (port_open(self.port) and port_open(self.tls_port)):
			return False
		st = run_ctl(self.sock, 'status', timeout=5).data
		if not st or 'workers' not in st:
			return False
		running = [w for w in st['workers'] if w.get('pid') and
		    w.get('state') == 'running']
		return len(running) >= self.workers

	def wait_ready(self, timeout=10):
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if self.proc is not None and self.proc.poll() is not None:
				raise RuntimeError('%s: xfed exited with %r '
				    'during start-up' % (self.name,
				    self.proc.returncode))
			if self.ready():
				release_port(self.port)
				release_port(self.tls_port)
				return True
			time.sleep(0.1)
		raise RuntimeError('%s: xfed not ready after %ss' %
		    (self.name, timeout))

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def ctl(self, *args, input=None, json=True, timeout=15):
		return run_ctl(self.sock, *args, input=input, json=json,
		    timeout=timeout)

	def add_user(self, jid, password):
		r = self.ctl('user', 'add', jid, input=password + '\n')
		if r.rc != 0:
			raise RuntimeError('user add %s: %r' % (jid, r))
		return r

	def status(self):
		r = self.ctl('status')
		if r.rc != 0 or not isinstance(r.data, dict):
			raise RuntimeError('status: %r' % (r,))
		return r.data

	def sessions(self):
		r = self.ctl('sessions')
		if r.rc != 0 or not isinstance(r.data, dict):
			raise RuntimeError('sessions: %r' % (r,))
		return r.data.get('sessions', [])

	def session(self, full_jid):
		for s in self.sessions():
			if s.get('jid') == full_jid:
				return s
		return None

	def worker_of(self, full_jid, timeout=5):
		"""The worker slot holding full_jid's session (None if absent)."""
		s = wait_for(lambda: self.session(full_jid), timeout)
		return s['worker'] if s else None

	def workers_list(self):
		return self.status().get('workers', [])

	def kill_worker(self, slot, sig=signal.SIGKILL):
		"""Signals the worker in slot; returns (index, old pid)."""
		for w in self.workers_list():
			if w.get('slot') == slot:
				os.kill(w['pid'], sig)
				return w.get('index'), w['pid']
		raise RuntimeError('no worker in slot %r' % (slot,))

	def signal(self, sig):
		flush_all()
		os.kill(self.pid, sig)

	def stop(self, timeout=10):
		"""SIGTERM and wait; returns the exit status (None if hung)."""
		if not self.alive():
			return self.proc.returncode if self.proc else None
		flush_all()
		os.kill(self.pid, signal.SIGTERM)
		try:
			return self.proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			return None

	# Lines that mean a bug whatever the test was about: sanitizer
	# reports and workers dying of a fault.
	_BAD = re.compile(r'ERROR: AddressSanitizer|ERROR: LeakSanitizer|'
	    r'runtime error:|UndefinedBehaviorSanitizer|'
	    r'killed by signal (4|6|7|8|11)\b')

	def shutdown(self, timeout=5):
		"""Stops the node (SIGTERM) if it still runs; returns the
		problems seen: a bad exit or bad lines in the log."""
		out = []
		if self.alive():
			rc = self.stop(timeout)
			if rc != 0:
				out.append('%s: SIGTERM at the end of the test: '
				    'exit status %r (None: still running after '
				    '%ds)' % (self.name, rc, timeout))
		self.kill()
		for line in self.log_text().splitlines():
			if self._BAD.search(line):
				out.append('%s: %s' % (self.name, line))
		return out[:40]

	def kill(self):
		if self.proc is None:
			return
		killpg_wait(self.proc)
		try:
			self.logf.close()
		except Exception:
			pass

	def log_tail(self, n=40):
		try:
			with open(self.log, 'rb') as f:
				lines = f.read().decode('utf-8', 'replace') \
				    .splitlines()
		except OSError:
			return []
		return lines[-n:]

	def log_text(self):
		try:
			with open(self.log, 'rb') as f:
				return f.read().decode('utf-8', 'replace')
		except OSError:
			return ''

	def diag_log(self, n=40):
		diag('--- %s: last lines of %s' % (self.name, self.log))
		for line in self.log_tail(n):
			diag(line)


# ---------------------------------------------------------------- slixmpp

_loop = asyncio.new_event_loop()
asyncio.set_event_loop(_loop)


def run(coro, timeout=10):
	"""Runs coro on the clients' loop, at most timeout seconds."""
	return _loop.run_until_complete(asyncio.wait_for(coro, timeout))


def pump(seconds):
	"""Lets the clients' loop run for a while (to receive, to prove
	that nothing arrives)."""
	_loop.run_until_complete(asyncio.sleep(seconds))


def flush_all():
	"""Writes out what every client has queued."""
	for c in list(_clients):
		c.flush()


import slixmpp				# noqa: E402  (after the loop exists)
from slixmpp.xmlstream.handler import Callback	# noqa: E402
from slixmpp.xmlstream.matcher import MatchXPath	# noqa: E402


class _Xmpp(slixmpp.ClientXMPP):
	# Never ask DNS: 'localhost' may resolve to ::1 first, and the node
	# listens on 127.0.0.1 only.
	async def get_dns_records(self, domain, port=None):
		return [(domain, '127.0.0.1', self.address[1])]


class Client:
	"""An XMPP client on the harness loop.  Every call is bounded."""

	def __init__(self, node, jid, password, mech=None, direct_tls=False,
	    priority=0, presence=True, port=None):
		self.node = node
		self.jid = jid
		self.password = password
		self.mech = mech
		self.direct_tls = direct_tls
		self.priority = priority
		self.presence = presence
		self.port = port
		self.messages = asyncio.Queue()
		self.stream_errors = []
		self.auth_failures = []
		self.result = None
		self.connected = False
		self._done = None
		self._gone = _loop.create_future()
		self.xmpp = None
		_clients.append(self)

	def _new_xmpp(self):
		x = _Xmpp(self.jid, self.password)
		x.ssl_context = ssl.create_default_context()
		x.ssl_context.check_hostname = False
		x.ssl_context.verify_mode = ssl.CERT_NONE
		x.whitespace_keepalive = False
		if self.mech:
			x['feature_mechanisms'].use_mech = self.mech
		# PLAIN over TLS only; allow it whenever TLS is up.
		x['feature_mechanisms'].unencrypted_plain = False
		x.register_handler(Callback('xfedtest messages',
		    MatchXPath('{%s}message' % NS_CLIENT),
		    lambda m: self.messages.put_nowait(m)))
		x.add_event_handler('session_start', self._on_session)
		x.add_event_handler('failed_auth', self._on_failed_auth)
		x.add_event_handler('failed_all_auth', lambda e:
		    self._finish('failed_auth'))
		x.add_event_handler('no_auth', lambda e:
		    self._finish('no_auth'))
		x.add_event_handler('stream_error', self._on_stream_error)
		x.add_event_handler('disconnected', self._on_disconnected)
		x.add_event_handler('connection_failed', lambda e:
		    self._finish('connection_failed'))
		return x

	def _finish(self, what):
		if self._done is not None and not self._done.done():
			self._done.set_result(what)

	def _on_session(self, ev):
		self.connected = True
		if self.presence:
			self.xmpp.send_presence(ppriority=self.priority)
		self._finish('session')

	def _on_failed_auth(self, stanza):
		self.auth_failures.append(stanza['condition'])

	def _on_stream_error(self, err):
		self.stream_errors.append(err['condition'])

	def _on_disconnected(self, reason):
		self.connected = False
		self._finish('disconnected')
		if not self._gone.done():
			self._gone.set_result(reason)

	async def _login(self):
		self._done = _loop.create_future()
		self._gone = _loop.create_future()
		self.xmpp = self._new_xmpp()
		port = self.port or (self.node.tls_port if self.direct_tls
		    else self.node.port)
		self.xmpp.connect(address=('127.0.0.1', port),
		    use_ssl=self.direct_tls,
		    force_starttls=not self.direct_tls,
		    disable_starttls=self.direct_tls)
		return await self._done

	def login(self, timeout=10):
		"""Connects and authenticates: returns 'session' on success,
		else 'failed_auth', 'disconnected', 'timeout', ..."""
		try:
			self.result = run(self._login(), timeout)
		except asyncio.TimeoutError:
			self.result = 'timeout'
		if self.result != 'session':
			self.abort()
		else:
			self.flush()	# the initial presence
		return self.result

	@property
	def full_jid(self):
		return str(self.xmpp.boundjid) if self.xmpp else None

	def flush(self, timeout=3):
		"""Runs the loop until slixmpp has written what was queued:
		its sends only queue, and nothing goes out while a test
		blocks on anything but this loop (time.sleep, xfedctl)."""
		if self.xmpp is None or self.xmpp.transport is None or \
		    _loop.is_running():
			return
		try:
			run(self.xmpp.waiting_queue.join(), timeout)
			pump(0)
		except asyncio.TimeoutError:
			pass

	# Sends only queue (so a burst goes out as one); whatever waits on
	# this loop, and wait_for(), xfedctl calls and signals to the node,
	# flush first.
	def send_message(self, to, body, mtype='chat'):
		self.xmpp.send_message(mto=to, mbody=body, mtype=mtype)

	def send_presence(self, **kw):
		"""slixmpp's send_presence (pto=, ptype=, ppriority=...)."""
		self.xmpp.send_presence(**kw)

	def send_raw(self, data):
		self.xmpp.send_raw(data)

	def wait_message(self, timeout=5, pred=None):
		"""The next message stanza (matching pred), or None."""
		async def get():
			while True:
				m = await self.messages.get()
				if pred is None or pred(m):
					return m
		try:
			return run(get(), timeout)
		except asyncio.TimeoutError:
			return None

	def drain_messages(self):
		out = []
		while not self.messages.empty():
			out.append(self.messages.get_nowait())
		return out

	def iq(self, xml, to=None, itype='get', timeout=5):
		"""Sends an iq with the given child (XML text); returns the
		reply stanza (result or error) or None on timeout."""
		iq = self.xmpp.Iq()
		iq['type'] = itype
		if to:
			iq['to'] = to
		iq.append(ET.fromstring(xml))

		async def go():
			try:
				return await iq.send(timeout=timeout)
			except slixmpp.exceptions.IqError as e:
				return e.iq
		try:
			return run(go(), timeout + 1)
		except (asyncio.TimeoutError,
		    slixmpp.exceptions.IqTimeout):
			return None

	def wait_disconnected(self, timeout=5):
		"""True once the connection is gone."""
		if self._gone.done():
			return True
		try:
			run(asyncio.shield(self._gone), timeout)
			return True
		except asyncio.TimeoutError:
			return False

	def disconnect(self, timeout=3):
		if self.xmpp is None or self._gone.done():
			return
		try:
			run(self.xmpp.disconnect(wait=timeout), timeout + 1)
		except Exception:
			pass
		if not self._gone.done():
			self.abort()

	def abort(self):
		if self.xmpp is not None:
			try:
				self.xmpp.cancel_connection_attempt()
				self.xmpp.abort()
			except Exception:
				pass


def login(node, jid, password, **kw):
	"""A logged-in Client, or raises (the test dies with the reason)."""
	c = Client(node, jid, password, **kw)
	r = c.login()
	if r != 'session':
		raise RuntimeError('login %s failed: %s %s %s' % (jid, r,
		    c.auth_failures, c.stream_errors))
	return c


def exchange(a, b, body=None, timeout=5):
	"""a sends b (to b's full JID) a chat message; returns the message
	b got with that body, or None."""
	body = body or 'm-%06d' % random.randint(0, 999999)
	a.send_message(b.full_jid, body)
	return b.wait_message(timeout, lambda m: m['body'] == body)


def login_where(node, jid, password, want, attempts=20, **kw):
	"""Logs jid in until want(slot) holds for the worker slot of its
	session; returns (client, slot) or (None, None).  Connections spread
	over the workers' SO_REUSEPORT sockets by hash, so this takes a few
	tries."""
	for i in range(attempts):
		c = login(node, jid, password, **kw)
		w = node.worker_of(c.full_jid)
		if w is not None and want(w):
			return c, w
		c.disconnect()
		wait_for(lambda: node.session(c.full_jid) is None, 3)
	return None, None


def on_different_workers(node, jid, password, other, **kw):
	"""jid logged in on a worker other than the one of other (a full
	JID); returns (client, slot) or (None, None)."""
	theirs = node.worker_of(other)
	return login_where(node, jid, password, lambda w: w != theirs, **kw)


def on_worker(node, jid, password, slot, **kw):
	return login_where(node, jid, password, lambda w: w == slot, **kw)


# ---------------------------------------------------------------- raw

class RawClient:
	"""A hand-driven XMPP stream, for input no real client would send."""

	def __init__(self, port, tls=False, host='localhost', timeout=5,
	    rcvbuf=None, source=None):
		# source: a local address to connect from (127.0.0.x), so
		# that a test looks like many clients' addresses.
		self.host = host
		self.timeout = timeout
		self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		if rcvbuf is not None:
			# Set before connecting: the window is small from the
			# start (shrunk later, the kernel drops what it had
			# allowed and the sender backs off for long).
			self.sock.setsockopt(socket.SOL_SOCKET,
			    socket.SO_RCVBUF, rcvbuf)
		if source:
			self.sock.bind((source, 0))
		self.sock.settimeout(timeout)
		self.sock.connect(('127.0.0.1', port))
		if tls:
			self._wrap()
		self.closed = False
		self.stream_ended = False
		self.stream_attrs = None
		self._reset()

	def _wrap(self):
		ctx = ssl.create_default_context()
		ctx.check_hostname = False
		ctx.verify_mode = ssl.CERT_NONE
		self.sock = ctx.wrap_socket(self.sock,
		    server_hostname=self.host)

	def _reset(self):
		self.parser = ET.XMLPullParser(('start', 'end'))
		self.depth = 0
		self.pending = []

	def send(self, data):
		if isinstance(data, str):
			data = data.encode('utf-8')
		try:
			self.sock.sendall(data)
			return True
		except OSError:
			self.closed = True
			return False

	def open(self, to=None, prolog=''):
		"""Sends a stream header (after prolog, put between the XML
		declaration and the root) and returns the features element."""
		self._reset()
		self.send("<?xml version='1.0'?>%s<stream:stream to='%s' "
		    "xmlns='jabber:client' xmlns:stream='%s' "
		    "version='1.0'>" % (prolog, to or self.host, NS_STREAM))
		el = self.read_element()
		if el is not None and el.tag != '{%s}features' % NS_STREAM:
			# A stream error, say: leave it for the caller.
			self.pending.insert(0, el)
			return None
		return el

	def _fill(self, deadline):
		"""Reads once into the parser; False on EOF or timeout."""
		left = deadline - time.monotonic()
		if left <= 0:
			return False
		self.sock.settimeout(left)
		try:
			data = self.sock.recv(65536)
		except socket.timeout:
			return False
		except (ssl.SSLError, OSError):
			self.closed = True
			return False
		if not data:
			self.closed = True
			return False
		try:
			self.parser.feed(data)
			for ev, el in self.parser.read_events():
				if ev == 'start':
					if self.depth == 0:
						self.stream_attrs = dict(
						    el.attrib)
					self.depth += 1
				else:
					self.depth -= 1
					if self.depth == 0:
						self.stream_ended = True
					elif self.depth == 1:
						self.pending.append(el)
		except ET.ParseError:
			self.closed = True
			return False
		return True

	def read_element(self, timeout=None):
		"""The next top-level element of the stream, or None."""
		deadline = time.monotonic() + (timeout or self.timeout)
		while not self.pending:
			if self.closed or self.stream_ended:
				return None
			if not self._fill(deadline):
				if not self.pending:
					return None
		return self.pending.pop(0)

	def read_stream_error(self, timeout=None):
		"""Reads until a stream error: returns its condition or None."""
		deadline = time.monotonic() + (timeout or self.timeout)
		while time.monotonic() < deadline:
			el = self.read_element(deadline - time.monotonic())
			if el is None:
				return None
			if el.tag == '{%s}error' % NS_STREAM:
				return stream_error_condition(el)
		return None

	def wait_closed(self, timeout=None):
		"""True when the server ended the stream and closed the TCP
		connection within timeout."""
		deadline = time.monotonic() + (timeout or self.timeout)
		while not self.closed and time.monotonic() < deadline:
			if not self._fill(deadline):
				if self.closed:
					break
		return self.closed

	def starttls(self):
		"""STARTTLS and a new stream; returns the new features."""
		self.send("<starttls xmlns='%s'/>" % NS_TLS)
		el = self.read_element()
		if el is None or el.tag != '{%s}proceed' % NS_TLS:
			raise RuntimeError('starttls: got %r' % (el,))
		self.sock.settimeout(self.timeout)
		self._wrap()
		return self.open()

	def auth_plain(self, user, password):
		"""SASL PLAIN (user is the localpart, as RFC 6120 6.3.8 has
		it; a full JID is cut to its localpart); returns the server's answer element (success,
		failure or a stream error), or None."""
		user = user.split('@', 1)[0]
		cred = base64.b64encode(('\0%s\0%s' % (user, password))
		    .encode()).decode()
		self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" %
		    (NS_SASL, cred))
		return self.read_element()

	def authenticate(self, user, password, starttls=True):
		"""Stream, STARTTLS (if asked), PLAIN; stops before the
		stream restart."""
		feats = self.open()
		if feats is None:
			raise RuntimeError('raw: no stream features')
		if starttls:
			self.starttls()
		el = self.auth_plain(user, password)
		if el is None or el.tag != '{%s}success' % NS_SASL:
			raise RuntimeError('raw auth: got %s' % (
			    ET.tostring(el) if el is not None else None))

	def login(self, user, password, resource='raw', starttls=True):
		"""STARTTLS (if asked), PLAIN, a new stream, bind; returns the
		full JID."""
		self.authenticate(user, password, starttls)
		self.open()
		self.send("<iq type='set' id='b1'><bind xmlns='%s'>"
		    "<resource>%s</resource></bind></iq>" % (NS_BIND,
		    resource))
		el = self.read_element()
		if el is None or el.get('type') != 'result':
			raise RuntimeError('raw bind: got %s' % (
			    ET.tostring(el) if el is not None else None))
		jid = el.find('.//{%s}jid' % NS_BIND)
		return jid.text if jid is not None else None

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass


def stream_error_condition(el):
	for child in el:
		if child.tag.startswith('{%s}' % NS_STREAMS) and \
		    not child.tag.endswith('}text'):
			return child.tag.split('}', 1)[1]
	return None


def features_list(el):
	"""Local names of the children of a features element."""
	if el is None:
		return []
	return [c.tag.split('}', 1)[-1] for c in el]


def local_name(el):
	"""The tag of el without its namespace; None for None."""
	return el.tag.split('}', 1)[-1] if el is not None else None


def worker_connections(node):
	"""Open client connections per worker slot: {slot: count}."""
	return {w['slot']: w.get('connections', 0)
	    for w in node.workers_list()}


def raw_on_worker(node, want, attempts=40):
	"""A RawClient whose TCP connection a worker slot with want(slot)
	accepted, found by watching the per-worker connection counts (no
	other connection may open or close meanwhile): (raw, slot), or
	(None, None)."""
	for _ in range(attempts):
		before = worker_connections(node)
		r = RawClient(node.port)
		rose = wait_for(lambda: [s for s, n in
		    worker_connections(node).items() if n > before.get(s, 0)], 3)
		if rose and len(rose) == 1 and want(rose[0]):
			return r, rose[0]
		r.close()
		wait_for(lambda: worker_connections(node) == before, 3)
	return None, None


def read_bodies(raw, n=None, timeout=3, quiet=None, until=None):
	"""Top-level elements of a RawClient read for timeout seconds, or
	until n message bodies, or until quiet seconds pass with nothing,
	or until(el) for a non-message; <r/> is not answered.  Returns
	(bodies, other elements)."""
	bodies, other = [], []
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if n is not None and len(bodies) >= n:
			break
		left = deadline - time.monotonic()
		el = raw.read_element(min(left, quiet) if quiet else left)
		if el is None:
			break
		if el.tag == '{jabber:client}message':
			b = el.find('{jabber:client}body')
			bodies.append(b.text if b is not None else None)
		else:
			other.append(el)
			if until is not None and until(el):
				break
	return bodies, other


def send_messages(client, to, bodies):
	"""client (a Client) sends the JID to one chat message per body,
	then runs the loop a little: slixmpp writes only while it runs."""
	for b in bodies:
		client.send_message(to, b)
	pump(0.3)


def stanza_error(stanza):
	"""(type, condition) of a slixmpp stanza's error, or (None, None)."""
	if stanza is None or stanza['type'] != 'error':
		return (None, None)
	return (stanza['error']['type'], stanza['error']['condition'])


class Inbox:
	"""Every message a client got, kept (wait_message drops the ones its
	predicate rejects)."""

	def __init__(self, client):
		self.c = client
		self.all = []

	def _take(self):
		self.all.extend(self.c.drain_messages())

	def wait(self, pred, timeout=5):
		deadline = time.monotonic() + timeout
		while True:
			self._take()
			for m in self.all:
				if pred(m):
					return m
			if time.monotonic() >= deadline:
				return None
			pump(0.05)

	def find(self, pred):
		self._take()
		return [m for m in self.all if pred(m)]


def roster_subscription(c, contact):
	"""contact's subscription in c's roster (a roster get), or None."""
	r = c.iq("<query xmlns='jabber:iq:roster'/>")
	if r is None or r['type'] != 'result':
		return None
	for it in r.xml.find('{jabber:iq:roster}query'):
		if it.get('jid') == contact:
			return it.get('subscription')
	return None


class Chatter:
	"""Two logged-in users chatting through a node while a test does
	something else: round() has each send the other a few numbered
	messages, check() says whether every one arrived exactly once."""

	def __init__(self, node, a='chat-a@localhost', b='chat-b@localhost'):
		node.add_user(a, 'pw-a')
		node.add_user(b, 'pw-b')
		self.a = login(node, a + '/c', 'pw-a')
		self.b = login(node, b + '/c', 'pw-b')
		self.inbox = {self.a: Inbox(self.a), self.b: Inbox(self.b)}
		self.sent = {self.a: [], self.b: []}	# what each was sent
		self.n = 0

	def round(self, count=5):
		for frm, to in ((self.a, self.b), (self.b, self.a)):
			for _ in range(count):
				self.n += 1
				body = 'chat-%06d' % self.n
				self.sent[to].append(body)
				frm.send_message(to.full_jid, body)
		flush_all()

	def check(self, timeout=10):
		"""(ok, why): each message arrived once, none lost."""
		import collections
		for who in (self.a, self.b):
			box = self.inbox[who]
			want = collections.Counter(self.sent[who])
			got = lambda: collections.Counter(m['body'] for m in
			    box.find(lambda m: m['body'].startswith('chat-')))
			wait_for(lambda: got() == want or
			    sum(got().values()) > sum(want.values()), timeout)
			pump(0.3)	# a duplicate would show now
			g = got()
			if g != want:
				return False, '%s: lost %r, extra %r' % (
				    who.jid, sorted((want - g).elements()),
				    sorted((g - want).elements()))
		return True, '%d messages, each once' % self.n
