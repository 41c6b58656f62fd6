/*
 * dataparse: SMTP DATA content, line by line (the rules are in
 * dataparse.h).  One byte at a time: a CR is held back until the next
 * byte says whether it was the first half of CR LF or a bare CR, so a
 * CR LF split across two feeds is still one line end.
 */
#include <string.h>

#include "mail/dataparse.h"

void
dataparse_init(struct dataparse *p, char *line, size_t max)
{
	memset(p, 0, sizeof *p);
	p->line = line;
	p->max = max;
	p->first = -1;
	/* the DATA command line ended in CR LF: an empty message is
	 * ".\r\n" right away */
	p->after_crlf = 1;
}

/* One text byte of the current line. */
static void
dp_keep(struct dataparse *p, char c)
{
	if (p->seen == 0)
		p->first = (unsigned char)c;
	p->seen++;
	/* the limit counts a CR LF after the text (RFC 5321 4.5.3.1.6) */
	if (p->seen > p->max || p->max - p->seen < 2)
		p->flags |= DATAPARSE_LONG;
	else
		p->line[p->len++] = c;
}

/* The line ended with eol (SMTP_EOL_CRLF or SMTP_EOL_BARELF). */
static int
dp_line(struct dataparse *p, unsigned eol, struct dataparse_line *l_r)
{
	unsigned f = p->flags | eol;
	const char *t = p->line;
	size_t len = p->len;

	if (p->seen > p->max || p->max - p->seen < 2)
		f |= DATAPARSE_LONG;  /* an empty line with max < 2 */
	/* RFC 5321 4.1.1.4: CR LF . CR LF, nothing else (smuggling) */
	if (p->after_crlf && eol == SMTP_EOL_CRLF && p->seen == 1 &&
	    p->first == '.') {
		p->after_crlf = 1;
		return DATAPARSE_END;
	}
	if (p->first == '.') {
		/* RFC 5321 4.5.2, whatever ended the line before */
		f |= DATAPARSE_DOT;
		if (len > 0) {
			t++;
			len--;
		}
	}
	p->line[p->len] = '\0';
	l_r->text = t;
	l_r->len = len;
	l_r->flags = f;
	p->after_crlf = eol == SMTP_EOL_CRLF;
	p->len = p->seen = 0;
	p->flags = 0;
	p->first = -1;
	return DATAPARSE_LINE;
}

int
dataparse_feed(struct dataparse *p, const char *b, size_t n,
    size_t *used_r, struct dataparse_line *l_r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = b[i];

		if (p->cr) {
			p->cr = 0;
			if (c == '\n') {
				*used_r = i + 1;
				return dp_line(p, SMTP_EOL_CRLF, l_r);
			}
			/* RFC 5321 2.3.8: a CR alone is no line end */
			p->flags |= SMTP_BARE_CR;
			dp_keep(p, '\r');
		}
		if (c == '\r') {
			p->cr = 1;
		} else if (c == '\n') {
			*used_r = i + 1;
			return dp_line(p, SMTP_EOL_BARELF, l_r);
		} else {
			dp_keep(p, c);
		}
	}
	*used_r = n;
	return DATAPARSE_MORE;
}
