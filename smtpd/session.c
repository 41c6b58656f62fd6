/*
 * session: the SMTP command loop of tern-smtpd (RFC 5321).
 *
 * One table pairs every verb with the states it is allowed in, its flags
 * and its handler (doc/CONVENTIONS.md rule 11); the loop reads a bounded line,
 * looks the verb up, checks state, authentication and argument, and
 * calls the handler.  Replies are buffered and go out when the client
 * has nothing more pipelined for us (lib/util/io flushes before it blocks on
 * a read, RFC 2920 section 3.2), so a pipelined MAIL/RCPT/DATA group gets
 * its replies in one packet.  Everything the client sends is untrusted:
 * parsing is done by the pure functions of lib/mail/smtpparse and lib/mail/addr
 * with explicit bounds, and only canonical (validated) addresses are
 * echoed or logged unescaped.
 *
 * The handlers live by concern: envelope.c (MAIL, RCPT), sasl.c
 * (STARTTLS, AUTH), data.c (DATA), bdat.c (BDAT); HELO/EHLO and the
 * small commands are here.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "net/tls.h"
#include "smtpd.h"

/* Command-table flags. */
#define CMD_ARG     0x01  /* needs an argument (else 501) */
#define CMD_NOARG   0x02  /* takes no argument (else 501) */
#define CMD_JUNK    0x04  /* NOOP-like: counted against SMTPD_JUNK_MAX */
#define CMD_UNIMPL  0x08  /* known, not implemented here: 502 */
#define CMD_HTTP    0x10  /* an HTTP or proxy verb: close at once */
#define CMD_PRETLS  0x20  /* harmless before TLS (documents the row) */
#define CMD_PREAUTH 0x40  /* allowed before AUTH on submission listeners */
#define CMD_NOESC   0x80  /* replies without enhanced code (RFC 2034 s. 3) */
#define CMD_LONG    0x100 /* its line may be SMTPD_AUTH_LINE_MAX long */

typedef void cmd_fn(struct session *, const char *, size_t);

struct cmd {
	const char *verb;
	unsigned states;      /* ST_* where allowed */
	unsigned flags;       /* CMD_* */
	cmd_fn *fn;
	const char *usage;    /* the 501 text for CMD_ARG/CMD_NOARG */
	const char *seqmsg;   /* the 503 text when not allowed after HELO */
};

static cmd_fn cmd_ehlo, cmd_helo, cmd_data, cmd_rset, cmd_noop, cmd_quit,
    cmd_vrfy, cmd_expn, cmd_help;

#define ANYTIME (CMD_PRETLS | CMD_PREAUTH)

/* RFC 4954 4: before AUTH a submission server takes only AUTH, EHLO,
 * HELO, NOOP, RSET, QUIT (and STARTTLS); the rest get 530.  BDAT is
 * marked PREAUTH because its handler must read the chunk that follows
 * whatever the answer (RFC 3030 2); it checks AUTH itself. */
static const struct cmd cmds[] = {
	{ "EHLO", ST_ANY, CMD_ARG | CMD_NOESC | ANYTIME, cmd_ehlo,
	  "Syntax: EHLO hostname", NULL },
	{ "HELO", ST_ANY, CMD_ARG | CMD_NOESC | ANYTIME, cmd_helo,
	  "Syntax: HELO hostname", NULL },
	{ "STARTTLS", ST_ANY, CMD_NOARG | ANYTIME, cmd_starttls,
	  "Syntax: STARTTLS", NULL },
	{ "AUTH", ST_HELO | ST_MAIL, CMD_ARG | CMD_LONG | ANYTIME, cmd_auth,
	  "Syntax: AUTH mechanism [initial-response]",
	  "Error: send HELO/EHLO first" },
	{ "MAIL", ST_HELO, CMD_ARG, cmd_mail,
	  "Syntax: MAIL FROM:<address>", "Error: nested MAIL command" },
	{ "RCPT", ST_MAIL, CMD_ARG, cmd_rcpt,
	  "Syntax: RCPT TO:<address>", "Error: need MAIL command" },
	{ "DATA", ST_MAIL, CMD_NOARG, cmd_data,
	  "Syntax: DATA", "Error: need MAIL command" },
	{ "BDAT", ST_ANY, CMD_PREAUTH, cmd_bdat, NULL, NULL },
	{ "RSET", ST_ANY, CMD_NOARG | CMD_JUNK | ANYTIME, cmd_rset,
	  "Syntax: RSET", NULL },
	/* RFC 5321 4.1.1.9: NOOP may have a string argument, ignored */
	{ "NOOP", ST_ANY, CMD_JUNK | ANYTIME, cmd_noop, NULL, NULL },
	{ "QUIT", ST_ANY, CMD_NOARG | ANYTIME, cmd_quit,
	  "Syntax: QUIT", NULL },
	{ "VRFY", ST_ANY, CMD_ARG | CMD_JUNK, cmd_vrfy,
	  "Syntax: VRFY address", NULL },
	{ "EXPN", ST_ANY, CMD_ARG | CMD_JUNK, cmd_expn,
	  "Syntax: EXPN list", NULL },
	{ "HELP", ST_ANY, CMD_JUNK | ANYTIME, cmd_help, NULL, NULL },
	/* known verbs we do not offer: 502 (RFC 5321 4.2.4) */
	{ "ETRN", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	{ "TURN", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	{ "ATRN", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	{ "SEND", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	{ "SOML", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	{ "SAML", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
	/* a browser tricked into talking to port 25 (cross-protocol
	 * attack): nothing it sends after this line is meant for us */
	{ "GET", ST_ANY, CMD_HTTP, NULL, NULL, NULL },
	{ "POST", ST_ANY, CMD_HTTP, NULL, NULL, NULL },
	{ "HEAD", ST_ANY, CMD_HTTP, NULL, NULL, NULL },
	{ "PUT", ST_ANY, CMD_HTTP, NULL, NULL, NULL },
	{ "CONNECT", ST_ANY, CMD_HTTP, NULL, NULL, NULL },
	{ NULL, 0, 0, NULL, NULL, NULL }
};

/* ---- replies ---------------------------------------------------------- */

static void reply_v(struct session *, int, char, const char *, const char *,
    va_list) __attribute__((format(printf, 5, 0)));

/* Queue "CODE<sep>[ESC ]TEXT\r\n", cut to SMTPD_REPLY_MAX with its CRLF. */
static void
reply_v(struct session *s, int code, char sep, const char *esc,
    const char *fmt, va_list ap)
{
	char line[SMTPD_REPLY_MAX + 1];
	int n, m;

	n = snprintf(line, sizeof line, "%03d%c%s%s", code, sep,
	    esc ? esc : "", esc ? " " : "");
	if (n < 0 || (size_t)n >= sizeof line - 2)
		log_panic("%s reply prefix too long", s->sid);
	m = vsnprintf(line + n, sizeof line - 2 - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 3)
		n = (int)sizeof line - 3;  /* truncated, RFC 5321 4.5.3.1.5 */
	line[n++] = '\r';
	line[n++] = '\n';
	if (io_put(&s->io, line, (size_t)n) < 0)
		session_lost(s, "reply");
}

void
smtpd_reply(struct session *s, int code, const char *esc,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, code, ' ', esc, fmt, ap);
	va_end(ap);
}

void
smtpd_error(struct session *s, int code, const char *esc,
    const char *fmt, ...)
{
	va_list ap;

	s->errors++;
	va_start(ap, fmt);
	reply_v(s, code, ' ', esc, fmt, ap);
	va_end(ap);
}

void
smtpd_reply_more(struct session *s, int code, const char *esc,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, code, '-', esc, fmt, ap);
	va_end(ap);
}

/* ---- session end and clock ------------------------------------------- */

void
session_exit(struct session *s, int status)
{
	if (io_flush(&s->io) < 0 && errno != EPIPE && errno != ECONNRESET)
		log_warn("%s flush error=%s", s->sid, strerror(errno));
	log_info("%s disconnect ip=%s queued=%lu errors=%u", s->sid, s->ip,
	    s->nqueued, s->errors);
	trans_reset(s);
	if (tls_active(&s->io))
		tls_end(&s->io);
	local_close(&s->maps);
	map_close(&s->access);
	buf_free(&s->auth_user);
	buf_free(&s->envid);
	free(s->dline);
	exit(status);
}

/* Seconds since the connection was accepted. */
static unsigned long
session_used(const struct session *s)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec > s->start)
		return (unsigned long)(ts.tv_sec - s->start);
	return 0;
}

/* 421 for the session time limit, and the end. */
static void __attribute__((noreturn))
session_overtime(struct session *s)
{
	log_info("%s close reason=time ip=%s seconds=%lu", s->sid, s->ip,
	    session_used(s));
	msg_abort(s);
	s->io.timeout = 5;
	smtpd_reply(s, 421, "4.4.2", "%s Error: session time limit exceeded",
	    s->host);
	session_exit(s, 0);
}

void
session_lost(struct session *s, const char *stage)
{
	/* the 421 below may fail to go out too: do not come back here */
	if (s->ending++)
		session_exit(s, 0);
	msg_abort(s);
	if (errno == ETIMEDOUT && session_used(s) >= s->max_time)
		session_overtime(s);
	if (errno == ETIMEDOUT) {
		/* RFC 5321 4.5.3.2.7: the server may give up after its
		 * timeout; 421 says so (3.8) before we close */
		log_info("%s timeout stage=%s ip=%s", s->sid, stage, s->ip);
		s->io.timeout = 5;  /* do not hang on a dead client's window */
		smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    s->host);
	} else if (errno == 0) {
		log_info("%s lost stage=%s ip=%s", s->sid, stage, s->ip);
	} else {
		log_info("%s lost stage=%s ip=%s error=%s", s->sid, stage, s->ip,
		    strerror(errno));
		s->io.wlen = 0;  /* the connection is gone: drop queued replies */
	}
	session_exit(s, 0);
}

void
session_clock(struct session *s, unsigned long timeout)
{
	unsigned long used = session_used(s);

	if (used >= s->max_time)
		session_overtime(s);
	if (timeout > s->max_time - used)
		timeout = s->max_time - used;
	s->io.timeout = (int)timeout;
}

void
session_forget(struct session *s)
{
	trans_reset(s);
	s->state = ST_GREET;
	s->esmtp = 0;
	s->helo[0] = '\0';
	s->authed = 0;
	buf_reset(&s->auth_user);
	memset(&s->v_helo, 0, sizeof s->v_helo);
}

/* ---- HELO / EHLO ----------------------------------------------------- */

/* Common part of HELO and EHLO: 1 if the name was taken. */
static int
greet(struct session *s, const char *arg, size_t n, int esmtp)
{
	if (!smtp_helo_ok(arg, n)) {
		char safe[LOG_SAFE_MAX];

		log_info("%s reject stage=helo ip=%s helo=%s reply=501 "
		    "why=syntax",
		    s->sid, s->ip, log_safe(safe, sizeof safe, arg, n));
		/* RFC 2034 section 3: no enhanced code on HELO/EHLO replies */
		smtpd_error(s, 501, NULL, "Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return 0;
	}
	/* RFC 5321 4.1.4: a new EHLO/HELO resets any transaction */
	trans_reset(s);
	memcpy(s->helo, arg, n);
	s->helo[n] = '\0';
	s->esmtp = esmtp;
	s->state = ST_HELO;
	policy_helo(s);
	return 1;
}

static void
cmd_ehlo(struct session *s, const char *arg, size_t n)
{
	if (!greet(s, arg, n, 1))
		return;
	/* RFC 5321 4.1.1.1: first line the domain, then one keyword each;
	 * a keyword is offered only where it works */
	smtpd_reply_more(s, 250, NULL, "%s", s->host);
	smtpd_reply_more(s, 250, NULL, "PIPELINING");           /* RFC 2920 */
	smtpd_reply_more(s, 250, NULL, "SIZE %lu", s->max_size);/* RFC 1870 */
	smtpd_reply_more(s, 250, NULL, "8BITMIME");             /* RFC 6152 */
	smtpd_reply_more(s, 250, NULL, "ENHANCEDSTATUSCODES");  /* RFC 2034 */
	if (s->tls_ready && !tls_active(&s->io))
		smtpd_reply_more(s, 250, NULL, "STARTTLS");     /* RFC 3207 */
	if (sasl_offer(s))
		smtpd_reply_more(s, 250, NULL, "AUTH PLAIN LOGIN"); /* 4954 */
	smtpd_reply_more(s, 250, NULL, "SMTPUTF8");             /* RFC 6531 */
	smtpd_reply_more(s, 250, NULL, "DSN");                  /* RFC 3461 */
	smtpd_reply_more(s, 250, NULL, "CHUNKING");             /* RFC 3030 */
	smtpd_reply(s, 250, NULL, "HELP");
}

static void
cmd_helo(struct session *s, const char *arg, size_t n)
{
	if (greet(s, arg, n, 0))
		smtpd_reply(s, 250, NULL, "%s", s->host);
}

/* ---- DATA and the small commands ------------------------------------- */

static void
cmd_data(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	if (s->msg_open) {
		/* RFC 3030 3: DATA may not follow BDAT in one transaction */
		msg_abort(s);
		trans_reset(s);
		smtpd_error(s, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	if (s->nrcpt == 0) {
		/* RFC 2920 section 3.1: with pipelining the client sends DATA
		 * before it knows that every RCPT failed; 554 tells it so */
		if (s->rcpt_tries > 0)
			smtpd_error(s, 554, "5.5.1", "Error: no valid recipients");
		else
			smtpd_error(s, 503, "5.5.1", "Error: need RCPT command");
		return;
	}
	data_run(s);
}

static void
cmd_rset(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	trans_reset(s);  /* RFC 5321 4.1.1.5: keeps the HELO */
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	smtpd_reply(s, 221, "2.0.0", "Bye");
	session_exit(s, 0);
}

static void
cmd_vrfy(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	/* RFC 5321 3.5.3: 252 means "cannot verify, will try to deliver";
	 * we never tell who exists (7.3: VRFY helps address harvesting) */
	smtpd_reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

static void
cmd_expn(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	/* RFC 5321 7.3: EXPN may be disabled; 502 is its reply then */
	smtpd_error(s, 502, "5.5.1", "Error: EXPN not available");
}

static void
cmd_help(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	smtpd_reply(s, 214, "2.0.0", "Commands: EHLO HELO STARTTLS AUTH MAIL "
	    "RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see RFC 5321");
}

/* ---- the loop -------------------------------------------------------- */

static const struct cmd *
cmd_find(const char *verb)
{
	const struct cmd *c;

	for (c = cmds; c->verb != NULL; c++)
		if (strcmp(c->verb, verb) == 0)
			return c;
	return NULL;
}

/* 1 if the command text (line end removed) holds no control character
 * but tabs: RFC 5321 2.4 commands are ASCII; 8-bit bytes are left to the
 * parsers (UTF-8 addresses after SMTPUTF8, RFC 6531 3.3), and NUL or a
 * stray CR here is an attack or a broken client. */
static int
cmd_text_ok(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Check state, AUTH and argument of command c; 1 if the handler may
 * run. */
static int
cmd_allowed(struct session *s, const struct cmd *c, size_t arglen)
{
	if (c->flags & CMD_UNIMPL) {
		smtpd_error(s, 502, "5.5.1", "Error: command not implemented");
		return 0;
	}
	/* RFC 6409 4.3, RFC 4954 6: submission needs AUTH first */
	if (s->mode != MODE_MX && !s->authed && !(c->flags & CMD_PREAUTH)) {
		smtpd_error(s, 530, "5.7.0", "Error: authentication required");
		return 0;
	}
	if (!(c->states & s->state)) {
		smtpd_error(s, 503, "5.5.1", "%s", s->state == ST_GREET ?
		    "Error: send HELO/EHLO first" : c->seqmsg);
		return 0;
	}
	if (((c->flags & CMD_ARG) && arglen == 0) ||
	    ((c->flags & CMD_NOARG) && arglen > 0)) {
		smtpd_error(s, 501, (c->flags & CMD_NOESC) ? NULL : "5.5.4",
		    "%s", c->usage);
		return 0;
	}
	if ((c->flags & CMD_JUNK) && ++s->junk > SMTPD_JUNK_MAX)
		s->errors++;
	return 1;
}

/* Handle one command line (line end removed). */
static void
cmd_line(struct session *s, const char *line, size_t n)
{
	char verb[SMTP_VERB_MAX + 1];
	const struct cmd *c;
	const char *arg;
	size_t arglen;

	if (!cmd_text_ok(line, n)) {
		smtpd_error(s, 500, "5.5.2", "Error: invalid character in "
		    "command");
		return;
	}
	if (!smtp_split(line, n, verb, &arg, &arglen)) {
		smtpd_error(s, 500, "5.5.2", "Error: bad syntax");
		return;
	}
	c = cmd_find(verb);
	/* the length first, so that an over-long line gets the same reply
	 * as one over SMTPD_AUTH_LINE_MAX, whatever its verb; only AUTH
	 * lines may be longer (RFC 4954 4) */
	if (n + 2 > SMTPD_CMD_MAX && (c == NULL || !(c->flags & CMD_LONG))) {
		smtpd_error(s, 500, "5.5.2", "Error: line too long");
		return;
	}
	if (c == NULL) {
		/* RFC 3463 3.6: X.5.2 "could not be interpreted, ... the
		 * command is unrecognized"; X.5.1 is for commands out of
		 * sequence or not supported (503, 502) */
		smtpd_error(s, 500, "5.5.2", "Error: command not recognized");
		return;
	}
	if (c->flags & CMD_HTTP) {
		log_info("%s reject stage=command ip=%s verb=%s reply=221 "
		    "why=http", s->sid, s->ip, verb);
		smtpd_reply(s, 221, "2.7.0", "Error: this is an SMTP server; "
		    "closing");
		session_exit(s, 0);
	}
	if (cmd_allowed(s, c, arglen))
		c->fn(s, arg, arglen);
}

/* The limits checked after every command: errors and command count. */
static void
session_limits(struct session *s)
{
	if (s->errors >= s->max_errors) {
		log_info("%s close reason=errors ip=%s errors=%u",
		    s->sid, s->ip, s->errors);
		msg_abort(s);
		smtpd_reply(s, 421, "4.7.0", "%s Error: too many errors",
		    s->host);
		session_exit(s, 0);
	}
	if (s->commands >= s->max_commands) {
		log_info("%s close reason=commands ip=%s commands=%lu",
		    s->sid, s->ip, s->commands);
		msg_abort(s);
		smtpd_reply(s, 421, "4.7.0", "%s Error: too many commands",
		    s->host);
		session_exit(s, 0);
	}
}

/* The greeting (RFC 5321 4.2, 4.3.1): our domain first; RFC 2034
 * section 3: no enhanced code on it. */
static void
session_greet(struct session *s)
{
	const char *b = cfg_str(smtpd_banner);

	policy_connect(s);
	if (s->mode == MODE_SMTPS)
		sasl_implicit_tls(s);
	else if (s->mode == MODE_MX)
		policy_greet_pause(s);
	smtpd_reply(s, 220, NULL, "%s %s", s->host, b[0] ? b : "ESMTP tern");
}

void
session_run(struct session *s)
{
	static char line[SMTPD_AUTH_LINE_MAX + 1];
	int warned_lf = 0;

	s->state = ST_GREET;
	session_greet(s);
	for (;;) {
		size_t len, textlen;
		unsigned eol;
		int r;

		session_clock(s, s->cmd_timeout);
		/* nothing pipelined is left: the client waits for us, and
		 * what it sends next is a new batch.  The maps are looked at
		 * again then, once a batch, not at every RCPT and AUTH */
		if (io_pending(&s->io) == 0)
			map_refresh_period();
		errno = 0;
		r = io_getline(&s->io, line, SMTPD_AUTH_LINE_MAX, &len);
		s->commands++;
		if (r < 0 && errno == EMSGSIZE) {
			/* RFC 5321 4.5.3.1.4; the rest was discarded */
			smtpd_error(s, 500, "5.5.2", "Error: line too long");
		} else if (r <= 0) {
			session_lost(s, "command");
		} else {
			eol = smtp_line_end(line, len, &textlen);
			if (eol & SMTP_EOL_NONE) {
				errno = 0;  /* EOF inside a line */
				session_lost(s, "command");
			}
			/* RFC 5321 2.3.8 wants CRLF; a command ending in a
			 * bare LF is unambiguous, so we take it (noted in
			 * doc/VIOLATIONS.md), as DATA takes it in content */
			if ((eol & SMTP_EOL_BARELF) && !warned_lf++)
				log_info("%s barelf stage=command ip=%s",
				    s->sid, s->ip);
			cmd_line(s, line, textlen);
			/* AUTH PLAIN may carry the password on this line */
			explicit_bzero(line, len);
		}
		session_limits(s);
	}
}
