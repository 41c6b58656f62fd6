/*
 * search: SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4).
 *
 * The keys are parsed into a tree (bounded in depth and size), then each
 * message is tested in order.  Keys on flags, sizes, UIDs and sequence
 * numbers use the view only; dates use the file's mtime (INTERNALDATE)
 * or the Date: header; header and text keys load the message and
 * compare decoded text: RFC 2047 words in headers, quoted-printable and
 * base64 in text parts, charsets converted to UTF-8 (lib/mail/mime).
 * Matching is a case-insensitive substring match; the fold is ASCII
 * only, which is what i;ascii-casemap gives (RFC 9051 6.4.4 leaves the
 * comparator to the server; Dovecot folds Unicode, noted in
 * doc/VIOLATIONS.md as a difference).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/str.h"
#include "store/mbox.h"
#include "mail/mime.h"
#include "imap/istr.h"
#include "imapd.h"

#define SEARCH_DEPTH_MAX 32
#define SEARCH_NODES_MAX 1000

enum sk {
	SK_ALL, SK_FLAG, SK_UNFLAG, SK_KW, SK_UNKW, SK_NEW, SK_OLD,
	SK_RECENT, SK_LARGER, SK_SMALLER, SK_SEQ, SK_UID, SK_BEFORE, SK_ON,
	SK_SINCE, SK_SENTBEFORE, SK_SENTON, SK_SENTSINCE, SK_HEADER, SK_BODY,
	SK_TEXT, SK_NOT, SK_OR, SK_AND, SK_NONE, SK_MODSEQ,
};

struct snode {
	enum sk k;
	unsigned flag;
	unsigned long kw;
	unsigned long long num;
	long long day;
	struct imap_seqset set;
	struct buf field, str;
	struct snode *a, *b;        /* NOT: a; OR: a, b; AND: the list at a */
	struct snode *next;         /* the next key of an AND list */
};

struct search {
	struct snode *root;
	size_t nodes;
	int need_msg;
	struct buf msg, text;
	struct mime_msg mime;
	int loaded;
	/* the cached header fields (lib/store/mdhdr) when the keys need
	 * only those: no message file opened */
	struct buf fields;
	struct mime_msg fmime;
	int floaded;
	int unreadable;             /* a message file could not be read */
	int has_modseq;             /* a MODSEQ key (RFC 7162 3.1.5) */
};

static void
node_free(struct snode *n)
{
	while (n != NULL) {
		struct snode *next = n->next;

		node_free(n->a);
		node_free(n->b);
		imap_seqset_free(&n->set);
		buf_free(&n->field);
		buf_free(&n->str);
		free(n);
		n = next;
	}
}

/* ---- parsing ------------------------------------------------------------- */

static struct snode *parse_key(struct imap *, struct search *,
    struct imap_p *, int);

static struct snode *
new_node(struct search *q, struct imap_p *p, enum sk k)
{
	struct snode *n;

	if (++q->nodes > SEARCH_NODES_MAX) {
		p->err = "Search too complex";
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (n != NULL)
		n->k = k;
	return n;
}

/* 1 if field[0..n) is one of the cached header fields. */
static int
cached_field(const char *f, size_t n)
{
	size_t k;

	for (k = 0; mdh_fields[k] != NULL; k++)
		if (strlen(mdh_fields[k]) == n &&
		    str_ncaseeq(mdh_fields[k], f, n))
			return 1;
	return 0;
}

/* A list of keys separated by SP up to ')' (or the end at depth 0): an
 * AND node whose keys are the list a, next, next... */
static struct snode *
parse_list(struct imap *s, struct search *q, struct imap_p *p, int depth,
    int paren)
{
	struct snode *and, *last = NULL, *k;

	and = new_node(q, p, SK_AND);
	if (and == NULL)
		return NULL;
	for (;;) {
		k = parse_key(s, q, p, depth + 1);
		if (k == NULL) {
			node_free(and);
			return NULL;
		}
		if (last == NULL)
			and->a = k;
		else
			last->next = k;
		last = k;
		if (paren && imap_p_char(p, ')'))
			return and;
		if (!paren && imap_p_end(p))
			return and;
		if (!imap_p_sp(p)) {
			node_free(and);
			return NULL;
		}
	}
}

static int
parse_day(struct imap_p *p, long long *day_r)
{
	int y, m, d;

	if (imap_p_date(p, &y, &m, &d) != 1)
		return 0;
	*day_r = imap_days_from_civil(y, m, d);
	return 1;
}

static struct snode *
parse_key(struct imap *s, struct search *q, struct imap_p *p, int depth)
{
	static const struct {
		const char *name;
		enum sk k;
		unsigned flag;
	} simple[] = {
		{ "ALL", SK_ALL, 0 },
		{ "ANSWERED", SK_FLAG, IF_ANSWERED },
		{ "DELETED", SK_FLAG, IF_DELETED },
		{ "DRAFT", SK_FLAG, IF_DRAFT },
		{ "FLAGGED", SK_FLAG, IF_FLAGGED },
		{ "SEEN", SK_FLAG, IF_SEEN },
		{ "UNANSWERED", SK_UNFLAG, IF_ANSWERED },
		{ "UNDELETED", SK_UNFLAG, IF_DELETED },
		{ "UNDRAFT", SK_UNFLAG, IF_DRAFT },
		{ "UNFLAGGED", SK_UNFLAG, IF_FLAGGED },
		{ "UNSEEN", SK_UNFLAG, IF_SEEN },
		{ "NEW", SK_NEW, 0 }, { "OLD", SK_OLD, 0 },
		{ "RECENT", SK_RECENT, 0 },
	};
	static const struct {
		const char *name;
		enum sk k;
	} dates[] = {
		{ "BEFORE", SK_BEFORE }, { "ON", SK_ON }, { "SINCE", SK_SINCE },
		{ "SENTBEFORE", SK_SENTBEFORE }, { "SENTON", SK_SENTON },
		{ "SENTSINCE", SK_SENTSINCE },
	}, hdrs[] = {
		{ "FROM", SK_HEADER }, { "TO", SK_HEADER }, { "CC", SK_HEADER },
		{ "BCC", SK_HEADER }, { "SUBJECT", SK_HEADER },
		{ "BODY", SK_BODY }, { "TEXT", SK_TEXT },
	};
	struct snode *n = NULL;
	const char *a;
	size_t len, i;
	int c;

	if (depth > SEARCH_DEPTH_MAX) {
		p->err = "Search nested too deep";
		return NULL;
	}
	c = imap_p_peek(p);
	if (c == '(') {
		p->pos++;
		return parse_list(s, q, p, depth, 1);
	}
	if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
		n = new_node(q, p, SK_SEQ);
		if (n == NULL || imap_p_seqset(p, &n->set) != 1)
			goto fail;
		return n;
	}
	if (imap_p_atom(p, &a, &len) != 1)
		return NULL;
#define IS(w) (len == strlen(w) && str_ncaseeq(a, w, len))
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (IS(simple[i].name)) {
			n = new_node(q, p, simple[i].k);
			if (n != NULL)
				n->flag = simple[i].flag;
			return n;
		}
	for (i = 0; i < sizeof dates / sizeof dates[0]; i++)
		if (IS(dates[i].name)) {
			n = new_node(q, p, dates[i].k);
			if (n == NULL || !imap_p_sp(p) || !parse_day(p, &n->day))
				goto fail;
			return n;
		}
	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++)
		if (IS(hdrs[i].name)) {
			n = new_node(q, p, hdrs[i].k);
			if (n == NULL || !imap_p_sp(p) ||
			    imap_p_astring(p, &n->str) != 1)
				goto fail;
			if (hdrs[i].k == SK_HEADER &&
			    buf_copy(&n->field, a, len) < 0)
				goto fail;
			if (hdrs[i].k != SK_HEADER)
				q->need_msg = 1;  /* BODY, TEXT */
			return n;
		}
	if (IS("HEADER")) {
		n = new_node(q, p, SK_HEADER);
		if (n == NULL || !imap_p_sp(p) ||
		    imap_p_astring(p, &n->field) != 1 || !imap_p_sp(p) ||
		    imap_p_astring(p, &n->str) != 1)
			goto fail;
		if (!cached_field(n->field.s, n->field.len))
			q->need_msg = 1;
		return n;
	}
	if (IS("KEYWORD") || IS("UNKEYWORD")) {
		const char *f;
		size_t fn;
		unsigned long bit = 0;
		size_t j;

		n = new_node(q, p, IS("KEYWORD") ? SK_KW : SK_UNKW);
		if (n == NULL || !imap_p_sp(p) || imap_p_flag(p, &f, &fn) != 1)
			goto fail;
		if (fn == 10 && str_ncaseeq(f, "$Forwarded", 10)) {
			n->k = n->k == SK_KW ? SK_FLAG : SK_UNFLAG;
			n->flag = IF_FORWARDED;
			return n;
		}
		for (j = 0; j < s->sel.kwt.n; j++)
			if (s->sel.kwt.kw[j] != NULL &&
			    strlen(s->sel.kwt.kw[j]) == fn &&
			    str_ncaseeq(s->sel.kwt.kw[j], f, fn))
				bit = 1UL << j;
		n->kw = bit;  /* 0: a keyword nobody has */
		return n;
	}
	if (IS("LARGER") || IS("SMALLER")) {
		unsigned long v;

		n = new_node(q, p, IS("LARGER") ? SK_LARGER : SK_SMALLER);
		if (n == NULL || !imap_p_sp(p) || imap_p_number(p, &v) != 1)
			goto fail;
		n->num = v;
		return n;
	}
	if (IS("MODSEQ")) {
		/* MODSEQ [entry-name entry-type-req] n: per-flag MODSEQs are
		 * the message's (RFC 7162 3.1.5 allows that) */
		struct buf e = BUF_INIT;
		const char *t;
		size_t tn;

		n = new_node(q, p, SK_MODSEQ);
		if (n == NULL || !imap_p_sp(p))
			goto fail;
		if (imap_p_peek(p) == '"') {
			int ok = imap_p_string(p, &e) == 1 && imap_p_sp(p) &&
			    imap_p_atom(p, &t, &tn) == 1 && imap_p_sp(p) &&
			    ((tn == 4 && str_ncaseeq(t, "priv", 4)) ||
			    (tn == 3 && str_ncaseeq(t, "all", 3)) ||
			    (tn == 6 && str_ncaseeq(t, "shared", 6)));

			buf_free(&e);
			if (!ok)
				goto fail;
		}
		if (imap_p_number64(p, &n->num) != 1)
			goto fail;
		q->has_modseq = 1;
		s->condstore = 1;
		return n;
	}
	if (IS("UID")) {
		n = new_node(q, p, SK_UID);
		if (n == NULL || !imap_p_sp(p) || imap_p_seqset(p, &n->set) != 1)
			goto fail;
		return n;
	}
	if (IS("NOT")) {
		n = new_node(q, p, SK_NOT);
		if (n == NULL || !imap_p_sp(p) ||
		    (n->a = parse_key(s, q, p, depth + 1)) == NULL)
			goto fail;
		return n;
	}
	if (IS("OR")) {
		n = new_node(q, p, SK_OR);
		if (n == NULL || !imap_p_sp(p) ||
		    (n->a = parse_key(s, q, p, depth + 1)) == NULL ||
		    !imap_p_sp(p) ||
		    (n->b = parse_key(s, q, p, depth + 1)) == NULL)
			goto fail;
		return n;
	}
#undef IS
	p->err = "Unknown search key";
	return NULL;
fail:
	if (p->err == NULL)
		p->err = "Invalid search key";
	node_free(n);
	return NULL;
}

/* ---- testing one message ----------------------------------------------- */

static int
ci_find(const char *hay, size_t hn, const char *needle, size_t nn)
{
	size_t i, j;

	if (nn == 0)
		return 1;
	for (i = 0; i + nn <= hn; i++) {
		for (j = 0; j < nn; j++) {
			unsigned char x = (unsigned char)hay[i + j];
			unsigned char y = (unsigned char)needle[j];

			if (x >= 'A' && x <= 'Z')
				x = (unsigned char)(x + 32);
			if (y >= 'A' && y <= 'Z')
				y = (unsigned char)(y + 32);
			if (x != y)
				break;
		}
		if (j == nn)
			return 1;
	}
	return 0;
}

static int
load(struct imap *s, struct search *q, size_t i)
{
	int r;

	if (q->loaded)
		return q->loaded > 0;
	r = msg_load(s, i, &q->msg);
	if (r < 0 && errno != ENOMEM) {
		log_warn("%s search user=%s uid=%lu error=%s", s->sid,
		    buf_str(&s->login), s->sel.m[i].uid, strerror(errno));
		q->unreadable = 1;
		q->loaded = -1;
		return 0;
	}
	if (r < 0)
		session_fatal(s, "search");
	mime_free(&q->mime);
	if (r > 0 && mime_parse(&q->mime, q->msg.s, q->msg.len) < 0)
		session_fatal(s, "memory");
	q->loaded = r > 0 ? 1 : -1;
	return r > 0;
}

/* The header of message i for a key on a cached field: the whole
 * message when it is loaded anyway, else the cached fields.  Sets
 * *text_r and *m_r; 1, 0 the message is gone. */
static int
load_header(struct imap *s, struct search *q, size_t i, const char **text_r,
    const struct mime_msg **m_r)
{
	int r;

	if (q->loaded > 0 || q->need_msg) {
		if (!load(s, q, i))
			return 0;
		*text_r = q->msg.s;
		*m_r = &q->mime;
		return 1;
	}
	if (!q->floaded) {
		r = msg_fields(s, i, &q->fields);
		if (r < 0 && errno == ENOMEM)
			session_fatal(s, "memory");
		if (r < 0) {
			log_warn("%s search user=%s uid=%lu error=%s", s->sid,
			    buf_str(&s->login), s->sel.m[i].uid,
			    strerror(errno));
			q->unreadable = 1;
		}
		mime_free(&q->fmime);
		if (r > 0 && mime_parse(&q->fmime, q->fields.s, q->fields.len) < 0)
			session_fatal(s, "memory");
		q->floaded = r > 0 ? 1 : -1;
	}
	if (q->floaded < 0)
		return 0;
	*text_r = q->fields.s;
	*m_r = &q->fmime;
	return 1;
}

static long long
internal_day(struct imap *s, size_t i)
{
	struct stat st;
	struct tm tm;
	time_t t;

	if (sel_stat(s, i, &st) < 0)
		return 0;
	t = st.st_mtime;
	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return imap_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
}

/* An address field's text without its comments (RFC 5322 3.2.2, outside
 * quoted strings) and without the white space around "@", so that
 * "<user (c)@ (c) example.org>" is found as "user@example.org". */
static int
address_plain(const char *v, size_t n, struct buf *out)
{
	size_t i, depth = 0;
	int quoted = 0;

	buf_reset(out);
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (quoted) {
			if (c == '\\' && i + 1 < n) {
				if (buf_catc(out, c) < 0)
					return -1;
				c = v[++i];
			} else if (c == '"')
				quoted = 0;
		} else if (depth > 0) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		} else if (c == '(') {
			depth = 1;
			continue;
		} else if (c == '"')
			quoted = 1;
		else if ((c == ' ' || c == '\t') && ((i + 1 < n &&
		    v[i + 1] == '@') || (out->len > 0 &&
		    out->s[out->len - 1] == '@')))
			continue;
		if (c == '@')
			while (out->len > 0 && (out->s[out->len - 1] == ' ' ||
			    out->s[out->len - 1] == '\t'))
				out->len--;
		if (buf_catc(out, c) < 0)
			return -1;
	}
	return 1;
}

static int
is_address_field(const struct buf *f)
{
	static const char *const names[] = { "From", "To", "Cc", "Bcc",
	    "Sender", "Reply-To" };
	size_t k;

	for (k = 0; k < sizeof names / sizeof names[0]; k++)
		if (strlen(names[k]) == f->len && str_ncaseeq(names[k], f->s,
		    f->len))
			return 1;
	return 0;
}

static int
header_match(const char *text, const struct mime_msg *mm,
    const struct buf *field, const struct buf *str)
{
	const struct mime_part *top = &mm->parts[0];
	const char *hdr = text + top->hdr_off, *v;
	size_t hl = top->hdr_len, vl, pos = 0;
	char name[256];
	struct buf dec = BUF_INIT, plain = BUF_INIT;
	int r = 0;

	if (field->len == 0 || field->len >= sizeof name)
		return 0;
	memcpy(name, field->s, field->len);
	name[field->len] = '\0';
	/* every field of that name, not just the first */
	while (mime_header_find_next(hdr, hl, &pos, name, &v, &vl) == 1) {
		if (mime_header_decode(v, vl, &dec) < 0)
			break;
		if (ci_find(dec.s, dec.len, str->s, str->len)) {
			r = 1;
			break;
		}
		if (is_address_field(field)) {
			if (address_plain(dec.s ? dec.s : "", dec.len, &plain) < 0)
				break;
			if (ci_find(plain.s, plain.len, str->s, str->len)) {
				r = 1;
				break;
			}
		}
	}
	buf_free(&plain);
	buf_free(&dec);
	return r;
}

static int
text_match(struct search *q, const struct buf *str, int with_header)
{
	size_t k;

	if (with_header && ci_find(q->msg.s + q->mime.parts[0].hdr_off,
	    q->mime.parts[0].hdr_len, str->s, str->len))
		return 1;
	for (k = 0; k < q->mime.n; k++) {
		buf_reset(&q->text);
		if (q->mime.parts[k].is_multipart || q->mime.parts[k].is_message)
			continue;
		if (mime_part_text(&q->mime, k, q->msg.s, q->msg.len,
		    &q->text) < 0)
			return 0;
		if (ci_find(q->text.s, q->text.len, str->s, str->len))
			return 1;
	}
	return 0;
}

static int
test(struct imap *s, struct search *q, const struct snode *n, size_t i)
{
	const struct imsg *m = &s->sel.m[i];
	const struct snode *c;
	long long day;

	switch (n->k) {
	case SK_ALL:
		return 1;
	case SK_NONE:
		return 0;
	case SK_FLAG:
		return (m->flags & n->flag) != 0;
	case SK_UNFLAG:
		return (m->flags & n->flag) == 0;
	case SK_KW:
		return n->kw != 0 && (m->kw & n->kw) != 0;
	case SK_UNKW:
		return n->kw == 0 || (m->kw & n->kw) == 0;
	case SK_NEW:
		return m->recent && !(m->flags & IF_SEEN);
	case SK_OLD:
		return !m->recent;
	case SK_RECENT:
		return m->recent;
	case SK_LARGER:
	case SK_SMALLER: {
		unsigned long long sz = m->size;

		if (sz == MBOX_SIZE_UNKNOWN) {
			if (!load(s, q, i))
				return 0;
			sz = q->msg.len;
		}
		return n->k == SK_LARGER ? sz > n->num : sz < n->num;
	}
	case SK_SEQ:
		return imap_seqset_has(&n->set, i + 1);
	case SK_MODSEQ:
		return s->sel.m[i].modseq >= n->num;
	case SK_UID:
		return imap_seqset_has(&n->set, m->uid);
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		day = internal_day(s, i);
		return n->k == SK_BEFORE ? day < n->day : n->k == SK_ON ?
		    day == n->day : day >= n->day;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE: {
		const char *v, *text;
		const struct mime_msg *mm;
		size_t vl;
		long long t;
		int zone;

		/* RFC 9051 6.4.4: the Date: field's own date, "disregarding
		 * time and timezone" */
		if (!load_header(s, q, i, &text, &mm) ||
		    mime_header_find(text + mm->parts[0].hdr_off,
		    mm->parts[0].hdr_len, "Date", &v, &vl) != 1 ||
		    imap_rfc5322_date(v, vl, &t, &zone) != 1)
			return 0;
		t += zone * 60LL;
		day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
		return n->k == SK_SENTBEFORE ? day < n->day :
		    n->k == SK_SENTON ? day == n->day : day >= n->day;
	}
	case SK_HEADER: {
		const char *text;
		const struct mime_msg *mm;

		if (cached_field(n->field.s, n->field.len)) {
			if (!load_header(s, q, i, &text, &mm))
				return 0;
		} else {
			if (!load(s, q, i))
				return 0;
			text = q->msg.s;
			mm = &q->mime;
		}
		return header_match(text, mm, &n->field, &n->str);
	}
	case SK_BODY:
		return load(s, q, i) && text_match(q, &n->str, 0);
	case SK_TEXT:
		return load(s, q, i) && text_match(q, &n->str, 1);
	case SK_NOT:
		return !test(s, q, n->a, i);
	case SK_OR:
		return test(s, q, n->a, i) || test(s, q, n->b, i);
	case SK_AND:
		for (c = n->a; c != NULL; c = c->next)
			if (!test(s, q, c, i))
				return 0;
		return 1;
	}
	return 0;
}

static void
resolve_sets(struct imap *s, struct snode *n)
{
	for (; n != NULL; n = n->next) {
		if ((n->k == SK_SEQ || n->k == SK_UID) && n->set.saved) {
			/* "$", or "UID $": the saved UIDs (RFC 5182 2.1) */
			if (sel_saved(s, &n->set, 1) < 0)
				session_fatal(s, "memory");
			n->k = SK_UID;
		}
		if (n->k == SK_SEQ)
			imap_seqset_resolve(&n->set, s->sel.n);
		else if (n->k == SK_UID)
			imap_seqset_resolve(&n->set, s->sel.n ?
			    s->sel.m[s->sel.n - 1].uid : 0);
		resolve_sets(s, n->a);
		resolve_sets(s, n->b);
	}
}

/* RETURN options (RFC 4731 3.1, RFC 5182 2.4) */
enum { RET_MIN = 1, RET_MAX = 2, RET_ALL = 4, RET_COUNT = 8, RET_SAVE = 16 };

/* "RETURN (" [option *(SP option)] ")" SP: 1 (with *ret_r; "()" is
 * ALL), 0 bad. */
static int
parse_return(struct imap_p *p, unsigned *ret_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL },
		{ "COUNT", RET_COUNT }, { "SAVE", RET_SAVE },
	};
	const char *a;
	size_t n, k;

	size_t nopt = 0;

	*ret_r = 0;
	if (!imap_p_char(p, '('))
		return 0;
	while (imap_p_peek(p) != ')') {
		if (nopt > 0 && !imap_p_sp(p))
			return 0;
		if (++nopt > 16)
			return imap_p_fail(p, "Too many SEARCH RETURN options");
		if (imap_p_atom(p, &a, &n) != 1)
			return 0;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strlen(opts[k].name) == n &&
			    str_ncaseeq(a, opts[k].name, n))
				break;
		if (k == sizeof opts / sizeof opts[0])
			return imap_p_fail(p, "Unknown SEARCH RETURN option");
		*ret_r |= opts[k].bit;
	}
	p->pos++;  /* the ")" */
	if (*ret_r == 0)
		*ret_r = RET_ALL;  /* RFC 4731 3.1: "()" means ALL */
	return imap_p_sp(p);
}

void
cmd_search(struct imap *s, struct imap_p *p)
{
	struct search q;
	struct buf out = BUF_INIT, cs = BUF_INIT;
	struct imap_seqset found = IMAP_SEQSET_INIT, uids = IMAP_SEQSET_INIT;
	unsigned long long top = 0, mlo = 0, mhi = 0;
	unsigned long lo = 0, hi = 0, count = 0, ulo = 0, uhi = 0;
	unsigned ret = 0;
	int esearch;
	size_t i;

	memset(&q, 0, sizeof q);
	if (!imap_p_sp(p)) {
		imap_bad_args(s, p);
		return;
	}
	/* RFC 4466 2.6: [RETURN (...)] before [CHARSET] */
	if (p->n - p->pos > 7 && str_ncaseeq(p->s + p->pos, "RETURN ", 7)) {
		p->pos += 7;
		if (parse_return(p, &ret) != 1)
			goto bad;
	}
	esearch = ret != 0 || s->rev2;
	if (ret == 0 && s->rev2)
		ret = RET_ALL;  /* RFC 9051 6.4.4: ESEARCH ALL by default */
	/* CHARSET (RFC 3501 6.4.4; IMAP4rev2 clients send none) */
	if (p->n - p->pos > 8 && str_ncaseeq(p->s + p->pos, "CHARSET ", 8)) {
		p->pos += 8;
		if (imap_p_astring(p, &cs) != 1 || !imap_p_sp(p)) {
			buf_free(&cs);
			goto bad;
		}
		if (!str_caseeq(buf_str(&cs), "UTF-8") &&
		    !str_caseeq(buf_str(&cs), "US-ASCII")) {
			buf_free(&cs);
			if (ret & RET_SAVE)
				imap_seqset_reset(&s->sel.saved);
			imap_tagged(s, "NO", "[BADCHARSET (US-ASCII UTF-8)] "
			    "Unknown charset");
			return;
		}
		buf_free(&cs);
	}
	q.root = parse_list(s, &q, p, 0, 0);
	if (q.root == NULL)
		goto bad;
	resolve_sets(s, q.root);
	for (i = 0; i < s->sel.n; i++) {
		unsigned long v;

		q.loaded = 0;
		q.floaded = 0;
		if (s->sel.m[i].gone)
			continue;
		if (!test(s, &q, q.root, i))
			continue;
		v = s->uid ? s->sel.m[i].uid : (unsigned long)(i + 1);
		if (seqset_push(&found, v) < 0 ||
		    ((ret & RET_SAVE) && seqset_push(&uids,
		    s->sel.m[i].uid) < 0))
			session_fatal(s, "memory");
		if (count++ == 0) {
			lo = v;
			ulo = s->sel.m[i].uid;
			mlo = s->sel.m[i].modseq;
		}
		hi = v;
		uhi = s->sel.m[i].uid;
		mhi = s->sel.m[i].modseq;
		if (s->sel.m[i].modseq > top)
			top = s->sel.m[i].modseq;
	}
	if (ret & RET_SAVE) {
		/* RFC 5182 2.4: with MIN and/or MAX alone, only those */
		imap_seqset_reset(&s->sel.saved);
		if (!(ret & (RET_ALL | RET_COUNT)) && (ret & (RET_MIN | RET_MAX))) {
			if (count > 0 && (((ret & RET_MIN) &&
			    imap_seqset_add(&s->sel.saved, ulo, ulo) < 0) ||
			    ((ret & RET_MAX) &&
			    imap_seqset_add(&s->sel.saved, uhi, uhi) < 0)))
				session_fatal(s, "memory");
		} else {
			for (i = 0; i < uids.n; i++)
				if (imap_seqset_add(&s->sel.saved, uids.r[i].lo,
				    uids.r[i].hi) < 0)
					session_fatal(s, "memory");
		}
		imap_seqset_resolve(&s->sel.saved, ~0UL);
	}
	if (!esearch) {
		if (buf_cats(&out, "* SEARCH") < 0)
			session_fatal(s, "memory");
		for (i = 0; i < found.n; i++) {
			unsigned long v;

			for (v = found.r[i].lo; ; v++) {
				if (buf_catf(&out, " %lu", v) < 0)
					session_fatal(s, "memory");
				if (v == found.r[i].hi)
					break;
			}
		}
		/* RFC 7162 3.1.5: the highest MODSEQ of the messages found */
		if (q.has_modseq && top > 0 &&
		    buf_catf(&out, " (MODSEQ %llu)", top) < 0)
			session_fatal(s, "memory");
	} else if (ret != RET_SAVE) {
		/* RFC 4731 3.1: MIN, MAX, ALL only when something matched;
		 * RFC 5182 2.4: SAVE alone gives no ESEARCH */
		if (buf_cats(&out, "* ESEARCH (TAG ") < 0 ||
		    imap_put_string(&out, s->tag, strlen(s->tag), 0) < 0 ||
		    buf_catc(&out, ')') < 0 ||
		    (s->uid && buf_cats(&out, " UID") < 0))
			session_fatal(s, "memory");
		if (count > 0 && (ret & RET_MIN) &&
		    buf_catf(&out, " MIN %lu", lo) < 0)
			session_fatal(s, "memory");
		if (count > 0 && (ret & RET_MAX) &&
		    buf_catf(&out, " MAX %lu", hi) < 0)
			session_fatal(s, "memory");
		if ((ret & RET_COUNT) && buf_catf(&out, " COUNT %lu", count) < 0)
			session_fatal(s, "memory");
		if (count > 0 && (ret & RET_ALL)) {
			imap_seqset_resolve(&found, ~0UL);
			if (buf_cats(&out, " ALL ") < 0 ||
			    imap_seqset_format(&found, &out) < 0)
				session_fatal(s, "memory");
		}
		/* RFC 7162 3.1.5: the highest MODSEQ of the messages returned:
		 * with MIN and/or MAX alone, of those */
		if (q.has_modseq && count > 0) {
			unsigned long long ms = top;

			if (!(ret & (RET_ALL | RET_COUNT))) {
				ms = 0;
				if ((ret & RET_MIN) && mlo > ms)
					ms = mlo;
				if ((ret & RET_MAX) && mhi > ms)
					ms = mhi;
			}
			if (buf_catf(&out, " MODSEQ %llu", ms) < 0)
				session_fatal(s, "memory");
		}
	}
	if (out.len > 0) {
		if (buf_cats(&out, "\r\n") < 0)
			session_fatal(s, "memory");
		imap_put(s, out.s, out.len);
	}
	if (q.unreadable) {
		/* RFC 5182 2.1: a SEARCH with SAVE that fails empties $ */
		if (ret & RET_SAVE)
			imap_seqset_reset(&s->sel.saved);
		imap_tagged(s, "NO", "[SERVERBUG] Some messages could not be "
		    "read");
	}
	goto out;
bad:
	/* RFC 5182 2.1: a SEARCH with SAVE that fails leaves $ empty */
	if (ret & RET_SAVE)
		imap_seqset_reset(&s->sel.saved);
	imap_bad_args(s, p);
out:
	imap_seqset_free(&found);
	imap_seqset_free(&uids);
	buf_free(&out);
	node_free(q.root);
	mime_free(&q.mime);
	mime_free(&q.fmime);
	buf_free(&q.fields);
	buf_free(&q.msg);
	buf_free(&q.text);
}
