#!/usr/bin/python3
# chat.t: messages between users on different workers, routing to the bare
# JID by priority, and the error bounced for a user who is not online.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(17)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')

	alice = login(node, 'alice@localhost/low', 'alice-pw', priority=5)
	wa = node.worker_of(alice.full_jid)
	ok(wa is not None, 'sessions lists alice/low (worker %r)' % (wa,))
	bob, wb = on_different_workers(node, 'bob@localhost', 'bob-pw',
	    alice.full_jid)
	ok(bob is not None and wb != wa,
	    'alice and bob on different workers (%r, %r)' % (wa, wb))
	if bob is None:
		raise RuntimeError('could not get two sessions on different '
		    'workers')

	m = exchange(alice, bob, 'hello bob')
	ok(m is not None, 'alice -> bob across workers arrives')
	is_(str(m['from']) if m else None, alice.full_jid,
	    'from is alice\'s full JID')
	is_(str(m['to']) if m else None, bob.full_jid, 'to is bob\'s full JID')
	is_(m['type'] if m else None, 'chat', 'type chat kept')

	m = exchange(bob, alice, 'hello alice')
	ok(m is not None, 'bob -> alice across workers arrives')
	is_(str(m['from']) if m else None, bob.full_jid,
	    'from is bob\'s full JID')
	is_(m['body'] if m else None, 'hello alice', 'body intact')

	# A second resource with a higher priority takes messages to the
	# bare JID.
	high = login(node, 'alice@localhost/high', 'alice-pw', priority=10)
	st = wait_for(lambda: (node.session(high.full_jid) or {}).get(
	    'priority') == 10 and node.session(high.full_jid).get('available'),
	    5)
	ok(st, 'sessions shows alice/high available with priority 10')
	s_low = node.session(alice.full_jid) or {}
	is_((s_low.get('priority'), s_low.get('available')), (5, True),
	    'sessions shows alice/low available with priority 5')

	bodies = ['to-bare-%d' % i for i in range(3)]
	for b in bodies:
		bob.send_message('alice@localhost', b)
	got = []
	for b in bodies:
		m = high.wait_message(5, lambda m: m['body'].startswith(
		    'to-bare-'))
		got.append(m['body'] if m else None)
	is_(got, bodies, 'messages to the bare JID go to the priority-10 '
	    'resource, in order')
	pump(0.5)
	stray = [m['body'] for m in alice.drain_messages()]
	is_(stray, [], 'the priority-5 resource got none of them')

	# Not a user at all: the sender learns (RFC 6121 8.1).
	bob.send_message('nobody@localhost', 'anyone there?')
	m = bob.wait_message(5, lambda m: m['type'] == 'error')
	ok(m is not None and str(m['from']).split('/')[0] == 'nobody@localhost',
	    'message to an unknown user bounces to the sender')
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'the bounce is cancel/service-unavailable')

	# A user who is offline: bounced the same way, or (with offline
	# storage, XEP-0160) kept and delivered at the next login; never lost.
	bob.send_message('carol@localhost', 'for carol, later')
	m = bob.wait_message(2, lambda m: m['type'] == 'error')
	if m is not None:
		is_(stanza_error(m), ('cancel', 'service-unavailable'),
		    'message to an offline user bounces: service-unavailable')
		is_(str(m['from']).split('/')[0], 'carol@localhost',
		    'from the offline user\'s JID')
	else:
		carol = login(node, 'carol@localhost/c', 'carol-pw')
		m = carol.wait_message(5, lambda m: m['body'] ==
		    'for carol, later')
		ok(m is not None, 'message to an offline user is kept and '
		    'delivered at her next login')
		is_(str(m['from']).split('/')[0] if m else None,
		    'bob@localhost', 'from bob')

main(test)
