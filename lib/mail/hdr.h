/*
 * hdr: RFC 5322 header section helpers, pure functions on (bytes, len).
 *
 * Used by tern-sendmail (-t, missing From/Date/Message-ID) and by anything
 * else that needs to look at a message's header fields.  Input may have
 * LF or CRLF line ends.  Nothing here allocates except into a struct buf
 * given by the caller, and every loop is bounded by the input length.
 */
#ifndef TERN_HDR_H
#define TERN_HDR_H

#include <stddef.h>
#include "util/buf.h"

#define HDR_NAME_MAX 256        /* longest field name we look at */
#define HDR_ADDR_MAX 256        /* RFC 5321 4.5.3.1.3: a path */
#define HDR_COMMENT_DEPTH 32    /* nested comments (RFC 5322 3.2.2) */

/* One header field: name[0..namelen) without the colon; value[0..vlen)
 * after the colon up to (not including) the line end of its last line,
 * still folded; the whole field with its line ends is start[0..len). */
struct hdr_field {
	const char *start;
	size_t len;
	const char *name;
	size_t namelen;
	const char *value;
	size_t vlen;
};

/*
 * The field starting at offset *pos of the header section h[0..n).
 * 1 a field (f set, *pos moved past it and its continuation lines);
 * 0 end of the header section: *pos is at the empty line that ends it
 * (or at n), or at a line that is not a field ("no colon", "bad name"),
 * which then starts the body.  Never -1.
 */
int hdr_next(const char *h, size_t n, size_t *pos, struct hdr_field *f);
/* 1 if the field's name is name (ASCII case-insensitive), else 0 */
int hdr_is(const struct hdr_field *f, const char *name);
/* 1 if the header section h[0..n) has a field called name, else 0 */
int hdr_has(const char *h, size_t n, const char *name);
/*
 * The end of the header section of msg[0..n): *hlen_r is the length of
 * the fields (what hdr_next walks); *body_r the offset of the body (past
 * the empty line when there is one).  Returns 1 when an empty line ends
 * the section, 0 when there is none (all of msg is fields, or a line that
 * is not a field starts the body at *body_r == *hlen_r).
 */
int hdr_end(const char *msg, size_t n, size_t *hlen_r, size_t *body_r);
/*
 * Unfold a field value (RFC 5322 2.2.3: a line end followed by a space or
 * tab is removed) and cut the spaces at both ends, appending to out.
 * 1 or -1 (ENOMEM).
 */
int hdr_unfold(struct buf *out, const char *v, size_t n);
/*
 * Extract the addr-specs of an address-list (RFC 5322 3.4: To, Cc, Bcc,
 * Resent-*), folded or not: mailboxes "a@b", name-addrs "Name <a@b>",
 * groups "name: a@b, c@d;", with comments and quoted strings anywhere
 * they are allowed and obsolete routes "<@x,@y:a@b>" (route dropped).
 * Each address is appended to out followed by '\n' exactly as written
 * minus comments and folding white space (a quoted local part keeps its
 * quotes: canonicalise with addr_parse).  An address without "@" (a bare
 * local part as in "To: root") is returned as is for the caller to
 * qualify.  Empty list elements and empty groups are skipped.
 * Returns the number of addresses appended (0 or more) or -1: EINVAL for
 * a syntax error (*errmsg_r names it), EMSGSIZE for an address longer
 * than HDR_ADDR_MAX, E2BIG for more than max addresses, ENOMEM.
 */
int hdr_addrlist(const char *v, size_t n, size_t max, struct buf *out,
    const char **errmsg_r);

#endif
