/*
 * Unit tests of the core lib modules: buf, str, io (line reader limits),
 * cfg (parsing, errors with file:line, units, relative paths), fsutil,
 * qid and log_safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "queue/qid.h"
#include "t.h"

static void
test_buf(void)
{
	struct buf b = BUF_INIT;
	size_t i;

	T_EQ_STR(buf_str(&b), "");
	T_CHECK(buf_cats(&b, "ab") == 1);
	T_CHECK(buf_cat(&b, "\0c", 2) == 1);
	T_EQ_INT(b.len, 4);
	T_EQ_MEM(b.s, b.len, "ab\0c", 4);
	T_CHECK(b.s[b.len] == '\0');
	buf_reset(&b);
	T_CHECK(buf_catf(&b, "%d-%s", 42, "x") == 1);
	T_EQ_STR(b.s, "42-x");
	T_CHECK(buf_catu(&b, 18446744073709551615ULL) == 1);
	T_EQ_STR(b.s, "42-x18446744073709551615");
	buf_consume(&b, 3);
	T_EQ_STR(b.s, "x18446744073709551615");
	buf_truncate(&b, 1);
	T_EQ_STR(b.s, "x");
	for (i = 0; i < 10000; i++)
		buf_catc(&b, 'y');
	T_EQ_INT(b.len, 10001);
	T_CHECK(buf_ready(&b, BUF_MAX) == -1 && errno == EOVERFLOW);
	T_CHECK(buf_ready(&b, (size_t)-1) == -1);
	buf_free(&b);
	T_CHECK(b.s == NULL && b.len == 0);
}

static void
test_str(void)
{
	unsigned long v;

	T_CHECK(str_ulongs("123", 1000, &v) == 1 && v == 123);
	T_CHECK(str_ulongs("1001", 1000, &v) == 0);
	T_CHECK(str_ulongs("", 1000, &v) == 0);
	T_CHECK(str_ulongs("12a", 1000, &v) == 0);
	T_CHECK(str_ulongs("-1", 1000, &v) == 0);
	T_CHECK(str_ulongs("5", 0, &v) == 0);   /* a digit above max */
	T_CHECK(str_ulongs("0", 0, &v) == 1 && v == 0);
	T_CHECK(str_ulongs("99999999999999999999999", (unsigned long)-1, &v)
	    == 0);
	T_CHECK(str_caseeq("HeLLo", "hello"));
	T_CHECK(!str_caseeq("hello", "hell"));
	T_CHECK(str_casestart("MAIL FROM:<a>", "mail from:"));
	T_CHECK(!str_casestart("MAIL", "mail from:"));
	char d[4];
	T_CHECK(str_copy(d, "abcdef", sizeof d) == 6);
	T_EQ_STR(d, "abc");
	T_CHECK(str_printable("abc", 3));
	T_CHECK(!str_printable("a\nc", 3));
	T_EQ_INT(str_uncomment("a # b", 5), 2);
	T_EQ_INT(str_uncomment("a#b", 3), 3);
	T_EQ_INT(str_uncomment("# x", 3), 0);
	T_EQ_INT(str_uncomment("a\t#b", 4), 2);
	T_EQ_INT(str_uncomment("", 0), 0);
	T_CHECK(!str_printable("a\x7f", 2));
}

/* Feed s through a pipe and read lines with the given limit. */
static void
test_io(void)
{
	int p[2];
	struct io io;
	char line[11];
	size_t n;
	const char *in = "short\n0123456789abcdef\nlast\nno-newline";

	T_CHECK(pipe(p) == 0);
	T_CHECK(fd_write_all(p[1], in, strlen(in)) == 1);
	close(p[1]);
	io_init(&io, p[0], -1, 5);
	T_CHECK(io_getline(&io, line, 10, &n) == 1);
	T_EQ_MEM(line, n, "short\n", 6);
	T_CHECK(io_getline(&io, line, 10, &n) == -1 && errno == EMSGSIZE);
	T_CHECK(io_getline(&io, line, 10, &n) == 1);
	T_EQ_STR(line, "last\n");
	T_CHECK(io_getline(&io, line, 10, &n) == 1);
	T_EQ_STR(line, "no-newline");
	T_CHECK(io_getline(&io, line, 10, &n) == 0);
	close(p[0]);

	/* a timeout is ETIMEDOUT, not a hang */
	T_CHECK(pipe(p) == 0);
	io_init(&io, p[0], -1, 1);
	T_CHECK(io_getline(&io, line, 10, &n) == -1 && errno == ETIMEDOUT);
	close(p[0]);
	close(p[1]);
}

static void
write_conf(const char *dir, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/tern.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_CHECK(fd >= 0);
	T_CHECK(fd_write_all(fd, text, strlen(text)) == 1);
	close(fd);
}

static void
test_cfg(const char *dir)
{
	char err[512];

	write_conf(dir, "# comment\n\nlocal_domains = a.test, B.test c.test\n"
	    "message_size_limit = 10M\nqueue_lifetime=2d\n"
	    "spool_dir = ../spool\nsystem_users = yes\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_EQ_STR(cfg_list(local_domains, 1), "B.test");
	T_CHECK(cfg_list(local_domains, 3) == NULL);
	T_CHECK(cfg_inlist(local_domains, "b.TEST"));
	T_CHECK(!cfg_inlist(local_domains, "d.test"));
	T_CHECK(cfg_inlist(local_domains, "b.test."));
	T_CHECK(!cfg_inlist(local_domains, "b.tes"));
	T_CHECK(!cfg_inlist(local_domains, "."));
	T_EQ_INT(cfg_num(message_size_limit), 10 * 1024 * 1024);
	T_EQ_INT(cfg_num(queue_lifetime), 2 * 86400);
	T_CHECK(cfg_bool(system_users));
	T_CHECK(cfg_isset(spool_dir) && !cfg_isset(log));
	T_CHECK(strncmp(cfg_str(spool_dir), dir, strlen(dir)) == 0);
	T_CHECK(strstr(cfg_str(spool_dir), "/../spool") != NULL);
	T_EQ_INT(cfg_num(smtpd_timeout), 300);
	T_CHECK(strstr(cfg_file("users"), "/users") != NULL);

	write_conf(dir, "log = stderr\nbogus = 1\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, "tern.conf:2: unknown key 'bogus'") != NULL);
	write_conf(dir, "smtpd_timeout = 0\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":1: smtpd_timeout: out of range") != NULL);
	write_conf(dir, "smtpd_timeout = 5x\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	write_conf(dir, "log = stderr\nlog = syslog\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":2: 'log' is set twice") != NULL);
	write_conf(dir, "system_users = maybe\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	write_conf(dir, "just words\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":1: expected key = value") != NULL);
}

/* Inline comments, value checks of the key table, a failed reload keeps
 * the old configuration, cfg_isdefault. */
static void
test_cfg_rules(const char *dir)
{
	char err[512], big[400];

	write_conf(dir, "hostname = mx.example.test # the MX\n"
	    "smtpd_banner = tern#1\t# banner\nlocal_domains =# none\n"
	    "queue_lifetime = 5d\nlog = stderr\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_EQ_STR(cfg_str(hostname), "mx.example.test");
	T_EQ_STR(cfg_str(smtpd_banner), "tern#1");
	T_CHECK(cfg_list(local_domains, 0) == NULL);
	T_CHECK(cfg_isdefault(queue_lifetime));  /* set, but the default */
	T_CHECK(cfg_isset(queue_lifetime));
	T_CHECK(!cfg_isdefault(log));
	T_CHECK(!cfg_isdefault(hostname));
	T_CHECK(!cfg_isdefault(local_domains));
	T_CHECK(cfg_isdefault(spool_dir));

	/* what tern-smtpd would refuse with 421 is refused here, file:line */
	write_conf(dir, "\nhostname = mx example\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, "tern.conf:2: hostname: not a host name") != NULL);
	T_EQ_STR(cfg_str(hostname), "mx.example.test");  /* old one kept */
	T_EQ_STR(cfg_str(log), "stderr");
	memset(big, 'a', sizeof big);
	memcpy(big, "hostname = ", 11);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	write_conf(dir, big);
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":1: hostname: longer than 253 characters") != NULL);
	write_conf(dir, "local_domains = a.test b..test\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":1: local_domains: not a domain name") != NULL);
	write_conf(dir, "log = file\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	T_CHECK(strstr(err, ":1: log: must be syslog or stderr") != NULL);
	write_conf(dir, "log_facility = local9\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	write_conf(dir, "dnsbl_action = drop\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == -1);
	write_conf(dir, "message_size_limit = 25M\nsystem_users = off\n"
	    "local_domains = LOCALHOST\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_CHECK(cfg_isdefault(message_size_limit));
	T_CHECK(cfg_isdefault(system_users));
	T_CHECK(cfg_isdefault(local_domains));
	T_CHECK(cfg_host_ok("localhost", &(const char *){ NULL }));
	/* cfg_revert: back to what the last good load replaced; the cached
	 * host name follows the configuration in use */
	write_conf(dir, "hostname = one.example\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_EQ_STR(cfg_hostname(), "one.example");
	write_conf(dir, "hostname = two.example\nsmtpd_timeout = 7\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_EQ_STR(cfg_hostname(), "two.example");
	T_EQ_INT(cfg_num(smtpd_timeout), 7);
	T_EQ_INT(cfg_revert(), 1);
	T_EQ_STR(cfg_hostname(), "one.example");
	T_EQ_INT(cfg_num(smtpd_timeout), 300);
	T_EQ_INT(cfg_revert(), 0);
	T_EQ_STR(cfg_str(hostname), "one.example");
	/* a list with more words than CFG_WORDS_MAX is an error, not cut */
	{
		static char many[20000];
		size_t o = 0, i;

		o += (size_t)snprintf(many, sizeof many, "local_domains =");
		for (i = 0; i < 1100; i++)
			o += (size_t)snprintf(many + o, sizeof many - o, " a");
		snprintf(many + o, sizeof many - o, "\n");
		write_conf(dir, many);
		T_CHECK(cfg_load(dir, err, sizeof err) == -1);
		T_CHECK(strstr(err, "local_domains: too many words") != NULL);
	}
	/* a trailing dot in local_domains: the same domain */
	write_conf(dir, "local_domains = Example.Test.\n");
	T_CHECK(cfg_load(dir, err, sizeof err) == 1);
	T_CHECK(cfg_inlist(local_domains, "example.test"));
}

static void
test_cfg_argv(void)
{
	char a0[] = "prog", a1[] = "-C", a2[] = "/x", a3[] = "arg";
	char *argv[] = { a0, a1, a2, a3, NULL };
	int argc = 4;

	T_EQ_STR(cfg_take_dir(&argc, argv), "/x");
	T_EQ_INT(argc, 2);
	T_EQ_STR(argv[1], "arg");
	T_CHECK(argv[2] == NULL);
}

static void
test_fs(const char *dir)
{
	char path[512], tmp[512], *data;
	size_t len;

	T_CHECK(fs_join(path, sizeof path, dir, "f") == 1);
	T_CHECK(fs_join(tmp, sizeof tmp, dir, "f.tmp") == 1);
	T_CHECK(fs_atomic_write(path, tmp, "one", 3, 0600) == 1);
	T_CHECK(fs_atomic_write(path, tmp, "two!", 4, 0600) == 1);
	T_CHECK(access(tmp, F_OK) < 0);
	T_CHECK(fs_read_file(path, 100, &data, &len) == 1);
	T_EQ_MEM(data, len, "two!", 4);
	free(data);
	/* fs_replace: the same without fsyncs, past a stale tmp file */
	{
		int fd = open(tmp, O_WRONLY | O_CREAT, 0600);

		T_CHECK(fd >= 0 && close(fd) == 0);
		T_CHECK(fs_replace(path, tmp, "six", 3, 0600) == 1);
		T_CHECK(access(tmp, F_OK) < 0);
		T_CHECK(fs_read_file(path, 100, &data, &len) == 1);
		T_EQ_MEM(data, len, "six", 3);
		free(data);
		T_CHECK(fs_atomic_write(path, tmp, "two!", 4, 0600) == 1);
	}
	T_CHECK(fs_read_file(path, 3, &data, &len) == -1 && errno == EFBIG);
	/* exactly max bytes fit */
	T_CHECK(fs_read_file(path, 4, &data, &len) == 1);
	T_EQ_MEM(data, len, "two!", 4);
	free(data);
	/* a /proc file has size 0 in stat: read to EOF */
	T_CHECK(fs_read_file("/proc/self/status", 1 << 20, &data, &len) == 1);
	T_CHECK(len > 0 && strstr(data, "Pid:") != NULL);
	free(data);
	T_CHECK(fs_read_file("/proc/self/status", 8, &data, &len) == -1 &&
	    errno == EFBIG);
	{
		struct stat st;
		char type[32];

		T_CHECK(stat(dir, &st) == 0);
		T_CHECK(fs_type_of_dev(st.st_dev, type, sizeof type) == 1);
		T_CHECK(type[0] != '\0' && strchr(type, ' ') == NULL);
	}
	T_CHECK(fs_join(path, sizeof path, dir, "nope") == 1);
	T_CHECK(fs_read_file(path, 3, &data, &len) == 0);
	T_CHECK(fs_join(path, sizeof path, dir, "a/b/c") == 1);
	T_CHECK(fs_mkdirs(path, 0700) == 1);
	T_CHECK(fs_mkdirs(path, 0700) == 1);
	T_CHECK(fs_syncdir(path) == 1);
	T_CHECK(fs_join(path, 8, dir, "long-name") == -1);
}

static void
test_qid(void)
{
	char a[QID_SIZE], b[QID_SIZE], s[SID_SIZE];
	char out[16];

	qid_new(a);
	qid_new(b);
	T_EQ_INT(strlen(a), QID_LEN);
	T_CHECK(qid_valid(a) && qid_valid(b));
	T_CHECK(strcmp(a, b) != 0);
	T_CHECK(!qid_valid("0123"));
	T_CHECK(!qid_valid("0123456789abcdef0123"));
	T_CHECK(!qid_valid("0123456789ABCDEF01234"));
	T_CHECK(!qid_valid("../../../etc/passwd0"));
	sid_new(s);
	T_EQ_INT(strlen(s), SID_SIZE - 1);
	T_EQ_STR(log_safe(out, sizeof out, "a\nb", 3), "a\\x0ab");
	T_EQ_STR(log_safe(out, sizeof out, "0123456789abcdefgh", 18),
	    "0123456789ab...");
}

int
main(void)
{
	char dir[] = "/tmp/tern-test-core.XXXXXX";
	char cmd[256];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_buf();
	test_str();
	test_io();
	test_cfg(dir);
	test_cfg_rules(dir);
	test_cfg_argv();
	test_fs(dir);
	test_qid();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		perror("rm");
	T_DONE();
}
