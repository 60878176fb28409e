#!/usr/bin/python3
# blocking.t: XEP-0191: alice blocks bob.  Bob's messages and IQs bounce
# with service-unavailable and alice sees nothing; alice's messages to bob
# bounce with not-acceptable + <blocked/>; the blocklist and its pushes to
# alice's other resource (on another worker); unblock one and unblock all.
# Then the per-worker blocklist caches: carol has a resource on each
# worker, dave one next to each; after messages have warmed both caches,
# a block from one worker and an unblock from the other take effect on
# both at once.  On PostgreSQL (t/pgsql/blocking.t), with the database
# killed: cached blocks hold, chat goes on, changes fail with 'wait'.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_BLOCKING = 'urn:xmpp:blocking'
NS_BLOCKED = 'urn:xmpp:blocking:errors'


def watch_pushes(client):
	"""Records the blocking pushes client gets: ('block'|'unblock',
	[jids])."""
	got = []

	def on_push(kind):
		def fn(iq):
			el = iq.xml.find('{%s}%s' % (NS_BLOCKING, kind))
			got.append((kind, sorted(i.get('jid') for i in
			    el.findall('{%s}item' % NS_BLOCKING))))
			iq.reply().send()
		return fn
	for kind in ('block', 'unblock'):
		client.xmpp.register_handler(Callback('push ' + kind,
		    MatchXPath('{%s}iq/{%s}%s' % (NS_CLIENT, NS_BLOCKING, kind)),
		    on_push(kind)))
	return got


def watch_presence(client, pred):
	got = []
	client.xmpp.register_handler(Callback('presence watch',
	    MatchXPath('{%s}presence' % NS_CLIENT),
	    lambda p: got.append((str(p['from']), p['type'])) if pred(p)
	    else None))
	# The test answers subscriptions itself.
	client.xmpp.auto_authorize = None
	client.xmpp.auto_subscribe = False
	return got


def blocklist(client):
	r = client.iq("<blocklist xmlns='%s'/>" % NS_BLOCKING)
	if r is None or r['type'] != 'result':
		return None
	el = r.xml.find('{%s}blocklist' % NS_BLOCKING)
	return sorted(i.get('jid') for i in
	    el.findall('{%s}item' % NS_BLOCKING)) if el is not None else None


def command(client, kind, jids):
	items = ''.join("<item jid='%s'/>" % j for j in jids)
	r = client.iq("<%s xmlns='%s'>%s</%s>" % (kind, NS_BLOCKING, items,
	    kind), itype='set')
	return r['type'] if r is not None else None


def test():
	plan(53)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')

	a1 = login(node, 'alice@localhost/a1', 'alice-pw')
	a2, _ = on_different_workers(node, 'alice@localhost/a2', 'alice-pw',
	    a1.full_jid)
	ok(a2 is not None, 'alice/a2 on another worker than alice/a1')
	if a2 is None:
		raise RuntimeError('no second session on another worker')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	ia1, ia2, ib = Inbox(a1), Inbox(a2), Inbox(bob)
	pushes = watch_pushes(a2)
	pres_a1 = watch_presence(a1, lambda p: p['from'].bare ==
	    'bob@localhost')
	pres_bob = watch_presence(bob, lambda p: p['type'] == 'error')
	pres_alice = watch_presence(bob, lambda p: p['from'].bare ==
	    'alice@localhost')

	is_(blocklist(a1), [], 'the blocklist starts empty')
	is_(command(a1, 'block', ['Bob@LOCALHOST']), 'result',
	    'alice blocks bob')
	ok(wait_for(lambda: ('block', ['bob@localhost']) in pushes, 5),
	    'the block push reaches alice/a2 on the other worker '
	    '(JID normalised) (got %r)' % (pushes,))
	is_(blocklist(a2), ['bob@localhost'], 'the blocklist holds bob')

	# Bob -> alice: errors, and alice sees nothing.
	bob.send_message(a1.full_jid, 'blocked-1')
	m = ib.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'blocked-1')
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'bob\'s message to alice/a1 bounces with service-unavailable')
	is_(str(m['from']) if m else None, a1.full_jid,
	    'the bounce comes from the address bob wrote to')
	bob.send_message('alice@localhost', 'blocked-2')
	m = ib.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'blocked-2')
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'bob\'s message to alice\'s bare JID bounces too')
	r = bob.iq("<ping xmlns='urn:xmpp:ping'/>", to=a1.full_jid)
	is_(stanza_error(r), ('cancel', 'service-unavailable'),
	    'bob\'s IQ to alice/a1 gets service-unavailable')
	r = bob.iq("<query xmlns='http://jabber.org/protocol/disco#info'/>",
	    to='alice@localhost')
	is_(stanza_error(r), ('cancel', 'service-unavailable'),
	    'bob\'s IQ to alice\'s account gets service-unavailable')
	bob.xmpp.send_presence(pto=a1.full_jid, pstatus='let me in')
	pump(1.0)
	is_(ia1.find(lambda m: m['body'] in ('blocked-1', 'blocked-2')) +
	    ia2.find(lambda m: m['body'] in ('blocked-1', 'blocked-2')), [],
	    'alice got none of bob\'s messages')
	is_((pres_a1, pres_bob), ([], []), 'bob\'s presence vanished: alice '
	    'did not get it, bob got no error')

	# Alice -> bob: not-acceptable with <blocked/>.
	a1.send_message(bob.full_jid, 'to-blocked')
	m = ia1.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'to-blocked')
	is_(stanza_error(m), ('cancel', 'not-acceptable'),
	    'alice\'s message to bob bounces with not-acceptable')
	ok(m is not None and m.xml.find('{%s}error/{%s}blocked' % (NS_CLIENT,
	    NS_BLOCKED)) is not None, 'the error carries <blocked/>')
	is_(str(m['from']) if m else None, bob.full_jid,
	    'the bounce comes from bob\'s address')
	pump(0.5)
	is_(ib.find(lambda m: m['body'] == 'to-blocked'), [],
	    'bob did not get it')

	# Bob's other resource is blocked too (a bare JID item); a full JID
	# item blocks only that resource.
	is_(command(a1, 'unblock', ['bob@localhost']), 'result',
	    'alice unblocks bob')
	ok(wait_for(lambda: ('unblock', ['bob@localhost']) in pushes, 5),
	    'the unblock push reaches alice/a2')
	is_(blocklist(a1), [], 'the blocklist is empty again')
	m = exchange(bob, a1, 'hello again')
	ok(m is not None, 'bob -> alice flows again')
	m = exchange(a1, bob, 'hi bob')
	ok(m is not None, 'alice -> bob flows again')

	bob2 = login(node, 'bob@localhost/other', 'bob-pw')
	ib2 = Inbox(bob2)
	is_(command(a1, 'block', ['bob@localhost/b']), 'result',
	    'alice blocks only bob/b')
	bob.send_message(a1.full_jid, 'from-b')
	bob2.send_message(a1.full_jid, 'from-other')
	ok(ia1.wait(lambda m: m['body'] == 'from-other') is not None,
	    'bob/other still reaches alice')
	ok(ib.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'from-b') is not None, 'bob/b bounces')

	# Unblock all: an empty <unblock/>.
	is_(command(a1, 'block', ['localhost.example', 'bob@localhost']),
	    'result', 'alice blocks a domain and bob')
	is_(command(a1, 'unblock', []), 'result', 'alice unblocks everyone')
	ok(wait_for(lambda: ('unblock', []) in pushes, 5) and
	    blocklist(a1) == [] and exchange(bob, a1, 'free') is not None and
	    not ib2.find(lambda m: m['type'] == 'error'),
	    'the empty unblock is pushed, the list is empty, bob gets through')

	# Bob subscribed to alice: blocking him sends him alice's unavailable
	# presence, unblocking her current presence (XEP-0191 3.3, 3.4).
	bob.xmpp.send_presence(pto='alice@localhost', ptype='subscribe')
	ok(wait_for(lambda: (pump(0.05), ('bob@localhost', 'subscribe') in
	    pres_a1)[1], 5), 'alice gets bob\'s subscription request')
	a1.xmpp.send_presence(pto='bob@localhost', ptype='subscribed')
	ok(wait_for(lambda: (pump(0.05), (a1.full_jid, 'available') in
	    pres_alice)[1], 5), 'bob then gets alice\'s presence')
	del pres_alice[:]
	command(a1, 'block', ['bob@localhost'])
	ok(wait_for(lambda: (pump(0.05), sorted(pres_alice))[1] == sorted([
	    (a1.full_jid, 'unavailable'), (a2.full_jid, 'unavailable')]), 5),
	    'blocked, bob sees both of alice\'s resources go away (got %r)' %
	    (pres_alice,))
	del pres_alice[:]
	a2.xmpp.send_presence(pstatus='busy', ppriority=0)
	pump(1.0)
	is_(pres_alice, [], 'while blocked, alice\'s broadcast skips bob')
	command(a1, 'unblock', ['bob@localhost'])
	ok(wait_for(lambda: (pump(0.05), sorted(pres_alice))[1] == sorted([
	    (a1.full_jid, 'available'), (a2.full_jid, 'available')]), 5),
	    'unblocked, bob sees alice\'s resources again (got %r)' %
	    (pres_alice,))
	clients = coherence(node)
	db_down(node, clients, a1, bob, Inbox(a1), Inbox(bob))


def send_and_see(frm, to, inbox, body, timeout=5):
	"""frm sends to (a client) a chat message: what to's inbox got with
	that body within timeout, or None."""
	frm.send_message(to.full_jid, body)
	return inbox.wait(lambda m: m['body'] == body and
	    m['type'] != 'error', timeout)


def coherence(node):
	"""Each worker caches blocklists (worker/blocking.c): a change made
	on one worker must reach the other's cache before the client hears
	of it, so no wait between the IQ result and the next stanza."""
	c1 = login(node, 'carol@localhost/c1', 'carol-pw')
	c2, s2 = on_different_workers(node, 'carol@localhost/c2', 'carol-pw',
	    c1.full_jid)
	s1 = node.worker_of(c1.full_jid)
	ok(c2 is not None, 'carol/c2 on another worker than carol/c1')
	if c2 is None:
		raise RuntimeError('no second session on another worker')
	# dave/d1 next to carol/c2, dave/d2 next to carol/c1: the blocking
	# hooks run on the sender's worker, both ways.
	d1, _ = on_worker(node, 'dave@localhost/d1', 'dave-pw', s2)
	d2, _ = on_worker(node, 'dave@localhost/d2', 'dave-pw', s1)
	ok(d1 is not None and d2 is not None, 'dave/d1 on carol/c2\'s worker '
	    '(slot %s), dave/d2 on carol/c1\'s (slot %s)' % (s2, s1))
	if d1 is None or d2 is None:
		raise RuntimeError('dave not placed')
	ic1, ic2, id1, id2 = Inbox(c1), Inbox(c2), Inbox(d1), Inbox(d2)

	# Warm: carol's list is read on both workers (dave -> carol checks
	# it on dave's worker, carol -> dave on carol's).
	warm = [send_and_see(d1, c2, ic2, 'warm-1'),
	    send_and_see(d2, c1, ic1, 'warm-2'),
	    send_and_see(c1, d2, id2, 'warm-3'),
	    send_and_see(c2, d1, id1, 'warm-4')]
	ok(all(m is not None for m in warm),
	    'before any block, messages flow both ways on both workers')

	is_(command(c1, 'block', ['dave@localhost']), 'result',
	    'carol blocks dave from c1 (slot %s)' % s1)
	d1.send_message(c2.full_jid, 'cold-1')
	m = id1.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'cold-1')
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'at once, dave/d1 -> carol/c2, checked on the other worker '
	    '(slot %s), bounces' % s2)
	c2.send_message(d1.full_jid, 'cold-2')
	m = ic2.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'cold-2')
	ok(m is not None and stanza_error(m) == ('cancel', 'not-acceptable')
	    and m.xml.find('{%s}error/{%s}blocked' % (NS_CLIENT, NS_BLOCKED))
	    is not None, 'carol/c2 -> dave bounces with <blocked/> on the '
	    'other worker')
	d2.send_message(c2.full_jid, 'cold-3')
	m = id2.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'cold-3')
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'dave/d2 -> carol/c2, checked on the blocking worker, bounces')
	pump(0.5)
	is_(ic1.find(lambda m: m['body'].startswith('cold-')) +
	    ic2.find(lambda m: m['body'].startswith('cold-') and
	    m['type'] != 'error') + id1.find(lambda m: m['body'] == 'cold-2'
	    and m['type'] != 'error'), [], 'none of them was delivered')

	is_(command(c2, 'unblock', ['dave@localhost']), 'result',
	    'carol unblocks dave from c2 (slot %s)' % s2)
	ok(send_and_see(d2, c1, ic1, 'thaw-1') is not None,
	    'at once, dave/d2 -> carol/c1, checked on the other worker '
	    '(slot %s), arrives' % s1)
	ok(send_and_see(c1, d2, id2, 'thaw-2') is not None,
	    'carol/c1 -> dave arrives from the other worker')
	ok(send_and_see(d1, c1, ic1, 'thaw-3') is not None,
	    'dave/d1 -> carol/c1, checked on the unblocking worker, arrives')
	is_(id1.find(lambda m: m['type'] == 'error' and
	    m['body'].startswith('thaw-')) + id2.find(lambda m:
	    m['type'] == 'error' and m['body'].startswith('thaw-')), [],
	    'and nothing bounced')
	return (c1, c2, d1, d2, ic1, ic2, id1, id2)


DOWN_TESTS = 8


def db_down(node, clients, a1, bob, ia1, ib):
	"""PostgreSQL killed: a list cached before stays in force, a user
	with no list cached blocks nobody, a change fails (type 'wait');
	the store back, changes work again."""
	if node.store != 'pgsql':
		for i in range(DOWN_TESTS):
			skip('database down %d' % (i + 1), 'LMDB store')
		return
	c1, c2, d1, d2, ic1, ic2, id1, id2 = clients
	pg = node.pg
	is_(command(c1, 'block', ['dave@localhost']), 'result',
	    'carol blocks dave again')
	d1.send_message(c2.full_jid, 'pre-1')
	d2.send_message(c1.full_jid, 'pre-2')
	ok(id1.wait(lambda m: m['type'] == 'error' and m['body'] == 'pre-1')
	    is not None and id2.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'pre-2') is not None,
	    'both workers read the list again and refuse dave')

	pg.stop('kill')
	d1.send_message(c2.full_jid, 'down-1')
	m = id1.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'down-1', 10)
	is_(stanza_error(m), ('cancel', 'service-unavailable'),
	    'database down: the cached block still refuses dave')
	c1.send_message(d2.full_jid, 'down-2')
	m = ic1.wait(lambda m: m['type'] == 'error' and
	    m['body'] == 'down-2', 10)
	is_(stanza_error(m), ('cancel', 'not-acceptable'),
	    'and carol\'s message to dave still bounces')
	ok(send_and_see(a1, bob, ib, 'down-3', 10) is not None and
	    send_and_see(bob, a1, ia1, 'down-4', 10) is not None,
	    'alice and bob chat on')
	r = c2.iq("<unblock xmlns='%s'><item jid='dave@localhost'/>"
	    "</unblock>" % NS_BLOCKING, itype='set', timeout=15)
	is_(stanza_error(r), ('wait', 'internal-server-error'),
	    'an unblock fails with internal-server-error, type wait')

	pg.start()
	ok(wait_for(lambda: command(c2, 'unblock', ['dave@localhost']) ==
	    'result' or pump(0.3), 20),
	    'the database back, the unblock succeeds (within 20 s)')
	ok(send_and_see(d2, c1, ic1, 'up-1') is not None and
	    send_and_see(d1, c2, ic2, 'up-2') is not None,
	    'and dave reaches carol on both workers')


main(test)
