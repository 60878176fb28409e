#!/usr/bin/python3
# im_roster.t: the subscription handshake (RFC 6121 3) between users on
# different workers, the resulting rosters on both sides, roster pushes,
# versioning, presence broadcast to subscribers, and a subscription request
# kept for a user who was offline.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_ROSTER = 'jabber:iq:roster'


def watch_presence(c):
	"""Queues every presence stanza c receives."""
	q = asyncio.Queue()
	c.xmpp.register_handler(Callback('test presence',
	    MatchXPath('{%s}presence' % NS_CLIENT), lambda p: q.put_nowait(p)))
	# The test answers subscriptions itself.
	c.xmpp.auto_authorize = None
	c.xmpp.auto_subscribe = False
	return q


def next_presence(q, pred, timeout=5):
	async def get():
		while True:
			p = await q.get()
			if pred(p):
				return p
	try:
		return run(get(), timeout)
	except asyncio.TimeoutError:
		return None


def roster_items(c):
	"""{jid: (subscription, ask)} from a roster get, and the version."""
	r = c.iq("<query xmlns='%s'/>" % NS_ROSTER)
	if r is None or r['type'] != 'result':
		return None, None
	q = r.xml.find('{%s}query' % NS_ROSTER)
	items = {}
	for it in q.findall('{%s}item' % NS_ROSTER):
		items[it.get('jid')] = (it.get('subscription'), it.get('ask'))
	return items, q.get('ver')


def pres(ptype, frm):
	return lambda p: p['type'] == ptype and \
	    str(p['from']).split('/')[0] == frm


def test():
	plan(23)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob, wb = on_different_workers(node, 'bob@localhost', 'bob-pw',
	    alice.full_jid)
	if bob is None:
		raise RuntimeError('no two sessions on different workers')
	qa, qb = watch_presence(alice), watch_presence(bob)
	items, ver0 = roster_items(alice)
	is_(items, {}, 'alice starts with an empty roster')

	# alice asks, bob approves: alice gets 'to', bob 'from'.
	alice.xmpp.send_presence(pto='bob@localhost', ptype='subscribe')
	p = next_presence(qb, pres('subscribe', 'alice@localhost'))
	ok(p is not None, 'bob (other worker) receives the subscribe request')
	items, _ = roster_items(alice)
	is_(items.get('bob@localhost'), ('none', 'subscribe'),
	    'alice\'s item: none with ask=subscribe')
	bob.xmpp.send_presence(pto='alice@localhost', ptype='subscribed')
	p = next_presence(qa, pres('subscribed', 'bob@localhost'))
	ok(p is not None, 'alice receives subscribed')
	p = next_presence(qa, lambda p: p['type'] == 'available' and
	    str(p['from']) == bob.full_jid)
	ok(p is not None, 'alice receives bob\'s current presence at once')
	items, ver1 = roster_items(alice)
	is_(items.get('bob@localhost'), ('to', None), 'alice\'s item: to')
	ok(ver1 is not None and ver1 != ver0, 'roster version changed (%s -> %s)'
	    % (ver0, ver1))
	items, _ = roster_items(bob)
	is_(items.get('alice@localhost'), ('from', None), 'bob\'s item: from')

	# And back: both.
	bob.xmpp.send_presence(pto='alice@localhost', ptype='subscribe')
	p = next_presence(qa, pres('subscribe', 'bob@localhost'))
	ok(p is not None, 'alice receives bob\'s request')
	alice.xmpp.send_presence(pto='bob@localhost', ptype='subscribed')
	p = next_presence(qb, pres('subscribed', 'alice@localhost'))
	ok(p is not None, 'bob receives subscribed')
	items, _ = roster_items(alice)
	is_(items.get('bob@localhost'), ('both', None), 'alice\'s item: both')
	items, _ = roster_items(bob)
	is_(items.get('alice@localhost'), ('both', None), 'bob\'s item: both')
	r = node.ctl('roster', 'alice@localhost')
	rows = {i['jid']: i['subscription'] for i in
	    (r.data or {}).get('roster', [])}
	is_(rows, {'bob@localhost': 'both'}, 'xfedctl roster agrees')

	# XEP-0115: entity capabilities ride along untouched.
	bob.send_raw("<presence><c xmlns='http://jabber.org/protocol/caps' "
	    "hash='sha-1' node='https://xfed.test/client' ver='QgayPKawpkPSDYmwT/"
	    "WM94uAlu0='/></presence>")
	p = next_presence(qa, lambda p: str(p['from']) == bob.full_jid and
	    p.xml.find('{http://jabber.org/protocol/caps}c') is not None)
	c = p.xml.find('{http://jabber.org/protocol/caps}c') if p else None
	is_((c.get('node'), c.get('ver')) if c is not None else None,
	    ('https://xfed.test/client', 'QgayPKawpkPSDYmwT/WM94uAlu0='),
	    'caps in bob\'s presence reach alice unchanged')

	# XEP-0237: the same version gives an empty result.
	_, ver = roster_items(alice)
	r = alice.iq("<query xmlns='%s' ver='%s'/>" % (NS_ROSTER, ver))
	q = r.xml.find('{%s}query' % NS_ROSTER) if r is not None else None
	ok(r is not None and r['type'] == 'result' and q is None,
	    'roster get with the current ver returns an empty result')

	# Roster set from one resource is pushed to the other.
	alice2 = login(node, 'alice@localhost/a2', 'alice-pw')
	alice2.iq("<query xmlns='%s'/>" % NS_ROSTER)	# interested
	pushes = asyncio.Queue()
	alice2.xmpp.register_handler(Callback('push', MatchXPath(
	    '{%s}iq/{%s}query' % (NS_CLIENT, NS_ROSTER)),
	    lambda iq: pushes.put_nowait(iq)))
	r = alice.iq("<query xmlns='%s'><item jid='bob@localhost' name='Bob'>"
	    "<group>Friends</group></item></query>" % NS_ROSTER, itype='set')
	ok(r is not None and r['type'] == 'result', 'roster set accepted')
	try:
		push = run(pushes.get(), 5)
	except asyncio.TimeoutError:
		push = None
	it = push.xml.find('.//{%s}item' % NS_ROSTER) if push is not None \
	    else None
	is_((it.get('name'), it.get('subscription')) if it is not None else
	    None, ('Bob', 'both'), 'the other resource gets the push')

	# Presence broadcast: bob leaves, alice (both) hears it.
	bob.disconnect()
	p = next_presence(qa, lambda p: p['type'] == 'unavailable' and
	    str(p['from']).split('/')[0] == 'bob@localhost')
	ok(p is not None, 'alice sees bob go unavailable')

	# A request to someone offline waits for her next login.
	alice.xmpp.send_presence(pto='carol@localhost', ptype='subscribe')
	pump(0.5)
	carol = Client(node, 'carol@localhost/c', 'carol-pw')
	carol._new_xmpp_orig = carol._new_xmpp
	qc = asyncio.Queue()

	def new_xmpp():
		x = carol._new_xmpp_orig()
		x.register_handler(Callback('test presence', MatchXPath(
		    '{%s}presence' % NS_CLIENT), lambda p: qc.put_nowait(p)))
		x.auto_authorize = None
		return x
	carol._new_xmpp = new_xmpp
	is_(carol.login(), 'session', 'carol logs in')
	p = next_presence(qc, pres('subscribe', 'alice@localhost'))
	ok(p is not None, 'carol gets the request that waited for her')
	r = node.ctl('roster', 'carol@localhost')
	rows = (r.data or {}).get('roster', [])
	is_([(i['jid'], i['pending_in']) for i in rows],
	    [('alice@localhost', True)], 'carol\'s roster keeps it pending')
	items, _ = roster_items(carol)
	is_(items, {}, 'but it is not a roster item she sees')
	# Removing bob ends both subscriptions (RFC 6121 2.5).
	r = alice.iq("<query xmlns='%s'><item jid='bob@localhost' "
	    "subscription='remove'/></query>" % NS_ROSTER, itype='set')
	ok(r is not None and r['type'] == 'result' and
	    node.ctl('roster', 'bob@localhost').data['roster'][0][
	    'subscription'] == 'none', 'remove: bob\'s item drops to none')

main(test)
