/*
 * test_auth: lib/b64.c and lib/lookup/auth.c.  Base64 against the RFC 4648
 * section 10 vectors and malformed inputs; SASL PLAIN (RFC 4616)
 * messages; auth_check against a temporary users map (map_compile) with
 * yescrypt and SHA-512 hashes made here by crypt_r: right and wrong
 * passwords, unknown and disabled users, case, bare user names.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "daemon/cfg.h"
#include "lookup/auth.h"
#include "lookup/local.h"
#include "lookup/map.h"
#include "t.h"

static char dir[64];
static char err[4096];

static const char *
path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static int
write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(name);
		return 0;
	}
	return 1;
}

static void
t_b64_vectors(void)
{
	static const char *const v[][2] = {   /* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		buf_reset(&b);
		T_EQ_INT(b64_encode(v[i][0], strlen(v[i][0]), &b), 1);
		T_EQ_STR(buf_str(&b), v[i][1]);
		T_EQ_INT(b64_decode(v[i][1], strlen(v[i][1]), &b), 1);
		T_EQ_MEM(b.s, b.len, v[i][0], strlen(v[i][0]));
	}
	/* all byte values, both alphabets' ends, and encode appends */
	buf_copys(&b, "> ");
	T_EQ_INT(b64_encode("\0\xff\xfe\x3e\x3f", 5, &b), 1);
	T_EQ_STR(buf_str(&b), "> AP/+Pj8=");
	T_EQ_INT(b64_decode("AP/+Pj8=", 8, &b), 1);
	T_EQ_MEM(b.s, b.len, "\0\xff\xfe\x3e\x3f", 5);
	/* the RFC 4616 example message */
	T_EQ_INT(b64_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &b), 1);
	T_EQ_MEM(b.s, b.len, "\0tim\0tanstaaftanstaaf", 21);
	buf_free(&b);
}

static void
t_b64_malformed(void)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm=v",
		"Zm9v\r\n", " Zm9v", "Zm9 v", "Zm9v=", "Zh==", "Zm9=",
		"Zm-_", "Zm9*", "=Zm9",
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!T_EQ_INT(b64_decode(bad[i], strlen(bad[i]), &b), 0))
			printf("  input \"%s\"\n", bad[i]);
	/* an embedded NUL is not in the alphabet */
	T_EQ_INT(b64_decode("Zm\0v", 4, &b), 0);
	T_EQ_INT(b.len, 0);
	buf_free(&b);
}

static int
plain(const char *msg, size_t n, const char *z, const char *u,
    const char *p)
{
	struct buf bz = BUF_INIT, bu = BUF_INIT, bp = BUF_INIT;
	int r = sasl_plain(msg, n, &bz, &bu, &bp);

	if (r == 1) {
		T_EQ_STR(buf_str(&bz), z);
		T_EQ_STR(buf_str(&bu), u);
		T_EQ_STR(buf_str(&bp), p);
	}
	buf_free(&bz);
	buf_free(&bu);
	buf_free(&bp);
	return r;
}

/* sasl_plain's return only */
static int
plain_len(const char *msg, size_t n)
{
	struct buf bz = BUF_INIT, bu = BUF_INIT, bp = BUF_INIT;
	int r = sasl_plain(msg, n, &bz, &bu, &bp);

	buf_free(&bz);
	buf_free(&bu);
	buf_free(&bp);
	return r;
}

static void
t_sasl_plain(void)
{
	static char big[AUTH_PASS_MAX + 16];

	T_EQ_INT(plain("\0tim\0tanstaaftanstaaf", 21, "", "tim",
	    "tanstaaftanstaaf"), 1);
	T_EQ_INT(plain("tim\0tim\0pw", 10, "tim", "tim", "pw"), 1);
	/* authzid other than authcid: no proxy authorisation */
	T_EQ_INT(plain("Ursel\0Kurt\0xipj3plmq", 20, "", "", ""), 0);
	T_EQ_INT(plain("", 0, "", "", ""), 0);
	T_EQ_INT(plain("\0\0", 2, "", "", ""), 0);
	T_EQ_INT(plain("\0tim\0", 5, "", "", ""), 0);        /* no password */
	T_EQ_INT(plain("\0\0pw", 4, "", "", ""), 0);          /* no user */
	T_EQ_INT(plain("\0tim", 4, "", "", ""), 0);           /* one NUL */
	T_EQ_INT(plain("tim", 3, "", "", ""), 0);
	T_EQ_INT(plain("\0tim\0pw\0x", 9, "", "", ""), 0);    /* three */
	/* limits: AUTH_PASS_MAX bytes pass, one more does not */
	big[0] = '\0';
	memcpy(big + 1, "u\0", 2);
	memset(big + 3, 'p', AUTH_PASS_MAX + 1);
	T_EQ_INT(plain_len(big, 3 + AUTH_PASS_MAX), 1);
	T_EQ_INT(plain_len(big, 4 + AUTH_PASS_MAX), 0);
	big[0] = '\0';
	memset(big + 1, 'u', AUTH_USER_MAX + 1);
	memcpy(big + AUTH_USER_MAX + 2, "\0pw", 3);
	T_EQ_INT(plain_len(big, AUTH_USER_MAX + 5), 0);
	big[1] = '\0';
	T_EQ_INT(plain_len(big + 1, AUTH_USER_MAX + 4), 1);
	/* an authzid of AUTH_USER_MAX + 1 bytes */
	memset(big, 'u', AUTH_USER_MAX + 1);
	memcpy(big + AUTH_USER_MAX + 1, "\0u\0pw", 5);
	T_EQ_INT(plain_len(big, AUTH_USER_MAX + 6), 0);
}

static char *
hash(const char *prefix, const char *pw)
{
	static struct crypt_data cd;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;

	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt) == NULL)
		return NULL;
	h = crypt_r(pw, salt, &cd);
	return h && h[0] != '*' ? strdup(h) : NULL;
}

static int
check(struct local_maps *lm, const char *user, const char *pass,
    const char *canon_want)
{
	struct buf canon = BUF_INIT;
	int r = auth_check(lm, user, pass, &canon);

	if (r == 1)
		T_EQ_STR(buf_str(&canon), canon_want);
	buf_free(&canon);
	return r;
}

static void
t_auth(struct local_maps *lm)
{
	static char longuser[AUTH_USER_MAX + 8], longpw[AUTH_PASS_MAX + 8];

	T_EQ_INT(check(lm, "alice@example.test", "alice-pw",
	    "alice@example.test"), 1);
	T_EQ_INT(check(lm, "alice@example.test", "wrong", ""), 0);
	T_EQ_INT(check(lm, "alice@example.test", "alice-pw ", ""), 0);
	T_EQ_INT(check(lm, "alice@example.test", "", ""), 0);
	/* the domain's case does not matter, nor the local part's (the
	 * users map is keyed in lower case) */
	T_EQ_INT(check(lm, "alice@EXAMPLE.Test", "alice-pw",
	    "alice@example.test"), 1);
	T_EQ_INT(check(lm, "Alice@example.test.", "alice-pw",
	    "alice@example.test"), 1);
	/* a bare name is in the first local domain */
	T_EQ_INT(check(lm, "alice", "alice-pw", "alice@example.test"), 1);
	T_EQ_INT(check(lm, "bob@example.test", "bob-pw",
	    "bob@example.test"), 1);
	T_EQ_INT(check(lm, "bob@example.test", "alice-pw", ""), 0);
	/* unknown, disabled, malformed */
	T_EQ_INT(check(lm, "nobody@example.test", "alice-pw", ""), 0);
	T_EQ_INT(check(lm, "carol@example.test", "carol-pw", ""), 0);
	T_EQ_INT(check(lm, "dave@example.test", "dave-pw", ""), 0);
	T_EQ_INT(check(lm, "eve@example.test", "", ""), 0);
	T_EQ_INT(check(lm, "alice@@example.test", "alice-pw", ""), 0);
	T_EQ_INT(check(lm, "", "alice-pw", ""), 0);
	/* bounds */
	memset(longuser, 'a', AUTH_USER_MAX + 1);
	T_EQ_INT(check(lm, longuser, "alice-pw", ""), 0);
	memset(longpw, 'p', AUTH_PASS_MAX + 1);
	T_EQ_INT(check(lm, "alice@example.test", longpw, ""), 0);
}

/* sasl_response: the one reader of SASL client responses (smtpd,
 * pop3d, later imapd) */
static void
test_sasl_response(void)
{
	struct buf out = BUF_INIT;

	T_EQ_INT(sasl_response("*", 1, 0, &out), SASL_RESP_CANCEL);
	T_EQ_INT(sasl_response("*", 1, 1, &out), SASL_RESP_CANCEL);
	T_EQ_INT(sasl_response("=", 1, 1, &out), SASL_RESP_OK);
	T_EQ_INT(out.len, 0);
	/* "=" is the empty initial response only (RFC 4954 4) */
	T_EQ_INT(sasl_response("=", 1, 0, &out), SASL_RESP_BAD);
	T_EQ_INT(sasl_response("", 0, 0, &out), SASL_RESP_OK);
	T_EQ_INT(out.len, 0);
	T_EQ_INT(sasl_response("AGEAYg==", 8, 0, &out), SASL_RESP_OK);
	T_EQ_MEM(out.s, out.len, "\0a\0b", 4);
	T_EQ_INT(sasl_response("AGEAYg=", 7, 1, &out), SASL_RESP_BAD);
	T_EQ_INT(sasl_response("**", 2, 0, &out), SASL_RESP_BAD);
	buf_wipe(&out);
	T_CHECK(out.s == NULL && out.len == 0 && out.cap == 0);
	buf_wipe(&out);  /* twice: harmless */
}

int
main(void)
{
	struct local_maps lm;
	char users[2048], cmd[128];
	char *ha = hash("$y$", "alice-pw"), *hb = hash("$6$", "bob-pw");
	char *hc = hash("$y$", "carol-pw"), *hd = hash("$6$", "dave-pw");

	test_sasl_response();
	size_t count;

	t_b64_vectors();
	t_b64_malformed();
	t_sasl_plain();
	if (!T_CHECK(ha && hb && hc && hd))
		T_DONE();
	snprintf(dir, sizeof dir, "/tmp/tern-test-auth.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* carol is locked the shadow(5) way, dave disabled with "*" */
	snprintf(users, sizeof users,
	    "alice@example.test %s\n"
	    "bob@example.test %s /srv/bob 10M\n"
	    "carol@example.test !%s\n"
	    "dave@example.test *\n"
	    "eve@example.test !\n", ha, hb, hc);
	if (!T_CHECK(write_file("tern.conf",
	    "local_domains = example.test, other.test\n")) ||
	    !T_CHECK(cfg_load(dir, err, sizeof err) == 1) ||
	    !T_CHECK(write_file("users", users)) ||
	    !T_EQ_INT(map_compile(path_of("users"), MAP_USERS, &count, err,
	    sizeof err), 1)) {
		printf("%s\n", err);
		T_DONE();
	}
	memset(&lm, 0, sizeof lm);
	if (!T_EQ_INT(local_open(&lm), 1))
		T_DONE();
	t_auth(&lm);
	local_close(&lm);
	free(ha);
	free(hb);
	free(hc);
	free(hd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", dir);
	T_DONE();
}
