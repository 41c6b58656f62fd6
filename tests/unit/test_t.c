/*
 * test_t: exercises the harness (t.h) and the build pipeline with a few
 * checks of lib/util/buf; the full buf tests live in test_buf.c.
 */
#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "t.h"

static void test_harness(void)
{
	T_CHECK(1 + 1 == 2);
	T_EQ_INT(strlen("abc"), 3);
	T_EQ_STR("x", "x");
	T_EQ_STR((const char *)NULL, (const char *)NULL);
	T_EQ_MEM("a\0b", 3, "a\0b", 3);
}

static void test_buf(void)
{
	struct buf b = BUF_INIT;

	T_EQ_STR(buf_str(&b), "");
	T_EQ_INT(buf_cats(&b, "hello"), 1);
	T_EQ_INT(buf_cats(&b, ", "), 1);
	T_EQ_INT(buf_catf(&b, "%s %d", "world", 42), 1);
	T_EQ_STR(buf_str(&b), "hello, world 42");
	T_EQ_INT(b.len, strlen("hello, world 42"));

	buf_reset(&b);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(buf_catu(&b, 0), 1);
	T_EQ_INT(buf_catc(&b, ' '), 1);
	T_EQ_INT(buf_catu(&b, UINT64_MAX), 1);
	T_EQ_STR(buf_str(&b), "0 18446744073709551615");

	buf_free(&b);
	T_CHECK(b.s == NULL);
	T_EQ_INT(b.len, 0);
}

int main(void)
{
	test_harness();
	test_buf();
	T_DONE();
}
