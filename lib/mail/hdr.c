/*
 * hdr: RFC 5322 header fields and address lists (lib/mail/hdr.h).
 *
 * The address-list parser is a small lexer (atoms, quoted strings, domain
 * literals, specials; comments and folding white space skipped, RFC 5322
 * 3.2.2) under a one-pass parser that collects each list element as a
 * candidate addr-spec and throws the candidate away when a "<" or ":"
 * shows it was a display name.  Input is untrusted text from a message:
 * every loop ends at the input length, comment nesting is bounded and an
 * address longer than HDR_ADDR_MAX is an error, never a reason to grow.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "util/str.h"
#include "mail/hdr.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the line at h[pos..n) including its LF (or to n). */
static size_t
line_len(const char *h, size_t n, size_t pos)
{
	const char *nl = str_chr(h + pos, n - pos, '\n');

	return nl ? (size_t)(nl - (h + pos)) + 1 : n - pos;
}

/* Length without the line end (LF or CRLF). */
static size_t
strip_eol(const char *s, size_t len)
{
	if (len && s[len - 1] == '\n')
		len--;
	if (len && s[len - 1] == '\r')
		len--;
	return len;
}

int
hdr_next(const char *h, size_t n, size_t *pos, struct hdr_field *f)
{
	size_t p = *pos, len, content, i, namelen;

	if (p >= n)
		return 0;
	len = line_len(h, n, p);
	content = strip_eol(h + p, len);
	if (content == 0 || is_wsp(h[p]))
		return 0;
	/* field-name = 1*ftext (RFC 5322 3.6.8), then obsolete WSP (4.5.8) */
	for (i = 0; i < content; i++) {
		unsigned char c = (unsigned char)h[p + i];

		if (c == ':' || is_wsp((char)c) || c < 33 || c > 126)
			break;
	}
	namelen = i;
	while (i < content && is_wsp(h[p + i]))
		i++;
	if (namelen == 0 || namelen > HDR_NAME_MAX || i >= content ||
	    h[p + i] != ':')
		return 0;
	f->start = h + p;
	f->name = h + p;
	f->namelen = namelen;
	f->value = h + p + i + 1;
	f->vlen = content - i - 1;
	p += len;
	/* continuation lines start with a space or a tab (2.2.3) */
	while (p < n && is_wsp(h[p])) {
		len = line_len(h, n, p);
		f->vlen = (size_t)(h + p + strip_eol(h + p, len) - f->value);
		p += len;
	}
	f->len = (size_t)(h + p - f->start);
	*pos = p;
	return 1;
}

int
hdr_is(const struct hdr_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->namelen == n && str_ncaseeq(f->name, name, n);
}

int
hdr_has(const char *h, size_t n, const char *name)
{
	struct hdr_field f;
	size_t pos = 0;

	while (hdr_next(h, n, &pos, &f) == 1)
		if (hdr_is(&f, name))
			return 1;
	return 0;
}

int
hdr_end(const char *msg, size_t n, size_t *hlen_r, size_t *body_r)
{
	struct hdr_field f;
	size_t pos = 0, len;

	while (hdr_next(msg, n, &pos, &f) == 1)
		;
	*hlen_r = *body_r = pos;
	if (pos >= n)
		return 0;
	len = line_len(msg, n, pos);
	if (strip_eol(msg + pos, len) != 0)
		return 0;
	*body_r = pos + len;
	return 1;
}

int
hdr_unfold(struct buf *out, const char *v, size_t n)
{
	size_t i, start = out->len;

	while (n && is_wsp(*v))
		v++, n--;
	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n' && buf_catc(out, v[i]) < 0)
			return -1;
	while (out->len > start && is_wsp(out->s[out->len - 1]))
		buf_truncate(out, out->len - 1);
	return 1;
}

/* ---- address lists (RFC 5322 3.4) ---- */

enum tok { T_END, T_ATOM, T_QUOTED, T_LITERAL, T_SPECIAL };

struct tok_t {
	enum tok type;
	const char *p;   /* the token's text, quotes and brackets included */
	size_t len;
	char c;          /* T_SPECIAL: the character */
};

struct lex {
	const char *s;
	size_t n, pos;
	const char *err;
};

static int
is_special(char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL && c != '\0';
}

/* Skip white space, line ends and (nested) comments.  1 or -1. */
static int
skip_cfws(struct lex *lx)
{
	while (lx->pos < lx->n) {
		char c = lx->s[lx->pos];
		int depth = 0;

		if (is_wsp(c) || c == '\r' || c == '\n') {
			lx->pos++;
			continue;
		}
		if (c != '(')
			return 1;
		do {
			c = lx->s[lx->pos++];
			if (c == '\\')
				lx->pos++;   /* quoted-pair (3.2.1) */
			else if (c == '(' && ++depth > HDR_COMMENT_DEPTH) {
				lx->err = "comments nested too deep";
				return -1;
			} else if (c == ')')
				depth--;
		} while (depth > 0 && lx->pos < lx->n);
		if (depth > 0 || lx->pos > lx->n) {
			lx->err = "unterminated comment";
			return -1;
		}
	}
	return 1;
}

/* A quoted string or domain literal ending in close.  1 or -1. */
static int
lex_enclosed(struct lex *lx, struct tok_t *t, char close, enum tok type)
{
	size_t p = lx->pos + 1;

	while (p < lx->n && lx->s[p] != close) {
		if ((unsigned char)lx->s[p] < 0x20 && !is_wsp(lx->s[p]) &&
		    lx->s[p] != '\r' && lx->s[p] != '\n')
			break;
		p += lx->s[p] == '\\' ? 2 : 1;
	}
	if (p >= lx->n || lx->s[p] != close) {
		lx->err = close == '"' ? "unterminated quoted string" :
		    "unterminated domain literal";
		return -1;
	}
	t->type = type;
	t->p = lx->s + lx->pos;
	t->len = p + 1 - lx->pos;
	lx->pos = p + 1;
	return 1;
}

/* The next token.  1 (T_END at the end) or -1 (lx->err set). */
static int
lex_next(struct lex *lx, struct tok_t *t)
{
	size_t p;
	char c;

	if (skip_cfws(lx) < 0)
		return -1;
	t->type = T_END;
	t->c = '\0';
	if (lx->pos >= lx->n)
		return 1;
	c = lx->s[lx->pos];
	if (c == '"')
		return lex_enclosed(lx, t, '"', T_QUOTED);
	if (c == '[')
		return lex_enclosed(lx, t, ']', T_LITERAL);
	if (c == ')' || c == ']' || c == '\\') {
		lx->err = "unexpected character";
		return -1;
	}
	if (is_special(c)) {
		t->type = T_SPECIAL;
		t->c = c;
		t->p = lx->s + lx->pos++;
		t->len = 1;
		return 1;
	}
	/* atom: atext, and UTF-8 bytes (RFC 6532 3.2) */
	for (p = lx->pos; p < lx->n; p++) {
		unsigned char u = (unsigned char)lx->s[p];

		if (u <= 0x20 || u == 0x7f || is_special((char)u))
			break;
	}
	if (p == lx->pos) {
		lx->err = "control character";
		return -1;
	}
	t->type = T_ATOM;
	t->p = lx->s + lx->pos;
	t->len = p - lx->pos;
	lx->pos = p;
	return 1;
}

/* A candidate addr-spec built from the tokens of one list element. */
struct cand {
	char s[HDR_ADDR_MAX + 1];
	size_t len;
	int prev;       /* 0 start, 1 word, 2 ".", 3 "@", 4 literal */
	int at, bad, toolong;
};

static void
cand_reset(struct cand *c)
{
	c->len = 0;
	c->prev = c->at = c->bad = c->toolong = 0;
}

static void
cand_add(struct cand *c, const struct tok_t *t)
{
	int kind;

	if (t->type == T_ATOM || t->type == T_QUOTED) {
		/* two words in a row: a phrase, not an address (3.4.1) */
		if (c->prev == 1 || c->prev == 4 || (c->at &&
		    t->type == T_QUOTED))
			c->bad = 1;
		kind = 1;
	} else if (t->type == T_LITERAL) {
		if (c->prev != 3)
			c->bad = 1;
		kind = 4;
	} else if (t->c == '.') {
		kind = 2;
	} else if (t->c == '@') {
		if (c->at || c->prev == 0)
			c->bad = 1;   /* a second "@", or no local part */
		c->at = 1;
		kind = 3;
	} else {
		c->bad = 1;
		kind = 0;
	}
	c->prev = kind;
	if (c->len + t->len > HDR_ADDR_MAX) {
		c->toolong = 1;
		return;
	}
	memcpy(c->s + c->len, t->p, t->len);
	c->len += t->len;
}

struct alist {
	struct buf *out;
	size_t max, count;
	const char **errmsg;
};

/* Emit a finished candidate.  1 or -1. */
static int
cand_emit(struct alist *al, struct cand *c)
{
	if (c->len == 0 && !c->toolong && !c->bad)
		return 1;    /* an empty element (obs-addr-list, 4.4) */
	if (c->bad || c->len == 0 || c->prev == 2 || c->prev == 3) {
		*al->errmsg = "bad address";
		errno = EINVAL;
		return -1;
	}
	if (c->toolong) {
		*al->errmsg = "address too long";
		errno = EMSGSIZE;
		return -1;
	}
	if (al->count >= al->max) {
		*al->errmsg = "too many addresses";
		errno = E2BIG;
		return -1;
	}
	if (buf_cat(al->out, c->s, c->len) < 0 || buf_catc(al->out, '\n') < 0)
		return -1;
	al->count++;
	return 1;
}

static int
syntax(struct alist *al, const char *msg)
{
	*al->errmsg = msg;
	errno = EINVAL;
	return -1;
}

/* After "<": [obs-route] addr-spec ">".  1 or -1. */
static int
angle_addr(struct lex *lx, struct alist *al, struct cand *c)
{
	struct tok_t t;

	cand_reset(c);
	if (lex_next(lx, &t) < 0)
		return syntax(al, lx->err);
	if (t.type == T_SPECIAL && t.c == '@') {
		/* obs-route "@a,@b:" (4.4): dropped, as RFC 5321 C says */
		do {
			if (lex_next(lx, &t) < 0)
				return syntax(al, lx->err);
		} while (t.type != T_END && !(t.type == T_SPECIAL &&
		    (t.c == ':' || t.c == '>')));
		if (t.type != T_SPECIAL || t.c != ':')
			return syntax(al, "bad route");
		if (lex_next(lx, &t) < 0)
			return syntax(al, lx->err);
	}
	while (!(t.type == T_SPECIAL && t.c == '>')) {
		if (t.type == T_END || (t.type == T_SPECIAL && t.c == '<'))
			return syntax(al, "missing >");
		cand_add(c, &t);
		if (lex_next(lx, &t) < 0)
			return syntax(al, lx->err);
	}
	return cand_emit(al, c);   /* "<>" is an empty element: skipped */
}

/* What follows a name-addr: "," or ";" or the end.  1 or -1. */
static int
after_angle(struct lex *lx, struct alist *al, struct tok_t *t)
{
	if (lex_next(lx, t) < 0)
		return syntax(al, lx->err);
	if (t->type == T_END || (t->type == T_SPECIAL &&
	    (t->c == ',' || t->c == ';')))
		return 1;
	return syntax(al, "text after >");
}

int
hdr_addrlist(const char *v, size_t n, size_t max, struct buf *out,
    const char **errmsg_r)
{
	struct lex lx = { v, n, 0, NULL };
	struct alist al = { out, max > INT_MAX ? INT_MAX : max, 0, errmsg_r };
	struct cand c;
	struct tok_t t;
	int ingroup = 0;

	*errmsg_r = "";
	cand_reset(&c);
	for (;;) {
		if (lex_next(&lx, &t) < 0)
			return syntax(&al, lx.err);
		if (t.type == T_SPECIAL && t.c == '<') {
			/* what came before was a display name */
			if (angle_addr(&lx, &al, &c) < 0 ||
			    after_angle(&lx, &al, &t) < 0)
				return -1;
			cand_reset(&c);
		} else if (t.type == T_SPECIAL && t.c == ':') {
			if (ingroup)
				return syntax(&al, "group inside a group");
			ingroup = 1;  /* the display name of a group (3.4) */
			cand_reset(&c);
			continue;
		} else if (!(t.type == T_END || (t.type == T_SPECIAL &&
		    (t.c == ',' || t.c == ';')))) {
			cand_add(&c, &t);
			continue;
		} else {
			if (cand_emit(&al, &c) < 0)
				return -1;
			cand_reset(&c);
		}
		/* t is now ",", ";" or the end of the list */
		if (t.type == T_SPECIAL && t.c == ';') {
			if (!ingroup)
				return syntax(&al, "; outside a group");
			ingroup = 0;
		}
		if (t.type == T_END)
			break;
	}
	/* a group without its ";" at the very end is tolerated */
	return (int)al.count;
}
