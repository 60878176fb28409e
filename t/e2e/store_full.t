#!/usr/bin/python3
# store_full.t: a durable store that is full (an LMDB map of a small
# storage 'map-size', as a full disk would do) loses nothing in silence:
# every message to an offline user is either stored or returned to its
# sender with a 'wait' error, IQ sets that cannot be stored get an error
# and not a result, the log says "store full" naming the option a few
# times and not once per message, and the store takes messages again
# once its records were delivered.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

BATCH = 25
MAX_SENT = 2000		# a 256k map holds a few hundred of these
PAD = 'x' * 300


def bounced(m):
	return m['type'] == 'error'


def test():
	if STORE != 'lmdb':
		skip_all('the map size is an LMDB setting')
	plan(15)
	node = Node(workers=2, extra="'offline-quota' = 1000000",
	    storage_extra="'map-size' = '256k'")
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	box = Inbox(alice)

	# Batches until the store refuses: every message sent is either
	# stored or bounced, none dropped.
	sent, errors = [], []
	while len(sent) < MAX_SENT and not errors:
		batch = ['full-%05d %s' % (len(sent) + i, PAD)
		    for i in range(BATCH)]
		send_messages(alice, 'bob@localhost', batch)
		sent += batch
		wait_for(lambda: pump(0.05) or len(box.find(bounced)) +
		    len(node.ctl('offline', 'bob@localhost').data['messages'])
		    >= len(sent), 5)
		errors = box.find(bounced)
	ok(errors, 'the store filled up after %d messages' % len(sent))
	stored = [r['body'] for r in node.ctl('offline',
	    'bob@localhost').data['messages']]
	back = [m['body'] for m in box.find(bounced)]
	is_(sorted(stored + back), sorted(sent),
	    'each message is stored or comes back (%d stored, %d back, '
	    '%d sent)' % (len(stored), len(back), len(sent)))
	ok(errors and all(stanza_error(m) in (('wait', 'resource-constraint'),
	    ('wait', 'internal-server-error')) for m in errors),
	    'with a wait error (%r)' % (stanza_error(errors[0]) if errors
	    else None,))

	# More on a full store: all of them come back.
	more = ['more-%d' % i for i in range(10)]
	send_messages(alice, 'bob@localhost', more)
	ok(wait_for(lambda: set(more) <= set(m['body'] for m in
	    box.find(bounced)), 5), 'on a full store every message comes back')

	# IQ sets on a full store: each one answered with a result was
	# stored (a get gives it back), and they end in a wait error.
	r, lies = None, []
	for i in range(20):
		r = alice.iq("<query xmlns='jabber:iq:private'><p xmlns='x:p%d'>"
		    "%s</p></query>" % (i, 'y' * 8000), itype='set')
		if r is None or r['type'] != 'result':
			break
		g = alice.iq("<query xmlns='jabber:iq:private'><p xmlns="
		    "'x:p%d'/></query>" % i)
		if g is None or ('y' * 8000) not in str(g):
			lies.append(i)
	is_(stanza_error(r)[0], 'wait', 'private storage set on a full store: '
	    'a wait error (%s)' % (r['type'] if r is not None else None,))
	is_(lies, [], 'and no result for what was not stored')
	r = alice.iq("<vCard xmlns='vcard-temp'><FN>%s</FN></vCard>" %
	    ('z' * 20000), itype='set')
	is_(stanza_error(r)[0], 'wait', 'vCard set on a full store: a wait '
	    'error (%s)' % (r['type'] if r is not None else None,))

	# The log says it plainly, naming the option, not once a message.
	log = node.log_text()
	full = [l for l in log.splitlines() if 'store full' in l]
	ok(full and "'map-size'" in full[0], 'the log says the store is full '
	    'and names the option: %s' % (full[0] if full else None,))
	ok(len([l for l in full if 'offline' in l]) <= 2 * node.workers,
	    'offline storage says so once per worker, not per message (%d '
	    'lines)' % len(full))

	# Bob takes his messages: room again.
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	got = Inbox(bob)
	ok(got.wait(lambda m: m['body'] == stored[-1], 10) is not None,
	    'bob gets the stored messages')
	is_(sorted(m['body'] for m in got.find(lambda m: m['body'] and
	    m['body'].startswith('full-'))), sorted(stored),
	    'all of them')
	ok(wait_for(lambda: node.ctl('offline', 'bob@localhost').data[
	    'messages'] == [], 5), 'delivered messages leave the store')
	bob.disconnect()
	ok(wait_for(lambda: node.session(bob.full_jid) is None, 5),
	    'bob is offline again')

	n = len(box.find(bounced))
	after = ['after-%d' % i for i in range(5)]
	send_messages(alice, 'bob@localhost', after)
	ok(wait_for(lambda: pump(0.05) or [r['body'] for r in node.ctl(
	    'offline', 'bob@localhost').data['messages']] == after, 5),
	    'the store takes messages again once there is room')
	is_(len(box.find(bounced)), n, 'and none comes back')


main(test)
