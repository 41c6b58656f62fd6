/*
 * test_map: compiling the four table formats to cdb (lib/lookup/map*.c), typed
 * lookups, error reports with line numbers, duplicates, and the atomic
 * replace of the .cdb.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "lookup/map.h"
#include "t.h"

static char dir[64];
static char err[4096];
static struct buf val = BUF_INIT;

static const char *
path_of(const char *name)
{
	static char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void
write_file(const char *name, const char *text, size_t n)
{
	FILE *f = fopen(path_of(name), "w");

	if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		perror(name);
		exit(1);
	}
}

/* Write text as name and compile it; the map_compile result. */
static int
compile(const char *name, enum map_type type, const char *text, size_t *n)
{
	size_t dummy;

	write_file(name, text, strlen(text));
	return map_compile(path_of(name), type, n ? n : &dummy, err,
	    sizeof err);
}

/* Look key up in name.cdb; the value or NULL. */
static const char *
get(const char *name, const char *key)
{
	struct map m;
	char cdb[300];
	int r;

	snprintf(cdb, sizeof cdb, "%s.cdb", path_of(name));
	if (map_open(&m, cdb) != 1)
		return "(open failed)";
	r = map_get(&m, key, strlen(key), &val);
	map_close(&m);
	return r == 1 ? buf_str(&val) : NULL;
}

static int
exists(const char *name)
{
	return access(path_of(name), F_OK) == 0;
}

static void
t_users(void)
{
	size_t n = 0;
	char v[300];
	const char *hash, *md;
	unsigned long quota;
	struct stat st;

	T_EQ_INT(compile("users", MAP_USERS,
	    "# virtual users\n"
	    "\n"
	    "Demo@Example.TEST  $y$j9T$abc  -  10M\n"
	    "alice@example.test\t$6$salt$hash\n"
	    "bob@example.test * /var/mail/bob/Maildir 0\n"
	    "  carol@example.test ! carol/Maildir 2G\r\n"
	    "dave@example.test !$6$x$y - 512k", &n), 1);
	T_EQ_STR(err, "");
	T_EQ_INT(n, 5);
	T_EQ_STR(get("users", "demo@example.test"), "$y$j9T$abc\t-\t10485760");
	T_EQ_STR(get("users", "DEMO@example.TEST"), "$y$j9T$abc\t-\t10485760");
	T_EQ_STR(get("users", "alice@example.test"), "$6$salt$hash\t-\t0");
	T_EQ_STR(get("users", "bob@example.test"),
	    "*\t/var/mail/bob/Maildir\t0");
	T_EQ_STR(get("users", "carol@example.test"), "!\tcarol/Maildir\t2147483648");
	T_EQ_STR(get("users", "dave@example.test"), "!$6$x$y\t-\t524288");
	T_CHECK(get("users", "nobody@example.test") == NULL);
	T_CHECK(!exists("users.cdb.tmp"));
	T_CHECK(stat(path_of("users.cdb"), &st) == 0);

	snprintf(v, sizeof v, "%s", get("users", "demo@example.test"));
	T_EQ_INT(map_user_parse(v, &hash, &md, &quota), 1);
	T_EQ_STR(hash, "$y$j9T$abc");
	T_EQ_STR(md, "");
	T_EQ_INT(quota, 10485760);
	snprintf(v, sizeof v, "%s", get("users", "bob@example.test"));
	T_EQ_INT(map_user_parse(v, &hash, &md, &quota), 1);
	T_EQ_STR(md, "/var/mail/bob/Maildir");
	snprintf(v, sizeof v, "no tabs");
	T_EQ_INT(map_user_parse(v, &hash, &md, &quota), 0);
	snprintf(v, sizeof v, "h\td\tx");
	T_EQ_INT(map_user_parse(v, &hash, &md, &quota), 0);
}

/* Each bad line alone must fail with "file:1: msg" containing want. */
static void
bad(const char *name, enum map_type type, const char *line, const char *want)
{
	char prefix[300];

	if (!T_EQ_INT(compile(name, type, line, NULL), 0)) {
		printf("  line accepted: %s\n", line);
		return;
	}
	snprintf(prefix, sizeof prefix, "%s:1: ", path_of(name));
	T_CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
	if (!T_CHECK(strstr(err, want) != NULL))
		printf("  line: %s\n  got: %s\n  want: %s\n", line, err, want);
}

static void
t_users_bad(void)
{
	bad("users", MAP_USERS, "a@b", "expected ADDRESS HASH");
	bad("users", MAP_USERS, "a@b $1$x - 1 extra", "too many fields");
	bad("users", MAP_USERS, "a@b plaintext", "bad password hash");
	bad("users", MAP_USERS, "a@b ** ", "bad password hash");
	bad("users", MAP_USERS, "a b@c $x", "bad address 'a'");
	bad("users", MAP_USERS, "a@@b $x", "bad address 'a@@b'");
	bad("users", MAP_USERS, "ab $x", "bad address");
	bad("users", MAP_USERS, "a@b $x ../../etc", "'..' in Maildir path");
	bad("users", MAP_USERS, "a@b $x /x/../y", "'..' in Maildir path");
	bad("users", MAP_USERS, "a@b $x - 10T", "bad quota");
	bad("users", MAP_USERS, "a@b $x - -1", "bad quota");
	bad("users", MAP_USERS, "a@b $x - 99999999999999999999", "bad quota");
	bad("users", MAP_USERS, "a/b@c $x", "directory name");
	bad("users", MAP_USERS, "a@b $x\x01", "control character");
	/* but with an explicit Maildir a '/' in the local part is fine */
	T_EQ_INT(compile("users", MAP_USERS, "a/b@c $x /m/ab\n", NULL), 1);
}

static void
t_aliases(void)
{
	size_t n = 0;

	T_EQ_INT(compile("aliases", MAP_ALIASES,
	    "postmaster@example.test: demo\n"
	    "Team@Example.test: alice, bob@other.example , Carol\n"
	    "@catch.test: demo@example.test\n"
	    "@Catch2.TEST: someone\n"
	    "\"odd:key\"@example.test: demo\n"
	    "fwd@example.test:remote@far.example\n", &n), 1);
	T_EQ_STR(err, "");
	T_EQ_INT(n, 6);
	T_EQ_STR(get("aliases", "postmaster@example.test"), "demo@example.test");
	T_EQ_STR(get("aliases", "team@example.test"),
	    "alice@example.test,bob@other.example,Carol@example.test");
	T_EQ_STR(get("aliases", "@catch.test"), "demo@example.test");
	T_EQ_STR(get("aliases", "@catch2.test"), "someone@catch2.test");
	T_EQ_STR(get("aliases", "\"odd:key\"@example.test"), "demo@example.test");
	T_EQ_STR(get("aliases", "fwd@example.test"), "remote@far.example");

	/* classic /etc/aliases lines: a bare local part as key; its
	 * unqualified targets stay bare (qualified at lookup time) */
	T_EQ_INT(compile("aliases", MAP_ALIASES,
	    "root: demo@example.test\n"
	    "Abuse:Alice, x@far.example\n"
	    "\"odd:key\": demo\n", &n), 1);
	T_EQ_STR(err, "");
	T_EQ_INT(n, 3);
	T_EQ_STR(get("aliases", "root"), "demo@example.test");
	T_EQ_STR(get("aliases", "abuse"), "Alice,x@far.example");
	T_EQ_STR(get("aliases", "\"odd:key\""), "demo");

	bad("aliases", MAP_ALIASES, "a@b demo", "expected KEY: TARGET");
	bad("aliases", MAP_ALIASES, ": demo", "expected KEY: TARGET");
	bad("aliases", MAP_ALIASES, "a b: demo", "bad address 'a b': ");
	bad("aliases", MAP_ALIASES, "root: x y", "bad address 'x y': ");
	bad("aliases", MAP_ALIASES, "root: |/bin/sh", "pipe targets");
	bad("aliases", MAP_ALIASES, "root: \"a@b\"", "'@' in a local part");
	bad("aliases", MAP_ALIASES, "a@b:", "empty target");
	bad("aliases", MAP_ALIASES, "a@b: x,,y", "empty target");
	bad("aliases", MAP_ALIASES, "a@b: x,", "empty target");
	bad("aliases", MAP_ALIASES, "a@b: |/bin/sh", "pipe targets");
	bad("aliases", MAP_ALIASES, "a@b: /etc/passwd", "file targets");
	bad("aliases", MAP_ALIASES, "a@b: :include:/x", "include targets");
	bad("aliases", MAP_ALIASES, "a@b: x@y@z", "bad address");
	bad("aliases", MAP_ALIASES, "a@b: \"x,y\"@z", "comma in target");
	bad("aliases", MAP_ALIASES, "@b..c: x", "bad domain");
	bad("aliases", MAP_ALIASES, "a@b: x y", "bad address");
}

static void
t_access(void)
{
	struct map m;
	enum map_action act;
	const char *text;
	char cdb[300];

	T_EQ_INT(compile("access", MAP_ACCESS,
	    "192.0.2.0/24      REJECT  go away\n"
	    "192.0.2.7         OK\n"
	    "10.0.0.0/8        relay\n"
	    "2001:DB8::/32     DEFER   try later\n"
	    "0.0.0.0/0         discard\n"
	    "helo:Bad.Example  REJECT  liar\n"
	    "from:<>           REJECT  no bounces\n"
	    "from:@Spam.test   REJECT\n"
	    "from:Eve@x.test   DISCARD\n"
	    "to:@Backup.test   RELAY\n"
	    "to:abuse@here.test OK\n"
	    "helo:ok.example   OK # trusted\n"
	    "helo:no.example   REJECT issue#5 # why\n"
	    "# a whole line\n"
	    "   # indented\n", NULL), 1);
	T_EQ_STR(err, "");
	/* inline comments: one rule with tern.conf ('#' after a blank) */
	T_EQ_STR(get("access", "helo:ok.example"), "OK");
	T_EQ_STR(get("access", "helo:no.example"), "REJECT issue#5");
	T_EQ_STR(get("access", "192.0.2.0/24"), "REJECT go away");
	T_EQ_STR(get("access", "2001:db8::/32"), "DEFER try later");
	T_EQ_STR(get("access", "helo:bad.example"), "REJECT liar");
	T_EQ_STR(get("access", "from:"), "REJECT no bounces");
	T_EQ_STR(get("access", "from:@spam.test"), "REJECT");
	T_EQ_STR(get("access", "from:eve@x.test"), "DISCARD");
	T_EQ_STR(get("access", "to:@backup.test"), "RELAY");

	snprintf(cdb, sizeof cdb, "%s.cdb", path_of("access"));
	if (!T_EQ_INT(map_open(&m, cdb), 1))
		return;
	T_EQ_INT(map_access_ip(&m, "192.0.2.7", &val), 1);
	T_EQ_STR(buf_str(&val), "OK");
	T_EQ_INT(map_access_ip(&m, "192.0.2.8", &val), 1);
	T_EQ_STR(buf_str(&val), "REJECT go away");
	T_EQ_INT(map_access_ip(&m, "::ffff:192.0.2.9", &val), 1);
	T_EQ_STR(buf_str(&val), "REJECT go away");
	T_EQ_INT(map_access_ip(&m, "10.1.2.3", &val), 1);
	T_EQ_STR(buf_str(&val), "RELAY");
	T_EQ_INT(map_access_ip(&m, "8.8.8.8", &val), 1);
	T_EQ_STR(buf_str(&val), "DISCARD");
	T_EQ_INT(map_access_ip(&m, "2001:db8:1::5", &val), 1);
	T_EQ_STR(buf_str(&val), "DEFER try later");
	T_EQ_INT(map_access_ip(&m, "2001:db9::5", &val), 0);
	T_EQ_INT(map_access_ip(&m, "not-an-ip", &val), 0);
	T_EQ_INT(map_access_helo(&m, "BAD.example", &val), 1);
	T_EQ_INT(map_access_helo(&m, "good.example", &val), 0);
	T_EQ_INT(map_access_addr(&m, "from", "", &val), 1);
	T_EQ_STR(buf_str(&val), "REJECT no bounces");
	T_EQ_INT(map_access_addr(&m, "from", "anyone@spam.test", &val), 1);
	T_EQ_INT(map_access_addr(&m, "from", "Eve@x.test", &val), 1);
	T_EQ_STR(buf_str(&val), "DISCARD");
	T_EQ_INT(map_access_addr(&m, "from", "adam@x.test", &val), 0);
	T_EQ_INT(map_access_addr(&m, "to", "x@backup.test", &val), 1);
	T_EQ_INT(map_access_addr(&m, "to", "abuse@here.test", &val), 1);
	T_EQ_INT(map_access_addr(&m, "from", "abuse@here.test", &val), 0);
	map_close(&m);

	T_EQ_INT(map_access_parse("REJECT go away", &act, &text), 1);
	T_EQ_INT(act, MAP_REJECT);
	T_EQ_STR(text, "go away");
	T_EQ_INT(map_access_parse("OK", &act, &text), 1);
	T_EQ_INT(act, MAP_OK);
	T_EQ_STR(text, "");
	T_EQ_INT(map_access_parse("RELAYX", &act, &text), 0);

	bad("access", MAP_ACCESS, "192.0.2.1", "expected KEY ACTION");
	bad("access", MAP_ACCESS, "192.0.2.1 ALLOW", "bad action");
	bad("access", MAP_ACCESS, "192.0.2.1/24 OK", "host bits set");
	bad("access", MAP_ACCESS, "192.0.2.0/33 OK", "bad prefix length");
	bad("access", MAP_ACCESS, "192.0.2.300 OK", "bad key");
	bad("access", MAP_ACCESS, "example.com OK", "bad key");
	bad("access", MAP_ACCESS, "helo:x RELAY", "open relay");
	bad("access", MAP_ACCESS, "from:a@b RELAY", "open relay");
	bad("access", MAP_ACCESS, "to:<> OK", "bad address");
	bad("access", MAP_ACCESS, "from:a@@b OK", "bad address");
	bad("access", MAP_ACCESS, "1.2.3.4 REJECT caf\xc3\xa9", "printable ASCII");
}

static void
t_routes(void)
{
	struct map m;
	char cdb[300];

	T_EQ_INT(compile("routes", MAP_ROUTES,
	    "example.org      mx.Example.org\n"
	    ".example.org     [192.0.2.25]:2525\n"
	    "v6.test          [2001:DB8::1]\n"
	    "ip.test          127.0.0.1:2626\n"
	    "name.test        [Relay.Test]:2525  tls=verify cafile=/etc/ca.pem\n"
	    "auth.test        relay.test:587 auth=corp_1 tls=encrypt smtps\n"
	    "*                smarthost.test:587\n", NULL), 1);
	T_EQ_STR(err, "");
	snprintf(cdb, sizeof cdb, "%s.cdb", path_of("routes"));
	if (!T_EQ_INT(map_open(&m, cdb), 1))
		return;
	T_EQ_INT(map_route(&m, "example.org", &val), 1);
	T_EQ_STR(buf_str(&val), "mx.example.org");
	T_EQ_INT(map_route(&m, "a.b.example.org", &val), 1);
	T_EQ_STR(buf_str(&val), "[192.0.2.25]:2525");
	T_EQ_INT(map_route(&m, "v6.test", &val), 1);
	T_EQ_STR(buf_str(&val), "[2001:db8::1]");
	T_EQ_INT(map_route(&m, "ip.test", &val), 1);
	T_EQ_STR(buf_str(&val), "127.0.0.1:2626");
	T_EQ_INT(map_route(&m, "name.test", &val), 1);
	T_EQ_STR(buf_str(&val), "[relay.test]:2525 tls=verify cafile=/etc/ca.pem");
	T_EQ_INT(map_route(&m, "auth.test", &val), 1);
	T_EQ_STR(buf_str(&val), "relay.test:587 auth=corp_1 tls=encrypt smtps");
	T_EQ_INT(map_route(&m, "elsewhere.net", &val), 1);
	T_EQ_STR(buf_str(&val), "smarthost.test:587");
	T_EQ_INT(map_route(&m, "[192.0.2.1]", &val), 1);
	map_close(&m);

	bad("routes", MAP_ROUTES, "example.org", "expected DOMAIN HOST");
	bad("routes", MAP_ROUTES, "a b c", "unknown route option 'c'");
	bad("routes", MAP_ROUTES, "a b tls=x", "tls= must be");
	bad("routes", MAP_ROUTES, "a b auth=", "auth= wants");
	bad("routes", MAP_ROUTES, "a b auth=x/y", "auth= wants");
	bad("routes", MAP_ROUTES, "a b cafile=rel", "cafile= wants");
	bad("routes", MAP_ROUTES, "a b smtps=1", "unknown route option");
	bad("routes", MAP_ROUTES, "a b tls=may tls=may tls=may tls=may "
	    "tls=may tls=may tls=may", "too many fields");
	bad("routes", MAP_ROUTES, "a.test host:0", "bad port");
	bad("routes", MAP_ROUTES, "a.test host:65536", "bad port");
	bad("routes", MAP_ROUTES, "a.test host:", "bad port");
	bad("routes", MAP_ROUTES, "a.test [1.2.3]", "bad IP address");
	bad("routes", MAP_ROUTES, "a.test [1.2.3.4]x", "garbage after");
	bad("routes", MAP_ROUTES, "a..test h", "bad domain");
	bad("routes", MAP_ROUTES, "[1.2.3.4] h", "address literal not allowed");
	bad("routes", MAP_ROUTES, "a.test h_x", "bad domain");
}

static void
t_errors(void)
{
	char want[300], line[MAP_LINE_MAX + 10];
	size_t n;

	/* every bad line is reported with its number; nothing replaced */
	T_EQ_INT(compile("aliases", MAP_ALIASES, "a@x.test: b\n", NULL), 1);
	T_EQ_INT(compile("aliases", MAP_ALIASES,
	    "# comment\n"
	    "ok@x.test: y\n"
	    "bad@x.test |pipe\n"
	    "\n"
	    "also@x.test: |pipe\n"
	    "OK@X.test: z\n", NULL), 0);
	snprintf(want, sizeof want, "%s:3: expected KEY: TARGET", path_of("aliases"));
	T_CHECK(strstr(err, want) != NULL);
	snprintf(want, sizeof want, "\n%s:5: pipe targets are not supported",
	    path_of("aliases"));
	T_CHECK(strstr(err, want) != NULL);
	snprintf(want, sizeof want, "\n%s:6: duplicate key 'ok@x.test'",
	    path_of("aliases"));
	if (!T_CHECK(strstr(err, want) != NULL))
		printf("  got: %s\n", err);
	T_EQ_STR(get("aliases", "a@x.test"), "b@x.test");
	T_CHECK(get("aliases", "ok@x.test") == NULL);
	T_CHECK(!exists("aliases.cdb.tmp"));

	/* a line of exactly MAP_LINE_MAX bytes is fine, one more is not */
	memset(line, 'p', sizeof line);
	memcpy(line, "a@b $x /", 8);
	line[MAP_LINE_MAX] = '\n';
	line[MAP_LINE_MAX + 1] = '\0';
	T_EQ_INT(compile("users", MAP_USERS, line, NULL), 1);
	line[MAP_LINE_MAX] = 'p';
	line[MAP_LINE_MAX + 1] = '\n';
	line[MAP_LINE_MAX + 2] = '\0';
	T_EQ_INT(compile("users", MAP_USERS, line, NULL), 0);
	T_CHECK(strstr(err, ":1: line too long") != NULL);
	/* the line after an over-long one is still counted right */
	snprintf(line + MAP_LINE_MAX + 2, 8, "x y\n");
	T_EQ_INT(compile("users", MAP_USERS, line, NULL), 0);
	T_CHECK(strstr(err, ":2: bad address") != NULL);

	write_file("users", "a@b $x\0 - 1\n", 12);
	T_EQ_INT(map_compile(path_of("users"), MAP_USERS, &n, err, sizeof err), 0);
	T_CHECK(strstr(err, ":1: NUL byte") != NULL);

	/* error reports are capped */
	{
		struct buf b = BUF_INIT;
		int i;
		for (i = 0; i < 50; i++)
			buf_cats(&b, "bad\n");
		T_EQ_INT(compile("users", MAP_USERS, b.s, NULL), 0);
		T_CHECK(strstr(err, ":20: ") != NULL);
		T_CHECK(strstr(err, ":21: ") == NULL);
		T_CHECK(strstr(err, "more errors not shown") != NULL);
		buf_reset(&b);
		for (i = 0; i < MAP_ERRORS_MAX; i++)
			buf_cats(&b, "bad\n");
		T_EQ_INT(compile("users", MAP_USERS, b.s, NULL), 0);
		T_CHECK(strstr(err, ":20: ") != NULL);
		T_CHECK(strstr(err, "more errors") == NULL);
		buf_free(&b);
	}
	/* a tiny err buffer is never overrun */
	write_file("users", "bad\nbad\n", 8);
	T_EQ_INT(map_compile(path_of("users"), MAP_USERS, &n, err, 10), 0);
	T_EQ_INT(strlen(err), 9);

	/* missing file: a system error */
	T_EQ_INT(map_compile(path_of("nonexistent"), MAP_USERS, &n, err,
	    sizeof err), -1);
	T_CHECK(strstr(err, "No such file") != NULL);
}

static void
t_atomic(void)
{
	struct map m;
	char cdb[300], tmp[300];
	struct stat st;
	size_t n;
	int fd;

	snprintf(cdb, sizeof cdb, "%s.cdb", path_of("routes"));
	snprintf(tmp, sizeof tmp, "%s.cdb.tmp", path_of("routes"));
	T_EQ_INT(compile("routes", MAP_ROUTES, "a.test h1\n", NULL), 1);
	T_EQ_INT(map_open(&m, cdb), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	T_EQ_STR(buf_str(&val), "h1");
	T_EQ_INT(compile("routes", MAP_ROUTES, "a.test h2\nb.test h3\n", NULL), 1);
	/* the open cdb still is the old file until refreshed */
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	T_EQ_STR(buf_str(&val), "h1");
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	T_EQ_STR(buf_str(&val), "h2");
	T_EQ_INT(map_get(&m, "B.TEST", 6, &val), 1);
	T_EQ_INT(map_refresh(&m), 1);  /* unchanged: no reopen needed */
	T_EQ_INT(map_get(&m, "b.test", 6, &val), 1);
	/* removed table: empty */
	T_EQ_INT(unlink(cdb), 0);
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 0);
	map_close(&m);
	map_close(&m);  /* twice is harmless */

	/* a missing table is an empty map */
	T_EQ_INT(map_open(&m, path_of("none.cdb")), 1);
	T_EQ_INT(m.fd, -1);
	T_EQ_INT(map_get(&m, "x", 1, &val), 0);
	map_close(&m);

	/* the .cdb takes the text file's permissions (users holds hashes) */
	T_EQ_INT(compile("routes", MAP_ROUTES, "a.test h1\n", NULL), 1);
	T_EQ_INT(chmod(path_of("routes"), 0640), 0);
	T_EQ_INT(map_compile(path_of("routes"), MAP_ROUTES, &n, err, sizeof err), 1);
	T_CHECK(stat(cdb, &st) == 0 && (st.st_mode & 0777) == 0640);

	/* another compiler holding the tmp lock: refused, tmp left alone */
	fd = open(tmp, O_RDWR | O_CREAT, 0600);
	T_CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
	T_EQ_INT(map_compile(path_of("routes"), MAP_ROUTES, &n, err,
	    sizeof err), -1);
	T_CHECK(strstr(err, "another tern-map") != NULL);
	T_CHECK(access(tmp, F_OK) == 0);
	close(fd);
	/* a stale tmp from a crash is simply reused */
	T_EQ_INT(map_compile(path_of("routes"), MAP_ROUTES, &n, err,
	    sizeof err), 1);
	T_CHECK(access(tmp, F_OK) != 0);

	/* a corrupt cdb is an error, not an empty map */
	write_file("bad.cdb", "garbage", 7);
	T_EQ_INT(map_open(&m, path_of("bad.cdb")), -1);
	map_close(&m);
}

static void
t_check(void)
{
	size_t n = 0;

	write_file("access", "1.2.3.4 OK\n1.2.3.4 REJECT\n", 26);
	unlink(path_of("access.cdb"));
	T_EQ_INT(map_check(path_of("access"), MAP_ACCESS, &n, err, sizeof err), 0);
	T_CHECK(strstr(err, ":2: duplicate key '1.2.3.4/32'") != NULL);
	write_file("access", "1.2.3.4 OK\n", 11);
	T_EQ_INT(map_check(path_of("access"), MAP_ACCESS, &n, err, sizeof err), 1);
	T_EQ_INT(n, 1);
	T_CHECK(!exists("access.cdb"));
	T_EQ_INT(map_check(path_of("nonexistent"), MAP_ACCESS, &n, err,
	    sizeof err), -1);
}

static void
t_types(void)
{
	enum map_type t;

	T_EQ_INT(map_type_of("/etc/tern/users", &t), 1);
	T_EQ_INT(t, MAP_USERS);
	T_EQ_INT(map_type_of("aliases", &t), 1);
	T_EQ_INT(t, MAP_ALIASES);
	T_EQ_INT(map_type_of("x/access", &t), 1);
	T_EQ_INT(t, MAP_ACCESS);
	T_EQ_INT(map_type_of("routes", &t), 1);
	T_EQ_INT(t, MAP_ROUTES);
	T_EQ_INT(map_type_of("users.txt", &t), 0);
	T_EQ_INT(map_type_of("users/", &t), 0);
	T_EQ_STR(map_type_name(MAP_ROUTES), "routes");
}

static void
cleanup(void)
{
	static const char *names[] = { "users", "aliases", "access", "routes",
	    "bad", NULL };
	char p[300];
	int i;

	for (i = 0; names[i]; i++) {
		unlink(path_of(names[i]));
		snprintf(p, sizeof p, "%s.cdb", path_of(names[i]));
		unlink(p);
		snprintf(p, sizeof p, "%s.cdb.tmp", path_of(names[i]));
		unlink(p);
	}
	if (rmdir(dir) < 0)
		perror(dir);
}

/* Refresh periods: one stat per map and period; a new period sees a
 * rebuilt table at once.  Runs last: periods stay on for the process. */
static void
t_period(void)
{
	char cdb[4096];
	struct map m;

	snprintf(cdb, sizeof cdb, "%s.cdb", path_of("routes"));
	T_EQ_INT(compile("routes", MAP_ROUTES, "a.test p1\n", NULL), 1);
	T_EQ_INT(map_open(&m, cdb), 1);
	map_refresh_period();
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(compile("routes", MAP_ROUTES, "a.test p2\n", NULL), 1);
	/* same period: the file is not looked at again */
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	T_EQ_STR(buf_str(&val), "p1");
	/* the next period sees the new table with its first refresh */
	map_refresh_period();
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	T_EQ_STR(buf_str(&val), "p2");
	/* a removed table is seen the same way */
	T_EQ_INT(unlink(cdb), 0);
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 1);
	map_refresh_period();
	T_EQ_INT(map_refresh(&m), 1);
	T_EQ_INT(map_get(&m, "a.test", 6, &val), 0);
	map_close(&m);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/tern-test-map.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);
	t_users();
	t_users_bad();
	t_aliases();
	t_access();
	t_routes();
	t_errors();
	t_atomic();
	t_check();
	t_types();
	t_period();
	cleanup();
	buf_free(&val);
	T_DONE();
}
