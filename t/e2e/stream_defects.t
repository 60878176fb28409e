#!/usr/bin/python3
# stream_defects.t: stream defects real clients ran into, seen on the wire:
# whitespace before a restarted stream's header (go-sendxmpp), nothing after
# </stream:stream> (RFC 6120 4.4), <show/> checked (RFC 6121 4.7.2.1), an
# id-less IQ told why it is refused and XEP-0160's msgoffline in the
# server's disco#info.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

CLOSE = b'</stream:stream>'
DISCO_INFO = 'http://jabber.org/protocol/disco#info'


def auth_cred(user, password):
	return base64.b64encode(('\0%s\0%s' % (user, password)).encode()) \
	    .decode()


def restart_after_ws(node, ws, separate):
	"""SASL PLAIN whose </auth> is followed by ws (in the same write, or
	after <success/> in a write of its own), then the restarted stream;
	returns the new stream's features (None: refused)."""
	raw = RawClient(node.port)
	try:
		raw.open()
		raw.starttls()
		raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>%s" % (
		    NS_SASL, auth_cred('dave', 'dave-pw'),
		    '' if separate else ws))
		el = raw.read_element()
		if local_name(el) != 'success':
			return None
		if separate:
			raw.send(ws)
			time.sleep(0.2)	# its own TCP segment, read on its own
		feats = raw.open()
		if feats is None:
			diag('restart refused: %r' % (raw.read_stream_error(1),))
		return feats
	finally:
		raw.close()


def starttls_ws(node):
	"""Whitespace first on the TLS layer, then the header."""
	raw = RawClient(node.port)
	try:
		raw.open()
		raw.send("<starttls xmlns='%s'/>" % NS_TLS)
		if local_name(raw.read_element()) != 'proceed':
			return None
		raw._wrap()
		raw.send('\r\n')
		time.sleep(0.2)
		return raw.open()
	finally:
		raw.close()


# Whitespace before a restarted stream's header.
def restart_blanks(node):
	for ws, sep, what in (('\n', False, '</auth> and a newline'),
	    (' \r\n\t', False, '</auth> and spaces, CR LF, tab'),
	    ('\n', True, 'a newline on its own after <success/>')):
		feats = restart_after_ws(node, ws, sep)
		ok('bind' in features_list(feats),
		    'restart after %s: bind offered (got %r)' % (what,
		    features_list(feats)))
	feats = starttls_ws(node)
	ok('mechanisms' in features_list(feats),
	    'whitespace first after STARTTLS: mechanisms offered (got %r)' %
	    (features_list(feats),))


def bytes_until_eof(raw, timeout=5):
	"""Every byte the server sends until it closes the connection."""
	got = b''
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		raw.sock.settimeout(max(0.05, deadline - time.monotonic()))
		try:
			data = raw.sock.recv(65536)
		except (socket.timeout, ssl.SSLError, OSError):
			break
		if not data:
			break
		got += data
	return got


def available_raw(node, resource):
	"""dave/resource over a raw stream, available (its own presence
	read back)."""
	raw = RawClient(node.port)
	raw.login('dave@localhost', 'dave-pw', resource=resource)
	raw.send('<presence/>')
	me = 'dave@localhost/' + resource
	_, other = read_bodies(raw, timeout=5, until=lambda el:
	    local_name(el) == 'presence' and el.get('from') == me)
	if not [el for el in other if el.get('from') == me]:
		raise RuntimeError('%s: no own presence back' % me)
	return raw


# Nothing after </stream:stream>, yet the unavailable presence
# reaches a contact and the account's other resource.
def nothing_after_close(node):
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	other = login(node, 'dave@localhost/other', 'dave-pw')
	other.xmpp.auto_authorize = True
	bob.xmpp.auto_subscribe = True
	bpres, opres = asyncio.Queue(), asyncio.Queue()
	for c, q in ((bob, bpres), (other, opres)):
		c.xmpp.register_handler(Callback('test presence', MatchXPath(
		    '{%s}presence' % NS_CLIENT), lambda p, q=q:
		    q.put_nowait(p)))
	bob.xmpp.send_presence(pto='dave@localhost', ptype='subscribe')
	ok(wait_for(lambda: pump(0.1) or [i for i in node.ctl('roster',
	    'dave@localhost').data['roster'] if i['jid'] == 'bob@localhost'
	    and i['subscription'] in ('from', 'both')], 5),
	    'bob is subscribed to dave')

	def unavailable_from(q, full, timeout=5):
		async def get():
			while True:
				p = await q.get()
				if p['type'] == 'unavailable' and \
				    str(p['from']) == full:
					return p
		try:
			return run(get(), timeout)
		except asyncio.TimeoutError:
			return None

	def ends(what, resource, trigger):
		raw = available_raw(node, resource)
		trigger(raw)
		got = bytes_until_eof(raw)
		raw.close()
		i = got.find(CLOSE)
		ok(i >= 0, '%s: </stream:stream> sent' % what)
		is_(got[i + len(CLOSE):] if i >= 0 else None, b'',
		    '%s: nothing after </stream:stream>' % what)
		full = 'dave@localhost/' + resource
		ok(unavailable_from(bpres, full) is not None,
		    '%s: bob hears dave/%s go' % (what, resource))
		ok(unavailable_from(opres, full) is not None,
		    '%s: dave/other hears dave/%s go' % (what, resource))

	ends('client closes', 'close', lambda r: r.send(CLOSE))
	ends('not-well-formed', 'bad', lambda r: r.send('<message></mess>'))
	ends('kick', 'kicked', lambda r: node.ctl('kick',
	    'dave@localhost/kicked'))

	# A conflict hands the session on: nobody hears it go.
	raw = available_raw(node, 'twice')
	again = RawClient(node.port)
	again.login('dave@localhost', 'dave-pw', resource='twice')
	got = bytes_until_eof(raw)
	raw.close()
	again.close()
	i = got.find(CLOSE)
	ok(i >= 0 and b'conflict' in got[:i],
	    'conflict: stream error and </stream:stream> sent')
	is_(got[i + len(CLOSE):] if i >= 0 else None, b'',
	    'conflict: nothing after </stream:stream>')


# <show/>: empty is the same as none, an unknown value refused.
def show(node):
	raw = available_raw(node, 'show')
	me = 'dave@localhost/show'
	raw.send("<presence><show/><status>here</status></presence>")
	_, other_els = read_bodies(raw, timeout=5, until=lambda el:
	    local_name(el) == 'presence' and el.get('from') == me)
	p = other_els[-1] if other_els else None
	ok(p is not None and p.get('type') is None,
	    'empty <show/>: the presence goes out (got %r)' % (
	    ET.tostring(p) if p is not None else None,))
	ok(p is not None and p.find('{%s}show' % NS_CLIENT) is None and
	    p.find('{%s}status' % NS_CLIENT) is not None,
	    'empty <show/>: dropped from the broadcast, the rest kept')
	raw.send("<presence><show>busy</show></presence>")
	_, other_els = read_bodies(raw, timeout=5, until=lambda el:
	    local_name(el) == 'presence' and el.get('to') == me)
	p = other_els[-1] if other_els else None
	err = p.find('{%s}error' % NS_CLIENT) if p is not None else None
	ok(p is not None and p.get('type') == 'error' and err is not None and
	    err.find('{%s}bad-request' % NS_STANZAS) is not None,
	    "<show>busy</show>: presence error bad-request (got %r)" % (
	    ET.tostring(p) if p is not None else None,))
	raw.send("<presence><show>away</show></presence>")
	_, more = read_bodies(raw, timeout=5, until=lambda el:
	    local_name(el) == 'presence' and el.get('from') == me)
	shows = [el.findtext('{%s}show' % NS_CLIENT) for el in
	    other_els + more if el.get('from') == me]
	is_(shows, ['away'], 'busy was not broadcast, a valid show still is')
	raw.send(CLOSE)
	raw.close()


# An IQ with no id is refused, saying why.
def iq_without_id(node):
	raw = RawClient(node.port)
	raw.login('alice@localhost', 'alice-pw', resource='noid')
	raw.send("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/>"
	    "</iq>")
	el = raw.read_element()
	err = el.find('{%s}error' % NS_CLIENT) if el is not None else None
	ok(err is not None and err.find('{%s}bad-request' % NS_STANZAS)
	    is not None, 'iq without id: bad-request (got %r)' % (
	    ET.tostring(el) if el is not None else None,))
	text = err.find('{%s}text' % NS_STANZAS) if err is not None else None
	like(text.text if text is not None else None, r'\bid\b',
	    'iq without id: the error text names the missing id')
	raw.send("<iq type='get' id='p2' to='localhost'>"
	    "<ping xmlns='urn:xmpp:ping'/></iq>")
	el = raw.read_element()
	is_(el.get('type') if el is not None else None, 'result',
	    'the stream goes on after the error')
	raw.send(CLOSE)
	raw.close()


# XEP-0160: msgoffline.
def msgoffline(node):
	alice = login(node, 'alice@localhost/disco', 'alice-pw')
	r = alice.iq("<query xmlns='%s'/>" % DISCO_INFO, to='localhost')
	q = r.xml.find('{%s}query' % DISCO_INFO) if r is not None else None
	feats = [f.get('var') for f in q.findall('{%s}feature' % DISCO_INFO)] \
	    if q is not None else []
	ok('msgoffline' in feats, 'disco#info has msgoffline (got %r)' %
	    (feats,))


def test():
	plan(27)
	node = Node(workers=1)
	for u in ('alice', 'bob', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	restart_blanks(node)
	nothing_after_close(node)
	show(node)
	iq_without_id(node)
	msgoffline(node)


main(test)
