/*
 * req.c: tern-queue's requests, found in todo/ as ID.ACTION files
 * (and ALL.flush).
 *
 *   hold     no new attempts; the state file records H
 *   release  attempts resume on the recipients' own schedule
 *   delete   mess/ID and state/ID are removed, nothing is sent
 *   bounce   every pending recipient fails now, the sender gets a DSN
 *   flush    every pending local recipient is due now
 * A message with attempts in flight is changed when the last result is
 * back (sq_settle reads the flags), so a request never races a delivery.
 */
#include <string.h>

#include "util/log.h"
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
sr_hold(struct msg *m, int hold)
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
	log_info("%s %s by request", m->id, hold ? "held" : "released");
	/* loaded for this request only: write H and fix the heap now */
	if (m->inflight == 0 && !m->ld->ready)
		sq_settle(m);
}

void
sr_request(const char *id, const char *action)
{
	struct msg *m = sq_find(id);
	char s[LOG_SAFE_MAX];

	if (m == NULL) {
		log_warn("%s %s request: no such message", id,
		    sq_safe(s, action));
		return;
	}
	if (strcmp(action, "hold") == 0) {
		sr_hold(m, 1);
	} else if (strcmp(action, "release") == 0) {
		sr_hold(m, 0);
	} else if (strcmp(action, "delete") == 0) {
		m->flags |= M_DELETE;
		sr_apply(m);
	} else if (strcmp(action, "bounce") == 0) {
		m->flags |= M_BOUNCE;
		sr_apply(m);
	} else if (strcmp(action, "flush") == 0) {
		m->flags |= M_FLUSH;
		if (m->ld == NULL && m->hpos != HPOS_NONE)
			heap_set(m, sched.now);
		log_info("%s flush by request", m->id);
	} else {
		log_warn("%s unknown request \"%s\" ignored", id,
		    sq_safe(s, action));
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
