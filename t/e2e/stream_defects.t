#!/usr/bin/python3
# stream_defects.t: stream defects real clients ran into, seen on the wire:
# whitespace before a restarted stream's header (go-sendxmpp).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


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


def test():
	plan(4)
	node = Node(workers=1)
	for u in ('alice', 'bob', 'dave'):
		node.add_user(u + '@localhost', u + '-pw')
	restart_blanks(node)


main(test)
