#!/usr/bin/python3
# iq.t: the server's own IQs: ping, disco#info, disco#items, version, and
# service-unavailable for a namespace it does not serve.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

DISCO_INFO = 'http://jabber.org/protocol/disco#info'
DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'


def child(iq, ns, name='query'):
	if iq is None:
		return None
	return iq.xml.find('{%s}%s' % (ns, name))


def test():
	plan(13)
	node = Node(workers=2)
	node.add_user('alice@localhost', 'alice-pw')
	c = login(node, 'alice@localhost', 'alice-pw')

	r = c.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	is_(r['type'] if r is not None else None, 'result',
	    'ping to the server is answered with a result')
	is_(str(r['from']) if r is not None else None, 'localhost',
	    'the answer comes from the server')

	r = c.iq("<query xmlns='%s'/>" % DISCO_INFO, to='localhost')
	is_(r['type'] if r is not None else None, 'result', 'disco#info result')
	q = child(r, DISCO_INFO)
	ids = [(i.get('category'), i.get('type')) for i in
	    q.findall('{%s}identity' % DISCO_INFO)] if q is not None else []
	ok(('server', 'im') in ids, 'identity server/im (got %r)' % (ids,))
	feats = [f.get('var') for f in q.findall('{%s}feature' % DISCO_INFO)] \
	    if q is not None else []
	ok('urn:xmpp:ping' in feats, 'feature urn:xmpp:ping')
	ok('jabber:iq:version' in feats, 'feature jabber:iq:version')
	ok(DISCO_INFO in feats, 'feature disco#info (got %r)' % (feats,))

	r = c.iq("<query xmlns='%s'/>" % DISCO_ITEMS, to='localhost')
	is_(r['type'] if r is not None else None, 'result', 'disco#items result')
	ok(child(r, DISCO_ITEMS) is not None, 'disco#items has its query')

	r = c.iq("<query xmlns='jabber:iq:version'/>", to='localhost')
	is_(r['type'] if r is not None else None, 'result', 'version result')
	q = child(r, 'jabber:iq:version')
	name = q.find('{jabber:iq:version}name') if q is not None else None
	is_(name.text if name is not None else None, 'xfed',
	    'version name is xfed')

	r = c.iq("<query xmlns='urn:example:nothing-here'/>", to='localhost')
	is_(stanza_error(r), ('cancel', 'service-unavailable'),
	    'unknown namespace: error cancel/service-unavailable')

	# The session still works after the error.
	r = c.iq("<ping xmlns='urn:xmpp:ping'/>", to='localhost')
	is_(r['type'] if r is not None else None, 'result',
	    'ping still answered after an error')


main(test)
