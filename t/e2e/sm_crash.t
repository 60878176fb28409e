#!/usr/bin/python3
# sm_crash.t: kill -9 of the worker holding an XEP-0198 session while
# another user keeps sending it numbered messages; the client resumes on
# the surviving worker and gets every message exactly once, in order.
# The worker is stopped for a moment before the kill, so that messages
# are in flight to it when it dies.
import os
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

N = 400			# messages bob sends, one every 5 ms
KILL_AT = 60		# alice has read this many when her worker dies


def test():
	plan(11)
	node = Node(workers=2)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')

	bob, wb = raw_on_worker(node, lambda s: True)
	bob.login('bob', 'bob-pw', resource='sender')
	alice, wa = raw_on_worker(node, lambda s: s != wb)
	ok(alice is not None, 'bob on worker %r, alice on worker %r' % (wb, wa))
	if alice is None:
		raise RuntimeError('could not place alice on the other worker')
	full = alice.login('alice', 'alice-pw', resource='phone')
	alice.send("<presence/><enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(alice, timeout=5, until=lambda e:
	    local_name(e) in ('enabled', 'failed'))
	en = other[-1] if other else None
	ok(local_name(en) == 'enabled' and en.get('resume') == 'true',
	    'stream management enabled with resumption')
	smid = en.get('id') if en is not None else ''

	def send_all():
		for i in range(1, N + 1):
			if not bob.send("<message to='%s' type='chat'><body>%d"
			    "</body></message>" % (full, i)):
				break
			time.sleep(0.005)
	sender = threading.Thread(target=send_all, daemon=True)
	sender.start()

	first, _ = read_bodies(alice, n=KILL_AT, timeout=10)
	index, pid = node.kill_worker(wa, signal.SIGSTOP)
	time.sleep(0.3)
	os.kill(pid, signal.SIGKILL)
	# What was on the wire when it died; then the connection is gone.
	rest, _ = read_bodies(alice, timeout=5)
	ok(alice.closed, 'alice\'s connection died with worker %r (after %d '
	    'messages)' % (wa, len(first) + len(rest)))
	# The client says it handled all but the last ten: those come again
	# from what the dead worker had queued as unacknowledged.
	old = (first + rest)[:-10]
	alice.close()

	neww = wait_for(lambda: [w for w in node.workers_list() if
	    w.get('index') == index and w.get('pid') not in (None, pid) and
	    w.get('state') == 'running'], 5)
	ok(neww, 'the master respawned the worker')

	# Resume on the worker that survived, with the h alice really has.
	wait_for(lambda: worker_connections(node).get(wb) == 1 and
	    sum(worker_connections(node).values()) == 1, 5)
	raw, w2 = raw_on_worker(node, lambda s: s == wb)
	ok(raw is not None, 'a new connection on the surviving worker %r' %
	    (wb,))
	if raw is None:
		raise RuntimeError('could not reach the surviving worker')
	raw.authenticate('alice', 'alice-pw')
	raw.open()
	raw.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, smid,
	    len(old)))
	_, other = read_bodies(raw, timeout=5, until=lambda e:
	    local_name(e) in ('resumed', 'failed'))
	el = other[-1] if other else None
	ok(local_name(el) == 'resumed' and el.get('previd') == smid,
	    'resumed on worker %r (%r)' % (w2, el.attrib if el is not None
	    else None))
	is_(el.get('h') if el is not None else None, '0',
	    'h: alice sent nothing')

	sender.join(10)
	new, _ = read_bodies(raw, n=N - len(old), timeout=15)
	extra, _ = read_bodies(raw, timeout=1)
	got = [int(b) for b in old + new + extra if b and b.isdigit()]
	dups = sorted(set(x for x in got if got.count(x) > 1))
	missing = sorted(set(range(1, N + 1)) - set(got))
	ok(not dups, 'nothing twice (%d before the kill, %d after; duplicates '
	    '%r)' % (len(old), len(new) + len(extra), dups[:10]))
	ok(not missing, 'nothing lost (missing %r)' % (missing[:10],))
	want = list(range(1, N + 1))
	bad = [i for i, (g, x) in enumerate(zip(got, want)) if g != x]
	ok(got == want, 'every message once, in order (first difference at '
	    'position %r)' % (bad[0] if bad else None,))
	is_(node.worker_of(full), wb, 'the session lives on worker %r' % (wb,))
	raw.close()
	bob.close()


main(test)
