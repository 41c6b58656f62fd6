/*
 * qfile_env: the one grammar of envelope lines (lib/queue/qfile.h), used
 * on the way in (tern-enqueue, QENV_INPUT) and on the way out
 * (qfile_read_env, QENV_FILE).  Pure: bytes, length and limits in, a
 * struct qenv out; no I/O and no configuration, so that what tern-enqueue
 * accepts is exactly what the reader accepts (tests/unit/test_qfile.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/str.h"
#include "mail/smtpparse.h"
#include "queue/qfile.h"
#include "queue/qfile_int.h"

#define QUID_MAX 0xffffffffUL

const struct qenv_limits qenv_limits_std = {
	QENV_LINE_MAX, QENV_ADDR_MAX, QENV_HOST_MAX, QENV_LINES_MAX,
};

void
qenv_parse_init(struct qenv_parse *p, enum qenv_mode mode,
    const struct qenv_limits *lim)
{
	memset(p, 0, sizeof *p);
	p->mode = mode;
	p->lim = lim;
}

/* Set *slot to a copy of v[0..n), once: 1, 0 when set before, -1 ENOMEM. */
static int
set_once(char **slot, const char *v, size_t n)
{
	if (*slot)
		return 0;
	return (*slot = strndup(v, n)) ? 1 : -1;
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
	if ((r->addr = strndup(v, n)) == NULL)
		return -1;
	e->nrcpt++;
	return 1;
}

/* 0 with *why, so a caller writes "return bad(why, ...)". */
static int
bad(const char **why, const char *what)
{
	*why = what;
	return 0;
}

/* What set_once and add_rcpt said: 0 (repeated) is malformed. */
static int
once(int r, const char **why, const char *what)
{
	if (r < 0)
		return -1;
	return r ? 1 : bad(why, what);
}

/* The DSN, SMTPUTF8 and 8BITMIME letters (qfile.h).  2: not one of them. */
static int
line_ext(struct qenv *e, char letter, const char *v, size_t vn,
    const char **why)
{
	struct qrcpt *r = e->nrcpt ? &e->rcpt[e->nrcpt - 1] : NULL;

	switch (letter) {
	case 'E':
		if (vn == 0 || vn > SMTP_ENVID_MAX || !smtp_xtext_ok(v, vn))
			return bad(why, "bad E line");
		return once(set_once(&e->envid, v, vn), why, "two E lines");
	case 'W':
		if (e->ret)
			return bad(why, "two W lines");
		return (e->ret = smtp_dsn_ret(v, vn)) ? 1 : bad(why, "bad W line");
	case 'S':
		if (vn != 0)
			return bad(why, "bad S line");
		return e->smtputf8++ ? bad(why, "two S lines") : 1;
	case 'B':
		if (vn != 8 || memcmp(v, "8BITMIME", 8) != 0)
			return bad(why, "bad B line");
		return e->body8++ ? bad(why, "two B lines") : 1;
	case 'N':
		if (r == NULL)
			return bad(why, "N line before any R line");
		if (r->notify)
			return bad(why, "two N lines for one recipient");
		return smtp_dsn_notify(v, vn, &r->notify) ? 1 :
		    bad(why, "bad N line");
	case 'O':
		if (r == NULL)
			return bad(why, "O line before any R line");
		if (!smtp_dsn_orcpt(v, vn))
			return bad(why, "bad O line");
		return once(set_once(&r->orcpt, v, vn), why,
		    "two O lines for one recipient");
	default:
		return 2;
	}
}

/* V, T and U: the reader's; tern-enqueue sets them itself and skips the
 * caller's (qfile.h). */
static int
line_vtu(struct qenv_parse *p, struct qenv *e, const char *s, size_t n,
    const char **why)
{
	unsigned long u;

	if (p->mode == QENV_INPUT)
		return 1;
	switch (s[0]) {
	case 'V':
		if (p->lineno != 1 || n != 2 || s[1] != '1')
			return bad(why, "not a V1 queue file");
		return 1;
	case 'T':
		if (p->seen_t || !str_ulong(s + 1, n - 1, QTIME_MAX, &u))
			return bad(why, "bad T line");
		e->arrival = (time_t)u;
		p->seen_t = 1;
		return 1;
	default:
		if (!str_ulong(s + 1, n - 1, QUID_MAX, &u))
			return bad(why, "bad U line");
		e->uid = (uid_t)u;
		return 1;
	}
}

int
qenv_line(struct qenv_parse *p, struct qenv *e, const char *s, size_t n,
    const char **why)
{
	const struct qenv_limits *lim = p->lim;
	const char *v = s + 1;
	size_t vn = n - 1;
	int r;

	if (++p->lineno > lim->lines_max)
		return bad(why, "too many lines");
	if (n == 0)
		return bad(why, "empty line");
	if (n > lim->line_max)
		return bad(why, "line too long");
	if (!str_printable(s, n))
		return bad(why, "control character");
	if (p->mode == QENV_FILE && p->lineno == 1 && s[0] != 'V')
		return bad(why, "not a V1 queue file");
	switch (s[0]) {
	case 'V':
	case 'T':
	case 'U':
		return line_vtu(p, e, s, n, why);
	case 'F':
		if (vn > lim->addr_max)
			return bad(why, "sender too long");
		return once(set_once(&e->sender, v, vn), why, "two F lines");
	case 'R':
		if (vn == 0)
			return bad(why, "empty recipient");
		if (vn > lim->addr_max)
			return bad(why, "recipient too long");
		if (e->nrcpt >= QFILE_RCPT_MAX)
			return bad(why, "too many recipients");
		return add_rcpt(e, v, vn) < 0 ? -1 : 1;
	case 'I':
	case 'H':
		if (vn > lim->host_max)
			return bad(why, s[0] == 'I' ? "bad I line" : "bad H line");
		return once(set_once(s[0] == 'I' ? &e->client_ip : &e->helo,
		    v, vn), why, s[0] == 'I' ? "two I lines" : "two H lines");
	default:
		r = line_ext(e, s[0], v, vn, why);
		if (r != 2)
			return r;
		/* a later version's field: the reader skips it (forward
		 * compatibility), a client may not invent one */
		return p->mode == QENV_FILE ? 1 : bad(why, "unknown letter");
	}
}

int
qenv_end(const struct qenv_parse *p, const struct qenv *e, const char **why)
{
	if (p->mode == QENV_FILE && !p->seen_t)
		return bad(why, "no T line");
	if (e->sender == NULL)
		return bad(why, "no F line");
	if (e->nrcpt == 0)
		return bad(why, "no R line");
	return 1;
}
