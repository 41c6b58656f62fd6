/*
 * auth: password checks and SASL PLAIN/LOGIN decoding, shared by
 * tern-smtpd (RFC 4954), tern-pop3d (RFC 1939, 5034) and tern-imapd.
 *
 * Passwords are checked against the hash in the users map with crypt_r
 * (yescrypt, SHA-512 crypt) and a constant-time comparison.  A user that
 * does not exist still costs one hash computation so timing does not
 * tell which addresses exist.
 */
#ifndef TERN_AUTH_H
#define TERN_AUTH_H

#include <stddef.h>
#include "util/b64.h"
#include "util/buf.h"
#include "lookup/local.h"

#define AUTH_USER_MAX 256
#define AUTH_PASS_MAX 1024

/* Check user (a full address, canonicalised here) and password.
 * 1 ok (canon_r gets the canonical address), 0 wrong user or password,
 * -1 temporary error (map I/O).
 * Details: user and pass are C strings of at most AUTH_USER_MAX /
 * AUTH_PASS_MAX bytes (longer, or an empty password: 0); user is
 * brought to the form of local_canon (local.h) with the local part
 * lower-cased, so "DEMO@Example.Test." logs in as demo@example.test and
 * a user without '@' is taken in the first of local_domains; canon_r
 * is that form (the users map's key form), replaced.  Only the users
 * map (lm->users) is consulted; hashes "*..." / "!..." are disabled
 * accounts.  Unknown and disabled users cost one crypt_r too. */
int auth_check(struct local_maps *lm, const char *user, const char *pass,
    struct buf *canon_r);
/* RFC 4616 PLAIN message (already decoded): authzid NUL authcid NUL
 * passwd.  1 ok, 0 malformed (empty authcid or password, too long).
 * Details: the three bufs are replaced; a non-empty authzid must equal
 * authcid byte for byte (no proxy authorisation), else 0; -1 ENOMEM. */
int sasl_plain(const char *msg, size_t n, struct buf *authz,
    struct buf *user, struct buf *pass);

/* One client response of a SASL exchange (RFC 4954 4, RFC 5034 4, RFC
 * 3501 6.2.2), without its line end: "*" cancels, otherwise base64.  With
 * initial set it is an initial response, where a lone "=" stands for the
 * empty response (RFC 4954 4).  SASL_RESP_OK: decoded into out (replaced);
 * SASL_RESP_CANCEL; SASL_RESP_BAD: not base64; -1 ENOMEM. */
#define SASL_RESP_OK 1
#define SASL_RESP_BAD 0
#define SASL_RESP_CANCEL 2
int sasl_response(const char *line, size_t n, int initial, struct buf *out);

#endif
