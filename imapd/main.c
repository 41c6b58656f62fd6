/*
 * tern-imapd: one IMAP session on fd 0 (read) and fd 1 (write), started
 * by tcpserver, inetd or a systemd socket with Accept=yes; -T for
 * implicit TLS (port 993, RFC 8314).
 *
 * The process started for the connection becomes the PARENT: it reads
 * the configuration and opens the maps (as root in production), forks
 * the login child, lets go of the connection, and then only answers the
 * login child's password checks (lib/login/loginproc); on a good
 * password it drops to the mailbox owner and executes tern-imap-session
 * (sessmain.c), which the login child hands the connection to
 * (plaintext) or relays to (TLS).  Until then it never reads a byte from
 * the network.  See imapd.h for the file map and
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

#include "util/buf.h"
#include "util/fsutil.h"
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

extern char **environ;

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
	 * mailbox process (the parent, after the login) never holds it */
	r = tls_server_init(err, sizeof err);
	if (r < 0)
		early_fail("%s %s", s->sid, err);
	if (r == 0 && s->implicit_tls)
		early_fail("%s -T needs tls_cert in tern.conf", s->sid);
	startup_drop(&st_login);
	io_init(&s->io, 0, 1, (int)cfg_num(imapd_login_timeout));
	login_run(s);
}

static void exec_session(void *, int, const char *, const char *,
    unsigned long) __attribute__((noreturn));

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
	struct login_parent lp = { 0 };
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
	if (peer_nodelay(1) < 0)
		log_warn("TCP_NODELAY: %s", strerror(errno));
	s->ctl = -1;
	s->ino = -1;
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
	lp.mailbox = exec_session;
	lp.arg = s;
	lp.become = 1;
	login_parent_run(&lp, sv[0]);
}

/* ---- the mailbox side ------------------------------------------------- */

/* The parent after a good login, already the mailbox owner with no
 * capabilities and no maps: exec tern-imap-session, which serves the
 * rest of the session and links no TLS, so that a session costs one
 * small process (two under TLS: the login child relays).  The login goes
 * in the environment, not argv: /proc/PID/environ is the owner's alone. */
static void
exec_session(void *arg, int ctl, const char *canon, const char *maildir,
    unsigned long quota)
{
	static const char *const keys[] = { "imapd_timeout",
	    "message_size_limit", "hostname", "log", "log_facility", NULL };
	struct imap *s = arg;
	char path[FS_PATH_MAX], q[32];
	struct buf env[5] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT,
	    BUF_INIT };
	struct buf conf = BUF_INIT;
	char **envp, *argv[] = { path, "-C", (char *)cfg_dir(), NULL };
	size_t i, n = 0, k = 0;
	int pv[2], c, p;

	if (fs_join(path, sizeof path, cfg_str(program_dir),
	    "tern-imap-session") < 0)
		log_fatal("%s program_dir: %s", s->sid, strerror(errno));
	/* fail here, where the log still works, not after the dup2s */
	if (access(path, X_OK) < 0)
		log_fatal("%s cannot run %s: %s", s->sid, path,
		    strerror(errno));
	(void)snprintf(q, sizeof q, "%lu", quota);
	if (buf_catf(&env[0], "TERN_IMAP_SID=%s", s->sid) < 0 ||
	    buf_catf(&env[1], "TERN_IMAP_IP=%s", s->ip) < 0 ||
	    buf_catf(&env[2], "TERN_IMAP_USER=%s", canon) < 0 ||
	    buf_catf(&env[3], "TERN_IMAP_MAILDIR=%s", maildir) < 0 ||
	    buf_catf(&env[4], "TERN_IMAP_QUOTA=%s", q) < 0)
		log_fatal("%s out of memory", s->sid);
	/* the environment it was started with (TZ, and what the admin
	 * set), without any TERN_IMAP_ a client could have had put there */
	while (environ[n] != NULL)
		n++;
	envp = calloc(n + 6, sizeof *envp);
	if (envp == NULL)
		log_fatal("%s out of memory", s->sid);
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "TERN_IMAP_", 10) != 0)
			envp[k++] = environ[i];
	for (i = 0; i < 5; i++)
		envp[k++] = env[i].s;
	envp[k] = NULL;
	/* the settings it uses, as we read them (tern.conf need not be
	 * readable by the mailbox owner), on a pipe: a few hundred bytes,
	 * far below the pipe's buffer */
	for (i = 0; keys[i] != NULL; i++)
		if (buf_catf(&conf, "%s = %s\n", keys[i],
		    cfg_str_named(keys[i])) < 0)
			log_fatal("%s out of memory", s->sid);
	if (pipe2(pv, O_CLOEXEC) < 0 ||
	    fd_write_all(pv[1], conf.s, conf.len) < 0 || close(pv[1]) < 0)
		log_fatal("%s config pipe: %s", s->sid, strerror(errno));
	/* ctl becomes fd 3 and the settings fd 4: first both above them,
	 * so that neither dup2 closes the other */
	c = fcntl(ctl, F_DUPFD_CLOEXEC, SESSION_CONF_FD + 1);
	p = fcntl(pv[0], F_DUPFD_CLOEXEC, SESSION_CONF_FD + 1);
	if (c < 0 || p < 0)
		log_fatal("%s fcntl: %s", s->sid, strerror(errno));
	/* from here on fd 3 may have been the syslog socket: no log line,
	 * and on failure nothing written to ctl either (the login child
	 * sees it close and says BYE) */
	if (dup2(c, SESSION_CTL_FD) < 0 || dup2(p, SESSION_CONF_FD) < 0)
		_exit(111);
	execve(path, argv, envp);
	_exit(111);
}
