#!/usr/bin/python3
# pg_shared.t: two xfed nodes (own data dirs, ports and session tables)
# on one PostgreSQL database see the same data: an account made through
# node A's xfedctl logs in on node B; roster, vCard and block-list changes
# made on one node are read on the other; an offline message stored via A
# is delivered at login on B (and then gone for A too); a block made on A
# takes effect at once on B, whose workers had the old list cached (the
# store's change notice, NOTIFY, not the 5 min cache lifetime); an account
# deleted through B can no longer log in on A, and made again through B
# it starts on A with an empty blocklist, not the one A had cached.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_ROSTER = 'jabber:iq:roster'


def roster_item(c, jid):
	"""(subscription, name) of jid in c's roster (a roster get), or
	None; False when the get fails."""
	r = c.iq("<query xmlns='%s'/>" % NS_ROSTER)
	if r is None or r['type'] != 'result':
		return False
	for it in r.xml.find('{%s}query' % NS_ROSTER):
		if it.get('jid') == jid:
			return (it.get('subscription'), it.get('name'))
	return None


def vcard_fn(c, to=None):
	r = c.iq("<vCard xmlns='vcard-temp'/>", to=to)
	if r is None or r['type'] != 'result':
		return None
	fn = r.xml.find('{vcard-temp}vCard/{vcard-temp}FN')
	return fn.text if fn is not None else ''


NS_BLOCKING = 'urn:xmpp:blocking'


def command(client, kind, jids):
	items = ''.join("<item jid='%s'/>" % j for j in jids)
	r = client.iq("<%s xmlns='%s'>%s</%s>" % (kind, NS_BLOCKING, items,
	    kind), itype='set')
	return r['type'] if r is not None else None


def blocked_on_b(sender, to, inbox):
	"""The error sender's message to to came back as, or None."""
	body = 'probe-%06d' % random.randint(0, 999999)
	sender.send_message(to.full_jid, body)
	m = inbox.wait(lambda m: m['type'] == 'error' and m['body'] == body,
	    1)
	return m


def test():
	plan(28)
	a = Node(workers=2, name='A')
	b = Node(workers=2, name='B', pg_db=a.pg_db)
	is_([a.status().get('store'), b.status().get('store')],
	    ['pgsql', 'pgsql'], 'xfedctl status on both: store pgsql')
	ok(a.store == b.store == 'pgsql' and a.pg_db == b.pg_db and
	    a.data_dir != b.data_dir, 'two nodes, own data dirs, one '
	    'database (%s)' % a.pg_db)

	# --- accounts ------------------------------------------------------
	for u in ('alice', 'bob', 'dave', 'erin'):
		a.add_user(u + '@localhost', u + '-pw')
	r = b.ctl('user', 'list')
	ok(r.rc == 0 and 'alice@localhost' in str(r.data),
	    'B\'s xfedctl lists the account made through A')
	alice_b = Client(b, 'alice@localhost/onB', 'alice-pw')
	is_(alice_b.login(), 'session', 'alice (made on A) logs in on B')
	is_(Client(b, 'alice@localhost/x', 'nope').login(), 'failed_auth',
	    'B refuses a wrong password')

	# --- roster and vCard: written on A, read on B ------------------
	alice_a = login(a, 'alice@localhost/onA', 'alice-pw')
	r = alice_a.iq("<query xmlns='%s'><item jid='carol@example.org' "
	    "name='Carol'/></query>" % NS_ROSTER, itype='set')
	ok(r is not None and r['type'] == 'result',
	    'alice adds carol to her roster on A')
	is_(roster_item(alice_b, 'carol@example.org'), ('none', 'Carol'),
	    'the roster read on B has carol')
	rows = (b.ctl('roster', 'alice@localhost').data or {}).get('roster',
	    [])
	is_([(i.get('jid'), i.get('name')) for i in rows],
	    [('carol@example.org', 'Carol')],
	    'B\'s xfedctl roster shows her too')
	r = alice_b.iq("<query xmlns='%s'><item jid='carol@example.org' "
	    "subscription='remove'/></query>" % NS_ROSTER, itype='set')
	ok(r is not None and r['type'] == 'result' and
	    roster_item(alice_a, 'carol@example.org') is None,
	    'removed on B: gone from the roster read on A')

	r = alice_a.iq("<vCard xmlns='vcard-temp'><FN>Alice on A</FN>"
	    "</vCard>", itype='set')
	ok(r is not None and r['type'] == 'result', 'alice sets a vCard on A')
	bob_b = login(b, 'bob@localhost/onB', 'bob-pw')
	is_(vcard_fn(bob_b, 'alice@localhost'), 'Alice on A',
	    'bob on B reads alice\'s vCard set on A')
	bob_b.disconnect()
	wait_for(lambda: b.session(bob_b.full_jid) is None, 3)

	# --- offline messages: stored via A, delivered at B ----------------
	bodies = ['via-A-%d' % i for i in range(3)]
	send_messages(alice_a, 'bob@localhost', bodies)
	ok(wait_for(lambda: pump(0.1) or len(a.ctl('offline',
	    'bob@localhost').data['messages']) == 3, 5),
	    'A stored three offline messages for bob')
	is_([m['body'] for m in b.ctl('offline', 'bob@localhost')
	    .data['messages']], bodies, 'B\'s xfedctl sees them, in order')
	bob_b = login(b, 'bob@localhost/onB', 'bob-pw')
	got = [bob_b.wait_message(5) for _ in bodies]
	is_([m['body'] if m else None for m in got], bodies,
	    'bob logging in on B gets them, in order')
	ok(wait_for(lambda: a.ctl('offline', 'bob@localhost')
	    .data['messages'] == [], 5),
	    'delivered on B: gone for A too')

	# --- a block made on A, at once on B ------------------------------
	erin_b = login(b, 'erin@localhost/onB', 'erin-pw')
	ok(exchange(erin_b, alice_b) is not None and
	    exchange(alice_b, erin_b) is not None,
	    'erin and alice chat on B (B has alice\'s empty blocklist '
	    'cached)')
	is_(command(alice_a, 'block', ['erin@localhost']), 'result',
	    'alice blocks erin on A')
	inbox = Inbox(erin_b)
	t0 = time.monotonic()
	bounced = wait_for(lambda: blocked_on_b(erin_b, alice_b, inbox), 10,
	    0.3)
	is_(stanza_error(bounced) if bounced else None,
	    ('cancel', 'service-unavailable'),
	    'on B erin\'s message to alice now bounces (service-unavailable, '
	    'XEP-0191 3.2)')
	ok(bounced and time.monotonic() - t0 < 10,
	    'within 10 s, far inside the 5 min a cached list may live: the '
	    'notice crossed the nodes')
	is_(command(alice_a, 'unblock', ['erin@localhost']), 'result',
	    'alice unblocks erin on A')
	ok(wait_for(lambda: exchange(erin_b, alice_b, timeout=1) is not None,
	    10, 0.1), 'and on B erin reaches alice again')

	# --- an account deleted through B ----------------------------------
	# dave blocks bob on A; bob's worker there holds dave's list.
	bob_a = login(a, 'bob@localhost/onA', 'bob-pw')
	slot = a.worker_of(bob_a.full_jid)
	dave_a, _ = on_worker(a, 'dave@localhost/onA', 'dave-pw', slot)
	ok(dave_a is not None, 'dave logs in on A next to bob (slot %s)' % slot)
	if dave_a is None:
		raise RuntimeError('dave not placed')
	is_(command(dave_a, 'block', ['bob@localhost']), 'result',
	    'dave blocks bob on A')
	m = blocked_on_b(bob_a, dave_a, Inbox(bob_a))
	is_(stanza_error(m) if m else None, ('cancel', 'service-unavailable'),
	    'bob\'s message to dave bounces on A')
	dave_a.disconnect()
	wait_for(lambda: a.session(dave_a.full_jid) is None, 3)

	r = b.ctl('user', 'del', 'dave@localhost')
	is_(r.rc, 0, 'B\'s xfedctl deletes dave')
	is_(Client(a, 'dave@localhost/x', 'dave-pw').login(), 'failed_auth',
	    'dave can no longer log in on A')
	r = b.ctl('user', 'add', 'dave@localhost', input='dave-pw2\n')
	is_(r.rc, 0, 'B\'s xfedctl makes dave again')
	dave_a, _ = on_worker(a, 'dave@localhost/again', 'dave-pw2', slot)
	ok(dave_a is not None and exchange(bob_a, dave_a) is not None,
	    'the new dave on A: bob reaches him at once (the deletion\'s '
	    'notice dropped the old list A had cached)')

main(test, timeout=120)
