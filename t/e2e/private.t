#!/usr/bin/python3
# private.t: XEP-0049 private XML storage: a user stores and reads back a
# fragment per namespace; nobody else can read or write it; reserved
# namespaces and malformed requests are refused.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS = 'jabber:iq:private'
NOTES = 'storage:rosternotes'
PREFS = 'exodus:prefs'


def query(r):
	if r is None or r['type'] != 'result':
		return None
	return r.xml.find('{%s}query' % NS)


def test():
	plan(16)
	node = Node(workers=2)
	node.add_user('alice@localhost', 'alice-pw')
	node.add_user('bob@localhost', 'bob-pw')
	alice = login(node, 'alice@localhost', 'alice-pw')
	bob = login(node, 'bob@localhost', 'bob-pw')

	r = alice.iq("<query xmlns='%s'><storage xmlns='%s'/></query>" %
	    (NS, NOTES))
	q = query(r)
	st = q.find('{%s}storage' % NOTES) if q is not None else None
	ok(st is not None and len(st) == 0,
	    'nothing stored yet: the empty element comes back')

	r = alice.iq("<query xmlns='%s'><storage xmlns='%s'>"
	    "<note jid='bob@localhost'>owes me tea</note></storage></query>" %
	    (NS, NOTES), itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'alice stores her roster notes')
	r = alice.iq("<query xmlns='%s'><exodus xmlns='%s'>"
	    "<defaultnick>Alice</defaultnick></exodus></query>" % (NS, PREFS),
	    itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'and, apart, her preferences')

	r = alice.iq("<query xmlns='%s'><storage xmlns='%s'/></query>" %
	    (NS, NOTES))
	q = query(r)
	note = q.find('{%s}storage/{%s}note' % (NOTES, NOTES)) \
	    if q is not None else None
	is_((note.get('jid'), note.text) if note is not None else None,
	    ('bob@localhost', 'owes me tea'), 'alice reads her notes back')
	ok(q is not None and q.find('{%s}exodus' % PREFS) is None,
	    'only the namespace asked for comes back')
	r = alice.iq("<query xmlns='%s'><exodus xmlns='%s'/></query>" %
	    (NS, PREFS), to='alice@localhost')
	q = query(r)
	nick = q.find('{%s}exodus/{%s}defaultnick' % (PREFS, PREFS)) \
	    if q is not None else None
	is_(nick.text if nick is not None else None, 'Alice',
	    'preferences read back through her bare JID')

	r = bob.iq("<query xmlns='%s'><storage xmlns='%s'/></query>" %
	    (NS, NOTES), to='alice@localhost')
	is_(stanza_error(r), ('auth', 'forbidden'),
	    'bob cannot read alice\'s private data')
	ok(r is not None and 'owes me tea' not in str(r),
	    'and the refusal does not leak it')
	r = bob.iq("<query xmlns='%s'><storage xmlns='%s'><note "
	    "jid='x@localhost'>pwned</note></storage></query>" % (NS, NOTES),
	    to='alice@localhost', itype='set')
	is_(stanza_error(r), ('auth', 'forbidden'),
	    'bob cannot write alice\'s private data')

	r = bob.iq("<query xmlns='%s'><storage xmlns='%s'/></query>" %
	    (NS, NOTES))
	q = query(r)
	st = q.find('{%s}storage' % NOTES) if q is not None else None
	ok(st is not None and len(st) == 0,
	    'bob\'s own store is separate (empty)')

	r = alice.iq("<query xmlns='%s'><vCard xmlns='vcard-temp'>"
	    "<FN>x</FN></vCard></query>" % NS, itype='set')
	is_(stanza_error(r), ('modify', 'not-acceptable'),
	    'a reserved namespace (vcard-temp) is refused')
	r = alice.iq("<query xmlns='%s'><x xmlns='jabber:x:data'/></query>" %
	    NS, itype='set')
	is_(stanza_error(r), ('modify', 'not-acceptable'),
	    'a jabber: namespace is refused')
	r = alice.iq("<query xmlns='%s'><x xmlns='urn:example:%s'/></query>" %
	    (NS, 'n' * 600), itype='set')
	is_(stanza_error(r), ('modify', 'not-acceptable'),
	    'a namespace too long to store is refused')
	r = alice.iq("<query xmlns='%s'/>" % NS, itype='set')
	is_(stanza_error(r), ('modify', 'not-acceptable'),
	    'a set with nothing in it is refused')
	r = alice.iq("<query xmlns='%s'/>" % NS)
	is_(stanza_error(r), ('modify', 'bad-request'),
	    'a get naming no namespace is a bad request')

	r = alice.iq("<query xmlns='%s'><storage xmlns='%s'/></query>" %
	    (NS, NOTES))
	q = query(r)
	note = q.find('{%s}storage/{%s}note' % (NOTES, NOTES)) \
	    if q is not None else None
	is_(note.text if note is not None else None, 'owes me tea',
	    'alice\'s notes survived the refused writes')


main(test)
