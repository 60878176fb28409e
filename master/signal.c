/* signal.c: the master's signal handlers; they only set flags the loop reads. */
#include <signal.h>
#include <string.h>

#include "master.h"

static volatile sig_atomic_t	 got_hup, got_term, got_chld;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGHUP:
		got_hup = 1;
		break;
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGCHLD:
		got_chld = 1;
		break;
	}
}

void
xf_signal_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
}

/* Takes (and clears) the pending flags; 1 if any was set. */
int
xf_signal_take(int *reload, int *stop, int *child)
{
	*reload = got_hup;
	*stop = got_term;
	*child = got_chld;
	got_hup = got_term = got_chld = 0;
	return *reload || *stop || *child;
}
