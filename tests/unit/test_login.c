/*
 * test_login: lib/login/creds.c, the login child's netstring that the
 * root parent of tern-pop3d parses: round trip, every prefix is "more",
 * and each malformed form is refused.
 */
#include <string.h>

#include "util/buf.h"
#include "login/creds.h"
#include "t.h"

#define UMAX 16
#define PMAX 8

static int
parse(const char *p, size_t n, char *u, char *pw, size_t *used)
{
	return creds_parse(p, n, UMAX, PMAX, u, pw, used);
}

int
main(void)
{
	char u[64 + 1], pw[64 + 1];  /* room for the largest limits used */
	struct buf b = BUF_INIT;
	size_t used = 0, i;
#define S(x) { x, sizeof x - 1 }
	static const struct { const char *s; size_t n; } bad[] = {
		S(":x\0y,"),            /* no digits */
		S("a:"),                /* not a digit */
		S("03:a\0b,"),          /* leading zero */
		S("123456:"),           /* six digits */
		S("26:"),               /* over UMAX + 1 + PMAX */
		S("3:a\0b;"),           /* no ',' */
		S("3:abc,"),            /* no NUL */
		S("3:\0ab,"),           /* empty user */
		S("3:ab\0,"),           /* empty password */
		S("5:a\0b\0c,"),        /* a second NUL */
		S("19:aaaaaaaaaaaaaaaaa\0p,"),  /* user over UMAX (17) */
		S("12:a\0bbbbbbbbbb,"), /* password over PMAX (10) */
	};

	T_EQ_INT(creds_encode(&b, "demo@example.test", 17, "demo", 4), 1);
	T_EQ_MEM(b.s, b.len, "22:demo@example.test\0demo,", 26);
	T_EQ_INT(creds_parse(b.s, b.len, 64, 64, u, pw, &used), 1);
	T_EQ_INT(used, b.len);
	T_EQ_STR(u, "demo@example.test");
	T_EQ_STR(pw, "demo");
	/* every proper prefix asks for more */
	for (i = 0; i < b.len; i++)
		if (!T_EQ_INT(creds_parse(b.s, i, 64, 64, u, pw, &used), 0))
			printf("  prefix %zu\n", i);
	T_EQ_STR(u, "");
	/* bytes after a whole attempt are left for the caller */
	T_CHECK(buf_cat(&b, "x", 1) >= 0);
	T_EQ_INT(creds_parse(b.s, b.len, 64, 64, u, pw, &used), 1);
	T_EQ_INT(used, b.len - 1);
	/* the limits are the caller's */
	T_EQ_INT(parse("5:ab\0cd,", 8, u, pw, &used), 1);
	T_EQ_STR(pw, "cd");
	T_EQ_INT(parse("17:aaaaaaaaaaaaaaaa\0,", 21, u, pw, &used), -1);
	T_EQ_INT(parse("18:aaaaaaaaaaaaaaaa\0p,", 22, u, pw, &used), 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!T_EQ_INT(parse(bad[i].s, bad[i].n, u, pw, &used), -1))
			printf("  case %zu\n", i);
	/* encode refuses what the parser would refuse */
	buf_free(&b);
	T_EQ_INT(creds_encode(&b, "", 0, "p", 1), 0);
	T_EQ_INT(creds_encode(&b, "a\0b", 3, "p", 1), 0);
	T_EQ_INT(creds_encode(&b, "a", 1, "", 0), 0);
	buf_free(&b);
	T_DONE();
}
