/*
 * enq: runs tern-enqueue and speaks its stdin protocol (lib/queue/enq.h).
 *
 * tern-enqueue may exit early (a message too big, a bad envelope line) and
 * close its end of the pipe; a write then fails with EPIPE.  So that this
 * never kills the caller, SIGPIPE is blocked around each write and a
 * SIGPIPE raised by our own write is taken off the pending set before the
 * old mask comes back: callers need not ignore SIGPIPE themselves, and
 * their own SIGPIPE disposition is left alone.  After a failed write,
 * enq_close still tells why: it reports tern-enqueue's own error text
 * when it left one, else the write error.
 *
 * A root caller runs tern-enqueue as queue_user, never as root
 * (enq_root_child): the file belongs to queue_user, so whoever is
 * queue_user could change it, and a changed copy run with a real uid of 0
 * could take back every root right.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "queue/enq.h"
#include "queue/qwrite.h"

/* ms to wait for tern-enqueued to drop an aborted message */
#define ENQ_ABORT_WAIT 5000

#define ENQ_OUT_MAX 64   /* stdout: a queue id and a LF */
#define ENQ_GREET_MS 5000 /* tern-enqueued's "+" after it accepted us */

/* tern-enqueued: its address and the uid it must have (enq_writer_setup) */
static struct {
	int on;
	struct sockaddr_un sa;
	socklen_t len;
	uid_t uid;
} writer;

static void
enq_reset(struct enq *e)
{
	e->pid = -1;
	e->sock = 0;
	e->in = e->out = e->err = -1;
	e->len = 0;
}

/* Child side: fds[i] becomes fd i for i < n (0, 1, 2: stdin, stdout,
 * stderr from the pipes), every other fd is closed, signals unblocked.
 * The fds are first copied above n-1 so that dup2 never clobbers one of
 * them (the caller may have started with fd 0, 1 or 2 closed). */
static void
enq_child_fds(const int *fds, int n)
{
	sigset_t none;
	int hi[3], i;

	for (i = 0; i < n; i++)
		if ((hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, n)) < 0)
			_exit(111);
	for (i = 0; i < n; i++)
		if (dup2(hi[i], i) < 0)   /* dup2 clears FD_CLOEXEC on i */
			_exit(111);
	fd_close_from(n);   /* nothing of the caller's leaks into it */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child, on stderr (the pipe enq_close reads): the reason. */
static void __attribute__((noreturn))
enq_child_fail(const char *what, const char *arg)
{
	dprintf(2, "tern-enqueue: %s%s%s\n", what, arg ? ": " : "",
	    arg ? arg : "");
	_exit(111);
}

/*
 * Child side for a root caller (enq.h): the configuration directory and
 * the spool are opened with root's access, then every id becomes
 * queue_user's, and only then is tern-enqueue run, by a directory fd of
 * program_dir opened as root, so that a program_dir under a directory only
 * root can enter still works.  tern-enqueue gets the two directories as
 * fds 3 and 4 (-D 3 -S 4) and the caller's uid (-U 0) and reaches nothing
 * by name.  The file tern-enqueue is owned by queue_user; with a real uid
 * of queue_user, a tampered copy gains nothing.
 */
static void __attribute__((noreturn))
enq_root_child(int fds[3], const char *prog)
{
	const char *spool = cfg_str(spool_dir), *user = cfg_str(queue_user);
	const char *slash = strrchr(prog, '/'), *base;
	char dirbuf[FS_PATH_MAX], caller[32];
	char *argv[] = { (char *)prog, "-C", (char *)cfg_dir(), "-D", "3",
	    "-S", "4", "-U", caller, NULL };
	int conf, spoolfd, progdir, r;
	uid_t uid;
	gid_t gid;

	enq_child_fds(fds, 3);
	snprintf(caller, sizeof caller, "%lu", (unsigned long)getuid());
	/* fds 0-2 are taken and every other one closed: these are 3 and 4 */
	conf = open(cfg_dir(), O_RDONLY | O_DIRECTORY | O_NOCTTY);
	if (conf < 0)
		enq_child_fail(cfg_dir(), strerror(errno));
	spoolfd = open(spool, O_RDONLY | O_DIRECTORY | O_NOCTTY);
	if (spoolfd < 0)
		enq_child_fail(spool, strerror(errno));
	if (conf != 3 || spoolfd != 4)
		enq_child_fail("directory fds not at 3 and 4", NULL);
	if (slash == NULL) {
		progdir = AT_FDCWD;
		base = prog;
	} else {
		if ((size_t)(slash - prog) >= sizeof dirbuf)
			enq_child_fail(prog, strerror(ENAMETOOLONG));
		memcpy(dirbuf, prog, (size_t)(slash - prog));
		dirbuf[slash - prog] = '\0';
		base = slash + 1;
		progdir = open(slash == prog ? "/" : dirbuf,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (progdir < 0)
			enq_child_fail(slash == prog ? "/" : dirbuf,
			    strerror(errno));
	}
	if ((r = priv_user(user, &uid, &gid)) != 1)
		enq_child_fail(r == 0 ? "unknown queue_user" :
		    "looking up queue_user", user);
	/* the one checked drop (lib/daemon/priv.h): groups, gid, uid, no
	 * capabilities, fatal (to our stderr pipe) on any failure, and it
	 * refuses uid 0 */
	priv_drop_ids(uid, gid);
	execveat(progdir, base, argv, environ, 0);
	enq_child_fail(prog, strerror(errno));
}

/* Child side of any other caller: the pipes, then exec. */
static void
enq_child(int fds[3], char *const argv[])
{
	enq_child_fds(fds, 3);
	execv(argv[0], argv);
	dprintf(2, "tern-enqueue: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(111);
}

int
enq_path(char *out, size_t outsz)
{
	return fs_join(out, outsz, cfg_str(program_dir), "tern-enqueue");
}

int
enq_writer_setup(void)
{
	gid_t gid;

	writer.on = 0;
	if (!cfg_bool(queue_writer))
		return 0;
	qw_sockaddr(cfg_str(spool_dir), &writer.sa, &writer.len);
	writer.uid = geteuid();
	/* an unknown queue_user: no writer can be trusted, tern-enqueue
	 * will say what is wrong */
	if (writer.uid == 0 &&
	    priv_user(cfg_str(queue_user), &writer.uid, &gid) != 1)
		return 0;
	writer.on = 1;
	return 1;
}

/* Wait up to ENQ_GREET_MS for "+\n" on fd.  1 or -1. */
static int
enq_greeting(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0, t;
	char g[2];
	size_t got = 0;
	long left = ENQ_GREET_MS;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) < 0)
		return -1;
	while (got < sizeof g) {
		ssize_t r;
		int n = poll(&p, 1, (int)left);

		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0) {
			r = read(fd, g + got, sizeof g - got);
			if (r < 0 && errno != EINTR && errno != EAGAIN)
				return -1;
			if (r == 0)
				return -1;
			if (r > 0)
				got += (size_t)r;
		}
		if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
			return -1;
		left = ENQ_GREET_MS - ((t.tv_sec - t0.tv_sec) * 1000L +
		    (t.tv_nsec - t0.tv_nsec) / 1000000L);
		if (got < sizeof g && left <= 0)
			return -1;
	}
	return g[0] == '+' && g[1] == '\n' ? 1 : -1;
}

int
enq_open_writer(struct enq *e)
{
	uid_t uid;
	int fd, fl;

	enq_reset(e);
	e->failed = 0;
	e->quiet = 0;
	if (!writer.on)
		return 0;
	/* non-blocking connect: a full backlog (EAGAIN) or no listener
	 * (ECONNREFUSED) fails at once, and tern-enqueue takes over */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&writer.sa, writer.len) < 0 ||
	    qw_peer(fd, &uid, NULL) < 0 ||
	    (uid != writer.uid && uid != 0) ||   /* not our writer */
	    (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		close(fd);
		return 0;
	}
	/* "+\n": it took the connection (a full writer leaves clients in
	 * its backlog; they must not wait there for ever) */
	if (enq_greeting(fd) < 0) {
		close(fd);
		return 0;
	}
	e->pid = 0;
	e->sock = 1;
	e->in = e->out = fd;
	return 1;
}

int
enq_open(struct enq *e, const char *prog)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char *argv[] = { (char *)prog, "-C", (char *)cfg_dir(), NULL };
	int saved, child[3];

	if (enq_open_writer(e) == 1)
		return 1;
	enq_reset(e);
	e->failed = 0;
	e->quiet = 0;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	e->pid = fork();
	if (e->pid < 0)
		goto fail;
	if (e->pid == 0) {
		child[0] = in[0], child[1] = out[1], child[2] = err[1];
		if (getuid() == 0)
			enq_root_child(child, prog);
		enq_child(child, argv);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	e->in = in[1];
	e->out = out[0];
	e->err = err[0];
	return 1;
fail:
	saved = errno;
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	enq_reset(e);
	errno = saved;
	return -1;
}

/* Write all of iov[0..cnt) with SIGPIPE blocked (see the top).  1 or -1;
 * a failure marks e failed, and every later write fails at once. */
static int
enq_send(struct enq *e, struct iovec *iov, int cnt)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipeset, old, pending;
	int had, r = 1, saved = 0;

	if (e->failed || e->in < 0) {
		errno = EPIPE;
		return -1;
	}
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipeset, &old);
	had = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	while (cnt > 0) {
		ssize_t w = writev(e->in, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			r = -1;
			break;
		}
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++, cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	if (r < 0 && saved == EPIPE && !had)
		(void)sigtimedwait(&pipeset, NULL, &zero);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		e->failed = saved ? saved : EIO;
		errno = e->failed;
	}
	return r;
}

static int
enq_send1(struct enq *e, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };

	return enq_send(e, &iov, 1);
}

int
enq_env(struct enq *e, char type, const char *value)
{
	size_t n = strlen(value);
	struct iovec iov[3];

	if (type < 'A' || type > 'Z' || strchr(value, '\n')) {
		errno = EINVAL;
		return -1;
	}
	if (e->len + n + 2 <= sizeof e->buf) {
		e->buf[e->len++] = type;
		memcpy(e->buf + e->len, value, n);
		e->len += n;
		e->buf[e->len++] = '\n';
		return 1;
	}
	/* too long to buffer: send what is buffered and the line itself */
	iov[0].iov_base = e->buf, iov[0].iov_len = e->len;
	iov[1].iov_base = &type, iov[1].iov_len = 1;
	iov[2].iov_base = (void *)value, iov[2].iov_len = n;
	e->len = 0;
	if (enq_send(e, iov, 3) < 0)
		return -1;
	return enq_send1(e, "\n", 1);
}

int
enq_env_end(struct enq *e)
{
	int r = 1;

	if (e->len == sizeof e->buf) {
		r = enq_send1(e, e->buf, e->len);
		e->len = 0;
	}
	if (r == 1) {
		e->buf[e->len++] = '\n';
		r = enq_send1(e, e->buf, e->len);
	}
	e->len = 0;   /* from now on buf holds message bytes */
	return r;
}

int
enq_chunk_len(const char *s, size_t n, size_t max, size_t *len_r)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, len = 0;

	if (n == 0 || n > ENQ_CHUNK_DIGITS)
		return 0;
	for (i = 0; i < n; i++) {
		/* isxdigit and strchr are not used: the first depends on the
		 * locale, the second finds the NUL, and "| 0x20" alone would
		 * map some control bytes onto digits */
		const char *h = memchr(hex, s[i] >= 'A' && s[i] <= 'F' ?
		    s[i] - 'A' + 'a' : s[i], 16);
		size_t d;

		if (h == NULL)
			return 0;
		/* len * 16 + d <= max, checked before it can grow: no
		 * overflow for any max */
		d = (size_t)(h - hex);
		if (d > max || len > (max - d) / 16)
			return 0;
		len = len * 16 + d;
	}
	*len_r = len;
	return 1;
}

/* One chunk "<hex length>\n<bytes>" of 1..ENQ_CHUNK_MAX bytes. */
static int
enq_chunk(struct enq *e, const void *p, size_t n)
{
	char hdr[32];
	struct iovec iov[2];
	int k = snprintf(hdr, sizeof hdr, "%zx\n", n);

	iov[0].iov_base = hdr, iov[0].iov_len = (size_t)k;
	iov[1].iov_base = (void *)p, iov[1].iov_len = n;
	return enq_send(e, iov, 2);
}

int
enq_write(struct enq *e, const void *p, size_t n)
{
	const char *c = p;

	if (e->failed) {
		errno = e->failed;
		return -1;
	}
	while (n > 0) {
		size_t k;

		if (e->len == 0 && n >= sizeof e->buf) {
			if (enq_chunk(e, c, sizeof e->buf) < 0)
				return -1;
			c += sizeof e->buf;
			n -= sizeof e->buf;
			continue;
		}
		k = sizeof e->buf - e->len;
		if (k > n)
			k = n;
		memcpy(e->buf + e->len, c, k);
		e->len += k;
		c += k;
		n -= k;
		if (e->len == sizeof e->buf) {
			e->len = 0;
			if (enq_chunk(e, e->buf, sizeof e->buf) < 0)
				return -1;
		}
	}
	return 1;
}

/* Read fd to EOF, keeping at most max-1 bytes in out (NUL-terminated);
 * the rest is drained so the child never blocks on a full pipe. */
struct sink { int fd; char *out; size_t max, len; };

static void
enq_drain(struct sink *s, int ns)
{
	struct pollfd p[2];
	char tmp[FS_PATH_MAX];
	int i, open = ns;

	while (open > 0) {
		for (i = 0; i < ns; i++)
			p[i] = (struct pollfd){ .fd = s[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)ns, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < ns; i++) {
			ssize_t r;
			size_t k;

			if (s[i].fd < 0 || p[i].revents == 0)
				continue;
			r = read(s[i].fd, tmp, sizeof tmp);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close(s[i].fd);
				s[i].fd = -1;   /* poll ignores negative fds */
				open--;
				continue;
			}
			k = s[i].max - 1 - s[i].len;
			if (k > (size_t)r)
				k = (size_t)r;
			memcpy(s[i].out + s[i].len, tmp, k);
			s[i].len += k;
		}
	}
	for (i = 0; i < ns; i++)
		s[i].out[s[i].len] = '\0';
}

/* The reason for err: the last line tern-enqueue wrote on stderr without
 * its "tern-enqueue: " prefix, control characters made '?'. */
static void
enq_reason(char *err, size_t errsz, const char *text, const char *dflt)
{
	const char *p = text, *end = text + strlen(text), *nl;
	size_t i, n;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (nl = text; nl < end; nl++)
		if (*nl == '\n')
			p = nl + 1;
	if (strncmp(p, "tern-enqueue: ", 14) == 0)
		p += 14;
	if (p == end) {
		snprintf(err, errsz, "%s", dflt);
		return;
	}
	n = snprintf(err, errsz, "%.*s", (int)(end - p), p) < 0 ? 0 :
	    strlen(err);
	for (i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}

/* The end of a message on tern-enqueued's socket: its reply line. */
static int
enq_close_writer(struct enq *e, char qid[QID_SIZE], char *err, size_t errsz)
{
	char line[QW_REPLY_MAX + 1];
	size_t len = 0;
	int failed;

	if (!e->failed && e->len > 0 && enq_chunk(e, e->buf, e->len) == 1)
		e->len = 0;
	if (!e->failed)
		(void)enq_send1(e, "0\n", 2);
	failed = e->failed;
	/* the reply comes after the fsync; a write that failed may still
	 * have a reply waiting (the writer refused and drops the rest) */
	while (len < sizeof line - 1) {
		ssize_t r = read(e->out, line + len, sizeof line - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	close(e->in);
	enq_reset(e);
	line[len] = '\0';
	if (len < 3 || line[1] != ' ' || strchr(line, '\n') == NULL) {
		snprintf(err, errsz, "tern-enqueued gave no reply%s%s",
		    failed ? ": " : "", failed ? strerror(failed) : "");
		return -1;
	}
	*strchr(line, '\n') = '\0';
	if (line[0] == 'K' && strlen(line + 2) == QID_LEN &&
	    qid_valid(line + 2)) {
		memcpy(qid, line + 2, QID_SIZE);
		snprintf(err, errsz, "queued as %s", qid);
		return 1;
	}
	if (line[0] != 'D' && line[0] != 'Z') {
		snprintf(err, errsz, "tern-enqueued gave a bad reply");
		return -1;
	}
	enq_reason(err, errsz, line + 2, "tern-enqueued failed");
	return line[0] == 'D' ? 0 : -1;
}

int
enq_close(struct enq *e, char qid[QID_SIZE], char *err, size_t errsz)
{
	char out[ENQ_OUT_MAX], errt[ENQ_ERR_MAX], why[ENQ_ERR_MAX];
	struct sink s[2] = { { e->out, out, sizeof out, 0 },
	    { e->err, errt, sizeof errt, 0 } };
	int st, failed;

	if (e->sock)
		return enq_close_writer(e, qid, err, errsz);
	if (e->pid <= 0) {
		snprintf(err, errsz, "tern-enqueue not running");
		return -1;
	}
	if (!e->failed && e->len > 0 && enq_chunk(e, e->buf, e->len) == 1)
		e->len = 0;
	if (!e->failed)
		(void)enq_send1(e, "0\n", 2);
	failed = e->failed;
	snprintf(why, sizeof why, "writing to tern-enqueue: %s",
	    strerror(failed ? failed : EIO));
	close(e->in);
	enq_drain(s, 2);
	while (waitpid(e->pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errsz, "waitpid: %s", strerror(errno));
			enq_reset(e);
			return -1;
		}
	enq_reset(e);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		if (s[0].len == QID_LEN + 1 && out[QID_LEN] == '\n') {
			out[QID_LEN] = '\0';
			if (qid_valid(out)) {
				memcpy(qid, out, QID_SIZE);
				/* its log lines, when it logs to stderr */
				if (!e->quiet)
					(void)fd_write_all(2, errt, s[1].len);
				snprintf(err, errsz, "queued as %s", qid);
				return 1;
			}
		}
		snprintf(err, errsz, "tern-enqueue gave no queue id");
		return -1;
	}
	if (WIFSIGNALED(st)) {
		snprintf(err, errsz, "tern-enqueue killed by signal %d",
		    WTERMSIG(st));
		return -1;
	}
	enq_reason(err, errsz, errt, failed ? why : "tern-enqueue failed");
	return WEXITSTATUS(st) == 100 ? 0 : -1;
}

void
enq_abort(struct enq *e)
{
	int st;

	if (e->sock) {
		char b[256];
		ssize_t n;

		/* EOF before "0\n": tern-enqueued removes the file, then
		 * closes.  Wait for that close (up to ENQ_ABORT_WAIT ms), so
		 * that a refused message is gone from the spool before the
		 * client hears the refusal. */
		(void)shutdown(e->in, SHUT_WR);
		do
			n = fd_poll(e->in, POLLIN, ENQ_ABORT_WAIT) > 0 ?
			    read(e->in, b, sizeof b) : 0;
		while (n > 0 || (n < 0 && errno == EINTR));
		close(e->in);
		enq_reset(e);
		return;
	}
	if (e->pid <= 0)
		return;
	/* EOF before "0\n": tern-enqueue removes its tmp file and exits;
	 * SIGTERM makes sure of it if it is stuck (it cleans up too) */
	close(e->in);
	kill(e->pid, SIGTERM);
	close(e->out);
	close(e->err);
	while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR)
		;
	enq_reset(e);
}
