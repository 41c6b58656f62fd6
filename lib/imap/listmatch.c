/*
 * listmatch: the LIST / LSUB pattern match (RFC 3501 6.3.8, RFC 9051
 * 6.3.9): "*" matches any bytes, "%" any bytes but the hierarchy
 * separator, everything else itself; INBOX is case-insensitive (RFC 3501
 * 5.1), and so is the INBOX at the head of its children's names.
 *
 * The pattern is run as an NFA: the set of pattern positions alive after
 * each byte of the name, so the work is at most (name + 1) * (pattern + 1)
 * steps whatever the pattern (a backtracking matcher is exponential on
 * "%*%*%*...x").  The sets live on the stack: names and patterns are
 * limited to IMAP_LIST_MAX bytes.
 */
#include <string.h>
#include <strings.h>

#include "imap/parse.h"

/* Close over the wildcards: "*" and "%" also match nothing. */
static void
closure(const char *pat, size_t plen, unsigned char *alive)
{
	size_t i;

	for (i = 0; i < plen; i++)
		if (alive[i] && (pat[i] == '*' || pat[i] == '%'))
			alive[i + 1] = 1;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Feed byte c (at name position j; fold: compare case-insensitively)
 * from cur to next; 1 if any position is still alive. */
static int
step(const char *pat, size_t plen, const unsigned char *cur,
    unsigned char *next, char c, char sep, int fold)
{
	size_t i;
	int any = 0;

	memset(next, 0, plen + 1);
	for (i = 0; i < plen; i++) {
		if (!cur[i])
			continue;
		if (pat[i] == '*' || (pat[i] == '%' && (sep == '\0' || c != sep)))
			next[i] = any = 1;
		else if (pat[i] == c || (fold && pat[i] != '%' &&
		    lower((unsigned char)pat[i]) == lower((unsigned char)c)))
			next[i + 1] = any = 1;
	}
	closure(pat, plen, next);
	return any;
}

int
imap_list_match(const char *pat, size_t plen, const char *name,
    size_t nlen, char sep, int *prefix_r)
{
	unsigned char a[IMAP_LIST_MAX + 1], b[IMAP_LIST_MAX + 1];
	unsigned char *cur = a, *next = b, *t;
	size_t j;
	int inbox, alive = 1;

	if (prefix_r != NULL)
		*prefix_r = 0;
	if (plen > IMAP_LIST_MAX || nlen > IMAP_LIST_MAX)
		return 0;
	inbox = nlen >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (nlen == 5 || (sep != '\0' && name[5] == sep));
	memset(cur, 0, plen + 1);
	cur[0] = 1;
	closure(pat, plen, cur);
	for (j = 0; j < nlen && alive; j++) {
		alive = step(pat, plen, cur, next, name[j], sep,
		    inbox && j < 5);
		t = cur;
		cur = next;
		next = t;
	}
	if (!alive)
		return 0;
	/* children: name, sep and at least one more byte could match: a
	 * position before the pattern's end is alive after the sep (every
	 * rest of a pattern matches some nonempty name) */
	if (prefix_r != NULL && sep != '\0' &&
	    step(pat, plen, cur, next, sep, sep, 0))
		*prefix_r = memchr(next, 1, plen) != NULL;
	return cur[plen];
}
