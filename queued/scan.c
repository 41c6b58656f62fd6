/*
 * scan.c: the directory scans of tern-queued.
 *
 * At start-up (doc/DESIGN.md, "Recovery"): stale tmp/ files go, every
 * mess/ID is loaded with its state/ID and settled, state files without a
 * message and stale state/ID.tmp go, names that are not queue ids are moved
 * to corrupt/.  After that mess/ is never read as a directory again: new
 * messages are announced by todo/ID markers, and tern-queue's requests
 * arrive as todo/ID.ACTION files (hold, release, delete, bounce, flush),
 * todo/ID for a message already known (flush) and todo/ALL.flush (from
 * an older tern-queue), and as ctl/ files (tern-queue now: root,
 * queue_user and the members of queue_admin_group; see ctl_scan); all are
 * read on each wake-up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "queue/qid.h"
#include "queue/spool.h"
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

/* ---- ctl/: requests of tern-queue ---- */

#define CTL_FILES_MAX 1000       /* request files per wake-up */
#define CTL_TMP_MAX_AGE 3600     /* a ".name" older than that is debris */
#define CTL_CACHE_SIZE 16        /* uids whose membership is remembered */
#define CTL_CACHE_TTL 60         /* seconds: group edits count after that */
#define CTL_GROUPS_MAX 65536     /* supplementary groups looked at */

struct ctl_cache {
	uid_t uid;
	gid_t gid;               /* the admin gid it was checked against */
	int ok;
	time_t at;               /* 0: empty slot */
};

/*
 * The admin group's gid, looked up at each scan that finds a request (a
 * group made or renamed later counts without a restart); when it does not
 * exist, queue_user's group (ours), as tern-start does, said once.
 */
static gid_t
ctl_admin_gid(void)
{
	static int warned;
	gid_t gid = getgid();
	int r = spool_admin_gid(cfg_str(queue_admin_group), getgid(), &gid);

	if (r < 0)
		log_err("queue_admin_group %s: %s", cfg_str(queue_admin_group),
		    strerror(errno));
	else if (r == 0 && !warned++)
		log_warn("queue_admin_group %s does not exist: requests are "
		    "taken from root, queue_user and group %lu only",
		    cfg_str(queue_admin_group), (unsigned long)gid);
	else if (r > 0)
		warned = 0;
	return gid;
}

/* 1 if uid's primary or supplementary groups hold gid. */
static int
ctl_member(uid_t uid, gid_t gid)
{
	struct passwd *pw = getpwuid(uid);
	gid_t *groups = NULL, *ng;
	int n = 64, i, ok = 0;

	if (pw == NULL)
		return 0;
	if (pw->pw_gid == gid)
		return 1;
	for (;;) {
		int want = n;

		if ((ng = realloc(groups, (size_t)n * sizeof *groups)) == NULL)
			break;
		groups = ng;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0) {
			for (i = 0; i < n && !ok; i++)
				ok = groups[i] == gid;
			break;
		}
		/* too small: n is now the number needed */
		if (n <= want)
			n = want * 2;
		if (n > CTL_GROUPS_MAX)
			break;
	}
	free(groups);
	return ok;
}

/* May the owner of a request file make requests?  Root, queue_user (us)
 * and members of the admin group; membership is remembered a minute. */
static int
ctl_allowed(uid_t uid, gid_t gid)
{
	static struct ctl_cache cache[CTL_CACHE_SIZE];
	static size_t next;
	size_t i;
	int ok;

	if (uid == 0 || uid == geteuid())
		return 1;
	for (i = 0; i < CTL_CACHE_SIZE; i++)
		if (cache[i].at && cache[i].uid == uid && cache[i].gid == gid &&
		    sched.now - cache[i].at < CTL_CACHE_TTL)
			return cache[i].ok;
	ok = ctl_member(uid, gid);
	cache[next].uid = uid;
	cache[next].gid = gid;
	cache[next].ok = ok;
	cache[next].at = sched.now;
	next = (next + 1) % CTL_CACHE_SIZE;
	return ok;
}

/* The lines of one request file, each handed to sr_request. */
static void
ctl_lines(const char *name, uid_t uid, const char *text, size_t len)
{
	struct spool_req rq;
	const char *why;
	size_t pos = 0, n, lines = 0;
	char s[LOG_SAFE_MAX];

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		if (nl == NULL) {
			log_warn("ctl/%s: incomplete last line ignored", name);
			return;
		}
		n = (size_t)(nl - (text + pos));
		if (++lines > SPOOL_CTL_LINES_MAX) {
			log_warn("ctl/%s: more than %d lines: the rest ignored",
			    name, SPOOL_CTL_LINES_MAX);
			return;
		}
		if (!str_printable(text + pos, n))
			why = "control character";
		else if (spool_req_parse(text + pos, n, &rq, &why) > 0)
			why = NULL;
		if (why != NULL) {
			log_warn("ctl/%s line %zu: %s: \"%s\" ignored", name,
			    lines, why, log_safe(s, sizeof s, text + pos, n));
		} else {
			log_info("request uid=%lu %s %s", (unsigned long)uid,
			    spool_act_name(rq.act), rq.target == ST_ID ? rq.id :
			    rq.target == ST_ALL ? "ALL" : rq.target ==
			    ST_DEFERRED ? "DEFERRED" : rq.domain);
			if (rq.target == ST_DOMAIN) {
				char at[SPOOL_DOMAIN_MAX + 2];

				at[0] = '@';
				str_copy(at + 1, rq.domain, sizeof at - 1);
				sr_request(at, spool_act_name(rq.act));
			} else
				sr_request(rq.target == ST_ID ? rq.id :
				    rq.target == ST_ALL ? "ALL" : "DEFERRED",
				    spool_act_name(rq.act));
		}
		pos += n + 1;
	}
}

/* Read, check and carry out ctl/name, then remove it. */
static void
ctl_file(int dfd, const char *name, gid_t gid)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			log_err("ctl/%s: %s: removed", name, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		log_err("ctl/%s: %s: removed", name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SPOOL_CTL_SIZE_MAX) {
		log_warn("ctl/%s: %s: refused", name, S_ISREG(st.st_mode) ?
		    "too large" : "not a regular file");
		goto out;
	}
	if (!ctl_allowed(st.st_uid, gid)) {
		log_warn("ctl/%s: from uid %lu, who is neither root, queue_user "
		    "nor in queue_admin_group (gid %lu): refused", name,
		    (unsigned long)st.st_uid, (unsigned long)gid);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		log_err("ctl/%s: out of memory: removed", name);
		goto out;
	}
	while (len <= (size_t)st.st_size) {
		r = read(fd, text + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("ctl/%s: %s: removed", name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > (size_t)st.st_size) {
		log_warn("ctl/%s: grew while read: refused", name);
		goto out;
	}
	ctl_lines(name, st.st_uid, text, len);
out:
	free(text);
	if (fd >= 0)
		close(fd);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		log_err("unlink ctl/%s: %s", name, strerror(errno));
}

static int
ctl_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/*
 * ctl/: the request files of tern-queue, oldest first (their names sort
 * by time).  A file is taken only when its owner is root, queue_user or
 * a member of queue_admin_group: the directory (1730) lets only those
 * create files, and the check keeps a file left by a former member, or a
 * directory someone loosened, from counting.  Files being written (".")
 * are left alone unless they are old debris.
 */
static void
ctl_scan(void)
{
	static char (*names)[SPOOL_CTL_NAME_LEN + 1];
	static int said;
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	char s[LOG_SAFE_MAX];
	DIR *d = opendir(SPOOL_CTL);
	gid_t gid;

	if (d == NULL) {
		/* a spool from before ctl/: tern-start makes it */
		if (!said++)
			log_err("cannot read %s/: %s", SPOOL_CTL,
			    strerror(errno));
		return;
	}
	said = 0;
	if (names == NULL && (names = calloc(CTL_FILES_MAX,
	    sizeof *names)) == NULL)
		log_fatal("out of memory");
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (name[0] == '.') {
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW)
			    == 0 && sched.now - st.st_mtime > CTL_TMP_MAX_AGE &&
			    unlinkat(dirfd(d), name, 0) < 0)
				log_err("unlink ctl/%s: %s", sq_safe(s, name),
				    strerror(errno));
		} else if (!spool_ctl_name(name)) {
			log_warn("ctl/%s: not a request file name, removed",
			    sq_safe(s, name));
			if (unlinkat(dirfd(d), name, 0) < 0 && errno != ENOENT)
				log_err("unlink ctl/%s: %s", sq_safe(s, name),
				    strerror(errno));
		} else if (n < CTL_FILES_MAX) {
			str_copy(names[n++], name, sizeof names[0]);
		}
	}
	if (n > 0) {
		qsort(names, n, sizeof names[0], ctl_cmp);
		gid = ctl_admin_gid();
		for (i = 0; i < n; i++)
			ctl_file(dirfd(d), names[i], gid);
	}
	closedir(d);
	/* more than one pass takes: wake ourselves up again */
	if (n == CTL_FILES_MAX && write(sched.fifo, "", 1) < 0)
		log_warn("cannot write to the trigger: %s", strerror(errno));
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
	ctl_scan();
	/* more requests than one pass takes: wake ourselves up again */
	if (nreq == REQ_MAX && write(sched.fifo, "", 1) < 0)
		log_warn("cannot write to the trigger: %s", strerror(errno));
	return all_flush;
}
