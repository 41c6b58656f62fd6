/*
 * test_dlv: lib/queue/dlv.c: the tern-queued <-> tern-deliverd packets (round
 * trips and malformed input), fd passing over a SOCK_SEQPACKET pair, and
 * the Delivered-To loop check.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "queue/dlv.h"
#include "t.h"

#define QID "0123456789ABCDEF0123"

static void
test_request(void)
{
	char pkt[DLV_PKT_MAX], big[DLV_ADDR_MAX + 2];
	struct dlv_req r;
	size_t len;

	T_EQ_INT(dlv_req_format(pkt, &len, QID, 7, 123, "a@b", "c@d"), 1);
	T_EQ_MEM(pkt, len, QID " 7 123\na@b\nc@d\n", 35);
	T_EQ_INT(dlv_req_parse(pkt, len, &r), 1);
	T_EQ_STR(r.qid, QID);
	T_EQ_INT(r.idx, 7);
	T_EQ_INT(r.off, 123);
	T_EQ_STR(r.sender, "a@b");
	T_EQ_STR(r.rcpt, "c@d");
	/* null sender */
	T_EQ_INT(dlv_req_format(pkt, &len, QID, 0, 9, "", "c@d"), 1);
	T_EQ_INT(dlv_req_parse(pkt, len, &r), 1);
	T_EQ_STR(r.sender, "");
	/* refused when formatting */
	T_EQ_INT(dlv_req_format(pkt, &len, "bad", 0, 0, "", "c@d"), 0);
	T_EQ_INT(dlv_req_format(pkt, &len, QID, 0, 0, "a\nb", "c@d"), 0);
	T_EQ_INT(dlv_req_format(pkt, &len, QID, 0, 0, "", ""), 0);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	T_EQ_INT(dlv_req_format(pkt, &len, QID, 0, 0, "", big), 0);
	/* malformed packets */
#define BAD(s) T_EQ_INT(dlv_req_parse(s, sizeof(s) - 1, &r), 0)
	BAD("");
	BAD(QID " 1 2\na\n");                   /* no recipient */
	BAD(QID " 1 2\na\nb");                  /* no final LF */
	BAD(QID " 1 2\na\nb\nextra");           /* trailing bytes */
	BAD(QID " 1 2\na\n\n");                 /* empty recipient */
	BAD("0123456789abcdef0123 1 2\na\nb\n"); /* lower-case id */
	BAD(QID "0 1 2\na\nb\n");               /* id too long */
	BAD(QID " x 2\na\nb\n");
	BAD(QID " 1 -2\na\nb\n");
	BAD(QID " 100001 2\na\nb\n");           /* index out of range */
	BAD(QID " 1 2\na\tb\nc\n");             /* control character */
#undef BAD
}

static void
test_reply(void)
{
	char pkt[DLV_PKT_MAX], text[DLV_TEXT_MAX + 50];
	struct dlv_reply r;
	size_t len;

	T_EQ_INT(dlv_reply_format(pkt, &len, QID, 3, 'K', "2.0.0 ok"), 1);
	T_EQ_MEM(pkt, len, QID " 3 K 2.0.0 ok", 33);
	T_EQ_INT(dlv_reply_parse(pkt, len, &r), 1);
	T_EQ_INT(r.code, 'K');
	T_EQ_INT(r.idx, 3);
	T_EQ_STR(r.text, "2.0.0 ok");
	/* control characters become '?', long text is cut */
	T_EQ_INT(dlv_reply_format(pkt, &len, QID, 3, 'Z', "a\nb"), 1);
	T_EQ_INT(dlv_reply_parse(pkt, len, &r), 1);
	T_EQ_STR(r.text, "a?b");
	memset(text, 'y', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	T_EQ_INT(dlv_reply_format(pkt, &len, QID, 3, 'D', text), 1);
	T_EQ_INT(dlv_reply_parse(pkt, len, &r), 1);
	T_EQ_INT(strlen(r.text), DLV_TEXT_MAX);
	T_EQ_INT(dlv_reply_format(pkt, &len, QID, 3, 'X', "t"), 0);
	/* no text at all is fine; junk is not */
	T_EQ_INT(dlv_reply_parse(QID " 1 D", sizeof(QID " 1 D") - 1, &r), 1);
	T_EQ_STR(r.text, "");
	T_EQ_INT(dlv_reply_parse(QID " 1 X t", sizeof(QID " 1 X t") - 1, &r),
	    0);
	T_EQ_INT(dlv_reply_parse(QID " 1 Kt", sizeof(QID " 1 Kt") - 1, &r), 0);
	T_EQ_INT(dlv_reply_parse(QID " 1", sizeof(QID " 1") - 1, &r), 0);
	T_EQ_INT(dlv_reply_parse(QID " 1 K a\nb", sizeof(QID " 1 K a\nb") - 1,
	    &r), 0);
}

static void
test_socket(void)
{
	char buf[DLV_PKT_MAX], c = 0;
	int sv[2], p[2], fd = -2;
	ssize_t n;

	if (!T_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0) ||
	    !T_CHECK(pipe(p) == 0))
		return;
	T_EQ_INT(dlv_send(sv[0], "hello", 5, p[0], 0), 1);
	T_EQ_INT(dlv_send(sv[0], "world!", 6, -1, 0), 1);
	n = dlv_recv(sv[1], buf, sizeof buf, &fd);
	T_EQ_MEM(buf, n > 0 ? (size_t)n : 0, "hello", 5);
	T_CHECK(fd >= 0 && fd != p[0]);
	T_CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	/* the passed fd is the pipe's read end */
	T_EQ_INT(write(p[1], "z", 1), 1);
	T_EQ_INT(fd >= 0 ? read(fd, &c, 1) : -1, 1);
	T_EQ_INT(c, 'z');
	if (fd >= 0)
		close(fd);
	n = dlv_recv(sv[1], buf, sizeof buf, &fd);
	T_EQ_MEM(buf, n > 0 ? (size_t)n : 0, "world!", 6);
	T_EQ_INT(fd, -1);
	/* a packet larger than the buffer is an error, not a split */
	T_EQ_INT(dlv_send(sv[0], "0123456789", 10, -1, 0), 1);
	T_EQ_INT(dlv_recv(sv[1], buf, 4, &fd), -1);
	/* EOF */
	close(sv[0]);
	T_EQ_INT(dlv_recv(sv[1], buf, sizeof buf, &fd), 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

static void
test_loop(void)
{
	static const char h1[] = "Received: x\nDelivered-To: a@b.test\n"
	    "Subject: s\n";
	static const char h2[] = "delivered-to:   <A@B.test>  \nX: y\n";
	static const char h3[] = "Delivered-To:\n a@b.test\n";
	static const char h4[] = "X-Delivered-To: a@b.test\n"
	    "Subject: Delivered-To: a@b.test\nDelivered-To: aa@b.test\n";

	T_EQ_INT(dlv_delivered_to(h1, sizeof h1 - 1, "a@b.test"), 1);
	T_EQ_INT(dlv_delivered_to(h1, sizeof h1 - 1, "c@b.test"), 0);
	T_EQ_INT(dlv_delivered_to(h2, sizeof h2 - 1, "a@b.test"), 1);
	T_EQ_INT(dlv_delivered_to(h3, sizeof h3 - 1, "a@b.test"), 1);
	T_EQ_INT(dlv_delivered_to(h4, sizeof h4 - 1, "a@b.test"), 0);
	T_EQ_INT(dlv_delivered_to("", 0, "a@b.test"), 0);
	T_EQ_INT(dlv_delivered_to(NULL, 0, "a@b.test"), 0);
	/* no final LF */
	T_EQ_INT(dlv_delivered_to("Delivered-To: a@b.test", 22, "a@b.test"),
	    1);
}

int
main(void)
{
	test_request();
	test_reply();
	test_socket();
	test_loop();
	T_DONE();
}
