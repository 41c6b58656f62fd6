/*
 * mdcache: a folder's last settled scan (format and rules in mdcache.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "store/mbox.h"
#include "store/mdcache.h"
#include "store/mdname.h"

#define MDC_MAGIC "tern-imapcache 1 "

int
mdc_stamp(const char *dir, struct mdc_stamp *st)
{
	static const char *const part[3] = { "new", "cur", MBOX_UIDLIST };
	char path[FS_PATH_MAX];
	struct stat sb;
	int k;

	memset(st, 0, sizeof *st);
	for (k = 0; k < 3; k++) {
		if (fs_join(path, sizeof path, dir, part[k]) < 0)
			return -1;
		if (stat(path, &sb) < 0)
			return errno == ENOENT ? 0 : -1;
		st->ino[k] = (unsigned long long)sb.st_ino;
		st->sec[k] = (unsigned long long)sb.st_mtim.tv_sec;
		st->nsec[k] = (unsigned long long)sb.st_mtim.tv_nsec;
		st->size[k] = (unsigned long long)sb.st_size;
	}
	return 1;
}

int
mdc_same(const struct mdc_stamp *a, const struct mdc_stamp *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

int
mdc_settled(const struct mdc_stamp *st, long long now)
{
	int k;

	for (k = 0; k < 3; k++)
		if ((long long)st->sec[k] + MDC_SETTLE > now)
			return 0;
	return 1;
}

void
mdc_free(struct mdc *c)
{
	free(c->e);
	buf_free(&c->names);
	memset(c, 0, sizeof *c);
}

/* An entry whose name is names.s[off..off+len), already there. */
static int
add_ref(struct mdc *c, unsigned long uid, unsigned long long size,
    size_t off, size_t len, int in_new)
{
	struct mdc_ent *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		e = reallocarray(c->e, cap, sizeof *e);
		if (e == NULL)
			return -1;
		c->e = e;
		c->cap = cap;
	}
	e = &c->e[c->n];
	e->uid = uid;
	e->size = size;
	e->name = off;
	e->len = len;
	e->in_new = in_new;
	e->baselen = mdname_base_len(c->names.s + off, len);
	c->n++;
	return 1;
}

static int
add_n(struct mdc *c, unsigned long uid, unsigned long long size,
    const char *name, size_t len, int in_new)
{
	size_t off = c->names.len;

	if (buf_cat(&c->names, name, len) < 0 ||
	    buf_catc(&c->names, '\0') < 0)
		return -1;
	return add_ref(c, uid, size, off, len, in_new);
}

int
mdc_add(struct mdc *c, unsigned long uid, unsigned long long size,
    const char *name, int in_new)
{
	return add_n(c, uid, size, name, strlen(name), in_new);
}

/* A decimal number ending at the byte end. */
static int
num(const char **p, const char *e, char end, unsigned long long max,
    unsigned long long *v_r)
{
	const char *s = *p;
	unsigned long long v = 0;

	if (s >= e || *s < '0' || *s > '9')
		return 0;
	while (s < e && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');

		if (v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
		s++;
	}
	if (s >= e || *s != end)
		return 0;
	*p = s + 1;
	*v_r = v;
	return 1;
}

static int
stamp_parse(const char **p, const char *e, struct mdc_stamp *st, int k)
{
	return num(p, e, '.', ~0ULL, &st->ino[k]) &&
	    num(p, e, '.', ~0ULL, &st->sec[k]) &&
	    num(p, e, '.', 999999999ULL, &st->nsec[k]) &&
	    num(p, e, ' ', ~0ULL, &st->size[k]);
}

/* Parse the text t[0..n) (malloc'd, n + 1 bytes, NUL-terminated), which
 * becomes c's names: each name is ended by a NUL over its LF, in place,
 * so that a load copies no name.  t is c's (freed) whatever the result. */
static int
parse_owned(char *t, size_t n, const struct mdc_stamp *st, struct mdc *c)
{
	const char *p = t, *e = t + n;
	struct mdc_stamp got;
	unsigned long long v, uid, size, count, prev = 0;
	size_t k;
	int r = -1;

	mdc_free(c);
	c->names.s = t;
	c->names.len = n;
	c->names.cap = n + 1;
	if (n < sizeof MDC_MAGIC - 1 ||
	    memcmp(t, MDC_MAGIC, sizeof MDC_MAGIC - 1) != 0) {
		mdc_free(c);
		return 0;
	}
	p += sizeof MDC_MAGIC - 1;
	memset(&got, 0, sizeof got);
	if (!num(&p, e, ' ', MBOX_UID_MAX, &v) || v == 0)
		goto bad;
	c->validity = (unsigned long)v;
	if (!num(&p, e, ' ', MBOX_UID_MAX + 1ULL, &v) || v == 0)
		goto bad;
	c->uidnext = (unsigned long)v;
	for (k = 0; k < 3; k++)
		if (!stamp_parse(&p, e, &got, (int)k))
			goto bad;
	if (!num(&p, e, '\n', MBOX_UID_MAX, &count))
		goto bad;
	if (!mdc_same(&got, st))
		goto bad;  /* the folder changed since */
	for (k = 0; k < count; k++) {
		const char *name, *nl;
		int in_new;

		if (!num(&p, e, ' ', MBOX_UID_MAX, &uid) || uid <= prev ||
		    uid >= c->uidnext)
			goto bad;
		if (p < e && *p == '-' && p + 1 < e && p[1] == ' ') {
			size = MBOX_SIZE_UNKNOWN;
			p += 2;
		} else if (!num(&p, e, ' ', MBOX_SIZE_UNKNOWN - 1, &size))
			goto bad;
		if (e - p < 2 || (p[0] != 'n' && p[0] != 'c') || p[1] != ' ')
			goto bad;
		in_new = p[0] == 'n';
		p += 2;
		/* one pass to the LF: no '/' and no NUL before it (the text
		 * ends in a NUL, t[n]) */
		name = p;
		nl = name + strcspn(name, "/\n");
		if (nl >= e || *nl != '\n' || nl == name || name[0] == '.')
			goto bad;
		if (add_ref(c, (unsigned long)uid, size, (size_t)(name - t),
		    (size_t)(nl - name), in_new) < 0)
			goto fail;
		t[nl - t] = '\0';
		prev = uid;
		p = nl + 1;
	}
	if (p != e)
		goto bad;
	return 1;
bad:
	r = 0;
fail:
	mdc_free(c);
	return r;
}

int
mdc_parse(const char *t, size_t n, const struct mdc_stamp *st,
    struct mdc *c)
{
	char *copy = malloc(n + 1);

	mdc_free(c);
	if (copy == NULL)
		return -1;
	memcpy(copy, t, n);
	copy[n] = '\0';
	return parse_owned(copy, n, st, c);
}

int
mdc_load(const char *dir, const struct mdc_stamp *st, struct mdc *c)
{
	char path[FS_PATH_MAX], *text = NULL;
	size_t len;
	int r;

	mdc_free(c);
	if (fs_join(path, sizeof path, dir, MDC_FILE) < 0)
		return -1;
	r = fs_read_file(path, MDC_MAX, &text, &len);
	if (r <= 0) {
		free(text);
		return r < 0 && errno != EFBIG && errno != ENOENT ? -1 : 0;
	}
	return parse_owned(text, len, st, c);
}

/* Replace the cache by n bytes through a tmp file of our own (no fsync:
 * fs_replace). */
static int
write_replace(const char *dir, const char *p, size_t n)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX], name[64];

	(void)snprintf(name, sizeof name, "%s.tmp.%ld", MDC_FILE,
	    (long)getpid());
	if (fs_join(path, sizeof path, dir, MDC_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, dir, name) < 0)
		return -1;
	return fs_replace(path, tmp, p, n, 0600);
}

int
mdc_save(const char *dir, const struct mdc_stamp *st, const struct mdc *c)
{
	struct buf b = BUF_INIT;
	size_t i;
	int k, r = -1;

	if (buf_ready(&b, c->names.len + c->n * 24 + 256) < 0)
		return -1;
	if (buf_catf(&b, "%s%lu %lu", MDC_MAGIC, c->validity, c->uidnext) < 0)
		goto out;
	for (k = 0; k < 3; k++)
		if (buf_catf(&b, " %llu.%llu.%llu.%llu", st->ino[k],
		    st->sec[k], st->nsec[k], st->size[k]) < 0)
			goto out;
	if (buf_catf(&b, " %zu\n", c->n) < 0)
		goto out;
	for (i = 0; i < c->n; i++) {
		const struct mdc_ent *e = &c->e[i];

		if (buf_catu(&b, e->uid) < 0 || buf_catc(&b, ' ') < 0)
			goto out;
		if (e->size == MBOX_SIZE_UNKNOWN ? buf_catc(&b, '-') < 0 :
		    buf_catu(&b, e->size) < 0)
			goto out;
		if (buf_cats(&b, e->in_new ? " n " : " c ") < 0 ||
		    buf_cat(&b, c->names.s + e->name, e->len) < 0 ||
		    buf_catc(&b, '\n') < 0)
			goto out;
	}
	r = write_replace(dir, b.s, b.len);
out:
	buf_free(&b);
	return r;
}
