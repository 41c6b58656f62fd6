/*
 * tern-start: the supervisor of the queue side.
 *
 *   tern-start [-C DIR] [-f]      set up the spool, run and watch
 *                                 tern-queued, tern-deliverd,
 *                                 tern-remote and tern-enqueued
 *   tern-start [-C DIR] stop      SIGTERM the running tern-start, wait
 *   tern-start [-C DIR] reload    check tern.conf, then SIGHUP the
 *                                 running tern-start
 *   tern-start --version
 *
 * It creates what the queue needs (spool_dir and its subdirectories, the
 * trigger FIFO), makes the SOCK_SEQPACKET socketpairs the children talk
 * over (tern-queued has tern-deliverd's on fd 3 and tern-remote's on fd
 * 4; each of those has its end on fd 3) and execs them; each child drops
 * its own privileges (lib/daemon/priv.c).  It stays in the foreground,
 * for systemd, supervise/runit and the quickstart, which backgrounds it.
 * If any child dies, the others are stopped too and all are started
 * again (they share the sockets and the requests in flight), at most
 * once a second, backing off to RESTART_MAX seconds while they keep
 * dying young.  tern-enqueued (queue_writer = yes) shares nothing with
 * them and is watched on its own: it is restarted alone when it dies,
 * with the same backoff, and a restart of the three leaves it running
 * (the sessions writing into it are not cut off).
 * SIGTERM/SIGINT stop all and exit 0.  SIGHUP is the one way to apply
 * a changed tern.conf to the queue side: tern-start reads and checks it
 * (the same cfg_load every program uses) and, only if it is good,
 * restarts the children so they read it too; a bad file is logged with
 * file:line and the children keep running on the old one.  Signals
 * arrive through a self-pipe and everything happens in one poll loop
 * (doc/CONVENTIONS.md rule 13).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "queue/spool.h"
#include "net/tls.h"

#define CHILD_FD 3         /* the first socket of each child (lib/queue/dlv.h) */
#define NKIDS 4
#define NGROUP 3           /* the first three share sockets: one group */
#define KILL_GRACE 15000   /* ms from SIGTERM to SIGKILL */
#define RESTART_MIN 1000   /* ms between starts, at least */
#define RESTART_MAX 30000  /* ms, while children keep dying young */
#define YOUNG 10000        /* ms: children that ran less died young */
#define STOP_WAIT 30       /* seconds "tern-start stop" waits */

struct kid {
	const char *name;
	pid_t pid;
};

/* tern-queued last of the group: it is the one signalled first at a
 * stop; tern-enqueued on its own */
enum { K_DELIVERD, K_REMOTE, K_QUEUED, K_ENQUEUED };
static struct kid kids[NKIDS] = { { "tern-deliverd", 0 },
	{ "tern-remote", 0 }, { "tern-queued", 0 }, { "tern-enqueued", 0 } };
/* tern-enqueued: when to start it again (-1: not to be started), since
 * when it runs, its backoff */
static long long wr_at = -1, wr_started, wr_backoff = RESTART_MIN;
static char pidfile[FS_PATH_MAX];
/* CHLD: restart the children; HUP: restart on request; TERM/INT: stop */
static const int catch_sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };

static void check_tls(void);

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkdir path with mode (exactly, whatever the umask), owned by the queue
 * user when we are root; an existing directory is left as it is, except
 * that a set-group-id bit that mode asks for is added (mess/ of a spool
 * made before it was used). */
static void
make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(path, mode) < 0) {
		if (errno == EEXIST && stat(path, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if ((mode & S_ISGID) && !(st.st_mode & S_ISGID) &&
			    chmod(path, (st.st_mode & 07777) | S_ISGID) < 0)
				log_fatal("chmod g+s %s: %s", path,
				    strerror(errno));
			return;
		}
		log_fatal("mkdir %s: %s", path, strerror(errno));
	}
	/* chown first: it may clear set-id bits that chmod then sets */
	if ((priv_is_root() && chown(path, uid, gid) < 0) ||
	    chmod(path, mode) < 0)
		log_fatal("setting up %s: %s", path, strerror(errno));
}

/* The directories above path (mode 0755 where created). */
static void
make_parent(const char *path)
{
	char parent[FS_PATH_MAX];
	char *slash;

	str_copy(parent, path, sizeof parent);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (fs_mkdirs(parent, 0755) < 0)
			log_fatal("mkdir %s: %s", parent, strerror(errno));
	}
}

/*
 * mail_dir, the base of virtual mailboxes: tern-deliverd creates each
 * Maildir under it as virtual_user, so when it is missing it is made
 * here, owned by virtual_user (when root).
 */
static void
make_maildir_base(void)
{
	const char *md = cfg_str(mail_dir);
	uid_t uid = 0;
	gid_t gid = 0;
	struct stat st;

	if (stat(md, &st) == 0 || errno != ENOENT)
		return;
	if (priv_is_root() &&
	    priv_user(cfg_str(virtual_user), &uid, &gid) <= 0) {
		log_warn("virtual_user %s does not exist: %s not created",
		    cfg_str(virtual_user), md);
		return;
	}
	make_parent(md);
	make_dir(md, 0750, uid, gid);
}

/*
 * The group of the directories the queue admin group reads (spool.h):
 * queue_admin_group, or queue_user's own group when that group does not
 * exist (a fresh box; said in the log).  Not root: nothing is chowned.
 */
static gid_t
admin_gid(gid_t queue_gid)
{
	gid_t g = queue_gid;
	int r;

	if (!priv_is_root())
		return queue_gid;
	r = spool_admin_gid(cfg_str(queue_admin_group), queue_gid, &g);
	if (r < 0)
		log_fatal("queue_admin_group %s: %s",
		    cfg_str(queue_admin_group), strerror(errno));
	if (r == 0)
		log_warn("queue_admin_group %s does not exist: the spool gets "
		    "the group of queue_user %s (gid %lu) instead",
		    cfg_str(queue_admin_group), cfg_str(queue_user),
		    (unsigned long)queue_gid);
	return g;
}

/* An existing directory of the admin group: group and the mode's bits
 * (a spool made before the admin group or ctl/ existed). */
static void
fix_admin_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (!priv_is_root() || stat(path, &st) < 0)
		return;
	if ((st.st_uid != uid || st.st_gid != gid) && chown(path, uid, gid) < 0)
		log_fatal("chown %s: %s", path, strerror(errno));
	if ((st.st_mode & mode) != mode &&
	    chmod(path, (st.st_mode & 07777) | mode) < 0)
		log_fatal("chmod %s: %s", path, strerror(errno));
}

static void
make_spool(void)
{
	const char *spool = cfg_str(spool_dir);
	char p[FS_PATH_MAX];
	uid_t uid = 0;
	gid_t gid = 0, agid;
	struct stat st;
	size_t i;

	if (priv_is_root() && priv_user(cfg_str(queue_user), &uid, &gid) <= 0)
		log_fatal("queue_user %s does not exist (see tern.conf)",
		    cfg_str(queue_user));
	agid = admin_gid(gid);
	make_parent(spool);
	make_dir(spool, SPOOL_MODE, uid, agid);
	fix_admin_dir(spool, SPOOL_MODE, uid, agid);
	/* the layout of lib/queue/spool.h (mess/ and state/ set-group-id,
	 * so that the queue admin group can read what is written there) */
	for (i = 0; spool_dirs[i].name != NULL; i++) {
		gid_t g = spool_dirs[i].admin ? agid : gid;

		if (fs_join(p, sizeof p, spool, spool_dirs[i].name) < 0)
			log_fatal("%s: %s", spool, strerror(errno));
		make_dir(p, spool_dirs[i].mode, uid, g);
		if (spool_dirs[i].admin)
			fix_admin_dir(p, spool_dirs[i].mode, uid, g);
	}
	make_maildir_base();
	if (fs_join(p, sizeof p, spool, SPOOL_TRIGGER) < 0)
		log_fatal("%s: %s", spool, strerror(errno));
	if (mkfifo(p, SPOOL_TRIGGER_MODE) == 0) {
		/* any injector may write a wake-up byte */
		if (chmod(p, SPOOL_TRIGGER_MODE) < 0 ||
		    (priv_is_root() && chown(p, uid, gid) < 0))
			log_fatal("setting up %s: %s", p, strerror(errno));
	} else if (errno != EEXIST || lstat(p, &st) < 0 ||
	    !S_ISFIFO(st.st_mode)) {
		log_fatal("%s: cannot make the trigger FIFO: %s", p,
		    errno == EEXIST ? "exists and is not a FIFO" :
		    strerror(errno));
	}
}

/*
 * tls_ticket_key, when configured and missing: 80 random bytes (the
 * session ticket key of lib/net/tls_server.c), mode 0600, owned by whoever
 * runs tern-start (root in production: the servers read it before they
 * drop privileges).  Written to a temporary name, fsynced, renamed, the
 * directory fsynced (fs_atomic_write).  An existing file is never
 * replaced: delete it and restart to rotate the key.
 */
#define TICKET_KEY_LEN 80

static void
make_ticket_key(void)
{
	const char *path = cfg_str(tls_ticket_key);
	unsigned char key[TICKET_KEY_LEN];
	char tmp[FS_PATH_MAX];
	struct stat st;
	size_t got = 0;
	ssize_t r;

	if (path[0] == '\0' || lstat(path, &st) == 0 || errno != ENOENT)
		return;
	while (got < sizeof key) {
		r = getrandom(key + got, sizeof key - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			log_fatal("getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		log_fatal("tls_ticket_key %s: name too long", path);
	make_parent(path);
	if (fs_atomic_write(path, tmp, key, sizeof key, 0600) < 0)
		log_fatal("tls_ticket_key %s: %s", path, strerror(errno));
	explicit_bzero(key, sizeof key);
	log_info("created tls_ticket_key %s", path);
}

/* The pid in the pid file, or 0 when there is none (or it is junk). */
static pid_t
read_pid(void)
{
	char *data = NULL;
	size_t len = 0;
	unsigned long u = 0;

	if (fs_read_file(pidfile, 64, &data, &len) <= 0)
		return 0;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
		len--;
	if (!str_ulong(data, len, 4194304, &u) || u < 2)
		u = 0;
	free(data);
	return (pid_t)u;
}

/* 1 if pid is alive and (as far as /proc tells) a tern-start, so that a
 * stale pid file naming a reused pid is not taken for us */
static int
is_running(pid_t pid)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	/* /proc files have no size: read(2), not fs_read_file */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;  /* no /proc: believe the pid file */
	n = read(fd, comm, sizeof comm);
	close(fd);
	return n < 0 || (n >= 10 && memcmp(comm, "tern-start", 10) == 0);
}

static void
write_pid(void)
{
	char tmp[4200], line[32];
	int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	pid_t old = read_pid();

	if (old != getpid() && is_running(old))
		log_fatal("already running as pid %ld (%s)", (long)old,
		    pidfile);
	if (snprintf(tmp, sizeof tmp, "%s.tmp", pidfile) >= (int)sizeof tmp ||
	    n < 0 || fs_atomic_write(pidfile, tmp, line, (size_t)n, 0644) < 0)
		log_fatal("cannot write %s: %s", pidfile, strerror(errno));
}

/* tern-start stop: 0 stopped or not running, 111 it would not stop */
static int
do_stop(void)
{
	pid_t pid = read_pid();
	int i;

	if (!is_running(pid) || (kill(pid, SIGTERM) < 0 && errno == ESRCH)) {
		fprintf(stderr, "tern-start: not running\n");
		return 0;
	}
	if (errno == EPERM) {
		fprintf(stderr, "tern-start: cannot signal pid %ld: %s\n",
		    (long)pid, strerror(errno));
		return 111;
	}
	for (i = 0; i < STOP_WAIT * 10; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		poll(NULL, 0, 100);
	}
	fprintf(stderr, "tern-start: pid %ld did not stop within %d s\n",
	    (long)pid, STOP_WAIT);
	return 111;
}

/* tern-start reload: 0 signalled, 1 tern.conf is bad or nothing runs,
 * 111 the signal could not be sent.  The file is checked here too, so the
 * admin sees a mistake at once rather than in the log. */
static int
do_reload(void)
{
	pid_t pid = read_pid();

	if (!is_running(pid)) {
		fprintf(stderr, "tern-start: not running (%s)\n", pidfile);
		return 1;
	}
	if (kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "tern-start: cannot signal pid %ld: %s\n",
		    (long)pid, strerror(errno));
		return 111;
	}
	printf("tern-start: pid %ld reloads %s/tern.conf\n", (long)pid,
	    cfg_dir());
	return 0;
}

/* fork + exec program_dir/NAME -C DIR with sock (if not -1) as fd 3 and
 * sock2 (if not -1) as fd 4 */
static pid_t
spawn(const char *name, int sock, int sock2)
{
	char path[FS_PATH_MAX];
	char *argv[] = { path, "-C", (char *)cfg_dir(), NULL };
	sigset_t none;
	pid_t pid, parent;
	int null;

	if (fs_join(path, sizeof path, cfg_str(program_dir), name) < 0)
		log_fatal("program_dir: %s", strerror(errno));
	parent = getpid();
	if ((pid = fork()) != 0) {
		if (pid < 0)
			log_err("fork: %s", strerror(errno));
		return pid;
	}
	sig_reset();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the child dies with us, also before it has set this itself after
	 * its privilege drop (lib/daemon/startup.c) */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(111);
	/* sock2 first out of the way of fd 3 and 4 */
	if (sock2 >= 0 && sock2 <= CHILD_FD + 1) {
		int t = fcntl(sock2, F_DUPFD_CLOEXEC, CHILD_FD + 2);

		if (t < 0)
			_exit(111);
		sock2 = t;
	}
	if (sock >= 0 && (sock == CHILD_FD ? fcntl(sock, F_SETFD, 0) < 0 :
	    dup2(sock, CHILD_FD) < 0))
		_exit(111);
	if (sock2 >= 0 && dup2(sock2, CHILD_FD + 1) < 0)
		_exit(111);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || (null != 0 && dup2(null, 0) < 0))
		_exit(111);
	if (null != 0)
		close(null);
	fd_close_from(sock2 >= 0 ? CHILD_FD + 2 : sock >= 0 ? CHILD_FD + 1 :
	    CHILD_FD);
	execv(path, argv);
	log_err("cannot run %s: %s", path, strerror(errno));
	_exit(111);
}

static int
start_all(void)
{
	int dv[2], rv[2], i, ok;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, dv) < 0) {
		log_err("socketpair: %s", strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rv) < 0) {
		log_err("socketpair: %s", strerror(errno));
		close(dv[0]);
		close(dv[1]);
		return -1;
	}
	kids[K_DELIVERD].pid = spawn(kids[K_DELIVERD].name, dv[0], -1);
	if (kids[K_DELIVERD].pid > 0)
		kids[K_REMOTE].pid = spawn(kids[K_REMOTE].name, rv[0], -1);
	if (kids[K_DELIVERD].pid > 0 && kids[K_REMOTE].pid > 0)
		kids[K_QUEUED].pid = spawn(kids[K_QUEUED].name, dv[1], rv[1]);
	close(dv[0]);
	close(dv[1]);
	close(rv[0]);
	close(rv[1]);
	for (ok = 1, i = 0; i < NGROUP; i++)
		if (kids[i].pid <= 0) {
			kids[i].pid = 0;
			ok = 0;
		}
	if (!ok)
		return -1;
	log_info("started tern-deliverd pid=%ld tern-remote pid=%ld "
	    "tern-queued pid=%ld", (long)kids[K_DELIVERD].pid,
	    (long)kids[K_REMOTE].pid, (long)kids[K_QUEUED].pid);
	return 1;
}

/* tern-enqueued, when it is due (queue_writer = yes) */
static void
start_writer(long long now)
{
	if (kids[K_ENQUEUED].pid > 0 || wr_at < 0 || now < wr_at)
		return;
	wr_at = -1;
	if (!cfg_bool(queue_writer))
		return;
	wr_started = now;
	kids[K_ENQUEUED].pid = spawn(kids[K_ENQUEUED].name, -1, -1);
	if (kids[K_ENQUEUED].pid > 0) {
		log_info("started tern-enqueued pid=%ld",
		    (long)kids[K_ENQUEUED].pid);
		return;
	}
	kids[K_ENQUEUED].pid = 0;
	wr_at = now + RESTART_MAX;
}

/* tern-enqueued is gone: when to start it again */
static void
writer_gone(long long now)
{
	if (now - wr_started < YOUNG)
		wr_backoff = wr_backoff * 2 > RESTART_MAX ? RESTART_MAX :
		    wr_backoff * 2;
	else
		wr_backoff = RESTART_MIN;
	wr_at = wr_started + wr_backoff < now ? now : wr_started + wr_backoff;
}

/* the group's children alive */
static int
kids_alive(void)
{
	int i, n = 0;

	for (i = 0; i < NGROUP; i++)
		n += kids[i].pid > 0;
	return n;
}

/*
 * SIGTERM goes to tern-queued first and to tern-deliverd and
 * tern-remote only once tern-queued is gone: tern-queued waits for the
 * results in flight, which they must still be there to send.  SIGKILL
 * goes to all.
 */
static void
signal_kids(int sig)
{
	int i;

	if (sig == SIGTERM && kids[K_QUEUED].pid > 0) {
		(void)kill(kids[K_QUEUED].pid, sig);
		return;
	}
	for (i = NGROUP - 1; i >= 0; i--)
		if (kids[i].pid > 0)
			(void)kill(kids[i].pid, sig);
}

/* Reap; 1 if a child of the group exited (tern-enqueued is scheduled
 * for a restart here, unless stopping). */
static int
reap(long long now, int stopping)
{
	int status, i, any = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < NKIDS; i++) {
			if (kids[i].pid != pid)
				continue;
			kids[i].pid = 0;
			if (i == K_ENQUEUED) {
				if (!stopping)
					writer_gone(now);
			} else
				any = 1;
			if (WIFSIGNALED(status))
				log_warn("%s killed by signal %d", kids[i].name,
				    WTERMSIG(status));
			else
				log_info("%s exited %d", kids[i].name,
				    WEXITSTATUS(status));
		}
	return any;
}

enum mode { RUN, RESTART, STOP };

struct sup {
	enum mode mode;
	long long started, kill_at, restart_at, backoff;
};

/* Stop what runs, then start again after the backoff. */
static void
sup_restart(struct sup *s, long long now, const char *why)
{
	if (now - s->started < YOUNG)
		s->backoff = s->backoff * 2 > RESTART_MAX ? RESTART_MAX :
		    s->backoff * 2;
	else
		s->backoff = RESTART_MIN;
	s->mode = RESTART;
	s->kill_at = now + KILL_GRACE;
	s->restart_at = s->started + s->backoff;
	if (s->restart_at < now)
		s->restart_at = now;
	log_warn("%s: restarting all in %lld ms", why, s->restart_at - now);
	signal_kids(SIGTERM);
}

/* A reload refused after tern.conf loaded: back to the configuration the
 * children run with, so that children restarted later (after a crash)
 * get it too, not the refused one. */
static void
reload_revert(void)
{
	if (!cfg_revert())
		log_panic("reload: no configuration to go back to");
	cfg_log_init("tern-start");
}

/*
 * SIGHUP: read tern.conf again.  1 if the children may be restarted on
 * it; 0 if it is bad (cfg_load keeps the old configuration) or cannot be
 * applied without stopping tern-start, and then nothing changes.
 */
static int
reload_config(void)
{
	static const char *const users[] = { "queue_user", "deliver_user",
	    "remote_user",
	    NULL };
	char err[512], newpid[FS_PATH_MAX];
	uid_t uid;
	gid_t gid;
	size_t i;
	const char *why;

	if (cfg_load(cfg_dir(), err, sizeof err) < 0) {
		log_err("reload: %s: keeping the running configuration", err);
		return 0;
	}
	cfg_log_init("tern-start");
	if (fs_join(newpid, sizeof newpid, cfg_str(spool_dir),
	    "tern-start.pid") < 0 || strcmp(newpid, pidfile) != 0) {
		log_err("reload: spool_dir changed to %s: stop and start "
		    "tern-start to move the queue; children not restarted",
		    cfg_str(spool_dir));
		reload_revert();
		return 0;
	}
	for (i = 0; priv_is_root() && users[i]; i++)
		if (priv_user(cfg_str_named(users[i]), &uid, &gid) <= 0) {
			log_err("reload: %s %s does not exist; children not "
			    "restarted", users[i], cfg_str_named(users[i]));
			reload_revert();
			return 0;
		}
	if (!cfg_host_ok(cfg_hostname(), &why))
		log_warn("reload: hostname %s: %s", cfg_hostname(), why);
	make_maildir_base();
	make_ticket_key();
	check_tls();
	return 1;
}

static void
sup_signals(struct sup *s, long long now)
{
	int sig;

	while ((sig = sig_next()) != 0) {
		if (sig == SIGCHLD) {
			if (!reap(now, s->mode == STOP))
				continue;
			if (s->mode == RUN)
				sup_restart(s, now, "a child died");
			else
				signal_kids(SIGTERM);  /* the next one */
		} else if (sig == SIGHUP && s->mode != STOP) {
			if (!reload_config())
				continue;
			log_info("reload: tern.conf read");
			/* tern-enqueued finishes its messages, exits and
			 * is started again at once, on the new file */
			wr_started = 0;
			if (kids[K_ENQUEUED].pid > 0)
				(void)kill(kids[K_ENQUEUED].pid, SIGTERM);
			else if (wr_at < 0)
				wr_at = now;
			/* restarting already: the new ones read it anyway */
			if (s->mode != RUN)
				continue;
			s->started = 0;  /* no backoff for this one */
			sup_restart(s, now, "reload");
		} else if ((sig == SIGTERM || sig == SIGINT) &&
		    s->mode != STOP) {
			log_info("stopping");
			s->mode = STOP;
			s->kill_at = now + KILL_GRACE;
			signal_kids(SIGTERM);
			wr_at = -1;
			if (kids[K_ENQUEUED].pid > 0)
				(void)kill(kids[K_ENQUEUED].pid, SIGTERM);
		}
	}
}

static int
sup_timeout(const struct sup *s, long long now, int alive)
{
	long long until = -1;

	if (s->mode != RUN && (alive ||
	    (s->mode == STOP && kids[K_ENQUEUED].pid > 0)))
		until = s->kill_at;
	else if (s->mode == RESTART)
		until = s->restart_at;
	if (wr_at >= 0 && s->mode != STOP && (until < 0 || wr_at < until))
		until = wr_at;
	if (until < 0)
		return -1;
	return until <= now ? 0 : (int)(until - now);
}

static void
supervise(void)
{
	struct sup s = { RUN, 0, 0, 0, RESTART_MIN };
	struct pollfd p;
	long long now;
	int alive;

	s.started = now_ms();
	wr_at = s.started;
	start_writer(s.started);
	if (start_all() < 0)
		sup_restart(&s, s.started, "start failed");
	for (;;) {
		now = now_ms();
		alive = kids_alive();
		if (s.mode == STOP && alive == 0 && kids[K_ENQUEUED].pid <= 0)
			return;
		if (s.mode != STOP)
			start_writer(now);
		if (s.mode == RESTART && alive == 0 && now >= s.restart_at) {
			s.started = now;
			s.mode = RUN;
			if (start_all() < 0)
				sup_restart(&s, now, "start failed");
			continue;
		}
		if (s.mode != RUN && alive > 0 && now >= s.kill_at) {
			log_warn("children did not stop: SIGKILL");
			signal_kids(SIGKILL);
			s.kill_at = now + KILL_GRACE;
		}
		if (s.mode == STOP && alive == 0 && kids[K_ENQUEUED].pid > 0 &&
		    now >= s.kill_at) {
			log_warn("tern-enqueued did not stop: SIGKILL");
			(void)kill(kids[K_ENQUEUED].pid, SIGKILL);
			s.kill_at = now + KILL_GRACE;
		}
		p.fd = sig_fd();
		p.events = POLLIN;
		if (poll(&p, 1, sup_timeout(&s, now, alive)) < 0 &&
		    errno != EINTR)
			log_fatal("poll: %s", strerror(errno));
		sup_signals(&s, now_ms());
	}
}

static int
usage(void)
{
	fprintf(stderr, "usage: tern-start [-C DIR] [-f]\n"
	    "       tern-start [-C DIR] stop|reload\n"
	    "       tern-start --version\n");
	return 100;
}

/*
 * The servers build their TLS context lazily, per connection; a broken
 * certificate would only show up there.  Say it once at start-up instead,
 * from a short-lived child so the supervisor does not keep OpenSSL and
 * the context in memory for nothing.
 */
static void
check_tls(void)
{
	char err[256];
	pid_t pid;
	int r, st;

	if (cfg_str(tls_cert)[0] == '\0')
		return;
	if ((pid = fork()) < 0) {
		log_warn("fork: %s: TLS not checked", strerror(errno));
		return;
	}
	if (pid == 0) {
		r = tls_server_init(err, sizeof err);
		if (r > 0)
			r = tls_server_prepare(err, sizeof err);
		if (r < 0)
			log_warn("TLS is configured but does not work: %s", err);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* tern-start reload with a tern.conf that does not load: say why, change
 * nothing, exit 1 (the running instance keeps its configuration). */
static void reload_refused(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
reload_refused(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "tern-start: %s: not reloaded\n", msg);
	exit(1);
}

int
main(int argc, char **argv)
{
	/* the start-up path's first half (lib/daemon/startup.h): tern-start
	 * stays root with its capabilities, which its children drop; a
	 * reload with a bad tern.conf is refused without a fatal log line */
	static const struct startup st = {
		.name = "tern-start", .keep_fd = 2,
	}, st_reload = {
		.name = "tern-start", .keep_fd = 2, .fail = reload_refused,
	};
	int i, stop = 0, reload = 0;

	reload = argc > 1 && strcmp(argv[argc - 1], "reload") == 0;
	startup_begin(reload ? &st_reload : &st, &argc, argv, 1);
	reload = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			continue;  /* always in the foreground */
		if (strcmp(argv[i], "stop") == 0 && i == argc - 1)
			stop = 1;
		else if (strcmp(argv[i], "reload") == 0 && i == argc - 1)
			reload = 1;
		else
			return usage();
	}
	if (fs_join(pidfile, sizeof pidfile, cfg_str(spool_dir),
	    "tern-start.pid") < 0)
		log_fatal("spool_dir: %s", strerror(errno));
	if (stop)
		return do_stop();
	if (reload)
		return do_reload();
	make_spool();
	make_ticket_key();
	check_tls();
	sig_catch(catch_sigs, sizeof catch_sigs / sizeof catch_sigs[0]);
	write_pid();
	supervise();
	if (unlink(pidfile) < 0)
		log_warn("unlink %s: %s", pidfile, strerror(errno));
	log_info("stopped");
	return 0;
}
