/*
 * sendmail -bs: an SMTP dialogue (RFC 5321) on stdin and stdout for a
 * local user, the way PHP mailers, mail(1) variants and MUAs that
 * "speak SMTP to sendmail" use it.
 *
 * Why not tern-smtpd: tern-smtpd answers RCPT from the users and aliases
 * maps, and users.cdb holds password hashes that an ordinary user must
 * not read (0640 ternl:ternd), so run as the caller it can only say 421.
 * Like Postfix's local submission, this dialogue needs no recipient
 * table: it runs with the caller's privileges, accepts any syntactically
 * valid recipient (a local user may send anywhere, as with -bm), and an
 * unknown local recipient is bounced by the queue.  No network peer, so
 * no TLS, AUTH, access map or block lists either.  The message goes to
 * tern-enqueue exactly as with -bm, which records the caller's uid.
 *
 * Supported: HELO, EHLO (PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN,
 * ENHANCEDSTATUSCODES), MAIL, RCPT, DATA, RSET, NOOP, VRFY (252), HELP,
 * QUIT.  Limits and timeouts are tern-smtpd's (tern.conf smtpd_*).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "util/io.h"
#include "util/str.h"
#include "mail/dsn.h"
#include "mail/addr.h"
#include "mail/smtpparse.h"
#include "daemon/cfg.h"
#include "queue/enq.h"
#include "sendmail.h"

/* RFC 5321 4.5.3.1.4 and its extensions, as tern-smtpd (SMTPD_CMD_MAX) */
#define SMTP_LINE_MAX 2048

enum { S_GREET, S_HELO, S_MAIL, S_RCPT };

struct rcpt {
	char *addr;
	unsigned notify;
	char *orcpt;
};

struct smtp {
	struct io io;
	const char *host;
	const struct passwd *pw;
	int state, esmtp;
	char helo[SMTP_HELO_MAX + 1];   /* smtp_helo_ok: safe in Received */
	unsigned errors;
	unsigned long max_size, max_rcpt, max_line, max_errors;
	unsigned long cmd_timeout, data_timeout;
	/* the transaction */
	struct buf from, envid;
	char ret;
	int body8, utf8;
	struct rcpt *rcpt;
	size_t nrcpt;
	char *dline;              /* a DATA line, max_line + 1 bytes */
};

static struct smtp S;         /* big (io buffers): not on the stack */

static void
flush_or_die(struct smtp *s)
{
	if (io_flush(&s->io) < 0)
		exit(EX_IOERR);
}

static void reply(struct smtp *, int, const char *, const char *, ...)
	__attribute__((format(printf, 4, 5)));

/* One reply line; sent at once unless the client pipelines more. */
static void
reply(struct smtp *s, int code, const char *ext, const char *fmt, ...)
{
	char text[SMTP_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (io_printf(&s->io, "%d %s%s%s\r\n", code, ext ? ext : "",
	    ext ? " " : "", text) < 0)
		exit(EX_IOERR);
	if (io_pending(&s->io) == 0)
		flush_or_die(s);
}

/* A reply to a bad command: counted, and too many end the session. */
static void
error(struct smtp *s, int code, const char *ext, const char *text)
{
	reply(s, code, ext, "%s", text);
	if (++s->errors >= s->max_errors) {
		reply(s, 421, "4.7.0", "%s Too many errors, closing", s->host);
		flush_or_die(s);
		exit(EX_OK);
	}
}

static void
trans_reset(struct smtp *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i].addr);
		free(s->rcpt[i].orcpt);
	}
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	buf_reset(&s->from);
	buf_reset(&s->envid);
	s->ret = 0;
	s->body8 = s->utf8 = 0;
	if (s->state > S_HELO)
		s->state = S_HELO;
}

static void
cmd_helo(struct smtp *s, const char *arg, size_t n, int ehlo)
{
	if (n == 0 || !smtp_helo_ok(arg, n)) {
		error(s, 501, "5.5.4", "Syntax: HELO/EHLO hostname");
		return;
	}
	trans_reset(s);
	s->state = S_HELO;
	s->esmtp = ehlo;
	memcpy(s->helo, arg, n);
	s->helo[n] = '\0';
	if (!ehlo) {
		reply(s, 250, NULL, "%s", s->host);
		return;
	}
	if (io_printf(&s->io, "250-%s\r\n250-PIPELINING\r\n250-SIZE %lu\r\n"
	    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n", s->host, s->max_size) < 0)
		exit(EX_IOERR);
	if (io_pending(&s->io) == 0)
		flush_or_die(s);
}

/* MAIL parameters: SIZE, BODY, SMTPUTF8, RET, ENVID.  1 ok, 0 replied. */
static int
mail_params(struct smtp *s, const char *p0, size_t n)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	const char *msg;
	size_t count, i;
	unsigned long size;

	if (!smtp_params(p0, n, p, SMTP_PARAMS_MAX, &count, &msg)) {
		error(s, 501, "5.5.4", msg);
		return 0;
	}
	for (i = 0; i < count; i++) {
		const char *v = p[i].val;
		size_t vl = p[i].vallen;

		if (!s->esmtp)
			goto unsupported;
		if (smtp_param_is(&p[i], "SIZE") && v) {
			if (!str_ulong(v, vl, ULONG_MAX, &size))
				goto bad;
			if (size > s->max_size) {
				reply(s, 552, "5.3.4", "Message size exceeds "
				    "the limit of %lu bytes", s->max_size);
				return 0;
			}
		} else if (smtp_param_is(&p[i], "BODY") && v &&
		    ((vl == 4 && str_ncaseeq(v, "7BIT", 4)) ||
		    (vl == 8 && str_ncaseeq(v, "8BITMIME", 8))))
			s->body8 = vl == 8;
		else if (smtp_param_is(&p[i], "SMTPUTF8") && !v)
			s->utf8 = 1;
		else if (smtp_param_is(&p[i], "RET") && v &&
		    (s->ret = smtp_dsn_ret(v, vl)) != 0)
			;
		else if (smtp_param_is(&p[i], "ENVID") && v && vl <=
		    SMTP_ENVID_MAX && smtp_xtext_ok(v, vl))
			sm_nomem(buf_copy(&s->envid, v, vl));
		else if (smtp_param_is(&p[i], "SIZE") ||
		    smtp_param_is(&p[i], "BODY") ||
		    smtp_param_is(&p[i], "SMTPUTF8") ||
		    smtp_param_is(&p[i], "RET") ||
		    smtp_param_is(&p[i], "ENVID"))
			goto bad;
		else
			goto unsupported;
	}
	return 1;
bad:
	error(s, 501, "5.5.4", "Error: bad value of a MAIL parameter");
	return 0;
unsupported:
	error(s, 555, "5.5.4", "Error: unsupported parameter");
	return 0;
}

static void
cmd_mail(struct smtp *s, const char *arg, size_t n)
{
	const char *rest, *after, *msg;
	size_t restlen;
	int r;

	if (s->state == S_GREET) {
		error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->state != S_HELO) {
		error(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (!smtp_keyword_arg(arg, n, "FROM:", &rest, &restlen)) {
		error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	r = addr_parse_path(rest, restlen, ADDR_NULL_OK | ADDR_UTF8, &s->from,
	    &after, &msg);
	sm_nomem(r);
	if (r == 0) {
		error(s, 501, "5.1.7", msg);
		return;
	}
	if (!mail_params(s, after, (size_t)(rest + restlen - after))) {
		trans_reset(s);
		return;
	}
	if (str_8bit(buf_str(&s->from)) && !s->utf8) {
		error(s, 553, "5.6.7", "Error: non-ASCII address needs SMTPUTF8");
		trans_reset(s);
		return;
	}
	s->state = S_MAIL;
	reply(s, 250, "2.1.0", "Ok");
}

/* RCPT parameters: NOTIFY, ORCPT.  1 ok, 0 replied. */
static int
rcpt_params(struct smtp *s, const char *p0, size_t n, struct rcpt *r)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	const char *msg;
	size_t count, i;

	if (!smtp_params(p0, n, p, SMTP_PARAMS_MAX, &count, &msg)) {
		error(s, 501, "5.5.4", msg);
		return 0;
	}
	for (i = 0; i < count; i++) {
		if (!s->esmtp)
			goto unsupported;
		if (smtp_param_is(&p[i], "NOTIFY") && p[i].val &&
		    smtp_dsn_notify(p[i].val, p[i].vallen, &r->notify))
			continue;
		if (smtp_param_is(&p[i], "ORCPT") && p[i].val &&
		    smtp_dsn_orcpt(p[i].val, p[i].vallen) && !r->orcpt) {
			r->orcpt = strndup(p[i].val, p[i].vallen);
			sm_nomem(r->orcpt ? 1 : -1);
			continue;
		}
		if (smtp_param_is(&p[i], "NOTIFY") ||
		    smtp_param_is(&p[i], "ORCPT")) {
			error(s, 501, "5.5.4", "Error: bad value of a RCPT "
			    "parameter");
			return 0;
		}
		goto unsupported;
	}
	return 1;
unsupported:
	error(s, 555, "5.5.4", "Error: unsupported parameter");
	return 0;
}

static void
cmd_rcpt(struct smtp *s, const char *arg, size_t n)
{
	struct rcpt r = { NULL, 0, NULL }, *v;
	struct buf addr = BUF_INIT;
	const char *rest, *after, *msg, *dom;
	size_t restlen, i;
	int k;

	if (s->state < S_MAIL) {
		error(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (!smtp_keyword_arg(arg, n, "TO:", &rest, &restlen)) {
		error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	k = addr_parse_path(rest, restlen, ADDR_POSTMASTER | ADDR_UTF8, &addr,
	    &after, &msg);
	sm_nomem(k);
	if (k == 0) {
		error(s, 501, "5.1.3", msg);
		goto out;
	}
	if (str_8bit(buf_str(&addr)) && !s->utf8) {
		error(s, 553, "5.6.7", "Error: non-ASCII address needs SMTPUTF8");
		goto out;
	}
	if (!rcpt_params(s, after, (size_t)(rest + restlen - after), &r))
		goto out;
	/* "<Postmaster>" (RFC 5321 4.1.1.3) and, for a local user, any
	 * address without a domain are ours, as with -bm */
	if (addr_domain(buf_str(&addr))[0] == '\0') {
		dom = cfg_list(local_domains, 0);
		sm_nomem(buf_catc(&addr, '@'));
		sm_nomem(buf_cats(&addr, dom ? dom : s->host));
	}
	for (i = 0; i < s->nrcpt; i++)
		if (strcmp(s->rcpt[i].addr, buf_str(&addr)) == 0) {
			reply(s, 250, "2.1.5", "Ok");   /* queued once */
			goto out;
		}
	if (s->nrcpt >= s->max_rcpt) {
		reply(s, 452, "4.5.3", "Error: too many recipients");
		goto out;
	}
	if ((v = realloc(s->rcpt, (s->nrcpt + 1) * sizeof *v)) == NULL)
		sm_nomem(-1);
	s->rcpt = v;
	r.addr = strdup(buf_str(&addr));
	sm_nomem(r.addr ? 1 : -1);
	s->rcpt[s->nrcpt++] = r;
	r.orcpt = NULL;
	s->state = S_RCPT;
	reply(s, 250, "2.1.5", "Ok");
out:
	free(r.orcpt);
	buf_free(&addr);
}

/* The envelope into tern-enqueue (lib/queue/qfile.h letters). 1 or -1. */
static int
envelope(struct smtp *s, struct enq *e)
{
	char nt[40];
	size_t i;

	if (enq_env(e, 'F', buf_str(&s->from)) < 0 ||
	    (s->envid.len && enq_env(e, 'E', buf_str(&s->envid)) < 0) ||
	    (s->ret && enq_env(e, 'W', s->ret == 'F' ? "FULL" : "HDRS") < 0) ||
	    (s->utf8 && enq_env(e, 'S', "") < 0) ||
	    (s->body8 && enq_env(e, 'B', "8BITMIME") < 0))
		return -1;
	for (i = 0; i < s->nrcpt; i++) {
		const char *n = sm_notify_text(s->rcpt[i].notify, nt);

		if (enq_env(e, 'R', s->rcpt[i].addr) < 0 ||
		    (n[0] && enq_env(e, 'N', n) < 0) ||
		    (s->rcpt[i].orcpt && enq_env(e, 'O', s->rcpt[i].orcpt) < 0))
			return -1;
	}
	return enq_env_end(e);
}

/* DATA: the message up to "." (RFC 5321 4.1.1.4, 4.5.2), CRLF made LF,
 * dots unstuffed, a Received field on top. */
static void
cmd_data(struct smtp *s)
{
	char date[DSN_DATE_SIZE], qid[QID_SIZE], err[ENQ_ERR_MAX];
	struct enq *e;
	size_t len, text;
	int r, toolong = 0, barecr = 0, eol, ok;

	if (s->state != S_RCPT) {
		error(s, 503, "5.5.1", s->state == S_MAIL ?
		    "Error: need RCPT command" : "Error: need MAIL command");
		return;
	}
	if ((e = sm_enq_try(err, sizeof err)) == NULL) {
		reply(s, 451, "4.3.0", "Error: %s", err);
		return;
	}
	dsn_date(time(NULL), date);
	ok = envelope(s, e) == 1;
	if (ok) {
		char top[1024];
		int k = snprintf(top, sizeof top, "Received: from %s by %s "
		    "(tern-sendmail -bs, from userid %lu)\n\twith %s;\n\t%s\n",
		    s->helo, s->host,
		    (unsigned long)s->pw->pw_uid, s->utf8 ? "UTF8SMTP" :
		    s->esmtp ? "ESMTP" : "SMTP", date);

		ok = k > 0 && (size_t)k < sizeof top &&
		    enq_write(e, top, (size_t)k) == 1;
	}
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	flush_or_die(s);
	s->io.timeout = (int)s->data_timeout;
	for (;;) {
		r = io_getline(&s->io, s->dline, s->max_line, &len);
		if (r < 0 && errno == EMSGSIZE) {
			toolong = 1;   /* read on to the end of the message */
			continue;
		}
		if (r <= 0) {
			/* EOF or a broken stdin in the middle: nothing queued */
			enq_abort(e);
			exit(r == 0 ? EX_DATAERR : EX_IOERR);
		}
		eol = smtp_line_end(s->dline, len, &text);
		if (eol & SMTP_EOL_NONE) {
			/* EOF inside a line, even ".": nothing queued */
			enq_abort(e);
			exit(EX_DATAERR);
		}
		if (eol & SMTP_BARE_CR)
			barecr = 1;   /* refused at the end, like tern-smtpd */
		if (text == 1 && s->dline[0] == '.')
			break;
		if (ok && !toolong) {
			const char *p = s->dline;

			if (p[0] == '.')
				p++, text--;   /* dot-stuffing */
			ok = enq_write(e, p, text) == 1 &&
			    enq_write(e, "\n", 1) == 1;
		}
	}
	s->io.timeout = (int)s->cmd_timeout;
	if (toolong) {
		enq_abort(e);
		reply(s, 500, "5.5.2", "Error: line too long (over %lu bytes)",
		    s->max_line);
	} else if (barecr) {
		enq_abort(e);
		reply(s, 554, "5.6.0", "Error: bare CR (a CR not followed by "
		    "LF) in the message");
	} else {
		switch (enq_close(e, qid, err, sizeof err)) {
		case 1:
			reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
			break;
		case 0:
			reply(s, 554, "5.6.0", "Error: %s", err);
			break;
		default:
			reply(s, 451, "4.3.0", "Error: %s", err);
		}
	}
	free(e);
	trans_reset(s);
}

static void __attribute__((noreturn))
quit(struct smtp *s, int code)
{
	if (code)
		reply(s, code, "2.0.0", "Bye");
	flush_or_die(s);
	exit(EX_OK);
}

void
sm_smtp(const char *host, const struct passwd *pw)
{
	struct smtp *s = &S;
	char line[SMTP_LINE_MAX + 1], verb[SMTP_VERB_MAX + 1];
	const char *arg;
	size_t len, text, arglen;
	int r;

	s->host = host;
	s->pw = pw;
	s->max_size = cfg_num(message_size_limit);
	s->max_rcpt = cfg_num(smtpd_max_recipients);
	s->max_line = cfg_num(smtpd_max_line_length);
	s->max_errors = cfg_num(smtpd_max_errors);
	s->cmd_timeout = cfg_num(smtpd_timeout);
	s->data_timeout = cfg_num(smtpd_data_timeout);
	if ((s->dline = malloc(s->max_line + 1)) == NULL)
		sm_nomem(-1);
	s->from = (struct buf)BUF_INIT;
	s->envid = (struct buf)BUF_INIT;
	s->state = S_GREET;
	io_init(&s->io, 0, 1, (int)s->cmd_timeout);
	reply(s, 220, NULL, "%s ESMTP tern-sendmail", host);
	for (;;) {
		if (io_pending(&s->io) == 0)
			flush_or_die(s);
		r = io_getline(&s->io, line, SMTP_LINE_MAX, &len);
		if (r < 0 && errno == EMSGSIZE) {
			error(s, 500, "5.5.2", "Error: line too long");
			continue;
		}
		if (r < 0 && errno == ETIMEDOUT) {
			reply(s, 421, "4.4.2", "%s Timeout, closing", host);
			quit(s, 0);
		}
		if (r < 0)
			exit(EX_IOERR);
		if (r == 0)
			quit(s, 0);   /* EOF: the client is gone */
		(void)smtp_line_end(line, len, &text);
		if (!smtp_split(line, text, verb, &arg, &arglen)) {
			error(s, 500, "5.5.2", "Error: command not recognized");
			continue;
		}
		if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0)
			cmd_helo(s, arg, arglen, verb[0] == 'E');
		else if (strcmp(verb, "MAIL") == 0)
			cmd_mail(s, arg, arglen);
		else if (strcmp(verb, "RCPT") == 0)
			cmd_rcpt(s, arg, arglen);
		else if (strcmp(verb, "DATA") == 0 && arglen == 0)
			cmd_data(s);
		else if (strcmp(verb, "RSET") == 0 && arglen == 0) {
			trans_reset(s);
			reply(s, 250, "2.0.0", "Ok");
		} else if (strcmp(verb, "NOOP") == 0)
			reply(s, 250, "2.0.0", "Ok");
		else if (strcmp(verb, "VRFY") == 0)
			reply(s, 252, "2.5.2", "Send some mail, I'll try my best");
		else if (strcmp(verb, "HELP") == 0)
			reply(s, 214, "2.0.0", "See tern-sendmail(8)");
		else if (strcmp(verb, "QUIT") == 0)
			quit(s, 221);
		else if (strcmp(verb, "DATA") == 0 || strcmp(verb, "RSET") == 0)
			error(s, 501, "5.5.4", "Error: no argument allowed");
		else
			error(s, 502, "5.5.2", "Error: command not recognized");
	}
}
