/*
 * smtpparse_ext: pure parsers for the values of ESMTP extensions that
 * tern-smtpd offers: xtext and the DSN parameters (RFC 3461), the BDAT
 * argument (RFC 3030) and the AUTH argument (RFC 4954), plus a header
 * field-name test.  Contracts in smtpparse.h; every function is bounded
 * by the length it is given and allocates nothing.
 */
#include "config.h"
#include "mail/smtpparse.h"

#include <string.h>

static unsigned char
up(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

/* ASCII case-insensitive compare of s[0..n) with the C string kw. */
static int
case_eqn(const char *s, size_t n, const char *kw)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kw[i] == '\0' || up((unsigned char)s[i]) !=
		    up((unsigned char)kw[i]))
			return 0;
	return kw[n] == '\0';
}

/* Value of an upper-case hex digit (RFC 3461 4: hexchar uses "0"-"9" and
 * "A"-"F" only), or -1. */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
smtp_xtext_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			if (i + 2 >= n || hexval((unsigned char)s[i + 1]) < 0 ||
			    hexval((unsigned char)s[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return 1;
}

int
smtp_xtext_decode(const char *s, size_t n, char *out, size_t outsz,
    size_t *len_r)
{
	size_t i, o = 0;

	if (outsz == 0 || !smtp_xtext_ok(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			c = (unsigned char)(hexval((unsigned char)s[i + 1]) *
			    16 + hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= outsz)
			return 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*len_r = o;
	return 1;
}

int
smtp_dsn_notify(const char *s, size_t n, unsigned *flags_r)
{
	static const struct { const char *name; unsigned flag; } words[] = {
		{ "NEVER", SMTP_NOTIFY_NEVER },
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
	};
	unsigned flags = 0;
	size_t i = 0;

	while (i <= n) {
		const char *w = s + i, *comma = memchr(w, ',', n - i);
		size_t wl = comma ? (size_t)(comma - w) : n - i, k;

		for (k = 0; k < sizeof words / sizeof words[0]; k++)
			if (case_eqn(w, wl, words[k].name))
				break;
		if (k == sizeof words / sizeof words[0] ||
		    (flags & words[k].flag))
			return 0;
		flags |= words[k].flag;
		i += wl + 1;
		if (comma == NULL)
			break;
	}
	/* RFC 3461 4.1: NEVER must not be combined with the others */
	if ((flags & SMTP_NOTIFY_NEVER) && flags != SMTP_NOTIFY_NEVER)
		return 0;
	*flags_r = flags;
	return 1;
}

char
smtp_dsn_ret(const char *s, size_t n)
{
	if (case_eqn(s, n, "FULL"))
		return 'F';
	if (case_eqn(s, n, "HDRS"))
		return 'H';
	return 0;
}

int
smtp_dsn_orcpt(const char *s, size_t n)
{
	const char *semi = memchr(s, ';', n);
	size_t i, tl;

	if (n > SMTP_ORCPT_MAX || semi == NULL || semi == s)
		return 0;
	tl = (size_t)(semi - s);
	for (i = 0; i < tl; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	/* an empty original address says nothing: refuse it */
	return tl + 1 < n && smtp_xtext_ok(semi + 1, n - tl - 1);
}

int
smtp_bdat_arg(const char *s, size_t n, unsigned long long *size_r,
    int *last_r)
{
	unsigned long long v = 0;
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (i >= 19)
			return 0;  /* 10^19 - 1 still fits 64 bits */
		v = v * 10 + (unsigned long long)(s[i] - '0');
		i++;
	}
	if (i == 0)
		return 0;
	*last_r = 0;
	if (i < n) {
		if (s[i] != ' ')
			return 0;
		while (i < n && s[i] == ' ')
			i++;
		if (!case_eqn(s + i, n - i, "LAST"))
			return 0;
		*last_r = 1;
	}
	*size_r = v;
	return 1;
}

int
smtp_auth_arg(const char *s, size_t n, char mech[SMTP_MECH_MAX + 1],
    const char **ir_r, size_t *irlen_r)
{
	size_t i = 0;

	while (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '-' ||
	    s[i] == '_')) {
		if (i >= SMTP_MECH_MAX)
			return 0;
		mech[i] = (char)up((unsigned char)s[i]);
		i++;
	}
	if (i == 0)
		return 0;
	mech[i] = '\0';
	*ir_r = NULL;
	*irlen_r = 0;
	if (i == n)
		return 1;
	if (s[i] != ' ')
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	if (i == n || memchr(s + i, ' ', n - i) != NULL)
		return 0;
	*ir_r = s + i;
	*irlen_r = n - i;
	return 1;
}

int
smtp_is_field(const char *text, size_t n, const char *name)
{
	size_t k = strlen(name), i;

	if (n <= k || !case_eqn(text, k, name))
		return 0;
	i = k;
	while (i < n && (text[i] == ' ' || text[i] == '\t'))
		i++;
	return i < n && text[i] == ':';
}
