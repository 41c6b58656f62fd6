/*
 * test_hdr: header fields and RFC 5322 3.4 address lists (lib/mail/hdr.c).
 */
#include <errno.h>
#include <string.h>

#include "mail/hdr.h"
#include "t.h"

/* Run hdr_addrlist on s; returns the count and leaves the list in out. */
static int
alist(const char *s, struct buf *out, const char **msg)
{
	buf_reset(out);
	return hdr_addrlist(s, strlen(s), 100, out, msg);
}

static void
test_addrlist(void)
{
	struct buf b = BUF_INIT;
	const char *msg;

	T_EQ_INT(alist("A <a@x>, b@y (c), \"q, d\" <d@z>, group: e@w;", &b,
	    &msg), 4);
	T_EQ_STR(buf_str(&b), "a@x\nb@y\nd@z\ne@w\n");
	T_EQ_INT(alist("", &b, &msg), 0);
	T_EQ_INT(alist("  (only a comment) ", &b, &msg), 0);
	T_EQ_INT(alist("undisclosed-recipients:;", &b, &msg), 0);
	T_EQ_INT(alist("root", &b, &msg), 1);
	T_EQ_STR(buf_str(&b), "root\n");
	/* folding, nested comments, quoted display names with specials */
	T_EQ_INT(alist("\"Smith, J. (x)\" <j@x.org>,\r\n\t(a (nested) one)"
	    " k@y.org (K)", &b, &msg), 2);
	T_EQ_STR(buf_str(&b), "j@x.org\nk@y.org\n");
	/* a quoted local part keeps its quotes; CFWS around dots drops */
	T_EQ_INT(alist("\"john doe\"@x, a . b @ c . d", &b, &msg), 2);
	T_EQ_STR(buf_str(&b), "\"john doe\"@x\na.b@c.d\n");
	/* obsolete route, empty elements, domain literal */
	T_EQ_INT(alist("<@r1,@r2:a@x>,, ,b@[1.2.3.4]", &b, &msg), 2);
	T_EQ_STR(buf_str(&b), "a@x\nb@[1.2.3.4]\n");
	/* two groups, an empty "<>", display name with dots */
	T_EQ_INT(alist("g1: a@x, B <b@y>; Dr. Who <c@z>, g2:;, <>", &b, &msg),
	    3);
	T_EQ_STR(buf_str(&b), "a@x\nb@y\nc@z\n");
	/* UTF-8 display name (RFC 6532) */
	T_EQ_INT(alist("J\xc3\xbcrgen <j@x>", &b, &msg), 1);
	T_EQ_STR(buf_str(&b), "j@x\n");
	/* unterminated group at the very end is tolerated */
	T_EQ_INT(alist("list: a@x", &b, &msg), 1);

	/* errors */
	T_EQ_INT(alist("John Smith", &b, &msg), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(alist("a@x@y", &b, &msg), -1);
	T_EQ_INT(alist("@x", &b, &msg), -1);
	T_EQ_INT(alist("a@", &b, &msg), -1);
	T_EQ_INT(alist("<a@x", &b, &msg), -1);
	T_EQ_INT(alist("A <a@x> junk", &b, &msg), -1);
	T_EQ_INT(alist("\"unterminated <a@x>", &b, &msg), -1);
	T_EQ_INT(alist("(unterminated a@x", &b, &msg), -1);
	T_EQ_INT(alist("a@x)", &b, &msg), -1);
	T_EQ_INT(alist("a@x;", &b, &msg), -1);
	T_EQ_INT(alist("g: h: a@x;;", &b, &msg), -1);
	T_EQ_INT(alist("a\001b@x", &b, &msg), -1);
	T_EQ_INT(alist("a@[1.2", &b, &msg), -1);
	T_EQ_INT(alist("<@r1 a@x>", &b, &msg), -1);
	T_CHECK(msg != NULL && msg[0] != '\0');
	{
		char deep[200];
		size_t i;

		for (i = 0; i < 40; i++)
			deep[i] = '(';
		for (; i < 80; i++)
			deep[i] = ')';
		memcpy(deep + 80, "a@x", 4);
		T_EQ_INT(alist(deep, &b, &msg), -1);
		T_EQ_STR(msg, "comments nested too deep");
		/* 20 deep is fine: 20 "(", 20 ")", "a@x" */
		memmove(deep + 20, deep + 60, 24);
		T_EQ_INT(alist(deep, &b, &msg), 1);
	}
	{
		char big[400];

		memset(big, 'a', 300);
		memcpy(big + 300, "@x", 3);
		T_EQ_INT(alist(big, &b, &msg), -1);
		T_EQ_INT(errno, EMSGSIZE);
		/* a long display name is fine */
		memcpy(big + 300, " <a@x>", 7);
		big[100] = ' ';
		T_EQ_INT(alist(big, &b, &msg), 1);
	}
	buf_reset(&b);
	T_EQ_INT(hdr_addrlist("a@x, b@x, c@x", 13, 2, &b, &msg), -1);
	T_EQ_INT(errno, E2BIG);
	buf_free(&b);
}

static void
test_fields(void)
{
	const char *h = "From: a@x\r\nTo: b@y,\r\n  c@z\r\nSubject : hi\n"
	    "X-Empty:\n\nbody\nNot: a header\n";
	struct hdr_field f;
	struct buf b = BUF_INIT;
	size_t pos = 0, hlen, body;

	T_EQ_INT(hdr_next(h, strlen(h), &pos, &f), 1);
	T_CHECK(hdr_is(&f, "from"));
	T_EQ_MEM(f.value, f.vlen, " a@x", 4);
	T_EQ_INT(f.len, 11);
	T_EQ_INT(hdr_next(h, strlen(h), &pos, &f), 1);
	T_CHECK(hdr_is(&f, "TO"));
	T_EQ_MEM(f.value, f.vlen, " b@y,\r\n  c@z", 12);
	T_EQ_INT(hdr_unfold(&b, f.value, f.vlen), 1);
	T_EQ_STR(buf_str(&b), "b@y,  c@z");
	T_EQ_INT(hdr_next(h, strlen(h), &pos, &f), 1);
	T_CHECK(hdr_is(&f, "Subject"));
	T_EQ_MEM(f.value, f.vlen, " hi", 3);
	T_EQ_INT(hdr_next(h, strlen(h), &pos, &f), 1);
	T_CHECK(hdr_is(&f, "X-Empty"));
	T_EQ_INT(f.vlen, 0);
	T_EQ_INT(hdr_next(h, strlen(h), &pos, &f), 0);
	T_EQ_INT(h[pos], '\n');

	T_CHECK(hdr_has(h, strlen(h), "subject"));
	T_CHECK(!hdr_has(h, strlen(h), "Not"));
	T_CHECK(!hdr_has(h, strlen(h), "Date"));
	T_EQ_INT(hdr_end(h, strlen(h), &hlen, &body), 1);
	T_EQ_INT(body, hlen + 1);
	T_EQ_STR(h + body, "body\nNot: a header\n");

	/* no empty line: a non-field line starts the body */
	T_EQ_INT(hdr_end("A: b\nplain text\n", 16, &hlen, &body), 0);
	T_EQ_INT(hlen, 5);
	T_EQ_INT(body, 5);
	T_EQ_INT(hdr_end("just text\n", 10, &hlen, &body), 0);
	T_EQ_INT(hlen, 0);
	/* only fields, no final line end */
	T_EQ_INT(hdr_end("A: b\n c", 7, &hlen, &body), 0);
	T_EQ_INT(hlen, 7);
	/* "From " (mbox) and a leading continuation line are no fields */
	pos = 0;
	T_EQ_INT(hdr_next("From x Mon\n", 11, &pos, &f), 0);
	T_EQ_INT(hdr_next(" a: b\n", 6, &pos, &f), 0);
	T_EQ_INT(hdr_next(": b\n", 4, &pos, &f), 0);
	buf_free(&b);
}

int
main(void)
{
	test_addrlist();
	test_fields();
	T_DONE();
}
