/*
 * mime: the MIME tree of a message and the header-field helpers
 * (lib/mail/mime.h).  Header fields and parameters are in mime_hdr.c,
 * decoding (RFC 2047, transfer encodings, charsets) in mime_decode.c.
 *
 * Parts are appended to one array and parsed in that order, so the tree
 * is built with a loop, not recursion: parsing part i finds its header,
 * its Content-Type and, for a multipart or message part, the ranges of
 * its children, which are parsed when the loop reaches them.  A
 * multipart's children are found by scanning only its own body, so an
 * inner part can never run past the boundary of the part around it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/b64.h"
#include "util/buf.h"
#include "mail/mime.h"
#include "mail/mime_int.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the line at s[p..end) including its LF, or to end. */
static size_t
line_len(const char *s, size_t end, size_t p)
{
	const char *nl = memchr(s + p, '\n', end - p);

	return nl ? (size_t)(nl - (s + p)) + 1 : end - p;
}

/* The line length without its LF or CRLF. */
static size_t
content_len(const char *s, size_t p, size_t ll)
{
	if (ll && s[p + ll - 1] == '\n')
		ll--;
	if (ll && s[p + ll - 1] == '\r')
		ll--;
	return ll;
}

size_t
mime_child(const struct mime_msg *m, size_t i, unsigned long n)
{
	size_t c;

	if (i >= m->n || n == 0)
		return MIME_NONE;
	for (c = m->parts[i].first_child; c != MIME_NONE && n > 1;
	    c = m->parts[c].next)
		n--;
	return c;
}

void
mime_free(struct mime_msg *m)
{
	if (m == NULL)
		return;
	free(m->parts);
	m->parts = NULL;
	m->n = m->cap = 0;
}

/* Append a part covering s[off..end) (parsed later); its index, or
 * MIME_NONE on ENOMEM. */
static size_t
add_part(struct mime_msg *m, size_t parent, size_t off, size_t end,
    size_t depth)
{
	struct mime_part *p;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 8;

		if (ncap > MIME_PARTS_MAX)
			ncap = MIME_PARTS_MAX;
		p = realloc(m->parts, ncap * sizeof *p);
		if (p == NULL) {
			errno = ENOMEM;
			return MIME_NONE;
		}
		m->parts = p;
		m->cap = ncap;
	}
	p = &m->parts[m->n];
	memset(p, 0, sizeof *p);
	/* until parsed: hdr_off/body_len hold the part's range */
	p->hdr_off = off;
	p->body_len = end - off;
	p->depth = depth;
	p->parent = parent;
	p->first_child = p->next = MIME_NONE;
	return m->n++;
}

/* Copy a token of at most MIME_TYPE_MAX - 1 bytes; 0 if none or longer */
static int
get_type_token(const char *v, size_t n, size_t *pos, char *out)
{
	size_t p = *pos, t;

	mime_skip_cfws(v, n, &p);
	for (t = p; t < n && mime_is_token((unsigned char)v[t]); t++)
		;
	if (t == p || t - p >= MIME_TYPE_MAX)
		return 0;
	memcpy(out, v + p, t - p);
	out[t - p] = '\0';
	*pos = t;
	return 1;
}

static void
set_type(struct mime_part *p, const char *type, const char *subtype)
{
	size_t a = strlen(type) + 1, b = strlen(subtype) + 1;

	memcpy(p->type, type, a);
	memcpy(p->subtype, subtype, b);
}

/* Content-Type (RFC 2045 5.1); a malformed one is the default (5.2) */
static void
parse_content_type(const char *s, struct mime_part *p, int in_digest)
{
	const char *v;
	size_t vlen, pos = 0;

	p->ct_default = 1;
	if (in_digest)
		set_type(p, "message", "rfc822");
	else
		set_type(p, "text", "plain");
	if (mime_header_find(s + p->hdr_off, p->hdr_len, "Content-Type", &v,
	    &vlen) != 1)
		return;
	if (!get_type_token(v, vlen, &pos, p->type))
		goto dflt;
	mime_skip_cfws(v, vlen, &pos);
	if (pos >= vlen || v[pos] != '/')
		goto dflt;
	pos++;
	if (!get_type_token(v, vlen, &pos, p->subtype))
		goto dflt;
	p->ct_default = 0;
	mime_skip_cfws(v, vlen, &pos);
	if (pos < vlen) {
		p->params_off = (size_t)(v - s) + pos;
		p->params_len = vlen - pos;
	}
	return;
dflt:
	if (in_digest)
		set_type(p, "message", "rfc822");
	else
		set_type(p, "text", "plain");
}

/* Is the line at s[p..p+cl) a boundary delimiter line of b (RFC 2046
 * 5.1.1: "--" boundary, "--" for the close delimiter, then only
 * transport padding)?  0 no, 1 delimiter, 2 close delimiter. */
static int
is_delim(const char *s, size_t p, size_t cl, const struct buf *b)
{
	size_t i;
	int close = 0;

	if (cl < 2 + b->len || s[p] != '-' || s[p + 1] != '-' ||
	    memcmp(s + p + 2, b->s, b->len) != 0)
		return 0;
	i = 2 + b->len;
	if (i + 2 <= cl && s[p + i] == '-' &&
	    s[p + i + 1] == '-') {
		close = 1;
		i += 2;
	}
	for (; i < cl; i++)
		if (!is_wsp(s[p + i]))
			return 0;
	return close ? 2 : 1;
}

/* Where the part before the delimiter line at q ends: the line end
 * before q belongs to the delimiter (RFC 2046 5.1.1), but not before
 * start. */
static size_t
part_end(const char *s, size_t start, size_t q)
{
	size_t e = q;

	if (e > start && s[e - 1] == '\n') {
		e--;
		if (e > start && s[e - 1] == '\r')
			e--;
	}
	return e;
}

/* Find the children of multipart i by its boundary. */
static int
split_multipart(struct mime_msg *m, size_t i, const char *s)
{
	struct mime_part *mp = &m->parts[i];
	struct buf b = BUF_INIT;
	size_t p, be, start = 0, last = MIME_NONE, c, depth = mp->depth + 1;
	int open = 0, rc;

	if (mp->params_len == 0)
		return 1;
	rc = mime_param(s + mp->params_off, mp->params_len, "boundary", &b);
	if (rc <= 0 || b.len == 0) {
		buf_free(&b);
		return rc < 0 ? -1 : 1;
	}
	p = mp->body_off;
	be = mp->body_off + mp->body_len;
	while (p < be) {
		size_t ll = line_len(s, be, p), cl = content_len(s, p, ll);
		int d = is_delim(s, p, cl, &b);

		if (d == 0) {
			p += ll;
			continue;
		}
		if (open) {
			if (m->n >= MIME_PARTS_MAX) {
				/* the rest stays in the last part's body */
				if (last != MIME_NONE)
					m->parts[last].body_len =
					    be - m->parts[last].hdr_off;
				open = 0;
				break;
			}
			c = add_part(m, i, start, part_end(s, start, p), depth);
			if (c == MIME_NONE) {
				buf_free(&b);
				return -1;
			}
			if (last == MIME_NONE)
				m->parts[i].first_child = c;
			else
				m->parts[last].next = c;
			last = c;
		}
		p += ll;
		if (d == 2) {
			open = 0;
			break;
		}
		open = 1;
		start = p;
	}
	buf_free(&b);
	if (open) {
		/* no close delimiter: the last part runs to the end */
		if (m->n >= MIME_PARTS_MAX) {
			if (last != MIME_NONE)
				m->parts[last].body_len =
				    be - m->parts[last].hdr_off;
			return 1;
		}
		c = add_part(m, i, start, be, depth);
		if (c == MIME_NONE)
			return -1;
		if (last == MIME_NONE)
			m->parts[i].first_child = c;
		else
			m->parts[last].next = c;
	}
	return 1;
}

/* Header, body, type and children of part i (its range in hdr_off and
 * body_len, from add_part). */
static int
parse_part(struct mime_msg *m, size_t i, const char *s)
{
	struct mime_part *p = &m->parts[i];
	size_t off = p->hdr_off, end = off + p->body_len, q = off, k;
	int in_digest = 0;

	/* the header runs through the first empty line, or to the end */
	for (;;) {
		size_t ll;

		if (q >= end)
			break;
		ll = line_len(s, end, q);
		if (content_len(s, q, ll) == 0 && s[q + ll - 1] == '\n') {
			q += ll;
			break;
		}
		q += ll;
	}
	p->hdr_len = q - off;
	p->body_off = q;
	p->body_len = end - q;
	p->body_lines = 0;
	for (k = q; k < end; k++)
		if (s[k] == '\n')
			p->body_lines++;
	if (end > q && s[end - 1] != '\n')
		p->body_lines++;
	if (p->parent != MIME_NONE) {
		const struct mime_part *pp = &m->parts[p->parent];

		in_digest = pp->is_multipart &&
		    strcasecmp(pp->subtype, "digest") == 0;
	}
	parse_content_type(s, p, in_digest);
	p->is_multipart = strcasecmp(p->type, "multipart") == 0;
	p->is_message = strcasecmp(p->type, "message") == 0 &&
	    (strcasecmp(p->subtype, "rfc822") == 0 ||
	    strcasecmp(p->subtype, "global") == 0);
	if ((p->is_multipart || p->is_message) &&
	    p->depth + 1 >= MIME_DEPTH_MAX) {
		/* too deep: an opaque leaf */
		set_type(p, "application", "octet-stream");
		p->ct_default = 0;
		p->params_off = p->params_len = 0;
		p->is_multipart = p->is_message = 0;
	}
	if (p->is_multipart)
		return split_multipart(m, i, s);
	if (p->is_message && m->n >= MIME_PARTS_MAX) {
		/* no room for the inner message: opaque, as Dovecot does */
		set_type(p, "application", "octet-stream");
		p->params_off = p->params_len = 0;
		p->is_message = 0;
	}
	if (p->is_message) {
		size_t c = add_part(m, i, p->body_off,
		    p->body_off + p->body_len, p->depth + 1);

		if (c == MIME_NONE)
			return -1;
		m->parts[i].first_child = c;
	}
	return 1;
}

int
mime_parse(struct mime_msg *m, const char *s, size_t len)
{
	size_t i;

	m->parts = NULL;
	m->n = m->cap = 0;
	if (add_part(m, MIME_NONE, 0, len, 0) == MIME_NONE)
		return -1;
	for (i = 0; i < m->n; i++) {
		if (parse_part(m, i, s) < 0) {
			mime_free(m);
			errno = ENOMEM;
			return -1;
		}
	}
	return 1;
}

/* Part i of m says Content-Transfer-Encoding: binary and is a leaf. */
static int
part_is_binary(const struct mime_msg *m, size_t i, const char *s)
{
	const struct mime_part *p = &m->parts[i];
	const char *v, *tok;
	size_t vlen, toklen;

	return !p->is_multipart && !p->is_message &&
	    mime_header_find(s + p->hdr_off, p->hdr_len,
	    "Content-Transfer-Encoding", &v, &vlen) == 1 &&
	    mime_token(v, vlen, &tok, &toklen) == 1 && toklen == 6 &&
	    strncasecmp(tok, "binary", 6) == 0;
}

static int
cmp_off(const void *a, const void *b)
{
	const struct mime_part *x = *(const struct mime_part *const *)a;
	const struct mime_part *y = *(const struct mime_part *const *)b;

	return x->hdr_off < y->hdr_off ? -1 : x->hdr_off > y->hdr_off;
}

int
mime_binary_to_base64(const char *s, size_t n, struct buf *out)
{
	struct mime_msg m = MIME_MSG_INIT;
	const struct mime_part **bin = NULL;
	struct buf b64 = BUF_INIT;
	size_t i, k = 0, pos = 0;
	int r = -1;

	buf_reset(out);
	if (mime_parse(&m, s, n) < 0)
		return -1;
	if ((bin = calloc(m.n, sizeof *bin)) == NULL)
		goto out;
	for (i = 0; i < m.n; i++)
		if (part_is_binary(&m, i, s))
			bin[k++] = &m.parts[i];
	if (k == 0) {
		r = 0;
		goto out;
	}
	qsort(bin, k, sizeof *bin, cmp_off);
	for (i = 0; i < k; i++) {
		const struct mime_part *p = bin[i];
		const char *hdr = s + p->hdr_off, *name;
		size_t hp = 0, nl, fo, fl, at;

		if (p->hdr_off < pos)
			continue;  /* (inside one done already: cannot be) */
		if (buf_cat(out, s + pos, p->hdr_off - pos) < 0)
			goto out;
		while (mime_header_next(hdr, p->hdr_len, &hp, &name, &nl, &fo,
		    &fl) == 1) {
			if (nl == 25 &&
			    strncasecmp(name, "Content-Transfer-Encoding", 25) == 0)
				continue;
			if (buf_cat(out, hdr + fo, fl) < 0 ||
			    (hdr[fo + fl - 1] != '\n' && buf_cats(out, "\r\n") < 0))
				goto out;
		}
		if (buf_cats(out, "Content-Transfer-Encoding: base64\r\n\r\n") < 0)
			goto out;
		buf_reset(&b64);
		if (b64_encode(s + p->body_off, p->body_len, &b64) < 0)
			goto out;
		for (at = 0; at < b64.len; at += 76) {
			size_t l = b64.len - at < 76 ? b64.len - at : 76;

			if ((at > 0 && buf_cats(out, "\r\n") < 0) ||
			    buf_cat(out, b64.s + at, l) < 0)
				goto out;
		}
		/* a part in a multipart is followed by the CRLF of the next
		 * delimiter; the message's last part by nothing */
		if (p->body_off + p->body_len == n && b64.len > 0 &&
		    buf_cats(out, "\r\n") < 0)
			goto out;
		pos = p->body_off + p->body_len;
	}
	if (buf_cat(out, s + pos, n - pos) < 0)
		goto out;
	r = 1;
out:
	if (r < 0)
		buf_reset(out);
	buf_free(&b64);
	free(bin);
	mime_free(&m);
	return r;
}
