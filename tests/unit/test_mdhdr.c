/*
 * test_mdhdr: lib/store/mdhdr.c: the fields a header gives (mdh_extract),
 * record heads (good, incomplete, malformed), and in a scratch folder:
 * put, flush and get in one session and in the next, a later record of a
 * UID winning, two sessions appending, a record cut at the end (skipped,
 * the rest kept), a damaged record and another UIDVALIDITY (the file
 * dropped and started again), and the size bound of a record; many
 * records put in and out of UID order with a get after each put, and
 * more than MDH_PEND_MAX of them, written before the flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/mdhdr.h"
#include "t.h"

static char md[300];

static void
test_extract(void)
{
	struct buf b = BUF_INIT;
	const char *h = "Received: x\r\nFrom: a@b\r\nX-Other: 1\r\n"
	    "subject: hello\r\n  world\r\nMessage-ID: <1@b>\r\n\r\n";

	T_EQ_INT(mdh_extract(h, strlen(h), &b), 1);
	T_EQ_STR(buf_str(&b), "From: a@b\r\nsubject: hello\r\n  world\r\n"
	    "Message-ID: <1@b>\r\n\r\n");
	T_EQ_INT(mdh_extract("", 0, &b), 1);
	T_EQ_STR(buf_str(&b), "\r\n");
	buf_free(&b);
}

static void
test_head(void)
{
	unsigned long uid = 0;
	size_t len = 0, hl = 0;

	T_EQ_INT(mdh_head("H 12 345\nxx", 11, &uid, &len, &hl), 1);
	T_EQ_INT(uid, 12);
	T_EQ_INT(len, 345);
	T_EQ_INT(hl, 9);
	T_EQ_INT(mdh_head("H 12 34", 7, &uid, &len, &hl), -1);
	T_EQ_INT(mdh_head("H", 1, &uid, &len, &hl), -1);
	T_EQ_INT(mdh_head("X 12 34\n", 8, &uid, &len, &hl), 0);
	T_EQ_INT(mdh_head("H 0 34\n", 7, &uid, &len, &hl), 0);
	T_EQ_INT(mdh_head("H 12 99999999\n", 14, &uid, &len, &hl), 0);
	T_EQ_INT(mdh_head("H 1a 3\n", 7, &uid, &len, &hl), 0);
	T_EQ_INT(mdh_head("H 99999999999 3\n", 16, &uid, &len, &hl), 0);
}

static void
append(const char *text)
{
	char p[400];
	int fd;

	snprintf(p, sizeof p, "%s/%s", md, MDH_FILE);
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (!T_CHECK(fd >= 0))
		return;
	T_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static int
exists(void)
{
	char p[400];

	snprintf(p, sizeof p, "%s/%s", md, MDH_FILE);
	return access(p, F_OK) == 0;
}

static void
test_file(void)
{
	struct mdh h, g;
	struct buf b = BUF_INIT;
	static char big[MDH_REC_MAX + 2];

	T_CHECK(maildir_make(md) > 0);
	T_EQ_INT(mdh_open(&h, md, 55), 1);
	T_EQ_INT(mdh_get(&h, 1, "b1", 2, &b), 0);
	T_EQ_INT(mdh_put(&h, 1, "b1", 2, "From: a\r\n\r\n", 11), 1);
	T_EQ_INT(mdh_put(&h, 2, "b2", 2, "From: b\r\n\r\n", 11), 1);
	/* before the flush, from memory */
	T_EQ_INT(mdh_get(&h, 2, "b2", 2, &b), 1);
	T_EQ_STR(buf_str(&b), "From: b\r\n\r\n");
	T_EQ_INT(mdh_flush(&h), 1);
	T_EQ_INT(mdh_get(&h, 1, "b1", 2, &b), 1);
	T_EQ_STR(buf_str(&b), "From: a\r\n\r\n");
	/* another session, meanwhile: reads both, adds 3 and a new 1 */
	T_EQ_INT(mdh_open(&g, md, 55), 1);
	T_EQ_INT(mdh_get(&g, 2, "b2", 2, &b), 1);
	T_EQ_INT(mdh_put(&g, 3, "b3", 2, "From: c\r\n\r\n", 11), 1);
	T_EQ_INT(mdh_put(&g, 1, "b1", 2, "From: A\r\n\r\n", 11), 1);
	T_EQ_INT(mdh_flush(&g), 1);
	mdh_close(&g);
	/* the first one sees them after its next flush reads on */
	T_EQ_INT(mdh_put(&h, 4, "b4", 2, "From: d\r\n\r\n", 11), 1);
	T_EQ_INT(mdh_flush(&h), 1);
	T_EQ_INT(mdh_get(&h, 3, "b3", 2, &b), 1);
	T_EQ_STR(buf_str(&b), "From: c\r\n\r\n");
	T_EQ_INT(mdh_get(&h, 1, "b1", 2, &b), 1);
	T_EQ_STR(buf_str(&b), "From: A\r\n\r\n");
	/* the same UID of another message (a mailbox numbered again with
	 * the same UIDVALIDITY): not this one's */
	T_EQ_INT(mdh_get(&h, 1, "other", 5, &b), 0);
	mdh_close(&h);
	/* too long to cache */
	memset(big, 'x', sizeof big - 1);
	T_EQ_INT(mdh_open(&h, md, 55), 1);
	T_EQ_INT(mdh_put(&h, 9, "b9", 2, big, sizeof big - 4), 0);
	mdh_close(&h);
	/* a cut record at the end: the ones before it are read */
	append("H 7 100\nFrom: cut");
	T_EQ_INT(mdh_open(&h, md, 55), 1);
	T_EQ_INT(mdh_get(&h, 4, "b4", 2, &b), 1);
	T_EQ_INT(mdh_get(&h, 7, "b7", 2, &b), 0);
	mdh_close(&h);
	T_CHECK(exists());
	/* appends after a torn record: the torn one's length runs into
	 * them and ends on no LF: damaged, the file is dropped */
	append("H 8 3\nabc\nH 9 200\n");
	memset(big, 'x', 200);
	big[200] = '\n';
	big[201] = '\0';
	append(big);
	T_EQ_INT(mdh_open(&h, md, 55), 1);
	T_EQ_INT(mdh_get(&h, 4, "b4", 2, &b), 0);
	T_CHECK(!exists());
	/* and a new one starts with the next put */
	T_EQ_INT(mdh_put(&h, 5, "b5", 2, "From: e\r\n\r\n", 11), 0);
	mdh_close(&h);
	T_EQ_INT(mdh_open(&h, md, 55), 1);
	T_EQ_INT(mdh_get(&h, 5, "b5", 2, &b), 0);
	T_EQ_INT(mdh_put(&h, 5, "b5", 2, "From: e\r\n\r\n", 11), 1);
	T_EQ_INT(mdh_flush(&h), 1);
	mdh_close(&h);
	T_CHECK(exists());
	/* another UIDVALIDITY: dropped */
	T_EQ_INT(mdh_open(&h, md, 56), 1);
	T_EQ_INT(mdh_get(&h, 5, "b5", 2, &b), 0);
	mdh_close(&h);
	T_CHECK(!exists());
	/* the file made again under a reader (the folder deleted and made
	 * again): the old reader's records do not go into the new file */
	{
		char p[400];

		T_EQ_INT(mdh_open(&h, md, 60), 1);
		T_EQ_INT(mdh_get(&h, 1, "b1", 2, &b), 0);
		T_EQ_INT(mdh_put(&h, 1, "b1", 2, "From: x\r\n\r\n", 11), 1);
		T_EQ_INT(mdh_flush(&h), 1);
		T_EQ_INT(mdh_get(&h, 1, "b1", 2, &b), 1);
		snprintf(p, sizeof p, "%s/%s", md, MDH_FILE);
		T_CHECK(unlink(p) == 0);
		T_EQ_INT(mdh_open(&g, md, 60), 1);
		T_EQ_INT(mdh_get(&g, 2, "b2", 2, &b), 0);
		T_EQ_INT(mdh_put(&g, 2, "b2", 2, "From: y\r\n\r\n", 11), 1);
		T_EQ_INT(mdh_flush(&g), 1);
		mdh_close(&g);
		T_EQ_INT(mdh_put(&h, 3, "b3", 2, "From: z\r\n\r\n", 11), 1);
		T_EQ_INT(mdh_flush(&h), 1);
		mdh_close(&h);
		T_EQ_INT(mdh_open(&g, md, 60), 1);
		T_EQ_INT(mdh_get(&g, 2, "b2", 2, &b), 1);
		T_EQ_INT(mdh_get(&g, 3, "b3", 2, &b), 0);
		T_EQ_INT(mdh_get(&g, 1, "b1", 2, &b), 0);
		mdh_close(&g);
	}
	buf_free(&b);
}

/* FETCH 1:* ENVELOPE of a folder nothing has cached: a miss, a put, a
 * get of each message; then puts of older UIDs below the file's. */
static void
test_many(void)
{
	struct mdh h;
	struct buf b = BUF_INIT;
	char base[32], rec[400];
	unsigned long u;
	size_t n = 0, bad = 0;
	const unsigned long N = 6000;   /* ~ 2 MiB of records */

	snprintf(rec, sizeof rec, "%s/%s", md, MDH_FILE);
	T_CHECK(unlink(rec) == 0 || errno == ENOENT);
	T_CHECK(!exists());
	T_EQ_INT(mdh_open(&h, md, 70), 1);
	for (u = 1001; u <= 1000 + N; u++) {
		int bl = snprintf(base, sizeof base, "m%lu", u);
		int rl = snprintf(rec, sizeof rec, "Subject: %lu %0300d\r\n\r\n",
		    u, 0);

		if (mdh_get(&h, u, base, (size_t)bl, &b) != 0)
			bad++;
		if (mdh_put(&h, u, base, (size_t)bl, rec, (size_t)rl) != 1)
			bad++;
		if (mdh_get(&h, u, base, (size_t)bl, &b) != 1 ||
		    b.len != (size_t)rl || memcmp(b.s, rec, b.len) != 0)
			bad++;
		n++;
	}
	T_EQ_INT(bad, 0);
	/* over MDH_PEND_MAX: most of it is in the file before the flush */
	T_CHECK(exists());
	/* then lower UIDs, descending: each one found after its put */
	for (u = 1000; u >= 1; u--) {
		int bl = snprintf(base, sizeof base, "m%lu", u);
		int rl = snprintf(rec, sizeof rec, "Subject: %lu\r\n\r\n", u);

		if (mdh_put(&h, u, base, (size_t)bl, rec, (size_t)rl) != 1 ||
		    mdh_get(&h, u, base, (size_t)bl, &b) != 1 ||
		    b.len != (size_t)rl)
			bad++;
	}
	T_EQ_INT(bad, 0);
	T_EQ_INT(mdh_flush(&h), 1);
	mdh_close(&h);
	/* the next session finds every one */
	T_EQ_INT(mdh_open(&h, md, 70), 1);
	for (u = 1; u <= 1000 + N; u += 7) {
		int bl = snprintf(base, sizeof base, "m%lu", u);

		if (mdh_get(&h, u, base, (size_t)bl, &b) != 1)
			bad++;
	}
	T_EQ_INT(bad, 0);
	mdh_close(&h);
	buf_free(&b);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[400];

	snprintf(md, sizeof md, "%s/tern-test-mdhdr.%ld",
	    tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	test_extract();
	test_head();
	test_file();
	test_many();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", md);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", md);
	T_DONE();
}
