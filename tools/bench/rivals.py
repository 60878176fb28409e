# rivals.py: Debian's Prosody and ejabberd, configured in temp dirs for a fair side-by-side with xfed (see /work/shared/BENCH-NOTES.md).
#
# Both run as their own system user through setpriv (su and runuser reset
# the open-files limit to 1,024 through PAM), pinned to the server core,
# plain TCP on 127.0.0.1 plus a direct-TLS port, SCRAM-SHA-1 credentials
# at 4,096 iterations, no rate limits or shapers, large backlogs.

import grp
import hashlib
import hmac
import os
import pwd
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
from driver import log  # noqa: E402

ITERATIONS = 4096


def ensure_packages():
	"""apt-get install what is missing; the packages' own services are
	kept from starting (policy-rc.d) and stopped if they did start."""
	missing = [p for p, exe in (('prosody', '/usr/bin/prosody'),
	    ('ejabberd', '/usr/sbin/ejabberdctl')) if not os.path.exists(exe)]
	if not missing:
		return
	if os.geteuid() != 0:
		raise SystemExit('bench-compare: %s missing and not root' %
		    ' '.join(missing))
	log('installing %s' % ' '.join(missing))
	prc = '/usr/sbin/policy-rc.d'
	had = os.path.exists(prc)
	if not had:
		with open(prc, 'w') as f:
			f.write('#!/bin/sh\nexit 101\n')
		os.chmod(prc, 0o755)
	try:
		env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
		subprocess.run(['apt-get', 'update', '-qq'], env=env)
		subprocess.run(['apt-get', 'install', '-y', '-qq'] + missing,
		    env=env, check=True)
	finally:
		if not had:
			os.unlink(prc)
	# A package whose service started anyway (no policy-rc.d honoured).
	for svc in missing:
		subprocess.run(['service', svc, 'stop'],
		    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def setpriv(user):
	pw = pwd.getpwnam(user)
	return ['setpriv', '--reuid=%d' % pw.pw_uid, '--regid=%d' % pw.pw_gid,
	    '--init-groups']


def chown_tree(path, user):
	pw = pwd.getpwnam(user)
	for root, dirs, files in os.walk(path):
		os.chown(root, pw.pw_uid, pw.pw_gid)
		for f in files:
			os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def make_cert(d):
	subprocess.run(['sh', os.path.join(driver.REPO, 'tools', 'mkcert.sh'),
	    os.path.join(d, 'tls'), driver.DOMAIN], check=True,
	    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	return (os.path.join(d, 'tls', driver.DOMAIN + '.crt'),
	    os.path.join(d, 'tls', driver.DOMAIN + '.key'))


# ------------------------------------------------------------ Prosody

def _prosody_account(args):
	"""The .dat file prosodyctl register writes (internal_hashed)."""
	path, password = args
	salt = str(uuid.uuid4())
	salted = hashlib.pbkdf2_hmac('sha1', password.encode(), salt.encode(),
	    ITERATIONS)
	ckey = hmac.new(salted, b'Client Key', hashlib.sha1).digest()
	stored = hashlib.sha1(ckey).hexdigest()
	server = hmac.new(salted, b'Server Key', hashlib.sha1).hexdigest()
	with open(path, 'w') as f:
		f.write('return {\n\t["iteration_count"] = %d;\n'
		    '\t["salt"] = "%s";\n\t["server_key"] = "%s";\n'
		    '\t["stored_key"] = "%s";\n};\n' % (ITERATIONS, salt,
		    server, stored))


class Prosody(driver.Server):
	name = 'prosody'

	def __init__(self):
		driver.Server.__init__(self)
		self.dir = driver.mkdtemp('prosody')
		self.tls_port = driver.free_port()
		self.cert, self.key = make_cert(self.dir)
		self.data = os.path.join(self.dir, 'data')
		os.makedirs(os.path.join(self.data, driver.DOMAIN, 'accounts'))
		self.users = 0

	def write_conf(self):
		with open(os.path.join(self.dir, 'prosody.cfg.lua'), 'w') as f:
			f.write('''-- written by tools/bench/rivals.py
daemonize = false
pidfile = "%(d)s/prosody.pid"
data_path = "%(data)s"
log = { warn = "%(d)s/prosody.log" }
network_backend = "epoll"
-- At its best: no Nagle, writes at once instead of on the next
-- writable event, reads big enough not to wait min_wait for the rest.
network_settings = { tcp_backlog = 1024; nagle = false;
	opportunistic_writes = true; read_size = 65536 }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping" }
modules_disabled = { "s2s"; "limits" }
limits = {}
interfaces = { "127.0.0.1" }
c2s_ports = { %(port)d }
c2s_direct_tls_ports = { %(tls)d }
s2s_ports = {}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
certificates = "%(d)s/tls"
ssl = { certificate = "%(cert)s"; key = "%(key)s" }
VirtualHost "%(dom)s"
''' % {'d': self.dir, 'data': self.data, 'port': self.port,
			    'tls': self.tls_port, 'cert': self.cert, 'key': self.key,
			    'dom': driver.DOMAIN})

	def start(self):
		self.write_conf()
		chown_tree(self.dir, 'prosody')
		self.log = open(os.path.join(self.dir, 'stdout.log'), 'ab')
		self.proc = driver.spawn(['taskset', '-c', self.cpu] +
		    setpriv('prosody') + ['prosody', '--config',
		    os.path.join(self.dir, 'prosody.cfg.lua'), '-F'],
		    stdout=self.log, stderr=self.log, cwd=self.dir,
		    env=dict(os.environ, HOME=self.dir))
		if not driver.wait_for(lambda: driver.port_open(self.port), 30):
			raise RuntimeError('prosody did not start: %s' %
			    self.log_tail())

	def log_tail(self):
		out = ''
		for n in ('stdout.log', 'prosody.log'):
			try:
				with open(os.path.join(self.dir, n)) as f:
					out += f.read()[-1500:]
			except OSError:
				pass
		return out

	def add_users(self, n):
		if n <= self.users:
			return
		t0 = time.monotonic()
		acc = os.path.join(self.data, driver.DOMAIN, 'accounts')
		jobs = [(os.path.join(acc, 'user%d.dat' % i),
		    driver.PASS_PAT % i) for i in range(self.users, n)]
		import multiprocessing
		with multiprocessing.Pool(os.cpu_count() or 2) as pool:
			pool.map(_prosody_account, jobs, chunksize=256)
		chown_tree(self.data, 'prosody')
		self.users = n
		log('prosody: %d accounts in %.1f s (files)' % (n,
		    time.monotonic() - t0))

	def stop(self):
		driver.Server.stop(self)
		try:
			self.log.close()
		except Exception:
			pass


# ------------------------------------------------------------ ejabberd

class Ejabberd(driver.Server):
	name = 'ejabberd'

	def __init__(self):
		driver.Server.__init__(self)
		self.dir = driver.mkdtemp('ejabberd')
		self.tls_port = driver.free_port()
		self.dist_port = driver.free_port()
		self.cert, self.key = make_cert(self.dir)
		for d in ('spool', 'logs'):
			os.makedirs(os.path.join(self.dir, d))
		self.users = 0

	def write_conf(self):
		v = {'d': self.dir, 'port': self.port, 'tls': self.tls_port,
		    'cert': self.cert, 'key': self.key, 'dom': driver.DOMAIN}
		with open(os.path.join(self.dir, 'ejabberd.yml'), 'w') as f:
			f.write('''# written by tools/bench/rivals.py
hosts:
  - "%(dom)s"
loglevel: warning
log_rotate_count: 0
certfiles:
  - "%(cert)s"
  - "%(key)s"
listen:
  -
    port: %(port)d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: c2s
    starttls: true
    backlog: 1024
  -
    port: %(tls)d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: c2s
    tls: true
    backlog: 1024
s2s_access: none
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha
registration_timeout: infinity
max_fsm_queue: 1000000
acl:
  local:
    user_regexp: ""
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
shaper_rules:
  c2s_shaper: none
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_register:
    ip_access: all
    access: register
    password_strength: 0
''' % v)
		with open(os.path.join(self.dir, 'ejabberdctl.cfg'), 'w') as f:
			f.write('''# written by tools/bench/rivals.py
ERLANG_NODE=xfedbench%(dist)d@localhost
ERL_MAX_PORTS=262144
ERL_PROCESSES=2000000
ERL_MAX_ETS_TABLES=8192
ERL_DIST_PORT=%(dist)d
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_PID_PATH=%(d)s/ejabberd.pid
''' % {'dist': self.dist_port, 'd': self.dir})
		# ejabberdctl sources inetrc from the config dir.
		with open(os.path.join(self.dir, 'inetrc'), 'w') as f:
			f.write('{lookup,["file","native"]}.\n'
			    '{host,{127,0,0,1}, ["localhost"]}.\n'
			    '{file, resolv, "/etc/resolv.conf"}.\n')

	def ctl(self):
		return ['ejabberdctl', '--config-dir', self.dir, '--config',
		    os.path.join(self.dir, 'ejabberd.yml'), '--ctl-config',
		    os.path.join(self.dir, 'ejabberdctl.cfg'), '--spool',
		    os.path.join(self.dir, 'spool'), '--logs',
		    os.path.join(self.dir, 'logs')]

	def start(self):
		self.write_conf()
		chown_tree(self.dir, 'ejabberd')
		self.log = open(os.path.join(self.dir, 'stdout.log'), 'ab')
		env = dict(os.environ, HOME=self.dir,
		    ERL_DIST_PORT=str(self.dist_port))
		self.proc = driver.spawn(['taskset', '-c', self.cpu] +
		    setpriv('ejabberd') + self.ctl() + ['foreground'],
		    stdout=self.log, stderr=self.log, cwd=self.dir, env=env)
		if not driver.wait_for(lambda: driver.port_open(self.port) or
		    self.proc.poll() is not None, 90):
			raise RuntimeError('ejabberd did not start')
		if self.proc.poll() is not None:
			raise RuntimeError('ejabberd exited: %s' %
			    self.log_tail())

	def log_tail(self):
		out = ''
		for n in ('stdout.log', 'logs/ejabberd.log', 'logs/error.log'):
			try:
				with open(os.path.join(self.dir, n)) as f:
					out += f.read()[-1500:]
			except OSError:
				pass
		return out

	def add_users(self, n):
		"""In-band registration (XEP-0077) with xfed-bench, then a
		restart so that the measurements start from a fresh node."""
		if n <= self.users:
			return
		t0 = time.monotonic()
		cnt = n - self.users
		r = driver.run(self, 'register', cnt, duration=0, warmup=0,
		    concurrency=50, extra=('-f', str(self.users)),
		    timeout=120 + cnt / 50.0)
		if not r.get('ok') or r['registered'] + r['reg_conflict'] < cnt:
			raise RuntimeError('ejabberd registration: %s' %
			    driver.describe(r))
		self.users = n
		log('ejabberd: %d accounts in %.1f s (in-band registration)' %
		    (n, time.monotonic() - t0))
		self.restart_same()

	def restart_same(self):
		driver.Server.stop(self)
		self.start()

	def restart(self):
		# Same ports: the node name and mnesia spool go with them.
		driver.Server.stop(self)
		self.start()

	def stop(self):
		driver.Server.stop(self)
		try:
			self.log.close()
		except Exception:
			pass


__all__ = ['Prosody', 'Ejabberd', 'ensure_packages', 'shutil', 'grp']
