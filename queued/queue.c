/*
 * queue.c: tern-queued's view of the queue directory.
 *
 * The message table (hash by id) and the min-heap on due time live here,
 * and so do the steps that touch queue files: loading a message (mess/ID
 * and state/ID), writing state/ID atomically, finishing a message, moving
 * a damaged one to corrupt/, the start-up recovery scan and the scan of
 * todo/ (doc/DESIGN.md, "The queue": states 4 to 6 and "Recovery").
 * Paths are relative: main() chdir()s into the spool.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "lookup/local.h"
#include "queued.h"

#define STATE_FILE_MAX (8 * 1024 * 1024) /* 10,000 recipients x a line */
#define QPATH_SIZE 64                     /* "corrupt/" + id + ".state" */
#define TAB_MIN 1024

const char *
sq_safe(char *out, const char *s)
{
	return log_safe(out, LOG_SAFE_MAX, s, strlen(s));
}

/* ---- the table ---- */

static size_t
sq_hash(const char *s)
{
	return str_hash(s, 0);
}

struct msg *
sq_find(const char *id)
{
	struct msg *m;

	if (sched.tabsz == 0)
		return NULL;
	for (m = sched.tab[sq_hash(id) & (sched.tabsz - 1)]; m; m = m->hnext)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static void
sq_grow(void)
{
	size_t nsz = sched.tabsz ? sched.tabsz * 2 : TAB_MIN, i;
	struct msg **nt = calloc(nsz, sizeof *nt), *m, *next;

	if (nt == NULL)
		log_fatal("out of memory for %zu queue entries", sched.nmsg);
	for (i = 0; i < sched.tabsz; i++)
		for (m = sched.tab[i]; m; m = next) {
			next = m->hnext;
			m->hnext = nt[sq_hash(m->id) & (nsz - 1)];
			nt[sq_hash(m->id) & (nsz - 1)] = m;
		}
	free(sched.tab);
	sched.tab = nt;
	sched.tabsz = nsz;
}

struct msg *
sq_add(const char *id)
{
	struct msg *m = calloc(1, sizeof *m);
	size_t b;

	if (m == NULL)
		log_fatal("out of memory for %zu queue entries", sched.nmsg);
	if (sched.nmsg >= sched.tabsz)
		sq_grow();
	memcpy(m->id, id, QID_SIZE);
	m->hpos = HPOS_NONE;
	b = sq_hash(id) & (sched.tabsz - 1);
	m->hnext = sched.tab[b];
	sched.tab[b] = m;
	sched.nmsg++;
	return m;
}

/* Drop m from memory (it must not be loaded). */
void
sq_forget(struct msg *m)
{
	struct msg **pp = &sched.tab[sq_hash(m->id) & (sched.tabsz - 1)];

	if (m->ld != NULL)
		log_panic("%s: forgetting a loaded message", m->id);
	heap_del(m);
	sy_unwait(m);
	while (*pp && *pp != m)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = m->hnext;
	sched.nmsg--;
	free(m);
}

/* ---- the heap on due time ---- */

static void
heap_swap(size_t a, size_t b)
{
	struct msg *t = sched.heap[a];

	sched.heap[a] = sched.heap[b];
	sched.heap[b] = t;
	sched.heap[a]->hpos = a;
	sched.heap[b]->hpos = b;
}

static void
heap_up(size_t i)
{
	while (i > 0 && sched.heap[(i - 1) / 2]->due > sched.heap[i]->due) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;

		if (l < sched.nheap && sched.heap[l]->due < sched.heap[s]->due)
			s = l;
		if (r < sched.nheap && sched.heap[r]->due < sched.heap[s]->due)
			s = r;
		if (s == i)
			return;
		heap_swap(i, s);
		i = s;
	}
}

void
heap_set(struct msg *m, time_t due)
{
	if (m->hpos == HPOS_NONE) {
		if (sched.nheap == sched.heapcap) {
			size_t ncap = sched.heapcap ? sched.heapcap * 2 : TAB_MIN;
			struct msg **nh = realloc(sched.heap, ncap * sizeof *nh);

			if (nh == NULL)
				log_fatal("out of memory for the queue heap");
			sched.heap = nh;
			sched.heapcap = ncap;
		}
		m->hpos = sched.nheap++;
		sched.heap[m->hpos] = m;
	}
	m->due = due;
	heap_up(m->hpos);
	heap_down(m->hpos);
}

void
heap_del(struct msg *m)
{
	size_t i = m->hpos;

	if (i == HPOS_NONE)
		return;
	m->hpos = HPOS_NONE;
	if (i == --sched.nheap)
		return;
	sched.heap[i] = sched.heap[sched.nheap];
	sched.heap[i]->hpos = i;
	heap_up(i);
	heap_down(sched.heap[i]->hpos);
}

struct msg *
heap_top(void)
{
	return sched.nheap ? sched.heap[0] : NULL;
}

/* Every message in the heap becomes due now (equal keys: still a heap). */
void
heap_all_due(time_t now)
{
	size_t i;

	for (i = 0; i < sched.nheap; i++)
		if (sched.heap[i]->due > now)
			sched.heap[i]->due = now;
}

/* After a configuration change: every message that has remote
 * recipients and nothing in flight is due now, so that sq_load sorts its
 * recipients again (a domain may be local now). */
void
sq_recheck_local(void)
{
	struct msg *m;
	size_t i, n = 0;

	for (i = 0; i < sched.tabsz; i++)
		for (m = sched.tab[i]; m; m = m->hnext)
			if ((m->flags & M_REMOTE) && m->wq == NULL &&
			    m->ld == NULL && m->inflight == 0 &&
			    !(m->flags & M_HELD)) {
				m->flags &= ~M_REMOTE;
				m->flags |= M_RECHECK;
				heap_set(m, sched.now);
				n++;
			}
	if (n > 0)
		log_info("configuration changed: %zu messages with remote "
		    "recipients looked at again", n);
}

/* ---- files of one message ---- */

static void
sq_path(char *out, const char *dir, const char *id, const char *suffix)
{
	/* dir, id and suffix are ours and short: this always fits */
	(void)snprintf(out, QPATH_SIZE, "%s/%s%s", dir, id, suffix);
}

void
sq_remove_files(const char *id)
{
	char p[QPATH_SIZE];

	/* mess/ first: a crash in between leaves a state file without a
	 * message, which recovery removes; the other order could make a
	 * partly delivered message look fresh */
	sq_path(p, "mess", id, "");
	if (unlink(p) < 0 && errno != ENOENT)
		log_err("%s: unlink %s: %s", id, p, strerror(errno));
	sq_path(p, "state", id, "");
	if (unlink(p) < 0 && errno != ENOENT)
		log_err("%s: unlink %s: %s", id, p, strerror(errno));
}

void
sq_corrupt(const char *id, const char *why)
{
	char from[QPATH_SIZE], to[QPATH_SIZE], s[LOG_SAFE_MAX];

	sq_path(from, "mess", id, "");
	sq_path(to, "corrupt", id, "");
	if (rename(from, to) < 0 && errno != ENOENT)
		log_err("%s: rename %s to %s: %s", id, from, to,
		    strerror(errno));
	sq_path(from, "state", id, "");
	sq_path(to, "corrupt", id, ".state");
	if (rename(from, to) < 0 && errno != ENOENT)
		log_err("%s: rename %s to %s: %s", id, from, to,
		    strerror(errno));
	log_err("%s corrupt reason=\"%s\" moved=corrupt/", id, sq_safe(s, why));
}

/* A load failed for a reason that may pass (EMFILE, EIO): retry later. */
static int
sq_load_later(struct msg *m, struct load *ld, const char *what)
{
	log_err("%s cannot load %s: %s; retry in %ds", m->id, what,
	    strerror(errno), SCHED_RETRY_LOAD);
	if (ld->fd >= 0)
		close(ld->fd);
	qenv_free(&ld->env);
	free(ld);
	heap_set(m, sched.now + SCHED_RETRY_LOAD);
	return -1;
}

/* The message is gone or damaged: forget it. */
static int
sq_load_gone(struct msg *m, struct load *ld, const char *why)
{
	if (why != NULL)
		sq_corrupt(m->id, why);
	if (ld->fd >= 0)
		close(ld->fd);
	qenv_free(&ld->env);
	free(ld);
	sq_forget(m);
	return 0;
}

/*
 * mess/ID without the commit bit: tern-enqueue is still writing it (its
 * todo/ID comes when it is done) or died before the commit, in which case
 * nobody was told it is queued; such debris goes after SCHED_TMP_MAX_AGE.
 */
static int
sq_load_uncommitted(struct msg *m, struct load *ld, const char *p)
{
	struct stat st;

	if (fstat(ld->fd, &st) == 0 && sched.now - st.st_mtime > SCHED_TMP_MAX_AGE) {
		log_info("%s removing uncommitted %s", m->id, p);
		if (unlink(p) < 0 && errno != ENOENT)
			log_err("%s unlink %s: %s", m->id, p, strerror(errno));
	}
	return sq_load_gone(m, ld, NULL);
}

/* 1 ok, 0 damaged (m is forgotten), -1 retry later */
static int
sq_load_state(struct msg *m, struct load *ld)
{
	char p[QPATH_SIZE], err[256];
	char *data = NULL;
	size_t len = 0;
	int r;

	sq_path(p, "state", m->id, "");
	r = fs_read_file(p, STATE_FILE_MAX, &data, &len);
	if (r == 0)
		return 1;
	if (r < 0)
		return errno == EFBIG ? sq_load_gone(m, ld,
		    "state file too large") : sq_load_later(m, ld, p);
	r = qstate_parse(&ld->env, data, len, err, sizeof err);
	free(data);
	if (r < 0 && errno == ENOMEM)
		return sq_load_later(m, ld, p);
	if (r < 0)
		return sq_load_gone(m, ld, err);
	return 1;
}

int
sq_load(struct msg *m)
{
	char p[QPATH_SIZE], err[256];
	struct load *ld;
	size_t i;
	int r;

	if (m->ld != NULL)
		return 1;
	sy_unwait(m);   /* looked at now: off any wait list */
	if ((ld = calloc(1, sizeof *ld)) == NULL)
		log_fatal("out of memory");
	sq_path(p, "mess", m->id, "");
	ld->fd = open(p, O_RDONLY | O_CLOEXEC);
	if (ld->fd < 0)
		return errno == ENOENT ? sq_load_gone(m, ld, NULL) :
		    sq_load_later(m, ld, p);
	if ((r = qfile_committed(ld->fd)) <= 0)
		return r < 0 ? sq_load_later(m, ld, p) :
		    sq_load_uncommitted(m, ld, p);
	if (qfile_read_env(ld->fd, &ld->env, err, sizeof err) < 0)
		return errno == EINVAL ? sq_load_gone(m, ld, err) :
		    sq_load_later(m, ld, p);
	if ((r = sq_load_state(m, ld)) <= 0)
		return r;  /* 0: m is freed */
	if ((ld->rf = calloc(ld->env.nrcpt, 1)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < ld->env.nrcpt; i++) {
		const char *dom = addr_domain(ld->env.rcpt[i].addr);

		/* a recipient without a domain is left to tern-deliverd */
		if (dom[0] == '\0' || local_domain(dom) > 0) {
			ld->rf[i] |= RF_LOCAL;
			/* deferred as remote before a config change made
			 * its domain local: due now */
			if (m->flags & M_RECHECK)
				ld->env.rcpt[i].next = 0;
		}
	}
	m->flags &= (unsigned char)~M_RECHECK;
	m->arrival = ld->env.arrival;
	m->flags = (unsigned char)((m->flags & ~M_HELD) |
	    (ld->env.held ? M_HELD : 0));
	ld->flush = (m->flags & M_FLUSH) != 0;
	m->flags &= (unsigned char)~M_FLUSH;
	ld->lnext = sched.loaded;
	if (sched.loaded)
		sched.loaded->ld->lprev = m;
	sched.loaded = m;
	m->ld = ld;
	return 1;
}

void
sq_unload(struct msg *m)
{
	struct load *ld = m->ld;

	if (ld == NULL)
		return;
	if (ld->lprev)
		ld->lprev->ld->lnext = ld->lnext;
	else
		sched.loaded = ld->lnext;
	if (ld->lnext)
		ld->lnext->ld->lprev = ld->lprev;
	close(ld->fd);
	qenv_free(&ld->env);
	free(ld->rf);
	free(ld->rj);   /* no job is in flight when a message is unloaded */
	free(ld);
	m->ld = NULL;
}

int
sq_persist(struct msg *m)
{
	char p[QPATH_SIZE], tmp[QPATH_SIZE];
	struct buf b = BUF_INIT;
	int r;

	sq_path(p, "state", m->id, "");
	sq_path(tmp, "state", m->id, ".tmp");
	r = qstate_format(&b, &m->ld->env);
	if (r > 0)
		r = fs_atomic_write(p, tmp, b.s, b.len, 0640);
	buf_free(&b);
	if (r < 0) {
		log_err("%s cannot write %s: %s", m->id, p, strerror(errno));
		return -1;
	}
	m->ld->dirty = 0;
	return 1;
}

void
sq_persist_all(void)
{
	struct msg *m;

	for (m = sched.loaded; m; m = m->ld->lnext)
		if (m->ld->dirty)
			(void)sq_persist(m);
}

/* tern-queue delete: the files go, the message is forgotten. */
static void
sq_settle_delete(struct msg *m)
{
	sq_unload(m);
	sq_remove_files(m->id);
	log_info("%s deleted by request", m->id);
	sq_forget(m);
}

/* tern-queue bounce: every pending recipient fails now. */
static void
sq_settle_bounce(struct msg *m)
{
	struct qenv *e = &m->ld->env;
	size_t i;

	for (i = 0; i < e->nrcpt; i++) {
		if (e->rcpt[i].st != RS_PENDING)
			continue;
		e->rcpt[i].st = RS_FAILED;
		snprintf(e->rcpt[i].text, sizeof e->rcpt[i].text,
		    "5.0.0 returned to sender by the queue administrator");
		m->ld->dirty++;
	}
	m->flags &= (unsigned char)~M_BOUNCE;
	log_info("%s bounce requested", m->id);
}

/*
 * The earliest next attempt of m's pending recipients (now when
 * flushed), or -1 when none is pending; recipients waiting for a remote
 * slot (RF_BLOCKED) are left to their wait list.
 */
static time_t
sq_due(struct msg *m)
{
	struct qenv *e = &m->ld->env;
	time_t due = -1;
	size_t i;

	m->flags &= (unsigned char)~M_REMOTE;
	for (i = 0; i < e->nrcpt; i++) {
		struct qrcpt *r = &e->rcpt[i];

		if (r->st != RS_PENDING)
			continue;
		if (!(m->ld->rf[i] & RF_LOCAL))
			m->flags |= M_REMOTE;
		if (m->ld->rf[i] & RF_BLOCKED)
			continue;
		if (due < 0 || r->next < due)
			due = r->next;
	}
	if (due >= 0 && (m->flags & M_FLUSH))
		due = sched.now;
	return due;
}

/*
 * Decide what becomes of a loaded message with no attempt in flight and
 * nothing left to start now (doc/DESIGN.md states 5 and 6): delete it,
 * finish it (bounce, unlink), or write its state and put it back in the
 * heap for its next due recipient.  m is unloaded, maybe freed.
 */
void
sq_settle(struct msg *m)
{
	struct qenv *e = &m->ld->env;
	size_t i, pending = 0, failed = 0, done = 0;
	time_t due;
	int notices;

	if (m->flags & M_DELETE) {
		sq_settle_delete(m);
		return;
	}
	if (m->flags & M_BOUNCE)
		sq_settle_bounce(m);
	/* success and delay notices (RFC 3461); a notice that cannot be
	 * queued now is tried at the next settle */
	notices = sb_success(m) > 0;
	notices &= sb_delay(m) > 0;
	for (i = 0; i < e->nrcpt; i++)
		failed += e->rcpt[i].st == RS_FAILED;
	/* failures are reported at once, not when the last deferred
	 * recipient is done (the sender learns of a typo in minutes) */
	if (failed > 0) {
		if (sb_finish_failed(m) > 0)
			m->ld->dirty++;
		else
			notices = 0;
	}
	failed = 0;
	for (i = 0; i < e->nrcpt; i++) {
		pending += e->rcpt[i].st == RS_PENDING;
		failed += e->rcpt[i].st == RS_BOUNCED;
		done += e->rcpt[i].st == RS_DONE;
	}
	if (pending == 0) {
		if (!notices) {
			/* a notice could not be queued: try again later */
			(void)sq_persist(m);
			heap_set(m, sched.now + sched.min_backoff);
			sq_unload(m);
			return;
		}
		sq_unload(m);
		sq_remove_files(m->id);
		log_info("%s done delivered=%zu failed=%zu", m->id, done,
		    failed);
		sq_forget(m);
		return;
	}
	if (m->ld->dirty)
		(void)sq_persist(m);
	due = sq_due(m);
	if ((m->flags & M_HELD) || due < 0)
		heap_del(m);
	else
		heap_set(m, due);
	/* after the heap: a wait list may put it there due now */
	if (!(m->flags & M_HELD))
		(void)sy_park(m);
	sq_unload(m);  /* a pending M_FLUSH stays for the next load */
}
