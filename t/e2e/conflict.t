#!/usr/bin/python3
# conflict.t: a second login to the same full JID replaces the first, which
# gets the stream error <conflict/>.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(9)
	node = Node(workers=2)
	node.add_user('alice@localhost', 'alice-pw')
	node.add_user('bob@localhost', 'bob-pw')
	bob = login(node, 'bob@localhost/desk', 'bob-pw')

	first = login(node, 'alice@localhost/res', 'alice-pw')
	is_(first.full_jid, 'alice@localhost/res', 'first alice/res bound')
	ok(exchange(bob, first) is not None, 'first alice/res receives')

	second = Client(node, 'alice@localhost/res', 'alice-pw')
	is_(second.login(), 'session', 'second login of alice/res succeeds')
	is_(second.full_jid, 'alice@localhost/res',
	    'second got the same resource')
	ok(first.wait_disconnected(5), 'the first connection is closed')
	ok('conflict' in first.stream_errors,
	    'the first got stream error conflict (got %r)' %
	    (first.stream_errors,))

	ok(exchange(bob, second) is not None, 'bob -> new alice/res arrives')
	ok(exchange(second, bob) is not None, 'new alice/res -> bob arrives')

	alices = wait_for(lambda: [s['jid'] for s in node.sessions()
	    if s['jid'].startswith('alice@')] == ['alice@localhost/res'], 3)
	ok(alices, 'sessions shows one alice/res (got %r)' %
	    ([s['jid'] for s in node.sessions()],))


main(test)
