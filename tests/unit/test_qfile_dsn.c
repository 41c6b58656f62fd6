/*
 * test_qfile_dsn: the DSN and SMTPUTF8 envelope lines of mess/ID
 * (lib/queue/qfile.h: E, W, S, B, N, O): round trip, canonical output, and
 * the malformed cases that must make a file corrupt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/smtpparse.h"
#include "queue/qfile.h"
#include "t.h"

static int
parse(const char *s, struct qenv *e, char *err, size_t errsz)
{
	FILE *f = tmpfile();
	size_t n = strlen(s);
	int fd, r;

	if (f == NULL)
		return -2;
	fd = dup(fileno(f));
	fclose(f);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		return -2;
	r = qfile_read_env(fd, e, err, errsz);
	close(fd);
	return r;
}

static void
test_roundtrip(void)
{
	static const char in[] =
	    "V1\nT100\nU0\nFa@b.example\nEid+2B1\nWHDRS\nS\nB8BITMIME\n"
	    "Rx@y.example\nNdelay,success\nOrfc822;x@y.example\n"
	    "Rz@y.example\nIa\n\nbody\n";
	static const char want[] =
	    "V1\nT100\nU0\nFa@b.example\nEid+2B1\nWHDRS\nS\nB8BITMIME\n"
	    "Rx@y.example\nNSUCCESS,DELAY\nOrfc822;x@y.example\n"
	    "Rz@y.example\nIa\n\n";
	struct buf out = BUF_INIT;
	struct qenv e;
	char err[128];

	if (!T_EQ_INT(parse(in, &e, err, sizeof err), 1)) {
		printf("  %s\n", err);
		return;
	}
	T_EQ_STR(e.envid, "id+2B1");
	T_EQ_INT(e.ret, 'H');
	T_EQ_INT(e.smtputf8, 1);
	T_EQ_INT(e.body8, 1);
	T_EQ_INT(e.nrcpt, 2);
	T_EQ_INT(e.rcpt[0].notify, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY);
	T_EQ_STR(e.rcpt[0].orcpt, "rfc822;x@y.example");
	T_EQ_INT(e.rcpt[1].notify, 0);
	T_CHECK(e.rcpt[1].orcpt == NULL);
	T_EQ_INT(qfile_format_env(&out, &e), 1);
	T_EQ_STR(buf_str(&out), want);
	buf_free(&out);
	qenv_free(&e);
}

static void
test_plain(void)
{
	/* without the new lines the output is what it always was */
	static const char in[] = "V1\nT5\nU1\nF\nRr@x\n\n";
	struct buf out = BUF_INIT;
	struct qenv e;
	char err[128];

	T_EQ_INT(parse(in, &e, err, sizeof err), 1);
	T_CHECK(e.envid == NULL && e.ret == 0 && !e.smtputf8 && !e.body8);
	T_EQ_INT(qfile_format_env(&out, &e), 1);
	T_EQ_STR(buf_str(&out), in);
	buf_free(&out);
	qenv_free(&e);
}

static int
bad(const char *s)
{
	struct qenv e;
	char err[128];
	int r;

	err[0] = '\0';
	r = parse(s, &e, err, sizeof err);
	if (r != -1 || errno != EINVAL)
		printf("not rejected: %s\n", s);
	return r == -1 && errno == EINVAL;
}

static void
test_bad(void)
{
	T_CHECK(bad("V1\nT1\nFa@b\nNNEVER\nRr@x\n\n"));       /* N before R */
	T_CHECK(bad("V1\nT1\nFa@b\nOrfc822;r@x\nRr@x\n\n"));  /* O before R */
	T_CHECK(bad("V1\nT1\nFa@b\nRr@x\nNNEVER\nNNEVER\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nRr@x\nNNEVER,DELAY\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nRr@x\nOrfc822\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nRr@x\nOrfc822;a\nOrfc822;b\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nEa b\nRr@x\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nE\nRr@x\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nEa\nEb\nRr@x\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nWALL\nRr@x\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nB7BIT\nRr@x\n\n"));
	T_CHECK(bad("V1\nT1\nFa@b\nS\nS\nRr@x\n\n"));
}

int main(void)
{
	test_roundtrip();
	test_plain();
	test_bad();
	T_DONE();
}
