/*
 * fuzz_mime: lib/mail/mime.c, mime_decode.c, addrlist.c and
 * lib/imap/msgfmt*.c on an arbitrary message.  The input is parsed with
 * mime_parse; the tree's invariants are checked (offsets inside the
 * input, hdr_off + hdr_len == body_off, children inside their parent,
 * every part reached once from parts[0] through first_child/next);
 * BODY and BODYSTRUCTURE of the message, ENVELOPE and the decoded text
 * of the first parts, and a few BODY[section] fetches (fixed ones and
 * one spec taken from the input's first line) are built, and each
 * response item must have balanced parentheses outside its strings.
 * abort() on any violation, so the plain driver sees it too.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "imap/msgfmt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define PARTS_CHECKED 64  /* per-part work is done for the first ones */

static void
check_tree(const struct mime_msg *m, size_t len)
{
	size_t i, reached = 0;

	if (m->n == 0 || m->n > MIME_PARTS_MAX || m->parts[0].parent != MIME_NONE)
		abort();
	for (i = 0; i < m->n; i++) {
		const struct mime_part *p = &m->parts[i];
		size_t c, start = p->hdr_off, end = p->body_off + p->body_len;

		if (p->hdr_off + p->hdr_len != p->body_off || end > len ||
		    end < start || p->depth >= MIME_DEPTH_MAX)
			abort();
		if (i > 0 && p->parent >= i)
			abort();  /* parents come first in the array */
		if (p->first_child != MIME_NONE && !p->is_multipart &&
		    !p->is_message)
			abort();
		for (c = p->first_child; c != MIME_NONE; c = m->parts[c].next) {
			const struct mime_part *q;

			if (c >= m->n || c <= i)
				abort();
			q = &m->parts[c];
			if (q->parent != i || q->depth != p->depth + 1 ||
			    q->hdr_off < p->body_off ||
			    q->body_off + q->body_len > end)
				abort();
			if (++reached > m->n)
				abort();
		}
	}
	if (reached != m->n - 1)
		abort();
}

/* Parentheses balanced outside quoted strings and literals. */
static void
check_balance(const struct buf *b)
{
	size_t i = 0, depth = 0;

	if (b->len == 0 || b->s[0] != '(')
		abort();
	while (i < b->len) {
		char c = b->s[i++];

		if (c == '"') {
			while (i < b->len && b->s[i] != '"') {
				if (b->s[i] == '\\')
					i++;
				if (i < b->len && (b->s[i] == '\r' ||
				    b->s[i] == '\n'))
					abort();
				i++;
			}
			if (i >= b->len)
				abort();
			i++;
		} else if (c == '{') {
			size_t n = 0;

			while (i < b->len && b->s[i] >= '0' && b->s[i] <= '9')
				n = n * 10 + (size_t)(b->s[i++] - '0');
			if (b->len - i < 3 || b->s[i] != '}' ||
			    b->s[i + 1] != '\r' || b->s[i + 2] != '\n' ||
			    n > b->len - i - 3)
				abort();
			i += 3 + n;
		} else if (c == '(')
			depth++;
		else if (c == ')') {
			if (depth == 0)
				abort();
			depth--;
		}
	}
	if (depth != 0)
		abort();
}

static void
fetch(const char *msg, size_t len, const struct mime_msg *m,
    const char *spec, size_t specn, struct buf *out)
{
	struct imap_section sec = IMAP_SECTION_INIT;
	const char *p;
	size_t used, n;
	int rc = imap_section_parse(spec, specn, &sec, &used);

	if (rc < 0)
		abort();
	if (rc == 1) {
		if (used > specn || sec.speclen >= used ||
		    sec.npart > MIME_DEPTH_MAX)
			abort();
		buf_reset(out);
		if (imap_section_name(out, &sec) != 1)
			abort();
		if (imap_section_get(msg, len, m, &sec, out, &p, &n) != 1)
			abort();
		if (n > 0 && !(p >= msg && p + n <= msg + len) &&
		    !(p == out->s && n == out->len))
			abort();
	}
	imap_section_free(&sec);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const specs[] = { "]", "HEADER]", "TEXT]", "1]",
	    "1.MIME]", "1.2]", "2.HEADER]", "1.1.TEXT]", "2.1.2]<1.5>",
	    "HEADER.FIELDS (From Subject)]",
	    "1.HEADER.FIELDS.NOT (Content-Type)]" };
	const char *msg = (const char *)data;
	struct mime_msg m = MIME_MSG_INIT;
	struct buf out = BUF_INIT;
	const char *nl;
	int r;
	size_t i;

	if (mime_parse(&m, msg, size) != 1)
		abort();
	check_tree(&m, size);
	for (i = 0; i < 2; i++) {
		buf_reset(&out);
		if (imap_bodystructure(&out, msg, size, &m, 0, (int)i,
		    (int)i) != 1)
			abort();
		check_balance(&out);
	}
	for (i = 0; i < m.n && i < PARTS_CHECKED; i++) {
		const struct mime_part *p = &m.parts[i];
		const char *v;
		size_t vlen;

		buf_reset(&out);
		if (imap_envelope(&out, msg, size, &m, i, (int)(i & 1)) != 1)
			abort();
		check_balance(&out);
		buf_reset(&out);
		if (mime_part_text(&m, i, msg, size, &out) != 1)
			abort();
		/* BINARY: decoding never grows past the part's body */
		r = mime_part_decode(&m, i, msg, size, &out);
		if (r < 0 || (r == 0 && out.len != 0) ||
		    out.len > p->body_len)
			abort();
		if (mime_header_find(msg + p->hdr_off, p->hdr_len, "Subject",
		    &v, &vlen) == 1) {
			if (v < msg + p->hdr_off ||
			    v + vlen > msg + p->hdr_off + p->hdr_len)
				abort();
			if (mime_header_decode(v, vlen, &out) != 1)
				abort();
		}
	}
	for (i = 0; i < sizeof specs / sizeof specs[0]; i++)
		fetch(msg, size, &m, specs[i], strlen(specs[i]), &out);
	/* the input's first line as a section spec */
	nl = memchr(msg, '\n', size < 256 ? size : 256);
	fetch(msg, size, &m, msg, nl ? (size_t)(nl - msg) : (size < 256 ?
	    size : 256), &out);
	/* APPEND of a literal8: binary parts to base64; once converted,
	 * nothing binary is left */
	r = mime_binary_to_base64(msg, size, &out);
	if (r < 0 || (r == 0 && out.len != 0))
		abort();
	if (r == 1) {
		struct buf again = BUF_INIT;

		if (mime_binary_to_base64(out.s, out.len, &again) != 0)
			abort();
		buf_free(&again);
	}
	buf_free(&out);
	mime_free(&m);
	return 0;
}
