/*
 * mdcache: a folder's last settled scan, saved so that the next SELECT
 * of an unchanged folder reads one file instead of new/, cur/ and
 * tern-uidlist (sorting every name and matching the list).
 *
 * Maildir/tern-imapcache, text:
 *   tern-imapcache 1 VALIDITY UIDNEXT STAMP-NEW STAMP-CUR STAMP-LIST N
 *   UID SIZE n|c NAME                        (N lines, ascending UIDs)
 * where a STAMP is "ino.sec.nsec.size" of new/, cur/ and tern-uidlist
 * as they were BEFORE the scan that made the records, and SIZE is the
 * served size or "-".  A cache, never the truth: it is used only when
 * the three stamps are exactly as now, and is written only when a scan
 * left them as they were and they are older than MDC_SETTLE seconds
 * (a change within the same timestamp tick could not be told apart).
 * A missing, torn or foreign file is simply not used.
 */
#ifndef TERN_MDCACHE_H
#define TERN_MDCACHE_H

#include <stddef.h>

#include "util/buf.h"

#define MDC_FILE "tern-imapcache"
#define MDC_SETTLE 2                   /* seconds a stamp must be old */
#define MDC_MAX ((size_t)512 << 20)    /* bytes read at most */

struct mdc_stamp {
	unsigned long long ino[3], sec[3], nsec[3], size[3];
};

struct mdc_ent {
	unsigned long uid;
	unsigned long long size;   /* MBOX_SIZE_UNKNOWN when "-" */
	size_t name, len;          /* offset and length in mdc.names */
	size_t baselen;
	int in_new;
};

struct mdc {
	unsigned long validity, uidnext;
	struct mdc_ent *e;
	size_t n, cap;
	struct buf names;          /* every name, NUL-terminated */
};

#define MDC_INIT { 0, 0, NULL, 0, 0, BUF_INIT }

/* Stat dir's new/, cur/ and tern-uidlist into st.  1, 0 one is missing
 * (no cache then), -1 error. */
int mdc_stamp(const char *dir, struct mdc_stamp *st);
/* 1 if a and b are the same. */
int mdc_same(const struct mdc_stamp *a, const struct mdc_stamp *b);
/* 1 if every time in st is at least MDC_SETTLE seconds before now. */
int mdc_settled(const struct mdc_stamp *st, long long now);
/* Read dir's cache into c (freed first) if it was made at stamp st: 1
 * loaded, 0 none or stale or malformed (c empty), -1 error. */
int mdc_load(const char *dir, const struct mdc_stamp *st, struct mdc *c);
/* Parse the cache text t[0..n) made at stamp st (0 when it is not). */
int mdc_parse(const char *t, size_t n, const struct mdc_stamp *st,
    struct mdc *c);
/* Add an entry to c (for mdc_save).  1 or -1. */
int mdc_add(struct mdc *c, unsigned long uid, unsigned long long size,
    const char *name, int in_new);
/* Write c as dir's cache made at stamp st (tmp, rename; no fsync: a
 * lost cache costs one scan).  1 or -1. */
int mdc_save(const char *dir, const struct mdc_stamp *st,
    const struct mdc *c);
void mdc_free(struct mdc *c);

#endif
