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

#define QSTATE_LINE_MAX (QSTATE_TEXT_MAX + 128)
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
	if (seen[idx])
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
	seen[idx] = 1;
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
		else if (n == 0)
			r = qfile_bad(err, errsz, "empty line", lineno);
		/* other letters: a later version's field, skipped */
	}
	free(seen);
	return r;
}

/* Append text with control characters made into '?' (the TEXT field runs
 * to the end of the line, so it must never hold a LF). */
static int
cat_clean(struct buf *out, const char *s)
{
	size_t i, n = strlen(s);

	if (n > QSTATE_TEXT_MAX)
		n = QSTATE_TEXT_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (buf_catc(out, c < 0x20 || c == 0x7f ? '?' : (char)c) < 0)
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
		    r->last == 0 && r->text[0] == '\0')
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
		    cat_clean(out, r->text) < 0))
			return -1;
		if (buf_catc(out, '\n') < 0)
			return -1;
	}
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
