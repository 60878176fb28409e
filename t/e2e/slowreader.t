#!/usr/bin/python3
# slowreader.t: a client that stops reading loses nothing.  A sender on its
# worker is slowed (not read) until it reads again; stanzas from another
# worker fill its output to 'max-output', then its stream is closed and
# every message it never got goes offline, counted: received + offline =
# sent, none twice (messages in flight when the session ends may be
# stored out of order: the ring's and those routed after the end).  Two
# other users chat through the node all along.
import os
import socket
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

PAD = 'p' * 900
LIMITS = ("'output-buffer' = '16k'\n\t'max-output' = '64k'\n"
    "\t'read-rate' = 0\n")


def chatters(node):
	carol = login(node, 'carol@localhost/c', 'carol-pw')
	dave = login(node, 'dave@localhost/d', 'dave-pw')
	return carol, dave


def chat_round(carol, dave, tag, n=5):
	"""n messages each way; the bodies that arrived, by receiver."""
	send_messages(carol, dave.full_jid, ['%s c>d %d' % (tag, i)
	    for i in range(n)])
	send_messages(dave, carol.full_jid, ['%s d>c %d' % (tag, i)
	    for i in range(n)])
	got = {'d': [], 'c': []}
	# Delivery, not speed: behind a flood through the same ring they may
	# wait their turn.
	for who, cl in (('d', dave), ('c', carol)):
		for _ in range(n):
			m = cl.wait_message(20)
			if m is None:
				break
			got[who].append(m['body'])
	return got


def raw_bob(node):
	# A small receive buffer: the server's output backs up sooner.
	raw = RawClient(node.port, timeout=10, rcvbuf=4096)
	full = raw.login('bob@localhost', 'bob-pw', 'slow')
	return raw, full


def read_pumping(raw, n=None, timeout=60, quiet=8):
	"""Message bodies raw reads (as read_bodies) while the harness loop
	runs, so the slixmpp senders go on writing meanwhile."""
	bodies, other = [], []
	deadline = time.monotonic() + timeout
	last = time.monotonic()
	while time.monotonic() < deadline and time.monotonic() - last < quiet:
		if n is not None and len(bodies) >= n:
			break
		el = raw.read_element(0.05)
		if el is None:
			if raw.closed or raw.stream_ended:
				break
			pump(0.02)
			continue
		last = time.monotonic()
		if el.tag == '{jabber:client}message':
			b = el.find('{jabber:client}body')
			bodies.append(b.text if b is not None else None)
		else:
			other.append(el)
	return bodies, other


def numbers(bodies):
	out = []
	for b in bodies:
		if b and b.startswith('n'):
			out.append(int(b[1:].split()[0]))
	return out


def test():
	plan(14)
	users = ('alice', 'bob', 'carol', 'dave')

	# One worker: alice and bob share it; alice is slowed.
	node = Node(workers=1, c2s_extra=LIMITS)
	for u in users:
		node.add_user(u + '@localhost', u + '-pw')
	carol, dave = chatters(node)
	raw, bob = raw_bob(node)
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	N = 3000
	send_messages(alice, bob, ['n%05d %s' % (i, PAD) for i in range(N)])
	pump(1)
	ok(wait_for(lambda: 'has read its output' in node.log_text(), 10),
	    'a sender on the slow reader\'s worker is not read meanwhile')
	got = chat_round(carol, dave, 'one')
	ok(len(got['d']) == 5 and len(got['c']) == 5,
	    'the others chat on while bob does not read')
	# bob reads again: everything, in order, once.
	bodies, _ = read_pumping(raw, n=N)
	nums = numbers(bodies)
	is_(len(nums), N, 'bob reads again: all %d messages arrive' % N)
	ok(nums == list(range(N)), '  in order, none twice')
	ok(alice.wait_message(1) is None, '  and alice got no error')
	raw.close()
	alice.disconnect()

	# Two workers: the sender is elsewhere; bob is cut off at
	# 'max-output' and what he did not get is kept for him.
	# A 'max-output' larger than the socket's own buffers: some of it
	# is still waiting when the stream is cut off.
	node2 = Node(workers=2, c2s_extra=LIMITS.replace("'64k'", "'1M'")
	    .replace("'read-rate' = 0", "'read-rate' = '4M'"),
	    extra="'offline-quota' = 10000\n'offline-quota-bytes' = '64M'")
	for u in users:
		node2.add_user(u + '@localhost', u + '-pw')
	carol, dave = chatters(node2)
	raw, bob = raw_bob(node2)
	alice, _ = on_different_workers(node2, 'alice@localhost/a',
	    'alice-pw', bob)
	ok(alice is not None, 'alice and bob on different workers')
	N = 6000
	send_messages(alice, bob, ['n%05d %s' % (i, PAD) for i in range(N)])
	cut = wait_for(lambda: pump(0.1) or 'does not read its output' in
	    node2.log_text(), 20)
	ok(cut, 'bob is closed once his output passes max-output')
	got = chat_round(carol, dave, 'two')
	ok(len(got['d']) == 5 and len(got['c']) == 5,
	    'the others chat on meanwhile')
	# Past the close's linger: what was still waiting was not written.
	pump(3)
	# What reached bob's socket before the close.
	bodies, other = read_pumping(raw, quiet=5)
	before = numbers(bodies)
	errs = [stream_error_condition(e) for e in other]
	diag('bob read %d before the close; %s' % (len(before), errs))
	raw.close()
	ok(wait_for(lambda: pump(0.2) or node2.session(bob) is None, 10),
	    'his session is gone')
	# alice's last messages are routed after the close: offline too.
	ok(wait_for(lambda: pump(0.2) or len(node2.ctl('offline',
	    'bob@localhost').data['messages']) + len(before) >= N, 30),
	    'the rest is stored for him')
	bob2 = login(node2, 'bob@localhost/again', 'bob-pw')
	later = []
	while len(before) + len(later) < N:
		m = bob2.wait_message(10)
		if m is None:
			break
		later.extend(numbers([m['body']]))
	total = before + later
	diag('%d before the close, %d from offline storage' % (len(before),
	    len(later)))
	is_(len(total), N, 'received + offline = %d sent' % N)
	is_(len(set(total)), N, '  none twice')
	errors = [m for m in alice.drain_messages() if m['type'] == 'error']
	is_(len(errors), 0, 'no message came back to alice')
	got = chat_round(carol, dave, 'three')
	ok(len(got['d']) == 5 and len(got['c']) == 5,
	    'the others still chat')

main(test, timeout=240)
