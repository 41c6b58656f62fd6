/*
 * rmt: the tern-queued <-> tern-remote packets (see rmt.h).  Pure
 * formatters and parsers on (bytes, length); the packets travel with
 * dlv_send and dlv_recv like tern-deliverd's.  The field helpers are
 * shared with dlv.c through pkt_int.h.
 */
#include <stdio.h>
#include <string.h>

#include "util/str.h"
#include "queue/qid.h"
#include "queue/pkt_int.h"
#include "queue/rmt.h"

static int
rmt_code_ok(char c)
{
	return c == 'K' || c == 'Z' || c == 'D';
}

/* 1 if idx[0..n) holds v */
static int
rmt_has(const unsigned long *idx, size_t n, unsigned long v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (idx[i] == v)
			return 1;
	return 0;
}

/* DEST: 1 to RMT_DEST_MAX bytes, none a space, a control character or
 * DEL (UTF-8 domains pass) */
static int
rmt_dest_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RMT_DEST_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

int
rmt_job_format(char *pkt, size_t *len_r, const struct rmt_job *j)
{
	size_t o, i;
	int n;

	if (!qid_valid(j->qid) || j->n == 0 || j->n > RMT_JOB_RCPT_MAX ||
	    !rmt_dest_ok(j->dest, strlen(j->dest)))
		return 0;
	for (i = 0; i < j->n; i++)
		if (j->idx[i] > RMT_IDX_MAX || rmt_has(j->idx, i, j->idx[i]))
			return 0;
	n = snprintf(pkt, RMT_PKT_MAX, "%s %s", j->qid, j->dest);
	if (n < 0 || n >= RMT_PKT_MAX)
		return 0;
	o = (size_t)n;
	/* RMT_JOB_RCPT_MAX indexes of at most 7 bytes each fit */
	for (i = 0; i < j->n; i++) {
		n = snprintf(pkt + o, RMT_PKT_MAX - o, " %lu", j->idx[i]);
		if (n < 0 || (size_t)n >= RMT_PKT_MAX - o)
			return 0;
		o += (size_t)n;
	}
	*len_r = o;
	return 1;
}

int
rmt_job_parse(const char *pkt, size_t len, struct rmt_job *j)
{
	const char *f;
	size_t pos = 0, fl;
	unsigned long v;

	if (len > RMT_PKT_MAX)
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) || !pkt_qid(f, fl, j->qid))
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) || !rmt_dest_ok(f, fl))
		return 0;
	memcpy(j->dest, f, fl);
	j->dest[fl] = '\0';
	j->n = 0;
	while (pos <= len) {
		if (!pkt_field(pkt, len, &pos, ' ', &f, &fl)) {
			/* the last index runs to the end */
			f = pkt + pos;
			fl = len - pos;
			pos = len + 1;
		}
		if (j->n >= RMT_JOB_RCPT_MAX ||
		    !str_ulong(f, fl, RMT_IDX_MAX, &v) ||
		    rmt_has(j->idx, j->n, v))
			return 0;
		j->idx[j->n++] = v;
	}
	return 1;
}

/* A word for RELAY or TLS: s if it fits in max bytes and holds only
 * printable ASCII without spaces, else "-" (also for "" and NULL). */
static const char *
rmt_word(const char *s, size_t max)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return "-";
	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return "-";
	return s;
}

int
rmt_result_format(char *pkt, size_t *len_r, const struct rmt_result *r)
{
	int n;

	if (!qid_valid(r->qid) || r->idx > RMT_IDX_MAX || !rmt_code_ok(r->code))
		return 0;
	n = snprintf(pkt, RMT_PKT_MAX, "%s %lu %c %c %s %s ", r->qid, r->idx,
	    r->code, r->dsn ? 'd' : '-', rmt_word(r->relay, RMT_RELAY_MAX),
	    rmt_word(r->tls, RMT_TLS_MAX));
	/* the fields are bounded well below RMT_PKT_MAX - RMT_TEXT_MAX */
	if (n < 0 || n >= RMT_PKT_MAX - RMT_TEXT_MAX)
		return 0;
	*len_r = (size_t)n + pkt_text_put(pkt + n, r->text, RMT_TEXT_MAX);
	return 1;
}

/* Only printable ASCII, no control character, no byte over 0x7e. */
static int
rmt_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* RELAY or TLS field f[0..n): "-" is "", else 1..max printable bytes. */
static int
rmt_word_parse(const char *f, size_t n, char *out, size_t max)
{
	if (n == 1 && f[0] == '-') {
		out[0] = '\0';
		return 1;
	}
	if (n == 0 || n > max || !rmt_ascii(f, n))
		return 0;
	memcpy(out, f, n);
	out[n] = '\0';
	return 1;
}

int
rmt_result_parse(const char *pkt, size_t len, struct rmt_result *r)
{
	const char *f;
	size_t pos = 0, fl;

	if (len > RMT_PKT_MAX)
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) || !pkt_qid(f, fl, r->qid))
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !str_ulong(f, fl, RMT_IDX_MAX, &r->idx))
		return 0;
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) || fl != 1 ||
	    !rmt_code_ok(f[0]))
		return 0;
	r->code = f[0];
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) || fl != 1 ||
	    (f[0] != 'd' && f[0] != '-'))
		return 0;
	r->dsn = f[0] == 'd';
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl) ||
	    !rmt_word_parse(f, fl, r->relay, RMT_RELAY_MAX))
		return 0;
	/* TLS ends at a space before the text, or at the end (no text) */
	if (!pkt_field(pkt, len, &pos, ' ', &f, &fl)) {
		f = pkt + pos;
		fl = len - pos;
		pos = len;
	}
	if (!rmt_word_parse(f, fl, r->tls, RMT_TLS_MAX))
		return 0;
	fl = len - pos;
	if (fl > RMT_TEXT_MAX || !rmt_ascii(pkt + pos, fl))
		return 0;
	memcpy(r->text, pkt + pos, fl);
	r->text[fl] = '\0';
	return 1;
}
