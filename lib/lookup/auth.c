/*
 * auth: password checks against the users map, and SASL PLAIN decoding
 * (RFC 4616), for tern-smtpd, tern-pop3d and tern-imapd.
 *
 * Timing: every call that gets as far as a password costs one crypt_r,
 * whether the user exists, is disabled or has a malformed entry (a fixed
 * dummy yescrypt hash with the default cost of tern-passwd stands in),
 * and the final comparison is constant-time (CRYPTO_memcmp), so response
 * times do not tell which addresses have accounts.  A user entry with a
 * SHA-512 hash is faster than yescrypt; hash all accounts with one
 * method (tern-passwd default: yescrypt) to keep it that way.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "lookup/auth.h"
#include "lookup/local.h"
#include "lookup/map.h"

/* yescrypt of a throw-away password, default cost ("j9T") */
static const char auth_dummy_hash[] =
    "$y$j9T$S2fA3B/5dyuo2QOUUiZUy1$wXzCINQl02AAPKVfRboYuhwNZipqomhagNdN8OCBJR.";

/* 1 if hash can match a password: not empty, not "*..." or "!..."
 * (locked, as in shadow(5)). */
static int
auth_hash_usable(const char *hash)
{
	return hash[0] != '\0' && hash[0] != '*' && hash[0] != '!';
}

/* crypt_r(pass, hash) compared in constant time with hash.  1 match,
 * 0 no match, -1 ENOMEM. */
static int
auth_crypt(const char *pass, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	size_t n = strlen(hash);
	int ok;

	/* about 32 KiB: too big for a daemon's stack */
	cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		return -1;
	h = crypt_r(pass, hash, cd);
	/* libxcrypt returns NULL or a "*0"/"*1" failure token for an
	 * invalid or unsupported setting: never a match */
	ok = h != NULL && h[0] != '*' && strlen(h) == n &&
	    CRYPTO_memcmp(h, hash, n) == 0;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* The password hash of canonical address addr into hash_r: 1 found
 * (possibly unusable), 0 no such user, -1 map error. */
static int
auth_lookup(struct local_maps *lm, const char *addr, struct buf *hash_r)
{
	struct buf val = BUF_INIT;
	const char *hash, *maildir;
	unsigned long quota;
	int r;

	if (map_refresh(&lm->users) < 0)
		return -1;
	r = map_get(&lm->users, addr, strlen(addr), &val);
	if (r == 1) {
		/* a malformed entry counts as a disabled account */
		if (val.s == NULL ||
		    !map_user_parse(val.s, &hash, &maildir, &quota))
			hash = "*";
		if (buf_copys(hash_r, hash) < 0)
			r = -1;
	}
	buf_wipe(&val);
	return r;
}

int
auth_check(struct local_maps *lm, const char *user, const char *pass,
    struct buf *canon_r)
{
	struct buf canon = BUF_INIT, hash = BUF_INIT;
	int r, found = 0;

	if (strlen(user) > AUTH_USER_MAX || strlen(pass) > AUTH_PASS_MAX ||
	    pass[0] == '\0')
		return 0;
	/* the same name as a recipient: local_canon, lower-cased */
	r = local_canon(user, 1, &canon);
	if (r == 1) {
		r = auth_lookup(lm, canon.s, &hash);
		found = r == 1 && auth_hash_usable(hash.s);
	}
	if (r >= 0) {
		/* the same cost for unknown and disabled users */
		r = auth_crypt(pass, found ? hash.s : auth_dummy_hash);
		if (r == 1 && !found)
			r = 0;
	}
	if (r == 1 && buf_copy(canon_r, canon.s, canon.len) < 0)
		r = -1;
	buf_wipe(&hash);
	buf_free(&canon);
	return r;
}

/* The length of the NUL-free field starting at p, up to end. */
static size_t
sasl_field(const char *p, const char *end)
{
	const char *z = memchr(p, '\0', (size_t)(end - p));

	return z ? (size_t)(z - p) : (size_t)(end - p);
}

/*
 * RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
 * Exactly two NULs; authcid and passwd non-empty and within
 * AUTH_USER_MAX / AUTH_PASS_MAX.  A non-empty authzid must equal authcid
 * byte for byte: tern does not let one user act as another (RFC 4616
 * section 2 leaves the policy to the server), so anything else is 0.
 */
int
sasl_plain(const char *msg, size_t n, struct buf *authz, struct buf *user,
    struct buf *pass)
{
	const char *end = msg + n, *p = msg;
	size_t zl, ul, pl;

	zl = sasl_field(p, end);
	if (p + zl == end)
		return 0;
	p += zl + 1;
	ul = sasl_field(p, end);
	if (p + ul == end)
		return 0;
	p += ul + 1;
	pl = sasl_field(p, end);
	if (p + pl != end)
		return 0;    /* a third NUL */
	if (ul == 0 || pl == 0 || zl > AUTH_USER_MAX || ul > AUTH_USER_MAX ||
	    pl > AUTH_PASS_MAX)
		return 0;
	if (zl != 0 && (zl != ul || memcmp(msg, msg + zl + 1, zl) != 0))
		return 0;
	if (buf_copy(authz, msg, zl) < 0 ||
	    buf_copy(user, msg + zl + 1, ul) < 0 ||
	    buf_copy(pass, p, pl) < 0)
		return -1;
	return 1;
}

int
sasl_response(const char *line, size_t n, int initial, struct buf *out)
{
	buf_reset(out);
	if (n == 1 && line[0] == '*')
		return SASL_RESP_CANCEL;
	if (initial && n == 1 && line[0] == '=')
		return SASL_RESP_OK;
	return b64_decode(line, n, out);
}
