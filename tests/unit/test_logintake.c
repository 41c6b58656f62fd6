/*
 * test_logintake: lib/login/logintake.c, the mailbox side of a handoff.
 * A forked "login child" answers LOGIN_RELAY as loginproc.c does: with
 * LOGIN_HANDOFF, the client connection (one end of a socketpair), the
 * login's reply (two bytes of length, then the line) and the bytes the
 * client had pipelined.  login_take must send the reply on the
 * connection first and then give the pipelined bytes to io; a reply
 * longer than what was sent, or over LOGIN_REPLY_MAX, is EPROTO.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/io.h"
#include "login/loginproc.h"
#include "t.h"

/* The child: read 'R', send msg[0..n) with fd attached, exit. */
static void
child(int ctl, int fd, const char *msg, size_t n)
{
	char c;

	if (read(ctl, &c, 1) != 1 || c != LOGIN_RELAY)
		_exit(2);
	if (fd_send(ctl, msg, n, fd, 0) < 0)
		_exit(3);
	(void)close(ctl);
	_exit(0);
}

/* One handoff of msg; the client's end in *client_r.  login_take's
 * result. */
static int
handoff(const char *msg, size_t n, struct io *io, int *client_r)
{
	int ctl[2], conn[2], r, saved;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, conn) < 0)
		return -2;
	pid = fork();
	if (pid == 0) {
		(void)close(ctl[0]);
		(void)close(conn[1]);
		child(ctl[1], conn[0], msg, n);
	}
	(void)close(ctl[1]);
	(void)close(conn[0]);
	r = login_take(io, ctl[0], 5);
	saved = errno;
	(void)signal(SIGCHLD, SIG_DFL);
	(void)waitpid(pid, NULL, 0);
	*client_r = conn[1];
	errno = saved;
	return r;
}

int
main(void)
{
	static struct io io;
	static const char good[] = "P\0\x15" "a1 OK [X] Logged in\r\n"
	    "a2 SELECT INBOX\r\n";
	char got[64];
	ssize_t n;
	int client;

	/* the reply reaches the client, then the pipelined command io */
	T_EQ_INT(handoff(good, sizeof good - 1, &io, &client), 1);
	n = read(client, got, sizeof got);
	T_EQ_MEM(got, n > 0 ? (size_t)n : 0, "a1 OK [X] Logged in\r\n", 21);
	n = io_read(&io, got, sizeof got);
	T_EQ_MEM(got, n > 0 ? (size_t)n : 0, "a2 SELECT INBOX\r\n", 17);
	(void)close(client);
	(void)close(io.rfd);

	/* nothing pipelined */
	T_EQ_INT(handoff("P\0\x03" "x\r\n", 6, &io, &client), 1);
	n = read(client, got, sizeof got);
	T_EQ_MEM(got, n > 0 ? (size_t)n : 0, "x\r\n", 3);
	T_EQ_INT(io_pending(&io), 0);
	(void)close(client);
	(void)close(io.rfd);

	/* a reply longer than what came, over the limit, no length */
	errno = 0;
	T_EQ_INT(handoff("P\0\x30" "short\r\n", 10, &io, &client), -1);
	T_EQ_INT(errno, EPROTO);
	(void)close(client);
	errno = 0;
	T_EQ_INT(handoff("P\xff\xff" "x", 4, &io, &client), -1);
	T_EQ_INT(errno, EPROTO);
	(void)close(client);
	errno = 0;
	T_EQ_INT(handoff("P\0", 2, &io, &client), -1);
	T_EQ_INT(errno, EPROTO);
	(void)close(client);
	T_DONE();
}
