/*
 * dsn: delivery status notifications, RFC 3464 in an RFC 6522
 * multipart/report, for the four RFC 3464 2.3.3 actions tern reports:
 *
 *   failed     the bounce: a recipient failed permanently (or expired)
 *   delayed    a delay warning: still being retried (delay_warning_time)
 *   delivered  a NOTIFY=SUCCESS notice for a local delivery
 *   relayed    a NOTIFY=SUCCESS notice for a next hop without DSN
 *
 * A notice is a multipart/report with report-type=delivery-status and
 * three parts: a human-readable text, the message/delivery-status fields
 * (per-message, then one block per recipient), and the original message:
 * its header section as text/rfc822-headers, or, for a failed notice
 * with RET=FULL (RFC 3461 4.3), the whole message as message/rfc822.
 * The notice is built with LF line ends, as the queue stores messages;
 * tern-queued hands it to tern-enqueue with the null sender (RFC 5321
 * 4.5.5), so a notice never causes another notice to a sender.
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"

#define DSN_HDR_MAX (64 * 1024)          /* bytes of original headers returned */
#define DSN_FULL_MAX (10 * 1024 * 1024)  /* RET=FULL: larger, headers only */
#define DSN_STATUS_SIZE 12      /* "5.123.123" + NUL, RFC 3463 2 */
#define DSN_DATE_SIZE 40        /* an RFC 5322 3.3 date-time + NUL */
#define DSN_XTEXT_MAX 500       /* RFC 3461 4.2: ORCPT (ENVID: 100) */

/* RFC 3464 2.3.3 action-value */
enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED };

struct dsn_rcpt {
	const char *addr;       /* Final-Recipient (rfc822) */
	const char *orcpt;      /* DSN ORCPT "type;xtext" or NULL: the
	                         * Original-Recipient, xtext decoded */
	const char *status;     /* RFC 3463 code, e.g. "5.1.1" */
	const char *diag;       /* last result text, may be NULL: an SMTP
	                         * reply ("550 5.1.1 ...") is given as
	                         * "smtp;", any other text as "X-Tern;" */
	const char *relay;      /* "host[ip]:port" of the remote host the
	                         * result came from (Remote-MTA: its host
	                         * part), NULL or "" for local */
	time_t last;            /* Last-Attempt-Date, 0 none */
	time_t until;           /* Will-Retry-Until (delayed only), 0 none */
};

/* What part 3 holds (RFC 3461 4.3; RET=FULL applies to failed only). */
enum dsn_return {
	DSN_RET_HDRS,           /* orig is the header section */
	DSN_RET_FULL,           /* orig is the whole message */
	DSN_RET_TOO_BIG         /* FULL was asked, orig is the header
	                         * section only (over DSN_FULL_MAX) */
};

struct dsn {
	enum dsn_action action; /* of every recipient; the Subject and text */
	const char *host;       /* Reporting-MTA; From: MAILER-DAEMON@host */
	const char *qid;        /* the original message's queue id */
	const char *to;         /* recipient of the notice */
	const char *orig_sender;/* the original envelope sender ("" for <>) */
	int postmaster_copy;    /* 1: a double bounce sent to the postmaster */
	const char *envid;      /* DSN ENVID (xtext) or NULL */
	time_t arrival;         /* Arrival-Date of the original */
	time_t now;             /* Date: of the notice */
	const struct dsn_rcpt *rcpt;
	size_t nrcpt;
	enum dsn_return ret;
	const char *orig;       /* the original (see ret), may be NULL */
	size_t olen;
};

/*
 * Append the whole notice (header and body, LF line ends) to out.  Text
 * taken from the queue (addresses, diagnostics, ENVID, ORCPT, relay) is
 * bounded and cleaned here: control characters and non-ASCII bytes
 * become '?', so no field can be split or injected; in the original
 * message CR and NUL become spaces, and the MIME boundary is chosen so
 * that it does not occur in it.  1 or -1 (ENOMEM).
 */
int dsn_format(struct buf *out, const struct dsn *d);

/* The RFC 3464 action-value ("failed", ...) and the Subject of a notice. */
const char *dsn_action_name(enum dsn_action a);
const char *dsn_subject(const struct dsn *d);

/*
 * The RFC 3463 status code at the start of a result text ("5.1.1 text" or
 * "550 5.1.1 text"), copied into out.  Returns 1 when one was found, 0
 * when not: out then holds the default "5.0.0" (permanent) or "4.0.0".
 */
int dsn_status(const char *text, int permanent, char out[DSN_STATUS_SIZE]);

/* 1 if text is an SMTP reply: a code 2xx-5xx then ' ', '-' or the end. */
int dsn_is_smtp_reply(const char *text);

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

/*
 * Read the whole message at fd from offset off to the end of the file
 * (pread), appended to out.  1 read, 0 longer than max (out unchanged),
 * -1 error with errno.
 */
int dsn_read_message(int fd, off_t off, size_t max, struct buf *out);

#endif
