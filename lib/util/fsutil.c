/*
 * fsutil: the file-system steps crash safety rests on (fsync of files and
 * directories, atomic replace), and small fd helpers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"

int
fs_syncdir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int saved;

	if (fd < 0)
		return -1;
	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd) < 0 ? -1 : 1;
}

/* The directory part of path into out ("." when there is none). */
static int
dirname_of(char *out, size_t outsz, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(out, outsz, ".") < (int)outsz ? 1 : -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, path, n);
	out[n] = '\0';
	return 1;
}

static int
replace(const char *path, const char *tmp, const void *p, size_t n,
    mode_t mode, int sync)
{
	char dir[FS_PATH_MAX];
	int fd, saved;

	if (dirname_of(dir, sizeof dir, path) < 0)
		return -1;
	(void)unlink(tmp);  /* a stale one from a crash */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, p, n) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return sync ? fs_syncdir(dir) : 1;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

int
fs_atomic_write(const char *path, const char *tmp, const void *p, size_t n,
    mode_t mode)
{
	return replace(path, tmp, p, n, mode, 1);
}

int
fs_replace(const char *path, const char *tmp, const void *p, size_t n,
    mode_t mode)
{
	return replace(path, tmp, p, n, mode, 0);
}

int
fs_read_fd(int fd, size_t max, char **data_r, size_t *len_r)
{
	struct stat st;
	size_t cap, len = 0;
	char *data, *n;
	ssize_t got;
	int saved;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	/* the size is where to start, not the limit: a /proc file says 0,
	 * so read to EOF, never beyond max */
	cap = (size_t)st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	if ((data = malloc(cap)) == NULL)
		return -1;
	for (;;) {
		if (len + 1 == cap) {
			if (len >= max) {   /* full: one more byte is too many */
				char c;

				while ((got = read(fd, &c, 1)) < 0 &&
				    errno == EINTR)
					;
				if (got == 0)
					break;
				if (got > 0)
					errno = EFBIG;
				goto fail;
			}
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			if ((n = realloc(data, cap)) == NULL)
				goto fail;
			data = n;
		}
		got = read(fd, data + len, cap - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto fail;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 1;
fail:
	saved = errno;
	free(data);
	errno = saved;
	return -1;
}

int
fs_read_file(const char *path, size_t max, char **data_r, size_t *len_r)
{
	int fd, r, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = fs_read_fd(fd, max, data_r, len_r);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	char tmp[FS_PATH_MAX];
	size_t n = strlen(path), i;

	if (n == 0 || n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		if (i < n)
			tmp[i] = '/';
	}
	return 1;
}

int
fs_join(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

int
fd_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	if (f < 0 || fcntl(fd, F_SETFD, f | FD_CLOEXEC) < 0)
		return -1;
	return 1;
}

int
fd_nonblock(int fd)
{
	int f = fcntl(fd, F_GETFL);

	if (f < 0 || fcntl(fd, F_SETFL, f | O_NONBLOCK) < 0)
		return -1;
	return 1;
}

void
fd_close_from(int from)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self;

	if (d == NULL) {
		int fd;

		for (fd = from; fd < 1024; fd++)
			close(fd);
		return;
	}
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		unsigned long fd;
		char *end;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = strtoul(de->d_name, &end, 10);
		if (*end == '\0' && fd >= (unsigned long)from &&
		    (int)fd != self)
			close((int)fd);
	}
	closedir(d);
}

#define MOUNTINFO_MAX (4 * 1024 * 1024)

int
fs_type_of_dev(dev_t dev, char *out, size_t outsz)
{
	char *data, *line, *next, *f, want[32];
	size_t len, n;
	int found = 0, i;

	if (fs_read_file("/proc/self/mountinfo", MOUNTINFO_MAX, &data,
	    &len) <= 0)
		return -1;
	snprintf(want, sizeof want, "%u:%u", major(dev), minor(dev));
	/* "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE ..." */
	for (line = data; line != NULL && !found; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (f = line, i = 0; i < 2 && f != NULL; i++)
			if ((f = strchr(f, ' ')) != NULL)
				f++;
		n = strlen(want);
		if (f == NULL || strncmp(f, want, n) != 0 || f[n] != ' ' ||
		    (f = strstr(f, " - ")) == NULL)
			continue;
		f += 3;
		n = strcspn(f, " ");
		if (n == 0 || n >= outsz)
			continue;
		memcpy(out, f, n);
		out[n] = '\0';
		found = 1;
	}
	free(data);
	return found;
}
