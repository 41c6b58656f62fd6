/*
 * smtpparse: pure parsers for the untrusted text of an SMTP session.
 *
 * Everything here works on (bytes, length), allocates nothing and keeps
 * no state, so it is unit-tested and fuzzed without sockets (STYLE.md
 * rule 11).  tern-smtpd uses it for command lines, ESMTP parameters,
 * HELO names and the line ends of DATA lines; tern-remote may use the
 * same functions on replies later.
 *
 * Return convention: 1 ok, 0 syntax error (a static text for the reply
 * in *errmsg_r where there is one).  Nothing here fails with -1.
 */
#ifndef TERN_SMTPPARSE_H
#define TERN_SMTPPARSE_H

#include <stddef.h>

#define SMTP_VERB_MAX 16      /* longest verb we look up (+NUL below) */
#define SMTP_PARAMS_MAX 16    /* ESMTP parameters per MAIL/RCPT */
#define SMTP_KEYWORD_MAX 32   /* longest esmtp-keyword accepted */
#define SMTP_HELO_MAX 255     /* RFC 5321 4.5.3.1.2: a domain */

/*
 * Split a command line (line end already removed) into its verb and
 * argument.  The verb is 1..SMTP_VERB_MAX letters (RFC 5321 4.1.1:
 * "commands are character strings terminated by SP or CRLF"); it is
 * copied upper-cased into verb (size SMTP_VERB_MAX + 1).  The argument
 * starts after the spaces that follow the verb, with trailing spaces
 * and tabs removed; *arg_r and *arglen_r are set (length 0 when none).
 * Returns 1, or 0 when the line does not start with a plausible verb.
 */
int smtp_split(const char *line, size_t n, char verb[SMTP_VERB_MAX + 1],
    const char **arg_r, size_t *arglen_r);

/*
 * Check that arg[0..n) starts with keyword kw (e.g. "FROM:" or "TO:",
 * ASCII case-insensitive) and return what follows it, after any spaces:
 * RFC 5321 4.1.1.2 has no space after the colon, but "MAIL FROM: <a>"
 * is common and harmless, so we accept it (doc/VIOLATIONS.md).
 * Returns 1 (rest set), 0 if kw is not there.
 */
int smtp_keyword_arg(const char *arg, size_t n, const char *kw,
    const char **rest_r, size_t *restlen_r);

/* One esmtp-param; val is NULL when there was no "=". Both point into
 * the parsed text and are NOT NUL-terminated. */
struct smtp_param {
	const char *key;
	size_t keylen;
	const char *val;
	size_t vallen;
};

/*
 * Parse the Mail-parameters / Rcpt-parameters that follow the ">" of a
 * path (RFC 5321 4.1.2):
 *   esmtp-param   = esmtp-keyword ["=" esmtp-value]
 *   esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 *   esmtp-value   = 1*(%d33-60 / %d62-126)
 * separated by SP.  s[0..n) is the text right after ">": it must be
 * empty or start with a space.  Several spaces between parameters are
 * tolerated.  At most max (<= SMTP_PARAMS_MAX) parameters; a keyword
 * repeated (case-insensitively) is an error.  Returns 1 with *count_r
 * set, or 0 with *errmsg_r set.
 */
int smtp_params(const char *s, size_t n, struct smtp_param *p, size_t max,
    size_t *count_r, const char **errmsg_r);

/* 1 if parameter p has keyword key (ASCII case-insensitive). */
int smtp_param_is(const struct smtp_param *p, const char *key);

/*
 * 1 if s[0..n) is acceptable as the argument of HELO/EHLO: a domain or
 * an address literal ("[192.0.2.1]", "[IPv6:...]"), 1..SMTP_HELO_MAX
 * bytes of letters, digits, "-", ".", "_" (seen in the wild, harmless),
 * and inside brackets also ":".  This is a syntax check only; RFC 5321
 * 4.1.4 forbids refusing mail because the name does not verify.  The
 * name is later written into the Received header, so nothing that could
 * break that header (spaces, parentheses, ";", controls) gets through.
 */
int smtp_helo_ok(const char *s, size_t n);

/* How a line read up to and including its LF ends (flags). */
#define SMTP_EOL_CRLF   0x01  /* ends in CR LF */
#define SMTP_EOL_BARELF 0x02  /* ends in LF without CR (RFC 5321 2.3.8) */
#define SMTP_EOL_NONE   0x04  /* no LF at all (EOF inside the line) */
#define SMTP_BARE_CR    0x08  /* a CR not followed by LF inside the line */

/*
 * Classify line[0..n) as returned by io_getline: returns SMTP_EOL_* |
 * SMTP_BARE_CR flags and sets *textlen_r to the length without the line
 * end (CRLF, or the bare LF).
 */
unsigned smtp_line_end(const char *line, size_t n, size_t *textlen_r);

/* 1 if the header line text[0..n) is a "Received:" field (RFC 5321 4.4,
 * RFC 5322 3.6.7; the field name is case-insensitive, and RFC 5322
 * 4.5.3's obsolete WSP before the colon is accepted). */
int smtp_is_received(const char *text, size_t n);

#endif
