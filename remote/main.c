/*
 * tern-remote: delivery to other hosts over SMTP, for tern-queued.
 *
 * Started by tern-start with the tern-queued socket on fd 3
 * (lib/queue/rmt.h).  Drops to remote_user with no capabilities at all:
 * it needs none to resolve names and open outgoing connections.  Each
 * job (one message, recipients of one domain) runs in a child process of
 * its own (job.c), so a slow or dead destination only ever holds its own
 * child, and a crash in the SMTP client loses one job's attempt, never
 * the process.  The child sends its results through a SOCK_SEQPACKET
 * socketpair; this loop forwards them to tern-queued, checks that each
 * belongs to the child's job, and writes a temporary failure for every
 * recipient a child left without a result.
 *
 * At most remote_concurrency children run (tern-queued keeps to the same
 * limit; a job beyond it is answered "busy", a temporary failure).
 * SIGTERM/SIGINT, or tern-queued closing the socket: no new jobs, the
 * children get STOP_GRACE seconds, then SIGKILL; every recipient without
 * a result is reported temporary, then exit 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "queue/dlv.h"
#include "queue/rmt.h"
#include "net/dns.h"
#include "remote.h"

#define STOP_GRACE 10    /* seconds the children get at SIGTERM */
#define JOB_MAX 3600     /* seconds a job may take in all; then SIGKILL */

struct kid {
	pid_t pid;               /* 0: a free slot */
	int sock;                /* our end of its socketpair, -1 closed */
	time_t started;
	char dest[RMT_DEST_MAX + 1];
	int will_idle;           /* it said "I": keeps its connection */
	int idle;                /* done, connection open, waiting */
	time_t idle_since;
	char qid[QID_SIZE];
	size_t n;
	unsigned long idx[RMT_JOB_RCPT_MAX];
	unsigned char got[RMT_JOB_RCPT_MAX];
};

static struct kid *kids;
static size_t maxkids, nkids, nbusy, nslots;
static int qsock = RMT_FD_REMOTE;
static int queued_gone;  /* tern-queued closed its end */
static const int catch_sigs[] = { SIGTERM, SIGINT, SIGCHLD };
static struct job jb;    /* the job being started (large) */

/*
 * Send a result to tern-queued.  The socket is non-blocking (for reading
 * jobs); a burst of results may fill it, so a full socket is waited on:
 * tern-queued never blocks sending to us (MSG_DONTWAIT), so it reads.
 * Once tern-queued has gone (a stop), results are only logged.
 */
static void
forward(const struct rmt_result *r)
{
	char pkt[RMT_PKT_MAX];
	size_t len;

	if (!rmt_result_format(pkt, &len, r))
		log_panic("%s a result that does not format", r->qid);
	if (queued_gone) {
		log_info("%s recipient %lu: result %c not reported, tern-queued "
		    "is gone", r->qid, r->idx, r->code);
		return;
	}
	while (dlv_send(qsock, pkt, len, -1, 0) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			if (fd_poll(qsock, POLLOUT, -1) < 0 && errno != EINTR)
				log_fatal("waiting for tern-queued: %s",
				    strerror(errno));
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET) {
			queued_gone = 1;
			log_info("%s recipient %lu: result %c not reported, "
			    "tern-queued is gone", r->qid, r->idx, r->code);
			return;
		}
		log_fatal("sending to tern-queued: %s", strerror(errno));
	}
}

static void
temp_result(const char *qid, unsigned long idx, const char *text)
{
	struct rmt_result r;

	memset(&r, 0, sizeof r);
	memcpy(r.qid, qid, QID_SIZE);
	r.idx = idx;
	r.code = 'Z';
	str_copy(r.text, text, sizeof r.text);
	forward(&r);
}

/* Every result of k's job is in: it is free, and idle when it keeps
 * its connection (else it exits by itself). */
static void
kid_maybe_idle(struct kid *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!k->got[i])
			return;
	if (k->idle)
		return;
	nbusy--;
	k->n = 0;
	if (k->will_idle) {
		k->idle = 1;
		k->will_idle = 0;
		k->idle_since = time(NULL);
	}
}

/* End k's idle connection: it says QUIT and exits. */
static void
kid_release(struct kid *k)
{
	if (k->sock >= 0)
		close(k->sock);
	k->sock = -1;
	k->idle = 0;
}

/* A result packet from kid k: checked, forwarded. */
static void
kid_packet(struct kid *k, const char *pkt, size_t n)
{
	struct rmt_result r;
	size_t i;

	if (n == 1 && pkt[0] == 'I') {
		k->will_idle = 1;
		return;
	}
	if (!rmt_result_parse(pkt, n, &r) || strcmp(r.qid, k->qid) != 0) {
		log_warn("%s malformed result from a delivery process", k->qid);
		return;
	}
	for (i = 0; i < k->n; i++)
		if (k->idx[i] == r.idx && !k->got[i]) {
			k->got[i] = 1;
			forward(&r);
			kid_maybe_idle(k);
			return;
		}
	log_warn("%s result for recipient %lu that the job does not have",
	    k->qid, r.idx);
}

/* Read what kid k sent; 0 at its end of file. */
static int
kid_read(struct kid *k)
{
	char pkt[RMT_PKT_MAX];
	ssize_t n;
	int fd;

	for (;;) {
		n = dlv_recv(k->sock, pkt, sizeof pkt, &fd);
		if (fd >= 0)
			close(fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0 && errno == EMSGSIZE)
			continue;
		if (n <= 0)
			return 0;
		kid_packet(k, pkt, (size_t)n);
	}
}

/* Kid k exited: what it did not report is temporary. */
static void
kid_gone(struct kid *k, int status)
{
	char t[RMT_TEXT_MAX + 1];
	size_t i;

	if (k->sock >= 0) {
		(void)kid_read(k);
		close(k->sock);
		k->sock = -1;
	}
	if (WIFSIGNALED(status))
		snprintf(t, sizeof t, "4.3.0 the delivery process was killed "
		    "by signal %d", WTERMSIG(status));
	else
		snprintf(t, sizeof t, "4.3.0 the delivery process ended "
		    "(status %d) without a result", WEXITSTATUS(status));
	for (i = 0; i < k->n; i++)
		if (!k->got[i]) {
			log_warn("%s recipient %lu: %s", k->qid, k->idx[i], t);
			temp_result(k->qid, k->idx[i], t);
		}
	if (k->n > 0 && !k->idle)
		nbusy--;
	k->n = 0;
	k->idle = 0;
	k->will_idle = 0;
	k->pid = 0;
	nkids--;
}

static void
reap(void)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < nslots; i++)
			if (kids[i].pid == pid) {
				kid_gone(&kids[i], status);
				break;
			}
}

static void
child(int sock, int fd)
{
	size_t i;

	sig_reset();
	/* nothing of the parent's: not tern-queued's socket, not the
	 * other children's */
	close(qsock);
	for (i = 0; i < nslots; i++)
		if (kids[i].sock >= 0)
			close(kids[i].sock);
	jb.fd = fd;
	job_run(&jb, sock);
}

static void
kid_job(struct kid *k, const struct rmt_job *j)
{
	memcpy(k->qid, j->qid, QID_SIZE);
	str_copy(k->dest, j->dest, sizeof k->dest);
	k->n = j->n;
	memcpy(k->idx, j->idx, j->n * sizeof j->idx[0]);
	memset(k->got, 0, sizeof k->got);
	k->started = time(NULL);
	k->idle = 0;
	k->will_idle = 0;
	nbusy++;
}

/* Hand j to a child idle with a connection to the same destination:
 * 1 done (fd passed on and closed), 0 none (or it would not take it). */
static int
reuse(const struct rmt_job *j, int fd)
{
	char pkt[RMT_PKT_MAX];
	size_t i, len;

	for (i = 0; i < nslots; i++) {
		struct kid *k = &kids[i];

		if (!k->idle || k->sock < 0 || strcmp(k->dest, j->dest) != 0)
			continue;
		if (!rmt_job_format(pkt, &len, j) ||
		    dlv_send(k->sock, pkt, len, fd, MSG_DONTWAIT) < 0) {
			kid_release(k);
			continue;
		}
		close(fd);
		kid_job(k, j);
		return 1;
	}
	return 0;
}

/* More slots: busy children are at most remote_concurrency, idle ones
 * as many, and those that are saying goodbye take a slot until reaped.
 * 1 ok (the new half is free), 0 at the hard limit. */
static int
kids_grow(void)
{
	size_t n = nslots * 2, i;
	struct kid *nk;

	if (n > 8 * maxkids + 16 || (nk = realloc(kids, n * sizeof *nk)) ==
	    NULL)
		return 0;
	memset(nk + nslots, 0, (n - nslots) * sizeof *nk);
	for (i = nslots; i < n; i++)
		nk[i].sock = -1;
	kids = nk;
	nslots = n;
	return 1;
}

/* The idle child that waited longest (to make room), or NULL. */
static struct kid *
oldest_idle(void)
{
	struct kid *o = NULL;
	size_t i;

	for (i = 0; i < nslots; i++)
		if (kids[i].idle && (o == NULL ||
		    kids[i].idle_since < o->idle_since))
			o = &kids[i];
	return o;
}

/* Start a child for job j with queue file fd (closed here). */
static void
start(const struct rmt_job *j, int fd)
{
	struct kid *k = NULL, *o;
	int sv[2];
	size_t i;
	pid_t pid;

	if (reuse(j, fd))
		return;
	/* idle connections give way: they wait for a destination that
	 * has nothing more now */
	if (nkids - nbusy >= maxkids && (o = oldest_idle()) != NULL)
		kid_release(o);
	for (i = 0; i < nslots && k == NULL && nbusy < maxkids; i++)
		if (kids[i].pid == 0)
			k = &kids[i];
	if (k == NULL && nbusy < maxkids && kids_grow())
		k = &kids[nslots / 2];
	if (k == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv) < 0) {
		if (k != NULL)
			log_err("%s socketpair: %s", j->qid, strerror(errno));
		for (i = 0; i < j->n; i++)
			temp_result(j->qid, j->idx[i], k == NULL ?
			    "4.3.2 tern-remote is busy (remote_concurrency)" :
			    "4.3.0 tern-remote cannot start a delivery");
		close(fd);
		return;
	}
	memset(&jb, 0, sizeof jb);
	memcpy(jb.qid, j->qid, QID_SIZE);
	jb.n = j->n;
	memcpy(jb.idx, j->idx, j->n * sizeof j->idx[0]);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		child(sv[1], fd);
	}
	close(sv[1]);
	close(fd);
	if (pid < 0) {
		log_err("%s fork: %s", j->qid, strerror(errno));
		close(sv[0]);
		for (i = 0; i < j->n; i++)
			temp_result(j->qid, j->idx[i],
			    "4.3.0 tern-remote cannot start a delivery");
		return;
	}
	if (fd_nonblock(sv[0]) < 0)
		log_fatal("fd_nonblock: %s", strerror(errno));
	k->pid = pid;
	k->sock = sv[0];
	kid_job(k, j);
	nkids++;
}

/* Jobs from tern-queued; 0 when it closed the socket. */
static int
jobs(int stopping)
{
	char pkt[RMT_PKT_MAX];
	struct rmt_job j;
	ssize_t n;
	size_t i;
	int fd;

	for (;;) {
		n = dlv_recv(qsock, pkt, sizeof pkt, &fd);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n < 0 && errno == EMSGSIZE) {
			log_warn("over-long job from tern-queued ignored");
			continue;
		}
		if (n <= 0) {
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (!rmt_job_parse(pkt, (size_t)n, &j) || fd < 0) {
			char s[LOG_SAFE_MAX];

			log_warn("malformed job from tern-queued: %s",
			    log_safe(s, sizeof s, pkt, (size_t)n));
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (stopping) {
			for (i = 0; i < j.n; i++)
				temp_result(j.qid, j.idx[i],
				    "4.3.2 tern-remote is stopping");
			close(fd);
			continue;
		}
		start(&j, fd);
	}
}

static void
loop(void)
{
	struct pollfd *p;
	struct kid **pk;
	time_t stop_at = 0, now, idle_time = (time_t)cfg_num(remote_idle_time);
	int stopping = 0, sig, open_q = 1;
	size_t i, np;

	size_t cap = 0;

	p = NULL;
	pk = NULL;
	for (;;) {
		if (cap < nslots + 2) {
			cap = nslots + 2;
			p = realloc(p, cap * sizeof *p);
			pk = realloc(pk, cap * sizeof *pk);
			if (p == NULL || pk == NULL)
				log_fatal("out of memory");
		}
		if (stopping && nkids == 0)
			break;
		now = time(NULL);
		for (i = 0; i < nslots; i++)
			if (kids[i].idle && (stopping || now -
			    kids[i].idle_since >= idle_time))
				kid_release(&kids[i]);
		for (i = 0; i < nslots; i++)
			if (kids[i].pid > 0 && !kids[i].idle &&
			    ((stopping && now >= stop_at) ||
			    now - kids[i].started > JOB_MAX)) {
				if (!stopping)
					log_warn("%s job took more than %d s: "
					    "killed", kids[i].qid, JOB_MAX);
				(void)kill(kids[i].pid, SIGKILL);
			}
		np = 0;
		p[np].fd = sig_fd();
		p[np++].events = POLLIN;
		p[np].fd = open_q ? qsock : -1;
		p[np++].events = POLLIN;
		for (i = 0; i < nslots; i++)
			if (kids[i].pid > 0 && kids[i].sock >= 0) {
				pk[np] = &kids[i];
				p[np].fd = kids[i].sock;
				p[np++].events = POLLIN;
			}
		if (poll(p, (nfds_t)np, stopping || nkids > nbusy ? 1000 :
		    nkids ? 60000 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %s", strerror(errno));
		}
		for (i = 2; i < np; i++)
			if (p[i].revents && kid_read(pk[i]) == 0) {
				close(pk[i]->sock);
				pk[i]->sock = -1;
			}
		if (p[0].revents)
			while ((sig = sig_next()) != 0) {
				if (sig == SIGCHLD)
					reap();
				else if (!stopping) {
					log_info("stopping: %zu deliveries in "
					    "flight", nbusy);
					stopping = 1;
					stop_at = time(NULL) + STOP_GRACE;
				}
			}
		if (p[1].revents && jobs(stopping) == 0) {
			open_q = 0;
			queued_gone = 1;
			if (!stopping) {
				log_info("tern-queued closed the socket: "
				    "stopping");
				stopping = 1;
				stop_at = time(NULL) + STOP_GRACE;
			}
		}
		reap();
	}
	free(p);
	free(pk);
}

int
main(int argc, char **argv)
{
	static const struct startup st = {
		.name = "tern-remote", .keep_fd = RMT_FD_REMOTE,
		.user_key = "remote_user",
		.sigs = catch_sigs, .nsigs = sizeof catch_sigs / sizeof catch_sigs[0],
		.with_parent = 1,
	};
	char err[256];
	size_t i;

	startup_begin(&st, &argc, argv, 0);
	if (dns_init(err, sizeof err) < 0)
		log_fatal("DNS: %s", err);
	startup_drop(&st);
	if (fd_cloexec(qsock) < 0 || fd_nonblock(qsock) < 0)
		log_fatal("fd %d: %s", qsock, strerror(errno));
	/* busy children at most remote_concurrency; as many again may sit
	 * idle with a connection open (kids_grow) */
	maxkids = cfg_num(remote_concurrency);
	nslots = 2 * maxkids;
	if ((kids = calloc(nslots, sizeof *kids)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < nslots; i++)
		kids[i].sock = -1;
	log_info("started: concurrency %zu, DNS %s", maxkids,
	    dns_enabled() ? "on" : "off");
	loop();
	log_info("stopped");
	return 0;
}
