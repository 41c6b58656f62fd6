/*
 * bounce.c: what happens to failed recipients when a message leaves
 * the queue.
 *
 *   sender not <>         a DSN (lib/mail/dsn.c) to the sender, queued with
 *                         the null sender through tern-enqueue;
 *   sender <> (a bounce)  a copy to double_bounce_recipient (RFC 5321
 *                         6.1: the postmaster must hear of it), also
 *                         with the null sender;
 *   that one failing too  (sender <>, only the postmaster failed) is
 *                         logged and dropped: nothing may loop.
 * The scheduler never reads message bodies: only the header section (at
 * most DSN_HDR_MAX bytes) is read for the DSN's third part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/dsn.h"
#include "daemon/cfg.h"
#include "queue/enq.h"
#include "queue/qfile.h"
#include "queued.h"

#define ADDR_SIZE 600

/* double_bounce_recipient, qualified with the first local domain. */
static void
sb_postmaster(char *out, size_t outsz)
{
	const char *pm = cfg_str(double_bounce_recipient);
	const char *dom = cfg_list(local_domains, 0);

	if (pm[0] == '\0')
		pm = "postmaster";
	if (strchr(pm, '@') != NULL || dom == NULL)
		str_copy(out, pm, outsz);
	else if (snprintf(out, outsz, "%s@%s", pm, dom) >= (int)outsz)
		str_copy(out, "postmaster", outsz);
}

/* Mark every failed recipient as bounced (or as needing none). */
static void
sb_mark(struct qenv *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].st == RS_FAILED)
			e->rcpt[i].st = RS_BOUNCED;
}

/* Hand the DSN in msg to tern-enqueue: 1 queued, 0 refused, -1 later */
static int
sb_enqueue(const char *id, const char *to, const struct buf *msg)
{
	static struct enq e;  /* large: not on the stack */
	char newid[QID_SIZE], err[ENQ_ERR_MAX], s[LOG_SAFE_MAX];
	int r;

	if (enq_open(&e, sched.enqueue) < 0) {
		log_err("%s cannot run %s: %s", id, sched.enqueue,
		    strerror(errno));
		return -1;
	}
	if (enq_env(&e, 'F', "") < 0 || enq_env(&e, 'R', to) < 0 ||
	    enq_env_end(&e) < 0 || enq_write(&e, msg->s, msg->len) < 0) {
		enq_abort(&e);
		log_err("%s bounce not queued: %s", id, strerror(errno));
		return -1;
	}
	err[0] = '\0';
	r = enq_close(&e, newid, err, sizeof err);
	if (r > 0)
		log_info("%s bounced to=<%s> dsn=%s", id, sq_safe(s, to),
		    newid);
	else
		log_err("%s bounce to=<%s> %s: %s", id, sq_safe(s, to),
		    r == 0 ? "refused" : "not queued (will retry)", err);
	return r;
}

/* Build the DSN for the failed recipients of m into out. */
static int
sb_build(struct msg *m, const char *to, int pm_copy, struct buf *out)
{
	struct qenv *e = &m->ld->env;
	struct dsn_rcpt *dr;
	struct dsn d;
	struct buf hdr = BUF_INIT;
	char (*st)[DSN_STATUS_SIZE];
	size_t i, n = 0;
	int r = -1;

	dr = calloc(e->nrcpt, sizeof *dr);
	st = calloc(e->nrcpt, sizeof *st);
	if (dr == NULL || st == NULL ||
	    dsn_read_headers(m->ld->fd, e->body_off, DSN_HDR_MAX, &hdr) < 0)
		goto out;
	for (i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].st != RS_FAILED)
			continue;
		(void)dsn_status(e->rcpt[i].text, 1, st[n]);
		st[n][0] = '5';  /* "failed" is permanent (RFC 3464 2.3.3) */
		dr[n].addr = e->rcpt[i].addr;
		dr[n].status = st[n];
		dr[n].diag = e->rcpt[i].text;
		dr[n].last = e->rcpt[i].last;
		n++;
	}
	memset(&d, 0, sizeof d);
	d.host = sched.host;
	d.qid = m->id;
	d.to = to;
	d.orig_sender = e->sender;
	d.postmaster_copy = pm_copy;
	d.arrival = e->arrival;
	d.now = sched.now;
	d.rcpt = dr;
	d.nrcpt = n;
	d.hdr = hdr.s;
	d.hlen = hdr.len;
	r = dsn_format(out, &d);
out:
	if (r < 0)
		log_err("%s cannot build a bounce: %s", m->id, strerror(errno));
	buf_free(&hdr);
	free(dr);
	free(st);
	return r;
}

/* 1 if every failed recipient of e is addr (case-insensitive) */
static int
sb_only_to(const struct qenv *e, const char *addr)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].st == RS_FAILED &&
		    !str_caseeq(e->rcpt[i].addr, addr))
			return 0;
	return 1;
}

/*
 * m (loaded) has no pending recipient and some failed ones: bounce.
 * 1 done (failed recipients marked bounced), 0 try again later.
 */
int
sb_finish_failed(struct msg *m)
{
	struct qenv *e = &m->ld->env;
	char to[ADDR_SIZE], s[LOG_SAFE_MAX];
	struct buf msg = BUF_INIT;
	int pm_copy = 0, r;

	if (e->sender[0] != '\0') {
		if (str_copy(to, e->sender, sizeof to) >= sizeof to) {
			log_err("%s bounce not sent: sender too long", m->id);
			sb_mark(e);
			return 1;
		}
	} else {
		sb_postmaster(to, sizeof to);
		if (sb_only_to(e, to)) {
			log_err("%s double bounce to=<%s> undeliverable: "
			    "dropped", m->id, sq_safe(s, to));
			sb_mark(e);
			return 1;
		}
		pm_copy = 1;
	}
	if (sb_build(m, to, pm_copy, &msg) < 0) {
		buf_free(&msg);
		return 0;
	}
	r = sb_enqueue(m->id, to, &msg);
	buf_free(&msg);
	if (r < 0)
		return 0;
	sb_mark(e);
	return 1;
}

int
sb_success(struct msg *m)
{
	(void)m;
	return 1;  /* NOTIFY=SUCCESS notices: not yet */
}

int
sb_delay(struct msg *m)
{
	(void)m;
	return 1;  /* delay warnings: not yet */
}
