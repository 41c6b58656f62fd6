/*
 * test_qfile: the queue file formats (lib/queue/qfile.c): envelope round trip,
 * malformed envelopes, state files, and the one envelope grammar
 * (qenv_line) that tern-enqueue and the reader share: every case where
 * tern-enqueue's own checks and the reader used to disagree.
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

/* state lines m and a (relay, flags, the history of attempts) */
static void
test_state_hist(void)
{
	struct qenv e;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	const char *env = "V1\nT5\nU0\nFa@x\nRb@x\nRc@x\n\nmsg\n";
	const char *st = "V1\nr 0 P 2 900 800 451 4.4.1 refused\n"
	    "m 0 3 mx.b[192.0.2.1]:25\nr 1 D 1 0 700 250 ok\nm 1 0 -\n"
	    "a 0 700 Z mx.b[192.0.2.1]:25 451 busy\na 1 700 K - 250 ok\n"
	    "a 0 800 Z mx.b[192.0.2.1]:25 451 4.4.1 refused\n";
	char err[128], big[QSTATE_TEXT_MAX + 100];
	size_t i;

	if (!T_EQ_INT(parse(env, strlen(env), &e, err, sizeof err), 1))
		return;
	T_EQ_INT(qstate_parse(&e, st, strlen(st), err, sizeof err), 1);
	T_EQ_INT(e.rcpt[0].flags, QR_NEXTHOP_DSN | QR_RELAYED);
	T_EQ_STR(e.rcpt[0].relay, "mx.b[192.0.2.1]:25");
	T_EQ_INT(e.rcpt[1].flags, 0);
	T_EQ_STR(e.rcpt[1].relay, "");
	T_EQ_INT(e.nhist, 3);
	T_EQ_INT(e.hist[0].idx, 0);
	T_EQ_INT(e.hist[0].t, 700);
	T_EQ_INT(e.hist[0].code, 'Z');
	T_EQ_STR(e.hist[0].text, "451 busy");
	T_EQ_STR(e.hist[1].relay, "");
	T_EQ_INT(e.hist[1].code, 'K');
	T_EQ_STR(e.hist[2].text, "451 4.4.1 refused");

	/* round trip: format, parse again (the history is replaced, not
	 * added to), format gives the same bytes */
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_EQ_STR(buf_str(&b), "V1\nr 0 P 2 900 800 451 4.4.1 refused\n"
	    "m 0 3 mx.b[192.0.2.1]:25\nr 1 D 1 0 700 250 ok\n"
	    "a 0 700 Z mx.b[192.0.2.1]:25 451 busy\na 1 700 K - 250 ok\n"
	    "a 0 800 Z mx.b[192.0.2.1]:25 451 4.4.1 refused\n");
	T_EQ_INT(qstate_parse(&e, b.s, b.len, err, sizeof err), 1);
	T_EQ_INT(e.nhist, 3);
	T_EQ_INT(qstate_format(&b2, &e), 1);
	T_EQ_STR(buf_str(&b2), buf_str(&b));

	/* a fresh recipient with only a relay still gets its r line */
	e.rcpt[1].st = RS_PENDING;
	e.rcpt[1].attempts = 0;
	e.rcpt[1].last = 0;
	e.rcpt[1].text[0] = '\0';
	e.rcpt[1].flags = QR_WARNED;
	buf_reset(&b);
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_CHECK(strstr(buf_str(&b), "r 1 P 0 0 0\nm 1 8 -\n") != NULL);

	/* hist_add: texts cut and cleaned, relays without spaces, at most
	 * QSTATE_HIST_MAX kept, the oldest dropped */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[3] = '\n';
	T_EQ_INT(qstate_hist_add(&e, 1, 1000, 'D', "a b\r", big), 1);
	T_EQ_INT(e.nhist, 4);
	T_EQ_STR(e.hist[3].relay, "a?b?");
	T_EQ_INT(strlen(e.hist[3].text), QSTATE_TEXT_MAX);
	T_EQ_INT(e.hist[3].text[3], '?');
	T_EQ_INT(qstate_hist_add(&e, 1, 1000, 'X', NULL, "x"), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(qstate_hist_add(&e, 2, 1000, 'K', NULL, "x"), -1);
	T_EQ_INT(errno, EINVAL);
	T_EQ_INT(e.nhist, 4);
	for (i = 0; i < QSTATE_HIST_MAX; i++)
		T_EQ_INT(qstate_hist_add(&e, 0, (time_t)(2000 + i), 'Z', NULL,
		    "451 again"), 1);
	T_EQ_INT(e.nhist, QSTATE_HIST_MAX);
	T_EQ_INT(e.hist[0].t, 2000);
	T_EQ_INT(e.hist[QSTATE_HIST_MAX - 1].t, 2000 + QSTATE_HIST_MAX - 1);
	T_EQ_STR(e.hist[0].relay, "");
	buf_reset(&b);
	T_EQ_INT(qstate_format(&b, &e), 1);
	T_EQ_INT(qstate_parse(&e, b.s, b.len, err, sizeof err), 1);
	T_EQ_INT(e.nhist, QSTATE_HIST_MAX);
	T_EQ_INT(e.hist[0].t, 2000);
	/* one more a line than allowed is malformed */
	buf_cats(&b, "a 0 5 Z - x\n");
	T_EQ_INT(qstate_parse(&e, b.s, b.len, err, sizeof err), -1);
	T_EQ_INT(errno, EINVAL);
	T_CHECK(strstr(err, "too many history lines") != NULL);
	qenv_free(&e);
	T_CHECK(e.hist == NULL);
	buf_free(&b);
	buf_free(&b2);
}

/* Old files (no m or a lines) still parse; malformed m/a lines do not. */
static void
test_state_hist_bad(void)
{
	static const char *const badv[] = {
		"V1\nm 0 1 -\n",                      /* before its r line */
		"V1\nr 0 P 1 0 0\nm 0 1 -\nm 0 1 -\n", /* repeated */
		"V1\nr 0 P 1 0 0\nm 0 x -\n",        /* bad flags */
		"V1\nr 0 P 1 0 0\nm 0 99999999 -\n", /* flags too big */
		"V1\nr 0 P 1 0 0\nm 0 1\n",          /* no relay */
		"V1\nr 0 P 1 0 0\nm 0 1 a b\n",      /* relay with a space */
		"V1\nr 0 P 1 0 0\nm 5 1 -\n",        /* no such recipient */
		"V1\na 5 1 K -\n",                    /* no such recipient */
		"V1\na 0 x K -\n",                    /* bad time */
		"V1\na 0 1 Q -\n",                    /* bad code */
		"V1\na 0 1 K\n",                      /* no relay */
		"V1\na 0 1 KZ -\n",                   /* bad code */
		"V1\na\n",
		"V1\nm\n",
		NULL,
	};
	const char *env = "V1\nT5\nU0\nFa@x\nRb@x\n\nmsg\n";
	const char *old = "V1\nr 0 P 3 400 300 451 4.2.0 later\nZ new\n";
	char err[128], relay[QSTATE_RELAY_MAX + 40];
	struct buf b = BUF_INIT;
	struct qenv e;
	size_t i;

	if (!T_EQ_INT(parse(env, strlen(env), &e, err, sizeof err), 1))
		return;
	T_EQ_INT(qstate_parse(&e, old, strlen(old), err, sizeof err), 1);
	T_EQ_INT(e.nhist, 0);
	T_EQ_INT(e.rcpt[0].flags, 0);
	T_EQ_STR(e.rcpt[0].relay, "");
	for (i = 0; badv[i]; i++) {
		err[0] = '\0';
		if (!T_EQ_INT(qstate_parse(&e, badv[i], strlen(badv[i]), err,
		    sizeof err), -1))
			printf("accepted: %s\n", badv[i]);
		T_EQ_INT(errno, EINVAL);
		T_CHECK(strncmp(err, "line 2: ", 8) == 0 ||
		    strncmp(err, "line 3: ", 8) == 0 ||
		    strncmp(err, "line 4: ", 8) == 0);
	}
	/* a relay longer than QSTATE_RELAY_MAX */
	memset(relay, 'r', sizeof relay - 1);
	relay[sizeof relay - 1] = '\0';
	buf_catf(&b, "V1\nr 0 P 1 0 0\nm 0 1 %s\n", relay);
	T_EQ_INT(qstate_parse(&e, b.s, b.len, err, sizeof err), -1);
	T_CHECK(strstr(err, "bad relay") != NULL);
	qenv_free(&e);
	buf_free(&b);
}

/* qenv_line over the client lines s (LF-separated, no final empty line)
 * as tern-enqueue reads them: 1 accepted, 0 refused, -1 ENOMEM. */
static int
input(const char *s, struct qenv *e)
{
	struct qenv_parse p;
	const char *why, *nl;
	int r;

	memset(e, 0, sizeof *e);
	qenv_parse_init(&p, QENV_INPUT, &qenv_limits_std);
	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s) - 1;   /* no LF: the last line */
		if ((r = qenv_line(&p, e, s, (size_t)(nl - s), &why)) != 1)
			return r;
	}
	return qenv_end(&p, e, &why);
}

/* Verdict of the reader on "V1\nT5\n" + lines + "\n": 1 or 0. */
static int
reader(const char *lines)
{
	struct qenv e;
	struct buf b = BUF_INIT;
	char err[128];
	int r;

	if (buf_cats(&b, "V1\nT5\n") < 0 || buf_cats(&b, lines) < 0 ||
	    buf_catc(&b, '\n') < 0)
		return -1;
	r = parse(b.s, b.len, &e, err, sizeof err);
	buf_free(&b);
	if (r == 1)
		qenv_free(&e);
	return r == 1;
}

/* The same lines in both directions get the same verdict; and what the
 * input side accepts, formatted, is read back.  Returns the verdict. */
static int
same(const char *lines)
{
	struct qenv e, f;
	struct buf b = BUF_INIT;
	char err[128];
	int in = input(lines, &e), out = reader(lines);

	if (in != out)
		printf("disagree on [%s]: tern-enqueue %d, reader %d\n",
		    lines, in, out);
	T_CHECK(in == out);
	if (in == 1) {
		e.arrival = 5;
		T_EQ_INT(qfile_format_env(&b, &e), 1);
		if (T_EQ_INT(parse(b.s, b.len, &f, err, sizeof err), 1))
			qenv_free(&f);
		buf_free(&b);
	}
	qenv_free(&e);
	return in;
}

/* Envelope lines with an n-byte value for letter c (F, R, I or H), the
 * others short: "F<n>\nRb\n" or "Fa\nRb\n<c><n>\n".  malloc'ed. */
static char *
long_value(char c, size_t n)
{
	char *s = malloc(n + 16);
	size_t at = c == 'F' ? 0 : 6;

	if (s == NULL)
		return NULL;
	memcpy(s, "Fa\nRb\n", 7);
	s[at] = c;
	memset(s + at + 1, 'x', n);
	memcpy(s + at + 1 + n, c == 'F' ? "\nRb\n" : "\n", c == 'F' ? 5 : 2);
	return s;
}

static void
test_one_grammar(void)
{
	static const char *const lines[] = {
		"Fa\nRb\n", "F\nRb\n", "Fa\n", "Rb\n", "Fa\nFa\nRb\n",
		"Fa\nR\n", "Fa\nRb\x01\n", "Fa\nRb\nIx\nIy\n", "Fa\nRb\nHx\nHy\n",
		"Fa\nRb\nEabc\n", "Fa\nRb\nE\n", "Fa\nRb\nEa\nEb\n", "Fa\nRb\nE+2\n",
		"Fa\nRb\nWFULL\n", "Fa\nRb\nWHDRS\nWFULL\n", "Fa\nRb\nWX\n",
		"Fa\nRb\nS\n", "Fa\nRb\nS\nS\n",
		"Fa\nRb\nB8BITMIME\n", "Fa\nRb\nB7BIT\n", "Fa\nRb\nB8BITMIME\nB8BITMIME\n",
		"Fa\nRb\nNNEVER\n", "Fa\nNNEVER\nRb\n", "Fa\nRb\nNNEVER\nNNEVER\n",
		"Fa\nRb\nNSUCCESS,DELAY\n", "Fa\nRb\nNBOGUS\n",
		"Fa\nRb\nOrfc822;b@x\n", "Fa\nOrfc822;b@x\nRb\n",
		"Fa\nRb\nOrfc822;b@x\nOrfc822;b@x\n", "Fa\nRb\nOnosemicolon\n",
		"Fa\nRb\nRc\nNNEVER\nOrfc822;c\n",
	};
	struct qenv e;
	char *s;
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		same(lines[i]);

	/* used to disagree: "S" with a value was refused by tern-enqueue but
	 * read from a file */
	T_EQ_INT(same("Fa\nRb\nSx\n"), 0);

	/* used to disagree: addresses, I and H over 256 bytes were refused
	 * by tern-enqueue but read from a file; 256 is still fine */
	for (i = 0; i < 8; i++) {
		s = long_value("FRIH"[i % 4], i < 4 ? 256 : 257);
		if (!T_CHECK(s != NULL))
			return;
		T_EQ_INT(same(s), i < 4);
		free(s);
	}

	/* the intended differences: V, T and U are ours (skipped from a
	 * client), unknown letters are skipped only in a file */
	T_EQ_INT(input("T1\nUx\nV9\nFa\nRb\n", &e), 1);
	qenv_free(&e);
	T_EQ_INT(input("Fa\nRb\nZfuture\n", &e), 0);
	qenv_free(&e);
	T_EQ_INT(reader("Fa\nRb\nZfuture\n"), 1);
}

/* Used to disagree: 10000 recipients each with N and O were queued by
 * tern-enqueue and then called corrupt by the reader ("too many lines",
 * its limit was 10064 lines). */
static void
test_many_dsn_lines(void)
{
	struct qenv e, f;
	struct buf in = BUF_INIT, out = BUF_INIT;
	char err[128];
	size_t i;

	T_EQ_INT(buf_cats(&in, "Fa\n"), 1);
	for (i = 0; i < QFILE_RCPT_MAX; i++) {
		char l[64];

		snprintf(l, sizeof l, "R%zu\nNNEVER\nOrfc822;%zu\n", i, i);
		if (buf_cats(&in, l) < 0)
			break;
	}
	if (!T_EQ_INT(input(buf_str(&in), &e), 1))
		return;
	T_EQ_INT(e.nrcpt, QFILE_RCPT_MAX);
	T_EQ_INT(qfile_format_env(&out, &e), 1);
	T_CHECK(out.len <= QFILE_ENV_MAX);
	T_EQ_INT(parse(out.s, out.len, &f, err, sizeof err), 1);
	if (f.nrcpt == QFILE_RCPT_MAX)
		T_EQ_STR(f.rcpt[QFILE_RCPT_MAX - 1].orcpt, "rfc822;9999");
	qenv_free(&f);
	qenv_free(&e);
	buf_free(&in);
	buf_free(&out);
}

/* The limits are the caller's: the same grammar with smaller ones. */
static void
test_limits(void)
{
	struct qenv_limits lim = { 8, 4, 3, 4 };
	struct qenv_parse p;
	struct qenv e;
	const char *why = NULL;

	memset(&e, 0, sizeof e);
	qenv_parse_init(&p, QENV_INPUT, &lim);
	T_EQ_INT(qenv_line(&p, &e, "Fabcd", 5, &why), 1);
	T_EQ_INT(qenv_line(&p, &e, "Rabcde", 6, &why), 0);
	T_EQ_STR(why, "recipient too long");
	T_EQ_INT(qenv_line(&p, &e, "Ixyzw", 5, &why), 0);
	T_EQ_INT(qenv_line(&p, &e, "Rabcd", 5, &why), 1);
	T_EQ_INT(qenv_line(&p, &e, "Rb", 2, &why), 0);   /* the fifth line */
	T_EQ_STR(why, "too many lines");
	T_EQ_INT(qenv_line(&p, &e, "", 0, &why), 0);
	T_EQ_INT(qenv_end(&p, &e, &why), 1);
	qenv_free(&e);
	memset(&e, 0, sizeof e);
	qenv_parse_init(&p, QENV_FILE, &lim);
	T_EQ_INT(qenv_line(&p, &e, "Fa", 2, &why), 0);
	T_EQ_STR(why, "not a V1 queue file");
	T_EQ_INT(qenv_end(&p, &e, &why), 0);
	T_EQ_STR(why, "no T line");
	qenv_free(&e);
}

int
main(void)
{
	test_roundtrip();
	test_malformed();
	test_state();
	test_state_hist();
	test_state_hist_bad();
	test_one_grammar();
	test_many_dsn_lines();
	test_limits();
	T_DONE();
}
