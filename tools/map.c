/*
 * tern-map: compile lookup tables (users, aliases, access, routes) from
 * their text form to cdb, atomically (lib/lookup/map.c).  The formats are in
 * tern-map(8).
 *
 * Exit: 0 all compiled, 1 syntax errors (every one printed as
 * file:line: message; those tables are left as they were), 100 usage,
 * 111 system errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util/fsutil.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "lookup/map.h"

static const char *prog = "tern-map";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-C DIR] [-t users|aliases|access|routes] "
	    "[FILE...]\n       %s --version\n", prog, prog);
	exit(100);
}

static int
type_by_name(const char *s, enum map_type *t)
{
	static const enum map_type all[] = { MAP_USERS, MAP_ALIASES,
	    MAP_ACCESS, MAP_ROUTES };
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, map_type_name(all[i])) == 0) {
			*t = all[i];
			return 1;
		}
	return 0;
}

/* FILE as given if absolute or present relative to the working directory,
 * else DIR/FILE. */
static const char *
resolve(const char *file, char *out, size_t outsz)
{
	if (file[0] == '/' || access(file, F_OK) == 0)
		return file;
	if (fs_join(out, outsz, cfg_dir(), file) < 0)
		return file;
	return out;
}

/* Compile one file; its exit status (0, 1, 100 or 111). */
static int
compile(const char *file, int have_type, enum map_type type)
{
	static char err[16384];
	char buf[FS_PATH_MAX];
	const char *path = resolve(file, buf, sizeof buf);
	struct stat st;
	size_t n = 0;
	int r;

	if (access(path, F_OK) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return 111;
	}
	if (!have_type && !map_type_of(path, &type)) {
		fprintf(stderr, "%s: %s: unknown table type (the name must be "
		    "users, aliases, access or routes, or use -t)\n", prog,
		    path);
		return 100;
	}
	r = map_compile(path, type, &n, err, sizeof err);
	if (r > 0) {
		printf("%s.cdb: %zu entr%s\n", path, n, n == 1 ? "y" : "ies");
		if (type == MAP_USERS && stat(path, &st) == 0 &&
		    (st.st_mode & S_IROTH))
			fprintf(stderr, "%s: warning: %s is readable by "
			    "everyone and so is its .cdb: it holds password "
			    "hashes (chmod o-r it and run tern-map again)\n",
			    prog, path);
		return 0;
	}
	fprintf(stderr, "%s%s%s\n", r < 0 ? prog : "", r < 0 ? ": " : "", err);
	return r < 0 ? 111 : 1;
}

static int
worse(int a, int b)
{
	/* 111 (system) over 100 (usage) over 1 (syntax) over 0 */
	return a > b ? a : b;
}

int
main(int argc, char **argv)
{
	const char *dir = cfg_take_dir(&argc, argv);
	static const char *const names[] = { "users", "aliases", "access",
	    "routes", NULL };
	enum map_type type = MAP_USERS;
	char err[1024], path[FS_PATH_MAX];
	int c, have_type = 0, st = 0, any = 0, i;

	if (startup_want_version(argc, argv))
		startup_version("tern-map");

	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c != 't' || !type_by_name(optarg, &type))
			usage();
		have_type = 1;
	}
	argc -= optind;
	argv += optind;
	/* the tables do not depend on tern.conf, only its directory: a
	 * broken tern.conf must not stop newaliases */
	if (cfg_load(dir, err, sizeof err) < 0)
		fprintf(stderr, "%s: warning: %s\n", prog, err);
	for (i = 0; i < argc; i++)
		st = worse(st, compile(argv[i], have_type, type));
	if (argc > 0)
		return st;
	if (have_type)
		usage();
	/* no FILE: every table that exists in the configuration directory */
	for (i = 0; names[i]; i++) {
		if (fs_join(path, sizeof path, cfg_dir(), names[i]) < 0)
			continue;
		if (access(path, F_OK) < 0) {
			if (errno != ENOENT) {
				fprintf(stderr, "%s: %s: %s\n", prog, path,
				    strerror(errno));
				st = worse(st, 111);
			}
			continue;
		}
		any = 1;
		st = worse(st, compile(path, 0, type));
	}
	if (!any && st == 0)
		printf("%s: no tables in %s\n", prog, cfg_dir());
	return st;
}
