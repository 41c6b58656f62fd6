/*
 * test_dataparse: lib/dataparse, the DATA content state machine: line
 * ends (CR LF, bare LF, bare CR), dot-unstuffing, the end of data and
 * SMTP smuggling sequences, the line length limit, and the same results
 * whatever the bytes are split into (every one and two cut points, and
 * one byte at a time).
 */
#include <stdio.h>
#include <string.h>

#include "mail/dataparse.h"
#include "t.h"

#define S(x) x, sizeof(x) - 1

/* A transcript of what the parser made of in[0..n), fed in pieces cut
 * at cuts[0..ncut) (ascending): one "[flags]text" line per line, then
 * "END n" (bytes used up to the end) or "MORE". */
static void
run(const char *in, size_t n, size_t max, const size_t *cuts, size_t ncut,
    char *out, size_t outsz)
{
	char line[4096];
	struct dataparse p;
	size_t o = 0, pos = 0, k, total = 0;
	int ended = 0;

	out[0] = '\0';
	dataparse_init(&p, line, max);
	for (k = 0; k <= ncut && !ended; k++) {
		size_t end = k < ncut ? cuts[k] : n;

		while (pos < end) {
			struct dataparse_line l;
			size_t used;
			int r = dataparse_feed(&p, in + pos, end - pos, &used, &l);

			pos += used;
			total += used;
			if (r == DATAPARSE_END) {
				o += (size_t)snprintf(out + o, outsz - o, "END %zu",
				    total);
				ended = 1;
				break;
			}
			if (r == DATAPARSE_LINE) {
				if (strlen(l.text) != l.len)
					o += (size_t)snprintf(out + o, outsz - o,
					    "(not NUL-terminated)");
				o += (size_t)snprintf(out + o, outsz - o,
				    "[%s%s%s%s%s]%.*s\n",
				    l.flags & SMTP_EOL_CRLF ? "c" : "",
				    l.flags & SMTP_EOL_BARELF ? "l" : "",
				    l.flags & SMTP_BARE_CR ? "r" : "",
				    l.flags & DATAPARSE_LONG ? "L" : "",
				    l.flags & DATAPARSE_DOT ? "." : "",
				    (int)l.len, l.text);
			}
		}
	}
	if (!ended)
		snprintf(out + o, outsz - o, "MORE");
}

/* Check in against want whole, cut once at every point, cut twice at
 * every pair of points, and fed one byte at a time. */
static void
check(const char *in, size_t n, size_t max, const char *want)
{
	char got[8192];
	size_t cuts[4096], i, j;
	int bad = 0;

	run(in, n, max, NULL, 0, got, sizeof got);
	if (!T_EQ_STR(got, want))
		return;
	for (i = 0; i <= n && !bad; i++) {
		cuts[0] = i;
		run(in, n, max, cuts, 1, got, sizeof got);
		if (strcmp(got, want) != 0) {
			printf("  cut at %zu\n", i);
			bad = !T_EQ_STR(got, want);
		}
		for (j = i; j <= n && !bad && n < 200; j++) {
			cuts[1] = j;
			run(in, n, max, cuts, 2, got, sizeof got);
			if (strcmp(got, want) != 0) {
				printf("  cut at %zu and %zu\n", i, j);
				bad = !T_EQ_STR(got, want);
			}
		}
	}
	for (i = 0; i < n && i < 4096; i++)
		cuts[i] = i + 1;
	run(in, n, max, cuts, n < 4096 ? n : 4096, got, sizeof got);
	T_EQ_STR(got, want);
}

static void test_basic(void)
{
	check(S(".\r\n"), 1000, "END 3");
	check(S("a\r\nb\r\n.\r\nMAIL"), 1000, "[c]a\n[c]b\nEND 9");
	check(S("Subject: x\r\n\r\nbody\r\n.\r\n"), 1000,
	    "[c]Subject: x\n[c]\n[c]body\nEND 23");
	/* no end yet */
	check(S("a\r\n.\r"), 1000, "[c]a\nMORE");
	check(S("a\r\n."), 1000, "[c]a\nMORE");
	check(S(""), 1000, "MORE");
	/* 8-bit and NUL bytes are content (the NUL cuts the printout) */
	check(S("\xc3\xa9\r\n.\r\n"), 1000, "[c]\xc3\xa9\nEND 7");
}

static void test_bare_lf(void)
{
	/* a bare LF ends a line (doc/VIOLATIONS.md) */
	check(S("one\ntwo\r\nthree\n\n.\r\n"), 1000,
	    "[l]one\n[c]two\n[l]three\n[l]\n[c.]\nMORE");
	/* ... so the "." after a bare-LF line is content, stuffed or not */
	check(S("one\n.\r\n.\r\n"), 1000, "[l]one\n[c.]\nEND 10");
}

static void test_smuggling(void)
{
	/* <LF>.<LF> */
	check(S("x\n.\nMAIL FROM:<e@x>\r\n.\r\n"), 1000,
	    "[l]x\n[l.]\n[c]MAIL FROM:<e@x>\nEND 24");
	/* <LF>.<CR><LF> */
	check(S("x\n.\r\nRCPT TO:<a@b>\r\n.\r\n"), 1000,
	    "[l]x\n[c.]\n[c]RCPT TO:<a@b>\nEND 23");
	/* <CR><LF>.<LF> */
	check(S("x\r\n.\nDATA\r\n.\r\n"), 1000,
	    "[c]x\n[l.]\n[c]DATA\nEND 14");
	/* <CR>.<CR>, and <CR><CR><LF>.<CR><LF> is the end (the line before
	 * ended in CR LF, with a bare CR in it) */
	check(S("x\r.\rQUIT\r\n\r\r\n.\r\n"), 1000,
	    "[cr]x\r.\rQUIT\n[cr]\r\nEND 16");
	/* <CR><LF>.<CR><CR><LF>: a "." with a bare CR is content */
	check(S("x\r\n.\r\r\n.\r\n"), 1000, "[c]x\n[cr.]\r\nEND 10");
	/* a dot and a space, two dots: content */
	check(S(". \r\n..\r\n.\r\n"), 1000, "[c.] \n[c.].\nEND 11");
	/* the very first line may be the end only with CR LF */
	check(S(".\n.\r\n"), 1000, "[l.]\n[c.]\nMORE");
}

static void test_unstuff(void)
{
	check(S("..a\r\n.b\n..\r\n...\r\n.\r\n"), 1000,
	    "[c.].a\n[l.]b\n[c.].\n[c.]..\nEND 20");
}

static void test_bare_cr(void)
{
	check(S("a\rb\r\n.\r\n"), 1000, "[cr]a\rb\nEND 8");
	check(S("a\r\r\n.\r\n"), 1000, "[cr]a\r\nEND 7");
	check(S("\r\r\r\n.\r\n"), 1000, "[cr]\r\r\nEND 7");
}

static void test_long(void)
{
	char in[3000], want[3000];
	size_t i;

	/* max 6: 4 text bytes and CR LF fit, 5 do not; a bare LF line is
	 * counted the same */
	check(S("abcd\r\nabcd\nabcdefgh\nabcde\r\n.\r\n"), 6,
	    "[c]abcd\n[l]abcd\n[lL]abcd\n[cL]abcd\nEND 30");
	/* the stuffing dot counts; it is still removed */
	check(S("..abc\r\n.abc\r\n.abcd\r\n.\r\n"), 6,
	    "[cL.].ab\n[c.]abc\n[cL.]abc\nEND 23");
	/* a long line before the end still lets the end be seen */
	check(S("abcdefghijkl\r\n.\r\n"), 6, "[cL]abcd\nEND 17");
	check(S("abcdefghijkl\n.\r\n.\r\n"), 6, "[lL]abcd\n[c.]\nEND 19");
	/* tiny limits: the end is found even when nothing is kept */
	check(S("a\r\n\r\n.\r\n"), 2, "[cL]\n[c]\nEND 8");
	check(S("a\r\n\r\n.\r\n"), 0, "[cL]\n[cL]\nEND 8");
	/* a big line: cut at every point */
	for (i = 0; i < 2000; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + 2000, "\r\n.\r\n", 5);
	memcpy(want, "[cL]", 4);
	memcpy(want + 4, in, 998);
	memcpy(want + 1002, "\nEND 2005", 10);
	check(in, 2005, 1000, want);
}

static void test_two_messages(void)
{
	char line[100];
	struct dataparse p;
	struct dataparse_line l;
	const char in[] = "a\r\n.\r\n.\r\n";
	size_t used;

	dataparse_init(&p, line, 100);
	T_EQ_INT(dataparse_feed(&p, S(in), &used, &l), DATAPARSE_LINE);
	T_EQ_INT(used, 3);
	T_EQ_INT(dataparse_feed(&p, in + 3, sizeof in - 4, &used, &l),
	    DATAPARSE_END);
	T_EQ_INT(used, 3);
	dataparse_init(&p, line, 100);
	T_EQ_INT(dataparse_feed(&p, in + 6, 3, &used, &l), DATAPARSE_END);
	T_EQ_INT(used, 3);
}

int main(void)
{
	test_basic();
	test_bare_lf();
	test_smuggling();
	test_unstuff();
	test_bare_cr();
	test_long();
	test_two_messages();
	T_DONE();
}
