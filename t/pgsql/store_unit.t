#!/usr/bin/python3
# store_unit.t: the store's C unit test (t/unit/store.c, built as
# <build>/t/store.t) once more with XFED_TEST_PG_DSN set, against a real
# PostgreSQL with the schema of conf/pgsql.sql: accounts, the per-user
# tables' prefix semantics, read-modify-write, binary keys in byte order,
# and a server that is not there.  Its TAP lines become this test's.
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403


def test():
	unit = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(
	    XFED))), 't', 'store.t')
	if not os.access(unit, os.X_OK):
		plan(1)
		ok(False, '%s built (run make test)' % unit)
		return
	pg = pg_server()
	db = pg.create_db('unit')
	with open(os.path.join(REPO, 'conf', 'pgsql.sql')) as f:
		pg.psql(f.read(), db=db)
	# Made by the superuser: the role the store connects as may use it.
	pg.psql('GRANT ALL ON ALL TABLES IN SCHEMA public TO xfed; '
	    'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO xfed', db=db)
	p = subprocess.run([unit], capture_output=True, text=True, timeout=120,
	    env=dict(os.environ, XFED_TEST_PG_DSN=pg.dsn(db)))
	results = []
	for line in p.stdout.splitlines():
		m = re.match(r'^(ok|not ok) \d+ - (.*)$', line)
		if m:
			results.append((m.group(1) == 'ok', m.group(2)))
		elif line.startswith('#'):
			results.append((None, line[1:].strip()))
	n = sum(1 for r in results if r[0] is not None)
	plan(n + 2)
	ok(p.returncode == 0, 'store.t exits 0 (%d)' % p.returncode)
	ok(any(r[0] is not None and r[1].startswith('pgsql:') for r in
	    results), 'the PostgreSQL part ran')
	for good, name in results:
		if good is None:
			diag(name)
		else:
			ok(good, name)


main(test, timeout=150)
