/*
 * data: the DATA phase of tern-smtpd (RFC 5321 4.1.1.4, 4.5.2).
 *
 * The message is streamed into tern-enqueue as it arrives (LF line ends
 * on disk), after the envelope and our Received header.  Every problem
 * found in the message - a bare LF or CR, an over-long line, too many
 * bytes, too many Received headers - is remembered, tern-enqueue is
 * killed at once (nothing is queued), and the rest of the message is
 * read and thrown away so that the reply comes after the client's final
 * "." and the session stays in step (RFC 5321 4.2.5: the reply to DATA
 * is given only after the end of the data).
 *
 * SMTP smuggling: only CRLF "." CRLF ends the data.  A "." line that
 * follows a line ending in a bare LF (or is itself ended by one) does
 * not, so "<LF>.<CRLF>" or "<CRLF>.<LF>" inside a message can never make
 * us see a second message that an upstream server took for content.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "fsutil.h"
#include "log.h"
#include "smtpd.h"

/* What went wrong in the message; the first reply that applies wins. */
#define DF_BARE  0x01  /* bare LF or CR (RFC 5321 2.3.8) */
#define DF_LONG  0x02  /* line over smtpd_max_line_length (4.5.3.1.6) */
#define DF_SIZE  0x04  /* over message_size_limit (RFC 1870) */
#define DF_HOPS  0x08  /* too many Received headers (RFC 5321 6.3) */
#define DF_ENQ   0x10  /* writing to tern-enqueue failed */

struct dstate {
	unsigned flags;
	int queuing;          /* tern-enqueue is running and fed */
	int prev_crlf;        /* the previous line ended in CRLF */
	int in_header;        /* still in the header section */
	unsigned long hops;   /* Received: fields seen */
	unsigned long size;   /* message octets with CRLF, unstuffed */
};

/* One line as read by data_getline. */
struct dline {
	size_t len;           /* bytes kept in the buffer */
	int over;             /* longer than the buffer: bytes were dropped */
	int crlf;             /* the whole line ended in CR LF */
	int lf;               /* it ended in LF at all (else EOF) */
};

/* Keep what fits of p[0..n) (already consumed) as part of the line. */
static void
dl_keep(char *line, size_t max, struct dline *d, const char *p, size_t n)
{
	size_t room = max - d->len, k = n < room ? n : room;

	memcpy(line + d->len, p, k);
	d->len += k;
	if (k < n)
		d->over = 1;
}

/* Consume take buffered bytes (take <= io_pending) into the line; what
 * does not fit is read into a scratch buffer and dropped. */
static int
dl_consume(struct io *io, char *line, size_t max, struct dline *d,
    size_t take)
{
	char junk[4096];

	while (take > 0) {
		size_t room = max - d->len;
		char *dst = room ? line + d->len : junk;
		size_t k = room ? room : sizeof junk;

		if (k > take)
			k = take;
		if (io_read(io, dst, k) != (ssize_t)k) {
			errno = EIO;  /* cannot happen: the bytes are buffered */
			return -1;
		}
		if (room)
			d->len += k;
		else
			d->over = 1;
		take -= k;
	}
	return 1;
}

/*
 * Read one line of DATA into line (room for max bytes + NUL).  Unlike
 * io_getline this also reports how an over-long line ended: the
 * end-of-data rule needs to know whether the line before "." ended in
 * CRLF even when that line was too long to keep.  It scans the unread
 * part of the io read buffer (rbuf[rpos..rlen), documented in io.h) for
 * the LF and takes exactly that much with io_read, so no byte after the
 * final "." is consumed (it is the next pipelined command).
 * Returns 1, 0 at EOF before any byte, -1 on error (errno).
 */
static int
data_getline(struct io *io, char *line, size_t max, struct dline *d)
{
	char prev = 0, last = 0, c;
	size_t total = 0;

	memset(d, 0, sizeof *d);
	for (;;) {
		size_t avail = io_pending(io), take;
		const char *start, *nl;
		ssize_t r;

		if (avail == 0) {
			/* refill (io flushes our replies first) */
			if ((r = io_read(io, &c, 1)) < 0)
				return -1;
			if (r == 0)
				break;
			dl_keep(line, max, d, &c, 1);
			prev = last;
			last = c;
			total++;
			if (c == '\n')
				break;
			continue;
		}
		start = io->rbuf + io->rpos;
		nl = memchr(start, '\n', avail);
		take = nl ? (size_t)(nl - start) + 1 : avail;
		prev = take >= 2 ? start[take - 2] : last;
		last = start[take - 1];
		total += take;
		if (dl_consume(io, line, max, d, take) < 0)
			return -1;
		if (nl)
			break;
	}
	if (total == 0)
		return 0;
	line[d->len] = '\0';
	d->lf = last == '\n';
	d->crlf = d->lf && prev == '\r';
	return 1;
}

/* Write the Received header (RFC 5321 4.4) into tern-enqueue. */
static int
data_received(struct session *s)
{
	struct buf b = BUF_INIT;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	int r;

	/* RFC 5322 3.3 date-time with a numeric zone; the C locale gives
	 * English day and month names */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	/* From-domain: the HELO name (checked by smtp_helo_ok, so it cannot
	 * break the header) and the TCP-info address literal; the queue id
	 * is not known yet, the session id is what our logs carry */
	r = buf_catf(&b, "Received: from %s (", s->helo);
	if (r > 0 && strcmp(s->ip, "unknown") == 0)
		r = buf_cats(&b, "unknown");
	else if (r > 0)
		r = buf_catf(&b, "[%s%s]", strchr(s->ip, ':') ? "IPv6:" : "",
		    s->ip);
	if (r > 0)
		r = buf_catf(&b, ")\n\tby %s (tern) with %s id %s", s->host,
		    s->esmtp ? "ESMTP" : "SMTP", s->sid);
	/* "for" only with one recipient: the others' addresses are not the
	 * business of each recipient (RFC 5321 7.2) */
	if (r > 0 && s->nrcpt == 1)
		r = buf_catf(&b, "\n\tfor <%s>", s->rcpt[0]);
	if (r > 0)
		r = buf_catf(&b, "; %s\n", date);
	if (r > 0)
		r = enq_write(&s->enq, b.s, b.len);
	buf_free(&b);
	return r > 0 ? 1 : -1;
}

/* Start tern-enqueue and send it the envelope.  1 ok, -1 (logged). */
static int
data_open(struct session *s)
{
	char prog[4096];
	size_t i;

	if (fs_join(prog, sizeof prog, cfg_str("program_dir"),
	    "tern-enqueue") < 0 || enq_open(&s->enq, prog) < 0) {
		log_err("%s enqueue start error=%s", s->sid, strerror(errno));
		return -1;
	}
	if (enq_env(&s->enq, 'F', buf_str(&s->from)) < 0)
		goto fail;
	for (i = 0; i < s->nrcpt; i++)
		if (enq_env(&s->enq, 'R', s->rcpt[i]) < 0)
			goto fail;
	if (enq_env(&s->enq, 'I', s->ip) < 0 ||
	    enq_env(&s->enq, 'H', s->helo) < 0 || enq_env_end(&s->enq) < 0 ||
	    data_received(s) < 0)
		goto fail;
	return 1;
fail:
	log_err("%s enqueue write error=%s", s->sid, strerror(errno));
	enq_abort(&s->enq);
	return -1;
}

/* Stop feeding tern-enqueue: nothing will be queued. */
static void
data_stop(struct session *s, struct dstate *st, unsigned flag)
{
	st->flags |= flag;
	if (st->queuing) {
		enq_abort(&s->enq);
		st->queuing = 0;
	}
}

/* Take one line of the message (line end removed, already unstuffed). */
static void
data_take(struct session *s, struct dstate *st, const char *t, size_t n)
{
	/* RFC 1870 section 4: the size counts CRLF but no stuffing dots */
	st->size += n + 2;
	if (st->size > s->max_size)
		data_stop(s, st, DF_SIZE);
	if (st->in_header) {
		if (n == 0)
			st->in_header = 0;
		/* RFC 5321 6.3: count Received fields to catch loops; ours
		 * makes one more */
		else if (smtp_is_received(t, n) && ++st->hops + 1 > s->max_hops)
			data_stop(s, st, DF_HOPS);
	}
	if (st->queuing && !(st->flags & DF_ENQ) &&
	    (enq_write(&s->enq, t, n) < 0 || enq_write(&s->enq, "\n", 1) < 0)) {
		/* tern-enqueue died or refused: enq_close tells why */
		log_warn("%s enqueue write error=%s", s->sid, strerror(errno));
		st->flags |= DF_ENQ;
	}
}

/* Read the message up to CRLF.CRLF.  Returns when it ended; ends the
 * session on EOF or timeout. */
static void
data_read(struct session *s, struct dstate *st)
{
	for (;;) {
		struct dline d;
		unsigned eol;
		size_t textlen;
		const char *t;
		int r;

		errno = 0;
		r = data_getline(&s->io, s->dline, s->max_line, &d);
		if (r <= 0 || !d.lf) {
			int saved = r > 0 ? 0 : errno;  /* 0: EOF in a line */

			if (st->queuing)
				enq_abort(&s->enq);
			errno = saved;
			session_lost(s, "data");
		}
		if (d.over) {
			/* RFC 5321 4.5.3.1.6: the limit includes the CRLF */
			data_stop(s, st, DF_LONG);
			st->prev_crlf = d.crlf;
			continue;
		}
		eol = smtp_line_end(s->dline, d.len, &textlen);
		if (st->prev_crlf && (eol & SMTP_EOL_CRLF) && textlen == 1 &&
		    s->dline[0] == '.')
			return;  /* CRLF . CRLF: the end (RFC 5321 4.1.1.4) */
		if (eol & (SMTP_EOL_BARELF | SMTP_BARE_CR))
			data_stop(s, st, DF_BARE);
		st->prev_crlf = (eol & SMTP_EOL_CRLF) != 0;
		t = s->dline;
		if (textlen > 0 && t[0] == '.') {
			/* RFC 5321 4.5.2: drop the first of leading dots */
			t++;
			textlen--;
		}
		if (!(st->flags & ~DF_ENQ))
			data_take(s, st, t, textlen);
	}
}

/* The reply for a message refused while reading it. */
static void
data_refuse(struct session *s, const struct dstate *st)
{
	const char *why;
	int code = 554;

	if (st->flags & DF_BARE) {
		why = "barelf";
		smtpd_reply(s, code, "5.6.0", "Error: message contains bare LF "
		    "or CR (RFC 5321 2.3.8)");
	} else if (st->flags & DF_LONG) {
		why = "line";
		smtpd_reply(s, code, "5.6.0", "Error: message has a line "
		    "longer than %lu octets (RFC 5321 4.5.3.1.6)", s->max_line);
	} else if (st->flags & DF_SIZE) {
		why = "size";
		code = 552;
		smtpd_reply(s, code, "5.3.4", "Error: message size exceeds "
		    "fixed limit of %lu bytes", s->max_size);
	} else {
		why = "hops";
		smtpd_reply(s, code, "5.4.6", "Error: too many hops (mail "
		    "loop?)");
	}
	log_info("%s reject stage=data ip=%s from=<%s> nrcpt=%zu reply=%d "
	    "why=%s", s->sid, s->ip, buf_str(&s->from), s->nrcpt, code, why);
}

/* Let tern-enqueue commit and answer for the message. */
static void
data_commit(struct session *s, const struct dstate *st)
{
	char qid[QID_SIZE], err[ENQ_ERR_MAX], safe[ENQ_ERR_MAX];
	int r;

	err[0] = '\0';
	r = enq_close(&s->enq, qid, err, sizeof err);
	log_safe(safe, sizeof safe, err, strlen(err));
	if (r > 0) {
		log_info("%s queued qid=%s from=<%s> nrcpt=%zu size=%lu",
		    s->sid, qid, buf_str(&s->from), s->nrcpt, st->size);
		s->nqueued++;
		s->junk = 0;
		/* 250 only now: tern-enqueue has fsynced the commit */
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else if (r == 0) {
		log_info("%s reject stage=data ip=%s from=<%s> nrcpt=%zu "
		    "reply=554 why=enqueue error=%s", s->sid, s->ip,
		    buf_str(&s->from), s->nrcpt, safe);
		smtpd_reply(s, 554, "5.3.0", "Error: %s",
		    safe[0] ? safe : "message refused");
	} else {
		/* disk full, I/O error, a broken tern-enqueue: temporary */
		log_warn("%s defer stage=data ip=%s from=<%s> nrcpt=%zu "
		    "reply=451 error=%s", s->sid, s->ip, buf_str(&s->from),
		    s->nrcpt, safe);
		smtpd_reply(s, 451, "4.3.0", "Error: %s, try again later",
		    safe[0] ? safe : "queue write failed");
	}
}

void
data_run(struct session *s)
{
	struct dstate st = { 0, 0, 1, 1, 0, 0 };

	if (data_open(s) < 0) {
		smtpd_reply(s, 451, "4.3.0", "Error: queue not available, try "
		    "again later");
		trans_reset(s);
		return;
	}
	st.queuing = 1;
	/* RFC 2034: no enhanced code on 3xx */
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	data_read(s, &st);
	if (st.flags & ~DF_ENQ)
		data_refuse(s, &st);
	else
		data_commit(s, &st);
	trans_reset(s);
}
