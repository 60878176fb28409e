#!/usr/bin/python3
# flood.t: 'read-rate' slows a client that sends faster than it may (its
# bytes wait in its socket, not in the server), and 'flood-time' later
# ends its stream with policy-violation; one that keeps to the rate is
# never cut.  Two other users chat through the node all along.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(9)
	node = Node(workers=1, c2s_extra="'read-rate' = '4k'\n"
	    "\t'read-burst' = '16k'\n\t'flood-time' = 3\n")
	for u in ('mallory', 'alice', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	carol = login(node, 'carol@localhost/c', 'carol-pw')
	dave = login(node, 'dave@localhost/d', 'dave-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')

	# mallory writes 2 MB of messages as fast as TCP takes them.
	raw = RawClient(node.port, timeout=10)
	raw.login('mallory@localhost', 'mallory-pw', 'm')
	body = 'f' * 1000
	stanza = ("<message to='%s' type='chat'><body>%s</body></message>"
	    % (alice.full_jid, body)).encode()
	raw.sock.setblocking(False)
	sent = 0
	for _ in range(2000):
		try:
			sent += raw.sock.send(stanza)
		except (BlockingIOError, OSError):
			pump(0.01)
	raw.sock.setblocking(True)
	diag('mallory got %d bytes into the socket' % sent)

	# Meanwhile carol and dave chat, every message counted.
	got = []
	for i in range(20):
		carol.send_message(dave.full_jid, 'c%d' % i)
		m = dave.wait_message(5)
		got.append(m['body'] if m is not None else None)
	is_(got, ['c%d' % i for i in range(20)],
	    'others chat while mallory floods: all 20, in order, once')
	arrived = Inbox(alice).find(lambda m: m['body'] == body)
	ok(len(arrived) < 2000,
	    'mallory is read at his rate: %d of 2000 so far' % len(arrived))
	cond = raw.read_stream_error(15)
	is_(cond, 'policy-violation', 'kept over the rate for flood-time: '
	    'policy-violation')
	ok(raw.wait_closed(5), '  and the stream is closed')
	ok('faster than' in node.log_text(), '  logged')
	ok(node.session('mallory@localhost/m') is None, '  his session gone')
	got = []
	for i in range(5):
		dave.send_message(carol.full_jid, 'd%d' % i)
		m = carol.wait_message(5)
		got.append(m['body'] if m is not None else None)
	is_(got, ['d%d' % i for i in range(5)], 'the others still chat')

	# A client at its rate, after a burst within 'read-burst', stays.
	c2 = RawClient(node.port, timeout=10)
	c2.login('mallory@localhost', 'mallory-pw', 'polite')
	for i in range(10):
		c2.send(("<message to='%s' type='chat'><body>p%d</body>"
		    "</message>" % (alice.full_jid, i)).encode())
	pump(4)
	inbox = Inbox(alice)
	ok(inbox.wait(lambda m: m['body'] == 'p9', 5) is not None,
	    'a burst within read-burst arrives')
	ok(node.session('mallory@localhost/polite') is not None,
	    '  and that client is not cut off')

main(test, timeout=120)
