/* xfed-bench.c: an XMPP c2s load generator (idle, login, chat, register) that measures throughput, latency and exactly-once delivery. */
/*
 * One process, one epoll loop, no threads.  It speaks just enough RFC 6120
 * to log in to any server (stream header, features, STARTTLS or direct TLS,
 * SASL SCRAM-SHA-1/256 or PLAIN, bind, presence) and a trivial line
 * protocol for xfed-relay (--relay).  Incoming bytes go through a small
 * incremental scanner that cuts the stream into top-level elements; it
 * tracks tag depth and quotes, not namespaces, so it is enough for what
 * servers send but is not an XML parser.
 *
 * Chat messages carry "sender seq send-time" in the body; senders and
 * receivers live in the same process (every user sends to a user of its
 * own range), so delivery is checked exactly once per sender with one
 * bitmap of sequence numbers per sender.
 *
 * More than ~19,000 connections need several processes (20,000 open files
 * at most per process here): give each its own --first and --users and,
 * for the same start, --ready-file and SIGUSR1 (tools/bench/driver.py
 * does this).
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define NS_STREAM	"http://etherx.jabber.org/streams"
#define NS_TLS		"urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL		"urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND		"urn:ietf:params:xml:ns:xmpp-bind"

#define MAX_SOURCES	254
#define READ_CHUNK	16384
/* A sender whose unsent bytes pass this stops being scheduled (rate mode). */
#define WBUF_HIGH	(64 * 1024)

/* Latency histogram: 64 linear sub-buckets per power of two, in ns. */
#define H_SUB_BITS	6
#define H_SUB		(1 << H_SUB_BITS)
#define H_BUCKETS	((64 - H_SUB_BITS + 1) * H_SUB)

enum { TLS_NONE, TLS_STARTTLS, TLS_DIRECT };
enum { MECH_SCRAM_SHA1, MECH_SCRAM_SHA256, MECH_PLAIN };
enum { SC_IDLE, SC_LOGIN, SC_CHAT, SC_REGISTER, SC_SPIN };
enum { TO_FULL, TO_BARE };

enum {
	ST_FREE = 0,
	ST_CONNECTING,
	ST_TLS,			/* TLS handshake in progress */
	ST_FEATURES,		/* header sent, waiting for <stream:features/> */
	ST_PROCEED,		/* <starttls/> sent */
	ST_SASL,		/* <auth/> or <response/> sent */
	ST_BIND,		/* bind iq sent */
	ST_PRESENCE,		/* presence and a ping sent */
	ST_REGISTER,		/* register iq sent */
	ST_RELAY_LOGIN,		/* relay line sent, waiting for OK */
	ST_READY
};

typedef struct hist_s {
	uint64_t	 h_count[H_BUCKETS];
	uint64_t	 h_n;
	uint64_t	 h_max;
	double		 h_sum;
} hist_t;

typedef struct user_s {
	int		 u_conn;	/* connection index, -1 when none */
	int		 u_peer;	/* local index of the chat partner */
	uint32_t	 u_sent;	/* messages sent */
	uint32_t	 u_got;		/* distinct messages of this sender received */
	uint32_t	 u_dups;
	uint32_t	 u_next;	/* next expected seq (for reordering) */
	uint64_t	*u_bits;	/* received seqs; owned */
	uint32_t	 u_nbits;	/* words in u_bits */
} user_t;

/* SCRAM cache per account: a real client keeps SaltedPassword too. */
typedef struct salted_s {
	char		*sa_salt;	/* base64, owned */
	int		 sa_iter;
	unsigned char	 sa_key[EVP_MAX_MD_SIZE];
} salted_t;

typedef struct conn_s {
	int		 c_fd;
	int		 c_state;
	int		 c_user;	/* local user index */
	int		 c_tls_up;
	int		 c_dirty;	/* on the flush list */
	int		 c_want_write;	/* TLS wants the socket writable */
	uint32_t	 c_events;	/* epoll mask in force */
	SSL		*c_ssl;
	char		*c_rb;		/* read buffer; owned */
	size_t		 c_rlen, c_rcap;
	char		*c_wb;		/* unsent bytes from c_woff; owned */
	size_t		 c_wlen, c_woff, c_wcap;
	/* stream scanner */
	size_t		 c_pos;		/* next byte to scan */
	size_t		 c_estart;	/* start of the element being read */
	int		 c_depth;
	uint64_t	 c_t0;		/* when the connect began */
	char		*c_sasl;	/* SCRAM: client-first-bare, nonce; owned */
	char		 c_mechs[3];	/* offered: SCRAM-SHA-1, -256, PLAIN */
	int		 c_has_starttls;
} conn_t;

static struct {
	const char	*server;
	struct sockaddr_in sa;
	int		 users;
	int		 first;
	const char	*user_pat;
	const char	*pass_pat;
	const char	*domain;	/* from user_pat unless given */
	struct in_addr	 src[MAX_SOURCES];
	int		 nsrc;
	int		 tls;
	int		 mech;
	int		 concurrency;
	int		 scenario;
	double		 duration;
	double		 warmup;
	double		 drain;
	double		 timeout;
	double		 rate;		/* per user, msg/s; 0: flat out */
	int		 window;	/* flat out: messages in flight per sender */
	int		 random;	/* chat to random users, not pairs */
	int		 to;
	int		 relay;
	int		 presence;
	int		 hold;		/* login: keep sessions */
	int		 json;
	int		 quiet;
	const char	*resource;
	const char	*ready_file;
	pid_t		 pids[64];
	int		 npids;
	int		 body_pad;
	int		 accounts;	/* sessions share this many accounts */
} opt = {
	.users = 10, .first = 0, .user_pat = "user%d@localhost",
	.pass_pat = "pass%d", .tls = TLS_NONE, .mech = MECH_SCRAM_SHA1,
	.concurrency = 100, .scenario = SC_CHAT, .duration = 10,
	.warmup = 2, .drain = 5, .timeout = 60, .rate = 0, .window = 4,
	.to = TO_FULL, .presence = 1, .resource = "bench",
};

static user_t		*users;
static salted_t		*salted;	/* by account (local index) */
static conn_t		*conns;
static int		 nconns;	/* slots in conns */
static int		*free_slots;
static int		 nfree;
static int		 ep;
static SSL_CTX		*ssl_ctx;
static int		*dirty;
static int		 ndirty;

static volatile sig_atomic_t	 go_flag, stop_flag;

/* Counters. */
static struct {
	uint64_t	 established;	/* sessions that reached READY */
	uint64_t	 online;	/* READY right now */
	uint64_t	 errors;
	uint64_t	 err_connect, err_auth, err_bind, err_closed;
	uint64_t	 err_timeout, err_stream, err_other;
	uint64_t	 logins;	/* login scenario: completed logins */
	uint64_t	 registered, reg_conflict;
	uint64_t	 sent, received, win_received, win_sent;
	uint64_t	 dups, reorder, foreign, stanza_errors;
	uint64_t	 bytes_in, bytes_out;
	uint64_t	 throttled;	/* rate mode: sends skipped, socket full */
	uint64_t	 setup_t0, setup_t1;	/* first connect, last READY */
	uint64_t	 win_t0, win_t1;
	double		 cpu_win;	/* our CPU seconds in the window */
} st;

static hist_t		 lat;		/* message latency, in the window */
static hist_t		 login_lat;	/* connect to bind result */
static char		 errmsg[256];	/* the first error, for the report */

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double
cpu_seconds(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "xfed-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *o, size_t n)
{
	void	*p;

	if ((p = realloc(o, n)) == NULL)
		die("out of memory");
	return p;
}

static void
note_error(uint64_t *which, const char *fmt, ...)
{
	va_list	 ap;

	(*which)++;
	st.errors++;
	if (errmsg[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ histogram */

static int
hist_index(uint64_t v)
{
	int	 e, shift;

	if (v < H_SUB)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	shift = e - H_SUB_BITS;
	return (shift + 1) * H_SUB + (int)((v >> shift) & (H_SUB - 1));
}

/* The middle of bucket i. */
static double
hist_value(int i)
{
	int	 shift;

	if (i < H_SUB)
		return i;
	shift = i / H_SUB - 1;
	return (double)((uint64_t)(H_SUB + i % H_SUB) << shift) +
	    (double)((uint64_t)1 << shift) / 2;
}

static void
hist_add(hist_t *h, uint64_t v)
{
	h->h_count[hist_index(v)]++;
	h->h_n++;
	h->h_sum += (double)v;
	if (v > h->h_max)
		h->h_max = v;
}

static double
hist_pct(const hist_t *h, double p)
{
	uint64_t	 want, seen = 0;
	int		 i;

	if (h->h_n == 0)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->h_n);
	if (want == 0)
		want = 1;
	for (i = 0; i < H_BUCKETS; i++) {
		seen += h->h_count[i];
		if (seen >= want) {
			double v = hist_value(i);
			return v > (double)h->h_max ? (double)h->h_max : v;
		}
	}
	return (double)h->h_max;
}

/* ------------------------------------------------------------ helpers */

static void
fmt_user(char *buf, size_t len, const char *pat, int idx)
{
	/* The pattern has at most one %d: checked at start-up. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, len, pat, idx);
#pragma GCC diagnostic pop
}

/*
 * Session idx (local) logs in as account first+idx, or with --accounts M
 * as account (first+idx) % M with resource R<first+idx>, so that M
 * accounts hold any number of sessions.
 */
static int
account_of(int idx)
{
	return opt.accounts ? (opt.first + idx) % opt.accounts :
	    opt.first + idx;
}

/* Index into salted[] of session idx's account. */
static int
salted_slot(int idx)
{
	return opt.accounts ? account_of(idx) : idx;
}

static void
user_local(char *buf, size_t len, int idx)
{
	char	*at;

	fmt_user(buf, len, opt.user_pat, account_of(idx));
	if ((at = strchr(buf, '@')) != NULL)
		*at = '\0';
}

static void
user_pass(char *buf, size_t len, int idx)
{
	fmt_user(buf, len, opt.pass_pat, account_of(idx));
}

static void
user_resource(char *buf, size_t len, int idx)
{
	if (opt.accounts)
		snprintf(buf, len, "%s%d", opt.resource, opt.first + idx);
	else
		snprintf(buf, len, "%s", opt.resource);
}

static int
pat_ok(const char *p)
{
	int	 n = 0;

	for (; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		if (p[1] != 'd')
			return 0;
		n++;
	}
	return n <= 1;
}

static size_t
b64_enc(char *out, const unsigned char *in, size_t len)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Decodes base64 text; returns the length or -1. */
static int
b64_dec(unsigned char *out, const char *in, size_t len)
{
	int	 n, pad = 0;

	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	if (in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	return n < 0 ? -1 : n - pad;
}

/* ------------------------------------------------------------ output */

static void
conn_queue(conn_t *c, const char *data, size_t len)
{
	if (c->c_wlen + len > c->c_wcap) {
		if (c->c_woff > 0) {
			memmove(c->c_wb, c->c_wb + c->c_woff,
			    c->c_wlen - c->c_woff);
			c->c_wlen -= c->c_woff;
			c->c_woff = 0;
		}
		if (c->c_wlen + len > c->c_wcap) {
			c->c_wcap = c->c_wcap ? c->c_wcap : 512;
			while (c->c_wlen + len > c->c_wcap)
				c->c_wcap *= 2;
			c->c_wb = xrealloc(c->c_wb, c->c_wcap);
		}
	}
	memcpy(c->c_wb + c->c_wlen, data, len);
	c->c_wlen += len;
	if (!c->c_dirty) {
		c->c_dirty = 1;
		dirty[ndirty++] = (int)(c - conns);
	}
}

static void __attribute__((format(printf, 2, 3)))
conn_printf(conn_t *c, const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		die("internal: output line too long");
	conn_queue(c, buf, (size_t)n);
}

static size_t
conn_pending(const conn_t *c)
{
	return c->c_wlen - c->c_woff;
}

static void
set_events(conn_t *c, uint32_t ev)
{
	struct epoll_event	 e;

	if (ev == c->c_events)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.u32 = (uint32_t)(c - conns);
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->c_fd, &e) == -1)
		die("epoll_ctl(MOD): %s", strerror(errno));
	c->c_events = ev;
}

static void	conn_close(conn_t *, int);

/* Writes what is queued; returns -1 if the connection died. */
static int
conn_flush(conn_t *c)
{
	ssize_t	 n;
	size_t	 left;

	while ((left = conn_pending(c)) > 0) {
		if (c->c_ssl != NULL && c->c_tls_up) {
			int r;

			ERR_clear_error();
			r = SSL_write(c->c_ssl, c->c_wb + c->c_woff,
			    (int)left);
			if (r <= 0) {
				int e = SSL_get_error(c->c_ssl, r);
				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ) {
					c->c_want_write =
					    e == SSL_ERROR_WANT_WRITE;
					break;
				}
				note_error(&st.err_closed, "SSL_write failed");
				conn_close(c, 0);
				return -1;
			}
			n = r;
		} else {
			n = write(c->c_fd, c->c_wb + c->c_woff, left);
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				note_error(&st.err_closed, "write: %s",
				    strerror(errno));
				conn_close(c, 0);
				return -1;
			}
		}
		st.bytes_out += (uint64_t)n;
		c->c_woff += (size_t)n;
	}
	if (c->c_woff == c->c_wlen)
		c->c_woff = c->c_wlen = 0;
	set_events(c, EPOLLIN | (conn_pending(c) > 0 || c->c_want_write ?
	    EPOLLOUT : 0));
	return 0;
}

static void
flush_dirty(void)
{
	int	 i;

	for (i = 0; i < ndirty; i++) {
		conn_t *c = &conns[dirty[i]];

		c->c_dirty = 0;
		if (c->c_state != ST_FREE && c->c_state != ST_CONNECTING &&
		    c->c_state != ST_TLS)
			conn_flush(c);
	}
	ndirty = 0;
}

/* ------------------------------------------------------------ chat */

static void
send_message(int from)
{
	user_t		*u = &users[from];
	conn_t		*c = &conns[u->u_conn];
	char		 to[320], body[64], pad[1024];

	/* The relay gets the same bytes as a server would. */
	fmt_user(to, sizeof(to), opt.user_pat, account_of(u->u_peer));
	if (opt.to == TO_FULL) {
		size_t l = strlen(to);

		to[l++] = '/';
		user_resource(to + l, sizeof(to) - l, u->u_peer);
	}
	snprintf(body, sizeof(body), "%d %" PRIu32 " %" PRIu64,
	    opt.first + from, u->u_sent, now_ns());
	if (opt.body_pad > 0) {
		memset(pad, 'x', (size_t)opt.body_pad);
		pad[opt.body_pad] = '\0';
	} else
		pad[0] = '\0';
	conn_printf(c, "<message to='%s' type='chat' id='m%" PRIu32 "'>"
	    "<body>%s%s%s</body></message>", to, u->u_sent, body, pad[0] ? " " : "",
	    pad);
	u->u_sent++;
	st.sent++;
}

static int	 chat_sending;	/* senders may send */
static int	 in_window;

static void
got_message(conn_t *c, const char *el, size_t len)
{
	const char	*b, *end = el + len;
	char		 tmp[96], *ep2;
	long		 from;
	unsigned long	 seq;
	unsigned long long ts;
	uint64_t	 now;
	user_t		*u;
	size_t		 n;

	if ((b = memmem(el, len, "<body>", 6)) == NULL) {
		if (memmem(el, len, "type='error'", 12) != NULL ||
		    memmem(el, len, "type=\"error\"", 12) != NULL)
			st.stanza_errors++;
		return;
	}
	b += 6;
	n = (size_t)(end - b) < sizeof(tmp) - 1 ? (size_t)(end - b) :
	    sizeof(tmp) - 1;
	memcpy(tmp, b, n);
	tmp[n] = '\0';
	errno = 0;
	from = strtol(tmp, &ep2, 10);
	seq = strtoul(ep2, &ep2, 10);
	ts = strtoull(ep2, &ep2, 10);
	if (errno != 0 || ep2 == tmp) {
		st.foreign++;
		return;
	}
	if (memmem(el, len, "type='error'", 12) != NULL ||
	    memmem(el, len, "type=\"error\"", 12) != NULL) {
		/* Our own message bounced back. */
		st.stanza_errors++;
		return;
	}
	from -= opt.first;
	if (from < 0 || from >= opt.users) {
		st.foreign++;
		return;
	}
	u = &users[from];
	if (seq >= u->u_sent) {
		st.foreign++;
		return;
	}
	if (seq / 64 >= u->u_nbits) {
		uint32_t nw = u->u_nbits ? u->u_nbits : 16;

		while (seq / 64 >= nw)
			nw *= 2;
		u->u_bits = xrealloc(u->u_bits, nw * sizeof(uint64_t));
		memset(u->u_bits + u->u_nbits, 0,
		    (nw - u->u_nbits) * sizeof(uint64_t));
		u->u_nbits = nw;
	}
	if (u->u_bits[seq / 64] & (1ull << (seq % 64))) {
		u->u_dups++;
		st.dups++;
		return;
	}
	u->u_bits[seq / 64] |= 1ull << (seq % 64);
	u->u_got++;
	st.received++;
	if (!opt.random && seq != u->u_next)
		st.reorder++;
	u->u_next = (uint32_t)seq + 1;
	now = now_ns();
	if (in_window) {
		st.win_received++;
		if (now >= ts)
			hist_add(&lat, now - ts);
	}
	(void)c;
	/* Flat out: the window of this sender has room again. */
	if (opt.rate == 0 && chat_sending && u->u_conn >= 0 &&
	    conns[u->u_conn].c_state == ST_READY &&
	    u->u_sent - u->u_got < (uint32_t)opt.window) {
		send_message((int)from);
		if (in_window)
			st.win_sent++;
	}
}

/* ------------------------------------------------------------ SCRAM */

static const EVP_MD *
scram_md(void)
{
	return opt.mech == MECH_SCRAM_SHA256 ? EVP_sha256() : EVP_sha1();
}

static void
hmac(const unsigned char *key, int klen, const void *data, size_t dlen,
    unsigned char *out)
{
	unsigned int	 olen;

	HMAC(scram_md(), key, klen, data, dlen, out, &olen);
}

static void
send_auth(conn_t *c)
{
	char		 local[256], pass[256], raw[600], enc[900];
	unsigned char	 nonce[18];
	char		 nb64[32];
	size_t		 n;

	user_local(local, sizeof(local), c->c_user);
	if (opt.mech == MECH_PLAIN) {
		user_pass(pass, sizeof(pass), c->c_user);
		n = (size_t)snprintf(raw, sizeof(raw), "%c%s%c%s", 0, local,
		    0, pass);
		b64_enc(enc, (unsigned char *)raw, n);
		conn_printf(c, "<auth xmlns='" NS_SASL "' mechanism='PLAIN'>"
		    "%s</auth>", enc);
		c->c_state = ST_SASL;
		return;
	}
	RAND_bytes(nonce, sizeof(nonce));
	b64_enc(nb64, nonce, sizeof(nonce));
	/* client-first-bare; kept for the AuthMessage. */
	n = (size_t)snprintf(raw, sizeof(raw), "n=%s,r=%s", local, nb64);
	free(c->c_sasl);
	c->c_sasl = strdup(raw);
	if (c->c_sasl == NULL)
		die("out of memory");
	n = (size_t)snprintf(raw, sizeof(raw), "n,,%s", c->c_sasl);
	b64_enc(enc, (unsigned char *)raw, n);
	conn_printf(c, "<auth xmlns='" NS_SASL "' mechanism='%s'>%s</auth>",
	    opt.mech == MECH_SCRAM_SHA256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1",
	    enc);
	c->c_state = ST_SASL;
}

/* Text between the first '>' and the next '<' of an element. */
static int
el_text(const char *el, size_t len, char *out, size_t outlen)
{
	const char	*s, *e;

	if ((s = memchr(el, '>', len)) == NULL || s[-1] == '/') {
		out[0] = '\0';
		return 0;
	}
	s++;
	if ((e = memchr(s, '<', (size_t)(el + len - s))) == NULL)
		e = el + len;
	if ((size_t)(e - s) >= outlen)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return 0;
}

/* Answers a SCRAM challenge; returns -1 on a malformed one. */
static int
scram_challenge(conn_t *c, const char *el, size_t len)
{
	salted_t	*u = &salted[salted_slot(c->c_user)];
	char		 b64[2048], sfirst[1536], final[1536], enc[256];
	char		 pass[256], *r = NULL, *s = NULL, *i = NULL, *p, *save;
	char		 copy[1536], am[4096];
	unsigned char	 ckey[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
	unsigned char	 csig[EVP_MAX_MD_SIZE], proof[EVP_MAX_MD_SIZE];
	unsigned int	 klen;
	int		 n, iter, dlen, k;

	if (c->c_sasl == NULL || el_text(el, len, b64, sizeof(b64)) == -1)
		return -1;
	if ((n = b64_dec((unsigned char *)sfirst, b64, strlen(b64))) <= 0 ||
	    (size_t)n >= sizeof(sfirst))
		return -1;
	sfirst[n] = '\0';
	snprintf(copy, sizeof(copy), "%s", sfirst);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (strncmp(p, "r=", 2) == 0)
			r = p + 2;
		else if (strncmp(p, "s=", 2) == 0)
			s = p + 2;
		else if (strncmp(p, "i=", 2) == 0)
			i = p + 2;
	}
	/* The server's nonce must extend ours. */
	if (r == NULL || s == NULL || i == NULL ||
	    strncmp(r, strstr(c->c_sasl, ",r=") + 3,
	    strlen(strstr(c->c_sasl, ",r=") + 3)) != 0)
		return -1;
	if ((iter = atoi(i)) <= 0)
		return -1;
	dlen = EVP_MD_get_size(scram_md());
	if (u->sa_salt == NULL || u->sa_iter != iter ||
	    strcmp(u->sa_salt, s) != 0) {
		unsigned char salt[512];
		int sl;

		if ((sl = b64_dec(salt, s, strlen(s))) < 0)
			return -1;
		user_pass(pass, sizeof(pass), c->c_user);
		if (PKCS5_PBKDF2_HMAC(pass, (int)strlen(pass), salt, sl, iter,
		    scram_md(), dlen, u->sa_key) != 1)
			return -1;
		free(u->sa_salt);
		if ((u->sa_salt = strdup(s)) == NULL)
			die("out of memory");
		u->sa_iter = iter;
	}
	hmac(u->sa_key, dlen, "Client Key", 10, ckey);
	EVP_Digest(ckey, (size_t)dlen, skey, &klen, scram_md(), NULL);
	n = snprintf(final, sizeof(final), "c=biws,r=%s", r);
	snprintf(am, sizeof(am), "%s,%s,%s", c->c_sasl, sfirst, final);
	hmac(skey, dlen, am, strlen(am), csig);
	for (k = 0; k < dlen; k++)
		proof[k] = ckey[k] ^ csig[k];
	b64_enc(enc, proof, (size_t)dlen);
	snprintf(final + n, sizeof(final) - (size_t)n, ",p=%s", enc);
	/* Keep the AuthMessage to check the server's signature. */
	free(c->c_sasl);
	if ((c->c_sasl = strdup(am)) == NULL)
		die("out of memory");
	b64_enc(b64, (unsigned char *)final, strlen(final));
	conn_printf(c, "<response xmlns='" NS_SASL "'>%s</response>", b64);
	return 0;
}

/* Checks v= in <success/>; returns -1 if the server is not who it says. */
static int
scram_verify(conn_t *c, const char *el, size_t len)
{
	salted_t	*u = &salted[salted_slot(c->c_user)];
	char		 b64[512], v[512], enc[256];
	unsigned char	 skey[EVP_MAX_MD_SIZE], ssig[EVP_MAX_MD_SIZE];
	int		 n, dlen;

	if (c->c_sasl == NULL || el_text(el, len, b64, sizeof(b64)) == -1)
		return -1;
	if ((n = b64_dec((unsigned char *)v, b64, strlen(b64))) <= 0 ||
	    (size_t)n >= sizeof(v))
		return -1;
	v[n] = '\0';
	dlen = EVP_MD_get_size(scram_md());
	hmac(u->sa_key, dlen, "Server Key", 10, skey);
	hmac(skey, dlen, c->c_sasl, strlen(c->c_sasl), ssig);
	b64_enc(enc, ssig, (size_t)dlen);
	return strncmp(v, "v=", 2) == 0 && strcmp(v + 2, enc) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ sessions */

static int	 next_user;	/* next user to log in */
static int	 in_progress;	/* connections not yet READY */
static int	 setup_done;

static void
send_header(conn_t *c)
{
	conn_printf(c, "<?xml version='1.0'?><stream:stream to='%s' "
	    "xmlns='jabber:client' xmlns:stream='" NS_STREAM "' "
	    "version='1.0'>", opt.domain);
	c->c_state = ST_FEATURES;
	c->c_depth = 0;
	c->c_has_starttls = 0;
	memset(c->c_mechs, 0, sizeof(c->c_mechs));
}

static void
stream_restart(conn_t *c)
{
	c->c_rlen = c->c_pos = c->c_estart = 0;
	c->c_depth = 0;
	send_header(c);
}

static void
session_ready(conn_t *c)
{
	uint64_t	 now = now_ns();

	c->c_state = ST_READY;
	in_progress--;
	st.online++;
	hist_add(&login_lat, now - c->c_t0);
	if (opt.scenario == SC_LOGIN && !opt.hold) {
		if (in_window)
			st.logins++;
		if (!opt.relay)
			conn_queue(c, "</stream:stream>", 16);
		conn_flush(c);
		conn_close(c, 1);
		return;
	}
	st.established++;
	st.setup_t1 = now;
}

static void
tls_start(conn_t *c)
{
	if ((c->c_ssl = SSL_new(ssl_ctx)) == NULL)
		die("SSL_new failed");
	SSL_set_fd(c->c_ssl, c->c_fd);
	SSL_set_tlsext_host_name(c->c_ssl, opt.domain);
	SSL_set_connect_state(c->c_ssl);
	c->c_state = ST_TLS;
	c->c_rlen = c->c_pos = c->c_estart = 0;
}

static void
tls_step(conn_t *c)
{
	int	 r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->c_ssl);
	if (r == 1) {
		c->c_tls_up = 1;
		send_header(c);
		conn_flush(c);
		return;
	}
	e = SSL_get_error(c->c_ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		set_events(c, EPOLLIN);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		set_events(c, EPOLLIN | EPOLLOUT);
		return;
	}
	note_error(&st.err_connect, "TLS handshake failed: %s",
	    ERR_reason_error_string(ERR_peek_error()) ?
	    ERR_reason_error_string(ERR_peek_error()) : "closed");
	conn_close(c, 0);
}

static int
has(const char *el, size_t len, const char *what)
{
	return memmem(el, len, what, strlen(what)) != NULL;
}

static void
on_features(conn_t *c, const char *el, size_t len)
{
	char	 local[256], pass[256];

	c->c_has_starttls = has(el, len, "<starttls");
	c->c_mechs[MECH_SCRAM_SHA1] = has(el, len, ">SCRAM-SHA-1<");
	c->c_mechs[MECH_SCRAM_SHA256] = has(el, len, ">SCRAM-SHA-256<");
	c->c_mechs[MECH_PLAIN] = has(el, len, ">PLAIN<");
	if (opt.tls == TLS_STARTTLS && !c->c_tls_up) {
		if (!c->c_has_starttls) {
			note_error(&st.err_other, "no STARTTLS offered");
			conn_close(c, 0);
			return;
		}
		conn_queue(c, "<starttls xmlns='" NS_TLS "'/>",
		    strlen("<starttls xmlns='" NS_TLS "'/>"));
		c->c_state = ST_PROCEED;
		return;
	}
	if (opt.scenario == SC_REGISTER) {
		user_local(local, sizeof(local), c->c_user);
		user_pass(pass, sizeof(pass), c->c_user);
		conn_printf(c, "<iq type='set' id='reg1'><query "
		    "xmlns='jabber:iq:register'><username>%s</username>"
		    "<password>%s</password></query></iq>", local, pass);
		c->c_state = ST_REGISTER;
		return;
	}
	if (has(el, len, "<mechanisms")) {
		if (!c->c_mechs[opt.mech]) {
			note_error(&st.err_auth, "mechanism %s not offered",
			    opt.mech == MECH_PLAIN ? "PLAIN" :
			    opt.mech == MECH_SCRAM_SHA1 ? "SCRAM-SHA-1" :
			    "SCRAM-SHA-256");
			conn_close(c, 0);
			return;
		}
		send_auth(c);
		return;
	}
	if (has(el, len, "<bind")) {
		char res[128];

		user_resource(res, sizeof(res), c->c_user);
		conn_printf(c, "<iq type='set' id='bind1'><bind xmlns='"
		    NS_BIND "'><resource>%s</resource></bind></iq>", res);
		c->c_state = ST_BIND;
		return;
	}
	note_error(&st.err_other, "features with neither SASL nor bind");
	conn_close(c, 0);
}

/* One top-level element of the stream (depth 1), el[0] == '<'. */
static void
on_element(conn_t *c, const char *el, size_t len)
{
	if (len > 9 && memcmp(el, "<message", 8) == 0) {
		got_message(c, el, len);
		return;
	}
	if (len > 14 && memcmp(el, "<stream:error", 13) == 0) {
		note_error(&st.err_stream, "stream error: %.*s",
		    (int)(len > 200 ? 200 : len), el);
		conn_close(c, 0);
		return;
	}
	switch (c->c_state) {
	case ST_FEATURES:
		if (len > 16 && memcmp(el, "<stream:features", 16) == 0)
			on_features(c, el, len);
		return;
	case ST_PROCEED:
		if (memcmp(el, "<proceed", 8) == 0) {
			/* Flush nothing: the next bytes are TLS. */
			tls_start(c);
			tls_step(c);
		} else {
			note_error(&st.err_other, "STARTTLS refused");
			conn_close(c, 0);
		}
		return;
	case ST_SASL:
		if (memcmp(el, "<challenge", 10) == 0) {
			if (opt.mech == MECH_PLAIN ||
			    scram_challenge(c, el, len) == -1) {
				note_error(&st.err_auth, "bad SASL challenge");
				conn_close(c, 0);
			}
			return;
		}
		if (memcmp(el, "<success", 8) == 0) {
			if (opt.mech != MECH_PLAIN &&
			    scram_verify(c, el, len) == -1) {
				note_error(&st.err_auth,
				    "server signature mismatch");
				conn_close(c, 0);
				return;
			}
			free(c->c_sasl);
			c->c_sasl = NULL;
			stream_restart(c);
			return;
		}
		note_error(&st.err_auth, "SASL: %.*s",
		    (int)(len > 200 ? 200 : len), el);
		conn_close(c, 0);
		return;
	case ST_BIND:
		if (memcmp(el, "<iq", 3) != 0)
			return;
		if (!has(el, len, "type='result'") &&
		    !has(el, len, "type=\"result\"")) {
			note_error(&st.err_bind, "bind: %.*s",
			    (int)(len > 200 ? 200 : len), el);
			conn_close(c, 0);
			return;
		}
		if (opt.presence && !(opt.scenario == SC_LOGIN && !opt.hold)) {
			/*
			 * A message to a bare JID sent before the server has
			 * processed this presence goes to offline storage:
			 * the answer to a ping sent after it says the server
			 * is past it (it handles a stream in order).
			 */
			conn_queue(c, "<presence/><iq type='get' id='rdy'>"
			    "<ping xmlns='urn:xmpp:ping'/></iq>",
			    strlen("<presence/><iq type='get' id='rdy'>"
			    "<ping xmlns='urn:xmpp:ping'/></iq>"));
			c->c_state = ST_PRESENCE;
			return;
		}
		session_ready(c);
		return;
	case ST_PRESENCE:
		/* Result or error: either way the presence was handled. */
		if (memcmp(el, "<iq", 3) == 0 && (has(el, len, "id='rdy'") ||
		    has(el, len, "id=\"rdy\"")))
			session_ready(c);
		return;
	case ST_REGISTER:
		if (memcmp(el, "<iq", 3) != 0)
			return;
		if (has(el, len, "type='result'") ||
		    has(el, len, "type=\"result\""))
			st.registered++;
		else if (has(el, len, "<conflict"))
			st.reg_conflict++;
		else {
			note_error(&st.err_other, "register: %.*s",
			    (int)(len > 200 ? 200 : len), el);
			conn_close(c, 0);
			return;
		}
		in_progress--;
		conn_queue(c, "</stream:stream>", 16);
		conn_flush(c);
		conn_close(c, 1);
		return;
	case ST_READY:
		/* Answer pings so that servers keep us. */
		if (memcmp(el, "<iq", 3) == 0 && has(el, len, "urn:xmpp:ping") &&
		    (has(el, len, "type='get'") ||
		    has(el, len, "type=\"get\""))) {
			const char *id = memmem(el, len, "id=", 3);
			char idv[128];
			size_t k = 0;

			if (id != NULL) {
				char q = id[3];
				id += 4;
				while (id < el + len && *id != q &&
				    k < sizeof(idv) - 1)
					idv[k++] = *id++;
			}
			idv[k] = '\0';
			conn_printf(c, "<iq type='result' id='%s'/>", idv);
		}
		return;
	default:
		return;
	}
}

/*
 * Cuts the buffered bytes into elements.  Depth 0 is outside the stream;
 * the stream header takes it to 1, and every element that starts at depth
 * 1 is handed to on_element() once its end tag (or "/>") is read.  State
 * survives between reads, so an element split anywhere is found.
 */
static void
scan(conn_t *c)
{
	char	*b = c->c_rb;

	while (c->c_pos < c->c_rlen) {
		char	*lt, *gt, *p, q = 0;
		size_t	 start;
		int	 endtag, empty;

		if (b[c->c_pos] != '<') {
			lt = memchr(b + c->c_pos, '<', c->c_rlen - c->c_pos);
			if (lt == NULL) {
				c->c_pos = c->c_rlen;
				break;
			}
			c->c_pos = (size_t)(lt - b);
		}
		start = c->c_pos;
		if (c->c_rlen - start < 2)
			break;
		if (b[start + 1] == '?' || b[start + 1] == '!') {
			/* Declaration, comment: skip to '>'. */
			if ((gt = memchr(b + start, '>', c->c_rlen - start))
			    == NULL)
				break;
			c->c_pos = (size_t)(gt - b) + 1;
			continue;
		}
		/* Find the '>' that ends this tag, outside quotes. */
		gt = NULL;
		for (p = b + start + 1; p < b + c->c_rlen; p++) {
			if (q) {
				if (*p == q)
					q = 0;
			} else if (*p == '\'' || *p == '"')
				q = *p;
			else if (*p == '>') {
				gt = p;
				break;
			}
		}
		if (gt == NULL)
			break;
		endtag = b[start + 1] == '/';
		empty = gt[-1] == '/';
		c->c_pos = (size_t)(gt - b) + 1;
		if (endtag) {
			c->c_depth--;
			if (c->c_depth == 0) {
				/* </stream:stream> */
				note_error(&st.err_closed,
				    "server closed the stream");
				conn_close(c, 0);
				return;
			}
			if (c->c_depth == 1) {
				on_element(c, b + c->c_estart,
				    c->c_pos - c->c_estart);
				if (c->c_state == ST_FREE || c->c_rb != b ||
				    c->c_pos == 0)
					return;	/* closed or restarted */
			}
			continue;
		}
		if (c->c_depth == 0) {
			/* The stream header. */
			c->c_depth = 1;
			continue;
		}
		if (c->c_depth == 1)
			c->c_estart = start;
		if (empty) {
			if (c->c_depth == 1) {
				on_element(c, b + start, c->c_pos - start);
				if (c->c_state == ST_FREE || c->c_rb != b ||
				    c->c_pos == 0)
					return;
			}
			continue;
		}
		c->c_depth++;
	}
	/* Drop what is consumed. */
	{
		size_t keep = c->c_depth >= 2 ? c->c_estart : c->c_pos;

		if (keep > 0) {
			memmove(b, b + keep, c->c_rlen - keep);
			c->c_rlen -= keep;
			c->c_pos -= keep;
			if (c->c_depth >= 2)
				c->c_estart = 0;
		}
	}
}

static void
relay_line(conn_t *c)
{
	char	*nl;

	if ((nl = memchr(c->c_rb, '\n', c->c_rlen)) == NULL)
		return;
	if (nl - c->c_rb != 2 || memcmp(c->c_rb, "OK", 2) != 0) {
		note_error(&st.err_other, "relay refused");
		conn_close(c, 0);
		return;
	}
	memmove(c->c_rb, nl + 1, c->c_rlen - (size_t)(nl + 1 - c->c_rb));
	c->c_rlen -= (size_t)(nl + 1 - c->c_rb);
	c->c_pos = 0;
	c->c_depth = 1;		/* no stream header: elements at once */
	session_ready(c);
}

static void
on_readable(conn_t *c)
{
	ssize_t	 n;
	int	 rounds = 0;

	for (;;) {
		if (c->c_rcap - c->c_rlen < READ_CHUNK) {
			c->c_rcap = c->c_rcap ? c->c_rcap * 2 : READ_CHUNK * 2;
			while (c->c_rcap - c->c_rlen < READ_CHUNK)
				c->c_rcap *= 2;
			c->c_rb = xrealloc(c->c_rb, c->c_rcap);
		}
		if (c->c_ssl != NULL) {
			int r, e;

			ERR_clear_error();
			r = SSL_read(c->c_ssl, c->c_rb + c->c_rlen,
			    (int)(c->c_rcap - c->c_rlen));
			if (r <= 0) {
				e = SSL_get_error(c->c_ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					break;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->c_want_write = 1;
					set_events(c, EPOLLIN | EPOLLOUT);
					break;
				}
				note_error(&st.err_closed, "connection closed "
				    "by the server (TLS)");
				conn_close(c, 0);
				return;
			}
			n = r;
		} else {
			n = read(c->c_fd, c->c_rb + c->c_rlen,
			    c->c_rcap - c->c_rlen);
			if (n == 0) {
				note_error(&st.err_closed,
				    "connection closed by the server");
				conn_close(c, 0);
				return;
			}
			if (n == -1) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				note_error(&st.err_closed, "read: %s",
				    strerror(errno));
				conn_close(c, 0);
				return;
			}
		}
		st.bytes_in += (uint64_t)n;
		c->c_rlen += (size_t)n;
		if (c->c_state == ST_RELAY_LOGIN) {
			relay_line(c);
			if (c->c_state == ST_FREE)
				return;
		}
		if (c->c_state != ST_RELAY_LOGIN)
			scan(c);
		if (c->c_state == ST_FREE || c->c_state == ST_TLS)
			return;
		/* Plain sockets: a short read means the socket is empty. */
		if (c->c_ssl == NULL && (size_t)n < READ_CHUNK)
			break;
		if (++rounds >= 4)
			break;	/* be fair to the other connections */
	}
}

static void
conn_close(conn_t *c, int clean)
{
	int	 i = (int)(c - conns);

	if (c->c_state == ST_FREE)
		return;
	if (c->c_state == ST_READY)
		st.online--;
	else if (!clean)
		in_progress--;
	if (c->c_ssl != NULL) {
		SSL_free(c->c_ssl);
		c->c_ssl = NULL;
	}
	close(c->c_fd);
	if (c->c_user >= 0 && users[c->c_user].u_conn == i)
		users[c->c_user].u_conn = -1;
	free(c->c_sasl);
	c->c_sasl = NULL;
	c->c_state = ST_FREE;
	c->c_fd = -1;
	c->c_rlen = c->c_pos = c->c_estart = 0;
	c->c_wlen = c->c_woff = 0;
	c->c_tls_up = c->c_want_write = 0;
	c->c_depth = 0;
	/* Big buffers go back; the usual small ones are kept for reuse. */
	if (c->c_rcap > 4 * READ_CHUNK) {
		free(c->c_rb);
		c->c_rb = NULL;
		c->c_rcap = 0;
	}
	free_slots[nfree++] = i;
}

static void
on_connected(conn_t *c)
{
	int	 err = 0;
	char	 line[64];
	socklen_t sl = sizeof(err);

	if (getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
	    err != 0) {
		note_error(&st.err_connect, "connect: %s", strerror(err));
		conn_close(c, 0);
		return;
	}
	c->c_events = EPOLLOUT;		/* as registered */
	if (opt.relay) {
		int g = opt.first + c->c_user;

		snprintf(line, sizeof(line), "RELAY %d %d\n", g,
		    opt.first + users[c->c_user].u_peer);
		conn_queue(c, line, strlen(line));
		c->c_state = ST_RELAY_LOGIN;
		conn_flush(c);
		return;
	}
	if (opt.tls == TLS_DIRECT) {
		tls_start(c);
		tls_step(c);
		return;
	}
	send_header(c);
	conn_flush(c);
}

static void
start_login(int u)
{
	conn_t			*c;
	int			 i, fd, one = 1;
	struct epoll_event	 e;

	if (nfree == 0)
		die("internal: no free connection slot");
	i = free_slots[--nfree];
	c = &conns[i];
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		note_error(&st.err_connect, "socket: %s", strerror(errno));
		free_slots[nfree++] = i;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.nsrc > 0) {
		struct sockaddr_in src;

		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr = opt.src[(opt.first + u) % opt.nsrc];
		/* Let connect() pick the port per 4-tuple, not per address. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			note_error(&st.err_connect, "bind: %s",
			    strerror(errno));
			close(fd);
			free_slots[nfree++] = i;
			return;
		}
	}
	c->c_fd = fd;
	c->c_user = u;
	c->c_state = ST_CONNECTING;
	c->c_t0 = now_ns();
	if (st.setup_t0 == 0)
		st.setup_t0 = c->c_t0;
	users[u].u_conn = i;
	in_progress++;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLOUT;
	e.data.u32 = (uint32_t)i;
	c->c_events = EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == -1)
		die("epoll_ctl(ADD): %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&opt.sa, sizeof(opt.sa)) == -1 &&
	    errno != EINPROGRESS) {
		note_error(&st.err_connect, "connect: %s", strerror(errno));
		conn_close(c, 0);
	}
}

/* Starts logins up to the concurrency limit. */
static void
fill_logins(uint64_t now)
{
	while (in_progress < opt.concurrency && nfree > 0) {
		if (opt.scenario == SC_LOGIN && setup_done) {
			/* Keep going round the users until time is up. */
			if (next_user >= opt.users)
				next_user = 0;
			if (users[next_user].u_conn >= 0)
				return;
		} else if (next_user >= opt.users)
			return;
		start_login(next_user++);
	}
}

/* Connections stuck in the handshake past --timeout count as errors. */
static void
check_timeouts(uint64_t now)
{
	uint64_t	 lim = (uint64_t)(opt.timeout * 1e9);
	int		 i;

	for (i = 0; i < nconns; i++) {
		conn_t *c = &conns[i];

		if (c->c_state != ST_FREE && c->c_state != ST_READY &&
		    now - c->c_t0 > lim) {
			note_error(&st.err_timeout, "login timed out "
			    "(state %d)", c->c_state);
			conn_close(c, 0);
		}
	}
}

/* ------------------------------------------------------------ RSS */

static long
proc_rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

static pid_t
proc_ppid(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	int	 ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

/* RSS of the given pids and all their descendants, in KiB. */
static long
server_rss(int *nproc)
{
	pid_t		 set[1024];
	int		 n = 0, i, changed;
	long		 sum = 0, k;
	DIR		*d;
	struct dirent	*de;

	for (i = 0; i < opt.npids; i++)
		set[n++] = opt.pids[i];
	do {
		changed = 0;
		if ((d = opendir("/proc")) == NULL)
			break;
		while ((de = readdir(d)) != NULL && n < 1024) {
			pid_t p = (pid_t)atoi(de->d_name), pp;
			int j, in = 0;

			if (p <= 0)
				continue;
			for (j = 0; j < n; j++)
				if (set[j] == p)
					in = 1;
			if (in)
				continue;
			pp = proc_ppid(p);
			for (j = 0; j < n; j++)
				if (set[j] == pp) {
					set[n++] = p;
					changed = 1;
					break;
				}
		}
		closedir(d);
	} while (changed);
	for (i = 0; i < n; i++)
		if ((k = proc_rss_kib(set[i])) > 0)
			sum += k;
	*nproc = n;
	return sum;
}

/* ------------------------------------------------------------ report */

/* Up to 20 (sender, seq) that never arrived, as JSON pairs. */
static void
lost_sample(void)
{
	uint32_t	 q;
	int		 i, n = 0;

	for (i = 0; i < opt.users && n < 20; i++) {
		user_t *u = &users[i];

		for (q = 0; q < u->u_sent && n < 20; q++)
			if (q / 64 >= u->u_nbits ||
			    !(u->u_bits[q / 64] & (1ull << (q % 64)))) {
				printf("%s[%d,%" PRIu32 "]", n ? "," : "",
				    opt.first + i, q);
				n++;
			}
	}
}

static void
report(double setup_s, long rss, int rss_procs)
{
	double	 win = (double)(st.win_t1 - st.win_t0) / 1e9;
	uint64_t lost = 0, dups = 0;
	double	 tput = win > 0 ? (double)st.win_received / win : 0;
	double	 login_rate = 0;
	int	 i;
	const char *scn[] = { "idle", "login", "chat", "register" };
	const char *mech[] = { "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN" };
	const char *tls[] = { "none", "starttls", "direct" };

	for (i = 0; i < opt.users; i++) {
		lost += users[i].u_sent - users[i].u_got;
		dups += users[i].u_dups;
	}
	if (opt.scenario == SC_LOGIN && !opt.hold)
		login_rate = win > 0 ? (double)st.logins / win : 0;
	else if (opt.scenario == SC_REGISTER)
		login_rate = setup_s > 0 ? (double)(st.registered +
		    st.reg_conflict) / setup_s : 0;
	else
		login_rate = setup_s > 0 ? (double)st.established / setup_s : 0;
	if (opt.json) {
		printf("{\"scenario\":\"%s\",\"server\":\"%s\",\"mode\":\"%s\","
		    "\"tls\":\"%s\",\"mech\":\"%s\",\"users\":%d,"
		    "\"first\":%d,\"established\":%" PRIu64 ","
		    "\"online_at_end\":%" PRIu64 ",\"errors\":%" PRIu64 ","
		    "\"errors_detail\":{\"connect\":%" PRIu64 ",\"auth\":%"
		    PRIu64 ",\"bind\":%" PRIu64 ",\"closed\":%" PRIu64
		    ",\"timeout\":%" PRIu64 ",\"stream\":%" PRIu64
		    ",\"other\":%" PRIu64 "},\"first_error\":\"",
		    scn[opt.scenario], opt.server, opt.relay ? "relay" :
		    "xmpp", tls[opt.tls], mech[opt.mech], opt.users, opt.first,
		    st.established, st.online, st.errors, st.err_connect,
		    st.err_auth, st.err_bind, st.err_closed, st.err_timeout,
		    st.err_stream, st.err_other);
		for (i = 0; errmsg[i]; i++) {
			unsigned char ch = (unsigned char)errmsg[i];
			if (ch == '"' || ch == '\\')
				printf("\\%c", ch);
			else if (ch < 0x20)
				printf("\\u%04x", ch);
			else
				putchar(ch);
		}
		printf("\",\"setup_s\":%.3f,\"login_rate\":%.1f,"
		    "\"logins\":%" PRIu64 ",\"registered\":%" PRIu64 ","
		    "\"reg_conflict\":%" PRIu64 ","
		    "\"window_s\":%.3f,\"sent\":%" PRIu64 ",\"received\":%"
		    PRIu64 ",\"window_sent\":%" PRIu64 ",\"window_received\":%"
		    PRIu64 ",\"throughput\":%.1f,\"duplicates\":%" PRIu64
		    ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
		    ",\"foreign\":%" PRIu64 ",\"stanza_errors\":%" PRIu64
		    ",\"throttled\":%" PRIu64 ",\"rate_per_user\":%g,"
		    "\"window\":%d,\"bytes_in\":%" PRIu64 ",\"bytes_out\":%"
		    PRIu64 ",\"cpu_s\":%.3f,\"cpu_window_s\":%.3f,",
		    setup_s, login_rate, st.logins, st.registered,
		    st.reg_conflict, win, st.sent, st.received, st.win_sent,
		    st.win_received, tput, dups, lost, st.reorder, st.foreign,
		    st.stanza_errors, st.throttled, opt.rate, opt.window,
		    st.bytes_in, st.bytes_out, cpu_seconds(), st.cpu_win);
		printf("\"latency_us\":{\"n\":%" PRIu64 ",\"mean\":%.1f,"
		    "\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
		    "\"max\":%.1f},", lat.h_n, lat.h_n ? lat.h_sum /
		    (double)lat.h_n / 1e3 : 0, hist_pct(&lat, 50) / 1e3,
		    hist_pct(&lat, 90) / 1e3, hist_pct(&lat, 99) / 1e3,
		    hist_pct(&lat, 99.9) / 1e3, (double)lat.h_max / 1e3);
		printf("\"login_latency_us\":{\"n\":%" PRIu64 ",\"p50\":%.1f,"
		    "\"p99\":%.1f,\"max\":%.1f},", login_lat.h_n,
		    hist_pct(&login_lat, 50) / 1e3,
		    hist_pct(&login_lat, 99) / 1e3,
		    (double)login_lat.h_max / 1e3);
		printf("\"rss_kib\":%ld,\"rss_procs\":%d,"
		    "\"rss_per_session_b\":%.0f,", rss, rss_procs,
		    rss > 0 && st.online > 0 ? (double)rss * 1024.0 /
		    (double)st.online : 0);
		/* The raw histogram, so that runs in parallel can merge. */
		printf("\"hist\":{\"unit\":\"ns\",\"sub_bits\":%d,"
		    "\"max\":%" PRIu64 ",\"sum\":%.0f,\"buckets\":[",
		    H_SUB_BITS, lat.h_max, lat.h_sum);
		{
			int first = 1;
			for (i = 0; i < H_BUCKETS; i++)
				if (lat.h_count[i]) {
					printf("%s[%d,%" PRIu64 "]",
					    first ? "" : ",", i,
					    lat.h_count[i]);
					first = 0;
				}
		}
		printf("]},\"lost_sample\":[");
		lost_sample();
		printf("]}\n");
		fflush(stdout);
		return;
	}
	printf("xfed-bench: %s, %d users on %s (%s, tls %s, %s)\n",
	    scn[opt.scenario], opt.users, opt.server,
	    opt.relay ? "relay" : "xmpp", tls[opt.tls], mech[opt.mech]);
	printf("sessions    %" PRIu64 " established, %" PRIu64 " online at "
	    "end, %" PRIu64 " errors", st.established, st.online, st.errors);
	if (st.errors)
		printf(" (first: %s)", errmsg);
	printf("\n");
	if (opt.scenario == SC_LOGIN && !opt.hold)
		printf("logins      %" PRIu64 " in %.1f s: %.0f/s, login "
		    "p50 %.2f ms p99 %.2f ms\n", st.logins, win, login_rate,
		    hist_pct(&login_lat, 50) / 1e6,
		    hist_pct(&login_lat, 99) / 1e6);
	else if (opt.scenario == SC_REGISTER)
		printf("register    %" PRIu64 " new, %" PRIu64 " existing, "
		    "%.1f s (%.0f/s)\n", st.registered, st.reg_conflict,
		    setup_s, login_rate);
	else
		printf("setup       %.2f s (%.0f logins/s), login p50 %.2f ms "
		    "p99 %.2f ms\n", setup_s, login_rate,
		    hist_pct(&login_lat, 50) / 1e6,
		    hist_pct(&login_lat, 99) / 1e6);
	if (opt.scenario == SC_CHAT) {
		printf("messages    %" PRIu64 " sent, %" PRIu64 " received; "
		    "%.0f/s delivered over %.1f s\n", st.sent, st.received,
		    tput, win);
		printf("latency     p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  "
		    "max %.3f ms\n", hist_pct(&lat, 50) / 1e6,
		    hist_pct(&lat, 90) / 1e6, hist_pct(&lat, 99) / 1e6,
		    (double)lat.h_max / 1e6);
		printf("delivery    %" PRIu64 " duplicates, %" PRIu64 " lost, "
		    "%" PRIu64 " reordered, %" PRIu64 " bounced\n", dups,
		    lost, st.reorder, st.stanza_errors);
		printf("cpu         load generator %.0f%% of a core in the "
		    "window\n", win > 0 ? 100 * st.cpu_win / win : 0);
	}
	if (rss > 0)
		printf("rss         %ld KiB in %d processes, %.0f bytes per "
		    "online session\n", rss, rss_procs, st.online ?
		    (double)rss * 1024.0 / (double)st.online : 0);
}

/* ------------------------------------------------------------ main */

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		go_flag = 1;
	else
		stop_flag = 1;
}

static void
parse_sources(const char *s)
{
	char		 a[64], *dash;
	struct in_addr	 lo, hi;
	uint32_t	 i;

	snprintf(a, sizeof(a), "%s", s);
	if ((dash = strchr(a, '-')) != NULL)
		*dash++ = '\0';
	if (inet_pton(AF_INET, a, &lo) != 1 ||
	    inet_pton(AF_INET, dash ? dash : a, &hi) != 1 ||
	    ntohl(hi.s_addr) < ntohl(lo.s_addr) ||
	    ntohl(hi.s_addr) - ntohl(lo.s_addr) >= MAX_SOURCES)
		die("bad --source %s (want A.B.C.D[-A.B.C.E], at most %d)", s,
		    MAX_SOURCES);
	for (i = ntohl(lo.s_addr); i <= ntohl(hi.s_addr); i++)
		opt.src[opt.nsrc++].s_addr = htonl(i);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: xfed-bench -s HOST:PORT [options]\n"
"  -s, --server HOST:PORT     server (IPv4 address)\n"
"  -n, --users N              users (default 10)\n"
"  -f, --first I              index of the first user (default 0)\n"
"  -u, --user PATTERN         JID pattern, one %%d (default user%%d@localhost)\n"
"  -p, --password PATTERN     password pattern (default pass%%d)\n"
"      --domain D             stream 'to' (default: the pattern's domain)\n"
"  -S, --source A[-B]         bind to source addresses A..B (round robin)\n"
"  -t, --tls none|starttls|direct            (default none)\n"
"  -m, --mech SCRAM-SHA-1|SCRAM-SHA-256|PLAIN (default SCRAM-SHA-1)\n"
"  -c, --concurrency N        logins in progress at once (default 100)\n"
"  -x, --scenario idle|login|chat|register|spin (default chat)\n"
"                             spin: busy-loop for -d seconds and count the\n"
"                             gaps when this CPU was taken away\n"
"  -d, --duration S           seconds to hold / measure (default 10)\n"
"  -w, --warmup S             chat: seconds before measuring (default 2)\n"
"      --drain S              chat: seconds to wait for stragglers (5)\n"
"      --timeout S            seconds a login may take (default 60)\n"
"  -r, --rate R               chat: messages/s per user; 0 = flat out\n"
"      --window W             flat out: messages in flight per sender (4)\n"
"      --random               chat: random partners instead of pairs\n"
"      --to full|bare         address messages to full or bare JIDs\n"
"      --resource R           resource to bind (default bench)\n"
"      --accounts M           sessions share M accounts (user (first+i)%%M,\n"
"                             resource R<first+i>)\n"
"      --pad N                add N bytes to each body\n"
"      --no-presence          do not send initial presence\n"
"      --hold                 login: keep sessions instead of cycling\n"
"      --relay                speak xfed-relay's protocol, not XMPP\n"
"  -P, --pid PID              sum RSS of PID and its children (repeat)\n"
"      --ready-file F         create F once logged in, then wait for SIGUSR1\n"
"  -j, --json                 one JSON object on stdout\n"
"  -q, --quiet                no progress on stderr\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "users", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "domain", required_argument, NULL, 'D' },
		{ "source", required_argument, NULL, 'S' },
		{ "tls", required_argument, NULL, 't' },
		{ "mech", required_argument, NULL, 'm' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "scenario", required_argument, NULL, 'x' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "drain", required_argument, NULL, 1 },
		{ "timeout", required_argument, NULL, 2 },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 3 },
		{ "random", no_argument, NULL, 4 },
		{ "to", required_argument, NULL, 5 },
		{ "resource", required_argument, NULL, 6 },
		{ "no-presence", no_argument, NULL, 7 },
		{ "hold", no_argument, NULL, 8 },
		{ "relay", no_argument, NULL, 9 },
		{ "pid", required_argument, NULL, 'P' },
		{ "ready-file", required_argument, NULL, 10 },
		{ "pad", required_argument, NULL, 11 },
		{ "accounts", required_argument, NULL, 12 },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char	 host[128], *colon;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "s:n:f:u:p:S:t:m:c:x:d:w:r:P:jqh",
	    lo, NULL)) != -1) {
		switch (ch) {
		case 's': opt.server = optarg; break;
		case 'n': opt.users = atoi(optarg); break;
		case 'f': opt.first = atoi(optarg); break;
		case 'u': opt.user_pat = optarg; break;
		case 'p': opt.pass_pat = optarg; break;
		case 'D': opt.domain = optarg; break;
		case 'S': parse_sources(optarg); break;
		case 't':
			if (strcmp(optarg, "none") == 0)
				opt.tls = TLS_NONE;
			else if (strcmp(optarg, "starttls") == 0)
				opt.tls = TLS_STARTTLS;
			else if (strcmp(optarg, "direct") == 0)
				opt.tls = TLS_DIRECT;
			else
				usage();
			break;
		case 'm':
			if (strcasecmp(optarg, "SCRAM-SHA-1") == 0)
				opt.mech = MECH_SCRAM_SHA1;
			else if (strcasecmp(optarg, "SCRAM-SHA-256") == 0)
				opt.mech = MECH_SCRAM_SHA256;
			else if (strcasecmp(optarg, "PLAIN") == 0)
				opt.mech = MECH_PLAIN;
			else
				usage();
			break;
		case 'c': opt.concurrency = atoi(optarg); break;
		case 'x':
			if (strcmp(optarg, "idle") == 0)
				opt.scenario = SC_IDLE;
			else if (strcmp(optarg, "login") == 0)
				opt.scenario = SC_LOGIN;
			else if (strcmp(optarg, "chat") == 0)
				opt.scenario = SC_CHAT;
			else if (strcmp(optarg, "register") == 0)
				opt.scenario = SC_REGISTER;
			else if (strcmp(optarg, "spin") == 0)
				opt.scenario = SC_SPIN;
			else
				usage();
			break;
		case 'd': opt.duration = atof(optarg); break;
		case 'w': opt.warmup = atof(optarg); break;
		case 1: opt.drain = atof(optarg); break;
		case 2: opt.timeout = atof(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 3: opt.window = atoi(optarg); break;
		case 4: opt.random = 1; break;
		case 5:
			if (strcmp(optarg, "full") == 0)
				opt.to = TO_FULL;
			else if (strcmp(optarg, "bare") == 0)
				opt.to = TO_BARE;
			else
				usage();
			break;
		case 6: opt.resource = optarg; break;
		case 7: opt.presence = 0; break;
		case 8: opt.hold = 1; break;
		case 9: opt.relay = 1; break;
		case 'P':
			if (opt.npids >= 64)
				die("too many --pid");
			opt.pids[opt.npids++] = (pid_t)atoi(optarg);
			break;
		case 10: opt.ready_file = optarg; break;
		case 11:
			opt.body_pad = atoi(optarg);
			if (opt.body_pad < 0 || opt.body_pad > 1000)
				die("--pad is 0 to 1000");
			break;
		case 12:
			if ((opt.accounts = atoi(optarg)) < 1)
				die("--accounts wants a positive number");
			break;
		case 'j': opt.json = 1; break;
		case 'q': opt.quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (opt.scenario == SC_SPIN)
		return;
	if (opt.server == NULL)
		usage();
	if (opt.users < 1 || opt.first < 0 || opt.concurrency < 1 ||
	    opt.window < 1 || opt.rate < 0 || opt.duration < 0)
		die("bad numbers in the options");
	if (!pat_ok(opt.user_pat) || !pat_ok(opt.pass_pat))
		die("patterns take one %%d and no other conversion");
	if (opt.scenario == SC_CHAT && !opt.random && opt.users % 2 != 0)
		die("paired chat needs an even number of users");
	if (opt.relay && (opt.random || opt.scenario != SC_CHAT))
		die("--relay runs the paired chat scenario only");
	if (opt.relay && opt.first % 2 != 0)
		die("--relay needs an even --first");
	snprintf(host, sizeof(host), "%s", opt.server);
	if ((colon = strrchr(host, ':')) == NULL)
		die("--server wants HOST:PORT");
	*colon = '\0';
	memset(&opt.sa, 0, sizeof(opt.sa));
	opt.sa.sin_family = AF_INET;
	opt.sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &opt.sa.sin_addr) != 1)
		die("--server: %s is not an IPv4 address", host);
	if (opt.domain == NULL) {
		const char *at = strchr(opt.user_pat, '@');
		opt.domain = at ? at + 1 : "localhost";
	}
}

static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rlim_t)opt.users + 32 > rl.rlim_cur &&
	    !(opt.scenario == SC_LOGIN || opt.scenario == SC_REGISTER))
		die("%d users need more than %lu open files: run several "
		    "processes with --first", opt.users,
		    (unsigned long)rl.rlim_cur);
}

/*
 * Busy-loops and reports how often and how long the CPU was taken from
 * us: on a virtual machine whose host steals vCPUs this sets the floor of
 * every latency percentile, so the suite prints it next to them.
 */
static void
spin(void)
{
	uint64_t	 t0 = now_ns(), prev = t0, now, d, mx = 0, stolen = 0;
	uint64_t	 g1 = 0, g10 = 0, end = t0 + (uint64_t)(opt.duration * 1e9);

	while ((now = now_ns()) < end) {
		d = now - prev;
		prev = now;
		if (d > mx)
			mx = d;
		if (d > 1000000) {
			g1++;
			stolen += d;
		}
		if (d > 10000000)
			g10++;
	}
	if (opt.json)
		printf("{\"scenario\":\"spin\",\"seconds\":%.3f,"
		    "\"gaps_over_1ms\":%" PRIu64 ",\"gaps_over_10ms\":%"
		    PRIu64 ",\"max_gap_ms\":%.3f,\"stolen_ms\":%.1f}\n",
		    (double)(now - t0) / 1e9, g1, g10, (double)mx / 1e6,
		    (double)stolen / 1e6);
	else
		printf("spin        %.1f s: %" PRIu64 " gaps over 1 ms, %"
		    PRIu64 " over 10 ms, longest %.3f ms, %.1f ms lost\n",
		    (double)(now - t0) / 1e9, g1, g10, (double)mx / 1e6,
		    (double)stolen / 1e6);
}

/* Rate mode: sends what is due since the window opened, round robin. */
static int	 rr_next;

static void
send_due(uint64_t now, uint64_t t_start, uint64_t *due_done)
{
	double		 total = opt.rate * opt.users;
	uint64_t	 due = (uint64_t)((double)(now - t_start) / 1e9 * total);
	int		 tries;

	while (*due_done < due) {
		for (tries = 0; tries < opt.users; tries++) {
			user_t *u = &users[rr_next];
			int me = rr_next;

			rr_next = (rr_next + 1) % opt.users;
			if (u->u_conn < 0 ||
			    conns[u->u_conn].c_state != ST_READY)
				continue;
			if (conn_pending(&conns[u->u_conn]) > WBUF_HIGH) {
				st.throttled++;
				continue;
			}
			send_message(me);
			if (in_window)
				st.win_sent++;
			break;
		}
		(*due_done)++;
		if (tries == opt.users)
			break;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event	*evs;
	struct sigaction	 sa;
	uint64_t		 now, t_go = 0, t_end = 0, t_drain = 0;
	uint64_t		 due_done = 0, last_tick = 0, last_prog = 0;
	int			 i, n, phase = 0, maxconns;
	long			 rss = 0;
	int			 rss_procs = 0;
	double			 setup_s = 0, cpu0 = 0;

	parse_args(argc, argv);
	if (opt.scenario == SC_SPIN) {
		spin();
		return 0;
	}
	raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (opt.tls != TLS_NONE) {
		if ((ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new failed");
		/* Benchmark peers have self-signed certificates. */
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	users = calloc((size_t)opt.users, sizeof(user_t));
	salted = calloc((size_t)(opt.accounts ? opt.accounts : opt.users),
	    sizeof(salted_t));
	if (salted == NULL)
		die("out of memory");
	maxconns = opt.scenario == SC_LOGIN || opt.scenario == SC_REGISTER ?
	    (opt.hold ? opt.users : opt.concurrency) : opt.users;
	if (maxconns > opt.users)
		maxconns = opt.users;
	/* Closed sockets linger in TIME_WAIT, not in our table. */
	nconns = maxconns;
	conns = calloc((size_t)nconns, sizeof(conn_t));
	free_slots = xmalloc((size_t)nconns * sizeof(int));
	dirty = xmalloc((size_t)nconns * sizeof(int));
	if (users == NULL || conns == NULL)
		die("out of memory");
	for (i = 0; i < opt.users; i++) {
		users[i].u_conn = -1;
		if (opt.random) {
			do
				users[i].u_peer = (int)(random() %
				    opt.users);
			while (opt.users > 1 && users[i].u_peer == i);
		} else
			users[i].u_peer = i ^ 1;
	}
	for (i = nconns - 1; i >= 0; i--) {
		conns[i].c_fd = -1;
		free_slots[nfree++] = i;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	evs = xmalloc(4096 * sizeof(*evs));

	/*
	 * Phases: 0 logging in; 1 waiting for SIGUSR1; 2 warm-up;
	 * 3 measuring; 4 draining; 5 done.
	 */
	for (;;) {
		int timeout = 100;

		if (phase >= 2 && phase <= 3 && opt.scenario == SC_CHAT &&
		    opt.rate > 0)
			timeout = 1;
		n = epoll_wait(ep, evs, 4096, timeout);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			conn_t *c = &conns[evs[i].data.u32];
			uint32_t e = evs[i].events;

			if (c->c_state == ST_FREE)
				continue;
			if (c->c_state == ST_CONNECTING) {
				on_connected(c);
				continue;
			}
			if (c->c_state == ST_TLS) {
				tls_step(c);
				if (c->c_state == ST_FREE ||
				    c->c_state == ST_TLS)
					continue;
			}
			if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				on_readable(c);
				if (c->c_state == ST_FREE)
					continue;
			}
			if (e & EPOLLOUT) {
				c->c_want_write = 0;
				conn_flush(c);
			}
		}
		now = now_ns();
		if (opt.scenario == SC_CHAT && phase >= 2 && phase <= 3 &&
		    opt.rate > 0)
			send_due(now, t_go, &due_done);
		flush_dirty();
		if (now - last_tick > 1000000000ull) {
			last_tick = now;
			if (in_progress > 0)
				check_timeouts(now);
		}
		if (stop_flag && phase < 4) {
			if (phase == 3 || (phase == 2)) {
				st.win_t1 = now;
				st.cpu_win = cpu_seconds() - cpu0;
			}
			phase = 5;
		}

		switch (phase) {
		case 0:
			if (opt.scenario == SC_LOGIN && !opt.hold)
				next_user = opt.users;	/* no setup */
			fill_logins(now);
			if (!opt.quiet && now - last_prog > 2000000000ull) {
				last_prog = now;
				fprintf(stderr, "xfed-bench: %" PRIu64
				    " sessions, %" PRIu64 " errors\n",
				    st.established + st.registered +
				    st.reg_conflict + st.logins, st.errors);
			}
			if (in_progress == 0 && next_user >= opt.users) {
				setup_done = 1;
				if (st.setup_t1 == 0)
					st.setup_t1 = now;
				setup_s = st.setup_t0 ? (double)(st.setup_t1 -
				    st.setup_t0) / 1e9 : 0;
				if (opt.scenario == SC_REGISTER) {
					phase = 5;
					break;
				}
				if (opt.ready_file != NULL) {
					int fd = open(opt.ready_file,
					    O_WRONLY | O_CREAT | O_TRUNC, 0644);
					if (fd >= 0)
						close(fd);
					phase = 1;
				} else
					phase = 2;
				if (phase == 2)
					goto go;
			}
			break;
		case 1:
			if (!go_flag)
				break;
			phase = 2;
		go:
			t_go = now;
			if (opt.scenario == SC_CHAT) {
				chat_sending = 1;
				if (opt.rate == 0) {
					int w;

					for (w = 0; w < opt.window; w++)
						for (i = 0; i < opt.users; i++)
							if (users[i].u_conn >=
							    0 && conns[users[i]
							    .u_conn].c_state ==
							    ST_READY)
								send_message(i);
					flush_dirty();
				}
			}
			if (!(opt.scenario == SC_CHAT || (opt.scenario ==
			    SC_LOGIN && !opt.hold)) || opt.warmup <= 0) {
				phase = 3;
				in_window = 1;
				st.win_t0 = now;
				cpu0 = cpu_seconds();
				t_end = now + (uint64_t)(opt.duration * 1e9);
			}
			break;
		case 2:
			if (opt.scenario == SC_LOGIN && !opt.hold)
				fill_logins(now);
			if (now - t_go >= (uint64_t)(opt.warmup * 1e9)) {
				phase = 3;
				in_window = 1;
				st.win_t0 = now;
				cpu0 = cpu_seconds();
				t_end = now + (uint64_t)(opt.duration * 1e9);
			}
			break;
		case 3:
			if (opt.scenario == SC_LOGIN && !opt.hold)
				fill_logins(now);
			if (now >= t_end) {
				st.win_t1 = now;
				st.cpu_win = cpu_seconds() - cpu0;
				in_window = 0;
				chat_sending = 0;
				if (opt.npids > 0)
					rss = server_rss(&rss_procs);
				phase = 4;
				t_drain = now + (uint64_t)(opt.drain * 1e9);
			}
			break;
		case 4:
			if (opt.scenario == SC_CHAT) {
				uint64_t out = st.sent - st.received;

				if (out > 0 && now < t_drain)
					break;
			}
			if (opt.scenario == SC_LOGIN && in_progress > 0 &&
			    now < t_drain)
				break;
			phase = 5;
			break;
		}
		if (phase == 5)
			break;
	}
	if (opt.npids > 0 && rss == 0)
		rss = server_rss(&rss_procs);
	report(setup_s, rss, rss_procs);
	/* Leave politely; the kernel closes the rest. */
	for (i = 0; i < nconns; i++) {
		if (conns[i].c_state != ST_FREE)
			conn_close(&conns[i], 1);
		free(conns[i].c_rb);
		free(conns[i].c_wb);
	}
	for (i = 0; i < opt.users; i++)
		free(users[i].u_bits);
	for (i = 0; i < (opt.accounts ? opt.accounts : opt.users); i++)
		free(salted[i].sa_salt);
	free(evs);
	free(conns);
	free(users);
	free(salted);
	free(free_slots);
	free(dirty);
	if (ssl_ctx != NULL)
		SSL_CTX_free(ssl_ctx);
	close(ep);
	fflush(stdout);
	return st.errors > 0 ? 1 : 0;
}
