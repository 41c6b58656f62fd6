/*
 * msgfmt: ENVELOPE, BODY and BODYSTRUCTURE (lib/imap/msgfmt.h; the
 * section specs are in msgfmt_section.c).
 *
 * Everything is read from the tree built by mime_parse and the header
 * bytes it points at; nothing is cached.  BODYSTRUCTURE recurses along
 * the tree, whose depth mime_parse bounds by MIME_DEPTH_MAX (checked
 * again here so that a bad tree cannot recurse for ever).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "mail/mime.h"
#include "mail/addrlist.h"
#include "imap/istr.h"
#include "imap/msgfmt.h"

#define CAT(lit) buf_cat(out, (lit), sizeof (lit) - 1)  /* lit: a literal */

/* s[0..n) unfolded (line ends removed) without trailing white space,
 * as a string. */
static int
put_unfolded(struct buf *out, const char *s, size_t n, int utf8)
{
	struct buf t = BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && buf_catc(&t, s[i]) < 0) {
			buf_free(&t);
			return -1;
		}
	while (t.len > 0 && (t.s[t.len - 1] == ' ' || t.s[t.len - 1] == '\t'))
		t.len--;
	rc = imap_put_string(out, t.s ? t.s : "", t.len, utf8);
	buf_free(&t);
	return rc;
}

/* The first field called name, unfolded, or NIL. */
static int
put_field(struct buf *out, const char *hdr, size_t hlen, const char *name,
    int utf8)
{
	const char *v;
	size_t vlen;

	if (mime_header_find(hdr, hlen, name, &v, &vlen) != 1)
		return CAT("NIL");
	return put_unfolded(out, v, vlen, utf8);
}

static int
put_nstr_buf(struct buf *out, int has, const struct buf *b, int utf8)
{
	if (!has)
		return CAT("NIL");
	return imap_put_string(out, b->s ? b->s : "", b->len, utf8);
}

static int
put_item(struct buf *out, const struct addrlist_item *it, int utf8)
{
	if (it->kind == ADDRLIST_GROUP_END)
		return CAT("(NIL NIL NIL NIL)");
	if (it->kind == ADDRLIST_GROUP) {
		if (CAT("(NIL NIL ") < 0 ||
		    imap_put_string(out, buf_str(&it->name), it->name.len,
		    utf8) < 0)
			return -1;
		return CAT(" NIL)");
	}
	if (CAT("(") < 0 || put_nstr_buf(out, it->has_name, &it->name, utf8) < 0 ||
	    CAT(" ") < 0 ||
	    put_nstr_buf(out, it->has_route, &it->route, utf8) < 0 ||
	    CAT(" ") < 0)
		return -1;
	if (it->local.len > 0) {
		if (imap_put_string(out, it->local.s, it->local.len, utf8) < 0)
			return -1;
	} else if (CAT("\"MISSING_MAILBOX\"") < 0)
		return -1;
	if (CAT(" ") < 0)
		return -1;
	if (it->domain.len > 0) {
		if (imap_put_string(out, it->domain.s, it->domain.len, utf8) <
		    0)
			return -1;
	} else if (CAT("\"MISSING_DOMAIN\"") < 0)
		return -1;
	return CAT(")");
}

/* All fields called name as one address list, "(...)" appended to out;
 * the number of items (0: nothing appended), or -1. */
static int
put_addrs(struct buf *out, const char *hdr, size_t hlen, const char *name,
    int utf8)
{
	struct addrlist_item it = ADDRLIST_ITEM_INIT;
	size_t pos = 0, namelen, foff, flen, nlen = strlen(name);
	const char *fname;
	int count = 0, rc = 1;

	while (rc > 0 && mime_header_next(hdr, hlen, &pos, &fname, &namelen,
	    &foff, &flen) == 1) {
		struct addrlist a;
		size_t v;

		if (namelen != nlen || strncasecmp(fname, name, nlen) != 0)
			continue;
		v = (size_t)(fname - hdr) + namelen;
		while (hdr[v] != ':')
			v++;
		v++;
		addrlist_init(&a, hdr + v, foff + flen - v);
		while ((rc = addrlist_next(&a, &it)) == 1) {
			if (count == 0 && CAT("(") < 0) {
				rc = -1;
				break;
			}
			if (put_item(out, &it, utf8) < 0) {
				rc = -1;
				break;
			}
			count++;
		}
		if (rc == 0)
			rc = 1;
	}
	addrlist_item_free(&it);
	if (rc < 0)
		return -1;
	if (count > 0 && CAT(")") < 0)
		return -1;
	return count;
}

/* The ENVELOPE of the header of part i itself. */
static int
envelope(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t i, int utf8)
{
	struct buf from = BUF_INIT, t = BUF_INIT;
	const struct mime_part *p;
	const char *hdr;
	size_t hlen;
	int rc = -1, nfrom;

	p = &m->parts[i];
	if (p->hdr_off + p->hdr_len > len)
		return CAT("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	hdr = msg + p->hdr_off;
	hlen = p->hdr_len;
	if (CAT("(") < 0 || put_field(out, hdr, hlen, "Date", utf8) < 0 ||
	    CAT(" ") < 0 || put_field(out, hdr, hlen, "Subject", utf8) < 0 ||
	    CAT(" ") < 0)
		goto done;
	if ((nfrom = put_addrs(&from, hdr, hlen, "From", utf8)) < 0)
		goto done;
	if (nfrom == 0 && buf_cat(&from, "NIL", 3) < 0)
		goto done;
	if (buf_cat(out, from.s, from.len) < 0 || CAT(" ") < 0)
		goto done;
	/* RFC 3501 7.4.2: sender and reply-to default to from */
	for (int i = 0; i < 2; i++) {
		int k;

		buf_reset(&t);
		k = put_addrs(&t, hdr, hlen, i == 0 ? "Sender" : "Reply-To",
		    utf8);
		if (k < 0)
			goto done;
		if (buf_cat(out, k > 0 ? t.s : from.s, k > 0 ? t.len :
		    from.len) < 0 || CAT(" ") < 0)
			goto done;
	}
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "To", "Cc", "Bcc" };
		int k = put_addrs(out, hdr, hlen, names[i], utf8);

		if (k < 0 || (k == 0 && CAT("NIL") < 0) || CAT(" ") < 0)
			goto done;
	}
	if (put_field(out, hdr, hlen, "In-Reply-To", utf8) < 0 ||
	    CAT(" ") < 0 ||
	    put_field(out, hdr, hlen, "Message-ID", utf8) < 0 || CAT(")") < 0)
		goto done;
	rc = 1;
done:
	buf_free(&from);
	buf_free(&t);
	return rc;
}

int
imap_envelope(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t part, int utf8)
{
	/* the message's own header, or a message part's inner message's */
	if (part >= m->n)
		part = 0;
	if (part > 0 && m->parts[part].is_message &&
	    m->parts[part].first_child != MIME_NONE)
		part = m->parts[part].first_child;
	return envelope(out, msg, len, m, part, utf8);
}

/* A parameter list "(name value ...)" or NIL; with dflt_charset, a text
 * part without a charset gets ("CHARSET" "us-ascii") added (RFC 2045
 * 5.2, as Dovecot does). */
static int
put_params(struct buf *out, const char *v, size_t vlen, int dflt_charset,
    int utf8)
{
	struct buf name = BUF_INIT, value = BUF_INIT;
	size_t pos = 0;
	int rc = 1, count = 0, charset = 0;

	while (v != NULL && (rc = mime_param_next(v, vlen, &pos, &name,
	    &value)) == 1) {
		if (buf_cats(out, count == 0 ? "(" : " ") < 0 ||
		    imap_put_string(out, name.s, name.len, utf8) < 0 ||
		    CAT(" ") < 0 ||
		    imap_put_string(out, value.s, value.len, utf8) < 0) {
			rc = -1;
			break;
		}
		if (strcasecmp(buf_str(&name), "charset") == 0)
			charset = 1;
		count++;
	}
	buf_free(&name);
	buf_free(&value);
	if (rc < 0)
		return -1;
	if (dflt_charset && !charset) {
		if (buf_cats(out, count == 0 ? "(" : " ") < 0 ||
		    CAT("\"CHARSET\" \"us-ascii\"") < 0)
			return -1;
		count++;
	}
	if (count == 0)
		return CAT("NIL");
	return CAT(")");
}

/* Content-Disposition: ("type" params) or NIL (RFC 2183) */
static int
put_disposition(struct buf *out, const char *hdr, size_t hlen, int utf8)
{
	const char *v, *tok;
	size_t vlen, toklen;

	if (mime_header_find(hdr, hlen, "Content-Disposition", &v, &vlen) != 1 ||
	    mime_token(v, vlen, &tok, &toklen) != 1)
		return CAT("NIL");
	if (CAT("(") < 0 || imap_put_string(out, tok, toklen, utf8) < 0 ||
	    CAT(" ") < 0 || put_params(out, v, vlen, 0, utf8) < 0)
		return -1;
	return CAT(")");
}

/* Content-Language (RFC 3282): a list of language tags, or NIL */
static int
put_language(struct buf *out, const char *hdr, size_t hlen, int utf8)
{
	const char *v;
	size_t vlen, p = 0;
	int count = 0;

	if (mime_header_find(hdr, hlen, "Content-Language", &v, &vlen) != 1)
		return CAT("NIL");
	while (p < vlen) {
		const char *tok;
		size_t toklen;

		if (mime_token(v + p, vlen - p, &tok, &toklen) != 1) {
			p++;  /* a comma or junk */
			continue;
		}
		if (buf_cats(out, count == 0 ? "(" : " ") < 0 ||
		    imap_put_string(out, tok, toklen, utf8) < 0)
			return -1;
		count++;
		p = (size_t)(tok - v) + toklen;
	}
	return buf_cats(out, count == 0 ? "NIL" : ")");
}

/* md5 or location, disposition, language, location: the extension data
 * after the multipart params or the single part's md5. */
static int
put_ext(struct buf *out, const char *hdr, size_t hlen, int utf8)
{
	if (CAT(" ") < 0 || put_disposition(out, hdr, hlen, utf8) < 0 ||
	    CAT(" ") < 0 || put_language(out, hdr, hlen, utf8) < 0 ||
	    CAT(" ") < 0)
		return -1;
	return put_field(out, hdr, hlen, "Content-Location", utf8);
}

static int body(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t i, int ext, int utf8, size_t depth);

static int
body_multipart(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t i, int ext, int utf8, size_t depth)
{
	const struct mime_part *p = &m->parts[i];
	size_t c;

	if (CAT("(") < 0)
		return -1;
	if (p->first_child == MIME_NONE) {
		/* RFC 3501 body-type-mpart needs a part: an empty one */
		if (CAT("(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
		    "\"7BIT\" 0 0") < 0 || (ext && CAT(" NIL NIL NIL NIL") < 0) ||
		    CAT(")") < 0)
			return -1;
	}
	for (c = p->first_child; c != MIME_NONE; c = m->parts[c].next)
		if (body(out, msg, len, m, c, ext, utf8, depth + 1) < 0)
			return -1;
	if (CAT(" ") < 0 ||
	    imap_put_string(out, p->subtype, strlen(p->subtype), utf8) < 0)
		return -1;
	if (ext) {
		if (CAT(" ") < 0 || put_params(out, p->params_len ?
		    msg + p->params_off : NULL, p->params_len, 0, utf8) < 0 ||
		    put_ext(out, msg + p->hdr_off, p->hdr_len, utf8) < 0)
			return -1;
	}
	return CAT(")");
}

static int
body(struct buf *out, const char *msg, size_t len, const struct mime_msg *m,
    size_t i, int ext, int utf8, size_t depth)
{
	const struct mime_part *p = &m->parts[i];
	const char *hdr = msg + p->hdr_off, *v;
	size_t hlen = p->hdr_len, vlen;
	int text = !p->is_multipart && strcasecmp(p->type, "text") == 0;

	if (depth > MIME_DEPTH_MAX || p->body_off + p->body_len > len) {
		errno = EINVAL;
		return -1;  /* not a tree from mime_parse */
	}
	if (p->is_multipart)
		return body_multipart(out, msg, len, m, i, ext, utf8, depth);
	if (CAT("(") < 0)
		return -1;
	if (p->ct_default && text) {
		if (CAT("\"TEXT\" \"PLAIN\"") < 0)
			return -1;
	} else if (p->ct_default && p->is_message) {
		if (CAT("\"MESSAGE\" \"RFC822\"") < 0)
			return -1;
	} else if (imap_put_string(out, p->type, strlen(p->type), utf8) < 0 ||
	    CAT(" ") < 0 ||
	    imap_put_string(out, p->subtype, strlen(p->subtype), utf8) < 0)
		return -1;
	if (CAT(" ") < 0 || put_params(out, p->params_len ?
	    msg + p->params_off : NULL, p->params_len, text, utf8) < 0 ||
	    CAT(" ") < 0 || put_field(out, hdr, hlen, "Content-ID", utf8) < 0 ||
	    CAT(" ") < 0 ||
	    put_field(out, hdr, hlen, "Content-Description", utf8) < 0 ||
	    CAT(" ") < 0)
		return -1;
	if (mime_header_find(hdr, hlen, "Content-Transfer-Encoding", &v,
	    &vlen) == 1 && mime_token(v, vlen, &v, &vlen) == 1) {
		if (imap_put_string(out, v, vlen, utf8) < 0)
			return -1;
	} else if (CAT("\"7BIT\"") < 0)
		return -1;
	if (CAT(" ") < 0 || buf_catu(out, p->body_len) < 0)
		return -1;
	if (text) {
		if (CAT(" ") < 0 || buf_catu(out, p->body_lines) < 0)
			return -1;
	} else if (p->is_message && p->first_child != MIME_NONE) {
		if (CAT(" ") < 0 ||
		    envelope(out, msg, len, m, p->first_child, utf8) < 0 ||
		    CAT(" ") < 0 ||
		    body(out, msg, len, m, p->first_child, ext, utf8,
		    depth + 1) < 0 ||
		    CAT(" ") < 0 || buf_catu(out, p->body_lines) < 0)
			return -1;
	}
	if (ext) {
		if (CAT(" ") < 0 ||
		    put_field(out, hdr, hlen, "Content-MD5", utf8) < 0 ||
		    put_ext(out, hdr, hlen, utf8) < 0)
			return -1;
	}
	return CAT(")");
}

int
imap_bodystructure(struct buf *out, const char *msg, size_t len,
    const struct mime_msg *m, size_t part, int extended, int utf8)
{
	if (part >= m->n) {
		errno = EINVAL;
		return -1;
	}
	return body(out, msg, len, m, part, extended != 0, utf8, 0);
}
