/*
 * mime_hdr: header fields, structured values and their parameters
 * (RFC 2045 5.1, RFC 5322 2.2 and 3.2.2) for lib/mail/mime.h.  Every
 * loop ends at the value's length; comments nest without recursion.
 */
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "mail/mime_int.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 5.1 token: CHAR but not SPACE, CTLs or tspecials */
int
mime_is_token(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
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

/* Skip white space, line ends and (nested (comments)) in v[*pos..n). */
void
mime_skip_cfws(const char *v, size_t n, size_t *pos)
{
	size_t p = *pos, depth = 0;

	while (p < n) {
		char c = v[p];

		if (depth > 0) {
			if (c == '\\')
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(')
			depth++;
		else if (!is_wsp(c) && c != '\r' && c != '\n')
			break;
		p++;
	}
	*pos = p > n ? n : p;
}

/* Move *pos past the next ';' outside quoted strings and comments. */
static void
skip_to_semi(const char *v, size_t n, size_t *pos)
{
	size_t p = *pos;

	while (p < n) {
		if (v[p] == ';') {
			p++;
			break;
		}
		if (v[p] == '(') {
			mime_skip_cfws(v, n, &p);
			continue;
		}
		if (v[p] == '"') {
			for (p++; p < n && v[p] != '"'; p++)
				if (v[p] == '\\')
					p++;
		}
		p++;
	}
	*pos = p > n ? n : p;
}

int
mime_token(const char *v, size_t vlen, const char **tok_r, size_t *toklen_r)
{
	size_t p = 0, t;

	mime_skip_cfws(v, vlen, &p);
	for (t = p; t < vlen && mime_is_token((unsigned char)v[t]); t++)
		;
	if (t == p)
		return 0;
	*tok_r = v + p;
	*toklen_r = t - p;
	return 1;
}

int
mime_param_next(const char *v, size_t vlen, size_t *pos, struct buf *name,
    struct buf *value)
{
	size_t p = *pos, t;

	if (p == 0)
		skip_to_semi(v, vlen, &p);
	buf_reset(name);
	buf_reset(value);
	for (;;) {
		mime_skip_cfws(v, vlen, &p);
		if (p >= vlen) {
			*pos = vlen;
			return 0;
		}
		if (v[p] == ';') {
			p++;
			continue;
		}
		for (t = p; t < vlen && mime_is_token((unsigned char)v[t]); t++)
			;
		if (t == p) {
			skip_to_semi(v, vlen, &p);
			continue;
		}
		if (buf_cat(name, v + p, t - p) < 0)
			return -1;
		p = t;
		mime_skip_cfws(v, vlen, &p);
		if (p >= vlen || v[p] != '=') {
			buf_reset(name);
			skip_to_semi(v, vlen, &p);
			continue;
		}
		p++;
		mime_skip_cfws(v, vlen, &p);
		if (p < vlen && v[p] == '"') {
			/* quoted-string (RFC 5322 3.2.4): escapes undone,
			 * folds removed */
			for (p++; p < vlen && v[p] != '"'; p++) {
				if (v[p] == '\\' && p + 1 < vlen)
					p++;
				else if (v[p] == '\r' || v[p] == '\n')
					continue;
				if (buf_catc(value, v[p]) < 0)
					return -1;
			}
			if (p < vlen)
				p++;
		} else {
			for (t = p; t < vlen && mime_is_token((unsigned char)v[t]);
			    t++)
				;
			if (buf_cat(value, v + p, t - p) < 0)
				return -1;
			p = t;
		}
		if (value->s == NULL && buf_cat(value, "", 0) < 0)
			return -1;
		*pos = p;
		return 1;
	}
}

int
mime_param(const char *v, size_t vlen, const char *name, struct buf *out)
{
	struct buf n = BUF_INIT;
	size_t pos = 0;
	int rc;

	while ((rc = mime_param_next(v, vlen, &pos, &n, out)) == 1) {
		if (strcasecmp(buf_str(&n), name) == 0 &&
		    strlen(buf_str(&n)) == n.len)
			break;
	}
	buf_free(&n);
	if (rc == 0)
		buf_reset(out);
	return rc;
}

int
mime_header_next(const char *hdr, size_t hlen, size_t *pos,
    const char **name_r, size_t *namelen_r, size_t *foff_r, size_t *flen_r)
{
	size_t p = *pos;

	while (p < hlen) {
		size_t ls = p, ll = line_len(hdr, hlen, p);
		size_t cl = content_len(hdr, p, ll), i, nl;
		const char *colon;

		if (cl == 0)
			break;
		p += ll;
		if (is_wsp(hdr[ls]))
			continue;  /* a stray continuation line */
		colon = memchr(hdr + ls, ':', cl);
		if (colon == NULL)
			continue;
		nl = (size_t)(colon - (hdr + ls));
		while (nl > 0 && is_wsp(hdr[ls + nl - 1]))
			nl--;  /* RFC 5322 4.5.8: WSP before the colon */
		for (i = 0; i < nl; i++) {
			unsigned char c = (unsigned char)hdr[ls + i];

			if (c < 33 || c > 126)
				break;
		}
		if (nl == 0 || i < nl)
			continue;
		while (p < hlen && is_wsp(hdr[p]))
			p += line_len(hdr, hlen, p);
		*name_r = hdr + ls;
		*namelen_r = nl;
		*foff_r = ls;
		*flen_r = p - ls;
		*pos = p;
		return 1;
	}
	*pos = p;
	return 0;
}

int
mime_header_find(const char *hdr, size_t hlen, const char *name,
    const char **v_r, size_t *vlen_r)
{
	size_t pos = 0;

	return mime_header_find_next(hdr, hlen, &pos, name, v_r, vlen_r);
}

int
mime_header_find_next(const char *hdr, size_t hlen, size_t *pos,
    const char *name, const char **v_r, size_t *vlen_r)
{
	size_t nlen = strlen(name), foff, flen, p, e;
	const char *fname;

	for (;;) {
		size_t namelen;

		if (mime_header_next(hdr, hlen, pos, &fname, &namelen, &foff,
		    &flen) != 1)
			return 0;
		if (namelen != nlen || strncasecmp(fname, name, nlen) != 0)
			continue;
		p = (size_t)(fname - hdr) + namelen;
		while (hdr[p] != ':')
			p++;
		p++;
		e = foff + flen;
		e = foff + content_len(hdr, foff, e - foff);
		while (p < e && (is_wsp(hdr[p]) || hdr[p] == '\r' ||
		    hdr[p] == '\n'))
			p++;
		*v_r = hdr + p;
		*vlen_r = e - p;
		return 1;
	}
}

