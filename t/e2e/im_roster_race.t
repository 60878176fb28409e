#!/usr/bin/python3
# im_roster_race.t: two users on different workers ask each other for a
# subscription at the same moment; each worker updates both rosters, and
# neither update may be lost: both end with subscription 'both'.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

ROUNDS = 5


def subs(node, owner):
	r = node.ctl('roster', owner)
	return {i['jid']: (i['subscription'], i['ask'], i['pending_in'])
	    for i in (r.data or {}).get('roster', [])}


def test():
	plan(2 * ROUNDS)
	node = Node(workers=2)
	for i in range(ROUNDS):
		a, b = 'a%d@localhost' % i, 'b%d@localhost' % i
		node.add_user(a, 'pw')
		node.add_user(b, 'pw')
		ca = login(node, a + '/r', 'pw')
		cb, _ = on_different_workers(node, b, 'pw', ca.full_jid)
		if cb is None:
			raise RuntimeError('no two sessions on different workers')
		for c in (ca, cb):
			c.xmpp.auto_authorize = True	# answers 'subscribed'
			c.xmpp.auto_subscribe = False
		# Both requests leave in the same loop turn.
		ca.xmpp.send_presence(pto=b, ptype='subscribe')
		cb.xmpp.send_presence(pto=a, ptype='subscribe')
		want = ('both', False, False)
		wait_for(lambda: pump(0.1) or (subs(node, a).get(b) == want and
		    subs(node, b).get(a) == want), 5)
		is_(subs(node, a).get(b), want, 'round %d: %s has %s as both' %
		    (i, a, b))
		is_(subs(node, b).get(a), want, 'round %d: %s has %s as both' %
		    (i, b, a))
		ca.disconnect()
		cb.disconnect()

main(test)
