#!/usr/bin/python3
# sm_h_kill.t: XEP-0198's h counts a client's stanza only once the server
# has handled it.  alice (stream management on) sends bob, offline, a
# message while the offline table is locked, so it waits for the database;
# her worker is killed meanwhile.  On resume the server's h leaves that
# message out, alice sends it again, and bob gets it exactly once.  A
# message counted before it was stored would be lost here.  Two other
# users chat through the node all along.
import os
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403
from pg import TableLock as Lock		# noqa: E402


def enable(raw):
	raw.send("<presence/><enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=5, until=lambda e:
	    local_name(e) in ('enabled', 'failed'))
	en = other[-1] if other else None
	return en.get('id') if en is not None and \
	    local_name(en) == 'enabled' else None


def test():
	plan(9)
	node = Node(workers=2, store='pgsql')
	for u in ('alice', 'bob', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	alice, wa = raw_on_worker(node, lambda s: True)
	alice.login('alice', 'alice-pw', resource='phone')
	# The others on the worker that lives.
	carol, _ = login_where(node, 'carol@localhost/c', 'carol-pw',
	    lambda w: w != wa)
	dave, _ = login_where(node, 'dave@localhost/d', 'dave-pw',
	    lambda w: w != wa)
	smid = enable(alice)
	ok(smid is not None, 'alice has stream management with resumption')
	alice.send("<message to='bob@localhost' type='chat'><body>one</body>"
	    "</message><r xmlns='%s'/>" % NS_SM)
	_, other = read_bodies(alice, timeout=5, until=lambda e:
	    local_name(e) == 'a')
	a = other[-1] if other else None
	is_(a.get('h') if a is not None else None, '1',
	    'the first message is stored and counted')

	lock = Lock(node, 'xf_offline')
	ok(lock.held, 'the offline table is locked')
	alice.send("<message to='bob@localhost' type='chat'><body>two</body>"
	    "</message><r xmlns='%s'/>" % NS_SM)
	_, other = read_bodies(alice, timeout=1, until=lambda e:
	    local_name(e) == 'a')
	ok(not [e for e in other if local_name(e) == 'a'],
	    'while it waits for the database, no ack for the second')
	carol.send_message(dave.full_jid, 'during')
	m = dave.wait_message(5)
	ok(m is not None and m['body'] == 'during',
	    'the others chat meanwhile')
	index, pid = node.kill_worker(wa, signal.SIGKILL)
	alice.close()
	lock.release()
	ok(wait_for(lambda: [w for w in node.workers_list() if
	    w.get('index') == index and w.get('pid') not in (None, pid) and
	    w.get('state') == 'running'], 10), 'alice\'s worker respawned')

	raw = RawClient(node.port, timeout=10)
	raw.authenticate('alice', 'alice-pw')
	raw.open()
	raw.send("<resume xmlns='%s' previd='%s' h='0'/>" % (NS_SM, smid))
	_, other = read_bodies(raw, timeout=10, until=lambda e:
	    local_name(e) in ('resumed', 'failed'))
	el = other[-1] if other else None
	h = el.get('h') if el is not None and local_name(el) == 'resumed' \
	    else None
	is_(h, '1', 'resumed: h counts the first message only')
	# A client resends what h does not cover (XEP-0198 4), and only that.
	if h is not None and int(h) < 2:
		raw.send("<message to='bob@localhost' type='chat'><body>two"
		    "</body></message><r xmlns='%s'/>" % NS_SM)
		read_bodies(raw, timeout=5, until=lambda e:
		    local_name(e) == 'a')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	bodies = []
	for _ in range(3):
		m = bob.wait_message(5)
		if m is None:
			break
		bodies.append(m['body'])
	is_(bodies, ['one', 'two'], 'bob gets both, each once')
	dave.send_message(carol.full_jid, 'after')
	m = carol.wait_message(5)
	ok(m is not None and m['body'] == 'after', 'the others still chat')

main(test)
