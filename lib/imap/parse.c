/*
 * parse: the IMAP command cursor and its token readers (RFC 3501 9,
 * RFC 9051 9), over one command as the session's reader assembled it
 * (parse.h).  Character classes are written out here once; every read is
 * checked against the end of the command, which is the position of its
 * final CRLF (or LF).
 */
#include <string.h>
#include <strings.h>

#include "imap/parse.h"

#define NUMBER_MAX 4294967295ULL           /* number: RFC 9051 9, 32 bits */
#define NUMBER64_MAX 9223372036854775807ULL /* mod-sequence-value: RFC 7162 7 */

void
imap_p_init(struct imap_p *p, const char *s, size_t n)
{
	p->s = s;
	p->n = n;
	p->pos = 0;
	p->err = NULL;
}

int
imap_p_fail(struct imap_p *p, const char *msg)
{
	if (p->err == NULL)
		p->err = msg;
	return 0;
}

/* Where the final CRLF (or LF) starts, or n. */
static size_t
p_endpos(const struct imap_p *p)
{
	if (p->n >= 2 && p->s[p->n - 2] == '\r' && p->s[p->n - 1] == '\n')
		return p->n - 2;
	if (p->n >= 1 && p->s[p->n - 1] == '\n')
		return p->n - 1;
	return p->n;
}

/* Bytes before the final line end. */
static size_t
p_left(const struct imap_p *p)
{
	size_t e = p_endpos(p);

	return p->pos < e ? e - p->pos : 0;
}

int
imap_p_end(const struct imap_p *p)
{
	return p_left(p) == 0;
}

int
imap_p_peek(const struct imap_p *p)
{
	return p_left(p) > 0 ? (unsigned char)p->s[p->pos] : -1;
}

/* ATOM-CHAR: any CHAR except atom-specials ("(" ")" "{" SP CTL "%" "*"
 * DQUOTE "\" "]"); CHAR is 7-bit, so 8-bit bytes are not atom chars. */
static int
atom_char(int c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\]", c) == NULL;
}

static int
astring_char(int c)
{
	return atom_char(c) || c == ']';
}

static int
list_char(int c)
{
	return atom_char(c) || c == '%' || c == '*' || c == ']';
}

/* Take the longest run of bytes in class; its length. */
static size_t
p_run(struct imap_p *p, int (*class)(int), int except)
{
	size_t start = p->pos, e = p_endpos(p);

	while (p->pos < e && class((unsigned char)p->s[p->pos]) &&
	    (unsigned char)p->s[p->pos] != except)
		p->pos++;
	return p->pos - start;
}

int
imap_p_char(struct imap_p *p, char c)
{
	const char *msg;

	if (imap_p_peek(p) == (unsigned char)c) {
		p->pos++;
		return 1;
	}
	switch (c) {
	case ' ': msg = "Missing SP"; break;
	/* (words, not the characters: some clients' parsers trip over an
	 * unbalanced parenthesis even in a reply's text) */
	case '(': msg = "Missing open parenthesis"; break;
	case ')': msg = "Missing close parenthesis"; break;
	case '[': msg = "Missing open bracket"; break;
	case ']': msg = "Missing close bracket"; break;
	case '<': msg = "Missing <"; break;
	case '>': msg = "Missing >"; break;
	case '.': msg = "Missing ."; break;
	case ':': msg = "Missing :"; break;
	case '"': msg = "Missing quote"; break;
	default: msg = "Unexpected character"; break;
	}
	return imap_p_fail(p, msg);
}

int
imap_p_sp(struct imap_p *p)
{
	return imap_p_char(p, ' ');
}

int
imap_p_tag(struct imap_p *p, const char **s_r, size_t *n_r)
{
	size_t start = p->pos, len = p_run(p, astring_char, '+');

	if (len == 0)
		return imap_p_fail(p, "Bad tag");
	*s_r = p->s + start;
	*n_r = len;
	return 1;
}

int
imap_p_atom(struct imap_p *p, const char **s_r, size_t *n_r)
{
	size_t start = p->pos, len = p_run(p, atom_char, -1);

	if (len == 0)
		return imap_p_fail(p, "Expected atom");
	*s_r = p->s + start;
	*n_r = len;
	return 1;
}

/* Decimal digits at the cursor up to max: 1, 0 none or too big. */
static int
p_digits(struct imap_p *p, unsigned long long max, unsigned long long *r)
{
	unsigned long long v = 0;
	size_t e = p_endpos(p), start = p->pos;
	unsigned d;

	while (p->pos < e && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		d = (unsigned)(p->s[p->pos] - '0');
		if (v > (max - d) / 10)
			return imap_p_fail(p, "Number too big");
		v = v * 10 + d;
		p->pos++;
	}
	if (p->pos == start)
		return imap_p_fail(p, "Expected number");
	*r = v;
	return 1;
}

int
imap_p_number(struct imap_p *p, unsigned long *r)
{
	unsigned long long v;

	if (!p_digits(p, NUMBER_MAX, &v))
		return 0;
	*r = (unsigned long)v;
	return 1;
}

int
imap_p_nznumber(struct imap_p *p, unsigned long *r)
{
	/* nz-number = digit-nz *DIGIT: no leading zero */
	if (imap_p_peek(p) == '0')
		return imap_p_fail(p, "Expected nonzero number");
	return imap_p_number(p, r);
}

int
imap_p_number64(struct imap_p *p, unsigned long long *r)
{
	return p_digits(p, NUMBER64_MAX, r);
}

int
imap_p_literal(struct imap_p *p, const char **s_r, size_t *n_r,
    int *binary_r)
{
	unsigned long long len = 0;
	size_t digits = 0;
	int binary = 0;

	if (p->pos < p->n && p->s[p->pos] == '~') {
		binary = 1;
		p->pos++;
	}
	if (p->pos >= p->n || p->s[p->pos] != '{')
		return imap_p_fail(p, "Expected literal");
	p->pos++;
	while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		if (++digits > IMAP_LITERAL_DIGITS)
			return imap_p_fail(p, "Bad literal");
		len = len * 10 + (unsigned)(p->s[p->pos++] - '0');
	}
	if (digits == 0)
		return imap_p_fail(p, "Bad literal");
	if (p->pos < p->n && p->s[p->pos] == '+')  /* RFC 7888 */
		p->pos++;
	if (p->pos >= p->n || p->s[p->pos] != '}')
		return imap_p_fail(p, "Bad literal");
	p->pos++;
	if (p->pos + 1 < p->n && p->s[p->pos] == '\r' &&
	    p->s[p->pos + 1] == '\n')
		p->pos += 2;
	else if (p->pos < p->n && p->s[p->pos] == '\n')
		p->pos++;
	else
		return imap_p_fail(p, "Missing CRLF after literal");
	/* the final CRLF of the command follows the literal's bytes */
	if (len > p_left(p))
		return imap_p_fail(p, "Literal longer than the command");
	*s_r = p->s + p->pos;
	*n_r = (size_t)len;
	*binary_r = binary;
	p->pos += (size_t)len;
	return 1;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE, the cursor at the DQUOTE. */
static int
p_quoted(struct imap_p *p, struct buf *out)
{
	size_t e = p_endpos(p), run;
	unsigned char c;

	p->pos++;
	for (;;) {
		run = p->pos;
		while (run < e && p->s[run] != '"' && p->s[run] != '\\' &&
		    p->s[run] != '\0' && p->s[run] != '\r' &&
		    p->s[run] != '\n')
			run++;
		if (buf_cat(out, p->s + p->pos, run - p->pos) < 0)
			return -1;
		p->pos = run;
		if (p->pos >= e)
			return imap_p_fail(p, "Unterminated quoted string");
		c = (unsigned char)p->s[p->pos++];
		if (c == '"')
			return 1;
		if (c != '\\')
			return imap_p_fail(p, "Bad character in quoted string");
		/* quoted-specials only: RFC 3501 9, RFC 9051 9 */
		if (p->pos >= e ||
		    (p->s[p->pos] != '"' && p->s[p->pos] != '\\'))
			return imap_p_fail(p, "Bad escape in quoted string");
		if (buf_catc(out, p->s[p->pos++]) < 0)
			return -1;
	}
}

int
imap_p_string(struct imap_p *p, struct buf *out)
{
	const char *s;
	size_t n;
	int c = imap_p_peek(p), bin;

	buf_reset(out);
	if (c == '"')
		return p_quoted(p, out);
	if (c != '{')
		return imap_p_fail(p, "Expected string");
	if (!imap_p_literal(p, &s, &n, &bin))
		return 0;
	if (memchr(s, '\0', n) != NULL)
		return imap_p_fail(p, "NUL in string");
	return buf_cat(out, s, n) < 0 ? -1 : 1;
}

int
imap_p_astring(struct imap_p *p, struct buf *out)
{
	size_t start = p->pos, len;
	int c = imap_p_peek(p);

	if (c == '"' || c == '{')
		return imap_p_string(p, out);
	buf_reset(out);
	len = p_run(p, astring_char, -1);
	if (len == 0)
		return imap_p_fail(p, "Expected string");
	return buf_cat(out, p->s + start, len) < 0 ? -1 : 1;
}

int
imap_p_nstring(struct imap_p *p, struct buf *out, int *nil_r)
{
	int c = imap_p_peek(p);

	*nil_r = 0;
	if (c == '"' || c == '{')
		return imap_p_string(p, out);
	if (p_left(p) >= 3 && strncasecmp(p->s + p->pos, "NIL", 3) == 0 &&
	    (p_left(p) == 3 || !atom_char((unsigned char)p->s[p->pos + 3]))) {
		p->pos += 3;
		buf_reset(out);
		*nil_r = 1;
		return 1;
	}
	return imap_p_fail(p, "Expected string or NIL");
}

int
imap_p_flag(struct imap_p *p, const char **s_r, size_t *n_r)
{
	size_t start = p->pos;

	if (imap_p_peek(p) == '\\') {
		p->pos++;
		if (imap_p_peek(p) == '*')  /* flag-perm "\*" */
			p->pos++;
		else if (p_run(p, atom_char, -1) == 0)
			return imap_p_fail(p, "Bad flag");
	} else if (p_run(p, atom_char, -1) == 0)
		return imap_p_fail(p, "Bad flag");
	*s_r = p->s + start;
	*n_r = p->pos - start;
	return 1;
}

int
imap_p_mailbox(struct imap_p *p, struct buf *out)
{
	int r = imap_p_astring(p, out);

	if (r == 1 && out->len == 5 && strncasecmp(out->s, "INBOX", 5) == 0)
		memcpy(out->s, "INBOX", 5);  /* RFC 3501 5.1 */
	return r;
}

int
imap_p_list_mailbox(struct imap_p *p, struct buf *out)
{
	size_t start = p->pos, len;
	int c = imap_p_peek(p);

	if (c == '"' || c == '{')
		return imap_p_string(p, out);
	buf_reset(out);
	len = p_run(p, list_char, -1);
	if (len == 0)
		return imap_p_fail(p, "Expected mailbox pattern");
	return buf_cat(out, p->s + start, len) < 0 ? -1 : 1;
}

int
imap_literal_tail(const char *line, size_t n, unsigned long long *len_r,
    int *nonsync_r)
{
	unsigned long long v = 0;
	size_t m = n, i, j;
	int nonsync = 0;

	if (m > 0 && line[m - 1] == '\n')
		m--;
	if (m > 0 && line[m - 1] == '\r')
		m--;
	if (m == 0 || line[m - 1] != '}')
		return 0;
	i = m - 1;  /* the '}' */
	if (i > 0 && line[i - 1] == '+') {
		nonsync = 1;
		i--;
	}
	for (j = i; j > 0 && line[j - 1] >= '0' && line[j - 1] <= '9'; j--)
		;
	if (j > 0 && line[j - 1] == '{' && i > j &&
	    i - j <= IMAP_LITERAL_DIGITS) {
		for (; j < i; j++)
			v = v * 10 + (unsigned)(line[j] - '0');
		*len_r = v;
		*nonsync_r = nonsync;
		return 1;
	}
	/* "a}" is an atom; "{12a}" in the last word is a broken marker */
	for (j = m - 1; j > 0; j--) {
		unsigned char c = (unsigned char)line[j - 1];

		if (c == '{')
			return -1;
		if (c <= 0x20 || c == 0x7f || c == '"')
			break;
	}
	return 0;
}
