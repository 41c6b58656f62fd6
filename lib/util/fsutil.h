/*
 * fsutil: file-system steps that crash safety depends on.
 */
#ifndef TERN_FSUTIL_H
#define TERN_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* fsync the directory at path (so a rename/link/creat in it is durable).
 * 1 or -1. */
int fs_syncdir(const char *path);
/* Write n bytes to a new file at tmp (O_EXCL, mode), fsync, rename to
 * path, fsync the directory of path.  The atomic-replace step of tern-map
 * and of queue state files.  1 or -1 (tmp removed on error). */
int fs_atomic_write(const char *path, const char *tmp, const void *p,
    size_t n, mode_t mode);
/* The same without the fsyncs: for caches, which a crash may leave old,
 * empty or gone (never torn: the rename is atomic), and whose readers
 * start again then.  1 or -1. */
int fs_replace(const char *path, const char *tmp, const void *p, size_t n,
    mode_t mode);
/* Read a whole file of at most max bytes into a malloc'ed NUL-terminated
 * buffer.  1 ok, 0 does not exist, -1 error (EFBIG when over max). */
int fs_read_file(const char *path, size_t max, char **data_r, size_t *len_r);
/* The same from an open fd, read from its offset to EOF (its fstat size
 * is only where the buffer starts: /proc files say 0): 1 ok, -1 error
 * (EFBIG when over max); fd stays open. */
int fs_read_fd(int fd, size_t max, char **data_r, size_t *len_r);
/* mkdir -p with mode for the created components.  1 or -1. */
int fs_mkdirs(const char *path, mode_t mode);
/* The size of every path buffer tern builds: Linux's PATH_MAX.  A longer
 * path is refused with ENAMETOOLONG (fs_join), never cut. */
#define FS_PATH_MAX 4096
/* Join dir and name into out (size outsz).  1, or -1/ENAMETOOLONG. */
int fs_join(char *out, size_t outsz, const char *dir, const char *name);
/* The type ("ext4", "xfs", ...) of the mounted file system whose device
 * is dev, from /proc/self/mountinfo, into out.  1 found, 0 not, -1
 * error. */
int fs_type_of_dev(dev_t dev, char *out, size_t outsz);
/* Set O_CLOEXEC / O_NONBLOCK on fd.  1 or -1. */
int fd_cloexec(int fd);
int fd_nonblock(int fd);
/* Close every fd >= from (e.g. 3 at daemon start).  */
void fd_close_from(int from);

#endif
