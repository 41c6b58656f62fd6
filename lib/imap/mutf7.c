/*
 * mutf7: mailbox names in modified UTF-7 (RFC 3501 5.1.3, kept by RFC
 * 9051 for clients without UTF8=ACCEPT) to and from UTF-8, and the UTF-8
 * check (RFC 3629 3).
 *
 * Printable US-ASCII (0x20..0x7e) stands for itself, "&" as "&-"; any
 * other run of characters is "&", the modified base64 ("," for "/", no
 * padding) of their UTF-16BE form, and "-".  The decoder takes only the
 * canonical form the encoder makes, so that decode and encode are exact
 * inverses: a name has one spelling and cannot hide behind another.
 */
#include <stdint.h>

#include "imap/parse.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

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
	if (c == ',')
		return 63;
	return -1;
}

static int
put_utf8(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_cat(out, u, n);
}

/* One UTF-16 unit u of a run; *hi holds a pending high surrogate.
 * 1, 0 not canonical / invalid, -1 ENOMEM. */
static int
run_unit(struct buf *out, uint32_t u, uint32_t *hi)
{
	uint32_t cp;

	if (*hi != 0) {
		if (u < 0xdc00 || u > 0xdfff)
			return 0;
		cp = 0x10000 + ((*hi - 0xd800) << 10) + (u - 0xdc00);
		*hi = 0;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		*hi = u;
		return 1;
	} else if (u >= 0xdc00 && u <= 0xdfff)
		return 0;
	else
		cp = u;
	/* printable ASCII must stand for itself; NUL names nothing */
	if (cp == 0 || (cp >= 0x20 && cp <= 0x7e))
		return 0;
	return put_utf8(out, cp) < 0 ? -1 : 1;
}

int
imap_mutf7_decode(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, run_end = (size_t)-1;
	uint32_t acc, hi;
	unsigned nbits;
	int v, r;

	buf_reset(out);
	while (i < n) {
		unsigned char c = (unsigned char)s[i++];

		if (c < 0x20 || c > 0x7e)
			return 0;
		if (c != '&') {
			if (buf_catc(out, (char)c) < 0)
				return -1;
			continue;
		}
		if (i < n && s[i] == '-') {  /* "&-" is "&" */
			i++;
			if (buf_catc(out, '&') < 0)
				return -1;
			continue;
		}
		if (run_end == i - 1)  /* two runs in a row: one would do */
			return 0;
		acc = hi = 0;
		nbits = 0;
		for (; i < n && s[i] != '-'; i++) {
			if ((v = b64_val((unsigned char)s[i])) < 0)
				return 0;
			acc = (acc << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits >= 16) {
				nbits -= 16;
				r = run_unit(out, (acc >> nbits) & 0xffff, &hi);
				if (r <= 0)
					return r;
				acc &= ((uint32_t)1 << nbits) - 1;
			}
		}
		/* closed by "-", no pending surrogate, fewer than 6
		 * leftover bits and all zero */
		if (i >= n || hi != 0 || nbits >= 6 || acc != 0)
			return 0;
		run_end = ++i;
	}
	return 1;
}

/* Decode one UTF-8 sequence of s[*i..n), already checked valid. */
static uint32_t
get_utf8(const unsigned char *s, size_t n, size_t *i)
{
	uint32_t cp = s[*i];
	size_t k, more;

	more = cp < 0x80 ? 0 : cp < 0xe0 ? 1 : cp < 0xf0 ? 2 : 3;
	if (more > 0)
		cp &= 0x3f >> more;
	(*i)++;
	for (k = 0; k < more && *i < n; k++)
		cp = (cp << 6) | (s[(*i)++] & 0x3f);
	return cp;
}

int
imap_mutf7_encode(const char *s, size_t n, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp, acc, units[2];
	unsigned nbits, k, nu;

	buf_reset(out);
	if (!imap_utf8_valid(s, n))
		return 0;
	while (i < n) {
		if (u[i] >= 0x20 && u[i] <= 0x7e) {
			if ((u[i] == '&' ? buf_cats(out, "&-") :
			    buf_catc(out, (char)u[i])) < 0)
				return -1;
			i++;
			continue;
		}
		if (buf_catc(out, '&') < 0)
			return -1;
		acc = 0;
		nbits = 0;
		while (i < n && !(u[i] >= 0x20 && u[i] <= 0x7e)) {
			cp = get_utf8(u, n, &i);
			if (cp >= 0x10000) {
				units[0] = 0xd800 + ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
				nu = 2;
			} else {
				units[0] = cp;
				nu = 1;
			}
			for (k = 0; k < nu; k++) {
				acc = (acc << 16) | units[k];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					if (buf_catc(out,
					    b64[(acc >> nbits) & 0x3f]) < 0)
						return -1;
				}
				acc &= ((uint32_t)1 << nbits) - 1;
			}
		}
		if (nbits > 0 &&
		    buf_catc(out, b64[(acc << (6 - nbits)) & 0x3f]) < 0)
			return -1;
		if (buf_catc(out, '-') < 0)
			return -1;
	}
	return 1;
}

int
imap_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, more, k;
	unsigned char lo, hi, c;

	while (i < n) {
		c = u[i++];
		if (c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;  /* overlong */
			else if (c == 0xed)
				hi = 0x9f;  /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;  /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;  /* above U+10FFFF */
		} else
			return 0;
		if (n - i < more)
			return 0;
		for (k = 0; k < more; k++, i++) {
			if (u[i] < (k == 0 ? lo : 0x80) ||
			    u[i] > (k == 0 ? hi : 0xbf))
				return 0;
		}
	}
	return 1;
}
