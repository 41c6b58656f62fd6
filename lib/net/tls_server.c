/*
 * tls_server: the server side of lib/net/tls: one SSL_CTX per process.
 *
 * Lazy set-up: tls_server_init() runs before the privilege drop and only
 * reads the certificate chain, the key and the ticket key into memory
 * (bounded, no OpenSSL call), so that a session that never says
 * STARTTLS/STLS pays nothing for TLS: building an OpenSSL 3 context
 * (provider fetches, PEM and key decoding) costs far more than the rest
 * of such a session.  The SSL_CTX is built from those bytes on the first
 * tls_server_start() (or tls_server_prepare()), after the privilege drop
 * and without file access; the key bytes are wiped then.
 *
 * Policy: TLS 1.2 or 1.3 only (tls_min_version); for TLS 1.2 forward
 * secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305,
 * unless tls_ciphers says otherwise), TLS 1.3 suites as OpenSSL ships
 * them; the server's order wins; groups X25519, P-256, P-384; no
 * compression (CRIME), no renegotiation.
 *
 * Session resumption across the process-per-connection model: stateless
 * tickets (RFC 5077, RFC 8446 4.6.1) encrypted with the key in the
 * tls_ticket_key file (80 bytes: 16 name, 32 HMAC-SHA256 key, 32
 * AES-256-CBC key), the same in every process of the instance.  Without
 * that file OpenSSL's random per-process key is used, so tickets only
 * resume within one process, which in practice means never.  Rotating
 * the file (tern-start creates it when missing) invalidates all tickets:
 * clients then fall back to a full handshake.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "util/io.h"
#include "daemon/cfg.h"
#include "net/tls.h"
#include "net/tls_int.h"

#define TLS_DEFAULT_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"
#define TLS_GROUPS "X25519:P-256:P-384"
#define TICKET_KEY_LEN 80
#define TICKET_NAME_LEN 16
enum { SRV_OFF, SRV_READ, SRV_BUILT, SRV_FAILED };

static int srv_state;           /* SRV_* */
static SSL_CTX *srv_ctx;        /* SRV_BUILT */
static struct tls_pem srv_cert, srv_key;  /* SRV_READ */
static char srv_err[512];       /* SRV_FAILED: why */
static int have_ticket_key;
static unsigned char ticket_name[TICKET_NAME_LEN];
static unsigned char ticket_hmac[32];
static unsigned char ticket_aes[32];

/*
 * SSL_CTX_set_tlsext_ticket_key_evp_cb: enc 1 fills the name and IV and
 * keys both contexts for a new ticket; enc 0 looks the name up: 0 not
 * ours (full handshake), 2 ok and issue a fresh ticket.  -1 is an
 * internal error.  The fresh ticket matters for TLS 1.3, where OpenSSL
 * sends none after a resumption otherwise: each ticket is then used
 * once (RFC 8446 C.4) and the client always holds a valid one.
 */
static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[3];

	(void)ssl;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    ticket_hmac, sizeof ticket_hmac);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (enc) {
		memcpy(name, ticket_name, TICKET_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(
		    EVP_aes_256_cbc())) != 1)
			return -1;
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
		    ticket_aes, iv) != 1 ||
		    EVP_MAC_CTX_set_params(hctx, params) != 1)
			return -1;
		return 1;
	}
	if (CRYPTO_memcmp(name, ticket_name, TICKET_NAME_LEN) != 0)
		return 0;
	if (EVP_MAC_CTX_set_params(hctx, params) != 1 ||
	    EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, ticket_aes,
	    iv) != 1)
		return -1;
	return 2;
}

/* Read the 80-byte ticket key file.  1 or -1 (err set). */
static int
ticket_key_load(const char *path, char *err, size_t errsz)
{
	unsigned char k[TICKET_KEY_LEN + 1];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errsz, "tls_ticket_key %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "tls_ticket_key %s: not a regular file",
		    path);
		close(fd);
		return -1;
	}
	n = fd_read_full(fd, k, sizeof k);
	close(fd);
	if (n != TICKET_KEY_LEN) {
		snprintf(err, errsz, "tls_ticket_key %s: must hold exactly "
		    "%d bytes", path, TICKET_KEY_LEN);
		OPENSSL_cleanse(k, sizeof k);
		return -1;
	}
	memcpy(ticket_name, k, TICKET_NAME_LEN);
	memcpy(ticket_hmac, k + 16, sizeof ticket_hmac);
	memcpy(ticket_aes, k + 48, sizeof ticket_aes);
	OPENSSL_cleanse(k, sizeof k);
	have_ticket_key = 1;
	return 1;
}

/* tls_min_version: "TLSv1.2" or "TLSv1.3" (any case).  1 or -1. */
static int
tls_min_version(const char *v, int *ver_r, char *err, size_t errsz)
{
	if (strcasecmp(v, "TLSv1.2") == 0)
		*ver_r = TLS1_2_VERSION;
	else if (strcasecmp(v, "TLSv1.3") == 0)
		*ver_r = TLS1_3_VERSION;
	else {
		snprintf(err, errsz, "tls_min_version: \"%s\" is neither "
		    "TLSv1.2 nor TLSv1.3", v);
		return -1;
	}
	return 1;
}

/* Protocol and cipher policy of ctx.  1 or -1 (err set). */
static int
tls_policy(SSL_CTX *ctx, char *err, size_t errsz)
{
	const char *ciphers = cfg_str(tls_ciphers);
	int ver;

	if (tls_min_version(cfg_str(tls_min_version), &ver, err,
	    errsz) < 0)
		return -1;
	if (SSL_CTX_set_min_proto_version(ctx, ver) != 1) {
		tls_error(err, errsz, "tls_min_version");
		return -1;
	}
	if (ciphers[0] == '\0')
		ciphers = TLS_DEFAULT_CIPHERS;
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_error(err, errsz, "tls_ciphers");
		return -1;
	}
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		tls_error(err, errsz, "TLS groups");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	return 1;
}

/* Back to SRV_OFF: context, PEM bytes and ticket key gone. */
static void
server_reset(void)
{
	SSL_CTX_free(srv_ctx);
	srv_ctx = NULL;
	tls_pem_free(&srv_cert);
	tls_pem_free(&srv_key);
	OPENSSL_cleanse(ticket_name, sizeof ticket_name);
	OPENSSL_cleanse(ticket_hmac, sizeof ticket_hmac);
	OPENSSL_cleanse(ticket_aes, sizeof ticket_aes);
	have_ticket_key = 0;
	srv_err[0] = '\0';
	srv_state = SRV_OFF;
}

/*
 * Read what the server context needs from tern.conf.  1 ready, 0
 * tls_cert empty (no TLS: do not offer STARTTLS), -1 error (err says
 * which key and why).  Call again to reload (a failed reload keeps
 * nothing).
 */
int
tls_server_init(char *err, size_t errsz)
{
	const char *cert = cfg_str(tls_cert), *key = cfg_str(tls_key);
	const char *tk = cfg_str(tls_ticket_key);
	int ver;

	server_reset();
	if (cert[0] == '\0')
		return 0;
	if (key[0] == '\0')
		key = cert;
	if (tls_min_version(cfg_str(tls_min_version), &ver, err,
	    errsz) < 0 ||
	    tls_pem_read(&srv_cert, "tls_cert", cert, err, errsz) < 0 ||
	    tls_pem_read(&srv_key, "tls_key", key, err, errsz) < 0 ||
	    (tk[0] != '\0' && ticket_key_load(tk, err, errsz) < 0)) {
		server_reset();
		return -1;
	}
	srv_state = SRV_READ;
	return 1;
}

/* Build srv_ctx from the bytes read by tls_server_init.  1 or -1. */
static int
server_build(char *err, size_t errsz)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_error(err, errsz, "SSL_CTX_new");
		return -1;
	}
	if (tls_policy(ctx, err, errsz) < 0 || tls_pem_use(ctx, &srv_cert, &srv_key, err,
	    errsz) < 0)
		goto fail;
	if (have_ticket_key &&
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1) {
		tls_error(err, errsz, "tls_ticket_key");
		goto fail;
	}
	/* one process per connection: the internal cache is of no use */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"tern",
	    4) != 1) {
		tls_error(err, errsz, "SSL_CTX_set_session_id_context");
		goto fail;
	}
	srv_ctx = ctx;
	return 1;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

/*
 * The context is built once; the PEM bytes (the key among them) are
 * wiped whether that worked or not, so a failure is final for the
 * process and every later call repeats its reason.
 */
int
tls_server_prepare(char *err, size_t errsz)
{
	switch (srv_state) {
	case SRV_BUILT:
		return 1;
	case SRV_OFF:
		snprintf(err, errsz, "TLS is not configured");
		return 0;
	case SRV_FAILED:
		snprintf(err, errsz, "%s", srv_err);
		return -1;
	}
	if (server_build(srv_err, sizeof srv_err) < 0) {
		srv_state = SRV_FAILED;
		OPENSSL_cleanse(ticket_hmac, sizeof ticket_hmac);
		OPENSSL_cleanse(ticket_aes, sizeof ticket_aes);
	} else
		srv_state = SRV_BUILT;
	tls_pem_free(&srv_cert);
	tls_pem_free(&srv_key);
	return tls_server_prepare(err, errsz);
}

int
tls_server_ready(void)
{
	return srv_state == SRV_READ || srv_state == SRV_BUILT;
}

/*
 * RFC 3207 section 4.2 (and RFC 2595 3.1): whatever the client sent
 * after the STARTTLS command in plaintext is thrown away, so that it
 * cannot be taken as a command of the protected session.
 */
int
tls_server_start(struct io *io, char *err, size_t errsz)
{
	SSL *ssl;
	int r;

	r = tls_server_prepare(err, errsz);
	if (r <= 0) {
		errno = r == 0 ? ENOTSUP : EPROTO;
		return -1;
	}
	if (tls_active(io)) {
		snprintf(err, errsz, "TLS is already on");
		errno = EISCONN;
		return -1;
	}
	if (io->wlen && io_flush(io) < 0) {
		snprintf(err, errsz, "TLS: write: %s", strerror(errno));
		return -1;
	}
	io->rpos = io->rlen = 0;
	ERR_clear_error();
	ssl = SSL_new(srv_ctx);
	if (ssl == NULL || SSL_set_rfd(ssl, io->rfd) != 1 ||
	    SSL_set_wfd(ssl, io->wfd) != 1) {
		tls_error(err, errsz, "SSL_new");
		SSL_free(ssl);
		errno = ENOMEM;
		return -1;
	}
	SSL_set_accept_state(ssl);
	return tls_conn_start(io, ssl, err, errsz);
}
