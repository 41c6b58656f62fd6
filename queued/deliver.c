/*
 * deliver.c: tern-queued's side of the tern-deliverd protocol
 * (lib/queue/dlv.h): which recipient goes next, the requests, the results and
 * the retry schedule.
 *
 * Due messages are taken from the heap and loaded onto the ready list;
 * their due local recipients are sent one request each until
 * local_concurrency requests are out.  Sends never block (MSG_DONTWAIT):
 * when the socket is full the loop waits for POLLOUT, so tern-queued and
 * tern-deliverd can never both wait on each other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "queue/dlv.h"
#include "queue/qfile.h"
#include "queued.h"

time_t
sd_backoff(unsigned attempts)
{
	unsigned long d = (unsigned long)sched.min_backoff;
	unsigned long max = (unsigned long)sched.max_backoff;
	unsigned i;

	/* queue_min_backoff * factor^(attempts-1), capped at the maximum,
	 * plus up to a tenth more so that messages deferred together do
	 * not all come back in the same second */
	for (i = 1; i < attempts && d < max; i++)
		d = d > max / sched.factor ? max : d * sched.factor;
	if (d > max)
		d = max;
	if (d >= 10)
		d += (unsigned long)random() % (d / 10 + 1);
	return (time_t)d;
}

void
sd_ready_add(struct msg *m)
{
	m->ld->ready = 1;
	m->ld->cursor = 0;
	m->ld->rnext = NULL;
	if (sched.ready_tail)
		sched.ready_tail->ld->rnext = m;
	else
		sched.ready = m;
	sched.ready_tail = m;
}

static void
sd_ready_pop(void)
{
	struct msg *m = sched.ready;

	sched.ready = m->ld->rnext;
	if (sched.ready == NULL)
		sched.ready_tail = NULL;
	m->ld->ready = 0;
	m->ld->rnext = NULL;
}

/* A request that cannot be formatted (address too long for the
 * protocol) would fail the same way forever: fail it now. */
static void
sd_unsendable(struct msg *m, size_t i)
{
	struct qrcpt *r = &m->ld->env.rcpt[i];
	char s[LOG_SAFE_MAX];

	r->st = RS_FAILED;
	r->last = sched.now;
	snprintf(r->text, sizeof r->text,
	    "5.1.3 address too long for local delivery");
	m->ld->dirty++;
	log_info("%s failed to=<%s> attempts=%u status=5.1.3 "
	    "reason=\"address too long\"", m->id, sq_safe(s, r->addr),
	    r->attempts);
}

/*
 * Send the next due recipient of m: 1 sent, 0 none left, -1 blocked
 * (local_concurrency reached, or a socket is full: m stays first on the
 * ready list).  A remote recipient goes with the other due recipients of
 * its domain as one job (relay.c), or waits for a slot.
 */
static int
sd_next(struct msg *m)
{
	struct load *ld = m->ld;
	char pkt[DLV_PKT_MAX];
	size_t len;
	int r2;

	if (m->flags & (M_HELD | M_DELETE | M_BOUNCE))
		return 0;
	for (; ld->cursor < ld->env.nrcpt; ld->cursor++) {
		size_t i = ld->cursor;
		struct qrcpt *r = &ld->env.rcpt[i];

		if (r->st != RS_PENDING || (ld->rf[i] & (RF_INFLIGHT |
		    RF_BLOCKED)) || (r->next > sched.now && !ld->flush))
			continue;
		if (!(ld->rf[i] & RF_LOCAL)) {
			if ((r2 = sy_send(m, i)) < 0)
				return -1;
			if (r2 == 0)
				continue;
			ld->cursor++;
			return 1;
		}
		if (sched.inflight >= sched.conc) {
			sched.local_blocked = 1;
			return -1;
		}
		if (!dlv_req_format(pkt, &len, m->id, i, ld->env.body_off,
		    ld->env.sender, r->addr)) {
			sd_unsendable(m, i);
			continue;
		}
		if (dlv_send(sched.sock, pkt, len, ld->fd, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS) {
				sched.sock_blocked = 1;
				return -1;
			}
			sq_persist_all();
			log_fatal("sending to tern-deliverd: %s",
			    strerror(errno));
		}
		ld->rf[i] |= RF_INFLIGHT;
		m->inflight++;
		sched.inflight++;
		ld->cursor++;
		return 1;
	}
	return 0;
}

void
sd_dispatch(void)
{
	size_t loads = 0;
	struct msg *m;
	int r;

	while (!sched.stopping && !sched.sock_blocked && !sched.rsock_blocked &&
	    !sched.local_blocked) {
		if ((m = sched.ready) == NULL) {
			m = heap_top();
			/* the bound on loads guards against a message that is
			 * due but has nothing to send (it would spin) */
			if (m == NULL || m->due > sched.now || loads++ > sched.nmsg)
				break;
			heap_del(m);
			if (sq_load(m) > 0)
				sd_ready_add(m);
			continue;
		}
		r = sd_next(m);
		if (r < 0)
			break;
		if (r == 0) {
			sd_ready_pop();
			if (m->inflight == 0)
				sq_settle(m);
		}
	}
	/* slots left by messages woken that had nothing to send */
	sy_wake_all();
}

/* A temporary failure: retry later, or fail once the message expired
 * (queue_lifetime; bounce_lifetime for mail with the null sender).
 * 1 it failed for good, 0 it will be retried. */
static int
sd_temporary(struct msg *m, struct qrcpt *r, const char *text)
{
	char s[LOG_SAFE_MAX], t[LOG_SAFE_MAX];
	time_t life = m->ld->env.sender[0] == '\0' ? sched.bounce_lifetime :
	    sched.lifetime;

	if (sched.now - m->arrival >= life) {
		/* RFC 3463 4.4.7: delivery time expired */
		struct buf b = BUF_INIT;

		r->st = RS_FAILED;
		/* cut to the state file's text size */
		if (buf_catf(&b, "5.4.7 message expired after %lld days in "
		    "the queue; last error: %s",
		    (long long)(sched.now - m->arrival) / 86400, text) < 0)
			log_fatal("out of memory");
		str_copy(r->text, b.s, sizeof r->text);
		buf_free(&b);
		log_info("%s failed to=<%s> attempts=%u status=5.4.7 "
		    "reason=\"expired: %s\"", m->id, sq_safe(s, r->addr),
		    r->attempts, sq_safe(t, text));
		return 1;
	}
	r->st = RS_PENDING;
	r->next = sched.now + sd_backoff(r->attempts);
	snprintf(r->text, sizeof r->text, "%s", text);
	return 0;
}

/* The log line of a local result (the words tern(7) lists). */
static void
sd_log_local(struct msg *m, struct qrcpt *r, char code, int expired)
{
	char s[LOG_SAFE_MAX], t[LOG_SAFE_MAX];

	if (code == 'K')
		log_info("%s delivered to=<%s> attempts=%u delay=%llds "
		    "status=sent (%s)", m->id, sq_safe(s, r->addr),
		    r->attempts, (long long)(sched.now - m->arrival),
		    sq_safe(t, r->text));
	else if (code == 'D')
		log_info("%s failed to=<%s> attempts=%u reason=\"%s\"", m->id,
		    sq_safe(s, r->addr), r->attempts, sq_safe(t, r->text));
	else if (!expired)
		log_info("%s deferred to=<%s> attempts=%u next=%lld "
		    "reason=\"%s\"", m->id, sq_safe(s, r->addr), r->attempts,
		    (long long)r->next, sq_safe(t, r->text));
}

/* The log line of a remote result: one per recipient with the relay,
 * the TLS version and the reply (SPEC 6). */
static void
sd_log_remote(struct msg *m, struct qrcpt *r, char code, int expired,
    const char *tls)
{
	char s[LOG_SAFE_MAX], t[LOG_SAFE_MAX], rl[LOG_SAFE_MAX];
	char nx[32] = "";

	if (code != 'K' && code != 'D' && !expired)
		snprintf(nx, sizeof nx, " next=%lld", (long long)r->next);
	log_info("%s remote to=<%s> relay=%s delay=%llds attempts=%u tls=%s "
	    "status=%s%s (%s)", m->id, sq_safe(s, r->addr),
	    r->relay[0] ? sq_safe(rl, r->relay) : "none",
	    (long long)(sched.now - m->arrival), r->attempts,
	    tls && tls[0] ? tls : "none", code == 'K' ? "sent" :
	    code == 'D' || expired ? "bounced" : "deferred", nx,
	    sq_safe(t, r->text));
}

void
sd_outcome(struct msg *m, size_t idx, char code, const char *text,
    const char *relay, const char *tls, int dsn)
{
	struct load *ld = m->ld;
	struct qrcpt *r = &ld->env.rcpt[idx];
	int remote = !(ld->rf[idx] & RF_LOCAL), expired = 0;

	ld->rf[idx] &= (unsigned char)~RF_INFLIGHT;
	m->inflight--;
	r->attempts++;
	r->last = sched.now;
	r->next = 0;
	if (remote)
		str_copy(r->relay, relay ? relay : "", sizeof r->relay);
	switch (code) {
	case 'K':
		r->st = RS_DONE;
		snprintf(r->text, sizeof r->text, "%s", text);
		if (remote)
			r->flags |= dsn ? QR_NEXTHOP_DSN : QR_RELAYED;
		break;
	case 'D':
		r->st = RS_FAILED;
		snprintf(r->text, sizeof r->text, "%s", text);
		break;
	default:
		code = 'Z';
		expired = sd_temporary(m, r, text);
		break;
	}
	if (qstate_hist_add(&ld->env, idx, sched.now, code, remote ? relay :
	    NULL, text) < 0)
		log_fatal("out of memory");
	if (remote)
		sd_log_remote(m, r, code, expired, tls);
	else
		sd_log_local(m, r, code, expired);
	ld->dirty++;
	if (m->inflight == 0 && !ld->ready)
		sq_settle(m);
	else if (ld->dirty >= SCHED_PERSIST_EVERY)
		(void)sq_persist(m);
}

static void
sd_result(const struct dlv_reply *rep)
{
	struct msg *m = sq_find(rep->qid);

	if (m == NULL || m->ld == NULL || rep->idx >= m->ld->env.nrcpt ||
	    !(m->ld->rf[rep->idx] & RF_INFLIGHT) ||
	    !(m->ld->rf[rep->idx] & RF_LOCAL)) {
		log_warn("%s unexpected result for recipient %lu ignored",
		    rep->qid, rep->idx);
		return;
	}
	sched.inflight--;
	sched.local_blocked = 0;
	sd_outcome(m, rep->idx, rep->code, rep->text, NULL, NULL, 0);
}

/*
 * Read every reply waiting on the socket.  1 ok, 0 tern-deliverd is
 * gone (EOF), -1 a socket error.
 */
int
sd_replies(void)
{
	char pkt[DLV_PKT_MAX];
	struct dlv_reply rep;
	ssize_t n;
	int fd;

	for (;;) {
		n = dlv_recv(sched.sock, pkt, sizeof pkt, &fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0 && errno == EMSGSIZE) {
			log_warn("tern-deliverd sent an over-long reply");
			continue;
		}
		if (n <= 0)
			return n == 0 ? 0 : -1;
		if (fd >= 0)
			close(fd);  /* replies carry no fd */
		if (!dlv_reply_parse(pkt, (size_t)n, &rep)) {
			char s[LOG_SAFE_MAX];

			log_warn("malformed reply from tern-deliverd: %s",
			    log_safe(s, sizeof s, pkt, (size_t)n));
			continue;
		}
		sd_result(&rep);
	}
}
