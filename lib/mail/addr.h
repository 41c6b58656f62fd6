/*
 * addr: RFC 5321 mailbox and path parsing, pure functions on (bytes, len).
 *
 * Canonical form of an address: local@domain where the domain is lower
 * case, a trailing dot removed, and the local part unquoted when quoting
 * is not needed (RFC 5321 4.1.2: "a"@x and a@x are the same mailbox).
 * The null reverse-path "<>" is the empty string.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stddef.h>
#include "util/buf.h"

#define ADDR_MAX_LOCAL 64    /* RFC 5321 4.5.3.1.1 */
#define ADDR_MAX_DOMAIN 255  /* RFC 5321 4.5.3.1.2 */
#define ADDR_MAX_PATH 256    /* RFC 5321 4.5.3.1.3, with the brackets */

#define ADDR_UTF8 0x01       /* accept UTF-8 in local part and domain (RFC 6531) */
#define ADDR_NULL_OK 0x02    /* "<>" allowed (reverse-path) */
#define ADDR_POSTMASTER 0x04 /* bare "<Postmaster>" allowed (RCPT, 4.1.1.3) */

/*
 * Parse a path at s[0..n) as found after "MAIL FROM:" or "RCPT TO:":
 * optional spaces (tolerated, see doc/VIOLATIONS.md), "<", an optional
 * source route "@a,@b:" (ignored, RFC 5321 4.1.2 / Appendix C),
 * a mailbox, ">".  The canonical address goes into addr_r; *rest_r points
 * just past the ">" (the ESMTP parameters follow).
 * Returns 1 ok, 0 syntax error (errmsg_r set to a static text for the
 * reply), never -1 except for ENOMEM.
 */
int addr_parse_path(const char *s, size_t n, int flags, struct buf *addr_r,
    const char **rest_r, const char **errmsg_r);
/* Parse a bare mailbox (no brackets), e.g. from a command-line argument
 * or a map file.  Same returns. */
int addr_parse(const char *s, size_t n, int flags, struct buf *addr_r,
    const char **errmsg_r);
/* The domain part of a canonical address (after the last '@'), or "" */
const char *addr_domain(const char *addr);
/* Split local part at the first delimiter character from delims (e.g.
 * "+"): *baselen_r is the length of the local part before it, or the
 * whole local part when there is none. */
void addr_base_local(const char *addr, const char *delims, size_t *baselen_r,
    size_t *locallen_r);
/* 1 if the domain of addr is an address literal ([1.2.3.4]) */
int addr_is_literal(const char *domain);

#endif
