#!/usr/bin/python3
# register.t: XEP-0077 in-band registration: refused while 'registration' is
# off; with it on, a new account registers over TLS and logs in, a taken name
# is a conflict; password change and account removal for logged-in users
# (whatever the option says).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS = 'jabber:iq:register'


def reg_iq(raw, itype, body='', iq_id='r1'):
	"""Sends a jabber:iq:register IQ on a raw stream; returns the reply."""
	raw.send("<iq type='%s' id='%s'><query xmlns='%s'>%s</query></iq>" %
	    (itype, iq_id, NS, body))
	return raw.read_element()


def err(el):
	"""(type, condition) of an IQ error element, or the IQ type."""
	if el is None:
		return None
	if el.get('type') != 'error':
		return el.get('type')
	e = el.find('{%s}error' % NS_CLIENT)
	if e is None:
		return ('error', None)
	for c in e:
		if c.tag.startswith('{%s}' % NS_STANZAS):
			return (e.get('type'), c.tag.split('}', 1)[1])
	return (e.get('type'), None)


def signup(node, user, pw, iq_id='r1'):
	"""A fresh TLS stream that registers user; returns (raw, reply)."""
	raw = RawClient(node.port)
	raw.open()
	raw.starttls()
	return raw, reg_iq(raw, 'set', '<username>%s</username>'
	    '<password>%s</password>' % (user, pw), iq_id)


def change_pw(c, user, pw, to='localhost'):
	return c.iq("<query xmlns='%s'><username>%s</username>"
	    "<password>%s</password></query>" % (NS, user, pw), to=to,
	    itype='set')


def test():
	plan(28)

	# --- registration off (the default) -----------------------------
	off = Node(workers=1, name='off')
	raw = RawClient(off.port)
	raw.open()
	feats = raw.starttls()
	ok('register' not in features_list(feats),
	    'off: no register stream feature (got %r)' % features_list(feats))
	is_(err(reg_iq(raw, 'get')), ('cancel', 'service-unavailable'),
	    'off: the form is service-unavailable')
	r = reg_iq(raw, 'set', '<username>eve</username>'
	    '<password>eve-pw</password>', 'r2')
	is_(err(r), ('cancel', 'service-unavailable'),
	    'off: registering is service-unavailable')
	raw.close()
	is_(Client(off, 'eve@localhost', 'eve-pw').login(), 'failed_auth',
	    'off: no account was made')

	# Existing users may still change their password and leave.
	off.add_user('frank@localhost', 'frank-pw')
	frank = login(off, 'frank@localhost', 'frank-pw')
	is_(change_pw(frank, 'frank', 'frank-new')['type'], 'result',
	    'off: a user changes his password')
	frank.disconnect()
	is_(Client(off, 'frank@localhost', 'frank-pw').login(), 'failed_auth',
	    'off: the old password no longer works')
	frank = login(off, 'frank@localhost', 'frank-new')
	ok(frank.connected, 'off: the new one does')
	off.stop()

	# --- registration on ---------------------------------------------
	node = Node(workers=2, c2s_extra="    'registration' = true")
	node.add_user('bob@localhost', 'bob-pw')
	raw = RawClient(node.port)
	feats = raw.open()
	ok('register' not in features_list(feats),
	    'on: not offered before TLS when TLS is required')
	feats = raw.starttls()
	ok('register' in features_list(feats),
	    'on: offered after STARTTLS (got %r)' % features_list(feats))
	r = reg_iq(raw, 'get')
	q = r.find('{%s}query' % NS) if r is not None else None
	ok(q is not None and q.find('{%s}username' % NS) is not None and
	    q.find('{%s}password' % NS) is not None,
	    'on: the form asks for username and password')
	r = reg_iq(raw, 'set', '<username>dave</username><password/>', 'r2')
	is_(err(r), ('modify', 'not-acceptable'),
	    'on: an empty password is not acceptable')
	r = reg_iq(raw, 'set', '<username>da ve@x</username>'
	    '<password>pw</password>', 'r3')
	is_(err(r), ('modify', 'jid-malformed'),
	    'on: a username that cannot be a localpart is refused')
	r = reg_iq(raw, 'set', '<username>Dave</username>'
	    '<password>dave-pw</password>', 'r4')
	is_(err(r), 'result', 'on: dave registers')
	r = reg_iq(raw, 'set', '<username>dave2</username>'
	    '<password>dave-pw</password>', 'r5')
	is_(err(r), ('modify', 'not-acceptable'),
	    'on: one registration per connection')
	raw.close()

	raw, r = signup(node, 'bob', 'other-pw')
	is_(err(r), ('cancel', 'conflict'), 'on: a taken name is a conflict')
	raw.close()
	raw, r = signup(node, 'DAVE', 'x')
	is_(err(r), ('cancel', 'conflict'),
	    'on: the name is normalised (DAVE = dave)')
	raw.close()

	dave = login(node, 'dave@localhost', 'dave-pw')
	ok(dave.connected, 'on: dave logs in with the new account')
	r = dave.iq("<query xmlns='%s'/>" % NS, to='localhost')
	q = r.xml.find('{%s}query' % NS) if r is not None else None
	ok(q is not None and q.find('{%s}registered' % NS) is not None,
	    'on: dave is told he is registered')

	r = change_pw(dave, 'bob', 'hijack')
	is_(stanza_error(r), ('modify', 'bad-request'),
	    'on: dave cannot change bob\'s password')
	r = change_pw(dave, 'dave', 'dave-new', to=None)
	is_(r['type'] if r is not None else None, 'result',
	    'on: dave changes his password (no to)')
	dave.disconnect()
	is_(Client(node, 'dave@localhost', 'dave-pw').login(), 'failed_auth',
	    'on: the old password fails')

	# Removal: both of dave's sessions end, the account is gone.
	dave = login(node, 'dave@localhost/one', 'dave-new')
	# The other session on the other worker: the kick crosses a ring.
	other, _ = on_different_workers(node, 'dave@localhost/two',
	    'dave-new', dave.full_jid)
	if other is None:
		raise RuntimeError('no second session on another worker')
	r = dave.iq("<query xmlns='%s'><remove/></query>" % NS, itype='set')
	is_(r['type'] if r is not None else None, 'result',
	    'on: dave removes his account')
	ok(dave.wait_disconnected(5) and 'not-authorized' in
	    dave.stream_errors, 'on: then his stream ends with not-authorized '
	    '(got %r)' % (dave.stream_errors,))
	ok(other.wait_disconnected(5),
	    'on: his other session, on the other worker, is closed too (%r)' % (other.stream_errors,))
	is_(Client(node, 'dave@localhost', 'dave-new').login(), 'failed_auth',
	    'on: dave can no longer log in')
	raw, r = signup(node, 'dave', 'again-pw')
	is_(err(r), 'result', 'on: the name is free again')
	raw.close()
	node.stop()

	# --- on, TLS optional: still never over a plain stream -------------
	plain = Node(workers=1, tls_required=False, name='plain',
	    c2s_extra="    'registration' = true")
	raw = RawClient(plain.port)
	feats = raw.open()
	ok('register' not in features_list(feats),
	    'plain: not offered without TLS (got %r)' % features_list(feats))
	r = reg_iq(raw, 'set', '<username>gus</username>'
	    '<password>gus-pw</password>')
	is_(err(r), ('modify', 'not-authorized'),
	    'plain: refused without TLS')
	raw.close()


main(test)
