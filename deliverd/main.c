/*
 * tern-deliverd: local delivery for tern-queued.
 *
 * Started by tern-start with the tern-queued socket on fd 3 (lib/queue/dlv.h).
 * Drops to deliver_user keeping only CAP_SETUID and CAP_SETGID, which it
 * needs to give each delivery child the mailbox owner's ids.  For each
 * request (one packet and the queue file's fd) it forks a child that
 * resolves and delivers (deliver.c, alias.c) and writes its result to a
 * pipe; the loop here blocks in one poll(2) on the socket, the result
 * pipes and the self-pipe of the signal handlers, and sends each result
 * back as one reply packet.
 *
 * At most local_concurrency children run at once; requests beyond that
 * wait in memory (tern-queued keeps to the same limit, so this is only a
 * safety net).  SIGTERM/SIGINT, or tern-queued closing the socket: no new
 * requests, wait for the children, reply, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "queue/dlv.h"
#include "queue/enq.h"
#include "lookup/map.h"
#include "deliverd.h"

#define WAIT_MAX 10000  /* queued requests beyond the child limit */
#define WAIT_MIN 64     /* first size of the wait ring */

struct kid {
	pid_t pid;               /* 0: a free slot */
	int fd;                  /* read end of the result pipe */
	char qid[QID_SIZE];
	unsigned long idx;
	char buf[DLV_TEXT_MAX + 8];
	size_t n;
};

struct waiting {
	struct dlv_req rq;
	int fd;
};

struct dd_ids dd_ids;
static struct kid *kids;
static size_t maxkids, nkids;
/* requests waiting for a free child: a ring of wq_cap entries that grows
 * by doubling up to WAIT_MAX, so that only what a backlog needed becomes
 * resident (an entry is about 1 KiB) */
static struct waiting *wq;
static size_t wq_head, wq_len, wq_cap;
static struct local_maps lm;
static char enqueue[FS_PATH_MAX];
static int stopping;

/* TERM/INT: finish the running deliveries, then exit; HUP is ignored */
static const int catch_sigs[] = { SIGTERM, SIGINT };

/* dd_ids, before the privilege drop (see deliverd.h) */
static void
setup_ids(void)
{
	const char *vu = cfg_str(virtual_user), *qu = cfg_str(queue_user);

	dd_ids.vuid = dd_ids.quid = getuid();
	dd_ids.vgid = dd_ids.qgid = getgid();
	if (!priv_is_root())
		return;
	if (priv_user(vu, &dd_ids.vuid, &dd_ids.vgid) <= 0)
		log_fatal("virtual_user %s does not exist (see tern.conf)", vu);
	if (priv_user(qu, &dd_ids.quid, &dd_ids.qgid) <= 0)
		log_fatal("queue_user %s does not exist (see tern.conf)", qu);
	if (dd_ids.vuid == 0 || dd_ids.quid == 0)
		log_fatal("virtual_user and queue_user must not be root");
}

static void
reply(const char *qid, unsigned long idx, const struct dd_result *r)
{
	char pkt[DLV_PKT_MAX];
	size_t len;

	if (!dlv_reply_format(pkt, &len, qid, idx, r->code, r->text)) {
		log_err("%s cannot format the result of recipient %lu", qid,
		    idx);
		return;
	}
	if (dlv_send(DLV_FD, pkt, len, -1, 0) < 0) {
		log_err("%s result of recipient %lu lost: %s", qid, idx,
		    strerror(errno));
		stopping = 1;  /* tern-queued is gone */
	}
}

/* The delivery child: never returns. */
static void
child(const struct dlv_req *rq, int fd, int out)
{
	struct dd_ctx c;
	struct dd_result r;

	sig_reset();
	close(DLV_FD);
	alarm(DD_TIMEOUT);
	memset(&c, 0, sizeof c);
	c.lm = &lm;
	c.rq = rq;
	c.fd = fd;
	c.enqueue = enqueue;
	dd_deliver(&c, &r);
	dd_result_send(out, &r);
	_exit(0);
}

static void
start(const struct dlv_req *rq, int fd)
{
	struct dd_result r;
	struct kid *k;
	int p[2];
	size_t i;
	pid_t pid;

	/* follow tern.conf as tern-queued does (local_domains above all),
	 * at every delivery, so that no delivery uses a file tern-queued has
	 * not seen: it costs one stat */
	(void)cfg_refresh(0);
	/* reopen the maps once here, not in every child */
	if (map_refresh(&lm.users) < 0 || map_refresh(&lm.aliases) < 0)
		log_warn("cannot reopen the maps: %s", strerror(errno));
	p[0] = p[1] = -1;
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		dd_set(&r, 'Z', "4.3.0 cannot start a delivery: %s",
		    strerror(errno));
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		reply(rq->qid, rq->idx, &r);
		close(fd);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		child(rq, fd, p[1]);
	}
	close(p[1]);
	close(fd);
	for (i = 0; kids[i].pid != 0; i++)
		;
	k = &kids[i];
	k->pid = pid;
	k->fd = p[0];
	str_copy(k->qid, rq->qid, sizeof k->qid);
	k->idx = rq->idx;
	k->n = 0;
	nkids++;
}

/* A child's pipe is readable: collect; at EOF reap it and reply. */
static void
collect(struct kid *k)
{
	struct dd_result r;
	char junk[256];
	ssize_t n;
	int status = 0;

	if (k->n < sizeof k->buf)
		n = read(k->fd, k->buf + k->n, sizeof k->buf - k->n);
	else
		n = read(k->fd, junk, sizeof junk);  /* over-long: dropped */
	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		if (k->n < sizeof k->buf)
			k->n += (size_t)n;
		return;
	}
	close(k->fd);
	while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
		;
	dd_result_parse(k->buf, k->n, status, &r);
	reply(k->qid, k->idx, &r);
	k->pid = 0;
	nkids--;
}

/* Make room for one more waiting request.  1 or -1 (full or ENOMEM). */
static int
wq_room(void)
{
	struct waiting *n;
	size_t cap, i;

	if (wq_len < wq_cap)
		return 1;
	if (wq_cap >= WAIT_MAX)
		return -1;
	cap = wq_cap ? wq_cap * 2 : WAIT_MIN;
	if (cap > WAIT_MAX)
		cap = WAIT_MAX;
	n = calloc(cap, sizeof *n);
	if (n == NULL)
		return -1;
	for (i = 0; i < wq_len; i++)
		n[i] = wq[(wq_head + i) % wq_cap];
	free(wq);
	wq = n;
	wq_cap = cap;
	wq_head = 0;
	return 1;
}

/* One request packet from tern-queued. */
static void
request(void)
{
	char pkt[DLV_PKT_MAX], s[LOG_SAFE_MAX];
	struct waiting *w;
	struct dd_result r;
	ssize_t n;
	int fd;

	n = dlv_recv(DLV_FD, pkt, sizeof pkt, &fd);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n < 0 && errno == EMSGSIZE) {
			log_warn("over-long request ignored");
			return;
		}
		log_info("tern-queued closed the socket: stopping");
		stopping = 1;
		return;
	}
	if (wq_room() < 0)
		log_fatal("more than %zu requests waiting: %s", wq_len,
		    wq_cap >= WAIT_MAX ? "limit reached" : strerror(errno));
	w = &wq[(wq_head + wq_len) % wq_cap];
	if (!dlv_req_parse(pkt, (size_t)n, &w->rq)) {
		log_warn("malformed request ignored: %s",
		    log_safe(s, sizeof s, pkt, (size_t)n));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd < 0) {
		dd_set(&r, 'Z', "4.3.0 request without the message");
		reply(w->rq.qid, w->rq.idx, &r);
		return;
	}
	w->fd = fd;
	wq_len++;
}

static void
loop(void)
{
	struct pollfd *p = calloc(maxkids + 2, sizeof *p);
	size_t i, np;

	if (p == NULL)
		log_fatal("out of memory");
	for (;;) {
		while (wq_len > 0 && nkids < maxkids) {
			start(&wq[wq_head].rq, wq[wq_head].fd);
			wq_head = (wq_head + 1) % wq_cap;
			/* empty: start at the front again, on warm pages */
			if (--wq_len == 0)
				wq_head = 0;
		}
		if (stopping && nkids == 0)
			break;
		p[0].fd = sig_fd();
		p[0].events = POLLIN;
		p[1].fd = stopping ? -1 : DLV_FD;
		p[1].events = POLLIN;
		for (i = 0, np = 2; i < maxkids; i++)
			if (kids[i].pid != 0) {
				p[np].fd = kids[i].fd;
				p[np++].events = POLLIN;
			}
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %s", strerror(errno));
		}
		if (p[0].revents && sig_next() != 0 &&
		    !stopping) {
			log_info("stopping: %zu deliveries running", nkids);
			stopping = 1;
		}
		if (p[1].revents)
			request();
		for (i = 0, np = 2; i < maxkids; i++)
			if (kids[i].pid != 0 && p[np++].revents)
				collect(&kids[i]);
	}
	free(p);
}

int
main(int argc, char **argv)
{
	static const cap_value_t caps[] = { CAP_SETUID, CAP_SETGID };
	static const struct startup st = {
		.name = "tern-deliverd", .keep_fd = DLV_FD,
		.user_key = "deliver_user", .caps = caps, .ncaps = 2,
		.sigs = catch_sigs, .nsigs = sizeof catch_sigs / sizeof catch_sigs[0],
		.with_parent = 1,
	};

	startup_begin(&st, &argc, argv, 0);
	if (fcntl(DLV_FD, F_GETFD) < 0)
		log_fatal("fd %d is not open: tern-deliverd is started by "
		    "tern-start", DLV_FD);
	if (fd_cloexec(DLV_FD) < 0)
		log_fatal("fd %d: %s", DLV_FD, strerror(errno));
	setup_ids();
	(void)enq_writer_setup();   /* forwarding: before the drop */
	startup_drop(&st);
	if (enq_path(enqueue, sizeof enqueue) < 0)
		log_fatal("program_dir: %s", strerror(errno));
	if (local_open(&lm) < 0)
		log_fatal("cannot open the maps: %s", strerror(errno));
	maxkids = cfg_num(local_concurrency);
	kids = calloc(maxkids + 1, sizeof *kids);
	if (kids == NULL || wq_room() < 0)
		log_fatal("out of memory");
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR)
		log_fatal("signal(SIGHUP): %s", strerror(errno));
	log_info("started: concurrency %zu", maxkids);
	loop();
	log_info("stopped");
	return 0;
}
