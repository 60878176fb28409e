/* tls.c: the OpenSSL server context for c2s (STARTTLS and direct TLS). */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "xf.h"
#include "worker.h"

static void
ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char	 buf[256] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path ? path : "", buf);
	ERR_clear_error();
}

/*
 * TLS 1.2 suites: ECDHE for forward secrecy, AEAD only (no CBC, whose
 * MAC-then-encrypt gave Lucky13 and POODLE-style padding oracles, nor
 * SHA-1 MACs).  Every TLS 1.2 client of the last decade has one of
 * these.  TLS 1.3's suites (OpenSSL's default: AES-GCM, ChaCha20) are
 * all AEAD already and left alone.
 */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* XEP-0368: direct TLS clients may ask for "xmpp-client" by ALPN. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char proto[] = "\x0bxmpp-client";

	if (SSL_select_next_proto((unsigned char **)out, outlen, proto,
	    sizeof(proto) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

/* Returns a new context, or NULL with err set; the caller frees it. */
SSL_CTX *
xf_tls_ctx(const xf_conf_t *conf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", NULL);
		return NULL;
	}
	/* SSL 3.0 to TLS 1.1 have no AEAD suite and sign with MD5/SHA-1. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ssl_err(err, errlen, "SSL_CTX_set_min_proto_version", NULL);
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_err(err, errlen, "SSL_CTX_set_cipher_list", NULL);
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Writes come from a buffer that may move between retries. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->cf_tls_cert) != 1) {
		ssl_err(err, errlen, "cannot load certificate",
		    conf->cf_tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->cf_tls_key,
	    SSL_FILETYPE_PEM) != 1) {
		ssl_err(err, errlen, "cannot load key", conf->cf_tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "key does not match certificate",
		    conf->cf_tls_key);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
