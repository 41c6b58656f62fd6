/*
 * test_mime: lib/mail/mime.c and mime_decode.c: the MIME tree (offsets,
 * types, line counts, limits, broken boundaries, CRLF and LF), the
 * header-field and parameter helpers, RFC 2047 words and the decoded
 * text of a part.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "t.h"

/* s with each LF turned into CRLF, in a buffer of its own (freed by
 * done()) */
static char *bufs[64];
static size_t nbufs;

static char *
crlf(const char *s, size_t *n_r)
{
	size_t n = strlen(s), i, o = 0;
	char *d = malloc(2 * n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			d[o++] = '\r';
		d[o++] = s[i];
	}
	d[o] = '\0';
	*n_r = o;
	if (nbufs < 64)
		bufs[nbufs++] = d;
	return d;
}

#define PART_IS(m, msg, i, text) T_EQ_MEM((msg) + (m).parts[i].body_off, \
	(m).parts[i].body_len, text, strlen(text))
#define HDR_IS(m, msg, i, text) T_EQ_MEM((msg) + (m).parts[i].hdr_off, \
	(m).parts[i].hdr_len, text, strlen(text))

/* the invariants of every tree */
static int
tree_ok(const struct mime_msg *m, size_t len)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct mime_part *p = &m->parts[i];

		if (p->hdr_off + p->hdr_len != p->body_off ||
		    p->body_off + p->body_len > len)
			return 0;
		if (i > 0 && (p->parent == MIME_NONE || p->parent >= m->n))
			return 0;
		if (p->first_child != MIME_NONE &&
		    m->parts[p->first_child].parent != i)
			return 0;
		if (p->next != MIME_NONE && m->parts[p->next].parent != p->parent)
			return 0;
	}
	return m->n > 0 && m->parts[0].parent == MIME_NONE;
}

static void
test_simple(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	size_t n;
	const char *msg = crlf("Subject: hi\n\nline1\nline2\n", &n);

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 1);
	HDR_IS(m, msg, 0, "Subject: hi\r\n\r\n");
	PART_IS(m, msg, 0, "line1\r\nline2\r\n");
	T_EQ_INT(m.parts[0].body_lines, 2);
	T_EQ_STR(m.parts[0].type, "text");
	T_EQ_STR(m.parts[0].subtype, "plain");
	T_CHECK(m.parts[0].ct_default);
	T_CHECK(!m.parts[0].is_multipart && !m.parts[0].is_message);
	T_EQ_INT(m.parts[0].params_len, 0);
	T_CHECK(tree_ok(&m, n));
	mime_free(&m);

	/* a last line without its LF counts */
	msg = crlf("A: b\n\nabc\nde", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.parts[0].body_lines, 2);
	mime_free(&m);

	/* empty */
	T_EQ_INT(mime_parse(&m, "", 0), 1);
	T_EQ_INT(m.n, 1);
	T_EQ_INT(m.parts[0].hdr_len, 0);
	T_EQ_INT(m.parts[0].body_len, 0);
	T_EQ_INT(m.parts[0].body_lines, 0);
	mime_free(&m);

	/* a header and no empty line: all header */
	msg = crlf("Subject: x\nFrom: y", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.parts[0].hdr_len, n);
	T_EQ_INT(m.parts[0].body_len, 0);
	T_EQ_INT(m.parts[0].body_off, n);
	mime_free(&m);

	/* starting with the empty line: that is the header */
	msg = crlf("\nbody\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	HDR_IS(m, msg, 0, "\r\n");
	PART_IS(m, msg, 0, "body\r\n");
	mime_free(&m);

	/* bare LF, and a "line" with CR only inside */
	T_EQ_INT(mime_parse(&m, "A: b\n\nx\ry\n", 10), 1);
	T_EQ_INT(m.parts[0].hdr_len, 6);
	T_EQ_INT(m.parts[0].body_lines, 1);
	mime_free(&m);

	/* content type as written, parameters located */
	msg = crlf("Content-Type: Text/HTML (c) ; charset=\"utf-8\"\n\n<p>\n",
	    &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_STR(m.parts[0].type, "Text");
	T_EQ_STR(m.parts[0].subtype, "HTML");
	T_CHECK(!m.parts[0].ct_default);
	T_EQ_MEM(msg + m.parts[0].params_off, m.parts[0].params_len,
	    "; charset=\"utf-8\"", 17);
	mime_free(&m);

	/* a bad Content-Type is the default */
	msg = crlf("Content-Type: text\n\nx\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_STR(m.parts[0].type, "text");
	T_CHECK(m.parts[0].ct_default);
	mime_free(&m);
}

static const char MIXED[] =
    "From: a@b\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble\n"
    "--XX\n"
    "Content-Type: text/plain\n"
    "\n"
    "part one\n"
    "--XX\n"
    "\n"
    "part two\n"
    "\n"
    "--XX--\n"
    "epilogue\n";

static void
test_multipart(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	size_t n, c1, c2;
	const char *msg = crlf(MIXED, &n);

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_CHECK(tree_ok(&m, n));
	T_EQ_INT(m.n, 3);
	T_CHECK(m.parts[0].is_multipart);
	c1 = mime_child(&m, 0, 1);
	c2 = mime_child(&m, 0, 2);
	T_CHECK(c1 != MIME_NONE && c2 != MIME_NONE);
	T_EQ_INT(mime_child(&m, 0, 3), MIME_NONE);
	T_EQ_INT(mime_child(&m, 0, 0), MIME_NONE);
	HDR_IS(m, msg, c1, "Content-Type: text/plain\r\n\r\n");
	PART_IS(m, msg, c1, "part one");
	T_EQ_INT(m.parts[c1].body_lines, 1);
	T_CHECK(!m.parts[c1].ct_default);
	HDR_IS(m, msg, c2, "\r\n");
	PART_IS(m, msg, c2, "part two\r\n");
	T_EQ_INT(m.parts[c2].body_lines, 1);
	T_CHECK(m.parts[c2].ct_default);
	T_EQ_INT(m.parts[c1].depth, 1);
	T_EQ_INT(m.parts[c1].parent, 0);
	/* the multipart's body is everything after its header */
	T_CHECK(m.parts[0].body_off + m.parts[0].body_len == n);
	mime_free(&m);

	/* the same with bare LFs */
	T_EQ_INT(mime_parse(&m, MIXED, strlen(MIXED)), 1);
	T_EQ_INT(m.n, 3);
	T_EQ_MEM(MIXED + m.parts[1].body_off, m.parts[1].body_len,
	    "part one", 8);
	T_EQ_MEM(MIXED + m.parts[2].body_off, m.parts[2].body_len,
	    "part two\n", 9);
	mime_free(&m);

	/* no final boundary: the last part runs to the end */
	msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n"
	    "--b\n\ntwo\nthree", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 3);
	PART_IS(m, msg, 2, "two\r\nthree");
	mime_free(&m);

	/* no boundary parameter, or no delimiter in the body: no child */
	msg = crlf("Content-Type: multipart/mixed\n\n--b\n\none\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 1);
	T_CHECK(m.parts[0].is_multipart);
	T_EQ_INT(m.parts[0].first_child, MIME_NONE);
	mime_free(&m);
	msg = crlf("Content-Type: multipart/mixed; boundary=zz\n\n--b\n\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 1);
	mime_free(&m);

	/* delimiter with transport padding; "--b--x" or "--bc" is text */
	msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\n"
	    "x\n--bc\n--b--x\n--b-- \ny\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 2);
	PART_IS(m, msg, 1, "x\r\n--bc\r\n--b--x");
	mime_free(&m);

	/* two delimiters in a row: an empty part between */
	msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n"
	    "z\n--b--\n", &n);
	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 3);
	T_EQ_INT(m.parts[1].hdr_len + m.parts[1].body_len, 0);
	PART_IS(m, msg, 2, "z");
	T_CHECK(tree_ok(&m, n));
	mime_free(&m);
}

static const char NESTED[] =
    "Subject: nested\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=abc\n"
    "\n"
    "--abc\n"
    "Content-Type: multipart/alternative; boundary=\"abc-1\"\n"
    "\n"
    "--abc-1\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "plain\n"
    "--abc-1\n"
    "Content-Type: text/html\n"
    "\n"
    "<b>html</b>\n"
    "--abc-1--\n"
    "\n"
    "--abc\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "Content-Type: multipart/mixed; boundary=in\n"
    "\n"
    "--in\n"
    "\n"
    "inner one\n"
    "--in\n"
    "Content-Type: application/pdf; name=x.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0=\n"
    "--in--\n"
    "--abc--\n";

static void
test_nested(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	size_t n, alt, p1, p2, rfc, inner, i1, i2;
	const char *msg = crlf(NESTED, &n);

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_CHECK(tree_ok(&m, n));
	alt = mime_child(&m, 0, 1);
	rfc = mime_child(&m, 0, 2);
	T_EQ_INT(mime_child(&m, 0, 3), MIME_NONE);
	T_CHECK(alt != MIME_NONE && m.parts[alt].is_multipart);
	T_EQ_STR(m.parts[alt].subtype, "alternative");
	p1 = mime_child(&m, alt, 1);
	p2 = mime_child(&m, alt, 2);
	T_CHECK(p1 != MIME_NONE && p2 != MIME_NONE);
	PART_IS(m, msg, p1, "plain");
	PART_IS(m, msg, p2, "<b>html</b>");
	T_EQ_STR(m.parts[p2].subtype, "html");
	T_EQ_INT(m.parts[p2].depth, 2);
	/* the alternative ends before the outer delimiter's CRLF */
	T_EQ_MEM(msg + m.parts[alt].body_off + m.parts[alt].body_len - 11, 11,
	    "--abc-1--\r\n", 11);
	T_CHECK(rfc != MIME_NONE && m.parts[rfc].is_message);
	inner = m.parts[rfc].first_child;
	T_CHECK(inner != MIME_NONE);
	T_EQ_INT(m.parts[inner].parent, rfc);
	T_EQ_INT(m.parts[inner].next, MIME_NONE);
	T_EQ_INT(m.parts[inner].hdr_off, m.parts[rfc].body_off);
	T_EQ_INT(m.parts[inner].hdr_len + m.parts[inner].body_len,
	    m.parts[rfc].body_len);
	T_CHECK(m.parts[inner].is_multipart);
	i1 = mime_child(&m, inner, 1);
	i2 = mime_child(&m, inner, 2);
	PART_IS(m, msg, i1, "inner one");
	PART_IS(m, msg, i2, "JVBERi0=");
	T_EQ_STR(m.parts[i2].type, "application");
	T_EQ_INT(m.parts[i2].depth, 3);
	mime_free(&m);
}

static void
test_digest(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	size_t n, c;
	const char *msg = crlf("Content-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nSubject: one\n\nbody\n--d\nContent-Type: text/plain\n\n"
	    "t\n--d--\n", &n);

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	c = mime_child(&m, 0, 1);
	T_CHECK(m.parts[c].is_message && m.parts[c].ct_default);
	T_EQ_STR(m.parts[c].type, "message");
	T_CHECK(m.parts[c].first_child != MIME_NONE);
	T_CHECK(!m.parts[mime_child(&m, 0, 2)].is_message);
	/* the inner message's own default is text/plain */
	T_EQ_STR(m.parts[m.parts[c].first_child].type, "text");
	mime_free(&m);
}

static void
test_limits(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	struct buf b = BUF_INIT;
	size_t i;

	/* 40 levels of message/rfc822: the 32nd is an opaque leaf */
	for (i = 0; i < 40; i++)
		buf_cats(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_cats(&b, "end\r\n");
	T_EQ_INT(mime_parse(&m, b.s, b.len), 1);
	T_EQ_INT(m.n, MIME_DEPTH_MAX);
	T_EQ_STR(m.parts[m.n - 1].type, "application");
	T_EQ_STR(m.parts[m.n - 1].subtype, "octet-stream");
	T_CHECK(!m.parts[m.n - 1].is_message);
	T_EQ_INT(m.parts[m.n - 1].depth, MIME_DEPTH_MAX - 1);
	T_CHECK(tree_ok(&m, b.len));
	mime_free(&m);

	/* 40 nested multiparts */
	buf_reset(&b);
	for (i = 0; i < 40; i++)
		buf_catf(&b, "Content-Type: multipart/mixed; boundary=b%zu\r\n"
		    "\r\n--b%zu\r\n", i, i);
	buf_cats(&b, "\r\nx\r\n");
	T_EQ_INT(mime_parse(&m, b.s, b.len), 1);
	T_EQ_INT(m.n, MIME_DEPTH_MAX);
	T_CHECK(tree_ok(&m, b.len));
	mime_free(&m);

	/* too many parts: the rest stays in the last one */
	buf_reset(&b);
	buf_cats(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < MIME_PARTS_MAX + 50; i++)
		buf_catf(&b, "--p\r\n\r\n%zu\r\n", i);
	buf_cats(&b, "--p--\r\n");
	T_EQ_INT(mime_parse(&m, b.s, b.len), 1);
	T_EQ_INT(m.n, MIME_PARTS_MAX);
	T_CHECK(tree_ok(&m, b.len));
	T_EQ_INT(m.parts[m.n - 1].body_off + m.parts[m.n - 1].body_len, b.len);
	mime_free(&m);
	buf_free(&b);
}

static void
test_header(void)
{
	size_t n, vlen;
	const char *v, *h = crlf("Subject: a\n  b\nX-Y : z\nBad line\n"
	    "content-type:text/plain\n\nBody: no\n", &n);
	struct buf b = BUF_INIT;

	T_EQ_INT(mime_header_find(h, n, "subject", &v, &vlen), 1);
	T_EQ_MEM(v, vlen, "a\r\n  b", 6);
	T_EQ_INT(mime_header_find(h, n, "X-Y", &v, &vlen), 1);
	T_EQ_MEM(v, vlen, "z", 1);
	T_EQ_INT(mime_header_find(h, n, "Content-Type", &v, &vlen), 1);
	T_EQ_MEM(v, vlen, "text/plain", 10);
	T_EQ_INT(mime_header_find(h, n, "Body", &v, &vlen), 0);
	T_EQ_INT(mime_header_find(h, n, "Bad line", &v, &vlen), 0);
	T_EQ_INT(mime_header_find(h, n, "Subjec", &v, &vlen), 0);
	/* every field of a name in turn (SEARCH HEADER, RFC 9051 6.4.4) */
	{
		const char *r = "Received: one\r\nX: 1\r\nReceived: two\r\n"
		    " folded\r\n\r\nReceived: body\r\n";
		size_t pos = 0;

		T_EQ_INT(mime_header_find_next(r, strlen(r), &pos, "received",
		    &v, &vlen), 1);
		T_EQ_MEM(v, vlen, "one", 3);
		T_EQ_INT(mime_header_find_next(r, strlen(r), &pos, "received",
		    &v, &vlen), 1);
		T_EQ_MEM(v, vlen, "two\r\n folded", 12);
		T_EQ_INT(mime_header_find_next(r, strlen(r), &pos, "received",
		    &v, &vlen), 0);
	}
	/* an empty value, the last line without a line end */
	T_EQ_INT(mime_header_find("A:\r\nB:  x", 9, "A", &v, &vlen), 1);
	T_EQ_INT(vlen, 0);
	T_EQ_INT(mime_header_find("A:\r\nB:  x", 9, "B", &v, &vlen), 1);
	T_EQ_MEM(v, vlen, "x", 1);

	v = "multipart/mixed; (c) boundary = \"a\\\"b\r\n c\" ; Name*0=x;"
	    " empty=; junk ; q=\"unterminated";
	T_EQ_INT(mime_param(v, strlen(v), "BOUNDARY", &b), 1);
	T_EQ_STR(buf_str(&b), "a\"b c");
	T_EQ_INT(mime_param(v, strlen(v), "name*0", &b), 1);
	T_EQ_STR(buf_str(&b), "x");
	T_EQ_INT(mime_param(v, strlen(v), "empty", &b), 1);
	T_EQ_STR(buf_str(&b), "");
	T_EQ_INT(mime_param(v, strlen(v), "q", &b), 1);
	T_EQ_STR(buf_str(&b), "unterminated");
	T_EQ_INT(mime_param(v, strlen(v), "junk", &b), 0);
	T_EQ_INT(mime_param(v, strlen(v), "multipart/mixed", &b), 0);
	T_EQ_INT(mime_param("text/plain", 10, "charset", &b), 0);
	v = "text/plain; a=\"x;y\"; b=(;)2";
	T_EQ_INT(mime_param(v, strlen(v), "b", &b), 1);
	T_EQ_STR(buf_str(&b), "2");
	buf_free(&b);
}

static void
decode_is(const char *in, const char *want, int line)
{
	struct buf b = BUF_INIT;

	if (mime_header_decode(in, strlen(in), &b) != 1 ||
	    strcmp(buf_str(&b), want) != 0)
		printf("FAIL line %d: decode \"%s\" -> \"%s\"\n", line, in,
		    buf_str(&b));
	T_EQ_STR(buf_str(&b), want);
	buf_free(&b);
}

static void
test_decode(void)
{
	decode_is("plain  text", "plain  text", __LINE__);
	decode_is("=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9", __LINE__);
	decode_is("=?UTF-8?Q?a_b?= =?utf-8?q?c?=", "a bc", __LINE__);
	decode_is("=?ISO-8859-1?B?SvZyZw==?= x", "J\xc3\xb6rg x", __LINE__);
	decode_is("x =?iso-8859-1?q?=E9?=\r\n =?iso-8859-1?q?=E9?= y",
	    "x \xc3\xa9\xc3\xa9 y", __LINE__);
	decode_is("=?x-no-such-charset?q?a?=", "=?x-no-such-charset?q?a?=",
	    __LINE__);
	decode_is("=?utf-8*en?q?x?=", "x", __LINE__);
	decode_is("=?utf-8?x?y?=", "=?utf-8?x?y?=", __LINE__);
	decode_is("=?utf-8?q?un terminated", "=?utf-8?q?un terminated",
	    __LINE__);
	decode_is("=?", "=?", __LINE__);
	decode_is("a=?utf-8?q?b?=c", "abc", __LINE__);
	decode_is("bad \xff byte", "bad \xef\xbf\xbd byte", __LINE__);
	decode_is("=?utf-8?b?/w==?=", "\xef\xbf\xbd", __LINE__);
	decode_is("a\r\n\tb", "a\tb", __LINE__);
	decode_is("", "", __LINE__);
	decode_is("=?utf-8?B?w6k?=", "\xc3\xa9", __LINE__);  /* no padding */
}

static void
test_text(void)
{
	struct mime_msg m = MIME_MSG_INIT;
	struct buf b = BUF_INIT;
	size_t n;
	const char *msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n"
	    "caf=E9 long=\nline=3D =zz=\n"
	    "--b\nContent-Type: text/plain; charset=\"UTF-8\"\n"
	    "Content-Transfer-Encoding: BASE64\n\nw6kg\nZXQ=\n"
	    "--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n"
	    "\niVBO\n"
	    "--b\n\nraw \xe9\n--b--\n", &n);

	T_EQ_INT(mime_parse(&m, msg, n), 1);
	T_EQ_INT(m.n, 5);
	T_EQ_INT(mime_part_text(&m, 0, msg, n, &b), 1);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(mime_part_text(&m, 1, msg, n, &b), 1);
	T_EQ_STR(buf_str(&b), "caf\xc3\xa9 longline= =zz");
	buf_reset(&b);
	T_EQ_INT(mime_part_text(&m, 2, msg, n, &b), 1);
	T_EQ_STR(buf_str(&b), "\xc3\xa9 et");
	buf_reset(&b);
	T_EQ_INT(mime_part_text(&m, 3, msg, n, &b), 1);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(mime_part_text(&m, 4, msg, n, &b), 1);
	T_EQ_STR(buf_str(&b), "raw \xef\xbf\xbd");
	T_EQ_INT(mime_part_text(&m, 99, msg, n, &b), 1);
	/* the transfer decoding alone (BINARY): no charset conversion */
	T_EQ_INT(mime_part_decode(&m, 1, msg, n, &b), 1);
	T_EQ_STR(buf_str(&b), "caf\xe9 longline= =zz");
	T_EQ_INT(mime_part_decode(&m, 3, msg, n, &b), 1);
	T_EQ_MEM(b.s, b.len, "\x89PN", 3);
	T_EQ_INT(mime_part_decode(&m, 4, msg, n, &b), 1);
	T_EQ_STR(buf_str(&b), "raw \xe9");
	T_EQ_INT(mime_part_decode(&m, 0, msg, n, &b), 1);
	T_EQ_INT(b.len, m.parts[0].body_len);
	mime_free(&m);
	{
		/* RFC 2045 6.7 rule 3: trailing white space is padding */
		const char *q = crlf("Content-Transfer-Encoding: "
		    "quoted-printable\n\nab  \ncd=  \n ef\t\n=41\n", &n);

		T_EQ_INT(mime_parse(&m, q, n), 1);
		T_EQ_INT(mime_part_decode(&m, 0, q, n, &b), 1);
		T_EQ_STR(buf_str(&b), "ab\r\ncd ef\r\nA\r\n");
		mime_free(&m);
	}
	{
		const char *u = crlf("Content-Transfer-Encoding: x-uuencode\n\n"
		    "begin\n", &n);

		T_EQ_INT(mime_parse(&m, u, n), 1);
		T_EQ_INT(mime_part_decode(&m, 0, u, n, &b), 0);
		T_EQ_INT(b.len, 0);
		mime_free(&m);
	}
	buf_reset(&b);
	T_EQ_INT(mime_charset_utf8("windows-1252", "\x80", 1, &b), 1);
	T_EQ_STR(buf_str(&b), "\xe2\x82\xac");
	T_EQ_INT(mime_charset_utf8("no such/charset", "x", 1, &b), 0);
	buf_free(&b);
}

/* mime_binary_to_base64: binary leaf parts become base64 (the CTE field
 * replaced, the other fields and parts kept), nothing else changes. */
static void
test_binary(void)
{
	struct buf out = BUF_INIT;
	static const char multi[] =
	    "Subject: x\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
	    "--q\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--q\r\nContent-Type: application/x\r\n"
	    "Content-Transfer-Encoding:  Binary \r\nX-After: 1\r\n\r\n"
	    "\0a\nb\r\n--q--\r\n";
	static const char single[] =
	    "Subject: y\nContent-Transfer-Encoding: binary\n\n\r\r\0";
	static const char none[] =
	    "Subject: z\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe4\r\n";

	T_EQ_INT(mime_binary_to_base64(multi, sizeof multi - 1, &out), 1);
	/* "\0a\nb" is AGEKYg== */
	T_EQ_STR(buf_str(&out),
	    "Subject: x\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
	    "--q\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--q\r\nContent-Type: application/x\r\nX-After: 1\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAGEKYg==\r\n--q--\r\n");
	T_EQ_INT(mime_binary_to_base64(single, sizeof single - 1, &out), 1);
	T_EQ_STR(buf_str(&out), "Subject: y\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nDQ0A\r\n");
	T_EQ_INT(mime_binary_to_base64(none, sizeof none - 1, &out), 0);
	T_EQ_INT(out.len, 0);
	buf_free(&out);
}

int
main(void)
{
	size_t i;

	test_simple();
	test_multipart();
	test_nested();
	test_digest();
	test_limits();
	test_header();
	test_decode();
	test_text();
	test_binary();
	for (i = 0; i < nbufs; i++)
		free(bufs[i]);
	T_DONE();
}
