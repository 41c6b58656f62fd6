/*
 * t.h: the unit-test harness, one header and no library.
 *
 * Each tests/unit/test_NAME.c has its own main() that runs checks and ends
 * with T_DONE(), which prints one line "unit NAME: N passed, M failed" and
 * makes main return 1 when anything failed.  A failed check prints
 * "FAIL file:line: what" and the test goes on, so one run shows every
 * failure.  tests/run sums the summary lines of all test binaries.
 *
 *   #include "t.h"
 *   int main(void)
 *   {
 *           T_CHECK(1 + 1 == 2);
 *           T_EQ_INT(strlen("ab"), 2);
 *           T_EQ_STR(buf_str(&b), "hello");
 *           T_EQ_MEM(b.s, b.len, "a\0b", 3);
 *           T_DONE();
 *   }
 *
 * Each macro evaluates its arguments exactly once and is an expression
 * whose value is 1 if the check passed, else 0 (so a test can stop early:
 * "if (!T_CHECK(p != NULL)) T_DONE();").
 */
#ifndef TERN_T_H
#define TERN_T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

static inline int t_result_(int ok)
{
	if (ok)
		t_passed++;
	else
		t_failed++;
	return ok;
}

static inline int t_check_(int ok, const char *file, int line, const char *what)
{
	if (!ok)
		printf("FAIL %s:%d: %s\n", file, line, what);
	return t_result_(ok);
}

static inline int t_eq_str_(const char *a, const char *b, const char *file,
    int line, const char *ea, const char *eb)
{
	int ok = (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);

	if (!ok)
		printf("FAIL %s:%d: %s == %s: \"%s\" != \"%s\"\n", file, line,
		    ea, eb, a ? a : "(null)", b ? b : "(null)");
	return t_result_(ok);
}

static inline int t_eq_int_(long long a, long long b, const char *file,
    int line, const char *ea, const char *eb)
{
	if (a != b)
		printf("FAIL %s:%d: %s == %s: %lld != %lld\n", file, line, ea,
		    eb, a, b);
	return t_result_(a == b);
}

/* Print n bytes with C escapes for anything not printable ASCII. */
static inline void t_print_mem_(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	putchar('"');
	for (i = 0; i < n && i < 200; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			putchar(s[i]);
		else
			printf("\\x%02x", s[i]);
	}
	printf("%s\"", i < n ? "..." : "");
}

static inline int t_eq_mem_(const void *a, size_t alen, const void *b,
    size_t blen, const char *file, int line, const char *ea, const char *eb)
{
	int ok = alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);

	if (!ok) {
		printf("FAIL %s:%d: %s == %s: ", file, line, ea, eb);
		t_print_mem_(a, alen);
		printf(" (%zu) != ", alen);
		t_print_mem_(b, blen);
		printf(" (%zu)\n", blen);
	}
	return t_result_(ok);
}

/* "tests/unit/test_buf.c" -> "buf" */
static inline int t_done_(const char *file)
{
	const char *name = strrchr(file, '/');
	size_t n;

	name = name ? name + 1 : file;
	if (strncmp(name, "test_", 5) == 0)
		name += 5;
	n = strlen(name);
	if (n > 2 && strcmp(name + n - 2, ".c") == 0)
		n -= 2;
	printf("unit %.*s: %d passed, %d failed\n", (int)n, name, t_passed,
	    t_failed);
	fflush(stdout);
	return t_failed > 0;
}

#define T_CHECK(cond) t_check_((cond) != 0, __FILE__, __LINE__, #cond)
#define T_EQ_STR(a, b) t_eq_str_((a), (b), __FILE__, __LINE__, #a, #b)
#define T_EQ_INT(a, b) \
	t_eq_int_((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define T_EQ_MEM(a, alen, b, blen) \
	t_eq_mem_((a), (alen), (b), (blen), __FILE__, __LINE__, #a, #b)
#define T_DONE() return t_done_(__FILE__)

#endif
