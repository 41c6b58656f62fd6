/*
 * maildrop: the mailbox process of tern-pop3d.  It runs as the mailbox
 * owner with no capabilities, speaks the TRANSACTION and UPDATE states
 * (RFC 1939 5 and 6) over the socketpair that the login child relays, and
 * is the only process of the session that touches the Maildir.
 *
 * The maildrop is fixed at login (RFC 1939 8: message numbers do not
 * change during a session): new/ is moved to cur/, and the messages are
 * numbered in UID order (lib/store/mbox).  An exclusive lock on
 * Maildir/tern-pop3.lock, held until the process ends, keeps a second
 * POP3 session out ([IN-USE], RFC 2449 8.1.2).  DELE only marks; the
 * files are removed at QUIT, and a session that ends any other way
 * removes nothing.  Messages go out with CRLF line ends and dot-stuffed
 * (RFC 1939 3), and their sizes are counted the same way (lib/store/mbox).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "daemon/cfg.h"
#include "store/maildir.h"
#include "login/loginproc.h"
#include "pop3d.h"

#define SEND_BUF 65536

/* ---- opening the maildrop ------------------------------------------------ */

static void md_fail(struct pop3 *, const char *)
	__attribute__((noreturn));

/* A temporary failure at login: tell, log, end (RFC 2449 8.1.3). */
static void
md_fail(struct pop3 *p, const char *what)
{
	log_warn("%s maildrop user=%s error=%s: %s", p->sid, buf_str(&p->login),
	    what, strerror(errno));
	pop3_reply(p, "-ERR [SYS/TEMP] Cannot open the maildrop, try again "
	    "later");
	session_exit(p, 0);
}

/* Sizes of all messages; drops those that vanished since the scan. */
static unsigned long long
md_sizes(struct pop3 *p)
{
	struct mbox *mb = &p->mb;
	unsigned long long size, total = 0;
	size_t i, keep = 0;

	for (i = 0; i < mb->n; i++) {
		int r = mbox_size(mb, i, &size);

		if (r < 0)
			md_fail(p, "size");
		if (r == 0)
			continue;
		total += size;
		mb->msg[keep++] = mb->msg[i];
	}
	mb->n = keep;
	return total;
}

static void
md_open(struct pop3 *p, const char *maildir)
{
	struct mbox *mb = &p->mb;
	unsigned long long total;
	int r;

	if (mbox_open(mb, maildir) < 0)
		md_fail(p, "memory");
	/* no mail delivered yet: an empty Maildir, ours to create */
	if (maildir_make(maildir) < 0)
		md_fail(p, maildir);
	r = mbox_lock(mb, MBOX_POP3_LOCK);
	if (r < 0)
		md_fail(p, MBOX_POP3_LOCK);
	if (r == 0) {
		log_info("%s in-use user=%s ip=%s", p->sid, buf_str(&p->login),
		    p->ip);
		pop3_reply(p, "-ERR [IN-USE] Maildrop is locked by another "
		    "POP3 session");
		session_exit(p, 0);
	}
	if (mbox_scan(mb, 1) < 0)
		md_fail(p, "scan");
	/* without UIDs the session still works: UIDLs come from the names */
	if (mbox_uids(mb) < 0)
		log_warn("%s uidlist user=%s error=%s", p->sid,
		    buf_str(&p->login), strerror(errno));
	else if (mb->uid_reset == 2)
		log_warn("%s uidlist user=%s reset uidvalidity=%lu", p->sid,
		    buf_str(&p->login), mb->uidvalidity);
	total = md_sizes(p);
	p->del = calloc(mb->n + 1, 1);
	if (p->del == NULL)
		md_fail(p, "memory");
	log_info("%s maildrop user=%s messages=%zu octets=%llu", p->sid,
	    buf_str(&p->login), mb->n, total);
	pop3_reply(p, "+OK maildrop has %zu messages (%llu octets)", mb->n,
	    total);
}

void
maildrop_run(struct pop3 *p, const char *maildir)
{
	char c = LOGIN_RELAY;

	p->state = ST_TRANS;
	io_init(&p->io, p->ctl, p->ctl, (int)cfg_num(pop3d_timeout));
	/* from here on the login child relays the session to us */
	if (fd_write_all(p->ctl, &c, 1) < 0)
		session_lost(p, "login");
	md_open(p, maildir);
	session_loop(p);
}

/* ---- helpers ------------------------------------------------------------ */

/* Count and size of the messages not marked deleted. */
static void
md_count(struct pop3 *p, size_t *n_r, unsigned long long *size_r)
{
	size_t i;

	*n_r = 0;
	*size_r = 0;
	for (i = 0; i < p->mb.n; i++)
		if (!p->del[i]) {
			(*n_r)++;
			*size_r += p->mb.msg[i].size;
		}
}

/* The message numbered by arg: 1 (index in *i_r), or 0 (-ERR sent). */
static int
md_msg(struct pop3 *p, const char *arg, size_t n, size_t *i_r)
{
	unsigned long num;

	if (!pop3_number(arg, n, &num)) {
		pop3_error(p, "-ERR Invalid message number");
		return 0;
	}
	if (num == 0 || num > p->mb.n || p->del[num - 1]) {
		/* RFC 1939 5: a deleted message may not be referred to */
		pop3_reply(p, "-ERR No such message");
		return 0;
	}
	*i_r = num - 1;
	return 1;
}

/* ---- sending a message ---------------------------------------------------- */

struct sender {
	struct pop3 *p;
	int bol;                /* at the start of a line */
	int cr;                 /* the last byte was CR */
	size_t linebytes;       /* bytes of the current line so far */
	int body;               /* past the header */
	unsigned long lines;    /* body lines sent */
	long long limit;        /* TOP: body lines to send; -1 all */
	int done;
};

/* Send n bytes of message text: LF becomes CRLF (a CRLF stays), a '.' at
 * the start of a line is doubled (RFC 1939 3), and TOP stops after its
 * number of body lines. */
static void
send_text(struct sender *s, const char *b, size_t n)
{
	const char *e = b + n;

	while (b < e && !s->done) {
		const char *nl = memchr(b, '\n', (size_t)(e - b));
		size_t k = (size_t)((nl ? nl : e) - b);
		int empty;

		if (k > 0) {
			if (s->bol && b[0] == '.')
				pop3_put(s->p, ".", 1);
			pop3_put(s->p, b, k);
			s->linebytes += k;
			s->cr = b[k - 1] == '\r';
			s->bol = 0;
		}
		if (nl == NULL)
			break;
		pop3_put(s->p, s->cr ? "\n" : "\r\n", s->cr ? 1 : 2);
		empty = s->linebytes == 0 || (s->linebytes == 1 && s->cr);
		s->bol = 1;
		s->cr = 0;
		s->linebytes = 0;
		if (!s->body) {
			/* the empty line ends the header (RFC 5322 2.1) */
			if (empty) {
				s->body = 1;
				s->done = s->limit == 0;
			}
		} else if (s->limit >= 0 && (long long)++s->lines >= s->limit) {
			s->done = 1;
		}
		b = nl + 1;
	}
}

/* RETR (limit -1) and TOP: the +OK line, the text, the final dot. */
static void
md_send(struct pop3 *p, size_t i, long long limit)
{
	static char buf[SEND_BUF];
	struct sender s = { p, 1, 0, 0, 0, 0, limit, 0 };
	ssize_t r;
	int fd;

	fd = mbox_msg_open(&p->mb, i);
	if (fd < 0) {
		if (errno == ENOENT) {
			/* expunged by an IMAP session meanwhile */
			pop3_reply(p, "-ERR Message no longer exists");
			return;
		}
		log_warn("%s retr user=%s file=%s error=%s", p->sid,
		    buf_str(&p->login), mbox_name(&p->mb, i), strerror(errno));
		pop3_reply(p, "-ERR [SYS/TEMP] Cannot read the message");
		return;
	}
	if (limit < 0)
		pop3_reply(p, "+OK %llu octets", p->mb.msg[i].size);
	else
		pop3_reply(p, "+OK");
	while (!s.done) {
		r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* half a message is out: the session cannot go on */
			log_warn("%s retr user=%s file=%s error=%s", p->sid,
			    buf_str(&p->login), mbox_name(&p->mb, i),
			    strerror(errno));
			(void)close(fd);
			session_exit(p, 0);
		}
		if (r == 0)
			break;
		send_text(&s, buf, (size_t)r);
	}
	(void)close(fd);
	if (!s.bol)
		pop3_put(p, "\r\n", 2);  /* a last line without LF */
	pop3_put(p, ".\r\n", 3);
}

/* ---- the commands ------------------------------------------------------- */

void
md_stat(struct pop3 *p, const char *arg, size_t n)
{
	unsigned long long size;
	size_t count;

	(void)arg;
	(void)n;
	md_count(p, &count, &size);
	/* RFC 1939 5: exactly "+OK nn mm" */
	pop3_reply(p, "+OK %zu %llu", count, size);
}

void
md_list(struct pop3 *p, const char *arg, size_t n)
{
	unsigned long long size;
	size_t i, count;

	if (n > 0) {
		if (md_msg(p, arg, n, &i))
			pop3_reply(p, "+OK %zu %llu", i + 1, p->mb.msg[i].size);
		return;
	}
	md_count(p, &count, &size);
	pop3_reply(p, "+OK %zu messages (%llu octets)", count, size);
	for (i = 0; i < p->mb.n; i++)
		if (!p->del[i])
			pop3_reply(p, "%zu %llu", i + 1, p->mb.msg[i].size);
	pop3_reply(p, ".");
}

void
md_uidl(struct pop3 *p, const char *arg, size_t n)
{
	char uidl[MBOX_UIDL_MAX + 1];
	size_t i;

	if (n > 0) {
		if (!md_msg(p, arg, n, &i))
			return;
		if (mbox_uidl(&p->mb, i, uidl) < 0)
			log_fatal("%s uidl: %s", p->sid, strerror(errno));
		pop3_reply(p, "+OK %zu %s", i + 1, uidl);
		return;
	}
	pop3_reply(p, "+OK");
	for (i = 0; i < p->mb.n; i++) {
		if (p->del[i])
			continue;
		if (mbox_uidl(&p->mb, i, uidl) < 0)
			log_fatal("%s uidl: %s", p->sid, strerror(errno));
		pop3_reply(p, "%zu %s", i + 1, uidl);
	}
	pop3_reply(p, ".");
}

void
md_retr(struct pop3 *p, const char *arg, size_t n)
{
	size_t i;

	if (!md_msg(p, arg, n, &i))
		return;
	p->nretr++;
	md_send(p, i, -1);
}

void
md_top(struct pop3 *p, const char *arg, size_t n)
{
	const char *sp = memchr(arg, ' ', n);
	unsigned long lines;
	size_t i;

	if (sp == NULL || !pop3_number(sp + 1, n - (size_t)(sp - arg) - 1,
	    &lines)) {
		pop3_error(p, "-ERR Syntax: TOP msg lines");
		return;
	}
	if (!md_msg(p, arg, (size_t)(sp - arg), &i))
		return;
	p->ntop++;
	md_send(p, i, (long long)lines);
}

void
md_dele(struct pop3 *p, const char *arg, size_t n)
{
	unsigned long num;

	if (!pop3_number(arg, n, &num)) {
		pop3_error(p, "-ERR Invalid message number");
		return;
	}
	if (num == 0 || num > p->mb.n) {
		pop3_reply(p, "-ERR No such message");
		return;
	}
	if (p->del[num - 1]) {
		pop3_reply(p, "-ERR Message %lu already deleted", num);
		return;
	}
	p->del[num - 1] = 1;
	pop3_reply(p, "+OK Message %lu deleted", num);
}

void
md_noop(struct pop3 *p, const char *arg, size_t n)
{
	(void)arg;
	(void)n;
	pop3_reply(p, "+OK");
}

void
md_rset(struct pop3 *p, const char *arg, size_t n)
{
	unsigned long long size;
	size_t count;

	(void)arg;
	(void)n;
	memset(p->del, 0, p->mb.n);
	md_count(p, &count, &size);
	pop3_reply(p, "+OK maildrop has %zu messages (%llu octets)", count,
	    size);
}

/* QUIT: the UPDATE state (RFC 1939 6). */
void
md_quit(struct pop3 *p)
{
	size_t i, removed = 0, failed = 0;

	for (i = 0; i < p->mb.n; i++) {
		int r;

		if (!p->del[i])
			continue;
		r = mbox_remove(&p->mb, i);
		if (r < 0) {
			log_warn("%s dele user=%s file=%s error=%s", p->sid,
			    buf_str(&p->login), mbox_name(&p->mb, i),
			    strerror(errno));
			failed++;
		} else {
			removed++;  /* or already gone: not there any more */
		}
	}
	/* the removals are durable before we say so */
	if (removed > 0 && mbox_sync(&p->mb) < 0) {
		log_warn("%s sync user=%s error=%s", p->sid, buf_str(&p->login),
		    strerror(errno));
		failed++;  /* not durable: do not say +OK */
	}
	log_info("%s logout user=%s ip=%s retr=%lu top=%lu dele=%zu left=%zu",
	    p->sid, buf_str(&p->login), p->ip, p->nretr, p->ntop, removed,
	    p->mb.n - removed);
	if (failed > 0)
		pop3_reply(p, "-ERR [SYS/TEMP] Some deleted messages not "
		    "removed");
	else if (p->mb.n == removed)
		pop3_reply(p, "+OK %s POP3 server signing off (maildrop empty)",
		    p->host);
	else
		pop3_reply(p, "+OK %s POP3 server signing off (%zu messages "
		    "left)", p->host, p->mb.n - removed);
	session_exit(p, 0);
}
