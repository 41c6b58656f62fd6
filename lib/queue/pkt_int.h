/*
 * pkt_int: the field helpers that the packet parsers of dlv.c
 * (tern-deliverd) and rmt.c (tern-remote) share; not for use outside
 * lib/queue.  Static inline, so each user gets its own copy and no new
 * symbol is exported.
 */
#ifndef TERN_PKT_INT_H
#define TERN_PKT_INT_H

#include <stddef.h>
#include <string.h>

#include "util/str.h"
#include "queue/qid.h"

/* Take the next field of s[*pos..n) up to the byte sep; 1 ok, 0 none. */
static inline int
pkt_field(const char *s, size_t n, size_t *pos, int sep, const char **f_r,
    size_t *flen_r)
{
	const char *e = str_chr(s + *pos, n - *pos, sep);

	if (e == NULL)
		return 0;
	*f_r = s + *pos;
	*flen_r = (size_t)(e - *f_r);
	*pos += *flen_r + 1;
	return 1;
}

/* A queue id field f[0..n) into out; 1 ok, 0 not a valid id. */
static inline int
pkt_qid(const char *f, size_t n, char out[QID_SIZE])
{
	if (n != QID_LEN)
		return 0;
	memcpy(out, f, n);
	out[n] = '\0';
	return qid_valid(out);
}

/* Copy the C string text (may be NULL) to out, at most max bytes, every
 * byte that is not printable ASCII made '?'; returns the bytes copied. */
static inline size_t
pkt_text_put(char *out, const char *text, size_t max)
{
	size_t i;

	for (i = 0; text != NULL && text[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	return i;
}

#endif
