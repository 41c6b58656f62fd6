/*
 * smtpparse: pure parsers for the untrusted text of an SMTP session.
 *
 * Everything here works on (bytes, length), allocates nothing and keeps
 * no state, so it is unit-tested without sockets (doc/CONVENTIONS.md
 * rule 11; there is no fuzz target yet).  tern-smtpd uses it for command
 * lines, ESMTP parameters, HELO names and the line ends of DATA lines;
 * tern-remote may use the same functions on replies later.
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

/* ---- ESMTP extensions (smtpparse_ext.c) ---------------------------- */

/* RFC 3461 4.4 and 4.2: ENVID at most 100, ORCPT at most 500 characters. */
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500
/* RFC 4954 4: a SASL mechanism name is 1..20 of A-Z 0-9 - _ */
#define SMTP_MECH_MAX 20

/*
 * 1 if s[0..n) is xtext (RFC 3461 4): characters 33..126 except "+" and
 * "=", and "+" followed by two upper-case hex digits.  The empty string
 * is xtext; callers that need a value check the length.
 */
int smtp_xtext_ok(const char *s, size_t n);

/*
 * Decode xtext s[0..n) into out (room for outsz bytes with a NUL).
 * Returns 1 with *len_r set, 0 if s is not xtext, the result does not
 * fit, or it decodes to a control character (which no caller wants).
 */
int smtp_xtext_decode(const char *s, size_t n, char *out, size_t outsz,
    size_t *len_r);

/* NOTIFY flags (RFC 3461 4.1) */
#define SMTP_NOTIFY_NEVER   0x01
#define SMTP_NOTIFY_SUCCESS 0x02
#define SMTP_NOTIFY_FAILURE 0x04
#define SMTP_NOTIFY_DELAY   0x08

/*
 * The value of NOTIFY= (RFC 3461 4.1): "NEVER" alone, or a comma list of
 * SUCCESS, FAILURE, DELAY (case-insensitive, each at most once).
 * 1 with *flags_r set, 0 syntax error.
 */
int smtp_dsn_notify(const char *s, size_t n, unsigned *flags_r);

/* The value of RET= (RFC 3461 4.3): 'F' for FULL, 'H' for HDRS; 0 if
 * neither. */
char smtp_dsn_ret(const char *s, size_t n);

/*
 * The value of ORCPT= (RFC 3461 4.2): addr-type ";" xtext, where
 * addr-type is an atom of letters, digits and "-" (e.g. "rfc822",
 * "utf-8" of RFC 6533), and the whole at most SMTP_ORCPT_MAX.  1 ok,
 * 0 syntax error.
 */
int smtp_dsn_orcpt(const char *s, size_t n);

/*
 * The argument of BDAT (RFC 3030 2): chunk-size [SP "LAST"]; the size
 * is 1..19 digits (a bigger one is an error, not a wrap).  1 with
 * *size_r and *last_r set, 0 syntax error.
 */
int smtp_bdat_arg(const char *s, size_t n, unsigned long long *size_r,
    int *last_r);

/*
 * The argument of AUTH (RFC 4954 4): mechanism [SP initial-response].
 * The mechanism is copied upper-cased into mech; the initial response
 * (base64, or "=" for an empty one) is returned in *ir_r and *irlen_r, with
 * *ir_r NULL when there is none.  1 ok, 0 syntax error.
 */
int smtp_auth_arg(const char *s, size_t n, char mech[SMTP_MECH_MAX + 1],
    const char **ir_r, size_t *irlen_r);

/*
 * 1 if header line text[0..n) starts a field called name (ASCII
 * case-insensitive; WSP before the colon accepted, as for Received).
 */
int smtp_is_field(const char *text, size_t n, const char *name);

/* 1 if the header line text[0..n) is a "Received:" field (RFC 5321 4.4,
 * RFC 5322 3.6.7; the field name is case-insensitive, and RFC 5322
 * 4.5.3's obsolete WSP before the colon is accepted). */
int smtp_is_received(const char *text, size_t n);

#endif
