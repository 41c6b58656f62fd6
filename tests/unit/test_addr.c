/*
 * test_addr: RFC 5321 path and mailbox parsing (lib/mail/addr.c), including
 * the open-relay test battery forms and hostile input.
 */
#include <string.h>

#include "util/buf.h"
#include "mail/addr.h"
#include "t.h"

static struct buf out = BUF_INIT;
static const char *err;

/* Parse s as a path; returns the canonical address or NULL. */
static const char *
path(const char *s, int flags)
{
	const char *rest;

	err = NULL;
	if (addr_parse_path(s, strlen(s), flags, &out, &rest, &err) != 1)
		return NULL;
	return buf_str(&out);
}

static const char *
mbox(const char *s, int flags)
{
	err = NULL;
	if (addr_parse(s, strlen(s), flags, &out, &err) != 1)
		return NULL;
	return buf_str(&out);
}

static void
t_basic(void)
{
	const char *rest;
	const char *s = "<User@Example.COM> SIZE=100";

	T_EQ_STR(path("<a@b.c>", 0), "a@b.c");
	T_EQ_STR(path("<User@Example.COM>", 0), "User@example.com");
	T_EQ_STR(path(" <a@b>", 0), "a@b");
	T_EQ_STR(path("<a.b.c@d-e.f>", 0), "a.b.c@d-e.f");
	T_EQ_STR(path("<a@example.com.>", 0), "a@example.com");
	T_EQ_STR(path("<!#$%&'*+-/=?^_`{|}~@x>", 0), "!#$%&'*+-/=?^_`{|}~@x");
	T_EQ_STR(path("<a@123.45>", 0), "a@123.45");
	T_EQ_INT(addr_parse_path(s, strlen(s), 0, &out, &rest, &err), 1);
	T_EQ_STR(rest, " SIZE=100");
	T_EQ_STR(path("<a@b>", 0), "a@b");
}

static void
t_null_postmaster(void)
{
	T_EQ_STR(path("<>", ADDR_NULL_OK), "");
	T_CHECK(path("<>", 0) == NULL);
	T_EQ_STR(err, "null address not allowed");
	T_EQ_STR(path("<Postmaster>", ADDR_POSTMASTER), "postmaster");
	T_EQ_STR(path("<POSTMASTER>", ADDR_POSTMASTER), "postmaster");
	T_EQ_STR(path("<postmaster>", ADDR_POSTMASTER), "postmaster");
	T_CHECK(path("<Postmaster>", 0) == NULL);
	T_EQ_STR(err, "address needs @domain");
	T_EQ_STR(path("<Postmaster@Example.ORG>", ADDR_POSTMASTER),
	    "Postmaster@example.org");
	T_CHECK(path("<postmasterx>", ADDR_POSTMASTER) == NULL);
	T_EQ_STR(mbox("", ADDR_NULL_OK), "");
	T_CHECK(mbox("", 0) == NULL);
	T_EQ_STR(mbox("PostMaster", ADDR_POSTMASTER), "postmaster");
	T_EQ_STR(mbox("<>", ADDR_NULL_OK), "");
}

static void
t_quoted(void)
{
	T_EQ_STR(path("<\"a\"@x>", 0), "a@x");
	T_EQ_STR(path("<\"a.b\"@x>", 0), "a.b@x");
	T_EQ_STR(path("<\"\\a\"@x>", 0), "a@x");
	T_EQ_STR(path("<\"a b\"@x>", 0), "\"a b\"@x");
	T_EQ_STR(path("<\"a..b\"@x>", 0), "\"a..b\"@x");
	T_EQ_STR(path("<\".a\"@x>", 0), "\".a\"@x");
	T_EQ_STR(path("<\"a\\\"b\"@x>", 0), "\"a\\\"b\"@x");
	T_EQ_STR(path("<\"a\\\\b\"@x>", 0), "\"a\\\\b\"@x");
	T_CHECK(path("<\"\"@x>", 0) == NULL);
	T_CHECK(path("<\"abc@x>", 0) == NULL);
	T_EQ_STR(err, "unterminated quoted string");
	T_CHECK(path("<\"a\tb\"@x>", 0) == NULL);
	T_EQ_STR(err, "control character in address");
	T_CHECK(path("<\"a\\", 0) == NULL);
	T_CHECK(path("<\"a\\\x01\"@x>", 0) == NULL);
	T_CHECK(path("<\"a\"b@x>", 0) == NULL);
}

/* The forms of the classic open-relay test batteries: each must be what
 * it literally is, never a route to "remote". */
static void
t_relay_battery(void)
{
	T_EQ_STR(path("<user%remote@local>", 0), "user%remote@local");
	T_EQ_STR(path("<\"user@remote\"@local>", 0), "\"user@remote\"@local");
	T_EQ_STR(addr_domain("\"user@remote\"@local"), "local");
	T_EQ_STR(path("<@local:user@remote>", 0), "user@remote");
	T_EQ_STR(path("<@a.b,@c.d:user@remote>", 0), "user@remote");
	T_CHECK(path("<user@remote@local>", 0) == NULL);
	T_EQ_STR(path("<remote!user@local>", 0), "remote!user@local");
	T_EQ_STR(path("<\"user%remote\"@local>", 0), "user%remote@local");
	T_CHECK(path("<user@remote>@local>", 0) != NULL); /* rest is ">@local>" */
	T_CHECK(mbox("user@remote>@local", 0) == NULL);
	T_CHECK(path("<user>", 0) == NULL);
	T_CHECK(path("<@local:>", 0) == NULL);
	T_CHECK(path("<@local,user@remote>", 0) == NULL);
	T_CHECK(path("<@:user@remote>", 0) == NULL);
	T_CHECK(path("<local:user@remote>", 0) == NULL);
	T_CHECK(path("<@local@x:user@remote>", 0) == NULL);
	T_CHECK(mbox("user@[remote]", 0) == NULL);
}

static void
t_literals(void)
{
	T_EQ_STR(path("<a@[1.2.3.4]>", 0), "a@[1.2.3.4]");
	T_EQ_STR(path("<a@[001.2.3.255]>", 0), "a@[1.2.3.255]");
	T_CHECK(path("<a@[1.2.3.256]>", 0) == NULL);
	T_CHECK(path("<a@[1.2.3]>", 0) == NULL);
	T_CHECK(path("<a@[1.2.3.4.5]>", 0) == NULL);
	T_CHECK(path("<a@[1.2.3.4>", 0) == NULL);
	T_CHECK(path("<a@[1234.2.3.4]>", 0) == NULL);
	T_CHECK(path("<a@[]>", 0) == NULL);
	T_EQ_STR(path("<a@[IPv6:2001:DB8::1]>", 0), "a@[ipv6:2001:db8::1]");
	T_EQ_STR(path("<a@[ipv6:0:0:0:0:0:0:0:1]>", 0), "a@[ipv6:::1]");
	T_CHECK(path("<a@[IPv6:2001:db8::g]>", 0) == NULL);
	T_CHECK(path("<a@[IPv6:]>", 0) == NULL);
	T_CHECK(path("<a@[x-tag:foo]>", 0) == NULL);
	T_CHECK(path("<a@[1.2.3.4].x>", 0) == NULL);
	T_CHECK(addr_is_literal("[1.2.3.4]"));
	T_CHECK(!addr_is_literal("example.com"));
}

static void
t_bad(void)
{
	static const char *bad[] = {
		"", "<", ">", "a@b", "<a@b", "<a@b ", "<a@b >", "< a@b>",
		"<a b@c>", "<a@b c>", "<a@>", "<@b>", "<.a@b>", "<a.@b>",
		"<a..b@c>", "<a@b..c>", "<a@.b>", "<a@b.c..>", "<a@.>",
		"<a@-b.c>", "<a@b-.c>", "<a@b_c.d>", "<a(b)@c>", "<a,b@c>",
		"<a:b@c>", "<a;b@c>", "<a[b@c>", "<a\\b@c>", "<a@b\r>",
		"<a@b\n>", "<a\x7f@b>", "<a@b\x01>", "<a@@b>", "<a\xc3\xa9@b>",
		"<a@b\xc3\xa9>", "<<a@b>>", "<a@b>>x", NULL,
	};
	size_t i;

	for (i = 0; bad[i]; i++) {
		const char *r = path(bad[i], ADDR_NULL_OK | ADDR_POSTMASTER);
		if (bad[i][0] == '<' && strcmp(bad[i], "<a@b>>x") == 0) {
			T_EQ_STR(r, "a@b"); /* ">x" is the caller's rest */
			continue;
		}
		if (!T_CHECK(r == NULL))
			printf("  accepted: %s -> %s\n", bad[i], r);
		T_CHECK(err != NULL && *err != '\0');
	}
	T_CHECK(path("<a@b\r>", 0) == NULL);
	T_EQ_STR(err, "control character in address");
	T_CHECK(path("<a b@c>", 0) == NULL);
	T_EQ_STR(err, "space in address");
	T_CHECK(path("<a\xc3\xa9@b>", 0) == NULL);
	T_EQ_STR(err, "8-bit address without SMTPUTF8");
	T_CHECK(path("<a@b", 0) == NULL);
	T_EQ_STR(err, "missing >");
	T_CHECK(path("a@b", 0) == NULL);
	T_EQ_STR(err, "path must start with <");
}

static void
t_nul(void)
{
	const char *rest;
	static const char s[] = "<a\0b@c>";

	T_EQ_INT(addr_parse_path(s, sizeof s - 1, 0, &out, &rest, &err), 0);
	T_EQ_STR(err, "control character in address");
	T_EQ_INT(addr_parse("a@b\0", 4, 0, &out, &err), 0);
	/* n bounds the input: nothing past s + n is looked at */
	T_EQ_INT(addr_parse_path("<@a:b@c>", 1, 0, &out, &rest, &err), 0);
	T_EQ_STR(err, "empty local part");
	T_EQ_INT(addr_parse_path("<Postmaster>", 11, ADDR_POSTMASTER, &out,
	    &rest, &err), 0);
	T_EQ_INT(addr_parse_path("<a@b>", 4, 0, &out, &rest, &err), 0);
	T_EQ_STR(err, "missing >");
	T_EQ_INT(addr_parse("a@[1.2.3.4]", 10, 0, &out, &err), 0);
	T_EQ_INT(addr_parse("a@bc", 3, 0, &out, &err), 1);
	T_EQ_STR(buf_str(&out), "a@b");
}

static void
t_utf8(void)
{
	T_EQ_STR(path("<j\xc3\xb6rg@\xc3\xa4xample.de>", ADDR_UTF8),
	    "j\xc3\xb6rg@\xc3\xa4xample.de");
	T_EQ_STR(path("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a>", ADDR_UTF8),
	    "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a");
	T_EQ_STR(path("<\xf0\x9f\x98\x80@X.org>", ADDR_UTF8), "\xf0\x9f\x98\x80@x.org");
	T_EQ_STR(path("<\"a \xc3\xa9\"@x>", ADDR_UTF8), "\"a \xc3\xa9\"@x");
	T_EQ_STR(path("<\"\xc3\xa9\"@x>", ADDR_UTF8), "\xc3\xa9@x");
	/* malformed UTF-8: lone continuation, overlong, surrogate, > U+10FFFF,
	 * truncated sequence */
	T_CHECK(path("<a\x80@x>", ADDR_UTF8) == NULL);
	T_EQ_STR(err, "invalid UTF-8 in address");
	T_CHECK(path("<a\xc0\xaf@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a\xe0\x80\xaf@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a\xed\xa0\x80@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a\xf4\x90\x80\x80@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a\xf5\x80\x80\x80@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a\xe2\x82@x>", ADDR_UTF8) == NULL);
	T_CHECK(path("<a@x\xe2\x82>", ADDR_UTF8) == NULL);
	T_CHECK(path("<\"a\xff\"@x>", ADDR_UTF8) == NULL);
	T_CHECK(mbox("a@\xc3", ADDR_UTF8) == NULL);
}

static void
t_lengths(void)
{
	char l64[65], l65[66], lab63[64], lab64[65], s[600];
	struct buf b = BUF_INIT;
	int i;

	memset(l64, 'a', 64); l64[64] = '\0';
	memset(l65, 'a', 65); l65[65] = '\0';
	memset(lab63, 'b', 63); lab63[63] = '\0';
	memset(lab64, 'b', 64); lab64[64] = '\0';
	snprintf(s, sizeof s, "<%s@x>", l64);
	T_CHECK(path(s, 0) != NULL);
	snprintf(s, sizeof s, "<%s@x>", l65);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "local part too long");
	/* quoted: 62 characters plus the quotes is 64 */
	snprintf(s, sizeof s, "<\"%.61s \"@x>", l64);
	T_CHECK(path(s, 0) != NULL);
	snprintf(s, sizeof s, "<\"%.62s \"@x>", l64);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "local part too long");
	snprintf(s, sizeof s, "<\"%.60s\xf0\x9f\x98\x80\"@x>", l64);
	T_CHECK(path(s, ADDR_UTF8) == NULL);
	snprintf(s, sizeof s, "<a@%s.c>", lab63);
	T_CHECK(path(s, 0) != NULL);
	snprintf(s, sizeof s, "<a@%s.c>", lab64);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "domain label too long");
	/* domain of 4 * 63 + 3 = 255 octets is fine; 257 is not */
	for (i = 0; i < 4; i++) {
		buf_cats(&b, lab63);
		if (i < 3)
			buf_catc(&b, '.');
	}
	snprintf(s, sizeof s, "<a@%s>", b.s);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "path too long");
	snprintf(s, sizeof s, "<a@%s.c>", b.s);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "domain too long");
	/* a bare mailbox is at most 254 octets (the path less "<>") */
	snprintf(s, sizeof s, "a@%.250s", b.s);
	T_CHECK(mbox(s, 0) != NULL);
	snprintf(s, sizeof s, "a@%.250sbbb", b.s);
	T_CHECK(mbox(s, 0) == NULL);
	T_EQ_STR(err, "address too long");
	/* path: <64@255> is 322 > 256 */
	snprintf(s, sizeof s, "<%s@%.180s>", l64, b.s);
	T_CHECK(path(s, 0) != NULL);
	snprintf(s, sizeof s, "<%s@%.200s>", l64, b.s);
	T_CHECK(path(s, 0) == NULL);
	T_EQ_STR(err, "path too long");
	buf_free(&b);
}

static void
t_helpers(void)
{
	size_t base, local;

	T_EQ_STR(addr_domain("a@b.c"), "b.c");
	T_EQ_STR(addr_domain("postmaster"), "");
	addr_base_local("user+tag@d", "+", &base, &local);
	T_EQ_INT(base, 4);
	T_EQ_INT(local, 8);
	addr_base_local("user-x+y@d", "+-", &base, &local);
	T_EQ_INT(base, 4);
	addr_base_local("user@d", "+", &base, &local);
	T_EQ_INT(base, 4);
	T_EQ_INT(local, 4);
	addr_base_local("+tag@d", "+", &base, &local);
	T_EQ_INT(base, 4);
	addr_base_local("user+tag@d", "", &base, &local);
	T_EQ_INT(base, 8);
	addr_base_local("user+tag@d", NULL, &base, &local);
	T_EQ_INT(base, 8);
	addr_base_local("postmaster", "+", &base, &local);
	T_EQ_INT(local, 10);
}

int
main(void)
{
	t_basic();
	t_null_postmaster();
	t_quoted();
	t_relay_battery();
	t_literals();
	t_bad();
	t_nul();
	t_utf8();
	t_lengths();
	t_helpers();
	buf_free(&out);
	T_DONE();
}
