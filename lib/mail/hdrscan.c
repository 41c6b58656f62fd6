/*
 * hdrscan: the header scan of tern-sendmail (lib/mail/hdrscan.h).
 *
 * Kept apart from tools/sendmail.c so that the part that reads untrusted
 * text (a message from any local user, cron job output) has no I/O and
 * can be tested on its own (doc/CONVENTIONS.md: parsers apart from session code).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mail/addr.h"
#include "mail/hdr.h"
#include "mail/hdrscan.h"

void
hdr_rcpts_init(struct hdr_rcpts *r, size_t max)
{
	r->list = (struct buf)BUF_INIT;
	r->n = 0;
	r->max = max;
}

void
hdr_rcpts_free(struct hdr_rcpts *r)
{
	buf_free(&r->list);
	r->n = 0;
}

/* 1 if the canonical address a is in r already */
static int
known(const struct hdr_rcpts *r, const char *a)
{
	const char *p, *end = r->list.s + r->list.len;

	for (p = r->list.s; p && p < end; p += strlen(p) + 1)
		if (strcmp(p, a) == 0)
			return 1;
	return 0;
}

/* One address a[0..n) from an address list: qualify, canonicalise, add. */
static int
add_one(struct hdr_rcpts *r, const char *a, size_t n, const char *domain,
    char *err)
{
	struct buf q = BUF_INIT, c = BUF_INIT;
	const char *msg;
	int ret = -1, k;

	if (buf_cat(&q, a, n) < 0 || (memchr(a, '@', n) == NULL &&
	    (buf_catc(&q, '@') < 0 || buf_cats(&q, domain) < 0)))
		goto out;
	k = addr_parse(q.s, q.len, ADDR_UTF8, &c, &msg);
	if (k < 0)
		goto out;
	ret = 0;
	if (k == 0)
		snprintf(err, HDRSCAN_ERR_MAX, "%.100s: %s", q.s, msg);
	else if (known(r, c.s))
		ret = 1;
	else if (r->n >= r->max)
		snprintf(err, HDRSCAN_ERR_MAX, "too many recipients (over %zu)",
		    r->max);
	else if (buf_cat(&r->list, c.s, c.len + 1) < 0)
		ret = -1;
	else
		r->n++, ret = 1;
out:
	buf_free(&q);
	buf_free(&c);
	return ret;
}

int
hdr_rcpts_add(struct hdr_rcpts *r, const char *a, size_t n,
    const char *domain, char *err)
{
	struct buf out = BUF_INIT;
	const char *msg, *p, *nl, *end;
	int ret = 1;

	/* no count limit here: duplicates do not count, and the output is
	 * bounded by n; add_one counts the distinct recipients */
	if (hdr_addrlist(a, n, SIZE_MAX, &out, &msg) < 0) {
		if (errno == ENOMEM)
			return -1;
		snprintf(err, HDRSCAN_ERR_MAX, "bad address list \"%.*s\": %s",
		    (int)(n > 80 ? 80 : n), a, errno == EMSGSIZE ?
		    "address too long" : msg);
		return 0;
	}
	end = out.s + out.len;
	for (p = out.s; ret == 1 && p && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ret = add_one(r, p, (size_t)(nl - p), domain, err);
	}
	buf_free(&out);
	return ret;
}

int
hdr_scan(const char *h, size_t n, size_t max, int flags,
    const char *domain, struct hdr_rcpts *rcpts, struct hdr_scan *out,
    char *err)
{
	struct hdr_field f;
	size_t pos = 0;
	int r;

	out->has_from = out->has_date = out->has_msgid = 0;
	if (n > max) {
		snprintf(err, HDRSCAN_ERR_MAX, "header section over %zu bytes",
		    max);
		return 0;
	}
	while (hdr_next(h, n, &pos, &f) == 1) {
		int bcc = hdr_is(&f, "Bcc");

		out->has_from |= hdr_is(&f, "From");
		out->has_date |= hdr_is(&f, "Date");
		out->has_msgid |= hdr_is(&f, "Message-ID");
		if ((flags & HDRSCAN_RCPTS) && (bcc || hdr_is(&f, "To") ||
		    hdr_is(&f, "Cc")) &&
		    (r = hdr_rcpts_add(rcpts, f.value, f.vlen, domain, err)) != 1)
			return r;
		/* Bcc never goes on: keeping it hidden is its point */
		if (!bcc && buf_cat(&out->keep, f.start, f.len) < 0)
			return -1;
	}
	return 1;
}
