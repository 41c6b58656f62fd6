/*
 * dlv: the protocol between tern-queued and tern-deliverd, and the pure
 * parsers of the delivery side.
 *
 * The two talk over a SOCK_SEQPACKET socketpair made by tern-start
 * (fd DLV_FD in both), so every packet is one message and the kernel
 * keeps the boundaries.  Text is ASCII, fields separated as below; every
 * field is parsed with explicit bounds.
 *
 *   request  (queued -> deliverd), with the open mess/ID fd attached as
 *            SCM_RIGHTS:
 *              "QID IDX OFFSET\nSENDER\nRECIPIENT\n"
 *            IDX is the recipient's index in the envelope, OFFSET the
 *            byte offset of the message (after the envelope) in the fd.
 *   reply    (deliverd -> queued):
 *              "QID IDX C TEXT"
 *            C is K (delivered), Z (temporary failure: retry later) or
 *            D (permanent failure: bounce); TEXT starts with an RFC 3463
 *            status code, e.g. "5.1.1 no such user".
 */
#ifndef TERN_DLV_H
#define TERN_DLV_H

#include <stddef.h>
#include <sys/types.h>

#include "queue/qid.h"

#define DLV_FD 3            /* the socket, in both processes */
#define DLV_PKT_MAX 2048    /* largest packet either way */
#define DLV_ADDR_MAX 512    /* an envelope address (RFC 5321 allows 256) */
#define DLV_TEXT_MAX 400    /* result text (same as QSTATE_TEXT_MAX) */
#define DLV_IDX_MAX 100000  /* above any recipient count of a message */

struct dlv_req {
	char qid[QID_SIZE];
	unsigned long idx;
	off_t off;
	char sender[DLV_ADDR_MAX + 1];  /* "" for <> */
	char rcpt[DLV_ADDR_MAX + 1];
};

struct dlv_reply {
	char qid[QID_SIZE];
	unsigned long idx;
	char code;                      /* 'K', 'Z' or 'D' */
	char text[DLV_TEXT_MAX + 1];
};

/* Format a request into pkt (DLV_PKT_MAX bytes); *len_r its length.
 * 1 ok, 0 a field does not fit or holds a newline. */
int dlv_req_format(char *pkt, size_t *len_r, const char *qid,
    unsigned long idx, off_t off, const char *sender, const char *rcpt);
/* Parse a request packet.  1 ok, 0 malformed. */
int dlv_req_parse(const char *pkt, size_t len, struct dlv_req *r);
/* Format a reply; text is cut at DLV_TEXT_MAX and control characters
 * become '?'.  1 ok, 0 bad code or qid. */
int dlv_reply_format(char *pkt, size_t *len_r, const char *qid,
    unsigned long idx, char code, const char *text);
/* Parse a reply packet.  1 ok, 0 malformed. */
int dlv_reply_parse(const char *pkt, size_t len, struct dlv_reply *r);

/*
 * Send one packet, with fd attached when fd >= 0.  flags go to sendmsg
 * (MSG_DONTWAIT for a caller that must not block).  1 sent, -1 error
 * (EAGAIN when it would block, EPIPE when the peer is gone).
 */
int dlv_send(int sock, const void *p, size_t n, int fd, int flags);
/*
 * Receive one packet of at most n bytes; a passed fd (close-on-exec)
 * goes to *fd_r, else *fd_r = -1.  Returns the length, 0 at EOF (peer
 * gone), -1 error (EMSGSIZE for a truncated packet or an unexpected
 * number of fds; nothing is leaked).
 */
ssize_t dlv_recv(int sock, void *p, size_t n, int *fd_r);

/*
 * 1 if the header section hdr[0..len) has a "Delivered-To:" field whose
 * value is addr (ASCII case-insensitive, optional angle brackets and
 * surrounding white space ignored; folded lines are unfolded), else 0.
 * The loop check of local delivery.
 */
int dlv_delivered_to(const char *hdr, size_t len, const char *addr);

#endif
