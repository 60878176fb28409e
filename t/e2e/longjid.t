#!/usr/bin/python3
# longjid.t: long localparts.  RFC 7622 allows 1023 bytes, but a session's
# full JID is an LMDB key of at most 511 bytes, so an account's bare JID
# is at most 383 (XF_ACCOUNT_JID_MAX), which leaves any account room for
# a 127-byte resource.  Longer accounts are refused where they would be
# made (xfedctl user add, XEP-0077), cannot log in (not-authorized, like
# any unknown user), and a stanza to such an address gets the error for
# a missing account, never internal-server-error.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

ACCOUNT_MAX = 383
DOMAIN = 'localhost'
LONGEST = 'l' * (ACCOUNT_MAX - len('@' + DOMAIN))	# bare: 383 bytes
TOO_LONG = 'm' * (ACCOUNT_MAX + 1 - len('@' + DOMAIN))	# bare: 384
RFC_MAX = 'n' * 1023				# valid, too long here


def iq_error(el):
	"""(type attribute, error condition) of a reply, or its type."""
	if el is None:
		return None
	if el.get('type') != 'error':
		return el.get('type')
	err = el.find('{jabber:client}error')
	for c in (err if err is not None else []):
		if c.tag.startswith('{urn:ietf:params:xml:ns:xmpp-stanzas}'):
			return c.tag.split('}', 1)[1]
	return 'error without a condition'


def test():
	plan(14)
	node = Node(workers=2, c2s_extra="    'registration' = true")

	# xfedctl user add.
	for local, what in ((RFC_MAX, '1023-byte'), (TOO_LONG, '374-byte')):
		r = node.ctl('user', 'add', local + '@' + DOMAIN, input='pw\n')
		ok(r.rc != 0 and 'longer than %d bytes' % ACCOUNT_MAX in r.err,
		    'user add: a %s localpart is refused, saying the limit '
		    '(%s)' % (what, r.err.strip()[-80:]))
	r = node.ctl('user', 'add', LONGEST + '@' + DOMAIN, input='pw\n')
	is_(r.rc, 0, 'user add: a bare JID of %d bytes is taken' % ACCOUNT_MAX)
	node.add_user('bob@' + DOMAIN, 'bob-pw')

	# The longest account logs in and binds the longest resource.
	raw = RawClient(node.port)
	jid = raw.login(LONGEST, 'pw', resource='r' * 127)
	is_(jid, '%s@%s/%s' % (LONGEST, DOMAIN, 'r' * 127),
	    'the longest account binds a 127-byte resource')
	raw.close()
	raw = RawClient(node.port)
	raw.authenticate(LONGEST, 'pw')
	raw.open()
	raw.send("<iq type='set' id='b'><bind xmlns='%s'/></iq>" % NS_BIND)
	is_(iq_error(raw.read_element()), 'result',
	    '... and a server-made resource')
	raw.close()

	# Login with a name no account can have.
	raw = RawClient(node.port)
	raw.open()
	raw.starttls()
	el = raw.auth_plain(RFC_MAX, 'pw')
	is_(local_name(el), 'failure', 'PLAIN as a 1023-byte user fails')
	is_(local_name(el[0]) if el is not None and len(el) else None,
	    'not-authorized', '... with not-authorized')
	raw.close()
	c = Client(node, RFC_MAX + '@' + DOMAIN + '/x', 'pw',
	    mech='SCRAM-SHA-256')
	is_(c.login(), 'failed_auth', 'SCRAM-SHA-256 as a 1023-byte user '
	    'fails like any unknown user')

	# In-band registration.
	for local, what in ((RFC_MAX, '1023-byte'), (TOO_LONG, '374-byte')):
		raw = RawClient(node.port)
		raw.open()
		raw.starttls()
		raw.send("<iq type='set' id='r'><query xmlns='jabber:iq:"
		    "register'><username>%s</username><password>pw</password>"
		    "</query></iq>" % local)
		is_(iq_error(raw.read_element()), 'not-acceptable',
		    'XEP-0077: a %s localpart is not-acceptable' % what)
		raw.close()

	# Stanzas to such an address: as to any account that does not exist.
	bob = RawClient(node.port)
	bob.login('bob', 'bob-pw', resource='b')
	bob.send("<message to='%s@%s' id='m'><body>hi</body></message>" %
	    (RFC_MAX, DOMAIN))
	is_(iq_error(bob.read_element()), 'service-unavailable',
	    'a message to a 1023-byte localpart: service-unavailable')
	bob.send("<iq to='%s@%s' type='get' id='v'><query xmlns='jabber:iq:"
	    "version'/></iq>" % (RFC_MAX, DOMAIN))
	is_(iq_error(bob.read_element()), 'service-unavailable',
	    'an iq to it: service-unavailable')
	bob.send("<message to='%s@%s/%s' id='m2'><body>hi</body></message>" %
	    (LONGEST, DOMAIN, 'x' * 1023))
	el = bob.read_element(2)
	ok(el is None or iq_error(el) not in ('internal-server-error',),
	    'a message to the longest account with a 1023-byte resource: '
	    'no internal-server-error (%s)' % iq_error(el))
	bob.send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
	is_(iq_error(bob.read_element()), 'result', 'bob\'s stream goes on')
	bob.close()


main(test)
