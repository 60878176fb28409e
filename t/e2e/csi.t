#!/usr/bin/python3
# csi.t: XEP-0352 client state indication: while alice is inactive,
# presence is held back (only the latest per sender), messages pass at
# once, a sender's message brings its held presence out first; going
# active delivers what was held.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_CSI = 'urn:xmpp:csi:0'


def watch(client):
	"""Every presence and message client gets, in order of arrival:
	('presence', from, status) or ('message', from, body)."""
	log = []

	def on_presence(p):
		if str(p['from']) != client.full_jid:
			log.append(('presence', str(p['from']), p['status']))
	client.xmpp.register_handler(Callback('csi presence',
	    MatchXPath('{%s}presence' % NS_CLIENT), on_presence))
	client.xmpp.register_handler(Callback('csi message',
	    MatchXPath('{%s}message' % NS_CLIENT), lambda m: log.append(
	    ('message', str(m['from']), m['body']))))
	return log


def sync(client):
	"""A round trip: whatever client sent before has been routed."""
	r = client.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	return r is not None and r['type'] == 'result'


def presences(log, frm):
	return [e[2] for e in log if e[0] == 'presence' and e[1] == frm]


def test():
	plan(12)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')

	raw = RawClient(node.port)
	raw.authenticate('alice', 'alice-pw')
	ok(NS_CSI in [c.tag.split('}')[0][1:] for c in raw.open() or []],
	    'the stream features after authentication offer csi')
	raw.close()

	alice = login(node, 'alice@localhost/phone', 'alice-pw')
	bob, _ = on_different_workers(node, 'bob@localhost/b', 'bob-pw',
	    alice.full_jid)
	if bob is None:
		raise RuntimeError('no two sessions on different workers')
	carol = login(node, 'carol@localhost/c', 'carol-pw')
	log = watch(alice)

	# Active: directed presence goes straight through.
	bob.xmpp.send_presence(pto=alice.full_jid, pstatus='s0')
	ok(wait_for(lambda: (pump(0.05), presences(log, bob.full_jid))[1] ==
	    ['s0'], 5), 'active: bob\'s directed presence arrives at once')

	alice.send_raw("<inactive xmlns='%s'/>" % NS_CSI)
	ok(sync(alice), 'alice is inactive (and the stream lives on)')
	bob.xmpp.send_presence(pto=alice.full_jid, pstatus='s1')
	bob.xmpp.send_presence(pto=alice.full_jid, pstatus='s2')
	ok(sync(bob), 'bob sent two presence updates')
	pump(0.5)
	carol.send_message(alice.full_jid, 'from-carol')
	ok(wait_for(lambda: (pump(0.05), ('message', carol.full_jid,
	    'from-carol') in log)[1], 5),
	    'inactive: carol\'s message arrives at once')
	pump(1.0)
	is_(presences(log, bob.full_jid), ['s0'],
	    'bob\'s presence updates are held back')

	alice.send_raw("<active xmlns='%s'/>" % NS_CSI)
	ok(wait_for(lambda: (pump(0.05), presences(log, bob.full_jid))[1] ==
	    ['s0', 's2'], 5),
	    'active again: the held presence arrives, only the latest (got %r)'
	    % (presences(log, bob.full_jid),))
	ok(sync(alice) and presences(log, bob.full_jid) == ['s0', 's2'],
	    'and nothing more')

	# One sender's stanzas keep their order; other senders' stay held.
	alice.send_raw("<inactive xmlns='%s'/>" % NS_CSI)
	ok(sync(alice), 'alice is inactive again')
	carol.xmpp.send_presence(pto=alice.full_jid, pstatus='c1')
	bob.xmpp.send_presence(pto=alice.full_jid, pstatus='s3')
	bob.send_message(alice.full_jid, 'from-bob')
	ok(wait_for(lambda: (pump(0.05), ('message', bob.full_jid,
	    'from-bob') in log)[1], 5), 'bob\'s message arrives at once')
	i = log.index(('message', bob.full_jid, 'from-bob'))
	ok(('presence', bob.full_jid, 's3') in log[:i],
	    'after bob\'s held presence, which it brought out first')
	pump(0.5)
	held = presences(log, carol.full_jid)
	alice.send_raw("<active xmlns='%s'/>" % NS_CSI)
	ok(held == [] and wait_for(lambda: (pump(0.05),
	    presences(log, carol.full_jid))[1] == ['c1'], 5),
	    'carol\'s presence stayed held until alice was active (%r, %r)' %
	    (held, presences(log, carol.full_jid)))


main(test)
