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

#define CFG_LINE_MAX 4096
#define CFG_FILE_MAX (1024 * 1024)
#define CFG_WORDS_MAX 1024

struct cfg_val {
	char *text;            /* resolved text (absolute path for CFG_PATH) */
	unsigned long num;
	char **words;          /* CFG_LIST */
	size_t nwords;
	int set;
};

static struct cfg_val *vals;
static size_t nkeys;
static char *confdir;
/* what the last successful cfg_load replaced, for cfg_revert */
static struct cfg_val *prev_vals;
static char *prev_dir;
static int have_prev;
static unsigned long generation;

struct cfg_filecache { char *name, *path; struct cfg_filecache *next; };
static struct cfg_filecache *files;

static size_t
cfg_index(const char *name)
{
	size_t i;

	for (i = 0; cfg_keys[i].name; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return i;
	return (size_t)-1;
}

static char *
xstrdup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		log_fatal("out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Multiplier suffixes: k/M/G for sizes, s/m/h/d/w for times. */
static int
cfg_parse_num(const struct cfg_key *k, const char *v, unsigned long *r)
{
	size_t n = strlen(v);
	unsigned long mul = 1, x;

	if (n > 1 && k->type == CFG_NUM) {
		switch (v[n - 1]) {
		case 'k': case 'K': mul = 1024UL; n--; break;
		case 'm': case 'M': mul = 1024UL * 1024; n--; break;
		case 'g': case 'G': mul = 1024UL * 1024 * 1024; n--; break;
		}
	} else if (n > 1 && k->type == CFG_TIME) {
		switch (v[n - 1]) {
		case 's': n--; break;
		case 'm': mul = 60; n--; break;
		case 'h': mul = 3600; n--; break;
		case 'd': mul = 86400; n--; break;
		case 'w': mul = 7 * 86400UL; n--; break;
		}
	}
	if (!str_ulong(v, n, ULONG_MAX / mul, &x))
		return 0;
	x *= mul;
	if (x < k->min || x > k->max)
		return -1;
	*r = x;
	return 1;
}

static int
cfg_parse_bool(const char *v, unsigned long *r)
{
	if (str_caseeq(v, "yes") || str_caseeq(v, "true") ||
	    str_caseeq(v, "on") || strcmp(v, "1") == 0)
		*r = 1;
	else if (str_caseeq(v, "no") || str_caseeq(v, "false") ||
	    str_caseeq(v, "off") || strcmp(v, "0") == 0)
		*r = 0;
	else
		return 0;
	return 1;
}

static void
cfg_split(struct cfg_val *cv)
{
	char *p = cv->text;

	cv->words = calloc(CFG_WORDS_MAX, sizeof *cv->words);
	if (cv->words == NULL)
		log_fatal("out of memory");
	cv->nwords = 0;
	while (*p) {
		char *w;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (cv->nwords < CFG_WORDS_MAX - 1)
			cv->words[cv->nwords++] = xstrdup(w, (size_t)(p - w));
	}
}

static void
cfg_val_clear(struct cfg_val *cv)
{
	size_t i;

	for (i = 0; i < cv->nwords; i++)
		free(cv->words[i]);
	free(cv->words);
	free(cv->text);
	cv->words = NULL;
	cv->nwords = 0;
	cv->text = NULL;
}

/* Set cv, a slot of key i, from text v.  1 ok, 0 bad value (msg set). */
static int
cfg_set_slot(size_t i, struct cfg_val *cv, const char *v, const char **msg)
{
	const struct cfg_key *k = &cfg_keys[i];
	struct buf b = BUF_INIT;
	int r;

	if (k->check != NULL && !k->check(v, msg))
		return 0;
	switch (k->type) {
	case CFG_NUM:
	case CFG_TIME:
		r = cfg_parse_num(k, v, &cv->num);
		if (r <= 0) {
			*msg = r == 0 ? "not a number" : "out of range";
			return 0;
		}
		break;
	case CFG_BOOL:
		if (!cfg_parse_bool(v, &cv->num)) {
			*msg = "not yes or no";
			return 0;
		}
		break;
	case CFG_PATH:
		if (v[0] != '/' && v[0] != '\0') {
			if (buf_cats(&b, confdir) < 0 || buf_catc(&b, '/') < 0 ||
			    buf_cats(&b, v) < 0)
				log_fatal("out of memory");
			v = b.s;
		}
		break;
	default:
		break;
	}
	cfg_val_clear(cv);
	cv->text = xstrdup(v, strlen(v));
	buf_free(&b);
	if (k->type == CFG_LIST)
		cfg_split(cv);
	return 1;
}

static int
cfg_set(size_t i, const char *v, const char **msg)
{
	return cfg_set_slot(i, &vals[i], v, msg);
}

static void
cfg_defaults(void)
{
	size_t i;
	const char *msg;

	if (vals)
		return;
	if (confdir == NULL)
		confdir = xstrdup(TERN_SYSCONFDIR, strlen(TERN_SYSCONFDIR));
	for (nkeys = 0; cfg_keys[nkeys].name; nkeys++)
		;
	vals = calloc(nkeys, sizeof *vals);
	if (vals == NULL)
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
		return xstrdup(dir, strlen(dir));
	if (getcwd(cwd, sizeof cwd) == NULL)
		log_fatal("getcwd: %s", strerror(errno));
	if (buf_cats(&b, cwd) < 0 || buf_catc(&b, '/') < 0 ||
	    buf_cats(&b, dir) < 0)
		log_fatal("out of memory");
	r = xstrdup(b.s, b.len);
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
	if (vals[i].set) {
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
	vals[i].set = 1;
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

/* Parse the lines of data into the current vals; 1 ok, -1 (err set). */
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
	*old_vals = vals;
	*old_dir = confdir;
	confdir = cfg_dirname(dir);
	vals = NULL;
	cfg_defaults();
}

/* End a load: keep the new slots if ok, else go back to the old ones (if
 * any).  Returns ok ? 1 : -1. */
static int
cfg_finish(int ok, struct cfg_val *old_vals, char *old_dir)
{
	if (!ok && old_vals != NULL) {
		cfg_vals_free(vals);
		free(confdir);
		vals = old_vals;
		confdir = old_dir;
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
	if (buf_cats(&path, confdir) < 0 || buf_cats(&path, "/tern.conf") < 0)
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
	ssize_t got;
	int fd = -1, r = -1;

	cfg_begin(dir, &old_vals, &old_dir);
	if (buf_cats(&path, confdir) < 0 || buf_cats(&path, "/tern.conf") < 0)
		log_fatal("out of memory");
	if (fstat(dirfd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", confdir, strerror(errno));
		goto done;
	}
	if (!cfg_trusted(&st, 1, owner, confdir, err, errsz)) {
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
	if (st.st_size > CFG_FILE_MAX) {
		snprintf(err, errsz, "%s: %s", path.s, strerror(EFBIG));
		goto done;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		log_fatal("out of memory");
	if ((got = fd_read_full(fd, data, (size_t)st.st_size)) < 0) {
		snprintf(err, errsz, "%s: %s", path.s, strerror(errno));
		goto done;
	}
	data[got] = '\0';
	r = cfg_parse(path.s, data, (size_t)got, err, errsz);
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
	struct cfg_val *v = vals;
	char *d = confdir;

	if (!have_prev)
		return 0;
	vals = prev_vals;
	confdir = prev_dir;
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
	b = vals[id].text ? vals[id].text : "";
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
	return confdir;
}

static struct cfg_val *
cfg_get(enum cfg_id id)
{
	cfg_defaults();
	if ((unsigned)id >= CFG_NKEYS)
		log_panic("no configuration key number %d", (int)id);
	return &vals[id];
}

int
cfg_id_of(const char *name, enum cfg_id *id_r)
{
	size_t i = cfg_index(name);

	if (i == (size_t)-1)
		return 0;
	*id_r = (enum cfg_id)i;
	return 1;
}

const char *
cfg_str_named(const char *name)
{
	enum cfg_id id;

	if (!cfg_id_of(name, &id))
		log_panic("no configuration key %s", name);
	return cfg_str_at(id);
}

const char *
cfg_str_at(enum cfg_id id)
{
	return cfg_get(id)->text;
}

unsigned long
cfg_num_at(enum cfg_id id)
{
	return cfg_get(id)->num;
}

int
cfg_bool_at(enum cfg_id id)
{
	return cfg_get(id)->num != 0;
}

const char *
cfg_list_at(enum cfg_id id, size_t n)
{
	struct cfg_val *cv = cfg_get(id);

	return cv->words && n < cv->nwords ? cv->words[n] : NULL;
}

int
cfg_inlist_at(enum cfg_id id, const char *word)
{
	struct cfg_val *cv = cfg_get(id);
	size_t i;

	size_t wl = strlen(word);

	/* a domain's trailing dot (the root) does not count: "Example.Test."
	 * in local_domains matches the canonical "example.test" and back */
	if (wl > 1 && word[wl - 1] == '.')
		wl--;
	for (i = 0; cv->words && i < cv->nwords; i++) {
		const char *w = cv->words[i];
		size_t l = strlen(w);

		if (l > 1 && w[l - 1] == '.')
			l--;
		if (l == wl && str_ncaseeq(w, word, l))
			return 1;
	}
	return 0;
}

int
cfg_isset_at(enum cfg_id id)
{
	return cfg_get(id)->set;
}

int
cfg_isdefault_at(enum cfg_id id)
{
	struct cfg_val *cv = cfg_get(id), def;
	size_t i = (size_t)id, j;
	const char *msg;
	int same;

	memset(&def, 0, sizeof def);
	/* the default parsed the same way (paths resolve against DIR) */
	if (!cfg_set_slot(i, &def, cfg_keys[i].def, &msg))
		log_panic("default of %s: %s", cfg_keys[i].name, msg);
	switch (cfg_keys[i].type) {
	case CFG_NUM:
	case CFG_TIME:
	case CFG_BOOL:
		same = cv->num == def.num;
		break;
	case CFG_LIST:
		same = cv->nwords == def.nwords;
		for (j = 0; same && j < cv->nwords; j++)
			same = str_caseeq(cv->words[j], def.words[j]);
		break;
	default:
		same = strcmp(cv->text, def.text) == 0;
		break;
	}
	cfg_val_clear(&def);
	return same;
}

const char *
cfg_file(const char *name)
{
	struct cfg_filecache *f;
	struct buf b = BUF_INIT;

	cfg_defaults();
	for (f = files; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->path;
	f = malloc(sizeof *f);
	if (f == NULL || buf_cats(&b, confdir) < 0 || buf_catc(&b, '/') < 0 ||
	    buf_cats(&b, name) < 0)
		log_fatal("out of memory");
	f->name = xstrdup(name, strlen(name));
	f->path = xstrdup(b.s, b.len);
	buf_free(&b);
	f->next = files;
	files = f;
	return f->path;
}

const char *
cfg_take_dir(int *argc, char **argv)
{
	const char *dir = NULL;
	int i, j;

	for (i = 1; i < *argc; i++) {
		int drop = 0;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-C") == 0 && i + 1 < *argc) {
			dir = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2]) {
			dir = argv[i] + 2;
			drop = 1;
		}
		if (drop) {
			for (j = i; j + drop <= *argc; j++)
				argv[j] = argv[j + drop];
			*argc -= drop;
			i--;
		}
	}
	return dir;
}
