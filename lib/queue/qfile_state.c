/*
 * qfile_state: reads and writes state/ID, the per-recipient delivery
 * state that tern-queued keeps for a message (lib/queue/qfile.h).  Split from
 * qfile.c (the envelope of mess/ID); the same rules apply: every line and
 * number is bounded, a malformed file is EINVAL with a reason.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/str.h"
#include "queue/qfile.h"
#include "queue/qfile_int.h"

/* the longest line is "a IDX TIME C RELAY TEXT" */
#define QSTATE_LINE_MAX (QSTATE_TEXT_MAX + QSTATE_RELAY_MAX + 128)
#define QSTATE_FLAGS_MAX 0xffffUL   /* QR_* bits, room for later ones */
/* seen[] bits per recipient */
#define SEEN_R 0x01
#define SEEN_M 0x02
#define QATTEMPTS_MAX 1000000UL

/* Next space-separated field of s[*pos..n) as a number.  1 ok, 0 bad. */
static int
field_num(const char *s, size_t n, size_t *pos, unsigned long max,
    unsigned long *r)
{
	const char *sp = str_chr(s + *pos, n - *pos, ' ');
	size_t end = sp ? (size_t)(sp - s) : n;

	if (!str_ulong(s + *pos, end - *pos, max, r))
		return 0;
	*pos = sp ? end + 1 : n;
	return 1;
}

/* "r IDX ST ATTEMPTS NEXT LAST[ TEXT]" (s points at the "r").  1/-1. */
static int
state_rcpt(struct qenv *e, const char *s, size_t n, unsigned char *seen,
    unsigned lineno, char *err, size_t errsz)
{
	unsigned long idx, att, next, last;
	size_t pos = 2, tn;
	struct qrcpt *r;
	char st;

	if (n < 2 || s[1] != ' ' || !field_num(s, n, &pos, QFILE_RCPT_MAX, &idx)
	    || idx >= e->nrcpt)
		return qfile_bad(err, errsz, "bad recipient index", lineno);
	if (seen[idx] & SEEN_R)
		return qfile_bad(err, errsz, "recipient repeated", lineno);
	if (pos + 2 > n || s[pos + 1] != ' ' || !strchr("PDFB", s[pos]) ||
	    s[pos] == '\0')
		return qfile_bad(err, errsz, "bad recipient state", lineno);
	st = s[pos];
	pos += 2;
	if (!field_num(s, n, &pos, QATTEMPTS_MAX, &att) ||
	    !field_num(s, n, &pos, QTIME_MAX, &next) ||
	    !field_num(s, n, &pos, QTIME_MAX, &last))
		return qfile_bad(err, errsz, "bad number", lineno);
	seen[idx] |= SEEN_R;
	r = &e->rcpt[idx];
	r->st = st;
	r->attempts = (unsigned)att;
	r->next = (time_t)next;
	r->last = (time_t)last;
	/* the text is informational: a longer one is cut, not an error */
	tn = n - pos;
	if (tn > QSTATE_TEXT_MAX)
		tn = QSTATE_TEXT_MAX;
	memcpy(r->text, s + pos, tn);
	r->text[tn] = '\0';
	return 1;
}

/* The RELAY field at s[*pos..n), up to the next space: "-" is none.
 * 1 ok (out set, *pos past the field and its space), 0 bad. */
static int
field_relay(const char *s, size_t n, size_t *pos, char *out)
{
	const char *sp = str_chr(s + *pos, n - *pos, ' ');
	size_t end = sp ? (size_t)(sp - s) : n, fn = end - *pos;

	if (fn == 0 || fn > QSTATE_RELAY_MAX)
		return 0;
	if (fn == 1 && s[*pos] == '-')
		out[0] = '\0';
	else {
		memcpy(out, s + *pos, fn);
		out[fn] = '\0';
	}
	*pos = sp ? end + 1 : n;
	return 1;
}

/* "m IDX FLAGS RELAY", after the recipient's r line.  1/-1. */
static int
state_meta(struct qenv *e, const char *s, size_t n, unsigned char *seen,
    unsigned lineno, char *err, size_t errsz)
{
	unsigned long idx, flags;
	size_t pos = 2;
	struct qrcpt *r;

	if (n < 2 || s[1] != ' ' || !field_num(s, n, &pos, QFILE_RCPT_MAX, &idx)
	    || idx >= e->nrcpt)
		return qfile_bad(err, errsz, "bad recipient index", lineno);
	if (!(seen[idx] & SEEN_R))
		return qfile_bad(err, errsz, "m line before its r line", lineno);
	if (seen[idx] & SEEN_M)
		return qfile_bad(err, errsz, "m line repeated", lineno);
	if (pos >= n || !field_num(s, n, &pos, QSTATE_FLAGS_MAX, &flags))
		return qfile_bad(err, errsz, "bad flags", lineno);
	r = &e->rcpt[idx];
	if (pos >= n || !field_relay(s, n, &pos, r->relay) || pos != n)
		return qfile_bad(err, errsz, "bad relay", lineno);
	r->flags = (unsigned)flags;
	seen[idx] |= SEEN_M;
	return 1;
}

/* "a IDX TIME C RELAY[ TEXT]": one attempt of the history.  1/-1. */
static int
state_hist(struct qenv *e, const char *s, size_t n, unsigned lineno,
    char *err, size_t errsz)
{
	unsigned long idx, t;
	size_t pos = 2, tn;
	struct qhist h;

	if (n < 2 || s[1] != ' ' || !field_num(s, n, &pos, QFILE_RCPT_MAX, &idx)
	    || idx >= e->nrcpt)
		return qfile_bad(err, errsz, "bad recipient index", lineno);
	if (pos >= n || !field_num(s, n, &pos, QTIME_MAX, &t))
		return qfile_bad(err, errsz, "bad number", lineno);
	if (pos + 2 > n || s[pos + 1] != ' ' || s[pos] == '\0' ||
	    !strchr("KZD", s[pos]))
		return qfile_bad(err, errsz, "bad attempt code", lineno);
	memset(&h, 0, sizeof h);
	h.code = s[pos];
	pos += 2;
	if (!field_relay(s, n, &pos, h.relay))
		return qfile_bad(err, errsz, "bad relay", lineno);
	if (e->nhist >= QSTATE_HIST_MAX)
		return qfile_bad(err, errsz, "too many history lines", lineno);
	tn = n - pos;
	if (tn > QSTATE_TEXT_MAX)
		tn = QSTATE_TEXT_MAX;
	memcpy(h.text, s + pos, tn);
	h.text[tn] = '\0';
	h.idx = idx;
	h.t = (time_t)t;
	if (e->hist == NULL &&
	    (e->hist = calloc(QSTATE_HIST_MAX, sizeof *e->hist)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	e->hist[e->nhist++] = h;
	return 1;
}

int
qstate_parse(struct qenv *e, const char *text, size_t len, char *err,
    size_t errsz)
{
	unsigned char *seen;
	size_t pos = 0;
	unsigned lineno = 0;
	int r = 1;

	if (len < 3 || memcmp(text, "V1\n", 3) != 0)
		return qfile_bad(err, errsz, "not a V1 state file", 0);
	/* the file is the whole history: a second parse does not add to it */
	free(e->hist);
	e->hist = NULL;
	e->nhist = 0;
	if ((seen = calloc(e->nrcpt + 1, 1)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	while (pos < len && r > 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		const char *s = text + pos;
		size_t n;

		lineno++;
		if (nl == NULL) {
			r = qfile_bad(err, errsz, "incomplete last line", lineno);
			break;
		}
		n = (size_t)(nl - s);
		pos += n + 1;
		if (n > QSTATE_LINE_MAX)
			r = qfile_bad(err, errsz, "line too long", lineno);
		else if (!str_printable(s, n))
			r = qfile_bad(err, errsz, "control character", lineno);
		else if (lineno == 1)
			continue;        /* "V1", checked above */
		else if (n == 1 && s[0] == 'H')
			e->held = 1;
		else if (n > 0 && s[0] == 'r')
			r = state_rcpt(e, s, n, seen, lineno, err, errsz);
		else if (n > 0 && s[0] == 'm')
			r = state_meta(e, s, n, seen, lineno, err, errsz);
		else if (n > 0 && s[0] == 'a')
			r = state_hist(e, s, n, lineno, err, errsz);
		else if (n == 0)
			r = qfile_bad(err, errsz, "empty line", lineno);
		/* other letters: a later version's field, skipped */
	}
	free(seen);
	return r;
}

/* Append at most max bytes of s with control characters (and, for a
 * field that ends at a space, spaces) made into '?': the TEXT field runs
 * to the end of the line, so it must never hold a LF. */
static int
cat_clean(struct buf *out, const char *s, size_t max, int field)
{
	size_t i, n = strlen(s);

	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (field && c == ' '))
			c = '?';
		if (buf_catc(out, (char)c) < 0)
			return -1;
	}
	return 1;
}

/* The RELAY field: "-" for none. */
static int
cat_relay(struct buf *out, const char *relay)
{
	if (relay[0] == '\0')
		return buf_catc(out, '-');
	return cat_clean(out, relay, QSTATE_RELAY_MAX, 1);
}

/* "a IDX TIME C RELAY[ TEXT]" for each attempt of the history. */
static int
format_hist(struct buf *out, const struct qenv *e)
{
	size_t i, from = e->nhist > QSTATE_HIST_MAX ?
	    e->nhist - QSTATE_HIST_MAX : 0;

	for (i = from; i < e->nhist; i++) {
		const struct qhist *h = &e->hist[i];

		if (h->idx >= e->nrcpt || !strchr("KZD", h->code) ||
		    h->code == '\0' || h->t < 0) {
			errno = EINVAL;
			return -1;
		}
		if (buf_catf(out, "a %lu %llu %c ", h->idx,
		    (unsigned long long)h->t, h->code) < 0 ||
		    cat_relay(out, h->relay) < 0 ||
		    (h->text[0] && (buf_catc(out, ' ') < 0 ||
		    cat_clean(out, h->text, QSTATE_TEXT_MAX, 0) < 0)) ||
		    buf_catc(out, '\n') < 0)
			return -1;
	}
	return 1;
}

int
qstate_format(struct buf *out, const struct qenv *e)
{
	size_t i;

	if (buf_cats(out, "V1\n") < 0 || (e->held && buf_cats(out, "H\n") < 0))
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpt[i];

		if (r->st == RS_PENDING && r->attempts == 0 && r->next == 0 &&
		    r->last == 0 && r->text[0] == '\0' && r->flags == 0 &&
		    r->relay[0] == '\0')
			continue;   /* fresh: the default, not written */
		if (r->st != RS_PENDING && r->st != RS_DONE &&
		    r->st != RS_FAILED && r->st != RS_BOUNCED) {
			errno = EINVAL;
			return -1;
		}
		if (buf_catf(out, "r %zu %c %u %llu %llu", i, r->st,
		    r->attempts, (unsigned long long)r->next,
		    (unsigned long long)r->last) < 0)
			return -1;
		if (r->text[0] && (buf_catc(out, ' ') < 0 ||
		    cat_clean(out, r->text, QSTATE_TEXT_MAX, 0) < 0))
			return -1;
		if (buf_catc(out, '\n') < 0)
			return -1;
		if (!r->flags && !r->relay[0])
			continue;
		if (r->flags > QSTATE_FLAGS_MAX) {
			errno = EINVAL;
			return -1;
		}
		if (buf_catf(out, "m %zu %u ", i, r->flags) < 0 ||
		    cat_relay(out, r->relay) < 0 || buf_catc(out, '\n') < 0)
			return -1;
	}
	return format_hist(out, e);
}

/* Copy s into out (size max + 1), cut at max, control characters made
 * into '?'. */
static void
copy_clean(char *out, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s != NULL && s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
}

int
qstate_hist_add(struct qenv *e, unsigned long idx, time_t t, char code,
    const char *relay, const char *text)
{
	struct qhist *h;
	size_t i;

	if ((code != 'K' && code != 'Z' && code != 'D') || idx >= e->nrcpt) {
		errno = EINVAL;   /* the reader would refuse the line */
		return -1;
	}
	if (e->hist == NULL &&
	    (e->hist = calloc(QSTATE_HIST_MAX, sizeof *e->hist)) == NULL)
		return -1;
	if (e->nhist >= QSTATE_HIST_MAX) {
		/* the oldest goes: what an admin needs is the latest tries */
		memmove(&e->hist[0], &e->hist[1],
		    (QSTATE_HIST_MAX - 1) * sizeof *e->hist);
		e->nhist = QSTATE_HIST_MAX - 1;
	}
	h = &e->hist[e->nhist++];
	memset(h, 0, sizeof *h);
	h->idx = idx;
	h->t = t;
	h->code = code;
	copy_clean(h->relay, relay, QSTATE_RELAY_MAX);
	/* the relay is a space-separated field of the a line */
	for (i = 0; h->relay[i]; i++)
		if (h->relay[i] == ' ')
			h->relay[i] = '?';
	copy_clean(h->text, text, QSTATE_TEXT_MAX);
	return 1;
}


int
qfile_committed(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	return (st.st_mode & S_IXUSR) != 0;
}
