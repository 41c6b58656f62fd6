/*
 * tls: the part of TLS common to servers and clients: the handshake loop
 * and the io rd/wr hooks that replace read(2)/write(2) with
 * SSL_read/SSL_write.
 *
 * The fds are switched to non-blocking mode while TLS is on, so that no
 * OpenSSL call can block: every wait is a poll(2) bounded by
 * io->timeout seconds (per wait, as in io.c; for the handshake, in all),
 * and a timeout is -1 with errno ETIMEDOUT.  tls_end() restores the
 * flags and the previous hooks.
 *
 * A peer that closes the connection without close_notify is taken as
 * end of file (SSL_OP_IGNORE_UNEXPECTED_EOF): SMTP, POP3 and IMAP carry
 * their own end markers, so a truncation is visible at their level.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/io.h"
#include "net/tls.h"
#include "net/tls_int.h"

static ssize_t tls_rd(struct io *, void *, size_t);
static ssize_t tls_wr(struct io *, const void *, size_t);

void
tls_error(char *err, size_t errsz, const char *what)
{
	unsigned long e, last = 0;
	char reason[256];

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0) {
		snprintf(err, errsz, "%s", what);
		return;
	}
	ERR_error_string_n(last, reason, sizeof reason);
	snprintf(err, errsz, "%s: %s", what, reason);
}

struct tls_conn *
tls_conn_of(const struct io *io)
{
	return io->rd == tls_rd ? io->ctx : NULL;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), or -1 for none. */
static int
tls_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (deadline == NULL)
		return -1;
	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return 0;
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

/*
 * After an SSL call on io failed with ret: wait as it asks and return 1
 * (call again), 0 for a clean end of stream, -1 with errno.  ms is the
 * wait limit.
 */
static int
tls_retry(struct io *io, SSL *ssl, int ret, int ms)
{
	int e = SSL_get_error(ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return fd_poll(io->rfd, POLLIN, ms);
	case SSL_ERROR_WANT_WRITE:
		return fd_poll(io->wfd, POLLOUT, ms);
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR)
			return 1;
		if (errno == 0)
			errno = ECONNRESET;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

static int
tls_wait_ms(const struct io *io)
{
	return io->timeout > 0 ? io->timeout * 1000 : -1;
}

static ssize_t
tls_rd(struct io *io, void *p, size_t n)
{
	struct tls_conn *c = io->ctx;
	size_t got;
	int r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(c->ssl, p, n, &got);
		if (r == 1)
			return (ssize_t)got;
		r = tls_retry(io, c->ssl, r, tls_wait_ms(io));
		if (r <= 0) {
			ERR_clear_error();
			return r;
		}
	}
}

static ssize_t
tls_wr(struct io *io, const void *p, size_t n)
{
	struct tls_conn *c = io->ctx;
	size_t put;
	int r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write_ex(c->ssl, p, n, &put);
		if (r == 1)
			return (ssize_t)put;
		r = tls_retry(io, c->ssl, r, tls_wait_ms(io));
		if (r <= 0) {
			ERR_clear_error();
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
	}
}

/* Set or clear O_NONBLOCK on fd; the old flags into *old_r if set. */
static int
tls_nonblock(int fd, int on, int *old_r)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (old_r)
		*old_r = fl;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Put back the fd flags tls_nonblock saved (only those it did save);
 * wfd first: when rfd == wfd, rflags are the original ones. */
static void
tls_restore_flags(const struct io *io, const struct tls_conn *c)
{
	if (c->wflags >= 0)
		(void)fcntl(io->wfd, F_SETFL, c->wflags);
	if (c->rflags >= 0)
		(void)fcntl(io->rfd, F_SETFL, c->rflags);
}

/* The handshake, within io->timeout seconds in all.  1 or -1. */
static int
tls_handshake(struct io *io, SSL *ssl, char *err, size_t errsz)
{
	struct timespec dl, *dlp = NULL;
	long vr;
	int r;

	if (io->timeout > 0 && clock_gettime(CLOCK_MONOTONIC, &dl) == 0) {
		dl.tv_sec += io->timeout;
		dlp = &dl;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1)
			return 1;
		if (SSL_get_error(ssl, r) == SSL_ERROR_SSL) {
			vr = SSL_get_verify_result(ssl);
			if (vr != X509_V_OK) {
				ERR_clear_error();
				snprintf(err, errsz, "TLS handshake: "
				    "certificate verification failed: %s",
				    X509_verify_cert_error_string(vr));
			} else
				tls_error(err, errsz, "TLS handshake");
			errno = EPROTO;
			return -1;
		}
		r = tls_retry(io, ssl, r, tls_ms_left(dlp));
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			snprintf(err, errsz, "TLS handshake: %s",
			    errno == ETIMEDOUT ? "timed out" :
			    errno == ECONNRESET ? "connection closed" :
			    strerror(errno));
			ERR_clear_error();
			return -1;
		}
	}
}

int
tls_conn_start(struct io *io, SSL *ssl, char *err, size_t errsz)
{
	struct tls_conn *c;
	int e;

	c = calloc(1, sizeof *c);
	if (c == NULL) {
		SSL_free(ssl);
		snprintf(err, errsz, "TLS: %s", strerror(errno));
		return -1;
	}
	c->ssl = ssl;
	/* -1: not saved (F_GETFL failed or was not reached), so nothing is
	 * "restored" onto that fd; 0 would clear its flags */
	c->rflags = c->wflags = -1;
	if (tls_nonblock(io->rfd, 1, &c->rflags) < 0 ||
	    tls_nonblock(io->wfd, 1, &c->wflags) < 0) {
		e = errno;
		snprintf(err, errsz, "TLS: fcntl: %s", strerror(e));
		goto fail;
	}
	/* so that the client's new-session callback finds c */
	SSL_set_app_data(ssl, c);
	if (tls_handshake(io, ssl, err, errsz) < 0) {
		e = errno;
		goto fail;
	}
	snprintf(c->info, sizeof c->info, "%s %s %d", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), SSL_get_cipher_bits(ssl, NULL));
	c->rd = io->rd;
	c->wr = io->wr;
	c->ctx = io->ctx;
	io->rd = tls_rd;
	io->wr = tls_wr;
	io->ctx = c;
	return 1;
fail:
	tls_restore_flags(io, c);
	SSL_free(ssl);
	if (c->sess)
		SSL_SESSION_free(c->sess);
	free(c);
	errno = e;
	return -1;
}

const char *
tls_info(const struct io *io)
{
	const struct tls_conn *c = tls_conn_of(io);

	return c ? c->info : "";
}

int
tls_active(const struct io *io)
{
	return tls_conn_of(io) != NULL;
}

int
tls_session_reused(const struct io *io)
{
	const struct tls_conn *c = tls_conn_of(io);

	return c != NULL && SSL_session_reused(c->ssl) == 1;
}

void
tls_end(struct io *io)
{
	struct tls_conn *c = tls_conn_of(io);
	int saved = errno, r;

	if (c == NULL)
		return;
	/* best effort: flush what is buffered, then one close_notify try
	 * with a short wait (the peer may be gone) */
	if (io->wlen)
		(void)io_flush(io);
	io->wlen = 0;
	ERR_clear_error();
	r = SSL_shutdown(c->ssl);
	if (r < 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE &&
	    fd_poll(io->wfd, POLLOUT, 1000) == 1)
		(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	tls_restore_flags(io, c);
	io->rd = c->rd;
	io->wr = c->wr;
	io->ctx = c->ctx;
	SSL_free(c->ssl);
	if (c->sess)
		SSL_SESSION_free(c->sess);
	free(c);
	errno = saved;
}
