/* tcp.c: the TCP framing (RFC 6120): a stream straight over a connection's bytes, TLS or not. */
#include <string.h>
#include <unistd.h>

#include "xf.h"
#include "log.h"
#include "worker.h"

static void
tcp_data(void *owner, xf_conn_t *c, const char *buf, size_t len)
{
	xf_stream_feed(owner, buf, len);
}

static void
tcp_event(void *owner, xf_conn_t *c, int ev)
{
	xf_stream_t	*s = owner;

	switch (ev) {
	case XF_IO_TLSREADY:
		s->s_secure = 1;
		if (s->s_kind->k_secured)
			s->s_kind->k_secured(s);
		break;
	case XF_IO_DRAINED:
		xf_stream_drained(s);
		break;
	case XF_IO_FLOOD:
		log_warnx("s%llu: %s keeps sending faster than 'read-rate'",
		    (unsigned long long)s->s_id,
		    s->s_full[0] ? s->s_full : s->s_ip);
		xf_stream_error(s, "policy-violation",
		    "Too much data, too fast");
		break;
	case XF_IO_CLOSED:
		/* The stream's end lets its reference go. */
		xf_stream_end(s);
		break;
	}
}

static void
tcp_unsent(void *owner, xf_conn_t *c, const char *data, size_t len)
{
	xf_stream_unsent(owner, data, len);
}

static const xf_conn_up_t tcp_up = { tcp_data, tcp_event, tcp_unsent };

static void
tcp_open(xf_stream_t *s, const char *ns, const char *attrs)
{
	xf_conn_t	*c = s->s_conn;
	static const char head[] = "<?xml version='1.0'?><stream:stream "
	    "xmlns:stream='" XF_NS_STREAM "' xmlns='";

	xf_conn_send(c, head, sizeof(head) - 1);
	xf_conn_send(c, ns, strlen(ns));
	xf_conn_send(c, "'", 1);
	xf_conn_send(c, attrs, strlen(attrs));
	xf_conn_send(c, ">", 1);
}

static void
tcp_close(xf_stream_t *s)
{
	xf_conn_send(s->s_conn, "</stream:stream>", 16);
}

static int
tcp_write(xf_stream_t *s, const char *data, size_t len)
{
	return xf_conn_send_el(s->s_conn, data, len);
}

const xf_frame_t xf_frame_tcp = {
	.f_name = "tcp",
	.f_starttls = 1,
	.f_open = tcp_open,
	.f_close = tcp_close,
	.f_write = tcp_write,
};

/* A stream of kind k on an accepted socket; fd is the stream's from
 * now on (closed on failure). */
xf_stream_t *
xf_tcp_accept(xf_worker_t *w, int fd, int direct_tls,
    const xf_stream_kind_t *k)
{
	xf_conn_t	*c;
	xf_stream_t	*s;

	if ((c = xf_conn_new(&w->w_io, fd, direct_tls)) == NULL) {
		close(fd);
		return NULL;
	}
	if ((s = xf_stream_new(w, k, &xf_frame_tcp, c)) != NULL) {
		s->s_secure = direct_tls;	/* no byte reaches it before */
		xf_conn_set_rate(c, (uint32_t)w->w_conf->cf_c2s_read_rate,
		    (uint32_t)w->w_conf->cf_c2s_read_burst,
		    (uint32_t)w->w_conf->cf_c2s_flood_time * 1000);
		xf_conn_set_owner(c, &tcp_up, s);
	}
	xf_conn_unref(c);		/* the stream holds its own */
	return s;
}
