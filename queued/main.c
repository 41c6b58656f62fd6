/*
 * tern-queued: the queue scheduler.
 *
 * Started by tern-start with the tern-deliverd socket on fd 3 and the
 * tern-remote socket on fd 4.  Drops to
 * queue_user with no capabilities, recovers the queue (scan.c), then
 * blocks in one poll(2) on: the self-pipe of its signal handlers, the
 * trigger FIFO (tern-enqueue and tern-queue write a byte there; 'F'
 * asks for a flush of every message), the
 * tern-deliverd and tern-remote sockets, and a timeout for the next due
 * retry.  Nothing is
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
#include <sys/file.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "queue/dlv.h"
#include "queue/enq.h"
#include "queue/rmt.h"
#include "queued.h"

#define STOP_GRACE 10        /* seconds to wait for results at SIGTERM */
#define HOUSEKEEPING 3600    /* seconds between tmp/ clean-ups */
#define POLL_MAX_MS (3600 * 1000)

struct sched sched;
/* TERM/INT: stop after in-flight deliveries; HUP: rescan todo/ */
static const int catch_sigs[] = { SIGTERM, SIGINT, SIGHUP };
static void
setup_config(void)
{
	static char enqueue[FS_PATH_MAX];

	sched.conc = cfg_num(local_concurrency);
	sched.rconc = cfg_num(remote_concurrency);
	sched.dconc = cfg_num(destination_concurrency);
	sched.rmax = cfg_num(remote_max_recipients);
	sched.min_backoff = (time_t)cfg_num(queue_min_backoff);
	sched.max_backoff = (time_t)cfg_num(queue_max_backoff);
	sched.factor = cfg_num(queue_backoff_factor);
	sched.lifetime = (time_t)cfg_num(queue_lifetime);
	sched.bounce_lifetime = (time_t)cfg_num(bounce_lifetime);
	sched.delay_warning = (time_t)cfg_num(delay_warning_time);
	if (enq_path(enqueue, sizeof enqueue) < 0)
		log_fatal("program_dir: %s", strerror(errno));
	sched.enqueue = enqueue;
	sched.host = cfg_hostname();
}

static void
setup_fds(void)
{
	sched.sock = DLV_FD;   /* startup_begin made sure both are open */
	sched.rsock = RMT_FD_QUEUED;
	if (fd_cloexec(sched.sock) < 0 || fd_nonblock(sched.sock) < 0 ||
	    fd_cloexec(sched.rsock) < 0 || fd_nonblock(sched.rsock) < 0)
		log_fatal("fd %d or %d: %s", DLV_FD, RMT_FD_QUEUED,
		    strerror(errno));
	if (chdir(cfg_str(spool_dir)) < 0)
		log_fatal("cannot enter %s: %s", cfg_str(spool_dir),
		    strerror(errno));
	/* one scheduler per spool: a second one (an orphan of a killed
	 * tern-start, a hand-started copy) would deliver everything twice.
	 * The lock is on the spool directory itself and goes with this
	 * process (and never to its children: O_CLOEXEC). */
	sched.lockfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sched.lockfd < 0)
		log_fatal("cannot open %s: %s", cfg_str(spool_dir),
		    strerror(errno));
	if (flock(sched.lockfd, LOCK_EX | LOCK_NB) < 0)
		log_fatal("%s: %s", cfg_str(spool_dir), errno == EWOULDBLOCK ?
		    "another tern-queued runs on this spool" : strerror(errno));
	/* O_RDWR: we are a writer too, so the FIFO never reports EOF */
	sched.fifo = open("trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (sched.fifo < 0)
		log_fatal("cannot open %s/trigger: %s", cfg_str(spool_dir),
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

/* Follow edits of tern.conf (lib/daemon/cfg.h cfg_refresh) when the
 * directory's inotify watch fires, or, without a watch, at most once a
 * second: what tern-smtpd already accepts for a new local domain is then
 * delivered here too, not kept as remote. */
static void
refresh_config(int event)
{
	if (!event && cfg_watch_fd() >= 0)
		return;   /* the watch tells us */
	if (event ? cfg_refresh_event() : cfg_refresh(1)) {
		setup_config();
		sq_recheck_local();
	}
}

/* Milliseconds until the next thing due, or -1 (nothing) */
static int
next_timeout(time_t stop_at, time_t house_at)
{
	time_t until = house_at;
	struct msg *m = heap_top();

	if (sched.stopping)
		until = stop_at;
	else if (m != NULL && !sched.local_blocked && !sched.sock_blocked &&
	    !sched.rsock_blocked && m->due < until)
		until = m->due;
	if (until <= sched.now)
		return 0;
	/* no watch, and a tern.conf check skipped this second: come back */
	if (cfg_watch_fd() < 0 && cfg_refresh_pending() &&
	    until - sched.now > 1)
		until = sched.now + 1;
	if (until - sched.now > POLL_MAX_MS / 1000)
		return POLL_MAX_MS;
	return (int)(until - sched.now) * 1000;
}

static void
on_signals(time_t *stop_at)
{
	int sig;

	while ((sig = sig_next()) != 0) {
		if (sig == SIGHUP) {
			if (sq_scan_todo())
				sr_flush_all();
		} else if (!sched.stopping) {
			log_info("stopping: %lu deliveries in flight",
			    sched.inflight);
			sched.stopping = 1;
			*stop_at = sched.now + STOP_GRACE;
		}
	}
}

static void
loop(void)
{
	struct pollfd p[5];
	time_t stop_at = 0, house_at = sched.now + HOUSEKEEPING;
	int r;

	for (;;) {
		sched.now = time(NULL);
		refresh_config(0);
		if (!sched.stopping)
			sd_dispatch();
		if (sched.stopping && ((sched.inflight == 0 &&
		    sched.rinflight == 0) || sched.now >= stop_at))
			return;
		p[0].fd = sig_fd();
		p[0].events = POLLIN;
		p[1].fd = sched.fifo;
		p[1].events = POLLIN;
		p[2].fd = sched.sock;
		p[2].events = (short)(POLLIN | (sched.sock_blocked ? POLLOUT : 0));
		p[3].fd = cfg_watch_fd();   /* -1: poll skips it */
		p[3].events = POLLIN;
		p[4].fd = sched.rsock;
		p[4].events = (short)(POLLIN | (sched.rsock_blocked ? POLLOUT : 0));
		if (poll(p, 5, next_timeout(stop_at, house_at)) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %s", strerror(errno));
		}
		sched.now = time(NULL);
		if (p[3].revents)
			refresh_config(1);
		if (p[0].revents)
			on_signals(&stop_at);
		if (p[1].revents) {
			int flush = drain(sched.fifo);

			if (!sched.stopping && (sq_scan_todo() || flush))
				sr_flush_all();
		}
		if (p[2].revents & POLLOUT)
			sched.sock_blocked = 0;
		if ((p[2].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (r = sd_replies()) <= 0) {
			int saved = errno;

			if (sched.stopping)
				return;  /* it stopped first: fine */
			sq_persist_all();
			log_fatal("tern-deliverd is gone: %s", r == 0 ?
			    "end of file" : strerror(saved));
		}
		if (p[4].revents & POLLOUT)
			sched.rsock_blocked = 0;
		if ((p[4].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (r = sy_replies()) <= 0) {
			int saved = errno;

			if (sched.stopping)
				return;
			sq_persist_all();
			log_fatal("tern-remote is gone: %s", r == 0 ?
			    "end of file" : strerror(saved));
		}
		if (sched.now >= house_at) {
			sq_housekeeping();
			house_at = sched.now + HOUSEKEEPING;
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct startup st = {
		.name = "tern-queued", .keep_fd = RMT_FD_QUEUED,
		.user_key = "queue_user",
		.sigs = catch_sigs, .nsigs = sizeof catch_sigs / sizeof catch_sigs[0],
		.with_parent = 1,
	};

	startup_begin(&st, &argc, argv, 0);
	(void)enq_writer_setup();   /* bounces and notices */
	startup_drop(&st);
	setup_config();
	setup_fds();
	sched.now = time(NULL);
	srandom((unsigned)sched.now ^ (unsigned)getpid());  /* backoff jitter */
	sq_recover();
	if (sq_scan_todo())
		sr_flush_all();
	log_info("started: %zu messages, concurrency %lu", sched.nmsg, sched.conc);
	loop();
	sq_persist_all();
	log_info("stopped: %lu deliveries were in flight", sched.inflight);
	return 0;
}
