/* conf.c: tests of the configuration parser, its defaults and its errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xf.h"
#include "log.h"
#include "conf.h"

static char	 cwd[4096];
static char	 err[512];
static char	 path[64];

/* Writes text to a fresh temp file, named in path; caller unlinks. */
static void
write_tmp(const char *text)
{
	int	 fd;
	size_t	 len = strlen(text);

	snprintf(path, sizeof(path), "/tmp/xfconf.XXXXXX");
	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, text, len) != (ssize_t)len || close(fd) == -1) {
		perror("mkstemp/write");
		exit(2);
	}
}

static int
load(const char *text, xf_conf_t **cf)
{
	int	 rc;

	write_tmp(text);
	err[0] = '\0';
	rc = xf_conf_load(path, cf, err, sizeof(err));
	unlink(path);
	return rc;
}

/* text must fail with exactly "PATH:LINE: msg". */
static void
fails(const char *text, int line, const char *msg, const char *name)
{
	xf_conf_t	*cf = (xf_conf_t *)1;
	char		 want[600];
	int		 rc;

	rc = load(text, &cf);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, msg);
	if (rc != XF_ERR || cf != NULL) {
		ok(0, "%s: rejected", name);
		xf_conf_free(rc == XF_OK ? cf : NULL);
		return;
	}
	is_str(err, want, "%s", name);
}

static char *
abs_path(const char *rel)
{
	static char	 buf[8][4200];
	static int	 i;
	char		*b = buf[i++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", cwd, rel);
	return b;
}

static int
expected_workers(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > XF_MAX_WORKERS ? XF_MAX_WORKERS : (int)n;
}

static void
test_sample(void)
{
	xf_conf_t	*cf = NULL;
	int		 rc;

	rc = xf_conf_load("conf/xfed.conf", &cf, err, sizeof(err));
	is_int(rc, XF_OK, "sample conf/xfed.conf loads");
	if (rc != XF_OK) {
		printf("# %s\n", err);
		return;
	}
	is_str(cf->cf_path, abs_path("conf/xfed.conf"), "sample: cf_path");
	is_int(cf->cf_nvhosts, 1, "sample: one virtual host");
	is_str(cf->cf_vhosts[0], "localhost", "sample: localhost");
	is_str(cf->cf_data_dir, abs_path("var/data"), "sample: data-dir");
	is_str(cf->cf_control_socket, abs_path("var/xfed.sock"),
	    "sample: control-socket");
	is_str(cf->cf_pid_file, abs_path("var/xfed.pid"), "sample: pid-file");
	is_int(cf->cf_workers, expected_workers(), "sample: workers auto");
	is_int(cf->cf_nadmins, 0, "sample: no admins");
	is_int(cf->cf_log_level, XF_LOG_INFO, "sample: log-level");
	is_int(cf->cf_scram_iterations, 4096, "sample: scram-iterations");
	is_int(cf->cf_drain_timeout, 600, "sample: drain-timeout");
	is_str(cf->cf_user, "", "sample: no user (make run)");
	is_int(cf->cf_run_as_root, 1, "sample: run-as-root for make run");
	ok(cf->cf_c2s_nports == 1 && cf->cf_c2s_ports[0].l_port == 5222 &&
	    cf->cf_c2s_ports[0].l_addr[0] == '\0', "sample: ports [5222]");
	ok(cf->cf_c2s_ntls_ports == 1 &&
	    cf->cf_c2s_tls_ports[0].l_port == 5223 &&
	    cf->cf_c2s_tls_ports[0].l_addr[0] == '\0',
	    "sample: tls-ports [5223]");
	is_int(cf->cf_c2s_tls_required, 1, "sample: tls-required");
	is_int(cf->cf_c2s_max_stanza, 262144, "sample: max-stanza-size");
	is_int(cf->cf_c2s_handshake_timeout, 60, "sample: handshake-timeout");
	is_str(cf->cf_tls_cert, abs_path("var/tls/localhost.crt"),
	    "sample: cert");
	is_str(cf->cf_tls_key, abs_path("var/tls/localhost.key"),
	    "sample: key");
	xf_conf_free(cf);
}

/* The sample shows other options commented out with their defaults:
 * uncommented, they must parse and change nothing. */
static void
test_sample_defaults(void)
{
	xf_conf_t	*cf = NULL;
	FILE		*fp;
	char		 line[512], text[8192], *s;
	size_t		 len = 0;
	int		 n = 0, rc;

	if ((fp = fopen("conf/xfed.conf", "r")) == NULL) {
		ok(0, "open conf/xfed.conf: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (s[0] == '#' && s[1] == '\'') {
			memmove(s, s + 1, strlen(s));
			n++;
		}
		len += snprintf(text + len, sizeof(text) - len, "%s", line);
	}
	fclose(fp);
	ok(n >= 7 && len < sizeof(text), "sample shows %d defaults", n);
	rc = load(text, &cf);
	is_int(rc, XF_OK, "sample with every default uncommented loads");
	if (rc != XF_OK) {
		printf("# %s\n", err);
		return;
	}
	ok(cf->cf_nadmins == 0 && cf->cf_log_level == XF_LOG_INFO &&
	    cf->cf_scram_iterations == 4096 && cf->cf_drain_timeout == 600 &&
	    cf->cf_c2s_tls_required == 1 && cf->cf_c2s_max_stanza == 262144 &&
	    cf->cf_c2s_handshake_timeout == 60 &&
	    cf->cf_c2s_max_attrs == 100 &&
	    cf->cf_c2s_max_children == 10000 &&
	    cf->cf_store_map_size == (size_t)1 << 30,
	    "the sample's commented values are the defaults");
	xf_conf_free(cf);
}

static void
test_defaults(void)
{
	xf_conf_t	*cf = NULL;
	int		 rc;

	rc = load("", &cf);
	is_int(rc, XF_OK, "empty file loads");
	if (rc != XF_OK) {
		printf("# %s\n", err);
		return;
	}
	is_str(cf->cf_path, path, "cf_path of an absolute name is itself");
	ok(cf->cf_nvhosts == 1 && strcmp(cf->cf_vhosts[0], "localhost") == 0,
	    "default virtual-hosts [ 'localhost' ]");
	is_str(cf->cf_data_dir, "/var/lib/xfed", "default data-dir");
	is_str(cf->cf_control_socket, "/var/lib/xfed/xfed.sock",
	    "default control-socket is in data-dir");
	is_str(cf->cf_pid_file, "/var/lib/xfed/xfed.pid",
	    "default pid-file is in data-dir");
	is_int(cf->cf_workers, expected_workers(), "default workers = CPUs");
	ok(cf->cf_nadmins == 0 && cf->cf_admins == NULL, "default admins []");
	is_int(cf->cf_log_level, XF_LOG_INFO, "default log-level");
	is_int(cf->cf_scram_iterations, 4096, "default scram-iterations");
	is_int(cf->cf_drain_timeout, 600, "default drain-timeout");
	ok(*cf->cf_user == '\0' && cf->cf_uid == (uid_t)-1,
	    "default user: none");
	ok(*cf->cf_group == '\0' && cf->cf_gid == (gid_t)-1,
	    "default group: none");
	is_int(cf->cf_run_as_root, 0, "default run-as-root false");
	ok(cf->cf_c2s_nports == 1 && cf->cf_c2s_ports[0].l_port == 5222,
	    "default ports");
	ok(cf->cf_c2s_ntls_ports == 1 && cf->cf_c2s_tls_ports[0].l_port == 5223,
	    "default tls-ports");
	is_int(cf->cf_c2s_tls_required, 1, "default tls-required");
	is_int(cf->cf_c2s_max_stanza, 262144, "default max-stanza-size");
	is_int(cf->cf_c2s_max_attrs, 100, "default max-attributes");
	is_int(cf->cf_c2s_max_children, 10000, "default max-children");
	is_int(cf->cf_c2s_handshake_timeout, 60, "default handshake-timeout");
	is_int(cf->cf_c2s_auth_timeout, 30, "default auth-timeout");
	is_int(cf->cf_c2s_max_unauth, 10000, "default max-unauth");
	is_int(cf->cf_c2s_max_unauth_ip, 100, "default max-unauth-per-ip");
	is_int(cf->cf_c2s_auth_fail_delay, 1, "default auth-fail-delay");
	is_int(cf->cf_c2s_auth_block_after, 20, "default auth-fail-block-after");
	is_int(cf->cf_c2s_auth_block_time, 3600, "default auth-block-time");
	is_int(cf->cf_c2s_auth_lock_after, 50, "default auth-fail-lock-after");
	is_int(cf->cf_c2s_auth_lock_time, 60, "default auth-lock-time");
	ok(cf->cf_http_nports == 0 && cf->cf_http_ntls_ports == 0,
	    "default: no http listener");
	is_int(cf->cf_http_max_request, 16384, "default max-request-size");
	ok(cf->cf_http_norigins == 0, "default allowed-origins: any");
	ok(cf->cf_store_map_size == (size_t)1 << 30, "default map-size 1G");
	is_int(cf->cf_offline_quota, 1000, "default offline-quota");
	ok(cf->cf_offline_quota_bytes == (size_t)1 << 20,
	    "default offline-quota-bytes 1M");
	is_str(cf->cf_tls_cert, "/etc/xfed/xfed.crt", "default cert");
	is_str(cf->cf_tls_key, "/etc/xfed/xfed.key", "default key");
	ok(xf_conf_is_vhost(cf, "LocalHost"), "is_vhost ignores case");
	xf_conf_free(cf);

	/* Comments and blank lines only: still every default. */
	rc = load("# nothing\n\n// here\n/* at\nall */\n;;\n", &cf);
	ok(rc == XF_OK && cf->cf_workers == expected_workers(),
	    "comments-only file loads");
	xf_conf_free(cf);

	/* control-socket and pid-file follow a configured data-dir. */
	rc = load("'data-dir' = '/srv/x/'\n", &cf);
	ok(rc == XF_OK && strcmp(cf->cf_data_dir, "/srv/x") == 0 &&
	    strcmp(cf->cf_control_socket, "/srv/x/xfed.sock") == 0 &&
	    strcmp(cf->cf_pid_file, "/srv/x/xfed.pid") == 0,
	    "derived paths follow data-dir, trailing slash dropped");
	xf_conf_free(cf);
}

static const char full[] =
"# xfed test configuration\n"				/* 1 */
"// every option, every syntax form\n"			/* 2 */
"/* a block comment\n"					/* 3 */
"   over two lines */\n"				/* 4 */
"'virtual-hosts' = [ 'Example.ORG', \"chat.example.org\",\n" /* 5 */
"    // a comment inside a list\n"			/* 6 */
"    'localhost',\n"					/* 7 */
"]\n"							/* 8 */
"\"data-dir\" = '/srv/xfed'   # trailing comment\n"	/* 9 */
"workers = 3; 'log-level' = \"debug\"\n"		/* 10 */
"admins = [ 'Admin@Example.org', \"ops@chat.example.org\" ]\n" /* 11 */
"'control-socket' = 'run/ctl.sock'\n"			/* 12 */
"'pid-file' = \"./run//xfed.pid\"\n"			/* 13 */
"'scram-iterations' = 10000L\n"				/* 14 */
"'drain-timeout' = 0\n"					/* 15 */
"c2s {\n"						/* 16 */
"    'ports' = [ 5222, '127.0.0.2:5222', '[::1]:5222' ]; "	/* 17 */
    "'tls-ports' = [ 5223 ]\n"
"    tls-required = false\n"				/* 18 */
"    'max-stanza-size' = 1048576L /* inline */\n"	/* 19 */
"\t'handshake-timeout' = 30\n"				/* 20 */
"}\n"							/* 21 */
"tls { 'cert' = 'certs/it\\'s.crt'; 'key' = \"/k\\\\e\\\"y\\t\\n.pem\" }\n";

static void
test_full(void)
{
	xf_conf_t	*cf = NULL;
	int		 rc;

	rc = load(full, &cf);
	is_int(rc, XF_OK, "full file loads");
	if (rc != XF_OK) {
		printf("# %s\n", err);
		return;
	}
	is_int(cf->cf_nvhosts, 3, "three virtual hosts");
	is_str(cf->cf_vhosts[0], "example.org", "host lowercased");
	is_str(cf->cf_vhosts[1], "chat.example.org", "double-quoted host");
	is_str(cf->cf_vhosts[2], "localhost", "multi-line list, trailing ','");
	is_str(cf->cf_data_dir, "/srv/xfed", "absolute data-dir kept");
	is_int(cf->cf_workers, 3, "workers = 3 after ';'");
	is_int(cf->cf_log_level, XF_LOG_DEBUG, "log-level debug");
	is_int(cf->cf_nadmins, 2, "two admins");
	is_str(cf->cf_admins[0], "admin@example.org", "admin lowercased");
	is_str(cf->cf_admins[1], "ops@chat.example.org", "second admin");
	is_str(cf->cf_control_socket, abs_path("run/ctl.sock"),
	    "relative control-socket made absolute");
	is_str(cf->cf_pid_file, abs_path("run//xfed.pid"),
	    "leading ./ dropped from pid-file");
	is_int(cf->cf_scram_iterations, 10000, "L suffix");
	is_int(cf->cf_drain_timeout, 0, "drain-timeout 0");
	is_int(cf->cf_c2s_nports, 3, "three c2s ports");
	if (cf->cf_c2s_nports == 3) {
		ok(cf->cf_c2s_ports[0].l_port == 5222 &&
		    strcmp(cf->cf_c2s_ports[0].l_addr, "") == 0,
		    "integer port: every address");
		ok(cf->cf_c2s_ports[1].l_port == 5222 &&
		    strcmp(cf->cf_c2s_ports[1].l_addr, "127.0.0.2") == 0,
		    "'addr:port'");
		ok(cf->cf_c2s_ports[2].l_port == 5222 &&
		    strcmp(cf->cf_c2s_ports[2].l_addr, "::1") == 0,
		    "'[v6]:port'");
	}
	ok(cf->cf_c2s_ntls_ports == 1 && cf->cf_c2s_tls_ports[0].l_port == 5223,
	    "tls-ports after ';' on one line");
	is_int(cf->cf_c2s_tls_required, 0, "bare key, false");
	is_int(cf->cf_c2s_max_stanza, 1048576, "max-stanza-size with L");
	is_int(cf->cf_c2s_handshake_timeout, 30, "handshake-timeout");
	is_str(cf->cf_tls_cert, abs_path("certs/it's.crt"), "\\' escape");
	is_str(cf->cf_tls_key, "/k\\e\"y\t\n.pem", "\\\\ \\\" \\t \\n escapes");
	ok(xf_conf_is_vhost(cf, "CHAT.example.org"), "is_vhost: configured");
	ok(!xf_conf_is_vhost(cf, "example.com"), "is_vhost: other host");
	ok(!xf_conf_is_vhost(cf, NULL), "is_vhost: NULL");
	xf_conf_free(cf);

	/* A block may be split; a later block adds to the earlier one. */
	rc = load("c2s { 'ports' = [] }\n"
	    "c2s { 'tls-ports' = [ '[0:0::1]:5223' ] }\n", &cf);
	ok(rc == XF_OK && cf->cf_c2s_nports == 0 && cf->cf_c2s_ports == NULL &&
	    cf->cf_c2s_ntls_ports == 1 &&
	    strcmp(cf->cf_c2s_tls_ports[0].l_addr, "::1") == 0,
	    "split blocks merge; empty ports; v6 address canonical");
	xf_conf_free(cf);

	rc = load("workers = 64\n'scram-iterations' = 10000000\n"
	    "c2s { 'max-stanza-size' = 67108864; 'handshake-timeout' = 3600\n"
	    "'max-attributes' = 100000; 'max-children' = 10000000 }\n"
	    "'drain-timeout' = 86400\n'log-level' = 'error'\n", &cf);
	ok(rc == XF_OK && cf->cf_workers == 64 &&
	    cf->cf_scram_iterations == 10000000 &&
	    cf->cf_c2s_max_stanza == 67108864 &&
	    cf->cf_c2s_handshake_timeout == 3600 &&
	    cf->cf_c2s_max_attrs == 100000 &&
	    cf->cf_c2s_max_children == 10000000 &&
	    cf->cf_drain_timeout == 86400 && cf->cf_log_level == XF_LOG_ERR,
	    "upper bounds accepted");
	xf_conf_free(cf);

	rc = load("c2s { 'max-stanza-size' = '64k' }\n"
	    "storage { 'map-size' = '16M' }\n", &cf);
	ok(rc == XF_OK && cf->cf_c2s_max_stanza == 65536 &&
	    cf->cf_store_map_size == (size_t)16 << 20,
	    "sizes take a k, M or G suffix in a string");
	xf_conf_free(cf);
	rc = load("storage { 'map-size' = 131072L }\n", &cf);
	ok(rc == XF_OK && cf->cf_store_map_size == 131072,
	    "a size is an integer too");
	xf_conf_free(cf);
}

static void
test_errors(void)
{
	xf_conf_t	*cf = (xf_conf_t *)1;
	char		 want[600];
	int		 rc;

	/* Syntax. */
	fails("workers = 2\n\n'data-dir' = 'abc\n", 3, "unterminated string",
	    "unterminated string");
	fails("workers = 2\n'data-dir' = 'a\\\n'\n", 2, "unterminated string",
	    "backslash at the end of a line");
	fails("workers = 2\n/* open\n\n", 2, "unterminated comment",
	    "unterminated comment");
	fails("# list\n'virtual-hosts' = [ 'a',\n 'b'\n", 2,
	    "unterminated list", "unterminated list at end of file");
	fails("c2s {\n  'ports' = [ 5222,\n  'tls-required' = true\n}\n", 2,
	    "unterminated list", "unterminated list before the next option");
	fails("workers = 2\nc2s {\n  'ports' = [ 5222 ]\n", 2,
	    "unterminated block 'c2s'", "unterminated block");
	fails("workers = 2\n$foo = 1\n", 2, "unexpected character '$'",
	    "unexpected character");
	fails("workers = 2\n\xc3\xa9t\xc3\xa9 = 1\n", 2,
	    "unexpected character '\\xc3'", "non-ASCII byte");
	fails("workers = 2\nc2s {\n 'ports' = [ 5222 ] @\n}\n", 3,
	    "unexpected character '@'", "unexpected character after a value");
	fails("\n\nworkers 4\n", 3, "missing '=' after 'workers'",
	    "missing '='");
	fails("'log-level'\n", 1, "missing '=' after 'log-level'",
	    "missing '=' at end of line");
	fails("workers =\n4\n", 1, "missing value for 'workers'",
	    "missing value");
	fails("workers = auto\n", 1,
	    "unexpected word 'auto' (strings must be quoted)", "bare word");
	fails("workers = 4x\n", 1, "invalid number '4x'", "invalid number");
	fails("workers = 99999999999999999999\n", 1,
	    "number '99999999999999999999' out of range", "huge number");
	fails("workers = 2 'log-level' = 'info'\n", 1,
	    "expected end of line or ';' after 'workers', found string "
	    "'log-level'", "two statements on a line");
	fails("workers = 2\n}\n", 2, "unexpected '}'", "stray '}'");
	fails("'data-dir' = 'a\\qb'\n", 1, "invalid escape '\\q' in string",
	    "invalid escape");
	fails("admins = [ 'a@b' 'c@d' ]\n", 1, "expected ',' or ']' in the "
	    "list opened at line 1, found string 'c@d'", "missing ','");
	fails("admins = [ [ 'a@b' ] ]\n", 1, "lists cannot be nested",
	    "nested list");

	/* Names. */
	fails("workers = 2\nfoo = 1\n", 2, "unknown option 'foo'",
	    "unknown option");
	fails("c2s {\n\n  'foo' = 1\n}\n", 3, "unknown option 'foo' in block "
	    "'c2s'", "unknown option in block");
	fails("'ports' = [ 5222 ]\n", 1, "unknown option 'ports'; it belongs "
	    "in block 'c2s'", "block option at top level");
	fails("tls {\n 'ports' = []\n}\n", 2, "unknown option 'ports' in "
	    "block 'tls'; it belongs in block 'c2s'", "option in wrong block");
	fails("c2s { workers = 2 }\n", 1, "unknown option 'workers' in block "
	    "'c2s'; it belongs at the top level", "top-level option in block");
	fails("workers = 1\ns2s {\n}\n", 2, "unknown block 's2s'",
	    "unknown block");
	fails("c2s {\n  bosh { }\n}\n", 2, "unknown block 'bosh' in block "
	    "'c2s'", "unknown nested block");
	fails("c2s = 1\n", 1, "'c2s' is a block: write c2s { ... }",
	    "block used as option");
	fails("workers = 2\n# again\n\n\nworkers = 3\n", 5,
	    "duplicate option 'workers' (first set at line 1)",
	    "duplicate option");
	fails("c2s { 'tls-required' = true }\ntls { }\nc2s {\n"
	    " 'tls-required' = false\n}\n", 4,
	    "duplicate option 'tls-required' (first set at line 1)",
	    "duplicate option across split blocks");

	/* Types and ranges. */
	fails("workers = 'many'\n", 1,
	    "'workers' must be 'auto' or a positive integer", "workers type");
	fails("workers = 0\n", 1,
	    "'workers' must be 'auto' or a positive integer", "workers 0");
	fails("workers = 65\n", 1, "'workers' must be at most 64",
	    "workers 65");
	fails("'data-dir' = 5\n", 1, "'data-dir' must be a string",
	    "data-dir type");
	fails("'data-dir' = ''\n", 1, "'data-dir' must not be empty",
	    "empty data-dir");
	fails("c2s {\n 'tls-required' = 'yes'\n}\n", 2,
	    "'tls-required' must be true or false", "bool type");
	fails("'log-level' = 'loud'\n", 1, "'log-level' must be one of "
	    "'error', 'warn', 'info', 'debug'", "log-level value");
	fails("'scram-iterations' = 0\n", 1,
	    "'scram-iterations' must be between 1 and 10000000",
	    "scram-iterations too small");
	fails("'drain-timeout' = 86401\n", 1,
	    "'drain-timeout' must be between 0 and 86400",
	    "drain-timeout too large");
	fails("'drain-timeout' = '10'\n", 1,
	    "'drain-timeout' must be an integer", "integer type");
	fails("'workers' = 1\n'user' = 'no-such-user-xf'\n", 2,
	    "unknown user 'no-such-user-xf' in 'user'", "unknown user");
	fails("'user' = 'root'\n'group' = 'no-such-group-xf'\n", 2,
	    "unknown group 'no-such-group-xf' in 'group'", "unknown group");
	fails("'group' = 'root'\n", 1, "'group' needs 'user'",
	    "group without user");
	fails("'run-as-root' = 1\n", 1, "'run-as-root' must be true or false",
	    "run-as-root type");
	fails("c2s {\n 'max-stanza-size' = 1023\n}\n", 2,
	    "'max-stanza-size' must be between 1024 and 67108864",
	    "max-stanza-size too small");
	fails("c2s {\n\n 'max-attributes' = 15\n}\n", 3,
	    "'max-attributes' must be between 16 and 100000",
	    "max-attributes too small");
	fails("c2s { 'max-children' = 99 }\n", 1,
	    "'max-children' must be between 100 and 10000000",
	    "max-children too small");
	fails("c2s {\n 'max-children' = '10k'\n}\n", 2,
	    "'max-children' must be an integer", "max-children type");
	fails("storage {\n 'map-size' = '1T'\n}\n", 2,
	    "'map-size' must be a number of bytes, with an optional k, M "
	    "or G", "unknown size suffix");
	fails("storage {\n 'map-size' = 'M'\n}\n", 2,
	    "'map-size' must be a number of bytes, with an optional k, M "
	    "or G", "suffix without a number");
	fails("storage { 'map-size' = '4k' }\n", 1,
	    "'map-size' must be between 65536 and 70368744177664",
	    "map-size too small");
	fails("c2s {\n\n 'handshake-timeout' = -1\n}\n", 3,
	    "'handshake-timeout' must be between 1 and 3600",
	    "negative handshake-timeout");
	fails("c2s {\n 'auth-timeout' = 0\n}\n", 2,
	    "'auth-timeout' must be between 1 and 3600", "auth-timeout 0");
	fails("c2s { 'max-unauth-per-ip' = -1 }\n", 1,
	    "'max-unauth-per-ip' must be between 0 and 10000000",
	    "negative max-unauth-per-ip");
	fails("c2s { 'max-unauth' = 'many' }\n", 1,
	    "'max-unauth' must be an integer", "max-unauth not a number");
	fails("c2s {\n 'auth-lock-time' = 86400\n}\n", 2,
	    "'auth-lock-time' must be between 1 and 3600",
	    "a long account lock is refused");
	fails("c2s { 'auth-fail-delay' = 61 }\n", 1,
	    "'auth-fail-delay' must be between 0 and 60",
	    "auth-fail-delay too long");
	fails("'offline-quota-bytes' = '1T'\n", 1,
	    "'offline-quota-bytes' must be a number of bytes, with an "
	    "optional k, M or G", "offline-quota-bytes: no T suffix");
	fails("'offline-quota-bytes' = '65G'\n", 1,
	    "'offline-quota-bytes' must be between 0 and 68719476736",
	    "offline-quota-bytes too large");
	fails("c2s { 'offline-quota-bytes' = '1M' }\n", 1,
	    "unknown option 'offline-quota-bytes' in block 'c2s'; it belongs "
	    "at the top level", "offline-quota-bytes is top level");

	/* Listeners. */
	fails("c2s {\n 'ports' = [\n  5222,\n  'localhost:5222'\n ]\n}\n", 4,
	    "invalid listener 'localhost:5222' in 'ports' (want port, "
	    "'address:port' or '[address]:port')", "host name listener");
	fails("c2s { 'tls-ports' = [ '::1:5223' ] }\n", 1,
	    "invalid listener '::1:5223' in 'tls-ports' (want port, "
	    "'address:port' or '[address]:port')", "v6 without brackets");
	fails("c2s {\n 'ports' = [ 70000 ]\n}\n", 2,
	    "port out of range (1-65535): '70000' in 'ports'",
	    "integer port out of range");
	fails("c2s {\n 'ports' = [ '127.0.0.1:0' ]\n}\n", 2,
	    "port out of range (1-65535): '127.0.0.1:0' in 'ports'",
	    "string port out of range");
	fails("c2s {\n 'ports' = 5222\n}\n", 2,
	    "'ports' must be a list of ports", "ports not a list");
	fails("c2s {\n 'ports' = [ 5222, '5222' ]\n}\n", 2,
	    "listener '5222' appears twice in 'ports'", "duplicate listener");
	fails("c2s {\n 'ports' = [ 5222 ]\n 'tls-ports' = [ 5223, 5222 ]\n}\n",
	    3, "listener '5222' is in both c2s 'ports' and c2s 'tls-ports'",
	    "listener in both lists");
	fails("c2s {\n 'tls-ports' = [ 5222 ]\n}\n", 2,
	    "listener '5222' is in both c2s 'ports' and c2s 'tls-ports'",
	    "tls-ports clashing with the default ports");
	fails("http {\n 'ports' = [ 5280 ]\n 'tls-ports' = [ 5223 ]\n}\n", 3,
	    "listener '5223' is in both c2s 'tls-ports' and http 'tls-ports'",
	    "http tls-ports clashing with the default c2s tls-ports");
	fails("http {\n 'ports' = [ 5280, 5281 ]\n 'tls-ports' = [ 5281 ]\n}\n",
	    3, "listener '5281' is in both http 'ports' and http 'tls-ports'",
	    "http listener in both lists");
	fails("http {\n 'allowed-origins' = [ 'example.com' ]\n}\n", 2,
	    "invalid origin 'example.com' in 'allowed-origins' (want "
	    "'https://host' or 'http://host[:port]')", "origin without scheme");
	fails("http {\n 'allowed-origins' = [ 'https://a.org/x' ]\n}\n", 2,
	    "invalid origin 'https://a.org/x' in 'allowed-origins' (a scheme "
	    "and a host, nothing after)", "origin with a path");
	fails("http { 'max-request-size' = 100 }\n", 1,
	    "'max-request-size' must be between 1024 and 1048576",
	    "max-request-size too small");

	/* Hosts and admins. */
	fails("'virtual-hosts' = []\n", 1, "'virtual-hosts' must not be empty",
	    "empty virtual-hosts");
	fails("'virtual-hosts' = [\n 'a.org',\n 'a b.org'\n]\n", 3,
	    "invalid host name 'a b.org' in 'virtual-hosts' (space or "
	    "control character)", "host with a space");
	fails("'virtual-hosts' = [ 'a..org' ]\n", 1, "invalid host name "
	    "'a..org' in 'virtual-hosts' (empty label)", "empty label");
	fails("'virtual-hosts' = [ 'user@a.org' ]\n", 1, "invalid host name "
	    "'user@a.org' in 'virtual-hosts' ('@', '/' and '\\' are not "
	    "allowed)", "host with '@'");
	fails("'virtual-hosts' = [ 'a.org/x' ]\n", 1, "invalid host name "
	    "'a.org/x' in 'virtual-hosts' ('@', '/' and '\\' are not "
	    "allowed)", "host with '/'");
	fails("'virtual-hosts' = [ '' ]\n", 1, "invalid host name '' in "
	    "'virtual-hosts' (empty)", "empty host");
	fails("'virtual-hosts' = [ 'A.org', 'a.ORG' ]\n", 1, "host name "
	    "'a.org' appears twice in 'virtual-hosts'", "duplicate host");
	fails("'virtual-hosts' = [ 5 ]\n", 1, "'virtual-hosts' must be a list "
	    "of strings", "host not a string");
	fails("admins = 'a@b.org'\n", 1, "'admins' must be a list of strings",
	    "admins not a list");
	fails("\nadmins = [ 'example.org' ]\n", 2, "invalid admin "
	    "'example.org' in 'admins' (want a bare JID, local@domain)",
	    "admin without '@'");
	fails("admins = [ 'a@b.org/res' ]\n", 1, "invalid admin 'a@b.org/res' "
	    "in 'admins' (want a bare JID, local@domain)", "full JID admin");
	fails("admins = [ 'a@b@c' ]\n", 1, "invalid admin 'a@b@c' in 'admins' "
	    "(want a bare JID, local@domain)", "two '@'");

	/* Files. */
	rc = xf_conf_load("/nonexistent/xfed.conf", &cf, err, sizeof(err));
	ok(rc == XF_ERR && cf == NULL, "missing file fails");
	snprintf(want, sizeof(want), "/nonexistent/xfed.conf: cannot open: %s",
	    strerror(ENOENT));
	is_str(err, want, "missing file: FILE: cannot open: strerror");
	rc = xf_conf_load("/tmp", &cf, err, sizeof(err));
	snprintf(want, sizeof(want), "/tmp: cannot read: %s", strerror(EISDIR));
	ok(rc == XF_ERR, "a directory fails");
	is_str(err, want, "directory: cannot read");

	/* A tiny error buffer is truncated, not overrun; NULL is fine. */
	write_tmp("foo = 1\n");
	rc = xf_conf_load(path, &cf, err, 8);
	ok(rc == XF_ERR && strlen(err) == 7, "error truncated to the buffer");
	rc = xf_conf_load(path, &cf, NULL, 0);
	ok(rc == XF_ERR && cf == NULL, "no error buffer");
	unlink(path);

	/* From text: no NUL needed after it, errors under the name given. */
	rc = xf_conf_load_text("mem.conf", "workers = 3\nworkers = 4", 11, &cf,
	    err, sizeof(err));
	ok(rc == XF_OK && cf != NULL && cf->cf_workers == 3,
	    "xf_conf_load_text reads len bytes only");
	ok(cf != NULL && strncmp(cf->cf_path, cwd, strlen(cwd)) == 0 &&
	    strcmp(cf->cf_path + strlen(cwd), "/mem.conf") == 0,
	    "xf_conf_load_text: cf_path made absolute");
	xf_conf_free(cf);
	rc = xf_conf_load_text("mem.conf", "foo = 1\n", 8, &cf, err,
	    sizeof(err));
	ok(rc == XF_ERR && cf == NULL, "xf_conf_load_text fails on errors");
	is_str(err, "mem.conf:1: unknown option 'foo'",
	    "xf_conf_load_text: the error names the text");
}

static void
test_listen(void)
{
	static const struct {
		const char	*spec;
		int		 rc;
		const char	*addr;
		int		 port;
	} t[] = {
		{ "5222", XF_OK, "", 5222 },
		{ "1", XF_OK, "", 1 },
		{ "65535", XF_OK, "", 65535 },
		{ "127.0.0.2:5222", XF_OK, "127.0.0.2", 5222 },
		{ "0.0.0.0:80", XF_OK, "0.0.0.0", 80 },
		{ "[::1]:5222", XF_OK, "::1", 5222 },
		{ "[::]:5223", XF_OK, "::", 5223 },
		{ "[2001:DB8::1]:5222", XF_OK, "2001:db8::1", 5222 },
		{ "[::ffff:1.2.3.4]:9", XF_OK, "::ffff:1.2.3.4", 9 },
		{ "0", XF_ERR, NULL, 0 },
		{ "65536", XF_ERR, NULL, 0 },
		{ "99999999999", XF_ERR, NULL, 0 },
		{ "", XF_ERR, NULL, 0 },
		{ "-1", XF_ERR, NULL, 0 },
		{ "+5", XF_ERR, NULL, 0 },
		{ " 5222", XF_ERR, NULL, 0 },
		{ "5222 ", XF_ERR, NULL, 0 },
		{ "::1:5222", XF_ERR, NULL, 0 },
		{ "[::1]", XF_ERR, NULL, 0 },
		{ "[::1]:", XF_ERR, NULL, 0 },
		{ "[::1]5222", XF_ERR, NULL, 0 },
		{ "[1.2.3.4]:5222", XF_ERR, NULL, 0 },
		{ "1.2.3.4:", XF_ERR, NULL, 0 },
		{ ":5222", XF_ERR, NULL, 0 },
		{ "1.2.3.4:x", XF_ERR, NULL, 0 },
		{ "1.2.3:5222", XF_ERR, NULL, 0 },
		{ "localhost:5222", XF_ERR, NULL, 0 },
		{ "[fe80::1%eth0]:5222", XF_ERR, NULL, 0 },
	};
	xf_listen_t	 ls;
	int		 rc;

	for (size_t i = 0; i < XF_NELEM(t); i++) {
		memset(&ls, 0x55, sizeof(ls));
		rc = xf_conf_listen(t[i].spec, &ls);
		if (t[i].rc == XF_OK)
			ok(rc == XF_OK && strcmp(ls.l_addr, t[i].addr) == 0 &&
			    ls.l_port == t[i].port, "listen '%s' -> '%s' %d",
			    t[i].spec, t[i].addr, t[i].port);
		else
			is_int(rc, XF_ERR, "listen '%s' rejected", t[i].spec);
	}
	is_int(xf_conf_listen(NULL, &ls), XF_ERR, "listen NULL rejected");
}

static void
test_storage(void)
{
	xf_conf_t	*cf = NULL;

	is_int(load("", &cf), XF_OK, "empty file loads");
	if (cf != NULL) {
		is_int(cf->cf_store_backend, XF_STORE_LMDB,
		    "storage defaults to lmdb");
		is_str(cf->cf_store_dsn, "", "no dsn by default");
		is_int(cf->cf_store_pool, 4, "pool-size defaults to 4");
		is_int(cf->cf_store_timeout, 10, "query-timeout defaults to 10");
		xf_conf_free(cf);
	}
	cf = NULL;
	is_int(load("storage {\n 'backend' = 'pgsql'\n"
	    " 'dsn' = 'host=127.0.0.1 dbname=xfed'\n 'pool-size' = 8\n"
	    " 'query-timeout' = 3\n}\n", &cf), XF_OK, "pgsql block loads");
	if (cf != NULL) {
		is_int(cf->cf_store_backend, XF_STORE_PGSQL, "backend pgsql");
		is_str(cf->cf_store_dsn, "host=127.0.0.1 dbname=xfed",
		    "dsn kept as written");
		is_int(cf->cf_store_pool, 8, "pool-size 8");
		is_int(cf->cf_store_timeout, 3, "query-timeout 3");
		xf_conf_free(cf);
	}
	fails("storage {\n 'backend' = 'mysql'\n}\n", 2,
	    "'backend' must be 'lmdb' or 'pgsql'", "unknown backend");
	fails("storage {\n\n 'backend' = 'pgsql'\n}\n", 3,
	    "backend 'pgsql' needs 'dsn' in block 'storage'",
	    "pgsql without dsn, at the backend's line");
	fails("storage {\n 'backend' = 'pgsql'\n 'dsn' = 'host=x nosuch=1'\n}\n",
	    3, "'dsn': invalid connection option \"nosuch\"",
	    "a dsn libpq does not understand, at its line");
	fails("storage { 'dsn' = \"host='x\" }\n", 1,
	    "'dsn': unterminated quoted string in connection info string",
	    "an unterminated dsn");
	fails("storage { 'pool-size' = 0 }\n", 1,
	    "'pool-size' must be between 1 and 64", "pool-size 0");
	fails("storage { 'dsn' = 5 }\n", 1, "'dsn' must be a string",
	    "dsn type");
	fails("'dsn' = 'x'\n", 1, "unknown option 'dsn'; it belongs in block 'storage'",
	    "dsn at top level");
}

static void
test_http(void)
{
	xf_conf_t	*cf = NULL;
	int		 rc;

	rc = load("http {\n 'ports' = [ 5280, '127.0.0.1:5290' ]\n"
	    " 'tls-ports' = [ 5281 ]\n 'max-request-size' = '8k'\n"
	    " 'allowed-origins' = [ 'HTTPS://Chat.Example.org',"
	    " 'http://localhost:8080' ]\n}\n", &cf);
	ok(rc == XF_OK, "http block loads");
	if (rc != XF_OK) {
		printf("# %s\n", err);
		return;
	}
	ok(cf->cf_http_nports == 2 && cf->cf_http_ports[0].l_port == 5280 &&
	    cf->cf_http_ports[1].l_port == 5290 &&
	    strcmp(cf->cf_http_ports[1].l_addr, "127.0.0.1") == 0,
	    "http ports");
	ok(cf->cf_http_ntls_ports == 1 && cf->cf_http_tls_ports[0].l_port ==
	    5281, "http tls-ports");
	is_int(cf->cf_http_max_request, 8192, "max-request-size '8k'");
	ok(cf->cf_http_norigins == 2, "two origins");
	if (cf->cf_http_norigins == 2) {
		is_str(cf->cf_http_origins[0], "https://chat.example.org",
		    "origin lowercased");
		is_str(cf->cf_http_origins[1], "http://localhost:8080",
		    "origin with a port");
	}
	xf_conf_free(cf);
}

int
main(void)
{
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		perror("getcwd");
		return 2;
	}
	xf_conf_free(NULL);
	ok(1, "xf_conf_free(NULL) is a no-op");
	test_sample();
	test_sample_defaults();
	test_defaults();
	test_full();
	test_errors();
	test_listen();
	test_storage();
	test_http();
	return done_testing();
}
