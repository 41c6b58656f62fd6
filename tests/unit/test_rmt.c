/*
 * test_rmt: the tern-queued <-> tern-remote packets (lib/queue/rmt.c):
 * round trips, every bound, malformed packets, repeated and too many
 * indexes, "-" for an empty relay or TLS field, text made safe.
 */
#include <stdio.h>
#include <string.h>

#include "queue/rmt.h"
#include "t.h"

#define QID "5F3A2B1C0A1B2C3D4E5F"

static char pkt[RMT_PKT_MAX + 64];

static int
job_parse_s(const char *s, struct rmt_job *j)
{
	return rmt_job_parse(s, strlen(s), j);
}

static int
result_parse_s(const char *s, struct rmt_result *r)
{
	return rmt_result_parse(s, strlen(s), r);
}

static void
test_job(void)
{
	static struct rmt_job j, k;
	size_t len, i;

	memset(&j, 0, sizeof j);
	memcpy(j.qid, QID, sizeof QID);
	snprintf(j.dest, sizeof j.dest, "%s", "b.test");
	j.n = 3;
	j.idx[0] = 0;
	j.idx[1] = 7;
	j.idx[2] = RMT_IDX_MAX;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 1);
	T_EQ_MEM(pkt, len, QID " b.test 0 7 100000",
	    strlen(QID " b.test 0 7 100000"));
	T_EQ_INT(rmt_job_parse(pkt, len, &k), 1);
	T_EQ_STR(k.qid, QID);
	T_EQ_STR(k.dest, "b.test");
	T_EQ_INT(k.n, 3);
	T_EQ_INT(k.idx[0], 0);
	T_EQ_INT(k.idx[1], 7);
	T_EQ_INT(k.idx[2], RMT_IDX_MAX);

	/* the most recipients, the longest indexes: it fits */
	for (i = 0; i < RMT_JOB_RCPT_MAX; i++)
		j.idx[i] = RMT_IDX_MAX - i;
	j.n = RMT_JOB_RCPT_MAX;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 1);
	T_CHECK(len <= RMT_PKT_MAX);
	T_EQ_INT(rmt_job_parse(pkt, len, &k), 1);
	T_EQ_INT(k.n, RMT_JOB_RCPT_MAX);
	T_EQ_INT(k.idx[RMT_JOB_RCPT_MAX - 1], RMT_IDX_MAX - 499);
	/* one more on the wire is too many */
	memcpy(pkt + len, " 1", 2);
	T_EQ_INT(rmt_job_parse(pkt, len + 2, &k), 0);

	/* format refuses */
	j.n = RMT_JOB_RCPT_MAX + 1;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	j.n = 0;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	j.n = 1;
	j.idx[0] = RMT_IDX_MAX + 1;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	j.n = 2;
	j.idx[0] = 4;
	j.idx[1] = 4;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	j.idx[1] = 5;
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 1);
	memcpy(j.qid, "not-a-queue-id-xxxxx", QID_SIZE);
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	j.qid[0] = '\0';
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	memcpy(j.qid, QID, sizeof QID);
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 1);
	j.dest[0] = '\0';
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	snprintf(j.dest, sizeof j.dest, "%s", "a b");
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	snprintf(j.dest, sizeof j.dest, "%s", "a\tb");
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 0);
	snprintf(j.dest, sizeof j.dest, "%s", "b\xc3\xbc.test");   /* UTF-8 passes */
	T_EQ_INT(rmt_job_format(pkt, &len, &j), 1);
}

static void
test_job_bad(void)
{
	static struct rmt_job k;
	const char *good = QID " d.test 1 2";
	size_t n;

	T_EQ_INT(job_parse_s(good, &k), 1);
	/* every truncation but the one that ends after a whole index */
	for (n = 0; n < strlen(good); n++)
		T_EQ_INT(rmt_job_parse(good, n, &k),
		    n == strlen(QID " d.test 1") ? 1 : 0);
	T_EQ_INT(job_parse_s("", &k), 0);
	T_EQ_INT(job_parse_s(QID, &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test", &k), 0);
	T_EQ_INT(job_parse_s(QID " 1", &k), 0);   /* no DEST */
	T_EQ_INT(job_parse_s(QID " d.test ", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 1 ", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test  1", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 1  2", &k), 0);
	T_EQ_INT(job_parse_s(" " QID " d.test 1", &k), 0);
	T_EQ_INT(job_parse_s(QID " d\x7ftest 1", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 1\n", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test -1", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test +1", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 1x", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 100001", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 100000", &k), 1);
	T_EQ_INT(job_parse_s(QID " d.test 99999999999999999999999", &k), 0);
	T_EQ_INT(job_parse_s(QID " d.test 1 2 1", &k), 0);   /* repeated */
	T_EQ_INT(job_parse_s(QID " d.test 3 3", &k), 0);
	T_EQ_INT(job_parse_s("5f3a2b1c0a1b2c3d4e5f d.test 1", &k), 0);
	T_EQ_INT(job_parse_s("5F3A2B1C0A1B2C3D4E5 d.test 1", &k), 0);
	T_EQ_INT(job_parse_s("5F3A2B1C0A1B2C3D4E5F0 d.test 1", &k), 0);
	/* a NUL inside */
	T_EQ_INT(rmt_job_parse(QID " d.test 1\0 2", strlen(QID) + 12, &k), 0);
	/* over the packet bound */
	memset(pkt, '1', sizeof pkt);
	memcpy(pkt, QID " d.test ", strlen(QID) + 8);
	T_EQ_INT(rmt_job_parse(pkt, RMT_PKT_MAX + 1, &k), 0);
}

static void
test_result(void)
{
	static struct rmt_result r, s;
	size_t len;

	memset(&r, 0, sizeof r);
	memcpy(r.qid, QID, sizeof QID);
	r.idx = 3;
	r.code = 'K';
	r.dsn = 1;
	memcpy(r.relay, "mx.example.test[192.0.2.1]:25",
	    sizeof "mx.example.test[192.0.2.1]:25");
	memcpy(r.tls, "TLSv1.3", sizeof "TLSv1.3");
	memcpy(r.text, "250 2.0.0 Ok: queued as X", 26);
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
#define WANT QID " 3 K d mx.example.test[192.0.2.1]:25 TLSv1.3 " \
	    "250 2.0.0 Ok: queued as X"
	T_EQ_MEM(pkt, len, WANT, strlen(WANT));
#undef WANT
	memset(&s, 0x55, sizeof s);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.qid, QID);
	T_EQ_INT(s.idx, 3);
	T_EQ_INT(s.code, 'K');
	T_EQ_INT(s.dsn, 1);
	T_EQ_STR(s.relay, "mx.example.test[192.0.2.1]:25");
	T_EQ_STR(s.tls, "TLSv1.3");
	T_EQ_STR(s.text, "250 2.0.0 Ok: queued as X");

	/* no relay, no TLS, no DSN, an IPv6 relay */
	r.code = 'Z';
	r.dsn = 0;
	r.relay[0] = '\0';
	r.tls[0] = '\0';
	memcpy(r.text, "4.4.1 connection refused", 25);
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_MEM(pkt, len, QID " 3 Z - - - 4.4.1 connection refused",
	    strlen(QID " 3 Z - - - 4.4.1 connection refused"));
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_INT(s.code, 'Z');
	T_EQ_INT(s.dsn, 0);
	T_EQ_STR(s.relay, "");
	T_EQ_STR(s.tls, "");
	T_EQ_STR(s.text, "4.4.1 connection refused");
	memcpy(r.relay, "mx.test[2001:db8::1]:25", 24);
	r.code = 'D';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.relay, "mx.test[2001:db8::1]:25");
	T_EQ_INT(s.code, 'D');

	/* empty text: the packet ends with the space after TLS; without
	 * the space it parses the same */
	r.text[0] = '\0';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(pkt[len - 1], ' ');
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.text, "");
	T_EQ_INT(rmt_result_parse(pkt, len - 1, &s), 1);
	T_EQ_STR(s.text, "");
	T_EQ_STR(s.tls, "");
}

static void
test_result_format(void)
{
	static struct rmt_result r, s;
	static char big[RMT_TEXT_MAX + 100];
	size_t len;

	memset(&r, 0, sizeof r);
	memcpy(r.qid, QID, sizeof QID);
	r.code = 'K';
	/* a relay or TLS with a space or a control character, or too long,
	 * goes as "-" */
	memcpy(r.relay, "a b", 4);
	memcpy(r.tls, "TLS\x01", 5);
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.relay, "");
	T_EQ_STR(s.tls, "");
	memcpy(r.relay, "h\xc3\xa9", 4);
	memcpy(r.tls, "TLSv1.3\n", 9);
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.relay, "");
	T_EQ_STR(s.tls, "");
	/* the longest relay and TLS that fit */
	memset(r.relay, 'r', RMT_RELAY_MAX);
	r.relay[RMT_RELAY_MAX] = '\0';
	memset(r.tls, 't', RMT_TLS_MAX);
	r.tls[RMT_TLS_MAX] = '\0';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_INT(strlen(s.relay), RMT_RELAY_MAX);
	T_EQ_INT(strlen(s.tls), RMT_TLS_MAX);
	/* text: control characters and non-ASCII made '?', cut at the max */
	memcpy(r.text, "5.1.1 a\tb\r\nc\x7f\xff", 15);
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_STR(s.text, "5.1.1 a?b??c??");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	{
		struct rmt_result *rp = &r;

		memcpy(rp->text, big, RMT_TEXT_MAX);
		rp->text[RMT_TEXT_MAX] = '\0';
	}
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	T_EQ_INT(rmt_result_parse(pkt, len, &s), 1);
	T_EQ_INT(strlen(s.text), RMT_TEXT_MAX);
	/* the largest result packet is within RMT_PKT_MAX */
	T_CHECK(len <= RMT_PKT_MAX);

	/* refused: bad code, bad qid, index out of range */
	r.code = 'X';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 0);
	r.code = '\0';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 0);
	r.code = 'K';
	r.idx = RMT_IDX_MAX + 1;
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 0);
	r.idx = RMT_IDX_MAX;
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 1);
	r.qid[3] = 'g';
	T_EQ_INT(rmt_result_format(pkt, &len, &r), 0);
}

static void
test_result_bad(void)
{
	static struct rmt_result s;
	static char p[RMT_PKT_MAX + 2];
	const char *good = QID " 1 K - relay[1.2.3.4]:25 TLSv1.2 250 ok";
	/* a cut inside TLS leaves a shorter, valid TLS field */
	size_t n, tls_at = strlen(QID " 1 K - relay[1.2.3.4]:25 ");

	T_EQ_INT(result_parse_s(good, &s), 1);
	T_EQ_STR(s.text, "250 ok");
	/* truncations: only those that end after TLS's first byte parse */
	for (n = 0; n < strlen(good); n++)
		T_EQ_INT(rmt_result_parse(good, n, &s), n > tls_at ? 1 : 0);
	T_EQ_INT(result_parse_s("", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - - -", &s), 1);
	T_EQ_INT(result_parse_s(QID " 1 X - - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 KK - - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1  - - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K x - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K D - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K dd - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K d  - t", &s), 0);   /* empty relay */
	T_EQ_INT(result_parse_s(QID " 1 K d - ", &s), 0);     /* empty tls */
	T_EQ_INT(result_parse_s(QID " 100001 K - - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 100000 K - - - t", &s), 1);
	T_EQ_INT(result_parse_s(QID " x K - - - t", &s), 0);
	T_EQ_INT(result_parse_s(QID "  1 K - - - t", &s), 0);
	T_EQ_INT(result_parse_s("0000 1 K - - - t", &s), 0);
	/* control characters and non-ASCII on the wire */
	T_EQ_INT(result_parse_s(QID " 1 K - - - a\tb", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - - - a\nb", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - - - a\x7f", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - - - \xc3\xa9", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - r\x01 - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - r\xc3\xa9 - t", &s), 0);
	T_EQ_INT(result_parse_s(QID " 1 K - - T\x01 t", &s), 0);
	T_EQ_INT(rmt_result_parse(QID " 1 K - - - a\0b",
	    strlen(QID) + 13, &s), 0);
	/* the text may hold spaces, dashes, anything printable */
	T_EQ_INT(result_parse_s(QID " 1 D - - - - 5.0.0  two  spaces ", &s),
	    1);
	T_EQ_STR(s.text, "- 5.0.0  two  spaces ");
	/* bounds: relay, TLS and text one over */
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - %0*d - t", QID,
	    RMT_RELAY_MAX, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 1);
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - %0*d - t", QID,
	    RMT_RELAY_MAX + 1, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 0);
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - - %0*d t", QID,
	    RMT_TLS_MAX, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 1);
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - - %0*d t", QID,
	    RMT_TLS_MAX + 1, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 0);
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - - - %0*d", QID,
	    RMT_TEXT_MAX, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 1);
	T_EQ_INT(strlen(s.text), RMT_TEXT_MAX);
	n = (size_t)snprintf(p, sizeof p, "%s 1 K - - - %0*d", QID,
	    RMT_TEXT_MAX + 1, 0);
	T_EQ_INT(rmt_result_parse(p, n, &s), 0);
	/* over the packet bound */
	memset(p, 'x', sizeof p);
	memcpy(p, QID " 1 K - - - ", strlen(QID) + 11);
	T_EQ_INT(rmt_result_parse(p, RMT_PKT_MAX + 1, &s), 0);
}

int
main(void)
{
	test_job();
	test_job_bad();
	test_result();
	test_result_format();
	test_result_bad();
	T_DONE();
}
