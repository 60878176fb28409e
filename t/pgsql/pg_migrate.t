#!/usr/bin/python3
# pg_migrate.t: a node on LMDB gets accounts, rosters, offline messages, a
# vCard, private XML and a block list; it stops; `xfedctl db init` and
# `xfedctl db migrate-from-lmdb DIR/store` copy it all into a fresh
# PostgreSQL database; a node on that database then lets everyone log in
# with the old passwords (every SASL mechanism) and serves the same data.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_ROSTER = 'jabber:iq:roster'
NS_BLOCK = 'urn:xmpp:blocking'
VCARD = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN>"
    "<NICKNAME>ali</NICKNAME></vCard>")
PRIVATE = ("<query xmlns='jabber:iq:private'><notes xmlns='x:pgmigrate'>"
    "remember the rabbit</notes></query>")
USERS = ('alice', 'bob', 'carol', 'mallory')


def roster(c):
	"""{jid: (subscription, name, [groups])} from a roster get."""
	r = c.iq("<query xmlns='%s'/>" % NS_ROSTER)
	if r is None or r['type'] != 'result':
		return None
	out = {}
	for it in r.xml.find('{%s}query' % NS_ROSTER):
		out[it.get('jid')] = (it.get('subscription'), it.get('name'),
		    sorted(g.text for g in it.findall('{%s}group' %
		    NS_ROSTER)))
	return out


def vcard_fn(c):
	r = c.iq("<vCard xmlns='vcard-temp'/>")
	if r is None or r['type'] != 'result':
		return None
	fn = r.xml.find('{vcard-temp}vCard/{vcard-temp}FN')
	return fn.text if fn is not None else ''


def private_notes(c):
	r = c.iq("<query xmlns='jabber:iq:private'><notes xmlns="
	    "'x:pgmigrate'/></query>")
	if r is None or r['type'] != 'result':
		return None
	n = r.xml.find('{jabber:iq:private}query/{x:pgmigrate}notes')
	return n.text if n is not None else ''


def blocklist(c):
	r = c.iq("<blocklist xmlns='%s'/>" % NS_BLOCK)
	if r is None or r['type'] != 'result':
		return None
	return sorted(i.get('jid') for i in r.xml.find(
	    '{%s}blocklist' % NS_BLOCK))


def subscribed_both(node, a, b):
	r = node.ctl('roster', a).data or {}
	return any(i.get('jid') == b and i.get('subscription') == 'both'
	    for i in r.get('roster', []))


def test():
	plan(22)
	# --- the old node, on LMDB --------------------------------------
	old = Node(workers=2, store='lmdb', name='lmdb')
	for u in USERS:
		old.add_user(u + '@localhost', u + '-pw')
	alice = login(old, 'alice@localhost/a', 'alice-pw')
	bob = login(old, 'bob@localhost/b', 'bob-pw')
	for c in (alice, bob):
		c.xmpp.auto_authorize = True
		c.xmpp.auto_subscribe = True
	r = alice.iq("<query xmlns='%s'><item jid='bob@localhost' "
	    "name='Bobby'><group>Friends</group><group>Work</group></item>"
	    "</query>" % NS_ROSTER, itype='set')
	alice.send_presence(pto='bob@localhost', ptype='subscribe')
	ok(r is not None and r['type'] == 'result' and wait_for(lambda:
	    pump(0.1) or (subscribed_both(old, 'alice@localhost',
	    'bob@localhost') and subscribed_both(old, 'bob@localhost',
	    'alice@localhost')), 10),
	    'lmdb: alice and bob are mutual contacts, bob named and grouped')
	r1 = alice.iq(VCARD, itype='set')
	r2 = alice.iq(PRIVATE, itype='set')
	r3 = alice.iq("<block xmlns='%s'><item jid='mallory@localhost'/>"
	    "</block>" % NS_BLOCK, itype='set')
	ok(all(r is not None and r['type'] == 'result' for r in (r1, r2,
	    r3)), 'lmdb: alice stores a vCard, private XML and a block list')
	bob.disconnect()
	bodies = ['old-%d' % i for i in range(4)]
	send_messages(alice, 'bob@localhost', bodies)
	send_messages(alice, 'carol@localhost', ['for-carol'])
	ok(wait_for(lambda: pump(0.1) or len(old.ctl('offline',
	    'bob@localhost').data['messages']) == 4, 5),
	    'lmdb: four offline messages for bob')
	alice.disconnect()
	old_store = old.status().get('store')
	is_(old.stop(), 0, 'the LMDB node stops cleanly')

	# --- migration -----------------------------------------------------
	new = Node(workers=2, store='pgsql', name='pgsql', start=False,
	    db_init=False)
	pg = new.pg
	r = new.dbctl('init')
	is_(r.rc, 0, 'xfedctl db init on an empty database (%s)' %
	    (r.err.strip()[:200],))
	r = new.dbctl('migrate-from-lmdb', os.path.join(old.data_dir,
	    'store'), timeout=60)
	is_(r.rc, 0, 'xfedctl db migrate-from-lmdb exits 0 (%s)' %
	    (r.err.strip()[:200],))
	diag('migrate says: %s' % (r.out.strip()[:300],))

	def count(table):
		return int(pg.value('SELECT count(*) FROM %s' % table,
		    db=new.pg_db))
	is_(count('xf_users'), len(USERS), 'every account is in PostgreSQL')
	is_(count('xf_offline'), 5, 'every offline message is in PostgreSQL')

	# Running `db init` again must leave the data alone.
	r = new.dbctl('init')
	ok(r.rc == 0 and count('xf_users') == len(USERS) and
	    count('xf_offline') == 5, 'db init again keeps the data (%s)' %
	    (r.err.strip()[:200],))
	new.start()
	is_([old_store, new.status().get('store')], ['lmdb', 'pgsql'],
	    'xfedctl status: the old node stored in LMDB, the new one in '
	    'PostgreSQL')

	# --- the new node, on PostgreSQL -----------------------------------
	for mech in ('SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'):
		c = Client(new, 'alice@localhost/m', 'alice-pw', mech=mech)
		is_(c.login(), 'session', 'pgsql: alice logs in with her old '
		    'password over %s' % mech)
		c.disconnect()
	is_(Client(new, 'alice@localhost/w', 'wrong-pw').login(),
	    'failed_auth', 'pgsql: a wrong password still fails')

	alice = login(new, 'alice@localhost/a', 'alice-pw')
	is_((roster(alice) or {}).get('bob@localhost'),
	    ('both', 'Bobby', ['Friends', 'Work']),
	    'pgsql: alice\'s roster has bob: both, name and groups')
	is_(vcard_fn(alice), 'Alice Liddell', 'pgsql: alice\'s vCard is there')
	is_(private_notes(alice), 'remember the rabbit',
	    'pgsql: alice\'s private XML is there')
	is_(blocklist(alice), ['mallory@localhost'],
	    'pgsql: alice\'s block list is there')

	bob = login(new, 'bob@localhost/b', 'bob-pw')
	got = [bob.wait_message(5) for _ in bodies]
	is_([m['body'] if m else None for m in got], bodies,
	    'pgsql: bob gets his offline messages at login, in order')
	is_(str(got[0]['from']).split('/')[0] if got[0] else None,
	    'alice@localhost', 'from alice')
	is_((roster(bob) or {}).get('alice@localhost', (None,))[0], 'both',
	    'pgsql: bob\'s roster has alice, both')
	carol = login(new, 'carol@localhost/c', 'carol-pw')
	m = carol.wait_message(5)
	is_(m['body'] if m else None, 'for-carol',
	    'pgsql: carol gets hers too')


main(test, timeout=120)
