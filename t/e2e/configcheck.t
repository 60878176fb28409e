#!/usr/bin/python3
# configcheck.t: `xfed -t -c FILE` accepts a good configuration and names the
# file and line of each mistake in a bad one.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def check(path):
	p = subprocess.run([XFED, '-t', '-c', path], capture_output=True,
	    text=True, timeout=15, stdin=subprocess.DEVNULL)
	return p.returncode, p.stdout, p.stderr


def test():
	plan(23)
	node = Node(start=False)
	good = node.conf_text()
	rc, out, err = check(node.conf)
	is_(rc, 0, 'a good configuration passes (%r)' % (err,))
	ok(not os.path.exists(node.sock) and not os.path.exists(node.pid_file),
	    '-t starts nothing (no socket, no pid file)')

	lines = good.splitlines()
	at = lines.index('c2s {')

	def variant(name, edit):
		"""Writes good with edit(lines) applied; returns the path."""
		ls = list(lines)
		edit(ls)
		path = os.path.join(node.dir, name + '.conf')
		with open(path, 'w') as f:
			f.write('\n'.join(ls) + ('\n' if name != 'unterminated'
			    else ''))
		return path

	# Each: (name, edit, the line the error is on, what the message says)
	cases = [
	    ('unknown', lambda ls: ls.insert(3, "'no-such-option' = 1"), 4,
		r'no-such-option'),
	    ('unknown-in-block', lambda ls: ls.insert(at + 2,
		"    'no-such-knob' = true"), at + 3, r'no-such-knob'),
	    ('type-workers', lambda ls: ls.insert(2, "'workers' = 'many'"), 3,
		r'workers'),
	    ('type-bool', lambda ls: ls.insert(at + 1,
		"    'tls-required' = 'yes'"), at + 2, r'tls-required'),
	    ('type-int', lambda ls: ls.insert(at + 1,
		"    'max-stanza-size' = 'big'"), at + 2, r'max-stanza-size'),
	    ('unterminated', lambda ls: ls.append("'log-level' = 'debug"),
		len(lines) + 1, r'(?i)unterminated|string'),
	]
	for name, edit, line, what in cases:
		path = variant(name, edit)
		rc, out, err = check(path)
		is_(rc, 1, '%s: exit 1' % name)
		like(err, '^' + re.escape(path) + ':%d: ' % line,
		    '%s: stderr starts with FILE:%d:' % (name, line))
		like(err, what, '%s: and says what is wrong' % name)

	# An unterminated string in the middle of the file: the line where
	# the string starts.
	path = variant('unterminated-mid', lambda ls: ls.insert(2,
	    "'pid-file' = '/tmp/nowhere"))
	rc, out, err = check(path)
	ok(rc == 1 and err.startswith(path + ':3: '),
	    'unterminated string mid-file: FILE:3: (%r)' % (err,))

	def cut_tls_and_brace(ls):
		del ls[ls.index('tls {'):]
		ls.remove('}')		# the one closing c2s
	path = variant('unterminated-block', cut_tls_and_brace)
	rc, out, err = check(path)
	ok(rc == 1 and err.startswith(path + ':'),
	    'unterminated block: exit 1, FILE: (%r)' % (err,))

	rc, out, err = check(os.path.join(node.dir, 'missing.conf'))
	ok(rc == 1 and err.strip(), 'a missing file: exit 1 with a message '
	    '(%r)' % (err,))


main(test)
