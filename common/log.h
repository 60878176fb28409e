/* log.h: logging to stderr in the foreground or syslog as a daemon. */
#ifndef XF_LOG_H
#define XF_LOG_H

#include <stdarg.h>

enum { XF_LOG_ERR = 0, XF_LOG_WARN, XF_LOG_INFO, XF_LOG_DEBUG };

void	log_init(int foreground, int level);
void	log_setlevel(int level);
int	log_getlevel(void);
void	log_procname(const char *name);	/* "master", "worker 3", ... */
int	log_parselevel(const char *name);	/* -1 when unknown */

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* XF_LOG_H */
