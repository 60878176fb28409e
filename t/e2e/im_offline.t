#!/usr/bin/python3
# im_offline.t: messages for an offline user are kept (XEP-0160), survive
# a SIGTERM and restart of the node, and are delivered in order with a
# XEP-0203 delay stamp at the next available presence; the per-user quota
# bounces what does not fit; a worker killed with -9 makes its users'
# contacts see them go unavailable.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_DELAY = 'urn:xmpp:delay'


def test():
	plan(14)
	node = Node(workers=2, extra="'offline-quota' = 3")
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bodies = ['offline-%d' % i for i in range(3)]
	for b in bodies:
		alice.send_message('bob@localhost', b)
	# The client writes when its loop runs: pump between looks.
	ok(wait_for(lambda: pump(0.1) or len(node.ctl('offline',
	    'bob@localhost').data['messages']) == 3, 5),
	    'xfedctl offline shows the three messages')
	# The quota is 3: the fourth comes back.
	alice.send_message('bob@localhost', 'one too many')
	m = alice.wait_message(5, lambda m: m['type'] == 'error')
	is_(stanza_error(m), ('wait', 'resource-constraint'),
	    'over the quota the sender gets resource-constraint')
	alice.disconnect()

	is_(node.stop(), 0, 'SIGTERM: the node exits 0')
	node.start()
	rows = node.ctl('offline', 'bob@localhost').data['messages']
	is_([r['body'] for r in rows], bodies,
	    'after the restart the messages are still there, in order')

	bob = Client(node, 'bob@localhost/b', 'bob-pw', presence=False)
	is_(bob.login(), 'session', 'bob logs in without presence')
	pump(0.5)
	is_(bob.drain_messages(), [], 'nothing before initial presence')
	bob.xmpp.send_presence()
	got = [bob.wait_message(5) for _ in bodies]
	is_([m['body'] if m else None for m in got], bodies,
	    'initial presence delivers them in order')
	d = got[0].xml.find('{%s}delay' % NS_DELAY) if got[0] else None
	ok(d is not None and d.get('stamp', '').endswith('Z'),
	    'each carries a XEP-0203 delay stamp (%s)' %
	    (d.get('stamp') if d is not None else None))
	is_(str(got[0]['from']).split('/')[0] if got[0] else None,
	    'alice@localhost', 'from alice')
	is_(node.ctl('offline', 'bob@localhost').data['messages'], [],
	    'delivered messages leave the store')

	# A worker dies: contacts of its users hear they are gone.
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	for (x, y) in ((alice, 'bob@localhost'), (bob, 'alice@localhost')):
		x.xmpp.auto_authorize = True
		x.xmpp.auto_subscribe = True
	pres = asyncio.Queue()
	alice.xmpp.register_handler(Callback('test presence', MatchXPath(
	    '{%s}presence' % NS_CLIENT), lambda p: pres.put_nowait(p)))
	alice.xmpp.send_presence(pto='bob@localhost', ptype='subscribe')
	ok(wait_for(lambda: pump(0.1) or node.ctl('roster',
	    'alice@localhost').data[
	    'roster'][:1] and node.ctl('roster', 'alice@localhost').data[
	    'roster'][0]['subscription'] in ('to', 'both'), 5),
	    'alice is subscribed to bob')
	wa, wb = node.worker_of(alice.full_jid), node.worker_of(bob.full_jid)
	if wa == wb:
		bob.disconnect()
		bob, wb = on_different_workers(node, 'bob@localhost', 'bob-pw',
		    alice.full_jid)
	ok(bob is not None and wa != wb, 'alice and bob on different workers')
	node.kill_worker(wb)

	async def gone():
		while True:
			p = await pres.get()
			if p['type'] == 'unavailable' and str(p['from']) == \
			    bob.full_jid:
				return p
	try:
		p = run(gone(), 5)
	except asyncio.TimeoutError:
		p = None
	ok(p is not None, 'alice sees bob unavailable after kill -9 of '
	    'his worker')
	ok(wait_for(lambda: node.session(bob.full_jid) is None, 3),
	    'bob\'s session left the table')

main(test)
