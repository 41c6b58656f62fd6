/*
 * creds: the login-child protocol of the POP3 (and later IMAP) servers.
 *
 * The login child, which talks to the network and runs with nothing,
 * hands each login attempt to the root parent as one netstring
 * "LEN:user\0password," and gets one byte back.  The parent trusts
 * nothing the child says, so the parser is pure (bytes and limits in,
 * fields out, no I/O) and checks every bound itself.
 */
#ifndef TERN_CREDS_H
#define TERN_CREDS_H

#include <stddef.h>
#include "util/buf.h"

/* The longest netstring for the given limits: 5 digits (user_max +
 * pass_max + 1 must stay below 100000), ':', the payload, ','. */
#define CREDS_WIRE_MAX(user_max, pass_max) ((user_max) + (pass_max) + 8)

/* Append the netstring of user and pass to out.  1 ok, 0 a field is
 * empty or holds a NUL, -1 ENOMEM. */
int creds_encode(struct buf *out, const char *user, size_t ulen,
    const char *pass, size_t plen);

/* Parse one netstring from the n bytes at p.
 * 1: complete; *used_r bytes were taken, user (user_max + 1 bytes) and
 *    pass (pass_max + 1 bytes) hold the NUL-terminated fields;
 * 0: a correct prefix, more bytes are needed;
 * -1: malformed: no digits, a leading zero in a longer length, more than
 *    5 digits, a length over user_max + 1 + pass_max, no ',' at the end,
 *    no NUL or a second NUL in the payload, an empty or over-long field.
 * On 0 and -1 user and pass are left empty. */
int creds_parse(const char *p, size_t n, size_t user_max, size_t pass_max,
    char *user, char *pass, size_t *used_r);

#endif
