/*
 * startup: the one start-up path of every tern daemon (startup.h).
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/sig.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "daemon/startup.h"

/* the parent at start (tern-start for its children) */
static pid_t start_parent;

int
startup_want_version(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--version") == 0)
			return 1;
	}
	return 0;
}

void
startup_version(const char *name)
{
	if (printf("%s %s\n", name, TERN_VERSION) < 0 || fflush(stdout) != 0)
		exit(111);
	exit(0);
}

void
startup_fail(const struct startup *st, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (st->fail_reply != NULL)
		log_fatal_reply(1, st->fail_reply, "%s", msg);
	if (st->fail != NULL)
		st->fail("%s", msg);
	log_fatal("%s", msg);
}

/* fds 0-2 that are closed get /dev/null, and an fd above 2 up to keep_fd
 * that the daemon is given (tern-start's socket) must be open: else the
 * first fd we make ourselves (the self-pipe, a map) would take its
 * number and be taken for it. */
static void
startup_fds(const struct startup *st)
{
	int fd;

	for (fd = 0; fd <= st->keep_fd; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (fd > 2) {
			log_init(st->name, LOG_TO_STDERR, LOG_MAIL);
			log_fatal("fd %d is not open: %s is started by "
			    "tern-start", fd, st->name);
		}
		if (open("/dev/null", O_RDWR) != fd)
			_exit(111);
	}
}

void
startup_begin(const struct startup *st, int *argc, char **argv, int options)
{
	start_parent = getppid();
	const char *dir;
	char err[512];

	if (startup_want_version(*argc, argv))
		startup_version(st->name);
	dir = cfg_take_dir(argc, argv);
	if (!options && *argc > 1) {
		fprintf(stderr, "usage: %s %s\n", st->name,
		    st->usage != NULL ? st->usage : "[-C DIR]");
		exit(100);
	}
	fd_close_from(st->keep_fd + 1);
	startup_fds(st);
	log_init(st->name, LOG_TO_STDERR, LOG_MAIL);
	if (st->conf_fd > 0) {
		char *text = NULL;
		size_t len = 0;

		if (fs_read_fd(st->conf_fd, CFG_FILE_MAX, &text, &len) < 0)
			startup_fail(st, "configuration on fd %d: %s",
			    st->conf_fd, strerror(errno));
		(void)close(st->conf_fd);
		if (cfg_load_text(dir, "tern.conf (as passed on)", text, len,
		    err, sizeof err) < 0)
			startup_fail(st, "%s", err);
		free(text);
	} else if (cfg_load(dir, err, sizeof err) < 0)
		startup_fail(st, "%s", err);
	cfg_log_init(st->name);
	cfg_refresh_mark();
}

void
startup_drop(const struct startup *st)
{
	uid_t uid;
	gid_t gid;

	if (st->nsigs > 0)
		sig_catch(st->sigs, st->nsigs);
	if (st->user_key == NULL) {
		priv_caps_only(st->caps, st->ncaps);
	} else {
		/* priv_drop dies on a missing user too, but through
		 * log_fatal: check first so that st->fail can answer its
		 * client */
		if (priv_is_root() &&
		    priv_user(cfg_str_named(st->user_key), &uid, &gid) <= 0)
			startup_fail(st, "%s %s: no such user", st->user_key,
			    cfg_str_named(st->user_key));
		priv_drop(cfg_str_named(st->user_key), st->caps, st->ncaps);
	}
	if (!st->with_parent)
		return;
	/* after the drop: a change of credentials clears the setting */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		log_fatal("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	if (getppid() != start_parent)
		log_fatal("tern-start is gone: not running without it");
}
