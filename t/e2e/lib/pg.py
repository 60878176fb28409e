# pg.py: a throwaway PostgreSQL server for one test file (t/pgsql/*.t).
#
# PgServer() copies an initdb'd template (built once into
# <repo>/build/pg-template-<major>, with the role and database 'xfed' in
# it) into a temp dir and runs postgres there as the 'postgres' system
# user when the test runs as root (postgres refuses root), else as
# whoever runs the test.  It listens on 127.0.0.1 only, on a free port
# below 32768, with its unix socket in its own temp dir, fsync off and
# trust authentication.  Whatever happens the harness's clean-up stops it
# and removes the dir; if the test itself is killed, the postmaster gets
# SIGKILL from the kernel (PR_SET_PDEATHSIG).
#
# Environment: XFED_PG_BIN  directory of initdb/postgres/psql (default:
#                           the newest /usr/lib/postgresql/*/bin)

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import xfedtest

TEMPLATE_VERSION = 1	# bump when the template's contents change
SUPERUSER = 'postgres'	# the template's bootstrap superuser
ROLE = 'xfed'		# the role the nodes connect as (owns its databases)


def bin_dir():
	"""The directory holding initdb and postgres, or None."""
	d = os.environ.get('XFED_PG_BIN')
	if d:
		return d if os.access(os.path.join(d, 'postgres'),
		    os.X_OK) else None

	def major(p):
		m = re.search(r'/postgresql/(\d+)/bin$', p)
		return int(m.group(1)) if m else -1
	found = [d for d in glob.glob('/usr/lib/postgresql/*/bin') if
	    os.access(os.path.join(d, 'postgres'), os.X_OK) and
	    os.access(os.path.join(d, 'initdb'), os.X_OK)]
	return max(found, key=major) if found else None


def available():
	return bin_dir() is not None


def _run_as():
	"""(uid, gid) to run postgres as: the postgres user under root, else
	None (ourselves)."""
	if os.geteuid() != 0:
		return None
	try:
		pw = pwd.getpwnam('postgres')
	except KeyError:
		raise RuntimeError('running as root and there is no postgres '
		    'user to run PostgreSQL as')
	return pw.pw_uid, pw.pw_gid


def _chown_tree(top, ids):
	if ids is None:
		return
	uid, gid = ids
	os.lchown(top, uid, gid)
	for root, dirs, files in os.walk(top):
		for n in dirs + files:
			os.lchown(os.path.join(root, n), uid, gid)


def _popen(argv, ids, **kw):
	if ids is not None:
		kw.update(user=ids[0], group=ids[1], extra_groups=[])
	# The kernel clears PDEATHSIG on a credential change, and Popen's
	# preexec_fn runs after the uid/gid switch: set it there.
	return subprocess.Popen(argv, start_new_session=True,
	    preexec_fn=xfedtest._die_with_parent, **kw)


def _children(pid):
	"""PIDs whose parent is pid (from /proc)."""
	out = []
	for d in os.listdir('/proc'):
		if not d.isdigit():
			continue
		try:
			with open('/proc/%s/stat' % d) as f:
				st = f.read().rsplit(')', 1)[1].split()
		except OSError:
			continue
		if int(st[1]) == pid and st[0] != 'Z':
			out.append(int(d))
	return out


def _wait_gone(pids, timeout):
	deadline = time.monotonic() + timeout
	while True:
		left = [p for p in pids if xfedtest.pid_alive(p)]
		if not left or time.monotonic() >= deadline:
			return left
		time.sleep(0.05)


def _pid_file_state(data):
	"""(pid, status) from data/postmaster.pid, (None, None) without."""
	try:
		with open(os.path.join(data, 'postmaster.pid')) as f:
			lines = f.read().splitlines()
	except OSError:
		return None, None
	pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
	status = lines[7].strip() if len(lines) > 7 else None
	return pid, status


# ---------------------------------------------------------------- template

def _template_path():
	b = bin_dir()
	major = os.path.basename(os.path.dirname(b)) if b else 'x'
	return os.path.join(xfedtest.REPO, 'build',
	    'pg-template-%s-v%d' % (major, TEMPLATE_VERSION))


def _build_template(dst):
	"""initdb into a fresh dir, add the role and database 'xfed', and
	shut down cleanly; the result is copied to dst (a data directory
	that must not exist yet)."""
	b = bin_dir()
	ids = _run_as()
	work = tempfile.mkdtemp(prefix='xfed-pgtpl-')
	try:
		_chown_tree(work, ids)
		data = os.path.join(work, 'data')
		log = os.path.join(work, 'build.log')
		with open(log, 'wb') as lf:
			p = _popen([os.path.join(b, 'initdb'), '-D', data,
			    '-U', SUPERUSER, '-A', 'trust', '-E', 'UTF8',
			    '--locale=C', '--no-sync', '--wal-segsize=1'],
			    ids, stdin=subprocess.DEVNULL, stdout=lf,
			    stderr=subprocess.STDOUT, cwd=work)
			try:
				rc = p.wait(timeout=120)
			except subprocess.TimeoutExpired:
				p.kill()
				p.wait(5)
				rc = 'timeout'
			if rc != 0:
				raise RuntimeError('initdb failed (%s): %s' %
				    (rc, _tail(log)))
			pm = _popen([os.path.join(b, 'postgres'), '-D', data,
			    '-c', 'listen_addresses=', '-c',
			    'unix_socket_directories=' + work,
			    '-c', 'port=5432', '-c', 'fsync=off'], ids,
			    stdin=subprocess.DEVNULL, stdout=lf,
			    stderr=subprocess.STDOUT, cwd=work)
			try:
				if not _wait_ready(pm, data, 30):
					raise RuntimeError('template postgres did '
					    'not start: %s' % _tail(log))
				for sql in ('CREATE ROLE %s LOGIN' % ROLE,
				    'CREATE DATABASE %s OWNER %s' % (ROLE,
				    ROLE)):
					_psql(b, work, 5432, 'postgres', sql)
			finally:
				pm.send_signal(signal.SIGINT)	# fast
				try:
					pm.wait(timeout=30)
				except subprocess.TimeoutExpired:
					os.killpg(pm.pid, signal.SIGKILL)
					pm.wait(5)
					raise RuntimeError('template postgres '
					    'did not stop')
		shutil.copytree(data, dst, symlinks=True)
	finally:
		shutil.rmtree(work, ignore_errors=True)


def _template():
	"""The cached template's data directory, built on first use.  Two
	test files may race to build it: each builds into a dir of its own
	and renames it into place; the loser throws its copy away."""
	path = _template_path()
	if os.path.isfile(os.path.join(path, 'PG_VERSION')):
		return path
	parent = os.path.dirname(path)
	try:
		os.makedirs(parent, exist_ok=True)
		tmp = tempfile.mkdtemp(prefix='.pg-template-', dir=parent)
	except OSError:
		# No writable build dir: a template for this test only.
		tmp = xfedtest.mkdtemp()
		_build_template(os.path.join(tmp, 'data'))
		return os.path.join(tmp, 'data')
	try:
		_build_template(os.path.join(tmp, 'data'))
		try:
			os.rename(os.path.join(tmp, 'data'), path)
		except OSError:
			if not os.path.isfile(os.path.join(path,
			    'PG_VERSION')):
				raise
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	return path


def _tail(path, n=20):
	try:
		with open(path, 'rb') as f:
			return '\n'.join(f.read().decode('utf-8', 'replace')
			    .splitlines()[-n:])
	except OSError:
		return ''


def _wait_ready(proc, data, timeout):
	"""True once the postmaster proc says 'ready' in its pid file."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if proc.poll() is not None:
			return False
		pid, status = _pid_file_state(data)
		if pid == proc.pid and status == 'ready':
			return True
		time.sleep(0.05)
	return False


def _psql(b, sockdir, port, db, sql, timeout=30):
	p = subprocess.run([os.path.join(b, 'psql'), '-X', '-q', '-A', '-t',
	    '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-h', sockdir, '-p',
	    str(port), '-U', SUPERUSER, '-d', db, '-c', sql],
	    capture_output=True, text=True, timeout=timeout,
	    stdin=subprocess.DEVNULL)
	if p.returncode != 0:
		raise RuntimeError('psql %r: rc %d: %s' % (sql, p.returncode,
		    p.stderr.strip()))
	return p.stdout


# ---------------------------------------------------------------- server

class PgServer:
	"""One PostgreSQL server in a temp dir, for one test file."""

	def __init__(self, start=True):
		self.bin = bin_dir()
		if self.bin is None:
			raise RuntimeError('PostgreSQL not found (set XFED_PG_BIN)')
		self.ids = _run_as()
		template = _template()
		# Not under one of the harness's 0700 dirs: postgres must
		# reach it.  Removed by the harness's clean-up.
		self.dir = tempfile.mkdtemp(prefix='xfed-pg-')
		xfedtest._tmpdirs.append(self.dir)
		self.data = os.path.join(self.dir, 'data')
		shutil.copytree(template, self.data, symlinks=True)
		os.chmod(self.data, 0o700)
		_chown_tree(self.dir, self.ids)
		self.log = os.path.join(self.dir, 'postgres.log')
		self.host = '127.0.0.1'
		self.port = xfedtest.free_port()
		self.proc = None
		self.pid = None
		self.logf = None
		self.databases = {ROLE}
		xfedtest.at_cleanup(self._cleanup)
		if start:
			self.start()

	def dsn(self, db=ROLE):
		"""libpq conninfo for the nodes (TCP, role xfed)."""
		return 'host=%s port=%d dbname=%s user=%s' % (self.host,
		    self.port, db, ROLE)

	def argv(self):
		opts = {
		    'listen_addresses': self.host,
		    'port': str(self.port),
		    'unix_socket_directories': self.dir,
		    # fsync off survives a killed server (the kernel keeps
		    # what was written); synchronous_commit must stay on, or
		    # a kill would lose commits xfed was told were made.
		    'fsync': 'off',
		    'full_page_writes': 'off',
		    'shared_buffers': '16MB',
		    'max_connections': '100',
		    'autovacuum': 'off',
		    'log_min_messages': 'warning',
		}
		argv = [os.path.join(self.bin, 'postgres'), '-D', self.data]
		for k, v in opts.items():
			argv += ['-c', '%s=%s' % (k, v)]
		return argv

	def running(self):
		return self.proc is not None and self.proc.poll() is None

	def start(self, timeout=20):
		if self.running():
			return self
		# The harness holds the port with SO_REUSEPORT, which
		# postgres's plain bind would trip on.
		xfedtest.release_port(self.port)
		if self.logf is None:
			self.logf = open(self.log, 'ab')
		self.proc = _popen(self.argv(), self.ids,
		    stdin=subprocess.DEVNULL, stdout=self.logf,
		    stderr=subprocess.STDOUT, cwd=self.dir)
		self.pid = self.proc.pid
		if not _wait_ready(self.proc, self.data, timeout):
			rc = self.proc.poll()
			self._kill_all()
			raise RuntimeError('postgres not ready after %ss (exit '
			    '%r): %s' % (timeout, rc, _tail(self.log)))
		return self

	def stop(self, mode='fast', timeout=15):
		"""Stops the server: 'smart', 'fast' or 'immediate' (as
		pg_ctl -m), or 'kill' (SIGKILL of the postmaster: its
		backends see it die and quit).  Returns once every process
		of the server is gone (bounded; raises if not)."""
		if not self.running():
			return
		xfedtest.flush_all()
		kids = _children(self.pid)
		sig = {'smart': signal.SIGTERM, 'fast': signal.SIGINT,
		    'immediate': signal.SIGQUIT, 'kill': signal.SIGKILL,
		    'kill -9': signal.SIGKILL, '9': signal.SIGKILL}[mode]
		os.kill(self.pid, sig)
		try:
			self.proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			self._kill_all()
			raise RuntimeError('postgres did not stop (%s) within '
			    '%ss' % (mode, timeout))
		# After a SIGKILL the old backends hold the shared memory a
		# new postmaster would refuse to start beside.
		left = _wait_gone(kids, timeout)
		if left:
			for p in left:
				try:
					os.kill(p, signal.SIGKILL)
				except OSError:
					pass
			_wait_gone(left, 5)
		self._hold_port()

	def _hold_port(self):
		# While down, keep other tests' free_port() off the port, as
		# the harness does for a node's ports (best effort: TIME_WAIT
		# leftovers may refuse the bind, and also keep others off).
		if self.port in xfedtest._reserved:
			return
		r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
		try:
			r.bind((self.host, self.port))
		except OSError:
			r.close()
			return
		xfedtest._reserved[self.port] = r

	def restart(self, mode='fast', timeout=20):
		self.stop(mode)
		return self.start(timeout)

	def _kill_all(self):
		if self.proc is None:
			return
		kids = _children(self.proc.pid) if self.running() else []
		xfedtest.killpg_wait(self.proc)
		_wait_gone(kids, 5)

	def _cleanup(self):
		self._kill_all()
		if self.logf is not None:
			try:
				self.logf.close()
			except Exception:
				pass
			self.logf = None

	def psql(self, sql, db=ROLE, timeout=30):
		"""Runs sql as the superuser in db; returns psql's unaligned
		output (rows of tab-separated fields), or raises."""
		return _psql(self.bin, self.dir, self.port, db, sql, timeout)

	def rows(self, sql, db=ROLE):
		"""sql's result as a list of tuples of strings."""
		out = self.psql(sql, db)
		return [tuple(l.split('\t')) for l in out.splitlines() if l]

	def value(self, sql, db=ROLE):
		"""The first field of the first row (None without rows)."""
		r = self.rows(sql, db)
		return r[0][0] if r and r[0] else None

	def create_db(self, db):
		"""A new empty database owned by the role xfed (no-op if this
		server made it already)."""
		if db not in self.databases:
			if not re.match(r'^[a-z_][a-z0-9_]*$', db):
				raise ValueError('bad database name %r' % db)
			self.psql('CREATE DATABASE %s OWNER %s' % (db, ROLE),
			    db='postgres')
			self.databases.add(db)
		return db

	def log_tail(self, n=40):
		return _tail(self.log, n).splitlines()

	def diag_log(self, n=30):
		xfedtest.diag('--- postgres: last lines of %s' % self.log)
		for line in self.log_tail(n):
			xfedtest.diag(line)


class TableLock:
	"""A psql session holding an exclusive lock on one table of node's
	database, until release() (or the test's end)."""

	def __init__(self, node, table):
		p = node.pg
		self.proc = subprocess.Popen([os.path.join(p.bin, 'psql'),
		    '-X', '-q', '-h', p.dir, '-p', str(p.port), '-U',
		    SUPERUSER, '-d', node.pg_db],
		    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
		    stderr=subprocess.DEVNULL, text=True)
		xfedtest.at_cleanup(self.release)
		self.proc.stdin.write('BEGIN;\nLOCK TABLE %s IN ACCESS '
		    'EXCLUSIVE MODE;\n' % table)
		self.proc.stdin.flush()
		self.held = xfedtest.wait_for(lambda: int(p.value("SELECT count(*) "
		    "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
		    "WHERE c.relname = '%s' AND l.mode = 'AccessExclusiveLock' "
		    "AND l.granted" % table, db=node.pg_db)) > 0, 10)

	def release(self):
		if self.proc.poll() is None:
			try:
				self.proc.stdin.write('COMMIT;\n')
				self.proc.stdin.close()
			except OSError:
				pass
			try:
				self.proc.wait(timeout=10)
			except subprocess.TimeoutExpired:
				self.proc.kill()
