/*
 * req.c: tern-queue's requests, from ctl/ files (scan.c reads them and
 * checks who made them) and, from older tern-queue versions, todo/
 * ID.ACTION files (and ALL.flush).
 *
 *   hold     no new attempts; the state file records H
 *   release  attempts resume on the recipients' own schedule
 *   delete   mess/ID and state/ID are removed, nothing is sent
 *   bounce   every pending recipient fails now, the sender gets a DSN
 *   flush    every pending local recipient is due now
 * The target is a queue id, or (sr_request's id argument):
 *   ALL       every message tern-queued knows
 *   DEFERRED  (delete only) every message that has a pending recipient,
 *             whose pending recipients were all tried at least once, and
 *             that has no recipient failed with its bounce still to send
 *   @DOMAIN   (flush only) every message with a pending recipient whose
 *             address is in DOMAIN (compared without regard to case)
 * A message with attempts in flight is changed when the last result is
 * back (sq_settle reads the flags), so a request never races a delivery.
 */
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "queued.h"

/* Act now if nothing is in flight; else sq_settle acts later. */
static void
sr_apply(struct msg *m)
{
	if (m->ld != NULL)
		return;
	if (sq_load(m) > 0)
		sq_settle(m);
}

static void
sr_hold(struct msg *m, int hold, int quiet)
{
	if (m->ld == NULL && sq_load(m) <= 0)
		return;  /* gone or unreadable: logged there */
	if (hold)
		m->flags |= M_HELD;
	else
		m->flags &= (unsigned char)~M_HELD;
	if (m->ld->env.held != hold) {
		m->ld->env.held = hold;
		m->ld->dirty++;
	}
	if (!quiet)
		log_info("%s %s by request", m->id, hold ? "held" : "released");
	/* loaded for this request only: write H and fix the heap now */
	if (m->inflight == 0 && !m->ld->ready)
		sq_settle(m);
}

static void
sr_flush_one(struct msg *m, int quiet)
{
	m->flags |= M_FLUSH;
	if (m->ld == NULL && m->hpos != HPOS_NONE)
		heap_set(m, sched.now);
	if (!quiet)
		log_info("%s flush by request", m->id);
}

/*
 * The ids of every message known now: a request on many messages may
 * forget some (delete, a corrupt file found on loading), so the table is
 * not walked while acting.  NULL (logged) when out of memory.
 */
static char (*sr_ids(size_t *n_r))[QID_SIZE]
{
	char (*v)[QID_SIZE];
	struct msg *m;
	size_t i, n = 0;

	if ((v = calloc(sched.nmsg + 1, QID_SIZE)) == NULL) {
		log_err("request on all messages: out of memory");
		return NULL;
	}
	for (i = 0; i < sched.tabsz; i++)
		for (m = sched.tab[i]; m && n < sched.nmsg; m = m->hnext)
			memcpy(v[n++], m->id, QID_SIZE);
	*n_r = n;
	return v;
}

/* m's envelope, loaded for a look if it was not: 1 (*mine_r: loaded here,
 * give it back with sr_unpeek; 2 when it was waiting for a remote slot,
 * which the load took it off), 0 gone or unreadable. */
static int
sr_peek(struct msg *m, int *mine_r)
{
	*mine_r = m->ld != NULL ? 0 : m->wq != NULL || m->woken != NULL ? 2 : 1;
	return m->ld != NULL || sq_load(m) > 0;
}

/* Unload what sr_peek loaded, keeping a flush that was waiting (sq_load
 * moved it into the load); a message taken off a wait list goes back in
 * the heap, due now, so that it finds its place again (it would be in
 * neither, never attempted). */
static void
sr_unpeek(struct msg *m, int mine)
{
	int flush = m->ld->flush;

	sq_unload(m);
	if (flush)
		m->flags |= M_FLUSH;
	if (mine == 2 && !(m->flags & M_HELD))
		heap_set(m, sched.now);
}

/* DEFERRED, as the header comment says. */
static int
sr_deferred(const struct qenv *e)
{
	size_t i, pending = 0;

	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpt[i];

		if (r->st == RS_FAILED)
			return 0;
		if (r->st != RS_PENDING)
			continue;
		if (r->attempts == 0)
			return 0;
		pending++;
	}
	return pending > 0;
}

static int
sr_in_domain(const struct qenv *e, const char *domain)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i].st == RS_PENDING &&
		    str_caseeq(addr_domain(e->rcpt[i].addr), domain))
			return 1;
	return 0;
}

/* delete DEFERRED on one message: 1 if it was chosen. */
static int
sr_delete_deferred(struct msg *m)
{
	int mine, hit;

	if (!sr_peek(m, &mine))
		return 0;
	hit = sr_deferred(&m->ld->env);
	if (hit) {
		m->flags |= M_DELETE;
		if (m->inflight == 0 && !m->ld->ready) {
			sq_settle(m);   /* deletes it: m is freed */
			return 1;
		}
	}
	if (mine)
		sr_unpeek(m, mine);
	return hit;
}

/* flush @DOMAIN on one message: 1 if it was chosen. */
static int
sr_flush_domain(struct msg *m, const char *domain)
{
	int mine, hit;

	if (!sr_peek(m, &mine))
		return 0;
	hit = sr_in_domain(&m->ld->env, domain);
	if (mine)
		sr_unpeek(m, mine);
	if (hit)
		sr_flush_one(m, 1);
	return hit;
}

/* action on every message, or on those DEFERRED / in @DOMAIN. */
static void
sr_many(const char *target, const char *action)
{
	char (*ids)[QID_SIZE], s[LOG_SAFE_MAX];
	size_t n = 0, i, hits = 0;
	struct msg *m;

	if (strcmp(target, "ALL") == 0 && strcmp(action, "flush") == 0) {
		sr_flush_all();
		return;
	}
	if ((ids = sr_ids(&n)) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if ((m = sq_find(ids[i])) == NULL)
			continue;
		if (target[0] == '@') {
			hits += sr_flush_domain(m, target + 1);
		} else if (strcmp(target, "DEFERRED") == 0) {
			hits += sr_delete_deferred(m);
		} else if (strcmp(action, "hold") == 0 ||
		    strcmp(action, "release") == 0) {
			sr_hold(m, action[0] == 'h', 1);
			hits++;
		} else {
			m->flags |= action[0] == 'd' ? M_DELETE : M_BOUNCE;
			sr_apply(m);
			hits++;
		}
	}
	free(ids);
	log_info("%s of %s by request: %zu messages", action,
	    target[0] == '@' ? sq_safe(s, target) : strcmp(target, "ALL") == 0 ?
	    "all messages" : "deferred messages", hits);
}

void
sr_request(const char *id, const char *action)
{
	struct msg *m;
	char s[LOG_SAFE_MAX];

	if (strcmp(action, "hold") != 0 && strcmp(action, "release") != 0 &&
	    strcmp(action, "delete") != 0 && strcmp(action, "bounce") != 0 &&
	    strcmp(action, "flush") != 0) {
		log_warn("%s unknown request \"%s\" ignored", id,
		    sq_safe(s, action));
		return;
	}
	if (strcmp(id, "ALL") == 0 ||
	    (strcmp(id, "DEFERRED") == 0 && strcmp(action, "delete") == 0) ||
	    (id[0] == '@' && id[1] != '\0' && strcmp(action, "flush") == 0)) {
		sr_many(id, action);
		return;
	}
	if ((m = sq_find(id)) == NULL) {
		log_warn("%s %s request: no such message", sq_safe(s, id),
		    action);
		return;
	}
	if (strcmp(action, "hold") == 0) {
		sr_hold(m, 1, 0);
	} else if (strcmp(action, "release") == 0) {
		sr_hold(m, 0, 0);
	} else if (strcmp(action, "delete") == 0) {
		m->flags |= M_DELETE;
		sr_apply(m);
	} else if (strcmp(action, "bounce") == 0) {
		m->flags |= M_BOUNCE;
		sr_apply(m);
	} else {
		sr_flush_one(m, 0);
	}
}

void
sr_flush_all(void)
{
	size_t i;
	struct msg *m;

	for (i = 0; i < sched.tabsz; i++)
		for (m = sched.tab[i]; m; m = m->hnext)
			m->flags |= M_FLUSH;
	heap_all_due(sched.now);
	log_info("flush of all messages by request: %zu scheduled",
	    sched.nheap);
}
