#!/usr/bin/python3
# fuzz.t: a bad peer never crashes a worker.  Three logged-in streams send
# a few thousand stanzas drawn (from a fixed seed) out of everything the
# server parses after authentication: odd JIDs (Unicode that stringprep
# maps, refuses or grows, bidi, noncharacters, overlong parts, IPv6
# literals), every stanza kind and type, and the payloads of the IQ and
# stream-level modules (roster, blocking, vCard, private, PEP, register,
# carbons, CSI, SM with broken counters).  A stream closed with an error
# logs in again.  Afterwards no worker was restarted, two users who sat
# through it still chat, and (under SANITIZE=1) no sanitizer spoke.
import os
import random
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

SEED = int(os.environ.get('XFED_FUZZ_SEED', '20261125'))
ROUNDS = 60			# batches per stream
BATCH = 25			# stanzas per batch

JIDS = [
	'', '@', 'a@', '@localhost', 'localhost', 'bob@localhost',
	'bob@localhost/desk', 'carol@localhost/desk', 'nobody@localhost',
	'x@example.org', 'x@example.org/r', 'Юлия@localhost', 'ЮЛИЯ@LOCALHOST/r',
	'\uff21\uff22@localhost', 'a\u00adb@localhost', 'a\uff20b@localhost',
	'\u0130' * 600 + '@localhost', '\u0627' + '1@localhost',
	'a@localhost/\U0010ffff', 'a@localhost/\ufdd0', 'a@localhost/\U0001f4f1',
	'x@[::1]', 'x@[::1]/r', 'x@[::g]', 'x@m\u00fcnchen.de/\ufb01',
	'x@M\u00dcNCHEN.DE.', 'x@a..b', 'x@.a', 'x@a/', 'a b@localhost',
	'\u2168@localhost', 'x' * 1100 + '@localhost', 'x@' + 'y' * 64 + '.com',
	'x@localhost/' + 'r' * 1100, '\ufdfa' * 100 + '@localhost',
	'bob@localhost/\u0000', 'bob@localhost/a\u00a0b', 'self',
]

TEXTS = ['', 'hi', 'Юлия', '\U0001f600' * 50, '&amp;&lt;', 'x' * 3000,
    '\u202e\u0627', ' ', '\u00ad']


def esc(s):
	return (s.replace('&', '&amp;').replace("'", '&apos;')
	    .replace('<', '&lt;').replace('>', '&gt;'))


def jid(r, me):
	j = r.choice(JIDS)
	if j == 'self':
		return me
	# U+0000 cannot be written in XML at all: a character reference
	# for it is a parse error the stream must survive too.
	return esc(j).replace('\u0000', '&#0;')


def attr(r, name, values):
	v = r.choice(values + [None])
	return '' if v is None else " %s='%s'" % (name, esc(v))


def text(r):
	return esc(r.choice(TEXTS))


def payload(r, me):
	"""The inside of an <iq/>."""
	kind = r.randrange(14)
	if kind == 0:
		return ("<query xmlns='jabber:iq:roster'><item jid='%s'%s%s>"
		    "<group>%s</group></item></query>" % (jid(r, me),
		    attr(r, 'name', ['n', 'Юлия', '']),
		    attr(r, 'subscription', ['remove', 'both', 'x']),
		    text(r)))
	if kind == 1:
		return "<query xmlns='jabber:iq:roster' ver='%s'/>" % text(r)
	if kind == 2:
		k = r.choice(['block', 'unblock', 'blocklist'])
		items = ''.join("<item jid='%s'/>" % jid(r, me)
		    for _ in range(r.randrange(4)))
		return "<%s xmlns='urn:xmpp:blocking'>%s</%s>" % (k, items, k)
	if kind == 3:
		return "<vCard xmlns='vcard-temp'><FN>%s</FN></vCard>" % text(r)
	if kind == 4:
		return ("<query xmlns='jabber:iq:private'><x xmlns='%s'>%s</x>"
		    "</query>" % (r.choice(['a:b', 'jabber:client',
		    'jabber:iq:private', 'Юлия']), text(r)))
	if kind == 5:
		node = r.choice(['urn:xmpp:avatar:data', 'n', '', 'Юлия',
		    'eu.siacs.conversations.axolotl.devicelist', 'x' * 300])
		return ("<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		    "<publish node='%s'><item%s><x xmlns='y'>%s</x></item>"
		    "</publish></pubsub>" % (esc(node), attr(r, 'id',
		    ['current', '', 'Юлия']), text(r)))
	if kind == 6:
		return ("<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		    "<items node='%s'%s/></pubsub>" % (esc(r.choice(['n', '',
		    'urn:xmpp:avatar:data'])), attr(r, 'max_items',
		    ['1', '0', '-1', '99999999999', 'x'])))
	if kind == 7:
		# A password change that succeeds keeps the password: the
		# fuzzer must log in again after a stream error.
		user = me.split('@')[0]
		return ("<query xmlns='jabber:iq:register'><username>%s"
		    "</username><password>%s</password></query>" % (
		    esc(r.choice([user, 'Юлия', '', 'a@b'])),
		    esc(r.choice([user + '-pw', '', 'a\u0007b',
		    '\u0627' + '1']))))
	if kind == 8:
		return "<%s xmlns='urn:xmpp:carbons:2'/>" % r.choice(
		    ['enable', 'disable', 'private'])
	if kind == 9:
		return "<query xmlns='http://jabber.org/protocol/disco#%s'%s/>" % (
		    r.choice(['info', 'items']), attr(r, 'node', ['', 'x']))
	if kind == 10:
		return "<ping xmlns='urn:xmpp:ping'/>"
	if kind == 11:
		return "<query xmlns='jabber:iq:version'/>"
	if kind == 12:
		return ("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
		    "<resource>%s</resource></bind>" % text(r))
	return "<unknown xmlns='%s'/>" % esc(r.choice(['', 'x', 'Юлия']))


def stanza(r, me):
	kind = r.randrange(10)
	to = attr(r, 'to', [jid(r, me) for _ in range(3)])
	frm = attr(r, 'from', [jid(r, me)]) if r.random() < 0.1 else ''
	if kind < 3:
		return "<message%s%s%s%s><body>%s</body></message>" % (to, frm,
		    attr(r, 'type', ['chat', 'normal', 'headline', 'error',
		    'groupchat', 'x']), attr(r, 'id', ['1', 'Юлия']), text(r))
	if kind < 5:
		return ("<presence%s%s%s><show>%s</show><status>%s</status>"
		    "<priority>%s</priority></presence>" % (to, frm,
		    attr(r, 'type', ['unavailable', 'subscribe', 'subscribed',
		    'unsubscribe', 'unsubscribed', 'probe', 'error', 'x']),
		    esc(r.choice(['away', 'dnd', 'x', ''])), text(r),
		    esc(r.choice(['0', '5', '-1', '-129', '128', 'x', '',
		    '99999999999999999999']))))
	if kind < 8:
		return "<iq%s%s type='%s' id='f%d'>%s</iq>" % (to, frm,
		    r.choice(['get', 'set', 'set', 'result', 'error', 'x']),
		    r.randrange(1000), payload(r, me))
	if kind == 8:
		return r.choice(["<enable xmlns='urn:xmpp:sm:3' resume='true'/>",
		    "<r xmlns='urn:xmpp:sm:3'/>", "<a xmlns='urn:xmpp:sm:3' "
		    "h='%s'/>" % r.choice(['0', '1', '-1', '4294967295', 'x',
		    '99999999999']), "<resume xmlns='urn:xmpp:sm:3' previd='"
		    "%s' h='1'/>" % r.choice(['', 'x' * 32, 'Юлия'])])
	return r.choice(["<active xmlns='urn:xmpp:csi:0'/>",
	    "<inactive xmlns='urn:xmpp:csi:0'/>"])


class Fuzzer:
	def __init__(self, node, user, seed):
		self.node = node
		self.user = user
		self.r = random.Random(seed)
		self.raw = None
		self.me = None
		self.logins = 0

	def connect(self):
		self.raw = RawClient(self.node.port, timeout=5)
		self.me = self.raw.login(self.user + '@localhost',
		    self.user + '-pw', resource='f%d' % self.logins)
		self.logins += 1

	def batch(self):
		if self.raw is None or self.raw.closed or self.raw.stream_ended:
			if self.raw is not None:
				self.raw.close()
			self.connect()
		for _ in range(BATCH):
			if not self.raw.send(stanza(self.r, self.me)):
				break
		# Drain what came back; a stream error ends this stream.
		for _ in range(200):
			if self.raw.read_element(0.02) is None:
				break


def test():
	plan(5)
	node = Node(workers=2)
	for u in ('alice', 'bob', 'carol', 'dave', 'erin'):
		node.add_user(u + '@localhost', u + '-pw')
	pids = sorted(w['pid'] for w in node.workers_list())
	bob = login(node, 'bob@localhost/desk', 'bob-pw')
	carol = login(node, 'carol@localhost/desk', 'carol-pw')

	fz = [Fuzzer(node, u, SEED + i) for i, u in
	    enumerate(('alice', 'dave', 'erin'))]
	for _ in range(ROUNDS):
		for f in fz:
			f.batch()
		pump(0)
	sent = ROUNDS * BATCH * len(fz)
	diag('%d stanzas sent over %d logins' % (sent,
	    sum(f.logins for f in fz)))
	for f in fz:
		f.raw.close()

	is_(sorted(w['pid'] for w in node.workers_list()), pids,
	    'no worker died (%d stanzas)' % sent)
	ok(node.alive(), 'the master is up')
	ok(exchange(bob, carol) is not None and exchange(carol, bob)
	    is not None, 'bob and carol, online all along, still chat')
	c = Client(node, 'alice@localhost/after', 'alice-pw')
	is_(c.login(), 'session', 'a fuzzing user still logs in')
	ok(sum(f.logins for f in fz) >= len(fz), 'every fuzzer logged in')


main(test, timeout=240)
