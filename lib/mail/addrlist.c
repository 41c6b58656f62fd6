/*
 * addrlist: RFC 5322 3.4 address lists for IMAP ENVELOPE
 * (lib/mail/addrlist.h).
 *
 * A forgiving one-pass reader: words (atoms, quoted strings, dots) are
 * collected both as a display phrase and as a candidate local part, and
 * the special that follows says which they were (":" a group name, "<"
 * a display name, "@" a local part).  A byte that fits nowhere is
 * skipped, so every call moves on and hostile input ends the loop.
 * Comments nest without recursion (a counter).
 */
#include <string.h>

#include "util/buf.h"
#include "mail/addrlist.h"

static int
is_atext(unsigned char c)
{
	if (c >= 128)
		return 1;  /* UTF-8 (RFC 6532 3.2), or junk we let through */
	return c > 32 && c < 127 && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* Skip white space, line ends and comments; the content of the last
 * top-level comment goes to *cs, *cl.  1 if anything was skipped. */
static int
skip_cfws(struct addrlist *a, size_t *cs, size_t *cl)
{
	size_t p = a->pos, depth = 0, start = 0;

	while (p < a->n) {
		char c = a->s[p];

		if (depth > 0) {
			if (c == '\\')
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0 && cs != NULL) {
				*cs = start;
				*cl = p - start;
			}
		} else if (c == '(') {
			depth = 1;
			start = p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
		p++;
	}
	if (p > a->n)
		p = a->n;
	if (depth > 0 && cs != NULL) {  /* unclosed: to the end */
		*cs = start;
		*cl = p - start;
	}
	start = a->pos;
	a->pos = p;
	return p != start;
}

/* Append s[0..n) without line ends (unfolded). */
static int
cat_unfolded(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '\r' && s[i] != '\n' && buf_catc(b, s[i]) < 0)
			return -1;
	return 1;
}

/* Words: into name (unquoted, one space where white space was; may be
 * NULL) and local (as written).  The number of words, or -1. */
static int
words(struct addrlist *a, struct buf *name, struct buf *local)
{
	int count = 0;

	for (;;) {
		int sp = skip_cfws(a, NULL, NULL);
		size_t p = a->pos, q;
		unsigned char c;

		if (p >= a->n)
			break;
		c = (unsigned char)a->s[p];
		if (c == '"') {
			for (q = p + 1; q < a->n && a->s[q] != '"'; q++)
				if (a->s[q] == '\\' && q + 1 < a->n)
					q++;
			q = q < a->n ? q + 1 : a->n;
		} else if (c == '.')
			q = p + 1;
		else if (is_atext(c)) {
			for (q = p; q < a->n && is_atext((unsigned char)a->s[q]);
			    q++)
				;
		} else
			break;
		if (name != NULL) {
			if (sp && count > 0 && buf_catc(name, ' ') < 0)
				return -1;
			if (c == '"') {
				size_t i, e = q;

				if (e > p + 1 && a->s[e - 1] == '"')
					e--;
				for (i = p + 1; i < e; i++) {
					if (a->s[i] == '\\' && i + 1 < e)
						i++;
					else if (a->s[i] == '\r' ||
					    a->s[i] == '\n')
						continue;
					if (buf_catc(name, a->s[i]) < 0)
						return -1;
				}
			} else if (buf_cat(name, a->s + p, q - p) < 0)
				return -1;
		}
		if (cat_unfolded(local, a->s + p, q - p) < 0)
			return -1;
		a->pos = q;
		count++;
	}
	return count;
}

/* A domain: atoms, dots and domain literals, as written; the last
 * comment skipped goes to *cs, *cl (if not NULL). */
static int
domain(struct addrlist *a, struct buf *out, size_t *cs, size_t *cl)
{
	for (;;) {
		size_t p, q;
		unsigned char c;

		skip_cfws(a, cs, cl);
		p = a->pos;
		if (p >= a->n)
			return 1;
		c = (unsigned char)a->s[p];
		if (c == '[') {
			for (q = p + 1; q < a->n && a->s[q] != ']'; q++)
				if (a->s[q] == '\\' && q + 1 < a->n)
					q++;
			q = q < a->n ? q + 1 : a->n;
		} else if (c == '.')
			q = p + 1;
		else if (is_atext(c)) {
			for (q = p; q < a->n && is_atext((unsigned char)a->s[q]);
			    q++)
				;
		} else
			return 1;
		if (cat_unfolded(out, a->s + p, q - p) < 0)
			return -1;
		a->pos = q;
	}
}

/* The inside of "<...>": [route ":"] addr-spec, then ">". */
static int
angle(struct addrlist *a, struct addrlist_item *it)
{
	skip_cfws(a, NULL, NULL);
	if (a->pos < a->n && a->s[a->pos] == '@') {
		/* obs-route (RFC 5322 4.4): "@a,@b:" */
		while (a->pos < a->n && (a->s[a->pos] == '@' ||
		    a->s[a->pos] == ',')) {
			if (a->s[a->pos] == ',') {
				a->pos++;
				skip_cfws(a, NULL, NULL);
				continue;
			}
			a->pos++;
			if (it->route.len > 0 && buf_catc(&it->route, ',') < 0)
				return -1;
			if (buf_catc(&it->route, '@') < 0 ||
			    domain(a, &it->route, NULL, NULL) < 0)
				return -1;
			skip_cfws(a, NULL, NULL);
		}
		if (a->pos < a->n && a->s[a->pos] == ':')
			a->pos++;
		it->has_route = 1;
	}
	if (words(a, NULL, &it->local) < 0)
		return -1;
	skip_cfws(a, NULL, NULL);
	if (a->pos < a->n && a->s[a->pos] == '@') {
		a->pos++;
		if (domain(a, &it->domain, NULL, NULL) < 0)
			return -1;
	}
	/* junk up to the ">" is skipped, but not past the list element */
	while (a->pos < a->n && a->s[a->pos] != '>' && a->s[a->pos] != ',' &&
	    a->s[a->pos] != ';')
		a->pos++;
	if (a->pos < a->n && a->s[a->pos] == '>')
		a->pos++;
	return 1;
}

void
addrlist_init(struct addrlist *a, const char *v, size_t n)
{
	a->s = v;
	a->n = n;
	a->pos = 0;
	a->in_group = 0;
}

void
addrlist_item_free(struct addrlist_item *it)
{
	buf_free(&it->name);
	buf_free(&it->route);
	buf_free(&it->local);
	buf_free(&it->domain);
}

static void
item_reset(struct addrlist_item *it)
{
	buf_reset(&it->name);
	buf_reset(&it->route);
	buf_reset(&it->local);
	buf_reset(&it->domain);
	it->has_name = it->has_route = it->has_local = it->has_domain = 0;
	it->kind = ADDRLIST_MAILBOX;
}

int
addrlist_next(struct addrlist *a, struct addrlist_item *it)
{
	for (;;) {
		size_t cs = 0, cl = 0;
		int nw;
		char c;

		item_reset(it);
		skip_cfws(a, NULL, NULL);
		if (a->pos >= a->n) {
			if (a->in_group) {  /* an unclosed group */
				a->in_group = 0;
				it->kind = ADDRLIST_GROUP_END;
				return 1;
			}
			return 0;
		}
		c = a->s[a->pos];
		if (c == ',') {
			a->pos++;
			continue;
		}
		if (c == ';') {
			a->pos++;
			if (a->in_group) {
				a->in_group = 0;
				it->kind = ADDRLIST_GROUP_END;
				return 1;
			}
			continue;
		}
		if ((nw = words(a, &it->name, &it->local)) < 0)
			return -1;
		skip_cfws(a, &cs, &cl);
		c = a->pos < a->n ? a->s[a->pos] : '\0';
		if (c == ':' && !a->in_group) {
			a->pos++;
			a->in_group = 1;
			it->kind = ADDRLIST_GROUP;
			it->has_name = 1;
			buf_reset(&it->local);
			return buf_cat(&it->name, "", 0) < 0 ? -1 : 1;
		}
		if (c == '<') {
			a->pos++;
			buf_reset(&it->local);
			it->has_name = it->name.len > 0;
			if (angle(a, it) < 0)
				return -1;
			it->has_local = 1;
			it->has_domain = it->domain.len > 0;
			return 1;
		}
		if (c == '@') {
			a->pos++;
			buf_reset(&it->name);
			cl = 0;
			if (domain(a, &it->domain, &cs, &cl) < 0)
				return -1;
			if (nw == 0 && it->domain.len == 0)
				continue;  /* a lone "@" */
			if (cl > 0) {
				if (cat_unfolded(&it->name, a->s + cs, cl) < 0)
					return -1;
				it->has_name = 1;
			}
			it->has_local = 1;
			it->has_domain = it->domain.len > 0;
			return 1;
		}
		if (nw > 0) {
			/* a local part alone ("To: root") */
			buf_reset(&it->name);
			it->has_local = 1;
			return 1;
		}
		a->pos++;  /* a byte that fits nowhere */
	}
}
