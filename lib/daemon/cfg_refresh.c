/*
 * cfg_refresh: long-running programs follow edits of tern.conf
 * (cfg.h: cfg_refresh, cfg_refresh_mark).
 *
 * tern-smtpd under tcpserver, inetd or systemd reads tern.conf at every
 * connection; tern-queued and
 * tern-deliverd run for weeks.  Without this, a local domain added to
 * tern.conf would be accepted by tern-smtpd at once and then be treated
 * as remote by the queue until a restart.  The file's identity (device,
 * inode, size, mtime) is compared, so an edit in place and an atomic
 * replace (rename) are both seen.
 */
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "daemon/cfg.h"

static struct stat seen;
static int have_seen;
static time_t checked;
static int pending;
static int watch = -2;   /* -2: not made yet */

/* The identity of DIR/tern.conf into st: 1, or 0 (it is missing: all
 * defaults, and nothing to follow), -1 other error. */
static int
conf_stat(struct stat *st)
{
	int r = stat(cfg_file("tern.conf"), st) == 0 ? 1 :
	    errno == ENOENT ? 0 : -1;

	if (r == 0)
		memset(st, 0, sizeof *st);
	return r;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void
cfg_refresh_mark(void)
{
	checked = time(NULL);
	have_seen = conf_stat(&seen) >= 0;
	/* this stat comes after the load: a file written in between would
	 * look seen.  One that changed in the last seconds is therefore not
	 * taken as seen, and the first cfg_refresh loads it again (its own
	 * stat comes before its load) */
	if (have_seen && seen.st_mtim.tv_sec >= checked - 2)
		have_seen = 0;
}

int
cfg_refresh_pending(void)
{
	return pending;
}

/* One list for the programs of the queue side, so that they never
 * disagree about which file is in effect: what any applies only at
 * start (tern-remote reads tern.conf only at start, so its limit must
 * not change under tern-queued alone). */
static const enum cfg_id fixed[] = { CFG_ID_spool_dir, CFG_ID_queue_user,
    CFG_ID_deliver_user, CFG_ID_remote_user, CFG_ID_virtual_user,
    CFG_ID_program_dir, CFG_ID_local_concurrency, CFG_ID_remote_concurrency,
    CFG_ID_log, CFG_ID_log_facility };

int
cfg_refresh(unsigned interval)
{
	struct stat st;
	time_t now = time(NULL);
	char err[512];
	size_t i;

	pending = have_seen && now >= checked && now - checked < interval;
	if (pending)
		return 0;
	checked = now;
	if (conf_stat(&st) < 0 || (have_seen && same_file(&st, &seen)))
		return 0;
	seen = st;
	have_seen = 1;
	if (cfg_load(cfg_dir(), err, sizeof err) < 0) {
		log_warn("tern.conf changed but does not load: %s: keeping "
		    "the running configuration", err);
		return 0;
	}
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (cfg_changed(fixed[i])) {
			log_warn("tern.conf changed %s, which this program "
			    "applies only at start: keeping the running "
			    "configuration until tern-start reload",
			    cfg_keys[fixed[i]].name);
			(void)cfg_revert();
			return 0;
		}
	log_info("tern.conf changed: new configuration in effect");
	return 1;
}

int
cfg_watch_fd(void)
{
	if (watch != -2)
		return watch;
	watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch < 0) {
		log_warn("inotify: %s: tern.conf edits are seen at the next "
		    "event only", strerror(errno));
		watch = -1;
		return -1;
	}
	/* the directory, not the file: an editor or tern-config replaces
	 * tern.conf by rename, which a watch on the old inode would miss */
	if (inotify_add_watch(watch, cfg_dir(), IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_CREATE | IN_ATTRIB) < 0) {
		log_warn("inotify %s: %s: tern.conf edits are seen at the next "
		    "event only", cfg_dir(), strerror(errno));
		(void)close(watch);
		watch = -1;
	}
	return watch;
}

int
cfg_refresh_event(void)
{
	char b[4096];

	if (watch >= 0)
		while (read(watch, b, sizeof b) > 0)
			;
	return cfg_refresh(0);
}
