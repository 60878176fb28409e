#!/usr/bin/python3
# idle.t: streams idle for two sweeps give back their parser (worker.c
# idle_sweep) and must carry on exactly as before: messages both ways,
# an IQ with a namespaced child, and a clean close.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(6)
	node = Node(workers=1)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	ok(exchange(alice, bob, 'before') is not None, 'chat before idling')
	pump(11)	# two idle sweeps (5 s each): both parsers parked
	ok(re.search(r'idle sweep: 2 streams gave back their parser',
	    node.log_text()), 'both idle streams were parked')
	ok(exchange(alice, bob, 'after & <escaped>') is not None,
	    'alice -> bob after idling')
	ok(exchange(bob, alice, 'back') is not None, 'bob -> alice after idling')
	r = alice.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	is_(r['type'] if r is not None else None, 'result',
	    'an IQ after idling is answered')
	alice.disconnect()
	ok(wait_for(lambda: node.session(alice.full_jid) is None, 5),
	    'a clean close after idling ends the session')

main(test)
