/*
 * cfg: reads tern.conf against the key table of cfg_keys.c.
 *
 * Values are parsed once at load time into per-key slots; getters never
 * fail at run time except for a key missing from the table, which is a
 * programming error (log_panic).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/cfg_int.h"

#define CFG_LINE_MAX 4096


struct cfg_val *cfg_vals;
static size_t nkeys;
char *cfg_confdir;
/* what the last successful cfg_load replaced, for cfg_revert */
static struct cfg_val *prev_vals;
static char *prev_dir;
static int have_prev;
static unsigned long generation;


size_t
cfg_index(const char *name)
{
	size_t i;

	for (i = 0; cfg_keys[i].name; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return i;
	return (size_t)-1;
}

static int
cfg_set(size_t i, const char *v, const char **msg)
{
	return cfg_val_set(&cfg_keys[i], &cfg_vals[i], v, cfg_confdir, msg);
}

void
cfg_defaults(void)
{
	size_t i;
	const char *msg;

	if (cfg_vals)
		return;
	if (cfg_confdir == NULL)
		cfg_confdir = cfg_strndup(TERN_SYSCONFDIR, strlen(TERN_SYSCONFDIR));
	for (nkeys = 0; cfg_keys[nkeys].name; nkeys++)
		;
	cfg_vals = calloc(nkeys, sizeof *cfg_vals);
	if (cfg_vals == NULL)
		log_fatal("out of memory");
	for (i = 0; i < nkeys; i++)
		if (!cfg_set(i, cfg_keys[i].def, &msg))
			log_panic("default of %s: %s", cfg_keys[i].name, msg);
}

static char *
cfg_absdir(const char *dir)
{
	char cwd[PATH_MAX];
	struct buf b = BUF_INIT;
	char *r;

	if (dir[0] == '/')
		return cfg_strndup(dir, strlen(dir));
	if (getcwd(cwd, sizeof cwd) == NULL)
		log_fatal("getcwd: %s", strerror(errno));
	if (buf_cats(&b, cwd) < 0 || buf_catc(&b, '/') < 0 ||
	    buf_cats(&b, dir) < 0)
		log_fatal("out of memory");
	r = cfg_strndup(b.s, b.len);
	buf_free(&b);
	return r;
}

static void
trim(char **s, char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' ||
	    (*e)[-1] == '\r'))
		(*e)--;
}

/* Parse one line; 1 ok, 0 error (err filled). */
static int
cfg_line(const char *file, unsigned lineno, char *s, char *e, char *err,
    size_t errsz)
{
	char *eq, *ks, *ke, *vs, *ve;
	const char *msg;
	size_t i;

	trim(&s, &e);
	if (s == e || *s == '#')
		return 1;
	eq = memchr(s, '=', (size_t)(e - s));
	if (eq == NULL) {
		snprintf(err, errsz, "%s:%u: expected key = value", file, lineno);
		return 0;
	}
	ks = s, ke = eq, vs = eq + 1, ve = e;
	/* one rule for every value: a '#' at its start or after a blank
	 * begins a comment (tern.conf(5)); "a#b" stays a value */
	ve = vs + str_uncomment(vs, (size_t)(ve - vs));
	trim(&ks, &ke);
	trim(&vs, &ve);
	*ke = '\0';
	*ve = '\0';
	i = cfg_index(ks);
	if (i == (size_t)-1) {
		snprintf(err, errsz, "%s:%u: unknown key '%s'", file, lineno,
		    ks);
		return 0;
	}
	if (cfg_vals[i].set) {
		snprintf(err, errsz, "%s:%u: '%s' is set twice", file, lineno,
		    ks);
		return 0;
	}
	if (!str_printable(vs, (size_t)(ve - vs))) {
		snprintf(err, errsz, "%s:%u: control character in value", file,
		    lineno);
		return 0;
	}
	if (!cfg_set(i, vs, &msg)) {
		snprintf(err, errsz, "%s:%u: %s: %s", file, lineno, ks, msg);
		return 0;
	}
	cfg_vals[i].set = 1;
	return 1;
}

static void
cfg_vals_free(struct cfg_val *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < nkeys; i++)
		cfg_val_clear(&v[i]);
	free(v);
}

/* Parse the lines of data into the current cfg_vals; 1 ok, -1 (err set). */
static int
cfg_parse(const char *path, char *data, size_t len, char *err, size_t errsz)
{
	char *p, *end;
	unsigned lineno = 0;

	for (p = data, end = data + len; p < end; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;

		lineno++;
		if (le - p > CFG_LINE_MAX) {
			snprintf(err, errsz, "%s:%u: line too long", path,
			    lineno);
			return -1;
		}
		if (memchr(p, '\0', (size_t)(le - p))) {
			snprintf(err, errsz, "%s:%u: NUL byte", path, lineno);
			return -1;
		}
		if (!cfg_line(path, lineno, p, le, err, errsz))
			return -1;
		p = le + 1;
	}
	return 1;
}

/* The directory named by dir (NULL: environment, then default), made
 * absolute. */
static char *
cfg_dirname(const char *dir)
{
	if (dir == NULL)
		dir = getenv("TERN_CONFDIR");
	if (dir == NULL || *dir == '\0')
		dir = TERN_SYSCONFDIR;
	return cfg_absdir(dir);
}

/* Begin a load into fresh slots: the old ones are kept in *old_vals and
 * *old_dir until cfg_finish. */
static void
cfg_begin(const char *dir, struct cfg_val **old_vals, char **old_dir)
{
	*old_vals = cfg_vals;
	*old_dir = cfg_confdir;
	cfg_confdir = cfg_dirname(dir);
	cfg_vals = NULL;
	cfg_defaults();
}

/* End a load: keep the new slots if ok, else go back to the old ones (if
 * any).  Returns ok ? 1 : -1. */
static int
cfg_finish(int ok, struct cfg_val *old_vals, char *old_dir)
{
	if (!ok && old_vals != NULL) {
		cfg_vals_free(cfg_vals);
		free(cfg_confdir);
		cfg_vals = old_vals;
		cfg_confdir = old_dir;
		return -1;
	}
	if (!ok) {
		free(old_dir);
		return -1;
	}
	/* keep what was replaced for cfg_revert (one level) */
	cfg_vals_free(prev_vals);
	free(prev_dir);
	prev_vals = old_vals;
	prev_dir = old_dir;
	have_prev = old_vals != NULL;
	generation++;
	return 1;
}

/*
 * The new configuration is built in fresh slots; only when the whole file
 * is good does it replace the old one (a reload of a broken file keeps
 * what was loaded before).
 */
int
cfg_load(const char *dir, char *err, size_t errsz)
{
	struct buf path = BUF_INIT;
	struct cfg_val *old_vals;
	char *old_dir, *data = NULL;
	size_t len;
	int r;

	cfg_begin(dir, &old_vals, &old_dir);
	if (buf_cats(&path, cfg_confdir) < 0 || buf_cats(&path, "/tern.conf") < 0)
		log_fatal("out of memory");
	r = fs_read_file(path.s, CFG_FILE_MAX, &data, &len);
	if (r < 0)
		snprintf(err, errsz, "%s: %s", path.s, strerror(errno));
	else if (r > 0)
		r = cfg_parse(path.s, data, len, err, errsz);
	free(data);
	buf_free(&path);
	return cfg_finish(r >= 0, old_vals, old_dir);
}

int
cfg_load_text(const char *dir, const char *name, const char *text,
    size_t len, char *err, size_t errsz)
{
	struct cfg_val *old_vals;
	char *old_dir, *data;
	int r;

	cfg_begin(dir, &old_vals, &old_dir);
	if ((data = malloc(len + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(data, text, len);
	data[len] = '\0';
	r = cfg_parse(name, data, len, err, errsz);
	free(data);
	return cfg_finish(r > 0, old_vals, old_dir);
}

/* The trust rule of cfg_load_fd for st, the directory (isdir) or
 * tern.conf, named name in err: 1 trusted, else 0 with err set. */
static int
cfg_trusted(const struct stat *st, int isdir, uid_t owner, const char *name,
    char *err, size_t errsz)
{
	if (isdir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		snprintf(err, errsz, "%s: not a %s", name,
		    isdir ? "directory" : "regular file");
	else if (st->st_uid != 0 && st->st_uid != owner)
		snprintf(err, errsz, "%s: owned by uid %lu, not by root or the "
		    "queue user (uid %lu)", name, (unsigned long)st->st_uid,
		    (unsigned long)owner);
	else if (st->st_mode & 022)
		snprintf(err, errsz, "%s: writable by group or others", name);
	else
		return 1;
	return 0;
}

/*
 * tern.conf is opened relative to dirfd and checked with fstat on the
 * open file, so nothing between the check and the read goes by name: a
 * caller who can rename a directory above cannot swap the file.  A
 * symbolic link is not followed (O_NOFOLLOW): its target would sit in a
 * directory nobody checked.  O_NONBLOCK so that a FIFO named tern.conf is
 * refused, not waited on.
 */
int
cfg_load_fd(int dirfd, const char *dir, uid_t owner, char *err,
    size_t errsz)
{
	struct buf path = BUF_INIT;
	struct cfg_val *old_vals;
	char *old_dir, *data = NULL;
	struct stat st;
	size_t len;
	int fd = -1, r = -1;

	cfg_begin(dir, &old_vals, &old_dir);
	if (buf_cats(&path, cfg_confdir) < 0 || buf_cats(&path, "/tern.conf") < 0)
		log_fatal("out of memory");
	if (fstat(dirfd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", cfg_confdir, strerror(errno));
		goto done;
	}
	if (!cfg_trusted(&st, 1, owner, cfg_confdir, err, errsz)) {
		r = 0;
		goto done;
	}
	fd = openat(dirfd, "tern.conf",
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		r = 1;   /* all defaults, as in cfg_load */
		goto done;
	}
	if (fd < 0 && errno == ELOOP) {
		snprintf(err, errsz, "%s: a symbolic link (not followed)",
		    path.s);
		r = 0;
		goto done;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", path.s, strerror(errno));
		goto done;
	}
	if (!cfg_trusted(&st, 0, owner, path.s, err, errsz)) {
		r = 0;
		goto done;
	}
	if (fs_read_fd(fd, CFG_FILE_MAX, &data, &len) < 0) {
		snprintf(err, errsz, "%s: %s", path.s, strerror(errno));
		goto done;
	}
	r = cfg_parse(path.s, data, len, err, errsz);
done:
	if (fd >= 0)
		close(fd);
	free(data);
	buf_free(&path);
	if (cfg_finish(r > 0, old_vals, old_dir) > 0)
		return 1;
	return r;
}

int
cfg_revert(void)
{
	struct cfg_val *v = cfg_vals;
	char *d = cfg_confdir;

	if (!have_prev)
		return 0;
	cfg_vals = prev_vals;
	cfg_confdir = prev_dir;
	prev_vals = NULL;
	prev_dir = NULL;
	have_prev = 0;
	cfg_vals_free(v);
	free(d);
	generation++;
	return 1;
}

int
cfg_changed(enum cfg_id id)
{
	const char *a, *b;

	if (!have_prev || (unsigned)id >= CFG_NKEYS)
		return 0;
	a = prev_vals[id].text ? prev_vals[id].text : "";
	b = cfg_vals[id].text ? cfg_vals[id].text : "";
	return strcmp(a, b) != 0;
}

unsigned long
cfg_generation(void)
{
	return generation;
}

const char *
cfg_dir(void)
{
	cfg_defaults();
	return cfg_confdir;
}

