#!/usr/bin/python3
# bench_smoke.t: xfed-bench against a real node (and xfed-relay): every chat message is delivered exactly once; no timing assertions.
import json
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

USERS = 20


def tool(name, src, env):
	"""The load generator or relay named by env (XFED_BENCH_BIN,
	XFED_RELAY_BIN), else next to the xfed being tested, else compiled
	here from its single source file (make test need not build them)."""
	cands = []
	if os.environ.get(env):
		cands.append(os.environ[env])
		cands.append(os.path.join(os.path.dirname(os.environ[env]),
		    name))
	cands.append(os.path.join(os.path.dirname(os.path.realpath(XFED)),
	    name))
	for p in cands:
		if os.access(p, os.X_OK) and os.path.getmtime(p) >= \
		    os.path.getmtime(os.path.join(REPO, 'tools', src)):
			return p
	out = os.path.join(mkdtemp(), name)
	cmd = [os.environ.get('CC', 'cc'), '-std=gnu11', '-O1',
	    '-D_GNU_SOURCE', '-o', out, os.path.join(REPO, 'tools', src),
	    '-lssl', '-lcrypto', '-lm']
	r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
	if r.returncode != 0:
		diag(r.stderr[-2000:])
		bail('cannot build %s' % name)
	return out


def bench(bin_, port, *args, timeout=60):
	argv = [bin_, '-s', '127.0.0.1:%d' % port, '-n', str(USERS), '-j',
	    '-q'] + list(args)
	try:
		p = subprocess.run(argv, capture_output=True, text=True,
		    timeout=timeout, start_new_session=True)
	except subprocess.TimeoutExpired:
		ok(False, 'xfed-bench %s finished in %ds' % (' '.join(args),
		    timeout))
		return None
	try:
		return json.loads(p.stdout.strip().splitlines()[-1])
	except (ValueError, IndexError):
		diag('xfed-bench: rc %d, stdout %r, stderr %r' % (p.returncode,
		    p.stdout[-500:], p.stderr[-1000:]))
		return None


def exactly_once(r, what):
	if not ok(r is not None, '%s: a JSON report' % what):
		return
	is_(r['established'], USERS, '%s: %d sessions' % (what, USERS))
	is_(r['errors'], 0, '%s: no errors (%s)' % (what,
	    r.get('first_error')))
	ok(r['sent'] >= 200, '%s: a few hundred messages sent (%d)' % (what,
	    r['sent']))
	is_(r['received'], r['sent'], '%s: every message received' % what)
	is_(r['lost'], 0, '%s: none lost' % what)
	is_(r['duplicates'], 0, '%s: none twice' % what)
	is_(r['stanza_errors'], 0, '%s: none bounced' % what)


def test():
	plan(1 + 8 * 4)
	xb = tool('xfed-bench', 'xfed-bench.c', 'XFED_BENCH_BIN')
	relay = tool('xfed-relay', 'relay.c', 'XFED_RELAY_BIN')
	node = Node(workers=2, tls_required=False, log_level='warn')
	for i in range(USERS):
		node.add_user('user%d@localhost' % i, 'pass%d' % i)

	# Paired, to full JIDs, at a fixed rate: 20 users x 10/s x 2 s.
	exactly_once(bench(xb, node.port, '-x', 'chat', '-r', '10', '-d', '2',
	    '-w', '0', '--drain', '10'), 'paired chat, SCRAM-SHA-1')
	# Random partners, bare JIDs, flat out for a second.
	exactly_once(bench(xb, node.port, '-x', 'chat', '--random', '--to',
	    'bare', '-m', 'SCRAM-SHA-256', '-d', '1', '-w', '0', '--drain',
	    '10'), 'random chat to bare JIDs, SCRAM-SHA-256')
	# Over TLS with PLAIN (the direct-TLS port).
	exactly_once(bench(xb, node.tls_port, '-x', 'chat', '-t', 'direct',
	    '-m', 'PLAIN', '-r', '10', '-d', '2', '-w', '0', '--drain', '10'),
	    'paired chat over direct TLS, PLAIN')

	port = free_port()
	# The harness may hold the port for us until a server takes it;
	# the relay binds without SO_REUSEPORT.
	if 'release_port' in globals():
		release_port(port)
	p = spawn([relay, '127.0.0.1:%d' % port], stdout=subprocess.DEVNULL,
	    stderr=subprocess.DEVNULL)
	ok(wait_for(lambda: port_open(port), 10), 'xfed-relay listens')
	exactly_once(bench(xb, port, '--relay', '-x', 'chat', '-r', '10',
	    '-d', '2', '-w', '0', '--drain', '10'), 'the same through the relay')
	p.terminate()


main(test, timeout=240)
