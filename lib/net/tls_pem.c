/*
 * tls_pem: the server's certificate chain and key, read from their files
 * into memory before the privilege drop (tls_server_init) and turned
 * into an SSL_CTX's certificate and key later, without file access
 * (tls_server_prepare).  The bytes are wiped when freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "util/fsutil.h"
#include "net/tls_int.h"

#define PEM_MAX (1024 * 1024)   /* bound of the tls_cert and tls_key files */

void
tls_pem_free(struct tls_pem *pm)
{
	if (pm->p != NULL) {
		OPENSSL_cleanse(pm->p, pm->n);
		free(pm->p);
	}
	pm->p = NULL;
	pm->n = 0;
}

int
tls_pem_read(struct tls_pem *pm, const char *key, const char *path, char *err,
    size_t errsz)
{
	const char *why = NULL;
	int r;

	snprintf(pm->what, sizeof pm->what, "%s %s", key, path);
	r = fs_read_file(path, PEM_MAX, &pm->p, &pm->n);
	if (r <= 0) {
		pm->p = NULL;
		snprintf(err, errsz, "%s: %s", pm->what, r == 0 ?
		    strerror(ENOENT) : errno == EFBIG ? "larger than 1 MiB" :
		    strerror(errno));
		return -1;
	}
	if (pm->n == 0)
		why = "empty file";
	else if (memmem(pm->p, pm->n, "-----BEGIN ", 11) == NULL)
		why = "no PEM data";
	if (why != NULL) {
		snprintf(err, errsz, "%s: %s", pm->what, why);
		tls_pem_free(pm);
		return -1;
	}
	return 1;
}

/* For an encrypted key: there is no one to ask (fail, never prompt). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The certificate chain from cert: the leaf, then the CA certificates
 * (as SSL_CTX_use_certificate_chain_file).  1 or -1 (err set). */
static int
use_chain(SSL_CTX *ctx, const struct tls_pem *cert, char *err,
    size_t errsz)
{
	BIO *b = BIO_new_mem_buf(cert->p, (int)cert->n);
	unsigned long e;
	X509 *x;
	int ok = 0;

	if (b == NULL)
		goto out;
	x = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
	if (x == NULL)
		goto out;
	ok = SSL_CTX_use_certificate(ctx, x);
	X509_free(x);
	while (ok == 1 &&
	    (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL)
		if ((ok = (int)SSL_CTX_add0_chain_cert(ctx, x)) != 1)
			X509_free(x);
	/* the end of the PEM data is "no start line": not an error */
	e = ERR_peek_last_error();
	if (ok == 1 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	else
		ok = 0;
out:
	BIO_free(b);
	if (ok != 1) {
		tls_error(err, errsz, cert->what);
		return -1;
	}
	return 1;
}

int
tls_pem_use(SSL_CTX *ctx, const struct tls_pem *cert,
    const struct tls_pem *key, char *err, size_t errsz)
{
	EVP_PKEY *k = NULL;
	BIO *b;
	int ok;

	if (use_chain(ctx, cert, err, errsz) < 0)
		return -1;
	b = BIO_new_mem_buf(key->p, (int)key->n);
	if (b != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1;
	EVP_PKEY_free(k);
	if (!ok) {
		tls_error(err, errsz, key->what);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errsz, "tls_key does not match tls_cert");
		return -1;
	}
	return 1;
}

