/*
 * smtpreply: SMTP replies as a client reads them (RFC 5321 4.2), the
 * enhanced status code of their first line (RFC 3463, RFC 2034), and the
 * keywords of an EHLO reply.  Contracts in smtpreply.h.  Pure: nothing
 * here does I/O or allocates.
 */
#include <limits.h>
#include <string.h>

#include "util/str.h"
#include "mail/smtpreply.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof *r);
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1..3 digits at s[*p..n); 1 and *p moved past them, else 0. */
static int
digits3(const char *s, size_t n, size_t *p)
{
	size_t i = *p;

	while (i < n && i - *p < 4 && is_digit(s[i]))
		i++;
	if (i == *p || i - *p > 3)
		return 0;
	*p = i;
	return 1;
}

/*
 * The enhanced status code at the start of a first line's text t[0..n):
 * "C.SSS.DDD" followed by a space or the end (RFC 3463 2; RFC 2034 says
 * its class is the reply code's first digit, so a code that disagrees is
 * taken as plain text).
 */
static void
reply_status(struct smtp_reply *r, const char *t, size_t n)
{
	size_t p = 1;

	if (n < 5 || t[0] != (char)('0' + r->code / 100) || t[1] != '.')
		return;
	p = 2;
	if (!digits3(t, n, &p) || p >= n || t[p] != '.')
		return;
	p++;
	if (!digits3(t, n, &p) || (p < n && t[p] != ' '))
		return;
	/* p <= 1 + 1 + 3 + 1 + 3 = 9 < SMTP_STATUS_SIZE */
	memcpy(r->status, t, p);
	r->status[p] = '\0';
}

/* Append t[0..n) to the text, '?' for anything but printable ASCII, cut
 * at SMTP_REPLY_TEXT_MAX. */
static void
reply_text(struct smtp_reply *r, const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n && r->textlen < SMTP_REPLY_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)t[i];

		r->text[r->textlen++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	r->text[r->textlen] = '\0';
}

int
smtp_reply_line(struct smtp_reply *r, const char *s, size_t n)
{
	int code, last;

	if (r->done || r->nlines >= SMTP_REPLY_LINES_MAX)
		return 0;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n > SMTP_REPLY_LINE_MAX || n < 3)
		return 0;
	if (s[0] < '2' || s[0] > '5' || !is_digit(s[1]) || !is_digit(s[2]))
		return 0;
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	if (n == 3)
		last = 1;
	else if (s[3] == ' ')
		last = 1;
	else if (s[3] == '-')
		last = 0;
	else
		return 0;
	if (r->nlines > 0 && code != r->code)
		return 0;
	s += n > 3 ? 4 : 3;
	n -= n > 3 ? 4 : 3;
	if (r->nlines == 0) {
		r->code = code;
		reply_status(r, s, n);
	} else if (r->textlen < SMTP_REPLY_TEXT_MAX) {
		r->text[r->textlen++] = '\n';
		r->text[r->textlen] = '\0';
	}
	reply_text(r, s, n);
	r->nlines++;
	r->done = last;
	return last ? 2 : 1;
}

const char *
smtp_reply_str(const struct smtp_reply *r, char *out, size_t outsz)
{
	size_t o = 0, i;
	char code[4];

	if (outsz == 0)
		return out;
	code[0] = (char)('0' + r->code / 100 % 10);
	code[1] = (char)('0' + r->code / 10 % 10);
	code[2] = (char)('0' + r->code % 10);
	code[3] = '\0';
	for (i = 0; i < 3 && o + 1 < outsz; i++)
		out[o++] = code[i];
	if (r->textlen > 0 && o + 1 < outsz)
		out[o++] = ' ';
	for (i = 0; i < r->textlen && o + 1 < outsz; i++)
		out[o++] = r->text[i] == '\n' ? ' ' : r->text[i];
	out[o] = '\0';
	return out;
}

/* The word at t[*p..n) up to a space or '=' (or the end); moves *p past
 * it and its separator. */
static void
ehlo_word(const char *t, size_t n, size_t *p, const char **w, size_t *wl)
{
	size_t i = *p;

	while (i < n && t[i] == ' ')
		i++;
	*w = t + i;
	while (i < n && t[i] != ' ' && t[i] != '=')
		i++;
	*wl = (size_t)(t + i - *w);
	if (i < n)
		i++;
	*p = i;
}

static int
word_is(const char *w, size_t wl, const char *kw)
{
	return wl == strlen(kw) && str_ncaseeq(w, kw, wl);
}

/* One line of an EHLO reply: "KEYWORD[ PARAM...]" or "AUTH=MECH..." */
static void
ehlo_line(struct smtp_ext *x, const char *t, size_t n)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} simple[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING },
		{ "8BITMIME", SMTP_EXT_8BITMIME },
		{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
		{ "DSN", SMTP_EXT_DSN },
		{ "STARTTLS", SMTP_EXT_STARTTLS },
		{ "CHUNKING", SMTP_EXT_CHUNKING },
		{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCED },
	};
	const char *w;
	size_t p = 0, wl, i;

	ehlo_word(t, n, &p, &w, &wl);
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		if (word_is(w, wl, simple[i].kw)) {
			x->flags |= simple[i].flag;
			return;
		}
	}
	if (word_is(w, wl, "SIZE")) {
		unsigned long v;

		x->flags |= SMTP_EXT_SIZE;
		ehlo_word(t, n, &p, &w, &wl);
		/* "SIZE" alone or "SIZE 0": no limit announced; a number
		 * too large for us is no limit we could exceed either */
		if (wl > 0 && str_ulong(w, wl, ULONG_MAX, &v))
			x->size = v;
		return;
	}
	if (word_is(w, wl, "AUTH")) {
		x->flags |= SMTP_EXT_AUTH;
		while (p < n) {
			ehlo_word(t, n, &p, &w, &wl);
			if (word_is(w, wl, "PLAIN"))
				x->auth |= SMTP_AUTH_PLAIN;
			else if (word_is(w, wl, "LOGIN"))
				x->auth |= SMTP_AUTH_LOGIN;
		}
	}
}

int
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *x)
{
	const char *t = r->text, *e;
	size_t n = r->textlen, p;

	memset(x, 0, sizeof *x);
	if (!r->done || r->code < 200 || r->code > 299)
		return 0;
	/* a text cut at its bound may end in half a keyword ("SIZE 10"
	 * of "SIZE 10240000"): the last line is then not trusted */
	if (n >= SMTP_REPLY_TEXT_MAX) {
		e = t + n;
		while (e > t && e[-1] != '\n')
			e--;
		n = e > t ? (size_t)(e - t) - 1 : 0;
	}
	/* the first line is the server's name and greeting */
	e = str_chr(t, n, '\n');
	if (e == NULL)
		return 1;
	p = (size_t)(e - t) + 1;
	while (p < n) {
		size_t l;

		e = str_chr(t + p, n - p, '\n');
		l = e ? (size_t)(e - (t + p)) : n - p;
		ehlo_line(x, t + p, l);
		p += l + 1;
	}
	return 1;
}
