/*
 * fuzz_enqd: tern-enqueued's client protocol (enqueued/conn.c) on
 * arbitrary bytes.  Each input is one client's byte stream, given to
 * conn_input three ways: at once, in pieces whose sizes the input's own
 * bytes choose (1 + byte % 64, the byte at the start of the piece), and,
 * up to SPLIT_ONE_MAX bytes, one byte at a time, so that every line,
 * length and chunk boundary falls between two calls.  After every call
 * the connection must be sound (a state of the enum, the bounds of
 * llen, left and size, mess/ID open exactly in C_LEN, C_DATA and
 * C_DONE and as long as the envelope plus the chunk bytes so far, one
 * "D "/"Z " reply line on the socket once it fails and nothing before);
 * at the end it must agree with expect(), a plain reading of the whole
 * input by the same rules, down to the reply text and the bytes in the
 * file, whose envelope must read back with qfile_read_env.  conn_free
 * must leave mess/ empty and the descriptors closed.  A broken rule
 * calls abort() with a line on stderr saying which.
 *
 * The target works in a private directory (TMPDIR or /tmp,
 * fuzz_enqd.XXXXXX, with mess/ in it) made at the first call and removed
 * at exit; it goes there for each input and back after it, so libFuzzer
 * writes its corpus and artifacts where it was started.  Every refused
 * input logs one warning line on stderr, as the daemon does
 * (tests/fuzz/README.md: -close_fd_mask=2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "queue/enq.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "enqueued/enqueued.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* small, so that both "message too big" checks are reached by inputs of
 * a few KB (a chunk above it, and chunks that add up past it) */
#define LIMIT 10000UL
#define SPLIT_ONE_MAX 512
#define REPLY_BUF 1024
#define MESS_NAME_MAX (5 + 256)   /* "mess/" and a d_name */

/* What a client's bytes must lead to (expect). */
struct expect {
	enum conn_state st;
	size_t llen, left;
	unsigned long size;
	char reply[QW_REPLY_MAX + 4];   /* C_DRAIN: the reply line */
	char body[LIMIT];           /* the chunk bytes, size - left of them */
};

/* One connection under test. */
struct run {
	struct conn c;
	int peer;                   /* the other end of c.sock */
	char reply[REPLY_BUF];      /* what came back on it */
	size_t rlen;
	enum conn_state prev;
	size_t envlen;              /* the envelope in mess/ID, once seen */
	int fd;                     /* c.fd while it was open, else -1 */
};

static int top_fd = -1;       /* where we were started */
static int work_fd = -1;      /* the private directory */
static char work[4096];
static struct expect want;
static struct run run;
static char filebuf[LIMIT + 1];

static void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	/* back where libFuzzer was started: the crash-* file goes there */
	if (top_fd >= 0 && fchdir(top_fd) < 0) {
		/* the message below is what matters */
	}
	fputs("fuzz_enqd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (state %d, llen %zu, left %zu, size %lu)\n",
	    (int)run.c.st, run.c.llen, run.c.left, run.c.size);
	abort();
}

static void
cleanup(void)
{
	if (work_fd >= 0) {
		(void)unlinkat(work_fd, "mess", AT_REMOVEDIR);
		(void)rmdir(work);
	}
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if ((top_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    snprintf(work, sizeof work, "%s/fuzz_enqd.XXXXXX", tmp) >=
	    (int)sizeof work || mkdtemp(work) == NULL ||
	    (work_fd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdirat(work_fd, "mess", 0700) < 0) {
		fprintf(stderr, "fuzz_enqd: setting up %s: %s\n", work,
		    strerror(errno));
		exit(1);
	}
	atexit(cleanup);
}

static void
expect_fail(struct expect *x, char code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conn_fail's reply: "CODE TEXT\n" */
static void
expect_fail(struct expect *x, char code, const char *fmt, ...)
{
	char text[QW_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	(void)snprintf(x->reply, sizeof x->reply, "%c %s\n", code, text);
	x->st = C_DRAIN;
}

/* The envelope lines of s[0..n): the offset of the message after the
 * empty line, or n + 1 when the input ends or fails first (x says how). */
static size_t
expect_env(const char *s, size_t n, struct expect *x)
{
	struct qenv_parse p;
	struct qenv e;
	struct buf b = BUF_INIT;
	const char *why, *nl;
	size_t pos = 0, k;
	int r;

	memset(&e, 0, sizeof e);
	qenv_parse_init(&p, QENV_INPUT, &qenv_limits_std);
	for (;;) {
		nl = pos < n ? memchr(s + pos, '\n', n - pos) : NULL;
		k = nl ? (size_t)(nl - (s + pos)) : n - pos;
		if (k > QENV_LINE_MAX) {
			expect_fail(x, 'D', "envelope line too long");
			goto out;
		}
		if (nl == NULL) {
			x->llen = k;
			goto out;
		}
		if (k == 0)
			break;
		if ((r = qenv_line(&p, &e, s + pos, k, &why)) <= 0) {
			if (r < 0)
				expect_fail(x, 'Z', "out of memory");
			else
				expect_fail(x, 'D', "envelope line %u: %s",
				    p.lineno, why);
			goto out;
		}
		pos += k + 1;
	}
	if (qenv_end(&p, &e, &why) == 0) {
		expect_fail(x, 'D', "envelope: %s", why);
		goto out;
	}
	e.arrival = time(NULL);
	e.uid = getuid();
	if (qfile_format_env(&b, &e) < 0) {
		expect_fail(x, 'Z', "envelope: %s", strerror(errno));
		goto out;
	}
	if (b.len > QFILE_ENV_MAX) {
		expect_fail(x, 'D', "envelope too large");
		goto out;
	}
	buf_free(&b);
	qenv_free(&e);
	x->st = C_LEN;
	return pos + 1;
out:
	buf_free(&b);
	qenv_free(&e);
	return n + 1;
}

/* What the whole input s[0..n) must do, read the simple way: lines cut
 * at LF, the rules of enqueued/conn.c's comment and lib/queue/enq.h. */
static void
expect(const char *s, size_t n, struct expect *x)
{
	size_t pos, k, len;
	const char *nl;

	x->st = C_ENV;
	x->llen = x->left = 0;
	x->size = 0;
	x->reply[0] = '\0';
	if ((pos = expect_env(s, n, x)) > n)
		return;
	while (pos < n) {
		nl = memchr(s + pos, '\n', n - pos);
		k = nl ? (size_t)(nl - (s + pos)) : n - pos;
		if (k > ENQD_CHUNK_LINE) {
			expect_fail(x, 'D', "bad chunk length");
			return;
		}
		if (nl == NULL) {
			x->llen = k;
			return;
		}
		if (!enq_chunk_len(s + pos, k, ENQ_CHUNK_MAX, &len)) {
			expect_fail(x, 'D', "bad chunk length");
			return;
		}
		pos += k + 1;
		if (len == 0) {
			x->st = C_DONE;
			return;
		}
		if (x->size + len > LIMIT) {
			expect_fail(x, 'D', "message too big");
			return;
		}
		k = len < n - pos ? len : n - pos;
		memcpy(x->body + x->size, s + pos, k);
		x->size += len;
		pos += k;
		if (k < len) {
			x->st = C_DATA;
			x->left = len - k;
			return;
		}
	}
}

/* Entries of mess/ (at most 2 counted); the first, "mess/NAME", into
 * first. */
static int
mess_files(char first[MESS_NAME_MAX])
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir("mess")) == NULL)
		fail("opendir mess: %s", strerror(errno));
	while ((e = readdir(d)) != NULL && n < 2) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n++ == 0)
			(void)snprintf(first, MESS_NAME_MAX, "mess/%s",
			    e->d_name);
	}
	closedir(d);
	return n;
}

static int
fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

/* s[0..n) equals bytes [off, off + n) of the file c.name. */
static int
file_has(const char *s, size_t n, size_t off)
{
	int fd = open(run.c.name, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		fail("open %s: %s", run.c.name, strerror(errno));
	while (n > 0) {
		size_t k = n < sizeof filebuf ? n : sizeof filebuf;

		if ((got = pread(fd, filebuf, k, (off_t)off)) != (ssize_t)k)
			break;
		if (memcmp(filebuf, s, k) != 0)
			break;
		s += k;
		off += k;
		n -= k;
	}
	close(fd);
	return n == 0;
}

/* Read what the connection answered (never blocks); one line at most. */
static void
drain(struct run *r)
{
	ssize_t got;

	while ((got = recv(r->peer, r->reply + r->rlen,
	    sizeof r->reply - r->rlen, MSG_DONTWAIT)) > 0)
		if ((r->rlen += (size_t)got) == sizeof r->reply)
			fail("%zu reply bytes", r->rlen);
	if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		fail("recv: %s", strerror(errno));
}

/* The file of a connection in C_LEN, C_DATA or C_DONE. */
static void
check_file(struct run *r)
{
	struct conn *c = &r->c;
	struct stat st;
	char name[MESS_NAME_MAX];

	if (c->fd < 0 || !qid_valid(c->id) || strncmp(c->name, "mess/", 5) ||
	    strcmp(c->name + 5, c->id) != 0)
		fail("no work file: fd %d name \"%s\"", c->fd, c->name);
	if (r->envlen == 0) {
		/* the first sight of it: it starts with c->env, formatted */
		struct buf b = BUF_INIT;

		if (qfile_format_env(&b, &c->env) < 0)
			fail("qfile_format_env: %s", strerror(errno));
		if (!file_has(b.s, b.len, 0))
			fail("%s does not start with the envelope", c->name);
		r->envlen = b.len;
		buf_free(&b);
		r->fd = c->fd;
		if (mess_files(name) != 1 || strcmp(name, c->name) != 0)
			fail("mess/ does not hold just %s", c->name);
	}
	if (c->fd != r->fd)
		fail("fd %d became %d", r->fd, c->fd);
	if (fstat(c->fd, &st) < 0)
		fail("fstat %s: %s", c->name, strerror(errno));
	if ((unsigned long long)st.st_size !=
	    (unsigned long long)r->envlen + c->size - c->left)
		fail("%s has %lld bytes, not %zu + %lu", c->name,
		    (long long)st.st_size, r->envlen, c->size - c->left);
}

/* Everything that holds between two conn_input calls. */
static void
check(struct run *r)
{
	struct conn *c = &r->c;
	char name[MESS_NAME_MAX];
	int file = 0;

	switch (c->st) {
	case C_ENV:
		if (r->prev != C_ENV || c->size != 0)
			fail("back in C_ENV");
		break;
	case C_LEN:
	case C_DATA:
	case C_DONE:
		file = 1;
		break;
	case C_DRAIN:
		break;
	default:
		fail("no such state");
	}
	if ((r->prev == C_DONE || r->prev == C_DRAIN) && c->st != r->prev)
		fail("left state %d", (int)r->prev);
	if (c->llen > QENV_LINE_MAX ||
	    ((c->st == C_LEN || c->st == C_DONE || c->st == C_DATA) &&
	    c->llen > (c->st == C_LEN ? ENQD_CHUNK_LINE : 0)))
		fail("llen out of bounds");
	if (c->st == C_DATA ? c->left == 0 || c->left > ENQ_CHUNK_MAX :
	    c->st != C_DRAIN && c->left != 0)
		fail("left out of bounds");
	if (c->limit != LIMIT || c->size > c->limit || c->left > c->size)
		fail("size out of bounds");
	drain(r);
	if (c->st == C_DRAIN) {
		const char *nl = memchr(r->reply, '\n', r->rlen);

		if (r->rlen < 3 || nl != r->reply + r->rlen - 1 ||
		    (r->reply[0] != 'D' && r->reply[0] != 'Z') ||
		    r->reply[1] != ' ')
			fail("not one D or Z reply line: \"%.*s\"",
			    (int)r->rlen, r->reply);
	} else if (r->rlen != 0)
		fail("a reply before the end: \"%.*s\"", (int)r->rlen,
		    r->reply);
	if (file)
		check_file(r);
	else {
		if (c->fd != -1 || c->name[0] != '\0')
			fail("a work file in state %d: fd %d name \"%s\"",
			    (int)c->st, c->fd, c->name);
		if (r->fd >= 0 && !fd_closed(r->fd))
			fail("fd %d of the work file left open", r->fd);
		r->fd = -1;
		if (c->st != r->prev && mess_files(name) != 0)
			fail("%s left in state %d", name, (int)c->st);
	}
	r->prev = c->st;
}

/* The end of a run: what expect() said, and the whole file. */
static void
check_end(struct run *r, const struct expect *x)
{
	struct conn *c = &r->c;
	struct qenv e;
	char err[256];
	int fd;

	/* a Z for the disk (creating, writing) is not the input's doing */
	if (c->st == C_DRAIN && r->reply[0] == 'Z' && x->st != C_DRAIN)
		return;
	if (c->st != x->st || c->size != x->size || c->left != x->left ||
	    (c->st != C_DRAIN && c->llen != x->llen))
		fail("expected state %d, llen %zu, left %zu, size %lu",
		    (int)x->st, x->llen, x->left, x->size);
	if (c->st == C_DRAIN) {
		if (r->rlen != strlen(x->reply) ||
		    memcmp(r->reply, x->reply, r->rlen) != 0)
			fail("reply \"%.*s\", expected \"%s\"", (int)r->rlen,
			    r->reply, x->reply);
		return;
	}
	if (c->st == C_ENV)
		return;
	if (!file_has(x->body, c->size - c->left, r->envlen))
		fail("%s does not hold the chunk bytes", c->name);
	if ((fd = open(c->name, O_RDONLY | O_CLOEXEC)) < 0)
		fail("open %s: %s", c->name, strerror(errno));
	/* what tern-enqueued writes, tern-queued must read */
	if (qfile_read_env(fd, &e, err, sizeof err) != 1)
		fail("%s: qfile_read_env: %s", c->name, err);
	close(fd);
	if ((size_t)e.body_off != r->envlen || e.uid != c->uid ||
	    e.nrcpt != c->env.nrcpt || strcmp(e.sender, c->env.sender) != 0)
		fail("%s reads back differently", c->name);
	qenv_free(&e);
}

/* One connection fed s[0..n): at once (how 0), in pieces chosen by the
 * bytes (1), or one byte at a time (2). */
static void
feed(const char *s, size_t n, int how)
{
	struct run *r = &run;
	int sv[2], sock;
	char name[MESS_NAME_MAX];
	size_t off, k;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	conn_init(&r->c, sv[0], getuid(), getpid(), LIMIT);
	sock = sv[0];
	r->peer = sv[1];
	r->rlen = 0;
	r->prev = C_ENV;
	r->envlen = 0;
	r->fd = -1;
	conn_input(&r->c, s, 0);
	check(r);
	for (off = 0; off < n; off += k) {
		k = how == 0 ? n : how == 2 ? 1 :
		    1 + (size_t)((unsigned char)s[off] % 64);
		if (k > n - off)
			k = n - off;
		conn_input(&r->c, s + off, k);
		check(r);
	}
	check_end(r, &want);
	conn_free(&r->c);
	if (!fd_closed(sock) || (r->fd >= 0 && !fd_closed(r->fd)))
		fail("conn_free left a descriptor open");
	if (mess_files(name) != 0)
		fail("conn_free left %s", name);
	close(r->peer);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *s = data ? (const char *)data : "";

	if (work_fd < 0)
		setup();
	if (fchdir(work_fd) < 0)
		fail("fchdir %s: %s", work, strerror(errno));
	expect(s, size, &want);
	feed(s, size, 0);
	feed(s, size, 1);
	if (size <= SPLIT_ONE_MAX)
		feed(s, size, 2);
	if (fchdir(top_fd) < 0)
		fail("fchdir back: %s", strerror(errno));
	return 0;
}
