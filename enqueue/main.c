/*
 * tern-enqueue: the only program that writes messages into the queue.
 *
 * Reads the protocol of lib/enq.h on stdin, checks every envelope line,
 * writes mess/ID (created exclusively, mode QFILE_MODE_WORK), marks it
 * complete (QFILE_MODE_DONE) and fsyncs it once (the commit, doc/DESIGN.md
 * "The queue"), then announces the message through todo/ID and a byte on
 * the trigger FIFO and prints the id.
 *
 * It may be installed setuid to queue_user, so it trusts nothing from its
 * caller: not the environment (cleared), not -C (only the compiled-in
 * configuration directory is allowed when the real and effective ids
 * differ), not the envelope (bounded and checked line by line).  It is
 * kept this small on purpose (doc/CONVENTIONS.md rule 2: the set-id
 * injector stays small).
 */
#include <ctype.h>
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
#include "daemon/cfg.h"
#include "queue/enq.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "daemon/priv.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "mail/smtpparse.h"
#include "util/str.h"

#define ENV_LINE_MAX 1024   /* one envelope line with its letter */
#define ENV_ADDR_MAX 256    /* RFC 5321 4.5.3.1.3: a path */
#define ENV_HOST_MAX 256    /* I and H values */
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
 * compiled-in one is used only if it and its tern.conf belong to root or
 * to us (queue_user) and are writable by nobody else: a caller cannot
 * point us at a spool of their choosing, while a root-made instance (a
 * test or a second instance under -C) still works.
 */
static int
trusted_confdir(const char *dir)
{
	char path[4096];
	struct stat st;

	if (fs_join(path, sizeof path, dir, "tern.conf") < 0)
		return 0;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return 0;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return 0;
	return 1;
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

/* Configuration, privileges, signals; leaves us in spool_dir. */
static void
setup(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	int setid = getuid() != geteuid() || getgid() != getegid();
	struct sigaction sa;
	char err[512];
	uid_t uid;
	gid_t gid;

	caller = getuid();
	std_fds();
	log_init("tern-enqueue", LOG_TO_STDERR, LOG_MAIL);
	if (geteuid() == 0 && getuid() != 0)
		die(111, "refusing to run setuid root");
	if (argc != 1)
		die(100, "usage: tern-enqueue [-C DIR]");
	if (setid) {
		if (dir == NULL)
			dir = TERN_SYSCONFDIR;  /* TERN_CONFDIR is not trusted */
		else if (strcmp(dir, TERN_SYSCONFDIR) != 0) {
			/* check what we will read: no symlink swap between */
			if (chdir(dir) < 0 || !trusted_confdir("."))
				die(111, "%s: not owned by root or the queue "
				    "user, or writable by others: refused when "
				    "setuid", dir);
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
	to_syslog = strcmp(cfg_str("log"), "stderr") != 0;
	cfg_log_init("tern-enqueue");
	if (geteuid() == 0) {   /* root ran us: files belong to queue_user */
		if (priv_user(cfg_str("queue_user"), &uid, &gid) != 1)
			die(111, "unknown queue_user %s", cfg_str("queue_user"));
		priv_drop_ids(uid, gid);
	}
	if (chdir(cfg_str("spool_dir")) < 0)
		die(111, "%s: %s", cfg_str("spool_dir"), strerror(errno));
}

static char *
xdup(const char *s, size_t n)
{
	char *p = strndup(s, n);   /* s holds no NUL: checked printable */

	if (p == NULL)
		die(111, "out of memory");
	return p;
}

/* The DSN and SMTPUTF8 lines (lib/qfile.h): checked like the reader
 * checks them, so that nothing queued here is called corrupt later. */
static void
env_dsn(struct qenv *e, char letter, const char *v, size_t vn)
{
	struct qrcpt *r = e->nrcpt ? &e->rcpt[e->nrcpt - 1] : NULL;

	switch (letter) {
	case 'E':
		if (e->envid || vn == 0 || vn > SMTP_ENVID_MAX ||
		    !smtp_xtext_ok(v, vn))
			die(100, "bad E line");
		e->envid = xdup(v, vn);
		break;
	case 'W':
		if (e->ret || (e->ret = smtp_dsn_ret(v, vn)) == 0)
			die(100, "bad W line");
		break;
	case 'S':
		if (e->smtputf8++ || vn != 0)
			die(100, "bad S line");
		break;
	case 'B':
		if (e->body8++ || vn != 8 || memcmp(v, "8BITMIME", 8) != 0)
			die(100, "bad B line");
		break;
	case 'N':
		if (r == NULL || r->notify || !smtp_dsn_notify(v, vn,
		    &r->notify))
			die(100, "bad N line");
		break;
	default:
		if (r == NULL || r->orcpt || !smtp_dsn_orcpt(v, vn))
			die(100, "bad O line");
		r->orcpt = xdup(v, vn);
		break;
	}
}

/* One envelope line "Lvalue" (n bytes, no LF). */
static void
env_add(struct qenv *e, const char *s, size_t n)
{
	const char *v = s + 1;
	size_t vn = n - 1;

	if (!str_printable(s, n))
		die(100, "control character in envelope");
	switch (s[0]) {
	case 'F':
		if (e->sender || vn > ENV_ADDR_MAX)
			die(100, e->sender ? "two senders" : "sender too long");
		e->sender = xdup(v, vn);
		return;
	case 'R':
		if (vn == 0 || vn > ENV_ADDR_MAX)
			die(100, "bad recipient length");
		if (e->nrcpt >= QFILE_RCPT_MAX)
			die(100, "too many recipients");
		if (e->nrcpt % 64 == 0 && (e->rcpt = realloc(e->rcpt,
		    (e->nrcpt + 64) * sizeof *e->rcpt)) == NULL)
			die(111, "out of memory");
		memset(&e->rcpt[e->nrcpt], 0, sizeof *e->rcpt);
		e->rcpt[e->nrcpt].st = RS_PENDING;
		e->rcpt[e->nrcpt++].addr = xdup(v, vn);
		return;
	case 'I':
	case 'H':
		if (vn > ENV_HOST_MAX || (s[0] == 'I' ? e->client_ip : e->helo))
			die(100, "bad %c line", s[0]);
		*(s[0] == 'I' ? &e->client_ip : &e->helo) = xdup(v, vn);
		return;
	case 'E': case 'W': case 'S': case 'B': case 'N': case 'O':
		env_dsn(e, s[0], v, vn);
		return;
	case 'T': case 'U': case 'V':
		return;   /* ours to set, never the caller's */
	default:
		die(100, "unknown envelope line '%c'", s[0]);
	}
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

static void
read_env(struct qenv *e)
{
	char line[ENV_LINE_MAX + 1];
	size_t n;

	while ((n = get_line(line, ENV_LINE_MAX, "envelope line too long")))
		env_add(e, line, n);
	if (e->sender == NULL || e->nrcpt == 0)
		die(100, e->sender ? "no recipient" : "no sender");
}

/* Copy the chunks to fd; returns the message size. */
static unsigned long
copy_body(int fd, unsigned long limit)
{
	char line[CHUNK_LINE_MAX + 1];
	unsigned long total = 0, len;
	size_t n, i, got;

	for (;;) {
		n = get_line(line, CHUNK_LINE_MAX, "bad chunk length");
		len = 0;
		for (i = 0; i < n && i < 8; i++) {
			const char *h;

			/* only hex digits: "| 0x20" alone would map some
			 * control bytes onto digits */
			if (!isxdigit((unsigned char)line[i]))
				break;
			h = strchr("0123456789abcdef", line[i] | 0x20);
			len = len * 16 + (unsigned long)(h - "0123456789abcdef");
		}
		if (n == 0 || i != n || len > ENQ_CHUNK_MAX)
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
	if (cfg_bool("spool_sync_dirs") && fs_syncdir("mess") < 0)
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
	size = copy_body(fd, cfg_num("message_size_limit"));
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
