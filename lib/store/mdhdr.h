/*
 * mdhdr: the header fields of ENVELOPE and of the common SEARCH keys,
 * cached per folder and UID, so that FETCH ENVELOPE and header searches
 * of a big mailbox do not open every message file in every session.
 *
 * A message file never changes once delivered (flags live in its name),
 * and a UID always names the same message within one UIDVALIDITY, so a
 * record never goes stale; the cache is dropped whole when the
 * UIDVALIDITY differs or the file is damaged.  Maildir/tern-imaphdr:
 *
 *     tern-imaphdr 2 UIDVALIDITY\n
 *     H UID LEN\n LEN octets \n           (repeated; a later record of a
 *                                          UID replaces an earlier one)
 *
 * The octets are the message's base name and a newline (a record is used
 * only for the message it was made from: a mailbox emptied and numbered
 * again within one second can have the same UIDVALIDITY), then the
 * header's fields named in MDH_FIELDS, each whole (folded lines kept,
 * CRLF ends), then the empty line: a header that imap_envelope() and
 * SEARCH read as the message's.  Records are
 * appended with O_APPEND under tern-imaphdr.lock, one write(2) per
 * command (or per MDH_PEND_MAX octets), so concurrent sessions never
 * interleave; a reader scans the record heads once
 * (reading in chunks, not keeping the file) and reads a record with
 * pread(2) when it is asked for.  A torn or malformed record (a crash
 * during a write) makes the reader drop the file (under
 * tern-imaphdr.lock) so that it starts again; so does a file over
 * MDH_FILE_MAX (records of expunged messages are not removed before).
 */
#ifndef TERN_MDHDR_H
#define TERN_MDHDR_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"

#define MDH_FILE "tern-imaphdr"
#define MDH_LOCK "tern-imaphdr.lock"
#define MDH_REC_MAX 65536           /* longer field sets are not cached */
#define MDH_FILE_MAX ((off_t)1 << 31)

/* The fields kept (case-insensitive), NULL-terminated. */
extern const char *const mdh_fields[];

#define MDH_PEND_MAX (1 << 20)      /* pending octets: written at once */

struct mdh_rec {
	unsigned long uid;
	off_t off;                  /* in the file, or in pend */
	size_t len;
	size_t seq;                 /* order added: the last one wins */
};

/* A table of records, sorted by UID when sorted (kept so while records
 * come in rising UID order, as FETCH 1:* and the file mostly give them,
 * so that a lookup after each addition costs no sort). */
struct mdh_tab {
	struct mdh_rec *r;
	size_t n, cap;
	int sorted;
};

struct mdh {
	char *dir;
	unsigned long validity;
	int fd;                     /* the file, for pread; -1 none */
	int scanned, broken;
	off_t end;                  /* scanned up to here */
	struct mdh_tab file;        /* the records in the file */
	struct mdh_tab pending;     /* the records in pend */
	size_t seq;
	struct buf pend;            /* records to append */
};

/* Start for folder dir at UIDVALIDITY validity; nothing is read yet.
 * 1 or -1. */
int mdh_open(struct mdh *h, const char *dir, unsigned long validity);
/* The cached fields of uid, whose file's base name is base[0..baselen),
 * into out (reset): 1 found, 0 not cached (or cached for another
 * message), -1 error.  The first call reads the file's record heads. */
int mdh_get(struct mdh *h, unsigned long uid, const char *base, size_t baselen,
    struct buf *out);
/* Cache the fields p[0..n) (from mdh_extract) for uid and its base name;
 * written by the next mdh_flush, or at once when MDH_PEND_MAX octets
 * wait.  1, 0 too long to cache, -1 error. */
int mdh_put(struct mdh *h, unsigned long uid, const char *base, size_t baselen,
    const char *p, size_t n);
/* Append what mdh_put collected, in one write(2).  1 or -1 (the records
 * are dropped either way: a cache). */
int mdh_flush(struct mdh *h);
/* Release; a zeroed (never opened) h is left alone. */
void mdh_close(struct mdh *h);
/* The fields of mdh_fields in the header hdr[0..n) (CRLF line ends, up to
 * and with its empty line or not), each whole, then CRLF, into out
 * (reset first).  1 or -1. */
int mdh_extract(const char *hdr, size_t n, struct buf *out);
/* Parse one record head "H UID LEN\n" at p[0..n): 1 with *uid_r, *len_r
 * and *head_r (its length), 0 malformed, -1 incomplete (more bytes
 * needed). */
int mdh_head(const char *p, size_t n, unsigned long *uid_r, size_t *len_r,
    size_t *head_r);

#endif
