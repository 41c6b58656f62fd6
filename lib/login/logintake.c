/*
 * logintake: the mailbox side of a login whose parent is the mailbox
 * process (loginproc.h, become): the connection from the login child,
 * or its relay.  Apart from loginproc.c, so that a program that only
 * takes sessions (tern-imap-session) links no TLS.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/io.h"
#include "login/loginproc.h"

static int relay_ctl = -1;

/* At exit of a relayed session: end the relay's input and let it send
 * what it has (a systemd service ends when its main process does). */
static void
relay_wait(void)
{
	if (relay_ctl < 0)
		return;
	(void)shutdown(relay_ctl, SHUT_RDWR);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

int
login_take(struct io *io, int ctl, int timeout)
{
	static char buf[2 + LOGIN_REPLY_MAX + IO_BUFSIZE + 1];
	size_t rn;
	int wait_ms = timeout <= 0 ? -1 : timeout > INT_MAX / 1000 ?
	    INT_MAX : timeout * 1000;
	struct stat st;
	size_t have = 0;
	ssize_t r;
	char c = LOGIN_RELAY;
	int fd = -1;

	if (fd_write_all(ctl, &c, 1) < 0)
		return -1;
	/* one byte, with the connection when it is LOGIN_HANDOFF (the login
	 * child is not trusted to answer at all: every wait is bounded) */
	if (fd_poll(ctl, POLLIN, wait_ms) < 0)
		return -1;
	r = fd_recv(ctl, &c, 1, &fd);
	if (r <= 0) {
		if (r == 0)
			errno = EPIPE;
		return -1;
	}
	if (c == LOGIN_KEEP && fd < 0) {
		io_init(io, ctl, ctl, timeout);
		relay_ctl = ctl;
		if (atexit(relay_wait) != 0) {
			errno = ENOMEM;
			return -1;
		}
		return 1;
	}
	if (c != LOGIN_HANDOFF || fd < 0 || fstat(fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		if (fd >= 0)
			(void)close(fd);
		errno = EPROTO;
		return -1;
	}
	/* the login child's pending bytes, then its end goes */
	for (;;) {
		if (fd_poll(ctl, POLLIN, wait_ms) < 0) {
			(void)close(fd);
			return -1;
		}
		r = read(ctl, buf + have, sizeof buf - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && have + (size_t)r == sizeof buf)) {
			/* (more than the login child can have read) */
			if (r > 0)
				errno = EMSGSIZE;
			(void)close(fd);
			return -1;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	(void)close(ctl);
	/* the login child exits now: nobody waits for it */
	(void)signal(SIGCHLD, SIG_IGN);
	(void)waitpid(-1, NULL, WNOHANG);
	rn = have >= 2 ? ((size_t)(unsigned char)buf[0] << 8) |
	    (unsigned char)buf[1] : 0;
	if (have < 2 || rn > LOGIN_REPLY_MAX || 2 + rn > have) {
		(void)close(fd);
		errno = EPROTO;
		return -1;
	}
	/* the login's reply first: from now on the client is served */
	io_init(io, fd, fd, timeout);
	if (io_put(io, buf + 2, rn) < 0 || io_flush(io) < 0 ||
	    io_unread(io, buf + 2 + rn, have - 2 - rn) < 0) {
		(void)close(fd);
		return -1;
	}
	explicit_bzero(buf, have);
	return 1;
}
