/*
 * session: the SMTP command loop of tern-smtpd (RFC 5321).
 *
 * One table pairs every verb with the states it is allowed in, its flags
 * and its handler (STYLE.md rule 11); the loop reads a bounded line,
 * looks the verb up, checks state and argument, and calls the handler.
 * Replies are buffered and go out when the client has nothing more
 * pipelined for us (lib/io flushes before it blocks on a read, RFC 2920
 * section 3.2), so a pipelined MAIL/RCPT/DATA group gets its replies in
 * one packet.  Everything the client sends is untrusted: parsing is done
 * by the pure functions of lib/smtpparse and lib/addr with explicit
 * bounds, and only canonical (validated) addresses are echoed or logged
 * unescaped.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfg.h"
#include "log.h"
#include "smtpd.h"
#include "str.h"

/* Command-table flags. */
#define CMD_ARG     0x01  /* needs an argument (else 501) */
#define CMD_NOARG   0x02  /* takes no argument (else 501) */
#define CMD_JUNK    0x04  /* NOOP-like: counted against SMTPD_JUNK_MAX */
#define CMD_UNIMPL  0x08  /* known, not implemented here: 502 */
#define CMD_HTTP    0x10  /* an HTTP or proxy verb: close at once */
#define CMD_NOESC   0x80  /* replies without enhanced code (RFC 2034 s. 3) */
/* Reserved for STARTTLS/AUTH: allowed before TLS (or AUTH) where a
 * listener requires it.  Not enforced yet; the rows say it already. */
#define CMD_PRETLS  0x20
#define CMD_PREAUTH 0x40

typedef void cmd_fn(struct session *, const char *, size_t);

struct cmd {
	const char *verb;
	unsigned states;      /* ST_* where allowed */
	unsigned flags;       /* CMD_* */
	cmd_fn *fn;
	const char *usage;    /* the 501 text for CMD_ARG/CMD_NOARG */
	const char *seqmsg;   /* the 503 text when not allowed after HELO */
};

static cmd_fn cmd_ehlo, cmd_helo, cmd_mail, cmd_rcpt, cmd_data, cmd_rset,
    cmd_noop, cmd_quit, cmd_vrfy, cmd_expn, cmd_help;

#define ANYTIME (CMD_PRETLS | CMD_PREAUTH)

static const struct cmd cmds[] = {
	{ "EHLO", ST_ANY, CMD_ARG | CMD_NOESC | ANYTIME, cmd_ehlo,
	  "Syntax: EHLO hostname", NULL },
	{ "HELO", ST_ANY, CMD_ARG | CMD_NOESC | ANYTIME, cmd_helo,
	  "Syntax: HELO hostname", NULL },
	{ "MAIL", ST_HELO, CMD_ARG, cmd_mail,
	  "Syntax: MAIL FROM:<address>", "Error: nested MAIL command" },
	{ "RCPT", ST_MAIL, CMD_ARG, cmd_rcpt,
	  "Syntax: RCPT TO:<address>", "Error: need MAIL command" },
	{ "DATA", ST_MAIL, CMD_NOARG, cmd_data,
	  "Syntax: DATA", "Error: need MAIL command" },
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
	/* known verbs we do not offer (yet): 502 (RFC 5321 4.2.4) */
	{ "STARTTLS", ST_ANY, CMD_UNIMPL | ANYTIME, NULL, NULL, NULL },
	{ "AUTH", ST_ANY, CMD_UNIMPL | CMD_PRETLS, NULL, NULL, NULL },
	{ "BDAT", ST_ANY, CMD_UNIMPL, NULL, NULL, NULL },
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

/* A continuation line of a multi-line reply (RFC 5321 4.2.1). */
static void reply_more(struct session *, int, const char *, const char *, ...)
	__attribute__((format(printf, 4, 5)));

static void
reply_more(struct session *s, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, code, '-', esc, fmt, ap);
	va_end(ap);
}

/* ---- session end ----------------------------------------------------- */

void
session_exit(struct session *s, int status)
{
	if (io_flush(&s->io) < 0 && errno != EPIPE && errno != ECONNRESET)
		log_warn("%s flush error=%s", s->sid, strerror(errno));
	log_info("%s disconnect ip=%s queued=%lu errors=%u", s->sid, s->ip,
	    s->nqueued, s->errors);
	trans_reset(s);
	local_close(&s->maps);
	free(s->dline);
	exit(status);
}

void
session_lost(struct session *s, const char *stage)
{
	/* the 421 below may fail to go out too: do not come back here */
	if (s->ending++)
		session_exit(s, 0);
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

/* ---- the transaction ------------------------------------------------- */

void
trans_reset(struct session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	s->rcpt_tries = 0;
	buf_reset(&s->from);
	s->body8 = 0;
	if (s->state == ST_MAIL)
		s->state = ST_HELO;
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
	return 1;
}

static void
cmd_ehlo(struct session *s, const char *arg, size_t n)
{
	if (!greet(s, arg, n, 1))
		return;
	/* RFC 5321 4.1.1.1: first line the domain, then one keyword each.
	 * Room for later: STARTTLS (RFC 3207), AUTH (RFC 4954), SMTPUTF8
	 * (RFC 6531), DSN (RFC 3461), CHUNKING (RFC 3030) go here once
	 * implemented; a keyword must never be offered before it works. */
	reply_more(s, 250, NULL, "%s", s->host);
	reply_more(s, 250, NULL, "PIPELINING");               /* RFC 2920 */
	reply_more(s, 250, NULL, "SIZE %lu", s->max_size);    /* RFC 1870 */
	reply_more(s, 250, NULL, "8BITMIME");                 /* RFC 6152 */
	reply_more(s, 250, NULL, "ENHANCEDSTATUSCODES");      /* RFC 2034 */
	smtpd_reply(s, 250, NULL, "HELP");
}

static void
cmd_helo(struct session *s, const char *arg, size_t n)
{
	if (greet(s, arg, n, 0))
		smtpd_reply(s, 250, NULL, "%s", s->host);
}

/* ---- MAIL ------------------------------------------------------------ */

/* SIZE=n (RFC 1870 section 4): 1 ok, 0 refused (reply sent). */
static int
mail_size(struct session *s, const struct smtp_param *p)
{
	unsigned long size;
	size_t i;

	if (p->val == NULL) {
		smtpd_error(s, 501, "5.5.4", "Error: SIZE needs a value");
		return 0;
	}
	for (i = 0; i < p->vallen; i++)
		if (p->val[i] < '0' || p->val[i] > '9')
			break;
	if (i < p->vallen || p->vallen == 0) {
		smtpd_error(s, 501, "5.5.4", "Error: bad SIZE value");
		return 0;
	}
	/* all digits: a number too large for str_ulong is too large here */
	if (!str_ulong(p->val, p->vallen, s->max_size, &size)) {
		log_info("%s reject stage=mail ip=%s from=<%s> reply=552 "
		    "why=size", s->sid, s->ip, buf_str(&s->from));
		smtpd_reply(s, 552, "5.3.4", "Error: message size exceeds "
		    "fixed limit of %lu bytes", s->max_size);
		return 0;
	}
	return 1;
}

/* The ESMTP parameters of MAIL (RFC 5321 4.1.1.2, 4.1.1.11): 1 ok, 0
 * refused (reply sent). */
static int
mail_params(struct session *s, const char *p0, size_t n)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	size_t count, i;
	const char *msg;

	if (!smtp_params(p0, n, p, SMTP_PARAMS_MAX, &count, &msg)) {
		smtpd_error(s, 501, "5.5.4", "Error: %s", msg);
		return 0;
	}
	for (i = 0; i < count; i++) {
		char key[SMTP_KEYWORD_MAX + 1];

		if (!s->esmtp) {
			/* parameters exist only after EHLO (RFC 5321 4.1.1.11) */
			smtpd_error(s, 555, "5.5.4", "Error: MAIL parameters "
			    "need EHLO");
			return 0;
		}
		if (smtp_param_is(&p[i], "SIZE")) {
			if (!mail_size(s, &p[i]))
				return 0;
		} else if (smtp_param_is(&p[i], "BODY")) {
			/* RFC 6152: 7BIT or 8BITMIME; we pass 8-bit bytes as
			 * they are either way */
			if (p[i].val != NULL && p[i].vallen == 8 &&
			    str_ncaseeq(p[i].val, "8BITMIME", 8)) {
				s->body8 = 1;
			} else if (!(p[i].val != NULL && p[i].vallen == 4 &&
			    str_ncaseeq(p[i].val, "7BIT", 4))) {
				smtpd_error(s, 501, "5.5.4", "Error: BODY must "
				    "be 7BIT or 8BITMIME");
				return 0;
			}
		} else {
			/* the keyword is validated text, but bound it */
			memcpy(key, p[i].key, p[i].keylen);
			key[p[i].keylen] = '\0';
			smtpd_error(s, 555, "5.5.4", "Error: unsupported "
			    "parameter %s", key);
			return 0;
		}
	}
	return 1;
}

static void
cmd_mail(struct session *s, const char *arg, size_t n)
{
	const char *rest, *after, *msg;
	size_t restlen;
	int r;

	if (!smtp_keyword_arg(arg, n, "FROM:", &rest, &restlen)) {
		smtpd_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	r = addr_parse_path(rest, restlen, ADDR_NULL_OK, &s->from, &after,
	    &msg);
	if (r < 0)
		log_fatal("%s out of memory", s->sid);
	if (r == 0) {
		char safe[LOG_SAFE_MAX];

		log_info("%s reject stage=mail ip=%s from=%s reply=501 "
		    "why=syntax",
		    s->sid, s->ip, log_safe(safe, sizeof safe, rest, restlen));
		buf_reset(&s->from);
		smtpd_error(s, 501, "5.1.7", "Bad sender address syntax: %s",
		    msg);
		return;
	}
	if (!mail_params(s, after, (size_t)(rest + restlen - after))) {
		buf_reset(&s->from);
		s->body8 = 0;
		return;
	}
	s->state = ST_MAIL;
	s->nrcpt = 0;
	s->rcpt_tries = 0;
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

/* ---- RCPT ------------------------------------------------------------ */

/* 1 if the local part of addr holds a routing character: "%", "!" or a
 * quoted "@" (user%remote@here, remote!user@here).  Such an address is
 * never a local mailbox, and letting it through is how open relays were
 * made (RFC 5321 3.6.1 and Appendix C). */
static int
local_routed(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	return str_chr(addr, n, '%') != NULL || str_chr(addr, n, '!') != NULL ||
	    str_chr(addr, n, '@') != NULL;
}

/* 1 if the local part of addr is "postmaster" (case-insensitive). */
static int
is_postmaster(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at - addr == 10 && str_ncaseeq(addr, "postmaster",
	    10);
}

/* Decide on one recipient; replies and returns 1 when it is accepted. */
static int
rcpt_decide(struct session *s, const char *addr)
{
	const char *dom = addr_domain(addr);
	struct local_target t;
	int r;

	/* an address literal is not one of our domains: relay rules */
	if (!addr_is_literal(dom) && local_domain(dom)) {
		/* RFC 5321 4.5.1: postmaster of every local domain MUST be
		 * accepted, whatever the maps say */
		if (is_postmaster(addr))
			goto accept;
		if (local_routed(addr))
			goto unknown;
		memset(&t, 0, sizeof t);
		r = local_lookup(&s->maps, addr, &t);
		local_target_free(&t);
		if (r > 0)
			goto accept;
		if (r < 0) {
			log_warn("%s lookup to=<%s> error=%s", s->sid, addr,
			    strerror(errno));
			smtpd_reply(s, 451, "4.3.0", "<%s>: Temporary lookup "
			    "failure, try again later", addr);
			return 0;
		}
		goto unknown;
	}
	if (s->relayclient)
		goto accept;
	log_info("%s reject stage=rcpt ip=%s from=<%s> to=<%s> reply=554 "
	    "why=relay", s->sid, s->ip, buf_str(&s->from), addr);
	smtpd_error(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
	return 0;
unknown:
	log_info("%s reject stage=rcpt ip=%s from=<%s> to=<%s> reply=550 "
	    "why=unknown", s->sid, s->ip, buf_str(&s->from), addr);
	smtpd_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: "
	    "unknown user", addr);
	return 0;
accept:
	smtpd_reply(s, 250, "2.1.5", "Ok");
	return 1;
}

/* Remember an accepted recipient (once: a repeated one is accepted again
 * but delivered once). */
static void
rcpt_add(struct session *s, const char *addr, size_t len)
{
	char **v;
	size_t i;

	for (i = 0; i < s->nrcpt; i++)
		if (strcmp(s->rcpt[i], addr) == 0)
			return;
	v = realloc(s->rcpt, (s->nrcpt + 1) * sizeof *v);
	if (v == NULL)
		log_fatal("%s out of memory", s->sid);
	s->rcpt = v;
	v[s->nrcpt] = malloc(len + 1);
	if (v[s->nrcpt] == NULL)
		log_fatal("%s out of memory", s->sid);
	memcpy(v[s->nrcpt], addr, len + 1);
	s->nrcpt++;
}

static void
cmd_rcpt(struct session *s, const char *arg, size_t n)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	struct buf addr = BUF_INIT;
	const char *rest, *after, *msg;
	size_t restlen, count;
	int r;

	if (!smtp_keyword_arg(arg, n, "TO:", &rest, &restlen)) {
		smtpd_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	s->rcpt_tries++;
	r = addr_parse_path(rest, restlen, ADDR_POSTMASTER, &addr, &after,
	    &msg);
	if (r < 0)
		log_fatal("%s out of memory", s->sid);
	if (r == 0) {
		smtpd_error(s, 501, "5.1.3", "Bad recipient address syntax: %s",
		    msg);
		goto out;
	}
	if (!smtp_params(after, (size_t)(rest + restlen - after), p,
	    SMTP_PARAMS_MAX, &count, &msg)) {
		smtpd_error(s, 501, "5.5.4", "Error: %s", msg);
		goto out;
	}
	if (count > 0) {
		/* NOTIFY and ORCPT come with DSN (RFC 3461), not offered */
		smtpd_error(s, 555, "5.5.4", "Error: unsupported parameter");
		goto out;
	}
	/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain is ours */
	if (addr_domain(buf_str(&addr))[0] == '\0') {
		const char *dom = cfg_list("local_domains", 0);

		if (buf_catc(&addr, '@') < 0 ||
		    buf_cats(&addr, dom ? dom : s->host) < 0)
			log_fatal("%s out of memory", s->sid);
	}
	/* RFC 5321 4.5.3.1.10: 452 (not 552) for too many recipients, so
	 * the client sends the rest in another transaction */
	if (s->nrcpt >= s->max_rcpt) {
		smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
		goto out;
	}
	if (rcpt_decide(s, buf_str(&addr)))
		rcpt_add(s, buf_str(&addr), addr.len);
out:
	buf_free(&addr);
}

/* ---- DATA and the small commands ------------------------------------- */

static void
cmd_data(struct session *s, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
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
	smtpd_reply(s, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP; see RFC 5321");
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

/* 1 if the command text (line end removed) holds only printable ASCII
 * and tabs: RFC 5321 2.4 commands are ASCII, and without SMTPUTF8 so
 * are addresses; NUL or a stray CR here is an attack or a broken client. */
static int
cmd_text_ok(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return 0;
	}
	return 1;
}

/* Check state and argument of command c; 1 if the handler may run. */
static int
cmd_allowed(struct session *s, const struct cmd *c, size_t arglen)
{
	if (c->flags & CMD_UNIMPL) {
		smtpd_error(s, 502, "5.5.1", "Error: command not implemented");
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
	if (c == NULL) {
		smtpd_error(s, 500, "5.5.1", "Error: command not recognized");
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

void
session_run(struct session *s)
{
	char line[SMTPD_CMD_MAX + 1];
	int warned_lf = 0;

	s->state = ST_GREET;
	/* RFC 5321 4.2 / 4.3.1: the greeting starts with our domain; RFC 2034
	 * section 3: no enhanced code on it */
	smtpd_reply(s, 220, NULL, "%s %s", s->host,
	    cfg_str("smtpd_banner")[0] ? cfg_str("smtpd_banner") :
	    "ESMTP tern");
	for (;;) {
		size_t len, textlen;
		unsigned eol;
		int r;

		errno = 0;
		r = io_getline(&s->io, line, SMTPD_CMD_MAX, &len);
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
			 * doc/VIOLATIONS.md) - unlike DATA, see data.c */
			if ((eol & SMTP_EOL_BARELF) && !warned_lf++)
				log_info("%s barelf stage=command ip=%s",
				    s->sid, s->ip);
			cmd_line(s, line, textlen);
		}
		if (s->errors >= s->max_errors) {
			log_info("%s close reason=errors ip=%s errors=%u",
			    s->sid, s->ip, s->errors);
			smtpd_reply(s, 421, "4.7.0", "%s Error: too many errors",
			    s->host);
			session_exit(s, 0);
		}
	}
}
