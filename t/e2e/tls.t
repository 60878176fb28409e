#!/usr/bin/python3
# tls.t: what TLS the c2s listeners speak: TLS 1.2 with ECDHE and AEAD suites
# only (no CBC, no SHA-1 MAC), TLS 1.3, nothing older; and a certificate
# replaced on disk is served after SIGHUP (the new workers load it), while a
# broken one leaves the running certificate in place.
import os
import ssl
import sys
import warnings
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
    'lib'))
from xfedtest import *				# noqa: E402,F403

# Offering TLS 1.0 and 1.1 is the point here.
warnings.filterwarnings('ignore', category=DeprecationWarning)


def handshake(port, minv=None, maxv=None, ciphers=None, alpn=True):
	"""Direct TLS to port: (protocol, cipher name, server cert DER), or
	the exception's text when the handshake fails."""
	ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
	ctx.check_hostname = False
	ctx.verify_mode = ssl.CERT_NONE
	if minv is not None:
		ctx.minimum_version = minv
	if maxv is not None:
		ctx.maximum_version = maxv
	if ciphers is not None:
		ctx.set_ciphers(ciphers)
	if alpn:
		ctx.set_alpn_protocols(['xmpp-client'])
	try:
		with socket.create_connection(('127.0.0.1', port), timeout=5) \
		    as s:
			with ctx.wrap_socket(s, server_hostname='localhost') \
			    as t:
				return (t.version(), t.cipher()[0],
				    t.getpeercert(binary_form=True))
	except (ssl.SSLError, OSError) as e:
		return str(e)


def der(path):
	with open(path) as f:
		return ssl.PEM_cert_to_DER_cert(f.read())


def client_can(minv, maxv, ciphers):
	"""Whether this Python/OpenSSL may offer that at all (else the
	refusal would prove nothing about the server)."""
	try:
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
		ctx.minimum_version = minv
		ctx.maximum_version = maxv
		ctx.set_ciphers(ciphers)
		return True
	except (ssl.SSLError, ValueError):
		return False


def test():
	plan(14)
	node = Node(workers=2, extra="'drain-timeout' = 0")
	port = node.tls_port
	cert1 = der(node.cert)

	r = handshake(port, maxv=ssl.TLSVersion.TLSv1_2)
	ok(isinstance(r, tuple) and r[0] == 'TLSv1.2',
	    'TLS 1.2 is accepted (%r)' % (r[:2] if isinstance(r, tuple)
	    else r,))
	ok(isinstance(r, tuple) and r[1].startswith('ECDHE-') and
	    ('GCM' in r[1] or 'CHACHA20' in r[1]),
	    'with an ECDHE AEAD suite (%r)' % (r[1] if isinstance(r, tuple)
	    else r,))

	for suite in ('ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384',
	    'ECDHE-ECDSA-AES128-SHA256'):
		r = handshake(port, maxv=ssl.TLSVersion.TLSv1_2,
		    ciphers=suite + ':@SECLEVEL=0')
		ok(not isinstance(r, tuple), 'CBC suite %s is refused (%r)' %
		    (suite, r[:2] if isinstance(r, tuple) else r))

	r = handshake(port, minv=ssl.TLSVersion.TLSv1_3)
	ok(isinstance(r, tuple) and r[0] == 'TLSv1.3',
	    'TLS 1.3 is accepted (%r)' % (r[:2] if isinstance(r, tuple)
	    else r,))
	ok(isinstance(r, tuple) and r[2] == cert1,
	    'the configured certificate is served')

	for v in ('TLSv1_1', 'TLSv1'):
		ver = getattr(ssl.TLSVersion, v)
		if not client_can(ver, ver, 'DEFAULT:@SECLEVEL=0'):
			skip('%s is refused' % v, 'this client cannot offer it')
			continue
		r = handshake(port, minv=ver, maxv=ver,
		    ciphers='DEFAULT:@SECLEVEL=0')
		ok(not isinstance(r, tuple), '%s is refused (%r)' %
		    (v, r[:2] if isinstance(r, tuple) else r))

	# --- certificate renewal: replace the files, SIGHUP -------------
	new = os.path.join(node.dir, 'new')
	os.mkdir(new)
	c2, k2 = make_cert(new)
	cert2 = der(c2)
	ok(cert2 != cert1, 'a second certificate was made')
	# Rename over the old files, as certbot-style renewals do.
	os.rename(k2, node.key)
	os.rename(c2, node.cert)
	r = handshake(port)
	ok(isinstance(r, tuple) and r[2] == cert1,
	    'before SIGHUP the running workers still serve the old one')
	node.signal(signal.SIGHUP)
	r = wait_for(lambda: (lambda x: isinstance(x, tuple) and
	    x[2] == cert2 and x)(handshake(port)), 10, 0.2)
	ok(r, 'after SIGHUP the new certificate is served')

	# A broken certificate: the reload is refused, cert2 stays.
	with open(node.cert, 'w') as f:
		f.write('not a certificate\n')
	node.signal(signal.SIGHUP)
	ok(wait_for(lambda: 'reload failed' in node.log_text(), 5),
	    'SIGHUP with a broken certificate: the reload fails (logged)')
	rs = [handshake(port) for _ in range(4)]
	ok(all(isinstance(x, tuple) and x[2] == cert2 for x in rs),
	    'and the running certificate is still served')


main(test)
