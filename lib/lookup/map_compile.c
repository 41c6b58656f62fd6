/*
 * map_compile: text table -> cdb.  The text file is parsed line by line
 * (map_parse*.c) into FILE.cdb.tmp, which is fsynced and renamed over
 * FILE.cdb, and the directory fsynced; a syntax error anywhere leaves the
 * old table untouched, and every error (up to MAP_ERRORS_MAX) is reported
 * as file:line.  The .cdb gets the permission bits (and, as root, the
 * owner) of the text file, since users holds password hashes.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/str.h"
#include "lookup/map.h"
#include "lookup/map_int.h"

/* Collected syntax errors, one "file:line: message" a line. */
struct errs {
	char *err;
	size_t errsz, len;
	int n;
};

static void
errs_add(struct errs *e, const char *file, unsigned long line,
    const char *msg)
{
	int r;

	if (e->errsz == 0 || ++e->n > MAP_ERRORS_MAX + 1)
		return;
	if (e->n == MAP_ERRORS_MAX + 1)
		r = snprintf(e->err + e->len, e->errsz - e->len,
		    "\n%s: more errors not shown", file);
	else
		r = snprintf(e->err + e->len, e->errsz - e->len, "%s%s:%lu: %s",
		    e->len ? "\n" : "", file, line, msg);
	if (r > 0)
		e->len += (size_t)r < e->errsz - e->len ? (size_t)r :
		    e->errsz - e->len - 1;
}

/* Reject bytes that have no business in a map line. */
static const char *
line_bytes(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return "NUL byte";
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return "control character";
	}
	return NULL;
}

/* Add one entry; 1 added, 0 duplicate (reported), -1 error. */
static int
put(struct cdb_make *cm, struct buf *k, struct buf *v, struct errs *e,
    const char *file, unsigned long lineno)
{
	char msg[200];
	int r;

	r = cdb_make_put(cm, k->s, (unsigned)k->len, v->s, (unsigned)v->len,
	    CDB_PUT_INSERT);
	if (r < 0)
		return -1;
	if (r == 0)
		return 1;
	snprintf(msg, sizeof msg, "duplicate key '%.100s'", k->s);
	errs_add(e, file, lineno, msg);
	return 0;
}

/* Handle one line s[0..n); 1 ok/skipped, 0 syntax error, -1 error. */
static int
one_line(enum map_type type, char *s, size_t n, struct cdb_make *cm,
    struct buf *k, struct buf *v, struct errs *e, const char *file,
    unsigned long lineno, size_t *count)
{
	char msg[300];
	const char *bad, *p;
	int r;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	s[n] = '\0';
	if (n > MAP_LINE_MAX)
		bad = "line too long";
	else
		bad = line_bytes(s, n);
	if (bad != NULL) {
		errs_add(e, file, lineno, bad);
		return 0;
	}
	/* the rule of tern.conf too: '#' at the start or after a blank */
	n = str_uncomment(s, n);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	s[n] = '\0';
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0')
		return 1;
	r = mapp_line(type, s, n, k, v, msg, sizeof msg);
	if (r == 0)
		errs_add(e, file, lineno, msg);
	if (r <= 0)
		return r;
	r = put(cm, k, v, e, file, lineno);
	if (r > 0)
		(*count)++;
	return r;
}

/* Parse the text file (open as fd) into the cdb being made at outfd.
 * 1 ok, 0 syntax errors, -1 system error. */
static int
map_run(const char *path, int fd, enum map_type type, int outfd,
    size_t *count_r, struct errs *e)
{
	struct cdb_make cm;
	struct buf k = BUF_INIT, v = BUF_INIT;
	char line[MAP_LINE_MAX + 3];
	struct io *io;
	unsigned long lineno = 0;
	size_t len, count = 0;
	int r, bad = 0, fin, saved;

	if ((io = malloc(sizeof *io)) == NULL)
		return -1;
	io_init(io, fd, -1, 0);
	if (cdb_make_start(&cm, outfd) < 0) {
		free(io);
		return -1;
	}
	/* max counts the LF, so MAP_LINE_MAX bytes plus CR LF fit */
	while ((r = io_getline(io, line, MAP_LINE_MAX + 2, &len)) != 0) {
		lineno++;
		if (r < 0 && errno == EMSGSIZE) {
			errs_add(e, path, lineno, "line too long");
			bad = 1;
			continue;
		}
		if (r < 0 || (r = one_line(type, line, len, &cm, &k, &v, e,
		    path, lineno, &count)) < 0)
			break;
		if (r == 0)
			bad = 1;
	}
	buf_free(&k);
	buf_free(&v);
	free(io);
	/* finish even on failure: it is what frees cdb_make's memory (the
	 * caller throws the output away then) */
	saved = errno;
	fin = cdb_make_finish(&cm);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	if (fin < 0)
		return -1;
	if (bad)
		return 0;
	*count_r = count;
	return 1;
}

static int
sys_err(struct errs *e, const char *what, const char *path)
{
	int saved = errno;

	snprintf(e->err, e->errsz, "%s%s: %s", what, path, strerror(saved));
	errno = saved;
	return -1;
}

/* Move the finished tmp (fd) into place as cdb: mode and owner of the
 * text file, fsync, rename, fsync the directory. */
static int
map_install(int fd, const struct stat *st, const char *tmp, const char *cdb,
    struct errs *e)
{
	char dir[FS_PATH_MAX];
	const char *slash = strrchr(cdb, '/');

	if (geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) < 0)
		return sys_err(e, "fchown ", tmp);
	if (fchmod(fd, st->st_mode & 0666) < 0)
		return sys_err(e, "fchmod ", tmp);
	if (fsync(fd) < 0)
		return sys_err(e, "fsync ", tmp);
	if (rename(tmp, cdb) < 0)
		return sys_err(e, "rename to ", cdb);
	if (slash == NULL)
		str_copy(dir, ".", sizeof dir);
	else if (str_copy(dir, cdb, sizeof dir) >= sizeof dir)
		return sys_err(e, "directory of ", cdb);
	else
		dir[slash == cdb ? 1 : slash - cdb] = '\0';
	if (fs_syncdir(dir) < 0)
		return sys_err(e, "fsync ", dir);
	return 1;
}

/* Open the text and the locked, empty tmp file.  1 or -1. */
static int
map_begin(const char *path, const char *tmp, int *fd_r, int *out_r,
    struct stat *st, struct errs *e)
{
	if ((*fd_r = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return sys_err(e, "", path);
	if (fstat(*fd_r, st) < 0)
		return sys_err(e, "", path);
	/* no O_TRUNC: another tern-map may hold it; lock, then truncate */
	*out_r = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*out_r < 0)
		return sys_err(e, "", tmp);
	if (flock(*out_r, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(e->err, e->errsz, "%s: another tern-map is "
			    "compiling this table", tmp);
		else
			(void)sys_err(e, "flock ", tmp);
		close(*out_r);
		*out_r = -1;
		return -1;
	}
	if (ftruncate(*out_r, 0) < 0)
		return sys_err(e, "truncate ", tmp);
	return 1;
}

int
map_compile(const char *path, enum map_type type, size_t *count_r,
    char *err, size_t errsz)
{
	struct errs e = { err, errsz, 0, 0 };
	struct buf tmp = BUF_INIT, cdb = BUF_INIT;
	struct stat st;
	int fd = -1, out = -1, r, saved;

	if (errsz)
		err[0] = '\0';
	if (buf_cats(&cdb, path) < 0 || buf_cats(&cdb, ".cdb") < 0 ||
	    buf_copy(&tmp, cdb.s, cdb.len) < 0 || buf_cats(&tmp, ".tmp") < 0) {
		r = sys_err(&e, "", path);
		goto done;
	}
	if ((r = map_begin(path, tmp.s, &fd, &out, &st, &e)) < 0)
		goto done;
	r = map_run(path, fd, type, out, count_r, &e);
	if (r < 0)
		(void)sys_err(&e, "", path);
	if (r > 0)
		r = map_install(out, &st, tmp.s, cdb.s, &e);
	if (r <= 0)
		(void)unlink(tmp.s);
done:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	if (out >= 0 && close(out) < 0 && r > 0)
		r = sys_err(&e, "close ", tmp.s);
	buf_free(&tmp);
	buf_free(&cdb);
	errno = saved;
	return r;
}

int
map_check(const char *path, enum map_type type, size_t *count_r,
    char *err, size_t errsz)
{
	struct errs e = { err, errsz, 0, 0 };
	int fd, out, r, saved;

	if (errsz)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return sys_err(&e, "", path);
	/* an anonymous file, so duplicates are found exactly as when
	 * compiling */
	if ((out = memfd_create("tern-map-check", MFD_CLOEXEC)) < 0) {
		r = sys_err(&e, "memfd_create for ", path);
		close(fd);
		return r;
	}
	r = map_run(path, fd, type, out, count_r, &e);
	if (r < 0)
		(void)sys_err(&e, "", path);
	saved = errno;
	close(fd);
	close(out);
	errno = saved;
	return r;
}
