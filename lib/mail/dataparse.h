/*
 * dataparse: the content of SMTP DATA (RFC 5321 4.1.1.4, 4.5.2) as a pure
 * state machine: line ends, dot-unstuffing, the end of data and the line
 * length limit.  No I/O, no configuration: the caller feeds the bytes as
 * they arrive, in pieces of any size, and gets one line at a time.
 *
 * Line ends: CR LF, and also a bare LF (taken as a line end, as Postfix's
 * smtpd_forbid_bare_newline = normalize does; doc/VIOLATIONS.md).  A CR
 * that is not followed by LF is no line end: it stays in the text and is
 * flagged (SMTP_BARE_CR), so that the caller can refuse the message.
 *
 * The end of data is CR LF "." CR LF and nothing else: the line before
 * the "." must have ended in CR LF (the DATA command counts as one) and
 * the "." line itself must end in CR LF.  So "<LF>.<LF>", "<LF>.<CRLF>"
 * and "<CRLF>.<LF>" are content (SMTP smuggling: what an upstream server
 * took for content can never end our data and start a second message).
 *
 * Dot-unstuffing (RFC 5321 4.5.2): the first "." of every line that
 * starts with one is removed, however the line before it ended.
 *
 * Length (RFC 5321 4.5.3.1.6): a line counts as its bytes as sent
 * (stuffing dot included) plus 2 for its CRLF, whether it ended in CRLF
 * or in a bare LF.  A line over the limit is flagged DATAPARSE_LONG and
 * its text holds only the start; its end is still found, so the end of
 * data is never missed.
 *
 * Returns of dataparse_feed: DATAPARSE_MORE, DATAPARSE_LINE or
 * DATAPARSE_END (below); it cannot fail.
 */
#ifndef TERN_DATAPARSE_H
#define TERN_DATAPARSE_H

#include <stddef.h>

#include "mail/smtpparse.h"

/* Line flags, besides SMTP_EOL_CRLF, SMTP_EOL_BARELF and SMTP_BARE_CR. */
#define DATAPARSE_LONG 0x10  /* over the limit: text is only its start */
#define DATAPARSE_DOT  0x20  /* a leading stuffing dot was removed */

/* What dataparse_feed found. */
#define DATAPARSE_MORE 0     /* every byte was used; feed more */
#define DATAPARSE_LINE 1     /* a line is complete */
#define DATAPARSE_END  2     /* CR LF . CR LF: the end of data */

struct dataparse {
	char *line;           /* the caller's buffer, max + 1 bytes */
	size_t max;           /* longest line, counted with a CR LF */
	size_t len;           /* text bytes kept in line */
	size_t seen;          /* text bytes seen (kept or not) */
	unsigned flags;       /* flags of the line so far */
	int first;            /* the line's first byte, -1 before it */
	int cr;               /* the last byte was a CR not yet placed */
	int after_crlf;       /* the previous line ended in CR LF */
};

/* One complete line: its text without the line end and the stuffing
 * dot, NUL-terminated; valid until the next dataparse_feed. */
struct dataparse_line {
	const char *text;
	size_t len;
	unsigned flags;       /* SMTP_EOL_CRLF or SMTP_EOL_BARELF, maybe
			       * SMTP_BARE_CR, DATAPARSE_LONG, DATAPARSE_DOT */
};

/* Start at the beginning of the data (right after the DATA command's
 * CR LF).  line must have room for max + 1 bytes; max is the longest
 * line with its CR LF (RFC 5321 4.5.3.1.6: 1000). */
void dataparse_init(struct dataparse *p, char *line, size_t max);

/*
 * Take bytes b[0..n) until a line is complete or the data ends.  *used_r
 * is set to how many were taken: all n for DATAPARSE_MORE; for
 * DATAPARSE_LINE up to and including the line's LF (*l_r is set); for
 * DATAPARSE_END up to and including the final LF, so that no byte after
 * the end (a pipelined command) is taken.  After DATAPARSE_END, call
 * dataparse_init before feeding another message.
 */
int dataparse_feed(struct dataparse *p, const char *b, size_t n,
    size_t *used_r, struct dataparse_line *l_r);

#endif
