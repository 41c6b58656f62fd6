/*
 * tern-pop3d: one POP3 session on fd 0 (read) and fd 1 (write), started
 * by tcpserver, inetd or a systemd socket with Accept=yes; -T for
 * implicit TLS (port 995, RFC 8314).
 *
 * The process started for the connection becomes the PARENT: it reads
 * the configuration and opens the maps (as root in production), forks the
 * login child, lets go of the connection, and then only answers the login
 * child's password checks.  On a good password it forks the mailbox
 * process as the mailbox owner and waits for both children to end.  It
 * never parses a byte from the network; its one input is the netstring
 * of user and password from the login child, which it bounds and checks
 * itself (lib/lookup/auth).  See pop3d.h for the wire format and tern-pop3d(8)
 * SECURITY for the reasons.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "lookup/auth.h"
#include "net/peer.h"
#include "net/tls.h"
#include "login/creds.h"
#include "pop3d.h"

static struct pop3 sess;
static const cap_value_t parent_caps[] = { CAP_SETUID, CAP_SETGID,
    CAP_DAC_READ_SEARCH };  /* big (io buffers): not on the stack */

/* Before a session exists: tell the client, log, exit 111. */
#define POP3_FAIL "-ERR [SYS/TEMP] Service not available, try again later\r\n"
#define early_fail(...) startup_fail(&st_parent, __VA_ARGS__)

/* the start-up path (lib/daemon/startup.h): the login child becomes
 * pop3d_user with nothing; the parent keeps parent_caps */
static const struct startup st_login = {
	.name = "tern-pop3d", .keep_fd = 2, .user_key = "pop3d_user",
	.fail_reply = POP3_FAIL,
};
static const struct startup st_parent = {
	.name = "tern-pop3d", .keep_fd = 2,
	.caps = parent_caps, .ncaps = sizeof parent_caps / sizeof parent_caps[0],
	.fail_reply = POP3_FAIL,
};

/* Our name (cfg_hostname); it goes into every reply and header. */
static void
host_setup(struct pop3 *p)
{
	if (str_copy(p->host, cfg_hostname(), sizeof p->host) >=
	    sizeof p->host)
		early_fail("hostname too long");
	if (!str_printable(p->host, strlen(p->host)) ||
	    str_chr(p->host, strlen(p->host), ' ') != NULL)
		early_fail("hostname %s is not a host name", p->host);
}

/* ---- the login child ----------------------------------------------------- */

static void login_child(struct pop3 *, int) __attribute__((noreturn));

static void
login_child(struct pop3 *p, int ctl)
{
	char err[512];
	int r;

	p->ctl = ctl;
	/* the maps hold every user's password hash: not for this process */
	local_close(&p->maps);
	/* the key is read here, as root, and never by the parent, so the
	 * mailbox process (forked by the parent) never holds it */
	r = tls_server_init(err, sizeof err);
	if (r < 0)
		early_fail("%s %s", p->sid, err);
	if (r == 0 && p->implicit_tls)
		early_fail("%s -T needs tls_cert in tern.conf", p->sid);
	startup_drop(&st_login);
	io_init(&p->io, 0, 1, (int)cfg_num(pop3d_timeout));
	login_run(p);
}

/* ---- the parent ---------------------------------------------------------- */

/* One login attempt "LEN:user\0pass," (lib/login/creds.h).  1 (user,
 * pass set), 0 EOF, -1 malformed or error: the login child cannot be
 * trusted, so creds_parse bounds every field again.  The child sends one
 * attempt and waits for the answer, so bytes past it are malformed too. */
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
ctl_answer(struct pop3 *p, int ctl, char c)
{
	if (fd_write_all(ctl, &c, 1) < 0 && errno != EPIPE)
		log_warn("%s write to login child: %s", p->sid, strerror(errno));
}

/* Fork the mailbox process for canon.  1 started, 0 no usable mailbox
 * (logged). */
static int
mailbox_start(struct pop3 *p, int ctl, const char *canon)
{
	struct local_target t;
	pid_t pid;
	int r;

	memset(&t, 0, sizeof t);
	r = local_lookup(&p->maps, canon, &t);
	if (r <= 0 || (t.kind != LOCAL_USER && t.kind != LOCAL_SYSTEM) ||
	    t.maildir.len == 0) {
		log_warn("%s login user=%s ip=%s error=%s", p->sid, canon, p->ip,
		    r < 0 ? strerror(errno) : "no mailbox");
		local_target_free(&t);
		return 0;
	}
	if (!priv_is_root() && t.uid != getuid()) {
		log_warn("%s login user=%s ip=%s error=mailbox owner uid %lu "
		    "and we are not root", p->sid, canon, p->ip,
		    (unsigned long)t.uid);
		local_target_free(&t);
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("%s fork: %s", p->sid, strerror(errno));
		local_target_free(&t);
		return 0;
	}
	if (pid == 0) {
		local_close(&p->maps);
		priv_drop_ids(t.uid, t.gid);
		p->ctl = ctl;
		if (buf_copys(&p->login, canon) < 0)
			log_fatal("%s out of memory", p->sid);
		maildrop_run(p, t.maildir.s);
	}
	log_info("%s login user=%s ip=%s uid=%lu", p->sid, canon, p->ip,
	    (unsigned long)t.uid);
	local_target_free(&t);
	return 1;
}

/* Answer login attempts until one succeeds or the login child ends. */
static void
parent_run(struct pop3 *p, int ctl)
{
	static char user[AUTH_USER_MAX + 1], pass[AUTH_PASS_MAX + 1];
	unsigned long max = cfg_num(auth_max_failures), failures = 0;
	struct buf canon = BUF_INIT;
	char safe[LOG_SAFE_MAX];
	int r;

	/* no timeout: the login child has one, and the parent waits for
	 * it to end in any case */
	io_init(&p->io, ctl, ctl, 0);
	while ((r = ctl_request(&p->io, user, pass)) > 0) {
		r = auth_check(&p->maps, user, pass, &canon);
		explicit_bzero(pass, sizeof pass);
		if (r > 0 && mailbox_start(p, ctl, buf_str(&canon)))
			break;
		if (r != 0) {
			if (r < 0)
				log_warn("%s auth error ip=%s error=%s", p->sid,
				    p->ip, strerror(errno));
			ctl_answer(p, ctl, CTL_TEMP);
			continue;
		}
		failures++;
		log_info("%s auth failed ip=%s user=%s failures=%lu", p->sid,
		    p->ip, log_safe(safe, sizeof safe, user, strlen(user)),
		    failures);
		sig_sleep(cfg_num(auth_fail_delay));
		ctl_answer(p, ctl, failures >= max ? CTL_FAIL_LAST : CTL_FAIL);
		if (failures >= max)
			break;
	}
	if (r < 0)
		log_warn("%s bad request from the login child", p->sid);
	buf_free(&canon);
	(void)close(ctl);
	local_close(&p->maps);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	exit(0);
}

/* ---- start-up ---------------------------------------------------------- */

static void
usage(void)
{
	log_err("usage: tern-pop3d [-C dir] [-T]");
	exit(100);
}

int
main(int argc, char **argv)
{
	struct pop3 *p = &sess;
	int sv[2], i, devnull;
	pid_t pid;

	sig_pipe_errors();
	startup_begin(&st_parent, &argc, argv, 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-T") == 0)
			p->implicit_tls = 1;
		else
			usage();
	}
	host_setup(p);
	sid_new(p->sid);
	peer_addr(0, p->ip, sizeof p->ip);
	p->ctl = -1;
	if (local_open(&p->maps) < 0)
		early_fail("%s cannot open maps: %s", p->sid, strerror(errno));
	/* a missing pop3d_user: startup_drop in the login child says so, and
	 * the client gets its -ERR (fail_reply) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		early_fail("%s socketpair: %s", p->sid, strerror(errno));
	log_info("%s connect ip=%s%s", p->sid, p->ip,
	    p->implicit_tls ? " tls=implicit" : "");
	pid = fork();
	if (pid < 0)
		early_fail("%s fork: %s", p->sid, strerror(errno));
	if (pid == 0) {
		(void)close(sv[0]);
		login_child(p, sv[1]);
	}
	(void)close(sv[1]);
	/* the connection belongs to the login child now: when it ends, the
	 * client must see the end, whatever the parent still waits for */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
		log_fatal("%s /dev/null: %s", p->sid, strerror(errno));
	if (devnull > 1)
		(void)close(devnull);
	/* the parent stays root only to become the mailbox owner later:
	 * CAP_SETUID/SETGID for that, CAP_DAC_READ_SEARCH to reread the
	 * users map (not world-readable); nothing else */
	startup_drop(&st_parent);
	parent_run(p, sv[0]);
	return 0;
}
