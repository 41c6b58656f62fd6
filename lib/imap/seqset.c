/*
 * seqset: IMAP sequence sets (RFC 3501 9 sequence-set, RFC 9051 9, and
 * "$" of RFC 5182 SEARCHRES): the parser, and the resolved form that
 * FETCH, STORE, SEARCH and the UID commands test numbers against: sorted,
 * disjoint, non-adjacent ranges with '*' replaced by the largest number
 * in use.  The ranges grow with the command's length only (each takes at
 * least two bytes of it), never with a number read from it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap/parse.h"

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = set->cap = 0;
	set->saved = 0;
}

void
imap_seqset_reset(struct imap_seqset *set)
{
	set->n = 0;
	set->saved = 0;
}

int
imap_seqset_add(struct imap_seqset *set, unsigned long lo, unsigned long hi)
{
	struct imap_range *r;
	size_t cap;

	if (set->n == set->cap) {
		cap = set->cap ? set->cap * 2 : 8;
		if (cap < set->cap || cap > SIZE_MAX / sizeof *r) {
			errno = ENOMEM;
			return -1;
		}
		r = realloc(set->r, cap * sizeof *r);
		if (r == NULL)
			return -1;
		set->r = r;
		set->cap = cap;
	}
	if (lo > hi && hi != IMAP_SEQ_STAR) {
		unsigned long t = lo;

		lo = hi;
		hi = t;
	}
	set->r[set->n].lo = lo;
	set->r[set->n].hi = hi;
	set->n++;
	return 1;
}

/* seq-number = nz-number / "*" */
static int
seq_number(struct imap_p *p, unsigned long *r)
{
	const char *err = p->err;

	if (imap_p_peek(p) == '*') {
		p->pos++;
		*r = IMAP_SEQ_STAR;
		return 1;
	}
	if (!imap_p_nznumber(p, r)) {
		p->err = err;  /* one message for every way to get it wrong */
		return imap_p_fail(p, "Bad sequence set");
	}
	return 1;
}

int
imap_p_seqset(struct imap_p *p, struct imap_seqset *set)
{
	unsigned long lo, hi;

	imap_seqset_reset(set);
	if (imap_p_peek(p) == '$') {  /* RFC 5182 2.1 */
		p->pos++;
		set->saved = 1;
		return 1;
	}
	for (;;) {
		if (!seq_number(p, &lo))
			return 0;
		hi = lo;
		if (imap_p_peek(p) == ':') {
			p->pos++;
			if (!seq_number(p, &hi))
				return 0;
		}
		if (imap_seqset_add(set, lo, hi) < 0)
			return -1;
		if (imap_p_peek(p) != ',')
			return 1;
		p->pos++;
	}
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void
imap_seqset_resolve(struct imap_seqset *set, unsigned long max)
{
	size_t i, k;
	unsigned long lo, hi, t;

	for (i = k = 0; i < set->n; i++) {
		lo = set->r[i].lo;
		hi = set->r[i].hi;
		if (lo == IMAP_SEQ_STAR)
			lo = max;
		if (hi == IMAP_SEQ_STAR)
			hi = max;
		if (lo > hi) {  /* RFC 9051 9: "4:2" is "2:4", "*:4" too */
			t = lo;
			lo = hi;
			hi = t;
		}
		if (lo == 0)  /* '*' of an empty mailbox: matches nothing */
			continue;
		set->r[k].lo = lo;
		set->r[k].hi = hi;
		k++;
	}
	set->n = k;
	if (k == 0)
		return;
	qsort(set->r, k, sizeof *set->r, range_cmp);
	for (i = 1, k = 0; i < set->n; i++) {
		/* overlapping or adjacent (lo >= 1, so lo - 1 is safe) */
		if (set->r[i].lo - 1 <= set->r[k].hi) {
			if (set->r[i].hi > set->r[k].hi)
				set->r[k].hi = set->r[i].hi;
		} else
			set->r[++k] = set->r[i];
	}
	set->n = k + 1;
}

int
imap_seqset_has(const struct imap_seqset *set, unsigned long v)
{
	size_t lo = 0, hi = set->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int
imap_seqset_format(const struct imap_seqset *set, struct buf *out)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (i > 0 && buf_catc(out, ',') < 0)
			return -1;
		if (buf_catu(out, set->r[i].lo) < 0)
			return -1;
		if (set->r[i].hi != set->r[i].lo &&
		    (buf_catc(out, ':') < 0 || buf_catu(out, set->r[i].hi) < 0))
			return -1;
	}
	return 1;
}
