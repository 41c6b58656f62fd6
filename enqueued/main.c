/*
 * tern-enqueued: the long-lived queue writer.
 *
 * tern-start runs it as queue_user with no capabilities.  It listens on
 * the spool's abstract UNIX-domain socket (lib/queue/qwrite.h) and takes
 * connections from the uids that hand mail to the queue (root,
 * smtpd_user, deliver_user, queue_user: SO_PEERCRED, checked at accept).
 * Each connection carries one message in the protocol of lib/queue/enq.h,
 * the one tern-enqueue reads on its stdin, checked the same way
 * (conn.c), written into mess/ID as it arrives.
 *
 * The group commit: one epoll loop reads every client that has bytes;
 * the messages whose end marker arrived in that round are committed
 * together (commit_batch): each file gets its commit bit (fchmod to
 * QFILE_MODE_DONE), writeback of all is started (sync_file_range), then
 * each is fsynced, so the disk waits overlap instead of queueing one
 * after another; only then does each get its todo/ID marker and its
 * client its "K ID" (a marker that cannot be made, on a full disk, takes
 * the message back: Z), and tern-queued one trigger byte for the lot.  While a batch waits on the
 * disk, the next one fills up in the socket buffers.  With one client
 * a batch is one message and nothing waits for company.  The durability
 * promise is tern-enqueue's, file by file: a client hears K only after
 * the fsync of its own file (doc/DESIGN.md "fsync points").
 *
 * SIGTERM/SIGINT: stop listening (new clients then run tern-enqueue
 * instead), finish the connections open, at most STOP_GRACE seconds,
 * exit 0.  A client idle for IDLE_MAX seconds is dropped, its file
 * removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "enqueued.h"

#define READ_MAX (64 * 1024)   /* one read from a client */
#define READS_PER_ROUND 4      /* then the next client gets its turn */
#define EVENTS_MAX 256
#define BACKLOG 256
#define IDLE_MIN 1800          /* s without a byte before a client is
                                * dropped, at least; see idle_max */
#define STOP_GRACE 10          /* s to finish open connections at a stop */
#define PEERS_MAX 5
#define CONN_MAX 4096          /* clients at once (each may hold an
                                * envelope of up to QFILE_ENV_MAX) */
#define REFUSED_LOG_EVERY 60   /* s between lines about refused uids */

static int lsock = -1, ep = -1;
static int armed;                /* lsock is in the epoll set */
static time_t idle_max;          /* see setup */

static void arm(int on);
static struct conn *conns;       /* every open connection */
static size_t nconns, maxconns;
static uid_t peers[PEERS_MAX];
static size_t npeers;
static unsigned long batches, batched;   /* for the stop line */

static const int catch_sigs[] = { SIGTERM, SIGINT };
static char sig_tag;               /* epoll data of the self-pipe */

static void
peer_add(uid_t uid)
{
	size_t i;

	for (i = 0; i < npeers; i++)
		if (peers[i] == uid)
			return;
	if (npeers < PEERS_MAX)
		peers[npeers++] = uid;
}

/* Before the drop: whom to take connections from, the spool, the fd
 * limit (two fds a client: its socket and its file). */
static void
setup(void)
{
	static const char *const keys[] = { "smtpd_user", "deliver_user",
	    "queue_user", NULL };
	struct rlimit rl;
	uid_t uid;
	gid_t gid;
	size_t i;

	peer_add(0);
	peer_add(geteuid());
	for (i = 0; priv_is_root() && keys[i]; i++)
		if (priv_user(cfg_str_named(keys[i]), &uid, &gid) == 1)
			peer_add(uid);
	if (chdir(cfg_str(spool_dir)) < 0)
		log_fatal("cannot enter %s: %s", cfg_str(spool_dir),
		    strerror(errno));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_fatal("getrlimit: %s", strerror(errno));
	maxconns = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 2 * CONN_MAX +
	    16 ? CONN_MAX : rl.rlim_cur < 32 ? 8 : (size_t)(rl.rlim_cur - 16) / 2;
	/* a session may send nothing for as long as it may live (its lines
	 * are sent in chunks of up to 64 KiB): drop a client only after the
	 * longest session, so that only a stuck one is cut off */
	idle_max = (time_t)cfg_num(smtpd_max_session_time) + 60;
	if (idle_max < IDLE_MIN)
		idle_max = IDLE_MIN;
}

/* After the drop, so that clients see queue_user in SO_PEERCRED (the
 * credentials of the listen call, unix(7)). */
static void
listen_start(void)
{
	struct sockaddr_un sa;
	socklen_t len;

	qw_sockaddr(cfg_str(spool_dir), &sa, &len);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lsock < 0)
		log_fatal("socket: %s", strerror(errno));
	if (bind(lsock, (struct sockaddr *)&sa, len) < 0)
		log_fatal("bind @%s: %s%s", sa.sun_path + 1, strerror(errno),
		    errno == EADDRINUSE ? " (another tern-enqueued for this "
		    "spool?  ss -xlp shows who holds it)" : "");
	if (listen(lsock, BACKLOG) < 0)
		log_fatal("listen: %s", strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		log_fatal("epoll_create1: %s", strerror(errno));
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sig_fd(), &(struct epoll_event){
	    .events = EPOLLIN, .data.ptr = &sig_tag }) < 0)
		log_fatal("epoll_ctl: %s", strerror(errno));
	arm(1);
	log_info("started: listening on @%s", sa.sun_path + 1);
}

/* The listening socket in the epoll set (on) or out of it: out while
 * the table is full or accept fails for want of fds or memory, so that a
 * pending connection does not make epoll_wait return at once forever. */
static void
arm(int on)
{
	if (lsock < 0 || armed == on)
		return;
	if (epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, lsock,
	    &(struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL }) < 0)
		log_fatal("epoll_ctl: %s", strerror(errno));
	armed = on;
}

static void
drop(struct conn *c)
{
	struct conn **pp;

	for (pp = &conns; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->sock, NULL);
	conn_free(c);
	free(c);
	nconns--;
	if (nconns < maxconns)
		arm(1);
}

/*
 * Accept what is pending, up to the table's size (all, at a stop: those
 * clients connected before the socket closed and get their answer).  The
 * greeting line tells a client it was taken (enq_open_writer waits for
 * it, and runs tern-enqueue if it does not come).
 */
static void
take(int all)
{
	static time_t refused_at;
	static unsigned long refused;
	struct conn *c;
	uid_t uid;
	pid_t pid;
	size_t i;
	int s;

	for (;;) {
		if (nconns >= maxconns && !all) {
			arm(0);   /* drop() arms it again */
			return;
		}
		s = accept4(lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept: %s: not accepting until a "
				    "client is done", strerror(errno));
				if (nconns > 0)
					arm(0);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (qw_peer(s, &uid, &pid) < 0) {
			log_warn("SO_PEERCRED: %s", strerror(errno));
			close(s);
			continue;
		}
		for (i = 0; i < npeers && peers[i] != uid; i++)
			;
		if (i == npeers) {
			/* any local user can connect: one line a minute */
			if (time(NULL) - refused_at >= REFUSED_LOG_EVERY) {
				log_warn("connection from uid=%lu pid=%ld "
				    "refused: not a tern program (tern-sendmail "
				    "runs tern-enqueue)%s", (unsigned long)uid,
				    (long)pid, refused ? ", and others" : "");
				refused_at = time(NULL);
				refused = 0;
			} else
				refused++;
			close(s);
			continue;
		}
		if ((c = malloc(sizeof *c)) == NULL) {
			log_warn("out of memory: connection closed");
			close(s);
			return;
		}
		conn_init(c, s, uid, pid, cfg_num(message_size_limit));
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &(struct epoll_event){
		    .events = EPOLLIN, .data.ptr = c }) < 0) {
			log_warn("epoll_ctl: %s", strerror(errno));
			conn_free(c);
			free(c);
			continue;
		}
		/* an empty socket takes two bytes at once; a client that is
		 * gone already is found at its first read */
		(void)send(s, "+\n", 2, MSG_NOSIGNAL | MSG_DONTWAIT);
		c->next = conns;
		conns = c;
		nconns++;
	}
}

/* Readable: up to READS_PER_ROUND reads.  1 to keep c, 0 to drop it. */
static int
readable(struct conn *c, char *buf)
{
	int i;

	c->last = time(NULL);   /* also while its input is dropped */
	for (i = 0; i < READS_PER_ROUND; i++) {
		ssize_t n = read(c->sock, buf, READ_MAX);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			n = 0;   /* reset: as EOF */
		}
		if (n == 0) {
			/* after "0\n" the message is committed anyway, as
			 * tern-enqueue does; before it the client gave up */
			if (c->st == C_DONE)
				return 1;
			return 0;
		}
		if (c->st == C_DRAIN || c->st == C_DONE)
			continue;   /* dropped */
		conn_input(c, buf, (size_t)n);
	}
	return 1;
}

/* The messages of one round: commit bit, writeback started for all, one
 * fsync each, then the replies and one trigger byte (see the top). */
static void
commit_batch(struct conn *head)
{
	struct conn *c;
	char from[LOG_SAFE_MAX];
	size_t n = 0, ok = 0;
	int dirs = cfg_bool(spool_sync_dirs), dirfail = 0;

	for (c = head; c; c = c->batch) {
		n++;
		if (fchmod(c->fd, QFILE_MODE_DONE) < 0) {
			conn_fail(c, 'Z', "writing %s: %s", c->name,
			    strerror(errno));
			continue;
		}
	}
	/* start the writeback of all before waiting for any (only a hint:
	 * the fsync below is what counts); pointless for a batch of one */
	for (c = head; n > 1 && c; c = c->batch)
		if (c->st == C_DONE)
			(void)sync_file_range(c->fd, 0, 0,
			    SYNC_FILE_RANGE_WRITE);
	for (c = head; c; c = c->batch)
		if (c->st == C_DONE && fsync(c->fd) < 0)
			conn_fail(c, 'Z', "writing %s: %s", c->name,
			    strerror(errno));
	if (dirs && fs_syncdir("mess") < 0)
		dirfail = errno;
	for (c = head; c; c = c->batch) {
		if (c->st != C_DONE)
			continue;
		if (dirfail) {
			conn_fail(c, 'Z', "fsync mess: %s", strerror(dirfail));
			continue;
		}
		if (close(c->fd) < 0) {
			c->fd = -1;
			conn_fail(c, 'Z', "writing %s: %s", c->name,
			    strerror(errno));
			continue;
		}
		c->fd = -1;
		/* the marker before the reply: without it tern-queued would
		 * not see the message before its next start, so a message
		 * whose marker cannot be made (disk full) is taken back */
		if (qw_todo(c->id) < 0) {
			conn_fail(c, 'Z', "creating todo/%s: %s", c->id,
			    strerror(errno));
			continue;
		}
		c->name[0] = '\0';   /* committed: never removed from here on */
		ok++;
		/* batch: the messages committed together with this one */
		log_info("%s queued from=<%s> nrcpt=%zu size=%lu uid=%lu "
		    "batch=%zu", c->id, log_safe(from, sizeof from,
		    c->env.sender, strlen(c->env.sender)), c->env.nrcpt,
		    c->size, (unsigned long)c->uid, n);
		if (conn_reply(c, 'K', c->id) < 0)
			/* committed but the client will not know: it may
			 * send the message again; say so, so the duplicate
			 * can be traced */
			log_warn("%s queued but the id could not be reported: "
			    "%s", c->id, strerror(errno));
	}
	/* one wake-up for the batch, after the replies */
	if (ok && qw_trigger() < 0)
		log_warn("trigger: %s", strerror(errno));
	batches++;
	batched += n;
}

/* Drop clients idle for IDLE_MAX (their files removed). */
static void
sweep(time_t now)
{
	struct conn *c, *next;

	for (c = conns; c; c = next) {
		next = c->next;
		if (now - c->last < idle_max)
			continue;
		log_warn("uid=%lu pid=%ld idle for %lld s: dropped%s",
		    (unsigned long)c->uid, (long)c->pid, (long long)idle_max,
		    c->st == C_DRAIN ? "" : ", nothing queued");
		drop(c);
	}
}

static void
loop(void)
{
	static char buf[READ_MAX];
	struct epoll_event ev[EVENTS_MAX];
	struct conn *head, **tail, *c, *next;
	time_t now, swept = time(NULL), stop_at = 0;
	int n, i, stopping = 0;

	for (;;) {
		if (stopping && (nconns == 0 || time(NULL) >= stop_at))
			break;
		n = epoll_wait(ep, ev, EVENTS_MAX, nconns ? 1000 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL) {
				if (lsock >= 0)
					take(0);
			} else if (ev[i].data.ptr == &sig_tag) {
				if (sig_next() != 0 && !stopping) {
					stopping = 1;
					stop_at = time(NULL) + STOP_GRACE;
					log_info("stopping: %zu connections "
					    "open", nconns);
					/* those in the backlog connected in
					 * time; then new clients run
					 * tern-enqueue */
					take(1);
					arm(0);
					close(lsock);
					lsock = -1;
				}
			} else {
				c = ev[i].data.ptr;
				if (!c->gone && !readable(c, buf))
					c->gone = 1;   /* dropped below */
			}
		}
		/* the batch: the messages complete after this round; then
		 * the connections that are finished or gone */
		head = NULL;
		tail = &head;
		for (c = conns; c; c = c->next)
			if (c->st == C_DONE && c->fd >= 0) {
				c->batch = NULL;
				*tail = c;
				tail = &c->batch;
			}
		if (head)
			commit_batch(head);
		for (c = conns; c; c = next) {
			next = c->next;
			if (c->gone) {
				drop(c);
			} else if (c->st == C_DONE && c->fd < 0)
				drop(c);   /* answered K: one message a connection */
		}
		now = time(NULL);
		if (now - swept >= 60) {
			sweep(now);
			swept = now;
		}
	}
	if (nconns)
		log_warn("stopped with %zu connections unfinished: nothing "
		    "queued for them", nconns);
	while (conns)
		drop(conns);
}

int
main(int argc, char **argv)
{
	static const struct startup st = {
		.name = "tern-enqueued", .keep_fd = 2,
		.user_key = "queue_user",
		.sigs = catch_sigs, .nsigs = sizeof catch_sigs / sizeof catch_sigs[0],
		.with_parent = 1,
	};

	startup_begin(&st, &argc, argv, 0);
	umask(027);
	setup();
	startup_drop(&st);
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_fatal("signal: %s", strerror(errno));
	listen_start();
	loop();
	log_info("stopped: %lu messages in %lu commits", batched, batches);
	return 0;
}
