/*
 * test_enq: the chunk lengths tern-enqueue reads from its client
 * (enq_chunk_len, lib/queue/enq.h): bounds, overflow, bad hex.
 */
#include <stdint.h>
#include <string.h>

#include "queue/enq.h"
#include "t.h"

/* enq_chunk_len on the C string s; *len_r set only when it returns 1. */
static int
len(const char *s, size_t max, size_t *len_r)
{
	*len_r = (size_t)-1;
	return enq_chunk_len(s, strlen(s), max, len_r);
}

static void
test_good(void)
{
	size_t n;

	T_EQ_INT(len("0", ENQ_CHUNK_MAX, &n), 1);      /* the end marker */
	T_EQ_INT(n, 0);
	T_EQ_INT(len("1", ENQ_CHUNK_MAX, &n), 1);
	T_EQ_INT(n, 1);
	T_EQ_INT(len("ff", ENQ_CHUNK_MAX, &n), 1);
	T_EQ_INT(n, 255);
	T_EQ_INT(len("aBcD", ENQ_CHUNK_MAX, &n), 1);   /* either case */
	T_EQ_INT(n, 0xabcd);
	T_EQ_INT(len("10000", ENQ_CHUNK_MAX, &n), 1);  /* the maximum */
	T_EQ_INT(n, ENQ_CHUNK_MAX);
	T_EQ_INT(len("00010000", ENQ_CHUNK_MAX, &n), 1); /* 8 digits */
	T_EQ_INT(n, ENQ_CHUNK_MAX);
}

static void
test_bounds(void)
{
	size_t n;

	T_EQ_INT(len("10001", ENQ_CHUNK_MAX, &n), 0);  /* max + 1 */
	T_EQ_INT(n, (size_t)-1);
	T_EQ_INT(len("fffff", ENQ_CHUNK_MAX, &n), 0);
	T_EQ_INT(len("000010000", ENQ_CHUNK_MAX, &n), 0); /* 9 digits */
	T_EQ_INT(len("", ENQ_CHUNK_MAX, &n), 0);
	/* a single digit above max, and max 0 */
	T_EQ_INT(len("a", 9, &n), 0);
	T_EQ_INT(len("9", 9, &n), 1);
	T_EQ_INT(len("1", 0, &n), 0);
	T_EQ_INT(len("0", 0, &n), 1);
}

static void
test_overflow(void)
{
	size_t n;

	/* the largest max: 8 digits never wrap, however large the value */
	T_EQ_INT(len("ffffffff", SIZE_MAX, &n), 1);
	T_EQ_INT(n, 0xffffffffUL);
	T_EQ_INT(len("ffffffff", 0xfffffffeUL, &n), 0);
	T_EQ_INT(len("fffffff", 0xfffffffUL, &n), 1);
	T_EQ_INT(len("10000000", 0xfffffffUL, &n), 0);
}

static void
test_bad_hex(void)
{
	/* not hex: letters past f, signs, spaces, "0x", and the control
	 * bytes 0x10 and 0x11, which "| 0x20" would fold onto '0' and '1' */
	static const char *const bad[] = {
		"g", "G", "x1", "0x1", "-1", "+1", " 1", "1 ", "1\r", "\x10",
		"\x11", "1\t", "@", "`", "1.", "Z", "\xc3\xa9",
	};
	size_t i, n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!T_EQ_INT(len(bad[i], ENQ_CHUNK_MAX, &n), 0))
			printf("accepted: [%s]\n", bad[i]);
	/* a NUL inside the line: the length says where the line ends */
	T_EQ_INT(enq_chunk_len("1\0", 2, ENQ_CHUNK_MAX, &n), 0);
}

int
main(void)
{
	test_good();
	test_bounds();
	test_overflow();
	test_bad_hex();
	T_DONE();
}
