/*
 * istr: strings in IMAP responses (RFC 3501 4.3 and 9, RFC 9051 4.3):
 * quoted when that is safe, a literal otherwise, NIL for a missing
 * nstring, a bare atom for an astring when every byte allows it.
 * All append to out and return 1, or -1 ENOMEM.
 */
#ifndef TERN_ISTR_H
#define TERN_ISTR_H

#include <stddef.h>
#include "util/buf.h"

#define IMAP_QUOTED_MAX 1024  /* longer strings go as literals */

/* s[0..n) as a quoted string ("\" and the quote escaped) when n <
 * IMAP_QUOTED_MAX and it has no CR, LF or NUL and no 8-bit byte (with
 * utf8 1, valid UTF-8 is allowed: RFC 9051 quoted, RFC 6855); else as a
 * literal "{n}\r\n" and the bytes. */
int imap_put_string(struct buf *out, const char *s, size_t n, int utf8);
/* As imap_put_string; s == NULL gives NIL. */
int imap_put_nstring(struct buf *out, const char *s, size_t n, int utf8);
/* An atom when n > 0 and every byte is an ASTRING-CHAR, else as
 * imap_put_string. */
int imap_put_astring(struct buf *out, const char *s, size_t n, int utf8);
/* (imap_utf8_valid, the UTF-8 check: lib/imap/parse.h) */

#endif
