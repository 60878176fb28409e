#!/usr/bin/python3
# xmllimits.t: the per-element limits of c2s ('max-attributes',
# 'max-children') at their defaults: an element at the limit goes
# through, one past it ends only that stream with policy-violation and a
# <text/> saying which limit; other sessions and the workers go on.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

ATTRS = 100		# the documented defaults
CHILDREN = 10000


def attrs(n):
	return ''.join(" a%d='%d'" % (i, i) for i in range(n))


def children(n):
	return "<x xmlns='urn:xfed:test'>" + '<i/>' * n + '</x>'


def stream_error(raw):
	"""(condition, text) of the stream error raw reads, or (None, None)."""
	deadline = time.monotonic() + 5
	while time.monotonic() < deadline:
		el = raw.read_element(max(0.1, deadline - time.monotonic()))
		if el is None:
			break
		if el.tag == '{%s}error' % NS_STREAM:
			t = el.find('{%s}text' % NS_STREAMS)
			return (stream_error_condition(el),
			    t.text if t is not None else None)
	return (None, None)


def test():
	plan(15)
	node = Node(workers=2, max_stanza=262144)
	for u in ('bob', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	pids = sorted(w['pid'] for w in node.workers_list())
	bob = RawClient(node.port)
	bob_jid = bob.login('bob@localhost', 'bob-pw', resource='desk')

	def got(mid, timeout=5):
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			el = bob.read_element(max(0.1, deadline -
			    time.monotonic()))
			if el is None or el.get('id') == mid:
				return el
		return None

	# At the limits: delivered, with everything in them.
	dave = RawClient(node.port)
	dave.login('dave@localhost', 'dave-pw', resource='r1')
	dave.send("<message to='%s' id='a%d'%s/>" % (bob_jid, ATTRS - 2,
	    attrs(ATTRS - 2)))
	el = got('a%d' % (ATTRS - 2))
	ok(el is not None and el.get('a%d' % (ATTRS - 3)) is not None,
	    'a message of %d attributes is delivered' % ATTRS)
	dave.send("<message to='%s' id='c'>%s</message>" % (bob_jid,
	    children(CHILDREN)))
	el = got('c')
	x = el.find('{urn:xfed:test}x') if el is not None else None
	is_(len(x) if x is not None else None, CHILDREN,
	    'an element of %d children is delivered whole' % CHILDREN)

	# One past: the sender's stream ends, nothing is delivered.
	dave.send("<message to='%s' id='a%d'%s/>" % (bob_jid, ATTRS - 1,
	    attrs(ATTRS - 1)))
	cond, text = stream_error(dave)
	is_(cond, 'policy-violation', '%d attributes: policy-violation' %
	    (ATTRS + 1))
	is_(text, 'element with more than %d attributes' % ATTRS,
	    '... with a <text/> naming the limit')
	ok(dave.wait_closed(5), '... and the connection is closed')
	dave.close()

	dave = RawClient(node.port)
	dave.login('dave@localhost', 'dave-pw', resource='r2')
	dave.send("<message to='%s' id='d'><body>deep</body><a><b>%s</b></a>"
	    "</message>" % (bob_jid, children(CHILDREN + 1)))
	cond, text = stream_error(dave)
	is_(cond, 'policy-violation', '%d children at depth 4: '
	    'policy-violation' % (CHILDREN + 1))
	is_(text, 'element with more than %d children' % CHILDREN,
	    '... with a <text/> naming the limit')
	ok(dave.wait_closed(5), '... and the connection is closed')
	dave.close()
	late = []
	while True:
		el = bob.read_element(1)
		if el is None:
			break
		late.append(el.get('id'))
	is_(late, [], 'neither was delivered')

	# Before authentication, in the stream header itself.
	raw = RawClient(node.tls_port, tls=True)
	raw.send("<?xml version='1.0'?><stream:stream to='localhost' "
	    "xmlns='jabber:client' xmlns:stream='%s' version='1.0'%s>" %
	    (NS_STREAM, attrs(ATTRS)))
	cond, text = stream_error(raw)
	is_(cond, 'policy-violation', 'a stream header of %d attributes: '
	    'policy-violation' % (ATTRS + 2))
	ok(raw.wait_closed(5), '... and the connection is closed')
	raw.close()
	raw = RawClient(node.tls_port, tls=True)
	raw.open()
	raw.send("<iq type='get' id='q'><query xmlns='jabber:iq:version'>%s"
	    "</query></iq>" % ('<i/>' * (CHILDREN + 1)))
	is_(stream_error(raw)[0], 'policy-violation',
	    'unauthenticated: %d children: policy-violation' % (CHILDREN + 1))
	raw.close()

	# The rest of the node is untouched.
	carol = RawClient(node.port)
	node.add_user('carol@localhost', 'carol-pw')
	carol.login('carol@localhost', 'carol-pw', resource='c')
	carol.send("<message to='%s' id='after'><body>still here</body>"
	    "</message>" % bob_jid)
	el = got('after')
	ok(el is not None, 'bob still gets messages')
	bob.send("<iq type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>")
	el = bob.read_element(5)
	is_(el.get('type') if el is not None else None, 'result',
	    'bob\'s stream still answers')
	is_(sorted(w['pid'] for w in node.workers_list()), pids,
	    'no worker died on the way')


main(test)
