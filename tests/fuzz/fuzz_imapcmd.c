/*
 * fuzz_imapcmd: lib/imap's syntax layer (parse.c, seqset.c, mutf7.c,
 * imapdate.c, listmatch.c) on arbitrary bytes taken as one assembled
 * command.  Each token reader runs in a loop over a fresh cursor; the
 * sequence set goes through resolve / has / format and parses back the
 * same; modified UTF-7 must round-trip exactly both ways; LIST matching is
 * compared with a plain backtracking matcher on short inputs; dates parse
 * back from their own format.  Invariants are checked with abort() so
 * that the plain driver sees them too.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/parse.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct buf out = BUF_INIT, out2 = BUF_INIT;

enum { R_TAG, R_ATOM, R_ASTRING, R_STRING, R_NSTRING, R_NUMBER, R_NZ,
	R_NUM64, R_LITERAL, R_FLAG, R_MAILBOX, R_LISTMB, R_SEQSET, R_DATE,
	R_DATETIME, R_CHAR, R_COUNT };

static int
read_one(struct imap_p *p, int kind, struct imap_seqset *set)
{
	const char *s = NULL;
	size_t n = 0;
	unsigned long u;
	unsigned long long v;
	long long t;
	int r, x, y, z;

	switch (kind) {
	case R_TAG: r = imap_p_tag(p, &s, &n); break;
	case R_ATOM: r = imap_p_atom(p, &s, &n); break;
	case R_ASTRING: r = imap_p_astring(p, &out); break;
	case R_STRING: r = imap_p_string(p, &out); break;
	case R_NSTRING: r = imap_p_nstring(p, &out, &x); break;
	case R_NUMBER: r = imap_p_number(p, &u); break;
	case R_NZ:
		r = imap_p_nznumber(p, &u);
		if (r == 1 && u == 0)
			abort();
		break;
	case R_NUM64:
		r = imap_p_number64(p, &v);
		if (r == 1 && v > 9223372036854775807ULL)
			abort();
		break;
	case R_LITERAL: r = imap_p_literal(p, &s, &n, &x); break;
	case R_FLAG: r = imap_p_flag(p, &s, &n); break;
	case R_MAILBOX: r = imap_p_mailbox(p, &out); break;
	case R_LISTMB: r = imap_p_list_mailbox(p, &out); break;
	case R_SEQSET: r = imap_p_seqset(p, set); break;
	case R_DATE:
		r = imap_p_date(p, &x, &y, &z);
		if (r == 1 && !imap_date_valid(x, y, z))
			abort();
		break;
	case R_DATETIME: r = imap_p_datetime(p, &t); break;
	default: r = imap_p_char(p, '('); break;
	}
	if (s != NULL && (s < p->s || n > p->n || s + n > p->s + p->n))
		abort();
	if (r == 1 && out.s != NULL && out.s[out.len] != '\0')
		abort();
	if ((kind == R_ASTRING || kind == R_STRING) && r == 1 &&
	    memchr(out.s ? out.s : "", '\0', out.len) != NULL)
		abort();
	return r;
}

static void
readers(const char *d, size_t size, struct imap_seqset *set)
{
	struct imap_p p;
	size_t before, steps;
	int kind, r;

	for (kind = 0; kind < R_COUNT; kind++) {
		imap_p_init(&p, d, size);
		for (steps = 0; steps <= size; steps++) {
			before = p.pos;
			r = read_one(&p, kind, set);
			if (p.pos > size || (r == 0 && p.err == NULL))
				abort();
			if (r != 1)
				break;
			if (p.pos <= before || p.err != NULL)
				abort();
			while (imap_p_peek(&p) == ' ' || imap_p_peek(&p) == ')')
				p.pos++;
			if (imap_p_end(&p))
				break;
		}
	}
}

static void
check_set(const struct imap_seqset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->r[i].lo == 0 || set->r[i].lo > set->r[i].hi)
			abort();
		if (i > 0 && set->r[i].lo <= set->r[i - 1].hi + 1)
			abort();
		if (!imap_seqset_has(set, set->r[i].lo) ||
		    !imap_seqset_has(set, set->r[i].hi) ||
		    imap_seqset_has(set, set->r[i].lo - 1) ||
		    imap_seqset_has(set, set->r[i].hi + 1))
			abort();
	}
}

static void
seqsets(const char *d, size_t size)
{
	static const unsigned long maxes[] = { 0, 1, 100, 4294967295UL };
	struct imap_seqset set = IMAP_SEQSET_INIT, again = IMAP_SEQSET_INIT;
	struct imap_p p;
	size_t k, i;

	for (k = 0; k < sizeof maxes / sizeof maxes[0]; k++) {
		imap_p_init(&p, d, size);
		if (imap_p_seqset(&p, &set) != 1 || set.saved)
			break;
		imap_seqset_resolve(&set, maxes[k]);
		check_set(&set);
		buf_reset(&out2);
		if (imap_seqset_format(&set, &out2) < 0)
			abort();
		if (set.n == 0)
			continue;
		imap_p_init(&p, out2.s, out2.len);
		if (imap_p_seqset(&p, &again) != 1 || !imap_p_end(&p))
			abort();
		imap_seqset_resolve(&again, maxes[k]);
		if (again.n != set.n)
			abort();
		for (i = 0; i < set.n; i++)
			if (again.r[i].lo != set.r[i].lo ||
			    again.r[i].hi != set.r[i].hi)
				abort();
	}
	imap_seqset_free(&set);
	imap_seqset_free(&again);
}

static void
mutf7(const char *d, size_t size)
{
	if (imap_mutf7_decode(d, size, &out) == 1) {
		if (!imap_utf8_valid(out.s ? out.s : "", out.len) ||
		    imap_mutf7_encode(out.s ? out.s : "", out.len, &out2) != 1 ||
		    out2.len != size || (size > 0 && memcmp(out2.s, d, size)))
			abort();
	}
	if (imap_mutf7_encode(d, size, &out) == 1) {
		if (!imap_utf8_valid(d, size))
			abort();
		if (memchr(d, '\0', size) == NULL &&
		    (imap_mutf7_decode(out.s, out.len, &out2) != 1 ||
		    out2.len != size || (size > 0 && memcmp(out2.s, d, size))))
			abort();
	} else if (imap_utf8_valid(d, size))
		abort();
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* the plain backtracking matcher, for short inputs */
static int
ref_match(const char *pt, size_t pl, const char *nm, size_t nl, size_t j,
    char sep, int inbox)
{
	size_t k;

	if (pl == 0)
		return nl == j;
	if (*pt == '*' || *pt == '%') {
		for (k = j; k <= nl; k++) {
			if (ref_match(pt + 1, pl - 1, nm, nl, k, sep, inbox))
				return 1;
			if (k < nl && *pt == '%' && sep != '\0' && nm[k] == sep)
				return 0;
		}
		return 0;
	}
	if (j >= nl)
		return 0;
	if (*pt != nm[j] && !(inbox && j < 5 &&
	    lower((unsigned char)*pt) == lower((unsigned char)nm[j])))
		return 0;
	return ref_match(pt + 1, pl - 1, nm, nl, j + 1, sep, inbox);
}

static void
listmatch(const char *d, size_t size)
{
	const char *pat, *name, *cut;
	size_t plen, nlen;
	char sep, child[32];
	int m, pre, inbox;

	if (size < 1)
		return;
	sep = "/./\0"[(unsigned char)d[0] % 4];
	pat = d + 1;
	cut = memchr(pat, '\xff', size - 1);
	plen = cut ? (size_t)(cut - pat) : size - 1;
	name = cut ? cut + 1 : pat + plen;
	nlen = size - 1 - plen - (cut ? 1 : 0);
	m = imap_list_match(pat, plen, name, nlen, sep, &pre);
	if (plen > IMAP_LIST_MAX || nlen > IMAP_LIST_MAX) {
		if (m || pre)
			abort();
		return;
	}
	if ((m != 0 && m != 1) || (pre && sep == '\0'))
		abort();
	if (plen > 8 || nlen > 8)
		return;
	inbox = nlen >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (nlen == 5 || (sep != '\0' && name[5] == sep));
	if (m != ref_match(pat, plen, name, nlen, 0, sep, inbox))
		abort();
	if (sep == '\0' || nlen + 2 > sizeof child)
		return;
	/* a child "name" sep "x"... that matches means pre */
	memcpy(child, name, nlen);
	child[nlen] = sep;
	child[nlen + 1] = 'x';
	if (imap_list_match(pat, plen, child, nlen + 2, sep, NULL) && !pre)
		abort();
}

static void
dates(const char *d, size_t size)
{
	struct imap_p p;
	long long t, t2;
	unsigned long long len;
	int ns;

	imap_p_init(&p, d, size);
	if (imap_p_datetime(&p, &t) == 1 &&
	    t >= imap_days_from_civil(1, 1, 1) * 86400 &&
	    t < imap_days_from_civil(9999, 1, 1) * 86400) {
		buf_reset(&out2);
		if (imap_datetime_fmt(&out2, t, 0) != 1)
			abort();
		imap_p_init(&p, out2.s, out2.len);
		if (imap_p_datetime(&p, &t2) != 1 || t2 != t || !imap_p_end(&p))
			abort();
	}
	(void)imap_rfc5322_date(d, size, &t, NULL);
	if (imap_literal_tail(d, size, &len, &ns) == 1 &&
	    len > 9999999999ULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *d = (const char *)data;
	struct imap_seqset set = IMAP_SEQSET_INIT;

	readers(d, size, &set);
	imap_seqset_free(&set);
	seqsets(d, size);
	mutf7(d, size);
	listmatch(d, size);
	dates(d, size);
	return 0;
}
