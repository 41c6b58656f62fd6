/*
 * str: small, bounded helpers for bytes and C strings.
 * No function here allocates.
 */
#ifndef TERN_STR_H
#define TERN_STR_H

#include <stddef.h>

/* Parse a decimal unsigned number that fills all of s[0..n), at most max.
 * 1 ok (*r set), 0 not a number or out of range. */
int str_ulong(const char *s, size_t n, unsigned long max, unsigned long *r);
/* Same for a C string. */
int str_ulongs(const char *s, unsigned long max, unsigned long *r);
/* ASCII case-insensitive comparisons (no locale). */
int str_caseeq(const char *a, const char *b);
int str_casestart(const char *s, const char *prefix); /* 1 if s starts with prefix */
int str_ncaseeq(const char *a, const char *b, size_t n);
/* Lower-case ASCII letters in place. */
void str_lower(char *s, size_t n);
/* Copy at most size-1 bytes and NUL-terminate; returns strlen(src) like
 * strlcpy, so a result >= size means truncation. */
size_t str_copy(char *dst, const char *src, size_t size);
/* Find byte c in s[0..n); pointer or NULL. */
const char *str_chr(const char *s, size_t n, int c);
/* Skip ASCII spaces and tabs. */
const char *str_skipws(const char *s);
/* 1 if the n bytes hold no control character (< 0x20, 0x7f) */
int str_printable(const char *s, size_t n);
/* The length of s[0..n) before its comment: the first '#' that starts s
 * or follows a blank (space or tab) begins one; "a#b" holds none.  The one
 * rule for inline comments of tern.conf and of every map. */
size_t str_uncomment(const char *s, size_t n);
/* 1 if the C string s holds a byte over 0x7f (an address that needs
 * SMTPUTF8, RFC 6531 3.4; 8-bit text), else 0. */
int str_8bit(const char *s);
/* FNV-1a hash of the C string s, ASCII letters folded to lower case
 * when fold is 1 (for hash tables of names). */
size_t str_hash(const char *s, int fold);

#endif
