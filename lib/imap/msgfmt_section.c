/*
 * msgfmt_section: the BODY[section]<partial> spec of FETCH (RFC 3501
 * 6.4.5 and 9 "section", RFC 9051 6.4.5): parsed, named back in the
 * response, and resolved against the MIME tree (lib/imap/msgfmt.h).
 *
 * Part numbers are resolved as Dovecot does (imap-msgpart.c): a number
 * picks a child of a multipart; 1 is the only number of a non-multipart
 * part, which then has subparts only when it is a message (its inner
 * message's structure).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "imap/istr.h"
#include "imap/msgfmt.h"

#define NUMBER_MAX 4294967295ULL  /* RFC 3501 9: number is 32 bits */

void
imap_section_free(struct imap_section *sec)
{
	if (sec == NULL)
		return;
	buf_free(&sec->fields);
	memset(sec, 0, sizeof *sec);
	sec->kind = IMAP_SEC_ALL;
}

/* A number at s[*p..n): 1 (value in *v), 0 none or too big. */
static int
number(const char *s, size_t n, size_t *p, unsigned long long *v)
{
	size_t i = *p;
	unsigned long long x = 0;

	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		x = x * 10 + (unsigned long long)(s[i] - '0');
		if (x > NUMBER_MAX)
			return 0;
	}
	*p = i;
	*v = x;
	return 1;
}

/* Does the keyword kw (upper case) start at s[p..n), case-insensitive? */
static int
keyword(const char *s, size_t n, size_t p, const char *kw)
{
	size_t l = strlen(kw);

	return n - p >= l && strncasecmp(s + p, kw, l) == 0;
}

static int
is_astring_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("(){%*\"\\", c) == NULL;
}

/* One astring (RFC 3501 9) at s[*p..n) appended to b with a NUL.
 * 1, 0 syntax error, -1 ENOMEM. */
static int
astring(const char *s, size_t n, size_t *p, struct buf *b)
{
	size_t i = *p, start;
	unsigned long long len;

	if (i >= n)
		return 0;
	if (s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				if (++i >= n || (s[i] != '"' && s[i] != '\\'))
					return 0;
			} else if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
				return 0;
			if (buf_catc(b, s[i]) < 0)
				return -1;
		}
		if (i >= n)
			return 0;
		*p = i + 1;
		return buf_catc(b, '\0');
	}
	if (s[i] == '{') {
		i++;
		if (!number(s, n, &i, &len))
			return 0;
		if (i < n && s[i] == '+')
			i++;  /* LITERAL+ (RFC 7888) */
		if (n - i < 3 || s[i] != '}' || s[i + 1] != '\r' ||
		    s[i + 2] != '\n')
			return 0;
		i += 3;
		if (len > n - i || memchr(s + i, '\0', (size_t)len) != NULL)
			return 0;
		if (buf_cat(b, s + i, (size_t)len) < 0)
			return -1;
		*p = i + (size_t)len;
		return buf_catc(b, '\0');
	}
	for (start = i; i < n && is_astring_char((unsigned char)s[i]); i++)
		;
	/* "]" is an ASTRING-CHAR, but ")]" ends the list, not a name */
	if (i == start)
		return 0;
	if (buf_cat(b, s + start, i - start) < 0)
		return -1;
	*p = i;
	return buf_catc(b, '\0');
}

/* " (" name *(SP name) ")" of HEADER.FIELDS at s[*p..n) */
static int
header_list(const char *s, size_t n, size_t *p, struct imap_section *sec)
{
	size_t i = *p;
	int rc;

	if (n - i < 2 || s[i] != ' ' || s[i + 1] != '(')
		return 0;
	i += 2;
	for (;;) {
		if (sec->nfields >= IMAP_SEC_FIELDS_MAX)
			return 0;
		if ((rc = astring(s, n, &i, &sec->fields)) <= 0)
			return rc;
		sec->nfields++;
		if (i < n && s[i] == ')')
			break;
		if (i >= n || s[i] != ' ')
			return 0;
		i++;
	}
	*p = i + 1;
	return 1;
}

int
imap_section_parse(const char *s, size_t n, struct imap_section *sec,
    size_t *used_r)
{
	size_t p = 0;
	unsigned long long v, w;
	int dot = 0, rc;

	buf_reset(&sec->fields);
	sec->npart = sec->nfields = 0;
	sec->kind = IMAP_SEC_ALL;
	sec->partial = 0;
	sec->poff = sec->plen = 0;
	sec->speclen = 0;
	/* section-part = nz-number *("." nz-number) */
	while (p < n && s[p] >= '0' && s[p] <= '9') {
		if (s[p] == '0' || !number(s, n, &p, &v) ||
		    sec->npart >= MIME_DEPTH_MAX)
			return 0;
		sec->part[sec->npart++] = (unsigned long)v;
		dot = 0;
		if (p < n && s[p] == '.') {
			p++;
			dot = 1;
		} else
			break;
	}
	if (p < n && s[p] != ']') {
		/* section-msgtext, or section-text after a part */
		if (sec->npart > 0 && !dot)
			return 0;
		if (keyword(s, n, p, "HEADER.FIELDS.NOT")) {
			sec->kind = IMAP_SEC_FIELDS_NOT;
			p += 17;
		} else if (keyword(s, n, p, "HEADER.FIELDS")) {
			sec->kind = IMAP_SEC_FIELDS;
			p += 13;
		} else if (keyword(s, n, p, "HEADER")) {
			sec->kind = IMAP_SEC_HEADER;
			p += 6;
		} else if (keyword(s, n, p, "TEXT")) {
			sec->kind = IMAP_SEC_TEXT;
			p += 4;
		} else if (sec->npart > 0 && keyword(s, n, p, "MIME")) {
			sec->kind = IMAP_SEC_MIME;
			p += 4;
		} else
			return 0;
		if (sec->kind == IMAP_SEC_FIELDS ||
		    sec->kind == IMAP_SEC_FIELDS_NOT) {
			if ((rc = header_list(s, n, &p, sec)) <= 0)
				return rc;
		}
	} else if (dot)
		return 0;  /* "1.]" */
	if (p >= n || s[p] != ']')
		return 0;
	sec->speclen = p;
	p++;
	if (p < n && s[p] == '<') {
		/* partial = "<" number "." nz-number ">" (a 0 length is
		 * taken, see msgfmt.h) */
		p++;
		if (!number(s, n, &p, &v) || p >= n || s[p] != '.')
			return 0;
		p++;
		if (!number(s, n, &p, &w) || p >= n || s[p] != '>')
			return 0;
		p++;
		sec->partial = 1;
		sec->poff = v;
		sec->plen = w;
	}
	*used_r = p;
	return 1;
}

int
imap_section_name(struct buf *out, const struct imap_section *sec)
{
	static const char *const kw[] = { "", "HEADER", "HEADER.FIELDS",
	    "HEADER.FIELDS.NOT", "TEXT", "MIME" };
	size_t i, off;

	for (i = 0; i < sec->npart; i++)
		if ((i > 0 && buf_catc(out, '.') < 0) ||
		    buf_catu(out, sec->part[i]) < 0)
			return -1;
	if (sec->kind == IMAP_SEC_ALL)
		return 1;
	if ((sec->npart > 0 && buf_catc(out, '.') < 0) ||
	    buf_cats(out, kw[sec->kind]) < 0)
		return -1;
	if (sec->kind != IMAP_SEC_FIELDS && sec->kind != IMAP_SEC_FIELDS_NOT)
		return 1;
	if (buf_cat(out, " (", 2) < 0)
		return -1;
	for (i = 0, off = 0; i < sec->nfields && off < sec->fields.len; i++) {
		const char *f = sec->fields.s + off;
		size_t l = strlen(f), k, start = out->len;
		struct buf up = BUF_INIT;
		int rc;

		if (i > 0 && buf_catc(out, ' ') < 0)
			return -1;
		(void)start;
		if (buf_cat(&up, f, l) < 0)
			return -1;
		for (k = 0; k < l; k++)
			if (up.s[k] >= 'a' && up.s[k] <= 'z')
				up.s[k] = (char)(up.s[k] - 'a' + 'A');
		rc = imap_put_astring(out, up.s ? up.s : "", l, 0);
		buf_free(&up);
		if (rc < 0)
			return -1;
		off += l + 1;
	}
	return buf_catc(out, ')');
}

/* The part the section's numbers name, or MIME_NONE. */
static size_t
resolve(const struct mime_msg *m, const struct imap_section *sec)
{
	size_t cur = 0, i;

	for (i = 0; i < sec->npart; i++) {
		const struct mime_part *p = &m->parts[cur];

		if (i > 0) {
			if (p->is_message && p->first_child != MIME_NONE)
				cur = p->first_child;
			else if (!p->is_multipart)
				return MIME_NONE;  /* a leaf has no subparts */
			p = &m->parts[cur];
		}
		if (p->is_multipart)
			cur = mime_child(m, cur, sec->part[i]);
		else if (sec->part[i] != 1)
			return MIME_NONE;
		if (cur == MIME_NONE)
			return MIME_NONE;
	}
	return cur;
}

size_t
imap_section_part(const struct mime_msg *m, const struct imap_section *sec)
{
	return m->n == 0 ? MIME_NONE : resolve(m, sec);
}

/* 1 if the field name f[0..fl) is in the section's list. */
static int
in_list(const struct imap_section *sec, const char *f, size_t fl)
{
	size_t i, off;

	for (i = 0, off = 0; i < sec->nfields && off < sec->fields.len; i++) {
		const char *name = sec->fields.s + off;
		size_t l = strlen(name);

		if (l == fl && strncasecmp(name, f, fl) == 0)
			return 1;
		off += l + 1;
	}
	return 0;
}

static int
header_fields(const char *hdr, size_t hlen, const struct imap_section *sec,
    struct buf *out)
{
	size_t pos = 0, namelen, foff, flen;
	const char *name;
	int want = sec->kind == IMAP_SEC_FIELDS;

	while (mime_header_next(hdr, hlen, &pos, &name, &namelen, &foff,
	    &flen) == 1) {
		if (in_list(sec, name, namelen) != want)
			continue;
		if (buf_cat(out, hdr + foff, flen) < 0)
			return -1;
		if (hdr[foff + flen - 1] != '\n' && buf_cat(out, "\r\n", 2) < 0)
			return -1;
	}
	/* RFC 3501 6.4.5: the blank line is included in all header fetches */
	return buf_cat(out, "\r\n", 2);
}

int
imap_section_get(const char *msg, size_t len, const struct mime_msg *m,
    const struct imap_section *sec, struct buf *out, const char **p_r,
    size_t *n_r)
{
	const struct mime_part *p;
	size_t cur;

	*p_r = "";
	*n_r = 0;
	if (m->n == 0)
		return 1;
	if (sec->npart == 0 && sec->kind == IMAP_SEC_ALL) {
		*p_r = msg;
		*n_r = len;
		return 1;
	}
	if ((cur = resolve(m, sec)) == MIME_NONE)
		return 1;  /* not there: empty, as Dovecot answers */
	p = &m->parts[cur];
	if (sec->kind == IMAP_SEC_ALL || sec->kind == IMAP_SEC_MIME) {
		if (sec->kind == IMAP_SEC_ALL) {
			*p_r = msg + p->body_off;
			*n_r = p->body_len;
		} else {
			*p_r = msg + p->hdr_off;
			*n_r = p->hdr_len;
		}
		return 1;
	}
	if (sec->npart > 0) {
		/* HEADER and TEXT of a part: of its inner message only */
		if (!p->is_message || p->first_child == MIME_NONE)
			return 1;
		p = &m->parts[p->first_child];
	}
	switch (sec->kind) {
	case IMAP_SEC_HEADER:
		*p_r = msg + p->hdr_off;
		*n_r = p->hdr_len;
		return 1;
	case IMAP_SEC_TEXT:
		*p_r = msg + p->body_off;
		*n_r = p->body_len;
		return 1;
	default:
		buf_reset(out);
		if (header_fields(msg + p->hdr_off, p->hdr_len, sec, out) < 0)
			return -1;
		*p_r = out->s;
		*n_r = out->len;
		return 1;
	}
}
