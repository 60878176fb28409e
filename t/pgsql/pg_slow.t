#!/usr/bin/python3
# pg_slow.t: a query that PostgreSQL does not answer never stalls the
# worker.  One worker only, so every session shares one event loop: while
# a login waits for a table another transaction has locked, the users
# already online keep chatting through that same worker; when the lock
# goes the login completes; when it outlasts 'query-timeout' the login
# fails with temporary-auth-failure and the next one works.  Logins
# queued for a busy pool wait at most query-timeout too, not one
# timeout per connection ahead of them.
import base64
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403
from pg import TableLock as Lock		# noqa: E402


def start_plain(node, user, pw):
	"""A raw stream that has sent a PLAIN <auth>; its answer is read
	later."""
	raw = RawClient(node.port, timeout=15)
	raw.open()
	raw.starttls()
	raw.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL,
	    base64.b64encode(('\0%s\0%s' % (user, pw)).encode()).decode()))
	return raw


def answer(raw, timeout):
	el = raw.read_element(timeout)
	if el is None:
		return None, None
	cond = [local_name(c) for c in el if local_name(c) != 'text']
	return local_name(el), (cond[0] if cond else None)


def chat_rounds(a, b, n, tag):
	"""n messages each way, each waited for; how many arrived."""
	got = 0
	for i in range(n):
		if exchange(a, b, '%s-%d-there' % (tag, i)) is not None:
			got += 1
		if exchange(b, a, '%s-%d-back' % (tag, i)) is not None:
			got += 1
	return got


def test():
	plan(14)
	node = Node(workers=1, storage_extra="'query-timeout' = 3; "
	    "'pool-size' = 2")
	for u in ('alice', 'bob', 'carol'):
		node.add_user(u + '@localhost', u + '-pw')
	a = login(node, 'alice@localhost/x', 'alice-pw')
	b = login(node, 'bob@localhost/x', 'bob-pw')
	ok(chat_rounds(a, b, 2, 'warm') == 4, 'alice and bob chat')

	# --- a lock released in time -------------------------------------
	lock = Lock(node, 'xf_users')
	ok(lock.held, 'another transaction holds xf_users exclusively')
	raw = start_plain(node, 'carol', 'carol-pw')
	is_(answer(raw, 0.5), (None, None),
	    'carol\'s login waits for the locked table')
	is_(chat_rounds(a, b, 10, 'locked'), 20,
	    'meanwhile alice and bob exchange 20 messages through the same '
	    'worker')
	is_(answer(raw, 0.1), (None, None),
	    'and carol\'s login was waiting all along')
	lock.release()
	is_(answer(raw, 10), ('success', None),
	    'once the lock is gone carol\'s login succeeds')
	raw.close()

	# --- a lock held past query-timeout ------------------------------
	lock = Lock(node, 'xf_users')
	ok(lock.held, 'the table is locked again')
	raw = start_plain(node, 'carol', 'carol-pw')
	is_(chat_rounds(a, b, 5, 'long'), 10,
	    'alice and bob chat while the query waits')
	is_(answer(raw, 10), ('failure', 'temporary-auth-failure'),
	    'past query-timeout the login fails with temporary-auth-failure')
	raw.close()
	lock.release()
	c = Client(node, 'carol@localhost/y', 'carol-pw')
	r = c.login(timeout=15)
	is_(r, 'session', 'with the lock gone the next login works (the '
	    'connection that timed out was replaced)')
	ok(chat_rounds(a, b, 2, 'after') == 4, 'alice and bob still chat')
	like(node.log_text(), r'no answer in 3 s',
	    'the worker logged the query that timed out')

	# --- more logins than pooled connections --------------------------
	# Two take the pool's connections and wait for the lock; four queue
	# for a connection.  Handed one in turn, the last two would answer
	# after three timeouts (9 s); their wait is bounded by one.
	lock = Lock(node, 'xf_users')
	raws = [start_plain(node, 'carol', 'carol-pw') for _ in range(6)]
	t0 = time.monotonic()
	got = [answer(r, max(0.1, t0 + 7 - time.monotonic())) for r in raws]
	is_(got, [('failure', 'temporary-auth-failure')] * 6,
	    'six logins on a pool of two: every one answered '
	    'temporary-auth-failure within 7 s (query-timeout 3 s)')
	for r in raws:
		r.close()
	lock.release()
	ok(chat_rounds(a, b, 2, 'queue') == 4 and Client(node,
	    'carol@localhost/z', 'carol-pw').login(timeout=15) == 'session',
	    'then chat and logins work again')


main(test, timeout=120)
