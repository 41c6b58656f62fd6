/*
 * tls_int: what lib/tls.c (the io hooks, shared by both sides),
 * lib/tls_server.c and lib/tls_client.c share.  Not for programs.
 */
#ifndef TERN_TLS_INT_H
#define TERN_TLS_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "io.h"
#include "tls.h"

/* The TLS state of one io, in io->ctx while TLS is on. */
struct tls_conn {
	SSL *ssl;
	/* what io had before: restored by tls_end */
	ssize_t (*rd)(struct io *, void *, size_t);
	ssize_t (*wr)(struct io *, const void *, size_t);
	void *ctx;
	int rflags, wflags;        /* fcntl flags of rfd/wfd before */
	SSL_SESSION *sess;         /* client: newest resumable session */
	char info[TLS_INFO_MAX];
};

/* Put io's fds in non-blocking mode, run the handshake on ssl (its fds
 * already set) within io->timeout seconds in all, then install the
 * hooks.  On failure ssl is freed, the fds restored and err filled.
 * 1 or -1. */
int tls_conn_start(struct io *io, SSL *ssl, char *err, size_t errsz);
/* "what: reason" from the OpenSSL error queue (emptied) into err. */
void tls_error(char *err, size_t errsz, const char *what);
/* The tls_conn of io, or NULL when TLS is not on. */
struct tls_conn *tls_conn_of(const struct io *io);

#endif
