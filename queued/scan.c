/*
 * scan.c: the directory scans of tern-queued.
 *
 * At start-up (doc/DESIGN.md, "Recovery"): stale tmp/ files go, every
 * mess/ID is loaded with its state/ID and settled, state files without a
 * message and stale state/ID.tmp go, names that are not queue ids are moved
 * to corrupt/.  After that mess/ is never read as a directory again: new
 * messages are announced by todo/ID markers, and tern-queue's requests
 * arrive as todo/ID.ACTION files (hold, release, delete, bounce, flush),
 * todo/ID for a message already known (flush) and todo/ALL.flush; all
 * are read on each wake-up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "queue/qid.h"
#include "queued.h"

#define NAME_SIZE 64
#define REQ_MAX 10000  /* requests handled per wake-up; the rest next time */

static DIR *
scan_open(const char *dir)
{
	DIR *d = opendir(dir);

	if (d == NULL)
		log_err("cannot read %s/: %s", dir, strerror(errno));
	return d;
}

static void
scan_unlink(const char *dir, const char *name)
{
	char p[NAME_SIZE * 2];

	if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
		return;
	if (unlink(p) < 0 && errno != ENOENT)
		log_err("unlink %s: %s", p, strerror(errno));
}

/* tmp/ files older than 36 hours are debris of a crashed tern-enqueue. */
void
sq_housekeeping(void)
{
	struct dirent *de;
	struct stat st;
	DIR *d = scan_open("tmp");

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (sched.now - st.st_mtime > SCHED_TMP_MAX_AGE) {
			log_info("removing stale tmp/%.*s", NAME_SIZE,
			    de->d_name);
			if (unlinkat(dirfd(d), de->d_name, 0) < 0)
				log_err("unlink tmp/%.*s: %s", NAME_SIZE,
				    de->d_name, strerror(errno));
		}
	}
	closedir(d);
}

/* Load and settle one message found in mess/ or announced in todo/. */
static void
scan_message(const char *id, int announced)
{
	struct msg *m = sq_find(id);
	char s[LOG_SAFE_MAX];

	if (m != NULL) {
		/* todo/ID for a message we have: tern-queue flush ID */
		if (announced)
			sr_request(id, "flush");
		return;
	}
	m = sq_add(id);
	if (sq_load(m) <= 0)
		return;  /* gone, moved to corrupt/, or retried later */
	if (announced)
		log_info("%s new from=<%s> nrcpt=%zu", id,
		    sq_safe(s, m->ld->env.sender), m->ld->env.nrcpt);
	sq_settle(m);
}

static void
recover_mess(void)
{
	struct dirent *de;
	DIR *d = scan_open("mess");
	char s[LOG_SAFE_MAX], from[NAME_SIZE * 2], to[NAME_SIZE * 2];
	size_t n = 0;

	if (d == NULL)
		log_fatal("the queue cannot be read");
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (qid_valid(de->d_name)) {
			scan_message(de->d_name, 0);
			n++;
			continue;
		}
		log_err("mess/%s: not a queue id, moved to corrupt/",
		    sq_safe(s, de->d_name));
		if (snprintf(from, sizeof from, "mess/%s", de->d_name) <
		    (int)sizeof from && snprintf(to, sizeof to, "corrupt/%s",
		    de->d_name) < (int)sizeof to && rename(from, to) < 0)
			log_err("rename %s: %s", from, strerror(errno));
	}
	closedir(d);
	log_info("recovery: %zu files in mess/, %zu messages kept, %zu "
	    "scheduled", n, sched.nmsg, sched.nheap);
}

static void
recover_state(void)
{
	struct dirent *de;
	DIR *d = scan_open("state");
	size_t n;

	if (d == NULL)
		log_fatal("the queue cannot be read");
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (n == QID_LEN + 4 && strcmp(de->d_name + QID_LEN, ".tmp") == 0)
			scan_unlink("state", de->d_name);  /* crashed write */
		else if (qid_valid(de->d_name) && sq_find(de->d_name) == NULL) {
			log_info("%s removing state without message",
			    de->d_name);
			scan_unlink("state", de->d_name);
		}
	}
	closedir(d);
}

void
sq_recover(void)
{
	sq_housekeeping();
	recover_mess();
	recover_state();
}

/* Is name "ID.ACTION"?  Then split it. */
static int
scan_request(const char *name, char id[QID_SIZE], const char **action_r)
{
	if (strlen(name) < QID_LEN + 2 || name[QID_LEN] != '.')
		return 0;
	memcpy(id, name, QID_LEN);
	id[QID_LEN] = '\0';
	*action_r = name + QID_LEN + 1;
	return qid_valid(id);
}

static void
scan_do_requests(char (*req)[NAME_SIZE], size_t nreq, int all_flush)
{
	char id[QID_SIZE];
	const char *action;
	size_t i;

	for (i = 0; i < nreq; i++) {
		if (scan_request(req[i], id, &action))
			sr_request(id, action);
		scan_unlink("todo", req[i]);
	}
	if (all_flush)
		scan_unlink("todo", "ALL.flush");
}

/*
 * todo/: markers of new messages first (so a request for a message that
 * was just queued finds it), then tern-queue's requests.  Returns 1 when
 * todo/ALL.flush was there: the caller flushes once, even when the 'F'
 * byte that tern-queue also sends arrives in the same wake-up.
 */
int
sq_scan_todo(void)
{
	static char (*req)[NAME_SIZE];
	struct dirent *de;
	DIR *d = scan_open("todo");
	char id[QID_SIZE], s[LOG_SAFE_MAX];
	const char *action;
	size_t nreq = 0;
	int all_flush = 0;

	if (d == NULL)
		return 0;
	if (req == NULL && (req = calloc(REQ_MAX, NAME_SIZE)) == NULL)
		log_fatal("out of memory");
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		if (name[0] == '.')
			continue;
		if (qid_valid(name)) {
			scan_message(name, 1);
			scan_unlink("todo", name);
		} else if (strcmp(name, "ALL.flush") == 0) {
			all_flush = 1;
		} else if (scan_request(name, id, &action) &&
		    strlen(name) < NAME_SIZE) {
			if (nreq < REQ_MAX)
				str_copy(req[nreq++], name, NAME_SIZE);
		} else {
			log_warn("todo/%s: unknown request, removed",
			    sq_safe(s, name));
			scan_unlink("todo", name);
		}
	}
	closedir(d);
	scan_do_requests(req, nreq, all_flush);
	/* more requests than one pass takes: wake ourselves up again */
	if (nreq == REQ_MAX && write(sched.fifo, "", 1) < 0)
		log_warn("cannot write to the trigger: %s", strerror(errno));
	return all_flush;
}
