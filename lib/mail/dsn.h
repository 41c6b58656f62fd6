/*
 * dsn: delivery status notifications (bounces), RFC 3464.
 *
 * A bounce is a multipart/report message (RFC 6522) with
 * report-type=delivery-status and three parts: a human-readable text, the
 * message/delivery-status fields (per-message, then one block per failed
 * recipient), and the original message's header section as
 * text/rfc822-headers.  The message is built with LF line ends, as the
 * queue stores messages; tern-queued hands it to tern-enqueue with the
 * null sender (RFC 5321 4.5.5), so a bounce never causes another bounce
 * to a sender.
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"

#define DSN_HDR_MAX (64 * 1024) /* bytes of original headers returned */
#define DSN_STATUS_SIZE 12      /* "5.123.123" + NUL, RFC 3463 2 */
#define DSN_DATE_SIZE 40        /* an RFC 5322 3.3 date-time + NUL */

struct dsn_rcpt {
	const char *addr;       /* the failed recipient (Final-Recipient) */
	const char *status;     /* RFC 3463 code, e.g. "5.1.1" */
	const char *diag;       /* last result text, may be NULL */
	time_t last;            /* last attempt (Last-Attempt-Date), 0 none */
};

struct dsn {
	const char *host;       /* Reporting-MTA; From: MAILER-DAEMON@host */
	const char *qid;        /* the original message's queue id */
	const char *to;         /* recipient of the bounce */
	const char *orig_sender;/* the original envelope sender ("" for <>) */
	int postmaster_copy;    /* 1: a double bounce sent to the postmaster */
	time_t arrival;         /* Arrival-Date of the original */
	time_t now;             /* Date: of the bounce */
	const struct dsn_rcpt *rcpt;
	size_t nrcpt;
	const char *hdr;        /* original header section (may be NULL) */
	size_t hlen;
};

/*
 * Append the whole bounce (header and body, LF line ends) to out.  Text
 * taken from the queue (addresses, diagnostics, original headers) is
 * bounded and cleaned here: control characters become '?', so no field
 * can be split or injected.  1 or -1 (ENOMEM).
 */
int dsn_format(struct buf *out, const struct dsn *d);

/*
 * The RFC 3463 status code at the start of a result text ("5.1.1 text" or
 * "550 5.1.1 text"), copied into out.  Returns 1 when one was found, 0
 * when not: out then holds the default "5.0.0" (permanent) or "4.0.0".
 */
int dsn_status(const char *text, int permanent, char out[DSN_STATUS_SIZE]);

/* An RFC 5322 3.3 date-time for t in local time ("Thu, 27 Nov 2025
 * 21:33:00 +0100"); independent of the locale. */
void dsn_date(time_t t, char out[DSN_DATE_SIZE]);

/*
 * Read the header section of a message at fd from offset off (pread: the
 * fd's offset is left alone): everything up to the empty line that ends
 * it, at most max bytes, cut at a line end when longer.  The result (with
 * LF line ends as stored) is appended to out.  1 or -1 with errno.
 */
int dsn_read_headers(int fd, off_t off, size_t max, struct buf *out);

#endif
