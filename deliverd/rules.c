/*
 * rules: the per-user mail rules of tern-deliverd and the spam mark.
 *
 * A mailbox owner may keep a file MAILDIR/tern-rules (documented in
 * tern-deliverd(8)), one rule a line:
 *
 *   block   PATTERN   refuse the mail (permanent failure, 5.7.1)
 *   discard PATTERN   accept it and throw it away
 *   safe    PATTERN   never file it into Junk
 *
 * PATTERN is an address or "@domain", compared ASCII case-insensitively
 * with the envelope sender and with each address of the From: field.
 * The file is read by the delivery child after it has become the
 * mailbox owner, so it can only ever read what the owner can; it is
 * bounded (DD_RULES_MAX bytes, DD_RULES_LINE_MAX a line) and a line it
 * does not understand is skipped with a log line.
 *
 * Mail that tern-smtpd marked with "X-Tern-Spam: yes" (it strips that
 * field from what clients send, so only the server's mark is there) goes
 * to the Maildir++ folder ".Junk" unless a safe rule matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "mail/hdr.h"
#include "deliverd.h"

#define DD_RULES_MAX (64 * 1024)  /* bytes of tern-rules read */
#define DD_RULES_LINE_MAX 512     /* bytes of one rule line */
#define DD_FROM_MAX 20            /* addresses of From: compared */

/* 1 if pattern p[0..pn) matches the canonical address a. */
static int
rule_match(const char *p, size_t pn, const char *a)
{
	const char *dom = addr_domain(a);

	if (a[0] == '\0')
		return 0;
	if (pn > 1 && p[0] == '@')
		return strlen(dom) == pn - 1 && str_ncaseeq(dom, p + 1, pn - 1);
	return strlen(a) == pn && str_ncaseeq(a, p, pn);
}

/* The canonical addresses of the From: field(s) of the header section,
 * each followed by '\n', into out. */
static void
from_addrs(const char *h, size_t hlen, struct buf *out)
{
	struct hdr_field f;
	struct buf list = BUF_INIT, one = BUF_INIT;
	const char *msg, *p, *nl;
	size_t pos = 0;

	while (hdr_next(h, hlen, &pos, &f) == 1) {
		if (!hdr_is(&f, "From"))
			continue;
		buf_reset(&list);
		if (hdr_addrlist(f.value, f.vlen, DD_FROM_MAX, &list, &msg) <= 0)
			continue;
		for (p = list.s; p < list.s + list.len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(list.s + list.len - p));
			if (addr_parse(p, (size_t)(nl - p), ADDR_UTF8, &one,
			    &msg) == 1 && (buf_cat(out, one.s, one.len) < 0 ||
			    buf_catc(out, '\n') < 0))
				break;
		}
	}
	buf_free(&list);
	buf_free(&one);
}

/* The DR_* flag of one rule line l[0..n) for the sender and the From:
 * addresses; 0 when it does not match or is a comment. */
static unsigned
rule_line(const char *qid, const char *l, size_t n, const char *sender,
    const struct buf *from, const char *file, unsigned lineno)
{
	static const struct { const char *word; unsigned flag; } words[] = {
		{ "block", DR_BLOCK }, { "discard", DR_DISCARD },
		{ "safe", DR_SAFE },
	};
	const char *sp, *pat, *p, *nl;
	size_t wl, pn, k;

	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
		n--;
	while (n > 0 && (*l == ' ' || *l == '\t'))
		l++, n--;
	if (n == 0 || l[0] == '#')
		return 0;
	sp = str_chr(l, n, ' ');
	if (sp == NULL)
		sp = str_chr(l, n, '\t');
	wl = sp ? (size_t)(sp - l) : n;
	pat = sp ? str_skipws(sp) : l + n;
	pn = (size_t)(l + n - pat);
	for (k = 0; k < sizeof words / sizeof words[0]; k++)
		if (strlen(words[k].word) == wl &&
		    str_ncaseeq(l, words[k].word, wl))
			break;
	if (k == sizeof words / sizeof words[0] || pn == 0 ||
	    str_chr(pat, pn, ' ') || str_chr(pat, pn, '\t')) {
		log_warn("%s %s:%u: not a rule, skipped", qid, file, lineno);
		return 0;
	}
	if (rule_match(pat, pn, sender))
		return words[k].flag;
	for (p = from->s; p && p < from->s + from->len; p = nl + 1) {
		char a[HDR_ADDR_MAX + 1];
		size_t an;

		nl = memchr(p, '\n', (size_t)(from->s + from->len - p));
		an = (size_t)(nl - p);
		if (an > HDR_ADDR_MAX)
			continue;
		memcpy(a, p, an);
		a[an] = '\0';
		if (rule_match(pat, pn, a))
			return words[k].flag;
	}
	return 0;
}

unsigned
dd_rules(const char *qid, const char *maildir, const char *sender,
    const char *hdr, size_t hlen)
{
	static char text[DD_RULES_MAX + 1];
	char path[FS_PATH_MAX];
	struct buf from = BUF_INIT;
	unsigned flags = 0, lineno = 0;
	struct stat st;
	size_t pos = 0;
	ssize_t n;
	int fd;

	if (fs_join(path, sizeof path, maildir, DD_RULES_FILE) < 0)
		return 0;
	/* O_NONBLOCK: a FIFO put there must not hang the delivery */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("%s %s: %s", qid, path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warn("%s %s: not a regular file, ignored", qid, path);
		close(fd);
		return 0;
	}
	n = fd_read_full(fd, text, DD_RULES_MAX);
	close(fd);
	if (n <= 0)
		return 0;
	from_addrs(hdr, hlen, &from);
	while (pos < (size_t)n) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', (size_t)n - pos);
		size_t ln = nl ? (size_t)(nl - l) : (size_t)n - pos;

		pos += ln + 1;
		lineno++;
		if (ln > DD_RULES_LINE_MAX) {
			log_warn("%s %s:%u: line too long, skipped", qid, path,
			    lineno);
			continue;
		}
		flags |= rule_line(qid, l, ln, sender, &from, path, lineno);
	}
	buf_free(&from);
	return flags;
}

int
dd_is_spam(const char *hdr, size_t hlen)
{
	struct hdr_field f;
	struct buf v = BUF_INIT;
	size_t pos = 0;
	int spam = 0;

	while (!spam && hdr_next(hdr, hlen, &pos, &f) == 1) {
		if (!hdr_is(&f, "X-Tern-Spam"))
			continue;
		buf_reset(&v);
		if (hdr_unfold(&v, f.value, f.vlen) > 0 &&
		    str_casestart(buf_str(&v), "yes"))
			spam = 1;
	}
	buf_free(&v);
	return spam;
}
