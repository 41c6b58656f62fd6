/*
 * tern-imapd: one IMAP session on fd 0 (read) and fd 1 (write), started
 * by tcpserver, inetd or a systemd socket with Accept=yes; -T for
 * implicit TLS (port 993, RFC 8314).
 *
 * The process started for the connection becomes the PARENT: it reads
 * the configuration and opens the maps (as root in production), forks
 * the login child, lets go of the connection, and then only answers the
 * login child's password checks (lib/login/loginproc); on a good
 * password it forks the mailbox process as the mailbox owner.  It never
 * parses a byte from the network.  See imapd.h for the file map and
 * tern-imapd(8) SECURITY for the reasons.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "net/peer.h"
#include "net/tls.h"
#include "login/loginproc.h"
#include "imapd.h"

static struct imap sess;  /* big (io buffers): not on the stack */
static const cap_value_t parent_caps[] = { CAP_SETUID, CAP_SETGID,
    CAP_DAC_READ_SEARCH };

#define IMAP_FAIL "* BYE [UNAVAILABLE] Service not available, try again " \
    "later\r\n"
#define early_fail(...) startup_fail(&st_parent, __VA_ARGS__)

static const struct startup st_login = {
	.name = "tern-imapd", .keep_fd = 2, .user_key = "imapd_user",
	.fail_reply = IMAP_FAIL,
};
static const struct startup st_parent = {
	.name = "tern-imapd", .keep_fd = 2,
	.caps = parent_caps, .ncaps = sizeof parent_caps / sizeof parent_caps[0],
	.fail_reply = IMAP_FAIL,
};

static void
host_setup(struct imap *s)
{
	if (str_copy(s->host, cfg_hostname(), sizeof s->host) >=
	    sizeof s->host)
		early_fail("hostname too long");
	if (!str_printable(s->host, strlen(s->host)) ||
	    str_chr(s->host, strlen(s->host), ' ') != NULL)
		early_fail("hostname %s is not a host name", s->host);
}

static void login_child(struct imap *, int) __attribute__((noreturn));

static void
login_child(struct imap *s, int ctl)
{
	char err[512];
	int r;

	s->ctl = ctl;
	/* the maps hold every user's password hash: not for this process */
	local_close(&s->maps);
	/* the key is read here, as root, and never by the parent, so the
	 * mailbox process (forked by the parent) never holds it */
	r = tls_server_init(err, sizeof err);
	if (r < 0)
		early_fail("%s %s", s->sid, err);
	if (r == 0 && s->implicit_tls)
		early_fail("%s -T needs tls_cert in tern.conf", s->sid);
	startup_drop(&st_login);
	io_init(&s->io, 0, 1, (int)cfg_num(imapd_login_timeout));
	login_run(s);
}

static void
usage(void)
{
	log_err("usage: tern-imapd [-C dir] [-T]");
	exit(100);
}

int
main(int argc, char **argv)
{
	struct imap *s = &sess;
	struct login_parent lp;
	int sv[2], i, devnull;
	pid_t pid;

	sig_pipe_errors();
	startup_begin(&st_parent, &argc, argv, 1);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-T") == 0)
			s->implicit_tls = 1;
		else
			usage();
	}
	host_setup(s);
	sid_new(s->sid);
	peer_addr(0, s->ip, sizeof s->ip);
	s->ctl = -1;
	if (local_open(&s->maps) < 0)
		early_fail("%s cannot open maps: %s", s->sid, strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		early_fail("%s socketpair: %s", s->sid, strerror(errno));
	log_info("%s connect ip=%s%s", s->sid, s->ip,
	    s->implicit_tls ? " tls=implicit" : "");
	pid = fork();
	if (pid < 0)
		early_fail("%s fork: %s", s->sid, strerror(errno));
	if (pid == 0) {
		(void)close(sv[0]);
		login_child(s, sv[1]);
	}
	(void)close(sv[1]);
	/* the connection belongs to the login child now */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0)
		log_fatal("%s /dev/null: %s", s->sid, strerror(errno));
	if (devnull > 1)
		(void)close(devnull);
	startup_drop(&st_parent);
	lp.sid = s->sid;
	lp.ip = s->ip;
	lp.maps = &s->maps;
	lp.mailbox = mailbox_main;
	lp.arg = s;
	login_parent_run(&lp, sv[0]);
}

/* ---- the mailbox process ----------------------------------------------- */

void
mailbox_main(void *arg, int ctl, const char *canon, const char *maildir,
    unsigned long quota)
{
	struct imap *s = arg;
	char c = LOGIN_RELAY;

	s->quota = quota;
	s->ctl = ctl;
	s->state = ST_AUTH;
	s->sel.ino = -1;
	s->append_limit = cfg_num(message_size_limit);
	if (buf_copys(&s->login, canon) < 0)
		log_fatal("%s out of memory", s->sid);
	s->root = strdup(maildir);
	if (s->root == NULL)
		log_fatal("%s out of memory", s->sid);
	io_init(&s->io, ctl, ctl, (int)cfg_num(imapd_timeout));
	/* from here on the login child relays the session to us; it sends
	 * the tagged OK of the login itself */
	if (fd_write_all(ctl, &c, 1) < 0)
		session_lost(s, "login");
	session_loop(s);
}
