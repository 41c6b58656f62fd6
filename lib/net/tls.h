/*
 * tls: TLS (OpenSSL 3) under struct io, for every tern program.
 *
 * Servers (tern-smtpd, tern-pop3d, tern-imapd) call tls_server_init()
 * once at start-up, while they may still read the private key (before the
 * privilege drop): it only reads the files.  tls_server_start() on
 * STARTTLS/STLS, or at once for implicit TLS (RFC 8314), builds the
 * OpenSSL context on first use, so sessions without TLS do no OpenSSL
 * work at all.  The handshake replaces io's rd/wr hooks
 * so everything after it is encrypted; bytes the client sent in
 * plaintext after the STARTTLS command are discarded first (the
 * CVE-2011-0411 command-injection class).
 *
 * Configuration keys: tls_cert, tls_key (PEM; the cert file may hold the
 * chain), tls_min_version (TLSv1.2 default), tls_ciphers (TLS 1.2
 * list), tls_ticket_key (a file of 80 random bytes shared by all
 * processes of an instance so that session tickets resume across the
 * one-process-per-connection model; created by tern-start if missing).
 *
 * Returns: 1 ok, 0 TLS not configured (no cert), -1 error with a reason
 * in err.
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stddef.h>
#include "util/io.h"

#define TLS_INFO_MAX 128

/* Read tls_cert, tls_key and tls_ticket_key into memory (no OpenSSL
 * work); errors in these files or in tls_min_version are reported here. */
int tls_server_init(char *err, size_t errsz);
/* 1 if tls_server_init() read a certificate and no context build has
 * failed since: STARTTLS may be offered */
int tls_server_ready(void);
/* Build the server context now if not yet done (tls_server_start does
 * it by itself): for replying "TLS not available" before agreeing to
 * STARTTLS, and for checking the configuration at start-up (a bad
 * tls_ciphers, a key that does not match the certificate).  The key
 * bytes are wiped afterwards, so a failure is final for the process.
 * 1 ok, 0 not configured, -1 error (err). */
int tls_server_prepare(char *err, size_t errsz);
/* Handshake as server on io (discards buffered plaintext first). */
int tls_server_start(struct io *io, char *err, size_t errsz);
/* Client side (tern-remote): handshake as client on io; servername for
 * SNI and, when verify is 1, certificate and host name verification. */
int tls_client_start(struct io *io, const char *servername, int verify,
    char *err, size_t errsz);
/* Client: trust the CA certificates of the PEM file path too (besides
 * the system store), for tls=verify with a private CA.  1 or -1 (err). */
int tls_client_cafile(const char *path, char *err, size_t errsz);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384 256" for Received and logs, or "" */
const char *tls_info(const struct io *io);
/* 1 if io runs over TLS */
int tls_active(const struct io *io);
/* Send close_notify (best effort) and free the TLS state of io. */
void tls_end(struct io *io);

/* Additions (TLS/auth helper). */

struct buf;
/* 1 if the handshake of io resumed a session (ticket), else 0 */
int tls_session_reused(const struct io *io);
/* Client: the newest resumable session of io as DER bytes into out
 * (replaced).  With TLS 1.3 the server's ticket comes after the
 * handshake, so call this after reading some data.  1 ok, 0 none yet,
 * -1 error.  The bytes are secret (they hold the resumption key). */
int tls_client_session_save(const struct io *io, struct buf *out);
/* Client: offer this session (DER from tls_client_session_save, maybe
 * of another process) on the next tls_client_start() of this process,
 * which consumes it.  1 ok, 0 malformed. */
int tls_client_session_load(const void *der, size_t n);

#endif
