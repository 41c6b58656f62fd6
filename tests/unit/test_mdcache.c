/*
 * test_mdcache: lib/store/mdcache.c: in a scratch Maildir, the stamp of
 * new/, cur/ and tern-uidlist, a save and load round trip, a load after
 * any of the three changed (stale: not used), the settle rule, and the
 * parser's refusals (foreign magic, torn last line, UIDs out of order or
 * at UIDNEXT, names with '/' or a leading '.', a count that does not
 * match, numbers over their bounds).
 */
#include <errno.h>
#include <fcntl.h>
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
test_round_trip(void)
{
	struct mdc_stamp st, now;
	struct mdc c = MDC_INIT, d = MDC_INIT;
	char p[700];

	T_CHECK(maildir_make(md) > 0);
	/* no tern-uidlist yet: no stamp */
	T_EQ_INT(mdc_stamp(md, &st), 0);
	put("tern-uidlist", "tern-uidlist 1 77 3\n1 a\n2 b\n");
	put("cur/a:2,S", "x\n");
	put("new/b", "y\n");
	T_EQ_INT(mdc_stamp(md, &st), 1);
	c.validity = 77;
	c.uidnext = 3;
	T_EQ_INT(mdc_add(&c, 1, 106, "a:2,S", 0), 1);
	T_EQ_INT(mdc_add(&c, 2, MBOX_SIZE_UNKNOWN, "b", 1), 1);
	T_EQ_INT(mdc_save(md, &st, &c), 1);
	T_EQ_INT(mdc_load(md, &st, &d), 1);
	T_EQ_INT(d.validity, 77);
	T_EQ_INT(d.uidnext, 3);
	T_EQ_INT(d.n, 2);
	T_EQ_INT(d.e[0].uid, 1);
	T_EQ_INT(d.e[0].size, 106);
	T_EQ_INT(d.e[0].in_new, 0);
	T_EQ_INT(d.e[0].baselen, 1);
	T_EQ_STR(d.names.s + d.e[0].name, "a:2,S");
	T_EQ_INT(d.e[1].uid, 2);
	T_CHECK(d.e[1].size == MBOX_SIZE_UNKNOWN);
	T_EQ_INT(d.e[1].in_new, 1);
	T_EQ_STR(d.names.s + d.e[1].name, "b");
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
			T_EQ_INT(mdc_load(md, &now, &d), 0);
		T_CHECK(rename(q, p) == 0);
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
	T_EQ_INT(mdc_load(md, &now, &d), 0);
	T_EQ_INT(d.n, 0);
	/* the stamp it was made at still loads it */
	T_EQ_INT(mdc_load(md, &st, &d), 1);
	/* settled: every time MDC_SETTLE seconds old */
	T_EQ_INT(mdc_settled(&now, (long long)time(NULL)), 0);
	T_EQ_INT(mdc_settled(&now, (long long)time(NULL) + MDC_SETTLE + 1), 1);
	mdc_free(&c);
	mdc_free(&d);
}

static void
test_parse(void)
{
	struct mdc_stamp st;
	struct mdc c = MDC_INIT;
	static const char *const bad[] = {
		"tern-imapcache 2 77 3 1.2.3.4 5.6.7.8 9.10.11.12 0\n",
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "1 5 c a",                       /* torn */
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 2\n"
		    "2 5 c a\n1 5 c b\n",            /* out of order */
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "3 5 c a\n",                     /* at UIDNEXT */
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "1 5 c ../x\n",
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "1 5 c .hidden\n",
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 2\n"
		    "1 5 c a\n",                     /* fewer than said */
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "1 5 c a\n2 5 c b\n",            /* more */
		"tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 1\n"
		    "1 5 x a\n",
		"tern-imapcache 1 99999999999 3 1.2.3.4 5.6.7.8 9.10.11.12 0\n",
		"tern-imapcache 1 77 3 1.2.3.1000000000 5.6.7.8 9.10.11.12 0\n",
		"tern-imapcache 1 0 3 1.2.3.4 5.6.7.8 9.10.11.12 0\n",
	};
	const char *good = "tern-imapcache 1 77 3 1.2.3.4 5.6.7.8 9.10.11.12 2\n"
	    "1 - c a:2,S\n2 10 n b\n";
	size_t i;

	memset(&st, 0, sizeof st);
	st.ino[0] = 1; st.sec[0] = 2; st.nsec[0] = 3; st.size[0] = 4;
	st.ino[1] = 5; st.sec[1] = 6; st.nsec[1] = 7; st.size[1] = 8;
	st.ino[2] = 9; st.sec[2] = 10; st.nsec[2] = 11; st.size[2] = 12;
	T_EQ_INT(mdc_parse(good, strlen(good), &st, &c), 1);
	T_EQ_INT(c.n, 2);
	T_EQ_INT(c.e[0].baselen, 1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		T_EQ_INT(mdc_parse(bad[i], strlen(bad[i]), &st, &c), 0);
		T_EQ_INT(c.n, 0);
	}
	/* any field of the stamp differs: stale */
	st.nsec[1] = 8;
	T_EQ_INT(mdc_parse(good, strlen(good), &st, &c), 0);
	mdc_free(&c);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[400];

	snprintf(md, sizeof md, "%s/tern-test-mdcache.%ld",
	    tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	test_round_trip();
	test_parse();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", md);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", md);
	T_DONE();
}
