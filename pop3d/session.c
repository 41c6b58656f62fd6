/*
 * session: the POP3 command loop of tern-pop3d (RFC 1939, RFC 2449).
 *
 * One table pairs each keyword with the states it is allowed in, its
 * argument rule and its handler (doc/CONVENTIONS.md rule 11).  The same
 * loop runs in the login child (AUTHORIZATION state, on the client
 * connection) and in the mailbox process (TRANSACTION state, on the
 * socketpair); each process only ever dispatches the rows of its own
 * state.  Lines are read
 * with a fixed maximum; replies are buffered and go out before the next
 * read blocks, so pipelined commands (RFC 2449 6.6) get their replies in
 * one write.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "pop3d.h"

#define ARG_NONE 0x1   /* takes no argument */
#define ARG_NEED 0x2   /* needs an argument */
#define CMD_UNIMPL 0x4 /* known, not offered */

/* RFC 2449 4: a response line is at most 512 octets with its CRLF */
#define POP3_REPLY_MAX 512
#define VERB_MAX 8

typedef void cmd_fn(struct pop3 *, const char *, size_t);

struct cmd {
	const char *verb;
	unsigned states;
	unsigned flags;
	cmd_fn *fn;
	const char *usage;
};

static cmd_fn cmd_capa, cmd_quit;

static const struct cmd cmds[] = {
	{ "CAPA", ST_AUTH | ST_TRANS, ARG_NONE, cmd_capa, "CAPA" },
	{ "QUIT", ST_AUTH | ST_TRANS, ARG_NONE, cmd_quit, "QUIT" },
	{ "USER", ST_AUTH, ARG_NEED, login_user, "USER name" },
	{ "PASS", ST_AUTH, ARG_NEED, login_pass, "PASS password" },
	{ "AUTH", ST_AUTH, 0, login_auth, "AUTH mechanism [response]" },
	{ "STLS", ST_AUTH, ARG_NONE, login_stls, "STLS" },
	{ "APOP", ST_AUTH, CMD_UNIMPL, NULL, NULL },
	{ "STAT", ST_TRANS, ARG_NONE, md_stat, "STAT" },
	{ "LIST", ST_TRANS, 0, md_list, "LIST [msg]" },
	{ "RETR", ST_TRANS, ARG_NEED, md_retr, "RETR msg" },
	{ "TOP", ST_TRANS, ARG_NEED, md_top, "TOP msg lines" },
	{ "DELE", ST_TRANS, ARG_NEED, md_dele, "DELE msg" },
	{ "NOOP", ST_TRANS, ARG_NONE, md_noop, "NOOP" },
	{ "RSET", ST_TRANS, ARG_NONE, md_rset, "RSET" },
	{ "UIDL", ST_TRANS, 0, md_uidl, "UIDL [msg]" },
	{ NULL, 0, 0, NULL, NULL }
};

/* ---- replies ------------------------------------------------------------ */

static void reply_v(struct pop3 *, int, const char *, va_list)
	__attribute__((format(printf, 3, 0)));

static void
reply_v(struct pop3 *p, int err, const char *fmt, va_list ap)
{
	char line[POP3_REPLY_MAX + 1];
	int n;

	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof line - 3)
		n = (int)sizeof line - 3;  /* cut, RFC 2449 4 */
	line[n++] = '\r';
	line[n++] = '\n';
	if (err)
		p->errors++;
	pop3_put(p, line, (size_t)n);
}

void
pop3_reply(struct pop3 *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(p, 0, fmt, ap);
	va_end(ap);
}

void
pop3_error(struct pop3 *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(p, 1, fmt, ap);
	va_end(ap);
}

void
pop3_put(struct pop3 *p, const void *s, size_t n)
{
	if (io_put(&p->io, s, n) < 0)
		session_lost(p, "reply");
}

int
pop3_number(const char *s, size_t n, unsigned long *r)
{
	size_t i;

	/* RFC 1939 3: a decimal number; no sign, no spaces */
	if (n == 0 || n > 10)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return str_ulong(s, n, 4294967295UL, r);
}

/* ---- the end ------------------------------------------------------------ */

void
session_exit(struct pop3 *p, int status)
{
	if (io_flush(&p->io) < 0 && errno != EPIPE && errno != ECONNRESET)
		log_info("%s flush error=%s", p->sid, strerror(errno));
	exit(status);
}

void
session_lost(struct pop3 *p, const char *stage)
{
	static int ending;

	if (ending++)
		exit(0);
	if (errno == ETIMEDOUT) {
		/* RFC 1939 3: the autologout timer; no UPDATE state */
		log_info("%s timeout stage=%s ip=%s user=%s", p->sid, stage,
		    p->ip, buf_str(&p->login));
		p->io.timeout = 5;
		pop3_reply(p, "-ERR Disconnected for inactivity");
		session_exit(p, 0);
	}
	if (errno == 0)
		log_info("%s lost stage=%s ip=%s user=%s", p->sid, stage, p->ip,
		    buf_str(&p->login));
	else
		log_info("%s lost stage=%s ip=%s user=%s error=%s", p->sid,
		    stage, p->ip, buf_str(&p->login), strerror(errno));
	exit(0);
}

/* ---- CAPA and QUIT -------------------------------------------------------- */

static void
cmd_capa(struct pop3 *p, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	if (p->state == ST_AUTH) {
		login_capa(p);
		return;
	}
	/* RFC 2449 5: the TRANSACTION state list; no login capabilities */
	pop3_reply(p, "+OK Capability list follows");
	pop3_reply(p, "TOP");
	pop3_reply(p, "UIDL");
	pop3_reply(p, "RESP-CODES");
	pop3_reply(p, "AUTH-RESP-CODE");
	pop3_reply(p, "PIPELINING");
	pop3_reply(p, "IMPLEMENTATION tern");
	pop3_reply(p, ".");
}

static void
cmd_quit(struct pop3 *p, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	if (p->state == ST_AUTH)
		login_quit(p);
	else
		md_quit(p);
}

/* ---- the loop ------------------------------------------------------------- */

static const struct cmd *
cmd_find(const char *verb, size_t n)
{
	const struct cmd *c;

	for (c = cmds; c->verb != NULL; c++)
		if (strlen(c->verb) == n && str_ncaseeq(c->verb, verb, n))
			return c;
	return NULL;
}

/* Handle one command line (line end removed). */
static void
cmd_line(struct pop3 *p, const char *line, size_t n)
{
	const struct cmd *c;
	const char *sp, *arg;
	size_t vlen, alen;

	if (!str_printable(line, n)) {
		pop3_error(p, "-ERR Invalid character in command");
		return;
	}
	sp = str_chr(line, n, ' ');
	vlen = sp ? (size_t)(sp - line) : n;
	arg = sp ? sp + 1 : line + n;
	alen = sp ? n - vlen - 1 : 0;
	c = vlen > 0 && vlen <= VERB_MAX ? cmd_find(line, vlen) : NULL;
	if (c == NULL) {
		pop3_error(p, "-ERR Unknown command");
		return;
	}
	if (c->flags & CMD_UNIMPL) {
		pop3_error(p, "-ERR Command not implemented");
		return;
	}
	if (!(c->states & p->state)) {
		pop3_error(p, "-ERR Command not valid in this state");
		return;
	}
	if (((c->flags & ARG_NONE) && alen > 0) ||
	    ((c->flags & ARG_NEED) && alen == 0)) {
		pop3_error(p, "-ERR Syntax: %s", c->usage);
		return;
	}
	c->fn(p, arg, alen);
}

void
session_loop(struct pop3 *p)
{
	static char line[POP3_AUTH_LINE_MAX + 1];

	for (;;) {
		size_t max = p->state == ST_AUTH ? POP3_AUTH_LINE_MAX :
		    POP3_CMD_MAX;
		size_t len;
		int r;

		errno = 0;
		r = io_getline(&p->io, line, max, &len);
		if (r < 0 && errno == EMSGSIZE) {
			explicit_bzero(line, sizeof line);  /* may be a PASS */
			pop3_error(p, "-ERR Line too long");
		} else if (r <= 0) {
			session_lost(p, "command");
		} else if (line[len - 1] != '\n') {
			errno = 0;  /* EOF inside a line */
			session_lost(p, "command");
		} else {
			/* CRLF per RFC 1939 3; a bare LF is taken too */
			len--;
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			cmd_line(p, line, len);
			/* a PASS or AUTH line holds a password */
			explicit_bzero(line, len);
		}
		if (p->errors >= POP3_ERRORS_MAX) {
			log_info("%s close reason=errors ip=%s user=%s", p->sid,
			    p->ip, buf_str(&p->login));
			pop3_reply(p, "-ERR Too many bad commands, closing");
			session_exit(p, 0);
		}
	}
}
