/*
 * mdindex: MODSEQs of one Maildir (format and reasons in mdindex.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"
#include "store/mdindex.h"
#include "store/mdname.h"
#include "store/mbox_int.h"

#define MDX_MAGIC "tern-imapindex 1 "
#define MDX_FILE_MAX ((size_t)256 << 20)

int
mdx_open(struct mdx *x, const char *dir)
{
	memset(x, 0, sizeof *x);
	x->lockfd = -1;
	x->dir = strdup(dir);
	return x->dir ? 1 : -1;
}

static void
mdx_forget(struct mdx *x)
{
	x->n = 0;
	x->nx = 0;
	x->uidvalidity = 0;
	x->vfloor = 0;
	x->recent = 0;
	x->off = 0;
	x->records = 0;
	x->rewrite = 1;
}

void
mdx_close(struct mdx *x)
{
	if (x->depth > 0 && x->lockfd >= 0)
		(void)close(x->lockfd);
	free(x->e);
	free(x->x);
	free(x->dir);
	buf_free(&x->out);
	memset(x, 0, sizeof *x);
	x->lockfd = -1;
}

mdx_letters
mdx_letters_of(const char *name, size_t len)
{
	const char *f;
	mdx_letters l = 0;
	size_t n, i;

	f = mdname_flags(name, len, &n);
	for (i = 0; f != NULL && i < n; i++) {
		if (f[i] >= 'A' && f[i] <= 'Z')
			l |= 1ULL << (f[i] - 'A');
		else if (f[i] >= 'a' && f[i] <= 'z')
			l |= 1ULL << (26 + f[i] - 'a');
		else
			l |= 1ULL << 52;
	}
	return l;
}

/* ---- the tables ------------------------------------------------------------ */

static size_t
ent_pos(const struct mdx *x, unsigned long uid)
{
	size_t lo = 0, hi = x->n;

	if (x->n > 0 && x->e[x->n - 1].uid < uid)
		return x->n;  /* the usual case: a new, higher UID */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->e[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct mdx_ent *
mdx_find(const struct mdx *x, unsigned long uid)
{
	size_t k = ent_pos(x, uid);

	return k < x->n && x->e[k].uid == uid ? &x->e[k] : NULL;
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 1;
	while (c < need)
		c *= 2;
	q = reallocarray(*p, c, size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 1;
}

static int
ent_put(struct mdx *x, unsigned long uid, unsigned long long modseq,
    mdx_letters l, int in_new)
{
	size_t k = ent_pos(x, uid);

	if (k == x->n || x->e[k].uid != uid) {
		if (grow((void **)&x->e, &x->cap, x->n + 1, sizeof *x->e) < 0)
			return -1;
		memmove(&x->e[k + 1], &x->e[k], (x->n - k) * sizeof *x->e);
		x->n++;
		x->e[k].uid = uid;
	}
	x->e[k].modseq = modseq;
	x->e[k].letters = l;
	x->e[k].in_new = (unsigned char)(in_new != 0);
	if (modseq > x->highest)
		x->highest = modseq;
	return 1;
}

static void
ent_del(struct mdx *x, unsigned long uid)
{
	size_t k = ent_pos(x, uid);

	if (k < x->n && x->e[k].uid == uid) {
		memmove(&x->e[k], &x->e[k + 1], (x->n - k - 1) * sizeof *x->e);
		x->n--;
	}
}

static int
gone_add(struct mdx *x, unsigned long uid, unsigned long long modseq)
{
	if (grow((void **)&x->x, &x->capx, x->nx + 1, sizeof *x->x) < 0)
		return -1;
	x->x[x->nx].uid = uid;
	x->x[x->nx].modseq = modseq;
	x->nx++;
	if (modseq > x->highest)
		x->highest = modseq;
	return 1;
}

int
mdx_knows_since(const struct mdx *x, unsigned long long modseq)
{
	return modseq >= x->vfloor;
}

unsigned long long
mdx_batch(struct mdx *x)
{
	struct timespec ts;
	unsigned long long now = 0;

	if (x->batch != 0)
		return x->batch;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 0)
		now = (unsigned long long)ts.tv_sec * 1000000ULL +
		    (unsigned long long)ts.tv_nsec / 1000;
	x->batch = x->highest + 1 > now ? x->highest + 1 : now;
	if (x->batch > MDX_MODSEQ_MAX)
		x->batch = MDX_MODSEQ_MAX;  /* 292,000 years from now */
	x->highest = x->batch;
	return x->batch;
}

/* ---- records ------------------------------------------------------------- */

static int
num(const char **pp, const char *e, int base, unsigned long long max,
    unsigned long long *r)
{
	const char *p = *pp;
	unsigned long long v = 0;
	size_t k = 0;

	for (; p < e && *p != ' '; p++, k++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			return 0;
		if (v > (max - d) / (unsigned)base)
			return 0;
		v = v * (unsigned)base + d;
	}
	if (k == 0 || k > 20)
		return 0;
	*pp = p < e ? p + 1 : p;  /* past the space */
	*r = v;
	return 1;
}

/* One record line [p, e) without its LF. */
static int
parse_record(struct mdx *x, const char *p, const char *e)
{
	unsigned long long uid, ms, l;
	char kind;
	int in_new;

	if (e - p < 3 || p[1] != ' ')
		return 0;
	kind = p[0];
	p += 2;
	if (kind == 'F') {
		if (!num(&p, e, 10, MDX_MODSEQ_MAX, &ms) || p != e)
			return 0;
		if (ms > x->vfloor)
			x->vfloor = ms;
		if (ms > x->highest)
			x->highest = ms;
		return 1;
	}
	if (kind == 'R') {
		if (!num(&p, e, 10, MBOX_UID_MAX, &uid) || p != e)
			return 0;
		if (uid > x->recent)
			x->recent = (unsigned long)uid;
		return 1;
	}
	if (!num(&p, e, 10, MBOX_UID_MAX, &uid) || uid == 0 ||
	    !num(&p, e, 10, MDX_MODSEQ_MAX, &ms))
		return 0;
	if (kind == 'X') {
		if (p != e)
			return 0;
		ent_del(x, (unsigned long)uid);
		return gone_add(x, (unsigned long)uid, ms) < 0 ? -1 : 1;
	}
	if (kind != 'M' || e - p < 3 || (p[0] != 'n' && p[0] != 'c') ||
	    p[1] != ' ')
		return 0;
	in_new = p[0] == 'n';
	p += 2;
	if (!num(&p, e, 16, (1ULL << 53) - 1, &l) || p != e)
		return 0;
	return ent_put(x, (unsigned long)uid, ms, l, in_new) < 0 ? -1 : 1;
}

int
mdx_parse(struct mdx *x, const char *text, size_t n, int from_top,
    size_t *used_r)
{
	const char *p = text, *e = text + n, *nl;
	unsigned long long v;
	int r;

	*used_r = 0;
	if (from_top) {
		nl = memchr(p, '\n', n);
		if (nl == NULL)
			return n == 0 ? 1 : 0;
		if ((size_t)(nl - p) < sizeof MDX_MAGIC - 1 ||
		    memcmp(p, MDX_MAGIC, sizeof MDX_MAGIC - 1) != 0)
			return 0;
		p += sizeof MDX_MAGIC - 1;
		if (!num(&p, nl, 10, MBOX_UID_MAX, &v) || v == 0 || p != nl)
			return 0;
		x->uidvalidity = (unsigned long)v;
		p = nl + 1;
		x->records = 1;
	}
	for (; p < e; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL)
			break;  /* a torn last line */
		r = parse_record(x, p, nl);
		if (r <= 0)
			return r;
		x->records++;
	}
	*used_r = (size_t)(p - text);
	return 1;
}

static int
rec_m(struct mdx *x, const struct mdx_ent *m)
{
	x->pending++;
	return buf_catf(&x->out, "M %lu %llu %c %llx\n", m->uid, m->modseq,
	    m->in_new ? 'n' : 'c', m->letters);
}

static int
rec_x(struct mdx *x, unsigned long uid, unsigned long long modseq)
{
	x->pending++;
	return buf_catf(&x->out, "X %lu %llu\n", uid, modseq);
}

int
mdx_claim_recent(struct mdx *x, unsigned long uid)
{
	if (uid <= x->recent)
		return 1;
	x->recent = uid;
	x->pending++;
	return buf_catf(&x->out, "R %lu\n", uid) < 0 ? -1 : 1;
}

/* ---- the file --------------------------------------------------------------- */

/* Read what the file holds past x->off (all of it when it was replaced
 * or is new to us).  A torn or malformed file is forgotten and will be
 * written again whole. */
static int
refresh(struct mdx *x)
{
	char path[FS_PATH_MAX], *text = NULL;
	struct stat st;
	size_t len = 0, used;
	int fd, whole, r, saved;

	if (fs_join(path, sizeof path, x->dir, MDX_FILE) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -1;
		mdx_forget(x);
		return 1;
	}
	if (fstat(fd, &st) < 0)
		goto fail;
	whole = x->uidvalidity == 0 || st.st_dev != x->dev ||
	    st.st_ino != x->ino || st.st_size < x->off;
	if (!whole && st.st_size == x->off) {
		(void)close(fd);
		return 1;
	}
	if (whole)
		mdx_forget(x);
	else if (lseek(fd, x->off, SEEK_SET) < 0)
		goto fail;
	if (fs_read_fd(fd, MDX_FILE_MAX, &text, &len) < 0) {
		if (errno != EFBIG)
			goto fail;
		/* too big to be ours: start again */
		(void)close(fd);
		mdx_forget(x);
		return 1;
	}
	(void)close(fd);
	fd = -1;
	r = mdx_parse(x, text, len, whole, &used);
	free(text);
	if (r < 0)
		return -1;
	if (r == 0 || used != len) {
		/* malformed, or a writer died mid-line: start again */
		mdx_forget(x);
		return 1;
	}
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	x->off += (off_t)len;
	x->rewrite = 0;
	return 1;
fail:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	errno = saved;
	return -1;
}

static int
cmp_gone(const void *a, const void *b)
{
	const struct mdx_gone *p = a, *q = b;

	if (p->modseq != q->modseq)
		return p->modseq < q->modseq ? -1 : 1;
	return p->uid < q->uid ? -1 : p->uid > q->uid;
}

/* Replace the file with the whole index; the oldest tombstones beyond
 * MDX_GONE_MAX are dropped and raise the floor. */
static int
write_whole(struct mdx *x)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	struct stat st;
	size_t k, drop = 0;
	int r;

	if (x->nx > MDX_GONE_MAX) {
		qsort(x->x, x->nx, sizeof *x->x, cmp_gone);
		drop = x->nx - MDX_GONE_MAX;
		if (x->x[drop - 1].modseq > x->vfloor)
			x->vfloor = x->x[drop - 1].modseq;
		memmove(x->x, x->x + drop, MDX_GONE_MAX * sizeof *x->x);
		x->nx = MDX_GONE_MAX;
	}
	buf_reset(&x->out);
	x->pending = 0;
	if (buf_catf(&x->out, MDX_MAGIC "%lu\nF %llu\n", x->uidvalidity,
	    x->vfloor) < 0 ||
	    (x->recent > 0 && buf_catf(&x->out, "R %lu\n", x->recent) < 0))
		return -1;
	for (k = 0; k < x->n; k++)
		if (rec_m(x, &x->e[k]) < 0)
			return -1;
	for (k = 0; k < x->nx; k++)
		if (rec_x(x, x->x[k].uid, x->x[k].modseq) < 0)
			return -1;
	if (fs_join(path, sizeof path, x->dir, MDX_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, x->dir, MDX_FILE ".tmp") < 0)
		return -1;
	/* no fsync, as for the appends (mdindex.h): a file a crash leaves
	 * old, empty or gone is started again higher */
	r = fs_replace(path, tmp, x->out.s, x->out.len, 0600);
	if (r < 0)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	x->off = st.st_size;
	x->records = 2 + (x->recent > 0) + x->n + x->nx;
	x->rewrite = 0;
	return 1;
}

static int
append_out(struct mdx *x)
{
	char path[FS_PATH_MAX];
	int fd, saved;

	if (fs_join(path, sizeof path, x->dir, MDX_FILE) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fd_write_all(fd, x->out.s, x->out.len) < 0) {
		saved = errno;
		/* a short write leaves a torn line: the next reader starts
		 * the index again, which is safe (mdindex.h) */
		(void)close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	x->off += (off_t)x->out.len;
	return 1;
}

int
mdx_lock(struct mdx *x)
{
	int fd;

	if (x->depth++ > 0)
		return 1;
	if (mbox_flock(x->dir, MDX_LOCK, MBOX_LOCK_WAIT, &fd) <= 0) {
		x->depth = 0;
		if (errno == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	x->lockfd = fd;
	x->batch = 0;
	x->pending = 0;
	buf_reset(&x->out);
	if (refresh(x) < 0) {
		int saved = errno;

		(void)close(x->lockfd);
		x->lockfd = -1;
		x->depth = 0;
		errno = saved;
		return -1;
	}
	return 1;
}

int
mdx_unlock(struct mdx *x)
{
	int r = 1, saved = 0;

	if (x->depth == 0 || --x->depth > 0)
		return 1;
	if (x->uidvalidity != 0) {
		if (x->rewrite || x->records + x->pending >
		    2 * (x->n + x->nx) + 1024)
			r = write_whole(x);
		else if (x->out.len > 0 && (r = append_out(x)) > 0)
			x->records += x->pending;
		if (r < 0) {
			saved = errno;
			x->rewrite = 1;
		}
	}
	buf_reset(&x->out);
	x->pending = 0;
	x->batch = 0;
	(void)close(x->lockfd);
	x->lockfd = -1;
	errno = saved;
	return r;
}

/* Does dir/new|cur/name exist now? */
static int
still_there(const struct mbox *mb, const char *name, int in_new)
{
	char path[FS_PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof path, "%s/%s/%s", mb->dir,
	    in_new ? "new" : "cur", name) >= (int)sizeof path)
		return 1;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

int
mdx_sync(struct mdx *x, const struct mbox *mb, int *stale_r)
{
	struct mdx_ent *ne, *old = x->e;
	size_t i = 0, j = 0, k = 0, n0 = x->n;
	unsigned long maxold = n0 ? old[n0 - 1].uid : 0;

	*stale_r = 0;
	if (x->uidvalidity != mb->uidvalidity) {
		mdx_forget(x);
		n0 = 0;
		maxold = 0;
		x->uidvalidity = mb->uidvalidity;
		x->vfloor = mdx_batch(x);
		/* a new index (none, lost, another UIDVALIDITY): what is in
		 * cur/ has been seen already, as Maildir means cur/; \Recent
		 * from here on (a folder made by IMAP CREATE has an index from
		 * the start: mdx_create) */
		for (k = 0; k < mb->n; k++)
			if (!mb->msg[k].in_new && mb->msg[k].uid > x->recent)
				x->recent = mb->msg[k].uid;
	}
	for (k = 0; k < x->nx; k++)
		if (x->x[k].uid > maxold)
			maxold = x->x[k].uid;
	ne = reallocarray(NULL, n0 + mb->n + 1, sizeof *ne);
	if (ne == NULL)
		return -1;
	for (k = 0; i < n0 || j < mb->n;) {
		const struct mbox_msg *d = j < mb->n ? &mb->msg[j] : NULL;
		const struct mdx_ent *e = i < n0 ? &old[i] : NULL;
		const char *name = d ? mbox_name(mb, j) : NULL;
		mdx_letters l;

		if (e != NULL && (d == NULL || e->uid < d->uid)) {
			i++;
			if (e->uid >= mb->uidnext) {
				ne[k++] = *e;  /* newer than our scan */
				continue;
			}
			if (gone_add(x, e->uid, mdx_batch(x)) < 0 ||
			    rec_x(x, e->uid, x->batch) < 0)
				goto fail;
			continue;
		}
		l = mdx_letters_of(name, d->len);
		if (e == NULL || d->uid < e->uid) {
			j++;
			/* a UID we knew and lost: expunged after our scan? */
			if (d->uid <= maxold && !still_there(mb, name,
			    d->in_new)) {
				*stale_r = 1;
				continue;
			}
			ne[k].uid = d->uid;
			ne[k].modseq = mdx_batch(x);
			ne[k].letters = l;
			ne[k].in_new = (unsigned char)d->in_new;
			if (rec_m(x, &ne[k]) < 0)
				goto fail;
			k++;
			continue;
		}
		i++;
		j++;
		ne[k] = *e;
		if (l != e->letters) {
			if (!still_there(mb, name, d->in_new)) {
				/* our scan is older than the index */
				*stale_r = 1;
				k++;
				continue;
			}
			ne[k].letters = l;
			ne[k].modseq = mdx_batch(x);
			ne[k].in_new = (unsigned char)d->in_new;
			if (rec_m(x, &ne[k]) < 0)
				goto fail;
		} else if (ne[k].in_new != d->in_new) {
			ne[k].in_new = (unsigned char)d->in_new;
			if (rec_m(x, &ne[k]) < 0)
				goto fail;
		}
		k++;
	}
	free(old);
	x->e = ne;
	x->n = k;
	x->cap = n0 + mb->n + 1;
	return 1;
fail:
	free(ne);
	return -1;
}

int
mdx_set(struct mdx *x, unsigned long uid, const char *name, size_t len,
    int in_new, unsigned long long *modseq_r)
{
	size_t k = ent_pos(x, uid);
	mdx_letters l = mdx_letters_of(name, len);

	if (k < x->n && x->e[k].uid == uid && x->e[k].letters == l &&
	    x->e[k].in_new == (in_new != 0)) {
		*modseq_r = x->e[k].modseq;
		return 1;
	}
	if (k < x->n && x->e[k].uid == uid && x->e[k].letters == l) {
		x->e[k].in_new = (unsigned char)(in_new != 0);
	} else if (ent_put(x, uid, mdx_batch(x), l, in_new) < 0) {
		return -1;
	}
	k = ent_pos(x, uid);
	*modseq_r = x->e[k].modseq;
	return rec_m(x, &x->e[k]) < 0 ? -1 : 1;
}

int
mdx_create(const char *dir, unsigned long uidvalidity)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX], text[64];
	int n;

	n = snprintf(text, sizeof text, MDX_MAGIC "%lu\nF 0\n", uidvalidity);
	if (n < 0 || (size_t)n >= sizeof text ||
	    fs_join(path, sizeof path, dir, MDX_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, dir, MDX_FILE ".tmp") < 0)
		return -1;
	return fs_atomic_write(path, tmp, text, (size_t)n, 0600);
}
