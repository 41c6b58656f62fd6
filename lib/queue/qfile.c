/*
 * qfile: reads and writes the envelope of mess/ID (lib/queue/qfile.h,
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

#include "util/str.h"
#include "mail/smtpparse.h"
#include "queue/qfile.h"
#include "queue/qfile_int.h"

#define QFILE_READ_STEP 8192

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

int
qfile_read_env(int fd, struct qenv *e, char *err, size_t errsz)
{
	struct buf b = BUF_INIT;
	struct qenv_parse p;
	size_t envlen = 0, pos = 0;
	const char *why;
	int saved, r;

	memset(e, 0, sizeof *e);
	e->uid = (uid_t)-1;
	snprintf(err, errsz, "%s", "out of memory");
	if (read_head(fd, &b, &envlen, err, errsz) < 0)
		goto fail;
	qenv_parse_init(&p, QENV_FILE, &qenv_limits_std);
	while (pos + 1 < envlen) {   /* the last byte is the empty line */
		const char *nl = memchr(b.s + pos, '\n', envlen - pos);
		size_t n = (size_t)(nl - (b.s + pos));

		if ((r = qenv_line(&p, e, b.s + pos, n, &why)) < 0)
			goto fail;
		if (r == 0) {
			qfile_bad(err, errsz, why, p.lineno);
			goto fail;
		}
		pos += n + 1;
	}
	if (qenv_end(&p, e, &why) == 0) {
		qfile_bad(err, errsz, why, 0);
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
	free(e->hist);
	free(e->envid);
	free(e->sender);
	free(e->client_ip);
	free(e->helo);
	memset(e, 0, sizeof *e);
}
