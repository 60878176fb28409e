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

NS_SM = 'urn:xmpp:sm:3'
N = 400			# messages bob sends, one every 5 ms
KILL_AT = 60		# alice has read this many when her worker dies


def conns(node):
	return {w['slot']: w.get('connections', 0) for w in node.workers_list()}


def raw_on(node, want, attempts=40):
	"""A RawClient whose TCP connection a worker slot with want(slot)
	accepted, found by watching the per-worker connection counts (no
	other connection may open or close meanwhile)."""
	for _ in range(attempts):
		before = conns(node)
		r = RawClient(node.port)
		rose = wait_for(lambda: [s for s, n in conns(node).items()
		    if n > before.get(s, 0)], 3)
		if rose and len(rose) == 1 and want(rose[0]):
			return r, rose[0]
		r.close()
		wait_for(lambda: conns(node) == before, 3)
	return None, None


def sm_read(raw, n=None, timeout=3, quiet=None, until=None):
	"""Message bodies (and other top-level elements) read for timeout
	seconds, or until n bodies, or until quiet seconds pass with nothing,
	or until(el); <r/> is not answered."""
	bodies, other = [], []
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if n is not None and len(bodies) >= n:
			break
		left = deadline - time.monotonic()
		el = raw.read_element(min(left, quiet) if quiet else left)
		if el is None:
			break
		if el.tag == '{jabber:client}message':
			b = el.find('{jabber:client}body')
			bodies.append(b.text if b is not None else None)
		else:
			other.append(el)
			if until is not None and until(el):
				break
	return bodies, other


def tag(el):
	return el.tag.split('}', 1)[-1] if el is not None else None


def test():
	plan(11)
	node = Node(workers=2)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')

	bob, wb = raw_on(node, lambda s: True)
	bob.login('bob', 'bob-pw', resource='sender')
	alice, wa = raw_on(node, lambda s: s != wb)
	ok(alice is not None, 'bob on worker %r, alice on worker %r' % (wb, wa))
	if alice is None:
		raise RuntimeError('could not place alice on the other worker')
	full = alice.login('alice', 'alice-pw', resource='phone')
	alice.send("<presence/><enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = sm_read(alice, timeout=5, until=lambda e: tag(e) in
	    ('enabled', 'failed'))
	en = other[-1] if other else None
	ok(tag(en) == 'enabled' and en.get('resume') == 'true',
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

	first, _ = sm_read(alice, n=KILL_AT, timeout=10)
	index, pid = node.kill_worker(wa, signal.SIGSTOP)
	time.sleep(0.3)
	os.kill(pid, signal.SIGKILL)
	# What was on the wire when it died; then the connection is gone.
	rest, _ = sm_read(alice, timeout=5)
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
	wait_for(lambda: conns(node).get(wb) == 1 and sum(conns(node).values())
	    == 1, 5)
	raw, w2 = raw_on(node, lambda s: s == wb)
	ok(raw is not None, 'a new connection on the surviving worker %r' %
	    (wb,))
	if raw is None:
		raise RuntimeError('could not reach the surviving worker')
	raw.authenticate('alice', 'alice-pw')
	raw.open()
	raw.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, smid,
	    len(old)))
	_, other = sm_read(raw, timeout=5, until=lambda e: tag(e) in
	    ('resumed', 'failed'))
	el = other[-1] if other else None
	ok(tag(el) == 'resumed' and el.get('previd') == smid,
	    'resumed on worker %r (%r)' % (w2, el.attrib if el is not None
	    else None))
	is_(el.get('h') if el is not None else None, '0',
	    'h: alice sent nothing')

	sender.join(10)
	new, _ = sm_read(raw, n=N - len(old), timeout=15)
	extra, _ = sm_read(raw, timeout=1)
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
