#!/usr/bin/python3
# pushback.t: a full ring between workers pushes back on the sender instead
# of dropping: with tiny rings, a burst across workers arrives whole and in
# order, and the node keeps serving.
import os
import re
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

N = 3000


def test():
	plan(5)
	os.environ['XFED_RING_BYTES'] = '4096'
	node = Node(workers=2)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob, wb = on_different_workers(node, 'bob@localhost', 'bob-pw',
	    alice.full_jid)
	ok(bob is not None, 'alice and bob on different workers')
	# bob's worker stops reading its ring, so the ring surely fills: ~300
	# bytes a message, a 4 KiB ring holds about a dozen.
	node.kill_worker(wb, signal.SIGSTOP)
	pad = 'x' * 200
	for i in range(N):
		alice.send_message(bob.full_jid, '%05d %s' % (i, pad))
	paused = wait_for(lambda: re.search(r'ring of slot \d+ full, '
	    'not reading', node.log_text()), 10)
	node.kill_worker(wb, signal.SIGCONT)
	got = []
	for i in range(N):
		m = bob.wait_message(10)
		if m is None:
			break
		got.append(int(m['body'].split()[0]))
	is_(len(got), N, 'all %d messages arrived' % N)
	ok(got == sorted(got) and len(set(got)) == len(got),
	    'in order, none twice')
	ok(paused, 'the sender was paused while the ring was full (push-back)')
	m = exchange(bob, alice, 'still there?')
	ok(m is not None, 'the node still routes the other way')

main(test)
