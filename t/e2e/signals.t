#!/usr/bin/python3
# signals.t: SIGHUP and `xfedctl reload` keep the node serving; SIGTERM closes
# every stream with system-shutdown and the master exits 0 and cleans up.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def running(node):
	return [w for w in node.workers_list() if w.get('state') == 'running'
	    and w.get('pid')]


def test():
	plan(25)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	with open(node.pid_file) as f:
		is_(f.read().strip(), str(node.pid),
		    'the pid file holds the master pid')

	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob = login(node, 'bob@localhost/b', 'bob-pw')

	for how in ('SIGHUP', 'xfedctl reload'):
		old = sorted(w['pid'] for w in running(node))
		if how == 'SIGHUP':
			node.signal(signal.SIGHUP)
		else:
			r = node.ctl('reload')
			is_(r.rc, 0, 'xfedctl reload exits 0 (%r)' % (r,))
		time.sleep(0.3)
		ws = wait_for(lambda: len(running(node)) == node.workers and
		    running(node), 5)
		ok(ws, '%s: status shows %d running workers' % (how,
		    node.workers))
		diag('%s: running workers %r -> %r' % (how, old,
		    sorted(w['pid'] for w in ws or [])))
		is_(node.status().get('pid'), node.pid,
		    '%s: same master pid' % how)
		ok(exchange(alice, bob) is not None,
		    '%s: alice -> bob on the old connections' % how)
		ok(exchange(bob, alice) is not None,
		    '%s: bob -> alice on the old connections' % how)
		c = Client(node, 'carol@localhost', 'carol-pw')
		is_(c.login(), 'session', '%s: a new login works' % how)
		ok(c.connected and exchange(c, alice) is not None and
		    exchange(alice, c) is not None,
		    '%s: the new client chats with an old one' % how)
		c.disconnect()

	raw = RawClient(node.port)
	raw.login('dave@localhost', 'dave-pw', resource='raw')
	ok(os.path.exists(node.sock), 'control socket exists')
	workers = [w['pid'] for w in node.workers_list()]

	t0 = time.monotonic()
	node.signal(signal.SIGTERM)
	is_(raw.read_stream_error(10), 'system-shutdown',
	    'SIGTERM: a raw client gets stream error system-shutdown')
	ok(raw.wait_closed(10), 'its connection is closed')
	ok(raw.stream_ended, 'after </stream:stream>')
	ok(alice.wait_disconnected(10), 'the slixmpp client is disconnected')
	ok('system-shutdown' in alice.stream_errors,
	    'with system-shutdown (got %r)' % (alice.stream_errors,))
	try:
		rc = node.proc.wait(timeout=10)
	except subprocess.TimeoutExpired:
		rc = None
	took = time.monotonic() - t0
	is_(rc, 0, 'the master exits with status 0')
	ok(rc is not None and took < 5, 'within 5 s (%.2f s)' % took)
	ok(not os.path.exists(node.sock), 'control socket removed')
	ok(not os.path.exists(node.pid_file), 'pid file removed')
	ok(wait_for(lambda: not any(pid_alive(p) for p in workers), 3),
	    'all workers are gone')


main(test)
