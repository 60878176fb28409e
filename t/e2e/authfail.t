#!/usr/bin/python3
# authfail.t: failed logins, counted per node: an answer delayed more
# with each failure from an address, the address blocked after
# 'auth-fail-block-after' failures (the password is not even looked at),
# an account attacked from many addresses locked for a short
# 'auth-lock-time' only; two users chat all along and lose nothing.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def attempt(node, source, user, pw, last=False):
	"""PLAIN over direct TLS from source: the answer ('success', a
	failure's condition, or 'stream:' and a stream error's); with last,
	also the stream error that must follow and whether the server closed
	the connection."""
	r = RawClient(node.tls_port, tls=True, source=source, timeout=30)
	r.open()
	el = r.auth_plain(user, pw)
	if el is None:
		got = None
	elif el.tag == '{%s}error' % NS_STREAM:
		got = 'stream:%s' % stream_error_condition(el)
	elif el.tag == '{%s}failure' % NS_SASL:
		got = local_name(el[0]) if len(el) else 'failure'
	else:
		got = local_name(el)
	if not last:
		r.close()
		return got
	after = r.read_stream_error()
	closed = r.wait_closed()
	r.close()
	return got, after, closed


def test():
	plan(15)
	node = Node(workers=2, auth_fail_delay=1, c2s_extra=
	    "'auth-fail-block-after' = 5\n'auth-block-time' = 3600\n"
	    "'auth-fail-lock-after' = 6\n'auth-lock-time' = 3")
	for u in ('alice', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')
	chat = Chatter(node)
	chat.round()

	# One address, one account: blocked at the fifth failure.
	for i in range(1, 5):
		is_(attempt(node, '127.0.0.5', 'alice', 'wrong-%d' % i),
		    'not-authorized', 'failure %d from 127.0.0.5: '
		    'not-authorized' % i)
		chat.round(2)
	is_(attempt(node, '127.0.0.5', 'alice', 'wrong-5', last=True),
	    ('not-authorized', 'policy-violation', True),
	    'the fifth: not-authorized, then policy-violation and closed')
	is_(attempt(node, '127.0.0.5', 'alice', 'alice-pw', last=True),
	    ('not-authorized', 'policy-violation', True),
	    'the sixth, with the right password: not-authorized, closed '
	    '(the address is blocked, on every worker)')
	log = node.log_text()
	like(log, r'blocking logins from 127\.0\.0\.5 for 3600 s after 5 '
	    r'failures \(the last as alice@localhost\)', 'the block is logged')
	got = [int(m) for m in re.findall(r'failure (\d+) from 127\.0\.0\.5 '
	    r'answered in (\d+) ms', log) for m in [m[1]]]
	is_(got, [1000, 2000, 3000, 4000, 5000],
	    'each failure from the address is answered later than the one '
	    'before')
	is_(attempt(node, '127.0.0.6', 'alice', 'alice-pw'), 'success',
	    'alice logs in from another address')
	chat.round()

	# An attempt that does not wait for the answer to the last one.
	r = RawClient(node.tls_port, tls=True, source='127.0.0.7', timeout=30)
	r.open()
	bad = base64.b64encode(b'\0alice\0nope').decode()
	r.send(("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" %
	    (NS_SASL, bad)) * 2)
	el = r.read_element()
	is_(stream_error_condition(el) if el is not None and el.tag ==
	    '{%s}error' % NS_STREAM else local_name(el), 'policy-violation',
	    'a second <auth/> sent during the delay closes the stream')
	r.close()

	# One account from many addresses: locked, briefly.
	got = [attempt(node, '127.0.0.%d' % (20 + i), 'carol', 'guess-%d' % i)
	    for i in range(5)]
	got.append(attempt(node, '127.0.0.25', 'carol', 'guess-5', last=True))
	is_(got, ['not-authorized'] * 5 + [('not-authorized',
	    'policy-violation', True)], 'six failures for carol from six '
	    'addresses: the sixth closes the stream')
	like(node.log_text(), r'locking password logins to carol@localhost '
	    r'for 3 s after 6 failures \(the last from 127\.0\.0\.25\)',
	    'the lock is logged with the account and the address')
	is_(attempt(node, '127.0.0.30', 'carol', 'carol-pw', last=True),
	    ('not-authorized', 'policy-violation', True),
	    'carol herself, from a clean address, is refused while locked')
	chat.round()
	ok(wait_for(lambda: attempt(node, '127.0.0.31', 'carol', 'carol-pw')
	    == 'success', 30, interval=0.5),
	    'the lock is short: carol logs in again once it is over')

	ok(*chat.check())


main(test)
