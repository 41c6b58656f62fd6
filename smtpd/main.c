/*
 * tern-smtpd: one SMTP session on fd 0 (read) and fd 1 (write), started
 * by tcpserver, inetd or a systemd socket with Accept=yes.
 *
 * Start-up, in this order (doc/DESIGN.md, STYLE.md rule 3): close stray
 * fds, read the configuration, find the peer address, open the maps, drop
 * privileges (smtpd_user when root; no capabilities in any case), and
 * only then read the first byte from the network.  See tern-smtpd(8).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "fsutil.h"
#include "log.h"
#include "priv.h"
#include "smtpd.h"
#include "str.h"

static struct session sess;  /* big (io and enq buffers): not on the stack */

/* SIGPIPE: nothing to do, the failed write reports EPIPE */
static void
on_sigpipe(int sig)
{
	(void)sig;
}

/* Before the configuration is known: tell the client, log, exit 111.
 * RFC 5321 3.1: 421 instead of the greeting when we cannot serve. */
static void early_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void
early_fail(const char *fmt, ...)
{
	static const char msg[] =
	    "421 4.3.0 Service not available, try again later\r\n";
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof text, fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	/* best effort: the client may already be gone */
	(void)fd_write_all(1, msg, sizeof msg - 1);
	log_fatal("%s", text);
}

/* Our name: hostname from tern.conf, else the system's. */
static void
host_setup(struct session *s)
{
	const char *h = cfg_str("hostname");

	if (h[0] != '\0') {
		if (str_copy(s->host, h, sizeof s->host) >= sizeof s->host)
			early_fail("hostname too long");
	} else if (gethostname(s->host, sizeof s->host) < 0) {
		early_fail("gethostname: %s", strerror(errno));
	}
	s->host[sizeof s->host - 1] = '\0';
	/* the name goes into every reply and Received header */
	if (!smtp_helo_ok(s->host, strlen(s->host)))
		early_fail("hostname %s is not a domain name", s->host);
}

/* 1 if s looks like an IPv4 or IPv6 address (for TCPREMOTEIP, which is
 * only as trustworthy as whoever set the environment). */
static int
ip_text_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= SMTPD_IP_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

/* "::ffff:192.0.2.1" (an IPv4 client on an IPv6 socket) -> "192.0.2.1" */
static void
ip_unmap(char *ip)
{
	if (str_casestart(ip, "::ffff:") && strchr(ip + 7, '.') != NULL &&
	    strchr(ip + 7, ':') == NULL)
		memmove(ip, ip + 7, strlen(ip + 7) + 1);
}

/* The peer: TCPREMOTEIP (tcpserver), else getpeername(0) (inetd and
 * systemd), else "unknown" (a pipe, e.g. in tests). */
static void
peer_setup(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const char *env = getenv("TCPREMOTEIP");

	str_copy(s->ip, "unknown", sizeof s->ip);
	if (env != NULL && ip_text_ok(env)) {
		str_copy(s->ip, env, sizeof s->ip);
	} else if (getpeername(0, (struct sockaddr *)&ss, &sl) == 0) {
		const void *a = NULL;

		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (a != NULL && inet_ntop(ss.ss_family, a, s->ip,
		    sizeof s->ip) == NULL)
			str_copy(s->ip, "unknown", sizeof s->ip);
	}
	ip_unmap(s->ip);
}

static void
limits_setup(struct session *s)
{
	s->max_size = cfg_num("message_size_limit");
	s->max_rcpt = cfg_num("smtpd_max_recipients");
	s->max_line = cfg_num("smtpd_max_line_length");
	s->max_errors = cfg_num("smtpd_max_errors");
	s->max_hops = cfg_num("max_hops");
	s->dline = malloc(s->max_line + 1);
	if (s->dline == NULL)
		early_fail("out of memory");
}

int
main(int argc, char **argv)
{
	struct session *s = &sess;
	struct sigaction sa;
	const char *dir;
	uid_t uid;
	gid_t gid;
	char err[512];

	/* fds 0, 1 (the connection) and 2 (the log) only */
	fd_close_from(3);
	/* a client that hangs up must not kill us in the middle of a write:
	 * write errors (EPIPE) are handled where they happen.  A handler, not
	 * SIG_IGN, so that tern-enqueue does not inherit the disposition. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		log_fatal("sigaction: %s", strerror(errno));
	log_init("tern-smtpd", LOG_TO_STDERR, LOG_MAIL);
	dir = cfg_take_dir(&argc, argv);
	if (argc > 1) {
		log_err("usage: tern-smtpd [-C dir]");
		return 100;
	}
	if (cfg_load(dir, err, sizeof err) < 0)
		early_fail("%s", err);
	cfg_log_init("tern-smtpd");
	host_setup(s);
	limits_setup(s);
	sid_new(s->sid);
	peer_setup(s);
	/* like qmail-smtpd: tcpserver's rules set RELAYCLIENT for clients
	 * that may relay (any value; we do not append it to addresses) */
	s->relayclient = getenv("RELAYCLIENT") != NULL;
	/* the maps are opened while we still may read them (root) */
	if (local_open(&s->maps) < 0)
		early_fail("%s cannot open maps: %s", s->sid, strerror(errno));
	/* priv_drop dies on a missing user too, but without telling the
	 * client: check first so that it gets its 421 */
	if (priv_is_root() && priv_user(cfg_str("smtpd_user"), &uid, &gid) <= 0)
		early_fail("%s smtpd_user %s: no such user", s->sid,
		    cfg_str("smtpd_user"));
	priv_drop(cfg_str("smtpd_user"), NULL, 0);
	io_init(&s->io, 0, 1, (int)cfg_num("smtpd_timeout"));
	log_info("%s connect ip=%s%s", s->sid, s->ip,
	    s->relayclient ? " relayclient=1" : "");
	session_run(s);
}
