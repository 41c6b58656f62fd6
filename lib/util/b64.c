/*
 * b64: base64 of RFC 4648 section 4, strict, for SASL (RFC 4954 SMTP
 * AUTH, RFC 5034 POP3 AUTH, IMAP AUTHENTICATE).
 *
 * Decoding accepts only the canonical encoding: the standard alphabet,
 * a length that is a multiple of 4, '=' only as one or two final pad
 * characters, and zero pad bits (RFC 4648 3.5).  Whitespace, line breaks
 * and the URL-safe alphabet are malformed (RFC 4648 3.3: characters
 * outside the alphabet are rejected).
 */
#include <errno.h>
#include <stdint.h>

#include "util/b64.h"
#include "util/buf.h"

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1 if c is not in the alphabet. */
static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode one quantum q[0..3]; last is 1 for the final quantum, the only
 * one that may carry padding.  Appends 1 to 3 bytes.  1, 0, -1. */
static int
b64_quantum(const unsigned char *q, int last, struct buf *out)
{
	int v[4], pad = 0, i;
	unsigned char o[3];
	uint32_t w;

	if (last && q[3] == '=')
		pad = q[2] == '=' ? 2 : 1;
	for (i = 0; i < 4 - pad; i++)
		if ((v[i] = b64_val(q[i])) < 0)
			return 0;
	for (; i < 4; i++)
		v[i] = 0;
	w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
	    (uint32_t)v[2] << 6 | (uint32_t)v[3];
	/* non-zero pad bits: not the canonical encoding (RFC 4648 3.5) */
	if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
		return 0;
	o[0] = (unsigned char)(w >> 16);
	o[1] = (unsigned char)(w >> 8);
	o[2] = (unsigned char)w;
	return buf_cat(out, o, (size_t)(3 - pad)) < 0 ? -1 : 1;
}

/*
 * Decode s[0..n) into out (replacing its contents).  1 ok, 0 malformed
 * (out then holds nothing useful), -1 ENOMEM.  Empty input decodes to
 * empty output; RFC 4954's lone "=" (empty response) is the caller's.
 */
int
b64_decode(const char *s, size_t n, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;
	int r;

	buf_reset(out);
	if (n % 4 != 0)
		return 0;
	if (buf_ready(out, n / 4 * 3) < 0)
		return -1;
	buf_reset(out);    /* NUL-terminated even when nothing follows */
	for (i = 0; i < n; i += 4) {
		r = b64_quantum(u + i, i + 4 == n, out);
		if (r <= 0) {
			buf_reset(out);
			return r;
		}
	}
	return 1;
}

/* Encode p[0..n) with padding, appending to out.  1 or -1. */
int
b64_encode(const void *p, size_t n, struct buf *out)
{
	const unsigned char *u = p;
	char q[4];
	uint32_t w;
	size_t i;

	if (n > (BUF_MAX / 4) * 3) {
		errno = EOVERFLOW;
		return -1;
	}
	if (buf_ready(out, (n + 2) / 3 * 4) < 0)
		return -1;
	out->s[out->len] = '\0';    /* for n == 0 on a new buffer */
	for (i = 0; i < n; i += 3) {
		size_t k = n - i < 3 ? n - i : 3;

		w = (uint32_t)u[i] << 16;
		if (k > 1)
			w |= (uint32_t)u[i + 1] << 8;
		if (k > 2)
			w |= u[i + 2];
		q[0] = b64_alpha[w >> 18 & 63];
		q[1] = b64_alpha[w >> 12 & 63];
		q[2] = k > 1 ? b64_alpha[w >> 6 & 63] : '=';
		q[3] = k > 2 ? b64_alpha[w & 63] : '=';
		if (buf_cat(out, q, 4) < 0)
			return -1;
	}
	return 1;
}
