/*
 * mime: the MIME structure of a message (RFC 2045, RFC 2046) as an IMAP
 * server needs it: the tree of parts with the offsets of each part's
 * header and body, its Content-Type, and its line count; plus the field
 * lookup, parameter, RFC 2047 and transfer-decoding helpers the FETCH and
 * SEARCH code build on.  Pure functions on (bytes, length).
 *
 * The message is untrusted: any bytes (NULs, 8-bit, bare LF, no empty
 * line after the header) give a tree.  A part's header runs through the
 * first empty line; a part with no empty line is all header.  Nesting
 * is limited to MIME_DEPTH_MAX levels (a deeper multipart or message part
 * becomes an application/octet-stream leaf) and a message to
 * MIME_PARTS_MAX parts (the rest stays inside the last part's body).
 * The tree is built without recursion: parts are appended to one array
 * and parsed in the order they were found.
 *
 * Returns as in all of lib/: 1 ok, 0 not found, -1 error with errno.
 */
#ifndef TERN_MIME_H
#define TERN_MIME_H

#include <stddef.h>
#include "util/buf.h"

#define MIME_DEPTH_MAX 32     /* nesting levels of multipart and message */
#define MIME_PARTS_MAX 10000  /* parts of one message, parts[0] included */
#define MIME_TYPE_MAX 64      /* type and subtype, with the NUL */

#define MIME_NONE ((size_t)-1)

struct mime_part {
	/* The header through the empty line that ends it (the empty line
	 * is included, so hdr_off + hdr_len == body_off always); all of
	 * the part when it has no empty line. */
	size_t hdr_off, hdr_len;
	/* The body: for a multipart, from after the header to the end of
	 * the part (preamble, children, epilogue); for a message part,
	 * the whole inner message. */
	size_t body_off, body_len;
	/* LFs in the body, plus one if it is not empty and does not end
	 * with LF (RFC 3501 7.4.2 body-fld-lines) */
	size_t body_lines;
	/* From Content-Type, as written (compare case-insensitively).
	 * Defaults (RFC 2045 5.2) "text"/"plain", or "message"/"rfc822"
	 * in a multipart digest (RFC 2046 5.1.5); ct_default is 1 then. */
	char type[MIME_TYPE_MAX], subtype[MIME_TYPE_MAX];
	int ct_default;
	/* Offset of the parameter list (from the ";" after the subtype)
	 * to the end of the Content-Type value, still folded; 0/0 none */
	size_t params_off, params_len;
	int is_multipart;  /* multipart/x */
	int is_message;    /* message/rfc822 or message/global (RFC 6532) */
	size_t depth;      /* 0 for parts[0]; children and inner messages +1 */
	size_t parent, first_child, next;  /* indexes into parts[], MIME_NONE */
};

struct mime_msg {
	struct mime_part *parts;  /* parts[0] is the message itself */
	size_t n, cap;
};

#define MIME_MSG_INIT { NULL, 0, 0 }

/*
 * Build the tree of s[0..len) into m (which must be MIME_MSG_INIT or
 * freed; on return it holds at least parts[0]).  A message/rfc822 part
 * has one child: the inner message, whose header and body are the
 * part's body.  1, or -1 ENOMEM (m is then freed).  Never 0.
 */
int mime_parse(struct mime_msg *m, const char *s, size_t len);
/* Release the parts; m is MIME_MSG_INIT again.  NULL-safe. */
void mime_free(struct mime_msg *m);
/* The index of the n-th child (1-based) of part i, or MIME_NONE. */
size_t mime_child(const struct mime_msg *m, size_t i, unsigned long n);

/*
 * The next header field of hdr[0..hlen) at or after *pos: 1 with the name
 * (without the colon and any WSP before it) in name_r/namelen_r and the
 * whole field, continuation lines and line ends included, in
 * *foff_r, *flen_r (offsets into hdr); *pos moves past it.  Lines that are
 * not fields (no colon, a bad name) are skipped.  0 at the end of the
 * header (the empty line or hlen).
 */
int mime_header_next(const char *hdr, size_t hlen, size_t *pos,
    const char **name_r, size_t *namelen_r, size_t *foff_r, size_t *flen_r);
/*
 * The first header field called name (case-insensitive) in hdr[0..hlen):
 * 1 with its value's raw bytes (after the colon, leading white space and
 * folds skipped, up to the line end of its last line: still folded) in
 * *v_r, *vlen_r; 0 none.
 */
int mime_header_find(const char *hdr, size_t hlen, const char *name,
    const char **v_r, size_t *vlen_r);
/* The same from *pos (start with 0), which moves past the field found:
 * each call gives the next field of that name. */
int mime_header_find_next(const char *hdr, size_t hlen, size_t *pos,
    const char *name, const char **v_r, size_t *vlen_r);
/*
 * The parameters of a structured value (Content-Type, Content-Disposition: RFC
 * 2045 5.1) v[0..vlen): everything before the first ";" is skipped, then
 * each ';' name '=' (token / quoted-string), comments skipped.  RFC 2231
 * names (x*0*) are passed as they are.
 * mime_param_next: 1 with the next name and unquoted value copied into
 * name/value (both reset first), *pos moved on (start with 0); 0 at the
 * end; -1 ENOMEM.
 * mime_param: the first parameter called name (case-insensitive): 1 with
 * the value in out (reset first), 0 none, -1 ENOMEM.
 */
int mime_param_next(const char *v, size_t vlen, size_t *pos,
    struct buf *name, struct buf *value);
int mime_param(const char *v, size_t vlen, const char *name, struct buf *out);
/*
 * The first token of a structured value (the disposition type of
 * Content-Disposition, the Content-Transfer-Encoding), CFWS skipped:
 * 1 with *tok_r, *toklen_r pointing into v, 0 none.
 */
int mime_token(const char *v, size_t vlen, const char **tok_r,
    size_t *toklen_r);

/*
 * Unfold v[0..vlen) and decode its RFC 2047 encoded words (B and Q, any
 * charset iconv(3) knows; a word in an unknown charset or malformed stays
 * as it is; white space between two encoded words goes, RFC 2047 6.2)
 * into UTF-8 in out (reset first); bytes that are not UTF-8 become
 * U+FFFD.  1, -1 ENOMEM.
 */
int mime_header_decode(const char *v, size_t vlen, struct buf *out);
/*
 * The decoded text of part i for SEARCH BODY/TEXT (RFC 9051 6.4.4.1):
 * quoted-printable or base64 undone, the charset (Content-Type, default
 * us-ascii) converted to UTF-8 (invalid bytes and unknown charsets: bytes
 * that are not UTF-8 become U+FFFD), appended to out.  Only leaves of type text
 * have text: for others nothing is appended.  1, -1 ENOMEM.
 */
int mime_part_text(const struct mime_msg *m, size_t i, const char *s,
    size_t len, struct buf *out);
/*
 * The body of part i with its Content-Transfer-Encoding undone (base64,
 * quoted-printable; 7bit, 8bit, binary or none as they are), into out
 * (reset first), for IMAP BINARY (RFC 3516).  1, 0 an encoding we do not
 * know (out empty), -1 ENOMEM.
 */
int mime_part_decode(const struct mime_msg *m, size_t i, const char *s,
    size_t len, struct buf *out);
/*
 * RFC 3516 4.4: a message APPENDed as binary (literal8) whose leaf parts
 * say Content-Transfer-Encoding: binary cannot be kept octet for octet
 * in a Maildir (stored with LF line ends, served with CRLF), so those
 * parts get base64 instead, which BINARY[] decodes back to the octets
 * sent.  The message s[0..n) with each such part's CTE field replaced and
 * its body encoded (76 characters a line) goes to out (reset): 1, 0 when
 * no part is binary (out empty), -1 ENOMEM.
 */
int mime_binary_to_base64(const char *s, size_t n, struct buf *out);
/*
 * Convert n bytes in charset cs (a C string) to UTF-8, appended to out;
 * invalid input becomes U+FFFD.  1 ok, 0 charset unknown (nothing
 * appended), -1 ENOMEM.
 */
int mime_charset_utf8(const char *cs, const char *p, size_t n,
    struct buf *out);

#endif
