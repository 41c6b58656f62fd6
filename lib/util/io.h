/*
 * io: small buffered fd I/O with timeouts, for daemons (instead of stdio).
 *
 * An io reads from one fd and writes to another (fd 0/1 for a session),
 * with a read buffer and a write buffer of fixed size.  Every wait is
 * bounded by the timeout in seconds (0: none).  TLS (lib/net/tls.h) slots
 * in underneath through the rd/wr hooks.
 *
 * Returns: 1 ok, 0 end of file (reads), -1 error with errno set
 * (ETIMEDOUT on timeout, EMSGSIZE for an over-long line).
 */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stddef.h>
#include <sys/types.h>

#define IO_BUFSIZE 16384

struct io {
	int rfd, wfd;
	int timeout;            /* seconds per read or write wait; 0 none */
	char rbuf[IO_BUFSIZE];
	size_t rpos, rlen;      /* unread bytes are rbuf[rpos..rlen) */
	char wbuf[IO_BUFSIZE];
	size_t wlen;
	/* transport hooks: default read(2)/write(2) with poll; TLS (tls_*_start)
	 * replaces them */
	ssize_t (*rd)(struct io *, void *, size_t);
	ssize_t (*wr)(struct io *, const void *, size_t);
	void *ctx;              /* for the hooks */
};

void io_init(struct io *io, int rfd, int wfd, int timeout);
/* Read one line ending in LF into line (at most max bytes including the
 * LF; the LF is kept; *len_r set; line is NUL-terminated, so its size must
 * be max+1).  An over-long line returns -1/EMSGSIZE after the rest of it
 * has been read and discarded up to and including its LF; line then holds
 * its start (*len_r bytes, NUL-terminated).  At EOF with a
 * partial line, that partial line is returned (1) and EOF next time. */
int io_getline(struct io *io, char *line, size_t max, size_t *len_r);
/* Read up to n bytes (at least 1 unless EOF).  count, 0 EOF, -1 error */
ssize_t io_read(struct io *io, void *p, size_t n);
/* Number of bytes already buffered for reading (for pipelining checks). */
size_t io_pending(const struct io *io);
/* Look at the unread bytes without taking them: *p_r points at them
 * (valid until the next io call) and their count is returned.  With none
 * buffered, reads once (flushing buffered writes first, as io_read does).
 * count, 0 EOF, -1 error.  For parsers that must stop at an exact byte
 * (the end of SMTP DATA) and leave the rest for the next reader. */
ssize_t io_peek(struct io *io, const char **p_r);
/* Take n of the bytes io_peek showed (n at most its count). */
void io_skip(struct io *io, size_t n);
/* Wait up to ms milliseconds for input: 1 input ready, 0 none, -1 error. */
int io_wait(struct io *io, int ms);
/* Buffered writes; io_flush sends what is buffered.  1 or -1. */
int io_put(struct io *io, const void *p, size_t n);
int io_puts(struct io *io, const char *s);
int io_printf(struct io *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int io_flush(struct io *io);

/* Wait up to ms milliseconds (-1: forever) for fd to be ready for the
 * poll(2) events ev.  1 ready, -1 error with errno (ETIMEDOUT). */
int fd_poll(int fd, short ev, int ms);
/* Unbuffered helpers on plain fds, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *p, size_t n);           /* 1 or -1 */
ssize_t fd_read_full(int fd, void *p, size_t n);             /* bytes, -1 */
/*
 * Send p[0..n) on the UNIX-domain socket sock, with fd attached
 * (SCM_RIGHTS) when fd >= 0.  flags go to sendmsg (MSG_DONTWAIT for a
 * caller that must not block).  1 sent, -1 error (EAGAIN when it would
 * block, EPIPE when the peer is gone).
 */
int fd_send(int sock, const void *p, size_t n, int fd, int flags);
/*
 * Receive at most n bytes; a passed fd (close-on-exec) goes to *fd_r,
 * else *fd_r = -1.  Returns the length, 0 at EOF, -1 error (EMSGSIZE for
 * a truncated datagram or more than one fd; nothing is leaked).
 */
ssize_t fd_recv(int sock, void *p, size_t n, int *fd_r);
/* Put p[0..n) in front of io's unread bytes (bytes another process read
 * from the same connection).  1, or -1 with EMSGSIZE when they do not
 * fit the read buffer. */
int io_unread(struct io *io, const void *p, size_t n);

#endif
