#!/usr/bin/python3
# pep.t: XEP-0163 PEP: alice publishes a nick and an avatar; her contact bob
# (on another worker) receives the events and retrieves the items; carol, no
# contact, may not read a 'presence' node but may read an open one (an OMEMO
# bundle); publish-options, configuration, max_items, the private bookmarks
# node, retract and delete.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

PS = 'http://jabber.org/protocol/pubsub'
PS_EVENT = PS + '#event'
PS_OWNER = PS + '#owner'
PS_ERRORS = PS + '#errors'
NICK = 'http://jabber.org/protocol/nick'
META = 'urn:xmpp:avatar:metadata'
BUNDLE = 'eu.siacs.conversations.axolotl.bundles:4711'
AXOLOTL = 'eu.siacs.conversations.axolotl'
BOOKMARKS = 'urn:xmpp:bookmarks:1'
DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'


def options(**opts):
	fields = ''.join("<field var='pubsub#%s'><value>%s</value></field>" %
	    (k, v) for k, v in opts.items())
	return ("<publish-options><x xmlns='jabber:x:data' type='submit'>"
	    "<field var='FORM_TYPE' type='hidden'><value>%s#publish-options"
	    "</value></field>%s</x></publish-options>" % (PS, fields))


def publish(c, node, payload, item_id=None, opts=''):
	iid = " id='%s'" % item_id if item_id else ''
	return c.iq("<pubsub xmlns='%s'><publish node='%s'><item%s>%s</item>"
	    "</publish>%s</pubsub>" % (PS, node, iid, payload, opts),
	    itype='set')


def items(c, owner, node, extra=''):
	return c.iq("<pubsub xmlns='%s'><items node='%s'%s/></pubsub>" %
	    (PS, node, extra), to=owner)


def item_ids(r):
	if r is None or r['type'] != 'result':
		return None
	its = r.xml.find('{%s}pubsub/{%s}items' % (PS, PS))
	return [i.get('id') for i in its.findall('{%s}item' % PS)] \
	    if its is not None else None


def nick_of(r):
	if r is None or r['type'] != 'result':
		return None
	n = r.xml.find('{%s}pubsub/{%s}items/{%s}item/{%s}nick' %
	    (PS, PS, PS, NICK))
	return n.text if n is not None else None


def pubsub_error(r):
	"""(type, condition, pubsub condition) of an error reply."""
	if r is None or r['type'] != 'error':
		return None
	e = r.xml.find('{%s}error' % NS_CLIENT)
	app = [c.tag.split('}', 1)[1] for c in e if
	    c.tag.startswith('{%s}' % PS_ERRORS)]
	return stanza_error(r) + (app[0] if app else None,)


def event(node_name, what='item'):
	"""Matches a headline carrying an event for node_name."""
	def pred(m):
		its = m.xml.find('{%s}event/{%s}items' % (PS_EVENT, PS_EVENT))
		return m['type'] == 'headline' and its is not None and \
		    its.get('node') == node_name and \
		    its.find('{%s}%s' % (PS_EVENT, what)) is not None
	return pred


def test():
	plan(36)
	# Room for an item over the 128 KiB cap inside one stanza.
	node = Node(workers=2, max_stanza=262144)
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob, _ = on_different_workers(node, 'bob@localhost', 'bob-pw',
	    alice.full_jid)
	if bob is None:
		raise RuntimeError('no two sessions on different workers')
	carol = login(node, 'carol@localhost', 'carol-pw')

	# Mutual subscription, one direction after the other; slixmpp
	# approves the requests itself.
	for c in (alice, bob):
		c.xmpp.auto_authorize = True
		c.xmpp.auto_subscribe = False
	alice.xmpp.send_presence(pto='bob@localhost', ptype='subscribe')
	wait_for(lambda: roster_subscription(alice, 'bob@localhost') == 'to', 10, 0.3)
	bob.xmpp.send_presence(pto='alice@localhost', ptype='subscribe')
	subs = wait_for(lambda: (roster_subscription(alice, 'bob@localhost'),
	    roster_subscription(bob, 'alice@localhost')) == ('both', 'both') and
	    ('both', 'both'), 10, 0.3)
	is_(subs or (roster_subscription(alice, 'bob@localhost'),
	    roster_subscription(bob, 'alice@localhost')), ('both', 'both'),
	    'alice and bob are mutual contacts')
	pump(0.5)
	for c in (alice, bob, carol):
		c.drain_messages()

	# Publish a nick: auto-create, result with the item id.
	r = publish(alice, NICK, "<nick xmlns='%s'>Alice</nick>" % NICK,
	    'current')
	pub = r.xml.find('{%s}pubsub/{%s}publish/{%s}item' % (PS, PS, PS)) \
	    if r is not None and r['type'] == 'result' else None
	is_(pub.get('id') if pub is not None else None, 'current',
	    'alice publishes her nick (auto-created node)')
	m = bob.wait_message(5, event(NICK))
	ok(m is not None, 'bob, a contact on the other worker, gets the event')
	is_(str(m['from']) if m is not None else None, 'alice@localhost',
	    'the event comes from alice\'s bare JID')
	n = m.xml.find('{%s}event/{%s}items/{%s}item/{%s}nick' %
	    (PS_EVENT, PS_EVENT, PS_EVENT, NICK)) if m is not None else None
	is_(n.text if n is not None else None, 'Alice',
	    'the event carries the payload')
	ok(alice.wait_message(5, event(NICK)) is not None,
	    'alice\'s own resource gets the event too')
	ok(carol.wait_message(1, event(NICK)) is None,
	    'carol, no contact, gets nothing')

	is_(nick_of(items(bob, 'alice@localhost', NICK)), 'Alice',
	    'bob retrieves the nick')
	is_(pubsub_error(items(carol, 'alice@localhost', NICK)),
	    ('auth', 'not-authorized', 'presence-subscription-required'),
	    'carol may not retrieve a presence-access node')
	is_(pubsub_error(items(bob, 'alice@localhost', 'urn:example:none')),
	    ('cancel', 'item-not-found', None), 'no such node: item-not-found')
	r = bob.iq("<pubsub xmlns='%s'><publish node='%s'><item><nick xmlns="
	    "'%s'>Mallory</nick></item></publish></pubsub>" % (PS, NICK, NICK),
	    to='alice@localhost', itype='set')
	is_(pubsub_error(r), ('auth', 'forbidden', None),
	    'bob may not publish to alice\'s node')

	r = bob.iq("<pubsub xmlns='%s'><subscribe node='%s' jid='%s'/>"
	    "</pubsub>" % (PS, NICK, bob.full_jid), to='alice@localhost',
	    itype='set')
	is_(pubsub_error(r), ('cancel', 'feature-not-implemented',
	    'unsupported'), 'explicit subscriptions are not offered')

	# max_items 1 (the default): a new item replaces the old one.
	publish(alice, NICK, "<nick xmlns='%s'>Alice L.</nick>" % NICK, 'v2')
	is_(item_ids(items(bob, 'alice@localhost', NICK)), ['v2'],
	    'the node keeps one item by default')
	ok(bob.wait_message(5, lambda m: event(NICK)(m) and 'Alice L.' in
	    str(m)), 'bob gets the second event')

	# An avatar: metadata event with its id.
	meta = ("<metadata xmlns='%s'><info bytes='1234' id='abc123' "
	    "height='64' width='64' type='image/png'/></metadata>" % META)
	r = publish(alice, META, meta, 'abc123')
	is_(r['type'] if r is not None else None, 'result',
	    'alice publishes avatar metadata')
	m = bob.wait_message(5, event(META))
	it = m.xml.find('{%s}event/{%s}items/{%s}item' % (PS_EVENT, PS_EVENT,
	    PS_EVENT)) if m is not None else None
	is_(it.get('id') if it is not None else None, 'abc123',
	    'bob gets the avatar metadata event with its id')

	# An OMEMO bundle, open to anyone (publish-options).
	bundle = ("<bundle xmlns='%s'><signedPreKeyPublic signedPreKeyId='1'>"
	    "AAAA</signedPreKeyPublic><identityKey>BBBB</identityKey></bundle>" %
	    AXOLOTL)
	r = publish(alice, BUNDLE, bundle, 'current',
	    options(access_model='open'))
	is_(r['type'] if r is not None else None, 'result',
	    'alice publishes an OMEMO bundle with access_model=open')
	r = items(carol, 'alice@localhost', BUNDLE)
	is_(item_ids(r), ['current'], 'carol retrieves the open bundle')
	ik = r.xml.find('.//{%s}identityKey' % AXOLOTL) if r is not None \
	    else None
	is_(ik.text if ik is not None else None, 'BBBB',
	    'with its payload intact')

	# Preconditions: the nick node is 'presence'; asking for 'open' fails
	# until the owner reconfigures the node.
	r = publish(alice, NICK, "<nick xmlns='%s'>A</nick>" % NICK, 'v3',
	    options(access_model='open'))
	is_(pubsub_error(r), ('cancel', 'conflict', 'precondition-not-met'),
	    'publish-options that do not match: precondition-not-met')
	r = alice.iq("<pubsub xmlns='%s'><configure node='%s'/></pubsub>" %
	    (PS_OWNER, NICK))
	f = r.xml.find(".//{jabber:x:data}field[@var='pubsub#access_model']/"
	    "{jabber:x:data}value") if r is not None else None
	is_(f.text if f is not None else None, 'presence',
	    'the node configuration says presence')
	r = alice.iq("<pubsub xmlns='%s'><configure node='%s'><x xmlns="
	    "'jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
	    "<value>%s#node_config</value></field><field var="
	    "'pubsub#access_model'><value>open</value></field><field var="
	    "'pubsub#max_items'><value>max</value></field></x></configure>"
	    "</pubsub>" % (PS_OWNER, NICK, PS), itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'alice reconfigures the nick node to open, max_items max')
	r = publish(alice, NICK, "<nick xmlns='%s'>A</nick>" % NICK, 'v3',
	    options(access_model='open'))
	is_(r['type'] if r is not None else None, 'result',
	    'now the same publish-options pass')
	is_(item_ids(items(carol, 'alice@localhost', NICK)), ['v2', 'v3'],
	    'carol reads the open node, which now keeps several items')
	is_(item_ids(items(carol, 'alice@localhost', NICK,
	    " max_items='1'")), ['v3'], 'max_items=1 gives the newest')

	# Bookmarks: private to the owner by default.
	r = publish(alice, BOOKMARKS, "<conference xmlns='%s' name='Tea' "
	    "autojoin='true'/>" % BOOKMARKS, 'tea@muc.localhost')
	is_(r['type'] if r is not None else None, 'result',
	    'alice publishes a bookmark')
	is_(pubsub_error(items(bob, 'alice@localhost', BOOKMARKS)),
	    ('cancel', 'not-allowed', 'closed-node'),
	    'bob, even as a contact, cannot read her bookmarks')
	ok(bob.wait_message(1, event(BOOKMARKS)) is None,
	    'nor was he notified of them')
	is_(item_ids(items(alice, 'alice@localhost', BOOKMARKS)),
	    ['tea@muc.localhost'], 'alice reads her bookmarks')

	r = bob.iq("<query xmlns='%s'/>" % DISCO_ITEMS, to='alice@localhost')
	nodes = sorted(i.get('node') for i in r.xml.find(
	    '{%s}query' % DISCO_ITEMS)) if r is not None and \
	    r['type'] == 'result' else None
	is_(nodes, sorted([BUNDLE, META, NICK]),
	    'disco#items lists the nodes bob may read')

	# Malformed and oversized publishes.
	r = alice.iq("<pubsub xmlns='%s'><publish node='%s'/></pubsub>" %
	    (PS, NICK), itype='set')
	is_(pubsub_error(r), ('modify', 'bad-request', 'item-required'),
	    'a publish without an item: item-required')
	r = publish(alice, 'urn:example:big', "<data xmlns='urn:example'>%s"
	    "</data>" % ('A' * 140000))
	is_(pubsub_error(r), ('modify', 'not-acceptable', 'payload-too-big'),
	    'an item over 128 KiB: payload-too-big')
	r = publish(alice, 'urn:example:' + 'n' * 600, "<x xmlns='urn:x'/>")
	is_(pubsub_error(r), ('modify', 'not-acceptable', None),
	    'a node name too long to store: not-acceptable')

	# Retract and delete.
	bob.drain_messages()
	r = alice.iq("<pubsub xmlns='%s'><retract node='%s' notify='true'>"
	    "<item id='abc123'/></retract></pubsub>" % (PS, META), itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'alice retracts the avatar metadata')
	ok(bob.wait_message(5, event(META, 'retract')) is not None,
	    'bob gets the retraction')
	r = alice.iq("<pubsub xmlns='%s'><delete node='%s'/></pubsub>" %
	    (PS_OWNER, NICK), itype='set')
	ok(r is not None and r['type'] == 'result' and
	    pubsub_error(items(bob, 'alice@localhost', NICK)) ==
	    ('cancel', 'item-not-found', None),
	    'alice deletes the nick node; it is gone')


main(test)
