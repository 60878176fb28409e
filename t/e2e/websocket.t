#!/usr/bin/python3
# websocket.t: XMPP over WebSocket (RFC 6455, RFC 7395) on the http
# listener: a wss:// login (SASL PLAIN, bind) chatting with a TCP client
# both ways; <open/> restarts, fragmented messages, pings, <close/>;
# bad frames closed with the right close code while another session goes
# on chatting; bad HTTP requests answered and closed; an Origin not
# allowed refused; ws:// with 'tls-required' refused.
import base64
import os
import socket
import ssl
import struct
import sys
import time
import xml.etree.ElementTree as ET
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

try:
	import websocket			# Debian's python3-websocket
except ImportError:
	websocket = None

NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing'
PATH = '/xmpp-websocket'
ORIGIN_OK = 'https://chat.example.org'
MAX_STANZA = 65536


def tag(el):
	return el.tag if el is not None else None


class RawWs:
	"""A WebSocket client by hand, for what no library would send."""

	def __init__(self, port, tls=False, timeout=5):
		self.sock = socket.create_connection(('127.0.0.1', port),
		    timeout=timeout)
		if tls:
			ctx = ssl.create_default_context()
			ctx.check_hostname = False
			ctx.verify_mode = ssl.CERT_NONE
			self.sock = ctx.wrap_socket(self.sock,
			    server_hostname='localhost')
		self.buf = b''
		self.eof = False

	def _fill(self):
		try:
			d = self.sock.recv(65536)
		except (socket.timeout, ssl.SSLError, OSError):
			return False
		if not d:
			self.eof = True
			return False
		self.buf += d
		return True

	def request(self, head):
		"""Sends head (str or bytes) and reads the answer's head:
		(status, {header: value}) or (None, {}) when none came."""
		if isinstance(head, str):
			head = head.encode()
		try:
			self.sock.sendall(head)
		except OSError:
			pass
		while b'\r\n\r\n' not in self.buf:
			if not self._fill():
				return None, {}
		raw, self.buf = self.buf.split(b'\r\n\r\n', 1)
		lines = raw.decode('latin-1').split('\r\n')
		hdrs = {}
		for l in lines[1:]:
			k, _, v = l.partition(':')
			hdrs[k.strip().lower()] = v.strip()
		return int(lines[0].split()[1]), hdrs

	def handshake(self, protocol='xmpp', origin=None, extra=''):
		key = base64.b64encode(os.urandom(16)).decode()
		return self.request('GET %s HTTP/1.1\r\nHost: localhost\r\n'
		    'Upgrade: websocket\r\nConnection: Upgrade\r\n'
		    'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n'
		    '%s%s%s\r\n' % (PATH, key,
		    'Sec-WebSocket-Protocol: %s\r\n' % protocol if protocol
		    else '', 'Origin: %s\r\n' % origin if origin else '', extra))

	def send_frame(self, opcode, payload, mask=True, fin=True):
		if isinstance(payload, str):
			payload = payload.encode()
		b0 = (0x80 if fin else 0) | opcode
		n = len(payload)
		m = 0x80 if mask else 0
		if n < 126:
			head = struct.pack('!BB', b0, m | n)
		elif n < 65536:
			head = struct.pack('!BBH', b0, m | 126, n)
		else:
			head = struct.pack('!BBQ', b0, m | 127, n)
		if mask:
			k = os.urandom(4)
			payload = k + bytes(c ^ k[i % 4] for i, c in
			    enumerate(payload))
		try:
			self.sock.sendall(head + payload)
			return True
		except OSError:
			return False

	def send(self, text):
		return self.send_frame(1, text)

	def read_frame(self, timeout=5):
		"""(opcode, payload) or None at EOF or timeout."""
		deadline = time.monotonic() + timeout
		while True:
			if len(self.buf) >= 2:
				n = self.buf[1] & 0x7f
				h = 2
				if n == 126 and len(self.buf) >= 4:
					n = struct.unpack('!H', self.buf[2:4])[0]
					h = 4
				elif n == 127 and len(self.buf) >= 10:
					n = struct.unpack('!Q', self.buf[2:10])[0]
					h = 10
				if self.buf[1] & 0x80:
					raise RuntimeError('server frame masked')
				if n < 126 or h > 2:
					if len(self.buf) >= h + n:
						op = self.buf[0] & 0x0f
						p = self.buf[h:h + n]
						self.buf = self.buf[h + n:]
						return op, p
			left = deadline - time.monotonic()
			if left <= 0 or self.eof:
				return None
			self.sock.settimeout(left)
			if not self._fill():
				if self.eof:
					continue
				return None

	def read_el(self, timeout=5):
		"""The next text message as an element (pings answered by
		nobody here: none are sent to us); None otherwise."""
		f = self.read_frame(timeout)
		if f is None or f[0] != 1:
			self.last = f
			return None
		return ET.fromstring(f[1].decode())

	def close_code(self, timeout=5):
		"""Reads until a close frame: its status code (0: none), or
		None when the connection ended without one."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			f = self.read_frame(deadline - time.monotonic())
			if f is None:
				return None
			if f[0] == 8:
				return struct.unpack('!H', f[1][:2])[0] \
				    if len(f[1]) >= 2 else 0
		return None

	def closed(self, timeout=5):
		"""True when the server closed the TCP connection."""
		deadline = time.monotonic() + timeout
		while not self.eof and time.monotonic() < deadline:
			self.sock.settimeout(max(deadline - time.monotonic(),
			    0.01))
			if not self._fill() and not self.eof:
				break
			self.buf = b''
		return self.eof

	def close(self):
		try:
			self.sock.close()
		except OSError:
			pass


def open_el(to='localhost'):
	return "<open xmlns='%s' to='%s' version='1.0'/>" % (NS_FRAMING, to)


class WsXmpp:
	"""An XMPP session over wss:// through python3-websocket (which
	checks the handshake's Sec-WebSocket-Accept and subprotocol)."""

	def __init__(self, port):
		self.ws = websocket.create_connection(
		    'wss://127.0.0.1:%d%s' % (port, PATH), timeout=5,
		    subprotocols=['xmpp'], origin=ORIGIN_OK,
		    sslopt={'cert_reqs': ssl.CERT_NONE,
		    'check_hostname': False})

	def send(self, text):
		self.ws.send(text)

	def read(self, timeout=5):
		self.ws.settimeout(timeout)
		try:
			return ET.fromstring(self.ws.recv())
		except (websocket.WebSocketTimeoutException, OSError,
		    websocket.WebSocketConnectionClosedException):
			return None

	def start(self):
		"""<open/>: (the server's open, its features)."""
		self.send(open_el())
		return self.read(), self.read()

	def login(self, user, password, resource):
		o, feats = self.start()
		self.first = (o, feats)
		cred = base64.b64encode(('\0%s\0%s' % (user, password))
		    .encode()).decode()
		self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" %
		    (NS_SASL, cred))
		el = self.read()
		if tag(el) != '{%s}success' % NS_SASL:
			raise RuntimeError('ws auth: %r' % (el,))
		o, feats = self.start()
		self.send("<iq type='set' id='b1' xmlns='jabber:client'><bind "
		    "xmlns='%s'><resource>%s</resource></bind></iq>" %
		    (NS_BIND, resource))
		el = self.read()
		j = el.find('.//{%s}jid' % NS_BIND) if el is not None else None
		self.send("<presence xmlns='jabber:client'/>")
		return j.text if j is not None else None

	def wait_message(self, body, timeout=5):
		"""The message with this body; the harness's loop (the TCP
		clients) runs meanwhile."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			el = self.read(0.05)
			if el is None:
				pump(0.05)
				continue
			if el.tag == '{jabber:client}message' and \
			    el.findtext('{jabber:client}body') == body:
				return el
		return None


def test_login_chat(node):
	node.add_user('wsuser@localhost', 'ws-pw')
	node.add_user('tcpuser@localhost', 'tcp-pw')
	tcp = login(node, 'tcpuser@localhost/tcp', 'tcp-pw')

	w = WsXmpp(node.https_port)
	is_(w.ws.subprotocol, 'xmpp', 'handshake: subprotocol xmpp chosen')
	full = w.login('wsuser', 'ws-pw', 'web')
	o, feats = w.first
	is_(tag(o), '{%s}open' % NS_FRAMING, 'the server answers <open/>')
	ok(o is not None and o.get('from') == 'localhost' and
	    o.get('version') == '1.0' and o.get('id'),
	    '<open/> has from, version 1.0 and an id')
	is_(tag(feats), '{%s}features' % NS_STREAM,
	    '<stream:features> is a message of its own, xmlns:stream declared')
	mechs = [m.text for m in feats.iter('{%s}mechanism' % NS_SASL)] \
	    if feats is not None else []
	ok('PLAIN' in mechs, 'PLAIN offered over wss:// (%r)' % (mechs,))
	ok(feats is not None and feats.find('{%s}starttls' % NS_TLS) is None,
	    'no STARTTLS over WebSocket')
	is_(full, 'wsuser@localhost/web', 'bound after SASL PLAIN and a '
	    'restart with a new <open/>')
	ok(wait_for(lambda: node.session('wsuser@localhost/web'), 5),
	    'the WebSocket session is in the session table')

	tcp.send_message(full, 'to the browser')
	flush_all()
	m = w.wait_message('to the browser')
	ok(m is not None, 'TCP -> WebSocket message arrives')
	is_(m.get('from') if m is not None else None, tcp.full_jid,
	    'from is the TCP client\'s full JID')

	w.send("<message xmlns='jabber:client' to='%s' type='chat'>"
	    "<body>from the browser</body></message>" % tcp.full_jid)
	m = tcp.wait_message(5, lambda m: m['body'] == 'from the browser')
	ok(m is not None, 'WebSocket -> TCP message arrives')
	is_(str(m['from']) if m else None, full, 'from is stamped with the '
	    'WebSocket session\'s full JID')

	# An element without xmlns takes the stream's (lenient), and a
	# stanza split over three frames is reassembled.
	w.ws.send_frame(websocket.ABNF.create_frame("<message to='%s' "
	    "type='chat'><body>fragm" % tcp.full_jid, websocket.ABNF.OPCODE_TEXT,
	    fin=0))
	w.ws.send_frame(websocket.ABNF.create_frame("ented</bo",
	    websocket.ABNF.OPCODE_CONT, fin=0))
	w.ws.send_frame(websocket.ABNF.create_frame("dy></message>",
	    websocket.ABNF.OPCODE_CONT, fin=1))
	m = tcp.wait_message(5, lambda m: m['body'] == 'fragmented')
	ok(m is not None, 'a message in three fragments arrives whole')

	w.ws.ping('are you there')
	w.ws.settimeout(5)
	try:
		op, f = w.ws.recv_data_frame(True)
		got = (op, f.data)
	except Exception as e:
		got = repr(e)
	is_(got, (websocket.ABNF.OPCODE_PONG, b'are you there'),
	    'ping answered with a pong carrying its data')

	# RFC 7395 3.6: <close/> answered with <close/>, then the close.
	w.send("<close xmlns='%s'/>" % NS_FRAMING)
	el = w.read()
	is_(tag(el), '{%s}close' % NS_FRAMING, '<close/> answered <close/>')
	try:
		w.ws.settimeout(5)
		op, f = w.ws.recv_data_frame(True)
		code = struct.unpack('!H', f.data[:2])[0] if op == 8 else op
	except Exception as e:
		code = repr(e)
	is_(code, 1000, 'then the WebSocket closes with 1000')
	ok(wait_for(lambda: node.session('wsuser@localhost/web') is None, 5),
	    'the session is gone after <close/>')
	tcp.disconnect()


def test_plain_ws(node):
	# ws:// cannot STARTTLS: with 'tls-required' the stream is refused.
	r = RawWs(node.http_port)
	st, h = r.handshake()
	is_(st, 101, 'ws:// upgrade accepted')
	r.send(open_el())
	o = r.read_el()
	e = r.read_el()
	is_(tag(o), '{%s}open' % NS_FRAMING, 'ws://: <open/> answered')
	is_(stream_error_condition(e) if e is not None else None,
	    'policy-violation', 'ws:// with tls-required: policy-violation')
	is_(tag(r.read_el()), '{%s}close' % NS_FRAMING,
	    'the stream error is followed by <close/> (RFC 7395 3.6)')
	is_(r.close_code(), 1000, 'and a close frame')
	ok(r.closed(), 'and the connection closes')
	r.close()


def bad_frame(node, name, send, want):
	r = RawWs(node.https_port, tls=True)
	st, h = r.handshake()
	if st != 101:
		ok(False, '%s: upgrade (%r)' % (name, st))
		return
	send(r)
	is_(r.close_code(), want, '%s: close code %d' % (name, want))
	ok(r.closed(), '%s: connection closed' % name)
	r.close()


def test_bad_frames(node):
	ch = Chatter(node)
	ch.round()
	bad_frame(node, 'unmasked frame', lambda r: r.send_frame(1,
	    open_el(), mask=False), 1002)
	bad_frame(node, 'binary frame', lambda r: r.send_frame(2,
	    open_el()), 1003)
	bad_frame(node, 'message over max-stanza-size', lambda r:
	    r.send_frame(1, '<a>' + 'x' * MAX_STANZA + '</a>'), 1009)
	bad_frame(node, 'fragments over max-stanza-size', lambda r: (
	    r.send_frame(1, '<a>' + 'x' * 40000, fin=False),
	    r.send_frame(0, 'x' * 40000, fin=True)), 1009)
	bad_frame(node, 'reserved opcode 3', lambda r: r.send_frame(3,
	    'x'), 1002)
	bad_frame(node, 'continuation without a start', lambda r:
	    r.send_frame(0, 'x'), 1002)
	bad_frame(node, 'invalid UTF-8', lambda r: r.send_frame(1,
	    b'<a>\xff</a>'), 1007)
	ch.round()

	# XMPP-level errors: a stream error, <close/>, then the close frame.
	for name, msgs, cond in (
	    ('two elements in one message', [open_el() + open_el()],
		'bad-format'),
	    ('an element split over two messages', [open_el()[:10],
		open_el()[10:]], 'bad-format'),
	    ('text, not an element', ['hello'], 'bad-format'),
	    ('a stanza before <open/>', ["<presence xmlns='jabber:client'/>"],
		'bad-format'),
	    ('ill-formed XML', ["<open xmlns='%s' to='localhost' "
		"version='1.0'></clo>" % NS_FRAMING], 'not-well-formed'),
	    ('too many attributes', ["<open xmlns='%s' %s/>" % (NS_FRAMING,
		' '.join("a%d='x'" % i for i in range(200)))],
		'policy-violation')):
		r = RawWs(node.https_port, tls=True)
		r.handshake()
		for m in msgs:
			r.send(m)
		err = None
		for _ in range(3):
			el = r.read_el()
			if el is None or el.tag == '{%s}error' % NS_STREAM:
				err = el
				break
		is_(stream_error_condition(err) if err is not None else None,
		    cond, '%s: stream error %s' % (name, cond))
		is_(tag(r.read_el()), '{%s}close' % NS_FRAMING,
		    '%s: then <close/>' % name)
		ok(r.closed(), '%s: connection closed' % name)
		r.close()
	ch.round()
	good, why = ch.check()
	ok(good, 'the TCP chat went on meanwhile: %s' % why)


def http_case(node, name, head, want, tls=False, check_hdr=None):
	r = RawWs(node.https_port if tls else node.http_port, tls=tls)
	st, h = r.request(head)
	is_(st, want, '%s: HTTP %s' % (name, want))
	if check_hdr:
		k, v = check_hdr
		is_(h.get(k), v, '%s: %s: %s' % (name, k, v))
	ok(r.closed(), '%s: connection closed' % name)
	r.close()


def upgrade_head(path=PATH, method='GET', proto='xmpp', version='13',
    upgrade=True, extra=''):
	return ('%s %s HTTP/1.1\r\nHost: localhost\r\n%s'
	    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
	    'Sec-WebSocket-Version: %s\r\n%s%s\r\n' % (method, path,
	    'Upgrade: websocket\r\nConnection: Upgrade\r\n' if upgrade else '',
	    version, 'Sec-WebSocket-Protocol: %s\r\n' % proto if proto else '',
	    extra))


def test_bad_http(node):
	http_case(node, 'wrong path', upgrade_head(path='/other'), 404)
	http_case(node, 'no Upgrade', upgrade_head(upgrade=False), 400)
	http_case(node, 'no xmpp subprotocol', upgrade_head(proto='chat'),
	    400)
	http_case(node, 'no subprotocol at all', upgrade_head(proto=None),
	    400)
	http_case(node, 'POST', upgrade_head(method='POST'), 405)
	http_case(node, 'WebSocket version 8', upgrade_head(version='8'), 426,
	    check_hdr=('sec-websocket-version', '13'))
	http_case(node, 'headers over max-request-size', upgrade_head(
	    extra='X-Filler: %s\r\n' % ('y' * 5000)), 431)
	http_case(node, 'a body over max-request-size', upgrade_head(
	    extra='Content-Length: 100000\r\n'), 413)
	http_case(node, 'not HTTP', 'HELLO\r\n\r\n', 400)
	http_case(node, 'wss://: wrong path', upgrade_head(path='/'), 404,
	    tls=True)
	# The right request on the same listener still works.
	r = RawWs(node.http_port)
	st, h = r.request(upgrade_head())
	is_((st, h.get('sec-websocket-accept'), h.get('sec-websocket-protocol')),
	    (101, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'xmpp'),
	    'a good upgrade: 101, RFC 6455\'s sample accept key, xmpp')
	r.close()


def test_origin(node):
	http_case(node, 'Origin not allowed', upgrade_head(
	    extra='Origin: https://evil.example\r\n'), 403)
	r = RawWs(node.http_port)
	st, h = r.handshake(origin=ORIGIN_OK)
	is_(st, 101, 'an allowed Origin is upgraded')
	r.close()
	r = RawWs(node.http_port)
	st, h = r.handshake()
	is_(st, 101, 'no Origin (not a browser) is upgraded')
	r.close()


def test():
	if websocket is None:
		skip_all('python3-websocket is not installed')
	http_port = free_port()
	https_port = free_port()
	node = Node(workers=2, max_stanza=MAX_STANZA, c2s_extra='', extra=(
	    "http {\n"
	    "    'ports' = [ '127.0.0.1:%d' ]\n"
	    "    'tls-ports' = [ '127.0.0.1:%d' ]\n"
	    "    'max-request-size' = '4k'\n"
	    "    'allowed-origins' = [ '%s' ]\n"
	    "}\n" % (http_port, https_port, ORIGIN_OK)))
	node.http_port = http_port
	node.https_port = https_port
	ok(wait_for(lambda: port_open(http_port) and port_open(https_port), 5),
	    'the http listeners are up')
	test_login_chat(node)
	test_plain_ws(node)
	test_bad_frames(node)
	test_bad_http(node)
	test_origin(node)


main(test)
