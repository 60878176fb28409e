#!/usr/bin/python3
# privdrop.t: started as root with 'user' = 'nobody' and 'group' = 'nogroup',
# the master stays root and the workers (a reload's too) run as nobody:nogroup
# with no way back; the data directory is theirs, so a client registers in
# band, logs in and chats.  Without 'user' and without 'run-as-root', xfed
# refuses to start as root with one line on stderr; a bad 'user' or 'group'
# is a file:line error.
import grp
import os
import pwd
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

NS_REG = 'jabber:iq:register'


def ids(pid):
	"""{'Uid': [real, effective, saved, fs], 'Gid': [...], 'Groups': [...]}
	from /proc/PID/status."""
	out = {}
	with open('/proc/%d/status' % pid) as f:
		for line in f:
			k, _, v = line.partition(':')
			if k in ('Uid', 'Gid', 'Groups'):
				out[k] = [int(x) for x in v.split()]
	return out


def xfed(args, conf, timeout=15):
	p = subprocess.run([XFED] + args + ['-c', conf], capture_output=True,
	    text=True, timeout=timeout, stdin=subprocess.DEVNULL,
	    cwd=os.path.dirname(conf))
	return p.returncode, p.stdout, p.stderr


def register(node, user, pw):
	raw = RawClient(node.port)
	raw.open()
	raw.starttls()
	raw.send("<iq type='set' id='r1'><query xmlns='%s'><username>%s"
	    "</username><password>%s</password></query></iq>" %
	    (NS_REG, user, pw))
	return raw.read_element()


def check_workers(node, uid, gid, what):
	ws = [w for w in node.workers_list() if w.get('state') == 'running']
	is_(len(ws), node.workers, '%s: %d workers running' %
	    (what, node.workers))
	for w in ws:
		i = ids(w['pid'])
		ok(i['Uid'] == [uid] * 4 and i['Gid'] == [gid] * 4 and
		    0 not in i['Groups'], '%s: worker %s (pid %d) runs as '
		    'nobody:nogroup, real, effective, saved and fs ids, '
		    'no group 0 (%r)' % (what, w.get('index'), w['pid'], i))
	return ws


def test():
	if os.geteuid() != 0:
		skip_all('needs root')
	try:
		uid = pwd.getpwnam('nobody').pw_uid
		gid = grp.getgrnam('nogroup').gr_gid
	except KeyError:
		skip_all('no user nobody or group nogroup')
	plan(24)

	node = Node(workers=2, user='nobody', group='nogroup',
	    c2s_extra="    'registration' = true", start=False)
	# mkdtemp made it 0700: the workers open the data directory by path.
	os.chmod(node.dir, 0o711)
	rc, out, err = xfed(['-t'], node.conf)
	is_(rc, 0, 'xfed -t accepts user nobody, group nogroup (%r)' % err)
	node.start()

	m = ids(node.pid)
	is_(m['Uid'], [0] * 4, 'the master stays root')
	check_workers(node, uid, gid, 'at start')

	st = os.stat(node.data_dir)
	ok(st.st_uid == uid and st.st_gid == gid,
	    'the data directory belongs to nobody:nogroup')
	bad = []
	for sub in ('store', 'sessions'):
		d = os.path.join(node.data_dir, sub)
		for f in [d] + [os.path.join(d, n) for n in os.listdir(d)]:
			s = os.stat(f)
			if (s.st_uid, s.st_gid) != (uid, gid):
				bad.append(f)
	ok(not bad, 'so are the store and the session table (%r)' % bad)
	st = os.stat(node.sock)
	is_(st.st_uid, 0, 'the control socket stays root\'s (the master\'s)')

	# The workers write the store: in-band registration, then a chat.
	r = register(node, 'alice', 'alice-pw')
	is_(r.get('type') if r is not None else None, 'result',
	    'alice registers in band (a worker writes the store)')
	r = register(node, 'bob', 'bob-pw')
	is_(r.get('type') if r is not None else None, 'result',
	    'bob registers in band')
	alice = login(node, 'alice@localhost/a', 'alice-pw')
	bob = login(node, 'bob@localhost/b', 'bob-pw')
	ok(exchange(alice, bob, 'hi bob') is not None, 'alice -> bob arrives')
	ok(exchange(bob, alice, 'hi alice') is not None, 'bob -> alice arrives')
	alice.disconnect()
	bob.disconnect()

	# A reload's workers are forked by the root master and drop too.
	old = set(w['pid'] for w in node.workers_list())
	node.signal(signal.SIGHUP)
	ok(wait_for(lambda: len([w for w in node.workers_list() if
	    w.get('state') == 'running' and w['pid'] not in old]) ==
	    node.workers, 10), 'SIGHUP: a new generation of workers runs')
	check_workers(node, uid, gid, 'after SIGHUP')
	c = login(node, 'alice@localhost/c', 'alice-pw')
	ok(c is not None, 'alice logs in on the new workers')
	c.disconnect()
	is_(node.stop(), 0, 'the node stops cleanly')

	# No user, no run-as-root: refused, with one line, before anything.
	lines = [ln for ln in node.conf_text().splitlines()
	    if not ln.startswith("'user'") and not ln.startswith("'group'")
	    and not ln.startswith("'run-as-root'")]
	conf = os.path.join(node.dir, 'root.conf')
	with open(conf, 'w') as f:
		f.write('\n'.join(lines) + '\n')
	if os.path.exists(node.pid_file):
		os.unlink(node.pid_file)
	rc, out, err = xfed(['-f'], conf)
	ok(rc != 0 and len(err.splitlines()) == 1 and
	    re.search(r"run as root.*'user'.*'run-as-root'", err),
	    'root without user or run-as-root: exit %r, one line (%r)' %
	    (rc, err))
	ok(not os.path.exists(node.pid_file), 'and nothing started')
	rc, out, err = xfed(['-t'], conf)
	ok(rc != 0 and err.startswith(conf + ': '),
	    'xfed -t says so too (%r)' % (err,))

	with open(conf, 'w') as f:
		f.write('\n'.join(lines) + "\n'user' = 'root'\n")
	rc, out, err = xfed(['-t'], conf)
	ok(rc != 0 and 'run as root' in err, "'user' = 'root' is refused "
	    "the same (%r)" % (err,))

	with open(conf, 'w') as f:
		f.write('\n'.join(lines) + "\n'user' = 'no-such-user-xf'\n")
	rc, out, err = xfed(['-t'], conf)
	ok(rc == 1 and err.startswith('%s:%d: ' % (conf, len(lines) + 1)) and
	    'no-such-user-xf' in err, 'an unknown user: file:line (%r)' %
	    (err,))
	with open(conf, 'w') as f:
		f.write('\n'.join(lines) + "\n'user' = 'nobody'\n"
		    "'group' = 'no-such-group-xf'\n")
	rc, out, err = xfed(['-t'], conf)
	ok(rc == 1 and err.startswith('%s:%d: ' % (conf, len(lines) + 2)),
	    'an unknown group: file:line (%r)' % (err,))


main(test)
