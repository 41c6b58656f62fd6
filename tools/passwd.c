/*
 * tern-passwd: make a password hash for the users map, or check one.
 *
 *   tern-passwd [-m yescrypt|sha512] [PASSWORD]   print a new hash
 *   tern-passwd -c HASH                           check stdin's password
 *   tern-passwd --version
 *
 * -C DIR (and TERN_CONFDIR) are accepted like in every program (SPEC 3);
 * a hash depends on no setting, so tern.conf is not read and a broken one
 * cannot stop an admin from making a password.
 * Hashing is libcrypt's (crypt_r, salts from crypt_gensalt_rn, which
 * draws on the kernel's random source).  A password is read from stdin
 * when not given: one line; on a terminal without echo and twice.
 * Exit: 0 ok (or match), 1 no match, 100 usage, 111 system error.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"

#define PW_MAX (CRYPT_MAX_PASSPHRASE_SIZE - 1)

static const char *prog = "tern-passwd";

static void __attribute__((noreturn))
die(int code, const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-C DIR] [-m yescrypt|sha512] [PASSWORD]\n"
	    "       %s [-C DIR] -c HASH < password\n"
	    "       %s --version\n", prog, prog, prog);
	exit(100);
}

/* Read one line from fd 0 into pw (size PW_MAX + 1) byte by byte, so
 * nothing past the line is consumed.  1 ok, 0 EOF before any byte,
 * -1 error (EMSGSIZE: too long). */
static int
read_line(char *pw)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		r = read(0, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || c == '\n')
			break;
		if (n >= PW_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		pw[n++] = c;
	}
	if (r == 0 && n == 0)
		return 0;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	return 1;
}

/* Prompt on the terminal at fd 0 with echo off. */
static int
read_tty(const char *prompt, char *pw)
{
	struct termios old, quiet;
	int r, saved;

	if (tcgetattr(0, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(0, TCSAFLUSH, &quiet) < 0)
		return -1;
	r = read_line(pw);
	saved = errno;
	(void)tcsetattr(0, TCSAFLUSH, &old);
	errno = saved;
	return r;
}

/* The password into pw: from a terminal (twice when confirm), else one
 * line of stdin. */
static void
get_password(char *pw, int confirm)
{
	static char again[PW_MAX + 1];
	int tty = isatty(0), r;

	r = tty ? read_tty("Password: ", pw) : read_line(pw);
	if (r < 0 && errno == EMSGSIZE)
		die(100, "password too long");
	if (r < 0)
		die(111, strerror(errno));
	if (r == 0)
		die(100, "no password on standard input");
	if (!tty || !confirm)
		return;
	r = read_tty("Again: ", again);
	if (r < 0) {
		explicit_bzero(again, sizeof again);
		die(111, strerror(errno));
	}
	if (r == 0 || strcmp(pw, again) != 0) {
		explicit_bzero(again, sizeof again);
		die(100, "the passwords do not match");
	}
	explicit_bzero(again, sizeof again);
}

/* Compare without leaking where the first difference is. */
static int
same(const char *a, const char *b)
{
	size_t n = strlen(a), i;
	unsigned char d = 0;

	if (n != strlen(b))
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int
check(const char *hash, char *pw, struct crypt_data *cd)
{
	const char *h;

	get_password(pw, 0);
	if (pw[0] == '\0' || hash[0] != '$') {
		explicit_bzero(pw, PW_MAX + 1);
		return 1;  /* "*", "!..." or empty: no login, never a match */
	}
	h = crypt_r(pw, hash, cd);
	explicit_bzero(pw, PW_MAX + 1);
	if (h == NULL || h[0] == '*')
		die(111, "cannot hash with that setting (unsupported method?)");
	return same(h, hash) ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static char pw[PW_MAX + 1];
	static struct crypt_data cd;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *prefix = "$y$", *chk = NULL, *h;
	int c;

	(void)cfg_take_dir(&argc, argv);  /* accepted, not needed */
	if (startup_want_version(argc, argv))
		startup_version("tern-passwd");
	while ((c = getopt(argc, argv, "c:m:")) != -1) {
		if (c == 'c')
			chk = optarg;
		else if (c == 'm' && strcmp(optarg, "yescrypt") == 0)
			prefix = "$y$";
		else if (c == 'm' && strcmp(optarg, "sha512") == 0)
			prefix = "$6$";
		else
			usage();
	}
	if (chk)
		return optind == argc ? check(chk, pw, &cd) : (usage(), 100);
	if (argc - optind > 1)
		usage();
	if (optind < argc) {
		if (str_copy(pw, argv[optind], sizeof pw) >= sizeof pw)
			die(100, "password too long");
		explicit_bzero(argv[optind], strlen(argv[optind]));
	} else
		get_password(pw, 1);
	if (pw[0] == '\0')
		die(100, "empty password");
	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt) == NULL)
		die(111, "cannot make a salt (no random source?)");
	h = crypt_r(pw, salt, &cd);
	explicit_bzero(pw, sizeof pw);
	if (h == NULL || h[0] == '*')
		die(111, "hashing failed");
	if (printf("%s\n", h) < 0 || fflush(stdout) == EOF)
		die(111, "cannot write the hash");
	return 0;
}
