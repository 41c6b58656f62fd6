/*
 * tls_client: the client side of lib/net/tls, for tern-remote (STARTTLS to
 * other MTAs, RFC 3207) and the tests.
 *
 * One client SSL_CTX per process, made on first use: TLS 1.2 or newer,
 * OpenSSL's default ciphers, the system CA store.  With verify = 1 the
 * peer's chain must verify and its name must match servername (DNS name,
 * RFC 6125; an IP address literal is checked against the IP SANs);
 * with verify = 0 (opportunistic TLS, RFC 7435) anything is accepted.
 *
 * Session resumption: the newest resumable session of a connection is
 * kept (new-session callback; with TLS 1.3 it arrives after the
 * handshake, with the first data read).  tls_client_session_save() hands
 * it out as DER bytes and tls_client_session_load() offers it on the
 * next tls_client_start() of the process, so a caller may keep sessions
 * in memory or in a file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util/buf.h"
#include "util/io.h"
#include "net/tls.h"
#include "net/tls_int.h"

#define TLS_SNI_MAX 255

static SSL_CTX *cli_ctx;
static SSL_SESSION *next_sess;    /* offered by the next client start */

/* Keep the newest resumable session in the connection's tls_conn.
 * Returning 1 means we took the reference. */
static int
tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	if (c == NULL || SSL_SESSION_is_resumable(sess) != 1)
		return 0;
	if (c->sess)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;
}

static int
tls_client_ctx(char *err, size_t errsz)
{
	SSL_CTX *ctx;

	if (cli_ctx)
		return 1;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		tls_error(err, errsz, "SSL_CTX_new");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_error(err, errsz, "TLS client setup");
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* sessions are kept by the callback only, never in the context */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	cli_ctx = ctx;
	return 1;
}

/* SNI (RFC 6066 section 3: a DNS name without the trailing dot, never
 * an address literal) and the name to verify.  1 or -1. */
static int
tls_client_names(SSL *ssl, const char *name, int verify)
{
	unsigned char a[16];
	char host[TLS_SNI_MAX + 1];
	size_t n;

	if (name == NULL || name[0] == '\0')
		return 1;
	n = strlen(name);
	if (n > 2 && name[0] == '[' && name[n - 1] == ']') {
		name++;
		n -= 2;
	}
	if (n > TLS_SNI_MAX)
		return -1;
	memcpy(host, name, n);
	host[n] = '\0';
	if (n > 1 && host[n - 1] == '.')
		host[--n] = '\0';
	if (inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1)
		return !verify || X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(ssl), host) == 1 ? 1 : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return !verify || SSL_set1_host(ssl, host) == 1 ? 1 : -1;
}

/*
 * Handshake as client on io.  servername (may be NULL) gives SNI and,
 * with verify = 1, the name the certificate must carry; verify = 1 also
 * requires a chain to the system CA store.  Buffered input of io is
 * dropped like on the server side (a server must not answer ahead of
 * the handshake).  1 ok, -1 error with err set.
 */
int
tls_client_start(struct io *io, const char *servername, int verify,
    char *err, size_t errsz)
{
	SSL *ssl;

	if (tls_active(io)) {
		snprintf(err, errsz, "TLS is already on");
		errno = EISCONN;
		return -1;
	}
	ERR_clear_error();
	if (tls_client_ctx(err, errsz) < 0)
		return -1;
	if (io->wlen && io_flush(io) < 0) {
		snprintf(err, errsz, "TLS: write: %s", strerror(errno));
		return -1;
	}
	io->rpos = io->rlen = 0;
	ssl = SSL_new(cli_ctx);
	if (ssl == NULL || SSL_set_rfd(ssl, io->rfd) != 1 ||
	    SSL_set_wfd(ssl, io->wfd) != 1) {
		tls_error(err, errsz, "SSL_new");
		SSL_free(ssl);
		errno = ENOMEM;
		return -1;
	}
	if (tls_client_names(ssl, servername, verify) < 0) {
		tls_error(err, errsz, "TLS server name");
		SSL_free(ssl);
		errno = EINVAL;
		return -1;
	}
	SSL_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (next_sess) {
		/* a session from another context or expired is just not
		 * resumed: the handshake is a full one */
		(void)SSL_set_session(ssl, next_sess);
		SSL_SESSION_free(next_sess);
		next_sess = NULL;
	}
	SSL_set_connect_state(ssl);
	return tls_conn_start(io, ssl, err, errsz);
}

int
tls_client_cafile(const char *path, char *err, size_t errsz)
{
	if (tls_client_ctx(err, errsz) < 0)
		return -1;
	if (SSL_CTX_load_verify_locations(cli_ctx, path, NULL) != 1) {
		tls_error(err, errsz, "CA file");
		return -1;
	}
	return 1;
}

int
tls_client_session_save(const struct io *io, struct buf *out)
{
	const struct tls_conn *c = tls_conn_of(io);
	unsigned char *p;
	int n;

	if (c == NULL || c->sess == NULL)
		return 0;
	n = i2d_SSL_SESSION(c->sess, NULL);
	if (n <= 0)
		return 0;
	if (buf_ready(out, (size_t)n) < 0)
		return -1;
	buf_reset(out);
	p = (unsigned char *)out->s;
	if (i2d_SSL_SESSION(c->sess, &p) != n) {
		errno = EINVAL;
		return -1;
	}
	out->len = (size_t)n;
	out->s[n] = '\0';
	return 1;
}

int
tls_client_session_load(const void *der, size_t n)
{
	const unsigned char *p = der;
	SSL_SESSION *s;

	if (n == 0 || n > 65536)
		return 0;
	s = d2i_SSL_SESSION(NULL, &p, (long)n);
	ERR_clear_error();
	if (s == NULL)
		return 0;
	if (next_sess)
		SSL_SESSION_free(next_sess);
	next_sess = s;
	return 1;
}
