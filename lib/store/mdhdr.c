/*
 * mdhdr: cached header fields per UID (format and rules in mdhdr.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "mail/mime.h"
#include "store/mbox.h"
#include "store/mdhdr.h"
#include "store/mbox_int.h"

#define MDH_MAGIC "tern-imaphdr 2 "
#define SCAN_CHUNK 65536

const char *const mdh_fields[] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID", NULL,
};

int
mdh_open(struct mdh *h, const char *dir, unsigned long validity)
{
	memset(h, 0, sizeof *h);
	h->fd = -1;
	h->validity = validity;
	h->dir = strdup(dir);
	return h->dir ? 1 : -1;
}

void
mdh_close(struct mdh *h)
{
	if (h->dir == NULL)
		return;  /* never opened (zeroed) */
	if (h->fd >= 0)
		(void)close(h->fd);
	free(h->file.r);
	free(h->pending.r);
	buf_free(&h->pend);
	free(h->dir);
	memset(h, 0, sizeof *h);
	h->fd = -1;
}

static int
is_field(const char *name, size_t n)
{
	size_t i;

	for (i = 0; mdh_fields[i] != NULL; i++)
		if (strlen(mdh_fields[i]) == n &&
		    strncasecmp(mdh_fields[i], name, n) == 0)
			return 1;
	return 0;
}

int
mdh_extract(const char *hdr, size_t n, struct buf *out)
{
	size_t pos = 0, namelen, foff, flen;
	const char *name;

	buf_reset(out);
	while (mime_header_next(hdr, n, &pos, &name, &namelen, &foff,
	    &flen) == 1) {
		if (!is_field(name, namelen))
			continue;
		if (buf_cat(out, hdr + foff, flen) < 0)
			return -1;
		if (hdr[foff + flen - 1] != '\n' && buf_cat(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_cat(out, "\r\n", 2) < 0 ? -1 : 1;
}

int
mdh_head(const char *p, size_t n, unsigned long *uid_r, size_t *len_r,
    size_t *head_r)
{
	size_t k = 2;
	unsigned long long v;
	int field;

	if (n == 0)
		return -1;
	if (p[0] != 'H')
		return 0;
	if (n < 2)
		return -1;
	if (p[1] != ' ')
		return 0;
	for (field = 0; field < 2; field++) {
		size_t start = k;

		v = 0;
		while (k < n && p[k] >= '0' && p[k] <= '9' && k - start < 12)
			v = v * 10 + (unsigned)(p[k++] - '0');
		if (k >= n)
			return k - start < 12 ? -1 : 0;
		if (k == start || p[k] != (field == 0 ? ' ' : '\n'))
			return 0;
		if (field == 0) {
			if (v == 0 || v > MBOX_UID_MAX)
				return 0;
			*uid_r = (unsigned long)v;
		} else {
			if (v > MDH_REC_MAX)
				return 0;
			*len_r = (size_t)v;
		}
		k++;
	}
	*head_r = k;
	return 1;
}

/* Add a record to t.  The file's table is sorted when it is read
 * (tab_sort); the pending one stays sorted as records come in, since a
 * lookup follows each (a later record of a UID replaces the earlier). */
static int
rec_add(struct mdh *h, struct mdh_tab *t, unsigned long uid, off_t off,
    size_t len)
{
	size_t at = t->n;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct mdh_rec *r = reallocarray(t->r, cap, sizeof *r);

		if (r == NULL)
			return -1;
		t->r = r;
		t->cap = cap;
	}
	if (t->n == 0)
		t->sorted = 1;
	else if (t->r[t->n - 1].uid >= uid) {
		if (t == &h->file)
			t->sorted = 0;
		else {  /* pending: always sorted, insert in place */
			size_t lo = 0, hi = t->n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (t->r[mid].uid < uid)
					lo = mid + 1;
				else
					hi = mid;
			}
			at = lo;
			if (t->r[at].uid != uid)
				memmove(t->r + at + 1, t->r + at,
				    (t->n - at) * sizeof *t->r);
			else
				t->n--;   /* replaced: counted again below */
		}
	}
	t->r[at].uid = uid;
	t->r[at].off = off;
	t->r[at].len = len;
	t->r[at].seq = h->seq++;
	t->n++;
	return 1;
}

/* By UID, then in the order they were added (the last one wins). */
static int
cmp_rec(const void *a, const void *b)
{
	const struct mdh_rec *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_rec_uid(const void *a, const void *b)
{
	const struct mdh_rec *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Sort t by UID, keeping the last record of each UID. */
static void
tab_sort(struct mdh_tab *t)
{
	size_t i, k;

	if (t->sorted || t->n == 0) {
		t->sorted = 1;
		return;  /* (qsort(NULL, 0) is undefined) */
	}
	qsort(t->r, t->n, sizeof *t->r, cmp_rec);
	for (i = 0, k = 0; i < t->n; i++) {
		if (k > 0 && t->r[k - 1].uid == t->r[i].uid)
			t->r[k - 1] = t->r[i];
		else
			t->r[k++] = t->r[i];
	}
	t->n = k;
	t->sorted = 1;
}

static const struct mdh_rec *
tab_find(struct mdh_tab *t, unsigned long uid)
{
	struct mdh_rec key;

	tab_sort(t);
	if (t->n == 0)
		return NULL;
	key.uid = uid;
	return bsearch(&key, t->r, t->n, sizeof *t->r, cmp_rec_uid);
}

/* Drop a damaged or foreign file, under the lock, if it is still the one
 * we read (another session may have started a new one meanwhile). */
static void
drop_file(struct mdh *h, const struct stat *seen)
{
	char path[FS_PATH_MAX];
	struct stat st;
	int fd;

	if (mbox_flock(h->dir, MDH_LOCK, MBOX_LOCK_WAIT, &fd) <= 0)
		return;
	if (fs_join(path, sizeof path, h->dir, MDH_FILE) > 0 &&
	    lstat(path, &st) == 0 && st.st_ino == seen->st_ino &&
	    st.st_dev == seen->st_dev)
		(void)unlink(path);
	(void)close(fd);
}

static ssize_t
pread_full(int fd, char *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, off + (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Read the record heads the file has beyond h->end, in chunks (the
 * first time: open it and check its first line).  A record cut at the
 * end of the file may be another session's write in progress: the scan
 * stops before it and goes on from there next time.  1 or -1. */
static int
scan_more(struct mdh *h)
{
	char path[FS_PATH_MAX], want[64], *buf = NULL;
	off_t base = 0, next;
	size_t have = 0;
	struct stat st;
	ssize_t r;

	h->scanned = 1;
	if (h->fd < 0) {
		size_t magic_len;

		if (fs_join(path, sizeof path, h->dir, MDH_FILE) < 0)
			return -1;
		h->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (h->fd < 0)
			return errno == ENOENT ? 1 : -1;
		magic_len = (size_t)snprintf(want, sizeof want, "%s%lu\n",
		    MDH_MAGIC, h->validity);
		buf = malloc(SCAN_CHUNK);
		if (buf == NULL)
			return -1;
		r = pread_full(h->fd, buf, magic_len, 0);
		if (r < 0)
			goto fail;
		if (fstat(h->fd, &st) < 0)
			goto fail;
		if ((size_t)r != magic_len || memcmp(buf, want, magic_len) != 0)
			goto damaged;  /* another UIDVALIDITY, or not ours */
		h->end = (off_t)magic_len;
	} else {
		buf = malloc(SCAN_CHUNK);
		if (buf == NULL)
			return -1;
	}
	if (fstat(h->fd, &st) < 0)
		goto fail;
	if (st.st_size > MDH_FILE_MAX)
		goto damaged;
	next = h->end;
	while (next < st.st_size) {
		unsigned long uid;
		size_t len, hl;
		int hr;

		if (next < base || next >= base + (off_t)have ||
		    base + (off_t)have - next < 32) {
			base = next;
			r = pread_full(h->fd, buf, SCAN_CHUNK, base);
			if (r < 0)
				goto fail;
			have = (size_t)r;
		}
		hr = mdh_head(buf + (next - base),
		    have - (size_t)(next - base), &uid, &len, &hl);
		if (hr == 0)
			goto damaged;
		if (hr < 0 || next + (off_t)(hl + len + 1) > st.st_size)
			break;  /* cut at the end: in progress, or torn */
		if (next + (off_t)(hl + len) < base + (off_t)have &&
		    buf[next - base + (off_t)(hl + len)] != '\n')
			goto damaged;
		if (rec_add(h, &h->file, uid, next + (off_t)hl, len) < 0)
			goto fail;
		next += (off_t)(hl + len + 1);
	}
	h->end = next;
	free(buf);
	return 1;
damaged:
	free(buf);
	drop_file(h, &st);
	(void)close(h->fd);
	h->fd = -1;
	h->file.n = 0;
	h->broken = 1;  /* this session: no cache; the next starts again */
	return 1;
fail:
	free(buf);
	return -1;
}

int
mdh_get(struct mdh *h, unsigned long uid, const char *base, size_t baselen,
    struct buf *out)
{
	const struct mdh_rec *r;
	ssize_t got;

	buf_reset(out);
	if (h->broken)
		return 0;
	if (!h->scanned && scan_more(h) < 0) {
		h->broken = 1;
		return -1;
	}
	if ((r = tab_find(&h->pending, uid)) != NULL) {
		if (buf_cat(out, h->pend.s + r->off, r->len) < 0)
			return -1;
	} else if ((r = tab_find(&h->file, uid)) != NULL) {
		if (h->fd < 0 || buf_ready(out, r->len) < 0)
			return -1;
		got = pread_full(h->fd, out->s, r->len, r->off);
		if (got < 0)
			return -1;
		if ((size_t)got != r->len)
			return 0;
		out->len = r->len;
		out->s[r->len] = '\0';
	} else
		return 0;
	/* the record names the message it was made from: a UID of an
	 * earlier mailbox of the same UIDVALIDITY does not match */
	if (out->len < baselen + 1 || memcmp(out->s, base, baselen) != 0 ||
	    out->s[baselen] != '\n') {
		buf_reset(out);
		return 0;
	}
	memmove(out->s, out->s + baselen + 1, out->len - baselen - 1);
	out->len -= baselen + 1;
	out->s[out->len] = '\0';
	return 1;
}

int
mdh_put(struct mdh *h, unsigned long uid, const char *base, size_t baselen,
    const char *p, size_t n)
{
	size_t at;

	if (h->broken || n + baselen + 1 > MDH_REC_MAX || baselen == 0 ||
	    memchr(base, '\n', baselen) != NULL)
		return 0;
	if (buf_catf(&h->pend, "H %lu %zu\n", uid, baselen + 1 + n) < 0)
		return -1;
	at = h->pend.len;
	if (buf_cat(&h->pend, base, baselen) < 0 ||
	    buf_catc(&h->pend, '\n') < 0 || buf_cat(&h->pend, p, n) < 0 ||
	    buf_catc(&h->pend, '\n') < 0)
		return -1;
	if (rec_add(h, &h->pending, uid, (off_t)at, baselen + 1 + n) < 0)
		return -1;
	/* a FETCH 1:* ENVELOPE of a big folder that nothing cached yet
	 * writes as it goes rather than holding it all */
	if (h->pend.len >= MDH_PEND_MAX && mdh_flush(h) < 0)
		return -1;
	return 1;
}

int
mdh_flush(struct mdh *h)
{
	char path[FS_PATH_MAX], want[64], got[64];
	struct stat st, mine;
	size_t mlen;
	ssize_t w;
	int fd = -1, lk = -1, r = -1;

	if (h->pending.n == 0)
		return 1;
	if (h->broken) {
		r = 1;  /* no cache for this session: nothing to write */
		goto drop;
	}
	if (fs_join(path, sizeof path, h->dir, MDH_FILE) < 0)
		goto drop;
	/* under the lock: the file is the one we read (or a new one of our
	 * UIDVALIDITY), never a file of a folder deleted and made again, and
	 * no reader drops it in the middle of our write */
	if (mbox_flock(h->dir, MDH_LOCK, MBOX_LOCK_WAIT, &lk) <= 0) {
		lk = -1;
		goto drop;
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0 || fstat(fd, &st) < 0)
		goto drop;
	if (st.st_size > MDH_FILE_MAX) {
		errno = EFBIG;
		goto drop;
	}
	mlen = (size_t)snprintf(want, sizeof want, "%s%lu\n", MDH_MAGIC,
	    h->validity);
	if (st.st_size == 0) {
		if (write(fd, want, mlen) != (ssize_t)mlen)
			goto drop;
	} else if (pread_full(fd, got, mlen, 0) != (ssize_t)mlen ||
	    memcmp(got, want, mlen) != 0) {
		/* another UIDVALIDITY's: not ours to add to; this session
		 * caches no more */
		h->broken = 1;
		r = 1;
		goto drop;
	}
	if (h->fd >= 0 && (fstat(h->fd, &mine) < 0 ||
	    mine.st_ino != st.st_ino || mine.st_dev != st.st_dev)) {
		/* not the file we read: the folder was made again */
		h->broken = 1;
		r = 1;
		goto drop;
	}
	w = write(fd, h->pend.s, h->pend.len);
	r = w == (ssize_t)h->pend.len ? 1 : -1;
	if (w >= 0 && r < 0)
		errno = EIO;  /* short: the reader drops the torn record */
drop:
	if (fd >= 0 && close(fd) < 0)
		r = -1;
	if (lk >= 0)
		(void)close(lk);
	/* the pending records go (their bytes too); what was written is
	 * read back from the file, with any other session's */
	h->pending.n = 0;
	buf_reset(&h->pend);
	if (r > 0 && !h->broken && scan_more(h) < 0)
		r = -1;
	return r;
}
