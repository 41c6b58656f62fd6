/*
 * mime_decode: RFC 2047 encoded words, the transfer encodings
 * (quoted-printable RFC 2045 6.7, base64 6.8) and charsets to UTF-8 with
 * iconv(3), for lib/mail/mime.h.
 *
 * All input is hostile: decoders are lenient in what they read (a bad
 * "=" escape stays as it is, base64 skips characters outside its
 * alphabet and needs no padding) and strict in what they give: the
 * result is always valid UTF-8, with U+FFFD for bytes that are not.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "mail/mime.h"

#define CHARSET_NAME_MAX 64  /* longer charset names are unknown */

static const char REPL[] = "\xef\xbf\xbd";  /* U+FFFD */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Length of the UTF-8 sequence at p[0..n) (RFC 3629), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, past U+10FFFF */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* Append p[0..n) with each byte that is not UTF-8 as U+FFFD. */
static int
cat_utf8(struct buf *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = i, l;

		while (run < n && (l = utf8_seq((const unsigned char *)p + run,
		    n - run)) > 0)
			run += l;
		if (buf_cat(out, p + i, run - i) < 0)
			return -1;
		i = run;
		if (i < n) {
			if (buf_cat(out, REPL, 3) < 0)
				return -1;
			i++;
		}
	}
	return 1;
}

static int
is_utf8_name(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	    strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

int
mime_charset_utf8(const char *cs, const char *p, size_t n, struct buf *out)
{
	char tmp[1024], name[CHARSET_NAME_MAX];
	size_t i, csl = strlen(cs);
	iconv_t cd;
	char *in = (char *)(uintptr_t)p;
	size_t inleft = n;

	/* us-ascii with 8-bit bytes is most often UTF-8 in fact */
	if (is_utf8_name(cs))
		return cat_utf8(out, p, n);
	if (csl == 0 || csl >= sizeof name)
		return 0;
	for (i = 0; i < csl; i++) {
		unsigned char c = (unsigned char)cs[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.:+()", c) != NULL))
			return 0;
		name[i] = (char)c;
	}
	name[csl] = '\0';
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return 0;
	for (;;) {
		char *o = tmp;
		size_t oleft = sizeof tmp, r;
		int e;

		r = iconv(cd, inleft ? &in : NULL, inleft ? &inleft : NULL, &o,
		    &oleft);
		e = errno;
		if (buf_cat(out, tmp, sizeof tmp - oleft) < 0) {
			iconv_close(cd);
			return -1;
		}
		if (r != (size_t)-1) {
			if (inleft == 0 && o == tmp)
				break;  /* flushed */
			continue;
		}
		if (e == E2BIG)
			continue;
		/* EILSEQ, EINVAL (cut short at the end): one byte is U+FFFD */
		if (buf_cat(out, REPL, 3) < 0) {
			iconv_close(cd);
			return -1;
		}
		if (inleft == 0)
			break;
		in++;
		inleft--;
	}
	iconv_close(cd);
	return 1;
}

/* Quoted-printable (RFC 2045 6.7) p[0..n) appended to out, a line at a
 * time: white space at the end of a line is transport padding and goes
 * (rule 3), "=" at the end is a soft line break (rule 5), a line break
 * stays as it was written (CRLF or LF); a bad escape stays as it is. */
static int
qp_decode(const char *p, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n, e = end, j;
		int soft = 0, crlf = 0;

		if (e > i && p[e - 1] == '\r') {
			e--;
			crlf = 1;
		}
		while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e > i && p[e - 1] == '=') {
			e--;
			soft = 1;
		}
		for (j = i; j < e;) {
			const char *eq = memchr(p + j, '=', e - j);
			size_t run = eq ? (size_t)(eq - (p + j)) : e - j;
			int h, l;

			if (buf_cat(out, p + j, run) < 0)
				return -1;
			j += run;
			if (j >= e)
				break;
			if (j + 2 < e &&
			    (h = hexval((unsigned char)p[j + 1])) >= 0 &&
			    (l = hexval((unsigned char)p[j + 2])) >= 0) {
				if (buf_catc(out, (char)(h * 16 + l)) < 0)
					return -1;
				j += 3;
				continue;
			}
			if (buf_catc(out, '=') < 0)
				return -1;
			j++;
		}
		if (nl != NULL && !soft &&
		    buf_cat(out, crlf ? "\r\n" : "\n", crlf ? 2 : 1) < 0)
			return -1;
		i = nl ? end + 1 : n;
	}
	return 1;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Lenient base64 (RFC 2045 6.8: characters outside the alphabet are
 * ignored); stops at the first "=". */
static int
b64_lenient(const char *p, size_t n, struct buf *out)
{
	unsigned long acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n && p[i] != '='; i++) {
		int v = b64val((unsigned char)p[i]);

		if (v < 0)
			continue;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_catc(out, (char)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 1;
}

/* One encoded word "=?cs?e?text?=" at v[p..n): 1 with its end in *end_r
 * and its decoded UTF-8 appended to out; 0 not a decodable word. */
static int
encoded_word(const char *v, size_t n, size_t p, size_t *end_r,
    struct buf *out)
{
	size_t cs, q1, q2, t, e, i;
	char name[CHARSET_NAME_MAX];
	struct buf raw = BUF_INIT;
	char *star;
	int rc;

	if (p + 2 > n || v[p] != '=' || v[p + 1] != '?')
		return 0;
	cs = p + 2;
	for (q1 = cs; q1 < n && v[q1] != '?' && v[q1] > ' ' &&
	    (unsigned char)v[q1] < 127; q1++)
		;
	if (q1 + 2 >= n || v[q1] != '?' || q1 == cs ||
	    q1 - cs >= sizeof name || v[q1 + 2] != '?')
		return 0;
	q2 = q1 + 2;
	for (e = q2 + 1; e + 1 < n; e++) {
		if (v[e] == '?' && v[e + 1] == '=')
			break;
		if (v[e] == ' ' || v[e] == '\t' || v[e] == '\r' ||
		    v[e] == '\n')
			return 0;
	}
	if (e + 1 >= n)
		return 0;
	memcpy(name, v + cs, q1 - cs);
	name[q1 - cs] = '\0';
	if ((star = strchr(name, '*')) != NULL)
		*star = '\0';  /* RFC 2231 5: charset*language */
	t = q2 + 1;
	switch (v[q1 + 1]) {
	case 'B': case 'b':
		rc = b64_lenient(v + t, e - t, &raw);
		break;
	case 'Q': case 'q':
		rc = 1;
		for (i = t; i < e && rc > 0; i++) {
			int h, l;

			if (v[i] == '_')
				rc = buf_catc(&raw, ' ');
			else if (v[i] == '=' && i + 2 < e &&
			    (h = hexval((unsigned char)v[i + 1])) >= 0 &&
			    (l = hexval((unsigned char)v[i + 2])) >= 0) {
				rc = buf_catc(&raw, (char)(h * 16 + l));
				i += 2;
			} else
				rc = buf_catc(&raw, v[i]);
		}
		break;
	default:
		return 0;
	}
	if (rc > 0)
		rc = mime_charset_utf8(name, raw.s ? raw.s : "", raw.len, out);
	buf_free(&raw);
	if (rc > 0)
		*end_r = e + 2;
	return rc;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

int
mime_header_decode(const char *v, size_t vlen, struct buf *out)
{
	struct buf u = BUF_INIT;
	size_t i, p = 0, ws = 0, wslen = 0;
	int rc = 1, after_word = 0;

	buf_reset(out);
	if (buf_cat(out, "", 0) < 0)
		return -1;
	/* unfold (RFC 5322 2.2.3): line ends go, the WSP stays */
	for (i = 0; i < vlen; i++)
		if (v[i] != '\r' && v[i] != '\n' && buf_catc(&u, v[i]) < 0) {
			buf_free(&u);
			return -1;
		}
	while (p < u.len && rc > 0) {
		size_t end, q;

		if (is_ws(u.s[p])) {
			/* held back: it goes if an encoded word follows one */
			for (ws = p; p < u.len && is_ws(u.s[p]); p++)
				;
			wslen = p - ws;
			continue;
		}
		if (u.s[p] == '=' && p + 1 < u.len && u.s[p + 1] == '?') {
			size_t mark = out->len;

			if (!after_word && wslen > 0 &&
			    buf_cat(out, u.s + ws, wslen) < 0) {
				rc = -1;
				break;
			}
			rc = encoded_word(u.s, u.len, p, &end, out);
			if (rc == 1) {
				/* RFC 2047 6.2: white space between two
				 * encoded words is dropped */
				wslen = 0;
				after_word = 1;
				p = end;
				continue;
			}
			if (rc < 0)
				break;
			buf_truncate(out, mark);
			rc = 1;
		}
		/* plain text up to white space or the next "=?" */
		for (q = p + 1; q < u.len && !is_ws(u.s[q]) &&
		    !(u.s[q] == '=' && q + 1 < u.len && u.s[q + 1] == '?'); q++)
			;
		if (wslen > 0)
			rc = cat_utf8(out, u.s + ws, wslen);
		if (rc > 0)
			rc = cat_utf8(out, u.s + p, q - p);
		wslen = 0;
		after_word = 0;
		p = q;
	}
	if (rc > 0 && wslen > 0)
		rc = cat_utf8(out, u.s + ws, wslen);
	buf_free(&u);
	return rc < 0 ? -1 : 1;
}

int
mime_part_text(const struct mime_msg *m, size_t i, const char *s,
    size_t len, struct buf *out)
{
	const struct mime_part *p;
	struct buf dec = BUF_INIT, cs = BUF_INIT;
	const char *v, *body;
	size_t vlen, blen;
	int rc = 1;

	if (i >= m->n)
		return 1;
	p = &m->parts[i];
	if (p->is_multipart || p->is_message ||
	    strcasecmp(p->type, "text") != 0 ||
	    p->body_off + p->body_len > len)
		return 1;
	body = s + p->body_off;
	blen = p->body_len;
	if (mime_header_find(s + p->hdr_off, p->hdr_len,
	    "Content-Transfer-Encoding", &v, &vlen) == 1 &&
	    mime_token(v, vlen, &v, &vlen) == 1) {
		if (vlen == 16 && strncasecmp(v, "quoted-printable", 16) == 0)
			rc = qp_decode(body, blen, &dec);
		else if (vlen == 6 && strncasecmp(v, "base64", 6) == 0)
			rc = b64_lenient(body, blen, &dec);
		else
			rc = buf_cat(&dec, body, blen);
	} else
		rc = buf_cat(&dec, body, blen);
	if (rc > 0 && p->params_len > 0)
		rc = mime_param(s + p->params_off, p->params_len, "charset",
		    &cs);
	if (rc >= 0) {
		const char *name = cs.len > 0 && strlen(buf_str(&cs)) == cs.len
		    ? buf_str(&cs) : "us-ascii";

		rc = mime_charset_utf8(name, buf_str(&dec), dec.len, out);
		if (rc == 0)
			rc = cat_utf8(out, buf_str(&dec), dec.len);
	}
	buf_free(&dec);
	buf_free(&cs);
	return rc < 0 ? -1 : 1;
}

int
mime_part_decode(const struct mime_msg *m, size_t i, const char *s,
    size_t len, struct buf *out)
{
	const struct mime_part *p;
	const char *v, *body;
	size_t vlen, blen;

	buf_reset(out);
	if (i >= m->n)
		return 1;
	p = &m->parts[i];
	if (p->body_off + p->body_len > len)
		return 1;
	body = s + p->body_off;
	blen = p->body_len;
	if (mime_header_find(s + p->hdr_off, p->hdr_len,
	    "Content-Transfer-Encoding", &v, &vlen) != 1 ||
	    mime_token(v, vlen, &v, &vlen) != 1)
		return buf_cat(out, body, blen) < 0 ? -1 : 1;
	/* RFC 2045 6.4: multiparts and messages are 7bit, 8bit or binary */
	if (!p->is_multipart && !p->is_message) {
		if (vlen == 16 && strncasecmp(v, "quoted-printable", 16) == 0)
			return qp_decode(body, blen, out);
		if (vlen == 6 && strncasecmp(v, "base64", 6) == 0)
			return b64_lenient(body, blen, out);
	}
	if ((vlen == 4 && strncasecmp(v, "7bit", 4) == 0) ||
	    (vlen == 4 && strncasecmp(v, "8bit", 4) == 0) ||
	    (vlen == 6 && strncasecmp(v, "binary", 6) == 0))
		return buf_cat(out, body, blen) < 0 ? -1 : 1;
	return 0;
}
