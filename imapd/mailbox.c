/*
 * mailbox: the selected state of tern-imapd: the session's view of one
 * Maildir (RFC 9051 2.3.1: UIDs, sequence numbers, flags) and its sync
 * with the disk, which other sessions, tern-pop3d and tern-deliverd change
 * at the same time.
 *
 * The view is the messages in UID order (lib/store/mbox gives UIDs from
 * tern-uidlist under its lock).  It is refreshed only when inotify(7)
 * saw a change in new/ or cur/ (or a command of ours changed the disk),
 * so a command on a quiet mailbox reads no directory.  A refresh merges
 * the new scan into the view: new UIDs are appended (EXISTS, RECENT),
 * changed flags are told (FETCH FLAGS), and messages whose files went
 * are kept as "gone" until an EXPUNGE response may be sent (never during
 * FETCH, STORE or SEARCH: RFC 3501 7.4.1), so sequence numbers never
 * shift under the client.
 *
 * \Recent (RFC 3501 2.3.2): the session that moves a message from new/ to
 * cur/ is the one that sees it recent; EXAMINE moves nothing.
 * Keywords: Maildir flag letters a..z, named by the folder's file
 * tern-keywords ("N name" lines, letter 'a' + N), changed under the
 * uidlist lock so that two sessions never give one letter two names.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/str.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/mdcache.h"
#include "store/mdname.h"
#include "imapd.h"

#define KEYWORDS_FILE "tern-keywords"
#define KEYWORDS_MAX_BYTES 8192

static const struct {
	char letter;
	unsigned bit;
	const char *name;
} sysflags[] = {
	/* in ASCII order: the Maildir spec wants the letters sorted */
	{ 'D', IF_DRAFT, "\\Draft" },
	{ 'F', IF_FLAGGED, "\\Flagged" },
	{ 'P', IF_FORWARDED, "$Forwarded" },
	{ 'R', IF_ANSWERED, "\\Answered" },
	{ 'S', IF_SEEN, "\\Seen" },
	{ 'T', IF_DELETED, "\\Deleted" },
};
#define NSYSFLAGS (sizeof sysflags / sizeof sysflags[0])

/* ---- names and flags ------------------------------------------------------ */

static void
flags_of_name(const char *name, size_t len, unsigned *flags_r,
    unsigned long *kw_r)
{
	const char *f;
	size_t n, i, j;

	*flags_r = 0;
	*kw_r = 0;
	f = mdname_flags(name, len, &n);
	for (i = 0; f != NULL && i < n; i++) {
		if (f[i] >= 'a' && f[i] <= 'z') {
			*kw_r |= 1UL << (f[i] - 'a');
			continue;
		}
		for (j = 0; j < NSYSFLAGS; j++)
			if (f[i] == sysflags[j].letter)
				*flags_r |= sysflags[j].bit;
	}
}

void
sel_name_flags(const char *name, unsigned *flags_r, unsigned long *kw_r)
{
	flags_of_name(name, strlen(name), flags_r, kw_r);
}

void
sel_letters(const struct sel *sel, unsigned flags, unsigned long kw,
    char *out)
{
	size_t i, k = 0;

	(void)sel;
	for (i = 0; i < NSYSFLAGS; i++)
		if (flags & sysflags[i].bit)
			out[k++] = sysflags[i].letter;
	for (i = 0; i < IMAP_KEYWORDS; i++)
		if (kw & (1UL << i))
			out[k++] = (char)('a' + i);
	out[k] = '\0';
}

int
sel_flag_list(const struct sel *sel, size_t i, struct buf *out)
{
	const struct imsg *m = &sel->m[i];
	int first = 1;
	size_t j;

	if (buf_catc(out, '(') < 0)
		return -1;
	for (j = 0; j < NSYSFLAGS; j++) {
		if (!(m->flags & sysflags[j].bit))
			continue;
		if ((!first && buf_catc(out, ' ') < 0) ||
		    buf_cats(out, sysflags[j].name) < 0)
			return -1;
		first = 0;
	}
	for (j = 0; j < IMAP_KEYWORDS; j++) {
		if (!(m->kw & (1UL << j)) || j >= sel->kwt.n ||
		    sel->kwt.kw[j] == NULL)
			continue;
		if ((!first && buf_catc(out, ' ') < 0) ||
		    buf_cats(out, sel->kwt.kw[j]) < 0)
			return -1;
		first = 0;
	}
	if (m->recent) {
		if ((!first && buf_catc(out, ' ') < 0) ||
		    buf_cats(out, "\\Recent") < 0)
			return -1;
	}
	return buf_catc(out, ')');
}

int
sel_path(const struct sel *sel, size_t i, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s/%s", sel->dir,
	    sel->m[i].in_new ? "new" : "cur", sel->m[i].name);

	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

/* ---- keywords ------------------------------------------------------------- */

/* An IMAP keyword we can keep: an atom without the characters that
 * cannot be in a flag (RFC 9051 flag-keyword), bounded. */
static int
keyword_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > IMAP_KEYWORD_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

void
kw_free(struct kwtab *kt)
{
	size_t i;

	for (i = 0; i < IMAP_KEYWORDS; i++) {
		free(kt->kw[i]);
		kt->kw[i] = NULL;
	}
	kt->n = 0;
}

static unsigned long
kw_mask(const struct kwtab *kt)
{
	unsigned long m = 0;
	size_t i;

	for (i = 0; i < kt->n; i++)
		if (kt->kw[i] != NULL)
			m |= 1UL << i;
	return m;
}

int
keywords_load(struct kwtab *kt)
{
	char path[FS_PATH_MAX], *text = NULL, *line, *nl;
	size_t len;
	int r;

	kw_free(kt);
	if (fs_join(path, sizeof path, kt->dir, KEYWORDS_FILE) < 0)
		return -1;
	r = fs_read_file(path, KEYWORDS_MAX_BYTES, &text, &len);
	if (r <= 0)
		return r < 0 && errno != EFBIG ? -1 : 1;
	for (line = text; line < text + len; line = nl + 1) {
		unsigned long k;
		char *sp;

		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (nl == NULL)
			break;  /* a torn last line: ignored */
		sp = memchr(line, ' ', (size_t)(nl - line));
		if (sp == NULL ||
		    str_ulong(line, (size_t)(sp - line), IMAP_KEYWORDS - 1,
		    &k) != 1 || !keyword_ok(sp + 1, (size_t)(nl - sp - 1)) ||
		    kt->kw[k] != NULL)
			continue;
		kt->kw[k] = strndup(sp + 1, (size_t)(nl - sp - 1));
		if (kt->kw[k] == NULL) {
			free(text);
			return -1;
		}
		if (k + 1 > kt->n)
			kt->n = k + 1;
	}
	free(text);
	return 1;
}

static int
kw_find(const struct kwtab *kt, const char *name, size_t n,
    unsigned long *bit_r)
{
	size_t i;

	for (i = 0; i < kt->n; i++)
		if (kt->kw[i] != NULL && strlen(kt->kw[i]) == n &&
		    str_ncaseeq(kt->kw[i], name, n)) {
			*bit_r = 1UL << i;
			return 1;
		}
	return 0;
}

static int
kw_save(const struct kwtab *kt)
{
	char path[FS_PATH_MAX], tmp[FS_PATH_MAX];
	struct buf b = BUF_INIT;
	size_t i;
	int r;

	for (i = 0; i < kt->n; i++)
		if (kt->kw[i] != NULL && buf_catf(&b, "%zu %s\n", i,
		    kt->kw[i]) < 0) {
			buf_free(&b);
			return -1;
		}
	if (fs_join(path, sizeof path, kt->dir, KEYWORDS_FILE) < 0 ||
	    fs_join(tmp, sizeof tmp, kt->dir, KEYWORDS_FILE ".tmp") < 0) {
		buf_free(&b);
		return -1;
	}
	r = fs_atomic_write(path, tmp, b.s ? b.s : "", b.len, 0600);
	buf_free(&b);
	return r;
}

int
kw_bit(struct kwtab *kt, const char *name, size_t n, unsigned long *bit_r)
{
	char path[FS_PATH_MAX];
	size_t i;
	int fd, r, saved;

	if (kw_find(kt, name, n, bit_r))
		return 1;
	if (!keyword_ok(name, n))
		return 0;
	/* new: under the uidlist lock, read again, add, replace, so two
	 * sessions never give one letter two names */
	if (fs_join(path, sizeof path, kt->dir, MBOX_UIDLIST_LOCK) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	r = -1;
	if (flock(fd, LOCK_EX) < 0 || keywords_load(kt) < 0)
		goto out;
	r = 1;
	if (kw_find(kt, name, n, bit_r))
		goto out;
	for (i = 0; i < IMAP_KEYWORDS && kt->kw[i] != NULL; i++)
		;
	r = 0;
	if (i == IMAP_KEYWORDS)
		goto out;  /* all 26 letters are taken */
	r = -1;
	kt->kw[i] = strndup(name, n);
	if (kt->kw[i] == NULL)
		goto out;
	if (i + 1 > kt->n)
		kt->n = i + 1;
	if (kw_save(kt) < 0)
		goto out;
	*bit_r = 1UL << i;
	r = 1;
out:
	saved = errno;
	(void)close(fd);  /* and with it the lock */
	errno = saved;
	return r;
}

int
sel_parse_flags(struct kwtab *kt, struct imap_p *p, unsigned *flags_r,
    unsigned long *kw_r, int *recent_r)
{
	const char *f;
	size_t n, j;
	int paren, r;

	*flags_r = 0;
	*kw_r = 0;
	if (recent_r)
		*recent_r = 0;
	paren = imap_p_char(p, '(');
	if (paren && imap_p_char(p, ')'))
		return 1;
	do {
		if (imap_p_flag(p, &f, &n) != 1)
			return 0;
		if (f[0] == '\\') {
			if (n == 7 && str_ncaseeq(f, "\\Recent", 7)) {
				if (recent_r)
					*recent_r = 1;
				continue;
			}
			for (j = 0; j < NSYSFLAGS; j++)
				if (sysflags[j].name[0] == '\\' &&
				    strlen(sysflags[j].name) == n &&
				    str_ncaseeq(f, sysflags[j].name, n))
					break;
			if (j == NSYSFLAGS) {
				p->err = "Invalid system flag";
				return 0;
			}
			*flags_r |= sysflags[j].bit;
		} else if (n == 10 && str_ncaseeq(f, "$Forwarded", 10)) {
			*flags_r |= IF_FORWARDED;
		} else {
			unsigned long bit;

			r = kw_bit(kt, f, n, &bit);
			if (r < 0)
				return -1;
			if (r == 0) {
				p->err = "Cannot keep that keyword (bad name "
				    "or 26 keywords already)";
				return 0;
			}
			*kw_r |= bit;
		}
	} while (imap_p_sp(p));
	if (paren && !imap_p_char(p, ')'))
		return 0;
	return 1;
}

/* ---- the view ------------------------------------------------------------- */

static void
imsg_free(struct imsg *m)
{
	if (!m->name_shared)
		free(m->name);
	m->name = NULL;
	m->name_shared = 0;
}

/* Give m the file name name (malloc'd, now m's). */
static void
imsg_name(struct imsg *m, char *name)
{
	imsg_free(m);
	m->name = name;
}

static void ino_drop(struct sel *sel);

void
sel_free(struct imap *s)
{
	struct sel *sel = &s->sel;
	size_t i;

	sel_release_index(s);
	mdx_close(&sel->idx);
	imap_seqset_free(&sel->saved);
	if (sel->hdr.dir != NULL && mdh_flush(&sel->hdr) < 0)
		log_warn("%s header cache write user=%s dir=%s error=%s",
		    s->sid, buf_str(&s->login), sel->dir, strerror(errno));
	mdh_close(&sel->hdr);
	for (i = 0; i < sel->n; i++)
		imsg_free(&sel->m[i]);
	free(sel->m);
	mdc_unmap(&sel->cache);  /* after the names in it */
	kw_free(&sel->kwt);
	free(sel->dir);
	buf_free(&sel->name);
	ino_drop(sel);
	memset(sel, 0, sizeof *sel);
	sel->ino = -1;
	sel->wd[0] = sel->wd[1] = -1;
	s->state = ST_AUTH;
}

size_t
sel_find_uid(const struct sel *sel, unsigned long uid)
{
	size_t lo = 0, hi = sel->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->m[mid].uid == uid)
			return mid;
		if (sel->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (size_t)-1;
}

static int
view_grow(struct sel *sel)
{
	struct imsg *m;
	size_t cap;

	if (sel->n < sel->cap)
		return 1;
	cap = sel->cap ? sel->cap * 2 : 64;
	m = reallocarray(sel->m, cap, sizeof *m);
	if (m == NULL)
		return -1;
	sel->m = m;
	sel->cap = cap;
	return 1;
}

/* Move new/NAME of view message i to cur/NAME:2, (the Maildir spec's
 * taking of delivery); 1 moved by us, 0 someone else did (the name is
 * what their move made of it), -1 error. */
static int
take_new(struct sel *sel, size_t i)
{
	struct imsg *m = &sel->m[i];
	char from[FS_PATH_MAX], to[FS_PATH_MAX], *name;
	int r1, r2, r;

	r1 = snprintf(from, sizeof from, "%s/new/%s", sel->dir, m->name);
	r2 = snprintf(to, sizeof to, "%s/cur/%.*s:2,%s", sel->dir,
	    (int)m->baselen, m->name,
	    m->name[m->baselen] == ':' && m->name[m->baselen + 1] == '2' &&
	    m->name[m->baselen + 2] == ',' ? m->name + m->baselen + 3 : "");
	if (r1 < 0 || r2 < 0 || (size_t)r1 >= sizeof from ||
	    (size_t)r2 >= sizeof to) {
		errno = ENAMETOOLONG;
		return -1;
	}
	r = rename(from, to) == 0;
	if (!r && errno != ENOENT)
		return -1;
	name = strdup(strrchr(to, '/') + 1);
	if (name == NULL)
		return -1;
	imsg_name(m, name);
	m->in_new = 0;
	return r;
}

/* Drain the inotify queue: 1 something changed in the selected folder
 * (events of watches removed before are not), 0 nothing. */
static int
ino_changed(struct sel *sel)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	ssize_t n;

	if (sel->ino < 0)
		return 1;
	while ((n = read(sel->ino, ev, sizeof ev)) > 0) {
		size_t off = 0;

		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			const struct inotify_event *e =
			    (const struct inotify_event *)(void *)(ev + off);

			if ((e->wd == sel->wd[0] || e->wd == sel->wd[1]) &&
			    !(e->mask & IN_IGNORED))
				changed = 1;
			if (e->mask & IN_Q_OVERFLOW)
				changed = 1;
			off += sizeof *e + e->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return 1;
	return changed;
}

/* Leave the folder's watches (the fd stays the session's). */
static void
ino_drop(struct sel *sel)
{
	int k;

	if (sel->ino < 0)
		return;
	for (k = 0; k < 2; k++)
		if (sel->wd[k] >= 0)
			(void)inotify_rm_watch(sel->ino, sel->wd[k]);
	(void)ino_changed(sel);  /* what they queued goes */
}

static int
ino_setup(struct imap *s)
{
	struct sel *sel = &s->sel;
	char path[FS_PATH_MAX];
	const uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM |
	    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

	sel->wd[0] = sel->wd[1] = -1;
	if (s->ino < 0)
		s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino < 0)
		return -1;
	sel->ino = s->ino;
	if (fs_join(path, sizeof path, sel->dir, "new") < 0 ||
	    (sel->wd[0] = inotify_add_watch(sel->ino, path, mask)) < 0 ||
	    fs_join(path, sizeof path, sel->dir, "cur") < 0 ||
	    (sel->wd[1] = inotify_add_watch(sel->ino, path, mask)) < 0) {
		ino_drop(sel);
		sel->ino = -1;
		return -1;
	}
	return 1;
}

/* ---- MODSEQs (RFC 7162; lib/store/mdindex.h) ---------------------------- */

int
sel_hold_index(struct imap *s)
{
	struct sel *sel = &s->sel;

	if (sel->idx.depth > 0)
		return 1;
	if (mdx_lock(&sel->idx) < 0) {
		log_warn("%s index lock user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
		return -1;
	}
	return 1;
}

void
sel_release_index(struct imap *s)
{
	struct sel *sel = &s->sel;

	while (sel->idx.depth > 0)
		if (mdx_unlock(&sel->idx) < 0)
			log_warn("%s index write user=%s dir=%s error=%s",
			    s->sid, buf_str(&s->login), sel->dir,
			    strerror(errno));
}

int
sel_modseq_item(const struct imap *s, size_t i, struct buf *out)
{
	if (!s->condstore)
		return 1;
	return buf_catf(out, " MODSEQ (%llu)", s->sel.m[i].modseq);
}

static unsigned long long
index_modseq(const struct sel *sel, unsigned long uid)
{
	const struct mdx_ent *e = mdx_find(&sel->idx, uid);

	return e ? e->modseq : sel->idx.highest;
}

/* The index brought up to date with a scan; a scan older than the index
 * makes the next sync scan again. */
static int
index_sync(struct imap *s, const struct mbox *mb)
{
	struct sel *sel = &s->sel;
	int stale = 0, r;

	if (mdx_lock(&sel->idx) < 0)
		return -1;
	r = mdx_sync(&sel->idx, mb, &stale);
	if (mdx_unlock(&sel->idx) < 0)
		log_warn("%s index write user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
	if (stale)
		sel->dirty = 1;
	return r;
}

int
sel_tell_flags(struct imap *s, size_t i, int uid, int flags)
{
	const struct imsg *m = &s->sel.m[i];
	struct buf b = BUF_INIT;
	const char *sep = "";
	int r = -1;

	if (buf_catf(&b, "%zu FETCH (", i + 1) < 0)
		goto out;
	if (uid || s->qresync) {
		if (buf_catf(&b, "UID %lu", m->uid) < 0)
			goto out;
		sep = " ";
	}
	if (flags) {
		if (buf_catf(&b, "%sFLAGS ", sep) < 0 ||
		    sel_flag_list(&s->sel, i, &b) < 0)
			goto out;
		sep = " ";
	}
	if (s->condstore && buf_catf(&b, "%sMODSEQ (%llu)", sep,
	    m->modseq) < 0)
		goto out;
	if (buf_catc(&b, ')') < 0)
		goto out;
	imap_untagged(s, "%s", buf_str(&b));
	r = 1;
out:
	buf_free(&b);
	return r;
}

/* FLAGS and PERMANENTFLAGS with every keyword the folder has; again
 * whenever a keyword is new (RFC 9051 7.3.5: the FLAGS list changed). */
static void
sel_tell_keywords(struct imap *s)
{
	struct sel *sel = &s->sel;
	struct buf b = BUF_INIT;
	size_t i;

	if (buf_cats(&b, "\\Answered \\Flagged \\Deleted \\Seen \\Draft "
	    "$Forwarded") < 0)
		session_fatal(s, "memory");
	for (i = 0; i < sel->kwt.n; i++)
		if (sel->kwt.kw[i] != NULL &&
		    buf_catf(&b, " %s", sel->kwt.kw[i]) < 0)
			session_fatal(s, "memory");
	imap_untagged(s, "FLAGS (%s)", buf_str(&b));
	if (sel->readonly)
		imap_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox");
	else
		imap_untagged(s, "OK [PERMANENTFLAGS (%s \\*)] Flags permitted",
		    buf_str(&b));
	buf_free(&b);
	sel->kw_told = kw_mask(&sel->kwt);
}

/* Keyword letters another session named: read tern-keywords again, and
 * when tell, send the new FLAGS list before the FETCH that uses it. */
int
kw_known(struct imap *s, unsigned long kw, int tell)
{
	struct sel *sel = &s->sel;
	unsigned long unknown = kw & ~kw_mask(&sel->kwt) & ~sel->kw_missing;

	/* tern-keywords is read again once for letters not looked up yet
	 * (a letter it never names, e.g. from another server's Maildir,
	 * does not make it read once per message) */
	if (unknown) {
		if (keywords_load(&sel->kwt) < 0)
			return -1;
		sel->kw_missing |= kw & ~kw_mask(&sel->kwt);
	}
	if (tell && (kw_mask(&sel->kwt) & ~sel->kw_told))
		sel_tell_keywords(s);
	return 1;
}

/* Rescan the Maildir and merge it into the view (see the top); when
 * tell is 1 the client hears of flag changes now.  1, 0 UIDVALIDITY
 * changed (the view is useless), -1 error. */
static int
rescan(struct imap *s, int tell)
{
	struct sel *sel = &s->sel;
	struct mbox mb;
	size_t i, j, n0 = sel->n;
	int r = -1, k;

	sel->kw_missing = 0;  /* another session may have named them */
	if (mbox_open(&mb, sel->dir) < 0)
		return -1;
	if (mbox_scan(&mb, 0) < 0 || mbox_uids(&mb) < 0)
		goto out;
	if (sel->uidvalidity != 0 && mb.uidvalidity != sel->uidvalidity) {
		r = 0;
		goto out;
	}
	sel->uidvalidity = mb.uidvalidity;
	sel->uidnext = mb.uidnext;
	if (index_sync(s, &mb) < 0)
		goto out;
	/* both are in UID order: one merge walk */
	for (i = 0, j = 0; i < n0 || j < mb.n;) {
		struct imsg *m = i < n0 ? &sel->m[i] : NULL;
		const struct mbox_msg *d = j < mb.n ? &mb.msg[j] : NULL;
		const char *name = d ? mbox_name(&mb, j) : NULL;

		if (m != NULL && (d == NULL || m->uid < d->uid)) {
			m->gone = 1;
			i++;
			continue;
		}
		if (m != NULL && m->uid == d->uid) {
			unsigned fl;
			unsigned long kw;

			if (strcmp(m->name, name) != 0) {
				char *nn = strdup(name);

				if (nn == NULL)
					goto out;
				imsg_name(m, nn);
			}
			m->in_new = (unsigned char)d->in_new;
			m->gone = 0;
			m->modseq = index_modseq(sel, m->uid);
			flags_of_name(name, d->len, &fl, &kw);
			if (kw_known(s, kw, tell) < 0)
				goto out;
			if ((fl != m->flags || kw != m->kw) && tell) {
				m->flags = fl;
				m->kw = kw;
				if (sel_tell_flags(s, i, 0, 1) < 0)
					goto out;
			}
			m->flags = fl;
			m->kw = kw;
			i++;
			j++;
			continue;
		}
		/* d only: new when above everything we have */
		if (sel->n > 0 && d->uid <= sel->m[sel->n - 1].uid) {
			j++;
			continue;
		}
		if (view_grow(sel) < 0)
			goto out;
		m = &sel->m[sel->n];
		memset(m, 0, sizeof *m);
		m->uid = d->uid;
		m->name = strdup(name);
		if (m->name == NULL)
			goto out;
		m->baselen = d->baselen;
		m->in_new = (unsigned char)d->in_new;
		m->size = d->size;
		m->modseq = index_modseq(sel, m->uid);
		flags_of_name(name, d->len, &m->flags, &m->kw);
		sel->n++;
		if (kw_known(s, m->kw, tell) < 0)
			goto out;
		if (m->in_new && !sel->readonly) {
			int t = take_new(sel, sel->n - 1);

			if (t < 0)
				log_warn("%s new to cur user=%s error=%s",
				    s->sid, buf_str(&s->login),
				    strerror(errno));
			sel->m[sel->n - 1].recent = t == 1;
		} else if (m->in_new) {
			/* EXAMINE: nobody has taken it, so it is recent for
			 * whoever looks first (RFC 3501 2.3.2 allows it) */
			m->recent = 1;
		}

		j++;
	}
	/* \Recent (RFC 3501 2.3.2): a message new to the view that no
	 * session has had as \Recent yet; a read-write session takes it
	 * (under the index lock, so only one does), EXAMINE only looks */
	if (sel->n > n0 && sel->m[sel->n - 1].uid > sel->idx.recent) {
		if (!sel->readonly && mdx_lock(&sel->idx) < 0)
			goto out;
		for (i = n0; i < sel->n; i++)
			if (sel->m[i].uid > sel->idx.recent)
				sel->m[i].recent = 1;
		if (!sel->readonly) {
			k = mdx_claim_recent(&sel->idx, sel->m[sel->n - 1].uid);
			if (mdx_unlock(&sel->idx) < 0 || k < 0)
				log_warn("%s index write user=%s dir=%s "
				    "error=%s", s->sid, buf_str(&s->login),
				    sel->dir, strerror(errno));
		}
	}
	r = 1;
out:
	mbox_close(&mb);
	return r;
}

/* RFC 7162 3.2.10: with QRESYNC, "* VANISHED uids" replaces EXPUNGE. */
static void
tell_vanished(struct imap *s)
{
	struct sel *sel = &s->sel;
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < sel->n; i++)
		if (sel->m[i].gone && imap_seqset_add(&set, sel->m[i].uid,
		    sel->m[i].uid) < 0)
			session_fatal(s, "memory");
	if (set.n > 0) {
		imap_seqset_resolve(&set, sel->m[sel->n - 1].uid);
		if (imap_seqset_format(&set, &b) < 0)
			session_fatal(s, "memory");
		imap_untagged(s, "VANISHED %s", buf_str(&b));
	}
	buf_free(&b);
	imap_seqset_free(&set);
}

void
sel_sync(struct imap *s, int expunges)
{
	struct sel *sel = &s->sel;
	size_t i, k, recent = 0;
	int r;

	if (s->state != ST_SEL)
		return;
	sel_release_index(s);
	if (mdh_flush(&sel->hdr) < 0)
		log_warn("%s header cache write user=%s dir=%s error=%s",
		    s->sid, buf_str(&s->login), sel->dir, strerror(errno));
	if (ino_changed(sel))
		sel->dirty = 1;
	if (sel->lazy && !sel->dirty)
		return;  /* nothing changed since the SELECT */
	sel_view(s);
	if (sel->dirty) {
		sel->dirty = 0;
		r = rescan(s, 1);
		if (r == 0) {
			imap_untagged(s, "BYE [UIDVALIDITY] The mailbox was "
			    "reset; select it again");
			log_warn("%s uidvalidity changed user=%s dir=%s",
			    s->sid, buf_str(&s->login), sel->dir);
			session_exit(s, 0);
		}
		if (r < 0 && errno == ENOENT && access(sel->dir, F_OK) < 0 &&
		    errno == ENOENT) {
			/* another session deleted the folder: as Dovecot
			 * does, the session ends (its view means nothing) */
			log_info("%s selected mailbox deleted user=%s dir=%s",
			    s->sid, buf_str(&s->login), sel->dir);
			imap_untagged(s, "BYE [NONEXISTENT] The selected "
			    "mailbox was deleted by another session");
			imap_tagged(s, "NO", "[NONEXISTENT] The selected "
			    "mailbox was deleted");
			session_exit(s, 0);
		}
		if (r < 0)
			log_warn("%s sync user=%s dir=%s error=%s", s->sid,
			    buf_str(&s->login), sel->dir, strerror(errno));
	}
	if (kw_mask(&sel->kwt) & ~sel->kw_told)
		sel_tell_keywords(s);
	if (expunges && s->qresync)
		tell_vanished(s);
	if (expunges) {
		/* highest first: each response shifts what follows it */
		for (i = sel->n; i-- > 0;) {
			if (!sel->m[i].gone)
				continue;
			if (!s->qresync)
				imap_untagged(s, "%zu EXPUNGE", i + 1);
			if (sel->exists_sent > 0)
				sel->exists_sent--;
			imsg_free(&sel->m[i]);
		}
		for (i = 0, k = 0; i < sel->n; i++)
			if (sel->m[i].name != NULL)
				sel->m[k++] = sel->m[i];
		sel->n = k;
	}
	if (sel->n != sel->exists_sent) {
		for (i = 0; i < sel->n; i++)
			recent += sel->m[i].recent;
		imap_untagged(s, "%zu EXISTS", sel->n);
		if (!s->rev2)
			imap_untagged(s, "%zu RECENT", recent);
		sel->exists_sent = sel->n;
	}
}

int
sel_relocate(struct imap *s, size_t i)
{
	struct sel *sel = &s->sel;
	struct imsg *m = &sel->m[i];
	struct buf found = BUF_INIT;
	int in_new, r;

	if (m->gone)
		return 0;
	r = mbox_find_base(sel->dir, m->name, m->baselen, &found, &in_new);
	if (r > 0) {
		imsg_name(m, found.s);  /* NUL-terminated: ours now */
		m->in_new = (unsigned char)in_new;
		return 1;
	}
	buf_free(&found);
	if (r == 0)
		sel->dirty = 1;  /* expunged: the next sync tells */
	return r;
}

/* Run op on the path of message i; when the file is not there (another
 * program renamed it for its flags) find it again by its base name and
 * run op once more.  op: >= 0 done (its value is returned), -1 with
 * errno.  -1/ENOENT when the message is gone. */
static int
sel_at(struct imap *s, size_t i, int (*op)(struct imap *, size_t,
    const char *, void *), void *arg)
{
	char path[FS_PATH_MAX];
	int tries, r;

	for (tries = 0; tries < 2; tries++) {
		if (s->sel.m[i].gone)
			break;
		if (sel_path(&s->sel, i, path, sizeof path) < 0)
			return -1;
		r = op(s, i, path, arg);
		if (r >= 0 || errno != ENOENT)
			return r;
		r = sel_relocate(s, i);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	errno = ENOENT;
	return -1;
}

static int
op_open(struct imap *s, size_t i, const char *path, void *arg)
{
	(void)s;
	(void)i;
	(void)arg;
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static int
op_stat(struct imap *s, size_t i, const char *path, void *arg)
{
	(void)s;
	(void)i;
	return stat(path, arg) == 0 ? 1 : -1;
}

/* unlink; with *deleted_only, only while the name still has \Deleted
 * (another session may have taken it away): 2 kept */
static int
op_unlink(struct imap *s, size_t i, const char *path, void *arg)
{
	unsigned fl;
	unsigned long kw;

	if (*(int *)arg) {
		sel_name_flags(s->sel.m[i].name, &fl, &kw);
		if (!(fl & IF_DELETED))
			return 2;
	}
	if (unlink(path) < 0)
		return -1;
	s->sel.m[i].gone = 1;
	return 1;
}

int
sel_open(struct imap *s, size_t i)
{
	return sel_at(s, i, op_open, NULL);
}

int
sel_stat(struct imap *s, size_t i, struct stat *st)
{
	return sel_at(s, i, op_stat, st);
}

int
sel_unlink(struct imap *s, size_t i, int deleted_only)
{
	int r;

	if (s->sel.m[i].gone)
		return 0;
	r = sel_at(s, i, op_unlink, &deleted_only);
	return r < 0 && errno == ENOENT ? 0 : r;
}

int
sel_set_flags(struct imap *s, size_t i, int op, unsigned flags,
    unsigned long kw, int *changed_r)
{
	struct sel *sel = &s->sel;
	struct imsg *m = &sel->m[i];
	char from[FS_PATH_MAX], to[FS_PATH_MAX], letters[64], *name;
	unsigned fl;
	unsigned long k;
	int n, tries, r;

	*changed_r = 0;
	if (sel_hold_index(s) < 0)
		return -1;
	for (tries = 0; tries < 3; tries++) {
		if (m->gone)
			return 0;
		/* +/- apply to the flags of the file as it is named now, so
		 * that a change another session made meanwhile stays */
		sel_name_flags(m->name, &fl, &k);
		/* letters another session named: known (and announced)
		 * before the FETCH that shows them */
		if (kw_known(s, k, 1) < 0)
			return -1;
		if (op == '+') {
			fl |= flags;
			k |= kw;
		} else if (op == '-') {
			fl &= ~flags;
			k &= ~kw;
		} else {
			fl = flags;
			k = kw;
		}
		sel_letters(sel, fl, k, letters);
		if (sel_path(sel, i, from, sizeof from) < 0)
			return -1;
		n = snprintf(to, sizeof to, "%s/cur/%.*s:2,%s", sel->dir,
		    (int)m->baselen, m->name, letters);
		if (n < 0 || (size_t)n >= sizeof to) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (strcmp(from, to) == 0 || rename(from, to) == 0) {
			if (strcmp(from, to) == 0 && fl == m->flags &&
			    k == m->kw)
				return 1;
			name = strdup(strrchr(to, '/') + 1);
			if (name == NULL)
				return -1;
			imsg_name(m, name);
			m->in_new = 0;
			m->flags = fl;
			m->kw = k;
			*changed_r = 1;
			if (mdx_set(&sel->idx, m->uid, name, strlen(name), 0,
			    &m->modseq) < 0)
				return -1;
			return 1;
		}
		if (errno != ENOENT)
			return -1;
		/* renamed by another program meanwhile: find it again */
		r = sel_relocate(s, i);
		if (r <= 0)
			return r;
	}
	return 0;
}

int
seqset_push(struct imap_seqset *set, unsigned long v)
{
	if (set->n > 0 && set->r[set->n - 1].hi + 1 == v) {
		set->r[set->n - 1].hi = v;
		return 1;
	}
	return imap_seqset_add(set, v, v);
}

int
sel_saved(struct imap *s, struct imap_seqset *set, int uid)
{
	struct sel *sel = &s->sel;
	size_t i, k;

	if (!set->saved)
		return 1;
	imap_seqset_reset(set);
	if (uid) {
		for (k = 0; k < sel->saved.n; k++)
			if (imap_seqset_add(set, sel->saved.r[k].lo,
			    sel->saved.r[k].hi) < 0)
				return -1;
		return 1;
	}
	for (i = 0; i < sel->n; i++)
		if (!sel->m[i].gone &&
		    imap_seqset_has(&sel->saved, sel->m[i].uid) &&
		    seqset_push(set, (unsigned long)i + 1) < 0)
			return -1;
	return 1;
}

int
sel_each(struct imap *s, struct imap_seqset *set, int uid,
    int (*fn)(struct imap *, size_t, void *), void *arg)
{
	struct sel *sel = &s->sel;
	size_t k, i;

	if (sel_saved(s, set, uid) < 0)
		return -1;

	if (uid) {
		imap_seqset_resolve(set, sel->n ? sel->m[sel->n - 1].uid : 0);
		for (i = 0; i < sel->n; i++)
			if (imap_seqset_has(set, sel->m[i].uid) &&
			    fn(s, i, arg) < 0)
				return -1;
		return 1;
	}
	imap_seqset_resolve(set, sel->n);
	for (k = 0; k < set->n; k++)
		if (set->r[k].lo == 0 || set->r[k].hi > sel->n)
			return 0;  /* RFC 9051 6.4.4: an invalid number */
	for (k = 0; k < set->n; k++)
		for (i = set->r[k].lo - 1; i < set->r[k].hi; i++)
			if (fn(s, i, arg) < 0)
				return -1;
	return 1;
}

/* ---- SELECT, EXAMINE, CHECK, CLOSE, UNSELECT ----------------------------- */

static void
select_fail(struct imap *s, const char *what)
{
	log_warn("%s select user=%s mailbox=%s error=%s: %s", s->sid,
	    buf_str(&s->login), buf_str(&s->sel.name), what,
	    strerror(errno));
	sel_free(s);
	imap_tagged(s, "NO", "[SERVERBUG] Cannot open the mailbox");
}

/* The SELECT parameters of RFC 7162 (select-param, 7): CONDSTORE, and
 * QRESYNC (uidvalidity modseq [known-uids] [(seqs uids)]). */
struct qresync {
	int on;
	unsigned long uidvalidity;
	unsigned long long modseq;
	struct imap_seqset known;   /* n == 0: all */
};

static int
select_params(struct imap *s, struct imap_p *p, struct qresync *q)
{
	struct imap_seqset seqs = IMAP_SEQSET_INIT, uids = IMAP_SEQSET_INIT;
	const char *a;
	size_t n;
	int ok = 0;

	if (!imap_p_sp(p))
		return 1;
	if (!imap_p_char(p, '('))
		return 0;
	do {
		if (imap_p_atom(p, &a, &n) != 1)
			goto out;
		if (n == 9 && str_ncaseeq(a, "CONDSTORE", 9)) {
			s->condstore = 1;
			continue;
		}
		if (!(n == 7 && str_ncaseeq(a, "QRESYNC", 7))) {
			p->err = "Unknown SELECT parameter";
			goto out;
		}
		if (!s->qresync) {
			/* RFC 7162 3.2.5: BAD unless QRESYNC was enabled */
			p->err = "QRESYNC is not enabled";
			goto out;
		}
		if (q->on || !imap_p_sp(p) || !imap_p_char(p, '(') ||
		    imap_p_nznumber(p, &q->uidvalidity) != 1 ||
		    !imap_p_sp(p) || imap_p_number64(p, &q->modseq) != 1)
			goto out;
		q->on = 1;
		if (imap_p_sp(p) && imap_p_peek(p) != '(' &&
		    imap_p_seqset(p, &q->known) != 1)
			goto out;
		if ((imap_p_peek(p) == '(' || imap_p_sp(p)) &&
		    (!imap_p_char(p, '(') || imap_p_seqset(p, &seqs) != 1 ||
		    !imap_p_sp(p) || imap_p_seqset(p, &uids) != 1 ||
		    !imap_p_char(p, ')')))
			goto out;  /* seq-match-data: parsed, not needed */
		if (!imap_p_char(p, ')'))
			goto out;
	} while (imap_p_sp(p));
	ok = imap_p_char(p, ')');
out:
	imap_seqset_free(&seqs);
	imap_seqset_free(&uids);
	return ok;
}

/* RFC 7162 3.2.5.1: what changed since the client's modseq.  Expunges
 * come from the tombstones when they go back far enough, else every UID
 * of the client's range that we do not have (the RFC allows that). */
void
sel_vanished_since(struct imap *s, unsigned long long modseq,
    struct imap_seqset *known)
{
	struct sel *sel = &s->sel;
	struct imap_seqset v = IMAP_SEQSET_INIT, none = IMAP_SEQSET_INIT;
	struct buf b = BUF_INIT;
	unsigned long top = sel->uidnext > 1 ? sel->uidnext - 1 : 0;
	size_t i, k;
	int r = 1;

	if (known == NULL)
		known = &none;  /* empty: every UID */
	if (known->n > 0)
		imap_seqset_resolve(known, top);
	/* a SELECT from the cache did not read the index: it is read now,
	 * and the lock let go at once (on failure: the UIDs we lack) */
	if (sel->idx.uidvalidity == 0 && sel->idx.depth == 0) {
		if (mdx_lock(&sel->idx) < 0 || mdx_unlock(&sel->idx) < 0)
			log_warn("%s index read user=%s dir=%s error=%s",
			    s->sid, buf_str(&s->login), sel->dir,
			    strerror(errno));
	}
	if (sel->idx.uidvalidity != 0 && mdx_knows_since(&sel->idx, modseq)) {
		for (k = 0; k < sel->idx.nx && r > 0; k++) {
			const struct mdx_gone *g = &sel->idx.x[k];

			if (g->modseq > modseq && (known->n == 0 ||
			    imap_seqset_has(known, g->uid)))
				r = imap_seqset_add(&v, g->uid, g->uid);
		}
	} else {
		unsigned long lo = 1;

		for (i = 0; i <= sel->n && r > 0; i++) {
			unsigned long hi = i < sel->n ? sel->m[i].uid : top + 1;

			if (hi > lo)
				r = imap_seqset_add(&v, lo, hi - 1);
			lo = hi + 1;
		}
		if (known->n > 0 && r > 0) {
			/* only the client's UIDs: the two sorted range lists
			 * intersected */
			struct imap_seqset w = IMAP_SEQSET_INIT;
			size_t x = 0, y = 0;

			imap_seqset_resolve(&v, top);
			while (x < v.n && y < known->n && r > 0) {
				unsigned long l = v.r[x].lo > known->r[y].lo ?
				    v.r[x].lo : known->r[y].lo;
				unsigned long h = v.r[x].hi < known->r[y].hi ?
				    v.r[x].hi : known->r[y].hi;

				if (l <= h)
					r = imap_seqset_add(&w, l, h);
				if (v.r[x].hi < known->r[y].hi)
					x++;
				else
					y++;
			}
			imap_seqset_free(&v);
			v = w;
		}
	}
	if (r < 0)
		session_fatal(s, "memory");
	if (v.n > 0) {
		imap_seqset_resolve(&v, top);
		if (imap_seqset_format(&v, &b) < 0)
			session_fatal(s, "memory");
		imap_untagged(s, "VANISHED (EARLIER) %s", buf_str(&b));
	}
	buf_free(&b);
	imap_seqset_free(&v);
}

static void
qresync_report(struct imap *s, struct qresync *q)
{
	struct sel *sel = &s->sel;
	size_t i;

	sel_vanished_since(s, q->modseq, q->known.n > 0 ? &q->known : NULL);
	for (i = 0; i < sel->n; i++) {
		if (sel->m[i].modseq <= q->modseq || (q->known.n > 0 &&
		    !imap_seqset_has(&q->known, sel->m[i].uid)))
			continue;
		if (sel_tell_flags(s, i, 0, 1) < 0)
			session_fatal(s, "memory");
	}
}

/* ---- the settled-folder cache (lib/store/mdcache.h) ------------------- */

/* SELECT of a folder as it was when its cache was written (pre: the
 * stamp taken before anything else was read, after the inotify watch):
 * the answer comes from the cache's header, and the view is built from
 * its records by the next command (sel_view).  A read-write SELECT uses
 * it only when there is nothing to take from new/ and nothing \Recent
 * to claim (a scan does both).  1 done, 0 scan instead, -1 error. */
static int
select_cached(struct imap *s, const struct mdc_stamp *pre)
{
	struct sel *sel = &s->sel;
	const struct mdc_head *h;
	int r;

	r = mdc_map(sel->dir, pre, &sel->cache);
	if (r < 0)
		log_warn("%s cache read user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
	if (r <= 0)
		return 0;  /* a cache that cannot be read: scan */
	h = sel->cache.h;
	if (!sel->readonly && (h->n_new > 0 || h->n_above > 0)) {
		mdc_unmap(&sel->cache);
		return 0;
	}
	sel->uidvalidity = (unsigned long)h->validity;
	sel->uidnext = (unsigned long)h->uidnext;
	/* the index is as it was when the cache was written: what it said
	 * then holds; it is read when a command needs it (mdx_lock) */
	sel->idx.highest = h->highest;
	sel->idx.recent = (unsigned long)h->recent;
	sel->lazy = 1;
	if (h->kw != 0 && kw_known(s, (unsigned long)h->kw, 0) < 0)
		return -1;
	return 1;
}

/* Build the view from the cache's records: 1, or 0 when a record does
 * not hold up (the file is removed, the view is empty). */
static int
view_build(struct imap *s)
{
	struct sel *sel = &s->sel;
	const struct mdc_head *h;
	unsigned long prev = 0;
	size_t i, n;

	sel->lazy = 0;
	h = sel->cache.h;
	n = (size_t)h->n;
	if (sel->cap < n) {
		struct imsg *v = reallocarray(sel->m, n, sizeof *v);

		if (v == NULL)
			session_fatal(s, "memory");
		sel->m = v;
		sel->cap = n;
	}
	/* the names stay in the mapping: nothing is copied or parsed */
	for (i = 0; i < n; i++) {
		const struct mdc_rec *r = &sel->cache.r[i];
		const char *name = mdc_name(&sel->cache, i, prev);
		struct imsg *m = &sel->m[i];

		if (name == NULL) {
			char path[FS_PATH_MAX];

			log_warn("%s cache malformed user=%s dir=%s record=%zu",
			    s->sid, buf_str(&s->login), sel->dir, i);
			if (fs_join(path, sizeof path, sel->dir, MDC_FILE) > 0 &&
			    unlink(path) < 0 && errno != ENOENT)
				log_warn("%s cache unlink user=%s dir=%s "
				    "error=%s", s->sid, buf_str(&s->login),
				    sel->dir, strerror(errno));
			sel->n = 0;
			return 0;
		}
		memset(m, 0, sizeof *m);
		m->uid = r->uid;
		m->name = (char *)(uintptr_t)name;  /* never written to */
		m->name_shared = 1;
		m->baselen = r->baselen;
		m->in_new = r->in_new != 0;
		m->size = r->size;
		m->modseq = r->modseq;
		m->flags = r->flags;
		m->kw = r->kw;
		/* \Recent as rescan gives it: EXAMINE only, see select_cached */
		m->recent = m->in_new || r->uid > h->recent;
		prev = r->uid;
		sel->n = i + 1;
	}
	return 1;
}

void
sel_view(struct imap *s)
{
	if (!s->sel.lazy || view_build(s))
		return;
	/* the client was told EXISTS already: it must select again, and
	 * then a scan answers */
	imap_untagged(s, "BYE [UNAVAILABLE] Mailbox cache damaged; select "
	    "the mailbox again");
	session_exit(s, 1);
}

/* After a scan that found the folder as the stamp pre says (nothing
 * changed while it ran) and settled: save the view for the next SELECT,
 * with each message's MODSEQ as the index has it under its lock (the
 * index's stamp is taken there too, so that the cache holds exactly as
 * long as nobody wrote the index).  Failure costs only the next scan. */
static void
cache_save(struct imap *s, const struct mdc_stamp *pre)
{
	struct sel *sel = &s->sel;
	struct mdc_stamp post;
	struct mdc_w w = MDC_W_INIT;
	struct stat sb;
	unsigned long validity, next;
	size_t i, j = 0;
	int ok = 1;

	if (sel->dirty)
		return;  /* (pre settled: cmd_select saw to it) */
	if (mdx_lock(&sel->idx) < 0) {
		log_warn("%s index lock user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
		return;
	}
	/* new/ and cur/ as before the scan; the uidlist the one that gives
	 * the view's UIDs (the same UIDVALIDITY and UIDNEXT: nothing was
	 * numbered since), stamped from the very file read */
	if (mdc_stamp(sel->dir, &post) <= 0 || !mdc_same_dirs(pre, &post) ||
	    sel->idx.uidvalidity != sel->uidvalidity ||
	    mbox_uidlist_head(sel->dir, &validity, &next, &sb) <= 0 ||
	    validity != sel->uidvalidity || next != sel->uidnext)
		ok = 0;
	else
		mdc_stamp_set(&post, MDC_UIDLIST, &sb);
	for (i = 0; ok && i < sel->n; i++) {
		const struct imsg *m = &sel->m[i];
		const struct mdx_ent *x = NULL;
		size_t len = strlen(m->name);
		unsigned long long size;
		struct mdc_rec r;

		/* both in UID order: one walk, no lookups */
		while (j < sel->idx.n && sel->idx.e[j].uid < m->uid)
			j++;
		if (j < sel->idx.n && sel->idx.e[j].uid == m->uid)
			x = &sel->idx.e[j];
		if (x == NULL || x->in_new != m->in_new ||
		    x->letters != mdx_letters_of(m->name, len) ||
		    m->uid > MBOX_UID_MAX) {
			ok = 0;  /* another session changed it meanwhile */
			break;
		}
		memset(&r, 0, sizeof r);
		r.uid = (uint32_t)m->uid;
		/* a size the name tells (",W="): STATUS SIZE needs no stat */
		size = m->size;
		if (size == MBOX_SIZE_UNKNOWN &&
		    !mdname_field(m->name, m->baselen, 'W', &size))
			size = MBOX_SIZE_UNKNOWN;
		r.size = size;
		r.modseq = x->modseq;
		r.kw = (uint32_t)m->kw;
		r.flags = (uint16_t)m->flags;
		r.in_new = m->in_new;
		if (mdc_add(&w, &r, m->name, len) < 0) {
			ok = errno == ENAMETOOLONG ? 0 : -1;
			break;
		}
		if (m->in_new)
			w.h.n_new++;
		if (m->uid > sel->idx.recent)
			w.h.n_above++;
		if (m->in_new || m->uid > sel->idx.recent)
			w.h.n_recent++;
		if (!(m->flags & IF_SEEN)) {
			w.h.n_unseen++;
			if (w.h.first_unseen == 0)
				w.h.first_unseen = i + 1;
		}
		if (m->flags & IF_DELETED)
			w.h.n_deleted++;
		w.h.kw |= m->kw;
		if (r.size != MBOX_SIZE_UNKNOWN)
			w.h.bytes += r.size;
		else
			w.h.n_unsized++;
	}
	w.h.validity = sel->uidvalidity;
	w.h.uidnext = sel->uidnext;
	w.h.highest = sel->idx.highest;
	w.h.recent = sel->idx.recent;
	/* the file is written after the lock is let go: an index written
	 * meanwhile has another stamp, so the cache is stale, not wrong */
	if (mdx_unlock(&sel->idx) < 0)
		log_warn("%s index write user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
	if (ok > 0 && mdc_save(sel->dir, &post, &w) < 0)
		ok = -1;
	if (ok < 0)
		log_warn("%s cache write user=%s dir=%s error=%s", s->sid,
		    buf_str(&s->login), sel->dir, strerror(errno));
	mdc_w_free(&w);
}

void
sel_idle(struct imap *s)
{
	struct sel *sel = &s->sel;

	if (s->state != ST_SEL || !sel->save)
		return;
	sel->save = 0;
	cache_save(s, &sel->save_pre);
}

void
cmd_select(struct imap *s, struct imap_p *p)
{
	struct sel *sel = &s->sel;
	struct buf name = BUF_INIT;
	struct qresync q = { 0 };
	struct mdc_stamp pre;
	size_t i, exists, unseen = 0, recent = 0;
	char *dir = NULL;
	int r, stamped, cached;

	if (!imap_p_sp(p) || mailbox_arg(s, p, &name, 0) != 1 ||
	    select_params(s, p, &q) != 1 || !imap_p_end(p)) {
		buf_free(&name);
		imap_seqset_free(&q.known);
		imap_bad_args(s, p);
		return;
	}
	/* RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected */
	if (s->state == ST_SEL) {
		sel_free(s);
		if (s->qresync)  /* RFC 7162 3.2.11 */
			imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	r = folder_path(s, name.s, name.len, &dir);
	if (r <= 0) {
		buf_free(&name);
		imap_seqset_free(&q.known);
		if (r < 0)
			session_fatal(s, "memory");
		return;
	}
	if (!folder_exists(dir)) {
		if (strcmp(name.s, "INBOX") == 0 && maildir_make(dir) > 0) {
			/* no mail delivered yet: an empty INBOX */
		} else {
			free(dir);
			buf_free(&name);
			imap_seqset_free(&q.known);
			imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't "
			    "exist");
			return;
		}
	}
	sel->dir = dir;
	sel->name = name;
	sel->readonly = strcmp(s->verb, "EXAMINE") == 0;
	s->state = ST_SEL;
	if (mdx_open(&sel->idx, dir) < 0)
		session_fatal(s, "memory");
	if (ino_setup(s) < 0) {
		imap_seqset_free(&q.known);
		select_fail(s, "inotify");
		return;
	}
	sel->kwt.dir = dir;
	if (keywords_load(&sel->kwt) < 0) {
		imap_seqset_free(&q.known);
		select_fail(s, KEYWORDS_FILE);
		return;
	}
	stamped = mdc_stamp(dir, &pre);
	r = stamped > 0 ? select_cached(s, &pre) : 0;
	/* QRESYNC reports from the view: built now, before EXISTS, so a
	 * damaged record means a scan */
	if (r > 0 && q.on && q.uidvalidity == sel->uidvalidity &&
	    !view_build(s)) {
		mdc_unmap(&sel->cache);
		r = 0;
	}
	cached = r > 0;
	if (r == 0) {
		r = rescan(s, 0);
		/* (a first SELECT too: new/ and cur/ are what counts),
		 * after the reply is out: sel_idle */
		if (r > 0 && stamped >= 0 && mdc_settled(&pre)) {
			sel->save = 1;
			sel->save_pre = pre;
		}
	}
	if (r <= 0) {
		imap_seqset_free(&q.known);
		select_fail(s, "scan");
		return;
	}
	if (mdh_open(&sel->hdr, dir, sel->uidvalidity) < 0)
		session_fatal(s, "memory");
	if (cached) {
		/* from the header, whether the view is built yet (QRESYNC)
		 * or not (sel_view) */
		const struct mdc_head *h = sel->cache.h;

		exists = (size_t)h->n;
		recent = (size_t)h->n_recent;  /* 0 unless EXAMINE */
		unseen = (size_t)h->first_unseen;
	} else {
		exists = sel->n;
		for (i = 0; i < sel->n; i++) {
			recent += sel->m[i].recent;
			if (unseen == 0 && !(sel->m[i].flags & IF_SEEN))
				unseen = i + 1;
		}
	}
	sel_tell_keywords(s);
	imap_untagged(s, "%zu EXISTS", exists);
	/* RFC 9051 6.3.2: IMAP4rev2 has no RECENT and no UNSEEN code, but
	 * a LIST response with the mailbox's name */
	if (!s->rev2)
		imap_untagged(s, "%zu RECENT", recent);
	sel->exists_sent = exists;
	if (unseen && !s->rev2)
		imap_untagged(s, "OK [UNSEEN %zu] First unseen", unseen);
	if (s->rev2) {
		struct buf l = BUF_INIT;

		if (buf_catf(&l, "LIST () \"%c\" ", IMAP_SEP) < 0 ||
		    put_mailbox(s, &l, buf_str(&sel->name)) < 0)
			session_fatal(s, "memory");
		imap_untagged(s, "%s", buf_str(&l));
		buf_free(&l);
	}
	imap_untagged(s, "OK [UIDVALIDITY %lu] UIDs valid", sel->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %lu] Predicted next UID", sel->uidnext);
	/* RFC 7162 3.1.2.1: our MODSEQs are persistent, so always */
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
	    sel->idx.highest);
	if (q.on && q.uidvalidity == sel->uidvalidity)
		qresync_report(s, &q);
	imap_seqset_free(&q.known);
	log_info("%s select user=%s mailbox=%s messages=%zu%s%s", s->sid,
	    buf_str(&s->login), buf_str(&sel->name), exists,
	    sel->readonly ? " readonly" : "", cached ? " cached" : "");
	imap_tagged(s, "OK", "[%s] %s completed", sel->readonly ?
	    "READ-ONLY" : "READ-WRITE", s->verb);
}

void
cmd_check(struct imap *s, struct imap_p *p)
{
	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "CHECK takes no arguments");
		return;
	}
	s->sel.dirty = 1;
}

/* CLOSE expunges silently (RFC 9051 6.4.1) unless read-only; UNSELECT
 * (RFC 3691) never does. */
void
cmd_close(struct imap *s, struct imap_p *p)
{
	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "%s takes no arguments", s->verb);
		return;
	}
	if (strcmp(s->verb, "CLOSE") == 0 && !s->sel.readonly)
		(void)expunge_deleted(s, NULL, 0);
	sel_free(s);
}
