/*
 * test_imapparse: lib/imap/parse.c, seqset.c, mutf7.c, imapdate.c and
 * listmatch.c: the IMAP command cursor and token readers, sequence sets,
 * modified UTF-7, dates and LIST wildcards, with the RFCs' own examples
 * and every error path.
 */
#include <stdlib.h>
#include <string.h>

#include "imap/parse.h"
#include "t.h"

/* a cursor over a string literal (its bytes, without the C NUL) */
#define P(p, lit) imap_p_init((p), (lit), sizeof(lit) - 1)

static struct buf b = BUF_INIT;

static void
test_cursor(void)
{
	struct imap_p p;
	const char *s;
	size_t n;

	P(&p, "a001 LOGIN x\r\n");
	T_EQ_INT(imap_p_tag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "a001", 4);
	T_EQ_INT(imap_p_sp(&p), 1);
	T_EQ_INT(imap_p_atom(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "LOGIN", 5);
	T_EQ_INT(imap_p_end(&p), 0);
	T_EQ_INT(imap_p_peek(&p), ' ');
	T_EQ_INT(imap_p_sp(&p), 1);
	T_EQ_INT(imap_p_peek(&p), 'x');
	T_EQ_INT(imap_p_char(&p, 'x'), 1);
	T_EQ_INT(imap_p_end(&p), 1);
	T_EQ_INT(imap_p_peek(&p), -1);
	T_CHECK(p.err == NULL);
	T_EQ_INT(imap_p_sp(&p), 0);
	T_EQ_STR(p.err, "Missing SP");

	/* bare LF, and nothing, also end it */
	P(&p, "x\n");
	p.pos = 1;
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "");
	T_EQ_INT(imap_p_end(&p), 1);
	T_EQ_INT(imap_p_peek(&p), -1);
	/* a CR not followed by LF is a byte, and a lone CR is not an end */
	P(&p, "x\r");
	p.pos = 1;
	T_EQ_INT(imap_p_peek(&p), '\r');

	/* the first error is kept */
	P(&p, "(\r\n");
	T_EQ_INT(imap_p_char(&p, ')'), 0);
	T_EQ_STR(p.err, "Missing close parenthesis");
	T_EQ_INT(imap_p_sp(&p), 0);
	T_EQ_STR(p.err, "Missing close parenthesis");
	T_EQ_INT(imap_p_char(&p, '('), 1);
	P(&p, "x");
	T_EQ_INT(imap_p_char(&p, 'y'), 0);
	T_EQ_STR(p.err, "Unexpected character");

	/* tags: no "+", no specials */
	P(&p, "+a\r\n");
	T_EQ_INT(imap_p_tag(&p, &s, &n), 0);
	T_EQ_STR(p.err, "Bad tag");
	P(&p, "a+b c");
	T_EQ_INT(imap_p_tag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "a", 1);
	P(&p, "a]b* c");
	T_EQ_INT(imap_p_tag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "a]b", 3);
	P(&p, " x");
	T_EQ_INT(imap_p_tag(&p, &s, &n), 0);

	/* atoms stop at atom-specials and 8-bit bytes */
	P(&p, "BODY[TEXT]");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "BODY[TEXT", 9);
	T_EQ_INT(imap_p_peek(&p), ']');
	P(&p, "ab\xc3\xa9");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 1);
	T_EQ_INT(n, 2);
	P(&p, "(x");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 0);
	T_EQ_STR(p.err, "Expected atom");
	P(&p, "\x7f");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 0);
	P(&p, "a%b");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 1);
	T_EQ_INT(n, 1);
	/* the atom stops at the final CRLF */
	P(&p, "NOOP\r\n");
	T_EQ_INT(imap_p_atom(&p, &s, &n), 1);
	T_EQ_INT(n, 4);
	T_EQ_INT(imap_p_end(&p), 1);
}

static void
test_numbers(void)
{
	struct imap_p p;
	unsigned long u;
	unsigned long long v;

	P(&p, "4294967295 ");
	T_EQ_INT(imap_p_number(&p, &u), 1);
	T_EQ_INT(u, 4294967295UL);
	T_EQ_INT(imap_p_peek(&p), ' ');
	P(&p, "4294967296");
	T_EQ_INT(imap_p_number(&p, &u), 0);
	T_EQ_STR(p.err, "Number too big");
	P(&p, "99999999999999999999999");
	T_EQ_INT(imap_p_number(&p, &u), 0);
	P(&p, "0");
	T_EQ_INT(imap_p_number(&p, &u), 1);
	T_EQ_INT(u, 0);
	P(&p, "007");
	T_EQ_INT(imap_p_number(&p, &u), 1);
	T_EQ_INT(u, 7);
	P(&p, "x");
	T_EQ_INT(imap_p_number(&p, &u), 0);
	T_EQ_STR(p.err, "Expected number");
	P(&p, "\r\n");
	T_EQ_INT(imap_p_number(&p, &u), 0);
	P(&p, "-1");
	T_EQ_INT(imap_p_number(&p, &u), 0);

	P(&p, "0");
	T_EQ_INT(imap_p_nznumber(&p, &u), 0);
	T_EQ_STR(p.err, "Expected nonzero number");
	P(&p, "01");
	T_EQ_INT(imap_p_nznumber(&p, &u), 0);
	P(&p, "1");
	T_EQ_INT(imap_p_nznumber(&p, &u), 1);
	T_EQ_INT(u, 1);
	P(&p, "4294967295");
	T_EQ_INT(imap_p_nznumber(&p, &u), 1);
	P(&p, "4294967296");
	T_EQ_INT(imap_p_nznumber(&p, &u), 0);

	P(&p, "9223372036854775807");
	T_EQ_INT(imap_p_number64(&p, &v), 1);
	T_CHECK(v == 9223372036854775807ULL);
	P(&p, "9223372036854775808");
	T_EQ_INT(imap_p_number64(&p, &v), 0);
	P(&p, "18446744073709551616");
	T_EQ_INT(imap_p_number64(&p, &v), 0);
	P(&p, "0)");
	T_EQ_INT(imap_p_number64(&p, &v), 1);
	T_CHECK(v == 0);
	P(&p, "4294967296");
	T_EQ_INT(imap_p_number64(&p, &v), 1);
	T_CHECK(v == 4294967296ULL);
}

static void
test_strings(void)
{
	struct imap_p p;
	int nil;

	P(&p, "\"a b\\\"c\\\\d\" x");
	T_EQ_INT(imap_p_string(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "a b\"c\\d");
	T_EQ_INT(imap_p_peek(&p), ' ');
	P(&p, "\"\"");
	T_EQ_INT(imap_p_string(&p, &b), 1);
	T_EQ_INT(b.len, 0);
	/* UTF-8 in quoted (RFC 9051) */
	P(&p, "\"caf\xc3\xa9\"");
	T_EQ_INT(imap_p_astring(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "caf\xc3\xa9");
	/* only \" and \\ are escapes */
	P(&p, "\"a\\n\"");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "Bad escape in quoted string");
	P(&p, "\"a\\");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	P(&p, "\"abc");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "Unterminated quoted string");
	P(&p, "\"abc\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "Unterminated quoted string");
	P(&p, "\"a\rb\" x\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "Bad character in quoted string");
	P(&p, "\"a\nb\" x\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	P(&p, "\"a\0b\"");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	P(&p, "abc");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "Expected string");

	/* literals */
	P(&p, "{5}\r\nhello world\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "hello");
	T_EQ_INT(imap_p_peek(&p), ' ');
	P(&p, "{5+}\nhe\r\nl x\r\n");
	T_EQ_INT(imap_p_astring(&p, &b), 1);
	T_EQ_MEM(b.s, b.len, "he\r\nl", 5);
	P(&p, "{0}\r\n\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 1);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "{3}\r\na\0b\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 0);
	T_EQ_STR(p.err, "NUL in string");
	P(&p, "{3}\r\na\0b\r\n");
	T_EQ_INT(imap_p_astring(&p, &b), 0);
	T_EQ_STR(p.err, "NUL in string");
	/* literal8 is not a string */
	P(&p, "~{3}\r\nabc\r\n");
	T_EQ_INT(imap_p_string(&p, &b), 0);

	/* astring */
	P(&p, "user]x pass");
	T_EQ_INT(imap_p_astring(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "user]x");
	P(&p, "(x");
	T_EQ_INT(imap_p_astring(&p, &b), 0);
	T_EQ_STR(p.err, "Expected string");
	P(&p, "\r\n");
	T_EQ_INT(imap_p_astring(&p, &b), 0);
	P(&p, "a*b");
	T_EQ_INT(imap_p_astring(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "a");

	/* nstring */
	P(&p, "NIL)");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 1);
	T_EQ_INT(nil, 1);
	T_EQ_INT(imap_p_peek(&p), ')');
	P(&p, "nil\r\n");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 1);
	T_EQ_INT(nil, 1);
	P(&p, "nil");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 1);
	P(&p, "NILS");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 0);
	T_EQ_STR(p.err, "Expected string or NIL");
	P(&p, "NI");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 0);
	P(&p, "\"NIL\"");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 1);
	T_EQ_INT(nil, 0);
	T_EQ_STR(buf_str(&b), "NIL");
	P(&p, "{2}\r\nab");
	T_EQ_INT(imap_p_nstring(&p, &b, &nil), 1);
	T_EQ_INT(nil, 0);
	T_EQ_STR(buf_str(&b), "ab");

	/* mailbox: INBOX in any case */
	P(&p, "inbox");
	T_EQ_INT(imap_p_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "INBOX");
	P(&p, "\"InBoX\"");
	T_EQ_INT(imap_p_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "INBOX");
	P(&p, "inbox/sub");
	T_EQ_INT(imap_p_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "inbox/sub");
	P(&p, "inboxes");
	T_EQ_INT(imap_p_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "inboxes");
	P(&p, "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	T_EQ_INT(imap_p_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	P(&p, "%");
	T_EQ_INT(imap_p_mailbox(&p, &b), 0);

	/* list-mailbox: wildcards and "]" */
	P(&p, "foo/*%] x");
	T_EQ_INT(imap_p_list_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "foo/*%]");
	P(&p, "\"\"");
	T_EQ_INT(imap_p_list_mailbox(&p, &b), 1);
	T_EQ_INT(b.len, 0);
	P(&p, "{1}\r\n*");
	T_EQ_INT(imap_p_list_mailbox(&p, &b), 1);
	T_EQ_STR(buf_str(&b), "*");
	P(&p, "(");
	T_EQ_INT(imap_p_list_mailbox(&p, &b), 0);
	T_EQ_STR(p.err, "Expected mailbox pattern");
}

static void
test_literal(void)
{
	struct imap_p p;
	const char *s;
	size_t n;
	int bin;

	P(&p, "{3}\r\na\0b\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_MEM(s, n, "a\0b", 3);
	T_EQ_INT(bin, 0);
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "~{3}\r\n\0\0\0\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_INT(n, 3);
	T_EQ_INT(bin, 1);
	P(&p, "~{2+}\nab)\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_MEM(s, n, "ab", 2);
	T_EQ_INT(imap_p_peek(&p), ')');
	/* the literal's bytes may end in CRLF before the final one */
	P(&p, "{2}\r\n\r\n\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_MEM(s, n, "\r\n", 2);
	T_EQ_INT(imap_p_end(&p), 1);
	/* ten digits: a number, too long for the command */
	P(&p, "{9999999999}\r\nx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	T_EQ_STR(p.err, "Literal longer than the command");
	P(&p, "{00000000001}\r\nx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	T_EQ_STR(p.err, "Bad literal");
	P(&p, "{0000000001}\r\nx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_INT(n, 1);
	P(&p, "{4}\r\nabc\r\n");  /* would eat the final CRLF */
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{}\r\n\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	T_EQ_STR(p.err, "Bad literal");
	P(&p, "{1a}\r\nx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{1++}\r\nx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{1}x\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	T_EQ_STR(p.err, "Missing CRLF after literal");
	P(&p, "{1}\rx\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{1}");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{1");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "{");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "~");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "~x");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	P(&p, "\"x\"");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
	T_EQ_STR(p.err, "Expected literal");
	/* an empty literal at the very end */
	P(&p, "{0}\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_INT(n, 0);
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "{1}\r\n");
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 0);
}

static void
test_literal_tail(void)
{
	unsigned long long len = 7;
	int ns = 7;

#define TAIL(lit) imap_literal_tail((lit), sizeof(lit) - 1, &len, &ns)
	T_EQ_INT(TAIL("a LOGIN {5}\r\n"), 1);
	T_CHECK(len == 5);
	T_EQ_INT(ns, 0);
	T_EQ_INT(TAIL("a LOGIN {12+}\n"), 1);
	T_CHECK(len == 12);
	T_EQ_INT(ns, 1);
	T_EQ_INT(TAIL("a APPEND x ~{9999999999}\r\n"), 1);
	T_CHECK(len == 9999999999ULL);
	T_EQ_INT(TAIL("{0}"), 1);
	T_CHECK(len == 0);
	T_EQ_INT(TAIL("{12a}\r\n"), -1);
	T_EQ_INT(TAIL("a {12345678901}\r\n"), -1);
	T_EQ_INT(TAIL("a {}\r\n"), -1);
	T_EQ_INT(TAIL("a {+}\r\n"), -1);
	T_EQ_INT(TAIL("a {1+2}\r\n"), -1);
	T_EQ_INT(TAIL("a {-1}\r\n"), -1);
	T_EQ_INT(TAIL("a {1}}\r\n"), -1);
	T_EQ_INT(TAIL("a NOOP\r\n"), 0);
	T_EQ_INT(TAIL("a LOGIN user pa}\r\n"), 0);
	T_EQ_INT(TAIL("a LOGIN \"{\" x}\r\n"), 0);
	T_EQ_INT(TAIL("a LOGIN {5}x\r\n"), 0);
	T_EQ_INT(TAIL("}"), 0);
	T_EQ_INT(TAIL("\r\n"), 0);
	T_EQ_INT(TAIL(""), 0);
	T_EQ_INT(TAIL("a {5} \r\n"), 0);
#undef TAIL
}

static void
test_flag(void)
{
	struct imap_p p;
	const char *s;
	size_t n;

	P(&p, "\\Seen \\* $Junk");
	T_EQ_INT(imap_p_flag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "\\Seen", 5);
	T_EQ_INT(imap_p_sp(&p), 1);
	T_EQ_INT(imap_p_flag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "\\*", 2);
	T_EQ_INT(imap_p_sp(&p), 1);
	T_EQ_INT(imap_p_flag(&p, &s, &n), 1);
	T_EQ_MEM(s, n, "$Junk", 5);
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "\\");
	T_EQ_INT(imap_p_flag(&p, &s, &n), 0);
	T_EQ_STR(p.err, "Bad flag");
	P(&p, "\\ x");
	T_EQ_INT(imap_p_flag(&p, &s, &n), 0);
	P(&p, ")");
	T_EQ_INT(imap_p_flag(&p, &s, &n), 0);
	P(&p, "\\Seen)");
	T_EQ_INT(imap_p_flag(&p, &s, &n), 1);
	T_EQ_INT(imap_p_peek(&p), ')');
}

/* parse, resolve with max, format: the text or "ERR" */
static const char *
seq(const char *text, unsigned long max)
{
	static struct imap_seqset set;
	struct imap_p p;

	imap_p_init(&p, text, strlen(text));
	buf_reset(&b);
	if (imap_p_seqset(&p, &set) != 1 || !imap_p_end(&p))
		return "ERR";
	if (set.saved)
		return "$";
	imap_seqset_resolve(&set, max);
	if (imap_seqset_format(&set, &b) < 0)
		return "ENOMEM";
	if (text[0] == '\0')
		imap_seqset_free(&set);
	return buf_str(&b);
}

static void
test_seqset(void)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct imap_p p;
	int i;

	/* RFC 9051 9 (sequence-set): examples for a mailbox of 15 */
	T_EQ_STR(seq("2,4:7,9,12:*", 15), "2,4:7,9,12:15");
	T_EQ_STR(seq("*:4,5:7", 10), "4:10");
	T_EQ_STR(seq("*:4,7:5", 10), "4:10");
	T_EQ_STR(seq("4:2", 10), "2:4");
	T_EQ_STR(seq("2:4", 10), "2:4");
	T_EQ_STR(seq("*", 7), "7");
	T_EQ_STR(seq("1:*", 7), "1:7");
	T_EQ_STR(seq("5:*", 3), "3:5");
	T_EQ_STR(seq("3,1,2", 9), "1:3");
	T_EQ_STR(seq("1,3,5,7:9,8,10", 20), "1,3,5,7:10");
	T_EQ_STR(seq("1:3,2:10,20", 20), "1:10,20");
	T_EQ_STR(seq("4294967295", 5), "4294967295");
	T_EQ_STR(seq("1:4294967295,4294967295", 5), "1:4294967295");
	T_EQ_STR(seq("4294967294,4294967295,1", 5), "1,4294967294:4294967295");
	/* empty mailbox: '*' matches nothing */
	T_EQ_STR(seq("*", 0), "");
	T_EQ_STR(seq("1:*", 0), "");
	T_EQ_STR(seq("1:*,3", 0), "3");
	T_EQ_STR(seq("$", 5), "$");
	/* errors */
	T_EQ_STR(seq("0", 5), "ERR");
	T_EQ_STR(seq("0:3", 5), "ERR");
	T_EQ_STR(seq("01", 5), "ERR");
	T_EQ_STR(seq("4294967296", 5), "ERR");
	T_EQ_STR(seq("1,", 5), "ERR");
	T_EQ_STR(seq(",1", 5), "ERR");
	T_EQ_STR(seq("1:", 5), "ERR");
	T_EQ_STR(seq("1::2", 5), "ERR");
	T_EQ_STR(seq("1:2:3", 5), "ERR");
	T_EQ_STR(seq("", 5), "ERR");
	T_EQ_STR(seq("$,1", 5), "ERR");
	T_EQ_STR(seq("**", 5), "ERR");
	T_EQ_STR(seq("a", 5), "ERR");
	P(&p, "x");
	T_EQ_INT(imap_p_seqset(&p, &set), 0);
	T_EQ_STR(p.err, "Bad sequence set");
	P(&p, "1:x");
	T_EQ_INT(imap_p_seqset(&p, &set), 0);
	T_EQ_STR(p.err, "Bad sequence set");
	/* stops before the next token */
	P(&p, "1:3 FLAGS");
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	T_EQ_INT(set.n, 1);
	T_EQ_INT(imap_p_peek(&p), ' ');

	/* has, after resolve */
	P(&p, "2,4:7,9,12:*");
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	imap_seqset_resolve(&set, 15);
	T_EQ_INT(imap_seqset_has(&set, 1), 0);
	T_EQ_INT(imap_seqset_has(&set, 2), 1);
	T_EQ_INT(imap_seqset_has(&set, 3), 0);
	T_EQ_INT(imap_seqset_has(&set, 4), 1);
	T_EQ_INT(imap_seqset_has(&set, 7), 1);
	T_EQ_INT(imap_seqset_has(&set, 8), 0);
	T_EQ_INT(imap_seqset_has(&set, 9), 1);
	T_EQ_INT(imap_seqset_has(&set, 11), 0);
	T_EQ_INT(imap_seqset_has(&set, 15), 1);
	T_EQ_INT(imap_seqset_has(&set, 16), 0);
	T_EQ_INT(imap_seqset_has(&set, 0), 0);
	/* $ and reset */
	P(&p, "$ ");
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	T_EQ_INT(set.saved, 1);
	T_EQ_INT(set.n, 0);
	imap_seqset_reset(&set);
	T_EQ_INT(set.saved, 0);
	/* add swaps, and grows */
	for (i = 0; i < 100; i++)
		T_CHECK(imap_seqset_add(&set, 300 - i * 3, 299 - i * 3) == 1);
	T_EQ_INT(set.n, 100);
	T_EQ_INT(set.r[0].lo, 299);
	T_EQ_INT(set.r[0].hi, 300);
	imap_seqset_resolve(&set, 1000);
	T_EQ_INT(set.n, 100);
	T_EQ_INT(imap_seqset_has(&set, 1), 0);
	T_EQ_INT(imap_seqset_has(&set, 2), 1);
	T_EQ_INT(imap_seqset_has(&set, 4), 0);
	T_EQ_INT(imap_seqset_has(&set, 300), 1);
	imap_seqset_free(&set);
	T_CHECK(set.r == NULL && set.n == 0 && set.cap == 0);
	imap_seqset_resolve(&set, 5);
	T_EQ_INT(imap_seqset_has(&set, 1), 0);
	buf_reset(&b);
	T_EQ_INT(imap_seqset_format(&set, &b), 1);
	T_EQ_INT(b.len, 0);
	seq("", 0);  /* frees the static set */
}

static void
test_mutf7(void)
{
	static const char *bad[] = {
		"&", "&U,BTFw", "&U,BTFw-&ZeVnLIqe-", "&AGE-", "&ACY-",
		"&AAA-", "&2D0-", "&3gA-", "&2D3YPQ-", "&U/BTFw-",
		"&U=-", "&A-", "&AAEA-", "&AAF-", "caf\xc3\xa9", "a\tb",
		"\x7f", "&U,BTFw=-",
	};
	size_t i;

	/* RFC 3501 5.1.3 */
	T_EQ_INT(imap_mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-", 31,
	    &b), 1);
	T_EQ_STR(buf_str(&b), "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	T_EQ_INT(imap_mutf7_encode("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 28, &b), 1);
	T_EQ_STR(buf_str(&b), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	T_EQ_INT(imap_mutf7_decode("a&-b", 4, &b), 1);
	T_EQ_STR(buf_str(&b), "a&b");
	T_EQ_INT(imap_mutf7_encode("a&b&", 4, &b), 1);
	T_EQ_STR(buf_str(&b), "a&-b&-");
	T_EQ_INT(imap_mutf7_decode("&-&-", 4, &b), 1);
	T_EQ_STR(buf_str(&b), "&&");
	T_EQ_INT(imap_mutf7_decode("", 0, &b), 1);
	T_EQ_INT(b.len, 0);
	/* a run, then "&-": fine */
	T_EQ_INT(imap_mutf7_decode("&AOk-&-", 7, &b), 1);
	T_EQ_STR(buf_str(&b), "\xc3\xa9&");
	T_EQ_INT(imap_mutf7_encode("\xc3\xa9&", 3, &b), 1);
	T_EQ_STR(buf_str(&b), "&AOk-&-");
	/* a surrogate pair: U+1F600 */
	T_EQ_INT(imap_mutf7_encode("\xf0\x9f\x98\x80", 4, &b), 1);
	T_EQ_STR(buf_str(&b), "&2D3eAA-");
	T_EQ_INT(imap_mutf7_decode("&2D3eAA-", 8, &b), 1);
	T_EQ_STR(buf_str(&b), "\xf0\x9f\x98\x80");
	/* control characters are encoded */
	T_EQ_INT(imap_mutf7_encode("a\tb", 3, &b), 1);
	T_EQ_STR(buf_str(&b), "a&AAk-b");
	T_EQ_INT(imap_mutf7_decode("a&AAk-b", 7, &b), 1);
	T_EQ_STR(buf_str(&b), "a\tb");
	/* not UTF-8 */
	T_EQ_INT(imap_mutf7_encode("\xff", 1, &b), 0);
	T_EQ_INT(imap_mutf7_encode("\xed\xa0\x80", 3, &b), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!T_EQ_INT(imap_mutf7_decode(bad[i], strlen(bad[i]), &b),
		    0))
			printf("  (%s)\n", bad[i]);

	T_EQ_INT(imap_utf8_valid("", 0), 1);
	T_EQ_INT(imap_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10),
	    1);
	T_EQ_INT(imap_utf8_valid("\xc0\xaf", 2), 0);          /* overlong */
	T_EQ_INT(imap_utf8_valid("\xc1\xbf", 2), 0);
	T_EQ_INT(imap_utf8_valid("\xe0\x80\xaf", 3), 0);
	T_EQ_INT(imap_utf8_valid("\xe0\xa0\x80", 3), 1);
	T_EQ_INT(imap_utf8_valid("\xf0\x80\x80\xaf", 4), 0);
	T_EQ_INT(imap_utf8_valid("\xed\xa0\x80", 3), 0);      /* surrogate */
	T_EQ_INT(imap_utf8_valid("\xed\x9f\xbf", 3), 1);
	T_EQ_INT(imap_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);  /* U+10FFFF */
	T_EQ_INT(imap_utf8_valid("\xf4\x90\x80\x80", 4), 0);
	T_EQ_INT(imap_utf8_valid("\xf5\x80\x80\x80", 4), 0);
	T_EQ_INT(imap_utf8_valid("\xc3", 1), 0);              /* cut */
	T_EQ_INT(imap_utf8_valid("\xe2\x82", 2), 0);
	T_EQ_INT(imap_utf8_valid("\x80", 1), 0);
	T_EQ_INT(imap_utf8_valid("\xc3\x28", 2), 0);
	T_EQ_INT(imap_utf8_valid("\0", 1), 1);
}

static void
test_dates(void)
{
	struct imap_p p;
	long long t;
	int y, m, d;

	T_EQ_INT(imap_days_from_civil(1970, 1, 1), 0);
	T_EQ_INT(imap_days_from_civil(1969, 12, 31), -1);
	T_EQ_INT(imap_days_from_civil(2000, 3, 1), 11017);
	T_EQ_INT(imap_days_from_civil(1600, 2, 29), -135081);
	imap_civil_from_days(-135081, &y, &m, &d);
	T_CHECK(y == 1600 && m == 2 && d == 29);
	imap_civil_from_days(20424, &y, &m, &d);
	T_CHECK(y == 2025 && m == 12 && d == 2);
	for (t = -800000; t < 3000000; t += 997) {
		imap_civil_from_days(t, &y, &m, &d);
		if (!T_EQ_INT(imap_days_from_civil(y, m, d), t) ||
		    !T_CHECK(imap_date_valid(y, m, d)))
			break;
	}
	T_EQ_INT(imap_date_valid(2024, 2, 29), 1);
	T_EQ_INT(imap_date_valid(2023, 2, 29), 0);
	T_EQ_INT(imap_date_valid(1900, 2, 29), 0);
	T_EQ_INT(imap_date_valid(2000, 2, 29), 1);
	T_EQ_INT(imap_date_valid(2023, 4, 31), 0);
	T_EQ_INT(imap_date_valid(2023, 13, 1), 0);
	T_EQ_INT(imap_date_valid(2023, 1, 0), 0);

	P(&p, "1-Feb-1994 x");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 1);
	T_CHECK(y == 1994 && m == 2 && d == 1);
	T_EQ_INT(imap_p_peek(&p), ' ');
	P(&p, "\"01-fEB-1994\"");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 1);
	T_CHECK(y == 1994 && m == 2 && d == 1);
	T_EQ_INT(imap_p_end(&p), 1);
	P(&p, "29-Feb-2023");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	T_EQ_STR(p.err, "Bad date");
	P(&p, "29-Feb-2024");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 1);
	P(&p, "001-Feb-1994");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	P(&p, "1-Fex-1994");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	P(&p, "1-Feb-94");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	P(&p, "\"1-Feb-1994");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	P(&p, "1-Fe");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);
	P(&p, "1 Feb 1994");
	T_EQ_INT(imap_p_date(&p, &y, &m, &d), 0);

	/* RFC 3501 6.3.11 APPEND example */
	P(&p, "\"17-Jul-1996 02:44:25 -0700\" ");
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(imap_p_peek(&p), ' ');
	P(&p, "\" 7-Jul-1996 02:44:25 +0000\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 836707465);
	P(&p, "\"07-Jul-1996 02:44:25 +0000\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 836707465);
	P(&p, "\"7-Jul-1996 02:44:25 +0130\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 836707465 - 5400);
	P(&p, "\"01-Jan-1970 00:00:00 +0000\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 0);
	P(&p, "\"17-Jul-1996 24:00:00 -0700\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	T_EQ_STR(p.err, "Bad date-time");
	P(&p, "\"17-Jul-1996 02:44:25 -0760\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	T_EQ_STR(p.err, "Bad date-time zone");
	P(&p, "\"17-Jul-1996 02:44:25 0700\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "\"17-Jul-1996 02:44 -0700\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "\"17-Jul-1996 02:44:25 -0700");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "17-Jul-1996 02:44:25 -0700");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "\"31-Jun-1996 02:44:25 -0700\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "\"  7-Jul-1996 02:44:25 +0000\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);
	P(&p, "\"17-Jul-1996 2:44:25 -0700\"");
	T_EQ_INT(imap_p_datetime(&p, &t), 0);

	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, 837596665, -420), 1);
	T_EQ_STR(buf_str(&b), "\"17-Jul-1996 02:44:25 -0700\"");
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, 836707465, 0), 1);
	T_EQ_STR(buf_str(&b), "\" 7-Jul-1996 02:44:25 +0000\"");
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, 0, 330), 1);
	T_EQ_STR(buf_str(&b), "\" 1-Jan-1970 05:30:00 +0530\"");
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, -1, 5000), 1);
	T_EQ_STR(buf_str(&b), "\"31-Dec-1969 23:59:59 +0000\"");
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, 1LL << 62, 0), 1);
	T_EQ_STR(buf_str(&b), "\"31-Dec-9999 23:59:59 +0000\"");
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, -(1LL << 62), -60), 1);
	T_EQ_STR(buf_str(&b), "\" 1-Jan-0000 00:00:00 -0100\"");
	/* the formatted form parses back */
	buf_reset(&b);
	T_EQ_INT(imap_datetime_fmt(&b, 1796243896, 60), 1);
	imap_p_init(&p, b.s, b.len);
	T_EQ_INT(imap_p_datetime(&p, &t), 1);
	T_EQ_INT(t, 1796243896);
}

static void
test_rfc5322_date(void)
{
	long long t = 0;

#define D(lit) imap_rfc5322_date((lit), sizeof(lit) - 1, &t, NULL)
	T_EQ_INT(D("Wed, 17 Jul 1996 02:44:25 -0700"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("17 Jul 1996 02:44:25 -0700"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("Wed, 17 Jul 1996 09:44:25 +0000 (UTC)"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("  Wed , 17 (x(y)z) Jul\r\n 96 09:44:25 GMT"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("Wed, 17 Jul 1996 02:44:25 PDT"), 1);
	T_EQ_INT(t, 837596665);
	{
		int zone = 1;
		const char *z = "Wed, 17 Jul 1996 23:44:25 -0700";
		const char *e = "Thu, 18 Jul 1996 08:44:25 +0930";

		T_EQ_INT(imap_rfc5322_date(z, strlen(z), &t, &zone), 1);
		T_EQ_INT(zone, -420);
		T_EQ_INT(imap_rfc5322_date(e, strlen(e), &t, &zone), 1);
		T_EQ_INT(zone, 570);
	}
	T_EQ_INT(D("Wed, 17 Jul 1996 04:44:25 cdt"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("Wednesday, 17 July 1996 09:44:25 UT"), 1);
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("17 Jul 1996 09:44 Z"), 1);
	T_EQ_INT(t, 837596640);
	T_EQ_INT(D("17 Jul 1996 09:44:25"), 1);  /* no zone */
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("17 Jul 1996 09:44:25 A"), 1);  /* military: UTC */
	T_EQ_INT(t, 837596665);
	T_EQ_INT(D("1 Jan 00 00:00:00 +0000"), 1);
	T_EQ_INT(t, 946684800);
	T_EQ_INT(D("1 Jan 49 00:00:00 +0000"), 1);
	T_EQ_INT(t, imap_days_from_civil(2049, 1, 1) * 86400);
	T_EQ_INT(D("1 Jan 50 00:00:00 +0000"), 1);
	T_EQ_INT(t, imap_days_from_civil(1950, 1, 1) * 86400);
	T_EQ_INT(D("1 Jan 100 00:00:00 +0000"), 1);
	T_EQ_INT(t, imap_days_from_civil(2000, 1, 1) * 86400);
	T_EQ_INT(D("Mon, 2 Dec 2026 10:00:00 +0100 (CET)"), 1);
	T_EQ_INT(t, imap_days_from_civil(2026, 12, 2) * 86400 + 9 * 3600);
	T_EQ_INT(D("17 Jul 1996 02:44:25 -0700 (unclosed"), 1);
	T_EQ_INT(D(""), 0);
	T_EQ_INT(D("Wed,"), 0);
	T_EQ_INT(D("Foo, 17 Jul 1996 02:44:25 -0700"), 0);
	T_EQ_INT(D("32 Jul 1996 02:44:25 -0700"), 0);
	T_EQ_INT(D("17 Jux 1996 02:44:25 -0700"), 0);
	T_EQ_INT(D("17 Jul 1996 25:44:25 -0700"), 0);
	T_EQ_INT(D("17 Jul 1996 02:60:25 -0700"), 0);
	T_EQ_INT(D("17 Jul 1996 02:44:25 -07"), 0);
	T_EQ_INT(D("17 Jul 1996 02:44:25 -0790"), 0);
	T_EQ_INT(D("17 Jul 1996 0244"), 0);
	T_EQ_INT(D("17 Jul"), 0);
	T_EQ_INT(D("17 Jul 1996 02:"), 0);
	T_EQ_INT(D("17 Jul 1996 02:44:"), 0);
	T_EQ_INT(D("(((((("), 0);
#undef D
}

static void
test_listmatch(void)
{
	char pat[2001], name[1001];
	int pre;

#define LM(pt, nm, sep) \
	imap_list_match((pt), strlen(pt), (nm), strlen(nm), (sep), &pre)
	T_EQ_INT(LM("*", "a/b/c", '/'), 1);
	T_EQ_INT(pre, 1);
	T_EQ_INT(LM("%", "a", '/'), 1);
	T_EQ_INT(pre, 0);
	T_EQ_INT(LM("%", "a/b", '/'), 0);
	T_EQ_INT(pre, 0);
	T_EQ_INT(LM("a/%", "a", '/'), 0);
	T_EQ_INT(pre, 1);
	T_EQ_INT(LM("a/%", "a/b", '/'), 1);
	T_EQ_INT(pre, 0);
	T_EQ_INT(LM("a/%", "a/b/c", '/'), 0);
	T_EQ_INT(LM("a/*", "a/b/c", '/'), 1);
	T_EQ_INT(LM("%/%", "a/b", '/'), 1);
	T_EQ_INT(LM("%/%", "a", '/'), 0);
	T_EQ_INT(pre, 1);
	T_EQ_INT(LM("a/", "a", '/'), 0);
	T_EQ_INT(pre, 0);  /* "a/" itself is not a child */
	T_EQ_INT(LM("", "", '/'), 1);
	T_EQ_INT(LM("", "a", '/'), 0);
	T_EQ_INT(LM("a", "", '/'), 0);
	T_EQ_INT(LM("*", "", '/'), 1);
	T_EQ_INT(LM("foo*bar", "foobar", '/'), 1);
	T_EQ_INT(LM("foo*bar", "foo/x/bar", '/'), 1);
	T_EQ_INT(LM("foo%bar", "foo/bar", '/'), 0);
	T_EQ_INT(LM("foo%bar", "fooxbar", '/'), 1);
	T_EQ_INT(LM("foo%", "foo", '/'), 1);
	T_EQ_INT(pre, 0);
	T_EQ_INT(LM("Foo", "foo", '/'), 0);
	/* flat namespace */
	T_EQ_INT(LM("%", "a/b", '\0'), 1);
	T_EQ_INT(pre, 0);
	/* INBOX in any case, also at the head of its children */
	T_EQ_INT(LM("inbox", "INBOX", '/'), 1);
	T_EQ_INT(LM("InBox", "INBOX", '/'), 1);
	T_EQ_INT(LM("inbox/%", "INBOX/Sent", '/'), 1);
	T_EQ_INT(LM("inbox/sent", "INBOX/Sent", '/'), 0);
	T_EQ_INT(LM("INBOX", "INBOX", '.'), 1);
	T_EQ_INT(LM("inbox", "INBOX", '.'), 1);
	T_EQ_INT(LM("inbox%", "INBOXES", '/'), 0);
	T_EQ_INT(LM("inboxes", "INBOXES", '/'), 0);
	T_EQ_INT(LM("I*", "INBOX", '/'), 1);
	T_EQ_INT(LM("i*", "INBOX", '/'), 1);
	T_EQ_INT(LM("i*", "Inbox-old", '/'), 0);
	T_EQ_INT(LM("inbox", "INBOX/x", '/'), 0);
	T_EQ_INT(pre, 0);
	T_EQ_INT(LM("inbox/*", "INBOX", '/'), 0);
	T_EQ_INT(pre, 1);
	/* the worst case of a backtracker is cheap here */
	memset(pat, 0, sizeof pat);
	for (pre = 0; pre < 998; pre += 2)
		memcpy(pat + pre, "*%", 2);
	pat[998] = 'x';
	memset(name, 'a', 1000);
	name[1000] = '\0';
	T_EQ_INT(imap_list_match(pat, 999, name, 1000, '/', NULL), 0);
	name[999] = 'x';
	T_EQ_INT(imap_list_match(pat, 999, name, 1000, '/', NULL), 1);
	T_EQ_INT(imap_list_match(pat, 999, name, 1001, '/', &pre), 0);
	T_EQ_INT(imap_list_match("*", 1, name, 1000, '/', NULL), 1);
	T_EQ_INT(imap_list_match(pat, 1001, name, 1, '/', NULL), 0);
#undef LM
}

/* whole commands as the reader assembles them (RFC 3501 6.4.5 etc.) */
static void
test_commands(void)
{
	static const char fetch[] =
	    "a003 FETCH 12 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n";
	static const char append[] =
	    "A003 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 "
	    "-0700\" {11}\r\nHello Joe\r\n\r\n";
	static const char login[] = "a1 LOGIN {4+}\r\nfred \"my \\\"pw\"\r\n";
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct imap_p p;
	const char *s;
	size_t n;
	unsigned long u;
	long long t;
	int bin;

	imap_p_init(&p, fetch, sizeof fetch - 1);
	T_CHECK(imap_p_tag(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_CHECK(imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	T_CHECK(imap_p_sp(&p) == 1 && imap_p_char(&p, '(') == 1);
	T_CHECK(imap_p_atom(&p, &s, &n) == 1);
	T_EQ_MEM(s, n, "FLAGS", 5);
	T_CHECK(imap_p_sp(&p) == 1 && imap_p_atom(&p, &s, &n) == 1);
	T_EQ_MEM(s, n, "BODY[HEADER.FIELDS", 18);
	T_CHECK(imap_p_sp(&p) == 1 && imap_p_char(&p, '(') == 1);
	T_CHECK(imap_p_astring(&p, &b) == 1 && imap_p_sp(&p) == 1);
	T_CHECK(imap_p_astring(&p, &b) == 1);
	T_EQ_STR(buf_str(&b), "FROM");
	T_CHECK(imap_p_char(&p, ')') && imap_p_char(&p, ']') &&
	    imap_p_char(&p, ')'));
	T_EQ_INT(imap_p_end(&p), 1);

	P(&p, "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE "
	    "FROM)])\r\n");
	T_CHECK(imap_p_tag(&p, &s, &n) == 1 && imap_p_sp(&p) == 1 &&
	    imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	imap_seqset_resolve(&set, 10);
	T_CHECK(set.n == 1 && set.r[0].lo == 2 && set.r[0].hi == 4);

	imap_p_init(&p, append, sizeof append - 1);
	T_CHECK(imap_p_tag(&p, &s, &n) == 1 && imap_p_sp(&p) == 1 &&
	    imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_CHECK(imap_p_mailbox(&p, &b) == 1 && imap_p_sp(&p) == 1);
	T_EQ_STR(buf_str(&b), "saved-messages");
	T_CHECK(imap_p_char(&p, '(') && imap_p_flag(&p, &s, &n) == 1 &&
	    imap_p_char(&p, ')') && imap_p_sp(&p));
	T_EQ_MEM(s, n, "\\Seen", 5);
	T_CHECK(imap_p_datetime(&p, &t) == 1 && imap_p_sp(&p));
	T_EQ_INT(t, 837596665);
	T_EQ_INT(imap_p_literal(&p, &s, &n, &bin), 1);
	T_EQ_MEM(s, n, "Hello Joe\r\n", 11);
	T_EQ_INT(imap_p_end(&p), 1);

	imap_p_init(&p, login, sizeof login - 1);
	T_CHECK(imap_p_tag(&p, &s, &n) == 1 && imap_p_sp(&p) == 1 &&
	    imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_CHECK(imap_p_astring(&p, &b) == 1);
	T_EQ_STR(buf_str(&b), "fred");
	T_CHECK(imap_p_sp(&p) == 1 && imap_p_astring(&p, &b) == 1);
	T_EQ_STR(buf_str(&b), "my \"pw");
	T_EQ_INT(imap_p_end(&p), 1);

	/* UID STORE with a mod-sequence (RFC 7162) */
	P(&p, "1 UID STORE 1:* (UNCHANGEDSINCE 320162338) "
	    "+FLAGS.SILENT (\\Deleted)\n");
	T_CHECK(imap_p_tag(&p, &s, &n) == 1 && imap_p_sp(&p) == 1 &&
	    imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1 &&
	    imap_p_atom(&p, &s, &n) == 1 && imap_p_sp(&p) == 1);
	T_EQ_INT(imap_p_seqset(&p, &set), 1);
	T_CHECK(imap_p_sp(&p) && imap_p_char(&p, '(') &&
	    imap_p_atom(&p, &s, &n) && imap_p_sp(&p));
	T_EQ_INT(imap_p_number(&p, &u), 1);
	T_EQ_INT(u, 320162338);
	T_CHECK(imap_p_char(&p, ')') && imap_p_sp(&p) &&
	    imap_p_atom(&p, &s, &n) && imap_p_sp(&p) &&
	    imap_p_char(&p, '(') && imap_p_flag(&p, &s, &n) &&
	    imap_p_char(&p, ')'));
	T_EQ_MEM(s, n, "\\Deleted", 8);
	T_EQ_INT(imap_p_end(&p), 1);
	imap_seqset_free(&set);
}

int
main(void)
{
	test_cursor();
	test_numbers();
	test_strings();
	test_literal();
	test_literal_tail();
	test_flag();
	test_seqset();
	test_mutf7();
	test_dates();
	test_rfc5322_date();
	test_listmatch();
	test_commands();
	buf_free(&b);
	T_DONE();
}
