/*
 * maildir: delivery into a Maildir (http://cr.yp.to/proto/maildir.html)
 * and the names of Maildir++ folders.
 *
 * The order of a delivery is what makes it safe: the message is complete
 * and fsynced in tmp/ before its name appears in new/, and new/ is fsynced
 * before the delivery is reported (unless the caller knows that a later
 * durable step of its own orders after the link: maildir_deliver's
 * syncdir), so a reader never sees half a message and a delivery
 * reported done survives a power cut.  The message bytes
 * are read with pread(2): the fd is shared with the scheduler (passed by
 * SCM_RIGHTS), so its file offset must not matter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"
#include "util/str.h"
#include "store/maildir.h"
#include "store/mdname.h"

#define MAILDIR_COPY_BUF 65536
#define MAILDIR_HOST_MAX 64
#define MAILDIR_TRIES 10  /* O_EXCL collisions before giving up */

static unsigned long maildir_counter;

int
maildir_make(const char *dir)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char path[FS_PATH_MAX];
	struct stat st;
	size_t i;

	/* the usual case, a Maildir that is there: three lookups without
	 * locks, where a mkdir per path component would each lock its
	 * parent directory (every delivery to a mailbox calls this) */
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++)
		if (fs_join(path, sizeof path, dir, sub[i]) < 0 ||
		    stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			break;
	if (i == sizeof sub / sizeof sub[0])
		return 1;
	if (fs_mkdirs(dir, 0700) < 0)
		return -1;
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		if (fs_join(path, sizeof path, dir, sub[i]) < 0)
			return -1;
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 1;
}

/*
 * The host part of a unique name.  The Maildir spec asks to encode '/'
 * as \057 and ':' as \072, since '/' cannot be in a name and ':' starts
 * the info part; we also drop ',' which starts our ,S= fields.
 */
static void
maildir_host(char *out, size_t outsz)
{
	char h[MAILDIR_HOST_MAX + 1];
	size_t i, o = 0;

	if (gethostname(h, sizeof h) < 0)
		h[0] = '\0';
	h[sizeof h - 1] = '\0';
	for (i = 0; h[i] != '\0' && o + 5 < outsz; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '/' || c == ':' || c == ',') {
			int n = snprintf(out + o, outsz - o, "\\%03o", c);

			if (n < 0)
				break;
			o += (size_t)n;
		} else if (c > 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	if (o == 0)
		str_copy(out, "localhost", outsz);
}

/* SECONDS.M<usec>P<pid>Q<counter>.HOST into out; 1 or -1/ENAMETOOLONG.
 * The microseconds have six digits, so that names sort in the order they
 * were made (lib/store/mbox gives UIDs in name order). */
int
maildir_unique(char *out, size_t outsz)
{
	static char host[MAILDIR_HOST_MAX * 4 + 1];
	struct timeval tv;
	int n;

	if (host[0] == '\0')
		maildir_host(host, sizeof host);
	if (gettimeofday(&tv, NULL) < 0)
		return -1;
	n = snprintf(out, outsz, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++maildir_counter, host);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

/* Count line feeds: each becomes CRLF when served (the W= field). */
static size_t
maildir_lfs(const char *p, size_t n)
{
	size_t c = 0;
	const char *e = p + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		c++;
		p++;
	}
	return c;
}

/* Write hdr and fd[off..EOF) to wfd; *bytes_r and *lfs_r count them. */
static int
maildir_copy(int wfd, const char *hdr, size_t hlen, int fd, off_t off,
    unsigned long long *bytes_r, unsigned long long *lfs_r)
{
	static char buf[MAILDIR_COPY_BUF];
	ssize_t r;

	*bytes_r = hlen;
	*lfs_r = maildir_lfs(hdr, hlen);
	if (hlen > 0 && fd_write_all(wfd, hdr, hlen) < 0)
		return -1;
	for (;;) {
		r = pread(fd, buf, sizeof buf, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		if (fd_write_all(wfd, buf, (size_t)r) < 0)
			return -1;
		off += r;
		*bytes_r += (unsigned long long)r;
		*lfs_r += maildir_lfs(buf, (size_t)r);
	}
}

/* Create dir/tmp/NAME exclusively; the name goes to name (size sz). */
static int
maildir_create(const char *dir, char *name, size_t sz, char *tpath,
    size_t tsz)
{
	char tmpdir[FS_PATH_MAX];
	int i, fd;

	if (fs_join(tmpdir, sizeof tmpdir, dir, "tmp") < 0)
		return -1;
	for (i = 0; i < MAILDIR_TRIES; i++) {
		if (maildir_unique(name, sz) < 0 ||
		    fs_join(tpath, tsz, tmpdir, name) < 0)
			return -1;
		fd = open(tpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;  /* errno EEXIST: someone keeps taking our names */
}

/* link tmp to new (rename where the file system has no hard links) */
static int
maildir_commit(const char *tpath, const char *npath)
{
	if (link(tpath, npath) == 0) {
		(void)unlink(tpath);  /* a leftover in tmp/ is harmless */
		return 1;
	}
	switch (errno) {
	case EPERM: case EXDEV: case ENOSYS: case EOPNOTSUPP: case EMLINK:
		return rename(tpath, npath) < 0 ? -1 : 1;
	default:
		return -1;
	}
}

int
maildir_deliver(const char *dir, const char *hdr, size_t hlen, int fd,
    off_t off, char *name_r, int syncdir)
{
	char base[MAILDIR_NAME_MAX + 1], tpath[FS_PATH_MAX], npath[FS_PATH_MAX];
	char newdir[FS_PATH_MAX];
	unsigned long long bytes, lfs;
	int wfd, n, saved;

	if (fs_join(newdir, sizeof newdir, dir, "new") < 0)
		return -1;
	/* room for ",S=<20 digits>,W=<20 digits>" after the base name */
	wfd = maildir_create(dir, base, sizeof base - 48, tpath, sizeof tpath);
	if (wfd < 0)
		return -1;
	if (maildir_copy(wfd, hdr, hlen, fd, off, &bytes, &lfs) < 0 ||
	    fsync(wfd) < 0)
		goto fail;
	n = close(wfd);  /* NFS reports write errors at close */
	wfd = -1;
	if (n < 0)
		goto fail;
	if (!mdname_make(name_r, MAILDIR_NAME_MAX + 1, base, bytes,
	    bytes + lfs)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (fs_join(npath, sizeof npath, newdir, name_r) < 0 ||
	    maildir_commit(tpath, npath) < 0)
		goto fail;
	if (syncdir && fs_syncdir(newdir) < 0) {
		/* the name may not be durable: take it back, report an error */
		saved = errno;
		(void)unlink(npath);
		errno = saved;
		return -1;
	}
	return 1;
fail:
	saved = errno;
	if (wfd >= 0)
		close(wfd);
	(void)unlink(tpath);
	errno = saved;
	return -1;
}

int
maildir_folder(char *out, size_t outsz, const char *dir, const char *folder)
{
	size_t i, n = strlen(folder);
	int r;

	/*
	 * Maildir++: a folder is dir/.NAME with '.' separating levels.  Refuse
	 * names that could leave dir or confuse readers: empty levels, '/',
	 * control characters, and a leading, trailing or doubled '.'.
	 */
	if (n == 0 || n > MAILDIR_NAME_MAX - 1 || folder[0] == '.' ||
	    folder[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)folder[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
		if (c == '.' && folder[i + 1] == '.')
			return 0;
	}
	r = snprintf(out, outsz, "%s/.%s", dir, folder);
	if (r < 0 || (size_t)r >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

/* Bytes and count of the messages in dir (their ,S= or their size). */
static void
dir_usage(const char *dir, unsigned long long *bytes, unsigned long *count)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		unsigned long long u;

		if (de->d_name[0] == '.')
			continue;
		if (mdname_field(de->d_name, mdname_base_len(de->d_name, n),
		    'S', &u)) {
			*bytes += u;
			(*count)++;
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode)) {
			*bytes += (unsigned long long)st.st_size;
			(*count)++;
		}
	}
	(void)closedir(d);
}

int
maildir_usage(const char *dir, unsigned long long *bytes_r,
    unsigned long *count_r)
{
	char p[FS_PATH_MAX];
	struct dirent *de;
	DIR *d;

	*bytes_r = 0;
	*count_r = 0;
	if (fs_join(p, sizeof p, dir, "new") > 0)
		dir_usage(p, bytes_r, count_r);
	if (fs_join(p, sizeof p, dir, "cur") > 0)
		dir_usage(p, bytes_r, count_r);
	if ((d = opendir(dir)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof p, "%s/%s/new", dir, de->d_name) <
		    (int)sizeof p)
			dir_usage(p, bytes_r, count_r);
		if (snprintf(p, sizeof p, "%s/%s/cur", dir, de->d_name) <
		    (int)sizeof p)
			dir_usage(p, bytes_r, count_r);
	}
	(void)closedir(d);
	return 1;
}
