#!/usr/bin/python3
# blocking.t: XEP-0191: alice blocks bob.  Bob's messages and IQs bounce
# with service-unavailable and alice sees nothing; alice's messages to bob
# bounce with not-acceptable + <blocked/>; the blocklist and its pushes to
# alice's other resource (on another worker); unblock one and unblock all.
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
	plan(32)
	node = Node(workers=2)
	for u in ('alice', 'bob'):
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


main(test)
