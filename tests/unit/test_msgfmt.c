/*
 * test_msgfmt: lib/imap/istr.c, lib/imap/msgfmt.c, msgfmt_section.c and
 * the address lists of lib/mail/addrlist.c: IMAP strings, ENVELOPE
 * (the RFC 3501 example, groups, routes, broken lists), BODY and
 * BODYSTRUCTURE (the RFC 3501 example's shape, message/rfc822, empty
 * multiparts, extension data) and the section specs.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "imap/istr.h"
#include "imap/msgfmt.h"
#include "t.h"

static char *bufs[64];
static size_t nbufs;

static char *
crlf(const char *s, size_t *n_r)
{
	size_t n = strlen(s), i, o = 0;
	char *d = malloc(2 * n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			d[o++] = '\r';
		d[o++] = s[i];
	}
	d[o] = '\0';
	*n_r = o;
	if (nbufs < 64)
		bufs[nbufs++] = d;
	return d;
}

static void
test_istr(void)
{
	struct buf b = BUF_INIT;
	char big[1100];

	T_EQ_INT(imap_put_string(&b, "a \"b\" \\c", 8, 0), 1);
	T_EQ_STR(buf_str(&b), "\"a \\\"b\\\" \\\\c\"");
	buf_reset(&b);
	imap_put_string(&b, "", 0, 0);
	T_EQ_STR(buf_str(&b), "\"\"");
	buf_reset(&b);
	imap_put_string(&b, "a\r\nb", 4, 1);
	T_EQ_STR(buf_str(&b), "{4}\r\na\r\nb");
	buf_reset(&b);
	imap_put_string(&b, "caf\xc3\xa9", 5, 0);
	T_EQ_STR(buf_str(&b), "{5}\r\ncaf\xc3\xa9");
	buf_reset(&b);
	imap_put_string(&b, "caf\xc3\xa9", 5, 1);
	T_EQ_STR(buf_str(&b), "\"caf\xc3\xa9\"");
	buf_reset(&b);
	imap_put_string(&b, "caf\xe9", 4, 1);
	T_EQ_STR(buf_str(&b), "{4}\r\ncaf\xe9");
	buf_reset(&b);
	imap_put_string(&b, "a\0b", 3, 0);
	T_EQ_MEM(b.s, b.len, "{3}\r\na\0b", 8);
	buf_reset(&b);
	memset(big, 'x', sizeof big);
	imap_put_string(&b, big, 1023, 0);
	T_EQ_INT(b.len, 1025);
	buf_reset(&b);
	imap_put_string(&b, big, 1024, 0);
	T_EQ_MEM(b.s, 8, "{1024}\r\n", 8);
	buf_reset(&b);
	imap_put_nstring(&b, NULL, 0, 0);
	imap_put_nstring(&b, "x", 1, 0);
	T_EQ_STR(buf_str(&b), "NIL\"x\"");
	buf_reset(&b);
	imap_put_astring(&b, "INBOX]", 6, 0);
	imap_put_astring(&b, "a b", 3, 0);
	imap_put_astring(&b, "", 0, 0);
	imap_put_astring(&b, "a*", 2, 0);
	T_EQ_STR(buf_str(&b), "INBOX]\"a b\"\"\"\"a*\"");
	buf_free(&b);
}

/* the ENVELOPE of msg (LF turned into CRLF), part part */
static void
env_is(const char *text, size_t part, int utf8, const char *want, int line)
{
	struct mime_msg m = MIME_MSG_INIT;
	struct buf b = BUF_INIT;
	size_t n;
	const char *msg = crlf(text, &n);

	if (mime_parse(&m, msg, n) != 1 ||
	    imap_envelope(&b, msg, n, &m, part, utf8) != 1 ||
	    strcmp(buf_str(&b), want) != 0) {
		printf("FAIL line %d: envelope\n got %s\nwant %s\n", line,
		    buf_str(&b), want);
		t_failed++;
	} else
		t_passed++;
	mime_free(&m);
	buf_free(&b);
}

static void
test_envelope(void)
{
	/* RFC 3501 7.4.2's example, as a message */
	env_is("Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
	    "From: Terry Gray <gray@cac.washington.edu>\n"
	    "Subject: IMAP4rev1 WG mtg summary and minutes\n"
	    "To: imap@cac.washington.edu\n"
	    "cc: minutes@CNRI.Reston.VA.US,\n"
	    "    John Klensin <KLENSIN@MIT.EDU>\n"
	    "Message-Id: <B27397-0100000@cac.washington.edu>\n"
	    "\nbody\n", 0, 0,
	    "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
	    "\"IMAP4rev1 WG mtg summary and minutes\" "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	    "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	    "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
	    "\"<B27397-0100000@cac.washington.edu>\")", __LINE__);
	/* nothing at all */
	env_is("", 0, 0, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	    __LINE__);
	env_is("X: y\n\n", 0, 0, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	    __LINE__);
	/* groups, quoted names, routes, comments, sender and reply-to */
	env_is("From: \"Doe, J.\" <j@x.org>\n"
	    "Sender: s@x.org (The Sender)\n"
	    "Reply-To: <@r1.net,@r2.net:u@h.net>\n"
	    "To: A Group: a@b, \"Q \\\"X\\\"\" <c@d>;, e@f, undisclosed:;\n"
	    "Bcc: root\n"
	    "Subject: folded\n\tsubject \n"
	    "In-Reply-To: <p@q>\n\n", 0, 0,
	    "(NIL \"folded\tsubject\" "
	    "((\"Doe, J.\" NIL \"j\" \"x.org\")) "
	    "((\"The Sender\" NIL \"s\" \"x.org\")) "
	    "((NIL \"@r1.net,@r2.net\" \"u\" \"h.net\")) "
	    "((NIL NIL \"A Group\" NIL)(NIL NIL \"a\" \"b\")"
	    "(\"Q \\\"X\\\"\" NIL \"c\" \"d\")(NIL NIL NIL NIL)"
	    "(NIL NIL \"e\" \"f\")(NIL NIL \"undisclosed\" NIL)"
	    "(NIL NIL NIL NIL)) NIL "
	    "((NIL NIL \"root\" \"MISSING_DOMAIN\")) \"<p@q>\" NIL)",
	    __LINE__);
	/* RFC 2047 names stay encoded; two From fields are one list; an
	 * empty Sender gives from; a quoted local part keeps its quotes;
	 * J. Smith keeps its dot */
	env_is("From: =?utf-8?q?J=C3=B6rg?= <j@x>\n"
	    "From: J. Smith <\"a b\"@[1.2.3.4]>\n"
	    "Sender:\n\n", 0, 0,
	    "(NIL NIL ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\")"
	    "(\"J. Smith\" NIL \"\\\"a b\\\"\" \"[1.2.3.4]\")) "
	    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\")"
	    "(\"J. Smith\" NIL \"\\\"a b\\\"\" \"[1.2.3.4]\")) "
	    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\")"
	    "(\"J. Smith\" NIL \"\\\"a b\\\"\" \"[1.2.3.4]\")) "
	    "NIL NIL NIL NIL NIL)", __LINE__);
	/* broken lists give what can be read */
	env_is("To: <<>>, @@, \"unterminated\n"
	    "Cc: a@b <c@d>, g: h@i\n\n", 0, 0,
	    "(NIL NIL NIL NIL NIL "
	    "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
	    "(NIL NIL \"\\\"unterminated\" \"MISSING_DOMAIN\")) "
	    "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")"
	    "(NIL NIL \"g\" NIL)(NIL NIL \"h\" \"i\")(NIL NIL NIL NIL)) "
	    "NIL NIL NIL)", __LINE__);
	/* 8-bit: a literal unless UTF8=ACCEPT */
	env_is("Subject: caf\xc3\xa9\n\n", 0, 0,
	    "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)",
	    __LINE__);
	env_is("Subject: caf\xc3\xa9\n\n", 0, 1,
	    "(NIL \"caf\xc3\xa9\" NIL NIL NIL NIL NIL NIL NIL NIL)",
	    __LINE__);
	/* of an embedded message */
	env_is("Subject: outer\nContent-Type: message/rfc822\n\n"
	    "Subject: inner\nFrom: i@j\n\nx\n", 0, 0,
	    "(NIL \"outer\" NIL NIL NIL NIL NIL NIL NIL NIL)", __LINE__);
	env_is("Subject: outer\nContent-Type: message/rfc822\n\n"
	    "Subject: inner\nFrom: i@j\n\nx\n", 1, 0,
	    "(NIL \"inner\" ((NIL NIL \"i\" \"j\")) ((NIL NIL \"i\" \"j\")) "
	    "((NIL NIL \"i\" \"j\")) NIL NIL NIL NIL NIL)", __LINE__);
}

static void
bs_is(const char *text, int ext, const char *want, int line)
{
	struct mime_msg m = MIME_MSG_INIT;
	struct buf b = BUF_INIT;
	size_t n;
	const char *msg = crlf(text, &n);

	if (mime_parse(&m, msg, n) != 1 ||
	    imap_bodystructure(&b, msg, n, &m, 0, ext, 0) != 1 ||
	    strcmp(buf_str(&b), want) != 0) {
		printf("FAIL line %d: bodystructure\n got %s\nwant %s\n", line,
		    buf_str(&b), want);
		t_failed++;
	} else
		t_passed++;
	mime_free(&m);
	buf_free(&b);
}

/* the shape of RFC 3501 7.4.2's BODYSTRUCTURE example */
static const char RFCEX[] =
    "Content-Type: MULTIPART/MIXED; BOUNDARY=\"x\"\n\n"
    "--x\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\n"
    "one\ntwo\n"
    "--x\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\n"
    "Content-ID: <960723163407.20117h@cac.washington.edu>\n"
    "Content-Description: Compiler diff\n"
    "Content-Transfer-Encoding: BASE64\n\n"
    "AAAA\n"
    "--x--\n";

static void
test_bodystructure(void)
{
	bs_is(RFCEX, 0,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "8 2)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" "
	    "\"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" "
	    "\"Compiler diff\" \"BASE64\" 4 1) \"MIXED\")", __LINE__);
	bs_is(RFCEX, 1,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "8 2 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" "
	    "\"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" "
	    "\"Compiler diff\" \"BASE64\" 4 1 NIL NIL NIL NIL) \"MIXED\" "
	    "(\"BOUNDARY\" \"x\") NIL NIL NIL)", __LINE__);
	/* no Content-Type at all */
	bs_is("Subject: x\n\nhello\nworld", 0,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "12 2)", __LINE__);
	bs_is("", 1,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "0 0 NIL NIL NIL NIL)", __LINE__);
	/* text without charset gets one; non-text gets none */
	bs_is("Content-Type: text/html; format=flowed\n\n<p>\n", 0,
	    "(\"text\" \"html\" (\"format\" \"flowed\" \"CHARSET\" "
	    "\"us-ascii\") NIL NIL \"7BIT\" 5 1)", __LINE__);
	bs_is("Content-Type: image/png\nContent-Transfer-Encoding: base64\n"
	    "\nAA==\n", 0,
	    "(\"image\" \"png\" NIL NIL NIL \"base64\" 6)", __LINE__);
	/* extension data of a single part */
	bs_is("Content-Type: application/pdf; name=\"a b.pdf\"\n"
	    "Content-Disposition: attachment;\n filename=\"a b.pdf\"; size=3\n"
	    "Content-Language: en, de-CH\n"
	    "Content-Location: http://x/y\n"
	    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n\nabc", 1,
	    "(\"application\" \"pdf\" (\"name\" \"a b.pdf\") NIL NIL \"7BIT\" 3 "
	    "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"filename\" "
	    "\"a b.pdf\" \"size\" \"3\")) (\"en\" \"de-CH\") \"http://x/y\")",
	    __LINE__);
	bs_is("Content-Type: text/plain\nContent-Disposition: inline\n\n", 1,
	    "(\"text\" \"plain\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "0 0 NIL (\"inline\" NIL) NIL NIL)", __LINE__);
	/* a multipart without a part */
	bs_is("Content-Type: multipart/mixed\n\nno boundary\n", 0,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "0 0) \"mixed\")", __LINE__);
	bs_is("Content-Type: multipart/mixed; boundary=q\n\nno part\n", 1,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"q\") NIL NIL NIL)",
	    __LINE__);
	/* message/rfc822 in a multipart: envelope, body, lines */
	bs_is("Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: message/rfc822\n\nSubject: in\n\nhi\n--b--\n", 0,
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 17 (NIL \"in\" NIL "
	    "NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"us-ascii\") NIL NIL \"7BIT\" 2 1) 3) \"mixed\")", __LINE__);
	/* a message that is a message/rfc822 */
	bs_is("Content-Type: message/rfc822\n\nSubject: in\n\nhi\n", 0,
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 19 (NIL \"in\" NIL "
	    "NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"us-ascii\") NIL NIL \"7BIT\" 4 1) 3)", __LINE__);
	/* a digest's parts are messages by default */
	bs_is("Content-Type: multipart/digest; boundary=b\n\n--b\n\n"
	    "Subject: d\n\nx\n--b--\n", 0,
	    "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 15 (NIL \"d\" NIL "
	    "NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"us-ascii\") NIL NIL \"7BIT\" 1 1) 3) \"digest\")", __LINE__);
	/* alternative nested in mixed */
	bs_is("Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	    "Content-Type: multipart/alternative; boundary=i\n\n--i\n\na\n"
	    "--i\nContent-Type: text/html\n\n<b>\n--i--\n--o\n"
	    "Content-Type: application/zip\n\nPK\n--o--\n", 0,
	    "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" "
	    "1 1)(\"text\" \"html\" (\"CHARSET\" \"us-ascii\") NIL NIL "
	    "\"7BIT\" 3 1) \"alternative\")(\"application\" \"zip\" NIL NIL "
	    "NIL \"7BIT\" 2) \"mixed\")", __LINE__);
}

static void
test_section_parse(void)
{
	struct imap_section sec = IMAP_SECTION_INIT;
	struct buf b = BUF_INIT;
	size_t used;
	const char *s;

#define PARSE(str) imap_section_parse((str), strlen(str), &sec, &used)
#define NAME_IS(want) do { buf_reset(&b); imap_section_name(&b, &sec); \
	T_EQ_STR(buf_str(&b), (want)); } while (0)
	T_EQ_INT(PARSE("] rest"), 1);
	T_EQ_INT(used, 1);
	T_EQ_INT(sec.npart, 0);
	T_EQ_INT(sec.kind, IMAP_SEC_ALL);
	T_EQ_INT(sec.speclen, 0);
	NAME_IS("");
	T_EQ_INT(PARSE("1.2.3]"), 1);
	T_EQ_INT(sec.npart, 3);
	T_EQ_INT(sec.part[2], 3);
	NAME_IS("1.2.3");
	T_EQ_INT(PARSE("header]"), 1);
	T_EQ_INT(sec.kind, IMAP_SEC_HEADER);
	NAME_IS("HEADER");
	T_EQ_INT(PARSE("2.Mime]<0.10>"), 1);
	T_EQ_INT(sec.kind, IMAP_SEC_MIME);
	T_EQ_INT(used, 13);
	T_CHECK(sec.partial && sec.poff == 0 && sec.plen == 10);
	NAME_IS("2.MIME");
	T_EQ_INT(PARSE("TEXT]<5.0>"), 1);
	T_CHECK(sec.partial && sec.poff == 5 && sec.plen == 0);
	s = "1.HEADER.FIELDS (From \"x-y\" {4}\r\nto\0a)]";
	T_EQ_INT(imap_section_parse(s, 42, &sec, &used), 0);  /* a NUL */
	s = "1.HEADER.FIELDS (From \"x-y\" {2}\r\nto)]";
	T_EQ_INT(PARSE(s), 1);
	T_EQ_INT(used, strlen(s));
	T_EQ_INT(sec.speclen, strlen(s) - 1);
	T_EQ_INT(sec.kind, IMAP_SEC_FIELDS);
	T_EQ_INT(sec.nfields, 3);
	T_EQ_MEM(sec.fields.s, sec.fields.len, "From\0x-y\0to\0", 12);
	NAME_IS("1.HEADER.FIELDS (FROM X-Y TO)");
	T_EQ_INT(PARSE("HEADER.FIELDS.NOT (a {3+}\r\nb c)]"), 1);
	T_EQ_INT(sec.kind, IMAP_SEC_FIELDS_NOT);
	NAME_IS("HEADER.FIELDS.NOT (A \"B C\")");
	/* syntax errors */
	T_EQ_INT(PARSE("MIME]"), 0);
	T_EQ_INT(PARSE("0]"), 0);
	T_EQ_INT(PARSE("1.]"), 0);
	T_EQ_INT(PARSE("1..2]"), 0);
	T_EQ_INT(PARSE("1HEADER]"), 0);
	T_EQ_INT(PARSE("HEADER"), 0);
	T_EQ_INT(PARSE(""), 0);
	T_EQ_INT(PARSE("HEADER.FIELDS ()]"), 0);
	T_EQ_INT(PARSE("HEADER.FIELDS(a)]"), 0);
	T_EQ_INT(PARSE("HEADER.FIELDS (a]"), 0);
	T_EQ_INT(PARSE("HEADER.FIELDS (a {9}\r\nb)]"), 0);
	T_EQ_INT(PARSE("TEXTX]"), 0);
	T_EQ_INT(PARSE("]<1>"), 0);
	T_EQ_INT(PARSE("]<1.>"), 0);
	T_EQ_INT(PARSE("]<1.2"), 0);
	T_EQ_INT(PARSE("]<4294967296.1>"), 0);
	T_EQ_INT(PARSE("]<4294967295.1>"), 1);
	T_EQ_INT(PARSE("99999999999]"), 0);
	T_EQ_INT(PARSE("1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1"
	    ".1.1.1.1.1.1]"), 1);
	T_EQ_INT(PARSE("1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1"
	    ".1.1.1.1.1.1.1]"), 0);
	imap_section_free(&sec);
	imap_section_free(NULL);
	buf_free(&b);
}

/* BODY[spec] of msg */
static void
get_is(const char *msg, size_t n, const struct mime_msg *m,
    const char *spec, const char *want, int line)
{
	struct imap_section sec = IMAP_SECTION_INIT;
	struct buf out = BUF_INIT;
	size_t used, rn = 0;
	const char *r = NULL;

	if (imap_section_parse(spec, strlen(spec), &sec, &used) != 1 ||
	    imap_section_get(msg, n, m, &sec, &out, &r, &rn) != 1 ||
	    rn != strlen(want) || memcmp(r, want, rn) != 0) {
		printf("FAIL line %d: BODY[%s]\n got ", line, spec);
		t_print_mem_(r, r ? rn : 0);
		printf("\nwant ");
		t_print_mem_(want, strlen(want));
		printf("\n");
		t_failed++;
	} else
		t_passed++;
	imap_section_free(&sec);
	buf_free(&out);
}

static const char SECMSG[] =
    "From: a@b\n"
    "Subject: s\n"
    "  folded\n"
    "Content-Type: multipart/mixed; boundary=o\n"
    "\n"
    "--o\n"
    "Content-Type: text/plain\n"
    "\n"
    "first\n"
    "--o\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "To: x@y\n"
    "Content-Type: multipart/alternative; boundary=i\n"
    "\n"
    "--i\n"
    "\n"
    "alt1\n"
    "--i\n"
    "X: 1\n"
    "\n"
    "alt2\n"
    "--i--\n"
    "--o\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: plain inner\n"
    "\n"
    "just text\n"
    "--o--\n";

static void
test_section_get(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	size_t n, n2;
	const char *msg = crlf(SECMSG, &n), *m2;

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	get_is(msg, n, &m, "]", msg, __LINE__);
	get_is(msg, n, &m, "HEADER]", "From: a@b\r\nSubject: s\r\n  folded\r\n"
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n", __LINE__);
	get_is(msg, n, &m, "TEXT]", strstr(msg, "--o"), __LINE__);
	get_is(msg, n, &m, "HEADER.FIELDS (SUBJECT from)]",
	    "From: a@b\r\nSubject: s\r\n  folded\r\n\r\n", __LINE__);
	get_is(msg, n, &m, "HEADER.FIELDS.NOT (SUBJECT from)]",
	    "Content-Type: multipart/mixed; boundary=o\r\n\r\n", __LINE__);
	get_is(msg, n, &m, "HEADER.FIELDS (X-None)]", "\r\n", __LINE__);
	get_is(msg, n, &m, "1]", "first", __LINE__);
	get_is(msg, n, &m, "1.MIME]", "Content-Type: text/plain\r\n\r\n",
	    __LINE__);
	get_is(msg, n, &m, "1.HEADER]", "", __LINE__);  /* not a message */
	get_is(msg, n, &m, "1.1]", "", __LINE__);
	get_is(msg, n, &m, "2.MIME]", "Content-Type: message/rfc822\r\n\r\n",
	    __LINE__);
	get_is(msg, n, &m, "2.HEADER]", "Subject: inner\r\nTo: x@y\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n",
	    __LINE__);
	get_is(msg, n, &m, "2.HEADER.FIELDS (to)]", "To: x@y\r\n\r\n",
	    __LINE__);
	get_is(msg, n, &m, "2.TEXT]", "--i\r\n\r\nalt1\r\n--i\r\nX: 1\r\n\r\n"
	    "alt2\r\n--i--", __LINE__);
	get_is(msg, n, &m, "2]", "Subject: inner\r\nTo: x@y\r\n"
	    "Content-Type: multipart/alternative; boundary=i\r\n\r\n"
	    "--i\r\n\r\nalt1\r\n--i\r\nX: 1\r\n\r\nalt2\r\n--i--", __LINE__);
	get_is(msg, n, &m, "2.1]", "alt1", __LINE__);
	get_is(msg, n, &m, "2.2]", "alt2", __LINE__);
	get_is(msg, n, &m, "2.2.MIME]", "X: 1\r\n\r\n", __LINE__);
	get_is(msg, n, &m, "2.3]", "", __LINE__);
	get_is(msg, n, &m, "3.1]", "just text", __LINE__);
	get_is(msg, n, &m, "3.HEADER]", "Subject: plain inner\r\n\r\n",
	    __LINE__);
	get_is(msg, n, &m, "3.1.1]", "", __LINE__);
	get_is(msg, n, &m, "4]", "", __LINE__);
	get_is(msg, n, &m, "4.MIME]", "", __LINE__);
	mime_free(&m);

	/* a single-part message: part 1 is its body */
	m2 = crlf("Subject: one\n\nbody\n", &n2);
	T_EQ_INT(mime_parse(&m, m2, n2), 1);
	get_is(m2, n2, &m, "1]", "body\r\n", __LINE__);
	get_is(m2, n2, &m, "2]", "", __LINE__);
	get_is(m2, n2, &m, "1.MIME]", "Subject: one\r\n\r\n", __LINE__);
	get_is(m2, n2, &m, "TEXT]", "body\r\n", __LINE__);
	mime_free(&m);
	/* a header without an empty line and without a final line end */
	m2 = crlf("Subject: one\nTo: t", &n2);
	T_EQ_INT(mime_parse(&m, m2, n2), 1);
	get_is(m2, n2, &m, "HEADER.FIELDS (TO)]", "To: t\r\n\r\n", __LINE__);
	get_is(m2, n2, &m, "TEXT]", "", __LINE__);
	mime_free(&m);
}

int
main(void)
{
	size_t i;

	test_istr();
	test_envelope();
	test_bodystructure();
	test_section_parse();
	test_section_get();
	for (i = 0; i < nbufs; i++)
		free(bufs[i]);
	T_DONE();
}
