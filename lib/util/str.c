/*
 * str: bounded helpers on bytes and C strings, locale-free.
 */
#include <limits.h>
#include <string.h>

#include "util/str.h"

int
str_ulong(const char *s, size_t n, unsigned long max, unsigned long *r)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*r = v;
	return 1;
}

int
str_ulongs(const char *s, unsigned long max, unsigned long *r)
{
	return str_ulong(s, strlen(s), max, r);
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int
str_caseeq(const char *a, const char *b)
{
	while (*a && lc((unsigned char)*a) == lc((unsigned char)*b))
		a++, b++;
	return *a == '\0' && *b == '\0';
}

int
str_ncaseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return 0;
		if (a[i] == '\0')
			return 1;
	}
	return 1;
}

int
str_casestart(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strlen(s) >= n && str_ncaseeq(s, prefix, n);
}

void
str_lower(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = (char)lc((unsigned char)s[i]);
}

size_t
str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t k = n < size - 1 ? n : size - 1;

		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

const char *
str_chr(const char *s, size_t n, int c)
{
	return memchr(s, c, n);
}

const char *
str_skipws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int
str_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

size_t
str_uncomment(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' ||
		    s[i - 1] == '\t'))
			return i;
	return n;
}

int
str_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

size_t
str_hash(const char *s, int fold)
{
	size_t h = (size_t)2166136261u;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (fold && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * (size_t)16777619u;
	}
	return h;
}
