/*
 * test_qfile: the queue file formats (lib/qfile.c): envelope round trip,
 * malformed envelopes, state files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/qfile.h"
#include "t.h"

/* A memory file holding s (an anonymous temporary file). */
static int
memfile(const char *s, size_t n)
{
	FILE *f = tmpfile();
	int fd;

	if (f == NULL)
		return -1;
	fd = dup(fileno(f));
	fclose(f);
	if (fd >= 0 && write(fd, s, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Parse s as mess/ID; returns qfile_read_env's result. */
static int
parse(const char *s, size_t n, struct qenv *e, char *err, size_t errsz)
{
	int fd = memfile(s, n), r;

	if (fd < 0)
		return -2;
	r = qfile_read_env(fd, e, err, errsz);
	close(fd);
	return r;
}

static int
bad(const char *s)
{
	struct qenv e;
	char err[128];
	int r;

	err[0] = '\0';
	r = parse(s, strlen(s), &e, err, sizeof err);
	if (r != -1 || errno != EINVAL || err[0] == '\0')
		printf("not rejected: %s (%d: %s)\n", s, r, err);
	return r == -1 && errno == EINVAL;
}

static void
test_roundtrip(void)
{
	struct qenv e, f;
	struct qrcpt r[2];
	struct buf b = BUF_INIT;
	char err[128];

	memset(&e, 0, sizeof e);
	memset(r, 0, sizeof r);
	e.arrival = 1700000000;
	e.uid = 1000;
	e.sender = "s@x";
	e.client_ip = "192.0.2.1";
	e.helo = "client.example";
	r[0].addr = "a@y";
	r[1].addr = "\"b c\"@z";
	e.rcpt = r;
	e.nrcpt = 2;
	T_EQ_INT(qfile_format_env(&b, &e), 1);
	T_EQ_STR(buf_str(&b), "V1\nT1700000000\nU1000\nFs@x\nRa@y\n"
	    "R\"b c\"@z\nI192.0.2.1\nHclient.example\n\n");
	T_EQ_INT(buf_cats(&b, "Subject: x\n\nbody\n"), 1);
	T_EQ_INT(parse(b.s, b.len, &f, err, sizeof err), 1);
	T_EQ_INT(f.arrival, 1700000000);
	T_EQ_INT(f.uid, 1000);
	T_EQ_STR(f.sender, "s@x");
	T_EQ_STR(f.client_ip, "192.0.2.1");
	T_EQ_STR(f.helo, "client.example");
	T_EQ_INT(f.nrcpt, 2);
	T_EQ_STR(f.rcpt[1].addr, "\"b c\"@z");
	T_EQ_INT(f.rcpt[1].st, RS_PENDING);
	T_EQ_INT(f.body_off, b.len - strlen("Subject: x\n\nbody\n"));
	T_EQ_INT(f.held, 0);
	qenv_free(&f);
	T_CHECK(f.rcpt == NULL && f.sender == NULL);

	/* null sender, no I/H, unknown letter skipped, no message at all */
	T_EQ_INT(parse("V1\nT5\nF\nRa@b\nZfuture\n\n", 22, &f, err, sizeof err),
	    1);
	T_EQ_STR(f.sender, "");
	T_CHECK(f.client_ip == NULL && f.helo == NULL);
	T_EQ_INT(f.uid, (uid_t)-1);
	T_EQ_INT(f.body_off, 22);
	qenv_free(&f);

	/* a newline in a value cannot be written */
	buf_reset(&b);
	e.sender = "a\nRevil@x";
	T_EQ_INT(qfile_format_env(&b, &e), -1);
	e.sender = "s@x";
	e.nrcpt = 0;
	T_EQ_INT(qfile_format_env(&b, &e), -1);
	buf_free(&b);
}

static void
test_malformed(void)
{
	char line[2000], *big;
	size_t i, n;

	T_CHECK(bad(""));
	T_CHECK(bad("V1\nT5\nFa\nRb\n"));           /* no empty line */
	T_CHECK(bad("T5\nFa\nRb\n\n"));             /* no V */
	T_CHECK(bad("V2\nT5\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nFa\nRb\n\n"));             /* no T */
	T_CHECK(bad("V1\nT5\nRb\n\n"));             /* no F */
	T_CHECK(bad("V1\nT5\nFa\n\n"));             /* no R */
	T_CHECK(bad("V1\nTx\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT-1\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT99999999999999999999999\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT5\nU\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT5\nU99999999999\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT5\nT6\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT5\nFa\nFa\nRb\n\n"));
	T_CHECK(bad("V1\nT5\nFa\nR\n\n"));
	T_CHECK(bad("V1\nT5\nFa\nRb\x01\n\n"));
	T_CHECK(bad("V1\nT5\nFa\nRb\nIx\nIy\n\n"));
	T_CHECK(bad("V1\nV1\nT5\nFa\nRb\n\n"));
	n = (size_t)snprintf(line, sizeof line, "V1\nT5\nFa\nR%01100d\n\n", 0);
	T_CHECK(n < sizeof line && bad(line));      /* over-long line */

	/* too many recipients, and an envelope over QFILE_ENV_MAX */
	big = malloc(QFILE_ENV_MAX + 100);
	if (!T_CHECK(big != NULL))
		return;
	n = (size_t)snprintf(big, 32, "V1\nT5\nFa\n");
	for (i = 0; i <= QFILE_RCPT_MAX; i++)
		n += (size_t)snprintf(big + n, 16, "Rr%zu\n", i);
	memcpy(big + n, "\n", 2);
	T_CHECK(bad(big));
	n = (size_t)snprintf(big, 32, "V1\nT5\nFa\nRb\n");
	while (n < QFILE_ENV_MAX + 10)
		n += (size_t)snprintf(big + n, 8, "Zxxxx\n");
	memcpy(big + n, "\n", 2);
	T_CHECK(bad(big));
	free(big);
}

static void
test_state(void)
{
	struct qenv e;
	struct buf b = BUF_INIT;
	const char *env = "V1\nT5\nU0\nFa@x\nRb@x\nRc@x\nRd@x\n\nmsg\n";
	const char *st = "V1\nH\nr 0 D 1 0 100 250 ok\nr 2 P 3 400 300 "
	    "451 4.2.0 try later\nZ future\n";
	char err[128];

	if (!T_EQ_INT(parse(env, strlen(env), &e, err, sizeof err), 1))
		return;
	T_EQ_INT(qstate_parse(&e, st, strlen(st), err, sizeof err), 1);
	T_EQ_INT(e.held, 1);
	T_EQ_INT(e.rcpt[0].st, RS_DONE);
	T_EQ_INT(e.rcpt[0].attempts, 1);
	T_EQ_INT(e.rcpt[0].last, 100);
	T_EQ_STR(e.rcpt[0].text, "250 ok");
	T_EQ_INT(e.rcpt[1].st, RS_PENDING);
	T_EQ_INT(e.rcpt[1].attempts, 0);
	T_EQ_INT(e.rcpt[2].next, 400);
	T_EQ_STR(e.rcpt[2].text, "451 4.2.0 try later");

	/* format writes only what differs from fresh */
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_EQ_STR(buf_str(&b), "V1\nH\nr 0 D 1 0 100 250 ok\n"
	    "r 2 P 3 400 300 451 4.2.0 try later\n");
	e.held = 0;
	e.rcpt[1].st = RS_FAILED;
	snprintf(e.rcpt[1].text, sizeof e.rcpt[1].text, "550 no\r\nsuch");
	buf_reset(&b);
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_EQ_STR(buf_str(&b), "V1\nr 0 D 1 0 100 250 ok\nr 1 F 0 0 0 "
	    "550 no??such\nr 2 P 3 400 300 451 4.2.0 try later\n");
	e.rcpt[1].text[0] = '\0';
	buf_reset(&b);
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_CHECK(strstr(buf_str(&b), "r 1 F 0 0 0\n") != NULL);
	T_EQ_INT(qstate_parse(&e, b.s, b.len, err, sizeof err), 1);
	T_EQ_STR(e.rcpt[1].text, "");

	/* malformed state files */
	T_EQ_INT(qstate_parse(&e, "", 0, err, sizeof err), -1);
	T_EQ_INT(qstate_parse(&e, "V2\n", 3, err, sizeof err), -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 3 D 1 0 0\n", 15, err, sizeof err),
	    -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 0 X 1 0 0\n", 15, err, sizeof err),
	    -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 0 D x 0 0\n", 15, err, sizeof err),
	    -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 0 D 1 0\n", 13, err, sizeof err), -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 0 D 1 0 0\nr 0 D 1 0 0\n", 27, err,
	    sizeof err), -1);
	T_EQ_INT(qstate_parse(&e, "V1\nr 0 D 1 0 0", 14, err, sizeof err), -1);
	T_EQ_INT(qstate_parse(&e, "V1\n\n", 4, err, sizeof err), -1);
	T_EQ_INT(errno, EINVAL);
	qenv_free(&e);
	buf_free(&b);
}

int
main(void)
{
	test_roundtrip();
	test_malformed();
	test_state();
	T_DONE();
}
