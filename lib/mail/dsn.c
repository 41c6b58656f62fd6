/*
 * dsn: builds RFC 3464 delivery status notifications.
 *
 * Layout (RFC 6522 multipart/report, RFC 3464 sections 2.2 and 2.3):
 *   header         From, To, Subject, Date, Message-ID, Auto-Submitted,
 *                  MIME-Version, Content-Type: multipart/report;
 *                  report-type=delivery-status; boundary=...
 *   part 1         text/plain: what happened, for people
 *   part 2         message/delivery-status: Original-Envelope-Id,
 *                  Reporting-MTA, Arrival-Date, then per recipient
 *                  Original-Recipient, Final-Recipient, Action, Status,
 *                  Remote-MTA, Diagnostic-Code, Last-Attempt-Date,
 *                  Will-Retry-Until (RFC 3464 field order)
 *   part 3         text/rfc822-headers: the original header section, or
 *                  message/rfc822: the whole original (RET=FULL)
 * Everything taken from the queue goes through dsn_clean(), so a hostile
 * address or reply text cannot add header lines or end a MIME part.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/dsn.h"
#include "mail/smtpparse.h"

#define DSN_FIELD_MAX 900  /* RFC 5322 2.1.1: lines stay below 998 */
#define DSN_BOUNDARY_SIZE 96

/* Append s with every byte outside printable ASCII shown as '?'. */
static int
dsn_clean(struct buf *out, const char *s, size_t max)
{
	size_t i;

	if (s == NULL)
		return 1;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (buf_catc(out, (c >= 0x20 && c < 0x7f) ? (char)c : '?') < 0)
			return -1;
	}
	return 1;
}

void
dsn_date(time_t t, char out[DSN_DATE_SIZE])
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&t, &tm) == NULL) {
		str_copy(out, "Thu, 01 Jan 1970 00:00:00 +0000", DSN_DATE_SIZE);
		return;
	}
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	/* the fields are bounded by struct tm's ranges: this always fits */
	(void)snprintf(out, DSN_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    wd[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
	    (off / 60) % 100, off % 60);
}

/* digits at s, 1..max of them; returns how many (0: none or too many) */
static size_t
dsn_digits(const char *s, size_t max)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		if (++n > max)
			return 0;
	return n;
}

int
dsn_status(const char *text, int permanent, char out[DSN_STATUS_SIZE])
{
	const char *p = text ? text : "";
	size_t a, b, c;

	/* an SMTP reply code may come first: "550 5.1.1 ..." */
	if (dsn_digits(p, 3) == 3 && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	/* RFC 3463 2: class "." subject (1-3 digits) "." detail (1-3) */
	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		b = dsn_digits(p + 2, 3);
		if (b > 0 && p[2 + b] == '.') {
			c = dsn_digits(p + 3 + b, 3);
			a = 3 + b + c;
			if (c > 0 && (p[a] == '\0' || p[a] == ' ')) {
				memcpy(out, p, a);
				out[a] = '\0';
				return 1;
			}
		}
	}
	str_copy(out, permanent ? "5.0.0" : "4.0.0", DSN_STATUS_SIZE);
	return 0;
}

#define DSN_READ_CHUNK 4096  /* bytes read at a time for the header */

int
dsn_read_headers(int fd, off_t off, size_t max, struct buf *out)
{
	char chunk[DSN_READ_CHUNK];
	size_t start = out->len, have, scan = 0;
	ssize_t r;
	const char *end;

	for (;;) {
		have = out->len - start;
		if (have >= max)
			break;
		r = pread(fd, chunk, sizeof chunk < max - have ? sizeof chunk :
		    max - have, off + (off_t)have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;  /* a message without body: all header */
		if (buf_cat(out, chunk, (size_t)r) < 0)
			return -1;
		/* an empty first line: no header section at all */
		if (out->s[start] == '\n') {
			buf_truncate(out, start);
			return 1;
		}
		/* look for "\n\n" from one byte before the new data */
		scan = scan > 0 ? scan - 1 : 0;
		end = memmem(out->s + start + scan, out->len - start - scan,
		    "\n\n", 2);
		if (end != NULL) {
			buf_truncate(out, (size_t)(end - out->s) + 1);
			return 1;
		}
		scan = out->len - start;
	}
	/* too long: keep complete lines only */
	end = memrchr(out->s + start, '\n', out->len - start);
	buf_truncate(out, end ? (size_t)(end - out->s) + 1 : start);
	return 1;
}

int
dsn_read_message(int fd, off_t off, size_t max, struct buf *out)
{
	char chunk[DSN_READ_CHUNK];
	struct stat st;
	size_t start = out->len, have;
	ssize_t r;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size < off) {
		errno = EINVAL;
		return -1;
	}
	if ((unsigned long long)(st.st_size - off) > max)
		return 0;
	for (;;) {
		have = out->len - start;
		r = pread(fd, chunk, sizeof chunk, off + (off_t)have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			buf_truncate(out, start);
			return -1;
		}
		if (r == 0)
			return 1;
		if (have + (size_t)r > max) {
			/* the file grew (it must not: mess/ID is immutable) */
			buf_truncate(out, start);
			return 0;
		}
		if (buf_cat(out, chunk, (size_t)r) < 0) {
			buf_truncate(out, start);
			return -1;
		}
	}
}

int
dsn_is_smtp_reply(const char *text)
{
	return text != NULL && text[0] >= '2' && text[0] <= '5' &&
	    dsn_digits(text, 3) == 3 &&
	    (text[3] == ' ' || text[3] == '-' || text[3] == '\0');
}

const char *
dsn_action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED:
		return "delayed";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	case DSN_FAILED:
		break;
	}
	return "failed";
}

const char *
dsn_subject(const struct dsn *d)
{
	switch (d->action) {
	case DSN_DELAYED:
		return "Delayed Mail (still being retried)";
	case DSN_DELIVERED:
		return "Successful Mail Delivery Report";
	case DSN_RELAYED:
		return "Relayed Mail Delivery Report";
	case DSN_FAILED:
		break;
	}
	return d->postmaster_copy ? "Postmaster copy: undeliverable bounce" :
	    "Undelivered Mail Returned to Sender";
}

/* Append xtext s (RFC 3461 4) decoded and cleaned; a value that is not
 * valid xtext is shown as it is, cleaned. */
static int
dsn_xtext(struct buf *out, const char *s, size_t max)
{
	char dec[DSN_XTEXT_MAX + 1];
	size_t n, len;

	if (s == NULL)
		return 1;
	n = strnlen(s, max);
	if (smtp_xtext_decode(s, n, dec, sizeof dec, &len) == 1)
		return dsn_clean(out, dec, max);
	return dsn_clean(out, s, max);
}

/* Remote-MTA value: the host of "host[ip]:port", or the ip when there is
 * no host name ("[ip]:port"). */
static int
dsn_relay_host(struct buf *out, const char *relay)
{
	char host[DSN_FIELD_MAX / 2];
	const char *lb = strchr(relay, '['), *rb;
	size_t n;

	n = lb ? (size_t)(lb - relay) : strcspn(relay, ":");
	if (n == 0 && lb != NULL && (rb = strchr(lb, ']')) != NULL) {
		relay = lb + 1;
		n = (size_t)(rb - relay);
	}
	if (n >= sizeof host)
		n = sizeof host - 1;
	memcpy(host, relay, n);
	host[n] = '\0';
	return dsn_clean(out, host, sizeof host);
}

/* A boundary that does not occur in the original (RFC 2046 5.1.1: it
 * must not appear inside an encapsulated part). */
static void
dsn_boundary(char *b, size_t bsz, const struct dsn *d)
{
	unsigned n = 0;

	do {
		(void)snprintf(b, bsz, "=_tern_%s_%lld_%u", d->qid ? d->qid :
		    "x", (long long)d->now, n++);
	} while (d->orig != NULL &&
	    memmem(d->orig, d->olen, b, strlen(b)) != NULL);
}

static int
dsn_header(struct buf *o, const struct dsn *d, const char *boundary)
{
	char date[DSN_DATE_SIZE];

	dsn_date(d->now, date);
	if (buf_cats(o, "From: Mail Delivery System <MAILER-DAEMON@") < 0 ||
	    dsn_clean(o, d->host, 255) < 0 || buf_cats(o, ">\nTo: <") < 0 ||
	    dsn_clean(o, d->to, 512) < 0 ||
	    buf_catf(o, ">\nSubject: %s\n", dsn_subject(d)) < 0 ||
	    buf_catf(o, "Date: %s\nMessage-ID: <%s.%lld.%s@", date,
	    d->qid ? d->qid : "0", (long long)d->now,
	    dsn_action_name(d->action)) < 0 ||
	    dsn_clean(o, d->host, 255) < 0 ||
	    buf_cats(o, ">\nAuto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"") < 0 ||
	    buf_cats(o, boundary) < 0 ||
	    buf_cats(o, "\"\n\nThis is a MIME-encapsulated message.\n\n") < 0)
		return -1;
	return 1;
}

/* The opening paragraph of part 1. */
static const char *
dsn_intro(const struct dsn *d)
{
	switch (d->action) {
	case DSN_DELAYED:
		return "Your message has not yet been delivered to the "
		    "recipients below.\nThe mail system is still trying: "
		    "you do not need to send it again.\nThis is a warning "
		    "only; the message headers are attached below.\n";
	case DSN_DELIVERED:
		return "Your message was delivered to the recipients below, "
		    "as you asked\nto be told (NOTIFY=SUCCESS).  The message "
		    "headers are attached below.\n";
	case DSN_RELAYED:
		return "Your message was passed on to the next mail system "
		    "for the recipients\nbelow.  That system does not send "
		    "delivery reports, so you may hear\nnothing more about "
		    "them.  The message headers are attached below.\n";
	case DSN_FAILED:
		break;
	}
	if (d->ret == DSN_RET_FULL)
		return "Your message could not be delivered to one or more "
		    "recipients.\nIt is attached below.\n";
	if (d->ret == DSN_RET_TOO_BIG)
		return "Your message could not be delivered to one or more "
		    "recipients.\nIt is attached below with its headers only: "
		    "it is too large to be\nreturned in full.\n";
	return "Your message could not be delivered to one or more "
	    "recipients.\nIt is attached below (headers only).\n";
}

/* The reason shown for a recipient without a result text. */
static const char *
dsn_default_reason(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED:
		return "not yet delivered";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	case DSN_FAILED:
		break;
	}
	return "delivery failed";
}

/* Part 1: for people. */
static int
dsn_text(struct buf *o, const struct dsn *d, const char *boundary)
{
	char date[DSN_DATE_SIZE];
	size_t i;

	if (buf_catf(o, "--%s\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Description: Notification\n\n"
	    "This is the mail system at host ", boundary) < 0 ||
	    dsn_clean(o, d->host, 255) < 0 || buf_cats(o, ".\n\n") < 0)
		return -1;
	if (d->postmaster_copy && d->action == DSN_FAILED) {
		if (buf_cats(o, "A message from <") < 0 ||
		    dsn_clean(o, d->orig_sender, 512) < 0 ||
		    buf_cats(o, "> (a bounce, or mail with a null sender)\n"
		    "could not be delivered and cannot be returned.\n") < 0)
			return -1;
	} else if (buf_cats(o, dsn_intro(d)) < 0)
		return -1;
	if (buf_catf(o, "Queue id: %s\n", d->qid ? d->qid : "-") < 0)
		return -1;
	if (d->envid != NULL && (buf_cats(o, "Envelope id: ") < 0 ||
	    dsn_xtext(o, d->envid, DSN_XTEXT_MAX) < 0 ||
	    buf_cats(o, "\n") < 0))
		return -1;
	if (buf_cats(o, "\n") < 0)
		return -1;
	for (i = 0; i < d->nrcpt; i++) {
		const struct dsn_rcpt *r = &d->rcpt[i];

		if (buf_cats(o, "<") < 0 || dsn_clean(o, r->addr, 512) < 0 ||
		    buf_cats(o, ">: ") < 0 ||
		    dsn_clean(o, r->diag && r->diag[0] ? r->diag :
		    dsn_default_reason(d->action), DSN_FIELD_MAX - 520) < 0 ||
		    buf_cats(o, "\n") < 0)
			return -1;
		if (r->relay != NULL && r->relay[0] != '\0' &&
		    (buf_cats(o, "    (from ") < 0 ||
		    dsn_clean(o, r->relay, 320) < 0 || buf_cats(o, ")\n") < 0))
			return -1;
		if (d->action == DSN_DELAYED && r->until != 0) {
			dsn_date(r->until, date);
			if (buf_catf(o, "    will retry until %s\n", date) < 0)
				return -1;
		}
	}
	return buf_cats(o, "\n");
}

/* One recipient's RFC 3464 2.3 block. */
static int
dsn_rcpt_fields(struct buf *o, const struct dsn *d, const struct dsn_rcpt *r)
{
	char date[DSN_DATE_SIZE];
	const char *semi;
	const char *dflt = d->action == DSN_FAILED ? "5.0.0" :
	    d->action == DSN_DELAYED ? "4.0.0" : "2.0.0";

	if (buf_cats(o, "\n") < 0)
		return -1;
	/* Original-Recipient: address-type ";" generic-address (2.3.1) */
	if (r->orcpt != NULL && (semi = strchr(r->orcpt, ';')) != NULL &&
	    semi > r->orcpt && semi - r->orcpt < 64) {
		char type[64];

		memcpy(type, r->orcpt, (size_t)(semi - r->orcpt));
		type[semi - r->orcpt] = '\0';
		if (buf_cats(o, "Original-Recipient: ") < 0 ||
		    dsn_clean(o, type, sizeof type) < 0 ||
		    buf_cats(o, "; ") < 0 ||
		    dsn_xtext(o, semi + 1, DSN_XTEXT_MAX) < 0 ||
		    buf_cats(o, "\n") < 0)
			return -1;
	}
	if (buf_cats(o, "Final-Recipient: rfc822; ") < 0 ||
	    dsn_clean(o, r->addr, 512) < 0 ||
	    buf_catf(o, "\nAction: %s\nStatus: ",
	    dsn_action_name(d->action)) < 0 ||
	    dsn_clean(o, r->status ? r->status : dflt,
	    DSN_STATUS_SIZE - 1) < 0 || buf_cats(o, "\n") < 0)
		return -1;
	if (r->relay != NULL && r->relay[0] != '\0' &&
	    (buf_cats(o, "Remote-MTA: dns; ") < 0 ||
	    dsn_relay_host(o, r->relay) < 0 || buf_cats(o, "\n") < 0))
		return -1;
	/* diagnostic-type (2.3.6): "smtp" only for what an SMTP server said */
	if (r->diag != NULL && r->diag[0] != '\0' &&
	    (buf_cats(o, dsn_is_smtp_reply(r->diag) ?
	    "Diagnostic-Code: smtp; " : "Diagnostic-Code: X-Tern; ") < 0 ||
	    dsn_clean(o, r->diag, DSN_FIELD_MAX) < 0 ||
	    buf_cats(o, "\n") < 0))
		return -1;
	if (r->last != 0) {
		dsn_date(r->last, date);
		if (buf_catf(o, "Last-Attempt-Date: %s\n", date) < 0)
			return -1;
	}
	if (d->action == DSN_DELAYED && r->until != 0) {
		dsn_date(r->until, date);
		if (buf_catf(o, "Will-Retry-Until: %s\n", date) < 0)
			return -1;
	}
	return 1;
}

/* Part 2: RFC 3464 2.2 per-message and 2.3 per-recipient fields. */
static int
dsn_status_part(struct buf *o, const struct dsn *d, const char *boundary)
{
	char date[DSN_DATE_SIZE];
	size_t i;

	dsn_date(d->arrival, date);
	if (buf_catf(o, "--%s\nContent-Type: message/delivery-status\n"
	    "Content-Description: Delivery report\n\n", boundary) < 0)
		return -1;
	if (d->envid != NULL && (buf_cats(o, "Original-Envelope-Id: ") < 0 ||
	    dsn_xtext(o, d->envid, DSN_XTEXT_MAX) < 0 ||
	    buf_cats(o, "\n") < 0))
		return -1;
	if (buf_cats(o, "Reporting-MTA: dns; ") < 0 ||
	    dsn_clean(o, d->host, 255) < 0 ||
	    buf_catf(o, "\nX-Tern-Queue-ID: %s\nArrival-Date: %s\n",
	    d->qid ? d->qid : "-", date) < 0)
		return -1;
	for (i = 0; i < d->nrcpt; i++)
		if (dsn_rcpt_fields(o, d, &d->rcpt[i]) < 0)
			return -1;
	return buf_cats(o, "\n");
}

/* Part 3: the original, bytes as they were (8bit). */
static int
dsn_orig_part(struct buf *o, const struct dsn *d, const char *boundary)
{
	const char *type = d->ret == DSN_RET_FULL ? "message/rfc822" :
	    "text/rfc822-headers";
	const char *desc = d->action != DSN_FAILED ? "Message Headers" :
	    d->ret == DSN_RET_FULL ? "Undelivered Message" :
	    "Undelivered Message Headers";
	size_t i, start;

	if (buf_catf(o, "--%s\nContent-Type: %s\nContent-Description: %s\n"
	    "Content-Transfer-Encoding: 8bit\n\n", boundary, type, desc) < 0)
		return -1;
	start = o->len;
	for (i = 0; d->orig != NULL && i < d->olen; i++) {
		/* a lone CR or NUL would upset readers; LF stays */
		char c = d->orig[i];

		if (buf_catc(o, (c == '\r' || c == '\0') ? ' ' : c) < 0)
			return -1;
	}
	if (o->len > start && o->s[o->len - 1] != '\n' && buf_catc(o, '\n') < 0)
		return -1;
	return buf_catf(o, "\n--%s--\n", boundary);
}

int
dsn_format(struct buf *out, const struct dsn *d)
{
	char boundary[DSN_BOUNDARY_SIZE];
	size_t start = out->len;

	dsn_boundary(boundary, sizeof boundary, d);
	if (dsn_header(out, d, boundary) < 0 || dsn_text(out, d, boundary) < 0 ||
	    dsn_status_part(out, d, boundary) < 0 ||
	    dsn_orig_part(out, d, boundary) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	return 1;
}
