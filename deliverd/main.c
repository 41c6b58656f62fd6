/*
 * tern-deliverd: local delivery for tern-queued.
 *
 * Started by tern-start with the tern-queued socket on fd 3 (lib/queue/dlv.h).
 * Drops to deliver_user keeping only CAP_SETUID and CAP_SETGID, which it
 * needs to give each delivery child the mailbox owner's ids.  A request
 * (one packet and the queue file's fd) for a mailbox of the users map
 * goes to a mailbox worker (worker.c): a long-lived child that is
 * virtual_user already, reused for up to DW_USES deliveries and kept
 * DW_IDLE seconds when idle, so that the common delivery costs no fork.
 * Any other request (a system account, an alias, an unknown name) gets
 * a child of its own that resolves and delivers (deliver.c, alias.c) and
 * writes its result to a pipe.  The loop here blocks in one poll(2) on
 * the socket, the result pipes and worker sockets and the self-pipe of
 * the signal handlers, and sends each result back as one reply packet.
 *
 * At most local_concurrency deliveries run at once; requests beyond that
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
#define DW_USES 1000    /* deliveries a mailbox worker makes, then it goes */
#define DW_IDLE 30      /* seconds an idle mailbox worker is kept */

struct kid {
	pid_t pid;               /* 0: a free slot */
	int fd;                  /* read end of the result pipe, or a
	                          * worker's socket */
	int worker;              /* a mailbox worker (worker.c) */
	int busy;                /* a delivery in flight (a child: always) */
	time_t idle;             /* worker: idle since */
	unsigned long uses;      /* worker: deliveries made */
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
struct dd_spoolfs dd_spoolfs;
/* nslots = 2 * maxkids: at most maxkids deliveries run (nkids), and
 * besides them at most maxkids idle workers wait */
static struct kid *kids;
static size_t maxkids, nkids, nslots;
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

/* dd_spoolfs, before the drop (the spool may be below a directory only
 * root can enter) */
static void
setup_spoolfs(void)
{
	static const char *const ordered[] = { "ext4", "ext3", "xfs", NULL };
	struct stat st;
	size_t i;

	if (stat(cfg_str(spool_dir), &st) < 0) {
		log_warn("%s: %s: new/ of every Maildir will be fsynced",
		    cfg_str(spool_dir), strerror(errno));
		return;
	}
	dd_spoolfs.dev = st.st_dev;
	if (fs_type_of_dev(st.st_dev, dd_spoolfs.type,
	    sizeof dd_spoolfs.type) != 1)
		str_copy(dd_spoolfs.type, "unknown", sizeof dd_spoolfs.type);
	for (i = 0; ordered[i]; i++)
		dd_spoolfs.ordered |= strcmp(dd_spoolfs.type, ordered[i]) == 0;
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

/* In a new child: none of the parent's other pipes and sockets, so that a
 * worker sees EOF as soon as the parent closes its end (a copy here
 * would keep it open); keep (the child's message, or -1) stays. */
static void
close_inherited(int keep)
{
	size_t i;

	close(DLV_FD);
	for (i = 0; i < nslots; i++)
		if (kids[i].pid != 0 && kids[i].fd != keep)
			close(kids[i].fd);
	for (i = 0; i < wq_len; i++)
		if (wq[(wq_head + i) % wq_cap].fd != keep)
			close(wq[(wq_head + i) % wq_cap].fd);
}

/* The delivery child: never returns. */
static void
child(const struct dlv_req *rq, int fd, int out)
{
	struct dd_ctx c;
	struct dd_result r;

	sig_reset();
	close_inherited(fd);
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

/* A worker goes: EOF on its socket ends it (it is idle), reaped here. */
static void
worker_retire(struct kid *k)
{
	int st;

	close(k->fd);
	while (waitpid(k->pid, &st, 0) < 0 && errno == EINTR)
		;
	k->pid = 0;
}

static void
workers_retire_idle(time_t older)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (kids[i].pid != 0 && kids[i].worker && !kids[i].busy &&
		    kids[i].idle <= older)
			worker_retire(&kids[i]);
}

/* A free slot; an idle worker makes room if there is none. */
static struct kid *
free_slot(void)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (kids[i].pid == 0)
			return &kids[i];
	for (i = 0; i < nslots; i++)
		if (kids[i].worker && !kids[i].busy) {
			worker_retire(&kids[i]);
			return &kids[i];
		}
	return NULL;
}

/* An idle mailbox worker, or a new one.  NULL when none can be had (the
 * caller forks a child instead). */
static struct kid *
worker_get(void)
{
	struct kid *k;
	int sv[2];
	size_t i;
	pid_t pid;

	for (i = 0; i < nslots; i++)
		if (kids[i].pid != 0 && kids[i].worker && !kids[i].busy)
			return &kids[i];
	if ((k = free_slot()) == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	if ((pid = fork()) < 0) {
		log_warn("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		sig_reset();
		close(sv[0]);
		close_inherited(-1);
		/* virtual_user for good, no capabilities: it delivers only to
		 * mailboxes of the users map, which all belong to it */
		priv_drop_ids(dd_ids.vuid, dd_ids.vgid);
		dw_main(sv[1], &lm, enqueue);
	}
	close(sv[1]);
	memset(k, 0, sizeof *k);
	k->pid = pid;
	k->fd = sv[0];
	k->worker = 1;
	k->idle = time(NULL);
	return k;
}

/* Hand rq to a mailbox worker when its recipient is a users-map mailbox.
 * 1 handed (fd is the worker's now), 0 not (deliver it another way). */
static int
worker_job(const struct dlv_req *rq, int fd)
{
	static char job[DW_PKT_MAX];
	char req[DLV_PKT_MAX];
	struct local_target t;
	struct kid *k;
	size_t rl, jl;
	int ok;

	memset(&t, 0, sizeof t);
	ok = local_lookup(&lm, rq->rcpt, &t) == 1 && t.kind == LOCAL_USER &&
	    dlv_req_format(req, &rl, rq->qid, rq->idx, rq->off, rq->sender,
	    rq->rcpt) && dw_pack(job, sizeof job, &jl, req, rl, &t);
	local_target_free(&t);
	if (!ok || (k = worker_get()) == NULL)
		return 0;
	if (dlv_send(k->fd, job, jl, fd, MSG_DONTWAIT) < 0) {
		log_warn("%s mailbox worker pid=%ld: %s: forking instead",
		    rq->qid, (long)k->pid, strerror(errno));
		worker_retire(k);
		return 0;
	}
	close(fd);
	k->busy = 1;
	str_copy(k->qid, rq->qid, sizeof k->qid);
	k->idx = rq->idx;
	nkids++;
	return 1;
}

static void
start(const struct dlv_req *rq, int fd)
{
	struct dd_result r;
	struct kid *k;
	int p[2];
	pid_t pid;

	/* follow tern.conf as tern-queued does (local_domains above all),
	 * at every delivery, so that no delivery uses a file tern-queued has
	 * not seen: it costs one stat; idle workers carry the old one */
	if (cfg_refresh(0) == 1)
		workers_retire_idle(time(NULL));
	/* reopen the maps once here, not in every child */
	if (map_refresh(&lm.users) < 0 || map_refresh(&lm.aliases) < 0)
		log_warn("cannot reopen the maps: %s", strerror(errno));
	if (worker_job(rq, fd))
		return;
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
	if ((k = free_slot()) == NULL)
		log_panic("no free slot with %zu of %zu running", nkids,
		    maxkids);
	memset(k, 0, sizeof *k);
	k->pid = pid;
	k->fd = p[0];
	k->busy = 1;
	str_copy(k->qid, rq->qid, sizeof k->qid);
	k->idx = rq->idx;
	nkids++;
}

/* A worker's socket is readable: its result, or its end. */
static void
collect_worker(struct kid *k)
{
	struct dd_result r;
	char b[DLV_TEXT_MAX + 8];
	ssize_t n = recv(k->fd, b, sizeof b, 0);
	int status = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && k->busy) {
		dd_result_parse(b, (size_t)n, 0, &r);
		reply(k->qid, k->idx, &r);
		k->busy = 0;
		nkids--;
		k->idle = time(NULL);
		if (++k->uses >= DW_USES || stopping)
			worker_retire(k);
		return;
	}
	if (n > 0) {
		log_warn("mailbox worker pid=%ld: a result for nothing: retired",
		    (long)k->pid);
		worker_retire(k);
		return;
	}
	/* EOF or an error: the worker is gone (killed, or its alarm) */
	close(k->fd);
	while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (k->busy) {
		dd_result_parse("", 0, status, &r);
		reply(k->qid, k->idx, &r);
		nkids--;
	} else if (WIFSIGNALED(status))
		log_warn("mailbox worker pid=%ld killed by signal %d",
		    (long)k->pid, WTERMSIG(status));
	k->pid = 0;
}

/* A child's pipe is readable: collect; at EOF reap it and reply. */
static void
collect(struct kid *k)
{
	struct dd_result r;
	char junk[256];
	ssize_t n;
	int status = 0;

	if (k->worker) {
		collect_worker(k);
		return;
	}
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
	struct pollfd *p = calloc(nslots + 2, sizeof *p);
	size_t i, np;
	int idle;

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
		if (stopping && nkids == 0) {
			workers_retire_idle(time(NULL));
			break;
		}
		p[0].fd = sig_fd();
		p[0].events = POLLIN;
		p[1].fd = stopping ? -1 : DLV_FD;
		p[1].events = POLLIN;
		for (i = 0, np = 2, idle = 0; i < nslots; i++)
			if (kids[i].pid != 0) {
				p[np].fd = kids[i].fd;
				p[np++].events = POLLIN;
				idle |= kids[i].worker && !kids[i].busy;
			}
		/* with idle workers, wake now and then to retire old ones */
		if (poll(p, np, idle ? DW_IDLE * 1000 / 3 : -1) < 0) {
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
		for (i = 0, np = 2; i < nslots; i++)
			if (kids[i].pid != 0 && p[np++].revents)
				collect(&kids[i]);
		if (idle)
			workers_retire_idle(time(NULL) - DW_IDLE);
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
	setup_spoolfs();
	(void)enq_writer_setup();   /* forwarding: before the drop */
	startup_drop(&st);
	if (enq_path(enqueue, sizeof enqueue) < 0)
		log_fatal("program_dir: %s", strerror(errno));
	if (local_open(&lm) < 0)
		log_fatal("cannot open the maps: %s", strerror(errno));
	maxkids = cfg_num(local_concurrency);
	nslots = 2 * maxkids;
	kids = calloc(nslots + 1, sizeof *kids);
	if (kids == NULL || wq_room() < 0)
		log_fatal("out of memory");
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR)
		log_fatal("signal(SIGHUP): %s", strerror(errno));
	log_info("started: concurrency %zu, spool on %s: %s", maxkids,
	    dd_spoolfs.type, dd_spoolfs.ordered && !cfg_bool(maildir_sync_dirs) &&
	    !cfg_bool(spool_sync_dirs) ? "new/ fsynced only off it" :
	    "new/ always fsynced");
	loop();
	log_info("stopped");
	return 0;
}
