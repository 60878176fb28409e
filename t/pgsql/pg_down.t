#!/usr/bin/python3
# pg_down.t: PostgreSQL dies under a running node (two workers, storage on
# pgsql).  Streams already open keep chatting both ways across workers; a
# new login fails with SASL temporary-auth-failure; a message for an
# offline user bounces with an error instead of vanishing, and an IQ that
# needs the store gets internal-server-error (type wait).  Once the
# database is back, logins work again within a bounded wait, messages for
# an offline user are stored again, and offline messages stored before
# the crash are all delivered, in order, with those stored after.
import base64
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def sasl_answer(node, mech, payload):
	"""A raw SASL <auth> for mech over STARTTLS: (local name of the
	answer, local name of its condition child) or (None, None)."""
	raw = RawClient(node.port, timeout=15)
	try:
		raw.open()
		raw.starttls()
		raw.send("<auth xmlns='%s' mechanism='%s'>%s</auth>" % (NS_SASL,
		    mech, base64.b64encode(payload.encode()).decode()))
		el = raw.read_element()
	finally:
		raw.close()
	if el is None:
		return None, None
	cond = [local_name(c) for c in el if local_name(c) != 'text']
	return local_name(el), (cond[0] if cond else None)


def plain(user, pw):
	return '\0%s\0%s' % (user, pw)


def scram_first(user):
	return 'n,,n=%s,r=%s' % (user, 'pgdown%06d' % random.randint(0,
	    999999))


def offline_rows(node, owner):
	"""Offline messages for owner, counted in PostgreSQL."""
	return int(node.pg.value("SELECT count(*) FROM xf_offline WHERE "
	    "owner = '%s'" % owner, db=node.pg_db))


def login_on(node, jid, password, slot):
	"""A client logged in with a session on worker slot, else None
	(one attempt: the login may fail or land on another worker)."""
	c = Client(node, jid, password)
	if c.login() != 'session':
		return None
	if node.worker_of(c.full_jid) == slot:
		return c
	c.disconnect()
	wait_for(lambda: node.session(c.full_jid) is None, 3)
	return None


def bodies_of(msgs):
	return [m['body'] if m is not None else None for m in msgs]


def test():
	plan(27)
	node = Node(workers=2)
	pg = node.pg
	is_(node.status().get('store'), 'pgsql', 'xfedctl status: store pgsql')
	users = ('a1', 'b1', 'a2', 'b2', 'off', 'gone', 'late')
	for u in users:
		node.add_user(u + '@localhost', u + '-pw')
	is_(int(pg.value('SELECT count(*) FROM xf_users', db=node.pg_db)),
	    len(users), 'the accounts are rows in PostgreSQL')

	# Two pairs, each across the two workers.
	a1 = login(node, 'a1@localhost/x', 'a1-pw')
	b1, _ = on_different_workers(node, 'b1@localhost', 'b1-pw',
	    a1.full_jid)
	a2 = login(node, 'a2@localhost/x', 'a2-pw')
	b2, _ = on_different_workers(node, 'b2@localhost', 'b2-pw',
	    a2.full_jid)
	if b1 is None or b2 is None:
		raise RuntimeError('no pair of sessions across the workers')
	pairs = ((a1, b1), (a2, b2))
	ok(all(exchange(x, y) and exchange(y, x) for x, y in pairs),
	    'both pairs chat across workers')

	# Offline messages for 'off' before the crash.
	before = ['before-%d' % i for i in range(3)]
	send_messages(a1, 'off@localhost', before)
	ok(wait_for(lambda: offline_rows(node, 'off@localhost') == 3, 5),
	    'three offline messages stored in PostgreSQL before the crash')

	# --- PostgreSQL killed ------------------------------------------
	pg.stop('kill')
	ok(not pg.running(), 'postmaster killed with SIGKILL')

	for i, (x, y) in enumerate(pairs):
		m = exchange(x, y, 'down-%d-there' % i, timeout=10)
		ok(m is not None, 'pair %d: a -> b arrives with the database '
		    'down' % (i + 1))
		m = exchange(y, x, 'down-%d-back' % i, timeout=10)
		ok(m is not None, 'pair %d: b -> a arrives with the database '
		    'down' % (i + 1))
	body = 'down-to-bare'
	b1.send_message('a1@localhost', body)
	ok(a1.wait_message(10, lambda m: m['body'] == body) is not None,
	    'a message to an online user\'s bare JID arrives')

	is_(sasl_answer(node, 'PLAIN', plain('late', 'late-pw')),
	    ('failure', 'temporary-auth-failure'),
	    'a new PLAIN login: <failure><temporary-auth-failure/>')
	is_(sasl_answer(node, 'SCRAM-SHA-256', scram_first('late')),
	    ('failure', 'temporary-auth-failure'),
	    'a new SCRAM-SHA-256 login: <failure><temporary-auth-failure/>')
	c = Client(node, 'late@localhost/x', 'late-pw', mech='SCRAM-SHA-1')
	r = c.login(timeout=15)
	ok(r != 'session' and 'temporary-auth-failure' in c.auth_failures,
	    'slixmpp (SCRAM-SHA-1) is refused with temporary-auth-failure '
	    '(%s %s)' % (r, c.auth_failures))

	inbox = Inbox(a2)
	a2.send_message('gone@localhost', 'while-down')
	m = inbox.wait(lambda m: m['type'] == 'error' and
	    str(m['from']).split('/')[0] == 'gone@localhost', 15)
	ok(m is not None, 'a message for an offline user comes back as an '
	    'error stanza while the database is down')
	diag('the bounce: %r' % (stanza_error(m),))
	ok(m is not None and m['body'] in ('while-down', ''),
	    'the error is about that message')

	# An IQ that needs the store fails as the coroutine rule has it.
	r = a1.iq("<query xmlns='jabber:iq:roster'/>", timeout=15)
	is_(stanza_error(r), ('wait', 'internal-server-error'),
	    'a roster get: internal-server-error, type wait')
	r = b2.iq("<vCard xmlns='vcard-temp'><FN>B2</FN></vCard>",
	    itype='set', timeout=15)
	is_(stanza_error(r), ('wait', 'internal-server-error'),
	    'a vCard set: internal-server-error, type wait')

	ok(a1.connected and b1.connected and a2.connected and b2.connected,
	    'no stream was closed')

	# --- PostgreSQL back ---------------------------------------------
	pg.start()
	# Every worker must find its way back: a login on each.
	slots = sorted(w['slot'] for w in node.workers_list())
	back = wait_for(lambda: sasl_answer(node, 'PLAIN',
	    plain('late', 'late-pw'))[0] == 'success' or pump(0.3), 20)
	ok(back, 'within 20 s of the restart a new login succeeds')
	for s in slots:
		c = wait_for(lambda: login_on(node, 'late@localhost',
		    'late-pw', s), 20, 0.2)
		ok(c, 'a login on worker %r works (within 20 s)' % (s,))
		if c:
			c.disconnect()

	after = ['after-%d' % i for i in range(2)]
	send_messages(b2, 'off@localhost', after)
	ok(wait_for(lambda: offline_rows(node, 'off@localhost') == 5, 10),
	    'messages for an offline user are stored again (5 rows)')
	ok(all(exchange(x, y) and exchange(y, x) for x, y in pairs),
	    'the old streams still chat both ways')
	r = a1.iq("<query xmlns='jabber:iq:roster'/>")
	is_(r['type'] if r is not None else None, 'result',
	    'and their IQs reach the database again (roster get)')

	off = login(node, 'off@localhost/x', 'off-pw')
	got = [off.wait_message(10) for _ in before + after]
	is_(bodies_of(got), before + after,
	    'at login every offline message arrives in order: those stored '
	    'before the crash, then those after')
	ok(wait_for(lambda: offline_rows(node, 'off@localhost') == 0, 5),
	    'delivered messages leave PostgreSQL')
	# The bounced one was not kept as well.
	gone = login(node, 'gone@localhost/x', 'gone-pw')
	pump(1)
	is_(bodies_of(gone.drain_messages()), [],
	    'the message bounced while the database was down is not '
	    'delivered later as well')


main(test, timeout=120)
