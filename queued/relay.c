/*
 * relay.c: tern-queued's side of the tern-remote protocol
 * (lib/queue/rmt.h): jobs, destinations and their limits.
 *
 * A job is one message and up to remote_max_recipients of its due
 * recipients that share a domain (the destination).  At most
 * remote_concurrency jobs are out at once, and at most
 * destination_concurrency per destination, so one slow or dead
 * destination holds at most its own slots, never the others'.
 *
 * A due recipient whose destination (or the whole transport) is at its
 * limit is marked RF_BLOCKED; when its message settles, the message goes
 * on that destination's wait list (out of the heap, unloaded, so a
 * backlog costs no file descriptors).  When a job ends, waiting messages
 * are woken, one per free slot: put in the heap due now.  `woken` counts
 * those not yet looked at, so a burst of completions never wakes the
 * whole list, and one woken that finds nothing to send leaves its slot
 * to the next (sy_wake_all runs after every dispatch).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "queue/dlv.h"
#include "queue/rmt.h"
#include "queued.h"

#define DTAB_MIN 64

/* ---- destinations ---- */

static size_t
dhash(const char *s)
{
	return str_hash(s, 0);
}

static void
dgrow(void)
{
	size_t nsz = sched.dtabsz ? sched.dtabsz * 2 : DTAB_MIN, i;
	struct dest **nt = calloc(nsz, sizeof *nt), *d, *next;

	if (nt == NULL)
		log_fatal("out of memory for %zu destinations", sched.ndest);
	for (i = 0; i < sched.dtabsz; i++)
		for (d = sched.dtab[i]; d; d = next) {
			next = d->next;
			d->next = nt[dhash(d->name) & (nsz - 1)];
			nt[dhash(d->name) & (nsz - 1)] = d;
		}
	free(sched.dtab);
	sched.dtab = nt;
	sched.dtabsz = nsz;
}

/* The destination of a domain (made when missing; name lower-cased). */
static struct dest *
dest_get(const char *domain)
{
	char name[QENV_ADDR_MAX + 1];
	struct dest *d;
	size_t b;

	str_copy(name, domain, sizeof name);
	str_lower(name, strlen(name));
	if (sched.ndest >= sched.dtabsz)
		dgrow();
	b = dhash(name) & (sched.dtabsz - 1);
	for (d = sched.dtab[b]; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if ((d = calloc(1, sizeof *d)) == NULL ||
	    (d->name = strdup(name)) == NULL)
		log_fatal("out of memory for a destination");
	d->next = sched.dtab[b];
	sched.dtab[b] = d;
	sched.ndest++;
	return d;
}

/* Free d when nothing refers to it any more. */
static void
dest_maybe_free(struct dest *d)
{
	struct dest **pp;

	if (d->inflight || d->wq.head || d->wq.woken)
		return;
	for (pp = &sched.dtab[dhash(d->name) & (sched.dtabsz - 1)]; *pp;
	    pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			free(d->name);
			free(d);
			sched.ndest--;
			return;
		}
}

/* ---- wait lists ---- */

static void
wq_add(struct waitq *q, struct msg *m)
{
	m->wq = q;
	m->wnext = NULL;
	m->wprev = q->tail;
	if (q->tail)
		q->tail->wnext = m;
	else
		q->head = m;
	q->tail = m;
}

static void
wq_del(struct msg *m)
{
	struct waitq *q = m->wq;

	if (q == NULL)
		return;
	if (m->wprev)
		m->wprev->wnext = m->wnext;
	else
		q->head = m->wnext;
	if (m->wnext)
		m->wnext->wprev = m->wprev;
	else
		q->tail = m->wprev;
	m->wq = NULL;
	m->wnext = m->wprev = NULL;
}

/* Take the first waiting message of q into the heap, due now. */
static void
wq_wake(struct waitq *q)
{
	struct msg *m = q->head;

	wq_del(m);
	m->woken = q;
	q->woken++;
	heap_set(m, sched.now);
}

static struct dest *
dest_of_wq(struct waitq *q)
{
	return (struct dest *)((char *)q - offsetof(struct dest, wq));
}

void
sy_unwait(struct msg *m)
{
	struct waitq *q = m->wq;

	wq_del(m);
	if (m->woken != NULL) {
		q = m->woken;
		q->woken--;
		m->woken = NULL;
	}
	if (q != NULL && q != &sched.gwait)
		dest_maybe_free(dest_of_wq(q));
}

static int
global_free(void)
{
	return sched.rinflight + sched.gwait.woken < sched.rconc;
}

static void
dest_wake(struct dest *d)
{
	while (d->wq.head && d->inflight + d->wq.woken < sched.dconc &&
	    global_free())
		wq_wake(&d->wq);
}

void
sy_wake_all(void)
{
	size_t i;
	struct dest *d, *next;

	while (sched.gwait.head && global_free())
		wq_wake(&sched.gwait);
	for (i = 0; i < sched.dtabsz && global_free(); i++)
		for (d = sched.dtab[i]; d; d = next) {
			next = d->next;
			dest_wake(d);
		}
}

int
sy_park(struct msg *m)
{
	struct load *ld = m->ld;

	if (ld->blocked == NULL && !ld->gblocked)
		return 0;
	if (ld->gblocked) {
		wq_add(&sched.gwait, m);
		while (sched.gwait.head && global_free())
			wq_wake(&sched.gwait);
	} else {
		wq_add(&ld->blocked->wq, m);
		dest_wake(ld->blocked);
	}
	return 1;
}

/* ---- jobs ---- */

int
sy_send(struct msg *m, size_t i)
{
	struct load *ld = m->ld;
	struct qenv *e = &ld->env;
	const char *dom = addr_domain(e->rcpt[i].addr);
	struct dest *d;
	struct rjob *rj;
	struct rmt_job j;
	char pkt[RMT_PKT_MAX];
	size_t k, len;

	if (!global_free()) {
		ld->rf[i] |= RF_BLOCKED;
		ld->gblocked = 1;
		return 0;
	}
	d = dest_get(dom);
	if (d->inflight >= sched.dconc) {
		ld->rf[i] |= RF_BLOCKED;
		if (ld->blocked == NULL)
			ld->blocked = d;
		return 0;
	}
	memset(&j, 0, sizeof j);
	memcpy(j.qid, m->id, QID_SIZE);
	str_copy(j.dest, d->name, sizeof j.dest);
	for (k = i; k < e->nrcpt && j.n < sched.rmax &&
	    j.n < RMT_JOB_RCPT_MAX; k++) {
		struct qrcpt *r = &e->rcpt[k];

		if (r->st != RS_PENDING || (ld->rf[k] & (RF_LOCAL |
		    RF_INFLIGHT)) || (r->next > sched.now && !ld->flush) ||
		    !str_caseeq(addr_domain(r->addr), dom))
			continue;
		j.idx[j.n++] = k;
	}
	if (!rmt_job_format(pkt, &len, &j)) {
		/* a domain the protocol cannot carry would fail the same
		 * way forever */
		for (k = 0; k < j.n; k++) {
			struct qrcpt *r = &e->rcpt[j.idx[k]];

			r->st = RS_FAILED;
			r->last = sched.now;
			str_copy(r->text, "5.1.2 bad destination domain",
			    sizeof r->text);
		}
		ld->dirty++;
		log_err("%s cannot make a job for domain %zu bytes long",
		    m->id, strlen(dom));
		dest_maybe_free(d);
		return 0;
	}
	if (dlv_send(sched.rsock, pkt, len, ld->fd, MSG_DONTWAIT) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			sched.rsock_blocked = 1;
			dest_maybe_free(d);
			return -1;
		}
		sq_persist_all();
		log_fatal("sending to tern-remote: %s", strerror(errno));
	}
	if ((rj = calloc(1, sizeof *rj)) == NULL)
		log_fatal("out of memory");
	if (ld->rj == NULL && (ld->rj = calloc(e->nrcpt, sizeof *ld->rj)) ==
	    NULL)
		log_fatal("out of memory");
	rj->d = d;
	rj->left = (unsigned)j.n;
	for (k = 0; k < j.n; k++) {
		ld->rf[j.idx[k]] |= RF_INFLIGHT;
		ld->rf[j.idx[k]] &= (unsigned char)~RF_BLOCKED;
		ld->rj[j.idx[k]] = rj;
	}
	m->inflight += (unsigned)j.n;
	d->inflight++;
	sched.rinflight++;
	return 1;
}

/* One result: the job's count, then the common outcome. */
static void
sy_result(const struct rmt_result *res)
{
	struct msg *m = sq_find(res->qid);
	struct rjob *rj;

	if (m == NULL || m->ld == NULL || res->idx >= m->ld->env.nrcpt ||
	    !(m->ld->rf[res->idx] & RF_INFLIGHT) || m->ld->rj == NULL ||
	    (rj = m->ld->rj[res->idx]) == NULL) {
		log_warn("%s unexpected remote result for recipient %lu "
		    "ignored", res->qid, res->idx);
		return;
	}
	m->ld->rj[res->idx] = NULL;
	if (--rj->left == 0) {
		struct dest *d = rj->d;

		d->inflight--;
		sched.rinflight--;
		free(rj);
		dest_wake(d);
		while (sched.gwait.head && global_free())
			wq_wake(&sched.gwait);
		dest_maybe_free(d);
	}
	sd_outcome(m, res->idx, res->code, res->text, res->relay, res->tls,
	    res->dsn);
}

int
sy_replies(void)
{
	char pkt[RMT_PKT_MAX];
	struct rmt_result res;
	ssize_t n;
	int fd;

	for (;;) {
		n = dlv_recv(sched.rsock, pkt, sizeof pkt, &fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0 && errno == EMSGSIZE) {
			log_warn("tern-remote sent an over-long result");
			continue;
		}
		if (n <= 0)
			return n == 0 ? 0 : -1;
		if (fd >= 0)
			close(fd);
		if (!rmt_result_parse(pkt, (size_t)n, &res)) {
			char s[LOG_SAFE_MAX];

			log_warn("malformed result from tern-remote: %s",
			    log_safe(s, sizeof s, pkt, (size_t)n));
			continue;
		}
		sy_result(&res);
	}
}
