/*
 * mdindex: the modification sequences of one Maildir (RFC 7162 CONDSTORE
 * and QRESYNC), for tern-imapd.
 *
 * Every message gets a MODSEQ when it appears and a higher one whenever
 * its flags change; an expunge is remembered as a tombstone with the
 * MODSEQ it happened at.  The Maildir itself is the truth for flags (the
 * ":2,FLAGS" of the file names, which other programs change too): the
 * index only remembers, per UID, the flags it last saw and when they
 * changed, and compares with a scan to find what changed since.
 *
 * The file tern-imapindex in the Maildir, text, one record per line:
 *
 *     tern-imapindex 1 UIDVALIDITY\n        the first line
 *     M UID MODSEQ n|c FLAGS\n             the message is in new/ or cur/
 *                                          with these flags (hex bit mask
 *                                          of the letters) since MODSEQ
 *     X UID MODSEQ\n                       expunged at MODSEQ
 *     F MODSEQ\n                           expunges at or below MODSEQ are
 *                                          no longer remembered
 *     R UID\n                              the messages up to UID have been
 *                                          \Recent to a session already
 *
 * A later record for a UID replaces the earlier one.  Changes are
 * appended (one write(2) per command) under an exclusive flock(2) of
 * tern-imapindex.lock; when the records outnumber the messages the file
 * is rewritten (tmp, rename; no fsync, see below).  The lock is taken before the
 * uidlist's lock, never after it.
 *
 * The index is never authoritative: a missing, torn or unreadable file,
 * or one of another UIDVALIDITY, is started again.  That is safe because
 * a new MODSEQ is max(highest + 1, the time in microseconds): it is
 * higher than any value handed out before, even by a lost file, as long
 * as the clock does not go back, so a client never misses a change; it
 * only sees every message as changed (and, for QRESYNC, every missing
 * UID as vanished) once.  For the same reason neither the appends nor
 * the rewrite are fsynced (a first SELECT of a big folder waits on the
 * disk only for tern-uidlist, whose UIDs must not be lost).
 *
 * Return convention: 1 ok, 0 soft, -1 error + errno.
 */
#ifndef TERN_MDINDEX_H
#define TERN_MDINDEX_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "store/mbox.h"

#define MDX_FILE "tern-imapindex"
#define MDX_LOCK "tern-imapindex.lock"
#define MDX_GONE_MAX 10000       /* tombstones kept (newest by MODSEQ) */
#define MDX_MODSEQ_MAX 9223372036854775807ULL  /* RFC 7162: 63 bits */

/* The flag letters of a file name as a bit mask: 'A'..'Z' bits 0..25,
 * 'a'..'z' bits 26..51, anything else bit 52. */
typedef unsigned long long mdx_letters;

struct mdx_ent {
	unsigned long uid;
	unsigned long long modseq;
	mdx_letters letters;
	unsigned char in_new;
};

struct mdx_gone {
	unsigned long uid;
	unsigned long long modseq;
};

struct mdx {
	char *dir;
	unsigned long uidvalidity;   /* 0: nothing loaded */
	unsigned long long highest;  /* HIGHESTMODSEQ */
	unsigned long long vfloor;   /* expunges up to here are forgotten */
	unsigned long recent;        /* UIDs up to here were \Recent to some
				      * session already (RFC 3501 2.3.2) */
	struct mdx_ent *e;           /* in UID order */
	size_t n, cap;
	struct mdx_gone *x;          /* in the order they happened */
	size_t nx, capx;
	/* the file as last read */
	dev_t dev;
	ino_t ino;
	off_t off;
	size_t records;              /* records in the file */
	size_t pending;              /* records in out */
	int rewrite;                 /* the file must be written whole */
	/* the lock and the changes of this batch */
	int lockfd, depth;
	unsigned long long batch;    /* this batch's MODSEQ, 0 none yet */
	struct buf out;
};

/* Start with the Maildir dir (copied); no file is touched.  1 or -1. */
int mdx_open(struct mdx *x, const char *dir);
void mdx_close(struct mdx *x);
/* Take the lock (nested calls only count) and read what other sessions
 * appended since.  1, or -1 (ETIMEDOUT after MBOX_LOCK_WAIT seconds). */
int mdx_lock(struct mdx *x);
/* Write this batch's records, rewrite the file if it is due, release the
 * lock at the outermost call.  1 or -1 (the lock is released anyway; the
 * changes stay in memory and are found again by the next scan). */
int mdx_unlock(struct mdx *x);
/* Under the lock: bring the index up to date with a scan of the Maildir
 * (mb after mbox_scan and mbox_uids, so in UID order): new UIDs and
 * changed flags get this batch's MODSEQ, UIDs below mb's UIDNEXT that
 * the scan lacks become tombstones.  *stale_r is set to 1 when the
 * index knows of a change the scan missed (scan again).  1 or -1. */
int mdx_sync(struct mdx *x, const struct mbox *mb, int *stale_r);
/* The index of a new, empty folder dir (IMAP CREATE): every message
 * that comes into it is \Recent to the first session that sees it.
 * 1 or -1. */
int mdx_create(const char *dir, unsigned long uidvalidity);
/* Under the lock: a session takes the messages above x->recent up to
 * uid as \Recent (only it sees them so, RFC 3501 2.3.2).  1 or -1. */
int mdx_claim_recent(struct mdx *x, unsigned long uid);
/* Under the lock: message uid now has name (in new/ when in_new); it
 * gets this batch's MODSEQ when its flags changed.  The MODSEQ it has
 * into *modseq_r.  1 or -1. */
int mdx_set(struct mdx *x, unsigned long uid, const char *name, size_t len,
    int in_new, unsigned long long *modseq_r);
/* The entry of uid, or NULL. */
const struct mdx_ent *mdx_find(const struct mdx *x, unsigned long uid);
/* This batch's MODSEQ (made on first use, under the lock). */
unsigned long long mdx_batch(struct mdx *x);
/* For QRESYNC: 1 if the tombstones cover every expunge after modseq
 * (then mdx_gone_since lists them exactly), 0 if some are forgotten (the
 * caller reports every UID it cannot find instead: RFC 7162 3.2.5.1). */
int mdx_knows_since(const struct mdx *x, unsigned long long modseq);

/* ---- pure helpers (unit-tested) -------------------------------------- */
mdx_letters mdx_letters_of(const char *name, size_t len);
/* Parse records text[0..n) into x (the first line included when from_top);
 * *used_r: the bytes of whole lines.  1, 0 malformed, -1 ENOMEM. */
int mdx_parse(struct mdx *x, const char *text, size_t n, int from_top,
    size_t *used_r);

#endif
