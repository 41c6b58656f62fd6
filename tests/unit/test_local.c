/*
 * test_local: recipient resolution (lib/lookup/local.c) against a temporary
 * configuration directory with tern.conf, users and aliases compiled by
 * map_compile: users, aliases, user+tag, catch-all, system accounts,
 * postmaster, unknown and non-local addresses, the spellings of one
 * address (case, trailing dot, +tag) and the bare keys of classic
 * aliases lines.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "daemon/cfg.h"
#include "lookup/local.h"
#include "lookup/map.h"
#include "t.h"

static char dir[64];
static char err[4096];
static char me[256];

static const char *
path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void
write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(name);
		exit(1);
	}
}

static int
load_conf(const char *extra)
{
	char conf[1024];

	snprintf(conf, sizeof conf,
	    "# test instance\n"
	    "local_domains = example.test, localhost catch.test\n"
	    "mail_dir = mail\n"
	    "virtual_user = %s\n"
	    "%s", me, extra);
	write_file("tern.conf", conf);
	if (cfg_load(dir, err, sizeof err) != 1) {
		printf("cfg_load: %s\n", err);
		return 0;
	}
	return 1;
}

static int
compile(const char *name, enum map_type type, const char *text)
{
	size_t n;
	char p[256];

	write_file(name, text);
	snprintf(p, sizeof p, "%s", path_of(name));
	if (map_compile(p, type, &n, err, sizeof err) != 1) {
		printf("map_compile: %s\n", err);
		return 0;
	}
	return 1;
}

static struct local_maps lm;
static struct local_target t;

static int
lookup(const char *addr)
{
	return local_lookup(&lm, addr, &t);
}

static void
t_users(void)
{
	char want[300];

	T_EQ_INT(lookup("demo@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_USER);
	T_EQ_STR(buf_str(&t.user), "demo@example.test");
	snprintf(want, sizeof want, "%s/mail/example.test/demo/Maildir", dir);
	T_EQ_STR(buf_str(&t.maildir), want);
	T_EQ_STR(buf_str(&t.tag), "");
	T_EQ_INT(t.quota, 0);
	T_EQ_INT(t.uid, getuid());
	T_EQ_INT(t.gid, getgid());

	T_EQ_INT(lookup("Demo@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_USER);
	T_EQ_STR(buf_str(&t.user), "demo@example.test");

	T_EQ_INT(lookup("alice@example.test"), 1);
	T_EQ_STR(buf_str(&t.maildir), "/srv/mail/alice");
	T_EQ_INT(t.quota, 1048576);

	T_EQ_INT(lookup("bob@example.test"), 1);
	snprintf(want, sizeof want, "%s/mail/boxes/bob", dir);
	T_EQ_STR(buf_str(&t.maildir), want);
}

/* Every spelling of demo reaches demo's one Maildir: the path is made
 * from the users-map key, never from the spelling (the issue: DEMO@
 * went to mail/example.test/DEMO/Maildir). */
static void
t_spellings(void)
{
	static const char *const sp[] = { "DEMO@example.test",
	    "demo@EXAMPLE.TEST.", "Demo+x@Example.Test", "\"Demo\"@example.test",
	    "dEmO@example.test." };
	char want[300];
	size_t i;

	snprintf(want, sizeof want, "%s/mail/example.test/demo/Maildir", dir);
	for (i = 0; i < sizeof sp / sizeof sp[0]; i++) {
		T_EQ_INT(lookup(sp[i]), 1);
		T_EQ_INT(t.kind, LOCAL_USER);
		T_EQ_STR(buf_str(&t.user), "demo@example.test");
		T_EQ_STR(buf_str(&t.maildir), want);
	}
	/* the tag keeps its spelling: it may name a folder */
	T_EQ_INT(lookup("DEMO+Lists@EXAMPLE.TEST."), 1);
	T_EQ_STR(buf_str(&t.tag), "Lists");
	/* aliases and the postmaster too */
	T_EQ_INT(lookup("TEAM@Example.Test."), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.user), "team@example.test");
	T_EQ_INT(lookup("PostMaster@LOCALHOST."), 1);
	T_EQ_STR(buf_str(&t.user), "postmaster@localhost");
}

static void
t_canon(void)
{
	struct buf b = BUF_INIT;

	T_EQ_INT(local_canon("DEMO@Example.Test.", 1, &b), 1);
	T_EQ_STR(buf_str(&b), "demo@example.test");
	T_EQ_INT(local_canon("DEMO@Example.Test.", 0, &b), 1);
	T_EQ_STR(buf_str(&b), "DEMO@example.test");
	T_EQ_INT(local_canon("\"Demo\"@x.test", 1, &b), 1);
	T_EQ_STR(buf_str(&b), "demo@x.test");
	/* no domain: the first of local_domains */
	T_EQ_INT(local_canon("Demo", 1, &b), 1);
	T_EQ_STR(buf_str(&b), "demo@example.test");
	T_EQ_INT(local_canon("", 1, &b), 0);
	T_EQ_INT(local_canon("demo@", 1, &b), 0);
	T_EQ_INT(local_canon("@example.test", 1, &b), 0);
	T_EQ_INT(local_canon("a b@example.test", 1, &b), 0);
	buf_free(&b);
}

/* Classic aliases lines: a bare local part as key is that local part in
 * every local domain, its unqualified targets in the looked-up domain. */
static void
t_bare(void)
{
	T_EQ_INT(lookup("mailer-daemon@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.user), "mailer-daemon");
	T_EQ_STR(buf_str(&t.targets), "demo@example.test");
	T_EQ_INT(lookup("Mailer-Daemon@LOCALHOST."), 1);
	T_EQ_STR(buf_str(&t.targets), "demo@example.test");
	T_EQ_INT(lookup("abuse@localhost"), 1);
	T_EQ_STR(buf_str(&t.targets), "alice@localhost,x@remote.example");
	T_EQ_INT(lookup("abuse+y@catch.test"), 1);
	T_EQ_STR(buf_str(&t.targets), "alice@catch.test,x@remote.example");
	T_EQ_STR(buf_str(&t.tag), "y");
	/* a full key wins over the bare one; not for other domains */
	T_EQ_INT(lookup("abuse@example.test"), 1);
	T_EQ_STR(buf_str(&t.targets), "bob@example.test");
	T_EQ_INT(lookup("mailer-daemon@other.example"), 0);
}

static void
t_tags(void)
{
	T_EQ_INT(lookup("demo+lists@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_USER);
	T_EQ_STR(buf_str(&t.user), "demo@example.test");
	T_EQ_STR(buf_str(&t.tag), "lists");
	T_EQ_INT(lookup("demo+Lists@example.test"), 1);
	T_EQ_STR(buf_str(&t.tag), "Lists");
	T_EQ_INT(lookup("demo+@example.test"), 1);
	T_EQ_STR(buf_str(&t.tag), "");
	/* an exact entry wins over the base */
	T_EQ_INT(lookup("demo+special@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.targets), "alice@example.test");
	T_EQ_STR(buf_str(&t.tag), "");
	/* aliases through the base too */
	T_EQ_INT(lookup("team+x@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.user), "team@example.test");
	T_EQ_STR(buf_str(&t.tag), "x");
	/* a leading delimiter is part of the name */
	T_EQ_INT(lookup("+demo@example.test"), 0);
}

static void
t_aliases(void)
{
	T_EQ_INT(lookup("team@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.targets),
	    "alice@example.test,bob@example.test,friend@remote.example");
	T_EQ_STR(buf_str(&t.maildir), "");

	T_EQ_INT(lookup("postmaster@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.targets), "demo@example.test");
	/* RCPT TO:<Postmaster>: the first local domain's */
	T_EQ_INT(lookup("postmaster"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.user), "postmaster@example.test");

	/* catch-all */
	T_EQ_INT(lookup("anything@catch.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
	T_EQ_STR(buf_str(&t.user), "@catch.test");
	T_EQ_STR(buf_str(&t.targets), "demo@example.test");
	T_EQ_INT(lookup("x+y@catch.test"), 1);
	T_EQ_INT(t.kind, LOCAL_ALIAS);
}

static void
t_unknown(void)
{
	T_EQ_INT(lookup("nosuchuser12345@example.test"), 0);
	T_EQ_INT(t.kind, LOCAL_NONE);
	T_EQ_INT(lookup("demo@other.example"), 0);
	T_EQ_INT(lookup("demo@"), 0);
	T_EQ_INT(lookup("demo@[127.0.0.1]"), 0);
	T_CHECK(local_domain("example.test"));
	T_CHECK(local_domain("EXAMPLE.TEST"));
	T_CHECK(local_domain("catch.test"));
	T_CHECK(!local_domain("other.example"));
	T_CHECK(!local_domain(""));
	/* postmaster of every local domain is accepted even if unknown */
	T_EQ_INT(lookup("postmaster@localhost"), 1);
	T_EQ_INT(t.kind, LOCAL_NONE);
	T_EQ_STR(buf_str(&t.user), "postmaster@localhost");
	T_EQ_INT(lookup("PostMaster@localhost"), 1);
	T_EQ_INT(lookup("postmaster@other.example"), 0);
}

static void
t_system(void)
{
	struct passwd *pw = getpwnam("nobody");
	char want[300];

	/* system_users = no (the default) */
	T_EQ_INT(lookup("nobody@localhost"), 0);
	if (!load_conf("system_users = yes\n"))
		return;
	if (pw == NULL) {
		printf("no user nobody: system account test skipped\n");
		return;
	}
	snprintf(want, sizeof want, "%s/Maildir", pw->pw_dir);
	T_EQ_INT(lookup("nobody@localhost"), 1);
	T_EQ_INT(t.kind, LOCAL_SYSTEM);
	T_EQ_STR(buf_str(&t.user), "nobody");
	T_EQ_STR(buf_str(&t.maildir), want);
	T_EQ_INT(t.uid, pw->pw_uid);
	T_EQ_INT(lookup("Nobody+tag@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_SYSTEM);
	T_EQ_STR(buf_str(&t.tag), "tag");
	/* users map before system accounts; never root */
	T_EQ_INT(lookup("demo@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_USER);
	T_EQ_INT(lookup("root@localhost"), 0);
	T_EQ_INT(lookup("nosuchuser12345@localhost"), 0);
	/* other delimiters */
	if (!load_conf("system_users = yes\nrecipient_delimiter = -+\n"))
		return;
	T_EQ_INT(lookup("demo-x@example.test"), 1);
	T_EQ_STR(buf_str(&t.tag), "x");
	if (!load_conf("recipient_delimiter =\n"))
		return;
	T_EQ_INT(lookup("demo+x@example.test"), 0);
}

static void
t_refresh(void)
{
	if (!load_conf(""))
		return;
	T_EQ_INT(lookup("new@example.test"), 0);
	if (!compile("users", MAP_USERS, "new@example.test $6$x$y\n"))
		return;
	T_EQ_INT(lookup("new@example.test"), 1);
	T_EQ_INT(lookup("demo@example.test"), 0);
	/* no tables at all: nobody but postmaster */
	unlink(path_of("users.cdb"));
	unlink(path_of("aliases.cdb"));
	T_EQ_INT(lookup("new@example.test"), 0);
	T_EQ_INT(lookup("postmaster@example.test"), 1);
	T_EQ_INT(t.kind, LOCAL_NONE);
	/* as root, a missing virtual_user is a temporary failure */
	if (getuid() == 0) {
		compile("users", MAP_USERS, "new@example.test $6$x$y\n");
		write_file("tern.conf", "local_domains = example.test\n"
		    "virtual_user = nosuchuser12345\n");
		T_EQ_INT(cfg_load(dir, err, sizeof err), 1);
		/* the mailbox owner is fixed when the maps are opened */
		local_close(&lm);
		T_EQ_INT(local_open(&lm), 1);
		errno = 0;
		T_EQ_INT(lookup("new@example.test"), -1);
		T_EQ_INT(errno, ENOENT);
	}
}

static void
cleanup(void)
{
	static const char *names[] = { "users", "aliases", "users.cdb",
	    "aliases.cdb", "tern.conf", NULL };
	int i;

	for (i = 0; names[i]; i++)
		unlink(path_of(names[i]));
	if (rmdir(dir) < 0)
		perror(dir);
}

int
main(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw == NULL) {
		printf("no passwd entry for uid %u\n", (unsigned)getuid());
		return 1;
	}
	snprintf(me, sizeof me, "%s", pw->pw_name);
	snprintf(dir, sizeof dir, "/tmp/tern-test-local.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (!load_conf("") ||
	    !compile("users", MAP_USERS,
	    "demo@example.test   $y$j9T$x$y\n"
	    "alice@example.test  $6$s$h  /srv/mail/alice  1M\n"
	    "bob@example.test    $6$s$h  boxes/bob\n") ||
	    !compile("aliases", MAP_ALIASES,
	    "postmaster@example.test: demo\n"
	    "team@example.test: alice, bob, friend@remote.example\n"
	    "demo+special@example.test: alice\n"
	    "@catch.test: demo@example.test\n"
	    "MAILER-DAEMON: demo@example.test\n"
	    "abuse:alice, x@remote.example\n"
	    "abuse@example.test: bob\n"))
		return 1;
	if (!T_EQ_INT(local_open(&lm), 1))
		T_DONE();
	t_users();
	t_spellings();
	t_canon();
	t_bare();
	t_tags();
	t_aliases();
	t_unknown();
	t_system();
	t_refresh();
	local_close(&lm);
	local_target_free(&t);
	cleanup();
	T_DONE();
}
