#!/usr/bin/python3
# offline_bytes.t: 'offline-quota-bytes' bounds the bytes of offline messages
# kept for one user: messages are stored until the next would take the user
# past it, that one is bounced with resource-constraint (the count quota is
# far away), and once the stored ones are delivered there is as much room
# again.  Two other users chat all along and every one of their messages
# arrives once.  t/pgsql/offline_bytes.t runs it on PostgreSQL.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

QUOTA = 4096		# 'offline-quota-bytes' = '4k'
BODY = 1000		# every body this long: every stored message one size


def stored(node):
	"""bob's stored messages as xfedctl shows them."""
	return node.ctl('offline', 'bob@localhost').data['messages']


def used(rows):
	return sum(len(r['xml'].encode()) for r in rows)


def body(i):
	return ('%04d-' % i).ljust(BODY, 'x')


def fill(node, alice, chat, first):
	"""alice sends bob numbered messages until one bounces (at most 20),
	the other two chatting after each; returns (bodies stored, the error
	of the one that bounced or None)."""
	kept = []
	for i in range(first, first + 20):
		b = body(i)
		alice.send_message('bob@localhost', b)
		chat.round(2)
		err = None
		for _ in range(50):
			m = alice.wait_message(0.1,
			    lambda m: m['type'] == 'error')
			if m is not None:
				err = stanza_error(m)
				break
			if len(stored(node)) == len(kept) + 1:
				break
		if err is not None:
			return kept, err
		kept.append(b)
	return kept, None


def test():
	plan(14)
	node = Node(workers=2, extra="'offline-quota-bytes' = '4k'")
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	chat = Chatter(node)
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	chat.round()

	kept, err = fill(node, alice, chat, 0)
	rows = stored(node)
	is_([r['body'] for r in rows], kept,
	    'the messages that were not bounced are stored, in order (%d)' %
	    len(kept))
	ok(2 <= len(kept) < 1000, 'more than one fits, far below '
	    "'offline-quota' (%d)" % len(kept))
	size = max(len(r['xml'].encode()) for r in rows) if rows else 0
	ok(used(rows) <= QUOTA < used(rows) + size,
	    'filled to the byte quota: %d bytes stored, one more of %d would '
	    'pass %d' % (used(rows), size, QUOTA))
	is_(err, ('wait', 'resource-constraint'),
	    'the one past the quota is bounced with resource-constraint')
	alice.send_message('bob@localhost', body(99))
	m = alice.wait_message(5, lambda m: m['type'] == 'error')
	is_(stanza_error(m), ('wait', 'resource-constraint'),
	    'and so is the next')
	is_(len(stored(node)), len(kept), 'nothing bounced was stored')

	bob = Client(node, 'bob@localhost/b', 'bob-pw')
	is_(bob.login(), 'session', 'bob logs in with presence')
	got = []
	for _ in kept:
		m = bob.wait_message(5, lambda m: m['type'] != 'error')
		got.append(m['body'] if m else None)
		chat.round(1)
	is_(got, kept, 'bob gets the stored messages, in order')
	ok(wait_for(lambda: pump(0.1) or stored(node) == [], 5),
	    'delivered messages leave the store')
	bob.disconnect()
	ok(wait_for(lambda: node.session(bob.full_jid) is None, 5),
	    'bob is offline again')

	again, err = fill(node, alice, chat, 100)
	is_(len(again), len(kept), 'after the delivery as many fit again '
	    '(%d)' % len(again))
	is_(err, ('wait', 'resource-constraint'),
	    'and the next is bounced again')
	is_([r['body'] for r in stored(node)], again, 'those are stored')

	chat.round()
	good, why = chat.check()
	ok(good, 'the two chatting meanwhile got every message once: ' + why)

main(test)
