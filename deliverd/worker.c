/*
 * worker: mailbox workers of tern-deliverd.
 *
 * Every mailbox of the users map belongs to one owner, virtual_user, so
 * a process that has become virtual_user (no capabilities) can deliver
 * to all of them one after another: the parent keeps up to
 * local_concurrency such workers instead of forking a child per
 * delivery.  That takes nothing from the privilege separation: a worker
 * can reach only what virtual_user can reach, which every one of those
 * mailboxes already is; mailboxes of system accounts (each its own uid)
 * and aliases still get a child of their own (main.c).
 *
 * The parent resolves the recipient (the worker, as virtual_user, could
 * not reopen a replaced users map) and sends a job: the request packet
 * of tern-queued as it came and the target, each field with its length
 * in front ("LLLL" hex digits, then the bytes), and the queue file's fd.
 * The worker answers each job with one result packet "C TEXT"
 * (dd_result_send's format) and waits for the next; at EOF it exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/str.h"
#include "queue/dlv.h"
#include "deliverd.h"

#define DW_FIELDS 5   /* request, user, maildir, tag, quota */

static int
dw_field(char *out, size_t outsz, size_t *len, const char *p, size_t n)
{
	char l[8];

	if (n > 0xffff || *len + 4 + n > outsz)
		return 0;
	snprintf(l, sizeof l, "%04zx", n);
	memcpy(out + *len, l, 4);
	memcpy(out + *len + 4, p, n);
	*len += 4 + n;
	return 1;
}

int
dw_pack(char *out, size_t outsz, size_t *len_r, const char *req,
    size_t reqlen, const struct local_target *t)
{
	char quota[32];
	size_t len = 0;

	snprintf(quota, sizeof quota, "%lu", t->quota);
	if (!dw_field(out, outsz, &len, req, reqlen) ||
	    !dw_field(out, outsz, &len, t->user.s, t->user.len) ||
	    !dw_field(out, outsz, &len, t->maildir.s, t->maildir.len) ||
	    !dw_field(out, outsz, &len, t->tag.s, t->tag.len) ||
	    !dw_field(out, outsz, &len, quota, strlen(quota)))
		return 0;
	*len_r = len;
	return 1;
}

/* The next field of p[*at..n): its bytes and length.  1 or 0. */
static int
dw_next(const char *p, size_t n, size_t *at, const char **f, size_t *flen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, v = 0;

	if (n - *at < 4)
		return 0;
	for (i = 0; i < 4; i++) {
		const char *h = memchr(hex, p[*at + i], 16);

		if (h == NULL || p[*at + i] == '\0')
			return 0;
		v = v * 16 + (size_t)(h - hex);
	}
	*at += 4;
	if (v > n - *at)
		return 0;
	*f = p + *at;
	*flen = v;
	*at += v;
	return 1;
}

int
dw_unpack(const char *p, size_t n, struct dlv_req *rq, struct local_target *t)
{
	const char *f[DW_FIELDS];
	size_t fl[DW_FIELDS], at = 0, i;
	unsigned long q;
	char num[32];

	for (i = 0; i < DW_FIELDS; i++)
		if (!dw_next(p, n, &at, &f[i], &fl[i]))
			return 0;
	if (at != n || !dlv_req_parse(f[0], fl[0], rq) ||
	    fl[2] == 0 || fl[2] >= FS_PATH_MAX || memchr(f[2], '\0', fl[2]) ||
	    memchr(f[1], '\0', fl[1]) || memchr(f[3], '\0', fl[3]) ||
	    fl[4] == 0 || fl[4] >= sizeof num)
		return 0;
	memcpy(num, f[4], fl[4]);
	num[fl[4]] = '\0';
	if (!str_ulongs(num, (unsigned long)-1, &q))
		return 0;
	t->kind = LOCAL_USER;
	t->quota = q;
	if (buf_copy(&t->user, f[1], fl[1]) < 0 ||
	    buf_copy(&t->maildir, f[2], fl[2]) < 0 ||
	    buf_copy(&t->tag, f[3], fl[3]) < 0)
		return -1;
	return 1;
}

void
dw_main(int sock, struct local_maps *lm, const char *enqueue)
{
	static char pkt[DW_PKT_MAX];
	struct dlv_req rq;
	struct dd_result r;

	for (;;) {
		struct local_target t;
		struct dd_ctx c;
		ssize_t n;
		int fd = -1, u;

		n = dlv_recv(sock, pkt, sizeof pkt, &fd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);   /* the parent closed the socket, or is gone */
		memset(&t, 0, sizeof t);
		memset(&c, 0, sizeof c);
		if ((u = dw_unpack(pkt, (size_t)n, &rq, &t)) <= 0)
			dd_set(&r, 'Z', "4.3.0 mailbox worker: %s",
			    u < 0 ? "out of memory" : "malformed job");
		else if (fd < 0)
			dd_set(&r, 'Z', "4.3.0 mailbox worker: no message");
		else {
			c.lm = lm;
			c.rq = &rq;
			c.fd = fd;
			c.enqueue = enqueue;
			c.dropped = 1;
			alarm(DD_TIMEOUT);   /* as for a child: SIGALRM ends it */
			if (dd_prepare(&c, &r))
				dd_mailbox(&c, &t, rq.rcpt, &r);
			alarm(0);
		}
		if (fd >= 0)
			close(fd);
		buf_free(&c.hdr);
		local_target_free(&t);
		/* one write on a SEQPACKET socket is one packet; a parent
		 * that is gone shows as EOF at the next recv */
		dd_result_send(sock, &r);
	}
}
