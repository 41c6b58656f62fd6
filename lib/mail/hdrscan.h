/*
 * hdrscan: what tern-sendmail needs from a message's header section and
 * its recipient arguments, as pure functions: bytes, length and limits
 * in, a result out; no I/O, no configuration (the domain that qualifies
 * bare addresses is an argument).  Unit-tested in tests/unit/test_hdrscan.
 *
 * A recipient list holds canonical addresses (addr_parse), qualified,
 * without duplicates, in the order first seen, each followed by a NUL.
 *
 * Return convention: 1 ok, 0 refused input (*errmsg_r a static text, or
 * errbuf filled), -1 ENOMEM.
 */
#ifndef TERN_HDRSCAN_H
#define TERN_HDRSCAN_H

#include <stddef.h>
#include "util/buf.h"

#define HDRSCAN_ERR_MAX 200     /* room for the text of a refusal */

struct hdr_rcpts {
	struct buf list;        /* "a@x\0b@y\0" */
	size_t n;
	size_t max;             /* more than max recipients is refused */
};

/* What hdr_scan found. */
struct hdr_scan {
	struct buf keep;        /* the header section without Bcc fields */
	int has_from, has_date, has_msgid;
};

#define HDRSCAN_RCPTS 0x01      /* -t: To, Cc, Bcc into the recipient list */

/* Start an empty list of at most max recipients; release with
 * hdr_rcpts_free (safe on a list never added to). */
void hdr_rcpts_init(struct hdr_rcpts *r, size_t max);
void hdr_rcpts_free(struct hdr_rcpts *r);

/*
 * Add every address of the address-list text a[0..n) (RFC 5322 3.4, as a
 * recipient argument or a To/Cc/Bcc value may be: "Name <a@x>, b") to r.
 * An address without "@" is qualified with "@" domain.  Duplicates of an
 * address already in r are dropped.  0 with err (size HDRSCAN_ERR_MAX)
 * set for a bad list, a bad address or too many recipients.
 */
int hdr_rcpts_add(struct hdr_rcpts *r, const char *a, size_t n,
    const char *domain, char *err);

/*
 * Scan the header section h[0..n) (fields only, LF or CRLF line ends,
 * as hdr_next walks it; at most max bytes): keep every field but Bcc in
 * out->keep, note From, Date and Message-ID, and with HDRSCAN_RCPTS add
 * the addresses of To, Cc and Bcc to rcpts (qualified with domain).
 * Resent- fields are not read.  out->keep must start empty (BUF_INIT).
 * 0 with err set: header over max, or as hdr_rcpts_add.
 */
int hdr_scan(const char *h, size_t n, size_t max, int flags,
    const char *domain, struct hdr_rcpts *rcpts, struct hdr_scan *out,
    char *err);

#endif
