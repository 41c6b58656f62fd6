/*
 * test_mdcache: lib/store/mdcache.c: in a scratch Maildir, the stamp of
 * new/, cur/, tern-uidlist and tern-imapindex, a save and map round
 * trip, a map after any of the four changed (stale: not used), the
 * settle rule, and the checks' refusals (foreign magic or byte order,
 * any torn length, a tail never written, header counts over their
 * bounds; records with a name out of bounds, too long, not NUL-ended,
 * with '/' or a leading '.', a base longer than the name, UIDs out of
 * order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/mbox.h"
#include "store/mdcache.h"
#include "t.h"

static char md[300];

static void
put(const char *rel, const char *text)
{
	char p[700];
	int fd;

	snprintf(p, sizeof p, "%s/%s", md, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!T_CHECK(fd >= 0))
		return;
	T_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
add(struct mdc_w *w, unsigned long uid, unsigned long long size,
    unsigned long long modseq, const char *name, int in_new)
{
	struct mdc_rec r;

	memset(&r, 0, sizeof r);
	r.uid = (uint32_t)uid;
	r.size = size;
	r.modseq = modseq;
	r.flags = 3;
	r.kw = 5;
	r.in_new = (uint8_t)in_new;
	T_EQ_INT(mdc_add(w, &r, name, strlen(name)), 1);
}

static void
test_round_trip(void)
{
	struct mdc_stamp st, now;
	struct mdc_w w = MDC_W_INIT;
	struct mdc_map m;
	char p[700];

	T_CHECK(maildir_make(md) > 0);
	/* no tern-uidlist and no tern-imapindex yet: no stamp */
	T_EQ_INT(mdc_stamp(md, &st), 0);
	T_EQ_INT(st.have, 3);
	put("tern-uidlist", "tern-uidlist 1 77 3\n1 a\n2 b\n");
	T_EQ_INT(mdc_stamp(md, &st), 0);
	T_EQ_INT(st.have, 7);
	{
		unsigned long v = 0, next = 0;
		struct stat sb;

		T_EQ_INT(mbox_uidlist_head(md, &v, &next, &sb), 1);
		T_EQ_INT(v, 77);
		T_EQ_INT(next, 3);
		T_EQ_INT(sb.st_ino, st.ino[MDC_UIDLIST]);
		/* malformed: no UIDNEXT; missing */
		put("tern-uidlist", "tern-uidlist 1 77\n");
		T_EQ_INT(mbox_uidlist_head(md, &v, &next, &sb), 0);
		snprintf(p, sizeof p, "%s/tern-uidlist", md);
		T_CHECK(unlink(p) == 0);
		T_EQ_INT(mbox_uidlist_head(md, &v, &next, &sb), 0);
		put("tern-uidlist", "tern-uidlist 1 77 3\n1 a\n2 b\n");
		T_EQ_INT(mdc_stamp(md, &st), 0);
	}
	put("tern-imapindex", "tern-imapindex 1 77\n");
	put("cur/a:2,S", "x\n");
	put("new/b", "y\n");
	T_EQ_INT(mdc_stamp(md, &st), 1);
	w.h.validity = 77;
	w.h.uidnext = 3;
	w.h.highest = 1234;
	w.h.first_unseen = 2;
	add(&w, 1, 106, 1000, "a:2,S", 0);
	add(&w, 2, MBOX_SIZE_UNKNOWN, 1234, "b", 1);
	T_EQ_INT(mdc_save(md, &st, &w), 1);
	T_EQ_INT(mdc_map(md, &st, &m), 1);
	T_EQ_INT(m.h->validity, 77);
	T_EQ_INT(m.h->uidnext, 3);
	T_EQ_INT(m.h->n, 2);
	T_EQ_INT(m.h->last_uid, 2);
	T_EQ_INT(m.h->highest, 1234);
	T_EQ_INT(m.h->first_unseen, 2);
	T_EQ_INT(m.r[0].uid, 1);
	T_EQ_INT(m.r[0].size, 106);
	T_EQ_INT(m.r[0].modseq, 1000);
	T_EQ_INT(m.r[0].in_new, 0);
	T_EQ_INT(m.r[0].baselen, 1);
	T_EQ_INT(m.r[0].flags, 3);
	T_EQ_INT(m.r[0].kw, 5);
	T_EQ_STR(mdc_name(&m, 0, 0), "a:2,S");
	T_EQ_INT(m.r[1].uid, 2);
	T_CHECK(m.r[1].size == MBOX_SIZE_UNKNOWN);
	T_EQ_INT(m.r[1].in_new, 1);
	T_EQ_STR(mdc_name(&m, 1, 1), "b");
	/* out of order against the previous UID, past the end */
	T_CHECK(mdc_name(&m, 1, 2) == NULL);
	T_CHECK(mdc_name(&m, 2, 0) == NULL);
	mdc_unmap(&m);
	T_CHECK(m.p == NULL);
	/* another program renames a file: cur/ changed, the cache is stale */
	snprintf(p, sizeof p, "%s/cur/a:2,S", md);
	{
		char q[700];

		snprintf(q, sizeof q, "%s/cur/a:2,FS", md);
		T_CHECK(rename(p, q) == 0);
		T_EQ_INT(mdc_stamp(md, &now), 1);
		/* the same second and tick may leave the time unchanged;
		 * the size or the inode of the directory need not change
		 * either: that is why a cache is only written when settled */
		if (!mdc_same(&st, &now))
			T_EQ_INT(mdc_map(md, &now, &m), 0);
		T_CHECK(rename(q, p) == 0);
	}
	/* a record appended to the index: stale */
	{
		struct mdc_stamp before;
		int fd;

		T_EQ_INT(mdc_stamp(md, &before), 1);
		snprintf(p, sizeof p, "%s/tern-imapindex", md);
		fd = open(p, O_WRONLY | O_APPEND);
		T_CHECK(fd >= 0 && write(fd, "R 1\n", 4) == 4);
		if (fd >= 0)
			close(fd);
		T_EQ_INT(mdc_stamp(md, &now), 1);
		T_CHECK(!mdc_same(&before, &now));
		T_CHECK(mdc_same_dirs(&before, &now));
		T_EQ_INT(mdc_map(md, &now, &m), 0);
		T_CHECK(m.p == NULL);
	}
	/* a new uidlist (replaced by rename: a new inode) is stale */
	put("tern-uidlist.new", "tern-uidlist 1 77 4\n1 a\n2 b\n3 c\n");
	{
		char a[700], b[700];

		snprintf(a, sizeof a, "%s/tern-uidlist.new", md);
		snprintf(b, sizeof b, "%s/tern-uidlist", md);
		T_CHECK(rename(a, b) == 0);
	}
	T_EQ_INT(mdc_stamp(md, &now), 1);
	T_CHECK(!mdc_same(&st, &now));
	T_CHECK(!mdc_same_dirs(&st, &now));
	T_EQ_INT(mdc_map(md, &now, &m), 0);
	/* the stamp it was made at still maps it */
	T_EQ_INT(mdc_map(md, &st, &m), 1);
	mdc_unmap(&m);
	/* settled: new/ and cur/ MDC_SETTLE_MS old when stamped (the
	 * uidlist and index do not count: they are replaced or appended,
	 * so their inode or size tells every change) */
	T_EQ_INT(mdc_settled(&now), 0);
	now.taken += (MDC_SETTLE_MS + 1) * 1000000LL;
	T_EQ_INT(mdc_settled(&now), 1);
	now.sec[3] = now.sec[2] = (unsigned long long)time(NULL) + 100;
	T_EQ_INT(mdc_settled(&now), 1);
	now.taken -= 2 * 1000000LL;
	T_EQ_INT(mdc_settled(&now), 0);
	/* whole-second times: MDC_SETTLE_COARSE seconds */
	now.nsec[0] = now.nsec[1] = 0;
	now.taken = (long long)now.sec[1] * 1000000000LL + 999999999LL;
	if (now.sec[0] > now.sec[1])
		now.taken = (long long)now.sec[0] * 1000000000LL + 999999999LL;
	T_EQ_INT(mdc_settled(&now), 0);
	now.taken += MDC_SETTLE_COARSE * 1000000000LL;
	T_EQ_INT(mdc_settled(&now), 1);
	/* a part missing: not settled, not the same */
	now.have &= ~1U;
	T_EQ_INT(mdc_settled(&now), 0);
	T_EQ_INT(mdc_same_dirs(&now, &now), 0);
	mdc_w_free(&w);
}

/* The bytes of a cache of two records made at stamp st. */
static size_t
image(const struct mdc_stamp *st, unsigned char *out, size_t max)
{
	struct mdc_w w = MDC_W_INIT;
	struct mdc_head *h;
	size_t n;

	w.h.validity = 77;
	w.h.uidnext = 3;
	add(&w, 1, MBOX_SIZE_UNKNOWN, 5, "a:2,S", 0);
	add(&w, 2, 10, 6, "b", 1);
	w.h.n_new = 1;
	/* as mdc_save makes it, without the file */
	h = &w.h;
	memcpy(h->magic, "tern-imapcache2", 16);
	h->order = 0x0102030405060708ULL;
	memcpy(h->ino, st->ino, sizeof h->ino);
	memcpy(h->sec, st->sec, sizeof h->sec);
	memcpy(h->nsec, st->nsec, sizeof h->nsec);
	memcpy(h->size, st->size, sizeof h->size);
	h->names_len = w.names.len;
	n = sizeof *h + w.recs.len + w.names.len;
	T_CHECK(n <= max);
	memcpy(out, h, sizeof *h);
	memcpy(out + sizeof *h, w.recs.s, w.recs.len);
	memcpy(out + sizeof *h + w.recs.len, w.names.s, w.names.len);
	mdc_w_free(&w);
	return n;
}

static void
test_check(void)
{
	static uint64_t space[256];
	unsigned char *b = (unsigned char *)space, good[2048];
	struct mdc_stamp st;
	struct mdc_head *h = (struct mdc_head *)space;
	struct mdc_rec *r = (struct mdc_rec *)(h + 1);
	struct mdc_map m;
	size_t n, k;

	memset(&st, 0, sizeof st);
	st.have = (1U << MDC_PARTS) - 1;
	for (k = 0; k < MDC_PARTS; k++) {
		st.ino[k] = 1 + 4 * k;
		st.sec[k] = 2 + 4 * k;
		st.nsec[k] = 3 + 4 * k;
		st.size[k] = 4 + 4 * k;
	}
	n = image(&st, good, sizeof good);
	memcpy(b, good, n);
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_EQ_INT(m.h->n, 2);
	T_EQ_STR(mdc_name(&m, 0, 0), "a:2,S");
	T_EQ_STR(mdc_name(&m, 1, 1), "b");
	/* torn: any length but its own */
	for (k = 0; k < n; k++)
		T_EQ_INT(mdc_check(b, k, &st, &m), 0);
	/* any field of the stamp differs: stale */
	st.nsec[1]++;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	st.nsec[1]--;
	st.size[3]++;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	st.size[3]--;
	/* foreign magic and byte order, a tail never written */
	b[0] = 'T';
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	memcpy(b, good, n);
	h->order = 0x0807060504030201ULL;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	memcpy(b, good, n);
	memset(b + sizeof *h + sizeof *r, 0, n - sizeof *h - sizeof *r);
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	/* header counts over their bounds */
	memcpy(b, good, n);
	h->n_new = 3;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	memcpy(b, good, n);
	h->uidnext = 2;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	memcpy(b, good, n);
	h->validity = 0;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	memcpy(b, good, n);
	h->n = ~0ULL / 8;
	T_EQ_INT(mdc_check(b, n, &st, &m), 0);
	/* records that do not hold up are found one by one */
	memcpy(b, good, n);
	r[0].name = 1000;
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	r[0].len = 200;
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	r[0].baselen = 6;
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	r[0].uid = 0;
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	b[sizeof *h + 2 * sizeof *r] = '.';  /* ".:2,S" */
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	b[sizeof *h + 2 * sizeof *r + 1] = '/';  /* "a/2,S" */
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
	memcpy(b, good, n);
	r[0].len = 1;  /* "a", then no NUL */
	T_EQ_INT(mdc_check(b, n, &st, &m), 1);
	T_CHECK(mdc_name(&m, 0, 0) == NULL);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[400];

	snprintf(md, sizeof md, "%s/tern-test-mdcache.%ld",
	    tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	test_round_trip();
	test_check();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", md);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", md);
	T_DONE();
}
