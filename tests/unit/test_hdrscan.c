/*
 * test_hdrscan: tern-sendmail's header scan (lib/mail/hdrscan.c): -t
 * recipients from To/Cc/Bcc, Bcc removed, From/Date/Message-ID noticed,
 * qualification, duplicates, limits.
 */
#include <string.h>

#include "mail/hdrscan.h"
#include "t.h"

/* The recipient list as one string, "a@x b@y". */
static const char *
joined(const struct hdr_rcpts *r)
{
	static char out[4096];
	size_t i, k = 0;

	for (i = 0; i < r->list.len && k < sizeof out - 1; i++)
		out[k++] = r->list.s[i] ? r->list.s[i] : ' ';
	if (k && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
	return out;
}

static int
scan(const char *h, int flags, struct hdr_rcpts *r, struct hdr_scan *s,
    char *err)
{
	buf_free(&s->keep);
	return hdr_scan(h, strlen(h), 65536, flags, "host.example", r, s, err);
}

static void
test_t(void)
{
	struct hdr_rcpts r;
	struct hdr_scan s = { BUF_INIT, 0, 0, 0 };
	char err[HDRSCAN_ERR_MAX];
	const char *h = "From: cron@x\nTo: Demo <demo@example.test>, root\n"
	    "Cc: alice@example.test,\n demo@EXAMPLE.test\n"
	    "Bcc: hidden@example.test\nSubject: s\n";

	hdr_rcpts_init(&r, 100);
	T_EQ_INT(scan(h, HDRSCAN_RCPTS, &r, &s, err), 1);
	/* qualified, canonical (domain lower case), duplicate dropped */
	T_EQ_STR(joined(&r), "demo@example.test root@host.example "
	    "alice@example.test hidden@example.test");
	T_EQ_INT(r.n, 4);
	T_EQ_STR(buf_str(&s.keep), "From: cron@x\nTo: Demo <demo@example.test>,"
	    " root\nCc: alice@example.test,\n demo@EXAMPLE.test\nSubject: s\n");
	T_EQ_INT(s.has_from, 1);
	T_EQ_INT(s.has_date, 0);
	T_EQ_INT(s.has_msgid, 0);
	hdr_rcpts_free(&r);

	/* without -t: no recipients taken, Bcc still removed */
	hdr_rcpts_init(&r, 100);
	T_EQ_INT(scan(h, 0, &r, &s, err), 1);
	T_EQ_INT(r.n, 0);
	T_CHECK(strstr(buf_str(&s.keep), "Bcc") == NULL);
	hdr_rcpts_free(&r);

	/* CRLF input, case of names, Resent- not read */
	hdr_rcpts_init(&r, 100);
	T_EQ_INT(scan("date: x\r\nMESSAGE-ID: <a@b>\r\nResent-To: r@x\r\n"
	    "TO: a@b\r\nBCC:\r\n", HDRSCAN_RCPTS, &r, &s, err), 1);
	T_EQ_STR(joined(&r), "a@b");
	T_EQ_INT(s.has_from, 0);
	T_EQ_INT(s.has_date, 1);
	T_EQ_INT(s.has_msgid, 1);
	T_EQ_STR(buf_str(&s.keep), "date: x\r\nMESSAGE-ID: <a@b>\r\n"
	    "Resent-To: r@x\r\nTO: a@b\r\n");
	hdr_rcpts_free(&r);
	buf_free(&s.keep);
}

static void
test_errors(void)
{
	struct hdr_rcpts r;
	struct hdr_scan s = { BUF_INIT, 0, 0, 0 };
	char err[HDRSCAN_ERR_MAX];

	hdr_rcpts_init(&r, 100);
	T_EQ_INT(scan("To: John Smith\n", HDRSCAN_RCPTS, &r, &s, err), 0);
	T_CHECK(strstr(err, "bad address list") != NULL);
	/* a bad To: without -t is not looked at */
	T_EQ_INT(scan("To: John Smith\n", 0, &r, &s, err), 1);
	T_EQ_INT(scan("To: a@-bad-\n", HDRSCAN_RCPTS, &r, &s, err), 0);
	T_CHECK(strstr(err, "a@-bad-") != NULL);
	hdr_rcpts_free(&r);

	/* the limit counts distinct recipients */
	hdr_rcpts_init(&r, 2);
	T_EQ_INT(scan("To: a@x, a@x, b@x\n", HDRSCAN_RCPTS, &r, &s, err), 1);
	T_EQ_INT(r.n, 2);
	T_EQ_INT(scan("Cc: c@x\n", HDRSCAN_RCPTS, &r, &s, err), 0);
	T_CHECK(strstr(err, "too many recipients") != NULL);
	hdr_rcpts_free(&r);

	/* the size limit */
	hdr_rcpts_init(&r, 2);
	T_EQ_INT(hdr_scan("To: a@x\n", 8, 7, 0, "h", &r, &s, err), 0);
	T_CHECK(strstr(err, "over 7 bytes") != NULL);
	hdr_rcpts_free(&r);
	buf_free(&s.keep);
}

static void
test_args(void)
{
	struct hdr_rcpts r;
	char err[HDRSCAN_ERR_MAX];
	const char *a = "Name <u@Example.ORG>, other";

	hdr_rcpts_init(&r, 10);
	T_EQ_INT(hdr_rcpts_add(&r, a, strlen(a), "h.example", err), 1);
	T_EQ_INT(hdr_rcpts_add(&r, "u@example.org", 13, "h.example", err), 1);
	T_EQ_STR(joined(&r), "u@example.org other@h.example");
	T_EQ_INT(hdr_rcpts_add(&r, "a@", 2, "h", err), 0);
	hdr_rcpts_free(&r);
	hdr_rcpts_free(&r);   /* twice is harmless */
}

int
main(void)
{
	test_t();
	test_errors();
	test_args();
	T_DONE();
}
