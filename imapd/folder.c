/*
 * folder: mailbox names and Maildir++ folders
 * (http://www.courier-mta.org/imap/README.maildirquota.html).
 *
 * INBOX is the user's Maildir; every other mailbox is a directory
 * ".NAME" inside it, with the hierarchy separator we show, "/", written
 * as "." on disk: "Archive/2024" is ".Archive.2024".  Names travel and
 * are stored in modified UTF-7 (RFC 3501 5.1.3), so the wire name and the
 * directory name differ only in the separator.  A name holding ".", a
 * list wildcard, a control character or 8-bit, an empty level, or that
 * is not valid modified UTF-7 is refused with NO [CANNOT].  A parent that
 * has no directory of its own (".A.B" without ".A") is listed as
 * \Noselect.  Subscriptions are the lines of the file "subscriptions" in
 * the Maildir (the name Dovecot uses, so a migration keeps them).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/str.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "imap/istr.h"
#include "store/mdindex.h"
#include "imapd.h"

#define SUBS_FILE "subscriptions"
#define SUBS_MAX (256 * 1024)
#define FOLDERS_MAX 10000

/* ---- names -------------------------------------------------------------- */

/* 1 if name is a mailbox name we can keep (see the top). */
static int
name_ok(const char *name, size_t n)
{
	struct buf u = BUF_INIT;
	size_t i;
	int r;

	if (n == 0 || n > IMAP_NAME_MAX || name[0] == IMAP_SEP ||
	    name[n - 1] == IMAP_SEP)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c >= 0x7f || c == '.' || c == '%' ||
		    c == '*' || c == '\\' || c == '"')
			return 0;
		if (c == IMAP_SEP && name[i + 1] == IMAP_SEP)
			return 0;
	}
	r = imap_mutf7_decode(name, n, &u);
	buf_free(&u);
	return r == 1;
}

int
mailbox_arg(struct imap *s, struct imap_p *p, struct buf *out, int list)
{
	struct buf m = BUF_INIT;
	int r = list ? imap_p_list_mailbox(p, out) : imap_p_mailbox(p, out);

	if (r != 1 || !s->utf8 || (out->len == 5 &&
	    memcmp(out->s, "INBOX", 5) == 0))
		return r;
	/* RFC 9051 5.1, RFC 9755 3: UTF-8 names on the wire; on disk, as
	 * for every client, modified UTF-7 */
	r = imap_mutf7_encode(out->s ? out->s : "", out->len, &m);
	if (r == 1 && buf_copy(out, m.s ? m.s : "", m.len) < 0)
		r = -1;
	buf_free(&m);
	if (r == 0)
		return imap_p_fail(p, "Mailbox name is not UTF-8");
	return r;
}

int
put_mailbox(const struct imap *s, struct buf *out, const char *name)
{
	struct buf u = BUF_INIT;
	int r;

	if (strcmp(name, "INBOX") == 0)
		return buf_cats(out, "INBOX");
	if (!s->utf8)
		return imap_put_string(out, name, strlen(name), 0);
	r = imap_mutf7_decode(name, strlen(name), &u);
	if (r == 1)
		r = imap_put_string(out, u.s ? u.s : "", u.len, 1);
	else if (r == 0)
		r = imap_put_string(out, name, strlen(name), 0);
	buf_free(&u);
	return r;
}

int
folder_path(struct imap *s, const char *name, size_t n, char **dir_r)
{
	struct buf b = BUF_INIT;
	size_t i;

	*dir_r = NULL;
	if (n == 5 && memcmp(name, "INBOX", 5) == 0) {
		*dir_r = strdup(s->root);
		return *dir_r ? 1 : -1;
	}
	if (!name_ok(name, n)) {
		imap_tagged(s, "NO", "[CANNOT] Invalid mailbox name");
		return 0;
	}
	if (buf_copys(&b, s->root) < 0 || buf_cats(&b, "/.") < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (buf_catc(&b, name[i] == IMAP_SEP ? '.' : name[i]) < 0)
			return -1;
	*dir_r = b.s;  /* the buffer's string is ours now */
	return 1;
}

int
folder_exists(const char *dir)
{
	char path[FS_PATH_MAX];
	struct stat st;

	return fs_join(path, sizeof path, dir, "cur") > 0 &&
	    stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The name and its Maildir; NO sent and 0 returned when it is bad. */
static int
arg_folder(struct imap *s, struct imap_p *p, struct buf *name, char **dir_r)
{
	int r;

	if (mailbox_arg(s, p, name, 0) != 1) {
		imap_bad_args(s, p);
		return 0;
	}
	r = folder_path(s, name->s, name->len, dir_r);
	if (r < 0)
		session_fatal(s, "memory");
	return r;
}

/* ---- the folder list ------------------------------------------------------- */

struct flist {
	char **name;      /* wire names, sorted */
	unsigned char *real;  /* 1 a directory exists, 0 an implied parent */
	size_t n, cap;
};

static void
flist_free(struct flist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->name[i]);
	free(l->name);
	free(l->real);
	memset(l, 0, sizeof *l);
}

static int
flist_add(struct flist *l, const char *name, size_t n, int real)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **nm = reallocarray(l->name, cap, sizeof *nm);
		unsigned char *rl;

		if (nm == NULL)
			return -1;
		l->name = nm;
		rl = realloc(l->real, cap);
		if (rl == NULL)
			return -1;
		l->real = rl;
		l->cap = cap;
	}
	l->name[l->n] = strndup(name, n);
	if (l->name[l->n] == NULL)
		return -1;
	l->real[l->n++] = (unsigned char)real;
	return 1;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* As cmp_name, INBOX first (as every LIST lists it). */
static int
cmp_inbox_first(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	if (strcmp(x, "INBOX") == 0 || strcmp(y, "INBOX") == 0)
		return (strcmp(y, "INBOX") == 0) - (strcmp(x, "INBOX") == 0);
	return strcmp(x, y);
}

/* Every mailbox: INBOX, the folders, and their implied parents. */
static int
flist_load(struct imap *s, struct flist *l)
{
	struct dirent *d;
	DIR *dp;
	size_t i, k;
	int saved;

	if (flist_add(l, "INBOX", 5, 1) < 0)
		return -1;
	dp = opendir(s->root);
	if (dp == NULL)
		return errno == ENOENT ? 1 : -1;
	while ((errno = 0, d = readdir(dp)) != NULL) {
		char name[IMAP_NAME_MAX + 1], dir[FS_PATH_MAX];
		size_t n = strlen(d->d_name);

		if (d->d_name[0] != '.' || n < 2 || n - 1 > IMAP_NAME_MAX ||
		    (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN))
			continue;
		for (i = 1; i < n; i++)
			name[i - 1] = d->d_name[i] == '.' ? IMAP_SEP :
			    d->d_name[i];
		name[n - 1] = '\0';
		if (!name_ok(name, n - 1) ||
		    fs_join(dir, sizeof dir, s->root, d->d_name) < 0 ||
		    !folder_exists(dir))
			continue;
		if (l->n >= FOLDERS_MAX)
			break;
		if (flist_add(l, name, n - 1, 1) < 0)
			goto fail;
	}
	if (errno != 0)
		goto fail;
	(void)closedir(dp);
	/* implied parents */
	k = l->n;
	for (i = 1; i < k; i++) {
		const char *nm = l->name[i], *sep;

		for (sep = strchr(nm, IMAP_SEP); sep; sep = strchr(sep + 1,
		    IMAP_SEP)) {
			/* INBOX is entry 0 already ("INBOX/Sub") */
			if (sep - nm == 5 && memcmp(nm, "INBOX", 5) == 0)
				continue;
			if (flist_add(l, nm, (size_t)(sep - nm), 0) < 0)
				return -1;
		}
	}
	qsort(l->name + 1, l->n - 1, sizeof *l->name, cmp_name);
	/* the sort moved names without their flags: recompute, dedup */
	for (i = 1; i < l->n; i++) {
		char dir[FS_PATH_MAX], *d2 = NULL;

		if (folder_path(s, l->name[i], strlen(l->name[i]), &d2) <= 0)
			return -1;
		l->real[i] = (unsigned char)(str_copy(dir, d2, sizeof dir) <
		    sizeof dir && folder_exists(dir));
		free(d2);
	}
	for (i = 1, k = 1; i < l->n; i++) {
		if (strcmp(l->name[i], l->name[k - 1]) == 0) {
			free(l->name[i]);
			continue;
		}
		l->name[k] = l->name[i];
		l->real[k++] = l->real[i];
	}
	l->n = k;
	return 1;
fail:
	saved = errno;
	(void)closedir(dp);
	errno = saved;
	return -1;
}

/* 1 if a name of l (sorted after index 0, INBOX) starts with name and
 * the separator.  Not simply the next name: "A-b" sorts between "A" and
 * "A/c" ('-' < '/'). */
static int
has_children_of(const struct flist *l, const char *name)
{
	size_t n = strlen(name), lo = 1, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(l->name[mid], name, n);

		if (c == 0)
			c = (unsigned char)l->name[mid][n] < IMAP_SEP ? -1 :
			    (unsigned char)l->name[mid][n] > IMAP_SEP ? 1 : 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && strncmp(l->name[lo], name, n) == 0 &&
	    l->name[lo][n] == IMAP_SEP;
}

static int
has_children(const struct flist *l, size_t i)
{
	return has_children_of(l, l->name[i]);
}

/* RFC 6154 attribute for a top-level folder of that name. */
static const char *
special_use(const char *name)
{
	static const char *const names[][2] = {
		{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" },
		{ "Trash", "\\Trash" }, { "Junk", "\\Junk" },
		{ "Archive", "\\Archive" },
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}

/* One LIST/LSUB line for name; attrs: LA_* bits. */
enum {
	LA_NOSELECT = 1, LA_NONEXISTENT = 2, LA_SUBSCRIBED = 4,
	LA_CHILDREN = 8, LA_NOCHILDREN = 16, LA_CHILDINFO = 32,
};

static void
list_put(struct imap *s, const char *verb, const char *name, unsigned attrs)
{
	struct buf b = BUF_INIT;
	const char *su = special_use(name), *sep = "";
	int ok;

	ok = buf_catf(&b, "%s (", verb) > 0;
#define ATTR(bit, word) do { if (attrs & (bit)) { \
	ok &= buf_catf(&b, "%s%s", sep, word) > 0; sep = " "; } } while (0)
	ATTR(LA_NONEXISTENT, "\\NonExistent");
	ATTR(LA_NOSELECT, "\\Noselect");
	ATTR(LA_CHILDREN, "\\HasChildren");
	ATTR(LA_NOCHILDREN, "\\HasNoChildren");
	ATTR(LA_SUBSCRIBED, "\\Subscribed");
#undef ATTR
	if (su != NULL && !(attrs & LA_NONEXISTENT))
		ok &= buf_catf(&b, "%s%s", sep, su) > 0;
	ok &= buf_catf(&b, ") \"%c\" ", IMAP_SEP) > 0;
	ok &= put_mailbox(s, &b, name) > 0;
	/* RFC 5258 3.5 */
	if (attrs & LA_CHILDINFO)
		ok &= buf_cats(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))") > 0;
	if (!ok)
		session_fatal(s, "memory");
	imap_untagged(s, "%s", buf_str(&b));
	buf_free(&b);
}

static void
list_line(struct imap *s, const char *verb, const struct flist *l, size_t i)
{
	list_put(s, verb, l->name[i], (l->real[i] ? 0 : LA_NOSELECT) |
	    (has_children(l, i) ? LA_CHILDREN : LA_NOCHILDREN));
}

/* "ref" and "pattern" (RFC 9051 6.3.9): the pattern is taken relative to
 * the reference by putting them together. */
static int
list_args(struct imap *s, struct imap_p *p, struct buf *pat)
{
	struct buf ref = BUF_INIT;

	if (!imap_p_sp(p) || mailbox_arg(s, p, &ref, 0) != 1 ||
	    !imap_p_sp(p) || mailbox_arg(s, p, pat, 1) != 1 ||
	    !imap_p_end(p)) {
		buf_free(&ref);
		imap_bad_args(s, p);
		return 0;
	}
	if (ref.len > 0 && pat->len > 0 && pat->s[0] != IMAP_SEP) {
		if (buf_cat(&ref, pat->s, pat->len) < 0 ||
		    buf_copy(pat, ref.s, ref.len) < 0)
			session_fatal(s, "memory");
	}
	if (pat->len == 0 && ref.len == 0) {
		/* RFC 9051 6.3.9: the separator and the root */
		imap_untagged(s, "LIST (\\Noselect) \"%c\" \"\"", IMAP_SEP);
		buf_free(&ref);
		return 0;
	}
	buf_free(&ref);
	return 1;
}

/* ---- subscriptions ------------------------------------------------------- */

static int
subs_load(struct imap *s, struct flist *l)
{
	char path[FS_PATH_MAX], *text = NULL, *line, *nl;
	size_t len;
	int r;

	if (fs_join(path, sizeof path, s->root, SUBS_FILE) < 0)
		return -1;
	r = fs_read_file(path, SUBS_MAX, &text, &len);
	if (r <= 0)
		return r;
	for (line = text; line < text + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (nl == NULL)
			break;
		if (nl > line && (name_ok(line, (size_t)(nl - line)) ||
		    (nl - line == 5 && memcmp(line, "INBOX", 5) == 0)) &&
		    flist_add(l, line, (size_t)(nl - line), 1) < 0) {
			free(text);
			return -1;
		}
	}
	free(text);
	return 1;
}

static int
subs_save(struct imap *s, const struct flist *l)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	struct buf b = BUF_INIT;
	size_t i;
	int r;

	for (i = 0; i < l->n; i++)
		if (l->name[i] != NULL && (buf_cats(&b, l->name[i]) < 0 ||
		    buf_catc(&b, '\n') < 0)) {
			buf_free(&b);
			return -1;
		}
	if (fs_join(path, sizeof path, s->root, SUBS_FILE) < 0 ||
	    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof tmp) {
		buf_free(&b);
		errno = ENAMETOOLONG;
		return -1;
	}
	r = fs_atomic_write(path, tmp, b.s ? b.s : "", b.len, 0600);
	buf_free(&b);
	return r;
}

static void
subscribe(struct imap *s, struct imap_p *p, int on)
{
	struct buf name = BUF_INIT;
	struct flist l = { 0 };
	char *dir = NULL;
	size_t i;
	int found = 0;

	if (!imap_p_sp(p) || arg_folder(s, p, &name, &dir) <= 0)
		goto out;
	if (!imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (on && !folder_exists(dir)) {
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't exist");
		goto out;
	}
	if (subs_load(s, &l) < 0)
		session_fatal(s, SUBS_FILE);
	for (i = 0; i < l.n; i++)
		if (strcmp(l.name[i], name.s) == 0) {
			found = 1;
			if (!on) {
				free(l.name[i]);
				l.name[i] = NULL;
			}
		}
	if (on == found)
		goto out;  /* nothing to change (RFC 9051 6.3.7, 6.3.8) */
	if (on && flist_add(&l, name.s, name.len, 1) < 0)
		session_fatal(s, "memory");
	if (subs_save(s, &l) < 0) {
		log_warn("%s subscriptions user=%s error=%s", s->sid,
		    buf_str(&s->login), strerror(errno));
		imap_tagged(s, "NO", "[SERVERBUG] Cannot save subscriptions");
	}
out:
	for (i = 0; i < l.n; i++)
		if (l.name[i] == NULL)
			l.name[i] = strdup("");  /* flist_free frees each */
	flist_free(&l);
	free(dir);
	buf_free(&name);
}

void
cmd_subscribe(struct imap *s, struct imap_p *p)
{
	subscribe(s, p, 1);
}

void
cmd_unsubscribe(struct imap *s, struct imap_p *p)
{
	subscribe(s, p, 0);
}

void
cmd_lsub(struct imap *s, struct imap_p *p)
{
	struct buf pat = BUF_INIT;
	struct flist l = { 0 }, all = { 0 };
	size_t i, j;

	if (!list_args(s, p, &pat)) {
		buf_free(&pat);
		return;
	}
	if (subs_load(s, &l) < 0 || flist_load(s, &all) < 0)
		session_fatal(s, "folder list");
	for (i = 0; i < all.n; i++) {
		const char *nm = all.name[i];
		size_t n = strlen(nm);
		int below = 0;

		if (!imap_list_match(pat.s, pat.len, nm, n, IMAP_SEP, NULL))
			continue;
		for (j = 0; j < l.n; j++)
			if (strcmp(l.name[j], nm) == 0)
				break;
		if (j < l.n) {
			list_line(s, "LSUB", &all, i);
			continue;
		}
		/* RFC 3501 6.3.9: with "%", a parent that is not subscribed
		 * but has a subscribed name below that the pattern does not
		 * list is given \Noselect */
		for (j = 0; j < l.n && !below; j++)
			below = strncmp(l.name[j], nm, n) == 0 &&
			    l.name[j][n] == IMAP_SEP &&
			    !imap_list_match(pat.s, pat.len, l.name[j],
			    strlen(l.name[j]), IMAP_SEP, NULL);
		if (below)
			list_put(s, "LSUB", nm, LA_NOSELECT);
	}
	flist_free(&l);
	flist_free(&all);
	buf_free(&pat);
}

void
cmd_namespace(struct imap *s, struct imap_p *p)
{
	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "NAMESPACE takes no arguments");
		return;
	}
	/* RFC 2342: one personal namespace, no others */
	imap_untagged(s, "NAMESPACE ((\"\" \"%c\")) NIL NIL", IMAP_SEP);
}

/* ---- CREATE, DELETE, RENAME -------------------------------------------------- */

/* A new folder dir: the Maildir, its maildirfolder file, and a
 * tern-uidlist with a UIDVALIDITY never given in this Maildir before
 * (RFC 9051 2.3.1.1), the root fsynced.  On failure what was made is
 * taken away again.  1 or -1. */
static int
folder_make(struct imap *s, const char *dir)
{
	static const char *const parts[] = { "maildirfolder", MBOX_UIDLIST,
	    MBOX_UIDLIST_LOCK, MDX_FILE, "cur", "new", "tmp" };
	char path[FS_PATH_MAX];
	unsigned long validity;
	size_t k;
	int fd, saved;

	if (maildir_make(dir) < 0)
		goto fail;
	if (fs_join(path, sizeof path, dir, "maildirfolder") < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    close(fd) < 0 || mbox_validity_next(s->root, &validity) < 0 ||
	    mbox_uid_start(dir, validity) < 0 ||
	    mdx_create(dir, validity) < 0 || fs_syncdir(s->root) < 0)
		goto fail;
	return 1;
fail:
	saved = errno;
	for (k = 0; k < sizeof parts / sizeof parts[0]; k++)
		if (fs_join(path, sizeof path, dir, parts[k]) > 0 &&
		    unlink(path) < 0 && errno == EISDIR)
			(void)rmdir(path);
	for (k = 4; k < sizeof parts / sizeof parts[0]; k++)
		if (fs_join(path, sizeof path, dir, parts[k]) > 0)
			(void)rmdir(path);
	(void)rmdir(dir);
	errno = saved;
	return -1;
}

void
cmd_create(struct imap *s, struct imap_p *p)
{
	struct buf name = BUF_INIT;
	char *dir = NULL;

	if (!imap_p_sp(p) || mailbox_arg(s, p, &name, 0) != 1 ||
	    !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	/* RFC 9051 6.3.4: a trailing separator only says that the client
	 * means to create names below it */
	if (name.len > 1 && name.s[name.len - 1] == IMAP_SEP)
		buf_truncate(&name, name.len - 1);
	if (strcmp(name.s, "INBOX") == 0) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] INBOX always exists");
		goto out;
	}
	if (folder_path(s, name.s, name.len, &dir) <= 0)
		goto out;
	if (folder_exists(dir)) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] Mailbox exists");
		goto out;
	}
	if (folder_make(s, dir) < 0) {
		log_warn("%s create user=%s mailbox=%s error=%s", s->sid,
		    buf_str(&s->login), name.s, strerror(errno));
		imap_tagged(s, "NO", "[SERVERBUG] Cannot create the mailbox");
		goto out;
	}
	log_info("%s create user=%s mailbox=%s", s->sid, buf_str(&s->login),
	    name.s);
out:
	free(dir);
	buf_free(&name);
}

/* Remove a Maildir that was renamed out of the way: its files, its
 * subdirectories' files (two levels; a Maildir has no deeper ones). */
static int
rm_tree(const char *path, int depth)
{
	struct dirent *d;
	DIR *dp = opendir(path);
	int r = 1;

	if (dp == NULL)
		return errno == ENOENT ? 1 : -1;
	while ((errno = 0, d = readdir(dp)) != NULL) {
		char sub[FS_PATH_MAX];

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (fs_join(sub, sizeof sub, path, d->d_name) < 0) {
			r = -1;
			continue;
		}
		if (unlink(sub) == 0)
			continue;
		if ((errno == EISDIR || errno == EPERM) && depth > 0) {
			if (rm_tree(sub, depth - 1) < 0)
				r = -1;
		} else if (errno != ENOENT) {
			r = -1;
		}
	}
	(void)closedir(dp);
	if (rmdir(path) < 0 && errno != ENOENT)
		r = -1;
	return r;
}

void
cmd_delete(struct imap *s, struct imap_p *p)
{
	struct buf name = BUF_INIT;
	char *dir = NULL, trash[FS_PATH_MAX];
	int n;

	if (!imap_p_sp(p) || arg_folder(s, p, &name, &dir) <= 0)
		goto out;
	if (!imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (strcmp(name.s, "INBOX") == 0) {
		imap_tagged(s, "NO", "[CANNOT] INBOX cannot be deleted");
		goto out;
	}
	if (!folder_exists(dir)) {
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't exist");
		goto out;
	}
	if (s->state == ST_SEL && strcmp(s->sel.dir, dir) == 0) {
		imap_tagged(s, "NO", "[INUSE] Mailbox is selected; close it "
		    "first");
		goto out;
	}
	/* out of sight first (one rename), then removed: a crash leaves
	 * debris in tmp/, which Maildir readers clean, never half a folder
	 * (children ".NAME.SUB" stay: NAME becomes \Noselect, RFC 9051
	 * 6.3.5) */
	n = snprintf(trash, sizeof trash, "%s/tmp/deleted.%lld.%ld", s->root,
	    (long long)time(NULL), (long)getpid());
	/* (a Maildir nothing was delivered to may have no tmp/ yet) */
	if (n < 0 || (size_t)n >= sizeof trash ||
	    maildir_make(s->root) < 0 || rename(dir, trash) < 0) {
		log_warn("%s delete user=%s mailbox=%s error=%s", s->sid,
		    buf_str(&s->login), name.s, strerror(errno));
		imap_tagged(s, "NO", "[SERVERBUG] Cannot delete the mailbox");
		goto out;
	}
	if (rm_tree(trash, 1) < 0)
		log_warn("%s delete user=%s mailbox=%s cleanup=%s error=%s",
		    s->sid, buf_str(&s->login), name.s, trash,
		    strerror(errno));
	log_info("%s delete user=%s mailbox=%s", s->sid, buf_str(&s->login),
	    name.s);
out:
	free(dir);
	buf_free(&name);
}

/* RENAME INBOX (RFC 9051 6.3.6): its messages move to the new mailbox,
 * which gets new UIDs; INBOX stays, empty. */
static int
rename_inbox(struct imap *s, const char *to)
{
	static const char *const subs[] = { "cur", "new" };
	char from[FS_PATH_MAX], dst[FS_PATH_MAX], path[FS_PATH_MAX];
	struct dirent *d;
	size_t k;

	/* a folder of its own: a new UIDVALIDITY, not the time alone */
	if (folder_make(s, to) < 0)
		return -1;
	for (k = 0; k < 2; k++) {
		DIR *dp;

		if (fs_join(from, sizeof from, s->root, subs[k]) < 0)
			return -1;
		dp = opendir(from);
		if (dp == NULL)
			return -1;
		while ((errno = 0, d = readdir(dp)) != NULL) {
			if (d->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof path, "%s/%s", from,
			    d->d_name) >= (int)sizeof path ||
			    snprintf(dst, sizeof dst, "%s/%s/%s", to, subs[k],
			    d->d_name) >= (int)sizeof dst ||
			    (rename(path, dst) < 0 && errno != ENOENT)) {
				(void)closedir(dp);
				return -1;
			}
		}
		(void)closedir(dp);
	}
	return 1;
}

void
cmd_rename(struct imap *s, struct imap_p *p)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	char *fdir = NULL, *tdir = NULL;
	struct flist l = { 0 };
	size_t i, n;
	int r;

	if (!imap_p_sp(p) || arg_folder(s, p, &from, &fdir) <= 0)
		goto out;
	if (!imap_p_sp(p) || arg_folder(s, p, &to, &tdir) <= 0)
		goto out;
	if (!imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (!folder_exists(fdir)) {
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't exist");
		goto out;
	}
	/* the selected folder (or one below the renamed one) would move
	 * from under this session's view; INBOX itself stays (its messages
	 * move, and the view hears of them as expunged) */
	if (s->state == ST_SEL && strcmp(from.s, "INBOX") != 0 &&
	    strncmp(s->sel.dir, fdir, strlen(fdir)) == 0 &&
	    (s->sel.dir[strlen(fdir)] == '\0' ||
	    s->sel.dir[strlen(fdir)] == '.')) {
		imap_tagged(s, "NO", "[INUSE] Mailbox is selected; close it "
		    "first");
		goto out;
	}
	if (flist_load(s, &l) < 0)
		session_fatal(s, "folder list");
	for (i = 0; i < l.n; i++)
		if (strcmp(l.name[i], to.s) == 0)
			break;
	/* a name with children but no directory exists too (\Noselect) */
	if (strcmp(to.s, "INBOX") == 0 || folder_exists(tdir) || i < l.n) {
		imap_tagged(s, "NO", "[ALREADYEXISTS] Target mailbox exists");
		goto out;
	}
	if (strcmp(from.s, "INBOX") == 0) {
		r = rename_inbox(s, tdir);
	} else {
		if (to.len > from.len && strncmp(to.s, from.s, from.len) == 0 &&
		    to.s[from.len] == IMAP_SEP) {
			imap_tagged(s, "NO", "[CANNOT] Cannot move a mailbox "
			    "below itself");
			goto out;
		}
		/* the children first, then the mailbox itself */
		r = 1;
		for (i = 0; i < l.n && r > 0; i++) {
			char *a = NULL, *b = NULL;
			struct buf nn = BUF_INIT;

			n = strlen(l.name[i]);
			if (!l.real[i] || n <= from.len ||
			    strncmp(l.name[i], from.s, from.len) != 0 ||
			    l.name[i][from.len] != IMAP_SEP)
				continue;
			if (buf_copy(&nn, to.s, to.len) < 0 ||
			    buf_cats(&nn, l.name[i] + from.len) < 0)
				session_fatal(s, "memory");
			if (folder_path(s, l.name[i], n, &a) <= 0 ||
			    folder_path(s, nn.s, nn.len, &b) <= 0 ||
			    rename(a, b) < 0)
				r = -1;
			free(a);
			free(b);
			buf_free(&nn);
		}
		if (r > 0 && rename(fdir, tdir) < 0)
			r = -1;
	}
	if (r < 0) {
		log_warn("%s rename user=%s from=%s to=%s error=%s", s->sid,
		    buf_str(&s->login), from.s, to.s, strerror(errno));
		if (!s->tagged_sent)
			imap_tagged(s, "NO", "[SERVERBUG] Cannot rename the "
			    "mailbox");
		goto out;
	}
	log_info("%s rename user=%s from=%s to=%s", s->sid,
	    buf_str(&s->login), from.s, to.s);
out:
	flist_free(&l);
	free(fdir);
	free(tdir);
	buf_free(&from);
	buf_free(&to);
}

/* ---- STATUS ------------------------------------------------------------- */

struct counts {
	unsigned long messages, recent, unseen, deleted, uidnext, uidvalidity;
	unsigned long long size, highestmodseq;
};

/* The folder's HIGHESTMODSEQ after bringing its index up to date with
 * the scan mb (lib/store/mdindex.h). */
static int
count_modseq(const struct mbox *mb, unsigned long long *r,
    unsigned long *recent_r)
{
	struct mdx x;
	int stale, k = -1;

	if (mdx_open(&x, mb->dir) < 0)
		return -1;
	if (mdx_lock(&x) < 0)
		goto out;
	k = mdx_sync(&x, mb, &stale);
	if (mdx_unlock(&x) < 0)
		k = -1;
	*r = x.highest;
	*recent_r = x.recent;
out:
	mdx_close(&x);
	return k;
}

/* The counts from the folder's settled-folder cache when it is exactly
 * as the cache says (lib/store/mdcache.h): no directory is read.  1, or
 * 0 (no usable cache: scan). */
static int
count_cached(const char *dir, struct counts *c, int want_modseq)
{
	struct mdc_stamp st;
	struct mdc_map m;
	const struct mdc_head *h;

	if (mdc_stamp(dir, &st) <= 0 || mdc_map(dir, &st, &m) <= 0)
		return 0;
	h = m.h;
	if (h->n_unsized > 0) {
		/* SIZE would need a stat of those files: a scan does it */
		mdc_unmap(&m);
		return 0;
	}
	c->messages = (unsigned long)h->n;
	c->uidnext = (unsigned long)h->uidnext;
	c->uidvalidity = (unsigned long)h->validity;
	c->highestmodseq = h->highest;
	/* \Recent as the scan in count_dir gives it */
	c->recent = (unsigned long)(want_modseq ? h->n_above : h->n_new);
	c->unseen = (unsigned long)h->n_unseen;
	c->deleted = (unsigned long)h->n_deleted;
	c->size = h->bytes;
	mdc_unmap(&m);
	return 1;
}

static int
count_dir(const char *dir, struct counts *c, int want_modseq)
{
	struct mbox mb;
	unsigned long recent = 0;
	size_t i;
	int r = -1;

	memset(c, 0, sizeof *c);
	if (count_cached(dir, c, want_modseq) > 0)
		return 1;
	if (mbox_open(&mb, dir) < 0)
		return -1;
	if (mbox_scan(&mb, 0) < 0 || mbox_uids(&mb) < 0)
		goto out;
	c->messages = mb.n;
	c->uidnext = mb.uidnext;
	c->uidvalidity = mb.uidvalidity;
	if (want_modseq && count_modseq(&mb, &c->highestmodseq, &recent) < 0)
		goto out;
	for (i = 0; i < mb.n; i++) {
		const char *name = mbox_name(&mb, i), *f;
		size_t fl;
		unsigned long long sz;

		f = mdname_flags(name, strlen(name), &fl);
		/* \Recent: not yet given to a session (tern-imapindex's R),
		 * or without the index, still in new/ */
		if (want_modseq ? mb.msg[i].uid > recent : mb.msg[i].in_new)
			c->recent++;
		if (f == NULL || memchr(f, 'S', fl) == NULL)
			c->unseen++;
		if (f != NULL && memchr(f, 'T', fl) != NULL)
			c->deleted++;
		if (mbox_size(&mb, i, &sz) > 0)
			c->size += sz;
	}
	r = 1;
out:
	mbox_close(&mb);
	return r;
}

/* STATUS items (RFC 9051 6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ),
 * named in responses as here, whatever case the client used. */
static const char *const st_names[] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED",
	"SIZE", "HIGHESTMODSEQ",
};
#define ST_NITEMS (sizeof st_names / sizeof st_names[0])
#define ST_HIGHESTMODSEQ 7
#define ST_LIST_MAX 16

struct stitems {
	unsigned char it[ST_LIST_MAX];
	size_t n;
	int modseq;
};

/* "(" item *(SP item) ")": 1, 0 bad (p->err set). */
static int
status_parse(struct imap *s, struct imap_p *p, struct stitems *st)
{
	const char *a;
	size_t n, k;

	st->n = 0;
	st->modseq = 0;
	if (!imap_p_char(p, '('))
		return 0;
	do {
		if (imap_p_atom(p, &a, &n) != 1)
			return 0;
		for (k = 0; k < ST_NITEMS; k++)
			if (strlen(st_names[k]) == n &&
			    str_ncaseeq(a, st_names[k], n))
				break;
		if (k == ST_NITEMS)
			return imap_p_fail(p, "Unknown STATUS item");
		if (st->n == ST_LIST_MAX)
			return imap_p_fail(p, "Too many STATUS items");
		st->it[st->n++] = (unsigned char)k;
		if (k == ST_HIGHESTMODSEQ) {
			st->modseq = 1;
			s->condstore = 1;  /* RFC 7162 3.1 */
		}
		if (k == 1)
			st->modseq = 1;  /* RECENT: the index knows it */
	} while (imap_p_sp(p));
	return imap_p_char(p, ')');
}

/* "* STATUS name (...)" of the folder dir.  1, or -1 (it could not be
 * read; logged). */
static int
status_send(struct imap *s, const char *name, const char *dir,
    const struct stitems *st)
{
	struct buf out = BUF_INIT;
	struct counts c;
	size_t k;
	int ok = 1;

	if (count_dir(dir, &c, st->modseq) < 0) {
		log_warn("%s status user=%s mailbox=%s error=%s", s->sid,
		    buf_str(&s->login), name, strerror(errno));
		return -1;
	}
	ok &= buf_cats(&out, "STATUS ") > 0;
	ok &= put_mailbox(s, &out, name) > 0;
	ok &= buf_cats(&out, " (") > 0;
	for (k = 0; k < st->n; k++) {
		unsigned long long v = 0;

		switch (st->it[k]) {
		case 0: v = c.messages; break;
		case 1: v = c.recent; break;
		case 2: v = c.uidnext; break;
		case 3: v = c.uidvalidity; break;
		case 4: v = c.unseen; break;
		case 5: v = c.deleted; break;
		case 6: v = c.size; break;
		default: v = c.highestmodseq; break;
		}
		ok &= buf_catf(&out, "%s%s %llu", k ? " " : "",
		    st_names[st->it[k]], v) > 0;
	}
	ok &= buf_catc(&out, ')') > 0;
	if (!ok)
		session_fatal(s, "memory");
	imap_untagged(s, "%s", buf_str(&out));
	buf_free(&out);
	return 1;
}

void
cmd_status(struct imap *s, struct imap_p *p)
{
	struct buf name = BUF_INIT;
	struct stitems st;
	char *dir = NULL;

	if (!imap_p_sp(p) || arg_folder(s, p, &name, &dir) <= 0)
		goto out;
	if (!imap_p_sp(p) || status_parse(s, p, &st) != 1 || !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (!folder_exists(dir) && strcmp(name.s, "INBOX") != 0) {
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't exist");
		goto out;
	}
	if (status_send(s, name.s, dir, &st) < 0)
		imap_tagged(s, "NO", "[SERVERBUG] Cannot read the mailbox");
out:
	free(dir);
	buf_free(&name);
}

/* ---- LIST (RFC 9051 6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819) */

#define LIST_PATTERNS_MAX 64

enum {
	LS_SUBSCRIBED = 1, LS_REMOTE = 2, LS_RECURSIVE = 4, LS_SPECIAL = 8,
	LR_SUBSCRIBED = 16, LR_CHILDREN = 32, LR_SPECIAL = 64, LR_STATUS = 128,
};

struct listq {
	unsigned opts;
	struct buf pat[LIST_PATTERNS_MAX];
	size_t npat;
	struct stitems st;
};

/* "(" [atom *(SP atom)] ")" of names[] into bits; 1 or 0. */
static int
list_opts(struct imap *s, struct imap_p *p, int ret, unsigned *bits,
    struct stitems *st)
{
	static const struct {
		const char *name;
		unsigned bit;
		int ret;
	} opts[] = {
		{ "SUBSCRIBED", LS_SUBSCRIBED, 0 }, { "REMOTE", LS_REMOTE, 0 },
		{ "RECURSIVEMATCH", LS_RECURSIVE, 0 },
		{ "SPECIAL-USE", LS_SPECIAL, 0 },
		{ "SUBSCRIBED", LR_SUBSCRIBED, 1 },
		{ "CHILDREN", LR_CHILDREN, 1 },
		{ "SPECIAL-USE", LR_SPECIAL, 1 }, { "STATUS", LR_STATUS, 1 },
	};
	const char *a;
	size_t n, k, nopt = 0;
	int first = 1;

	if (!imap_p_char(p, '('))
		return 0;
	while (imap_p_peek(p) != ')') {
		if (!first && !imap_p_sp(p))
			return 0;
		first = 0;
		if (imap_p_atom(p, &a, &n) != 1)
			return 0;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (opts[k].ret == ret && strlen(opts[k].name) == n &&
			    str_ncaseeq(a, opts[k].name, n))
				break;
		if (k == sizeof opts / sizeof opts[0])
			return imap_p_fail(p, ret ? "Unknown LIST return "
			    "option" : "Unknown LIST selection option");
		/* a repeated option means it once; two STATUS lists would
		 * not agree */
		if ((*bits & opts[k].bit) && opts[k].bit == LR_STATUS)
			return imap_p_fail(p, "STATUS given twice");
		if (++nopt > 16)
			return imap_p_fail(p, "Too many LIST options");
		*bits |= opts[k].bit;
		if (opts[k].bit == LR_STATUS && (!imap_p_sp(p) ||
		    status_parse(s, p, st) != 1))
			return 0;
	}
	p->pos++;  /* the ")" */
	return 1;
}

/* The whole LIST command after "LIST": 1, 0 bad (p->err), 2 the
 * separator request was answered. */
static int
list_parse(struct imap *s, struct imap_p *p, struct listq *q)
{
	struct buf ref = BUF_INIT;
	size_t k;
	int r = 0;

	if (!imap_p_sp(p))
		goto out;
	if (imap_p_peek(p) == '(') {
		if (list_opts(s, p, 0, &q->opts, &q->st) != 1 ||
		    !imap_p_sp(p))
			goto out;
		/* RFC 5258 3: RECURSIVEMATCH needs another option that it
		 * can apply to */
		if ((q->opts & LS_RECURSIVE) &&
		    !(q->opts & (LS_SUBSCRIBED | LS_SPECIAL))) {
			r = imap_p_fail(p, "RECURSIVEMATCH alone");
			goto out;
		}
	}
	if (mailbox_arg(s, p, &ref, 0) != 1 || !imap_p_sp(p))
		goto out;
	if (imap_p_peek(p) == '(') {
		p->pos++;
		do {
			if (q->npat == LIST_PATTERNS_MAX) {
				r = imap_p_fail(p, "Too many LIST patterns");
				goto out;
			}
			if (mailbox_arg(s, p, &q->pat[q->npat++], 1) != 1)
				goto out;
		} while (imap_p_sp(p));
		if (!imap_p_char(p, ')'))
			goto out;
	} else {
		if (mailbox_arg(s, p, &q->pat[q->npat++], 1) != 1)
			goto out;
		if (q->pat[0].len == 0 && ref.len == 0 && q->opts == 0 &&
		    imap_p_end(p)) {
			/* RFC 9051 6.3.9: the separator and the root */
			imap_untagged(s, "LIST (\\Noselect) \"%c\" \"\"",
			    IMAP_SEP);
			r = 2;
			goto out;
		}
	}
	if (imap_p_sp(p)) {
		const char *a;
		size_t n;

		if (imap_p_atom(p, &a, &n) != 1 || n != 6 ||
		    !str_ncaseeq(a, "RETURN", 6) || !imap_p_sp(p) ||
		    list_opts(s, p, 1, &q->opts, &q->st) != 1)
			goto out;
	}
	if (!imap_p_end(p))
		goto out;
	if (q->npat == 1 && q->pat[0].len == 0 && ref.len == 0) {
		/* RFC 9051 6.3.9, RFC 5258 3: the separator and the root */
		imap_untagged(s, "LIST (\\Noselect) \"%c\" \"\"", IMAP_SEP);
		r = 2;
		goto out;
	}
	/* the reference is put before each pattern not starting at the
	 * root (RFC 9051 6.3.9) */
	for (k = 0; ref.len > 0 && k < q->npat; k++)
		if (q->pat[k].len == 0 || q->pat[k].s[0] != IMAP_SEP) {
			struct buf t = BUF_INIT;

			if (buf_cat(&t, ref.s, ref.len) < 0 ||
			    buf_cat(&t, q->pat[k].s, q->pat[k].len) < 0 ||
			    buf_copy(&q->pat[k], t.s, t.len) < 0)
				session_fatal(s, "memory");
			buf_free(&t);
		}
	r = 1;
out:
	buf_free(&ref);
	return r;
}

static int
list_matches(const struct listq *q, const char *name)
{
	size_t k;

	for (k = 0; k < q->npat; k++)
		if (imap_list_match(q->pat[k].s, q->pat[k].len, name,
		    strlen(name), IMAP_SEP, NULL))
			return 1;
	return 0;
}

static size_t
list_find(const struct flist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0)
			return i;
	return (size_t)-1;
}


/* The STATUS of a listed, selectable mailbox (RFC 5819: after its LIST
 * line; a folder that cannot be read gets none). */
static void
list_status(struct imap *s, const struct listq *q, const char *name)
{
	char *dir = NULL;

	if (!(q->opts & LR_STATUS))
		return;
	if (folder_path(s, name, strlen(name), &dir) > 0 &&
	    (folder_exists(dir) || strcmp(name, "INBOX") == 0))
		(void)status_send(s, name, dir, &q->st);
	free(dir);
}

void
cmd_list(struct imap *s, struct imap_p *p)
{
	struct listq q;
	struct flist all = { 0 }, subs = { 0 }, names = { 0 };
	size_t i, k;
	int r;

	memset(&q, 0, sizeof q);
	r = list_parse(s, p, &q);
	if (r == 0)
		imap_bad_args(s, p);
	if (r != 1)
		goto out;
	if (flist_load(s, &all) < 0)
		session_fatal(s, "folder list");
	if ((q.opts & (LS_SUBSCRIBED | LR_SUBSCRIBED)) &&
	    subs_load(s, &subs) < 0)
		session_fatal(s, "subscriptions");
	if (!(q.opts & LS_SUBSCRIBED)) {
		for (i = 0; i < all.n; i++) {
			unsigned attrs;

			if (!list_matches(&q, all.name[i]))
				continue;
			if ((q.opts & LS_SPECIAL) &&
			    special_use(all.name[i]) == NULL)
				continue;
			attrs = (all.real[i] ? 0 : LA_NOSELECT) |
			    (has_children(&all, i) ? LA_CHILDREN :
			    LA_NOCHILDREN);
			if ((q.opts & LR_SUBSCRIBED) &&
			    list_find(&subs, all.name[i]) != (size_t)-1)
				attrs |= LA_SUBSCRIBED;
			list_put(s, "LIST", all.name[i], attrs);
			if (all.real[i])
				list_status(s, &q, all.name[i]);
		}
		goto out;
	}
	/* SUBSCRIBED selection (RFC 5258 3.1): the subscribed names, those
	 * that do not exist too, and with RECURSIVEMATCH the parents of
	 * subscribed names, in one sorted list */
	for (i = 0; i < subs.n; i++) {
		const char *nm = subs.name[i], *sep;

		if (list_find(&names, nm) == (size_t)-1 &&
		    flist_add(&names, nm, strlen(nm), 1) < 0)
			session_fatal(s, "memory");
		for (sep = strchr(nm, IMAP_SEP); (q.opts & LS_RECURSIVE) &&
		    sep != NULL; sep = strchr(sep + 1, IMAP_SEP)) {
			char *par = strndup(nm, (size_t)(sep - nm));

			if (par == NULL)
				session_fatal(s, "memory");
			if (list_find(&names, par) == (size_t)-1 &&
			    flist_add(&names, par, strlen(par), 0) < 0)
				session_fatal(s, "memory");
			free(par);
		}
	}
	if (names.n > 0)
		qsort(names.name, names.n, sizeof *names.name, cmp_inbox_first);
	for (i = 0; i < names.n; i++) {
		const char *nm = names.name[i];
		size_t a = list_find(&all, nm);
		int sub = list_find(&subs, nm) != (size_t)-1;
		int below = 0;
		unsigned attrs = 0;

		if (!list_matches(&q, nm))
			continue;
		/* CHILDINFO: a subscribed name below this one that the
		 * patterns do not list themselves (RFC 5258 3.5) */
		if (q.opts & LS_RECURSIVE)
			for (k = 0; k < subs.n && !below; k++) {
				size_t n = strlen(nm);

				below = strncmp(subs.name[k], nm, n) == 0 &&
				    subs.name[k][n] == IMAP_SEP &&
				    !list_matches(&q, subs.name[k]);
			}
		if (!sub && !below)
			continue;
		if (sub)
			attrs |= LA_SUBSCRIBED;
		if (below)
			attrs |= LA_CHILDINFO;
		if (a == (size_t)-1)
			attrs |= LA_NONEXISTENT;
		else {
			if (!all.real[a])
				attrs |= LA_NOSELECT;
			attrs |= has_children_of(&all, nm) ? LA_CHILDREN :
			    LA_NOCHILDREN;
		}
		list_put(s, "LIST", nm, attrs);
		if (a != (size_t)-1 && all.real[a])
			list_status(s, &q, nm);
	}
out:
	for (k = 0; k < LIST_PATTERNS_MAX; k++)
		buf_free(&q.pat[k]);
	flist_free(&all);
	flist_free(&subs);
	flist_free(&names);
}
