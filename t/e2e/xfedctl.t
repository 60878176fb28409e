#!/usr/bin/python3
# xfedctl.t: accounts, kick, status and the errors of xfedctl, against a
# running node.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def one_line_error(r, rc, what):
	"""exit rc and exactly one non-empty line on stderr."""
	lines = r.err.splitlines()
	return ok(r.rc == rc and len(lines) == 1 and lines[0].strip(),
	    '%s: exit %d, one line on stderr (%r)' % (what, rc, r))


def can_login(node, jid, password):
	c = Client(node, jid, password, mech='SCRAM-SHA-256')
	r = c.login()
	c.disconnect()
	return r


def listed(node, jid):
	r = node.ctl('user', 'list', json=False)
	return r.rc == 0 and jid in r.out.split()


def test():
	plan(30)
	node = Node(workers=2)

	r = node.ctl('user', 'add', 'erin@localhost', input='first-pw\n')
	is_(r.rc, 0, 'user add exits 0 (%r)' % (r,))
	ok(listed(node, 'erin@localhost'), 'user list shows erin@localhost')
	r = node.ctl('user', 'list')
	ok(r.rc == 0 and r.data is not None and
	    'erin@localhost' in jsonlib.dumps(r.data),
	    'user list --json is JSON and has erin (%r)' % (r,))
	is_(can_login(node, 'erin@localhost', 'first-pw'), 'session',
	    'erin logs in with the password given')

	r = node.ctl('user', 'passwd', 'erin@localhost', input='second-pw\n')
	is_(r.rc, 0, 'user passwd exits 0 (%r)' % (r,))
	is_(can_login(node, 'erin@localhost', 'second-pw'), 'session',
	    'erin logs in with the new password')
	is_(can_login(node, 'erin@localhost', 'first-pw'), 'failed_auth',
	    'the old password is refused')

	r = node.ctl('user', 'add', 'erin@localhost', input='third-pw\n')
	one_line_error(r, 1, 'adding an existing user')
	is_(can_login(node, 'erin@localhost', 'second-pw'), 'session',
	    'and it left the password alone')

	r = node.ctl('user', 'add', 'bad@@jid@localhost', input='pw\n')
	one_line_error(r, 1, 'bad JID')
	r = node.ctl('user', 'add', '@localhost', input='pw\n')
	one_line_error(r, 1, 'JID without a localpart')
	r = node.ctl('user', 'add', 'frank@example.org', input='pw\n')
	one_line_error(r, 1, 'domain not served')
	ok(not listed(node, 'frank@example.org'), 'frank was not added')
	r = node.ctl('user', 'passwd', 'nobody@localhost', input='pw\n')
	one_line_error(r, 1, 'passwd for an unknown user')

	r = node.ctl('user', 'del', 'erin@localhost')
	is_(r.rc, 0, 'user del exits 0 (%r)' % (r,))
	ok(not listed(node, 'erin@localhost'), 'erin is no longer listed')
	is_(can_login(node, 'erin@localhost', 'second-pw'), 'failed_auth',
	    'erin cannot log in any more')

	# kick
	node.add_user('gina@localhost', 'gina-pw')
	node.add_user('hank@localhost', 'hank-pw')
	gina = login(node, 'gina@localhost/one', 'gina-pw')
	gina2 = login(node, 'gina@localhost/two', 'gina-pw')
	hank = login(node, 'hank@localhost/x', 'hank-pw')
	r = node.ctl('sessions')
	jids = sorted(s['jid'] for s in (r.data or {}).get('sessions', []))
	is_(jids, ['gina@localhost/one', 'gina@localhost/two',
	    'hank@localhost/x'], 'sessions --json lists the three sessions')
	s = node.session('gina@localhost/one') or {}
	ok(s.get('ip') == '127.0.0.1' and isinstance(s.get('worker'), int) and
	    isinstance(s.get('since'), int), 'a session has ip, worker, since '
	    '(%r)' % (s,))

	r = node.ctl('kick', 'gina@localhost')
	is_(r.rc, 0, 'kick of a bare JID exits 0 (%r)' % (r,))
	ok(gina.wait_disconnected(5) and gina2.wait_disconnected(5),
	    'both of gina\'s sessions are closed')
	ok(gina.stream_errors and gina2.stream_errors,
	    'with a stream error (%r %r)' % (gina.stream_errors,
	    gina2.stream_errors))
	ok(wait_for(lambda: [s['jid'] for s in node.sessions()] ==
	    ['hank@localhost/x'], 3), 'only hank is left in sessions')
	r = hank.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	ok(r is not None and r['type'] == 'result', 'hank was not touched')

	# status, human form
	r = node.ctl('status', json=False)
	pids = [str(w['pid']) for w in node.workers_list()]
	ok(r.rc == 0 and all(p in r.out for p in pids) and 'running' in r.out,
	    'status shows the worker table with pids %s' % pids)
	diag(r.out)

	# errors of xfedctl itself
	r = run_ctl(os.path.join(node.dir, 'nothing-here.sock'), 'status')
	one_line_error(r, 1, 'no server on the socket')
	r = run_ctl(os.path.join(node.dir, 'nothing-here.sock'), 'user',
	    'list', json=False)
	one_line_error(r, 1, 'no server on the socket (user list)')
	# A socket file that nobody listens on (left by a crash).
	stale = os.path.join(node.dir, 'stale.sock')
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.bind(stale)
	s.close()
	r = run_ctl(stale, 'status')
	one_line_error(r, 1, 'a stale socket file')
	r = node.ctl('frobnicate', json=False)
	is_(r.rc, 2, 'unknown command exits 2 (%r)' % (r,))
	r = node.ctl('kick', 'nobody@localhost')
	ok(r.rc in (0, 1) and node.alive() and node.ctl('status').rc == 0,
	    'kick of someone not online: exit 0 or 1, node still answers '
	    '(%r)' % (r,))


main(test)
