#!/usr/bin/python3
# carbons.t: XEP-0280 message carbons between two resources on different
# workers: received and sent copies, <private/>, messages to the bare JID
# copied once, headlines not copied, a resource without carbons left out,
# and disabling.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_CARBONS = 'urn:xmpp:carbons:2'
NS_FORWARD = 'urn:xmpp:forward:0'


def inner(m, kind):
	"""The message forwarded in a <kind/> carbon, or None."""
	if m is None:
		return None
	return m.xml.find('{%s}%s/{%s}forwarded/{%s}message' % (NS_CARBONS,
	    kind, NS_FORWARD, NS_CLIENT))


def body(el):
	b = el.find('{%s}body' % NS_CLIENT) if el is not None else None
	return b.text if b is not None else None


def carbon_of(kind, text):
	return lambda m: body(inner(m, kind)) == text


def plain(text):
	return lambda m: m['body'] == text and inner(m, 'received') is None \
	    and inner(m, 'sent') is None


def carbons(client, on=True):
	r = client.iq("<%s xmlns='%s'/>" % ('enable' if on else 'disable',
	    NS_CARBONS), itype='set')
	return r['type'] if r is not None else None


def test():
	plan(31)
	node = Node(workers=2)
	node.add_user('alice@localhost', 'alice-pw')
	node.add_user('bob@localhost', 'bob-pw')

	r1 = login(node, 'alice@localhost/r1', 'alice-pw', priority=10)
	w1 = node.worker_of(r1.full_jid)
	r2, w2 = on_different_workers(node, 'alice@localhost/r2', 'alice-pw',
	    r1.full_jid, priority=5)
	ok(r2 is not None and w1 != w2,
	    'alice/r1 and alice/r2 on different workers (%r, %r)' % (w1, w2))
	if r2 is None:
		raise RuntimeError('no second session on another worker')
	r3 = login(node, 'alice@localhost/r3', 'alice-pw', priority=1)
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	for c in (r1, r2, r3):
		wait_for(lambda: (node.session(c.full_jid) or {}).get(
		    'available'), 5)
	in1, in2, in3, inb = Inbox(r1), Inbox(r2), Inbox(r3), Inbox(bob)

	is_(carbons(r1), 'result', 'r1 enables carbons')
	is_(carbons(r2), 'result', 'r2 enables carbons')

	# Received: bob -> alice/r1.
	bob.send_message(r1.full_jid, 'in-1')
	ok(in1.wait(plain('in-1')) is not None, 'r1 gets the message itself')
	m = in2.wait(carbon_of('received', 'in-1'))
	ok(m is not None, 'r2 gets a <received/> carbon across workers')
	is_(str(m['from']) if m else None, 'alice@localhost',
	    'the carbon comes from the bare JID')
	is_(str(m['to']) if m else None, r2.full_jid, 'and goes to r2')
	f = inner(m, 'received')
	is_((f.get('from'), f.get('to')) if f is not None else None,
	    (bob.full_jid, r1.full_jid),
	    'the forwarded message keeps its from and to')
	is_(m['type'] if m else None, 'chat', 'the wrapper keeps type chat')

	# Sent: alice/r1 -> bob.
	r1.send_message(bob.full_jid, 'out-1')
	ok(inb.wait(plain('out-1')) is not None, 'bob gets alice\'s message')
	m = in2.wait(carbon_of('sent', 'out-1'))
	ok(m is not None, 'r2 gets a <sent/> carbon')
	f = inner(m, 'sent')
	is_((f.get('from'), f.get('to')) if f is not None else None,
	    (r1.full_jid, bob.full_jid), 'the sent copy is from r1 to bob')

	# Private: no copies either way, and the marker is removed.
	bob.send_raw("<message to='%s' type='chat'><body>priv-in</body>"
	    "<private xmlns='%s'/><no-copy xmlns='urn:xmpp:hints'/></message>"
	    % (r1.full_jid, NS_CARBONS))
	m = in1.wait(plain('priv-in'))
	ok(m is not None, 'r1 gets the private message')
	ok(m is not None and m.xml.find('{%s}private' % NS_CARBONS) is None,
	    'the receiving server removed <private/>')
	r1.send_raw("<message to='%s' type='chat'><body>priv-out</body>"
	    "<private xmlns='%s'/><no-copy xmlns='urn:xmpp:hints'/></message>"
	    % (bob.full_jid, NS_CARBONS))
	ok(inb.wait(plain('priv-out')) is not None,
	    'bob gets alice\'s private message')

	# To the bare JID: the highest priority (r1) has it, r2 a copy.
	bob.send_message('alice@localhost', 'bare-1')
	ok(in1.wait(plain('bare-1')) is not None,
	    'a message to the bare JID reaches r1 (priority 10)')
	ok(in2.wait(carbon_of('received', 'bare-1')) is not None,
	    'r2 gets a <received/> carbon of it')

	# Not copied: headlines, and an error bounce.
	bob.send_message(r1.full_jid, 'hl-1', mtype='headline')
	ok(in1.wait(lambda m: m['body'] == 'hl-1') is not None,
	    'r1 gets a headline')

	pump(1.0)
	is_([body(inner(m, 'received')) or body(inner(m, 'sent'))
	    for m in in2.find(lambda m: inner(m, 'received') is not None or
	    inner(m, 'sent') is not None)], ['in-1', 'out-1', 'bare-1'],
	    'r2 got exactly the carbons of in-1, out-1 and bare-1 '
	    '(nothing private, no headline, no duplicate)')
	is_(len(in1.find(lambda m: m['body'] == 'bare-1' or
	    body(inner(m, 'received')) == 'bare-1')), 1,
	    'r1 got bare-1 once, not also as a carbon')
	is_(in1.find(lambda m: inner(m, 'sent') is not None), [],
	    'r1 got no copy of what it sent itself')
	is_(in2.find(lambda m: m['body'] in ('in-1', 'bare-1', 'priv-in')), [],
	    'r2 got none of the originals')
	is_(len(in3.find(lambda m: True)), 0,
	    'r3, without carbons, got nothing at all')

	# r2 sends; r1 gets the copy although r2's own state does not matter.
	is_(carbons(r2, False), 'result', 'r2 disables carbons')
	is_(carbons(r2, False), 'result', 'disabling twice is not an error')
	r2.send_message(bob.full_jid, 'out-2')
	ok(inb.wait(plain('out-2')) is not None, 'bob gets r2\'s message')
	m = in1.wait(carbon_of('sent', 'out-2'))
	ok(m is not None, 'r1 gets a <sent/> carbon of r2\'s message')
	bob.send_message(r1.full_jid, 'in-after')
	ok(in1.wait(plain('in-after')) is not None, 'r1 gets in-after')
	pump(1.0)
	is_(in2.find(carbon_of('received', 'in-after')), [],
	    'r2, carbons disabled, gets no copy')

	# A carbon cannot be enabled for someone else's account.
	r = r3.iq("<enable xmlns='%s'/>" % NS_CARBONS, to='bob@localhost',
	    itype='set')
	is_(stanza_error(r), ('cancel', 'not-allowed'),
	    'enabling carbons on another account: not-allowed')
	r = r3.iq("<enable xmlns='%s'/>" % NS_CARBONS, itype='get')
	is_(stanza_error(r), ('modify', 'bad-request'),
	    'an enable that is not a set: bad-request')


main(test)
