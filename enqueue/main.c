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
 * effective ids differ only a trusted directory, trusted_confdir), not the
 * envelope (bounded and checked line by line with the queue reader's own
 * grammar, qenv_line in lib/queue).  A root caller's access is used to
 * reach the configuration and the spool, nobody else's (setup).  It is
 * kept this small on purpose (doc/CONVENTIONS.md rule 2: the set-id
 * injector stays small).
 */
#include <errno.h>
#include <fcntl.h>
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

#define CHUNK_LINE_MAX 16   /* "<hex length>\n" */
#define NAME_MAX_ 64        /* "mess/" + a queue id */

static char workname[NAME_MAX_];  /* removed on failure and by signals */
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

/*
 * When installed setuid, a configuration directory other than the
 * compiled-in one is used only if it is trusted, checked in the current
 * directory (we chdir'ed into it, so what is checked is what cfg_load
 * reads first): "." is a directory and tern.conf (followed if a symlink) a
 * regular file, each owned by root or by owner (the user we are setuid
 * to) and writable by neither group nor others.  A caller cannot point us
 * at a spool of their choosing, while a root-made instance (a test or a
 * second instance under -C) still works.  NULL if trusted, else why not,
 * in why: ": reason" or "/tern.conf: reason", to follow the directory.
 */
static const char *
trusted_confdir(uid_t owner, char *why, size_t whysz)
{
	/* the path to stat, and how it is named after the directory's */
	static const char *const path[] = { ".", "tern.conf" };
	static const char *const name[] = { "", "/tern.conf" };
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (stat(path[i], &st) < 0) {
			snprintf(why, whysz, "%s: %s", name[i], strerror(errno));
			return why;
		}
		if (i == 0 ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
			snprintf(why, whysz, "%s: not a %s", name[i],
			    i == 0 ? "directory" : "regular file");
			return why;
		}
		if (st.st_uid != 0 && st.st_uid != owner) {
			snprintf(why, whysz, "%s: owned by uid %lu, not by root "
			    "or the queue user (uid %lu)", name[i],
			    (unsigned long)st.st_uid, (unsigned long)owner);
			return why;
		}
		if (st.st_mode & 022) {
			snprintf(why, whysz, "%s: writable by group or others",
			    name[i]);
			return why;
		}
	}
	return NULL;
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
 * when root runs us (then we switch to it here, after opening the spool
 * with root's access, doc/DESIGN.md), else ourselves.  From here on every
 * path is relative to the spool: the directories above it need not be
 * reachable by queue_user.
 */
static void
enter_spool(void)
{
	const char *spool = cfg_str(spool_dir);
	int root = geteuid() == 0, fd;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct stat st;

	if (root && priv_user(cfg_str(queue_user), &uid, &gid) != 1)
		die(111, "unknown queue_user %s", cfg_str(queue_user));
	fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(111, "%s: %s", spool, strerror(errno));
	if (st.st_uid != uid)
		die(111, "%s: owned by uid %lu, not by the queue user (uid %lu)",
		    spool, (unsigned long)st.st_uid, (unsigned long)uid);
	if (fchdir(fd) < 0)
		die(111, "%s: %s", spool, strerror(errno));
	close(fd);
	if (root)   /* files belong to queue_user */
		priv_drop_ids(uid, gid);
}

/*
 * Configuration, privileges, signals; leaves us in spool_dir.
 *
 * A caller whose real uid is root is trusted with root's own access
 * rights: a setuid copy run by root takes back euid 0 (the real uid
 * allows it) and goes on as if root had run a plain copy, so that a
 * configuration and spool under a directory only root can enter (a
 * checkout under /root) are reached; enter_spool then drops to
 * queue_user.  The trust checks of a setuid run still apply.  Any other
 * caller gets no access beyond the queue user's.
 */
static void
setup(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	int setid = getuid() != geteuid() || getgid() != getegid();
	uid_t owner = geteuid();   /* the user we are setuid to */
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
	if (argc != 1)
		die(100, "usage: tern-enqueue [-C DIR]");
	if (setid && caller == 0 && geteuid() != 0 && setresuid(0, 0, 0) < 0)
		die(111, "setresuid(0) for the root caller: %s", strerror(errno));
	if (setid) {
		if (dir == NULL)
			dir = TERN_SYSCONFDIR;  /* TERN_CONFDIR is not trusted */
		else if (strcmp(dir, TERN_SYSCONFDIR) != 0) {
			const char *why;

			/* check what we will read: no symlink swap between */
			if (chdir(dir) < 0)
				die(111, "%s: %s", dir, strerror(errno));
			if ((why = trusted_confdir(owner, err, sizeof err)))
				die(111, "%s%s: refused when setuid", dir, why);
			dir = ".";
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
	if (cfg_load(dir, err, sizeof err) < 0)
		die(111, "%s", err);
	to_syslog = strcmp(cfg_str(log), "stderr") != 0;
	cfg_log_init("tern-enqueue");
	enter_spool();
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

/* Create mess/ID exclusively, not yet committed; a taken name gets the
 * next id. */
static int
create_work(char id[QID_SIZE])
{
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		qid_new(id);
		snprintf(workname, sizeof workname, "mess/%s", id);
		fd = open(workname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    QFILE_MODE_WORK);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST) {
			workname[0] = '\0';
			die(111, "creating mess/%s: %s", id, strerror(errno));
		}
	}
	workname[0] = '\0';
	die(111, "no free queue id");
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

	if (fchmod(fd, QFILE_MODE_DONE) < 0 || fsync(fd) < 0 || close(fd) < 0)
		die(111, "writing %s: %s", workname, strerror(errno));
	if (cfg_bool(spool_sync_dirs) && fs_syncdir("mess") < 0)
		die(111, "fsync mess: %s", strerror(errno));
	/* committed: from here on a signal must not remove anything */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	workname[0] = '\0';
}

/* todo/ID and a byte on the FIFO; neither is needed for safety. */
static void
announce(const char *id)
{
	char name[NAME_MAX_];
	int fd;

	snprintf(name, sizeof name, "todo/%s", id);
	fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		log_warn("%s creating %s: %s", id, name, strerror(errno));
	else
		close(fd);
	fd = open("trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENXIO)   /* ENXIO: tern-queued is not running */
			log_warn("%s trigger: %s", id, strerror(errno));
		return;
	}
	if (write(fd, "N", 1) < 0 && errno != EAGAIN)
		log_warn("%s trigger: %s", id, strerror(errno));
	close(fd);
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
