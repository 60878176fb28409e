#!/usr/bin/python3
# sm_kill_ack.t: what the server acknowledged survives a kill -9.  Alice
# and bob both use XEP-0198, on different workers; alice sends bob a
# steady 200 messages a second and asks for acks; bob answers the
# server's <r/> as a client does.  Then bob's link stalls for 0.8 s (the
# server's writes pile up in the socket), and his worker is killed with
# SIGKILL, nothing stopped first.  Of what was on the wire bob handles
# only half, as a client whose connection dies under it; he resumes on
# the respawned worker with the h he really has.  Every message the
# server acknowledged to alice must reach bob exactly once: handled
# before the kill, sent again on resume, after it, or from offline
# storage; none bob acknowledged (counted in his h) may come again.
import os
import sys
import threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

N = 1200		# messages alice sends, 200 a second
RATE = 200
KILL_AT = 300		# bob has read this many when his link stalls
STALL = 0.8		# seconds bob reads nothing before his worker dies
STANZAS = ('message', 'presence', 'iq')


def enable(raw):
	"""<enable resume/>: the resumption id, or None."""
	raw.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=5, until=lambda e:
	    local_name(e) in ('enabled', 'failed'))
	en = other[-1] if other else None
	if local_name(en) != 'enabled' or en.get('resume') != 'true':
		return None
	return en.get('id')


class Reader:
	"""Bob's side: counts every stanza (XEP-0198's h), keeps message
	bodies, answers <r/> with <a h/> as a client does."""

	def __init__(self, raw):
		self.raw = raw
		self.log = []		# body (None: not a message) per stanza
		self.other = []

	@property
	def h(self):
		return len(self.log)

	@property
	def bodies(self):
		return [b for b in self.log if b is not False]

	def forget(self, n):
		"""The last n stanzas were never handled after all."""
		del self.log[len(self.log) - n:]

	def read(self, n=None, timeout=5, quiet=None, ack=True):
		"""Reads until n bodies in all, quiet seconds with nothing, the
		connection ends, or timeout."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if n is not None and len(self.bodies) >= n:
				break
			left = deadline - time.monotonic()
			el = self.raw.read_element(min(left, quiet) if quiet
			    else left)
			if el is None:
				break
			name = local_name(el)
			if el.tag.startswith('{jabber:client}') and \
			    name in STANZAS:
				b = el.find('{jabber:client}body')
				self.log.append(False if name != 'message'
				    else b.text if b is not None else None)
			elif name == 'r' and ack:
				self.raw.send("<a xmlns='%s' h='%d'/>" %
				    (NS_SM, self.h))
			else:
				self.other.append(el)
		return self.bodies


class Sender:
	"""Alice's side, on a thread: numbered messages at RATE a second,
	<r/> every ten, and the largest h the server acknowledged.  Her
	presence went before <enable/>, so h counts her messages alone:
	h = n acknowledges messages 1..n."""

	def __init__(self, raw, to):
		self.raw = raw
		self.to = to
		self.sent = 0
		self.acked = 0
		self.errors = []
		self.t = threading.Thread(target=self.run, daemon=True)

	def take(self, timeout):
		el = self.raw.read_element(timeout)
		if el is None:
			return False
		if local_name(el) == 'a' and el.get('h', '').isdigit():
			self.acked = max(self.acked, int(el.get('h')))
		elif local_name(el) == 'message' and el.get('type') == 'error':
			self.errors.append(el)
		return True

	def run(self):
		t0 = time.monotonic()
		for i in range(1, N + 1):
			if not self.raw.send("<message to='%s' type='chat'>"
			    "<body>%d</body></message>" % (self.to, i)):
				return
			self.sent = i
			if i % 10 == 0:
				self.raw.send("<r xmlns='%s'/>" % NS_SM)
			# Read acks until this message's turn is over.
			due = t0 + i / RATE
			while time.monotonic() < due:
				self.take(max(0.001, due - time.monotonic()))
		self.raw.send("<r xmlns='%s'/>" % NS_SM)
		deadline = time.monotonic() + 15
		while self.acked < self.sent and time.monotonic() < deadline:
			self.take(0.2)


def test():
	plan(12)
	node = Node(workers=2)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')

	bobr, wb = raw_on_worker(node, lambda s: True)
	full = bobr.login('bob', 'bob-pw', resource='phone')
	bobr.send("<presence/>")
	smid = enable(bobr)
	alice, wa = raw_on_worker(node, lambda s: s != wb)
	ok(alice is not None and smid is not None, 'bob (SM, resumable) on '
	    'worker %r, alice on worker %r' % (wb, wa))
	if alice is None or smid is None:
		raise RuntimeError('could not set up bob and alice')
	alice.login('alice', 'alice-pw', resource='pc')
	alice.send("<presence/>")
	ok(enable(alice) is not None, 'alice has stream management too')

	bob = Reader(bobr)
	sender = Sender(alice, full)
	sender.t.start()
	bob.read(n=KILL_AT, timeout=15)
	time.sleep(STALL)
	index, pid = node.kill_worker(wb, signal.SIGKILL)
	acked_at_kill = sender.acked
	# What was on the wire when it died: bob gets it, but handles only
	# the first half before he notices, and cannot tell the server.
	handled = bob.h
	bob.read(timeout=5, ack=False)
	wire = bob.h - handled
	bob.forget(wire - wire // 2)
	ok(bobr.closed, 'bob\'s connection died with worker %r: %d messages '
	    'handled, %d more on the wire (alice had %d acknowledged)' % (wb,
	    handled, wire, acked_at_kill))
	bobr.close()
	before = len(bob.bodies)

	neww = wait_for(lambda: [w for w in node.workers_list() if
	    w.get('index') == index and w.get('pid') not in (None, pid) and
	    w.get('state') == 'running'], 5)
	ok(neww, 'the master respawned the worker')
	slot = neww[0]['slot'] if neww else None
	raw, _ = raw_on_worker(node, lambda s: s == slot)
	ok(raw is not None, 'a new connection on the respawned worker %r' %
	    (slot,))
	if raw is None:
		raise RuntimeError('could not reach the respawned worker')
	raw.authenticate('bob', 'bob-pw')
	raw.open()
	raw.send("<resume xmlns='%s' previd='%s' h='%d'/>" % (NS_SM, smid,
	    bob.h))
	_, other = read_bodies(raw, timeout=5, until=lambda e:
	    local_name(e) in ('resumed', 'failed'))
	el = other[-1] if other else None
	ok(local_name(el) == 'resumed' and el.get('previd') == smid,
	    'resumed with h %d (%r)' % (bob.h, el.attrib if el is not None
	    else None))

	bob.raw = raw
	sender.t.join(N / RATE + 30)
	bob.read(n=N, timeout=20, quiet=3)
	ok(not sender.t.is_alive() and sender.acked == N, 'alice sent %d, '
	    'the server acknowledged %d' % (sender.sent, sender.acked))
	is_(len(sender.errors), 0, 'no message came back to alice as an error')

	# Bob acknowledges everything and leaves cleanly; anything the server
	# kept elsewhere shows up as offline messages at his next login.
	raw.send("<a xmlns='%s' h='%d'/>" % (NS_SM, bob.h))
	raw.send("</stream:stream>")
	raw.wait_closed(5)
	raw.close()
	wait_for(lambda: node.session(full) is None, 5)
	late = RawClient(node.port, timeout=10)
	late.login('bob', 'bob-pw', resource='later')
	late.send("<presence/>")
	offline, _ = read_bodies(late, timeout=5, quiet=1.5)
	late.close()

	got = [int(b) for b in bob.bodies + offline if b and b.isdigit()]
	dups = sorted(set(x for x in got if got.count(x) > 1))
	acked = set(range(1, sender.acked + 1))
	lost = sorted(acked - set(got))
	unacked_lost = sorted(set(range(sender.acked + 1, sender.sent + 1)) -
	    set(got))
	diag('bob: %d handled before the kill (%d of them on the wire), %d '
	    'after the resume, %d offline; alice: %d sent, %d acknowledged '
	    '(%d at the kill)' % (before, wire // 2, len(bob.bodies) - before,
	    len(offline), sender.sent, sender.acked, acked_at_kill))
	ok(not lost, 'no acknowledged message lost (%d lost: %s)' % (len(lost),
	    '%d..%d' % (lost[0], lost[-1]) if lost else '-'))
	ok(not unacked_lost, 'no unacknowledged message lost either (%r)' %
	    (unacked_lost[:10],))
	ok(not dups, 'nothing twice (%d duplicates: %r)' % (len(dups),
	    dups[:10]))
	want = list(range(1, N + 1))
	bad = [i for i, (g, x) in enumerate(zip(got, want)) if g != x]
	ok(got == want, 'every message once, in order (first difference at '
	    'position %r)' % (bad[0] if bad else None,))


main(test, timeout=150)
