/*
 * dlv: the tern-queued <-> tern-deliverd packets (see dlv.h) and the
 * Delivered-To loop check.  The formatters and parsers are pure functions
 * on (bytes, length) so they are unit-tested without sockets; dlv_send
 * and dlv_recv pass the fds with lib/util/io fd_send and fd_recv.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/io.h"
#include "util/str.h"
#include "queue/dlv.h"
#include "queue/qid.h"
#include "queue/pkt_int.h"

#define DLV_OFF_MAX ((unsigned long)1 << 40)  /* far above any message */

/* An address field: bounded, no control characters. */
static int
dlv_addr(const char *f, size_t n, char *out, int empty_ok)
{
	if (n > DLV_ADDR_MAX || (n == 0 && !empty_ok) || !str_printable(f, n))
		return 0;
	memcpy(out, f, n);
	out[n] = '\0';
	return 1;
}

int
dlv_req_format(char *pkt, size_t *len_r, const char *qid, unsigned long idx,
    off_t off, const char *sender, const char *rcpt)
{
	size_t sl = strlen(sender), rl = strlen(rcpt);
	int n;

	if (!qid_valid(qid) || idx > DLV_IDX_MAX || off < 0 ||
	    (unsigned long)off > DLV_OFF_MAX || sl > DLV_ADDR_MAX ||
	    rl == 0 || rl > DLV_ADDR_MAX || !str_printable(sender, sl) ||
	    !str_printable(rcpt, rl))
		return 0;
	n = snprintf(pkt, DLV_PKT_MAX, "%s %lu %llu\n%s\n%s\n", qid, idx,
	    (unsigned long long)off, sender, rcpt);
	if (n < 0 || n >= DLV_PKT_MAX)
		return 0;
	*len_r = (size_t)n;
	return 1;
}

int
dlv_req_parse(const char *pkt, size_t len, struct dlv_req *r)
{
	const char *f;
	size_t pos = 0, fl;
	unsigned long u;

	if (len > DLV_PKT_MAX)
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !pkt_qid(f, fl, r->qid))
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !str_ulong(f, fl, DLV_IDX_MAX, &r->idx))
		return 0;
	if (!pkt_field(pkt, len, &pos, '\n', &f, &fl) ||
	    !str_ulong(f, fl, DLV_OFF_MAX, &u))
		return 0;
	r->off = (off_t)u;
	if (!pkt_field(pkt, len, &pos, '\n', &f, &fl) ||
	    !dlv_addr(f, fl, r->sender, 1))
		return 0;
	if (!pkt_field(pkt, len, &pos, '\n', &f, &fl) ||
	    !dlv_addr(f, fl, r->rcpt, 0))
		return 0;
	return pos == len;
}

int
dlv_reply_format(char *pkt, size_t *len_r, const char *qid,
    unsigned long idx, char code, const char *text)
{
	int n;

	if (!qid_valid(qid) || (code != 'K' && code != 'Z' && code != 'D'))
		return 0;
	n = snprintf(pkt, DLV_PKT_MAX, "%s %lu %c ", qid, idx, code);
	if (n < 0 || n >= DLV_PKT_MAX - DLV_TEXT_MAX)
		return 0;
	*len_r = (size_t)n + pkt_text_put(pkt + n, text, DLV_TEXT_MAX);
	return 1;
}

int
dlv_reply_parse(const char *pkt, size_t len, struct dlv_reply *r)
{
	const char *f;
	size_t pos = 0, fl;

	if (len > DLV_PKT_MAX)
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !pkt_qid(f, fl, r->qid))
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !str_ulong(f, fl, DLV_IDX_MAX, &r->idx))
		return 0;
	if (pos >= len)
		return 0;
	r->code = pkt[pos++];
	if (r->code != 'K' && r->code != 'Z' && r->code != 'D')
		return 0;
	if (pos < len && pkt[pos++] != ' ')
		return 0;
	fl = len - pos;
	if (fl > DLV_TEXT_MAX || !str_printable(pkt + pos, fl))
		return 0;
	memcpy(r->text, pkt + pos, fl);
	r->text[fl] = '\0';
	return 1;
}

int
dlv_send(int sock, const void *p, size_t n, int fd, int flags)
{
	return fd_send(sock, p, n, fd, flags);
}

ssize_t
dlv_recv(int sock, void *p, size_t n, int *fd_r)
{
	return fd_recv(sock, p, n, fd_r);
}

/* Compare a header value v[0..n) with addr, ignoring white space and <>. */
static int
dlv_value_is(const char *v, size_t n, const char *addr)
{
	size_t al = strlen(addr);

	while (n > 0 && (*v == ' ' || *v == '\t' || *v == '\n')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	return n == al && str_ncaseeq(v, addr, n);
}

int
dlv_delivered_to(const char *hdr, size_t len, const char *addr)
{
	static const char name[] = "delivered-to:";
	size_t pos = 0, end, nl = sizeof name - 1;

	while (pos < len) {
		/* a field runs to the next LF not followed by SP/HTAB (RFC 5322
		 * 2.2.3 folding) */
		end = pos;
		for (;;) {
			const char *e = str_chr(hdr + end, len - end, '\n');

			end = e ? (size_t)(e - hdr) + 1 : len;
			if (end >= len || (hdr[end] != ' ' && hdr[end] != '\t'))
				break;
		}
		if (end - pos > nl && str_ncaseeq(hdr + pos, name, nl) &&
		    dlv_value_is(hdr + pos + nl, end - pos - nl, addr))
			return 1;
		pos = end;
	}
	return 0;
}
