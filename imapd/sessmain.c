/*
 * tern-imap-session: the mailbox side of one tern-imapd session, after
 * the login (doc/DESIGN.md "tern-imapd: processes", tern-imapd(8)).
 *
 * tern-imapd's parent executes it once the password is good and it has
 * become the mailbox owner with no capabilities, so it starts as that
 * owner and never holds more.  It links no TLS and no maps: a session is
 * this one small process and, under TLS, the login child that relays.
 *
 *   fd 3               its end of the socketpair to the login child,
 *                      which passes the connection on it (plaintext) or
 *                      relays (TLS): lib/login/logintake.c
 *   fd 4               the settings it uses (imapd_timeout,
 *                      message_size_limit, hostname, log, log_facility)
 *                      as tern-imapd read them, in tern.conf's format:
 *                      tern.conf need not be readable by mailbox owners
 *   TERN_IMAP_SID, TERN_IMAP_IP, TERN_IMAP_USER, TERN_IMAP_MAILDIR,
 *   TERN_IMAP_QUOTA    the session id and client address (for the log),
 *                      the user's canonical address, the Maildir and the
 *                      users map's quota in bytes (0: none)
 *
 * Not meant to be run by hand: a user who does can only reach a Maildir
 * of their own, as themselves.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "login/loginproc.h"
#include "imapd.h"

static struct imap sess;  /* big (io buffers): not on the stack */

static const struct startup st_session = {
	.name = "tern-imap-session", .keep_fd = SESSION_CONF_FD,
	.conf_fd = SESSION_CONF_FD,
};

/* The environment variable name: non-empty, shorter than max, no
 * control characters (fatal otherwise: only tern-imapd starts this
 * program). */
static const char *
need_env(const char *name, size_t max)
{
	const char *v = getenv(name);
	size_t i, n = v ? strlen(v) : 0;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			break;
	if (v == NULL || n == 0 || n >= max || i < n)
		log_fatal("%s missing or malformed (started by tern-imapd "
		    "only)", name);
	return v;
}

int
main(int argc, char **argv)
{
	struct imap *s = &sess;
	const char *q;
	char *end;
	unsigned long long quota;

	sig_pipe_errors();  /* a client gone: EPIPE and a log line */
	startup_begin(&st_session, &argc, argv, 0);
	if (getuid() == 0 || geteuid() == 0)
		log_fatal("refusing to serve a mailbox as root");
	startup_drop(&st_session);
	if (str_copy(s->sid, need_env("TERN_IMAP_SID", sizeof s->sid),
	    sizeof s->sid) >= sizeof s->sid ||
	    str_copy(s->ip, need_env("TERN_IMAP_IP", sizeof s->ip),
	    sizeof s->ip) >= sizeof s->ip ||
	    str_copy(s->host, cfg_hostname(), sizeof s->host) >=
	    sizeof s->host)
		log_fatal("session id, address or hostname too long");
	q = need_env("TERN_IMAP_QUOTA", 24);
	errno = 0;
	quota = strtoull(q, &end, 10);
	if (errno != 0 || *end != '\0' || q[0] < '0' || q[0] > '9' ||
	    quota > (unsigned long long)(unsigned long)-1)
		log_fatal("%s TERN_IMAP_QUOTA %s is not a number", s->sid, q);
	if (buf_copys(&s->login, need_env("TERN_IMAP_USER", 1024)) < 0 ||
	    (s->root = strdup(need_env("TERN_IMAP_MAILDIR", 4096))) == NULL)
		log_fatal("%s out of memory", s->sid);
	s->quota = (unsigned long)quota;
	s->ctl = SESSION_CTL_FD;
	s->state = ST_AUTH;
	s->sel.ino = -1;
	s->sel.wd[0] = s->sel.wd[1] = -1;
	s->ino = -1;
	s->append_limit = cfg_num(message_size_limit);
	/* the login child passes the connection on with the tagged OK of
	 * the login, which login_take sends (plaintext), or sends the OK
	 * and relays (TLS) */
	if (login_take(&s->io, s->ctl, (int)cfg_num(imapd_timeout)) < 0)
		session_lost(s, "login");
	session_loop(s);
}
