/*
 * mbox: a Maildir as a mailbox (see mbox.h for the names, sizes and
 * identities): the lock, the scan and the pure helpers on names; the
 * message files are in mbox_msg.c, the UID list in mbox_uid.c.
 *
 * Speed matters for big mailboxes (100,000 messages): a scan is one
 * readdir(3) per directory, names go into one growing buffer instead of
 * one allocation each, and sizes come from the names, so a POP3 STAT or
 * UIDL opens no message file.  Other processes (tern-deliverd, an IMAP
 * session changing flags) work on the same Maildir at the same time: a
 * file that was renamed after the scan is found again by its base name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>


#include "util/fsutil.h"
#include "util/str.h"
#include "store/mbox.h"
#include "store/mbox_int.h"


int
mbox_open(struct mbox *mb, const char *dir)
{
	memset(mb, 0, sizeof *mb);
	mb->lockfd = -1;
	mb->dir = strdup(dir);
	return mb->dir != NULL ? 1 : -1;
}

void
mbox_close(struct mbox *mb)
{
	if (mb->lockfd >= 0)
		(void)close(mb->lockfd);
	free(mb->dir);
	free(mb->msg);
	buf_free(&mb->names);
	memset(mb, 0, sizeof *mb);
	mb->lockfd = -1;
}

int
mbox_flock(const char *dir, const char *file, int wait_s, int *fd_r)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	char path[FS_PATH_MAX];
	long tries = wait_s * 100L;
	int fd, saved;

	if (fs_join(path, sizeof path, dir, file) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK && wait_s <= 0) {
			(void)close(fd);
			return 0;
		}
		if (errno != EWOULDBLOCK || --tries <= 0) {
			saved = errno == EWOULDBLOCK ? ETIMEDOUT : errno;
			(void)close(fd);
			errno = saved;
			return -1;
		}
		(void)nanosleep(&step, NULL);
	}
	*fd_r = fd;
	return 1;
}

int
mbox_lock(struct mbox *mb, const char *file)
{
	int fd, r = mbox_flock(mb->dir, file, 0, &fd);

	if (r <= 0)
		return r;
	if (mb->lockfd >= 0)
		(void)close(mb->lockfd);
	mb->lockfd = fd;
	return 1;
}

/* ---- names ------------------------------------------------------------ */

unsigned long long
mbox_crlf_size(const char *p, size_t n, int *cr)
{
	unsigned long long size = n;
	const char *e = p + n, *s = p, *nl;

	while (s < e && (nl = memchr(s, '\n', (size_t)(e - s))) != NULL) {
		int before = nl > p ? nl[-1] == '\r' : *cr;

		if (!before)
			size++;
		s = nl + 1;
	}
	if (n > 0)
		*cr = p[n - 1] == '\r';
	return size;
}

const char *
mbox_name(const struct mbox *mb, size_t i)
{
	return mb->names.s + mb->msg[i].name;
}

/* ---- scanning ------------------------------------------------------------ */

int
mbox_msg_add(struct mbox *mb, const char *name, size_t len, int in_new)
{
	struct mbox_msg *m;

	if (mb->n == mb->cap) {
		size_t cap = mb->cap ? mb->cap * 2 : 256;

		if (cap > ((size_t)-1) / sizeof *m) {
			errno = ENOMEM;
			return -1;
		}
		m = realloc(mb->msg, cap * sizeof *m);
		if (m == NULL)
			return -1;
		mb->msg = m;
		mb->cap = cap;
	}
	m = &mb->msg[mb->n];
	m->name = mb->names.len;
	if (buf_cat(&mb->names, name, len) < 0 || buf_catc(&mb->names, '\0') < 0)
		return -1;
	m->len = len;
	m->baselen = mdname_base_len(name, len);
	m->in_new = in_new;
	m->uid = 0;
	m->size = MBOX_SIZE_UNKNOWN;
	mb->n++;
	return 1;
}

/* 1 if a directory entry may be a message. */
static int
entry_ok(const struct dirent *d, size_t len)
{
	if (d->d_name[0] == '.' || d->d_name[0] == ':')
		return 0;
	if (d->d_type != DT_REG && d->d_type != DT_UNKNOWN)
		return 0;
	/* a name with a control character cannot go into tern-uidlist
	 * (one name a line) and would be echoed in UIDL */
	return str_printable(d->d_name, len);
}

int
mbox_dir_each(const char *dir, const char *sub,
    int (*fn)(void *, const char *, size_t), void *arg)
{
	char path[FS_PATH_MAX];
	struct dirent *d;
	DIR *dp;
	int saved;

	if (fs_join(path, sizeof path, dir, sub) < 0)
		return -1;
	dp = opendir(path);
	if (dp == NULL)
		return errno == ENOENT ? 1 : -1;  /* an empty Maildir */
	for (;;) {
		size_t len;

		errno = 0;
		d = readdir(dp);
		if (d == NULL)
			break;
		len = strlen(d->d_name);
		if (entry_ok(d, len) && fn(arg, d->d_name, len) < 0)
			goto fail;
	}
	if (errno != 0)
		goto fail;
	return closedir(dp) < 0 ? -1 : 1;
fail:
	saved = errno;
	(void)closedir(dp);
	errno = saved;
	return -1;
}

static int
add_new(void *arg, const char *name, size_t len)
{
	return mbox_msg_add(arg, name, len, 1);
}

static int
add_cur(void *arg, const char *name, size_t len)
{
	return mbox_msg_add(arg, name, len, 0);
}

/* Move the new/ messages found so far to cur/NAME:2, (Maildir spec:
 * "when you move a file from new to cur, you have to change its name
 * from uniq to uniq:info"), and forget them: the cur/ scan sees them. */
static int
move_new(struct mbox *mb)
{
	char from[FS_PATH_MAX], to[FS_PATH_MAX];
	size_t i, keep = 0;

	for (i = 0; i < mb->n; i++) {
		struct mbox_msg *m = &mb->msg[i];
		const char *name = mbox_name(mb, i);
		int r1, r2;

		r1 = snprintf(from, sizeof from, "%s/new/%s", mb->dir, name);
		r2 = snprintf(to, sizeof to, "%s/cur/%s%s", mb->dir, name,
		    m->baselen == m->len ? ":2," : "");
		if (r1 < 0 || r2 < 0 || (size_t)r1 >= sizeof from ||
		    (size_t)r2 >= sizeof to) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (rename(from, to) == 0 || errno == ENOENT)
			continue;  /* in cur/ now (ours or someone else's move) */
		mb->msg[keep++] = *m;  /* cannot move: serve it from new/ */
	}
	mb->n = keep;
	return 1;
}

/* Order by base, then cur/ before new/, then name. */
static int
cmp_base(const void *a, const void *b, void *arg)
{
	const struct mbox *mb = arg;
	const struct mbox_msg *x = a, *y = b;
	size_t n = x->baselen < y->baselen ? x->baselen : y->baselen;
	int c = memcmp(mb->names.s + x->name, mb->names.s + y->name, n);

	if (c != 0)
		return c;
	if (x->baselen != y->baselen)
		return x->baselen < y->baselen ? -1 : 1;
	if (x->in_new != y->in_new)
		return x->in_new - y->in_new;
	return strcmp(mb->names.s + x->name, mb->names.s + y->name);
}

int
mbox_scan(struct mbox *mb, int to_cur)
{
	size_t i, keep;

	mb->n = 0;
	buf_reset(&mb->names);
	if (mbox_dir_each(mb->dir, "new", add_new, mb) < 0)
		return -1;
	if (to_cur && move_new(mb) < 0)
		return -1;
	if (mbox_dir_each(mb->dir, "cur", add_cur, mb) < 0)
		return -1;
	if (mb->n == 0)
		return 1;
	qsort_r(mb->msg, mb->n, sizeof *mb->msg, cmp_base, mb);
	/* one entry per base: a message moved from new/ to cur/ between
	 * the two reads was seen twice, and cur/ sorts first */
	for (i = 1, keep = 1; i < mb->n; i++) {
		const struct mbox_msg *p = &mb->msg[keep - 1], *m = &mb->msg[i];

		if (m->baselen == p->baselen && memcmp(mb->names.s + m->name,
		    mb->names.s + p->name, m->baselen) == 0)
			continue;
		mb->msg[keep++] = *m;
	}
	mb->n = keep;
	return 1;
}
