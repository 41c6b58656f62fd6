/*
 * buf: growable, length-counted, always NUL-terminated byte buffer.
 * Growth doubles the capacity and refuses to pass BUF_MAX, so no size
 * computation here can overflow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int
buf_ready(struct buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	/* len + n + 1 <= BUF_MAX, written so that it cannot wrap */
	if (n >= BUF_MAX || b->len >= BUF_MAX - n) {
		errno = EOVERFLOW;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->cap)
		return 1;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > BUF_MAX / 2 ? BUF_MAX : cap * 2;
	p = realloc(b->s, cap);
	if (p == NULL)
		return -1;
	b->s = p;
	b->cap = cap;
	return 1;
}

int
buf_cat(struct buf *b, const void *p, size_t n)
{
	if (buf_ready(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 1;
}

int
buf_cats(struct buf *b, const char *s)
{
	return buf_cat(b, s, strlen(s));
}

int
buf_catc(struct buf *b, char c)
{
	return buf_cat(b, &c, 1);
}

int
buf_copy(struct buf *b, const void *p, size_t n)
{
	b->len = 0;
	return buf_cat(b, p, n);
}

int
buf_copys(struct buf *b, const char *s)
{
	return buf_copy(b, s, strlen(s));
}

int
buf_vcatf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	/* first try in the room we have; grow once to the exact need */
	if (buf_ready(b, 64) < 0)
		return -1;
	va_copy(ap2, ap);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -1;
	if ((size_t)n >= b->cap - b->len) {
		if (buf_ready(b, (size_t)n) < 0)
			return -1;
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		if (n < 0)
			return -1;
	}
	b->len += (size_t)n;
	return 1;
}

int
buf_catf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vcatf(b, fmt, ap);
	va_end(ap);
	return r;
}

int
buf_catu(struct buf *b, unsigned long long u)
{
	char tmp[24];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return buf_cat(b, tmp + i, sizeof tmp - i);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void
buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->s[n] = '\0';
	}
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->s, b->s + n, b->len - n);
	b->len -= n;
	b->s[b->len] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void
buf_wipe(struct buf *b)
{
	if (b->s != NULL)
		explicit_bzero(b->s, b->cap);
	buf_free(b);
}

const char *
buf_str(const struct buf *b)
{
	return b->s ? b->s : "";
}
