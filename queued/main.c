/*
 * tern-queued: the queue scheduler.
 *
 * Started by tern-start with the tern-deliverd socket on fd 3.  Drops to
 * queue_user with no capabilities, recovers the queue (sched_scan.c), then
 * blocks in one poll(2) on: the self-pipe of its signal handlers, the
 * trigger FIFO (tern-enqueue and tern-queue write a byte there; 'F'
 * asks for a flush of every message), the
 * tern-deliverd socket, and a timeout for the next due retry.  Nothing is
 * polled for: a new message is picked up as soon as its byte arrives.
 *
 * Signals (doc/CONVENTIONS.md rule 13: handlers only write to the self-pipe):
 * SIGTERM/SIGINT stop new attempts, wait up to STOP_GRACE seconds for the
 * results in flight, write state and exit 0; SIGHUP rescans todo/.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "queue/dlv.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "daemon/priv.h"
#include "queued.h"
#include "util/sig.h"
#include "util/str.h"

#define STOP_GRACE 10        /* seconds to wait for results at SIGTERM */
#define HOUSEKEEPING 3600    /* seconds between tmp/ clean-ups */
#define POLL_MAX_MS (3600 * 1000)

struct sched S;
/* TERM/INT: stop after in-flight deliveries; HUP: rescan todo/ */
static const int catch_sigs[] = { SIGTERM, SIGINT, SIGHUP };
static void
setup_config(void)
{
	static char enqueue[4096];

	S.conc = cfg_num("local_concurrency");
	S.min_backoff = (time_t)cfg_num("queue_min_backoff");
	S.max_backoff = (time_t)cfg_num("queue_max_backoff");
	S.factor = cfg_num("queue_backoff_factor");
	S.lifetime = (time_t)cfg_num("queue_lifetime");
	if (S.factor < 1)
		S.factor = 1;
	if (fs_join(enqueue, sizeof enqueue, cfg_str("program_dir"),
	    "tern-enqueue") < 0)
		log_fatal("program_dir: %s", strerror(errno));
	S.enqueue = enqueue;
	S.host = cfg_hostname();
}

static void
setup_fds(void)
{
	if (fcntl(DLV_FD, F_GETFD) < 0)
		log_fatal("fd %d is not open: tern-queued is started by "
		    "tern-start", DLV_FD);
	S.sock = DLV_FD;
	if (fd_cloexec(S.sock) < 0 || fd_nonblock(S.sock) < 0)
		log_fatal("fd %d: %s", DLV_FD, strerror(errno));
	if (chdir(cfg_str("spool_dir")) < 0)
		log_fatal("cannot enter %s: %s", cfg_str("spool_dir"),
		    strerror(errno));
	/* O_RDWR: we are a writer too, so the FIFO never reports EOF */
	S.fifo = open("trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (S.fifo < 0)
		log_fatal("cannot open %s/trigger: %s", cfg_str("spool_dir"),
		    strerror(errno));
}

/* Empty the FIFO; 1 if a byte 'F' (tern-queue flush: all) was in it.
 * Other bytes ('N' from tern-enqueue, anything) only wake us up. */
static int
drain(int fd)
{
	char b[512];
	ssize_t n;
	int flush = 0;

	while ((n = read(fd, b, sizeof b)) > 0)
		if (memchr(b, 'F', (size_t)n) != NULL)
			flush = 1;
	return flush;
}

/* Milliseconds until the next thing due, or -1 (nothing) */
static int
next_timeout(time_t stop_at, time_t house_at)
{
	time_t until = house_at;
	struct msg *m = heap_top();

	if (S.stopping)
		until = stop_at;
	else if (m != NULL && S.inflight < S.conc && !S.sock_blocked &&
	    m->due < until)
		until = m->due;
	if (until <= S.now)
		return 0;
	if (until - S.now > POLL_MAX_MS / 1000)
		return POLL_MAX_MS;
	return (int)(until - S.now) * 1000;
}

static void
on_signals(time_t *stop_at)
{
	int sig;

	while ((sig = sig_next()) != 0) {
		if (sig == SIGHUP) {
			if (sq_scan_todo())
				sr_flush_all();
		} else if (!S.stopping) {
			log_info("stopping: %lu deliveries in flight",
			    S.inflight);
			S.stopping = 1;
			*stop_at = S.now + STOP_GRACE;
		}
	}
}

static void
loop(void)
{
	struct pollfd p[3];
	time_t stop_at = 0, house_at = S.now + HOUSEKEEPING;
	int r;

	for (;;) {
		S.now = time(NULL);
		if (!S.stopping)
			sd_dispatch();
		if (S.stopping && (S.inflight == 0 || S.now >= stop_at))
			return;
		p[0].fd = sig_fd();
		p[0].events = POLLIN;
		p[1].fd = S.fifo;
		p[1].events = POLLIN;
		p[2].fd = S.sock;
		p[2].events = (short)(POLLIN | (S.sock_blocked ? POLLOUT : 0));
		if (poll(p, 3, next_timeout(stop_at, house_at)) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %s", strerror(errno));
		}
		S.now = time(NULL);
		if (p[0].revents)
			on_signals(&stop_at);
		if (p[1].revents) {
			int flush = drain(S.fifo);

			if (!S.stopping && (sq_scan_todo() || flush))
				sr_flush_all();
		}
		if (p[2].revents & POLLOUT)
			S.sock_blocked = 0;
		if ((p[2].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (r = sd_replies()) <= 0) {
			int saved = errno;

			if (S.stopping)
				return;  /* it stopped first: fine */
			sq_persist_all();
			log_fatal("tern-deliverd is gone: %s", r == 0 ?
			    "end of file" : strerror(saved));
		}
		if (S.now >= house_at) {
			sq_housekeeping();
			house_at = S.now + HOUSEKEEPING;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	char err[512];

	log_init("tern-queued", LOG_TO_STDERR, LOG_MAIL);
	if (argc > 1) {
		fprintf(stderr, "usage: tern-queued [-C DIR]\n");
		return 100;
	}
	fd_close_from(DLV_FD + 1);
	if (cfg_load(dir, err, sizeof err) < 0)
		log_fatal("%s", err);
	cfg_log_init("tern-queued");
	priv_drop(cfg_str("queue_user"), NULL, 0);
	setup_config();
	setup_fds();
	sig_catch(catch_sigs, sizeof catch_sigs / sizeof catch_sigs[0]);
	S.now = time(NULL);
	sq_recover();
	if (sq_scan_todo())
		sr_flush_all();
	log_info("started: %zu messages, concurrency %lu", S.nmsg, S.conc);
	loop();
	sq_persist_all();
	log_info("stopped: %lu deliveries were in flight", S.inflight);
	return 0;
}
