/*
 * listen.c: tern-smtpd -l ADDR:PORT, the standalone listener.
 *
 * Under tcpserver every connection pays for an exec: the dynamic loader
 * relocating libssl and libcrypto, the configuration, the maps and the
 * TLS context.  Here one long-lived process does all of that once, then
 * forks per connection without exec; each child runs exactly the session
 * code of the tcpserver mode (main.c carries on after listen_run returns).
 *
 * Privileges (doc/DESIGN.md): as root, the socket is bound and the maps
 * and the TLS key are read first; then the listener drops to smtpd_user
 * with no capabilities, once, before the first accept, so neither the
 * listener nor any session ever runs as root.  Maps are reopened later as
 * smtpd_user (map_refresh), so a replaced table must be readable by it.
 *
 * The TLS context is built here too (tls_server_prepare), so a STARTTLS
 * costs a session the handshake only.
 *
 * The parent is one poll loop over the listening socket and the signal
 * self-pipe (doc/CONVENTIONS.md rule 13): SIGCHLD reaps, SIGTERM/SIGINT
 * stop accepting and exit while the children finish their sessions.
 * Above maxconn sessions a new client gets "421 4.3.2" (RFC 5321 3.1: 421
 * in place of the greeting) and is closed.  See tern-smtpd(8).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "net/tls.h"
#include "smtpd.h"

/* How long to stop accepting after accept() ran out of fds or memory,
 * so that a full fd table does not make the loop spin (milliseconds). */
#define LISTEN_PAUSE_MS 1000

static const char too_many[] =
    "421 4.3.2 Too many connections, try again later\r\n";
static const char no_fork[] =
    "421 4.3.0 Service not available, try again later\r\n";

struct listener {
	int fd;                    /* the listening socket */
	unsigned long maxconn;     /* -c */
	unsigned long nkids;       /* sessions running */
	struct sigaction pipe_sa;  /* SIGPIPE as main.c set it, for children */
};

/* "192.0.2.1:25" or "[2001:db8::1]:25" into ss; numeric only (no DNS).
 * 1 ok, 0 malformed. */
static int
listen_addr_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len_r)
{
	char host[64];
	const char *colon, *h = spec;
	size_t hn;
	unsigned long port = 0;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (*spec == '[') {
		if ((colon = strchr(spec, ']')) == NULL || colon[1] != ':')
			return 0;
		h = spec + 1;
		hn = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return 0;
		hn = (size_t)(colon - spec);
	}
	if (hn == 0 || hn >= sizeof host || colon[1] == '\0' ||
	    strlen(colon + 1) > 5)
		return 0;
	memcpy(host, h, hn);
	host[hn] = '\0';
	for (h = colon + 1; *h != '\0'; h++) {
		if (*h < '0' || *h > '9')
			return 0;
		port = port * 10 + (unsigned long)(*h - '0');
	}
	if (port == 0 || port > 65535)
		return 0;
	if (*spec != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)port);
		*len_r = sizeof *in4;
		return 1;
	}
	if (*spec == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len_r = sizeof *in6;
		return 1;
	}
	return 0;
}

/* The listening socket for spec; fatal on failure (exit 111), usage
 * error (exit 100) for a malformed spec. */
static int
listen_bind(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (!listen_addr_parse(spec, &ss, &len)) {
		log_err("-l %s: not ADDR:PORT (192.0.2.1:25, [2001:db8::1]:25)",
		    spec);
		exit(100);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		log_fatal("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		log_fatal("setsockopt(SO_REUSEADDR): %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		log_fatal("bind %s: %s", spec, strerror(errno));
	if (listen(fd, SOMAXCONN) < 0)
		log_fatal("listen %s: %s", spec, strerror(errno));
	return fd;
}

/* fds 0 and 1 on /dev/null: the listener talks to no terminal, and a
 * socket can never be given fd 0 or 1 by accident. */
static void
stdio_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		log_fatal("/dev/null: %s", strerror(errno));
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		log_fatal("dup2: %s", strerror(errno));
	if (fd > 1)
		(void)close(fd);
}

/* Answer c with reply, best effort (never blocks), and close it. */
static void
refuse(int c, const char *reply)
{
	if (send(c, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* the client is gone or slow: closing is all that is left */
	}
	(void)close(c);
}

/* In the child: the connection on fds 0 and 1, nothing of the listener
 * left (socket, self-pipe, signal handlers), a fresh session id and
 * clock.  Privileges were dropped before the fork. */
static void
child_setup(struct session *s, struct listener *l, int c)
{
	struct timespec ts;

	(void)close(l->fd);
	sig_reset();
	/* sig_catch ignored SIGPIPE; an ignored signal stays ignored across
	 * exec, and tern-enqueue must not inherit that */
	if (sigaction(SIGPIPE, &l->pipe_sa, NULL) < 0)
		log_fatal("sigaction: %s", strerror(errno));
	if (dup2(c, 0) < 0 || dup2(c, 1) < 0)
		log_fatal("dup2: %s", strerror(errno));
	(void)close(c);
	sid_new(s->sid);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		log_fatal("clock_gettime: %s", strerror(errno));
	s->start = ts.tv_sec;
}

/* Reopen the tables that were replaced, once here rather than in every
 * child, so each session starts with the current ones. */
static void
maps_refresh(struct session *s)
{
	if (map_refresh(&s->maps.users) < 0 ||
	    map_refresh(&s->maps.aliases) < 0 ||
	    map_refresh(&s->access) < 0)
		log_warn("reopening the maps as %s: %s (must be readable by "
		    "smtpd_user)", cfg_str(smtpd_user), strerror(errno));
}

/* Accept one connection.  Returns 1 in the child (set up for the
 * session), 0 in the parent; *pause_r set after running out of fds. */
static int
accept_one(struct session *s, struct listener *l, int *pause_r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[SMTPD_IP_MAX];
	pid_t pid;
	int c;

	c = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (c < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("accept: %s", strerror(errno));
			*pause_r = 1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED && errno != EPROTO)
			log_warn("accept: %s", strerror(errno));
		return 0;
	}
	if (l->nkids >= l->maxconn) {
		peer_addr(c, ip, sizeof ip);
		log_warn("refused ip=%s reason=maxconn sessions=%lu", ip,
		    l->nkids);
		refuse(c, too_many);
		return 0;
	}
	maps_refresh(s);
	pid = fork();
	if (pid == 0) {
		child_setup(s, l, c);
		return 1;
	}
	if (pid < 0) {
		peer_addr(c, ip, sizeof ip);
		log_warn("refused ip=%s reason=fork error=%s", ip,
		    strerror(errno));
		refuse(c, no_fork);
		return 0;
	}
	l->nkids++;
	(void)close(c);
	return 0;
}

/* Build the TLS context here, once, so that no session pays for it
 * (tls_server_start would build it in every child).  A context that
 * cannot be built means no STARTTLS, as in a tcpserver session; fatal
 * for smtps, where TLS is the whole point. */
static void
tls_setup(struct session *s)
{
	char err[512];

	/* No OPENSSL_cleanup at exit: in a child it would free, and so write
	 * to, every page of OpenSSL's heap inherited from us, a copy-on-write
	 * fault each (measured: half the EHLO+QUIT rate).  Must come before
	 * OpenSSL's first initialisation, which the lazy tls_server_init
	 * leaves to tls_server_prepare. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) != 1)
		log_warn("OPENSSL_init_crypto failed: sessions will be slower");
	if (!s->tls_ready || tls_server_prepare(err, sizeof err) > 0)
		return;
	if (s->mode == MODE_SMTPS)
		log_fatal("-m smtps: %s", err);
	log_warn("no STARTTLS: %s", err);
	s->tls_ready = 0;
}

/* Collect the children that ended. */
static void
reap(struct listener *l)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (l->nkids > 0)
			l->nkids--;
		if (WIFSIGNALED(st))
			log_warn("session pid=%ld killed by signal %d",
			    (long)pid, WTERMSIG(st));
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid: %s", strerror(errno));
}

/* The signals that arrived: 1 to go on, 0 to stop. */
static int
on_signals(struct listener *l)
{
	int sig, go = 1;

	while ((sig = sig_next()) != 0) {
		if (sig == SIGCHLD)
			reap(l);
		else if (sig == SIGTERM || sig == SIGINT)
			go = 0;
	}
	return go;
}

void
listen_run(struct session *s)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT };
	struct listener l;
	struct pollfd p[2];
	int paused = 0;

	memset(&l, 0, sizeof l);
	l.maxconn = s->listen_max;
	/* no tcpserver here: its variables must not come from whoever
	 * started us (RELAYCLIENT would make every client a relay client);
	 * relaying is granted by AUTH or the access map */
	if (unsetenv("TCPREMOTEIP") < 0 || unsetenv("TCPLOCALIP") < 0 ||
	    unsetenv("RELAYCLIENT") < 0)
		log_fatal("unsetenv: %s", strerror(errno));
	stdio_null();
	l.fd = listen_bind(s->listen_addr);
	tls_setup(s);
	/* the one drop (config, maps and TLS key were read as root) */
	startup_drop(&smtpd_startup);
	if (sigaction(SIGPIPE, NULL, &l.pipe_sa) < 0)
		log_fatal("sigaction: %s", strerror(errno));
	sig_catch(sigs, sizeof sigs / sizeof sigs[0]);
	log_info("listening on %s mode=%s maxconn=%lu", s->listen_addr,
	    s->mode == MODE_MX ? "mx" : s->mode == MODE_SUBMISSION ?
	    "submission" : "smtps", l.maxconn);
	for (;;) {
		p[0].fd = sig_fd();
		p[0].events = POLLIN;
		p[1].fd = paused ? -1 : l.fd;  /* poll skips a negative fd */
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (poll(p, 2, paused ? LISTEN_PAUSE_MS : -1) < 0 &&
		    errno != EINTR)
			log_fatal("poll: %s", strerror(errno));
		paused = 0;
		if (!on_signals(&l))
			break;
		if ((p[1].revents & POLLIN) && accept_one(s, &l, &paused))
			return;  /* the child: on to the session */
	}
	(void)close(l.fd);
	log_info("stopping, sessions=%lu left to finish", l.nkids);
	exit(0);
}
