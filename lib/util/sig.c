/*
 * sig: the self-pipe behind sig.h.  The pipe is non-blocking at both
 * ends: a full pipe drops a byte, which is fine because a wake-up is
 * pending already.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sig.h"

static int sig_pipe[2] = { -1, -1 };
static int caught[64];
static size_t ncaught;

static void
sig_handler(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

void
sig_catch(const int *sigs, size_t n)
{
	struct sigaction sa;
	size_t i;

	if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;  /* SIGCHLD: exits only */
	for (i = 0; i < n; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			log_fatal("sigaction(%d): %s", sigs[i], strerror(errno));
		else if (ncaught < sizeof caught / sizeof caught[0])
			caught[ncaught++] = sigs[i];
	sig_pipe_errors();
}

int
sig_fd(void)
{
	return sig_pipe[0];
}

int
sig_next(void)
{
	unsigned char c;

	if (sig_pipe[0] < 0 || read(sig_pipe[0], &c, 1) != 1)
		return 0;
	return c;
}

void
sig_reset(void)
{
	size_t i;

	for (i = 0; i < ncaught; i++)
		signal(caught[i], SIG_DFL);
	ncaught = 0;
	if (sig_pipe[0] >= 0) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
	}
}

void
sig_sleep(unsigned long s)
{
	struct timespec ts = { (time_t)s, 0 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
sig_nothing(int sig)
{
	(void)sig;
}

void
sig_pipe_errors(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sig_nothing;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		log_fatal("sigaction SIGPIPE: %s", strerror(errno));
}
