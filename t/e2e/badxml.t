#!/usr/bin/python3
# badxml.t: malformed XML, DTDs and oversized stanzas close only the stream
# that sent them, with the right stream error; everyone else goes on.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

MAX = 16384
DTD = "<!DOCTYPE stream:stream [<!ENTITY boom 'xxxxxxxx'>]>"


def test():
	plan(19)
	node = Node(workers=2, max_stanza=MAX)
	for u in ('bob', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	pids = sorted(w['pid'] for w in node.workers_list())
	bob = login(node, 'bob@localhost/desk', 'bob-pw')
	carol = login(node, 'carol@localhost/desk', 'carol-pw')

	def check(raw, want, what):
		got = raw.read_stream_error()
		is_(got, want, '%s: stream error %s' % (what, want))
		ok(raw.wait_closed(5), '%s: connection closed' % what)
		raw.close()

	# Before authentication, on the direct TLS port.
	raw = RawClient(node.tls_port, tls=True)
	raw.open()
	raw.send("<message to='bob@localhost'><body>x</bod></message>")
	check(raw, 'not-well-formed', 'unauthenticated, bad end tag')

	raw = RawClient(node.tls_port, tls=True)
	raw.open()
	raw.send("<iq type='get' id='1'><query xmlns='a' x='1' x='2'/></iq>")
	check(raw, 'not-well-formed', 'unauthenticated, duplicate attribute')

	raw = RawClient(node.tls_port, tls=True)
	raw.open(prolog=DTD)
	check(raw, 'restricted-xml', 'unauthenticated, DOCTYPE with ENTITY')

	raw = RawClient(node.tls_port, tls=True)
	raw.open()
	raw.send("<iq type='get' id='big'><query xmlns='jabber:iq:version'>" +
	    'x' * (MAX + 1024) + "</query></iq>")
	check(raw, 'policy-violation', 'unauthenticated, oversized stanza')

	# After authentication (STARTTLS port).
	raw = RawClient(node.port)
	raw.authenticate('dave@localhost', 'dave-pw')
	raw.open(prolog=DTD)
	check(raw, 'restricted-xml', 'DOCTYPE on the restarted stream')

	raw = RawClient(node.port)
	raw.login('dave@localhost', 'dave-pw', resource='r1')
	raw.send("<message to='bob@localhost/desk'><body>a</body></mess>")
	check(raw, 'not-well-formed', 'bound session, bad end tag')

	raw = RawClient(node.port)
	raw.login('dave@localhost', 'dave-pw', resource='r2')
	raw.send("<message to='bob@localhost/desk'><body>" + 'y' * (MAX + 1024)
	    + "</body></message>")
	check(raw, 'policy-violation', 'bound session, oversized stanza')
	pump(0.3)
	big = [m for m in bob.drain_messages() if len(m['body']) > MAX]
	is_(len(big), 0, 'the oversized message was not delivered')

	# Just under the limit is fine.
	body = 'z' * (MAX // 2)
	ok(exchange(carol, bob, body, timeout=5) is not None,
	    'a %d-byte message still passes' % len(body))

	ok(exchange(bob, carol) is not None, 'bob -> carol still works')
	ok(exchange(carol, bob) is not None, 'carol -> bob still works')
	is_(sorted(w['pid'] for w in node.workers_list()), pids,
	    'no worker died on the way')


main(test)
