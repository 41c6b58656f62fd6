/*
 * data: the DATA phase of tern-smtpd (RFC 5321 4.1.1.4, 4.5.2).
 *
 * The message is streamed into tern-enqueue as it arrives (LF line ends
 * on disk) through message.c.  Every problem found in the message - a
 * bare LF or CR, an over-long line, too many bytes, too many Received
 * headers - is remembered, tern-enqueue is killed at once (nothing is
 * queued), and the rest of the message is
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

#include "smtpd.h"

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


/* Read the message up to CRLF.CRLF into msg_line.  Returns when it
 * ended; ends the session on EOF, timeout or the session time limit. */
static void
data_read(struct session *s)
{
	int prev_crlf = 1;   /* the DATA line itself ended in CRLF */

	for (;;) {
		struct dline d;
		unsigned eol;
		size_t textlen;
		const char *t;
		int r;

		session_clock(s, s->data_timeout);
		errno = 0;
		r = data_getline(&s->io, s->dline, s->max_line, &d);
		if (r <= 0 || !d.lf) {
			if (r > 0)
				errno = 0;  /* EOF inside a line */
			session_lost(s, "data");
		}
		if (d.over) {
			/* RFC 5321 4.5.3.1.6: the limit includes the CRLF */
			msg_refuse(s, DF_LONG);
			prev_crlf = d.crlf;
			continue;
		}
		eol = smtp_line_end(s->dline, d.len, &textlen);
		if (prev_crlf && (eol & SMTP_EOL_CRLF) && textlen == 1 &&
		    s->dline[0] == '.')
			return;  /* CRLF . CRLF: the end (RFC 5321 4.1.1.4) */
		prev_crlf = (eol & SMTP_EOL_CRLF) != 0;
		t = s->dline;
		if (textlen > 0 && t[0] == '.') {
			/* RFC 5321 4.5.2: drop the first of leading dots */
			t++;
			textlen--;
		}
		msg_line(s, t, textlen, eol);
	}
}

void
data_run(struct session *s)
{
	if (msg_open(s) < 0) {
		smtpd_reply(s, 451, "4.3.0", "Error: queue not available, try "
		    "again later");
		trans_reset(s);
		return;
	}
	/* RFC 2034: no enhanced code on 3xx */
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	data_read(s);
	msg_finish(s);
	trans_reset(s);
	session_clock(s, s->cmd_timeout);
}
