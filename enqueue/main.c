/*
 * tern-enqueue: the only program that writes messages into the queue.
 *
 * Reads the protocol of lib/queue/enq.h on stdin, checks every envelope line,
 * writes mess/ID (created exclusively, mode QFILE_MODE_WORK), marks it
 * complete (QFILE_MODE_DONE) and fsyncs it once (the commit, doc/DESIGN.md
 * "The queue"), then announces the message through todo/ID and a byte on
 * the trigger FIFO and prints the id.
 *
 * It may be installed setuid to queue_user, so it trusts nothing from its
 * caller: not the environment (cleared), not -C (when the real and
 * effective ids differ only a trusted directory, cfg_load_fd), not the
 * envelope (bounded and checked line by line with the queue reader's own
 * grammar, qenv_line in lib/queue).  It never takes root rights back: a
 * root caller (lib/queue/enq.c enq_open) opens the configuration
 * directory and the spool itself and runs us as queue_user with them as
 * fds (-D, -S), which only a caller that is not set-id elevated may pass
 * (setup).  It is kept this small on purpose (doc/CONVENTIONS.md rule 2:
 * the set-id injector stays small).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/smtpparse.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"
#include "queue/enq.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/qwrite.h"

#define CHUNK_LINE_MAX 16   /* "<hex length>\n" */

static char workname[QW_NAME_MAX];  /* removed on failure and by signals */
static int to_syslog;
static uid_t caller;              /* the real uid, before any switch */
static struct io in;
static char data[ENQ_CHUNK_MAX];

/* Remove the work file and leave: the message was not queued. */
static void die(int, const char *, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void
die(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (workname[0])
		unlink(workname);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(2, "tern-enqueue: %s\n", msg);
	if (to_syslog)
		log_warn("uid=%lu %s", (unsigned long)caller, msg);
	exit(code);
}

/* EOF before the end marker: the client gave up, nothing to say. */
static void __attribute__((noreturn))
gave_up(void)
{
	if (workname[0])
		unlink(workname);
	exit(111);
}

static void
on_signal(int sig)
{
	(void)sig;
	if (workname[0])
		unlink(workname);
	_exit(111);
}

/* A setuid program must not inherit closed standard fds: a file opened
 * later would become fd 1 and receive our output. */
static void
std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(111);
}

/*
 * Into spool_dir, which must belong to the user we write as: queue_user
 * when root runs a plain (not set-id) copy (then we switch to it here,
 * after opening the spool with root's access, doc/DESIGN.md), else
 * ourselves.  spoolfd >= 0: the spool opened by the root caller (-S), not
 * reached by name.  From here on every path is relative to the spool: the
 * directories above it need not be reachable by queue_user.
 */
static void
enter_spool(int spoolfd)
{
	const char *spool = cfg_str(spool_dir);
	int root = geteuid() == 0, fd = spoolfd;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct stat st;

	if (root && priv_user(cfg_str(queue_user), &uid, &gid) != 1)
		die(111, "unknown queue_user %s", cfg_str(queue_user));
	if (fd < 0)
		fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(111, "%s: %s", spool, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die(111, "%s: not a directory", spool);
	if (st.st_uid != uid)
		die(111, "%s: owned by uid %lu, not by the queue user (uid %lu)",
		    spool, (unsigned long)st.st_uid, (unsigned long)uid);
	if (fchdir(fd) < 0)
		die(111, "%s: %s", spool, strerror(errno));
	close(fd);
	if (root)   /* files belong to queue_user */
		priv_drop_ids(uid, gid);
}

/* The number of option opt at argv[*i + 1], a fd or a uid; moves *i. */
static unsigned long
opt_num(int argc, char **argv, int *i, unsigned long max)
{
	unsigned long n;

	if (*i + 1 >= argc || !str_ulongs(argv[*i + 1], max, &n))
		die(100, "usage: tern-enqueue [-C DIR] [-D FD -S FD [-U UID]]");
	(*i)++;
	return n;
}

/* The fd n of -D or -S (above the standard ones), made close-on-exec. */
static int
opt_dirfd(unsigned long n)
{
	int fd = (int)n;

	if (fd < 3 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		die(111, "fd %lu: %s", n, fd < 3 ? "not a directory fd" :
		    strerror(errno));
	return fd;
}

/*
 * Configuration, privileges, signals; leaves us in spool_dir.
 *
 * -D FD -S FD [-U UID] come from a root caller's enq_open, which opened
 * the configuration directory and the spool as root (so an instance under
 * a directory only root can enter works) and runs us as queue_user; UID
 * is the caller's for the envelope.  They are accepted only when we are
 * not set-id elevated (real ids = effective ids: the caller is the queue
 * user already, or this is a plain copy), so an ordinary caller of the
 * setuid copy cannot hand us a directory of its own.  The directory fd
 * is held to the same trust checks as a -C directory of a setuid run.
 */
static void
setup(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	int setid = getuid() != geteuid() || getgid() != getegid();
	int conffd = -1, spoolfd = -1, hasd = 0, hass = 0, hasuid = 0, i, r = 1;
	uid_t owner = geteuid();   /* the user we are setuid to */
	unsigned long d = 0, sp = 0, u = 0;
	struct sigaction sa;
	char err[512];

	/* only words are printed: safe before any check */
	if (startup_want_version(argc, argv))
		startup_version("tern-enqueue");
	caller = getuid();
	std_fds();
	log_init("tern-enqueue", LOG_TO_STDERR, LOG_MAIL);
	if (geteuid() == 0 && getuid() != 0)
		die(111, "refusing to run setuid root");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-D") == 0 && !hasd) {
			d = opt_num(argc, argv, &i, INT_MAX);
			hasd = 1;
		} else if (strcmp(argv[i], "-S") == 0 && !hass) {
			sp = opt_num(argc, argv, &i, INT_MAX);
			hass = 1;
		} else if (strcmp(argv[i], "-U") == 0 && !hasuid) {
			u = opt_num(argc, argv, &i, (uid_t)-1 - 1);
			hasuid = 1;
		} else
			die(100, "usage: tern-enqueue [-C DIR] "
			    "[-D FD -S FD [-U UID]]");
	}
	/* before anything is done with them */
	if ((hasd || hass || hasuid) && setid)
		die(111, "-D, -S and -U are only for a caller that is the "
		    "queue user already: refused when setuid");
	if (hasd != hass || (hasuid && !hasd))
		die(100, "usage: tern-enqueue [-C DIR] [-D FD -S FD [-U UID]]");
	if (hasd) {
		conffd = opt_dirfd(d);
		spoolfd = opt_dirfd(sp);
	}
	if (hasuid)
		caller = (uid_t)u;
	if (setid) {
		if (dir == NULL)
			dir = TERN_SYSCONFDIR;  /* TERN_CONFDIR is not trusted */
		else if (strcmp(dir, TERN_SYSCONFDIR) != 0) {
			/* checked and read through one fd: no swap between */
			conffd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
			    O_NOCTTY);
			if (conffd < 0)
				die(111, "%s: %s", dir, strerror(errno));
		}
		clearenv();
	}
	umask(027);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
	if (conffd >= 0) {
		r = cfg_load_fd(conffd, dir, owner, err, sizeof err);
		close(conffd);
	} else if (cfg_load(dir, err, sizeof err) < 0)
		r = -1;
	if (r == 0)
		die(111, "%s: refused%s", err, setid ? " when setuid" : "");
	if (r < 0)
		die(111, "%s", err);
	to_syslog = strcmp(cfg_str(log), "stderr") != 0;
	cfg_log_init("tern-enqueue");
	enter_spool(spoolfd);
}

/* A line with its LF; EOF or a partial last line means gave_up. */
static size_t
get_line(char *line, size_t max, const char *toolong)
{
	size_t n;
	int r = io_getline(&in, line, max, &n);

	if (r < 0 && errno == EMSGSIZE)
		die(100, "%s", toolong);
	if (r < 0)
		die(111, "reading input: %s", strerror(errno));
	if (r == 0 || line[n - 1] != '\n')
		gave_up();
	line[--n] = '\0';
	return n;
}

/* The envelope lines, checked with the reader's own grammar
 * (lib/queue/qfile.h), up to the empty line. */
static void
read_env(struct qenv *e)
{
	char line[QENV_LINE_MAX + 2];
	struct qenv_parse p;
	const char *why;
	size_t n;
	int r;

	qenv_parse_init(&p, QENV_INPUT, &qenv_limits_std);
	while ((n = get_line(line, QENV_LINE_MAX + 1,
	    "envelope line too long"))) {
		if ((r = qenv_line(&p, e, line, n, &why)) < 0)
			die(111, "out of memory");
		if (r == 0)
			die(100, "envelope line %u: %s", p.lineno, why);
	}
	if (qenv_end(&p, e, &why) == 0)
		die(100, "envelope: %s", why);
}

/* Copy the chunks to fd; returns the message size. */
static unsigned long
copy_body(int fd, unsigned long limit)
{
	char line[CHUNK_LINE_MAX + 1];
	unsigned long total = 0;
	size_t n, i, got, len;

	for (;;) {
		n = get_line(line, CHUNK_LINE_MAX, "bad chunk length");
		if (!enq_chunk_len(line, n, ENQ_CHUNK_MAX, &len))
			die(100, "bad chunk length");
		if (len == 0)
			return total;
		if ((total += len) > limit)
			die(100, "message too big");
		for (got = 0; got < len; got += (size_t)i) {
			ssize_t r = io_read(&in, data + got, len - got);

			if (r < 0)
				die(111, "reading input: %s", strerror(errno));
			if (r == 0)
				gave_up();
			i = (size_t)r;
		}
		if (fd_write_all(fd, data, len) < 0)
			die(111, "writing %s: %s", workname, strerror(errno));
	}
}

/* Create mess/ID exclusively, not yet committed. */
static int
create_work(char id[QID_SIZE])
{
	int fd = qw_create(id, workname);

	if (fd < 0)
		die(111, "creating mess/%s: %s", id, strerror(errno));
	return fd;
}

/*
 * The commit: mark the file complete and fsync it.  The file was created
 * in mess/ before this fsync, and journalling file systems (ext4, xfs,
 * btrfs) make a new file's directory entry durable with the file's own
 * fsync; spool_sync_dirs = yes adds an fsync of mess/ for those that do
 * not.  Only after this does the client hear that the message is queued.
 */
static void
commit(int fd)
{
	sigset_t all;

	/* from the fchmod on, the file reads as complete: a signal must not
	 * remove it (on_signal) between the commit and workname[0] = '\0',
	 * so signals wait until we are done (a failure below still removes
	 * it, through die: the client is told it was not queued) */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (fchmod(fd, QFILE_MODE_DONE) < 0 || fsync(fd) < 0 || close(fd) < 0)
		die(111, "writing %s: %s", workname, strerror(errno));
	if (cfg_bool(spool_sync_dirs) && fs_syncdir("mess") < 0)
		die(111, "fsync mess: %s", strerror(errno));
	workname[0] = '\0';   /* committed */
}

/*
 * todo/ID, then a byte on the FIFO.  The marker is how a running
 * tern-queued learns of the message (it reads mess/ only when it starts),
 * so a message without one would wait for the next restart: when it
 * cannot be made (disk full: no inode or no room in todo/), the message
 * is taken back and the client gets a temporary failure.  The byte only
 * wakes tern-queued up.
 */
static void
announce(const char *id)
{
	char name[QW_NAME_MAX];
	int saved;

	if (qw_todo(id) < 0) {
		saved = errno;
		snprintf(name, sizeof name, "mess/%s", id);
		if (unlink(name) < 0)
			log_warn("%s removing %s: %s", id, name,
			    strerror(errno));
		die(111, "creating todo/%s: %s", id, strerror(saved));
	}
	if (qw_trigger() < 0)
		log_warn("%s trigger: %s", id, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct qenv e;
	struct buf env = BUF_INIT;
	char id[QID_SIZE], from[LOG_SAFE_MAX];
	unsigned long size;
	int fd;

	setup(argc, argv);
	memset(&e, 0, sizeof e);
	io_init(&in, 0, 1, 0);
	read_env(&e);
	e.arrival = time(NULL);
	e.uid = caller;
	if (qfile_format_env(&env, &e) < 0)
		die(111, "envelope: %s", strerror(errno));
	/* the reader's limit: never queue what tern-queued calls corrupt */
	if (env.len > QFILE_ENV_MAX)
		die(100, "envelope too large");
	fd = create_work(id);
	if (fd_write_all(fd, env.s, env.len) < 0)
		die(111, "writing %s: %s", workname, strerror(errno));
	size = copy_body(fd, cfg_num(message_size_limit));
	commit(fd);
	announce(id);
	log_info("%s queued from=<%s> nrcpt=%zu size=%lu uid=%lu", id,
	    log_safe(from, sizeof from, e.sender, strlen(e.sender)), e.nrcpt,
	    size, (unsigned long)e.uid);
	if (dprintf(1, "%s\n", id) < 0) {
		/* committed but the caller will not know: it may send the
		 * message again; say so, so the duplicate can be traced */
		log_warn("%s queued but the id could not be reported: %s", id,
		    strerror(errno));
		return 111;
	}
	return 0;
}
