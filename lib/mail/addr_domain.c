/*
 * addr_domain: the domain half of an address (RFC 5321 4.1.2 Domain and
 * 4.1.3 address literals), and UTF-8 validation for SMTPUTF8 (RFC 6531).
 * Pure functions on bounded bytes, like the rest of addr.
 */
#include <arpa/inet.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "mail/addr_int.h"

/* Length of the well-formed UTF-8 sequence of a non-ASCII character at p
 * (RFC 3629 section 4: no overlong forms, no surrogates, at most
 * U+10FFFF), or 0. */
size_t
addrp_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* "1.2.3.4" strictly: four 1*3DIGIT numbers 0..255 (4.1.3 IPv4-address-
 * literal); canonical decimal into out. */
static int
parse_ipv4(const char *s, size_t n, struct buf *out)
{
	unsigned long v;
	size_t i = 0, j, part;

	for (part = 0; part < 4; part++) {
		for (j = i; j < n && j - i < 4 && s[j] >= '0' && s[j] <= '9';
		    j++)
			;
		if (j == i || j - i > 3 || !str_ulong(s + i, j - i, 255, &v))
			return 0;
		if (buf_catu(out, v) < 0 ||
		    (part < 3 && buf_catc(out, '.') < 0))
			return -1;
		if (part < 3 && (j >= n || s[j] != '.'))
			return 0;
		i = j + 1;
	}
	return j == n ? 1 : 0;
}

/* address-literal (4.1.3): "[" IPv4 "]" or "[IPv6:" addr "]"; general
 * literals (Standardized-tag ":" dcontent) have no use here. */
static int
parse_literal(struct ap *a, struct buf *out)
{
	const unsigned char *start = ++a->p;
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	size_t n;
	int r;

	while (a->p < a->end && *a->p != ']' && a->p - start < 64)
		a->p++;
	if (a->p >= a->end || *a->p != ']')
		return addrp_fail(a, "bad address literal");
	n = (size_t)(a->p - start);
	a->p++;
	if (buf_catc(out, '[') < 0)
		return -1;
	if (n > 5 && str_ncaseeq((const char *)start, "IPv6:", 5)) {
		if (n - 5 >= sizeof tmp)
			return addrp_fail(a, "bad IPv6 address literal");
		memcpy(tmp, start + 5, n - 5);
		tmp[n - 5] = '\0';
		if (inet_pton(AF_INET6, tmp, bin) != 1 ||
		    inet_ntop(AF_INET6, bin, tmp, sizeof tmp) == NULL)
			return addrp_fail(a, "bad IPv6 address literal");
		if (buf_cats(out, "ipv6:") < 0 || buf_cats(out, tmp) < 0)
			return -1;
	} else if ((r = parse_ipv4((const char *)start, n, out)) <= 0) {
		return r < 0 ? -1 : addrp_fail(a, "bad address literal");
	}
	return buf_catc(out, ']') < 0 ? -1 : 1;
}

/* Bytes of one domain-label character at p: Let-dig or '-' (4.1.2), or a
 * UTF-8 character of a U-label with ADDR_UTF8 (RFC 6531 3.3); 0 if none. */
static size_t
label_char(const struct ap *a, const unsigned char *p)
{
	unsigned char c = *p;

	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-')
		return 1;
	if (c >= 0x80 && (a->flags & ADDR_UTF8))
		return addrp_utf8_len(p, a->end);
	return 0;
}

/* One sub-domain: Let-dig [Ldh-str].  Its length goes to *len_r. */
static int
parse_label(struct ap *a, size_t *len_r)
{
	const unsigned char *start = a->p;
	size_t k;

	while (a->p < a->end && (k = label_char(a, a->p)) > 0)
		a->p += k;
	if (a->p == start)
		return addrp_bad_byte(a, "empty domain label");
	if (*start == '-')
		return addrp_fail(a, "domain label starts with a hyphen");
	if (a->p[-1] == '-')
		return addrp_fail(a, "domain label ends with a hyphen");
	*len_r = (size_t)(a->p - start);
	if (*len_r > LABEL_MAX)
		return addrp_fail(a, "domain label too long");
	return 1;
}

/* Domain (4.1.2) or address-literal, lower-cased, a trailing dot removed
 * (the name is absolute anyway).  Stops at the first byte that cannot
 * continue it; the caller checks what follows. */
int
addrp_domain(struct ap *a, struct buf *out)
{
	const unsigned char *start = a->p;
	size_t off = out->len, len;
	int r;

	if (a->p < a->end && *a->p == '[')
		return parse_literal(a, out);
	for (;;) {
		if ((r = parse_label(a, &len)) <= 0)
			return r;
		if (a->p >= a->end || *a->p != '.')
			break;
		a->p++;
		/* a trailing dot: only if no label follows */
		if (a->p >= a->end || label_char(a, a->p) == 0) {
			if (a->p - start == 1)
				return addrp_fail(a, "empty domain label");
			len = (size_t)(a->p - start) - 1;
			goto done;
		}
	}
	len = (size_t)(a->p - start);
done:
	if (len > ADDR_MAX_DOMAIN)
		return addrp_fail(a, "domain too long");
	if (buf_cat(out, start, len) < 0)
		return -1;
	str_lower(out->s + off, len);
	return 1;
}

