/*
 * loginproc: the parent's and the login child's halves of the login
 * protocol (loginproc.h), shared by tern-pop3d and tern-imapd.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/io.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "lookup/auth.h"
#include "lookup/local.h"
#include "net/tls.h"
#include "login/creds.h"
#include "login/loginproc.h"

/* ---- the parent ---------------------------------------------------------- */

/* One login attempt "LEN:user\0pass," (login/creds.h).  1 (user, pass
 * set), 0 EOF, -1 malformed or error: the login child cannot be trusted,
 * so creds_parse bounds every field again.  The child sends one attempt
 * and waits for the answer, so bytes past it are malformed too. */
static int
ctl_request(struct io *io, char *user, char *pass)
{
	char msg[CREDS_WIRE_MAX(AUTH_USER_MAX, AUTH_PASS_MAX)];
	size_t have = 0, used = 0;
	ssize_t r;
	int ok;

	for (;;) {
		r = io_read(io, msg + have, sizeof msg - have);
		if (r <= 0) {
			ok = r == 0 && have == 0 ? 0 : -1;
			break;
		}
		have += (size_t)r;
		ok = creds_parse(msg, have, AUTH_USER_MAX, AUTH_PASS_MAX, user,
		    pass, &used);
		if (ok == 1 && used != have) {
			explicit_bzero(pass, AUTH_PASS_MAX + 1);
			ok = -1;
		}
		if (ok != 0)
			break;
		if (have == sizeof msg) {
			ok = -1;
			break;
		}
	}
	explicit_bzero(msg, sizeof msg);
	return ok;
}

static void
ctl_answer(const struct login_parent *lp, int ctl, char c)
{
	if (fd_write_all(ctl, &c, 1) < 0 && errno != EPIPE)
		log_warn("%s write to login child: %s", lp->sid,
		    strerror(errno));
}

/* Fork the mailbox process for canon.  1 started, 0 no usable mailbox
 * (logged). */
static int
mailbox_start(struct login_parent *lp, int ctl, const char *canon)
{
	struct local_target t;
	pid_t pid;
	int r;

	memset(&t, 0, sizeof t);
	r = local_lookup(lp->maps, canon, &t);
	if (r <= 0 || (t.kind != LOCAL_USER && t.kind != LOCAL_SYSTEM) ||
	    t.maildir.len == 0) {
		log_warn("%s login user=%s ip=%s error=%s", lp->sid, canon,
		    lp->ip, r < 0 ? strerror(errno) : "no mailbox");
		local_target_free(&t);
		return 0;
	}
	if (!priv_is_root() && t.uid != getuid()) {
		log_warn("%s login user=%s ip=%s error=mailbox owner uid %lu "
		    "and we are not root", lp->sid, canon, lp->ip,
		    (unsigned long)t.uid);
		local_target_free(&t);
		return 0;
	}
	if (lp->become) {
		/* the mailbox process is this one: the same image a fork
		 * would have, without the parent that waits */
		log_info("%s login user=%s ip=%s uid=%lu", lp->sid, canon,
		    lp->ip, (unsigned long)t.uid);
		local_close(lp->maps);
		priv_drop_ids(t.uid, t.gid);
		lp->mailbox(lp->arg, ctl, canon, t.maildir.s, t.quota);
		abort();  /* mailbox never returns */
	}
	pid = fork();
	if (pid < 0) {
		log_warn("%s fork: %s", lp->sid, strerror(errno));
		local_target_free(&t);
		return 0;
	}
	if (pid == 0) {
		local_close(lp->maps);
		priv_drop_ids(t.uid, t.gid);
		lp->mailbox(lp->arg, ctl, canon, t.maildir.s, t.quota);
		abort();  /* mailbox never returns */
	}
	log_info("%s login user=%s ip=%s uid=%lu", lp->sid, canon, lp->ip,
	    (unsigned long)t.uid);
	local_target_free(&t);
	return 1;
}

void
login_parent_run(struct login_parent *lp, int ctl)
{
	static char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1];
	static struct io io;  /* big (io buffers): not on the stack */
	unsigned long max = cfg_num(auth_max_failures), failures = 0;
	struct buf canon = BUF_INIT;
	char safe[LOG_SAFE_MAX];
	int r;

	/* no timeout: the login child has one, and the parent waits for
	 * it to end in any case */
	io_init(&io, ctl, ctl, 0);
	while ((r = ctl_request(&io, user, pass)) > 0) {
		r = auth_check(lp->maps, user, pass, &canon);
		explicit_bzero(pass, sizeof pass);
		if (r > 0 && mailbox_start(lp, ctl, buf_str(&canon)))
			break;
		if (r != 0) {
			if (r < 0)
				log_warn("%s auth error ip=%s error=%s", lp->sid,
				    lp->ip, strerror(errno));
			ctl_answer(lp, ctl, LOGIN_TEMP);
			continue;
		}
		failures++;
		log_info("%s auth failed ip=%s user=%s failures=%lu", lp->sid,
		    lp->ip, log_safe(safe, sizeof safe, user, strlen(user)),
		    failures);
		sig_sleep(cfg_num(auth_fail_delay));
		ctl_answer(lp, ctl, failures >= max ? LOGIN_FAIL_LAST :
		    LOGIN_FAIL);
		if (failures >= max)
			break;
	}
	if (r < 0)
		log_warn("%s bad request from the login child", lp->sid);
	buf_free(&canon);
	(void)close(ctl);
	local_close(lp->maps);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	exit(0);
}

/* ---- the login child ----------------------------------------------------- */

int
login_attempt(const char *sid, int ctl, const char *user, size_t ulen,
    const char *pass, size_t plen, int *gone_r)
{
	struct buf m = BUF_INIT;
	ssize_t r;
	char c;

	*gone_r = 0;
	if (ulen == 0 || ulen > AUTH_USER_MAX || plen == 0 ||
	    plen > AUTH_PASS_MAX || str_chr(user, ulen, '\0') != NULL ||
	    str_chr(pass, plen, '\0') != NULL)
		return 0;
	if (creds_encode(&m, user, ulen, pass, plen) != 1)
		log_fatal("%s out of memory", sid);
	if (fd_write_all(ctl, m.s, m.len) < 0) {
		buf_wipe(&m);
		log_fatal("%s write to parent: %s", sid, strerror(errno));
	}
	buf_wipe(&m);
	do
		r = read(ctl, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1) {
		*gone_r = 1;
		return LOGIN_TEMP;  /* the parent is gone: cannot go on */
	}
	return (unsigned char)c;
}

void
login_relay(const char *sid, struct io *io, int ctl)
{
	static char buf[LOGIN_RELAY_BUF];
	struct pollfd fds[2];
	ssize_t n;

	for (;;) {
		/* bytes the client sent already (pipelined after the login
		 * command, or read with the last TLS record) go first */
		while (io_pending(io) > 0) {
			n = io_read(io, buf, sizeof buf);
			if (n > 0 && fd_write_all(ctl, buf, (size_t)n) < 0)
				goto done;
		}
		fds[0].fd = io->rfd;
		fds[0].events = POLLIN;
		fds[1].fd = ctl;
		fds[1].events = POLLIN;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("%s poll: %s", sid, strerror(errno));
		}
		if (fds[1].revents) {
			n = read(ctl, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto done;
			if (io_put(io, buf, (size_t)n) < 0 || io_flush(io) < 0)
				goto lost;
		}
		if (fds[0].revents) {
			n = io_read(io, buf, sizeof buf);
			if (n <= 0)
				goto lost;
			if (fd_write_all(ctl, buf, (size_t)n) < 0)
				goto done;
		}
	}
done:
	/* the mailbox process ended the session (logout, timeout, error) */
	if (tls_active(io))
		tls_end(io);
	exit(0);
lost:
	(void)close(ctl);
	exit(0);
}

/* fd 0 and fd 1 are one socket (tcpserver, inetd, systemd Accept=yes),
 * which can be passed on as one fd */
static int
one_socket(void)
{
	struct stat a, b;

	return fstat(0, &a) == 0 && fstat(1, &b) == 0 && S_ISSOCK(a.st_mode) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void
login_pass_on(const char *sid, struct io *io, int ctl, const char *reply,
    size_t rn)
{
	static char buf[3 + LOGIN_REPLY_MAX + IO_BUFSIZE];
	size_t n;
	ssize_t r;
	char c = LOGIN_KEEP;

	if (rn > LOGIN_REPLY_MAX)
		log_fatal("%s login reply of %zu bytes", sid, rn);
	if (tls_active(io) || !one_socket()) {
		if (io_put(io, reply, rn) < 0 || io_flush(io) < 0)
			exit(0);  /* the client is gone */
		if (fd_write_all(ctl, &c, 1) < 0)
			exit(0);  /* the mailbox process is gone */
		login_relay(sid, io, ctl);
	}
	/* the reply, for the mailbox process to send; the bytes read from
	 * the client but not used yet go with the connection; the rest is
	 * still in the socket */
	buf[0] = LOGIN_HANDOFF;
	buf[1] = (char)(rn >> 8);
	buf[2] = (char)(rn & 0xff);
	memcpy(buf + 3, reply, rn);
	n = 3 + rn;
	while (io_pending(io) > 0 && n < sizeof buf) {
		r = io_read(io, buf + n, sizeof buf - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (fd_send(ctl, buf, n, 0, 0) < 0)
		log_fatal("%s pass the connection on: %s", sid,
		    strerror(errno));
	explicit_bzero(buf, sizeof buf);
	/* the end of ctl is the mailbox process's sign that it has it all:
	 * now, not when this process is torn down (its next command may
	 * be on the way already) */
	(void)close(ctl);
	exit(0);
}
