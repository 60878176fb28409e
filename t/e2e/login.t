#!/usr/bin/python3
# login.t: SASL mechanisms over STARTTLS and direct TLS, bad credentials, and
# a plain-text client refused while 'tls-required' is on.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	plan(19)
	node = Node(tls_required=True)
	node.add_user('alice@localhost', 'alice-secret')

	for mech, direct in (('SCRAM-SHA-256', False),
	    ('SCRAM-SHA-1', False), ('PLAIN', True),
	    ('SCRAM-SHA-256', True)):
		how = 'direct TLS' if direct else 'STARTTLS'
		c = Client(node, 'alice@localhost', 'alice-secret', mech=mech,
		    direct_tls=direct)
		r = c.login()
		is_(r, 'session', '%s over %s logs in' % (mech, how))
		if r == 'session':
			is_(c.xmpp['feature_mechanisms'].mech.name, mech,
			    '%s over %s: that mechanism was used' % (mech,
			    how))
		else:
			ok(False, '%s over %s: that mechanism was used' %
			    (mech, how))
			diag('auth failures %r stream errors %r' %
			    (c.auth_failures, c.stream_errors))
		c.disconnect()

	c = Client(node, 'alice@localhost', 'wrong', mech='SCRAM-SHA-256')
	is_(c.login(), 'failed_auth', 'wrong password is refused')
	ok('not-authorized' in c.auth_failures,
	    'wrong password: failure not-authorized (got %r)' %
	    (c.auth_failures,))

	c = Client(node, 'nobody@localhost', 'whatever', mech='SCRAM-SHA-1')
	is_(c.login(), 'failed_auth', 'unknown user is refused')
	ok('not-authorized' in c.auth_failures,
	    'unknown user: failure not-authorized (got %r)' %
	    (c.auth_failures,))

	c = Client(node, 'alice@localhost', 'wrong', mech='PLAIN',
	    direct_tls=True)
	is_(c.login(), 'failed_auth', 'PLAIN with a wrong password is refused')

	# What the server offers, seen by hand.
	raw = RawClient(node.port)
	feats = raw.open()
	is_(features_list(feats), ['starttls'],
	    'tls-required: only starttls offered before TLS')
	st = feats.find('{%s}starttls' % NS_TLS) if feats is not None \
	    else None
	ok(st is not None and st.find('{%s}required' % NS_TLS) is not None,
	    'starttls is marked required')
	el = raw.auth_plain('alice@localhost', 'alice-secret')
	got = el.tag if el is not None else None
	ok(got != '{%s}success' % NS_SASL,
	    'PLAIN before STARTTLS does not succeed (got %s)' % (got,))
	refused = (got == '{%s}failure' % NS_SASL and
	    el.find('{%s}encryption-required' % NS_SASL) is not None) or \
	    (got == '{%s}error' % NS_STREAM) or \
	    (got is None and (raw.closed or raw.stream_ended))
	ok(refused, 'it is refused: encryption-required or a stream error')
	raw.close()

	raw = RawClient(node.port)
	raw.open()
	feats = raw.starttls()
	mechs = [m.text for m in feats.iter('{%s}mechanism' % NS_SASL)] \
	    if feats is not None else []
	ok(set(mechs) >= {'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'},
	    'after STARTTLS: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN offered '
	    '(got %r)' % (mechs,))
	raw.close()

	raw = RawClient(node.tls_port, tls=True)
	jid = raw.login('alice@localhost', 'alice-secret', resource='hand',
	    starttls=False)
	is_(jid, 'alice@localhost/hand', 'direct TLS, PLAIN by hand, bind')
	raw.close()


main(test)
