/*
 * test_smtpreply: SMTP replies read line by line (RFC 5321 4.2), their
 * enhanced status codes (RFC 3463) and EHLO keywords, with every bound.
 */
#include <stdio.h>
#include <string.h>

#include "mail/smtpreply.h"
#include "t.h"

/* Feed the C string s, lines separated by "\r\n"; the result of the
 * last line fed, or the first 0. */
static int
feed(struct smtp_reply *r, const char *s)
{
	int rc = 0;

	smtp_reply_init(r);
	while (*s != '\0') {
		const char *e = strstr(s, "\r\n");
		size_t n = e ? (size_t)(e - s) + 1 : strlen(s); /* keep the CR */

		rc = smtp_reply_line(r, s, n);
		if (rc == 0)
			return 0;
		s += e ? n + 1 : n;
	}
	return rc;
}

static void
test_single(void)
{
	struct smtp_reply r;
	char out[256];

	T_EQ_INT(r.code = 1, 1);
	smtp_reply_init(&r);
	T_EQ_INT(r.code, 0);
	T_EQ_INT(r.done, 0);
	T_EQ_INT(feed(&r, "250 2.1.0 Ok\r\n"), 2);
	T_EQ_INT(r.code, 250);
	T_EQ_STR(r.status, "2.1.0");
	T_EQ_STR(r.text, "2.1.0 Ok");
	T_EQ_INT(r.textlen, 8);
	T_EQ_INT(r.nlines, 1);
	T_EQ_INT(r.done, 1);
	T_EQ_STR(smtp_reply_str(&r, out, sizeof out), "250 2.1.0 Ok");
	/* nothing after the last line */
	T_EQ_INT(smtp_reply_line(&r, "250 again", 9), 0);

	/* bare code */
	T_EQ_INT(feed(&r, "250"), 2);
	T_EQ_INT(r.code, 250);
	T_EQ_STR(r.text, "");
	T_EQ_STR(r.status, "");
	T_EQ_STR(smtp_reply_str(&r, out, sizeof out), "250");
	T_EQ_INT(feed(&r, "354\r"), 2);
	T_EQ_INT(r.code, 354);
	/* "250 " with an empty text */
	T_EQ_INT(feed(&r, "220 "), 2);
	T_EQ_STR(r.text, "");

	/* without the CR (a bare LF server) */
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "421 4.3.2 bye", 13), 2);
	T_EQ_INT(r.code, 421);
	T_EQ_STR(r.status, "4.3.2");
}

static void
test_multi(void)
{
	struct smtp_reply r;
	char out[256];

	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "550-5.1.1 no such\r", 18), 1);
	T_EQ_INT(r.done, 0);
	T_EQ_INT(smtp_reply_line(&r, "550-5.1.1 user", 14), 1);
	T_EQ_INT(smtp_reply_line(&r, "550 here", 8), 2);
	T_EQ_INT(r.nlines, 3);
	T_EQ_STR(r.status, "5.1.1");
	T_EQ_STR(r.text, "5.1.1 no such\n5.1.1 user\nhere");
	T_EQ_STR(smtp_reply_str(&r, out, sizeof out),
	    "550 5.1.1 no such 5.1.1 user here");
	/* cut to fit */
	T_EQ_STR(smtp_reply_str(&r, out, 10), "550 5.1.1");
	T_EQ_STR(smtp_reply_str(&r, out, 3), "55");
	T_EQ_STR(smtp_reply_str(&r, out, 1), "");
	/* a continuation line with only "NNN-" */
	T_EQ_INT(feed(&r, "250-\r\n250 x"), 2);
	T_EQ_STR(r.text, "\nx");
	T_EQ_STR(smtp_reply_str(&r, out, sizeof out), "250  x");
}

static void
test_status(void)
{
	struct smtp_reply r;

	T_EQ_INT(feed(&r, "250 2.0.0"), 2);
	T_EQ_STR(r.status, "2.0.0");
	T_EQ_INT(feed(&r, "550 5.123.456 long"), 2);
	T_EQ_STR(r.status, "5.123.456");
	/* four digits, a class that is not the code's, junk after it */
	T_EQ_INT(feed(&r, "550 5.1234.1 x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 5.1.1234 x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 4.1.1 x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 5.1.1x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 5.1. x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 5..1 x"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 5.1"), 2);
	T_EQ_STR(r.status, "");
	T_EQ_INT(feed(&r, "550 no status 5.1.1"), 2);
	T_EQ_STR(r.status, "");
	/* only the first line's counts */
	T_EQ_INT(feed(&r, "451-try later\r\n451 4.7.1 greylisted"), 2);
	T_EQ_STR(r.status, "");
}

static void
test_bad(void)
{
	struct smtp_reply r;
	static char big[SMTP_REPLY_LINE_MAX + 2];
	size_t i;

	T_EQ_INT(feed(&r, ""), 0);
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "", 0), 0);
	T_EQ_INT(smtp_reply_line(&r, "\r", 1), 0);
	T_EQ_INT(feed(&r, "25"), 0);
	T_EQ_INT(feed(&r, "2500 x"), 0);     /* bad separator */
	T_EQ_INT(feed(&r, "250\tx"), 0);
	T_EQ_INT(feed(&r, "250_x"), 0);
	T_EQ_INT(feed(&r, "abc x"), 0);
	T_EQ_INT(feed(&r, "25a x"), 0);
	T_EQ_INT(feed(&r, "150 x"), 0);      /* not 2xx..5xx */
	T_EQ_INT(feed(&r, "650 x"), 0);
	T_EQ_INT(feed(&r, "050 x"), 0);
	T_EQ_INT(feed(&r, " 250 x"), 0);
	/* code mismatch */
	T_EQ_INT(feed(&r, "250-a\r\n251 b"), 0);
	T_EQ_INT(feed(&r, "250-a\r\n550 b"), 0);
	/* too many lines: LINES_MAX are fine, one more is not */
	smtp_reply_init(&r);
	for (i = 0; i + 1 < SMTP_REPLY_LINES_MAX; i++)
		T_CHECK(smtp_reply_line(&r, "250-x", 5) == 1 || i > 1000);
	T_EQ_INT(smtp_reply_line(&r, "250 x", 5), 2);
	T_EQ_INT(r.nlines, SMTP_REPLY_LINES_MAX);
	smtp_reply_init(&r);
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		smtp_reply_line(&r, "250-x", 5);
	T_EQ_INT(r.done, 0);
	T_EQ_INT(smtp_reply_line(&r, "250 x", 5), 0);
	/* over-long line: MAX bytes ok (plus a CR), MAX + 1 not */
	memset(big, 'a', sizeof big);
	memcpy(big, "250 ", 4);
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, big, SMTP_REPLY_LINE_MAX), 2);
	smtp_reply_init(&r);
	big[SMTP_REPLY_LINE_MAX] = '\r';
	T_EQ_INT(smtp_reply_line(&r, big, SMTP_REPLY_LINE_MAX + 1), 2);
	smtp_reply_init(&r);
	big[SMTP_REPLY_LINE_MAX] = 'a';
	T_EQ_INT(smtp_reply_line(&r, big, SMTP_REPLY_LINE_MAX + 1), 0);
}

static void
test_text(void)
{
	struct smtp_reply r;
	static char line[SMTP_REPLY_LINE_MAX];
	char out[64];
	size_t i;

	/* control characters, a CR inside, non-ASCII: '?' */
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "250 a\tb\rc\x01\xc3\xa9\x7f", 13), 2);
	T_EQ_STR(r.text, "a?b?c????");
	/* only one trailing CR is dropped */
	T_EQ_INT(feed(&r, "250 x\r\r"), 2);
	T_EQ_STR(r.text, "x?");
	/* NUL in a line */
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "250 a\0b", 7), 2);
	T_EQ_INT(r.textlen, 3);
	T_EQ_MEM(r.text, r.textlen, "a?b", 3);
	/* text cut at SMTP_REPLY_TEXT_MAX, the reply still complete */
	memset(line, 'x', sizeof line);
	memcpy(line, "250-", 4);
	smtp_reply_init(&r);
	for (i = 0; i < 5; i++)
		T_EQ_INT(smtp_reply_line(&r, line, 1004), 1);
	T_EQ_INT(r.textlen, SMTP_REPLY_TEXT_MAX);
	T_EQ_INT(smtp_reply_line(&r, "250 end", 7), 2);
	T_EQ_INT(r.textlen, SMTP_REPLY_TEXT_MAX);
	T_EQ_INT(strlen(r.text), SMTP_REPLY_TEXT_MAX);
	T_EQ_INT(r.nlines, 6);
	T_EQ_STR(smtp_reply_str(&r, out, 12), "250 xxxxxxx");
}

static int
ehlo(const char *s, struct smtp_ext *x)
{
	struct smtp_reply r;

	if (feed(&r, s) != 2)
		return -1;
	return smtp_ehlo_parse(&r, x);
}

static void
test_ehlo(void)
{
	struct smtp_ext x;
	struct smtp_reply r;

	T_EQ_INT(ehlo("250-mx.example.test hello\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 10240000\r\n"
	    "250-8BITMIME\r\n"
	    "250-SMTPUTF8\r\n"
	    "250-DSN\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
	    "250-CHUNKING\r\n"
	    "250-X-UNKNOWN foo\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n", &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
	    SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | SMTP_EXT_DSN |
	    SMTP_EXT_STARTTLS | SMTP_EXT_AUTH | SMTP_EXT_CHUNKING |
	    SMTP_EXT_ENHANCED);
	T_EQ_INT(x.size, 10240000);
	T_EQ_INT(x.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);

	/* lower case, SIZE 0, AUTH= old form, CRAM-MD5 alone */
	T_EQ_INT(ehlo("250-host\r\n250-pipelining\r\n250-size 0\r\n"
	    "250-auth=login\r\n250 starttls", &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
	    SMTP_EXT_AUTH | SMTP_EXT_STARTTLS);
	T_EQ_INT(x.size, 0);
	T_EQ_INT(x.auth, SMTP_AUTH_LOGIN);
	T_EQ_INT(ehlo("250-host\r\n250 AUTH CRAM-MD5 DIGEST-MD5", &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_AUTH);
	T_EQ_INT(x.auth, 0);
	T_EQ_INT(ehlo("250-host\r\n250 AUTH  plain   Login ", &x), 1);
	T_EQ_INT(x.auth, SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN);
	/* SIZE without a number, with junk, too large */
	T_EQ_INT(ehlo("250-host\r\n250 SIZE", &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_SIZE);
	T_EQ_INT(x.size, 0);
	T_EQ_INT(ehlo("250-host\r\n250 SIZE 12ab", &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_SIZE);
	T_EQ_INT(x.size, 0);
	T_EQ_INT(ehlo("250-host\r\n250 SIZE 99999999999999999999999999", &x),
	    1);
	T_EQ_INT(x.size, 0);
	/* keywords are whole words */
	T_EQ_INT(ehlo("250-host\r\n250-PIPELININGX\r\n250-DSNX\r\n"
	    "250 XSTARTTLS", &x), 1);
	T_EQ_INT(x.flags, 0);
	/* the first line is the name, never a keyword */
	T_EQ_INT(ehlo("250 PIPELINING", &x), 1);
	T_EQ_INT(x.flags, 0);
	T_EQ_INT(ehlo("250 ", &x), 1);
	T_EQ_INT(x.flags, 0);
	/* not a 2xx reply, not complete */
	T_EQ_INT(ehlo("502 5.5.1 no EHLO", &x), 0);
	T_EQ_INT(x.flags, 0);
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "250-host", 8), 1);
	T_EQ_INT(smtp_reply_line(&r, "250-SIZE 100", 12), 1);
	T_EQ_INT(smtp_ehlo_parse(&r, &x), 0);
}

/* An EHLO reply whose text is cut: the cut line is not trusted. */
static void
test_ehlo_cut(void)
{
	struct smtp_reply r;
	struct smtp_ext x;
	static char line[1004];
	size_t i;

	memset(line, 'y', sizeof line);
	memcpy(line, "250-", 4);
	smtp_reply_init(&r);
	T_EQ_INT(smtp_reply_line(&r, "250-host", 8), 1);
	T_EQ_INT(smtp_reply_line(&r, "250-PIPELINING", 14), 1);
	/* 4 + 1 + 10 + 4 * 1001 = 4019 bytes of text so far */
	for (i = 0; i < 4; i++)
		T_EQ_INT(smtp_reply_line(&r, line, sizeof line), 1);
	T_EQ_INT(r.textlen, 4019);
	/* "SIZE 10240000" is cut after "SIZE 1024..." */
	T_EQ_INT(smtp_reply_line(&r, "250-CHUNKING", 12), 1);
	T_EQ_INT(smtp_reply_line(&r, "250-SIZE 10240000000000000000000000000"
	    "000000000000000000000000000000000000000000000", 83), 1);
	T_EQ_INT(smtp_reply_line(&r, "250 DSN", 7), 2);
	T_EQ_INT(r.textlen, SMTP_REPLY_TEXT_MAX);
	T_EQ_INT(smtp_ehlo_parse(&r, &x), 1);
	T_EQ_INT(x.flags, SMTP_EXT_PIPELINING | SMTP_EXT_CHUNKING);
	T_EQ_INT(x.size, 0);
}

int
main(void)
{
	test_single();
	test_multi();
	test_status();
	test_bad();
	test_text();
	test_ehlo();
	test_ehlo_cut();
	T_DONE();
}
