/*
 * map: cdb lookup tables (tinycdb) and their compiler.
 *
 * Reading: a map is an open cdb that map_refresh reopens when tern-map has
 * renamed a new file into place (another inode or mtime), so a
 * long-running reader never needs a restart.  Writing is map_compile.c.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/str.h"
#include "lookup/map.h"

/* The current refresh period; 0: periods are off (stat every time). */
static unsigned long map_period;

static long
mtime_ns(const struct stat *st)
{
	return (long)st->st_mtim.tv_sec * 1000000000L + st->st_mtim.tv_nsec;
}

static void
map_shut(struct map *m)
{
	if (m->cdb) {
		cdb_free(m->cdb);
		free(m->cdb);
		m->cdb = NULL;
	}
	if (m->fd >= 0)
		(void)close(m->fd);
	m->fd = -1;
}

/* (Re)open m->path.  1 or -1. */
static int
map_load(struct map *m)
{
	struct stat st;
	int saved;

	map_shut(m);
	m->fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(m->fd, &st) < 0 || (m->cdb = malloc(sizeof(struct cdb)))
	    == NULL)
		goto fail;
	if (cdb_init(m->cdb, m->fd) < 0) {
		free(m->cdb);
		m->cdb = NULL;
		goto fail;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->mtime_ns = mtime_ns(&st);
	return 1;
fail:
	saved = errno;
	map_shut(m);
	errno = saved;
	return -1;
}

int
map_open(struct map *m, const char *cdbpath)
{
	m->fd = -1;
	m->cdb = NULL;
	m->period = 0;
	if ((m->path = strdup(cdbpath)) == NULL)
		return -1;
	return map_load(m);
}

void
map_refresh_period(void)
{
	if (++map_period == 0)
		map_period = 1;  /* 0 is "off" */
}

int
map_refresh(struct map *m)
{
	struct stat st;
	int r;

	/* a pipelined batch of 100 RCPTs costs one stat per map, not 100
	 * (each RCPT and AUTH refreshes the maps it reads) */
	if (map_period != 0 && m->period == map_period)
		return 1;
	if (stat(m->path, &st) < 0) {
		if (errno != ENOENT)
			return -1;
		map_shut(m);  /* removed: an empty map */
		m->period = map_period;
		return 1;
	}
	if (m->fd >= 0 && st.st_dev == m->dev && st.st_ino == m->ino &&
	    mtime_ns(&st) == m->mtime_ns)
		r = 1;
	else
		r = map_load(m);
	if (r > 0)
		m->period = map_period;
	return r;
}

int
map_get(struct map *m, const char *key, size_t keylen, struct buf *val_r)
{
	char k[MAP_LINE_MAX];
	unsigned len;
	int r;

	if (m->fd < 0 || m->cdb == NULL || keylen > sizeof k)
		return 0;  /* no key that long fits a map line */
	memcpy(k, key, keylen);
	str_lower(k, keylen);
	if ((r = cdb_find(m->cdb, k, (unsigned)keylen)) <= 0) {
		if (r < 0 && errno == 0)
			errno = EPROTO;
		return r < 0 ? -1 : 0;
	}
	len = cdb_datalen((struct cdb *)m->cdb);
	if (len > MAP_LINE_MAX) {  /* no value we write is longer: damaged */
		errno = EPROTO;
		return -1;
	}
	buf_reset(val_r);
	if (buf_ready(val_r, len) < 0)
		return -1;
	if (cdb_read(m->cdb, val_r->s, len, cdb_datapos((struct cdb *)m->cdb))
	    < 0)
		return -1;
	val_r->len = len;
	val_r->s[len] = '\0';
	return 1;
}

void
map_close(struct map *m)
{
	map_shut(m);
	free(m->path);
	m->path = NULL;
}

static const char *const type_names[] = { "users", "aliases", "access",
    "routes" };

const char *
map_type_name(enum map_type type)
{
	return (unsigned)type < 4 ? type_names[type] : "?";
}

int
map_type_of(const char *path, enum map_type *type_r)
{
	const char *base = strrchr(path, '/');
	unsigned i;

	base = base ? base + 1 : path;
	for (i = 0; i < 4; i++)
		if (strcmp(base, type_names[i]) == 0) {
			*type_r = (enum map_type)i;
			return 1;
		}
	return 0;
}

