/*
 * test_smtpparse: the pure SMTP parsers of lib/smtpparse (command split,
 * FROM:/TO: keyword, ESMTP parameters with their bounds, HELO names,
 * DATA line ends, Received detection).
 */
#include <string.h>

#include "smtpparse.h"
#include "t.h"

#define S(x) x, sizeof(x) - 1

static void test_split(void)
{
	char verb[SMTP_VERB_MAX + 1];
	const char *arg;
	size_t n;

	T_EQ_INT(smtp_split(S("mail FROM:<a@b>"), verb, &arg, &n), 1);
	T_EQ_STR(verb, "MAIL");
	T_EQ_MEM(arg, n, "FROM:<a@b>", 10);
	T_EQ_INT(smtp_split(S("QUIT"), verb, &arg, &n), 1);
	T_EQ_STR(verb, "QUIT");
	T_EQ_INT(n, 0);
	/* trailing blanks go, inner ones stay */
	T_EQ_INT(smtp_split(S("NOOP  a b \t "), verb, &arg, &n), 1);
	T_EQ_MEM(arg, n, "a b", 3);
	T_EQ_INT(smtp_split(S("RSET "), verb, &arg, &n), 1);
	T_EQ_INT(n, 0);
	T_EQ_INT(smtp_split(S(""), verb, &arg, &n), 0);
	T_EQ_INT(smtp_split(S(" QUIT"), verb, &arg, &n), 0);
	T_EQ_INT(smtp_split(S("QU1T"), verb, &arg, &n), 0);
	T_EQ_INT(smtp_split(S("MAIL:x"), verb, &arg, &n), 0);
	/* 16 letters fit, 17 do not */
	T_EQ_INT(smtp_split(S("ABCDEFGHIJKLMNOP"), verb, &arg, &n), 1);
	T_EQ_INT(smtp_split(S("ABCDEFGHIJKLMNOPQ x"), verb, &arg, &n), 0);
	/* the length is honoured: nothing past n is read */
	T_EQ_INT(smtp_split("DATAX", 4, verb, &arg, &n), 1);
	T_EQ_STR(verb, "DATA");
}

static void test_keyword(void)
{
	const char *rest;
	size_t n;

	T_EQ_INT(smtp_keyword_arg(S("FROM:<a@b>"), "FROM:", &rest, &n), 1);
	T_EQ_MEM(rest, n, "<a@b>", 5);
	T_EQ_INT(smtp_keyword_arg(S("from:  <>"), "FROM:", &rest, &n), 1);
	T_EQ_MEM(rest, n, "<>", 2);
	T_EQ_INT(smtp_keyword_arg(S("To:<x@y>"), "TO:", &rest, &n), 1);
	T_EQ_INT(smtp_keyword_arg(S("FROM <a@b>"), "FROM:", &rest, &n), 0);
	T_EQ_INT(smtp_keyword_arg(S("FRO"), "FROM:", &rest, &n), 0);
	T_EQ_INT(smtp_keyword_arg(S("FROM:"), "FROM:", &rest, &n), 1);
	T_EQ_INT(n, 0);
}

static void test_params(void)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	const char *msg = NULL;
	size_t count = 99;

	T_EQ_INT(smtp_params(S(""), p, SMTP_PARAMS_MAX, &count, &msg), 1);
	T_EQ_INT(count, 0);
	T_EQ_INT(smtp_params(S(" SIZE=1000 BODY=8BITMIME"), p,
	    SMTP_PARAMS_MAX, &count, &msg), 1);
	T_EQ_INT(count, 2);
	T_CHECK(smtp_param_is(&p[0], "SIZE"));
	T_CHECK(smtp_param_is(&p[0], "size"));
	T_CHECK(!smtp_param_is(&p[0], "SIZ"));
	T_CHECK(!smtp_param_is(&p[0], "SIZES"));
	T_EQ_MEM(p[0].val, p[0].vallen, "1000", 4);
	T_EQ_MEM(p[1].key, p[1].keylen, "BODY", 4);
	T_EQ_MEM(p[1].val, p[1].vallen, "8BITMIME", 8);
	/* a keyword without value; several spaces; trailing space */
	T_EQ_INT(smtp_params(S("  SMTPUTF8   X-FOO=a+b "), p,
	    SMTP_PARAMS_MAX, &count, &msg), 1);
	T_EQ_INT(count, 2);
	T_CHECK(p[0].val == NULL);
	T_EQ_MEM(p[1].key, p[1].keylen, "X-FOO", 5);
	T_EQ_MEM(p[1].val, p[1].vallen, "a+b", 3);
	/* errors */
	T_EQ_INT(smtp_params(S("SIZE=1"), p, SMTP_PARAMS_MAX, &count, &msg),
	    0);
	T_EQ_INT(smtp_params(S(" SIZE="), p, SMTP_PARAMS_MAX, &count, &msg),
	    0);
	T_EQ_INT(smtp_params(S(" -X=1"), p, SMTP_PARAMS_MAX, &count, &msg),
	    0);
	T_EQ_INT(smtp_params(S(" SIZE=1=2"), p, SMTP_PARAMS_MAX, &count,
	    &msg), 0);
	T_EQ_INT(smtp_params(S(" SI_ZE=1"), p, SMTP_PARAMS_MAX, &count, &msg),
	    0);
	T_EQ_INT(smtp_params(S(" SIZE=1\tBODY=7BIT"), p, SMTP_PARAMS_MAX,
	    &count, &msg), 0);
	T_EQ_INT(smtp_params(S(" SIZE=\x01"), p, SMTP_PARAMS_MAX, &count,
	    &msg), 0);
	T_EQ_INT(smtp_params(S(" BODY=\xc3\xa9"), p, SMTP_PARAMS_MAX, &count,
	    &msg), 0);
	T_EQ_INT(smtp_params(S(" SIZE=1 size=2"), p, SMTP_PARAMS_MAX, &count,
	    &msg), 0);
	T_EQ_STR(msg, "Duplicate parameter");
	/* the bound on the count */
	T_EQ_INT(smtp_params(S(" A B C"), p, 2, &count, &msg), 0);
	T_EQ_STR(msg, "Too many parameters");
	T_EQ_INT(smtp_params(S(" A B"), p, 2, &count, &msg), 1);
	/* keyword length */
	T_EQ_INT(smtp_params(S(" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=1"), p,
	    SMTP_PARAMS_MAX, &count, &msg), 1);
	T_EQ_INT(smtp_params(S(" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=1"), p,
	    SMTP_PARAMS_MAX, &count, &msg), 0);
	/* the length is honoured */
	T_EQ_INT(smtp_params(" SIZE=12X", 8, p, SMTP_PARAMS_MAX, &count,
	    &msg), 1);
	T_EQ_MEM(p[0].val, p[0].vallen, "12", 2);
}

static void test_helo(void)
{
	char big[300];

	T_CHECK(smtp_helo_ok(S("mail.example.com")));
	T_CHECK(smtp_helo_ok(S("my_host")));
	T_CHECK(smtp_helo_ok(S("[192.0.2.1]")));
	T_CHECK(smtp_helo_ok(S("[IPv6:2001:db8::1]")));
	T_CHECK(!smtp_helo_ok(S("")));
	T_CHECK(!smtp_helo_ok(S("a b")));
	T_CHECK(!smtp_helo_ok(S("a(b)")));
	T_CHECK(!smtp_helo_ok(S("a;b")));
	T_CHECK(!smtp_helo_ok(S("host:25")));
	T_CHECK(!smtp_helo_ok(S("[]")));
	T_CHECK(!smtp_helo_ok(S("[1.2.3.4")));
	T_CHECK(!smtp_helo_ok(S("[1 2]")));
	T_CHECK(!smtp_helo_ok(S("h\xc3\xa9")));
	memset(big, 'a', sizeof big);
	T_CHECK(smtp_helo_ok(big, SMTP_HELO_MAX));
	T_CHECK(!smtp_helo_ok(big, SMTP_HELO_MAX + 1));
}

static void test_line_end(void)
{
	size_t n = 99;

	T_EQ_INT(smtp_line_end(S("abc\r\n"), &n), SMTP_EOL_CRLF);
	T_EQ_INT(n, 3);
	T_EQ_INT(smtp_line_end(S("abc\n"), &n), SMTP_EOL_BARELF);
	T_EQ_INT(n, 3);
	T_EQ_INT(smtp_line_end(S("abc"), &n), SMTP_EOL_NONE);
	T_EQ_INT(n, 3);
	T_EQ_INT(smtp_line_end(S("\r\n"), &n), SMTP_EOL_CRLF);
	T_EQ_INT(n, 0);
	T_EQ_INT(smtp_line_end(S("\n"), &n), SMTP_EOL_BARELF);
	T_EQ_INT(n, 0);
	T_EQ_INT(smtp_line_end(S(".\r\n"), &n), SMTP_EOL_CRLF);
	T_EQ_INT(n, 1);
	T_EQ_INT(smtp_line_end(S("a\rb\r\n"), &n),
	    SMTP_EOL_CRLF | SMTP_BARE_CR);
	T_EQ_INT(smtp_line_end(S("a\r\r\n"), &n),
	    SMTP_EOL_CRLF | SMTP_BARE_CR);
	T_EQ_INT(smtp_line_end(S("\r"), &n), SMTP_EOL_NONE | SMTP_BARE_CR);
	T_EQ_INT(smtp_line_end(S(""), &n), SMTP_EOL_NONE);
	T_EQ_INT(n, 0);
	/* NUL and 8-bit bytes are content, not line ends */
	T_EQ_INT(smtp_line_end(S("a\0\xff\r\n"), &n), SMTP_EOL_CRLF);
	T_EQ_INT(n, 3);
}

static void test_received(void)
{
	T_CHECK(smtp_is_received(S("Received: from x")));
	T_CHECK(smtp_is_received(S("received:from x")));
	T_CHECK(smtp_is_received(S("RECEIVED :x")));
	T_CHECK(!smtp_is_received(S("Received")));
	T_CHECK(!smtp_is_received(S("Received-SPF: pass")));
	T_CHECK(!smtp_is_received(S("X-Received: x")));
	T_CHECK(!smtp_is_received(S(" Received: x")));
	T_CHECK(!smtp_is_received(S("Receive: x")));
}

int main(void)
{
	test_split();
	test_keyword();
	test_params();
	test_helo();
	test_line_end();
	test_received();
	T_DONE();
}
