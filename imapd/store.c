/*
 * store: the commands that change messages: STORE (RFC 9051 6.4.6),
 * COPY (6.4.7), MOVE (RFC 6851), EXPUNGE and UID EXPUNGE (6.4.3, RFC
 * 4315), APPEND (6.3.12), with UIDPLUS's APPENDUID and COPYUID codes.
 *
 * Flags live in the file name (":2,FLAGS"): STORE is one rename.  COPY
 * and APPEND put a file into the target's cur/ with one link(2) (a hard
 * link of the source for COPY, a written and fsynced tmp/ file for
 * APPEND), then fsync cur/ once before the OK, so a copied or appended
 * message that was acknowledged survives a crash.  EXPUNGE unlinks and
 * fsyncs cur/ and new/ before its responses.  MOVE is COPY, then the
 * unlinks of the sources (a crash between the two leaves both copies,
 * never none).
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
#include "util/log.h"
#include "util/str.h"
#include "mail/mime.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/mdname.h"
#include "imap/istr.h"
#include "imapd.h"

/* ---- STORE ----------------------------------------------------------------- */

struct storearg {
	int op;                 /* '+', '-', or 0 (replace) */
	int silent;
	unsigned flags;
	unsigned long kw;
	int failed;
	int unchanged;                  /* UNCHANGEDSINCE (RFC 7162 3.1.3) */
	unsigned long long since;
	struct imap_seqset modified;    /* the messages that failed it */
};

static int
store_one(struct imap *s, size_t i, void *arg)
{
	struct storearg *a = arg;
	struct imsg *m = &s->sel.m[i];
	unsigned long uid = m->uid;  /* a rescan may move the view */
	int r, changed = 0;

	if (a->unchanged) {
		const struct mdx_ent *e = mdx_find(&s->sel.idx, m->uid);
		unsigned long long cur = e ? e->modseq : m->modseq;

		if (cur > a->since) {
			unsigned long v = s->uid ? m->uid : (unsigned long)i + 1;

			if (imap_seqset_add(&a->modified, v, v) < 0)
				session_fatal(s, "memory");
			return 1;
		}
	}
	r = sel_set_flags(s, i, a->op, a->flags, a->kw, &changed);
	if (r < 0) {
		log_warn("%s store user=%s uid=%lu error=%s", s->sid,
		    buf_str(&s->login), uid, strerror(errno));
		a->failed = 1;
		return 1;
	}
	if (r == 0) {
		a->failed = 2;
		return 1;
	}
	if (changed)
		s->nstore++;
	/* RFC 9051 6.4.6: the new flags as an untagged FETCH (with the UID
	 * for UID STORE, 6.4.9); RFC 7162 3.1.3: with CONDSTORE the MODSEQ
	 * too, and a changed message is told even after .SILENT */
	if (a->silent && !(changed && s->condstore))
		return 1;
	if (sel_tell_flags(s, i, s->uid, !a->silent) < 0)
		session_fatal(s, "memory");
	return 1;
}

void
cmd_store(struct imap *s, struct imap_p *p)
{
	struct imap_seqset set = { 0 };
	struct storearg a = { 0 };
	const char *w;
	size_t n;
	int r;

	if (!imap_p_sp(p) || imap_p_seqset(p, &set) != 1 || !imap_p_sp(p))
		goto bad;
	if (imap_p_char(p, '(')) {
		/* store-modifier (RFC 4466 2.5, RFC 7162 3.1.3) */
		if (imap_p_atom(p, &w, &n) != 1 || n != 14 ||
		    !str_ncaseeq(w, "UNCHANGEDSINCE", 14)) {
			p->err = "Unknown STORE modifier";
			goto bad;
		}
		if (!imap_p_sp(p) || imap_p_number64(p, &a.since) != 1 ||
		    !imap_p_char(p, ')') || !imap_p_sp(p))
			goto bad;
		a.unchanged = 1;
		s->condstore = 1;
	}
	if (imap_p_peek(p) == '+' || imap_p_peek(p) == '-') {
		a.op = imap_p_peek(p);
		p->pos++;
	}
	if (imap_p_atom(p, &w, &n) != 1)
		goto bad;
	if (n == 12 && str_ncaseeq(w, "FLAGS.SILENT", 12))
		a.silent = 1;
	else if (!(n == 5 && str_ncaseeq(w, "FLAGS", 5))) {
		p->err = "Unknown STORE item";
		goto bad;
	}
	if (!imap_p_sp(p))
		goto bad;
	if (s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	r = sel_parse_flags(&s->sel.kwt, p, &a.flags, &a.kw, NULL);
	if (r < 0 && errno == ENOENT) {
		/* the folder was deleted meanwhile: sel_sync says so */
		s->sel.dirty = 1;
		imap_tagged(s, "NO", "[NONEXISTENT] The mailbox is gone");
		goto out;
	}
	if (r < 0)
		session_fatal(s, "keywords");
	if (r == 0 || !imap_p_end(p))
		goto bad;
	/* a keyword new to the folder: FLAGS before the FETCHes naming it */
	if (kw_known(s, 0, 1) < 0)
		session_fatal(s, "keywords");
	/* the MODSEQs compared and given under the index lock */
	if (a.unchanged && sel_hold_index(s) < 0) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot store flags now");
		goto out;
	}
	r = sel_each(s, &set, s->uid, store_one, &a);
	if (r < 0)
		session_fatal(s, "store");
	if (r == 0) {
		imap_tagged(s, "BAD", "Error in IMAP command STORE: Invalid "
		    "message sequence number");
		goto out;
	}
	if (a.modified.n > 0) {
		struct buf b = BUF_INIT;

		imap_seqset_resolve(&a.modified, ~0UL);
		if (imap_seqset_format(&a.modified, &b) < 0)
			session_fatal(s, "memory");
		imap_tagged(s, "OK", "[MODIFIED %s] Conditional STORE failed",
		    buf_str(&b));
		buf_free(&b);
	} else if (a.failed == 1)
		imap_tagged(s, "NO", "[SERVERBUG] Some flags could not be "
		    "stored");
	else if (a.failed == 2)
		imap_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
		    "expunged meanwhile");
	goto out;
bad:
	imap_bad_args(s, p);
out:
	imap_seqset_free(&a.modified);
	imap_seqset_free(&set);
}

/* ---- EXPUNGE ------------------------------------------------------------ */

size_t
expunge_deleted(struct imap *s, struct imap_seqset *set, int send)
{
	struct sel *sel = &s->sel;
	size_t i, n = 0;
	int r;

	if (set != NULL)
		imap_seqset_resolve(set, sel->n ? sel->m[sel->n - 1].uid : 0);
	for (i = 0; i < sel->n; i++) {
		struct imsg *m = &sel->m[i];

		if (m->gone || !(m->flags & IF_DELETED) ||
		    (set != NULL && !imap_seqset_has(set, m->uid)))
			continue;
		r = sel_unlink(s, i, 1);
		if (r < 0) {
			log_warn("%s expunge user=%s uid=%lu error=%s", s->sid,
			    buf_str(&s->login), m->uid, strerror(errno));
			continue;
		}
		n += r == 1;
	}
	if (n > 0) {
		char dir[FS_PATH_MAX];

		/* the removals are durable before the client hears of them */
		if (fs_join(dir, sizeof dir, sel->dir, "cur") < 0 ||
		    fs_syncdir(dir) < 0 ||
		    fs_join(dir, sizeof dir, sel->dir, "new") < 0 ||
		    fs_syncdir(dir) < 0)
			log_warn("%s expunge user=%s fsync error=%s", s->sid,
			    buf_str(&s->login), strerror(errno));
		log_info("%s expunge user=%s mailbox=%s messages=%zu", s->sid,
		    buf_str(&s->login), buf_str(&sel->name), n);
		s->nexpunge += n;
		sel->expunged += n;
		sel->dirty = 1;  /* the rescan makes their tombstones */
	}
	(void)send;  /* the responses come from sel_sync after the command */
	return n;
}

void
cmd_expunge(struct imap *s, struct imap_p *p)
{
	struct imap_seqset set = { 0 };

	if (s->uid && (!imap_p_sp(p) || imap_p_seqset(p, &set) != 1)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (!imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	if (sel_saved(s, &set, 1) < 0)
		session_fatal(s, "memory");
	(void)expunge_deleted(s, s->uid ? &set : NULL, 1);
out:
	imap_seqset_free(&set);
}

/* ---- putting files into a folder -------------------------------------------- */

/* A new base name for a message copied or appended: a fresh unique part
 * with the size fields. */
static int
new_base(char *out, size_t outsz, unsigned long long bytes,
    unsigned long long crlf)
{
	char uniq[MAILDIR_NAME_MAX + 1];

	if (maildir_unique(uniq, sizeof uniq) < 0)
		return -1;
	if (!mdname_make(out, outsz, uniq, bytes, crlf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

/* The UIDs the target folder gave to the files (by base, in order), after
 * its uidlist was brought up to date: uid_r[k], 0 when not found. */
static int
target_uids(const char *dir, char **bases, size_t n, unsigned long *uid_r,
    unsigned long *validity_r)
{
	struct mbox mb;
	size_t i, k;
	int r = -1;

	if (mbox_open(&mb, dir) < 0)
		return -1;
	if (mbox_scan(&mb, 0) < 0 || mbox_uids(&mb) < 0)
		goto out;
	*validity_r = mb.uidvalidity;
	for (k = 0; k < n; k++) {
		size_t bl = strcspn(bases[k], ":");

		uid_r[k] = 0;
		for (i = 0; i < mb.n; i++)
			if (mb.msg[i].baselen == bl &&
			    memcmp(mbox_name(&mb, i), bases[k], bl) == 0) {
				uid_r[k] = mb.msg[i].uid;
				break;
			}
	}
	r = 1;
out:
	mbox_close(&mb);
	return r;
}

/* Append "a,b:c" for the pairs src/dst so that run k..j is written as a
 * range only when both sides go up by one together (RFC 4315 3: the two
 * sets correspond in order). */
static int
uid_pairs(struct buf *src, struct buf *dst, const unsigned long *a,
    const unsigned long *b, size_t n)
{
	size_t k = 0, j;

	while (k < n) {
		for (j = k; j + 1 < n && a[j + 1] == a[j] + 1 &&
		    b[j + 1] == b[j] + 1; j++)
			;
		if (k > 0 && (buf_catc(src, ',') < 0 || buf_catc(dst, ',') < 0))
			return -1;
		if (buf_catu(src, a[k]) < 0 || buf_catu(dst, b[k]) < 0)
			return -1;
		if (j > k && (buf_catc(src, ':') < 0 || buf_catu(src, a[j]) < 0 ||
		    buf_catc(dst, ':') < 0 || buf_catu(dst, b[j]) < 0))
			return -1;
		k = j + 1;
	}
	return 1;
}

/* ---- COPY and MOVE ---------------------------------------------------------- */

struct copyarg {
	const char *dir;            /* target Maildir */
	struct kwtab kt;            /* its keywords */
	char **bases;               /* new file names, in source order */
	unsigned long *src;         /* source UIDs */
	size_t *idx;                /* source indexes */
	size_t n, cap;
	int failed;
};

static int
copy_grow(struct copyarg *c)
{
	size_t cap;
	void *p;

	if (c->n < c->cap)
		return 1;
	cap = c->cap ? 2 * c->cap : 16;
	if ((p = reallocarray(c->bases, cap, sizeof *c->bases)) == NULL)
		return -1;
	c->bases = p;
	if ((p = reallocarray(c->src, cap, sizeof *c->src)) == NULL)
		return -1;
	c->src = p;
	if ((p = reallocarray(c->idx, cap, sizeof *c->idx)) == NULL)
		return -1;
	c->idx = p;
	c->cap = cap;
	return 1;
}

/* Copy the bytes of from into a new file to (O_EXCL), fsynced. */
static int
copy_bytes(const char *from, const char *to)
{
	char buf[65536];
	int in, out, saved;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		saved = errno;
		(void)close(in);
		errno = saved;
		return -1;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (fd_write_all(out, buf, (size_t)n) < 0)
			break;
	if (n != 0 || fsync(out) < 0) {
		saved = errno;
		(void)close(in);
		(void)close(out);
		(void)unlink(to);
		errno = saved ? saved : EIO;
		return -1;
	}
	(void)close(in);
	if (close(out) < 0) {
		(void)unlink(to);
		return -1;
	}
	return 1;
}

/* The bytes on disk of message i added to *arg (,S= or its size). */
static int
size_one(struct imap *s, size_t i, void *arg)
{
	unsigned long long *sum = arg, v;
	const struct imsg *m = &s->sel.m[i];
	struct stat st;

	if (m->gone)
		return 1;
	if (mdname_field(m->name, m->baselen, 'S', &v))
		*sum += v;
	else if (sel_stat(s, i, &st) > 0)
		*sum += (unsigned long long)st.st_size;
	return 1;
}

static int
copy_one(struct imap *s, size_t i, void *arg)
{
	struct copyarg *c = arg;
	struct imsg *m = &s->sel.m[i];
	char from[FS_PATH_MAX], to[FS_PATH_MAX], tmp[FS_PATH_MAX];
	char base[MAILDIR_NAME_MAX + 1], letters[64];
	unsigned long long bytes = 0, crlf = 0, v;
	unsigned long kw = 0, bit;
	size_t k;
	int tries = 0, r;

	if (m->gone)
		return 1;
	if (mdname_field(m->name, m->baselen, 'S', &v))
		bytes = v;
	if (mdname_field(m->name, m->baselen, 'W', &v))
		crlf = v;
	if (bytes == 0 || crlf == 0) {
		struct stat st;

		if (sel_stat(s, i, &st) < 0) {
			if (errno == ENOENT) {
				c->failed = 2;
				return 1;
			}
			goto fail;
		}
		bytes = (unsigned long long)st.st_size;
		crlf = m->size != MBOX_SIZE_UNKNOWN ? m->size : 0;
	}
	if (new_base(base, sizeof base, bytes, crlf ? crlf : bytes) < 0)
		goto fail;
	for (;;) {
		unsigned fl;
		unsigned long mkw;

		/* the flags of the file as it is named now (another session
		 * may have changed them), its keywords by name in the
		 * target's letters */
		sel_name_flags(m->name, &fl, &mkw);
		if (kw_known(s, mkw, 0) < 0)  /* letters named meanwhile */
			goto fail;
		kw = 0;
		for (k = 0; k < IMAP_KEYWORDS; k++)
			if ((mkw & (1UL << k)) && k < s->sel.kwt.n &&
			    s->sel.kwt.kw[k] != NULL &&
			    kw_bit(&c->kt, s->sel.kwt.kw[k],
			    strlen(s->sel.kwt.kw[k]), &bit) > 0)
				kw |= bit;
		sel_letters(&s->sel, fl, kw, letters);
		if (sel_path(&s->sel, i, from, sizeof from) < 0 ||
		    snprintf(to, sizeof to, "%s/cur/%s:2,%s", c->dir, base,
		    letters) >= (int)sizeof to ||
		    snprintf(tmp, sizeof tmp, "%s/tmp/%s", c->dir, base) >=
		    (int)sizeof tmp) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		if (link(from, to) == 0)
			break;
		if (errno == ENOENT) {
			/* renamed by another session, or expunged */
			r = tries++ < 2 ? sel_relocate(s, i) : 0;
			if (r < 0)
				goto fail;
			if (r > 0)
				continue;
			c->failed = 2;
			return 1;
		}
		/* another file system, or no hard links: a real copy */
		if (copy_bytes(from, tmp) < 0 || rename(tmp, to) < 0) {
			(void)unlink(tmp);
			goto fail;
		}
		break;
	}
	if (copy_grow(c) < 0 ||
	    (c->bases[c->n] = strdup(strrchr(to, '/') + 1)) == NULL)
		session_fatal(s, "memory");
	c->src[c->n] = m->uid;
	c->idx[c->n] = i;
	c->n++;
	return 1;
fail:
	log_warn("%s copy user=%s uid=%lu to=%s error=%s", s->sid,
	    buf_str(&s->login), m->uid, c->dir, strerror(errno));
	c->failed = 1;
	return -1;
}

void
cmd_copy(struct imap *s, struct imap_p *p)
{
	struct imap_seqset set = { 0 };
	struct buf name = BUF_INIT, a = BUF_INIT, b = BUF_INIT;
	struct copyarg c = { 0 };
	unsigned long *dst = NULL, validity = 0;
	char *dir = NULL, cur[FS_PATH_MAX];
	int move = strcmp(s->verb, "MOVE") == 0, r;
	size_t k;

	if (!imap_p_sp(p) || imap_p_seqset(p, &set) != 1 || !imap_p_sp(p) ||
	    mailbox_arg(s, p, &name, 0) != 1 || !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	r = folder_path(s, name.s, name.len, &dir);
	if (r < 0)
		session_fatal(s, "memory");
	if (r == 0)
		goto out;
	if (!folder_exists(dir)) {
		imap_tagged(s, "NO", "[TRYCREATE] Mailbox doesn't exist");
		goto out;
	}
	if (move && s->sel.readonly) {
		imap_tagged(s, "NO", "[READ-ONLY] Mailbox is read-only");
		goto out;
	}
	if (!move && s->quota > 0) {
		unsigned long long add = 0;

		/* RFC 9208 4.3: a COPY over the quota copies nothing (a
		 * MOVE within the account adds nothing) */
		r = sel_each(s, &set, s->uid, size_one, &add);
		if (r < 0)
			session_fatal(s, "copy");
		if (r == 0) {
			imap_tagged(s, "BAD", "Error in IMAP command %s: "
			    "Invalid message sequence number", s->verb);
			goto out;
		}
		if (!quota_allows(s, add)) {
			log_info("%s overquota user=%s mailbox=%s copy=%llu",
			    s->sid, buf_str(&s->login), name.s, add);
			imap_tagged(s, "NO", "[OVERQUOTA] The mailbox is over "
			    "its quota");
			goto out;
		}
	}
	c.dir = dir;
	c.kt.dir = dir;
	if (keywords_load(&c.kt) < 0)
		session_fatal(s, "keywords");
	r = sel_each(s, &set, s->uid, copy_one, &c);
	if (r == 0) {
		imap_tagged(s, "BAD", "Error in IMAP command %s: Invalid "
		    "message sequence number", s->verb);
		goto undo;
	}
	if (r < 0 || c.failed == 1) {
		imap_tagged(s, "NO", "[SERVERBUG] Cannot copy the messages");
		goto undo;
	}
	if (fs_join(cur, sizeof cur, dir, "cur") < 0 || fs_syncdir(cur) < 0) {
		log_warn("%s copy user=%s fsync %s: %s", s->sid,
		    buf_str(&s->login), dir, strerror(errno));
		imap_tagged(s, "NO", "[SERVERBUG] Cannot copy the messages");
		goto undo;
	}
	if (c.n > 0) {
		dst = calloc(c.n, sizeof *dst);
		if (dst == NULL)
			session_fatal(s, "memory");
		if (target_uids(dir, c.bases, c.n, dst, &validity) < 0) {
			log_warn("%s copy user=%s uidlist %s: %s", s->sid,
			    buf_str(&s->login), dir, strerror(errno));
			validity = 0;
		}
		for (k = 0; k < c.n; k++)
			if (dst[k] == 0)
				validity = 0;  /* no COPYUID then */
		if (validity && uid_pairs(&a, &b, c.src, dst, c.n) < 0)
			session_fatal(s, "memory");
	}
	if (move) {
		/* RFC 6851 4.3: COPYUID goes in an untagged OK before the
		 * EXPUNGEs, which sel_sync sends after the unlinks */
		if (validity)
			imap_untagged(s, "OK [COPYUID %lu %s %s] Moved",
			    validity, a.s, b.s);
		for (k = 0; k < c.n; k++)
			if (sel_unlink(s, c.idx[k], 0) < 0)
				log_warn("%s move user=%s uid=%lu error=%s",
				    s->sid, buf_str(&s->login), c.src[k],
				    strerror(errno));
		if (fs_join(cur, sizeof cur, s->sel.dir, "cur") < 0 ||
		    fs_syncdir(cur) < 0)
			log_warn("%s move user=%s fsync: %s", s->sid,
			    buf_str(&s->login), strerror(errno));
		imap_tagged(s, "OK", "MOVE completed");
	} else if (validity) {
		imap_tagged(s, "OK", "[COPYUID %lu %s %s] COPY completed",
		    validity, a.s, b.s);
	}
	if (c.failed == 2 && !s->tagged_sent)
		imap_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
		    "expunged meanwhile");
	log_info("%s %s user=%s to=%s messages=%zu", s->sid,
	    move ? "move" : "copy", buf_str(&s->login), name.s, c.n);
	/* (\Recent on the copies, RFC 3501 6.4.7: the next rescan claims
	 * them as it claims every new message) */
	if (strcmp(s->sel.dir, dir) == 0)
		s->sel.dirty = 1;
	goto out;
undo:
	/* RFC 9051 6.4.7: a COPY that fails copies nothing */
	for (k = 0; k < c.n; k++) {
		char path[FS_PATH_MAX];

		if (snprintf(path, sizeof path, "%s/cur/%s", dir, c.bases[k]) <
		    (int)sizeof path && unlink(path) < 0 && errno != ENOENT)
			log_warn("%s copy undo user=%s %s: %s", s->sid,
			    buf_str(&s->login), path, strerror(errno));
	}
out:
	for (k = 0; k < c.n; k++)
		free(c.bases[k]);
	free(c.bases);
	free(c.src);
	free(c.idx);
	free(dst);
	kw_free(&c.kt);
	free(dir);
	buf_free(&name);
	buf_free(&a);
	buf_free(&b);
	imap_seqset_free(&set);
}

/* ---- APPEND ------------------------------------------------------------- */

/* The bytes of data[0..n) on disk: every CRLF stored as LF. */
static unsigned long long
stored_size(const char *data, size_t n)
{
	unsigned long long crlf = 0;
	size_t k;

	for (k = 0; k + 1 < n; k++)
		if (data[k] == '\r' && data[k + 1] == '\n')
			crlf++;
	return (unsigned long long)n - crlf;
}

/* Write the message (CRLF from the client, LF on disk like every
 * delivery) into dir/tmp, fsync, set its time, link it into cur/ with
 * its flags, fsync cur/.  The new file name into name_r. */
static int
append_write(const char *dir, const char *data, size_t n, long long date,
    const char *letters, char *name_r, size_t namesz)
{
	char base[MAILDIR_NAME_MAX + 1], tmp[FS_PATH_MAX], to[FS_PATH_MAX];
	struct buf lf = BUF_INIT;
	unsigned long long crlf;
	struct timespec ts[2];
	size_t k;
	int fd = -1, cr = 0, saved;

	if (buf_ready(&lf, n) < 0)
		return -1;
	for (k = 0; k < n; k++)
		if (!(data[k] == '\r' && k + 1 < n && data[k + 1] == '\n'))
			lf.s[lf.len++] = data[k];
	lf.s[lf.len] = '\0';
	crlf = mbox_crlf_size(lf.s, lf.len, &cr);
	if (new_base(base, sizeof base, lf.len, crlf) < 0 ||
	    snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, base) >=
	    (int)sizeof tmp ||
	    snprintf(to, sizeof to, "%s/cur/%s:2,%s", dir, base, letters) >=
	    (int)sizeof to) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)date;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (fd_write_all(fd, lf.s, lf.len) < 0 || fsync(fd) < 0 ||
	    (date > 0 && futimens(fd, ts) < 0) || close(fd) < 0) {
		fd = -1;
		goto fail_tmp;
	}
	fd = -1;
	if (link(tmp, to) < 0)
		goto fail_tmp;
	(void)unlink(tmp);
	if (fs_join(tmp, sizeof tmp, dir, "cur") < 0 || fs_syncdir(tmp) < 0) {
		saved = errno;
		(void)unlink(to);
		errno = saved;
		goto fail;
	}
	buf_free(&lf);
	return str_copy(name_r, strrchr(to, '/') + 1, namesz) < namesz ? 1 :
	    -1;
fail_tmp:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	(void)unlink(tmp);
	errno = saved;
fail:
	buf_free(&lf);
	return -1;
}

void
cmd_append(struct imap *s, struct imap_p *p)
{
	struct buf name = BUF_INIT;
	struct kwtab own = { 0 }, *kt = &own;
	char *dir = NULL, fname[MAILDIR_NAME_MAX + 1], letters[64];
	char *bases[1];
	const char *data;
	size_t n;
	unsigned flags = 0;
	unsigned long kw = 0, uid = 0, validity = 0;
	long long date = 0;
	struct buf conv = BUF_INIT;
	int r, binary, utf8;

	if (!imap_p_sp(p) || mailbox_arg(s, p, &name, 0) != 1 || !imap_p_sp(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	r = folder_path(s, name.s, name.len, &dir);
	if (r < 0)
		session_fatal(s, "memory");
	if (r == 0)
		goto out;
	if (!folder_exists(dir)) {
		if (strcmp(name.s, "INBOX") != 0 || maildir_make(dir) < 0) {
			imap_tagged(s, "NO", "[TRYCREATE] Mailbox doesn't "
			    "exist");
			goto out;
		}
	}
	if (s->state == ST_SEL && strcmp(s->sel.dir, dir) == 0) {
		kt = &s->sel.kwt;
	} else {
		own.dir = dir;
		if (keywords_load(&own) < 0)
			session_fatal(s, "keywords");
	}
	if (imap_p_peek(p) == '(') {
		r = sel_parse_flags(kt, p, &flags, &kw, NULL);
		if (r < 0)
			session_fatal(s, "keywords");
		if (r == 0 || !imap_p_sp(p)) {
			imap_bad_args(s, p);
			goto out;
		}
		/* a new keyword of the selected folder: FLAGS first */
		if (kt == &s->sel.kwt && kw_known(s, 0, 1) < 0)
			session_fatal(s, "keywords");
	}
	if (imap_p_peek(p) == '"') {
		if (imap_p_datetime(p, &date) != 1 || !imap_p_sp(p)) {
			imap_bad_args(s, p);
			goto out;
		}
	}
	/* RFC 9755 4 (UTF8=ACCEPT): "UTF8 (" literal8 ")" */
	utf8 = s->utf8 && p->n - p->pos >= 6 &&
	    str_ncaseeq(p->s + p->pos, "UTF8 (", 6);
	if (utf8)
		p->pos += 6;
	if (imap_p_literal(p, &data, &n, &binary) != 1 ||
	    (utf8 && !imap_p_char(p, ')')) || !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (n == 0) {
		imap_tagged(s, "NO", "Cannot save an empty message");
		goto out;
	}
	if (n > s->append_limit) {
		imap_tagged(s, "NO", "[TOOBIG] Message too big");
		goto out;
	}
	/* RFC 3516 4.4: binary parts are kept as base64 (mime.h) */
	if (binary) {
		r = mime_binary_to_base64(data, n, &conv);
		if (r < 0)
			session_fatal(s, "memory");
		if (r > 0) {
			data = conv.s;
			n = conv.len;
		}
	}
	/* RFC 9208 4.3: the size as stored (CRLF becomes LF), the number
	 * tern-deliverd counts too */
	if (s->quota > 0 && !quota_allows(s, stored_size(data, n))) {
		log_info("%s overquota user=%s mailbox=%s append=%zu", s->sid,
		    buf_str(&s->login), name.s, n);
		imap_tagged(s, "NO", "[OVERQUOTA] The mailbox is over its "
		    "quota");
		goto out;
	}
	sel_letters(&s->sel, flags, kw, letters);
	if (append_write(dir, data, n, date, letters, fname,
	    sizeof fname) < 0) {
		int full = errno == ENOSPC || errno == EDQUOT;

		log_warn("%s append user=%s mailbox=%s error=%s", s->sid,
		    buf_str(&s->login), name.s, strerror(errno));
		imap_tagged(s, "NO", full ? "[OVERQUOTA] Out of disk space" :
		    "[SERVERBUG] Cannot save the message");
		goto out;
	}
	s->nappend++;
	bases[0] = fname;
	if (target_uids(dir, bases, 1, &uid, &validity) < 0 || uid == 0)
		validity = 0;
	log_info("%s append user=%s mailbox=%s size=%zu uid=%lu", s->sid,
	    buf_str(&s->login), name.s, n, uid);
	if (s->state == ST_SEL && strcmp(s->sel.dir, dir) == 0)
		s->sel.dirty = 1;
	if (validity)
		imap_tagged(s, "OK", "[APPENDUID %lu %lu] APPEND completed",
		    validity, uid);
out:
	kw_free(&own);
	free(dir);
	buf_free(&name);
	buf_free(&conv);
}
