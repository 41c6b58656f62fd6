/*
 * fuzz_smtpreply: lib/mail/smtpreply.c on arbitrary bytes.  The input is
 * cut at LF into lines fed to smtp_reply_line; each finished or refused
 * reply is printed with smtp_reply_str and, when complete, read as an
 * EHLO reply; then a new reply starts.  Invariants are checked with
 * abort() so that the plain driver sees them too.
 */
#include <stdlib.h>
#include <string.h>

#include "mail/smtpreply.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
check(const struct smtp_reply *r)
{
	char out[128];
	struct smtp_ext x;

	if (r->textlen > SMTP_REPLY_TEXT_MAX || r->text[r->textlen] != '\0' ||
	    strlen(r->status) >= SMTP_STATUS_SIZE ||
	    r->nlines > SMTP_REPLY_LINES_MAX)
		abort();
	if (r->nlines > 0 && (r->code < 200 || r->code > 599))
		abort();
	smtp_reply_str(r, out, sizeof out);
	if (strlen(out) >= sizeof out)
		abort();
	smtp_reply_str(r, out, 1);
	if (smtp_ehlo_parse(r, &x) == 1 &&
	    (!r->done || r->code < 200 || r->code > 299))
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct smtp_reply r;
	const char *s = (const char *)data;
	size_t pos = 0;

	smtp_reply_init(&r);
	while (pos < size) {
		const char *e = memchr(s + pos, '\n', size - pos);
		size_t n = e ? (size_t)(e - (s + pos)) : size - pos;
		int rc = smtp_reply_line(&r, s + pos, n);

		if (rc < 0 || rc > 2)
			abort();
		check(&r);
		if (rc != 1)
			smtp_reply_init(&r);
		pos += n + 1;
	}
	return 0;
}
