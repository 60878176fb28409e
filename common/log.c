/* log.c: logging to stderr in the foreground or syslog as a daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_fg = 1;
static int	 log_level = XF_LOG_INFO;
static char	 log_name[32] = "xfed";

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_init(int foreground, int level)
{
	log_fg = foreground;
	log_level = level;
	if (!foreground)
		openlog("xfed", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_procname(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

int
log_parselevel(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
vlog(int level, const char *fmt, va_list ap, int with_errno)
{
	char	 msg[2048];
	int	 saved = errno;
	size_t	 n;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (log_fg) {
		struct timespec	 ts;
		struct tm	 tm;
		char		 stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%d] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_name, (int)getpid(),
		    level_names[level], msg);
	} else
		syslog(syslog_prio[level], "%s: %s", log_name, msg);
	errno = saved;
}

#define LOGFN(fn, lvl, err)						\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	va_start(ap, fmt);						\
	vlog(lvl, fmt, ap, err);					\
	va_end(ap);							\
}

LOGFN(log_warn, XF_LOG_WARN, 1)
LOGFN(log_warnx, XF_LOG_WARN, 0)
LOGFN(log_info, XF_LOG_INFO, 0)
LOGFN(log_debug, XF_LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(XF_LOG_ERR, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(XF_LOG_ERR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
