/*
 * rmt: the protocol between tern-queued and tern-remote, and its pure
 * parsers (the remote twin of lib/queue/dlv.h).
 *
 * The two talk over a SOCK_SEQPACKET socketpair made by tern-start:
 * RMT_FD_QUEUED in tern-queued, RMT_FD_REMOTE in tern-remote.  One packet
 * is one job or one result; text is ASCII and every field is bounded.
 *
 *   job     (queued -> remote), the open mess/ID fd attached (SCM_RIGHTS):
 *             "QID DEST IDX[ IDX...]"
 *           the recipients (indexes into the envelope) of one message
 *           that share one domain, at most RMT_JOB_RCPT_MAX of them;
 *           DEST is that domain in lower case (tern-remote hands the job
 *           to a connection it keeps open to the same destination).
 *           tern-remote reads the envelope (sender, DSN values) from the
 *           fd itself, so the packet stays small.
 *   result  (remote -> queued), one per recipient of a job:
 *             "QID IDX C F RELAY TLS TEXT"
 *           C is K (accepted by the next hop), Z (temporary failure) or
 *           D (permanent failure); F is "d" when the next hop offered DSN
 *           and took our NOTIFY/ORCPT (so a NOTIFY=SUCCESS notice is its
 *           job, RFC 3461 5.2.2), else "-"; RELAY is "host[ip]:port" of
 *           the last host talked to, or "-"; TLS the protocol version
 *           ("TLSv1.3") or "-"; TEXT the reply ("550 5.1.1 no such user")
 *           or tern-remote's own text starting with an RFC 3463 code
 *           ("4.4.1 connection refused by ...").
 */
#ifndef TERN_RMT_H
#define TERN_RMT_H

#include <stddef.h>

#include "queue/qid.h"

#define RMT_FD_QUEUED 4       /* the socket in tern-queued */
#define RMT_FD_REMOTE 3       /* the socket in tern-remote */
#define RMT_PKT_MAX 4096      /* largest packet either way */
#define RMT_JOB_RCPT_MAX 500  /* recipients of one job */
#define RMT_RELAY_MAX 300     /* "host[ip]:port": 255 + [IPv6] + port */
#define RMT_TLS_MAX 15        /* "TLSv1.3" */
#define RMT_TEXT_MAX 400      /* same as QSTATE_TEXT_MAX */
#define RMT_IDX_MAX 100000
#define RMT_DEST_MAX 255      /* a domain (RFC 5321 4.5.3.1.2) */

struct rmt_job {
	char qid[QID_SIZE];
	char dest[RMT_DEST_MAX + 1];  /* no space, no control character */
	size_t n;
	unsigned long idx[RMT_JOB_RCPT_MAX];
};

struct rmt_result {
	char qid[QID_SIZE];
	unsigned long idx;
	char code;                       /* 'K', 'Z' or 'D' */
	int dsn;                         /* F was "d" */
	char relay[RMT_RELAY_MAX + 1];   /* "" for "-" */
	char tls[RMT_TLS_MAX + 1];       /* "" for "-" */
	char text[RMT_TEXT_MAX + 1];
};

/* Format a job into pkt (RMT_PKT_MAX bytes).  1 ok, 0 bad qid or dest,
 * no recipient, too many, or an index above RMT_IDX_MAX. */
int rmt_job_format(char *pkt, size_t *len_r, const struct rmt_job *j);
/* Parse a job packet.  1 ok, 0 malformed (also: an index repeated). */
int rmt_job_parse(const char *pkt, size_t len, struct rmt_job *j);
/* Format a result; relay and tls may be "" or NULL (sent as "-"), a
 * relay or tls with a space or a control character is sent as "-", text
 * is cut at RMT_TEXT_MAX with control characters made '?'.  1 ok, 0 bad
 * code or qid. */
int rmt_result_format(char *pkt, size_t *len_r, const struct rmt_result *r);
/* Parse a result packet.  1 ok, 0 malformed. */
int rmt_result_parse(const char *pkt, size_t len, struct rmt_result *r);

#endif
