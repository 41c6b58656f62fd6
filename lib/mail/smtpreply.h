/*
 * smtpreply: the client side's pure parsers of SMTP replies (RFC 5321
 * 4.2) and of the EHLO keywords (RFC 5321 4.1.1.1 and the extensions'
 * RFCs), for tern-remote and tern-sendmail's SMTP mode.
 *
 * A reply is one or more lines "NNN-text" ... "NNN text" (or bare
 * "NNN").  Lines are fed one at a time, without their CRLF (or LF);
 * every line and the whole reply are bounded, and a reply whose lines
 * disagree on the code, or whose code is not 2xx-5xx, is malformed.
 * Pure: bytes and lengths in, structs out; no I/O.
 */
#ifndef TERN_SMTPREPLY_H
#define TERN_SMTPREPLY_H

#include <stddef.h>

#define SMTP_REPLY_LINE_MAX 2048  /* RFC 5321 4.5.3.1.5 says 512; be lenient */
#define SMTP_REPLY_LINES_MAX 100  /* lines of one reply */
#define SMTP_REPLY_TEXT_MAX 4096  /* bytes of text kept, all lines */
#define SMTP_STATUS_SIZE 12       /* "5.123.123" + NUL (RFC 3463) */

struct smtp_reply {
	int code;                  /* 200..599; 0 before the first line */
	char status[SMTP_STATUS_SIZE]; /* enhanced code of the first line, or "" */
	/* the texts of the lines (after "NNN-" / "NNN "), joined with '\n';
	 * control characters and non-ASCII bytes made '?'; cut at
	 * SMTP_REPLY_TEXT_MAX (a longer reply is not an error) */
	char text[SMTP_REPLY_TEXT_MAX + 1];
	size_t textlen;
	size_t nlines;
	int done;                  /* the last line was seen */
};

void smtp_reply_init(struct smtp_reply *r);
/*
 * Feed one line s[0..n) (a trailing CR, if any, is ignored).
 * 1 more lines follow, 2 the reply is complete, 0 malformed (no code,
 * a code that differs from the first line's, a separator other than
 * '-' or ' ', too many lines, a line over SMTP_REPLY_LINE_MAX, or a
 * line fed after the reply was complete).
 */
int smtp_reply_line(struct smtp_reply *r, const char *s, size_t n);
/*
 * The reply as one log-safe line into out (outsz bytes): "550 5.1.1
 * text of first line text of second ...", the lines joined with a
 * space; cut to fit.  Returns out.
 */
const char *smtp_reply_str(const struct smtp_reply *r, char *out,
    size_t outsz);

/* EHLO extensions (struct smtp_ext flags) */
#define SMTP_EXT_PIPELINING 0x001  /* RFC 2920 */
#define SMTP_EXT_SIZE       0x002  /* RFC 1870 */
#define SMTP_EXT_8BITMIME   0x004  /* RFC 6152 */
#define SMTP_EXT_SMTPUTF8   0x008  /* RFC 6531 */
#define SMTP_EXT_DSN        0x010  /* RFC 3461 */
#define SMTP_EXT_STARTTLS   0x020  /* RFC 3207 */
#define SMTP_EXT_AUTH       0x040  /* RFC 4954 */
#define SMTP_EXT_CHUNKING   0x080  /* RFC 3030 */
#define SMTP_EXT_ENHANCED   0x100  /* RFC 2034 ENHANCEDSTATUSCODES */

/* AUTH mechanisms (struct smtp_ext auth) */
#define SMTP_AUTH_PLAIN 0x01
#define SMTP_AUTH_LOGIN 0x02

struct smtp_ext {
	unsigned flags;            /* SMTP_EXT_* */
	unsigned long size;        /* SIZE's limit; 0 none given */
	unsigned auth;             /* SMTP_AUTH_* offered */
};

/*
 * The extensions of a complete 250 reply to EHLO (the first line is the
 * server's name and is skipped; keywords are case-insensitive; "AUTH=..."
 * the old form counts as AUTH).  Unknown keywords are ignored.  1 ok,
 * 0 not a complete 2xx reply.
 */
int smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *x);

#endif
