#!/usr/bin/python3
# sm_resume.t: XEP-0198 resumption on the other worker: messages not
# acknowledged are sent again in order, those sent while detached follow,
# nothing twice; h both ways; acks trim the queue; a clean close ends the
# session.  A resume while the old stream is still open closes that one.
# Then slixmpp's own XEP-0198 plugin resumes across a cut.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403
from xfedtest import _loop			# noqa: E402


def test():
	plan(36)
	node = Node(workers=2)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	bob = login(node, 'bob@localhost/b', 'bob-pw')

	# Before and after binding.
	raw, _ = raw_on_worker(node, lambda s: True)
	raw.authenticate('alice', 'alice-pw')
	feats = raw.open()
	ok('sm' in features_list(feats), 'sm offered after authentication')
	raw.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
	el = raw.read_element()
	ok(local_name(el) == 'failed' and el.find('{%s}unexpected-request' %
	    NS_STANZAS) is not None, 'enable before bind: unexpected-request')
	raw.close()

	ok(scenario(node, bob, 'r1'), 'resumed on the other worker')
	takeover(node, bob)

	slixmpp_resume(node, bob)


def scenario(node, bob, res):
	"""One life of a session; True if it resumed on the other worker."""
	wait_for(lambda: sum(worker_connections(node).values()) == 1, 5)
	raw, w1 = raw_on_worker(node, lambda s: True)
	full = raw.login('alice', 'alice-pw', resource=res)
	raw.send("<presence/>")
	raw.send("<enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=5, until=lambda e: local_name(e) in
	    ('enabled', 'failed'))
	en = other[-1] if other else None
	ok(local_name(en) == 'enabled' and en.get('resume') == 'true' and
	    len(en.get('id', '')) >= 16 and en.get('max') == '300',
	    'enabled: resumable, an id, max 300 (%r)' % (en.attrib if en is not
	    None else None,))
	smid = en.get('id') if en is not None else ''
	ok(node.worker_of(full) == w1, 'alice/%s on worker %r' % (res, w1))

	# Two stanzas from alice count toward the h the server reports.
	for i in (1, 2):
		raw.send("<message to='%s' type='chat'><body>a%d</body>"
		    "</message>" % (bob.full_jid, i))
	got = [bob.wait_message(5, lambda m: m['body'] == 'a%d' % i)
	    for i in (1, 2)]
	ok(all(got), 'alice\'s messages reach bob')

	send_messages(bob, full, ['m%d' % i for i in range(1, 6)])
	bodies, other = read_bodies(raw, n=5, timeout=5)
	is_(bodies, ['m1', 'm2', 'm3', 'm4', 'm5'], 'five messages before '
	    'the cut')
	_, other2 = read_bodies(raw, timeout=1.5)
	ok([e for e in other + other2 if local_name(e) == 'r'],
	    'the server asks for an ack (<r/>)')
	# The client has handled two and acks them; three stay unacked.
	raw.send("<a xmlns='%s' h='2'/>" % NS_SM)
	raw.send("<r xmlns='%s'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=3, until=lambda e:
	    local_name(e) == 'a')
	a = other[-1] if other else None
	is_(a.get('h') if local_name(a) == 'a' else None, '2',
	    'the server handled alice\'s two messages')

	# The cut: no </stream:stream>.
	raw.close()
	ok(wait_for(lambda: 'sm session %s kept' % smid in node.log_text(),
	    5), 'the server keeps the session detached')
	s = node.session(full)
	ok(s is not None, 'the detached session stays in the table')
	send_messages(bob, full, ['m%d' % i for i in range(6, 9)])

	# The resume, on the other worker when we can get there.
	wait_for(lambda: sum(worker_connections(node).values()) == 1, 5)
	raw2, w2 = raw_on_worker(node, lambda s: s != w1)
	if raw2 is None:
		raw2, w2 = raw_on_worker(node, lambda s: True)
	raw2.authenticate('alice', 'alice-pw')
	feats = raw2.open()
	ok('sm' in features_list(feats), 'sm offered on the new stream')
	raw2.send("<resume xmlns='%s' previd='%s' h='2'/>" % (NS_SM, smid))
	el = raw2.read_element()
	ok(local_name(el) == 'resumed' and el.get('previd') == smid,
	    'resumed (%s)' % (el.attrib if el is not None else None,))
	is_(el.get('h') if el is not None else None, '2',
	    '<resumed h/> counts what alice sent')
	bodies, other = read_bodies(raw2, n=6, timeout=5)
	is_(bodies, ['m3', 'm4', 'm5', 'm6', 'm7', 'm8'], 'unacked ones again, '
	    'then those sent while detached, in order')
	bodies, _ = read_bodies(raw2, timeout=1)
	is_(bodies, [], 'nothing twice')
	is_(node.worker_of(full), w2, 'the session record points at worker '
	    '%r (was %r)' % (w2, w1))

	# The session goes on: both ways, acks and h.
	send_messages(bob, full, ['m9'])
	bodies, _ = read_bodies(raw2, n=1, timeout=5)
	is_(bodies, ['m9'], 'a new message after the resume')
	raw2.send("<message to='%s' type='chat'><body>a3</body></message>" %
	    bob.full_jid)
	ok(bob.wait_message(5, lambda m: m['body'] == 'a3'),
	    'alice sends after the resume')
	# 2 acked + m3..m9 = 9 handled.
	raw2.send("<a xmlns='%s' h='9'/><r xmlns='%s'/>" % (NS_SM, NS_SM))
	_, other = read_bodies(raw2, timeout=3, until=lambda e:
	    local_name(e) == 'a')
	a = other[-1] if other else None
	is_(a.get('h') if local_name(a) == 'a' else None, '3', 'h now 3')
	raw2.send("<a xmlns='%s' h='12'/>" % NS_SM)
	ok(raw2.read_stream_error(3) == 'undefined-condition',
	    'an h beyond what was sent: undefined-condition')
	raw2.close()

	# That was a clean end (the server closed with an error): the
	# session is over, nothing to resume.
	ok(wait_for(lambda: node.session(full) is None, 5),
	    'the session is gone after the stream error')
	raw3, _ = raw_on_worker(node, lambda s: True)
	raw3.authenticate('alice', 'alice-pw')
	raw3.open()
	raw3.send("<resume xmlns='%s' previd='%s' h='9'/>" % (NS_SM, smid))
	el = raw3.read_element()
	ok(local_name(el) == 'failed' and el.find('{%s}item-not-found' %
	    NS_STANZAS) is not None,
	    'resuming an ended session: item-not-found')
	raw3.close()
	return w2 != w1


def takeover(node, bob):
	"""The client reconnects before the server noticed the old stream
	died: the resume closes the old stream, and the session lives on."""
	wait_for(lambda: sum(worker_connections(node).values()) == 1, 5)
	raw, w1 = raw_on_worker(node, lambda s: True)
	full = raw.login('alice', 'alice-pw', resource='live')
	raw.send("<presence/><enable xmlns='%s' resume='true'/>" % NS_SM)
	_, other = read_bodies(raw, timeout=5, until=lambda e: local_name(e) in
	    ('enabled', 'failed'))
	smid = other[-1].get('id') if other else ''
	send_messages(bob, full, ['t1', 't2', 't3'])
	bodies, _ = read_bodies(raw, n=3, timeout=5)

	raw2, w2 = raw_on_worker(node, lambda s: s != w1)
	raw2.authenticate('alice', 'alice-pw')
	raw2.open()
	raw2.send("<resume xmlns='%s' previd='%s' h='1'/>" % (NS_SM, smid))
	el = raw2.read_element()
	ok(bodies == ['t1', 't2', 't3'] and local_name(el) == 'resumed',
	    'resumed on worker %r while the stream on worker %r is open' %
	    (w2, w1))
	bodies, _ = read_bodies(raw2, n=2, timeout=5)
	is_(bodies, ['t2', 't3'], 'what h did not cover comes again')
	is_(raw.read_stream_error(5), 'conflict', 'the old stream is closed '
	    'with conflict')
	ok(raw.wait_closed(5), 'and cut')
	raw.close()
	pump(0.3)
	s = node.session(full)
	is_(s and s.get('worker'), w2, 'the session stays, on worker %r' % w2)
	send_messages(bob, full, ['t4'])
	bodies, _ = read_bodies(raw2, n=1, timeout=5)
	is_(bodies, ['t4'], 'and goes on')
	raw2.send("</stream:stream>")
	ok(raw2.wait_closed(5) and wait_for(lambda: node.session(full) is
	    None, 5), 'a clean close ends it')
	raw2.close()


class SmClient(Client):
	"""A slixmpp client with its XEP-0198 plugin."""

	def _new_xmpp(self):
		x = Client._new_xmpp(self)
		x.register_plugin('xep_0198')
		self.resumed = _loop.create_future()
		x.add_event_handler('session_resumed', lambda e:
		    self.resumed.done() or self.resumed.set_result(True))
		return x


def slixmpp_resume(node, bob):
	wait_for(lambda: sum(worker_connections(node).values()) == 1, 5)
	c = SmClient(node, 'alice@localhost/slix', 'alice-pw')
	is_(c.login(), 'session', 'slixmpp logs in with XEP-0198')
	sm = c.xmpp['xep_0198']
	ok(wait_for(lambda: (pump(0.05), sm.sm_id)[1], 5),
	    'slixmpp got a resumption id')
	full = c.full_jid
	for i in range(3):
		bob.send_message(full, 's%d' % i)
	got = [c.wait_message(5, lambda m, i=i: m['body'] == 's%d' % i)
	    for i in range(3)]
	ok(all(got), 'messages arrive')
	# Cut the TCP connection under slixmpp and let it reconnect.
	c.xmpp.transport.abort()
	ok(wait_for(lambda: (pump(0.05), 'sm session %s kept' % sm.sm_id in
	    node.log_text())[1], 5), 'detached')
	bob.send_message(full, 'while-away')
	pump(0.3)
	c.xmpp.connect(address=('127.0.0.1', node.port), force_starttls=True)
	try:
		run(asyncio.shield(c.resumed), 10)
		resumed = True
	except Exception:
		resumed = False
	ok(resumed, 'slixmpp resumed its session')
	m = c.wait_message(5, lambda m: m['body'] == 'while-away')
	ok(m is not None, 'the message sent while away arrives')
	c.disconnect()


main(test)
