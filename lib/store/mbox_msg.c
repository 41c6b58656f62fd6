/*
 * mbox_msg: the message files of a scanned mailbox (lib/store/mbox.h): open,
 * remove and size them.  Another session may rename a file (IMAP flags)
 * or remove it (IMAP expunge) after our scan: a missing file is looked
 * up once more by its base name before it counts as gone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/mbox.h"
#include "store/mbox_int.h"

#define MBOX_READ_BUF 65536

static int
msg_path(const struct mbox *mb, size_t i, char *out, size_t outsz)
{
	int r = snprintf(out, outsz, "%s/%s/%s", mb->dir,
	    mb->msg[i].in_new ? "new" : "cur", mbox_name(mb, i));

	if (r < 0 || (size_t)r >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

struct relocate {
	const char *base;
	size_t baselen;
	struct buf *found;
};

static int
relocate_match(void *arg, const char *name, size_t len)
{
	struct relocate *r = arg;

	if (r->found->len == 0 && mdname_base_len(name, len) == r->baselen &&
	    memcmp(name, r->base, r->baselen) == 0)
		return buf_copy(r->found, name, len);
	return 1;
}

int
mbox_find_base(const char *dir, const char *base, size_t baselen,
    struct buf *name_r, int *in_new_r)
{
	struct relocate r;

	buf_reset(name_r);
	r.base = base;
	r.baselen = baselen;
	r.found = name_r;
	*in_new_r = 0;
	if (mbox_dir_each(dir, "cur", relocate_match, &r) < 0)
		return -1;
	if (name_r->len > 0)
		return 1;
	*in_new_r = 1;
	if (mbox_dir_each(dir, "new", relocate_match, &r) < 0)
		return -1;
	return name_r->len > 0;
}

/* Find message i again by its base name after a rename.  1 found (the
 * name is updated), 0 gone, -1 error. */
static int
relocate(struct mbox *mb, size_t i)
{
	struct buf base = BUF_INIT, found = BUF_INIT;
	int in_new, ret = -1;

	if (buf_copy(&base, mbox_name(mb, i), mb->msg[i].baselen) < 0)
		return -1;
	ret = mbox_find_base(mb->dir, base.s, base.len, &found, &in_new);
	if (ret > 0) {
		mb->msg[i].name = mb->names.len;
		mb->msg[i].len = found.len;
		mb->msg[i].in_new = in_new;
		if (buf_cat(&mb->names, found.s, found.len + 1) < 0)
			ret = -1;
	}
	buf_free(&found);
	buf_free(&base);
	return ret;
}

int
mbox_msg_open(struct mbox *mb, size_t i)
{
	char path[FS_PATH_MAX];
	int fd, r;

	if (msg_path(mb, i, path, sizeof path) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	r = relocate(mb, i);
	if (r <= 0) {
		if (r == 0)
			errno = ENOENT;
		return -1;
	}
	if (msg_path(mb, i, path, sizeof path) < 0)
		return -1;
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int
mbox_remove(struct mbox *mb, size_t i)
{
	char path[FS_PATH_MAX];
	int r;

	if (msg_path(mb, i, path, sizeof path) < 0)
		return -1;
	if (unlink(path) == 0)
		return 1;
	if (errno != ENOENT)
		return -1;
	r = relocate(mb, i);
	if (r <= 0)
		return r;
	if (msg_path(mb, i, path, sizeof path) < 0)
		return -1;
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

int
mbox_sync(struct mbox *mb)
{
	char path[FS_PATH_MAX];

	if (fs_join(path, sizeof path, mb->dir, "cur") < 0 ||
	    fs_syncdir(path) < 0)
		return -1;
	if (fs_join(path, sizeof path, mb->dir, "new") < 0 ||
	    (fs_syncdir(path) < 0 && errno != ENOENT))
		return -1;
	return 1;
}

/* Count the served size by reading the file. */
static int
count_size(struct mbox *mb, size_t i, unsigned long long *size_r)
{
	static char buf[MBOX_READ_BUF];
	unsigned long long size = 0;
	int fd, cr = 0, saved;
	char last = '\n';
	ssize_t r;

	fd = mbox_msg_open(mb, i);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		size += mbox_crlf_size(buf, (size_t)r, &cr);
		last = buf[r - 1];
	}
	saved = errno;
	(void)close(fd);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	/* a last line without LF is sent with a CRLF added (RETR, TOP) */
	*size_r = size + (last != '\n' ? 2 : 0);
	return 1;
}

int
mbox_size(struct mbox *mb, size_t i, unsigned long long *size_r)
{
	struct mbox_msg *m = &mb->msg[i];
	int r;

	if (m->size == MBOX_SIZE_UNKNOWN &&
	    !mdname_field(mbox_name(mb, i), m->baselen, 'W', &m->size)) {
		r = count_size(mb, i, &m->size);
		if (r <= 0) {
			m->size = MBOX_SIZE_UNKNOWN;
			return r;
		}
	}
	*size_r = m->size;
	return 1;
}
