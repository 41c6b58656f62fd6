/*
 * addr: RFC 5321 4.1.2 path and mailbox parsing, with the bounds of
 * 4.5.3.1, into one canonical form (see addr.h).
 *
 * The parser is a pure function of (bytes, length): it never reads past
 * s+n, never allocates except to grow the output buffer, and reports every
 * syntax error with a short static text that tern-smtpd puts after
 * "501 5.1.3" / "553 5.1.3".  Addresses are taken literally: no '%' or '!'
 * routing and no second '@' (the open-relay tricks of the 1990s).
 */
#include <errno.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "mail/addr_int.h"

int
addrp_fail(struct ap *a, const char *msg)
{
	a->err = msg;
	return 0;
}

/* The error for a byte that cannot be where it is. */
int
addrp_bad_byte(struct ap *a, const char *what)
{
	unsigned char c;

	if (a->p >= a->end)
		return addrp_fail(a, what);
	c = *a->p;
	if (c < 0x20 || c == 0x7f)
		return addrp_fail(a, "control character in address");
	if (c == ' ')
		return addrp_fail(a, "space in address");
	if (c >= 0x80 && !(a->flags & ADDR_UTF8))
		return addrp_fail(a, "8-bit address without SMTPUTF8");
	if (c >= 0x80)
		return addrp_fail(a, "invalid UTF-8 in address");
	return addrp_fail(a, what);
}

/* RFC 5321 4.1.2 atext (RFC 5322 3.2.3) */
static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Bytes of one "character" allowed in an atom at p (1 for ASCII atext,
 * 2-4 for UTF-8 when allowed), 0 if none. */
static size_t
atom_char(const struct ap *a, const unsigned char *p)
{
	if (*p < 0x80)
		return is_atext(*p) ? 1 : 0;
	return (a->flags & ADDR_UTF8) ? addrp_utf8_len(p, a->end) : 0;
}

/* 1 if s[0..n) is a Dot-string: atoms joined by single dots. */
static int
is_dot_string(const struct ap *a, const unsigned char *s, size_t n)
{
	struct ap t = *a;
	size_t i = 0, k;
	int need_atom = 1;

	t.end = s + n;
	while (i < n) {
		if (s[i] == '.') {
			if (need_atom)
				return 0;
			need_atom = 1;
			i++;
			continue;
		}
		if ((k = atom_char(&t, s + i)) == 0)
			return 0;
		need_atom = 0;
		i += k;
	}
	return n > 0 && !need_atom;
}

/* Quoted-string of 4.1.2, decoded; re-quoted only if it is not a
 * Dot-string (4.1.2: "a"@x and a@x are the same mailbox). */
static int
parse_quoted(struct ap *a, struct buf *out)
{
	unsigned char dec[ADDR_MAX_LOCAL + 8]; /* + one UTF-8 character */
	const unsigned char *start = a->p;
	size_t n = 0, k, i;

	a->p++;
	for (;;) {
		if (a->p >= a->end)
			return addrp_fail(a, "unterminated quoted string");
		if ((size_t)(a->p - start) >= ADDR_MAX_LOCAL)
			return addrp_fail(a, "local part too long");
		if (*a->p == '"')
			break;
		k = 1;
		if (*a->p == '\\') {
			a->p++;
			if (a->p >= a->end)
				return addrp_fail(a,
				    "unterminated quoted string");
			if (*a->p < 0x20 || *a->p > 0x7e)
				return addrp_bad_byte(a, "bad quoted pair");
		} else if (*a->p >= 0x80) {
			if (!(a->flags & ADDR_UTF8) ||
			    (k = addrp_utf8_len(a->p, a->end)) == 0)
				return addrp_bad_byte(a, "bad quoted string");
		} else if (*a->p < 0x20 || *a->p == 0x7f)
			return addrp_bad_byte(a, "bad quoted string");
		for (i = 0; i < k; i++)
			dec[n++] = *a->p++;
	}
	a->p++;
	if ((size_t)(a->p - start) > ADDR_MAX_LOCAL)
		return addrp_fail(a, "local part too long");
	if (n == 0)
		return addrp_fail(a, "empty local part");
	if (is_dot_string(a, dec, n))
		return buf_cat(out, dec, n) < 0 ? -1 : 1;
	if (buf_catc(out, '"') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((dec[i] == '"' || dec[i] == '\\') &&
		    buf_catc(out, '\\') < 0)
			return -1;
		if (buf_catc(out, (char)dec[i]) < 0)
			return -1;
	}
	return buf_catc(out, '"') < 0 ? -1 : 1;
}

/* Local-part = Dot-string / Quoted-string */
static int
parse_local(struct ap *a, struct buf *out)
{
	const unsigned char *start = a->p;
	size_t k;
	int need_atom = 1;

	if (a->p < a->end && *a->p == '"')
		return parse_quoted(a, out);
	while (a->p < a->end) {
		if (*a->p == '.') {
			if (need_atom)
				return addrp_fail(a, start == a->p ?
				    "local part starts with a dot" :
				    "empty atom in local part");
			need_atom = 1;
			a->p++;
			continue;
		}
		if ((k = atom_char(a, a->p)) == 0)
			break;
		need_atom = 0;
		a->p += k;
	}
	if (a->p == start)
		return addrp_bad_byte(a, "empty local part");
	if (need_atom)
		return addrp_fail(a, "local part ends with a dot");
	if ((size_t)(a->p - start) > ADDR_MAX_LOCAL)
		return addrp_fail(a, "local part too long");
	return buf_cat(out, start, (size_t)(a->p - start)) < 0 ? -1 : 1;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int
parse_mailbox(struct ap *a, struct buf *out)
{
	int r;

	if ((r = parse_local(a, out)) <= 0)
		return r;
	if (a->p >= a->end || *a->p == '>')
		return addrp_fail(a, "address needs @domain");
	if (*a->p != '@')
		return addrp_bad_byte(a, "bad character in local part");
	a->p++;
	if (buf_catc(out, '@') < 0)
		return -1;
	if (a->p >= a->end)
		return addrp_fail(a, "empty domain");
	return addrp_domain(a, out);
}

/* A-d-l = At-domain *( "," At-domain ), then ":" (4.1.2); dropped, as
 * Appendix C and 3.3 allow. */
static int
skip_route(struct ap *a)
{
	struct buf scratch = BUF_INIT;
	int r = 1;

	while (r > 0) {
		if (a->p >= a->end || *a->p != '@') {
			r = addrp_fail(a, "bad source route");
			break;
		}
		a->p++;
		buf_reset(&scratch);
		if ((r = addrp_domain(a, &scratch)) <= 0)
			break;
		if (a->p < a->end && *a->p == ':') {
			a->p++;
			break;
		}
		if (a->p >= a->end || *a->p != ',')
			r = addrp_fail(a, "bad source route");
		else
			a->p++;
	}
	buf_free(&scratch);
	return r;
}

static int
finish(struct ap *a, int r, const char **errmsg_r)
{
	if (r == 0)
		*errmsg_r = a->err ? a->err : "syntax error in address";
	if (r < 0)
		*errmsg_r = "out of memory";
	return r;
}

int
addr_parse_path(const char *s, size_t n, int flags, struct buf *addr_r,
    const char **rest_r, const char **errmsg_r)
{
	struct ap a = { (const unsigned char *)s, (const unsigned char *)s + n,
	    flags, NULL };
	const unsigned char *lt;
	int r;

	buf_reset(addr_r);
	if (buf_copy(addr_r, "", 0) < 0)
		return finish(&a, -1, errmsg_r);
	*rest_r = s;
	/* "MAIL FROM: <x>" is common; see doc/VIOLATIONS.md */
	while (a.p < a.end && *a.p == ' ')
		a.p++;
	if (a.p >= a.end || *a.p != '<')
		return finish(&a, addrp_bad_byte(&a, "path must start with <"),
		    errmsg_r);
	lt = a.p++;
	if (a.p < a.end && *a.p == '>') {
		if (!(flags & ADDR_NULL_OK))
			return finish(&a, addrp_fail(&a,
			    "null address not allowed"), errmsg_r);
		*rest_r = (const char *)a.p + 1;
		return 1;
	}
	if ((flags & ADDR_POSTMASTER) && a.end - a.p >= 11 &&
	    str_ncaseeq((const char *)a.p, "postmaster>", 11)) {
		*rest_r = (const char *)a.p + 11;
		return finish(&a, buf_copys(addr_r, "postmaster") < 0 ? -1 : 1,
		    errmsg_r);
	}
	if (a.p < a.end && *a.p == '@' && (r = skip_route(&a)) <= 0)
		return finish(&a, r, errmsg_r);
	if ((r = parse_mailbox(&a, addr_r)) <= 0)
		return finish(&a, r, errmsg_r);
	if (a.p >= a.end)
		return finish(&a, addrp_fail(&a, "missing >"), errmsg_r);
	if (*a.p != '>')
		return finish(&a, addrp_bad_byte(&a,
		    "bad character in address"), errmsg_r);
	a.p++;
	if (a.p - lt > ADDR_MAX_PATH)
		return finish(&a, addrp_fail(&a, "path too long"), errmsg_r);
	*rest_r = (const char *)a.p;
	return 1;
}

int
addr_parse(const char *s, size_t n, int flags, struct buf *addr_r,
    const char **errmsg_r)
{
	struct ap a = { (const unsigned char *)s, (const unsigned char *)s + n,
	    flags, NULL };
	const char *rest;
	int r;

	if (n > 0 && s[0] == '<') {
		r = addr_parse_path(s, n, flags, addr_r, &rest, errmsg_r);
		if (r > 0 && rest != s + n) {
			*errmsg_r = "garbage after address";
			r = 0;
		}
		return r;
	}
	buf_reset(addr_r);
	if (buf_copy(addr_r, "", 0) < 0)
		return finish(&a, -1, errmsg_r);
	if (n == 0)
		return finish(&a, (flags & ADDR_NULL_OK) ? 1 :
		    addrp_fail(&a, "empty address"), errmsg_r);
	if ((flags & ADDR_POSTMASTER) && n == 10 &&
	    str_ncaseeq(s, "postmaster", 10))
		return finish(&a, buf_copys(addr_r, "postmaster") < 0 ? -1 : 1,
		    errmsg_r);
	if (n > ADDR_MAX_PATH - 2)
		return finish(&a, addrp_fail(&a, "address too long"), errmsg_r);
	if ((r = parse_mailbox(&a, addr_r)) <= 0)
		return finish(&a, r, errmsg_r);
	if (a.p != a.end)
		return finish(&a, addrp_bad_byte(&a,
		    "bad character in address"), errmsg_r);
	return 1;
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

void
addr_base_local(const char *addr, const char *delims, size_t *baselen_r,
    size_t *locallen_r)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr), i;

	*locallen_r = n;
	*baselen_r = n;
	if (delims == NULL || *delims == '\0')
		return;
	/* a delimiter in first place is part of the name ("+x@d" has no
	 * base to fall back to) */
	for (i = 1; i < n; i++)
		if (strchr(delims, addr[i]) != NULL) {
			*baselen_r = i;
			return;
		}
}

int
addr_is_literal(const char *domain)
{
	return domain[0] == '[';
}
