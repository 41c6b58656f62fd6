/*
 * test_smtpparse: the pure SMTP parsers of lib/mail/smtpparse (command split,
 * FROM:/TO: keyword, ESMTP parameters with their bounds, HELO names,
 * DATA line ends, Received detection) and of lib/smtpparse_ext (xtext,
 * DSN parameters, BDAT and AUTH arguments, field names).
 */
#include <string.h>

#include "mail/smtpparse.h"
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

static void test_xtext(void)
{
	char out[16];
	size_t n = 0;

	T_CHECK(smtp_xtext_ok(S("")));
	T_CHECK(smtp_xtext_ok(S("abc.def@x")));
	T_CHECK(smtp_xtext_ok(S("a+2Bb+3D")));
	T_CHECK(!smtp_xtext_ok(S("a+2b")));      /* lower-case hex */
	T_CHECK(!smtp_xtext_ok(S("a+2")));
	T_CHECK(!smtp_xtext_ok(S("a+")));
	T_CHECK(!smtp_xtext_ok(S("a=b")));
	T_CHECK(!smtp_xtext_ok(S("a b")));
	T_CHECK(!smtp_xtext_ok(S("a\xc3\xa9")));
	T_EQ_INT(smtp_xtext_decode(S("a+2Bb+3D"), out, sizeof out, &n), 1);
	T_EQ_STR(out, "a+b=");
	T_EQ_INT(n, 4);
	/* a decoded control character or too long a result */
	T_EQ_INT(smtp_xtext_decode(S("a+0Ab"), out, sizeof out, &n), 0);
	T_EQ_INT(smtp_xtext_decode(S("0123456789abcdef"), out, sizeof out,
	    &n), 0);
	T_EQ_INT(smtp_xtext_decode(S("0123456789abcde"), out, sizeof out,
	    &n), 1);
	/* the length is honoured */
	T_EQ_INT(smtp_xtext_decode("ab+2", 2, out, sizeof out, &n), 1);
	T_EQ_STR(out, "ab");
}

static void test_dsn(void)
{
	unsigned f = 0;

	T_EQ_INT(smtp_dsn_notify(S("NEVER"), &f), 1);
	T_EQ_INT(f, SMTP_NOTIFY_NEVER);
	T_EQ_INT(smtp_dsn_notify(S("success,Failure,DELAY"), &f), 1);
	T_EQ_INT(f, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE |
	    SMTP_NOTIFY_DELAY);
	T_EQ_INT(smtp_dsn_notify(S("FAILURE"), &f), 1);
	T_EQ_INT(f, SMTP_NOTIFY_FAILURE);
	T_EQ_INT(smtp_dsn_notify(S("NEVER,FAILURE"), &f), 0);
	T_EQ_INT(smtp_dsn_notify(S("FAILURE,FAILURE"), &f), 0);
	T_EQ_INT(smtp_dsn_notify(S("FAILURE,"), &f), 0);
	T_EQ_INT(smtp_dsn_notify(S(",FAILURE"), &f), 0);
	T_EQ_INT(smtp_dsn_notify(S(""), &f), 0);
	T_EQ_INT(smtp_dsn_notify(S("SOMETIMES"), &f), 0);
	T_EQ_INT(smtp_dsn_ret(S("FULL")), 'F');
	T_EQ_INT(smtp_dsn_ret(S("hdrs")), 'H');
	T_EQ_INT(smtp_dsn_ret(S("HDR")), 0);
	T_EQ_INT(smtp_dsn_ret(S("FULLX")), 0);
	T_CHECK(smtp_dsn_orcpt(S("rfc822;a@b.example")));
	T_CHECK(smtp_dsn_orcpt(S("utf-8;a\\x{E9}@b")));
	T_CHECK(smtp_dsn_orcpt(S("rfc822;a+2Bb@c")));
	T_CHECK(!smtp_dsn_orcpt(S("rfc822;")));
	T_CHECK(!smtp_dsn_orcpt(S(";a@b")));
	T_CHECK(!smtp_dsn_orcpt(S("rfc822a@b")));
	T_CHECK(!smtp_dsn_orcpt(S("rfc 822;a@b")));
	T_CHECK(!smtp_dsn_orcpt(S("rfc822;a=b")));
}

static void test_bdat(void)
{
	unsigned long long n = 1;
	int last = 1;

	T_EQ_INT(smtp_bdat_arg(S("1000"), &n, &last), 1);
	T_EQ_INT(n, 1000);
	T_EQ_INT(last, 0);
	T_EQ_INT(smtp_bdat_arg(S("0 LAST"), &n, &last), 1);
	T_EQ_INT(n, 0);
	T_EQ_INT(last, 1);
	T_EQ_INT(smtp_bdat_arg(S("12  last"), &n, &last), 1);
	T_EQ_INT(n, 12);
	T_EQ_INT(last, 1);
	T_EQ_INT(smtp_bdat_arg(S("9999999999999999999"), &n, &last), 1);
	T_EQ_INT(smtp_bdat_arg(S("99999999999999999999"), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S(""), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S("-1"), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S("10 LASTX"), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S("10 FIRST"), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S("10LAST"), &n, &last), 0);
	T_EQ_INT(smtp_bdat_arg(S("1 0"), &n, &last), 0);
}

static void test_auth(void)
{
	char mech[SMTP_MECH_MAX + 1];
	const char *ir = (const char *)1;
	size_t n = 9;

	T_EQ_INT(smtp_auth_arg(S("plain"), mech, &ir, &n), 1);
	T_EQ_STR(mech, "PLAIN");
	T_CHECK(ir == NULL);
	T_EQ_INT(n, 0);
	T_EQ_INT(smtp_auth_arg(S("PLAIN AGFsaWNlAGFsaWNl"), mech, &ir, &n), 1);
	T_EQ_MEM(ir, n, "AGFsaWNlAGFsaWNl", 16);
	T_EQ_INT(smtp_auth_arg(S("LOGIN ="), mech, &ir, &n), 1);
	T_EQ_MEM(ir, n, "=", 1);
	T_EQ_INT(smtp_auth_arg(S("SCRAM-SHA-256"), mech, &ir, &n), 1);
	T_EQ_STR(mech, "SCRAM-SHA-256");
	T_EQ_INT(smtp_auth_arg(S(""), mech, &ir, &n), 0);
	T_EQ_INT(smtp_auth_arg(S("PLAIN a b"), mech, &ir, &n), 0);
	T_EQ_INT(smtp_auth_arg(S("PL@IN"), mech, &ir, &n), 0);
	T_EQ_INT(smtp_auth_arg(S("ABCDEFGHIJKLMNOPQRSTU"), mech, &ir, &n), 0);
	T_EQ_INT(smtp_auth_arg(S("ABCDEFGHIJKLMNOPQRST"), mech, &ir, &n), 1);
}

static void test_field(void)
{
	T_CHECK(smtp_is_field(S("X-Tern-Spam: yes"), "X-Tern-Spam"));
	T_CHECK(smtp_is_field(S("x-tern-spam :yes"), "X-Tern-Spam"));
	T_CHECK(!smtp_is_field(S("X-Tern-Spammy: yes"), "X-Tern-Spam"));
	T_CHECK(!smtp_is_field(S("X-Tern-Spam"), "X-Tern-Spam"));
	T_CHECK(!smtp_is_field(S(" X-Tern-Spam: yes"), "X-Tern-Spam"));
}

int main(void)
{
	test_split();
	test_keyword();
	test_params();
	test_helo();
	test_line_end();
	test_received();
	test_xtext();
	test_dsn();
	test_bdat();
	test_auth();
	test_field();
	T_DONE();
}
