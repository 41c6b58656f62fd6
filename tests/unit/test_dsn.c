/*
 * test_dsn: lib/mail/dsn.c: status codes, dates, the header-section reader and
 * the RFC 3464 report (its parts, its fields, and that text from the
 * queue cannot inject header lines or end a MIME part).
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

static void
test_format(void)
{
	static const char hdr[] = "From: a@x\nSubject: hi\n";
	struct dsn_rcpt r[2] = {
		{ "u1@example.test", "5.1.1", "5.1.1 no such user", 1700000000 },
		{ "u2@example.test\nBcc: evil@x", "5.4.7", "expired\r\n--x",
		  0 },
	};
	struct dsn d;
	struct buf b = BUF_INIT;
	const char *s;

	memset(&d, 0, sizeof d);
	d.host = "mx.example.test";
	d.qid = "0123456789ABCDEF0123";
	d.to = "sender@x.test";
	d.orig_sender = "sender@x.test";
	d.arrival = 1700000000;
	d.now = 1700000100;
	d.rcpt = r;
	d.nrcpt = 2;
	d.hdr = hdr;
	d.hlen = strlen(hdr);
	T_EQ_INT(dsn_format(&b, &d), 1);
	s = buf_str(&b);
	T_CHECK(strncmp(s, "From: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.test>\nTo: <sender@x.test>\n", 76) == 0);
	T_CHECK(strstr(s, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\"=_tern_"
	    "0123456789ABCDEF0123_1700000100_0\"\n") != NULL);
	T_CHECK(strstr(s, "\nAuto-Submitted: auto-replied\n") != NULL);
	T_CHECK(strstr(s, "\nContent-Type: message/delivery-status\n") != NULL);
	T_CHECK(strstr(s, "\nReporting-MTA: dns; mx.example.test\n") != NULL);
	T_CHECK(strstr(s, "\nArrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n")
	    != NULL);
	T_CHECK(strstr(s, "\n\nFinal-Recipient: rfc822; u1@example.test\n"
	    "Action: failed\nStatus: 5.1.1\n"
	    "Diagnostic-Code: smtp; 5.1.1 no such user\n"
	    "Last-Attempt-Date: Tue, 14 Nov 2023 22:13:20 +0000\n") != NULL);
	/* the LF in the address and the CRLF in the text are neutralised */
	T_CHECK(strstr(s, "Final-Recipient: rfc822; u2@example.test?Bcc: "
	    "evil@x\nAction: failed\nStatus: 5.4.7\n"
	    "Diagnostic-Code: smtp; expired?\?--x\n") != NULL);
	T_CHECK(strstr(s, "\nBcc:") == NULL);
	T_CHECK(strstr(s, "\nContent-Type: text/rfc822-headers\n") != NULL);
	T_CHECK(strstr(s, "\n\nFrom: a@x\nSubject: hi\n\n--=_tern_") != NULL);
	T_CHECK(b.len > 3 && strcmp(s + b.len - 3, "--\n") == 0);
	buf_free(&b);
}

static void
test_boundary(void)
{
	/* original headers that contain our first boundary choice */
	static const char hdr[] = "X: =_tern_0123456789ABCDEF0123_5_0\n";
	struct dsn_rcpt r = { "u@x", "5.0.0", NULL, 0 };
	struct dsn d;
	struct buf b = BUF_INIT;

	memset(&d, 0, sizeof d);
	d.host = "h";
	d.qid = "0123456789ABCDEF0123";
	d.to = "";
	d.orig_sender = "";
	d.postmaster_copy = 1;
	d.now = 5;
	d.rcpt = &r;
	d.nrcpt = 1;
	d.hdr = hdr;
	d.hlen = strlen(hdr);
	T_EQ_INT(dsn_format(&b, &d), 1);
	T_CHECK(strstr(buf_str(&b), "boundary=\"=_tern_0123456789ABCDEF0123_"
	    "5_1\"") != NULL);
	T_CHECK(strstr(buf_str(&b), "Subject: Postmaster copy") != NULL);
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
	test_boundary();
	T_DONE();
}
