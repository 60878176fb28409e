#!/usr/bin/python3
# vcard.t: XEP-0054 vcard-temp: a user sets and gets back her vCard, another
# user reads it, nobody else may write it, and it survives a restart.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS = 'vcard-temp'
VCARD = ("<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN>"
    "<NICKNAME>alice-in-wonderland</NICKNAME>"
    "<N><FAMILY>Liddell</FAMILY><GIVEN>Alice</GIVEN></N></vCard>")


def card(r):
	"""(FN, NICKNAME) of the vCard in a result, or None."""
	if r is None or r['type'] != 'result':
		return None
	v = r.xml.find('{%s}vCard' % NS)
	if v is None:
		return None
	fn = v.find('{%s}FN' % NS)
	nick = v.find('{%s}NICKNAME' % NS)
	return (fn.text if fn is not None else None,
	    nick.text if nick is not None else None)


def test():
	plan(15)
	# Room for a vCard over the 64 KiB cap inside one stanza.
	node = Node(workers=2, max_stanza=262144)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost', 'alice-pw')
	bob = login(node, 'bob@localhost', 'bob-pw')

	r = alice.iq("<vCard xmlns='vcard-temp'/>")
	is_(card(r), (None, None), 'no vCard yet: an empty vCard comes back')

	r = alice.iq(VCARD, itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'alice sets her vCard')
	r = alice.iq("<vCard xmlns='vcard-temp'/>")
	is_(card(r), ('Alice Liddell', 'alice-in-wonderland'),
	    'alice gets it back (no to)')
	r = alice.iq("<vCard xmlns='vcard-temp'/>", to='alice@localhost')
	is_(card(r), ('Alice Liddell', 'alice-in-wonderland'),
	    'alice gets it back (to her bare JID)')

	r = bob.iq("<vCard xmlns='vcard-temp'/>", to='alice@localhost')
	is_(card(r), ('Alice Liddell', 'alice-in-wonderland'),
	    'bob reads alice\'s vCard')
	is_(str(r['from']) if r is not None else None, 'alice@localhost',
	    'the answer comes from alice\'s bare JID')

	r = bob.iq("<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>",
	    to='alice@localhost', itype='set')
	is_(stanza_error(r), ('auth', 'forbidden'),
	    'bob may not set alice\'s vCard')
	r = alice.iq("<vCard xmlns='vcard-temp'/>")
	is_(card(r), ('Alice Liddell', 'alice-in-wonderland'),
	    'alice\'s vCard unchanged by bob\'s attempt')

	r = bob.iq("<vCard xmlns='vcard-temp'/>", to='carol@localhost')
	is_(stanza_error(r), ('cancel', 'item-not-found'),
	    'carol has no vCard: item-not-found')
	r = bob.iq("<vCard xmlns='vcard-temp'/>", to='nobody@localhost')
	is_(stanza_error(r), ('cancel', 'service-unavailable'),
	    'no such account: service-unavailable')

	big = "<vCard xmlns='vcard-temp'><DESC>%s</DESC></vCard>" % \
	    ('x' * 70000)
	r = bob.iq(big, itype='set')
	is_(stanza_error(r), ('modify', 'not-acceptable'),
	    'a vCard over 64 KiB is refused')

	# Persistence: SIGTERM, start on the same data directory.
	alice.disconnect()
	bob.disconnect()
	is_(node.stop(), 0, 'node stops cleanly on SIGTERM')
	node.start()
	carol = login(node, 'carol@localhost', 'carol-pw')
	r = carol.iq("<vCard xmlns='vcard-temp'/>", to='alice@localhost')
	is_(card(r), ('Alice Liddell', 'alice-in-wonderland'),
	    'alice\'s vCard is still there after a restart')

	# An empty vCard clears it.
	alice = login(node, 'alice@localhost', 'alice-pw')
	r = alice.iq("<vCard xmlns='vcard-temp'/>", itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'alice sets an empty vCard')
	r = carol.iq("<vCard xmlns='vcard-temp'/>", to='alice@localhost')
	is_(stanza_error(r), ('cancel', 'item-not-found'),
	    'then others get item-not-found')


main(test)
