/*
 * data: the DATA phase of tern-smtpd (RFC 5321 4.1.1.4, 4.5.2).
 *
 * The bytes are cut into lines by the pure state machine of
 * lib/mail/dataparse (line ends, dot-unstuffing, the end of data, the
 * line length limit), fed straight from the io read buffer through
 * io_peek/io_skip so that no byte after the final "." is taken: it is
 * the next pipelined command.  Each line is streamed into tern-enqueue
 * through message.c (LF line ends on disk).  Every problem found in the
 * message - a bare CR, an over-long line, too many bytes, too many
 * Received headers - is remembered, tern-enqueue is killed at once
 * (nothing is queued), and the rest of the message is read and thrown
 * away so that the reply comes after the client's final "." and the
 * session stays in step (RFC 5321 4.2.5: the reply to DATA is given
 * only after the end of the data).
 *
 * Bare LF line ends are taken as line ends (curl --upload-file, Python's
 * smtplib with LF content; doc/VIOLATIONS.md), yet only CR LF "." CR LF
 * ends the data: "<LF>.<LF>", "<LF>.<CRLF>" and "<CRLF>.<LF>" are
 * content, so what an upstream server took for content can never make
 * us see a second message (SMTP smuggling).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "mail/dataparse.h"
#include "smtpd.h"

/* One complete line of the message. */
static void
data_line(struct session *s, const struct dataparse_line *l, int *lf_seen)
{
	if ((l->flags & SMTP_EOL_BARELF) && !(*lf_seen)++)
		log_info("%s barelf stage=data ip=%s", s->sid, s->ip);
	if (l->flags & DATAPARSE_LONG) {
		/* RFC 5321 4.5.3.1.6: the limit includes the CRLF */
		msg_refuse(s, DF_LONG);
		return;
	}
	msg_line(s, l->text, l->len, l->flags);
}

/* Read the message up to CRLF.CRLF.  Returns when it ended; ends the
 * session on EOF, timeout or the session time limit. */
static void
data_read(struct session *s)
{
	struct dataparse dp;
	int lf_seen = 0;

	dataparse_init(&dp, s->dline, s->max_line);
	for (;;) {
		struct dataparse_line l;
		const char *p;
		ssize_t n;
		size_t used;
		int r;

		session_clock(s, s->data_timeout);
		errno = 0;
		if ((n = io_peek(&s->io, &p)) <= 0)
			session_lost(s, "data");  /* EOF (errno 0) or error */
		r = dataparse_feed(&dp, p, (size_t)n, &used, &l);
		io_skip(&s->io, used);
		if (r == DATAPARSE_END)
			return;
		if (r == DATAPARSE_LINE)
			data_line(s, &l, &lf_seen);
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
