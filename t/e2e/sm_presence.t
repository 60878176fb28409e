#!/usr/bin/python3
# sm_presence.t: a resumed XEP-0198 session keeps its presence.  Alice
# (subscribed both ways with bob) sets show/status/priority, then sends
# carol a directed presence, enables resumption, and is cut off; she
# resumes on the other worker.  A new resource of bob's then probes her
# (RFC 6121 4.3): the answer still carries her show and status.  She
# changes it, is cut and resumes again: the probe sees the change.  When
# she ends the stream, carol (no subscription: a directed presence only)
# hears that she went away.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_CLIENT = 'jabber:client'


def presence_from(raw, frm, timeout=5, ptype=None):
	"""The first <presence/> from frm (of type ptype, None: available)
	that raw reads within timeout, or None."""
	_, other = read_bodies(raw, timeout=timeout, until=lambda e:
	    e.tag == '{%s}presence' % NS_CLIENT and e.get('from') == frm and
	    e.get('type') == ptype)
	for e in other:
		if e.tag == '{%s}presence' % NS_CLIENT and e.get('from') == frm \
		    and e.get('type') == ptype:
			return e
	return None


def show_status(el):
	if el is None:
		return None
	return tuple(x.text if x is not None else None for x in (
	    el.find('{%s}show' % NS_CLIENT), el.find('{%s}status' % NS_CLIENT),
	    el.find('{%s}priority' % NS_CLIENT)))


def probe(node, full, res):
	"""What a fresh resource of bob's is told of full after its initial
	presence made the server probe bob's contacts."""
	raw = RawClient(node.port)
	raw.login('bob', 'bob-pw', resource=res)
	raw.send('<presence/>')
	got = show_status(presence_from(raw, full))
	raw.close()
	return got


def cut_and_resume(node, raw, smid, w_from, h):
	"""Cuts raw; resumes smid on a worker other than w_from if there is
	one.  (raw2, slot, <resumed/> or None)."""
	kept = 'sm session %s kept' % smid
	before = node.log_text().count(kept)
	raw.close()
	ok(wait_for(lambda: node.log_text().count(kept) > before, 5),
	    'cut: the session is kept detached')
	# Carol's is the one connection left.
	wait_for(lambda: sum(worker_connections(node).values()) == 1, 5)
	raw2, w2 = raw_on_worker(node, lambda s: s != w_from)
	if raw2 is None:
		raw2, w2 = raw_on_worker(node, lambda s: True)
	raw2.authenticate('alice', 'alice-pw')
	raw2.open()
	raw2.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, smid, h))
	el = raw2.read_element()
	return raw2, w2, el if local_name(el) == 'resumed' else None


def test():
	plan(12)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')

	# Bob and alice subscribe to each other (slixmpp approves and asks
	# back by itself).
	a = login(node, 'alice@localhost/setup', 'alice-pw')
	b = login(node, 'bob@localhost/setup', 'bob-pw')
	b.xmpp.send_presence(pto='alice@localhost', ptype='subscribe')
	ok(wait_for(lambda: (pump(0.1), roster_subscription(b,
	    'alice@localhost') in ('to', 'both'))[1], 10),
	    'bob is subscribed to alice\'s presence')
	a.disconnect()
	b.disconnect()
	wait_for(lambda: node.sessions() == [], 5)

	carol = RawClient(node.port)
	carol_full = carol.login('carol', 'carol-pw', resource='c')
	carol.send('<presence/>')

	raw, w1 = raw_on_worker(node, lambda s: True)
	full = raw.login('alice', 'alice-pw', resource='phone')
	raw.send("<presence><show>away</show><status>on the bus</status>"
	    "<priority>3</priority></presence>")
	raw.send("<presence to='%s'/>" % carol_full)
	ok(presence_from(carol, full) is not None,
	    'carol gets alice\'s directed presence')
	raw.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=5, until=lambda e: local_name(e) in
	    ('enabled', 'failed'))
	en = other[-1] if other else None
	ok(local_name(en) == 'enabled', 'alice enables resumption after her '
	    'presence')
	smid = en.get('id') if en is not None else ''
	is_(probe(node, full, 'b1'), ('away', 'on the bus', '3'),
	    'a probe before the cut: show, status, priority')

	raw, w2, el = cut_and_resume(node, raw, smid, w1, 0)
	ok(el is not None, 'resumed on worker %r (was %r)' % (w2, w1))
	is_(probe(node, full, 'b2'), ('away', 'on the bus', '3'),
	    'after the resume a probe gets the same presence')

	raw.send("<presence><show>dnd</show><status>in a meeting</status>"
	    "<priority>3</priority></presence>")
	ok(presence_from(carol, full, 1) is None,
	    'a broadcast does not reach carol (no subscription)')
	raw, w3, el = cut_and_resume(node, raw, smid, w2, 0)
	ok(el is not None, 'resumed again, on worker %r' % w3)
	is_(probe(node, full, 'b3'), ('dnd', 'in a meeting', '3'),
	    'the presence changed after the first resume survives the second')

	raw.send('</stream:stream>')
	raw.wait_closed(5)
	raw.close()
	ok(presence_from(carol, full, 5, 'unavailable') is not None,
	    'alice ends her stream: carol, a directed-presence target from '
	    'before both resumes, hears she went away')
	carol.close()


main(test)
