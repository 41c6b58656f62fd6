/*
 * msgfmt: the FETCH data of one message built from its MIME tree
 * (mail/mime.h): ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2,
 * RFC 9051 7.5.2), and the BODY[section]<partial> spec (RFC 3501 6.4.5):
 * parsed, named back, and cut out of the message.
 *
 * msg[0..len) is the whole message as served (CRLF line ends), m its
 * mime_parse tree.  utf8: the client enabled UTF8=ACCEPT, so strings may
 * carry UTF-8.  All output is appended to out.  Returns 1, or -1 with
 * errno ENOMEM (0 only where said).
 */
#ifndef TERN_MSGFMT_H
#define TERN_MSGFMT_H

#include <stddef.h>
#include "util/buf.h"
#include "mail/mime.h"

/*
 * The ENVELOPE (without the surrounding parentheses' keyword: the list
 * itself, "(" date subject from sender reply-to to cc bcc in-reply-to
 * message-id ")") of the message (part 0) or of the inner message of the
 * message/rfc822 part "part".  Strings are the unfolded raw values (RFC
 * 2047 words stay encoded, RFC 3501 7.4.2); NIL for missing fields;
 * sender and reply-to default to from; all fields of one name are read
 * as one list (as Dovecot does: a second From cannot hide); groups are
 * (NIL NIL "name" NIL) ... (NIL NIL NIL NIL); a missing local part or
 * domain is "MISSING_MAILBOX" / "MISSING_DOMAIN" (Dovecot's words) so
 * that no mailbox looks like a group marker.
 */
int imap_envelope(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t part, int utf8);
/*
 * BODY (extended 0) or BODYSTRUCTURE (1) of part (0: the message), in
 * RFC 3501 7.4.2 form; type and subtype as written ("TEXT" "PLAIN" when
 * there is no valid Content-Type), ("CHARSET" "us-ascii") added to text
 * parts without one, encoding "7BIT" by default.  A multipart without
 * children gets one empty text/plain part (RFC 3501 needs one; Dovecot
 * does the same).  Recursion follows the tree, at most MIME_DEPTH_MAX.
 */
int imap_bodystructure(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t part, int extended, int utf8);

#define IMAP_SEC_FIELDS_MAX 1000  /* names in one HEADER.FIELDS list */

struct imap_section {
	unsigned long part[MIME_DEPTH_MAX];  /* "1.2.3"; npart 0: the top */
	size_t npart;
	enum imap_sec_kind { IMAP_SEC_ALL, IMAP_SEC_HEADER, IMAP_SEC_FIELDS,
	    IMAP_SEC_FIELDS_NOT, IMAP_SEC_TEXT, IMAP_SEC_MIME } kind;
	struct buf fields;  /* HEADER.FIELDS names, each NUL-terminated */
	size_t nfields;
	int partial;                      /* "<poff.plen>" was given */
	unsigned long long poff, plen;
	size_t speclen;  /* bytes between "[" and "]" as the client wrote */
};

#define IMAP_SECTION_INIT { {0}, 0, IMAP_SEC_ALL, BUF_INIT, 0, 0, 0, 0, 0 }

/*
 * Parse the section spec s[0..n): the bytes right after "BODY[" (or
 * "BODY.PEEK[", "BINARY[") through "]" and an optional "<a.b>"; *used_r
 * gets the bytes taken.  sec must be IMAP_SECTION_INIT or freed; it is
 * reset first.  Field names are astrings (atoms, quoted strings, or
 * literals in the assembled form "{N}\r\n" + N bytes, "{N+}" too).  A
 * partial's numbers are at most 2^32-1 (RFC 3501 number); a length of 0
 * is allowed.  1 ok, 0 syntax error, -1 ENOMEM.
 */
int imap_section_parse(const char *s, size_t n, struct imap_section *sec,
    size_t *used_r);
/* The index in m->parts of the part the section's numbers name (0 for
 * none: the whole message), or MIME_NONE when there is no such part. */
size_t imap_section_part(const struct mime_msg *m,
    const struct imap_section *sec);
/* Release the field list; sec is IMAP_SECTION_INIT again.  NULL-safe. */
void imap_section_free(struct imap_section *sec);
/* The section's name for the response, e.g. "1.2.HEADER.FIELDS (FROM
 * TO)" (names upper-cased as Dovecot does), no brackets, no partial. */
int imap_section_name(struct buf *out, const struct imap_section *sec);
/*
 * The bytes of the section before the partial is applied: a slice of msg
 * (*p_r, *n_r; out untouched), or for HEADER.FIELDS[.NOT] the matching
 * fields (each whole, continuation lines kept) and the empty line that
 * ends a header, built in out (reset first) with *p_r = out->s.
 * BODY[] is the message; HEADER/TEXT of the message or of a
 * message/rfc822 part's inner message; part 1 of a non-multipart message
 * is its body; N.MIME the part's own header; BODY[N] of a message part
 * is its whole inner message.  A part that does not exist, or HEADER or
 * TEXT of a part that is not a message, gives 1 and an empty result, as
 * Dovecot answers (RFC 3501 does not say; an empty string lets the
 * client go on).  1, -1 ENOMEM.
 */
int imap_section_get(const char *msg, size_t len, const struct mime_msg *m,
    const struct imap_section *sec, struct buf *out, const char **p_r,
    size_t *n_r);

#endif
