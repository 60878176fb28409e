#!/usr/bin/python3
# workerkill.t: a worker killed with SIGKILL loses only its own sessions; the
# master respawns it within a second and the other worker keeps chatting.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(18)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')

	alice = login(node, 'alice@localhost/a', 'alice-pw')
	wa = node.worker_of(alice.full_jid)
	bob, _ = on_worker(node, 'bob@localhost', 'bob-pw', wa)
	carol, wc = login_where(node, 'carol@localhost', 'carol-pw',
	    lambda w: w != wa)
	dave, _ = on_worker(node, 'dave@localhost', 'dave-pw', wc) \
	    if carol else (None, None)
	ok(None not in (wa, bob, carol, dave),
	    'alice+bob on worker %r, carol+dave on worker %r' % (wa, wc))
	if None in (wa, bob, carol, dave):
		raise RuntimeError('could not place the sessions')

	ok(exchange(alice, bob) is not None, 'alice -> bob before the kill')
	ok(exchange(carol, dave) is not None, 'carol -> dave before the kill')

	before = {w['index']: w['pid'] for w in node.workers_list()}
	index, old = node.kill_worker(wa)
	t0 = time.monotonic()

	def respawned():
		for w in node.workers_list():
			if w.get('index') == index and w.get('pid') and \
			    w['pid'] != old and w.get('state') == 'running':
				return w
		return None
	neww = wait_for(respawned, 5, interval=0.05)
	took = time.monotonic() - t0
	ok(neww, 'worker index %r has a new pid (%r -> %r)' % (index, old,
	    neww and neww['pid']))
	ok(neww and took <= 1.0, 'respawned within 1 s (%.2f s)' % took)
	ok(not pid_alive(old), 'the old worker pid %d is gone' % old)
	others = {w['index']: w['pid'] for w in node.workers_list()
	    if w['index'] != index}
	is_(others, {i: p for i, p in before.items() if i != index},
	    'the other worker kept its pid')

	ok(alice.wait_disconnected(5), 'alice (killed worker) lost her '
	    'connection')
	ok(bob.wait_disconnected(5), 'bob (killed worker) lost his connection')

	jids = wait_for(lambda: (lambda l: l if not (set(l) &
	    {alice.full_jid, bob.full_jid}) else None)(
	    [s['jid'] for s in node.sessions()]), 3)
	ok(jids is not None, 'sessions of the killed worker are gone')
	ok(jids is not None and carol.full_jid in jids and dave.full_jid in
	    jids, 'carol and dave are still listed (%r)' % (jids,))

	ok(exchange(carol, dave) is not None, 'carol -> dave after the kill')
	ok(exchange(dave, carol) is not None, 'dave -> carol after the kill')
	m = exchange(dave, carol, 'x' * 2000)
	ok(m is not None, 'a bigger message too')

	alice2 = Client(node, 'alice@localhost/again', 'alice-pw')
	is_(alice2.login(), 'session', 'a new login works')
	ok(alice2.connected and exchange(alice2, carol) is not None,
	    'the new login chats with carol')
	slot = neww['slot'] if neww else None
	bob2, _ = on_worker(node, 'bob@localhost', 'bob-pw', slot) \
	    if slot is not None else (None, None)
	ok(bob2 is not None, 'a login lands on the respawned worker (slot %r)'
	    % (slot,))
	ok(bob2 is not None and exchange(bob2, carol) is not None and
	    exchange(carol, bob2) is not None,
	    'it chats both ways with the other worker')


main(test)
