/*
 * io: buffered fd I/O with timeouts for the daemons.
 *
 * Reads and writes go through the rd/wr hooks so TLS can be slotted in
 * underneath; the defaults wait with poll(2) for at most io->timeout
 * seconds and then use read(2)/write(2).  Line reading never grows: a line
 * longer than the caller's maximum is consumed and reported as EMSGSIZE.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/io.h"

int
fd_poll(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 1;
}

static int
fd_wait(int fd, short ev, int timeout_s)
{
	return fd_poll(fd, ev, timeout_s > 0 ? timeout_s * 1000 : -1);
}

static ssize_t
io_fd_read(struct io *io, void *p, size_t n)
{
	ssize_t r;

	for (;;) {
		if (fd_wait(io->rfd, POLLIN, io->timeout) < 0)
			return -1;
		r = read(io->rfd, p, n);
		if (r >= 0 || (errno != EINTR && errno != EAGAIN))
			return r;
	}
}

static ssize_t
io_fd_write(struct io *io, const void *p, size_t n)
{
	ssize_t r;

	for (;;) {
		if (fd_wait(io->wfd, POLLOUT, io->timeout) < 0)
			return -1;
		r = write(io->wfd, p, n);
		if (r >= 0 || (errno != EINTR && errno != EAGAIN))
			return r;
	}
}

void
io_init(struct io *io, int rfd, int wfd, int timeout)
{
	io->rfd = rfd;
	io->wfd = wfd;
	io->timeout = timeout;
	io->rpos = io->rlen = 0;
	io->wlen = 0;
	io->rd = io_fd_read;
	io->wr = io_fd_write;
	io->ctx = NULL;
}

/* Refill the read buffer: 1 got bytes, 0 EOF, -1 error. */
static int
io_fill(struct io *io)
{
	ssize_t r;

	if (io->rpos == io->rlen)
		io->rpos = io->rlen = 0;
	else if (io->rpos > 0) {
		memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
		io->rlen -= io->rpos;
		io->rpos = 0;
	}
	if (io->rlen == sizeof io->rbuf)
		return 1;
	/* RFC 2920: replies to a pipelined group go out before we block */
	if (io->wlen && io_flush(io) < 0)
		return -1;
	r = io->rd(io, io->rbuf + io->rlen, sizeof io->rbuf - io->rlen);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	io->rlen += (size_t)r;
	return 1;
}

int
io_getline(struct io *io, char *line, size_t max, size_t *len_r)
{
	size_t n = 0;
	int toolong = 0;

	for (;;) {
		const char *start = io->rbuf + io->rpos;
		size_t avail = io->rlen - io->rpos;
		const char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) + 1 : avail;
		int r;

		if (!toolong) {
			if (n + take > max) {
				toolong = 1;
			} else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		io->rpos += take;
		if (nl)
			break;
		r = io_fill(io);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (toolong) {
				line[n] = '\0';
				*len_r = n;
				errno = EMSGSIZE;
				return -1;
			}
			if (n == 0)
				return 0;
			break;
		}
	}
	line[n] = '\0';
	*len_r = n;
	if (toolong) {
		errno = EMSGSIZE;
		return -1;
	}
	*len_r = n;
	return 1;
}

ssize_t
io_read(struct io *io, void *p, size_t n)
{
	size_t avail;

	if (io->rpos == io->rlen) {
		int r = io_fill(io);

		if (r <= 0)
			return r;
	}
	avail = io->rlen - io->rpos;
	if (n > avail)
		n = avail;
	memcpy(p, io->rbuf + io->rpos, n);
	io->rpos += n;
	return (ssize_t)n;
}

size_t
io_pending(const struct io *io)
{
	return io->rlen - io->rpos;
}

int
io_unread(struct io *io, const void *p, size_t n)
{
	size_t have = io->rlen - io->rpos;

	if (n > sizeof io->rbuf - have) {
		errno = EMSGSIZE;
		return -1;
	}
	memmove(io->rbuf + n, io->rbuf + io->rpos, have);
	memcpy(io->rbuf, p, n);
	io->rpos = 0;
	io->rlen = n + have;
	return 1;
}

ssize_t
io_peek(struct io *io, const char **p_r)
{
	if (io->rpos == io->rlen) {
		int r = io_fill(io);

		if (r <= 0)
			return r;
	}
	*p_r = io->rbuf + io->rpos;
	return (ssize_t)(io->rlen - io->rpos);
}

void
io_skip(struct io *io, size_t n)
{
	size_t avail = io->rlen - io->rpos;

	io->rpos += n < avail ? n : avail;
}

int
io_wait(struct io *io, int ms)
{
	if (io_pending(io))
		return 1;
	if (fd_poll(io->rfd, POLLIN, ms) == 1)
		return 1;
	return errno == ETIMEDOUT ? 0 : -1;
}

int
io_flush(struct io *io)
{
	size_t off = 0;

	while (off < io->wlen) {
		ssize_t w = io->wr(io, io->wbuf + off, io->wlen - off);

		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EPIPE;
			return -1;
		}
		off += (size_t)w;
	}
	io->wlen = 0;
	return 1;
}

int
io_put(struct io *io, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		size_t room = sizeof io->wbuf - io->wlen;
		size_t k = n < room ? n : room;

		memcpy(io->wbuf + io->wlen, c, k);
		io->wlen += k;
		c += k;
		n -= k;
		if (io->wlen == sizeof io->wbuf && io_flush(io) < 0)
			return -1;
	}
	return 1;
}

int
io_puts(struct io *io, const char *s)
{
	return io_put(io, s, strlen(s));
}

#define IO_PRINTF_MAX 4096  /* one formatted reply; longer is EMSGSIZE */

int
io_printf(struct io *io, const char *fmt, ...)
{
	char tmp[IO_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof tmp) {
		errno = EMSGSIZE;
		return -1;
	}
	return io_put(io, tmp, (size_t)n);
}

int
fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 1;
}

ssize_t
fd_read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
fd_send(int sock, const void *p, size_t n, int fd, int flags)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov;
	struct msghdr mh;
	ssize_t r;

	memset(&mh, 0, sizeof mh);
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof cm.b;
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof fd);
	}
	do
		r = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	/* SOCK_SEQPACKET sends all or nothing; a blocking SOCK_STREAM
	 * (the login hand-over) stops short only on a signal: an error */
	if ((size_t)r != n) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

/* The first fd passed in mh into *fd_r, the others closed; returns how
 * many there were. */
static int
fd_passed(struct msghdr *mh, int *fd_r)
{
	struct cmsghdr *c;
	int count = 0, fd;
	size_t i, k;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (count++ == 0)
				*fd_r = fd;
			else
				close(fd);
		}
	}
	return count;
}

ssize_t
fd_recv(int sock, void *p, size_t n, int *fd_r)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov;
	struct msghdr mh;
	ssize_t r;
	int count;

	*fd_r = -1;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof cm.b;
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	count = fd_passed(&mh, fd_r);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || count > 1) {
		if (*fd_r >= 0)
			close(*fd_r);
		*fd_r = -1;
		errno = EMSGSIZE;
		return -1;
	}
	return r;
}
