#!/usr/bin/python3
# accept_emfile.t: a worker out of file descriptors (RLIMIT_NOFILE of
# what it has open plus ROOM) neither spins on its readable listener nor floods the log: it refuses
# connections, rests its listener, logs at most a line a second with a
# count; once connections close, clients log in and chat again.
import os
import resource
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

ROOM = 24		# descriptors left for connections
MAX_CONNS = 100		# more than ROOM: some must be refused


def cpu_seconds(pid):
	with open('/proc/%d/stat' % pid) as f:
		fields = f.read().rsplit(')', 1)[1].split()
	# utime and stime: fields 14 and 15, 12 and 13 after the name.
	return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def test():
	plan(7)
	node = Node(workers=1)
	for u in ('alice', 'bob'):
		node.add_user(u + '@localhost', u + '-pw')
	pid = node.workers_list()[0]['pid']
	# The worker's own limit, lowered while it runs to what it has open
	# (rings, stores, TLS, epoll: more than 64 already) and a few more.
	nofile = len(os.listdir('/proc/%d/fd' % pid)) + ROOM
	hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
	resource.prlimit(pid, resource.RLIMIT_NOFILE, (nofile, hard))
	diag('worker %d: RLIMIT_NOFILE %d' % (pid, nofile))

	# Plain TCP connections until the worker cannot take more; the
	# kernel's backlog holds the rest.
	socks = []
	for _ in range(MAX_CONNS):
		try:
			socks.append(socket.create_connection(('127.0.0.1',
			    node.port), timeout=2))
		except OSError:
			break
	ok(wait_for(lambda: 'accept4' in node.log_text(), 5),
	    'the worker says accept4 fails')
	time.sleep(0.5)
	size0, cpu0 = os.path.getsize(node.log), cpu_seconds(pid)
	time.sleep(2)
	size1, cpu1 = os.path.getsize(node.log), cpu_seconds(pid)
	ok(cpu1 - cpu0 < 0.5, 'the worker does not spin: %.2f s of CPU in 2 s'
	    % (cpu1 - cpu0))
	ok(size1 - size0 < 2000, 'the log grows by %d bytes in 2 s' %
	    (size1 - size0))
	lines = [l for l in node.log_text().splitlines() if 'accept4' in l]
	like(lines[-1] if lines else None, r'\d+ connections? refused',
	    'with a count of refused connections')
	ok(node.alive() and pid_alive(pid), 'the worker is still there')

	# Room again: clients log in and chat.
	for s in socks:
		s.close()
	socks = []
	alice = Client(node, 'alice@localhost/a', 'alice-pw')
	ok(wait_for(lambda: alice.login() == 'session', 10),
	    'once connections close a client logs in')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	ok(exchange(alice, bob) is not None, 'and chats')


main(test)
