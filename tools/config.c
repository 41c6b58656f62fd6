/*
 * tern-config: show and check the configuration.
 *
 *   tern-config [-C DIR] [-n]     every key as "key = value" (-n: only
 *                                 the keys set in tern.conf)
 *   tern-config [-C DIR] KEY...   the values of these keys, one a line
 *   tern-config [-C DIR] check    tern.conf, the maps, the spool and the
 *                                 programs: "ok", or the problems
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
#include "mail/addr.h"
#include "util/buf.h"
#include "daemon/cfg.h"
#include "util/fsutil.h"
#include "lookup/map.h"
#include "daemon/priv.h"
#include "util/str.h"
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
	    "       %s [-C DIR] check\n", prog, prog, prog);
	exit(100);
}

static void
show(const char *name)
{
	const char *v = cfg_str(name);

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
	int r = priv_user(cfg_str(key), uid_r, &gid);

	if (r < 0)
		problem("%s %s: %s", key, cfg_str(key), strerror(errno));
	else if (r == 0)
		problem("%s %s: no such user", key, cfg_str(key));
}

/* spool_dir exists, is a directory, not writable by everyone, and (as
 * root) belongs to queue_user. */
static void
check_spool(void)
{
	const char *spool = cfg_str("spool_dir");
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (stat(spool, &st) < 0) {
		problem("spool_dir %s: %s", spool, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem("spool_dir %s: not a directory", spool);
		return;
	}
	if (st.st_mode & S_IWOTH)
		problem("spool_dir %s: writable by everyone", spool);
	/* a missing queue_user is reported by check_values */
	if (priv_is_root() &&
	    priv_user(cfg_str("queue_user"), &uid, &gid) > 0) {
		if (uid != st.st_uid)
			problem("spool_dir %s: owned by uid %lu, not by "
			    "queue_user %s", spool, (unsigned long)st.st_uid,
			    cfg_str("queue_user"));
	}
}

static void
check_programs(void)
{
	char path[4096];

	if (fs_join(path, sizeof path, cfg_str("program_dir"),
	    "tern-enqueue") < 0)
		problem("program_dir %s: name too long",
		    cfg_str("program_dir"));
	else if (access(path, X_OK) < 0)
		problem("program_dir: %s: %s", path, strerror(errno));
}

static void
check_values(void)
{
	static const char *const users[] = { "queue_user", "smtpd_user",
	    "deliver_user", "remote_user", "virtual_user", "pop3d_user",
	    NULL };
	struct buf a = BUF_INIT, out = BUF_INIT;
	const char *d, *e;
	size_t i;
	uid_t uid;

	if (cfg_list("local_domains", 0) == NULL)
		problem("local_domains is empty");
	for (i = 0; (d = cfg_list("local_domains", i)) != NULL; i++) {
		buf_reset(&a);
		if (buf_cats(&a, "x@") < 0 || buf_cats(&a, d) < 0 ||
		    addr_parse(a.s, a.len, ADDR_UTF8, &out, &e) != 1)
			problem("local_domains: bad domain '%s'", d);
	}
	buf_free(&a);
	buf_free(&out);
	if (strcmp(cfg_str("log"), "syslog") != 0 &&
	    strcmp(cfg_str("log"), "stderr") != 0)
		problem("log = %s: must be syslog or stderr", cfg_str("log"));
	if (cfg_log_facility(cfg_str("log_facility")) < 0)
		problem("log_facility = %s: unknown facility",
		    cfg_str("log_facility"));
	if (cfg_num("queue_min_backoff") > cfg_num("queue_max_backoff"))
		problem("queue_min_backoff is larger than queue_max_backoff");
	if (priv_is_root())
		for (i = 0; users[i]; i++)
			check_user(users[i], &uid);
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
	check_spool();
	check_programs();
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
		printf("%s\n", cfg_str(argv[i]));
	}
	if (argc > 0)
		return st;
	for (i = 0; cfg_keys[i].name; i++)
		if (!only_set || cfg_isset(cfg_keys[i].name))
			show(cfg_keys[i].name);
	return 0;
}
