/*
 * startup: the one start-up path of every tern daemon.
 *
 * Every daemon starts the same way, in this order (doc/DESIGN.md
 * "Start-up"):
 *
 *   startup_begin   1. the command line: -C DIR (and $TERN_CONFDIR),
 *                      --version;
 *                   2. stray fds: everything above keep_fd is closed, so
 *                      nothing a parent leaked reaches the network side;
 *                      a closed fd 0-2 gets /dev/null, and a closed fd
 *                      from 3 to keep_fd (one the daemon must be given)
 *                      is fatal, before any fd of ours can take its
 *                      number;
 *                   3. logging to stderr under the program's name, until
 *                      the config says where;
 *                   4. the config (tern.conf; an error names file:line and
 *                      is fatal, exit 111), then logging as it says;
 *   (the daemon)       what needs the privileges it starts with: open maps,
 *                      read keys, bind sockets, look up ids;
 *   startup_drop    5. signals through the self-pipe (lib/util/sig.h);
 *                   6. the checked privilege drop: setgroups -> setgid ->
 *                      setuid to the user that the config key names
 *                      (lib/daemon/priv.h; skipped when not root);
 *                   7. the capability set cleared down to the declared
 *                      ones;
 *                   8. with with_parent: SIGTERM when tern-start dies
 *                      (PR_SET_PDEATHSIG), so no orphan keeps working
 *                      on the spool beside the next tern-start.
 *
 * A daemon with a client waiting (tern-smtpd, tern-pop3d) names the
 * protocol line that tells the client (fail_reply: "421 ..." with CRLF);
 * a program that must fail in another way sets fail; otherwise
 * log_fatal is used.
 */
#ifndef TERN_STARTUP_H
#define TERN_STARTUP_H

#include <stddef.h>
#include <sys/capability.h>

struct startup {
	const char *name;        /* "tern-queued": log tag, --version */
	const char *usage;       /* "[-C DIR]": printed after the name */
	int keep_fd;             /* highest fd kept open by startup_begin */
	const char *user_key;    /* config key of the user to become, or
	                          * NULL to stay who we are */
	const cap_value_t *caps; /* capabilities kept after the drop */
	int ncaps;
	const int *sigs;         /* signals routed to the self-pipe */
	size_t nsigs;
	/* written to fd 1 before a fatal exit (NULL: nothing) */
	const char *fail_reply;
	/* 1: a child of tern-start, which must not outlive it: after the
	 * drop (which clears the setting) ask for SIGTERM when the parent
	 * dies, and exit at once if it already has (step 8) */
	int with_parent;
	/* > 0: the configuration is not read from tern.conf but from this
	 * fd (kept open by step 2 up to keep_fd), in tern.conf's format, as
	 * the parent that started us had it (cfg_load_text); 0: tern.conf */
	int conf_fd;
	/* fatal errors before the drop when there is no fail_reply; must not
	 * return (NULL: log_fatal) */
	void (*fail)(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
};

/* Fail before the session exists, the way st says: fail_reply to the
 * client and log_fatal, or st->fail, or log_fatal (exit 111). */
void startup_fail(const struct startup *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Steps 1-4.  Takes -C DIR out of argv (argc adjusted) and answers
 * --version (prints "NAME VERSION", exit 0).  When options is 0 and any
 * argument is left, prints the usage and exits 100.  Returns only when
 * the config is loaded. */
void startup_begin(const struct startup *st, int *argc, char **argv,
    int options);
/* Steps 5-7.  Fatal (st->fail or log_fatal) if the user does not exist
 * or any step fails. */
void startup_drop(const struct startup *st);
/* 1 if argv holds --version (before any "--"); for programs that parse
 * their own options but answer --version the common way. */
int startup_want_version(int argc, char **argv);
/* Print "NAME VERSION" on stdout and exit 0. */
void startup_version(const char *name) __attribute__((noreturn));

#endif
