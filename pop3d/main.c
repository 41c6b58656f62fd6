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
#include "login/loginproc.h"
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

/* The mailbox process (lib/login/loginproc.h): already the owner. */
static void
mailbox_run(void *arg, int ctl, const char *canon, const char *maildir,
    unsigned long quota)
{
	struct pop3 *p = arg;

	(void)quota;  /* POP3 only removes mail */
	p->ctl = ctl;
	if (buf_copys(&p->login, canon) < 0)
		log_fatal("%s out of memory", p->sid);
	maildrop_run(p, maildir);
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
	struct login_parent lp = { 0 };
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
	if (peer_nodelay(1) < 0)
		log_warn("TCP_NODELAY: %s", strerror(errno));
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
	lp.sid = p->sid;
	lp.ip = p->ip;
	lp.maps = &p->maps;
	lp.mailbox = mailbox_run;
	lp.arg = p;
	login_parent_run(&lp, sv[0]);
}
