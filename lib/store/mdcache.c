/*
 * mdcache: a folder's last settled scan (format and rules in mdcache.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/mbox.h"
#include "store/mdcache.h"
#include "store/mdindex.h"
#include "store/mdname.h"

#define MDC_MAGIC "tern-imapcache2"
#define MDC_ORDER 0x0102030405060708ULL

_Static_assert(sizeof(struct mdc_head) % 8 == 0, "head keeps records aligned");
_Static_assert(sizeof(struct mdc_rec) == 40, "record size is the format's");
_Static_assert(sizeof MDC_MAGIC <= 16, "magic fits");

void
mdc_stamp_set(struct mdc_stamp *st, int k, const struct stat *sb)
{
	st->ino[k] = (unsigned long long)sb->st_ino;
	st->sec[k] = (unsigned long long)sb->st_mtim.tv_sec;
	st->nsec[k] = (unsigned long long)sb->st_mtim.tv_nsec;
	st->size[k] = (unsigned long long)sb->st_size;
	st->have |= 1U << k;
}

int
mdc_stamp(const char *dir, struct mdc_stamp *st)
{
	static const char *const part[MDC_PARTS] = { "new", "cur",
	    MBOX_UIDLIST, MDX_FILE };
	char path[FS_PATH_MAX];
	struct timespec now;
	struct stat sb;
	int k;

	memset(st, 0, sizeof *st);
	/* the time before the stats: a change after them gets a later one */
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return -1;
	st->taken = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
	for (k = 0; k < MDC_PARTS; k++) {
		if (fs_join(path, sizeof path, dir, part[k]) < 0)
			return -1;
		if (stat(path, &sb) < 0) {
			if (errno != ENOENT)
				return -1;
			continue;
		}
		mdc_stamp_set(st, k, &sb);
	}
	return st->have == (1U << MDC_PARTS) - 1;
}

static int
same_upto(const struct mdc_stamp *a, const struct mdc_stamp *b, int parts)
{
	unsigned all = (1U << parts) - 1;
	int k;

	if ((a->have & all) != all || (b->have & all) != all)
		return 0;
	for (k = 0; k < parts; k++)
		if (a->ino[k] != b->ino[k] || a->sec[k] != b->sec[k] ||
		    a->nsec[k] != b->nsec[k] || a->size[k] != b->size[k])
			return 0;
	return 1;
}

int
mdc_same(const struct mdc_stamp *a, const struct mdc_stamp *b)
{
	return same_upto(a, b, MDC_PARTS);
}

int
mdc_same_dirs(const struct mdc_stamp *a, const struct mdc_stamp *b)
{
	return same_upto(a, b, MDC_DIRS);
}

int
mdc_settled(const struct mdc_stamp *st)
{
	int coarse = 1, k;

	if ((st->have & ((1U << MDC_DIRS) - 1)) != (1U << MDC_DIRS) - 1)
		return 0;
	/* whole seconds in both: a filesystem with coarse times (a
	 * nanosecond-time one gives that once in a billion: a scan) */
	for (k = 0; k < MDC_DIRS; k++)
		if (st->nsec[k] != 0)
			coarse = 0;
	for (k = 0; k < MDC_DIRS; k++) {
		long long t;

		if (st->sec[k] > 9000000000ULL || st->nsec[k] > 999999999ULL)
			return 0;  /* out of any real range */
		t = (long long)st->sec[k] * 1000000000LL +
		    (long long)st->nsec[k];
		if (coarse ? (long long)st->sec[k] + MDC_SETTLE_COARSE >
		    st->taken / 1000000000LL :
		    t + MDC_SETTLE_MS * 1000000LL > st->taken)
			return 0;
	}
	return 1;
}

/* ---- reading --------------------------------------------------------- */

/* 1 if fd is on a filesystem another host can change (NFS, SMB, FUSE,
 * AFS, Ceph, GFS2, OCFS2); 0 otherwise or when fstatfs fails. */
static int
on_network_fs(int fd)
{
	static const unsigned long net[] = {
		0x6969UL,       /* NFS */
		0xff534d42UL,   /* CIFS */
		0xfe534d42UL,   /* SMB2 */
		0x517bUL,       /* SMB */
		0x65735546UL,   /* FUSE */
		0x5346414fUL,   /* AFS */
		0x00c36400UL,   /* Ceph */
		0x01161970UL,   /* GFS2 */
		0x7461636fUL,   /* OCFS2 */
	};
	struct statfs sf;
	size_t k;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	for (k = 0; k < sizeof net / sizeof net[0]; k++)
		if ((unsigned long)sf.f_type == net[k])
			return 1;
	return 0;
}

int
mdc_check(const void *p, size_t len, const struct mdc_stamp *st,
    struct mdc_map *m)
{
	const struct mdc_head *h = p;
	const char *names;
	uint64_t body;
	int k;

	memset(m, 0, sizeof *m);
	if (st->have != (1U << MDC_PARTS) - 1)
		return 0;
	if (len < sizeof *h || memcmp(h->magic, MDC_MAGIC, sizeof MDC_MAGIC) ||
	    h->order != MDC_ORDER)
		return 0;
	for (k = 0; k < MDC_PARTS; k++)
		if (h->ino[k] != st->ino[k] || h->sec[k] != st->sec[k] ||
		    h->nsec[k] != st->nsec[k] || h->size[k] != st->size[k])
			return 0;  /* the folder changed since */
	if (h->validity == 0 || h->validity > MBOX_UID_MAX ||
	    h->uidnext == 0 || h->uidnext > MBOX_UID_MAX + 1ULL ||
	    h->n >= h->uidnext || h->names_len > len ||
	    h->n > (len - sizeof *h) / sizeof(struct mdc_rec))
		return 0;
	body = h->n * sizeof(struct mdc_rec) + h->names_len;
	if (body != len - sizeof *h)
		return 0;  /* short or long: torn */
	names = (const char *)p + sizeof *h + h->n * sizeof(struct mdc_rec);
	if (h->n > 0) {
		/* the ends hold up (a tail never written shows here), the
		 * rest when the view is built */
		const struct mdc_rec *last = (const struct mdc_rec *)
		    ((const char *)p + sizeof *h) + (h->n - 1);

		if (h->names_len == 0 || names[h->names_len - 1] != '\0' ||
		    last->uid != h->last_uid || h->last_uid >= h->uidnext ||
		    h->first_unseen > h->n || h->n_new > h->n ||
		    h->n_above > h->n || h->n_recent > h->n ||
		    h->n_unseen > h->n || h->n_deleted > h->n ||
		    h->n_unsized > h->n)
			return 0;
	} else if (h->names_len != 0 || h->last_uid != 0 ||
	    h->first_unseen != 0 || h->n_new != 0 || h->n_above != 0 ||
	    h->n_recent != 0 || h->n_unseen != 0 || h->n_deleted != 0 ||
	    h->n_unsized != 0 || h->bytes != 0)
		return 0;
	m->h = h;
	m->r = (const struct mdc_rec *)((const char *)p + sizeof *h);
	m->names = names;
	return 1;
}

int
mdc_map(const char *dir, const struct mdc_stamp *st, struct mdc_map *m)
{
	char path[FS_PATH_MAX];
	struct stat sb;
	void *p;
	int fd, saved, heap;

	memset(m, 0, sizeof *m);
	if (fs_join(path, sizeof path, dir, MDC_FILE) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 0 : -1;
	if (fstat(fd, &sb) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(struct mdc_head)
	    || (unsigned long long)sb.st_size > MDC_MAX) {
		(void)close(fd);
		return 0;
	}
	heap = on_network_fs(fd);
	if (heap) {
		/* another host may replace the file under a mapping (its
		 * pages would then fault with SIGBUS): a copy instead */
		char *t = NULL;
		size_t n = 0;

		if (fs_read_fd(fd, MDC_MAX, &t, &n) < 0) {
			saved = errno;
			(void)close(fd);
			errno = saved;
			return -1;
		}
		if (n != (size_t)sb.st_size) {
			free(t);
			(void)close(fd);
			return 0;  /* changed while read: not this one */
		}
		p = t;  /* malloc'd: aligned for the records */
	} else
		p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
		    0);
	saved = errno;
	(void)close(fd);
	if (p == MAP_FAILED) {
		errno = saved;
		return -1;
	}
	if (mdc_check(p, (size_t)sb.st_size, st, m) != 1) {
		if (heap)
			free(p);
		else
			(void)munmap(p, (size_t)sb.st_size);
		memset(m, 0, sizeof *m);
		return 0;
	}
	m->p = p;
	m->len = (size_t)sb.st_size;
	m->heap = heap;
	return 1;
}

const char *
mdc_name(const struct mdc_map *m, size_t i, unsigned long prev)
{
	const struct mdc_rec *r;
	const char *name;

	if (i >= m->h->n)
		return NULL;
	r = &m->r[i];
	if (r->uid <= prev || r->uid >= m->h->uidnext ||
	    r->len == 0 || r->baselen > r->len ||
	    (uint64_t)r->name + r->len >= m->h->names_len)
		return NULL;
	name = m->names + r->name;
	if (name[r->len] != '\0' || name[0] == '.' ||
	    memchr(name, '/', r->len) != NULL ||
	    memchr(name, '\0', r->len) != NULL ||
	    r->baselen != mdname_base_len(name, r->len))
		return NULL;
	return name;
}

void
mdc_unmap(struct mdc_map *m)
{
	if (m->p != NULL && m->heap)
		free(m->p);
	else if (m->p != NULL)
		(void)munmap(m->p, m->len);
	memset(m, 0, sizeof *m);
}

/* ---- writing --------------------------------------------------------- */

int
mdc_add(struct mdc_w *w, const struct mdc_rec *r, const char *name,
    size_t len)
{
	struct mdc_rec rec = *r;

	if (len == 0 || len > MDC_NAME_MAX || w->names.len > UINT32_MAX -
	    MDC_NAME_MAX - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	rec.name = (uint32_t)w->names.len;
	rec.len = (uint16_t)len;
	rec.baselen = (uint16_t)mdname_base_len(name, len);
	memset(rec.pad, 0, sizeof rec.pad);
	if (buf_cat(&w->recs, &rec, sizeof rec) < 0 ||
	    buf_cat(&w->names, name, len + 1) < 0)
		return -1;
	w->h.n++;
	w->h.last_uid = rec.uid;
	return 1;
}

int
mdc_save(const char *dir, const struct mdc_stamp *st, struct mdc_w *w)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX], name[64];
	struct buf b = BUF_INIT;
	int k, r = -1;

	if (st->have != (1U << MDC_PARTS) - 1) {
		errno = EINVAL;
		return -1;
	}
	memset(w->h.magic, 0, sizeof w->h.magic);
	memcpy(w->h.magic, MDC_MAGIC, sizeof MDC_MAGIC);
	w->h.order = MDC_ORDER;
	for (k = 0; k < MDC_PARTS; k++) {
		w->h.ino[k] = st->ino[k];
		w->h.sec[k] = st->sec[k];
		w->h.nsec[k] = st->nsec[k];
		w->h.size[k] = st->size[k];
	}
	w->h.names_len = w->names.len;
	(void)snprintf(name, sizeof name, "%s.tmp.%ld", MDC_FILE,
	    (long)getpid());
	if (fs_join(path, sizeof path, dir, MDC_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, dir, name) < 0)
		return -1;
	if (buf_ready(&b, sizeof w->h + w->recs.len + w->names.len) < 0 ||
	    buf_cat(&b, &w->h, sizeof w->h) < 0 ||
	    buf_cat(&b, w->recs.s, w->recs.len) < 0 ||
	    buf_cat(&b, w->names.s, w->names.len) < 0)
		goto out;
	r = fs_replace(path, tmp, b.s, b.len, 0600);
out:
	buf_free(&b);
	return r;
}

void
mdc_w_free(struct mdc_w *w)
{
	buf_free(&w->recs);
	buf_free(&w->names);
	memset(w, 0, sizeof *w);
}
