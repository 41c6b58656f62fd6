/*
 * smtpload: the load generator of bench/run (built by bench/run with cc,
 * not by the project Makefile).  The same client for every system, so
 * the numbers compare servers and not clients.  Each mode prints one JSON
 * object on stdout and exits 0 (1 on a usage or set-up error).
 *
 *   smtpload smtp  -p PORT -n N -c CONC -s SIZE -d NEWDIR -t SECS
 *                  [-r RCPT [-D DOMAINS]]
 *       N messages, one per connection, CONC connections at once (one
 *       thread, epoll).  Per connection: banner, EHLO, then MAIL, RCPT
 *       and DATA pipelined (RFC 2920), the message, QUIT.  Delivery is
 *       counted with inotify on the Maildir's new/ (IN_CREATE for link(),
 *       IN_MOVED_TO for rename()).  Reports the time until all 250s and
 *       until all files were in new/.  -r: the recipient (default
 *       demo@example.test); a "%d" in it becomes k % DOMAINS + 1 for
 *       message k (-D, default 1), e.g. -r demo@d%d.test -D 50 spreads
 *       the messages over 50 domains.  NEWDIR may be another server's
 *       Maildir (the relay workload: the time until the receiver has
 *       them all).
 *   smtpload lat   -p PORT -n N -s SIZE -d NEWDIR -t SECS
 *       N messages one after the other; per message the time from
 *       writing the final "." to the 250 and to the file in new/.
 *   smtpload conn  -p PORT -n N -c CONC -t SECS [-T] [-R]
 *       N sessions of EHLO+QUIT (-T: EHLO, STARTTLS, handshake, EHLO,
 *       QUIT; -R: offer the previous session for resumption) by CONC
 *       forked workers with blocking sockets.
 *   smtpload fsync -d DIR -c WRITERS -t SECS
 *       WRITERS processes loop over: create tmp/I, write 4 KiB, fsync,
 *       rename to new/I, fsync new/ -- the disk's limit for a queue.
 *
 * Every loop is bounded by a count and by the -t deadline.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF 8192
#define MAXCONC 1024

static int opt_port, opt_n = 1, opt_c = 1, opt_tls, opt_resume;
static long opt_size = 4096;
static double opt_t = 60;
static const char *opt_dir;
static const char *opt_rcpt = "demo@example.test";
static int opt_domains = 1;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "smtpload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ------------------------------------------------------------ message */

static char *body;        /* the message after the per-message header */
static size_t bodylen;

/* The constant part of every message: headers and CRLF lines of 76
 * characters, padded to opt_size bytes in all, then ".\r\n". */
static void
make_body(void)
{
	static const char head[] =
	    "From: bench@example.org\r\nTo: demo@example.test\r\n"
	    "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	    "Subject: tern bench\r\n\r\n";
	size_t n = (size_t)opt_size, i = 0, hl = sizeof head - 1;

	body = malloc(n + hl + 80);
	if (body == NULL)
		die("malloc");
	memcpy(body, head, hl);
	i = hl;
	while (i + 78 <= n) {
		memset(body + i, 'a' + (int)(i / 78 % 26), 76);
		memcpy(body + i + 76, "\r\n", 2);
		i += 78;
	}
	while (i + 2 < n)
		body[i++] = 'z';
	memcpy(body + i, "\r\n.\r\n", 5);
	bodylen = i + 5;
}

/* Message-ID line of message k into out; its length */
static size_t
msgid(char *out, size_t sz, long k)
{
	int r = snprintf(out, sz, "Message-ID: <%ld.%ld@bench.example.org>\r\n",
	    (long)getpid(), k);

	return r < 0 ? 0 : (size_t)r;
}

static const char envelope[] =
    "MAIL FROM:<bench@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n";

#define ENV_MAX 400

/* The envelope of message k into out[ENV_MAX] (-r, -D); its length. */
static size_t
envelope_for(char *out, long k)
{
	static const char pre[] = "MAIL FROM:<bench@example.org>\r\nRCPT TO:<";
	static const char post[] = ">\r\nDATA\r\n";
	char num[24];
	size_t n = sizeof pre - 1, nl;
	const char *p;

	memcpy(out, pre, n);
	nl = (size_t)snprintf(num, sizeof num, "%ld", k % opt_domains + 1);
	for (p = opt_rcpt; *p; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			memcpy(out + n, num, nl);
			n += nl;
			p++;
		} else {
			out[n++] = *p;
		}
	}
	memcpy(out + n, post, sizeof post - 1);
	return n + sizeof post - 1;
}

/* ------------------------------------------------------------ sockets */

static int
tcp_connect(int nonblock)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (!nonblock) {
		/* bounds every blocking read and write (SSL_read too) */
		struct timeval tv = { (time_t)opt_t, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)opt_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One complete reply at the start of buf[0..len)?  Its code and length
 * (through the final CRLF) or 0 when not complete, -1 when malformed. */
static int
reply_parse(const char *buf, size_t len, int *code, size_t *used)
{
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t ll;

		if (nl == NULL)
			return len - i > 4096 ? -1 : 0;
		ll = (size_t)(nl - (buf + i)) + 1;
		if (ll < 5 || buf[i] < '2' || buf[i] > '5')
			return -1;
		if (ll == 5 || buf[i + 3] == ' ') {
			*code = (buf[i] - '0') * 100 + (buf[i + 1] - '0') * 10 +
			    (buf[i + 2] - '0');
			*used = i + ll;
			return 1;
		}
		i += ll;
	}
}

/* ------------------------------------------------------------ inotify */

struct watch {
	int fd;
	long seen;
	int overflow;
	const char *dir;
};

static void
watch_open(struct watch *w, const char *dir)
{
	w->dir = dir;
	w->seen = 0;
	w->overflow = 0;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		die("inotify_init1");
	if (inotify_add_watch(w->fd, dir, IN_CREATE | IN_MOVED_TO) < 0)
		die(dir);
}

/* Files in the directory (the fallback after an inotify overflow). */
static long
dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Read pending events; the number of new files seen so far. */
static long
watch_read(struct watch *w)
{
	char buf[16384] __attribute__((aligned(8)));
	ssize_t r;

	while ((r = read(w->fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				w->overflow = 1;
			else if (ev->len > 0 && ev->name[0] != '.')
				w->seen++;
			p += sizeof *ev + ev->len;
		}
	}
	if (w->overflow)
		w->seen = dir_count(w->dir);
	return w->seen;
}

/* ------------------------------------------------------------ smtp mode */

enum { C_FREE, C_CONNECT, C_BANNER, C_EHLO, C_ENV, C_DOT, C_QUIT };

struct conn {
	int fd, state, want;   /* want: replies still expected in C_ENV */
	char rbuf[RBUF];
	size_t rlen;
	struct iovec out[2];
	int nout;
	char hdr[128];
	char env[ENV_MAX];
	long k;
};

static struct conn *conns;
static int ep;
static long started, accepted, failed;
static double t_accept;

static void
conn_close(struct conn *c, int bad)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_FREE;
	if (bad)
		failed++;
}

/* Write what is pending; 1 all written, 0 partial (EPOLLOUT armed), -1. */
static int
conn_flush(struct conn *c)
{
	struct epoll_event ev;

	while (c->nout > 0) {
		ssize_t w = writev(c->fd, c->out, c->nout);

		if (w < 0) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		while (w > 0 && c->nout > 0) {
			if ((size_t)w >= c->out[0].iov_len) {
				w -= (ssize_t)c->out[0].iov_len;
				c->out[0] = c->out[1];
				c->nout--;
			} else {
				c->out[0].iov_base = (char *)c->out[0].iov_base + w;
				c->out[0].iov_len -= (size_t)w;
				w = 0;
			}
		}
	}
	ev.events = EPOLLIN | (c->nout > 0 ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -1;
	return c->nout == 0;
}

static int
conn_send(struct conn *c, const void *a, size_t al, const void *b, size_t bl)
{
	c->out[0].iov_base = (void *)a;
	c->out[0].iov_len = al;
	c->nout = 1;
	if (b != NULL) {
		c->out[1].iov_base = (void *)b;
		c->out[1].iov_len = bl;
		c->nout = 2;
	}
	return conn_flush(c) < 0 ? -1 : 0;
}

static void
conn_start(struct conn *c)
{
	struct epoll_event ev;

	c->fd = tcp_connect(1);
	if (c->fd < 0) {
		failed++;
		return;
	}
	c->k = started++;
	c->state = C_CONNECT;
	c->rlen = 0;
	c->nout = 0;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

/* One reply arrived: the next step of the session, -1 on a bad reply. */
static int
conn_reply(struct conn *c, int code)
{
	static const char ehlo[] = "EHLO client.bench.example.org\r\n";

	switch (c->state) {
	case C_BANNER:
		if (code != 220)
			return -1;
		c->state = C_EHLO;
		return conn_send(c, ehlo, sizeof ehlo - 1, NULL, 0);
	case C_EHLO:
		if (code != 250)
			return -1;
		c->state = C_ENV;
		c->want = 3;
		return conn_send(c, c->env, envelope_for(c->env, c->k), NULL, 0);
	case C_ENV:
		if (--c->want > 0)
			return code == 250 ? 0 : -1;
		if (code != 354)
			return -1;
		c->state = C_DOT;
		return conn_send(c, c->hdr, msgid(c->hdr, sizeof c->hdr, c->k),
		    body, bodylen);
	case C_DOT:
		if (code != 250)
			return -1;
		accepted++;
		t_accept = now();
		c->state = C_QUIT;
		return conn_send(c, "QUIT\r\n", 6, NULL, 0);
	case C_QUIT:
		conn_close(c, 0);
		return 0;
	}
	return -1;
}

static void
conn_event(struct conn *c, uint32_t events)
{
	ssize_t r;
	int code;
	size_t used;

	if (c->state == C_CONNECT) {
		int err = 0;
		socklen_t l = sizeof err;

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
			conn_close(c, 1);
			return;
		}
		c->state = C_BANNER;
		if (conn_flush(c) < 0) {
			conn_close(c, 1);
			return;
		}
	}
	if ((events & EPOLLOUT) && c->nout > 0 && conn_flush(c) < 0) {
		conn_close(c, 1);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	r = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r <= 0) {
		/* EOF after QUIT's reply was sent is normal */
		conn_close(c, c->state != C_QUIT);
		return;
	}
	c->rlen += (size_t)r;
	for (;;) {
		int p = reply_parse(c->rbuf, c->rlen, &code, &used);

		if (p == 0)
			break;
		if (p < 0 || conn_reply(c, code) < 0) {
			conn_close(c, 1);
			return;
		}
		if (c->state == C_FREE)
			return;
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
	}
}

static int
mode_smtp(void)
{
	struct epoll_event evs[64], ev;
	struct watch w;
	double t0, deadline, t_deliver = 0;
	int active;
	long delivered = 0;

	make_body();
	if (opt_c > MAXCONC)
		opt_c = MAXCONC;
	conns = calloc((size_t)opt_c, sizeof *conns);
	if (conns == NULL)
		die("calloc");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	watch_open(&w, opt_dir);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, w.fd, &ev) < 0)
		die("epoll_ctl");
	t0 = now();
	deadline = t0 + opt_t;
	for (int i = 0; i < opt_c; i++) {
		conns[i].fd = -1;
		if (started < opt_n)
			conn_start(&conns[i]);
	}
	for (;;) {
		double left = deadline - now();
		int n;

		active = 0;
		for (int i = 0; i < opt_c; i++) {
			if (conns[i].state == C_FREE && started < opt_n &&
			    failed < opt_n)
				conn_start(&conns[i]);
			if (conns[i].state != C_FREE)
				active++;
		}
		if (active == 0 && delivered >= accepted)
			break;
		if (left <= 0)
			break;
		n = epoll_wait(ep, evs, 64, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				long d = watch_read(&w);

				if (d > delivered) {
					delivered = d;
					t_deliver = now();
				}
			} else {
				conn_event(evs[i].data.ptr, evs[i].events);
			}
		}
	}
	printf("{\"mode\":\"smtp\",\"n\":%d,\"conc\":%d,\"size\":%ld,"
	    "\"started\":%ld,\"accepted\":%ld,\"failed\":%ld,"
	    "\"delivered\":%ld,\"t_accept\":%.6f,\"t_deliver\":%.6f,"
	    "\"timeout\":%s}\n", opt_n, opt_c, opt_size, started, accepted,
	    failed, delivered, accepted ? t_accept - t0 : 0.0,
	    delivered ? t_deliver - t0 : 0.0,
	    now() >= deadline ? "true" : "false");
	return 0;
}

/* ------------------------------------------------------------ lat mode */

/* Blocking session helpers for lat and conn modes. */
struct bconn {
	int fd;
	SSL *ssl;
	char rbuf[RBUF];
	size_t rlen;
};

static int
b_write(struct bconn *b, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w;

		if (b->ssl != NULL) {
			int r = SSL_write(b->ssl, p, (int)n);

			w = r > 0 ? r : -1;
		} else {
			w = write(b->fd, p, n);
		}
		if (w < 0) {
			if (errno == EINTR && b->ssl == NULL)
				continue;
			return -1;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *last_why = "";   /* why b_reply last failed */

/* Wait for one reply (until the deadline); its code or -1. */
static int
b_reply(struct bconn *b, double deadline)
{
	last_why = "";
	for (;;) {
		int code;
		size_t used;
		int p = reply_parse(b->rbuf, b->rlen, &code, &used);
		ssize_t r;

		if (p < 0) {
			last_why = "malformed reply";
			return -1;
		}
		if (p > 0) {
			if (code >= 400)
				last_why = code >= 500 ? "5xx reply" : "4xx reply";
			memmove(b->rbuf, b->rbuf + used, b->rlen - used);
			b->rlen -= used;
			return code;
		}
		if (b->ssl != NULL) {
			int n = SSL_read(b->ssl, b->rbuf + b->rlen,
			    (int)(sizeof b->rbuf - b->rlen));

			r = n > 0 ? n : -1;
		} else {
			struct pollfd pf = { b->fd, POLLIN, 0 };
			int ms = (int)((deadline - now()) * 1000);

			/* a poll timeout is always the run's deadline */
			if (ms <= 0 || poll(&pf, 1, ms + 1) <= 0) {
				last_why = "deadline";
				return -1;
			}
			r = read(b->fd, b->rbuf + b->rlen, sizeof b->rbuf - b->rlen);
		}
		if (r <= 0) {
			last_why = r == 0 ? "connection closed" : "read error";
			return -1;
		}
		b->rlen += (size_t)r;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p-th percentile (0..100) of sorted v[0..n), nearest rank */
static double
pct(const double *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p / 100 * n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static int
mode_lat(void)
{
	static const char ehlo[] = "EHLO client.bench.example.org\r\n";
	double *acc = calloc((size_t)opt_n, sizeof *acc);
	double *dlv = calloc((size_t)opt_n, sizeof *dlv);
	double deadline = now() + opt_t;
	struct watch w;
	long ok = 0, bad = 0;
	struct bconn *b = calloc(1, sizeof *b);
	char hdr[128];

	if (acc == NULL || dlv == NULL || b == NULL)
		die("calloc");
	make_body();
	watch_open(&w, opt_dir);
	for (long k = 0; k < opt_n && now() < deadline; k++) {
		long before = watch_read(&w);
		double t_dot = 0, t_ok = 0, t_file = 0;
		int code = -1;

		b->rlen = 0;
		last_why = "";
		b->fd = tcp_connect(0);
		if (b->fd < 0 || b_reply(b, deadline) != 220 ||
		    b_write(b, ehlo, sizeof ehlo - 1) < 0 ||
		    b_reply(b, deadline) != 250 ||
		    b_write(b, envelope, sizeof envelope - 1) < 0 ||
		    b_reply(b, deadline) != 250 || b_reply(b, deadline) != 250 ||
		    b_reply(b, deadline) != 354 ||
		    b_write(b, hdr, msgid(hdr, sizeof hdr, k)) < 0 ||
		    b_write(b, body, bodylen - 3) < 0)
			goto fail;
		/* the clock starts with the final "." */
		t_dot = now();
		if (b_write(b, ".\r\n", 3) < 0)
			goto fail;
		while ((t_ok == 0 || t_file == 0) && now() < deadline) {
			struct pollfd pf[2] = { { b->fd, POLLIN, 0 }, { w.fd, POLLIN, 0 } };
			int ms = (int)((deadline - now()) * 1000) + 1;

			if (poll(pf, 2, ms) < 0 && errno != EINTR)
				die("poll");
			if (t_ok == 0 && pf[0].revents) {
				code = b_reply(b, deadline);
				if (code != 250)
					goto fail;
				t_ok = now();
			}
			if (t_file == 0 && pf[1].revents && watch_read(&w) > before)
				t_file = now();
		}
		if (t_ok == 0 || t_file == 0)
			goto fail;
		(void)b_write(b, "QUIT\r\n", 6);
		(void)b_reply(b, deadline);
		close(b->fd);
		acc[ok] = (t_ok - t_dot) * 1000;
		dlv[ok] = (t_file - t_dot) * 1000;
		ok++;
		continue;
fail:
		if (b->fd >= 0)
			close(b->fd);
		if (strcmp(last_why, "deadline") == 0 || now() >= deadline)
			break;   /* time is up: not a failure of the server */
		bad++;
	}
	qsort(acc, (size_t)ok, sizeof *acc, cmp_double);
	qsort(dlv, (size_t)ok, sizeof *dlv, cmp_double);
	printf("{\"mode\":\"lat\",\"n\":%d,\"ok\":%ld,\"failed\":%ld,"
	    "\"accept_ms_median\":%.3f,\"accept_ms_p99\":%.3f,"
	    "\"deliver_ms_median\":%.3f,\"deliver_ms_p99\":%.3f,"
	    "\"deliver_ms_max\":%.3f}\n", opt_n, ok, bad,
	    pct(acc, ok, 50), pct(acc, ok, 99), pct(dlv, ok, 50),
	    pct(dlv, ok, 99), ok ? dlv[ok - 1] : 0.0);
	return 0;
}

/* ------------------------------------------------------------ conn mode */

struct shared {
	long next, ok, bad, resumed, notls, cut;
	char why[96];      /* the first failure, for the report */
};

static struct shared *shm;

/* Remember the first failure's step (and errno) in shm->why. */
static void
conn_failed(const char *step)
{
	static const char none[sizeof shm->why];

	if (shm != NULL && memcmp(shm->why, none, sizeof none) == 0)
		snprintf(shm->why, sizeof shm->why, "%s (%s)", step,
		    *last_why ? last_why : errno ? strerror(errno) : "bad reply");
}

static SSL_SESSION *last_session;

static int
new_session(SSL *ssl, SSL_SESSION *s)
{
	(void)ssl;
	if (last_session != NULL)
		SSL_SESSION_free(last_session);
	last_session = s;
	return 1;   /* we keep the reference */
}

/* One EHLO(+STARTTLS)+QUIT session: 1 ok, 0 no STARTTLS offered, -1
 * failed, -2 cut by the deadline. */
static int
conn_once(struct bconn *b, SSL_CTX *ctx, double deadline, int *resumed)
{
	static const char ehlo[] = "EHLO client.bench.example.org\r\n";
	const char *step = "connect";
	int rc = -1;

	errno = 0;
	last_why = "";
	b->rlen = 0;
	b->ssl = NULL;
	b->fd = tcp_connect(0);
	if (b->fd < 0) {
		conn_failed(step);
		return -1;
	}
	step = "greeting";
	if (b_reply(b, deadline) != 220 || b_write(b, ehlo, sizeof ehlo - 1) < 0)
		goto out;
	step = "EHLO";
	if (ctx != NULL) {
		/* the EHLO reply must offer STARTTLS */
		int code;

		for (;;) {
			size_t used;
			int p = reply_parse(b->rbuf, b->rlen, &code, &used);

			if (p < 0)
				goto out;
			if (p > 0) {
				int has = memmem(b->rbuf, used, "STARTTLS", 8) != NULL;

				memmove(b->rbuf, b->rbuf + used, b->rlen - used);
				b->rlen -= used;
				if (code != 250)
					goto out;
				if (!has) {
					rc = 0;
					goto out;
				}
				break;
			}
			struct pollfd pf = { b->fd, POLLIN, 0 };
			ssize_t r;

			if (poll(&pf, 1, (int)((deadline - now()) * 1000) + 1) <= 0) {
				last_why = "deadline";
				goto out;
			}
			r = read(b->fd, b->rbuf + b->rlen, sizeof b->rbuf - b->rlen);
			if (r <= 0)
				goto out;
			b->rlen += (size_t)r;
		}
		step = "STARTTLS";
		if (b_write(b, "STARTTLS\r\n", 10) < 0 || b_reply(b, deadline) != 220)
			goto out;
		b->ssl = SSL_new(ctx);
		if (b->ssl == NULL)
			goto out;
		SSL_set_fd(b->ssl, b->fd);
		if (opt_resume && last_session != NULL)
			SSL_set_session(b->ssl, last_session);
		step = "handshake";
		if (SSL_connect(b->ssl) != 1)
			goto out;
		if (SSL_session_reused(b->ssl))
			*resumed = 1;
		step = "EHLO after STARTTLS";
		if (b_write(b, ehlo, sizeof ehlo - 1) < 0)
			goto out;
	}
	if (b_reply(b, deadline) != 250)
		goto out;
	step = "QUIT";
	if (b_write(b, "QUIT\r\n", 6) < 0 || b_reply(b, deadline) != 221)
		goto out;
	rc = 1;
out:
	if (rc < 0 && strcmp(last_why, "deadline") == 0)
		rc = -2;    /* cut by the deadline: not a failure */
	else if (rc < 0)
		conn_failed(step);
	if (b->ssl != NULL) {
		SSL_shutdown(b->ssl);
		SSL_free(b->ssl);
		b->ssl = NULL;
	}
	close(b->fd);
	return rc;
}

static void
conn_worker(struct shared *sh, double deadline)
{
	SSL_CTX *ctx = NULL;
	struct bconn *b = calloc(1, sizeof *b);

	if (b == NULL)
		_exit(1);
	if (opt_tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (ctx == NULL)
			_exit(1);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session);
	}
	while (now() < deadline) {
		long k = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST);
		int resumed = 0, r;

		if (k >= opt_n)
			break;
		r = conn_once(b, ctx, deadline, &resumed);
		if (r > 0)
			__atomic_fetch_add(&sh->ok, 1, __ATOMIC_SEQ_CST);
		else if (r == -2 || (r < 0 && now() >= deadline))
			__atomic_fetch_add(&sh->cut, 1, __ATOMIC_SEQ_CST);
		else if (r == 0)
			__atomic_fetch_add(&sh->notls, 1, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_add(&sh->bad, 1, __ATOMIC_SEQ_CST);
		if (resumed)
			__atomic_fetch_add(&sh->resumed, 1, __ATOMIC_SEQ_CST);
		if (r == 0 || r == -2)
			break;   /* no STARTTLS: nothing to measure; or time is up */
	}
	_exit(0);
}

static int
mode_conn(void)
{
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0 = now(), deadline = t0 + opt_t, t1;

	if (sh == MAP_FAILED)
		die("mmap");
	memset(sh, 0, sizeof *sh);
	shm = sh;
	for (int i = 0; i < opt_c; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0)
			conn_worker(sh, deadline);
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	t1 = now();
	printf("{\"mode\":\"conn\",\"n\":%d,\"conc\":%d,\"tls\":%d,\"resume\":%d,"
	    "\"ok\":%ld,\"failed\":%ld,\"no_starttls\":%ld,\"resumed\":%ld,"
	    "\"cut_by_deadline\":%ld,\"secs\":%.6f,\"first_failure\":\"%s\"}\n",
	    opt_n, opt_c, opt_tls, opt_resume, sh->ok, sh->bad, sh->notls,
	    sh->resumed, sh->cut, t1 - t0, sh->why);
	return 0;
}

/* ------------------------------------------------------------ fsync mode */

static void
fsync_worker(int id, long *count, double deadline)
{
	char tmp[PATH_MAX], dst[PATH_MAX], d[PATH_MAX];
	static char data[4096];
	int dfd;
	long i;

	memset(data, 'x', sizeof data);
	if (snprintf(d, sizeof d, "%s/w%d", opt_dir, id) >= (int)sizeof d - 32 ||
	    mkdir(d, 0700) < 0)
		_exit(1);
	if (snprintf(tmp, sizeof tmp, "%s/tmp", d) >= (int)sizeof tmp ||
	    snprintf(dst, sizeof dst, "%s/new", d) >= (int)sizeof dst ||
	    mkdir(tmp, 0700) < 0 || mkdir(dst, 0700) < 0)
		_exit(1);
	dfd = open(dst, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		_exit(1);
	for (i = 0; i < 1000000 && now() < deadline; i++) {
		int fd;

		if (snprintf(tmp, sizeof tmp, "%s/tmp/%ld", d, i) >= (int)sizeof tmp ||
		    snprintf(dst, sizeof dst, "%s/new/%ld", d, i) >= (int)sizeof dst)
			_exit(1);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data ||
		    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, dst) < 0 ||
		    fsync(dfd) < 0)
			_exit(1);
		__atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
	}
	_exit(0);
}

static int
mode_fsync(void)
{
	long *count = mmap(NULL, sizeof *count, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0 = now(), deadline = t0 + opt_t, t1;
	int bad = 0, st;

	if (count == MAP_FAILED)
		die("mmap");
	*count = 0;
	for (int i = 0; i < opt_c; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0)
			fsync_worker(i, count, deadline);
	}
	while (wait(&st) > 0 || errno == EINTR)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	t1 = now();
	printf("{\"mode\":\"fsync\",\"writers\":%d,\"cycles\":%ld,\"secs\":%.6f,"
	    "\"failed_writers\":%d}\n", opt_c, *count, t1 - t0, bad);
	return 0;
}

/* ------------------------------------------------------------ main */

static long
num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "smtpload: bad number %s\n", s);
		exit(1);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *mode;
	int ch;

	if (argc < 2) {
		fprintf(stderr, "usage: smtpload smtp|lat|conn|fsync [options]\n");
		return 1;
	}
	mode = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "p:n:c:s:d:t:r:D:TR")) != -1) {
		switch (ch) {
		case 'p': opt_port = (int)num(optarg, 1, 65535); break;
		case 'n': opt_n = (int)num(optarg, 1, 10000000); break;
		case 'c': opt_c = (int)num(optarg, 1, MAXCONC); break;
		case 's': opt_size = num(optarg, 256, 64L << 20); break;
		case 'd': opt_dir = optarg; break;
		case 't': opt_t = (double)num(optarg, 1, 3600); break;
		case 'r':
			/* room for the digits of -D in each %d, and the rest */
			if (strlen(optarg) > 100 || strchr(optarg, '>') ||
			    strchr(optarg, '\r') || strchr(optarg, '\n')) {
				fprintf(stderr, "smtpload: bad -r %s\n", optarg);
				return 1;
			}
			opt_rcpt = optarg;
			break;
		case 'D': opt_domains = (int)num(optarg, 1, 100000); break;
		case 'T': opt_tls = 1; break;
		case 'R': opt_resume = 1; break;
		default: return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "fsync") == 0)
		return opt_dir ? mode_fsync() : 1;
	if (opt_port == 0)
		return 1;
	if (strcmp(mode, "smtp") == 0)
		return opt_dir ? mode_smtp() : 1;
	if (strcmp(mode, "lat") == 0)
		return opt_dir ? mode_lat() : 1;
	if (strcmp(mode, "conn") == 0)
		return mode_conn();
	fprintf(stderr, "smtpload: unknown mode %s\n", mode);
	return 1;
}
