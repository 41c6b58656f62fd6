/*
 * b64: strict base64 (RFC 4648 section 4), for SASL exchanges
 * (RFC 4954, RFC 5034, IMAP AUTHENTICATE) and anything else that needs it.
 */
#ifndef TERN_B64_H
#define TERN_B64_H

#include <stddef.h>
#include "util/buf.h"

/* Base64 (RFC 4648) decode/encode; decode rejects bad characters and
 * padding.  1 ok, 0 malformed, -1 ENOMEM.
 * Details: decode replaces out's contents and is strict (no whitespace,
 * length a multiple of 4, zero pad bits; "" decodes to ""; RFC 4954's
 * lone "=" is for the caller); encode appends to out, with padding. */
int b64_decode(const char *s, size_t n, struct buf *out);
int b64_encode(const void *p, size_t n, struct buf *out);

#endif
