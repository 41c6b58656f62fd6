/*
 * One client of tern-enqueued: the protocol of lib/queue/enq.h, parsed
 * as the bytes arrive (the loop in main.c never blocks on a client).
 * The checks are tern-enqueue's: every envelope line through the queue
 * reader's own grammar (qenv_line), the envelope at most QFILE_ENV_MAX
 * formatted, chunk lengths by enq_chunk_len, the message at most
 * message_size_limit.  Message bytes go straight from the read buffer to
 * mess/ID; nothing of a message is held in memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "queue/enq.h"
#include "enqueued.h"

void
conn_init(struct conn *c, int sock, uid_t uid, pid_t pid,
    unsigned long limit)
{
	memset(c, 0, sizeof *c);
	c->sock = sock;
	c->fd = -1;
	c->uid = uid;
	c->pid = pid;
	c->st = C_ENV;
	c->limit = limit;
	c->last = time(NULL);
	qenv_parse_init(&c->p, QENV_INPUT, &qenv_limits_std);
}

int
conn_reply(struct conn *c, char code, const char *text)
{
	char line[QW_REPLY_MAX];
	int n = snprintf(line, sizeof line, "%c %s\n", code, text);
	ssize_t w;

	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof line) {   /* cut, but still one line */
		n = (int)sizeof line - 1;
		line[n - 1] = '\n';
	}
	/* an empty socket buffer takes a line this short at once */
	do
		w = send(c->sock, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	return w == n ? 1 : -1;
}

static void
conn_unlink(struct conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->name[0] && unlink(c->name) < 0 && errno != ENOENT)
		log_warn("%s removing %s: %s", c->id, c->name, strerror(errno));
	c->name[0] = '\0';
}

void
conn_fail(struct conn *c, char code, const char *fmt, ...)
{
	char text[QW_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	conn_unlink(c);
	log_warn("uid=%lu pid=%ld %s%s", (unsigned long)c->uid, (long)c->pid,
	    code == 'D' ? "refused: " : "deferred: ", text);
	if (conn_reply(c, code, text) < 0)
		log_warn("uid=%lu pid=%ld the reply could not be sent: %s",
		    (unsigned long)c->uid, (long)c->pid, strerror(errno));
	c->st = C_DRAIN;
}

void
conn_free(struct conn *c)
{
	conn_unlink(c);
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	qenv_free(&c->env);
}

/* The empty line: the envelope is complete; create mess/ID and write it. */
static void
env_done(struct conn *c)
{
	struct buf b = BUF_INIT;
	const char *why;

	if (qenv_end(&c->p, &c->env, &why) == 0) {
		conn_fail(c, 'D', "envelope: %s", why);
		return;
	}
	c->env.arrival = time(NULL);
	c->env.uid = c->uid;
	if (qfile_format_env(&b, &c->env) < 0) {
		buf_free(&b);
		conn_fail(c, 'Z', "envelope: %s", strerror(errno));
		return;
	}
	/* the reader's limit: never queue what tern-queued calls corrupt */
	if (b.len > QFILE_ENV_MAX) {
		buf_free(&b);
		conn_fail(c, 'D', "envelope too large");
		return;
	}
	if ((c->fd = qw_create(c->id, c->name)) < 0) {
		buf_free(&b);
		conn_fail(c, 'Z', "creating mess/%s: %s", c->id, strerror(errno));
		return;
	}
	if (fd_write_all(c->fd, b.s, b.len) < 0) {
		buf_free(&b);
		conn_fail(c, 'Z', "writing %s: %s", c->name, strerror(errno));
		return;
	}
	buf_free(&b);
	c->st = C_LEN;
}

/* A complete line in c->line (LF not counted in c->llen). */
static void
line_done(struct conn *c)
{
	const char *why;
	size_t len;
	int r;

	if (c->st == C_ENV) {
		/* held in memory until the empty line: bounded as the file's
		 * envelope is (the formatted one is checked again there) */
		if ((c->envbytes += c->llen + 1) > QFILE_ENV_MAX) {
			conn_fail(c, 'D', "envelope too large");
			return;
		}
		if (c->llen == 0) {
			env_done(c);
			return;
		}
		if ((r = qenv_line(&c->p, &c->env, c->line, c->llen, &why)) < 0)
			conn_fail(c, 'Z', "out of memory");
		else if (r == 0)
			conn_fail(c, 'D', "envelope line %u: %s", c->p.lineno,
			    why);
		return;
	}
	if (!enq_chunk_len(c->line, c->llen, ENQ_CHUNK_MAX, &len)) {
		conn_fail(c, 'D', "bad chunk length");
		return;
	}
	if (len == 0) {
		c->st = C_DONE;
		return;
	}
	if (len > c->limit || c->size > c->limit - len) {
		conn_fail(c, 'D', "message too big");
		return;
	}
	c->size += len;
	c->left = len;
	c->st = C_DATA;
}

void
conn_input(struct conn *c, const char *p, size_t n)
{
	const char *end = p + n;

	c->last = time(NULL);
	while (p < end && c->st != C_DONE && c->st != C_DRAIN) {
		if (c->st == C_DATA) {
			size_t k = (size_t)(end - p) < c->left ?
			    (size_t)(end - p) : c->left;

			if (fd_write_all(c->fd, p, k) < 0) {
				conn_fail(c, 'Z', "writing %s: %s", c->name,
				    strerror(errno));
				return;
			}
			p += k;
			if ((c->left -= k) == 0)
				c->st = C_LEN;
			continue;
		}
		/* a line: an envelope line or a chunk length */
		{
			size_t max = c->st == C_ENV ? QENV_LINE_MAX :
			    ENQD_CHUNK_LINE;
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t k = (size_t)((nl ? nl : end) - p);

			if (c->llen + k > max) {
				if (c->st == C_ENV)
					conn_fail(c, 'D', "envelope line too "
					    "long");
				else
					conn_fail(c, 'D', "bad chunk length");
				return;
			}
			memcpy(c->line + c->llen, p, k);
			c->llen += k;
			p += k;
			if (nl == NULL)
				break;
			p++;   /* the LF */
			line_done(c);
			c->llen = 0;
		}
	}
}
