/*
 * bdat: the BDAT command of CHUNKING (RFC 3030).
 *
 * "BDAT size [LAST]" is followed by exactly size octets of message, with
 * no dot-stuffing and no end marker; the reply comes after the octets.
 * Whatever the answer, the octets are read (and thrown away when the
 * chunk is refused), or the session would take message bytes for
 * commands.  Only a BDAT line whose size we cannot read leaves us out of
 * step: it gets 501 and the connection is closed.
 *
 * The octets are cut into lines here and go through message.c like the
 * lines of DATA, so the same checks apply: line ends (a bare LF is a
 * line end, a bare CR is refused, as for DATA), line length, size, hops.  A line
 * may span chunks.  A refused message is answered at once and the
 * transaction reset (RFC 3030 2: the client sends no more chunks after
 * an error reply; any that come get 503 and are discarded).  So is a
 * message whose tern-enqueue failed while a chunk was written to it: the
 * chunk gets 451 (or 554 if tern-enqueue said the failure is permanent).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "smtpd.h"

/* Take a piece of a line, p[0..n), which ends with its LF when nl. */
static void
bdat_piece(struct session *s, const char *p, size_t n, int nl)
{
	struct msgstate *ms = &s->ms;
	size_t textlen;
	unsigned eol;

	if (ms->partial_over || n > s->max_line - ms->partial) {
		ms->partial_over = 1;
	} else {
		memcpy(s->dline + ms->partial, p, n);
		ms->partial += n;
	}
	if (!nl)
		return;
	if (ms->partial_over) {
		/* RFC 5321 4.5.3.1.6: the limit includes the CRLF */
		msg_refuse(s, DF_LONG);
	} else {
		eol = smtp_line_end(s->dline, ms->partial, &textlen);
		/* the text plus a CR LF must fit, whatever line end came,
		 * as in DATA (lib/mail/dataparse.c) */
		if (textlen + 2 > s->max_line)
			msg_refuse(s, DF_LONG);
		else
			msg_line(s, s->dline, textlen, eol);
	}
	ms->partial = 0;
	ms->partial_over = 0;
}

/* Message octets p[0..n) of an accepted chunk. */
static void
bdat_bytes(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;

		bdat_piece(s, p, k, nl != NULL);
		p += k;
		n -= k;
	}
}

/* Read the size octets of a chunk; feed them to the message when take
 * is 1, else drop them.  Ends the session on EOF or timeout. */
static void
bdat_read(struct session *s, unsigned long long size, int take)
{
	char buf[8192];

	while (size > 0) {
		size_t want = size < sizeof buf ? (size_t)size : sizeof buf;
		ssize_t r;

		session_clock(s, s->data_timeout);
		errno = 0;
		r = io_read(&s->io, buf, want);
		if (r <= 0)
			session_lost(s, "bdat");
		if (take)
			bdat_bytes(s, buf, (size_t)r);
		size -= (unsigned long long)r;
	}
}

/* 1 if a chunk may be taken now; else the reply is queued (after the
 * chunk has been read, the caller sends it). */
static int
bdat_allowed(struct session *s)
{
	if (s->mode != MODE_MX && !s->authed)
		smtpd_error(s, 530, "5.7.0", "Error: authentication required");
	else if (s->state == ST_GREET)
		smtpd_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
	else if (s->state != ST_MAIL)
		smtpd_error(s, 503, "5.5.1", "Error: need MAIL command");
	else if (s->nrcpt == 0 && s->rcpt_tries > 0)
		smtpd_error(s, 554, "5.5.1", "Error: no valid recipients");
	else if (s->nrcpt == 0)
		smtpd_error(s, 503, "5.5.1", "Error: need RCPT command");
	else
		return 1;
	return 0;
}

void
cmd_bdat(struct session *s, const char *arg, size_t n)
{
	unsigned long long size;
	int last;

	if (!smtp_bdat_arg(arg, n, &size, &last)) {
		log_info("%s close reason=bdat ip=%s", s->sid, s->ip);
		smtpd_error(s, 501, "5.5.4", "Syntax: BDAT size [LAST]; "
		    "closing, the chunk cannot be found");
		session_exit(s, 0);
	}
	if (!bdat_allowed(s)) {
		/* the reply is queued; it goes out after the chunk */
		msg_abort(s);
		bdat_read(s, size, 0);
		return;
	}
	if (!s->msg_open) {
		if (msg_open(s) < 0) {
			bdat_read(s, size, 0);
			smtpd_reply(s, 451, "4.3.0", "Error: queue not "
			    "available, try again later");
			trans_reset(s);
			return;
		}
		s->ms.bdat = 1;
	}
	bdat_read(s, size, 1);
	if (last && (s->ms.partial > 0 || s->ms.partial_over))
		bdat_piece(s, "", 0, 1);  /* a last line without CRLF */
	/* a refused message, or a tern-enqueue that failed (DF_ENQ: it
	 * died or gave up; msg_finish gets its answer, 451 or 554): the
	 * reply now, at this chunk, not a 250 for octets nobody keeps */
	if (last || s->ms.flags) {
		msg_finish(s);
		trans_reset(s);
		return;
	}
	smtpd_reply(s, 250, "2.0.0", "Ok: %llu octets received", size);
}
