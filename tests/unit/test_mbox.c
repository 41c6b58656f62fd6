/*
 * test_mbox: lib/store/mbox.c and lib/store/mbox_uid.c: the pure name and size
 * helpers, POP3 UIDLs, and in a scratch Maildir the scan (new/ -> cur/,
 * skipped names, one entry per base), the uidlist (stable UIDs, new ones
 * in order, vanished ones dropped, renamed-meanwhile ones kept, a broken
 * list reset), sizes without ,W=, files renamed under us, and the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/mbox.h"
#include "store/mbox_int.h"
#include "t.h"

static char md[300];

static void
rm_rf(const char *path)
{
	char cmd[600];

	if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) < (int)sizeof cmd &&
	    system(cmd) != 0)
		printf("cannot remove %s\n", path);
}

/* Write md/sub/name with text. */
static void
put(const char *sub, const char *name, const char *text)
{
	char p[700];
	int fd;

	snprintf(p, sizeof p, "%s/%s/%s", md, sub, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!T_CHECK(fd >= 0))
		return;
	T_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static int
exists(const char *sub, const char *name)
{
	char p[700];

	snprintf(p, sizeof p, "%s/%s/%s", md, sub, name);
	return access(p, F_OK) == 0;
}

static void
move(const char *from, const char *to)
{
	char a[700], b[700];

	snprintf(a, sizeof a, "%s/%s", md, from);
	snprintf(b, sizeof b, "%s/%s", md, to);
	T_CHECK(rename(a, b) == 0);
}

static int
unlink_md(const char *name)
{
	char p[700];

	snprintf(p, sizeof p, "%s/%s", md, name);
	return unlink(p);
}

static char *
uidlist(void)
{
	static char *text;
	char p[400];
	size_t len;

	free(text);
	text = NULL;
	snprintf(p, sizeof p, "%s/%s", md, MBOX_UIDLIST);
	if (fs_read_file(p, 1 << 20, &text, &len) <= 0)
		return NULL;
	return text;
}

static void
fresh(void)
{
	char p[400];
	static const char *const sub[] = { "cur", "new", "tmp" };
	size_t i;

	rm_rf(md);
	T_CHECK(mkdir(md, 0700) == 0);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", md, sub[i]);
		T_CHECK(mkdir(p, 0700) == 0);
	}
}

static void
test_names(void)
{
	unsigned long long v = 0;

	T_EQ_INT(mdname_base_len("abc:2,S", 7), 3);
	T_EQ_INT(mdname_base_len("abc", 3), 3);
	T_EQ_INT(mdname_base_len(":2,", 3), 0);
	T_CHECK(mdname_field("1.M1P1.h,S=123,W=130", 20, 'S', &v) == 1 &&
	    v == 123);
	T_CHECK(mdname_field("1.M1P1.h,S=123,W=130", 20, 'W', &v) == 1 &&
	    v == 130);
	T_CHECK(mdname_field("1.h,S=12x,W=5", 13, 'W', &v) == 1 && v == 5);
	T_EQ_INT(mdname_field("1.h,S=12x,W=5", 13, 'S', &v), 0);
	T_EQ_INT(mdname_field("1.h,S=,W=5", 10, 'S', &v), 0);
	T_EQ_INT(mdname_field("1.M1P1.host", 11, 'W', &v), 0);
	T_EQ_INT(mdname_field("1.h,W=99999999999999999999999", 29, 'W', &v),
	    0);
	/* the field ends at the base: ":2,W=1" is flags, not a size */
	T_EQ_INT(mdname_field("1.h", 3, 'W', &v), 0);
	/* the largest value that fits, and one more */
	T_CHECK(mdname_field("1.h,S=18446744073709551615", 26, 'S', &v) == 1 &&
	    v == 18446744073709551615ULL);
	T_EQ_INT(mdname_field("1.h,S=18446744073709551616", 26, 'S', &v), 0);
	{
		const char *f;
		size_t fl = 99;
		char out[64];

		f = mdname_flags("1.h,S=3:2,FS", 12, &fl);
		T_CHECK(f != NULL && fl == 2 && memcmp(f, "FS", 2) == 0);
		f = mdname_flags("1.h:2,", 6, &fl);
		T_CHECK(f != NULL && fl == 0);
		T_CHECK(mdname_flags("1.h", 3, &fl) == NULL);
		T_CHECK(mdname_flags("1.h:1,xyz", 9, &fl) == NULL);
		T_CHECK(mdname_flags("1.h:2", 5, &fl) == NULL);
		T_EQ_INT(mdname_make(out, sizeof out, "1.M2P3Q4.h", 10, 12), 1);
		T_EQ_STR(out, "1.M2P3Q4.h,S=10,W=12");
		T_EQ_INT(mdname_make(out, 20, "1.M2P3Q4.h", 10, 12), 0);
		T_EQ_STR(out, "");
		/* what mdname_make writes, mdname_field reads */
		T_EQ_INT(mdname_make(out, sizeof out, "x", 7, 9), 1);
		T_CHECK(mdname_field(out, strlen(out), 'W', &v) == 1 && v == 9);
	}
}

static void
test_uidl(void)
{
	char out[MBOX_UIDL_MAX + 1], longname[72];

	T_CHECK(mbox_uidl_of("1.M2P3Q4.host,S=5,W=6", 21, out) == 1);
	T_EQ_STR(out, "1.M2P3Q4.host,S=5,W=6");
	memset(longname, 'x', 71);
	longname[71] = '\0';
	/* 70 characters is still a valid unique-id (RFC 1939 7) */
	T_CHECK(mbox_uidl_of(longname, 70, out) == 1);
	T_EQ_INT(strlen(out), 70);
	/* 71: "~" and 32 hex digits of its SHA-256 */
	T_CHECK(mbox_uidl_of(longname, 71, out) == 1);
	T_EQ_STR(out, "~87a1e4c1c92b7b7a7c46433d780de6cc");
	/* a space is outside 0x21..0x7e */
	T_CHECK(mbox_uidl_of("a b", 3, out) == 1);
	T_EQ_STR(out, "~c8687a08aa5d6ed2044328fa6a697ab8");
}

static void
test_crlf(void)
{
	int cr = 0;

	T_EQ_INT(mbox_crlf_size("a\nb\n", 4, &cr), 6);
	cr = 0;
	T_EQ_INT(mbox_crlf_size("a\r\nb", 4, &cr), 4);
	cr = 0;
	T_EQ_INT(mbox_crlf_size("\n\n", 2, &cr), 4);
	/* a CRLF split between two reads counts once */
	cr = 0;
	T_EQ_INT(mbox_crlf_size("a\r", 2, &cr), 2);
	T_EQ_INT(cr, 1);
	T_EQ_INT(mbox_crlf_size("\nb", 2, &cr), 2);
	T_EQ_INT(cr, 0);
	T_EQ_INT(mbox_crlf_size("", 0, &cr), 0);
}

/* new/ -> cur/, skipped entries, order, sizes */
static void
test_scan(void)
{
	struct mbox mb;
	char p[400];
	unsigned long long size = 0;

	fresh();
	put("new", "200.M1P1Q1.h,S=4,W=6", "a\nb\n");
	put("new", "100.M1P1Q1.h,S=4,W=6", "c\nd\n");
	put("cur", "150.M1P1Q1.h:2,S", "e\r\nf\n");  /* no sizes: counted */
	put("cur", ".hidden", "x");
	put("new", "bad\001name", "x");
	snprintf(p, sizeof p, "%s/cur/subdir", md);
	T_CHECK(mkdir(p, 0700) == 0);
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1);
	T_EQ_INT(mb.n, 3);
	T_CHECK(exists("cur", "200.M1P1Q1.h,S=4,W=6:2,"));
	T_CHECK(exists("cur", "100.M1P1Q1.h,S=4,W=6:2,"));
	T_CHECK(!exists("new", "200.M1P1Q1.h,S=4,W=6"));
	T_CHECK(exists("new", "bad\001name"));  /* left alone */
	/* sorted by name */
	T_EQ_STR(mbox_name(&mb, 0), "100.M1P1Q1.h,S=4,W=6:2,");
	T_EQ_STR(mbox_name(&mb, 1), "150.M1P1Q1.h:2,S");
	T_CHECK(mbox_size(&mb, 0, &size) == 1 && size == 6);
	T_CHECK(mbox_size(&mb, 1, &size) == 1 && size == 6);
	mbox_close(&mb);

	/* without to_cur: new/ stays; a base in both is listed once, cur/ */
	put("new", "300.M1P1Q1.h", "x\n");
	put("new", "150.M1P1Q1.h", "e\r\nf\n");
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 0) == 1);
	T_EQ_INT(mb.n, 4);
	T_EQ_STR(mbox_name(&mb, 1), "150.M1P1Q1.h:2,S");
	T_EQ_INT(mb.msg[1].in_new, 0);
	T_EQ_INT(mb.msg[3].in_new, 1);
	mbox_close(&mb);

	/* a missing Maildir is an empty one */
	T_CHECK(mbox_open(&mb, "/nonexistent/tern-test") == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1);
	T_EQ_INT(mb.n, 0);
	mbox_close(&mb);
}

static unsigned long
uid_of(struct mbox *mb, const char *prefix)
{
	size_t i;

	for (i = 0; i < mb->n; i++)
		if (strncmp(mbox_name(mb, i), prefix, strlen(prefix)) == 0)
			return mb->msg[i].uid;
	return 0;
}

static void
test_uids(void)
{
	struct mbox mb;
	unsigned long v;
	char p[200], *t;

	fresh();
	put("new", "20.A.h", "x\n");
	put("new", "10.A.h", "x\n");
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1 && mbox_uids(&mb) == 1);
	T_EQ_INT(mb.uid_reset, 1);
	T_EQ_INT(uid_of(&mb, "10.A.h"), 1);
	T_EQ_INT(uid_of(&mb, "20.A.h"), 2);
	T_EQ_INT(mb.uidnext, 3);
	v = mb.uidvalidity;
	T_CHECK(v > 0);
	t = uidlist();
	T_CHECK(t != NULL && strstr(t, "1 10.A.h\n2 20.A.h\n") != NULL);
	mbox_close(&mb);

	/* a new message gets the next UID; flags and expunges elsewhere */
	put("new", "05.A.h", "x\n");
	move("cur/20.A.h:2,", "cur/20.A.h:2,S");
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1 && mbox_uids(&mb) == 1);
	T_EQ_INT(mb.uid_reset, 0);
	T_EQ_INT(mb.uidvalidity, v);
	T_EQ_INT(uid_of(&mb, "10.A.h"), 1);
	T_EQ_INT(uid_of(&mb, "20.A.h"), 2);
	T_EQ_INT(uid_of(&mb, "05.A.h"), 3);
	/* sorted by UID */
	T_EQ_STR(mbox_name(&mb, 2), "05.A.h:2,");
	mbox_close(&mb);

	/* session 2: 10.A.h is out of sight while the directory is read
	 * (as during another session's rename) and back before the list is
	 * written: it keeps its entry and is put back into the scan with
	 * its UID (else IMAP would think it expunged); 05.A.h is gone: it
	 * loses it */
	T_CHECK(mbox_open(&mb, md) == 1);
	move("cur/10.A.h:2,", "tmp/10.A.h:2,");
	T_CHECK(unlink_md("cur/05.A.h:2,") == 0);
	T_CHECK(mbox_scan(&mb, 1) == 1);
	T_EQ_INT(mb.n, 1);
	move("tmp/10.A.h:2,", "cur/10.A.h:2,");
	T_CHECK(mbox_uids(&mb) == 1);
	T_EQ_INT(mb.n, 2);
	T_EQ_INT(uid_of(&mb, "10.A.h"), 1);
	T_EQ_INT(uid_of(&mb, "20.A.h"), 2);
	T_EQ_STR(mbox_name(&mb, 0), "10.A.h:2,");
	mbox_close(&mb);
	t = uidlist();
	T_CHECK(t != NULL && strstr(t, "\n1 10.A.h\n") != NULL);
	T_CHECK(t != NULL && strstr(t, " 05.A.h\n") == NULL);
	put("cur", "30.A.h:2,", "x\n");
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1 && mbox_uids(&mb) == 1);
	T_EQ_INT(mb.n, 3);
	T_EQ_INT(uid_of(&mb, "10.A.h"), 1);
	T_EQ_INT(uid_of(&mb, "20.A.h"), 2);
	T_EQ_INT(uid_of(&mb, "30.A.h"), 4);
	T_EQ_INT(mb.uidnext, 5);
	mbox_close(&mb);

	/* a broken list: a new UIDVALIDITY, everything numbered again */
	snprintf(p, sizeof p, "tern-uidlist 1 %lu 9\n1 10.A.h\n1 x\n", v);
	put(".", MBOX_UIDLIST, p);
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1 && mbox_uids(&mb) == 1);
	T_EQ_INT(mb.uid_reset, 2);
	T_CHECK(mb.uidvalidity != v);
	T_EQ_INT(uid_of(&mb, "10.A.h"), 1);
	T_EQ_INT(uid_of(&mb, "20.A.h"), 2);
	T_EQ_INT(uid_of(&mb, "30.A.h"), 3);
	mbox_close(&mb);
	t = uidlist();
	T_CHECK(t != NULL && strncmp(t, "tern-uidlist 1 ", 15) == 0);

	/* the list removed (a mailbox emptied and filled again): the new
	 * UIDVALIDITY is above the one IMAP's tern-imapindex was made for,
	 * even when that is the time now (RFC 9051 2.3.1.1) */
	{
		char q[700];
		unsigned long now = (unsigned long)time(NULL) + 5;

		snprintf(p, sizeof p, "tern-imapindex 1 %lu\n", now);
		put(".", "tern-imapindex", p);
		snprintf(q, sizeof q, "%s/%s", md, MBOX_UIDLIST);
		T_CHECK(unlink(q) == 0);
		T_CHECK(mbox_open(&mb, md) == 1);
		T_CHECK(mbox_scan(&mb, 1) == 1 && mbox_uids(&mb) == 1);
		T_EQ_INT(mb.uid_reset, 1);
		T_EQ_INT(mb.uidvalidity, now + 1);
		mbox_close(&mb);
		snprintf(q, sizeof q, "%s/tern-imapindex", md);
		T_CHECK(unlink(q) == 0);
	}
}

/* files renamed or removed by someone else after the scan */
static void
test_relocate(void)
{
	struct mbox mb;
	char buf[16];
	int fd;

	fresh();
	put("cur", "1.A.h:2,", "one\n");
	put("cur", "2.A.h:2,", "two\n");
	T_CHECK(mbox_open(&mb, md) == 1);
	T_CHECK(mbox_scan(&mb, 1) == 1);
	move("cur/1.A.h:2,", "cur/1.A.h:2,FS");
	fd = mbox_msg_open(&mb, 0);
	T_CHECK(fd >= 0);
	if (fd >= 0) {
		T_EQ_INT(read(fd, buf, sizeof buf), 4);
		T_CHECK(memcmp(buf, "one\n", 4) == 0);
		close(fd);
	}
	T_EQ_STR(mbox_name(&mb, 0), "1.A.h:2,FS");
	move("cur/2.A.h:2,", "cur/2.A.h:2,T");
	T_EQ_INT(mbox_remove(&mb, 1), 1);
	T_CHECK(!exists("cur", "2.A.h:2,T"));
	T_EQ_INT(mbox_remove(&mb, 1), 0);
	errno = 0;
	T_EQ_INT(mbox_msg_open(&mb, 1), -1);
	T_EQ_INT(errno, ENOENT);
	T_EQ_INT(mbox_remove(&mb, 0), 1);
	T_CHECK(mbox_sync(&mb) == 1);
	mbox_close(&mb);
}

static void
test_lock(void)
{
	struct mbox a, b;

	fresh();
	T_CHECK(mbox_open(&a, md) == 1 && mbox_open(&b, md) == 1);
	T_EQ_INT(mbox_lock(&a, MBOX_POP3_LOCK), 1);
	T_EQ_INT(mbox_lock(&b, MBOX_POP3_LOCK), 0);
	mbox_close(&a);
	T_EQ_INT(mbox_lock(&b, MBOX_POP3_LOCK), 1);
	mbox_close(&b);
}

/* The one flock helper: no wait (0), a bounded wait (ETIMEDOUT), a
 * symlink refused, the mode of a new lock file. */
static void
test_flock(void)
{
	struct timespec t0, t1;
	char path[4096];
	struct stat st;
	int a = -1, b = -1;

	fresh();
	T_EQ_INT(mbox_flock(md, "x.lock", 0, &a), 1);
	snprintf(path, sizeof path, "%s/x.lock", md);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	T_EQ_INT(mbox_flock(md, "x.lock", 0, &b), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	T_EQ_INT(mbox_flock(md, "x.lock", 1, &b), -1);
	T_EQ_INT(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	T_CHECK(t1.tv_sec - t0.tv_sec >= 0 && t1.tv_sec - t0.tv_sec <= 3);
	close(a);
	T_EQ_INT(mbox_flock(md, "x.lock", 1, &b), 1);
	close(b);
	snprintf(path, sizeof path, "%s/link.lock", md);
	T_CHECK(symlink("x.lock", path) == 0);
	T_EQ_INT(mbox_flock(md, "link.lock", 0, &b), -1);
	T_EQ_INT(errno, ELOOP);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(md, sizeof md, "%s/tern-test-mbox.%ld",
	    tmp && tmp[0] ? tmp : "/tmp", (long)getpid());
	test_names();
	test_uidl();
	test_crlf();
	test_scan();
	test_uids();
	test_relocate();
	test_lock();
	test_flock();
	rm_rf(md);
	T_DONE();
}
