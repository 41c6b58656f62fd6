/*
 * test_cfgfd: cfg_load_fd (lib/daemon/cfg.h), the trusted read of
 * tern.conf through a directory fd: each trust rule refuses (0), and what
 * is read is the file of the directory that was opened, even after that
 * directory's name points elsewhere.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "t.h"

static char top[] = "/tmp/test_cfgfd.XXXXXX";
static char dir[256], err[512];
/* as root, files are root's: "owner" is then a uid the files are not
 * chowned to; as a normal user, the files are ours */
static uid_t owner;

static void
write_conf(const char *d, const char *text, mode_t mode)
{
	char p[300];
	FILE *f;

	snprintf(p, sizeof p, "%s/tern.conf", d);
	unlink(p);
	f = fopen(p, "w");
	T_CHECK(f != NULL);
	fputs(text, f);
	T_CHECK(fclose(f) == 0);
	T_CHECK(chmod(p, mode) == 0);
}

/* cfg_load_fd on dir; err holds the reason. */
static int
load(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), r;

	T_CHECK(fd >= 0);
	err[0] = '\0';
	r = cfg_load_fd(fd, dir, owner, err, sizeof err);
	close(fd);
	return r;
}

static void
test_trusted(void)
{
	T_CHECK(chmod(dir, 0755) == 0);
	write_conf(dir, "hostname = one.example\n", 0644);
	T_EQ_INT(load(), 1);
	T_EQ_STR(cfg_str(hostname), "one.example");
	T_EQ_STR(cfg_dir(), dir);
}

static void
test_writable(void)
{
	T_CHECK(chmod(dir, 0775) == 0);
	T_EQ_INT(load(), 0);
	T_CHECK(strstr(err, ": writable by group or others") != NULL);
	T_CHECK(strstr(err, "tern.conf") == NULL);
	T_EQ_STR(cfg_str(hostname), "one.example");   /* old one kept */
	T_CHECK(chmod(dir, 0755) == 0);
	write_conf(dir, "hostname = two.example\n", 0646);
	T_EQ_INT(load(), 0);
	T_CHECK(strstr(err, "/tern.conf: writable by group or others"));
	T_EQ_STR(cfg_str(hostname), "one.example");
}

static void
test_owner(void)
{
	char p[300];

	write_conf(dir, "hostname = two.example\n", 0644);
	snprintf(p, sizeof p, "%s/tern.conf", dir);
	if (getuid() == 0)
		T_CHECK(chown(p, 1, 1) == 0);
	else
		owner = getuid() + 1;   /* our files are neither root's nor its */
	T_EQ_INT(load(), 0);
	/* as a normal user the directory is ours too: refused first */
	T_CHECK(strstr(err, getuid() == 0 ? "/tern.conf: owned by uid " :
	    "/etc: owned by uid ") != NULL);
	T_CHECK(strstr(err, "not by root or the queue user") != NULL);
	owner = getuid() == 0 ? 12345 : getuid();
	if (getuid() == 0) {
		T_CHECK(chown(p, 0, 0) == 0);
		T_CHECK(chown(dir, 1, 1) == 0);
		T_EQ_INT(load(), 0);
		T_CHECK(strstr(err, ": owned by uid 1,") != NULL);
		T_CHECK(chown(dir, 0, 0) == 0);
	}
}

static void
test_not_regular(void)
{
	char p[300], q[300];

	snprintf(p, sizeof p, "%s/tern.conf", dir);
	snprintf(q, sizeof q, "%s/other.conf", dir);
	write_conf(dir, "hostname = three.example\n", 0644);
	T_CHECK(rename(p, q) == 0);
	T_CHECK(symlink("other.conf", p) == 0);   /* not followed */
	T_EQ_INT(load(), 0);
	T_CHECK(strstr(err, "/tern.conf: a symbolic link") != NULL);
	T_CHECK(unlink(p) == 0);
	T_CHECK(mkfifo(p, 0644) == 0);            /* refused, not waited on */
	T_EQ_INT(load(), 0);
	T_CHECK(strstr(err, "/tern.conf: not a regular file") != NULL);
	T_CHECK(unlink(p) == 0);
	T_EQ_INT(load(), 1);                       /* missing: defaults */
	T_CHECK(strcmp(cfg_str(hostname), "three.example") != 0);
}

/* The name is swapped after the directory was opened: the opened one is
 * read (cfg_load(dir) would read the new one). */
static void
test_swap(void)
{
	char moved[300];
	int fd, r;

	write_conf(dir, "hostname = checked.example\n", 0644);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	T_CHECK(fd >= 0);
	snprintf(moved, sizeof moved, "%s.moved", dir);
	T_CHECK(rename(dir, moved) == 0);
	T_CHECK(mkdir(dir, 0755) == 0);
	write_conf(dir, "hostname = swapped.example\n", 0644);
	r = cfg_load_fd(fd, dir, owner, err, sizeof err);
	close(fd);
	T_EQ_INT(r, 1);
	T_EQ_STR(cfg_str(hostname), "checked.example");
}

/* cfg_load_text: the text as if it were tern.conf; a bad line names the
 * given name and keeps what was loaded before. */
static void
test_text(void)
{
	static const char good[] = "hostname = text.example\n"
	    "imapd_timeout = 77\n";
	static const char bad[] = "hostname = other.example\nno_such_key = 1\n";

	T_EQ_INT(cfg_load_text(dir, "passed", good, sizeof good - 1, err,
	    sizeof err), 1);
	T_EQ_STR(cfg_str(hostname), "text.example");
	T_EQ_INT(cfg_num(imapd_timeout), 77);
	T_EQ_INT(cfg_load_text(dir, "passed", bad, sizeof bad - 1, err,
	    sizeof err), -1);
	T_CHECK(strncmp(err, "passed:2:", 9) == 0);
	T_EQ_STR(cfg_str(hostname), "text.example");
}

int
main(void)
{
	char cmd[300];

	T_CHECK(mkdtemp(top) != NULL);
	snprintf(dir, sizeof dir, "%s/etc", top);
	T_CHECK(mkdir(dir, 0755) == 0);
	owner = getuid() == 0 ? 12345 : getuid();
	test_trusted();
	test_writable();
	test_owner();
	test_not_regular();
	test_swap();
	test_text();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "test_cfgfd: could not remove %s\n", top);
	T_DONE();
}
