/*
 * tls_int: what lib/net/tls.c (the io hooks, shared by both sides),
 * lib/net/tls_server.c and lib/net/tls_client.c share.  Not for programs.
 */
#ifndef TERN_TLS_INT_H
#define TERN_TLS_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "util/io.h"
#include "net/tls.h"

/* The TLS state of one io, in io->ctx while TLS is on. */
struct tls_conn {
	SSL *ssl;
	/* what io had before: restored by tls_end */
	ssize_t (*rd)(struct io *, void *, size_t);
	ssize_t (*wr)(struct io *, const void *, size_t);
	void *ctx;
	int rflags, wflags;        /* fcntl flags of rfd/wfd before; -1 unsaved */
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

/* The PEM bytes of tls_cert or tls_key (lib/net/tls_pem.c). */
struct tls_pem {
	char *p;                   /* malloc'ed, NULL when none */
	size_t n;
	char what[300];            /* "tls_key /etc/tern/key.pem", for errors */
};

/* Read the PEM file path of the config key (tls_cert, tls_key) into pm:
 * at most 1 MiB, not empty, some "-----BEGIN ".  1 or -1 (err set). */
int tls_pem_read(struct tls_pem *pm, const char *key, const char *path,
    char *err, size_t errsz);
/* Wipe and free the bytes of pm. */
void tls_pem_free(struct tls_pem *pm);
/* Certificate chain (leaf first, as SSL_CTX_use_certificate_chain_file)
 * and private key of ctx from memory; the key must match.  An encrypted
 * key fails (no passphrase prompt).  1 or -1 (err set). */
int tls_pem_use(SSL_CTX *ctx, const struct tls_pem *cert,
    const struct tls_pem *key, char *err, size_t errsz);

#endif
