/* tap.h: a minimal TAP producer for the C unit tests. */
#ifndef XF_TAP_H
#define XF_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...) do {						\
	int ok_c_ = !!(cond);						\
	printf("%s %d - ", ok_c_ ? "ok" : "not ok", ++tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_c_) {							\
		tap_fail++;						\
		printf("#   failed at %s:%d\n", __FILE__, __LINE__);	\
	}								\
	fflush(stdout);							\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int m_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;		\
	ok(m_, __VA_ARGS__);						\
	if (!m_)							\
		printf("#   got:  '%s'\n#   want: '%s'\n",		\
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("#   got:  %lld\n#   want: %lld\n", g_, w_);	\
} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}

#endif /* XF_TAP_H */
