/*
 * tern-smtpd: one SMTP session on fd 0 (read) and fd 1 (write), started
 * by tcpserver, inetd or a systemd socket with Accept=yes, or forked by
 * its own listener (-l, listen.c).
 *
 * Start-up, in this order (doc/DESIGN.md, doc/CONVENTIONS.md rule 3):
 * close stray fds, read the configuration, open the maps and load the TLS
 * certificate and key (the key may be readable by root only), drop
 * privileges (smtpd_user when root; no capabilities in any case), find
 * the peer address, and only then read the first byte from the network.
 * With -l the listener runs between the loading and the drop: it drops
 * once itself and each forked child carries on from there.
 * See tern-smtpd(8).
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
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "net/dns.h"
#include "net/peer.h"
#include "net/tls.h"
#include "queue/enq.h"
#include "smtpd.h"

static struct session sess;  /* big (io and enq buffers): not on the stack */

/* Before a session exists: tell the client, log, exit 111 (RFC 5321 3.1:
 * 421 in place of the greeting when we cannot serve). */
#define early_fail(...) startup_fail(&smtpd_startup, __VA_ARGS__)

/* The start-up path (lib/daemon/startup.h): fds 0, 1 (the connection)
 * and 2 (the log) are kept; the session (or the -l listener, listen.c)
 * becomes smtpd_user with no capabilities. */
const struct startup smtpd_startup = {
	.name = "tern-smtpd", .usage = "[-C DIR] [-m mx|submission|smtps] "
	    "[-l ADDR:PORT [-c N]]",
	.keep_fd = 2, .user_key = "smtpd_user",
	.fail_reply = "421 4.3.0 Service not available, try again later\r\n",
};

/* Our name (cfg_hostname); it goes into every reply and header. */
static void
host_setup(struct session *s)
{
	if (str_copy(s->host, cfg_hostname(), sizeof s->host) >=
	    sizeof s->host)
		early_fail("hostname too long");
	if (!smtp_helo_ok(s->host, strlen(s->host)))
		early_fail("hostname %s is not a domain name", s->host);
}

static void
limits_setup(struct session *s)
{
	struct timespec ts;

	s->max_size = cfg_num(message_size_limit);
	s->max_rcpt = cfg_num(smtpd_max_recipients);
	s->max_line = cfg_num(smtpd_max_line_length);
	s->max_errors = cfg_num(smtpd_max_errors);
	s->max_hops = cfg_num(max_hops);
	s->max_commands = cfg_num(smtpd_max_commands);
	s->cmd_timeout = cfg_num(smtpd_timeout);
	s->data_timeout = cfg_num(smtpd_data_timeout);
	s->max_time = cfg_num(smtpd_max_session_time);
	s->dline = malloc(s->max_line + 1);
	if (s->dline == NULL)
		early_fail("out of memory");
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		early_fail("clock_gettime: %s", strerror(errno));
	s->start = ts.tv_sec;
}

/* -m mx|submission|smtps (default mx); -l ADDR:PORT and -c MAXCONN for
 * the standalone listener (listen.c); -C was taken by cfg_take_dir. */
static void
args(struct session *s, int argc, char **argv)
{
	static const char usage[] = "usage: tern-smtpd [-C dir] "
	    "[-m mx|submission|smtps] [-l addr:port [-c maxconn]] | --version";
	const char *m = "mx", *max = NULL;
	char *end;
	int c;

	opterr = 0;  /* our usage line, through the log */
	while ((c = getopt(argc, argv, "m:l:c:")) != -1) {
		if (c == 'm')
			m = optarg;
		else if (c == 'l')
			s->listen_addr = optarg;
		else if (c == 'c')
			max = optarg;
		else
			goto bad;
	}
	s->listen_max = LISTEN_MAXCONN_DEFAULT;
	if (max != NULL) {
		errno = 0;
		s->listen_max = strtoul(max, &end, 10);
		if (s->listen_addr == NULL || *max < '0' || *max > '9' ||
		    *end != '\0' || errno != 0 || s->listen_max == 0 ||
		    s->listen_max > LISTEN_MAXCONN_MAX)
			goto bad;
	}
	if (optind != argc)
		goto bad;
	if (strcmp(m, "mx") == 0)
		s->mode = MODE_MX;
	else if (strcmp(m, "submission") == 0)
		s->mode = MODE_SUBMISSION;
	else if (strcmp(m, "smtps") == 0)
		s->mode = MODE_SMTPS;
	else
		goto bad;
	return;
bad:
	log_err("%s", usage);
	exit(100);
}

/* Maps, certificate and resolver: everything read before the drop. */
static void
files_setup(struct session *s)
{
	char path[FS_PATH_MAX], err[512];
	int r;

	/* the maps are opened while we still may read them (root) */
	if (local_open(&s->maps) < 0)
		early_fail("%s cannot open maps: %s", s->sid, strerror(errno));
	if (fs_join(path, sizeof path, cfg_dir(), "access.cdb") < 0 ||
	    map_open(&s->access, path) < 0)
		early_fail("%s cannot open %s: %s", s->sid, path,
		    strerror(errno));
	r = tls_server_init(err, sizeof err);
	if (r < 0)
		early_fail("%s %s", s->sid, err);
	s->tls_ready = r > 0;
	if (s->mode == MODE_SMTPS && !s->tls_ready)
		early_fail("%s -m smtps needs tls_cert in tern.conf", s->sid);
	if (!str_caseeq(cfg_str(dnsbl_action), "reject") &&
	    !str_caseeq(cfg_str(dnsbl_action), "mark"))
		early_fail("%s dnsbl_action must be reject or mark, not %s",
		    s->sid, cfg_str(dnsbl_action));
	/* no DNS at all unless a block list is configured */
	if (cfg_list(dnsbl_zones, 0) != NULL && dns_init(err, sizeof err) < 0)
		early_fail("%s %s", s->sid, err);
}

int
main(int argc, char **argv)
{
	struct session *s = &sess;

	/* a client that hangs up must not kill us in the middle of a write */
	sig_pipe_errors();
	startup_begin(&smtpd_startup, &argc, argv, 1);
	args(s, argc, argv);
	host_setup(s);
	limits_setup(s);
	sid_new(s->sid);
	files_setup(s);
	/* how to reach tern-enqueued: before the drop (queue_user's uid) */
	(void)enq_writer_setup();
	/* -l: bind, drop privileges, accept; returns in each session child */
	if (s->listen_addr != NULL)
		listen_run(s);
	startup_drop(&smtpd_startup);
	peer_addr(0, s->ip, sizeof s->ip);
	if (peer_nodelay(1) < 0)
		log_warn("TCP_NODELAY: %s", strerror(errno));
	/* like qmail-smtpd: tcpserver's rules set RELAYCLIENT for clients
	 * that may relay (any value; we do not append it to addresses) */
	s->relayclient = getenv("RELAYCLIENT") != NULL;
	io_init(&s->io, 0, 1, (int)s->cmd_timeout);
	log_info("%s connect ip=%s mode=%s%s", s->sid, s->ip,
	    s->mode == MODE_MX ? "mx" : s->mode == MODE_SUBMISSION ?
	    "submission" : "smtps", s->relayclient ? " relayclient=1" : "");
	session_run(s);
}
