/*
 * test_maildir: lib/store/maildir.c in a scratch directory: maildir_make, the
 * delivery (content, unique names, the ,S= and ,W= sizes, nothing left in
 * tmp/, the fd offset left alone) and Maildir++ folder names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/maildir.h"
#include "t.h"

static char base[256];

/* Number of entries (not . or ..) in dir. */
static int
count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int
isdir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
rm_rf(const char *path)
{
	char cmd[600];

	if (snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) < (int)sizeof cmd &&
	    system(cmd) != 0)
		printf("cannot remove %s\n", path);
}

static void
test_make(void)
{
	char md[400], p[500];

	snprintf(md, sizeof md, "%s/a/b/Maildir", base);
	T_EQ_INT(maildir_make(md), 1);
	snprintf(p, sizeof p, "%s/new", md);
	T_CHECK(isdir(p));
	snprintf(p, sizeof p, "%s/cur", md);
	T_CHECK(isdir(p));
	snprintf(p, sizeof p, "%s/tmp", md);
	T_CHECK(isdir(p));
	T_EQ_INT(maildir_make(md), 1);  /* again: fine */
}

/* A queue file with an "envelope" before the message at offset off. */
static int
queue_file(const char *msg, off_t *off)
{
	char path[400];
	const char *env = "V1\nT1\nF\nRx@y\n\n";
	int fd;

	snprintf(path, sizeof path, "%s/qfile", base);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, env, strlen(env)) != (ssize_t)strlen(env) ||
	    write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg))
		return -1;
	*off = (off_t)strlen(env);
	return fd;
}

static void
test_deliver(void)
{
	const char *msg = "Subject: x\n\nline one\nline two\n";
	const char *hdr = "Return-Path: <a@b>\n";
	char md[400], p[700], name[MAILDIR_NAME_MAX + 1], name2[sizeof name];
	char *data = NULL, want[200];
	size_t len = 0, total;
	off_t off;
	int fd;

	snprintf(md, sizeof md, "%s/m/Maildir", base);
	T_EQ_INT(maildir_make(md), 1);
	fd = queue_file(msg, &off);
	if (!T_CHECK(fd >= 0))
		return;
	/* the fd's own offset must not matter (pread) */
	T_CHECK(lseek(fd, 3, SEEK_SET) == 3);
	T_EQ_INT(maildir_deliver(md, hdr, strlen(hdr), fd, off, name, 1), 1);
	T_CHECK(lseek(fd, 0, SEEK_CUR) == 3);
	total = strlen(hdr) + strlen(msg);
	/* 5 LFs: one in hdr, four in msg */
	snprintf(want, sizeof want, ",S=%zu,W=%zu", total, total + 5);
	T_CHECK(strstr(name, want) != NULL);
	T_CHECK(strchr(name, '/') == NULL && strchr(name, ':') == NULL);
	snprintf(p, sizeof p, "%s/new/%s", md, name);
	T_EQ_INT(fs_read_file(p, 1 << 20, &data, &len), 1);
	if (data != NULL) {
		T_EQ_INT(len, total);
		T_CHECK(memcmp(data, hdr, strlen(hdr)) == 0);
		T_CHECK(memcmp(data + strlen(hdr), msg, strlen(msg)) == 0);
		free(data);
	}
	snprintf(p, sizeof p, "%s/tmp", md);
	T_EQ_INT(count(p), 0);
	/* a second delivery gets another name */
	T_EQ_INT(maildir_deliver(md, NULL, 0, fd, off, name2, 1), 1);
	T_CHECK(strcmp(name, name2) != 0);
	snprintf(want, sizeof want, ",S=%zu,W=%zu", strlen(msg),
	    strlen(msg) + 4);
	T_CHECK(strstr(name2, want) != NULL);
	snprintf(p, sizeof p, "%s/new", md);
	T_EQ_INT(count(p), 2);
	close(fd);
}

static void
test_errors(void)
{
	char md[400], name[MAILDIR_NAME_MAX + 1];
	off_t off;
	int fd = queue_file("x\n", &off);

	/* no such Maildir: an error, nothing created */
	snprintf(md, sizeof md, "%s/none/Maildir", base);
	errno = 0;
	T_EQ_INT(maildir_deliver(md, "", 0, fd, off, name, 1), -1);
	T_EQ_INT(errno, ENOENT);
	/* a bad fd: the tmp file is removed again */
	snprintf(md, sizeof md, "%s/e/Maildir", base);
	T_EQ_INT(maildir_make(md), 1);
	T_EQ_INT(maildir_deliver(md, "h\n", 2, -1, 0, name, 1), -1);
	snprintf(md, sizeof md, "%s/e/Maildir/tmp", base);
	T_EQ_INT(count(md), 0);
	snprintf(md, sizeof md, "%s/e/Maildir/new", base);
	T_EQ_INT(count(md), 0);
	close(fd);
}

static void
test_folder(void)
{
	char out[64];

	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "Junk"), 1);
	T_EQ_STR(out, "/m/.Junk");
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "Lists.tern"), 1);
	T_EQ_STR(out, "/m/.Lists.tern");
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", ""), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "."), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", ".."), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", ".x"), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "x."), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "a..b"), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "a/b"), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "../x"), 0);
	T_EQ_INT(maildir_folder(out, sizeof out, "/m", "a\nb"), 0);
	errno = 0;
	T_EQ_INT(maildir_folder(out, 8, "/m", "verylongname"), -1);
	T_EQ_INT(errno, ENAMETOOLONG);
}

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!T_CHECK(f != NULL))
		return;
	fputs(text, f);
	fclose(f);
}

static void
test_usage(void)
{
	char md[400], p[700];
	unsigned long long bytes = 1;
	unsigned long count = 1;

	snprintf(md, sizeof md, "%s/usage", base);
	T_EQ_INT(maildir_usage(md, &bytes, &count), 1);  /* none yet */
	T_EQ_INT(bytes, 0);
	T_EQ_INT(count, 0);
	T_CHECK(maildir_make(md) > 0);
	snprintf(p, sizeof p, "%s/.Sub", md);
	T_CHECK(maildir_make(p) > 0);
	/* ,S= counts as written; without it the file's size */
	snprintf(p, sizeof p, "%s/new/1.a,S=100,W=104", md);
	put_file(p, "x");
	snprintf(p, sizeof p, "%s/cur/2.b:2,S", md);
	put_file(p, "12345");
	snprintf(p, sizeof p, "%s/.Sub/cur/3.c,S=1000:2,", md);
	put_file(p, "y");
	/* tmp/ and dot files do not count */
	snprintf(p, sizeof p, "%s/tmp/4.d,S=99999", md);
	put_file(p, "z");
	snprintf(p, sizeof p, "%s/cur/.hidden", md);
	put_file(p, "zzzz");
	T_EQ_INT(maildir_usage(md, &bytes, &count), 1);
	T_EQ_INT(bytes, 1105);
	T_EQ_INT(count, 3);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base, sizeof base, "%s/test_maildir.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (!T_CHECK(mkdtemp(base) != NULL))
		T_DONE();
	test_make();
	test_deliver();
	test_errors();
	test_folder();
	test_usage();
	rm_rf(base);
	T_DONE();
}
