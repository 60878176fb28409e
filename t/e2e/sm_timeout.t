#!/usr/bin/python3
# sm_timeout.t: an XEP-0198 session not resumed within 'sm-resume-timeout'
# ends: its unacknowledged messages and those sent while it was detached
# land in offline storage, in order, and its contacts see it go; a clean
# close ends a session at once the same way, and so does a client that
# leaves more than 'sm-max-unacked' stanzas unacknowledged.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403
import re					# noqa: E402

TIMEOUT = 2
MAX_UNACKED = 10


def sm_session(node, res, presence=True):
	"""alice/res on a raw stream, SM enabled: (raw, full, <enabled/>).
	Without initial presence, offline messages stay where they are."""
	raw = RawClient(node.port)
	full = raw.login('alice', 'alice-pw', resource=res)
	raw.send("%s<enable xmlns='%s' resume='true'/>" % ('<presence/>' if
	    presence else '', NS_SM))
	_, other = read_bodies(raw, timeout=5, until=lambda e: local_name(e) in
	    ('enabled', 'failed'))
	en = other[-1] if other else None
	return raw, full, en


def offline_bodies(node):
	r = node.ctl('offline', 'alice@localhost')
	if r.rc != 0 or not isinstance(r.data, dict):
		return None
	return [m.get('body') for m in r.data.get('messages', [])]


def test():
	plan(22)
	node = Node(workers=2, c2s_extra="    'sm-resume-timeout' = %d\n"
	    "    'sm-max-unacked' = %d" % (TIMEOUT, MAX_UNACKED))
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')

	# bob follows alice's presence.
	a0 = login(node, 'alice@localhost/setup', 'alice-pw')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	a0.xmpp.auto_authorize = True
	a0.xmpp.auto_subscribe = False
	bob.xmpp.send_presence(pto='alice@localhost', ptype='subscribe')
	ok(wait_for(lambda: roster_subscription(bob, 'alice@localhost') == 'to', 10,
	    0.3), 'bob is subscribed to alice\'s presence')
	a0.disconnect()
	gone = []
	bob.xmpp.add_event_handler('presence_unavailable', lambda p:
	    gone.append(str(p['from'])))

	# A session cut off and never resumed.
	raw, full, en = sm_session(node, 't')
	ok(local_name(en) == 'enabled' and en.get('max') == str(TIMEOUT),
	    'enabled, max %d (%r)' % (TIMEOUT, en.attrib if en is not None
	    else None))
	smid = en.get('id') if en is not None else ''
	send_messages(bob, full, ['m1', 'm2', 'm3'])
	bodies, _ = read_bodies(raw, n=3, timeout=5)
	is_(bodies, ['m1', 'm2', 'm3'], 'three messages, never acknowledged')
	raw.close()
	ok(wait_for(lambda: 'sm session %s kept' % smid in node.log_text(), 5),
	    'the cut session is kept')
	t0 = time.monotonic()
	send_messages(bob, full, ['m4', 'm5'])
	pump(0.5)
	ok(node.session(full) is not None and full not in gone,
	    'detached: still listed, nobody told it went')
	ok(wait_for(lambda: 'sm %s: not resumed in time' % full in
	    node.log_text(), TIMEOUT + 4), 'the session expires')
	took = time.monotonic() - t0
	ok(TIMEOUT - 0.2 <= took <= TIMEOUT + 2.5, 'after about %d s (%.1f s)'
	    % (TIMEOUT, took))
	ok(wait_for(lambda: node.session(full) is None, 3),
	    'the session left the table')
	ok(wait_for(lambda: (pump(0.1), full in gone)[1], 5),
	    'bob sees alice/t go unavailable')
	like(node.log_text(), r'sm %s: ended; 5 messages to offline storage'
	    % re.escape(full), 'five messages moved')
	is_(offline_bodies(node), ['m1', 'm2', 'm3', 'm4', 'm5'],
	    'offline storage has them, in order (xfedctl offline)')

	raw = RawClient(node.port)
	raw.authenticate('alice', 'alice-pw')
	raw.open()
	raw.send("<resume xmlns='%s' previd='%s' h='3'/>" % (NS_SM, smid))
	el = raw.read_element()
	ok(local_name(el) == 'failed' and el.find('{%s}item-not-found' %
	    NS_STANZAS) is not None, 'too late to resume: item-not-found')
	raw.close()

	# A clean close ends the session at once.
	raw, full, en = sm_session(node, 'c', presence=False)
	ok(local_name(en) == 'enabled', 'second session enabled')
	send_messages(bob, full, ['c1', 'c2'])
	bodies, _ = read_bodies(raw, n=2, timeout=5)
	is_(bodies, ['c1', 'c2'], 'two more, never acknowledged')
	raw.send("</stream:stream>")
	ok(raw.wait_closed(5), 'closed')
	ok(wait_for(lambda: 'sm %s: ended; 2 messages to offline storage' %
	    full in node.log_text(), 5), 'a clean close moves them at once')
	is_(offline_bodies(node), ['m1', 'm2', 'm3', 'm4', 'm5', 'c1', 'c2'],
	    'offline storage, in order')

	# Too many unacknowledged: the stream is closed, the session ends.
	raw, full, en = sm_session(node, 'x', presence=False)
	xs = ['x%d' % i for i in range(1, MAX_UNACKED + 3)]
	send_messages(bob, full, xs)
	bodies, other = read_bodies(raw, timeout=5, until=lambda e:
	    local_name(e) == 'error')
	ok(other and local_name(other[-1]) == 'error' and other[-1].find(
	    '{%s}policy-violation' % NS_STREAMS) is not None,
	    'policy-violation after %d unacknowledged (read %d)' %
	    (MAX_UNACKED, len(bodies)))
	ok(wait_for(lambda: offline_bodies(node)[7:] == xs, 5),
	    'they go to offline storage too, in order (%r)' %
	    (offline_bodies(node)[7:],))
	xs_all = ['m1', 'm2', 'm3', 'm4', 'm5', 'c1', 'c2'] + xs

	# The next login gets them.
	alice = login(node, 'alice@localhost/back', 'alice-pw')
	got = []
	while True:
		m = alice.wait_message(3)
		if m is None:
			break
		got.append(m)
	is_([m['body'] for m in got], xs_all,
	    'delivered at the next login, in order')
	ok(got and all(m.xml.find('{urn:xmpp:delay}delay') is not None for m
	    in got), 'with a delay stamp')
	is_(offline_bodies(node), [], 'and gone from offline storage')


main(test)
