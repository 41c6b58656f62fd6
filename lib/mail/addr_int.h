/*
 * addr_int: what addr.c (local parts, paths) and addr_domain.c (domains,
 * address literals, UTF-8) share.  Not for use outside lib/mail/addr*.c.
 */
#ifndef TERN_ADDR_INT_H
#define TERN_ADDR_INT_H

#include <stddef.h>
#include "util/buf.h"

/* RFC 1035 2.3.4: labels are at most 63 octets */
#define LABEL_MAX 63

/* The parse state: the bytes left, the ADDR_* flags, the error text. */
struct ap {
	const unsigned char *p, *end;
	int flags;
	const char *err;
};

/* Set the error text; returns 0 (a syntax error). */
int addrp_fail(struct ap *a, const char *msg);
/* The error for the byte at a->p (control character, space, 8-bit ...),
 * else what; returns 0. */
int addrp_bad_byte(struct ap *a, const char *what);
/* Length of the well-formed UTF-8 sequence of a non-ASCII character at
 * p (< end), or 0. */
size_t addrp_utf8_len(const unsigned char *p, const unsigned char *end);
/* Domain or address-literal at a->p, canonical, appended to out.
 * 1, 0 (a->err), -1 ENOMEM. */
int addrp_domain(struct ap *a, struct buf *out);

#endif
