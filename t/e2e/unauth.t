#!/usr/bin/python3
# unauth.t: caps on unauthenticated connections, per node and per source
# address, counted across workers ('max-unauth', 'max-unauth-per-ip'),
# and the time a connection has to authenticate ('auth-timeout'); two
# users chat all along and lose nothing.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def held(node, source):
	"""A connection from source that got its stream features (it holds
	a place), or None."""
	r = RawClient(node.port, source=source)
	if r.open() is not None:
		return r
	r.close()
	return None


def refused(node, source):
	"""The stream error a new connection from source gets, and whether
	the server closed it."""
	r = RawClient(node.port, source=source)
	feats = r.open()
	if feats is not None:
		r.close()
		return 'admitted', False
	cond = r.read_stream_error()
	closed = r.wait_closed()
	r.close()
	return cond, closed


def test():
	plan(17)
	# Two workers: connections spread over both, the caps are the node's.
	node = Node(workers=2, c2s_extra="'max-unauth' = 6\n"
	    "'max-unauth-per-ip' = 3\n'handshake-timeout' = 3600\n"
	    "'auth-timeout' = 3600")
	node.add_user('dave@localhost', 'dave-pw')
	chat = Chatter(node)
	chat.round()

	five = [held(node, '127.0.0.5') for _ in range(3)]
	ok(all(five), 'three unauthenticated connections from one address '
	    'are served')
	is_(refused(node, '127.0.0.5'), ('policy-violation', True),
	    'the fourth from that address: policy-violation, closed')
	chat.round()

	six = [held(node, '127.0.0.6') for _ in range(3)]
	ok(all(six), 'another address may have three too')
	is_(refused(node, '127.0.0.7'), ('resource-constraint', True),
	    'the node at its cap of 6: a third address gets '
	    'resource-constraint, closed')
	chat.round()
	good, why = chat.check()
	ok(good, 'while the node is full, authenticated users go on '
	    'chatting: %s' % why)

	five[0].close()
	r = wait_for(lambda: held(node, '127.0.0.7'), 10, interval=0.2)
	ok(r is not None, 'a place given back (connection closed) is taken '
	    'by the next connection')
	if r is not None:
		r.close()
	for c in five[1:] + six:
		c.close()
	ok(wait_for(lambda: re.search(r'unauthenticated connection from '
	    r'127\.0\.0\.[57] refused: \d+ over .max-unauth-per-ip., \d+ over '
	    r'.max-unauth.', node.log_text()), 5),
	    'refusals are logged with their counts')
	chat.round()

	# A connection that authenticates gives its place back.
	raws = []
	for i in range(4):
		r = RawClient(node.port, source='127.0.0.8')
		try:
			r.authenticate('dave', 'dave-pw')
			raws.append(r)
		except RuntimeError as e:
			diag('login %d from 127.0.0.8: %s' % (i, e))
			r.close()
	is_(len(raws), 4, 'four logins in a row from one address: '
	    'authenticated connections do not count')
	extra = [held(node, '127.0.0.8') for _ in range(3)]
	ok(all(extra), 'and three unauthenticated ones may still come')
	is_(refused(node, '127.0.0.8'), ('policy-violation', True),
	    'but not a fourth')
	for r in raws + extra:
		if r:
			r.close()

	chat.round()
	ok(*chat.check())

	# A worker that dies leaves no places behind: its connections
	# from 127.0.0.9 are forgotten with it.
	w9 = [held(node, '127.0.0.9') for _ in range(3)]
	ok(all(w9), 'three from 127.0.0.9')
	old = {w['pid'] for w in node.workers_list()}
	for s in {w['slot'] for w in node.workers_list()}:
		node.kill_worker(s)
	ok(wait_for(lambda: node.ready() and not old & {w['pid'] for w in
	    node.workers_list()}, 15), 'workers respawned')
	r = held(node, '127.0.0.9')
	ok(r is not None, 'after their workers died, 127.0.0.9 may connect '
	    'again')
	if r:
		r.close()
	for c in w9:
		c.close()

	# Time to authenticate: shorter than the handshake's.
	quick = Node(workers=1, name='quick', c2s_extra="'auth-timeout' = 3\n"
	    "'handshake-timeout' = 3600")
	chat2 = Chatter(quick)
	chat2.round()
	r = RawClient(quick.port, source='127.0.0.10')
	ok(r.open() is not None, 'a new connection gets its features')
	el = r.read_element(timeout=30)
	txt = el.find('{%s}text' % NS_STREAMS) if el is not None else None
	is_((stream_error_condition(el) if el is not None else None,
	    txt.text if txt is not None else None),
	    ('connection-timeout', 'Not authenticated in time'),
	    'one that does not authenticate gets connection-timeout '
	    'after auth-timeout, not handshake-timeout')
	r.close()
	chat2.round()
	ok(*chat2.check())


main(test)
