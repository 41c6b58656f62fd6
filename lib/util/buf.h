/*
 * buf: the one growable byte buffer of tern.
 *
 * A struct buf holds len bytes at s, always followed by a NUL byte so that
 * text can be handed to C string functions; the bytes themselves may
 * contain NULs.  Growth is overflow-checked and bounded by BUF_MAX.
 *
 * Return convention (as everywhere in lib/): 1 success, -1 error with
 * errno set (ENOMEM, or EOVERFLOW past BUF_MAX).
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_MAX ((size_t)1 << 31) /* no single buffer grows past 2 GiB */

struct buf {
	char *s;     /* NULL until the first growth; then NUL-terminated */
	size_t len;  /* bytes in use, excluding the terminating NUL */
	size_t cap;  /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes (plus the NUL).  1 or -1. */
int buf_ready(struct buf *b, size_t n);
/* Append n bytes / a C string / one byte.  1 or -1. */
int buf_cat(struct buf *b, const void *p, size_t n);
int buf_cats(struct buf *b, const char *s);
int buf_catc(struct buf *b, char c);
/* Replace the contents.  1 or -1. */
int buf_copy(struct buf *b, const void *p, size_t n);
int buf_copys(struct buf *b, const char *s);
/* Append formatted text (vsnprintf rules).  1 or -1. */
int buf_catf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vcatf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append an unsigned number in decimal.  1 or -1. */
int buf_catu(struct buf *b, unsigned long long u);
/* Empty the buffer but keep its memory. */
void buf_reset(struct buf *b);
/* Cut to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Release the memory; the buffer is BUF_INIT again. */
void buf_free(struct buf *b);
/* buf_free after overwriting the whole allocation with zeros
 * (explicit_bzero): for passwords and SASL messages. */
void buf_wipe(struct buf *b);
/* The contents as a C string: "" for an empty, never-grown buffer. */
const char *buf_str(const struct buf *b);

#endif
