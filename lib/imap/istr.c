/*
 * istr: IMAP string output (lib/imap/istr.h).
 */
#include <string.h>

#include "util/buf.h"
#include "imap/parse.h"
#include "imap/istr.h"

/* 1 if s[0..n) can be a quoted string (RFC 3501 9 "quoted"). */
static int
quotable(const char *s, size_t n, int utf8)
{
	size_t i;
	int high = 0;

	if (n >= IMAP_QUOTED_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return 0;
		if (c >= 0x80)
			high = 1;
	}
	return !high || (utf8 && imap_utf8_valid(s, n));
}

int
imap_put_string(struct buf *out, const char *s, size_t n, int utf8)
{
	size_t i;

	if (!quotable(s, n, utf8)) {
		if (buf_catc(out, '{') < 0 || buf_catu(out, n) < 0 ||
		    buf_cat(out, "}\r\n", 3) < 0)
			return -1;
		return buf_cat(out, s, n);
	}
	if (buf_ready(out, n + 2) < 0 || buf_catc(out, '"') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((s[i] == '"' || s[i] == '\\') && buf_catc(out, '\\') < 0)
			return -1;
		if (buf_catc(out, s[i]) < 0)
			return -1;
	}
	return buf_catc(out, '"');
}

int
imap_put_nstring(struct buf *out, const char *s, size_t n, int utf8)
{
	if (s == NULL)
		return buf_cat(out, "NIL", 3);
	return imap_put_string(out, s, n, utf8);
}

/* RFC 3501 9: ASTRING-CHAR = ATOM-CHAR / resp-specials */
static int
is_astring_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("(){%*\"\\", c) == NULL;
}

int
imap_put_astring(struct buf *out, const char *s, size_t n, int utf8)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_astring_char((unsigned char)s[i]))
			break;
	if (n > 0 && i == n)
		return buf_cat(out, s, n);
	return imap_put_string(out, s, n, utf8);
}
