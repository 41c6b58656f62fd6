/*
 * tern-config: show and check the configuration.
 *
 *   tern-config [-C DIR] [-n]     every key as "key = value" (-n: only
 *                                 the keys whose value is not the default)
 *   tern-config [-C DIR] KEY...   the values of these keys, one a line
 *   tern-config [-C DIR] check    tern.conf, the maps, the spool, the
 *                                 mailboxes, the key files and the
 *                                 programs: "ok", or the problems
 *   tern-config --version
 *
 * Exit: 0 ok, 1 a configuration error or a problem found, 100 usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "daemon/priv.h"
#include "queue/enq.h"
#include "queue/spool.h"
#include "lookup/map.h"
#include "net/tls.h"

static const char *prog = "tern-config";
static int problems;

static void problem(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
problem(const char *fmt, ...)
{
	va_list ap;

	problems++;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-C DIR] [-n]\n"
	    "       %s [-C DIR] KEY...\n"
	    "       %s [-C DIR] check\n"
	    "       %s --version\n", prog, prog, prog, prog);
	exit(100);
}

static void
show(const char *name)
{
	const char *v = cfg_str_named(name);

	printf("%s =%s%s\n", name, *v ? " " : "", v);
}

static long long
mtime_ns(const struct stat *st)
{
	return (long long)st->st_mtim.tv_sec * 1000000000LL +
	    st->st_mtim.tv_nsec;
}

/* One map: parses cleanly, has a .cdb at least as new as the text, and
 * users is not readable by everyone. */
static void
check_map(enum map_type type)
{
	static char err[16384];
	const char *text = cfg_file(map_type_name(type));
	struct buf cdb = BUF_INIT;
	struct stat ts, cs;
	size_t n;
	int r;

	if (stat(text, &ts) < 0) {
		if (errno != ENOENT)
			problem("%s: %s", text, strerror(errno));
		return;
	}
	if ((r = map_check(text, type, &n, err, sizeof err)) <= 0)
		problem("%s", err);
	if (buf_cats(&cdb, text) < 0 || buf_cats(&cdb, ".cdb") < 0) {
		problem("out of memory");
		return;
	}
	if (stat(cdb.s, &cs) < 0)
		problem("%s: %s: run tern-map %s", cdb.s, errno == ENOENT ?
		    "missing" : strerror(errno), text);
	else if (mtime_ns(&cs) < mtime_ns(&ts))
		problem("%s is older than %s: run tern-map %s", cdb.s, text,
		    text);
	else if (type == MAP_USERS && (cs.st_mode & S_IROTH))
		problem("%s is readable by everyone (it holds password "
		    "hashes): chmod o-r %s and run tern-map", cdb.s, text);
	buf_free(&cdb);
}

static void
check_user(const char *key, uid_t *uid_r)
{
	gid_t gid;
	int r = priv_user(cfg_str_named(key), uid_r, &gid);

	if (r < 0)
		problem("%s %s: %s", key, cfg_str_named(key), strerror(errno));
	else if (r == 0)
		problem("%s %s: no such user", key, cfg_str_named(key));
}

/*
 * The owner a directory or file of the instance must have: the user when
 * root (priv_user), else whoever runs the check, since then everything
 * runs as one user.  0 if the user does not exist (check_values says so).
 */
static int
want_owner(const char *key, uid_t *uid_r)
{
	gid_t gid;

	if (!priv_is_root()) {
		*uid_r = geteuid();
		return 1;
	}
	return priv_user(cfg_str_named(key), uid_r, &gid) > 0;
}

/*
 * path is a directory owned by the user of key, with no mode bits beyond
 * max (what tern-start creates); what names it in the messages.  1 if it
 * exists (whatever else is wrong), 0 if not.
 */
static int
check_dir(const char *what, const char *path, mode_t max, const char *key)
{
	struct stat st;
	uid_t uid;

	if (stat(path, &st) < 0) {
		problem("%s %s: %s%s", what, path, strerror(errno),
		    errno == ENOENT ? " (tern-start creates it)" : "");
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem("%s %s: not a directory", what, path);
		return 1;
	}
	if (st.st_mode & S_IWOTH)
		problem("%s %s: writable by everyone (mode %04o): chmod o-w %s",
		    what, path, (unsigned)(st.st_mode & 07777), path);
	else if (st.st_mode & 07777 & ~max)
		problem("%s %s: mode %04o, should be at most %04o", what, path,
		    (unsigned)(st.st_mode & 07777), (unsigned)max);
	if (want_owner(key, &uid) && st.st_uid != uid)
		problem("%s %s: owned by uid %lu, not by %s %s", what, path,
		    (unsigned long)st.st_uid, priv_is_root() ? key : "user",
		    priv_is_root() ? cfg_str_named(key) : "running the check");
	return 1;
}

/*
 * As root: the group a spool directory of the admin group must have
 * (spool.h): queue_admin_group, or queue_user's group when that group
 * does not exist (tern-start falls back to it; said once here too).
 */
static int
admin_group(gid_t *gid_r)
{
	static int said;
	uid_t uid;
	gid_t qgid;
	int r;

	if (!priv_is_root() || priv_user(cfg_str(queue_user), &uid, &qgid) <= 0)
		return 0;
	r = spool_admin_gid(cfg_str(queue_admin_group), qgid, gid_r);
	if (r < 0) {
		problem("queue_admin_group %s: %s", cfg_str(queue_admin_group),
		    strerror(errno));
		return 0;
	}
	/* not a problem (tern-start falls back too): said on stderr, so that
	 * a clean check still prints only "ok" */
	if (r == 0 && !said++)
		fprintf(stderr, "%s: note: queue_admin_group %s does not exist: "
		    "the spool uses the group of queue_user %s instead\n", prog,
		    cfg_str(queue_admin_group), cfg_str(queue_user));
	return 1;
}

/* The group of an admin directory (what tern-start sets at start). */
static void
check_group(const char *what, const char *path)
{
	struct stat st;
	gid_t gid;

	if (!admin_group(&gid) || stat(path, &st) < 0 || st.st_gid == gid)
		return;
	problem("%s %s: group %lu, should be %lu (queue_admin_group; "
	    "tern-start sets it)", what, path, (unsigned long)st.st_gid,
	    (unsigned long)gid);
}

/* spool_dir and what tern-start makes in it (lib/queue/spool.h):
 * the subdirectories with their modes, owned by queue_user, the group of
 * the ones the admin group reads, and the trigger FIFO. */
static void
check_spool(void)
{
	const char *spool = cfg_str(spool_dir);
	char p[FS_PATH_MAX];
	struct stat st;
	size_t i;

	if (!check_dir("spool_dir", spool, 0755, "queue_user"))
		return;
	check_group("spool_dir", spool);
	for (i = 0; spool_dirs[i].name != NULL; i++) {
		if (fs_join(p, sizeof p, spool, spool_dirs[i].name) < 0) {
			problem("spool_dir %s: name too long", spool);
			return;
		}
		if (check_dir("spool directory", p, spool_dirs[i].mode,
		    "queue_user") && spool_dirs[i].admin)
			check_group("spool directory", p);
	}
	if (fs_join(p, sizeof p, spool, SPOOL_TRIGGER) < 0)
		return;
	if (lstat(p, &st) < 0)
		problem("spool trigger %s: %s%s", p, strerror(errno),
		    errno == ENOENT ? " (tern-start creates it)" : "");
	else if (!S_ISFIFO(st.st_mode))
		problem("spool trigger %s: not a FIFO (remove it; tern-start "
		    "makes a new one)", p);
}

/* mail_dir: the base of the virtual mailboxes, owned by virtual_user,
 * not writable by group or others (anyone could plant mailboxes). */
static void
check_maildir(void)
{
	check_dir("mail_dir", cfg_str(mail_dir), 0755, "virtual_user");
}

/*
 * tern.conf names the programs root runs (program_dir) and the users they
 * become: writable by anyone but its owner, or owned by someone else than
 * root when root checks, it hands that power to them.
 */
static void
check_conf_file(void)
{
	const char *dir = cfg_dir();
	char path[FS_PATH_MAX];
	struct stat st;

	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		problem("configuration directory %s: writable by %s (mode "
		    "%04o): chmod go-w %s", dir, st.st_mode & S_IWOTH ?
		    "everyone" : "its group", (unsigned)(st.st_mode & 07777),
		    dir);
	if (fs_join(path, sizeof path, dir, "tern.conf") < 0 ||
	    stat(path, &st) < 0)
		return;  /* no tern.conf: all defaults */
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		problem("%s: writable by %s (mode %04o): chmod go-w %s", path,
		    st.st_mode & S_IWOTH ? "everyone" : "its group",
		    (unsigned)(st.st_mode & 07777), path);
	if (priv_is_root() && st.st_uid != 0)
		problem("%s: owned by uid %lu, not by root: chown root %s",
		    path, (unsigned long)st.st_uid, path);
}

/* A private key: not readable by group or others. */
static void
check_secret(const char *key, const char *path)
{
	struct stat st;

	if (path[0] == '\0')
		return;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || strcmp(key, "tls_ticket_key") != 0)
			problem("%s %s: %s", key, path, strerror(errno));
		return;  /* a missing ticket key is made by tern-start */
	}
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH))
		problem("%s %s: readable or writable by %s (mode %04o), it is "
		    "a secret: chmod go-rw %s", key, path, st.st_mode &
		    (S_IROTH | S_IWOTH) ? "everyone" : "its group",
		    (unsigned)(st.st_mode & 07777), path);
}

static void
check_keys(void)
{
	/* no tls_key: the private key is in tls_cert */
	if (cfg_str(tls_key)[0] != '\0')
		check_secret("tls_key", cfg_str(tls_key));
	else
		check_secret("tls_cert (holds the key)", cfg_str(tls_cert));
	check_secret("tls_ticket_key", cfg_str(tls_ticket_key));
}

/*
 * As root the instance has users: tern-enqueue, the only queue writer,
 * must be setuid to queue_user (and only that) for tern-sendmail and
 * tern-smtpd to reach the queue.  Run as one user nothing is set-id.
 */
static void
check_enqueue(const char *path)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (!priv_is_root() || stat(path, &st) < 0 ||
	    priv_user(cfg_str(queue_user), &uid, &gid) <= 0)
		return;
	if (!(st.st_mode & S_ISUID))
		problem("%s: not setuid (mode %04o): chown %s %s && chmod 4711 "
		    "%s", path, (unsigned)(st.st_mode & 07777),
		    cfg_str(queue_user), path, path);
	else if (st.st_uid != uid)
		problem("%s: setuid to uid %lu, not to queue_user %s", path,
		    (unsigned long)st.st_uid, cfg_str(queue_user));
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		problem("%s: writable by group or others (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
}

static void
check_programs(void)
{
	char path[FS_PATH_MAX];

	if (enq_path(path, sizeof path) < 0)
		problem("program_dir %s: name too long",
		    cfg_str(program_dir));
	else if (access(path, X_OK) < 0)
		problem("program_dir: %s: %s", path, strerror(errno));
	else
		check_enqueue(path);
}

static void
check_values(void)
{
	static const char *const users[] = { "queue_user", "smtpd_user",
	    "deliver_user", "remote_user", "virtual_user", "pop3d_user",
	    "imapd_user",
	    NULL };
	const char *why;
	size_t i;
	uid_t uid;

	/* the syntax of each value was checked by cfg_load (the key
	 * table); here what needs more than one key or the system */
	if (cfg_list(local_domains, 0) == NULL)
		problem("local_domains is empty");
	/* an empty hostname is the system's name, which cfg_load did not
	 * see: tern-smtpd refuses every client with 421 on a bad one */
	if (!cfg_host_ok(cfg_hostname(), &why))
		problem("hostname: the system host name '%s' is %s: set "
		    "hostname in tern.conf", cfg_hostname(), why);
	if (cfg_num(queue_min_backoff) > cfg_num(queue_max_backoff))
		problem("queue_min_backoff is larger than queue_max_backoff");
	if (priv_is_root())
		for (i = 0; users[i]; i++)
			check_user(users[i], &uid);
}

/* remote_credentials holds passwords: when it exists it must be
 * readable by remote_user alone (tern-remote refuses it otherwise), and
 * the routes that name credentials must find them there. */
static void
check_credentials(void)
{
	const char *path = cfg_str(remote_credentials);
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			problem("remote_credentials %s: %s", path,
			    strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		problem("remote_credentials %s: not a regular file", path);
	else if (st.st_mode & 077)
		problem("remote_credentials %s: readable by group or others "
		    "(mode %04o): tern-remote refuses it; chmod 600", path,
		    (unsigned)(st.st_mode & 07777));
	if (priv_is_root() && priv_user(cfg_str(remote_user), &uid, &gid) > 0 &&
	    st.st_uid != uid)
		problem("remote_credentials %s: owned by uid %lu, not "
		    "remote_user %s (which must read it)", path,
		    (unsigned long)st.st_uid, cfg_str(remote_user));
}

/* The certificate, key, ticket key and cipher settings load (the
 * servers build their TLS context lazily, so only this finds a broken
 * one before a client does). */
static void
check_tls(void)
{
	char err[512];
	int r = tls_server_init(err, sizeof err);

	if (r > 0)
		r = tls_server_prepare(err, sizeof err);
	if (r < 0)
		problem("TLS: %s", err);
}

static int
check(void)
{
	static const enum map_type maps[] = { MAP_USERS, MAP_ALIASES,
	    MAP_ACCESS, MAP_ROUTES };
	size_t i;

	check_values();
	for (i = 0; i < 4; i++)
		check_map(maps[i]);
	check_conf_file();
	check_spool();
	check_maildir();
	check_programs();
	check_keys();
	check_credentials();
	check_tls();
	if (problems)
		return 1;
	printf("ok\n");
	return 0;
}

static int
known(const char *name)
{
	size_t i;

	for (i = 0; cfg_keys[i].name; i++)
		if (strcmp(cfg_keys[i].name, name) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	char err[1024];
	int c, only_set = 0, i, st = 0, is_check;

	if (startup_want_version(argc, argv))
		startup_version("tern-config");
	while ((c = getopt(argc, argv, "n")) != -1) {
		if (c != 'n')
			usage();
		only_set = 1;
	}
	argc -= optind;
	argv += optind;
	is_check = argc == 1 && strcmp(argv[0], "check") == 0 && !only_set;
	if (cfg_load(dir, err, sizeof err) < 0) {
		fprintf(is_check ? stdout : stderr, "%s\n", err);
		return 1;
	}
	if (is_check)
		return check();
	if (argc > 0 && only_set)
		usage();
	for (i = 0; i < argc; i++) {
		if (!known(argv[i])) {
			fprintf(stderr, "%s: unknown key '%s'\n", prog,
			    argv[i]);
			st = 1;
			continue;
		}
		printf("%s\n", cfg_str_named(argv[i]));
	}
	if (argc > 0)
		return st;
	for (i = 0; cfg_keys[i].name; i++)
		if (!only_set || !cfg_isdefault_at((enum cfg_id)i))
			show(cfg_keys[i].name);
	return 0;
}
