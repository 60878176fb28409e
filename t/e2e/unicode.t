#!/usr/bin/python3
# unicode.t: JIDs and passwords beyond ASCII.  An account made as
# "Юлия" is the user "юлия" (Nodeprep folds Cyrillic capitals as well as
# ASCII), logs in as "ЮЛИЯ" and is reached at any case of her name; a
# resource is normalised at bind as in the 'to' of a stanza (Resourceprep:
# U+FB01 is "fi").  Her password "I<U+00AD>X" is SASLprep'ed to "IX": a
# client that types IX logs in with SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN,
# and a raw PLAIN with <U+2168> (NFKC: IX) too; xfedctl refuses a
# password SASLprep prohibits.
import base64
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

YULIA = '\u042e\u043b\u0438\u044f'		# Юлия
YULIA_LOWER = YULIA.lower()			# юлия


def test():
	plan(11)
	node = Node(workers=2)
	node.add_user(YULIA + '@localhost', 'I\u00adX')
	node.add_user('bob@localhost', 'bob-pw')
	r = node.ctl('user', 'list')
	users = [u if isinstance(u, str) else u.get('jid') for u in
	    (r.data or {}).get('users', [])]
	ok(YULIA_LOWER + '@localhost' in users, 'the account is listed as '
	    '%s@localhost (%r)' % (YULIA_LOWER, users))

	for mech in ('SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN'):
		c = Client(node, YULIA.upper() + '@localhost/m', 'IX', mech=mech)
		is_(c.login(), 'session', '%s: %s@localhost logs in with the '
		    'password IX' % (mech, YULIA.upper()))
		c.disconnect()
	c = Client(node, YULIA + '@localhost/x', 'ix')
	is_(c.login(), 'failed_auth', 'SASLprep folds no case: ix is wrong')

	raw = RawClient(node.port)
	raw.open()
	raw.starttls()
	raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL,
	    base64.b64encode(('\0%s\0\u2168' % YULIA).encode()).decode()))
	el = raw.read_element(5)
	is_(local_name(el) if el is not None else None, 'success',
	    'raw PLAIN with U+2168 (NFKC: IX) succeeds')
	raw.close()

	y = login(node, YULIA + '@localhost/\ufb01le', 'IX')
	is_(y.full_jid, YULIA_LOWER + '@localhost/file',
	    'bound as %s@localhost/file' % YULIA_LOWER)
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	for to in (YULIA.upper() + '@LOCALHOST/\ufb01le',
	    YULIA + '@localhost/file'):
		body = 'to %s' % to
		bob.send_message(to, body)
		ok(y.wait_message(5, lambda m, b=body: m['body'] == b)
		    is not None, 'a message to %s arrives' % to)
	body = 'to the bare JID'
	bob.send_message(YULIA.upper() + '@localhost', body)
	ok(y.wait_message(5, lambda m: m['body'] == body) is not None,
	    'and one to %s@localhost' % YULIA.upper())

	r = node.ctl('user', 'add', 'carol@localhost', input='a\x07b\n')
	ok(r.rc != 0 and 'SASLprep' in (r.err or ''),
	    'xfedctl refuses a password with a control character: %r' %
	    ((r.err or '').strip(),))


main(test)
