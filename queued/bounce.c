/*
 * bounce.c: the delivery status notifications of tern-queued (RFC 3461
 * semantics, RFC 3464 format, built by lib/mail/dsn.c).
 *
 *   failed     when a message leaves the queue with failed recipients:
 *              one report for those whose NOTIFY asks for it (FAILURE,
 *              or no NOTIFY at all: RFC 3461 4.1's default); NOTIFY=NEVER
 *              or a NOTIFY without FAILURE gets none.
 *   delayed    once delay_warning_time has passed since arrival: one
 *              warning for the pending recipients that were attempted
 *              and want it (DELAY, or no NOTIFY), each warned once
 *              (QR_WARNED).
 *   delivered  NOTIFY=SUCCESS recipients delivered locally, each once
 *   relayed    (QR_NOTIFIED); "relayed" when a next hop without DSN took
 *              it (QR_RELAYED); none when the next hop took our NOTIFY
 *              (QR_NEXTHOP_DSN: its notice, RFC 3461 5.2.2).
 *
 * Every notice is queued with the null sender through tern-enqueue (RFC
 * 5321 4.5.5), so none ever causes another notice to a sender.  Mail with
 * the null sender gets no notice at all, except that its failure goes to
 * double_bounce_recipient (RFC 5321 6.1: the postmaster must hear of
 * it) regardless of NOTIFY; that copy failing too (the postmaster was
 * the only failed recipient) is logged and dropped: nothing may loop.
 * The scheduler reads no message body except for a failed report with
 * RET=FULL (at most DSN_FULL_MAX bytes); otherwise only the header
 * section (at most DSN_HDR_MAX bytes) is read for the third part.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/dsn.h"
#include "mail/smtpparse.h"
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

/* RFC 3461 4.1: what a recipient's NOTIFY asks for; no NOTIFY means
 * failure and delay notices (the "MAY" of delay taken), never success. */
static int
sb_wants_failure(const struct qrcpt *r)
{
	return r->notify == 0 || (r->notify & SMTP_NOTIFY_FAILURE);
}

static int
sb_wants_delay(const struct qrcpt *r)
{
	return r->notify == 0 || (r->notify & SMTP_NOTIFY_DELAY);
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

/* 1 if s has a byte outside ASCII */
static int
sb_nonascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/*
 * Hand the notice in msg to tern-enqueue: 1 queued, 0 refused, -1 later.
 * The notice holds the original's bytes (its header section at least):
 * 8BITMIME when the original had 8-bit content, SMTPUTF8 when the
 * address it goes to needs it.
 */
static int
sb_enqueue(const struct msg *m, const char *to, enum dsn_action act,
    size_t n, const struct buf *msg)
{
	static struct enq q;  /* large: not on the stack */
	const struct qenv *e = &m->ld->env;
	char newid[QID_SIZE], err[ENQ_ERR_MAX], s[LOG_SAFE_MAX];
	const char *what = act == DSN_FAILED ? "bounce" : "notice";
	int r;

	if (enq_open(&q, sched.enqueue) < 0) {
		log_err("%s cannot run %s: %s", m->id, sched.enqueue,
		    strerror(errno));
		return -1;
	}
	if (enq_env(&q, 'F', "") < 0 ||
	    ((e->body8 || e->smtputf8) && enq_env(&q, 'B', "8BITMIME") < 0) ||
	    (e->smtputf8 && sb_nonascii(to) && enq_env(&q, 'S', "") < 0) ||
	    enq_env(&q, 'R', to) < 0 || enq_env_end(&q) < 0 ||
	    enq_write(&q, msg->s, msg->len) < 0) {
		enq_abort(&q);
		log_err("%s %s not queued: %s", m->id, what, strerror(errno));
		return -1;
	}
	err[0] = '\0';
	r = enq_close(&q, newid, err, sizeof err);
	if (r > 0 && act == DSN_FAILED)
		log_info("%s bounced to=<%s> dsn=%s", m->id, sq_safe(s, to),
		    newid);
	else if (r > 0)
		log_info("%s notice action=%s to=<%s> dsn=%s nrcpt=%zu", m->id,
		    dsn_action_name(act), sq_safe(s, to), newid, n);
	else
		log_err("%s %s action=%s to=<%s> %s: %s", m->id, what,
		    dsn_action_name(act), sq_safe(s, to), r == 0 ? "refused" :
		    "not queued (will retry)", err);
	return r;
}

/* The RFC 3463 code of a recipient's last result, of the class act
 * reports: 5 for failed, 4 for delayed, 2 for delivered and relayed. */
static void
sb_status(const struct qrcpt *r, enum dsn_action act,
    char st[DSN_STATUS_SIZE])
{
	char cls = act == DSN_FAILED ? '5' : act == DSN_DELAYED ? '4' : '2';

	if (act == DSN_DELIVERED) {
		str_copy(st, "2.0.0", DSN_STATUS_SIZE);
		return;
	}
	if (dsn_status(r->text, act == DSN_FAILED, st) == 0 || st[0] != cls) {
		/* "failed" is permanent (RFC 3464 2.3.3) whatever the last
		 * text said (an expired message's last try was temporary) */
		if (act == DSN_FAILED && st[0] == '4')
			st[0] = '5';
		else if (st[0] != cls)
			str_copy(st, cls == '2' ? "2.0.0" : cls == '4' ?
			    "4.0.0" : "5.0.0", DSN_STATUS_SIZE);
	}
}

/*
 * Build the notice act for the recipients of m with sel[i] set, to to,
 * and queue it.  1 queued (or refused: nothing will ever take it), 0 try
 * again later.
 */
static int
sb_notice(struct msg *m, enum dsn_action act, const unsigned char *sel,
    const char *to, int pm_copy)
{
	struct qenv *e = &m->ld->env;
	struct dsn_rcpt *dr;
	struct dsn d;
	struct buf orig = BUF_INIT, out = BUF_INIT;
	char (*st)[DSN_STATUS_SIZE];
	size_t i, n = 0;
	int r = -1;

	memset(&d, 0, sizeof d);
	d.ret = DSN_RET_HDRS;
	dr = calloc(e->nrcpt, sizeof *dr);
	st = calloc(e->nrcpt, sizeof *st);
	if (dr == NULL || st == NULL)
		goto out;
	/* RFC 3461 4.3: RET=FULL is for failed notices; our default (and
	 * what every other notice returns) is the header section */
	if (act == DSN_FAILED && e->ret == 'F') {
		r = dsn_read_message(m->ld->fd, e->body_off, DSN_FULL_MAX,
		    &orig);
		if (r < 0)
			goto out;
		d.ret = r > 0 ? DSN_RET_FULL : DSN_RET_TOO_BIG;
		r = -1;
	}
	if (d.ret != DSN_RET_FULL &&
	    dsn_read_headers(m->ld->fd, e->body_off, DSN_HDR_MAX, &orig) < 0)
		goto out;
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *q = &e->rcpt[i];

		if (!sel[i])
			continue;
		sb_status(q, act, st[n]);
		dr[n].addr = q->addr;
		dr[n].orcpt = q->orcpt;
		dr[n].status = st[n];
		/* a local delivery's text names the mailbox path: not for
		 * the sender's eyes */
		dr[n].diag = act == DSN_DELIVERED ? NULL : q->text;
		dr[n].relay = q->relay;
		dr[n].last = q->last;
		if (act == DSN_DELAYED)
			dr[n].until = e->arrival + sched.lifetime;
		n++;
	}
	d.action = act;
	d.host = sched.host;
	d.qid = m->id;
	d.to = to;
	d.orig_sender = e->sender;
	d.postmaster_copy = pm_copy;
	d.envid = e->envid;
	d.arrival = e->arrival;
	d.now = sched.now;
	d.rcpt = dr;
	d.nrcpt = n;
	d.orig = orig.s;
	d.olen = orig.len;
	r = dsn_format(&out, &d);
out:
	free(dr);
	free(st);
	buf_free(&orig);
	if (r < 0) {
		log_err("%s cannot build a %s notice: %s", m->id,
		    dsn_action_name(act), strerror(errno));
		buf_free(&out);
		return 0;
	}
	r = sb_enqueue(m, to, act, n, &out);
	buf_free(&out);
	return r >= 0;
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
	unsigned char *sel;
	size_t i, want = 0, failed = 0;
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
	sel = calloc(e->nrcpt, 1);
	if (sel == NULL) {
		log_err("%s cannot build a bounce: %s", m->id, strerror(errno));
		return 0;
	}
	for (i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].st != RS_FAILED)
			continue;
		failed++;
		/* the postmaster's copy is for the operator, whatever the
		 * (null) sender asked for */
		if (pm_copy || sb_wants_failure(&e->rcpt[i])) {
			sel[i] = 1;
			want++;
		}
	}
	if (want == 0) {
		log_info("%s no bounce: NOTIFY of failed=%zu asks for none",
		    m->id, failed);
		free(sel);
		sb_mark(e);
		return 1;
	}
	r = sb_notice(m, DSN_FAILED, sel, to, pm_copy);
	free(sel);
	if (r == 0)
		return 0;
	sb_mark(e);
	return 1;
}

/*
 * Select the recipients of a success or delay notice with pick, queue
 * the notice to the sender and set flag on them.  1 done or nothing to
 * do, 0 try again later.
 */
static int
sb_flagged(struct msg *m, enum dsn_action act, unsigned flag,
    int (*pick)(const struct qrcpt *, enum dsn_action))
{
	struct qenv *e = &m->ld->env;
	unsigned char *sel;
	size_t i, n = 0;
	int r;

	if (e->sender[0] == '\0')
		return 1;  /* never a notice to <> */
	for (i = 0; i < e->nrcpt; i++)
		n += pick(&e->rcpt[i], act);
	if (n == 0)
		return 1;
	sel = calloc(e->nrcpt, 1);
	if (sel == NULL) {
		log_err("%s cannot build a %s notice: %s", m->id,
		    dsn_action_name(act), strerror(errno));
		return 0;
	}
	for (i = 0; i < e->nrcpt; i++)
		sel[i] = (unsigned char)pick(&e->rcpt[i], act);
	r = sb_notice(m, act, sel, e->sender, 0);
	if (r > 0) {
		for (i = 0; i < e->nrcpt; i++)
			if (sel[i])
				e->rcpt[i].flags |= flag;
		m->ld->dirty++;
	}
	free(sel);
	return r;
}

/* A delivered recipient owed a success notice of kind act. */
static int
sb_pick_success(const struct qrcpt *r, enum dsn_action act)
{
	if (r->st != RS_DONE || !(r->notify & SMTP_NOTIFY_SUCCESS) ||
	    (r->flags & (QR_NOTIFIED | QR_NEXTHOP_DSN)))
		return 0;
	/* RFC 3464 2.3.3: "relayed" when the next hop takes no DSN; a
	 * remote delivery with a relay but neither flag is a next hop that
	 * took it without our NOTIFY either: also relayed */
	if (r->flags & QR_RELAYED || r->relay[0] != '\0')
		return act == DSN_RELAYED;
	return act == DSN_DELIVERED;
}

int
sb_success(struct msg *m)
{
	int a = sb_flagged(m, DSN_DELIVERED, QR_NOTIFIED, sb_pick_success);
	int b = sb_flagged(m, DSN_RELAYED, QR_NOTIFIED, sb_pick_success);

	return a && b;
}

/* A pending recipient owed a delay warning. */
static int
sb_pick_delay(const struct qrcpt *r, enum dsn_action act)
{
	(void)act;
	return r->st == RS_PENDING && r->attempts > 0 &&
	    !(r->flags & QR_WARNED) && sb_wants_delay(r);
}

int
sb_delay(struct msg *m)
{
	if (sched.delay_warning <= 0 ||
	    sched.now - m->ld->env.arrival < sched.delay_warning)
		return 1;
	return sb_flagged(m, DSN_DELAYED, QR_WARNED, sb_pick_delay);
}
