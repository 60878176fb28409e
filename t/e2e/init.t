#!/usr/bin/python3
# init.t: conf/xfed.init drives a daemonized node through start, status,
# reload and stop, with LSB exit codes.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

INIT = os.path.join(REPO, 'conf', 'xfed.init')


def test():
	if not os.path.exists(INIT):
		skip_all('conf/xfed.init is not written yet')
	plan(24)
	node = Node(start=False)
	env = dict(os.environ, XFED=XFED, XFEDCTL=XFEDCTL, XFED_CONF=node.conf,
	    XFED_PIDFILE=node.pid_file)

	def init(cmd, conf=None):
		e = dict(env, XFED_CONF=conf) if conf else env
		argv = ['sh', INIT] + ([cmd] if cmd else [])
		try:
			p = subprocess.run(argv, env=e, capture_output=True,
			    text=True, timeout=40, stdin=subprocess.DEVNULL,
			    cwd=node.dir)
		except subprocess.TimeoutExpired:
			return (None, '', 'timeout')
		return (p.returncode, p.stdout, p.stderr)

	def master_pid():
		try:
			with open(node.pid_file) as f:
				return int(f.read().split()[0])
		except (OSError, ValueError, IndexError):
			return None

	# The daemon is not our child: kill it by its pid file and by the
	# worker pids seen, whatever happens.
	seen = set()

	def kill_daemon():
		for pid in [master_pid()] + sorted(seen):
			if pid:
				try:
					os.kill(pid, signal.SIGKILL)
				except OSError:
					pass
	at_cleanup(kill_daemon)

	rc, out, err = init('status')
	is_(rc, 3, 'status before start: exit 3')

	bad = os.path.join(node.dir, 'bad.conf')
	with open(bad, 'w') as f:
		f.write(node.conf_text() + "'no-such-option' = 1\n")
	rc, out, err = init('start', conf=bad)
	is_(rc, 1, 'start with a bad configuration: exit 1')
	ok('bad.conf:' in out + err, 'and the error names the file (%r)' %
	    (err,))
	ok(master_pid() is None and not port_open(node.port),
	    'nothing was started')

	rc, out, err = init('start')
	is_(rc, 0, 'start: exit 0 (%r %r)' % (out, err))
	pid = master_pid()
	if pid:
		seen.add(pid)
	ok(pid and pid_alive(pid), 'the pid file names a live master (%r)' %
	    (pid,))
	ready = wait_for(node.ready, 10, interval=0.1)
	ok(ready, 'the node is ready')
	for w in (node.status().get('workers', []) if ready else []):
		seen.add(w['pid'])
	is_(node.status().get('pid') if ready else None, pid,
	    'xfedctl status reports the same master pid')

	rc, out, err = init('status')
	is_(rc, 0, 'status while running: exit 0')
	ok(str(pid) in out, 'status names the pid (%r)' % (out,))
	rc, out, err = init('start')
	ok(rc == 0 and master_pid() == pid,
	    'start when running: exit 0, same master (%r)' % (out,))

	node.add_user('alice@localhost', 'alice-pw')
	c = Client(node, 'alice@localhost/a', 'alice-pw')
	is_(c.login(), 'session', 'a client logs in while started')

	rc, out, err = init('reload')
	is_(rc, 0, 'reload: exit 0 (%r %r)' % (out, err))
	time.sleep(0.3)
	ok(wait_for(lambda: len([w for w in node.status().get('workers', [])
	    if w.get('state') == 'running']) == node.workers, 5),
	    'after reload: the workers are running')
	for w in node.status().get('workers', []):
		seen.add(w['pid'])
	r = c.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	ok(r is not None and r['type'] == 'result',
	    'the client is still served after reload')
	c2 = Client(node, 'alice@localhost/b', 'alice-pw')
	is_(c2.login(), 'session', 'a new client logs in after reload')
	is_(master_pid(), pid, 'same master after reload')

	rc, out, err = init('stop')
	is_(rc, 0, 'stop: exit 0 (%r %r)' % (out, err))
	ok(not pid_alive(pid), 'the master is gone')
	ok(wait_for(lambda: not any(pid_alive(p) for p in seen), 5),
	    'every worker is gone')
	ok(not os.path.exists(node.pid_file), 'the pid file is removed')
	ok(c.wait_disconnected(5), 'the client was disconnected')
	rc, out, err = init('status')
	is_(rc, 3, 'status after stop: exit 3')
	rc, out, err = init(None)
	is_(rc, 2, 'no command: exit 2 (usage)')


main(test)
