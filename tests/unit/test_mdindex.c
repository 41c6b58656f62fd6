/*
 * test_mdindex: lib/store/mdindex.c: flag letters as a mask, the record
 * parser (good, torn, malformed), and in a scratch Maildir the sync with
 * scans (new messages, changed flags, expunges as tombstones, a scan older
 * than the index), persistence across opens, a lost or torn file started
 * again with higher MODSEQs, a new UIDVALIDITY, and the rewrite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/mdindex.h"
#include "t.h"

static char md[300];

static void
put(const char *sub, const char *name)
{
	char p[700];
	int fd;

	snprintf(p, sizeof p, "%s/%s/%s", md, sub, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!T_CHECK(fd >= 0))
		return;
	T_CHECK(write(fd, "Subject: x\n\nhi\n", 15) == 15);
	close(fd);
}

static void
ren(const char *from, const char *to)
{
	char a[700], b[700];

	snprintf(a, sizeof a, "%s/%s", md, from);
	snprintf(b, sizeof b, "%s/%s", md, to);
	T_CHECK(rename(a, b) == 0);
}

static void
rm(const char *name)
{
	char p[700];

	snprintf(p, sizeof p, "%s/%s", md, name);
	T_CHECK(unlink(p) == 0);
}

/* Scan md and sync x with it (lock, sync, unlock); the stale flag. */
static int
sync_md(struct mdx *x)
{
	struct mbox mb;
	int stale = -1;

	if (!T_CHECK(mbox_open(&mb, md) == 1))
		return -1;
	T_CHECK(mbox_scan(&mb, 0) == 1);
	T_CHECK(mbox_uids(&mb) == 1);
	T_CHECK(mdx_lock(x) == 1);
	T_CHECK(mdx_sync(x, &mb, &stale) == 1);
	T_CHECK(mdx_unlock(x) == 1);
	mbox_close(&mb);
	return stale;
}

static unsigned long long
ms(const struct mdx *x, unsigned long uid)
{
	const struct mdx_ent *e = mdx_find(x, uid);

	return e ? e->modseq : 0;
}

static void
test_letters(void)
{
	T_CHECK(mdx_letters_of("123.abc", 7) == 0);
	T_CHECK(mdx_letters_of("123.abc:2,", 10) == 0);
	T_CHECK(mdx_letters_of("1:2,S", 5) == 1ULL << ('S' - 'A'));
	T_CHECK(mdx_letters_of("1:2,FSa", 7) == ((1ULL << ('F' - 'A')) |
	    (1ULL << ('S' - 'A')) | (1ULL << 26)));
	T_CHECK(mdx_letters_of("1:2,S1", 6) == ((1ULL << ('S' - 'A')) |
	    (1ULL << 52)));
}

static void
test_parse(void)
{
	struct mdx x;
	size_t used;
	const char *good = "tern-imapindex 1 77\nF 5\nM 1 10 c 40000\n"
	    "M 2 11 n 0\nX 3 12\nM 1 13 c 0\n";
	const char *torn = "tern-imapindex 1 77\nM 1 10 c 0\nM 2 1";

	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	/* R: the messages up to UID were \Recent to a session already;
	 * the largest wins, claims only go up */
	{
		const char *r = "tern-imapindex 1 77\nR 5\nR 3\n";

		T_EQ_INT(mdx_parse(&x, r, strlen(r), 1, &used), 1);
		T_EQ_INT(x.recent, 5);
		T_EQ_INT(mdx_claim_recent(&x, 4), 1);
		T_EQ_INT(x.recent, 5);
		T_EQ_INT(mdx_claim_recent(&x, 9), 1);
		T_EQ_INT(x.recent, 9);
		T_CHECK(strstr(buf_str(&x.out), "R 9\n") != NULL);
		mdx_close(&x);
		T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	}
	T_EQ_INT(mdx_parse(&x, good, strlen(good), 1, &used), 1);
	T_EQ_INT(used, strlen(good));
	T_EQ_INT(x.uidvalidity, 77);
	T_EQ_INT(x.n, 2);
	T_EQ_INT(x.nx, 1);
	T_CHECK(x.vfloor == 5 && x.highest == 13);
	T_CHECK(ms(&x, 1) == 13 && mdx_find(&x, 1)->letters == 0);
	T_CHECK(mdx_find(&x, 2)->in_new == 1);
	T_CHECK(mdx_find(&x, 3) == NULL);
	T_CHECK(mdx_knows_since(&x, 5) && !mdx_knows_since(&x, 4));
	mdx_close(&x);

	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	T_EQ_INT(mdx_parse(&x, torn, strlen(torn), 1, &used), 1);
	T_CHECK(used < strlen(torn) && x.n == 1);
	mdx_close(&x);

	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	T_EQ_INT(mdx_parse(&x, "tern-imapindex 1 7\nQ 1 2\n", strlen("tern-imapindex 1 7\nQ 1 2\n"), 1, &used), 0);
	mdx_close(&x);
	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	T_EQ_INT(mdx_parse(&x, "tern-imapindex 1 7\nM 0 2 c 0\n", strlen("tern-imapindex 1 7\nM 0 2 c 0\n"), 1, &used),
	    0);  /* UID 0 */
	mdx_close(&x);
	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	T_EQ_INT(mdx_parse(&x, "tern-imapindex 1 7\nM 1 99999999999999999999 "
	    "c 0\n", 48, 1, &used), 0);  /* over 63 bits */
	mdx_close(&x);
	T_CHECK(mdx_open(&x, "/nonexistent") == 1);
	T_EQ_INT(mdx_parse(&x, "other 1 7\n", 10, 1, &used), 0);
	mdx_close(&x);
}

static void
test_sync(void)
{
	struct mdx x, y;
	unsigned long long h0, h1, h2, m;
	char p[700];
	FILE *f;

	T_CHECK(maildir_make(md) == 1);
	put("cur", "100.a:2,");
	put("cur", "101.b:2,S");
	put("new", "102.c");

	/* first sight: every message gets one MODSEQ, a time in µs */
	T_CHECK(mdx_open(&x, md) == 1);
	T_EQ_INT(sync_md(&x), 0);
	T_EQ_INT(x.n, 3);
	h0 = x.highest;
	T_CHECK(h0 > 1000000000000000ULL);
	T_CHECK(ms(&x, 1) == h0 && ms(&x, 2) == h0 && ms(&x, 3) == h0);
	T_CHECK(mdx_find(&x, 3)->in_new == 1);
	T_CHECK(mdx_knows_since(&x, h0) && !mdx_knows_since(&x, h0 - 1));

	/* nothing changed: nothing moves */
	T_EQ_INT(sync_md(&x), 0);
	T_CHECK(x.highest == h0);

	/* a flag change by someone else, and new/ -> cur/ (no change) */
	ren("cur/100.a:2,", "cur/100.a:2,F");
	ren("new/102.c", "cur/102.c:2,");
	T_EQ_INT(sync_md(&x), 0);
	h1 = x.highest;
	T_CHECK(h1 > h0);
	T_CHECK(ms(&x, 1) == h1 && ms(&x, 2) == h0 && ms(&x, 3) == h0);
	T_CHECK(mdx_find(&x, 3)->in_new == 0);

	/* an expunge becomes a tombstone */
	rm("cur/101.b:2,S");
	T_EQ_INT(sync_md(&x), 0);
	h2 = x.highest;
	T_CHECK(h2 > h1 && x.n == 2 && x.nx == 1);
	T_CHECK(x.x[0].uid == 2 && x.x[0].modseq == h2);
	T_CHECK(mdx_knows_since(&x, h1));

	/* mdx_set under the lock: our own change */
	T_CHECK(mdx_lock(&x) == 1);
	T_CHECK(mdx_set(&x, 3, "102.c:2,T", 9, 0, &m) == 1);
	T_CHECK(m > h2);
	T_CHECK(mdx_set(&x, 3, "102.c:2,T", 9, 0, &m) == 1 && m == x.highest);
	T_CHECK(mdx_unlock(&x) == 1);
	ren("cur/102.c:2,", "cur/102.c:2,T");

	/* a second reader sees the same from the file */
	T_CHECK(mdx_open(&y, md) == 1);
	T_EQ_INT(sync_md(&y), 0);
	T_CHECK(y.highest == x.highest && ms(&y, 3) == ms(&x, 3) &&
	    ms(&y, 1) == h1 && y.nx == 1);
	T_CHECK(y.vfloor == x.vfloor);

	/* the first one reads the other's appends incrementally */
	ren("cur/100.a:2,F", "cur/100.a:2,FS");
	T_EQ_INT(sync_md(&y), 0);
	T_CHECK(y.highest > x.highest);
	T_CHECK(mdx_lock(&x) == 1);
	T_CHECK(x.highest == y.highest && ms(&x, 1) == ms(&y, 1));
	T_CHECK(mdx_unlock(&x) == 1);
	mdx_close(&y);

	/* a torn last line: the index starts again, MODSEQs only go up */
	h2 = x.highest;
	snprintf(p, sizeof p, "%s/%s", md, MDX_FILE);
	f = fopen(p, "a");
	if (T_CHECK(f != NULL)) {
		fputs("M 1 5", f);
		fclose(f);
	}
	T_CHECK(mdx_open(&y, md) == 1);
	T_EQ_INT(sync_md(&y), 0);
	T_CHECK(y.n == 2 && y.nx == 0 && ms(&y, 1) > h2 && ms(&y, 3) > h2);
	T_CHECK(!mdx_knows_since(&y, h2));
	mdx_close(&y);

	/* lost: the same */
	T_CHECK(unlink(p) == 0);
	T_CHECK(mdx_open(&y, md) == 1);
	T_EQ_INT(sync_md(&y), 0);
	T_CHECK(y.n == 2 && ms(&y, 1) > h2);
	mdx_close(&y);
	mdx_close(&x);
}

/* A scan that is older than the index: the index's change is kept and
 * the caller is told to scan again. */
static void
test_stale(void)
{
	struct mdx x, y;
	struct mbox mb;
	unsigned long long m;
	int stale = -1;

	T_CHECK(mdx_open(&x, md) == 1);
	T_EQ_INT(sync_md(&x), 0);
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 0) == 1 && mbox_uids(&mb) == 1);
	/* another session changes message 1 after our scan */
	T_CHECK(mdx_open(&y, md) == 1);
	T_CHECK(mdx_lock(&y) == 1);
	T_CHECK(mdx_set(&y, 1, "100.a:2,FST", 11, 0, &m) == 1);
	T_CHECK(mdx_unlock(&y) == 1);
	ren("cur/100.a:2,FS", "cur/100.a:2,FST");
	T_CHECK(mdx_lock(&x) == 1);
	T_CHECK(mdx_sync(&x, &mb, &stale) == 1);
	T_CHECK(mdx_unlock(&x) == 1);
	T_EQ_INT(stale, 1);
	T_CHECK(ms(&x, 1) == m);
	T_CHECK(mdx_find(&x, 1)->letters == mdx_letters_of("a:2,FST", 7));
	mbox_close(&mb);
	mdx_close(&y);
	mdx_close(&x);
}

/* Many changes: the file is rewritten, tombstones over the cap drop and
 * raise the floor. */
static void
test_rewrite(void)
{
	struct mdx x, y;
	struct stat a, b;
	char p[700], name[64];
	unsigned long long m;
	int k;

	snprintf(p, sizeof p, "%s/%s", md, MDX_FILE);
	T_CHECK(mdx_open(&x, md) == 1);
	T_EQ_INT(sync_md(&x), 0);
	T_CHECK(stat(p, &a) == 0);
	for (k = 0; k < 3000; k++) {
		T_CHECK(mdx_lock(&x) == 1);
		snprintf(name, sizeof name, "102.c:2,%s", k % 2 ? "T" : "ST");
		if (mdx_set(&x, 3, name, strlen(name), 0, &m) != 1)
			break;
		T_CHECK(mdx_unlock(&x) == 1);
	}
	T_CHECK(stat(p, &b) == 0);
	/* 3000 appends would be ~90 KB; rewritten, it is far less */
	T_CHECK(b.st_size < 1100 * 30);
	(void)a;
	T_CHECK(mdx_open(&y, md) == 1);
	T_CHECK(mdx_lock(&y) == 1);
	T_CHECK(y.highest == x.highest && ms(&y, 3) == ms(&x, 3));
	T_CHECK(mdx_unlock(&y) == 1);
	mdx_close(&y);
	mdx_close(&x);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[400];

	snprintf(md, sizeof md, "%s/tern-test-mdindex.%ld",
	    tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	test_letters();
	test_parse();
	test_sync();
	test_stale();
	test_rewrite();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", md);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", md);
	T_DONE();
}
