/*
 * session: the command loop of tern-imapd, shared by the login child
 * (not-authenticated state) and the mailbox process (authenticated and
 * selected states).
 *
 * The reader assembles one whole command into s->cmd: its first line,
 * and for every literal the line's "{N}" marker, CRLF and the N octets,
 * and the rest, up to the final CRLF (RFC 9051 4.3, 7.5).  Every literal
 * is bounded before a byte of it is read: a synchronizing literal over
 * the limit is refused (tagged NO [TOOBIG] / BAD) without the "+"
 * continuation, so the client sends nothing; a non-synchronizing one
 * (RFC 7888 LITERAL+) over the limit is already on its way, so the
 * session ends after the BAD, as RFC 7888 4 allows.  The parser
 * (lib/imap/parse.h) then walks the assembled bytes.
 *
 * The command table pairs each verb with the states it is allowed in;
 * in the selected state the view is synced with the disk after each
 * command and before its tagged reply (RFC 3501 7: untagged updates),
 * without EXPUNGE responses after FETCH, STORE and SEARCH (7.4.1).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "imapd.h"

/* The commands of the not-authenticated state are the login child's
 * (login.c, s->noauth), so that tern-imap-session, which never runs
 * them, has no TLS in it. */
static void
cmd_noauth(struct imap *s, struct imap_p *p)
{
	if (s->noauth == NULL) {
		errno = EINVAL;
		session_fatal(s, "no login state here");
	}
	s->noauth->cmd(s, p);
}

enum {
	C_NOEXP = 0x1,    /* no EXPUNGE responses after it (non-UID form) */
	C_UIDOK = 0x2,    /* has a UID form */
	C_NOVIEW = 0x4,   /* needs no view of the selected mailbox */
};

struct cmd {
	const char *name;
	unsigned states;
	unsigned flags;
	void (*fn)(struct imap *, struct imap_p *);
};

#define ANY (ST_NOAUTH | ST_AUTH | ST_SEL)
#define AUTHED (ST_AUTH | ST_SEL)

static const struct cmd cmds[] = {
	{ "CAPABILITY", ANY, C_NOVIEW, cmd_capability },
	{ "NOOP", ANY, C_NOVIEW, cmd_noop },
	{ "LOGOUT", ANY, C_NOVIEW, cmd_logout },
	{ "ID", ANY, C_NOVIEW, cmd_id },
	{ "STARTTLS", ST_NOAUTH, 0, cmd_noauth },
	{ "LOGIN", ST_NOAUTH, 0, cmd_noauth },
	{ "AUTHENTICATE", ST_NOAUTH, 0, cmd_noauth },
	{ "ENABLE", AUTHED, C_NOVIEW, cmd_enable },
	{ "SELECT", AUTHED, C_NOVIEW, cmd_select },
	{ "EXAMINE", AUTHED, C_NOVIEW, cmd_select },
	{ "CREATE", AUTHED, 0, cmd_create },
	{ "DELETE", AUTHED, 0, cmd_delete },
	{ "RENAME", AUTHED, 0, cmd_rename },
	{ "SUBSCRIBE", AUTHED, C_NOVIEW, cmd_subscribe },
	{ "UNSUBSCRIBE", AUTHED, C_NOVIEW, cmd_unsubscribe },
	{ "LIST", AUTHED, C_NOVIEW, cmd_list },
	{ "LSUB", AUTHED, C_NOVIEW, cmd_lsub },
	{ "NAMESPACE", AUTHED, C_NOVIEW, cmd_namespace },
	{ "STATUS", AUTHED, C_NOVIEW, cmd_status },
	{ "APPEND", AUTHED, 0, cmd_append },
	{ "IDLE", AUTHED, 0, cmd_idle },
	{ "GETQUOTA", AUTHED, C_NOVIEW, cmd_getquota },
	{ "GETQUOTAROOT", AUTHED, C_NOVIEW, cmd_getquotaroot },
	{ "SETQUOTA", AUTHED, 0, cmd_setquota },
	{ "CHECK", ST_SEL, 0, cmd_check },
	{ "CLOSE", ST_SEL, 0, cmd_close },
	{ "UNSELECT", ST_SEL, C_NOVIEW, cmd_close },
	{ "EXPUNGE", ST_SEL, C_UIDOK, cmd_expunge },
	{ "SEARCH", ST_SEL, C_NOEXP | C_UIDOK, cmd_search },
	{ "FETCH", ST_SEL, C_NOEXP | C_UIDOK, cmd_fetch },
	{ "STORE", ST_SEL, C_NOEXP | C_UIDOK, cmd_store },
	{ "COPY", ST_SEL, C_UIDOK, cmd_copy },
	{ "MOVE", ST_SEL, C_UIDOK, cmd_copy },
};

/* ---- replies ------------------------------------------------------------- */

void
imap_put(struct imap *s, const void *p, size_t n)
{
	if (io_put(&s->io, p, n) < 0)
		session_lost(s, "write");
}

/* The tagged line waits in s->pend until the untagged responses that
 * the command's sync adds have gone out (RFC 6851 4.3: MOVE's EXPUNGEs
 * before its OK; RFC 9051 7: updates before the completion). */
static void
emit_tagged(struct imap *s)
{
	if (s->pend.len == 0)
		return;
	if (io_put(&s->io, s->pend.s, s->pend.len) < 0)
		session_lost(s, "write");
	buf_reset(&s->pend);
}

void
imap_flush(struct imap *s)
{
	emit_tagged(s);
	if (io_flush(&s->io) < 0)
		session_lost(s, "write");
}

static void vline(struct imap *, const char *, const char *, va_list)
	__attribute__((format(printf, 3, 0)));

static void
vline(struct imap *s, const char *pre, const char *fmt, va_list ap)
{
	char line[1024];
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(line, sizeof line, fmt, ap);
	if (n < 0)
		session_fatal(s, "format");
	imap_put(s, pre, strlen(pre));
	if ((size_t)n < sizeof line)
		imap_put(s, line, (size_t)n);
	else {
		/* a long line (FLAGS with many keywords, VANISHED, a big
		 * SEARCH): whole, never cut */
		struct buf b = BUF_INIT;

		if (buf_vcatf(&b, fmt, aq) < 0)
			session_fatal(s, "memory");
		imap_put(s, b.s, b.len);
		buf_free(&b);
	}
	va_end(aq);
	imap_put(s, "\r\n", 2);
}

/* The same into the tagged line's buffer. */
static void vpend(struct imap *, const char *, va_list)
	__attribute__((format(printf, 2, 0)));

static void
vpend(struct imap *s, const char *fmt, va_list ap)
{
	if (buf_vcatf(&s->pend, fmt, ap) < 0 || buf_cats(&s->pend, "\r\n") < 0)
		session_fatal(s, "memory");
}

void
imap_untagged(struct imap *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(s, "* ", fmt, ap);
	va_end(ap);
}

void
imap_tagged(struct imap *s, const char *status, const char *fmt, ...)
{
	va_list ap;

	if (s->tagged_sent)
		return;
	s->tagged_sent = 1;
	if (strcmp(status, "BAD") == 0)
		s->errors++;
	buf_reset(&s->pend);
	if (buf_cats(&s->pend, s->tag[0] ? s->tag : "*") < 0 ||
	    buf_catc(&s->pend, ' ') < 0 || buf_cats(&s->pend, status) < 0 ||
	    buf_catc(&s->pend, ' ') < 0)
		session_fatal(s, "memory");
	va_start(ap, fmt);
	vpend(s, fmt, ap);
	va_end(ap);
}

void
imap_bad_args(struct imap *s, const struct imap_p *p)
{
	imap_tagged(s, "BAD", "Error in IMAP command %s: %s", s->verb,
	    p->err ? p->err : "Invalid arguments");
}

void
session_exit(struct imap *s, int status)
{
	if (s->pend.len > 0)
		(void)io_put(&s->io, s->pend.s, s->pend.len);
	(void)io_flush(&s->io);
	if (s->state == ST_NOAUTH && s->noauth != NULL)
		s->noauth->end(s);
	exit(status);
}

void
session_lost(struct imap *s, const char *stage)
{
	if (errno == ETIMEDOUT) {
		log_info("%s timeout ip=%s stage=%s", s->sid, s->ip, stage);
		(void)io_puts(&s->io, "* BYE Autologout; idle for too long\r\n");
		session_exit(s, 0);
	}
	log_info("%s disconnect ip=%s stage=%s%s%s", s->sid, s->ip, stage,
	    errno ? " error=" : "", errno ? strerror(errno) : "");
	exit(0);
}

void
session_fatal(struct imap *s, const char *what)
{
	log_warn("%s fatal ip=%s error=%s: %s", s->sid, s->ip, what,
	    strerror(errno));
	(void)io_puts(&s->io, "* BYE [UNAVAILABLE] Internal error, try "
	    "again later\r\n");
	(void)io_flush(&s->io);
	exit(111);
}

void
imap_capabilities(struct imap *s, struct buf *out)
{
	int ok = 1;

	ok &= buf_cats(out, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE "
	    "NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE "
	    "STATUS=SIZE CONDSTORE QRESYNC BINARY ESEARCH SEARCHRES "
	    "LIST-EXTENDED LIST-STATUS UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE")
	    > 0;
	if (s->state == ST_NOAUTH) {
		if (s->noauth != NULL)
			ok &= s->noauth->caps(s, out) > 0;
	} else {
		ok &= buf_catf(out, " APPENDLIMIT=%llu", s->append_limit) > 0;
	}
	if (!ok)
		session_fatal(s, "memory");
}

/* ---- reading a command ------------------------------------------------------ */

int
session_line(struct imap *s, char *line, size_t max, size_t *len_r)
{
	size_t len;
	int r;

	imap_flush(s);
	errno = 0;
	r = io_getline(&s->io, line, max, &len);
	if (r < 0 && errno == EMSGSIZE)
		return 0;
	if (r <= 0)
		session_lost(s, "read");
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	*len_r = len;
	return 1;
}

/* The tag at the start of the assembled command, for replies about it
 * before it is parsed; "*" when there is none worth echoing. */
static void
early_tag(struct imap *s)
{
	struct imap_p p;
	const char *t;
	size_t n;

	imap_p_init(&p, s->cmd.s, s->cmd.len);
	if (imap_p_tag(&p, &t, &n) == 1 && n <= IMAP_TAG_MAX) {
		memcpy(s->tag, t, n);
		s->tag[n] = '\0';
	} else {
		s->tag[0] = '\0';
	}
}

/* Is the command so far an APPEND (its literal may be a whole message)?
 * "tag APPEND" or "tag UID ..." never: only APPEND takes big literals. */
static int
is_append(const struct imap *s)
{
	const char *p = s->cmd.s, *e = s->cmd.s + s->cmd.len, *sp;

	sp = memchr(p, ' ', (size_t)(e - p));
	if (sp == NULL || e - sp < 8)
		return 0;
	return str_ncaseeq(sp + 1, "APPEND ", 7);
}

/* Read one command into s->cmd.  1 ready, 0 refused here (replied). */
static int
read_command(struct imap *s)
{
	static char line[IMAP_LINE_MAX + 1];
	unsigned long long n, lim;
	size_t len;
	int r, nonsync;

	buf_reset(&s->cmd);
	s->tag[0] = '\0';
	s->tagged_sent = 0;
	for (;;) {
		imap_flush(s);
		sel_idle(s);  /* the client has its replies */
		errno = 0;
		r = io_getline(&s->io, line, IMAP_LINE_MAX, &len);
		if (r < 0 && errno == EMSGSIZE) {
			/* RFC 9051 7.1.5: the line cannot be parsed, and
			 * its end (a "{N+}" whose octets come anyway) is
			 * not known: as Dovecot does, the session ends */
			if (s->cmd.len == 0 && buf_cat(&s->cmd, line, len) < 0)
				session_fatal(s, "memory");
			early_tag(s);
			imap_tagged(s, "BAD", "Command line too long");
			imap_flush(s);
			imap_untagged(s, "BYE Command line too long");
			log_info("%s line too long ip=%s", s->sid, s->ip);
			session_exit(s, 0);
		}
		if (r <= 0)
			session_lost(s, "read");
		if (s->cmd.len + len > IMAP_CMD_MAX) {
			early_tag(s);
			imap_tagged(s, "BAD", "Command too long");
			return 0;
		}
		if (buf_cat(&s->cmd, line, len) < 0)
			session_fatal(s, "memory");
		r = imap_literal_tail(line, len, &n, &nonsync);
		if (r <= 0)
			return 1;  /* the end; a bad marker is the parser's BAD */
		if (s->state == ST_NOAUTH)
			lim = IMAP_LOGIN_LITERAL_MAX;
		else if (is_append(s))
			lim = s->append_limit;
		else
			lim = IMAP_LITERAL_MAX;
		if (n > lim) {
			early_tag(s);
			if (nonsync) {
				/* RFC 7888 4: its bytes are coming anyway and
				 * cannot be told from commands */
				imap_tagged(s, "BAD", "Literal too big");
				imap_untagged(s, "BYE Literal too big");
				log_info("%s literal too big ip=%s size=%llu",
				    s->sid, s->ip, n);
				session_exit(s, 0);
			}
			if (lim == s->append_limit)
				imap_tagged(s, "NO", "[TOOBIG] Message too big "
				    "(APPENDLIMIT is %llu)", lim);
			else
				imap_tagged(s, "BAD", "Literal too big");
			return 0;
		}
		if (s->cmd.len + n > IMAP_CMD_MAX + (lim > IMAP_LITERAL_MAX ?
		    lim : 0)) {
			early_tag(s);
			if (nonsync) {
				imap_tagged(s, "BAD", "Command too long");
				session_exit(s, 0);
			}
			imap_tagged(s, "BAD", "Command too long");
			return 0;
		}
		if (!nonsync) {
			imap_put(s, "+ OK\r\n", 6);
			imap_flush(s);
		}
		if (buf_ready(&s->cmd, (size_t)n) < 0)
			session_fatal(s, "memory");
		while (n > 0) {
			ssize_t got = io_read(&s->io, s->cmd.s + s->cmd.len,
			    (size_t)n);

			if (got <= 0)
				session_lost(s, "literal");
			s->cmd.len += (size_t)got;
			n -= (unsigned long long)got;
		}
		s->cmd.s[s->cmd.len] = '\0';
	}
}

/* ---- dispatch ------------------------------------------------------------ */

static const struct cmd *
find_cmd(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strlen(cmds[i].name) == n &&
		    str_ncaseeq(cmds[i].name, name, n))
			return &cmds[i];
	return NULL;
}

static void
dispatch(struct imap *s)
{
	struct imap_p p;
	const struct cmd *c;
	const char *t, *v;
	size_t tn, vn;
	int cs;

	imap_p_init(&p, s->cmd.s, s->cmd.len);
	s->verb = "";
	s->uid = 0;
	if (imap_p_tag(&p, &t, &tn) != 1 || tn > IMAP_TAG_MAX ||
	    !imap_p_sp(&p)) {
		s->tag[0] = '\0';
		imap_untagged(s, "BAD Error in IMAP command: missing tag");
		s->errors++;
		return;
	}
	memcpy(s->tag, t, tn);
	s->tag[tn] = '\0';
	if (imap_p_atom(&p, &v, &vn) != 1) {
		imap_tagged(s, "BAD", "Error in IMAP command: missing command");
		return;
	}
	if (vn == 3 && str_ncaseeq(v, "UID", 3)) {
		s->uid = 1;
		if (!imap_p_sp(&p) || imap_p_atom(&p, &v, &vn) != 1) {
			imap_tagged(s, "BAD", "Error in IMAP command UID: "
			    "missing command");
			return;
		}
	}
	c = find_cmd(v, vn);
	if (c == NULL || (s->uid && !(c->flags & C_UIDOK))) {
		imap_tagged(s, "BAD", "Error in IMAP command: unknown command");
		return;
	}
	s->verb = c->name;
	if (!(c->states & s->state)) {
		if (s->state == ST_NOAUTH)
			imap_tagged(s, "BAD", "Error in IMAP command %s: "
			    "log in first", c->name);
		else if (c->states == ST_NOAUTH)
			imap_tagged(s, "BAD", "Error in IMAP command %s: "
			    "already logged in", c->name);
		else
			imap_tagged(s, "BAD", "Error in IMAP command %s: "
			    "no mailbox selected", c->name);
		return;
	}
	s->sel.expunged = 0;
	cs = s->condstore;
	if (s->state == ST_SEL && !(c->flags & C_NOVIEW))
		sel_view(s);  /* a SELECT from the cache left it for now */
	c->fn(s, &p);
	/* RFC 7162 3.1: the first CONDSTORE-enabling command with a mailbox
	 * selected (SELECT/EXAMINE sent it themselves) is told the mailbox's
	 * HIGHESTMODSEQ */
	if (!cs && s->condstore && s->state == ST_SEL &&
	    c->fn != cmd_select)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		    s->sel.idx.highest);
	if (s->state == ST_SEL)
		sel_sync(s, s->uid || !(c->flags & C_NOEXP));
	/* RFC 7162 3.2.7, 3.2.9: an EXPUNGE that removed messages tells the
	 * new HIGHESTMODSEQ in its tagged OK under QRESYNC */
	if (!s->tagged_sent && s->qresync && s->state == ST_SEL &&
	    s->sel.expunged > 0)
		imap_tagged(s, "OK", "[HIGHESTMODSEQ %llu] %s completed",
		    s->sel.idx.highest, c->name);
	if (!s->tagged_sent)
		imap_tagged(s, "OK", "%s completed", c->name);
}

void
session_loop(struct imap *s)
{
	for (;;) {
		if (read_command(s))
			dispatch(s);
		if (s->errors >= IMAP_ERRORS_MAX) {
			imap_untagged(s, "BYE Too many errors");
			log_info("%s too many errors ip=%s", s->sid, s->ip);
			session_exit(s, 0);
		}
	}
}

/* ---- commands of every state ------------------------------------------------ */

void
cmd_capability(struct imap *s, struct imap_p *p)
{
	struct buf b = BUF_INIT;

	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "CAPABILITY takes no arguments");
		return;
	}
	imap_capabilities(s, &b);
	imap_untagged(s, "CAPABILITY %s", buf_str(&b));
	buf_free(&b);
}

void
cmd_noop(struct imap *s, struct imap_p *p)
{
	if (!imap_p_end(p))
		imap_tagged(s, "BAD", "NOOP takes no arguments");
}

void
cmd_logout(struct imap *s, struct imap_p *p)
{
	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "LOGOUT takes no arguments");
		return;
	}
	imap_untagged(s, "BYE Logging out");
	imap_tagged(s, "OK", "Logout completed");
	if (s->state == ST_NOAUTH)
		log_info("%s logout ip=%s", s->sid, s->ip);
	else
		log_info("%s logout user=%s fetch=%lu store=%lu append=%lu "
		    "expunge=%lu", s->sid, buf_str(&s->login), s->nfetch,
		    s->nstore, s->nappend, s->nexpunge);
	session_exit(s, 0);
}

/* RFC 2971: we answer with our name; the client's list is read and
 * dropped (it is only for logs, and logging it helps nobody). */
void
cmd_id(struct imap *s, struct imap_p *p)
{
	struct buf v = BUF_INIT;
	int nil, n = 0;

	if (!imap_p_sp(p))
		goto bad;
	if (imap_p_char(p, '(')) {
		while (imap_p_peek(p) != ')') {
			if (n > 0 && !imap_p_sp(p))
				goto bad;
			if (imap_p_string(p, &v) != 1 || !imap_p_sp(p) ||
			    imap_p_nstring(p, &v, &nil) != 1 || ++n > 30)
				goto bad;
		}
		p->pos++;  /* the ")" */
	} else if (imap_p_nstring(p, &v, &nil) != 1 || !nil) {
		goto bad;
	}
	if (!imap_p_end(p))
		goto bad;
	buf_free(&v);
	imap_untagged(s, "ID (\"name\" \"tern\" \"vendor\" \"tern\")");
	return;
bad:
	buf_free(&v);
	imap_bad_args(s, p);
}

/* RFC 5161.  What can be enabled: CONDSTORE and QRESYNC (RFC 7162
 * 3.1, 3.2.3; QRESYNC implies CONDSTORE).  Names we do not know, or
 * that are on already, are left out of the ENABLED list. */
void
cmd_enable(struct imap *s, struct imap_p *p)
{
	struct buf on = BUF_INIT;
	const char *a;
	size_t n;

	if (!imap_p_sp(p)) {
		imap_bad_args(s, p);
		return;
	}
	do {
		if (imap_p_atom(p, &a, &n) != 1) {
			buf_free(&on);
			imap_bad_args(s, p);
			return;
		}
		if (n == 9 && str_ncaseeq(a, "CONDSTORE", 9) &&
		    !s->condstore) {
			s->condstore = 1;
			if (buf_cats(&on, " CONDSTORE") < 0)
				session_fatal(s, "memory");
		} else if (n == 7 && str_ncaseeq(a, "QRESYNC", 7) &&
		    !s->qresync) {
			s->qresync = 1;
			s->condstore = 1;
			if (buf_cats(&on, " QRESYNC") < 0)
				session_fatal(s, "memory");
		} else if (n == 9 && str_ncaseeq(a, "IMAP4rev2", 9) &&
		    !s->rev2) {
			/* RFC 9051 2.3: UTF-8 names and strings, ESEARCH,
			 * no RECENT */
			s->rev2 = 1;
			s->utf8 = 1;
			if (buf_cats(&on, " IMAP4rev2") < 0)
				session_fatal(s, "memory");
		} else if (n == 11 && str_ncaseeq(a, "UTF8=ACCEPT", 11) &&
		    !s->utf8_enabled) {
			/* RFC 9755 3 */
			s->utf8_enabled = 1;
			s->utf8 = 1;
			if (buf_cats(&on, " UTF8=ACCEPT") < 0)
				session_fatal(s, "memory");
		}
	} while (imap_p_sp(p));
	if (!imap_p_end(p)) {
		buf_free(&on);
		imap_bad_args(s, p);
		return;
	}
	imap_untagged(s, "ENABLED%s", buf_str(&on));
	buf_free(&on);
}
