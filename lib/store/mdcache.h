/*
 * mdcache: a folder's last settled scan, saved so that the next SELECT
 * of an unchanged folder reads a header instead of new/, cur/,
 * tern-uidlist and tern-imapindex, and its view is built later without
 * parsing anything (tern-maildir(5)).
 *
 * Maildir/tern-imapcache, binary, in the byte order of the machine that
 * wrote it (another order is foreign and not used):
 *
 *   struct mdc_head                   magic, stamps, counts, summary
 *   struct mdc_rec  [head.n]          ascending UIDs
 *   names           [head.names_len]  each record's file name, NUL-ended
 *
 * The stamps ("ino, mtime, size") are those of new/ and cur/ as they
 * were BEFORE the scan that made the records, of the tern-uidlist that
 * gives the records' UIDs (its UIDVALIDITY and UIDNEXT checked against
 * the scan's: it is only ever replaced by rename) and of tern-imapindex
 * as it was, under its lock, when the records' MODSEQs were read from
 * it.  A cache, never the truth: it is used only when the four stamps
 * are exactly as now; it is written only when the scan left new/ and
 * cur/ as they were and their times were older than MDC_SETTLE_MS when
 * they were stamped (a change within the same timestamp tick could not
 * be told apart; on a filesystem with whole-second times, 2 seconds).
 * A missing, short, foreign or stale file is simply not used;
 * a record that does not hold up (a name out of bounds, UIDs out of
 * order) is found when the view is built (mdc_name).
 *
 * The file is read with mmap(2); it is only ever replaced (tmp, rename),
 * never changed in place, so a mapping stays the file it was (on a
 * network filesystem, where another host's rename can take the pages
 * away, it is read into memory instead).
 */
#ifndef TERN_MDCACHE_H
#define TERN_MDCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/buf.h"

#define MDC_FILE "tern-imapcache"
#define MDC_SETTLE_MS 50               /* how old new/, cur/ must be */
#define MDC_SETTLE_COARSE 2            /* seconds, whole-second times */
#define MDC_MAX ((size_t)1 << 30)      /* bytes mapped at most */
#define MDC_NAME_MAX 255               /* a Maildir file name (NAME_MAX) */

/* new/, cur/, tern-uidlist, tern-imapindex */
#define MDC_PARTS 4
#define MDC_DIRS 2                     /* the first two: the scan's */
#define MDC_UIDLIST 2
#define MDC_INDEX 3

struct mdc_stamp {
	unsigned long long ino[MDC_PARTS], sec[MDC_PARTS], nsec[MDC_PARTS],
	    size[MDC_PARTS];
	unsigned have;               /* bit k: part k is there */
	long long taken;             /* CLOCK_REALTIME before, in ns */
};

/* What a SELECT answers with, without reading a record. */
struct mdc_head {
	char magic[16];              /* MDC_MAGIC, NUL-padded */
	uint64_t order;              /* MDC_ORDER as written */
	uint64_t ino[MDC_PARTS], sec[MDC_PARTS], nsec[MDC_PARTS],
	    size[MDC_PARTS];
	uint64_t validity, uidnext;  /* UIDVALIDITY, UIDNEXT */
	uint64_t n, names_len;       /* records, bytes of names */
	uint64_t last_uid;           /* the last record's UID (0: none) */
	uint64_t highest;            /* the index's HIGHESTMODSEQ */
	uint64_t recent;             /* its \Recent claim (UIDs up to it) */
	uint64_t n_new;              /* records in new/ */
	uint64_t n_above;            /* records above recent */
	uint64_t n_recent;           /* records in new/ or above recent */
	uint64_t first_unseen;       /* 1-based; 0: none */
	uint64_t n_unseen;
	uint64_t kw;                 /* every record's kw, or'ed */
	uint64_t bytes;              /* the sizes summed (known ones) */
	uint64_t n_deleted;          /* records with the caller's "deleted" */
	uint64_t n_unsized;          /* records of unknown size */
	uint64_t spare[2];           /* 0 */
};

/* One message.  flags and kw are the caller's, as it made them of the
 * name (tern-imapd: IF_* and keyword letters). */
struct mdc_rec {
	uint32_t uid;
	uint32_t name;               /* offset in the names */
	uint64_t size;               /* served size, or MBOX_SIZE_UNKNOWN */
	uint64_t modseq;
	uint32_t kw;
	uint16_t flags;
	uint16_t len;                /* of the name */
	uint16_t baselen;            /* of its base (mdname_base_len) */
	uint8_t in_new;
	uint8_t pad[5];
};

/* A cache as written: w.h is the caller's to fill (the summary); the
 * counts, stamps and names are mdc_save's. */
struct mdc_w {
	struct mdc_head h;
	struct buf recs, names;
};

#define MDC_W_INIT { .recs = BUF_INIT, .names = BUF_INIT }

/* A cache as read. */
struct mdc_map {
	void *p;                     /* the mapping (NULL: none) */
	size_t len;
	int heap;                    /* p is a malloc'd copy (network fs) */
	const struct mdc_head *h;
	const struct mdc_rec *r;
	const char *names;
};

/* Stat dir's new/, cur/, tern-uidlist and tern-imapindex into st (the
 * time first).  1 all four, 0 one is missing (no cache to use; st->have
 * tells which are there), -1 error. */
int mdc_stamp(const char *dir, struct mdc_stamp *st);
/* Set part k of st from sb. */
void mdc_stamp_set(struct mdc_stamp *st, int k, const struct stat *sb);
/* 1 if a and b are the same (all four, all there). */
int mdc_same(const struct mdc_stamp *a, const struct mdc_stamp *b);
/* 1 if a and b are the same for new/ and cur/ (both there). */
int mdc_same_dirs(const struct mdc_stamp *a, const struct mdc_stamp *b);
/* 1 if new/ and cur/ are in st and their times were old enough when
 * it was taken (MDC_SETTLE_MS; MDC_SETTLE_COARSE seconds when both
 * times are whole seconds). */
int mdc_settled(const struct mdc_stamp *st);

/* Map dir's cache into m if it was made at stamp st: 1 mapped, 0 none,
 * stale, short or foreign (m empty), -1 error. */
int mdc_map(const char *dir, const struct mdc_stamp *st, struct mdc_map *m);
/* The same for bytes p[0..len) (8-byte aligned), which m then points
 * into but does not own: 1 or 0. */
int mdc_check(const void *p, size_t len, const struct mdc_stamp *st,
    struct mdc_map *m);
/* Record i's name, checked (inside the names, NUL-ended, no '/', not
 * starting with '.', baselen within it, the UID above prev and below
 * UIDNEXT), or NULL when the record does not hold up. */
const char *mdc_name(const struct mdc_map *m, size_t i, unsigned long prev);
void mdc_unmap(struct mdc_map *m);

/* Add a message to w (in ascending UID order) with its name (len bytes,
 * NUL-ended).  1, or -1 (ENAMETOOLONG: empty or over MDC_NAME_MAX). */
int mdc_add(struct mdc_w *w, const struct mdc_rec *r, const char *name,
    size_t len);
/* Write w as dir's cache made at stamp st (tmp, rename; no fsync: a
 * lost cache costs one scan).  1 or -1. */
int mdc_save(const char *dir, const struct mdc_stamp *st, struct mdc_w *w);
void mdc_w_free(struct mdc_w *w);

#endif
