/*
 * parse: the pure IMAP syntax layer of tern-imapd (RFC 3501 9 and
 * RFC 9051 9 "Formal Syntax").
 *
 * The session's reader assembles one whole command into a buffer: the
 * first line and, for every literal, the line's "{N}" / "{N+}" / "~{N}"
 * marker, CRLF and exactly N bytes, then the rest of the line, up to the
 * final CRLF (or bare LF).  struct imap_p is a cursor over that buffer;
 * each reader takes one token at the cursor and moves past it.
 *
 * Return convention of every reader: 1 ok, 0 syntax error (p->err holds a
 * short static English text for the BAD reply; p->pos may have moved, the
 * caller just replies BAD), -1 error with errno (ENOMEM).  Values that
 * point into the command ("points into s") stay valid as long as it does.
 * Nothing here reads past p->n, allocates in proportion to a number read
 * from the input, or recurses.
 *
 * Also here: sequence sets (seqset.c), modified UTF-7 and UTF-8 checks
 * (mutf7.c), dates (imapdate.c) and LIST wildcards (listmatch.c).
 */
#ifndef TERN_IMAP_PARSE_H
#define TERN_IMAP_PARSE_H

#include <stddef.h>

#include "util/buf.h"

#define IMAP_LITERAL_DIGITS 10  /* at most 10 digits in {N} */

struct imap_p {
	const char *s;    /* the assembled command (not NUL-terminated) */
	size_t n, pos;    /* its length; the cursor */
	const char *err;  /* static text of the first syntax error, or NULL */
};

/* Start a cursor at s[0]; err NULL.  The first error is kept: a caller
 * that tries one reader and then another sets p->err = NULL between. */
void imap_p_init(struct imap_p *p, const char *s, size_t n);
/* Record msg (static text) as the error unless one is set; returns 0, so
 * that a reader can "return imap_p_fail(p, \"Bad thing\");". */
int imap_p_fail(struct imap_p *p, const char *msg);
/* 1 when only the final CRLF (or LF, or nothing) is left, else 0. */
int imap_p_end(const struct imap_p *p);
/* The next byte (0..255), or -1 at the end (the final CRLF counts as
 * the end). */
int imap_p_peek(const struct imap_p *p);
/* Take c if it is next: 1, else 0 (err set). */
int imap_p_char(struct imap_p *p, char c);
/* Exactly one SP: 1, else 0 ("Missing SP"). */
int imap_p_sp(struct imap_p *p);
/* tag = 1*<ASTRING-CHAR except "+">; points into s. */
int imap_p_tag(struct imap_p *p, const char **s_r, size_t *n_r);
/* atom = 1*ATOM-CHAR; points into s (command names, search keys, fetch
 * attribute names).  Case is left as sent. */
int imap_p_atom(struct imap_p *p, const char **s_r, size_t *n_r);
/*
 * astring = 1*ASTRING-CHAR / string.  The value is copied into out
 * (reset first).  A quoted string takes the escapes \" and \\ only and
 * may hold 8-bit bytes (UTF-8, as RFC 9051 allows; we do not check that
 * they form UTF-8), never NUL, CR or LF.  A literal holding NUL is
 * refused ("NUL in string": RFC 3501 9, CHAR8 excludes NUL); literal8
 * ("~{N}") is not a string.
 */
int imap_p_astring(struct imap_p *p, struct buf *out);
/* string = quoted / literal, as in imap_p_astring. */
int imap_p_string(struct imap_p *p, struct buf *out);
/* nstring = string / NIL (any case): *nil_r 1 and out empty for NIL. */
int imap_p_nstring(struct imap_p *p, struct buf *out, int *nil_r);
/* number = 1*DIGIT fitting 32 bits (0..4294967295). */
int imap_p_number(struct imap_p *p, unsigned long *r);
/* nz-number = digit-nz *DIGIT, 1..4294967295. */
int imap_p_nznumber(struct imap_p *p, unsigned long *r);
/* mod-sequence-value (RFC 7162 7): 1*DIGIT up to 2^63-1; 0 is accepted
 * too, the caller checks. */
int imap_p_number64(struct imap_p *p, unsigned long long *r);
/*
 * A literal "{N}" / "{N+}" (RFC 7888) or literal8 "~{N}" / "~{N+}"
 * (RFC 3516, RFC 9051) without copying: *s_r points at its N bytes, which
 * may hold anything (NUL too); *binary_r 1 for literal8.  The marker is
 * checked again: at most IMAP_LITERAL_DIGITS digits, then CRLF or LF, and
 * N no more than the bytes left.  Used by APPEND for the message.
 */
int imap_p_literal(struct imap_p *p, const char **s_r, size_t *n_r,
    int *binary_r);
/* flag / flag-keyword / "\*" (flag-perm): "\" atom or atom, returned with
 * its backslash; points into s. */
int imap_p_flag(struct imap_p *p, const char **s_r, size_t *n_r);
/* mailbox = "INBOX" / astring; any case of "inbox" becomes "INBOX"
 * (RFC 3501 5.1).  The name is returned as sent (modified UTF-7 or
 * UTF-8): imap_mutf7_decode is the caller's step. */
int imap_p_mailbox(struct imap_p *p, struct buf *out);
/* list-mailbox = 1*list-char / string (list-char = ATOM-CHAR / "%" / "*"
 * / "]"); into out (reset first). */
int imap_p_list_mailbox(struct imap_p *p, struct buf *out);

/*
 * The reader's check of one line s[0..n) as it arrives: the line ends with
 * a literal marker "{N}" / "{N+}" / "~{N}" just before its CRLF (or LF).
 * 1 with *len_r = N and *nonsync_r (1 for "+", RFC 7888 LITERAL+ /
 * LITERAL-), 0 no marker at the end, -1 a malformed marker at the end
 * ("{12a}", "{}", "{1+2}", more than IMAP_LITERAL_DIGITS digits).  A line
 * ending in "}" with no "{" in its last word (e.g. the atom "a}") has no
 * marker: 0.
 */
int imap_literal_tail(const char *line, size_t n, unsigned long long *len_r,
    int *nonsync_r);

/* ---- sequence sets (seqset.c) ---- */

#define IMAP_SEQ_STAR 0UL  /* '*' as parsed (numbers are nonzero) */

struct imap_range { unsigned long lo, hi; };
struct imap_seqset {
	struct imap_range *r;  /* n ranges in use of cap */
	size_t n, cap;
	int saved;             /* "$" (RFC 5182 SEARCHRES): no ranges */
};
#define IMAP_SEQSET_INIT { NULL, 0, 0, 0 }

/* Free r; the set is zeroed and reusable. */
void imap_seqset_free(struct imap_seqset *set);
/* n = 0, saved = 0; keeps the memory. */
void imap_seqset_reset(struct imap_seqset *set);
/* Append the range lo:hi (lo > hi is swapped; a range with
 * IMAP_SEQ_STAR is left for resolve).  1, or -1 ENOMEM. */
int imap_seqset_add(struct imap_seqset *set, unsigned long lo,
    unsigned long hi);
/*
 * sequence-set (seq-number = nz-number / "*", ranges "a:b", joined by
 * ","), or "$" (set->saved = 1, no ranges).  The set is reset first.
 * Ranges are kept as sent, '*' as IMAP_SEQ_STAR; imap_seqset_resolve
 * makes them usable.  "0" is a syntax error ("Bad sequence set").
 */
int imap_p_seqset(struct imap_p *p, struct imap_seqset *set);
/*
 * Replace IMAP_SEQ_STAR by max (the largest number in use), swap lo > hi
 * (RFC 9051 9: "4:2" = "2:4"), sort and merge: the set becomes sorted,
 * disjoint, non-adjacent ranges.  When max is 0 (an empty mailbox) a
 * range with '*' matches nothing and is dropped.  Numbers above max are
 * kept: the caller decides whether they are an error.
 */
void imap_seqset_resolve(struct imap_seqset *set, unsigned long max);
/* After resolve: 1 if v is in the set (binary search), else 0. */
int imap_seqset_has(const struct imap_seqset *set, unsigned long v);
/* After resolve: append "1:3,5,7:9" to out; an empty set appends
 * nothing.  1, or -1 ENOMEM. */
int imap_seqset_format(const struct imap_seqset *set, struct buf *out);

/* ---- mailbox names (mutf7.c) ---- */

/*
 * RFC 3501 5.1.3 modified UTF-7 s[0..n) -> UTF-8 into out (reset first).
 * 0 for anything not in the canonical form that imap_mutf7_encode makes,
 * so that a decoded name encodes back to the same bytes: a byte outside
 * 0x20..0x7e, bad base64 (RFC 3501 uses "," for "/", no "="), an "&" run
 * not closed by "-", nonzero or too many leftover bits, a run encoding
 * printable ASCII, a run right after another run, U+0000, an unpaired
 * surrogate.  "&-" is "&".  1 ok, -1 ENOMEM.
 */
int imap_mutf7_decode(const char *s, size_t n, struct buf *out);
/* UTF-8 s[0..n) -> modified UTF-7 into out (reset first).  0 if s is not
 * valid UTF-8 (imap_utf8_valid), 1 ok, -1 ENOMEM. */
int imap_mutf7_encode(const char *s, size_t n, struct buf *out);
/* 1 if s[0..n) is valid UTF-8 (no overlong forms, no surrogates, at most
 * U+10FFFF), else 0.  NUL is valid UTF-8 here; callers refuse it. */
int imap_utf8_valid(const char *s, size_t n);

/* ---- dates (imapdate.c) ---- */

/*
 * date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-"
 * date-month "-" date-year: "1-Feb-1994" or "01-Feb-1994", month names in
 * any case; *mon_r 1..12; the day is checked against the month (leap
 * years too); years 0000..9999.
 */
int imap_p_date(struct imap_p *p, int *y_r, int *mon_r, int *d_r);
/*
 * date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE ("17-Jul-1996 02:44:25 -0700"; the day may be " 7", "07"
 * or, leniently, "7"), as seconds since the epoch UTC.  Seconds 0..60
 * (a leap second counts as the next second), zone minutes 0..59.
 */
int imap_p_datetime(struct imap_p *p, long long *t_r);
/*
 * Append the date-time of t (seconds since the epoch) in the zone off_min
 * minutes east of UTC (-1439..1439, else UTC), with its quotes:
 * "\" 2-Dec-2026 20:38:16 +0000\"" (RFC 9051 date-day-fixed: a leading
 * space).  t is clamped to years 0000..9999.  1, or -1 ENOMEM.
 */
int imap_datetime_fmt(struct buf *out, long long t, int off_min);
/*
 * An RFC 5322 3.3 Date: header value s[0..n) ("Mon, 2 Dec 2026 10:00:00
 * +0100 (CET)"), obsolete forms of RFC 5322 4.3 tolerated: two- and
 * three-digit years, named zones (UT, GMT, Z, EST, EDT, CST, CDT, MST,
 * MDT, PST, PDT; military letters and unknown names count as UTC, as does
 * a missing zone), no day of week, no seconds, comments and folding
 * anywhere.  1 with *t_r in UTC seconds (and, unless zone_r is NULL, the
 * zone's offset in minutes east of UTC in *zone_r), 0 unparseable.
 */
int imap_rfc5322_date(const char *s, size_t n, long long *t_r, int *zone_r);
/* Days since 1970-01-01 of the proleptic Gregorian date y-mon-d
 * (negative before 1970).  mon 1..12, d 1..31: not checked. */
long long imap_days_from_civil(int y, int mon, int d);
/* The reverse: the date of day z (days since 1970-01-01). */
void imap_civil_from_days(long long z, int *y_r, int *mon_r, int *d_r);
/* 1 if d is a day of month mon (1..12) of year y, else 0. */
int imap_date_valid(int y, int mon, int d);
/* The month number 1..12 of a three-letter English name s[0..3) (any
 * case), or 0. */
int imap_month(const char *s);

/* ---- LIST wildcards (listmatch.c) ---- */

#define IMAP_LIST_MAX 1000  /* longest pattern and name imap_list_match takes */

/*
 * Does name match the LIST pattern (RFC 3501 6.3.8)?  "*" matches
 * anything, "%" anything but the hierarchy separator sep (sep 0: a flat
 * namespace, "%" is "*"); other bytes exactly, except that a name that is
 * INBOX or starts with "INBOX" sep (in any case) matches in its first five
 * bytes case-insensitively.  An NFA walk over the pattern: at most
 * (nlen + 1) * (plen + 1) steps, no backtracking.  1 match, 0 not (also
 * for a pattern or name over IMAP_LIST_MAX).  *prefix_r (may be NULL): 1
 * if name followed by sep and more could match (the name has children the
 * pattern could list: \HasChildren, LIST-EXTENDED CHILDINFO), else 0.
 */
int imap_list_match(const char *pat, size_t plen, const char *name,
    size_t nlen, char sep, int *prefix_r);

#endif
