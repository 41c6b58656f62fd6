/*
 * mbox_uid: the UID list of a Maildir (tern-uidlist, format in mbox.h),
 * shared by tern-pop3d and tern-imapd.
 *
 * Every change happens under an exclusive flock(2) of tern-uidlist.lock:
 * read the list, match it with the scanned messages by base name (both
 * sorted, one merge), give new messages the next UIDs, drop entries of
 * messages that are gone, and replace the file atomically when anything
 * changed.  Readers without the lock always see a whole old or new file.
 *
 * An entry whose message the scan did not see is dropped only after a
 * second look at cur/ and new/ misses it too: another session may have
 * renamed the file (a flag change) while we read the directory, and
 * dropping its entry would give the message a new UID (RFC 3501 2.3.1.1
 * forbids that without a new UIDVALIDITY).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/str.h"
#include "store/mbox.h"
#include "store/mbox_int.h"

#define UIDLIST_MAX ((size_t)256 << 20)  /* 256 MiB: ~3 million messages */
#define UIDLIST_MAGIC "tern-uidlist 1 "

struct ent {
	unsigned long uid;
	const char *base;
	size_t len;
	int keep;       /* still a message */
};

struct list {
	unsigned long validity, next;
	struct ent *e;
	size_t n;
};

/* The first line of the list text t[0..n): "tern-uidlist 1 V N\n".  1
 * with *nl_r at its LF, or 0 malformed. */
static int
head_parse(const char *t, size_t n, unsigned long *validity_r,
    unsigned long *next_r, const char **nl_r)
{
	const char *p = t, *e = t + n, *nl, *sp;

	if (n < sizeof UIDLIST_MAGIC - 1 ||
	    memcmp(t, UIDLIST_MAGIC, sizeof UIDLIST_MAGIC - 1) != 0)
		return 0;
	p += sizeof UIDLIST_MAGIC - 1;
	nl = memchr(p, '\n', (size_t)(e - p));
	sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
	if (sp == NULL ||
	    !str_ulong(p, (size_t)(sp - p), MBOX_UID_MAX, validity_r) ||
	    !str_ulong(sp + 1, (size_t)(nl - sp - 1), MBOX_UID_MAX + 1,
	    next_r) || *validity_r == 0 || *next_r == 0)
		return 0;
	*nl_r = nl;
	return 1;
}

/* Parse the list text.  1 ok, 0 malformed, -1 ENOMEM. */
static int
list_parse(const char *t, size_t n, struct list *l)
{
	const char *p, *e = t + n, *nl, *sp;
	unsigned long prev = 0;
	size_t lines = 0, cap;

	if (!head_parse(t, n, &l->validity, &l->next, &nl))
		return 0;
	for (p = nl + 1; p < e; p++)
		if (*p == '\n')
			lines++;
	cap = lines ? lines : 1;
	l->e = calloc(cap, sizeof *l->e);
	if (l->e == NULL)
		return -1;
	for (p = nl + 1; p < e; p = nl + 1) {
		struct ent *x = &l->e[l->n];

		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			return 0;  /* cut short */
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || sp + 1 == nl ||
		    !str_ulong(p, (size_t)(sp - p), MBOX_UID_MAX, &x->uid) ||
		    x->uid <= prev || x->uid >= l->next ||
		    !str_printable(sp + 1, (size_t)(nl - sp - 1)) ||
		    str_chr(sp + 1, (size_t)(nl - sp - 1), ':') != NULL ||
		    str_chr(sp + 1, (size_t)(nl - sp - 1), '/') != NULL)
			return 0;
		x->base = sp + 1;
		x->len = (size_t)(nl - sp - 1);
		prev = x->uid;
		l->n++;
	}
	return 1;
}

static int
cmp_mem(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an == bn ? 0 : an < bn ? -1 : 1;
}

static int
cmp_ent_base(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return cmp_mem(x->base, x->len, y->base, y->len);
}

static int
cmp_ent_uid(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
cmp_msg_uid(const void *a, const void *b)
{
	const struct mbox_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* qsort, skipped when the array is in order already: the list is kept
 * in UID order, which for names that start with the delivery time is
 * also base order, so a big mailbox is sorted in one pass. */
static void
sort_once(void *a, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	const char *p = a;
	size_t i;

	for (i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0)
			break;
	if (i < n)
		qsort(a, n, size, cmp);
}

/* Wait for the lock (bounded): fd, or -1 (ETIMEDOUT). */
static int
list_lock(const struct mbox *mb)
{
	int fd;

	return mbox_flock(mb->dir, MBOX_UIDLIST_LOCK, MBOX_LOCK_WAIT, &fd) > 0 ?
	    fd : -1;
}

/* A second look for entries the scan missed: keep those whose base is
 * still in cur/ or new/, and put them back into the scan (readdir(3)
 * may skip a file renamed while the directory is read, and a message
 * missing from a scan looks expunged to the IMAP view). */
struct recheck {
	struct mbox *mb;
	struct ent *e;
	size_t n;       /* sorted by base */
	int in_new;
};

static int
recheck_one(void *arg, const char *name, size_t len)
{
	struct recheck *r = arg;
	struct ent key, *hit;

	key.base = name;
	key.len = mdname_base_len(name, len);
	hit = bsearch(&key, r->e, r->n, sizeof *r->e, cmp_ent_base);
	if (hit == NULL || hit->keep)
		return 1;
	hit->keep = 1;
	if (mbox_msg_add(r->mb, name, len, r->in_new) < 0)
		return -1;
	r->mb->msg[r->mb->n - 1].uid = hit->uid;
	return 1;
}

/* Match the (base-sorted) messages with the list; 1 if the list must be
 * written. */
static int
list_merge(struct mbox *mb, struct list *l)
{
	struct recheck rc;
	size_t i = 0, j = 0, missing = 0;
	int changed = 0;

	sort_once(l->e, l->n, sizeof *l->e, cmp_ent_base);
	while (i < mb->n && j < l->n) {
		struct mbox_msg *m = &mb->msg[i];
		int c = cmp_mem(mbox_name(mb, i), m->baselen, l->e[j].base,
		    l->e[j].len);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			missing++;
			j++;
		} else {
			m->uid = l->e[j].uid;
			l->e[j++].keep = 1;
			/* a doubled entry (only a broken writer makes one) */
			while (j < l->n && cmp_ent_base(&l->e[j - 1],
			    &l->e[j]) == 0) {
				changed = 1;
				l->e[j++].keep = 1;  /* list_write drops it */
			}
			i++;
		}
	}
	missing += l->n - j;
	if (missing > 0) {
		rc.mb = mb;
		rc.e = l->e;
		rc.n = l->n;
		rc.in_new = 0;
		if (mbox_dir_each(mb->dir, "cur", recheck_one, &rc) < 0)
			return -1;
		rc.in_new = 1;
		if (mbox_dir_each(mb->dir, "new", recheck_one, &rc) < 0)
			return -1;
		for (j = 0; j < l->n; j++)
			if (!l->e[j].keep)
				changed = 1;
	}
	return changed;
}

/* Without a list: the UIDVALIDITY that tern-imapindex (IMAP's MODSEQs)
 * was made for, which IMAP clients may have seen, or 0.  A list removed
 * and made again within a second must not get it again. */
static unsigned long
index_validity(const char *dir)
{
	char path[FS_PATH_MAX], head[64];
	unsigned long v = 0;
	ssize_t n;
	int fd;

	if (fs_join(path, sizeof path, dir, "tern-imapindex") < 0)
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof head - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	head[n] = '\0';
	if (strncmp(head, "tern-imapindex 1 ", 17) == 0) {
		const char *nl = strchr(head + 17, '\n');

		if (nl == NULL || str_ulong(head + 17, (size_t)(nl - head - 17),
		    MBOX_UID_MAX, &v) != 1)
			v = 0;
	}
	return v;
}

/* A new UIDVALIDITY: the time, different from old (RFC 3501 2.3.1.1: it
 * must grow or at least change when UIDs are given out again). */
static unsigned long
new_validity(unsigned long old)
{
	unsigned long v = (unsigned long)time(NULL) & MBOX_UID_MAX;

	if (v == 0)
		v = 1;
	if (v <= old && old != 0)
		v = old == MBOX_UID_MAX ? 1 : old + 1;
	return v;
}

/* Write the list: the kept entries (one per base) and the messages that
 * got a UID now (uid >= first), in UID order. */
static int
list_write(struct mbox *mb, const struct list *l, unsigned long first)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	struct buf text = BUF_INIT;
	struct ent *out;
	size_t i, k = 0;
	int r = -1;

	out = calloc(l->n + mb->n + 1, sizeof *out);
	if (out == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		/* l->e is sorted by base: a doubled base is adjacent */
		if (!l->e[i].keep || (k > 0 && cmp_ent_base(&out[k - 1],
		    &l->e[i]) == 0))
			continue;
		out[k++] = l->e[i];
	}
	for (i = 0; i < mb->n; i++) {
		if (mb->msg[i].uid < first)
			continue;
		out[k].uid = mb->msg[i].uid;
		out[k].base = mbox_name(mb, i);
		out[k++].len = mb->msg[i].baselen;
	}
	sort_once(out, k, sizeof *out, cmp_ent_uid);
	if (buf_catf(&text, "%s%lu %lu\n", UIDLIST_MAGIC, l->validity,
	    l->next) < 0)
		goto out;
	for (i = 0; i < k; i++)
		if (buf_catu(&text, out[i].uid) < 0 ||
		    buf_catc(&text, ' ') < 0 ||
		    buf_cat(&text, out[i].base, out[i].len) < 0 ||
		    buf_catc(&text, '\n') < 0)
			goto out;
	if (fs_join(path, sizeof path, mb->dir, MBOX_UIDLIST) < 0 ||
	    fs_join(tmp, sizeof tmp, mb->dir, MBOX_UIDLIST ".tmp") < 0)
		goto out;
	r = fs_atomic_write(path, tmp, text.s, text.len, 0600);
out:
	buf_free(&text);
	free(out);
	return r;
}

/* Read and check the list under the lock: 1 usable, 0 none (*reset_r:
 * 1 there was none, 2 it was unusable), -1 error. */
static int
list_read(struct mbox *mb, struct list *l, char **text_r, int *reset_r)
{
	char path[FS_PATH_MAX];
	size_t len;
	int r;

	*reset_r = 0;
	if (fs_join(path, sizeof path, mb->dir, MBOX_UIDLIST) < 0)
		return -1;
	r = fs_read_file(path, UIDLIST_MAX, text_r, &len);
	if (r < 0 && errno != EFBIG)
		return -1;
	if (r > 0) {
		r = list_parse(*text_r, len, l);
		if (r != 0)
			return r;
	}
	*reset_r = r < 0 || *text_r != NULL ? 2 : 1;
	free(l->e);
	l->e = NULL;
	l->n = 0;
	if (l->validity == 0)
		l->validity = index_validity(mb->dir);
	l->validity = new_validity(l->validity);
	l->next = 1;
	return 0;
}

int
mbox_uids(struct mbox *mb)
{
	struct list l = { 0, 0, NULL, 0 };
	char *text = NULL;
	unsigned long first;
	size_t i, nnew = 0;
	int fd, r, changed = 0, saved;

	mb->uid_reset = 0;
	for (i = 0; i < mb->n; i++)
		mb->msg[i].uid = 0;
	fd = list_lock(mb);
	if (fd < 0)
		return -1;
	r = list_read(mb, &l, &text, &mb->uid_reset);
	if (r < 0)
		goto fail;
	changed = r == 0;
	r = list_merge(mb, &l);
	if (r < 0)
		goto fail;
	changed |= r;
	for (i = 0; i < mb->n; i++)
		nnew += mb->msg[i].uid == 0;
	if (nnew > MBOX_UID_MAX + 1 - l.next) {
		/* UIDs ran out: number everything again (RFC 3501 2.3.1.1) */
		for (i = 0; i < l.n; i++)
			l.e[i].keep = 0;
		for (i = 0; i < mb->n; i++)
			mb->msg[i].uid = 0;
		l.validity = new_validity(l.validity);
		l.next = 1;
		mb->uid_reset = 2;
	}
	first = l.next;
	for (i = 0; i < mb->n; i++)
		if (mb->msg[i].uid == 0)
			mb->msg[i].uid = l.next++;
	if ((changed || l.next != first) && list_write(mb, &l, first) < 0)
		goto fail;
	mb->uidvalidity = l.validity;
	mb->uidnext = l.next;
	(void)close(fd);  /* releases the lock */
	free(text);
	free(l.e);
	sort_once(mb->msg, mb->n, sizeof *mb->msg, cmp_msg_uid);
	return 1;
fail:
	saved = errno;
	for (i = 0; i < mb->n; i++)
		mb->msg[i].uid = 0;
	(void)close(fd);
	free(text);
	free(l.e);
	errno = saved;
	return -1;
}

/* ---- UIDVALIDITY of a new folder ------------------------------------------ */

#define VALIDITY_FILE "tern-uidvalidity"

int
mbox_validity_next(const char *root, unsigned long *v_r)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX], num[32], *text = NULL;
	unsigned long last = 0, v;
	size_t len;
	int fd, r = -1, n, saved;

	if (mbox_flock(root, VALIDITY_FILE ".lock", MBOX_LOCK_WAIT, &fd) <= 0)
		return -1;
	if (fs_join(path, sizeof path, root, VALIDITY_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, root, VALIDITY_FILE ".tmp") < 0)
		goto out;
	n = fs_read_file(path, 64, &text, &len);
	if (n < 0 && errno != ENOENT && errno != EFBIG)
		goto out;
	/* a bad file counts as none: the time still gives a fresh value */
	if (n > 0 && len > 0 && text[len - 1] == '\n' &&
	    str_ulong(text, len - 1, MBOX_UID_MAX, &last) != 1)
		last = 0;
	v = (unsigned long)time(NULL) & MBOX_UID_MAX;
	if (v <= last)
		v = last == MBOX_UID_MAX ? 1 : last + 1;
	if (v == 0)
		v = 1;
	n = snprintf(num, sizeof num, "%lu\n", v);
	if (fs_atomic_write(path, tmp, num, (size_t)n, 0600) < 0)
		goto out;
	*v_r = v;
	r = 1;
out:
	saved = errno;
	free(text);
	(void)close(fd);
	errno = saved;
	return r;
}

int
mbox_uid_start(const char *dir, unsigned long validity)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	struct buf text = BUF_INIT;
	int r = -1, fd, saved;

	if (buf_catf(&text, "%s%lu 1\n", UIDLIST_MAGIC, validity) < 0)
		return -1;
	/* under the list's lock, and only when no session has made a list
	 * meanwhile (the folder is visible from its mkdir on) */
	if (mbox_flock(dir, MBOX_UIDLIST_LOCK, MBOX_LOCK_WAIT, &fd) <= 0) {
		buf_free(&text);
		return -1;
	}
	if (fs_join(path, sizeof path, dir, MBOX_UIDLIST) >= 0 &&
	    fs_join(tmp, sizeof tmp, dir, MBOX_UIDLIST ".tmp") >= 0) {
		if (access(path, F_OK) == 0)
			r = 1;
		else
			r = fs_atomic_write(path, tmp, text.s, text.len, 0600);
	}
	saved = errno;
	(void)close(fd);
	buf_free(&text);
	errno = saved;
	return r;
}

int
mbox_uidlist_head(const char *dir, unsigned long *validity_r,
    unsigned long *next_r, struct stat *st)
{
	char path[FS_PATH_MAX], head[80];
	const char *nl;
	ssize_t n;
	int fd, saved;

	if (fs_join(path, sizeof path, dir, MBOX_UIDLIST) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, st) < 0 ||
	    (n = pread(fd, head, sizeof head - 1, 0)) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	(void)close(fd);
	head[n] = '\0';
	if (!head_parse(head, (size_t)n, validity_r, next_r, &nl))
		return 0;
	return 1;
}
