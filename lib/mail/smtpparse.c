/*
 * smtpparse: pure parsers for SMTP command lines, ESMTP parameters, HELO
 * names and DATA line ends.  See smtpparse.h for the contracts; every
 * function is bounded by the length it is given and never reads past it.
 */
#include "config.h"
#include "mail/smtpparse.h"

#include <string.h>

static int
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char
up(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

/* ASCII case-insensitive compare of s[0..n) with the C string kw. */
static int
case_eqn(const char *s, size_t n, const char *kw)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (kw[i] == '\0' || up((unsigned char)s[i]) !=
		    up((unsigned char)kw[i]))
			return 0;
	}
	return kw[n] == '\0';
}

int
smtp_split(const char *line, size_t n, char verb[SMTP_VERB_MAX + 1],
    const char **arg_r, size_t *arglen_r)
{
	size_t i = 0, v;

	while (i < n && is_alpha((unsigned char)line[i]))
		i++;
	if (i == 0 || i > SMTP_VERB_MAX)
		return 0;
	/* the verb ends at SP or at the end of the line (RFC 5321 4.1.1);
	 * a tab is tolerated like a space */
	if (i < n && line[i] != ' ' && line[i] != '\t')
		return 0;
	for (v = 0; v < i; v++)
		verb[v] = (char)up((unsigned char)line[v]);
	verb[i] = '\0';
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (n > i && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*arg_r = line + i;
	*arglen_r = n - i;
	return 1;
}

int
smtp_keyword_arg(const char *arg, size_t n, const char *kw,
    const char **rest_r, size_t *restlen_r)
{
	size_t k = strlen(kw), i;

	if (n < k || !case_eqn(arg, k, kw))
		return 0;
	i = k;
	while (i < n && arg[i] == ' ')
		i++;
	*rest_r = arg + i;
	*restlen_r = n - i;
	return 1;
}

/* esmtp-value characters: %d33-60 / %d62-126 (no "=", SP or controls) */
static int
is_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

/* Parse one esmtp-param at s[*ip..n); 1 ok, 0 syntax error. */
static int
param_one(const char *s, size_t n, size_t *ip, struct smtp_param *p,
    const char **errmsg_r)
{
	size_t i = *ip, start = i;

	if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i])) {
		*errmsg_r = "Syntax error in parameter keyword";
		return 0;
	}
	while (i < n && (is_alpha((unsigned char)s[i]) ||
	    is_digit((unsigned char)s[i]) || s[i] == '-'))
		i++;
	if (i - start > SMTP_KEYWORD_MAX) {
		*errmsg_r = "Parameter keyword too long";
		return 0;
	}
	p->key = s + start;
	p->keylen = i - start;
	p->val = NULL;
	p->vallen = 0;
	if (i < n && s[i] == '=') {
		size_t vstart = ++i;

		while (i < n && is_value_char((unsigned char)s[i]))
			i++;
		if (i == vstart) {
			*errmsg_r = "Empty parameter value";
			return 0;
		}
		p->val = s + vstart;
		p->vallen = i - vstart;
	}
	if (i < n && s[i] != ' ') {
		*errmsg_r = "Syntax error in parameters";
		return 0;
	}
	*ip = i;
	return 1;
}

/* 1 if p[0..count) already holds a parameter with q's keyword */
static int
param_dup(const struct smtp_param *p, size_t count,
    const struct smtp_param *q)
{
	size_t j, k;

	for (j = 0; j < count; j++) {
		if (p[j].keylen != q->keylen)
			continue;
		for (k = 0; k < q->keylen; k++)
			if (up((unsigned char)p[j].key[k]) !=
			    up((unsigned char)q->key[k]))
				break;
		if (k == q->keylen)
			return 1;
	}
	return 0;
}

int
smtp_params(const char *s, size_t n, struct smtp_param *p, size_t max,
    size_t *count_r, const char **errmsg_r)
{
	size_t i = 0, count = 0;

	if (max > SMTP_PARAMS_MAX)
		max = SMTP_PARAMS_MAX;
	*count_r = 0;
	if (n > 0 && s[0] != ' ') {
		/* "<a@b>SIZE=1": RFC 5321 4.1.2 needs SP after the path */
		*errmsg_r = "Syntax error after address";
		return 0;
	}
	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		if (count >= max) {
			*errmsg_r = "Too many parameters";
			return 0;
		}
		if (!param_one(s, n, &i, &p[count], errmsg_r))
			return 0;
		if (param_dup(p, count, &p[count])) {
			*errmsg_r = "Duplicate parameter";
			return 0;
		}
		count++;
	}
	*count_r = count;
	return 1;
}

int
smtp_param_is(const struct smtp_param *p, const char *key)
{
	return case_eqn(p->key, p->keylen, key);
}

int
smtp_helo_ok(const char *s, size_t n)
{
	size_t i, first = 0, last = n;

	if (n == 0 || n > SMTP_HELO_MAX)
		return 0;
	if (s[0] == '[') {
		/* address literal, RFC 5321 4.1.3; the inside is checked only
		 * for its alphabet: the name is informational (4.1.4) */
		if (n < 3 || s[n - 1] != ']')
			return 0;
		first = 1;
		last = n - 1;
	}
	for (i = first; i < last; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' ||
		    c == '_')
			continue;
		if (first == 1 && c == ':')
			continue;
		return 0;
	}
	return 1;
}

unsigned
smtp_line_end(const char *line, size_t n, size_t *textlen_r)
{
	unsigned flags = 0;
	size_t text = n;

	if (n > 0 && line[n - 1] == '\n') {
		if (n > 1 && line[n - 2] == '\r') {
			flags |= SMTP_EOL_CRLF;
			text = n - 2;
		} else {
			flags |= SMTP_EOL_BARELF;
			text = n - 1;
		}
	} else {
		flags |= SMTP_EOL_NONE;
	}
	/* RFC 5321 2.3.8: CR and LF only ever appear as a CRLF pair.  A
	 * bare LF is reported for the caller to decide (DATA takes it as a
	 * line end, doc/VIOLATIONS.md); a lone CR inside the text is refused
	 * by every caller, since a next server may take it for a line end */
	if (text > 0 && memchr(line, '\r', text) != NULL)
		flags |= SMTP_BARE_CR;
	*textlen_r = text;
	return flags;
}

int
smtp_is_received(const char *text, size_t n)
{
	static const char name[] = "received";
	size_t k = sizeof(name) - 1, i;

	if (n <= k || !case_eqn(text, k, name))
		return 0;
	i = k;
	while (i < n && (text[i] == ' ' || text[i] == '\t'))
		i++;
	return i < n && text[i] == ':';
}
