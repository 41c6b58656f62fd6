/*
 * test_dsn: lib/mail/dsn.c: status codes, dates, the header-section and
 * message readers and the RFC 3464 report of each kind (failed, delayed,
 * delivered, relayed): its parts, its fields (Diagnostic-Code smtp or
 * X-Tern, Remote-MTA, Original-Recipient, Original-Envelope-Id), RET=FULL
 * and HDRS, sizes, and that text from the queue cannot inject header
 * lines or end a MIME part.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "mail/dsn.h"
#include "t.h"

static void
test_status(void)
{
	char st[DSN_STATUS_SIZE];

	T_EQ_INT(dsn_status("5.1.1 no such user", 1, st), 1);
	T_EQ_STR(st, "5.1.1");
	T_EQ_INT(dsn_status("550 5.7.1 go away", 1, st), 1);
	T_EQ_STR(st, "5.7.1");
	T_EQ_INT(dsn_status("4.2.2", 0, st), 1);
	T_EQ_STR(st, "4.2.2");
	T_EQ_INT(dsn_status("5.123.456 long", 1, st), 1);
	T_EQ_STR(st, "5.123.456");
	T_EQ_INT(dsn_status("no code here", 1, st), 0);
	T_EQ_STR(st, "5.0.0");
	T_EQ_INT(dsn_status("no code", 0, st), 0);
	T_EQ_STR(st, "4.0.0");
	T_EQ_INT(dsn_status("3.1.1 bad class", 1, st), 0);
	T_EQ_INT(dsn_status("5.1234.1 too long", 1, st), 0);
	T_EQ_INT(dsn_status("5.1.1x", 1, st), 0);
	T_EQ_INT(dsn_status("5..1", 1, st), 0);
	T_EQ_INT(dsn_status(NULL, 1, st), 0);
	T_EQ_STR(st, "5.0.0");
}

static void
test_date(void)
{
	char d[DSN_DATE_SIZE];

	setenv("TZ", "UTC", 1);
	tzset();
	dsn_date(0, d);
	T_EQ_STR(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	dsn_date(1700000000, d);
	T_EQ_STR(d, "Tue, 14 Nov 2023 22:13:20 +0000");
	setenv("TZ", "EST5", 1);
	tzset();
	dsn_date(0, d);
	T_EQ_STR(d, "Wed, 31 Dec 1969 19:00:00 -0500");
	setenv("TZ", "UTC", 1);
	tzset();
}

static int
file_with(const char *text)
{
	char path[] = "/tmp/test_dsn.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_read_headers(void)
{
	struct buf b = BUF_INIT;
	int fd = file_with("ENVELOPE\n\nA: 1\nB: 2\n folded\n\nbody\n\nmore\n");

	if (!T_CHECK(fd >= 0))
		return;
	T_EQ_INT(dsn_read_headers(fd, 10, DSN_HDR_MAX, &b), 1);
	T_EQ_STR(buf_str(&b), "A: 1\nB: 2\n folded\n");
	/* cut at a line end when over max */
	buf_reset(&b);
	T_EQ_INT(dsn_read_headers(fd, 10, 12, &b), 1);
	T_EQ_STR(buf_str(&b), "A: 1\nB: 2\n");
	/* appends to what is there */
	buf_copys(&b, "X");
	T_EQ_INT(dsn_read_headers(fd, 10, 5, &b), 1);
	T_EQ_STR(buf_str(&b), "XA: 1\n");
	close(fd);
	/* no body at all; and a message starting with the empty line */
	fd = file_with("A: 1\nB: 2");
	buf_reset(&b);
	T_EQ_INT(dsn_read_headers(fd, 0, DSN_HDR_MAX, &b), 1);
	T_EQ_STR(buf_str(&b), "A: 1\nB: 2");
	close(fd);
	fd = file_with("\nbody\n");
	buf_reset(&b);
	T_EQ_INT(dsn_read_headers(fd, 0, DSN_HDR_MAX, &b), 1);
	T_EQ_INT(b.len, 0);
	close(fd);
	buf_free(&b);
}

/* a report with defaults filled in; rcpt/nrcpt/orig set by the caller */
static void
dsn_init(struct dsn *d, enum dsn_action a)
{
	memset(d, 0, sizeof *d);
	d->action = a;
	d->host = "mx.example.test";
	d->qid = "0123456789ABCDEF0123";
	d->to = "sender@x.test";
	d->orig_sender = "sender@x.test";
	d->arrival = 1700000000;
	d->now = 1700000100;
	d->ret = DSN_RET_HDRS;
}

static int
has(const char *s, const char *want)
{
	if (strstr(s, want) != NULL)
		return 1;
	printf("  missing: \"%s\"\n", want);
	return 0;
}

/* the part starting at its "Content-Type: type" line, up to the next
 * boundary line, copied into out */
static const char *
part(const char *s, const char *type, struct buf *out)
{
	char want[128];
	const char *p, *e;

	(void)snprintf(want, sizeof want, "\nContent-Type: %s\n", type);
	buf_reset(out);
	p = strstr(s, want);
	if (p == NULL)
		return "";
	e = strstr(p + 1, "\n--=_tern_");
	buf_cat(out, p + 1, e ? (size_t)(e - p - 1) : strlen(p + 1));
	return buf_str(out);
}

static void
test_format(void)
{
	static const char hdr[] = "From: a@x\nSubject: hi\n";
	struct dsn_rcpt r[2] = {
		{ "u1@example.test", NULL, "5.1.1", "5.1.1 no such user", NULL,
		  1700000000, 0 },
		{ "u2@example.test\nBcc: evil@x", NULL, "5.4.7",
		  "expired\r\n--x", NULL, 0, 0 },
	};
	struct dsn d;
	struct buf b = BUF_INIT;
	const char *s;

	dsn_init(&d, DSN_FAILED);
	d.rcpt = r;
	d.nrcpt = 2;
	d.orig = hdr;
	d.olen = strlen(hdr);
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(strncmp(s, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.test>\nTo: <sender@x.test>\n", 76) == 0);
	T_CHECK(has(s, "\nSubject: Undelivered Mail Returned to Sender\n"));
	T_CHECK(has(s, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"=_tern_"
	    "0123456789ABCDEF0123_1700000100_0\"\n"));
	T_CHECK(has(s, "\nAuto-Submitted: auto-replied\n"));
	T_CHECK(has(s, "\nContent-Type: message/delivery-status\n"));
	T_CHECK(has(s, "\n\nReporting-MTA: dns; mx.example.test\n"));
	T_CHECK(has(s, "\nArrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n"));
	/* a local text is not an SMTP reply: X-Tern, not smtp */
	T_CHECK(has(s, "\n\nFinal-Recipient: rfc822; u1@example.test\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: X-Tern; 5.1.1 no such user\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\n"));
	/* the LF in the address and the CRLF in the text are neutralised */
	T_CHECK(has(s, "Final-Recipient: rfc822; u2@example.test?Bcc: "
	    "evil@x\nAction: failed\nStatus: 5.4.7\n"
	    "Diagnostic-Code: X-Tern; expired?\?--x\n"));
	T_CHECK(strstr(s, "\nBcc:") == NULL);
	T_CHECK(strstr(s, "\n--x") == NULL);
	T_CHECK(strstr(s, "Original-Recipient") == NULL);
	T_CHECK(strstr(s, "Original-Envelope-Id") == NULL);
	T_CHECK(strstr(s, "Remote-MTA") == NULL);
	T_CHECK(strstr(s, "Will-Retry-Until") == NULL);
	T_CHECK(has(s, "(headers only)"));
	T_CHECK(has(s, "\n<u1@example.test>: 5.1.1 no such user\n"));
	T_CHECK(has(s, "\nContent-Type: text/rfc822-headers\n"
	    "Content-Description: Undelivered Message Headers\n"));
	T_CHECK(has(s, "\n\nFrom: a@x\nSubject: hi\n\n--=_tern_"));
	T_CHECK(b.len > 3 && strcmp(s + b.len - 3, "--\n") == 0);
	T_CHECK(strchr(s, '\r') == NULL);
	buf_free(&b);
}

static void
test_smtp_diag_remote(void)
{
	struct dsn_rcpt r[3] = {
		{ "far@remote.test", "rfc822;far@remote.test", "5.1.1",
		  "550 5.1.1 <far@remote.test>: no such user",
		  "mx1.remote.test[192.0.2.1]:25", 1700000050, 0 },
		{ "multi@remote.test", NULL, "5.7.1", "554-5.7.1 denied",
		  "[2001:db8::1]:2525", 0, 0 },
		/* 3 digits but not a reply code class; 4 digits */
		{ "odd@remote.test", NULL, "5.0.0", "600 not smtp",
		  "", 0, 0 },
	};
	struct dsn d;
	struct buf b = BUF_INIT, p = BUF_INIT;
	const char *s;

	dsn_init(&d, DSN_FAILED);
	d.rcpt = r;
	d.nrcpt = 3;
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = part(buf_str(&b), "message/delivery-status", &p);
	T_CHECK(has(s, "\nOriginal-Recipient: rfc822; far@remote.test\n"
	    "Final-Recipient: rfc822; far@remote.test\nAction: failed\n"
	    "Status: 5.1.1\nRemote-MTA: dns; mx1.remote.test\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <far@remote.test>: no such "
	    "user\nLast-Attempt-Date: "));
	/* no host name: the address in the brackets */
	T_CHECK(has(s, "Status: 5.7.1\nRemote-MTA: dns; 2001:db8::1\n"
	    "Diagnostic-Code: smtp; 554-5.7.1 denied\n"));
	T_CHECK(has(s, "Final-Recipient: rfc822; odd@remote.test\n"
	    "Action: failed\nStatus: 5.0.0\n"
	    "Diagnostic-Code: X-Tern; 600 not smtp\n"));
	/* the human part says where the answer came from */
	T_CHECK(has(buf_str(&b), "    (from mx1.remote.test[192.0.2.1]:25)\n"));
	T_EQ_INT(dsn_is_smtp_reply("250 ok"), 1);
	T_EQ_INT(dsn_is_smtp_reply("421"), 1);
	T_EQ_INT(dsn_is_smtp_reply("451-more"), 1);
	T_EQ_INT(dsn_is_smtp_reply("199 x"), 0);
	T_EQ_INT(dsn_is_smtp_reply("5.1.1 x"), 0);
	T_EQ_INT(dsn_is_smtp_reply("5500 x"), 0);
	T_EQ_INT(dsn_is_smtp_reply("55 x"), 0);
	T_EQ_INT(dsn_is_smtp_reply("550x"), 0);
	T_EQ_INT(dsn_is_smtp_reply(""), 0);
	T_EQ_INT(dsn_is_smtp_reply(NULL), 0);
	buf_free(&p);
	buf_free(&b);
}

static void
test_envid_orcpt(void)
{
	/* xtext: "+2B" is '+', "+3D" is '='; a decoded LF is not taken */
	struct dsn_rcpt r[3] = {
		{ "a@x.test", "rfc822;a+2Bext@x.test", "5.1.1", NULL, NULL,
		  0, 0 },
		{ "b@x.test", "rfc822;b+0ABcc:+20e@x", "5.1.1", NULL, NULL,
		  0, 0 },
		{ "c@x.test", "noseparator", "5.1.1", NULL, NULL, 0, 0 },
	};
	struct dsn d;
	struct buf b = BUF_INIT;
	const char *s;

	dsn_init(&d, DSN_FAILED);
	d.envid = "id+3D42.x";
	d.rcpt = r;
	d.nrcpt = 3;
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(has(s, "\n\nOriginal-Envelope-Id: id=42.x\n"
	    "Reporting-MTA: dns; mx.example.test\n"));
	T_CHECK(has(s, "\nEnvelope id: id=42.x\n"));
	T_CHECK(has(s, "\nOriginal-Recipient: rfc822; a+ext@x.test\n"
	    "Final-Recipient: rfc822; a@x.test\n"));
	/* not decoded (it would be a control character), shown as is */
	T_CHECK(has(s, "\nOriginal-Recipient: rfc822; b+0ABcc:+20e@x\n"));
	T_CHECK(strstr(s, "\nBcc:") == NULL);
	T_CHECK(has(s, "\n\nFinal-Recipient: rfc822; c@x.test\n"));
	/* ENVID given raw with a newline (the queue checks; we clean too) */
	buf_reset(&b);
	d.envid = "x\nSubject: spoof";
	d.nrcpt = 1;
	T_EQ_INT(dsn_format(&b, &d), 1);
	T_CHECK(has(buf_str(&b), "Original-Envelope-Id: x?Subject: spoof\n"));
	T_CHECK(strstr(buf_str(&b), "\nSubject: spoof") == NULL);
	buf_free(&b);
}

static void
test_kinds(void)
{
	static const char hdr[] = "From: a@x\nSubject: hi\n";
	struct dsn_rcpt r = { "u@example.test", "rfc822;u@example.test",
	    "4.2.2", "4.2.2 mailbox full: quota 1 bytes", NULL, 1700000050,
	    1700432000 };
	struct dsn d;
	struct buf b = BUF_INIT, p = BUF_INIT;
	const char *s;

	dsn_init(&d, DSN_DELAYED);
	d.envid = "E1";
	d.rcpt = &r;
	d.nrcpt = 1;
	d.orig = hdr;
	d.olen = strlen(hdr);
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(has(s, "\nSubject: Delayed Mail (still being retried)\n"));
	T_CHECK(has(s, "\nMessage-ID: <0123456789ABCDEF0123.1700000100."
	    "delayed@mx.example.test>\n"));
	T_CHECK(has(s, "has not yet been delivered"));
	T_CHECK(has(s, "\n<u@example.test>: 4.2.2 mailbox full: quota 1 "
	    "bytes\n    will retry until Sun, 19 Nov 2023 22:13:20 +0000\n"));
	T_CHECK(has(s, "Action: delayed\nStatus: 4.2.2\n"
	    "Diagnostic-Code: X-Tern; 4.2.2 mailbox full: quota 1 bytes\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:14:10 +0000\n"
	    "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\n"));
	T_CHECK(has(s, "Original-Envelope-Id: E1\n"));
	T_CHECK(has(s, "Content-Description: Message Headers\n"));

	buf_reset(&b);
	d.action = DSN_DELIVERED;
	r.status = "2.0.0";
	r.diag = NULL;
	r.until = 1700432000;  /* ignored for anything but delayed */
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(has(s, "\nSubject: Successful Mail Delivery Report\n"));
	T_CHECK(has(s, "\n<u@example.test>: delivered\n"));
	T_CHECK(has(s, "Final-Recipient: rfc822; u@example.test\n"
	    "Action: delivered\nStatus: 2.0.0\nLast-Attempt-Date: "));
	T_CHECK(strstr(s, "Will-Retry-Until") == NULL);
	T_CHECK(strstr(s, "will retry") == NULL);
	T_CHECK(strstr(s, "Diagnostic-Code") == NULL);
	T_CHECK(has(part(s, "text/rfc822-headers", &p), "\n\nFrom: a@x\n"));

	buf_reset(&b);
	d.action = DSN_RELAYED;
	r.diag = "250 2.0.0 Ok: queued as 4711";
	r.relay = "mx.next.test[198.51.100.7]:25";
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(has(s, "\nSubject: Relayed Mail Delivery Report\n"));
	T_CHECK(has(s, "does not send delivery reports"));
	T_CHECK(has(s, "Action: relayed\nStatus: 2.0.0\n"
	    "Remote-MTA: dns; mx.next.test\n"
	    "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4711\n"));
	T_EQ_STR(dsn_action_name(DSN_FAILED), "failed");
	T_EQ_STR(dsn_action_name(DSN_RELAYED), "relayed");
	buf_free(&p);
	buf_free(&b);
}

static void
test_ret_full(void)
{
	static const char msg[] = "From: a@x\nSubject: whole\n\nline 1\r\n"
	    "--=_tern_0123456789ABCDEF0123_1700000100_0\n\0nul\nno LF at end";
	struct dsn_rcpt r = { "u@example.test", NULL, "5.1.1", NULL, NULL, 0,
	    0 };
	struct dsn d;
	struct buf b = BUF_INIT, p = BUF_INIT;
	const char *s;

	dsn_init(&d, DSN_FAILED);
	d.rcpt = &r;
	d.nrcpt = 1;
	d.ret = DSN_RET_FULL;
	d.orig = msg;
	d.olen = sizeof msg - 1;
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	/* the body holds our first boundary choice: the next one is taken */
	T_CHECK(has(s, "boundary=\"=_tern_0123456789ABCDEF0123_1700000100_1\""));
	T_CHECK(has(s, "\nIt is attached below.\n"));
	T_CHECK(has(s, "\nContent-Type: message/rfc822\n"
	    "Content-Description: Undelivered Message\n"
	    "Content-Transfer-Encoding: 8bit\n\nFrom: a@x\nSubject: whole\n"
	    "\nline 1 \n--=_tern_0123456789ABCDEF0123_1700000100_0\n nul\n"
	    "no LF at end\n\n--=_tern_0123456789ABCDEF0123_1700000100_1--\n"));
	T_CHECK(strstr(s, "text/rfc822-headers") == NULL);
	T_CHECK(strchr(s, '\r') == NULL);
	T_EQ_INT(strlen(s), b.len);  /* no NUL inside */
	/* too big: headers, and the text says so */
	buf_reset(&b);
	d.ret = DSN_RET_TOO_BIG;
	d.orig = "From: a@x\n";
	d.olen = 10;
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(has(s, "with its headers only: it is too large"));
	T_CHECK(has(s, "\nContent-Type: text/rfc822-headers\n"
	    "Content-Description: Undelivered Message Headers\n"));
	T_CHECK(strstr(s, "message/rfc822") == NULL);
	(void)part;
	buf_free(&p);
	buf_free(&b);
}

static void
test_read_message(void)
{
	struct buf b = BUF_INIT, big = BUF_INIT;
	int fd = file_with("ENV\n\nA: 1\n\nbody\n");
	size_t i;

	if (!T_CHECK(fd >= 0))
		return;
	T_EQ_INT(dsn_read_message(fd, 5, DSN_FULL_MAX, &b), 1);
	T_EQ_STR(buf_str(&b), "A: 1\n\nbody\n");
	/* exactly max is fine, one byte less is too big (out unchanged) */
	buf_copys(&b, "X");
	T_EQ_INT(dsn_read_message(fd, 5, 11, &b), 1);
	T_EQ_STR(buf_str(&b), "XA: 1\n\nbody\n");
	buf_copys(&b, "X");
	T_EQ_INT(dsn_read_message(fd, 5, 10, &b), 0);
	T_EQ_STR(buf_str(&b), "X");
	T_EQ_INT(dsn_read_message(fd, 1000, 10, &b), -1);
	close(fd);
	/* many chunks */
	for (i = 0; i < 20000; i++)
		buf_cats(&big, "0123456789\n");
	fd = file_with(buf_str(&big));
	if (T_CHECK(fd >= 0)) {
		buf_reset(&b);
		T_EQ_INT(dsn_read_message(fd, 0, DSN_FULL_MAX, &b), 1);
		T_EQ_INT(b.len, big.len);
		T_CHECK(b.len == big.len && memcmp(b.s, big.s, b.len) == 0);
		close(fd);
	}
	buf_free(&big);
	buf_free(&b);
}

static void
test_sizes(void)
{
	/* every queue text at its limit and beyond: lines stay < 998 */
	struct buf longa = BUF_INIT, b = BUF_INIT;
	struct dsn_rcpt r;
	struct dsn d;
	const char *s, *nl;
	size_t i, maxline = 0;

	for (i = 0; i < 3000; i++)
		buf_catc(&longa, 'a');
	memset(&r, 0, sizeof r);
	r.addr = buf_str(&longa);
	r.orcpt = NULL;
	r.status = "5.0.0";
	r.diag = buf_str(&longa);
	r.relay = buf_str(&longa);
	dsn_init(&d, DSN_FAILED);
	d.host = buf_str(&longa);
	d.envid = buf_str(&longa);
	d.to = buf_str(&longa);
	d.rcpt = &r;
	d.nrcpt = 1;
	T_EQ_INT(dsn_format(&b, &d), 1);
	for (s = buf_str(&b); *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			break;
		if ((size_t)(nl - s) > maxline)
			maxline = (size_t)(nl - s);
	}
	T_CHECK(maxline < 998);
	/* many recipients */
	{
		struct dsn_rcpt *many = calloc(1000, sizeof *many);

		if (T_CHECK(many != NULL)) {
			for (i = 0; i < 1000; i++) {
				many[i].addr = "x@y";
				many[i].status = "5.1.1";
			}
			d.host = "h";
			d.envid = NULL;
			d.to = "s@x";
			d.rcpt = many;
			d.nrcpt = 1000;
			buf_reset(&b);
			T_EQ_INT(dsn_format(&b, &d), 1);
			s = buf_str(&b);
			for (i = 0; (s = strstr(s, "\nAction: failed\n")); i++)
				s++;
			T_EQ_INT(i, 1000);
			free(many);
		}
	}
	buf_free(&longa);
	buf_free(&b);
}

static void
test_boundary(void)
{
	/* original headers that contain our first boundary choice */
	static const char hdr[] = "X: =_tern_0123456789ABCDEF0123_5_0\n";
	struct dsn_rcpt r = { "u@x", NULL, "5.0.0", NULL, NULL, 0, 0 };
	struct dsn d;
	struct buf b = BUF_INIT;

	dsn_init(&d, DSN_FAILED);
	d.host = "h";
	d.to = "";
	d.orig_sender = "";
	d.postmaster_copy = 1;
	d.now = 5;
	d.rcpt = &r;
	d.nrcpt = 1;
	d.orig = hdr;
	d.olen = strlen(hdr);
	T_EQ_INT(dsn_format(&b, &d), 1);
	T_CHECK(strstr(buf_str(&b), "boundary=\"=_tern_0123456789ABCDEF0123_"
	    "5_1\"") != NULL);
	T_CHECK(strstr(buf_str(&b), "Subject: Postmaster copy") != NULL);
	T_CHECK(strstr(buf_str(&b), "cannot be returned") != NULL);
	/* no Diagnostic-Code without a text */
	T_CHECK(strstr(buf_str(&b), "Diagnostic-Code") == NULL);
	buf_free(&b);
}

int
main(void)
{
	test_status();
	test_date();
	test_read_headers();
	test_format();
	test_smtp_diag_remote();
	test_envid_orcpt();
	test_kinds();
	test_ret_full();
	test_read_message();
	test_sizes();
	test_boundary();
	T_DONE();
}
