/*
 * qfile: reads and writes the envelope of mess/ID (lib/qfile.h,
 * doc/DESIGN.md "The queue"); state/ID is qfile_state.c.
 *
 * Every file read here may have been damaged by a crash, a full disk or a
 * hand edit, so every line and number is bounded: a malformed file is an
 * EINVAL with a reason, which the scheduler turns into a move to corrupt/.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/qfile.h"
#include "queue/qfile_int.h"
#include "mail/smtpparse.h"
#include "util/str.h"

/* One envelope line, without its LF.  tern-enqueue allows 256 bytes of
 * address (RFC 5321 4.5.3.1.3) and 500 of ORCPT (RFC 3461 4.2); the rest
 * is room for the letter and for later, longer fields. */
#define QFILE_LINE_MAX 1024
#define QFILE_READ_STEP 8192
#define QUID_MAX 0xffffffffUL

int
qfile_bad(char *err, size_t errsz, const char *what, unsigned lineno)
{
	if (lineno)
		snprintf(err, errsz, "line %u: %s", lineno, what);
	else
		snprintf(err, errsz, "%s", what);
	errno = EINVAL;
	return -1;
}

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Read from offset 0 up to and including the empty line that ends the
 * envelope; *envlen_r is the offset of the message.  1 or -1. */
static int
read_head(int fd, struct buf *b, size_t *envlen_r, char *err, size_t errsz)
{
	for (;;) {
		size_t from = b->len ? b->len - 1 : 0;
		const char *p;
		ssize_t r;

		if (buf_ready(b, QFILE_READ_STEP) < 0)
			return -1;
		r = pread(fd, b->s + b->len, QFILE_READ_STEP, (off_t)b->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b->len += (size_t)r;
		b->s[b->len] = '\0';
		/* the envelope starts with "V1\n", so "\n\n" ends it */
		for (p = b->s + from; (p = memchr(p, '\n', b->len -
		    (size_t)(p - b->s))) != NULL; p++) {
			if ((size_t)(p - b->s) + 1 < b->len && p[1] == '\n') {
				*envlen_r = (size_t)(p - b->s) + 2;
				if (*envlen_r > QFILE_ENV_MAX)
					break;
				return 1;
			}
		}
		if (b->len > QFILE_ENV_MAX)
			return qfile_bad(err, errsz, "envelope too large", 0);
		if (r == 0)
			return qfile_bad(err, errsz, "no end of envelope", 0);
	}
}

static int
add_rcpt(struct qenv *e, const char *v, size_t n)
{
	struct qrcpt *r;

	if (e->nrcpt % 64 == 0) {
		r = realloc(e->rcpt, (e->nrcpt + 64) * sizeof *r);
		if (r == NULL)
			return -1;
		e->rcpt = r;
	}
	r = &e->rcpt[e->nrcpt];
	memset(r, 0, sizeof *r);
	r->st = RS_PENDING;
	if ((r->addr = dupn(v, n)) == NULL)
		return -1;
	e->nrcpt++;
	return 1;
}

/* Set *slot to a copy of v, once.  1, 0 when set before, -1 ENOMEM. */
static int
set_once(char **slot, const char *v, size_t n)
{
	if (*slot)
		return 0;
	return (*slot = dupn(v, n)) ? 1 : -1;
}

/* The DSN and SMTPUTF8 letters (qfile.h): 1 ok, 0 repeated, -1 ENOMEM,
 * -2 a bad value, 3 not one of them. */
static int
env_line_ext(struct qenv *e, char letter, const char *v, size_t vn)
{
	struct qrcpt *r = e->nrcpt ? &e->rcpt[e->nrcpt - 1] : NULL;

	switch (letter) {
	case 'E':
		if (vn == 0 || vn > SMTP_ENVID_MAX || !smtp_xtext_ok(v, vn))
			return -2;
		return set_once(&e->envid, v, vn);
	case 'W':
		if (e->ret)
			return 0;
		return (e->ret = smtp_dsn_ret(v, vn)) ? 1 : -2;
	case 'S':
		return e->smtputf8++ ? 0 : 1;
	case 'B':
		if (vn != 8 || memcmp(v, "8BITMIME", 8) != 0)
			return -2;
		return e->body8++ ? 0 : 1;
	case 'N':
		if (r == NULL || r->notify)
			return r ? 0 : -2;
		return smtp_dsn_notify(v, vn, &r->notify) ? 1 : -2;
	case 'O':
		if (r == NULL || !smtp_dsn_orcpt(v, vn))
			return -2;
		return set_once(&r->orcpt, v, vn);
	default:
		return 3;
	}
}

/* One envelope line s[0..n) (no LF).  1 ok, -1 (err set unless ENOMEM). */
static int
env_line(struct qenv *e, const char *s, size_t n, unsigned lineno,
    int *seen_t, char *err, size_t errsz)
{
	unsigned long u;
	const char *v = s + 1;
	size_t vn = n - 1;
	int r = 1;

	if (n == 0)
		return qfile_bad(err, errsz, "empty line", lineno);
	if (n > QFILE_LINE_MAX)
		return qfile_bad(err, errsz, "line too long", lineno);
	if (!str_printable(s, n))
		return qfile_bad(err, errsz, "control character", lineno);
	if (lineno == 1 || s[0] == 'V') {
		if (lineno != 1 || n != 2 || s[0] != 'V' || s[1] != '1')
			return qfile_bad(err, errsz, "not a V1 queue file", lineno);
		return 1;
	}
	switch (s[0]) {
	case 'T':
		if (*seen_t || !str_ulong(v, vn, QTIME_MAX, &u))
			return qfile_bad(err, errsz, "bad T line", lineno);
		e->arrival = (time_t)u;
		*seen_t = 1;
		break;
	case 'U':
		if (!str_ulong(v, vn, QUID_MAX, &u))
			return qfile_bad(err, errsz, "bad U line", lineno);
		e->uid = (uid_t)u;
		break;
	case 'F':
		r = set_once(&e->sender, v, vn);
		break;
	case 'R':
		if (vn == 0)
			return qfile_bad(err, errsz, "empty recipient", lineno);
		if (e->nrcpt >= QFILE_RCPT_MAX)
			return qfile_bad(err, errsz, "too many recipients", lineno);
		r = add_rcpt(e, v, vn);
		break;
	case 'I':
		r = set_once(&e->client_ip, v, vn);
		break;
	case 'H':
		r = set_once(&e->helo, v, vn);
		break;
	default:
		r = env_line_ext(e, s[0], v, vn);
		if (r == -2)
			return qfile_bad(err, errsz, "bad DSN or SMTPUTF8 line", lineno);
		if (r == 3)
			r = 1;   /* a later version's field: skipped, qfile.h */
		break;
	}
	if (r == 0)
		return qfile_bad(err, errsz, "repeated line", lineno);
	return r < 0 ? -1 : 1;
}

int
qfile_read_env(int fd, struct qenv *e, char *err, size_t errsz)
{
	struct buf b = BUF_INIT;
	size_t envlen = 0, pos = 0;
	unsigned lineno = 0;
	int seen_t = 0, saved;

	memset(e, 0, sizeof *e);
	e->uid = (uid_t)-1;
	snprintf(err, errsz, "%s", "out of memory");
	if (read_head(fd, &b, &envlen, err, errsz) < 0)
		goto fail;
	while (pos + 1 < envlen) {   /* the last byte is the empty line */
		const char *nl = memchr(b.s + pos, '\n', envlen - pos);
		size_t n = (size_t)(nl - (b.s + pos));

		if (++lineno > QFILE_RCPT_MAX + 64) {
			qfile_bad(err, errsz, "too many lines", lineno);
			goto fail;
		}
		if (env_line(e, b.s + pos, n, lineno, &seen_t, err, errsz) < 0)
			goto fail;
		pos += n + 1;
	}
	if (!seen_t || e->sender == NULL || e->nrcpt == 0) {
		qfile_bad(err, errsz, !seen_t ? "no T line" : e->sender == NULL ?
		    "no F line" : "no R line", 0);
		goto fail;
	}
	e->body_off = (off_t)envlen;
	buf_free(&b);
	if (errsz)
		err[0] = '\0';
	return 1;
fail:
	saved = errno;
	buf_free(&b);
	qenv_free(e);
	errno = saved;
	return -1;
}

/* "L<value>\n" for a value without control characters (the reader
 * rejects them).  1 or -1 (EINVAL). */
static int
put_line(struct buf *out, char letter, const char *v)
{
	if (!str_printable(v, strlen(v))) {
		errno = EINVAL;
		return -1;
	}
	if (buf_catc(out, letter) < 0 || buf_cats(out, v) < 0 ||
	    buf_catc(out, '\n') < 0)
		return -1;
	return 1;
}

/* "N<notify>\n" in the canonical order of qfile.h, or nothing for 0. */
static int
put_notify(struct buf *out, unsigned f)
{
	static const struct { unsigned flag; const char *name; } w[] = {
		{ SMTP_NOTIFY_NEVER, "NEVER" },
		{ SMTP_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" },
	};
	size_t i;
	int first = 1;

	if (f == 0)
		return 1;
	if (buf_catc(out, 'N') < 0)
		return -1;
	for (i = 0; i < sizeof w / sizeof w[0]; i++) {
		if (!(f & w[i].flag))
			continue;
		if ((!first && buf_catc(out, ',') < 0) ||
		    buf_cats(out, w[i].name) < 0)
			return -1;
		first = 0;
	}
	return buf_catc(out, '\n');
}

int
qfile_format_env(struct buf *out, const struct qenv *e)
{
	size_t i;

	if (e->sender == NULL || e->nrcpt == 0 || e->nrcpt > QFILE_RCPT_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (buf_cats(out, "V1\nT") < 0 ||
	    buf_catu(out, (unsigned long long)e->arrival) < 0 ||
	    buf_cats(out, "\nU") < 0 ||
	    buf_catu(out, (unsigned long long)e->uid) < 0 ||
	    buf_catc(out, '\n') < 0 || put_line(out, 'F', e->sender) < 0)
		return -1;
	if ((e->envid && put_line(out, 'E', e->envid) < 0) ||
	    (e->ret && put_line(out, 'W', e->ret == 'F' ? "FULL" : "HDRS") < 0)
	    || (e->smtputf8 && put_line(out, 'S', "") < 0) ||
	    (e->body8 && put_line(out, 'B', "8BITMIME") < 0))
		return -1;
	for (i = 0; i < e->nrcpt; i++)
		if (put_line(out, 'R', e->rcpt[i].addr) < 0 ||
		    put_notify(out, e->rcpt[i].notify) < 0 ||
		    (e->rcpt[i].orcpt && put_line(out, 'O',
		    e->rcpt[i].orcpt) < 0))
			return -1;
	if (e->client_ip && put_line(out, 'I', e->client_ip) < 0)
		return -1;
	if (e->helo && put_line(out, 'H', e->helo) < 0)
		return -1;
	return buf_catc(out, '\n');
}

void
qenv_free(struct qenv *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].orcpt);
	}
	free(e->rcpt);
	free(e->envid);
	free(e->sender);
	free(e->client_ip);
	free(e->helo);
	memset(e, 0, sizeof *e);
}
