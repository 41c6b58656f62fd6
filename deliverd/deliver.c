/*
 * deliver: one delivery, in a child process of tern-deliverd.
 *
 * The recipient is resolved with lib/lookup/local (the same resolution as
 * tern-smtpd's RCPT check).  A mailbox is written by a process that has
 * become the mailbox owner and holds no capability (priv_drop_ids) before
 * it touches any file of the mailbox, so a hostile Maildir path or
 * symlink can only reach what its owner could reach anyway.
 *
 * Before writing: the Delivered-To loop check (RFC 5321 6.3 asks MTAs to
 * detect loops; Delivered-To is the qmail/Postfix convention for local
 * delivery), the +tag folder, the quota.  The message gets
 * "Return-Path: <sender>" (RFC 5321 4.4: added at final delivery) and
 * "Delivered-To: rcpt" in front.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/io.h"
#include "util/str.h"
#include "mail/dsn.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "lookup/local.h"
#include "store/maildir.h"
#include "store/mdname.h"
#include "deliverd.h"


char
dd_set(struct dd_result *r, char code, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->code = code;
	va_start(ap, fmt);
	n = vsnprintf(r->text, sizeof r->text, fmt, ap);
	va_end(ap);
	if (n < 0)
		str_copy(r->text, code == 'K' ? "2.0.0 ok" : code == 'D' ?
		    "5.0.0 failed" : "4.0.0 failed", sizeof r->text);
	return code;
}

void
dd_result_send(int fd, const struct dd_result *r)
{
	char b[DLV_TEXT_MAX + 3];
	int n = snprintf(b, sizeof b, "%c %s", r->code, r->text);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof b)
		n = (int)sizeof b - 1;
	(void)fd_write_all(fd, b, (size_t)n);
}

void
dd_result_parse(const char *b, size_t n, int status, struct dd_result *r)
{
	size_t i, o = 0;

	if (n >= 2 && (b[0] == 'K' || b[0] == 'Z' || b[0] == 'D') &&
	    b[1] == ' ') {
		r->code = b[0];
		for (i = 2; i < n && o < DLV_TEXT_MAX; i++) {
			unsigned char c = (unsigned char)b[i];

			r->text[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		r->text[o] = '\0';
		return;
	}
	if (WIFSIGNALED(status))
		dd_set(r, 'Z', "4.3.0 delivery process %s (signal %d)",
		    WTERMSIG(status) == SIGALRM ? "timed out" : "killed",
		    WTERMSIG(status));
	else
		dd_set(r, 'Z', "4.3.0 delivery process exited %d without "
		    "a result", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* An errno of a failed write into a mailbox, as a temporary result. */
static void
dd_errno(struct dd_result *r, const char *what, int err)
{
	if (err == ENOSPC)
		dd_set(r, 'Z', "4.3.1 mail system full: %s", what);
	else if (err == EDQUOT)
		dd_set(r, 'Z', "4.2.2 mailbox over disk quota: %s", what);
	else
		dd_set(r, 'Z', "4.3.0 %s: %s", what, strerror(err));
}

/* Maildir++ quota: lib/store/maildir.h maildir_usage, shared with
 * tern-imapd's QUOTA. */
static unsigned long long
dd_usage(const char *maildir)
{
	unsigned long long bytes;
	unsigned long count;

	(void)maildir_usage(maildir, &bytes, &count);
	return bytes;
}

/* 1 if dir/new is a directory */
static int
dd_is_maildir(const char *dir)
{
	char p[FS_PATH_MAX];
	struct stat st;

	return fs_join(p, sizeof p, dir, "new") > 0 && stat(p, &st) == 0 &&
	    S_ISDIR(st.st_mode);
}

/*
 * The Maildir++ folder named by the +tag, matched case-insensitively
 * against the folders that exist (a tag never creates one); else the
 * inbox.  Result in out.
 */
static void
dd_folder(const char *maildir, const char *tag, char *out, size_t outsz)
{
	struct dirent *de;
	DIR *d;

	str_copy(out, maildir, outsz);
	if (tag[0] == '\0' || (d = opendir(maildir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || !str_caseeq(de->d_name + 1, tag))
			continue;
		if (maildir_folder(out, outsz, maildir, de->d_name + 1) > 0 &&
		    dd_is_maildir(out))
			break;
		str_copy(out, maildir, outsz);
	}
	closedir(d);
}

/* The Junk folder of maildir in out, made when missing (with the
 * Maildir++ "maildirfolder" marker).  1 ok, -1 errno. */
static int
dd_junk(const char *maildir, char *out, size_t outsz)
{
	char p[FS_PATH_MAX];
	int fd;

	if (maildir_folder(out, outsz, maildir, DD_JUNK) <= 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (dd_is_maildir(out))
		return 1;
	if (maildir_make(out) < 0 || fs_join(p, sizeof p, out,
	    "maildirfolder") < 0)
		return -1;
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || close(fd) < 0)
		return -1;
	return 1;
}

/*
 * Where the message goes, after the owner's rules (rules.c): 1 with the
 * folder in box; 0 when the rules decided (r set: blocked or
 * discarded).  Spam-marked mail goes to Junk unless a safe rule
 * matches; other mail to the +tag folder or the inbox.
 */
static int
dd_place(struct dd_ctx *c, const struct local_target *t, const char *addr,
    char *box, size_t boxsz, struct dd_result *r)
{
	const char *md = t->maildir.s;
	unsigned rules = dd_rules(c->rq->qid, md, c->rq->sender, c->hdr.s,
	    c->hdr.len);

	if (rules & DR_BLOCK) {
		dd_set(r, 'D', "5.7.1 <%s>: the recipient does not accept mail "
		    "from this sender", addr);
		return 0;
	}
	if (rules & DR_DISCARD) {
		dd_set(r, 'K', "2.0.0 discarded by the rules of %s", addr);
		return 0;
	}
	if (!(rules & DR_SAFE) && dd_is_spam(c->hdr.s, c->hdr.len)) {
		if (dd_junk(md, box, boxsz) < 0) {
			dd_errno(r, "Junk folder", errno);
			return 0;
		}
		return 1;
	}
	dd_folder(md, buf_str(&t->tag), box, boxsz);
	return 1;
}

/*
 * 1 if new/ of box must be fsynced after the link.  Not where the file
 * system commits metadata in the order it was made and the Maildir is on
 * the queue's file system (the default, maildir_sync_dirs = no): then
 * every later durable step of the queue about this message (tern-queued
 * removing mess/ID, its fsync of state/ID, the fsync of a notice) reaches
 * the disk after the new name, so a crash that loses the name loses the
 * news of the delivery too and the message is delivered again, never
 * lost (doc/DESIGN.md "fsync points").  Another file system than the
 * queue's has no such order with it, nor has a file system of another
 * type than ext3, ext4 and xfs (btrfs, whose fsync writes a log of the
 * one file, ext2, NFS): fsync there.
 */
static int
dd_sync_new(const struct dd_ctx *c, const char *box)
{
	char newdir[FS_PATH_MAX];
	struct stat q, m;

	if (cfg_bool(maildir_sync_dirs) || cfg_bool(spool_sync_dirs) ||
	    !dd_spoolfs.ordered)
		return 1;
	if (fs_join(newdir, sizeof newdir, box, "new") < 0 ||
	    fstat(c->fd, &q) < 0 || stat(newdir, &m) < 0)
		return 1;
	return q.st_dev != m.st_dev || q.st_dev != dd_spoolfs.dev;
}

void
dd_mailbox(struct dd_ctx *c, const struct local_target *t, const char *addr,
    struct dd_result *r)
{
	char box[FS_PATH_MAX], name[MAILDIR_NAME_MAX + 1];
	struct buf h = BUF_INIT;

	if (dlv_delivered_to(c->hdr.s, c->hdr.len, addr)) {
		dd_set(r, 'D', "5.4.6 mail loop: already delivered to %s", addr);
		return;
	}
	/* from here on we are the mailbox owner, without capabilities; a
	 * users-map mailbox belongs to virtual_user (local_lookup runs after
	 * our own privilege drop and cannot know that ids were switched); a
	 * mailbox worker (worker.c) is that owner already */
	if (c->dropped)
		;
	else if (t->kind == LOCAL_USER)
		priv_drop_ids(dd_ids.vuid, dd_ids.vgid);
	else
		priv_drop_ids(t->uid, t->gid);
	if (t->kind == LOCAL_USER && maildir_make(t->maildir.s) < 0) {
		dd_errno(r, t->maildir.s, errno);
		return;
	}
	if (!dd_is_maildir(t->maildir.s)) {
		dd_set(r, 'Z', "4.3.0 no Maildir at %s", t->maildir.s);
		return;
	}
	if (dd_place(c, t, addr, box, sizeof box, r) == 0)
		return;
	if (buf_catf(&h, "Return-Path: <%s>\nDelivered-To: %s\n",
	    c->rq->sender, addr) < 0) {
		dd_errno(r, "headers", errno);
		return;
	}
	if (t->quota > 0 && dd_usage(t->maildir.s) +
	    (unsigned long long)c->size + h.len > t->quota) {
		dd_set(r, 'Z', "4.2.2 mailbox full: quota %lu bytes", t->quota);
	} else if (maildir_deliver(box, h.s, h.len, c->fd, c->rq->off,
	    name, dd_sync_new(c, box)) < 0) {
		dd_errno(r, box, errno);
	} else {
		dd_set(r, 'K', "2.0.0 delivered to %s", box);
	}
	buf_free(&h);
}

void
dd_mailbox_fork(struct dd_ctx *c, const struct local_target *t,
    const char *addr, struct dd_result *r)
{
	char b[DLV_TEXT_MAX + 8];
	size_t n = 0;
	ssize_t got;
	int p[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		dd_errno(r, "pipe", errno);
		return;
	}
	if ((pid = fork()) < 0) {
		int saved = errno;

		close(p[0]);
		close(p[1]);
		dd_errno(r, "fork", saved);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		alarm(DD_TIMEOUT);  /* alarms are not inherited */
		dd_mailbox(c, t, addr, r);
		dd_result_send(p[1], r);
		_exit(0);
	}
	close(p[1]);
	while ((got = read(p[0], b + n, sizeof b - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || (n += (size_t)got) == sizeof b)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	dd_result_parse(b, n, status, r);
}

int
dd_prepare(struct dd_ctx *c, struct dd_result *r)
{
	struct stat st;

	if (fstat(c->fd, &st) < 0 || st.st_size < c->rq->off) {
		dd_set(r, 'Z', "4.3.0 cannot use the queue file");
		return 0;
	}
	c->size = st.st_size - c->rq->off;
	if (dsn_read_headers(c->fd, c->rq->off, DD_HDR_MAX, &c->hdr) < 0) {
		dd_errno(r, "reading the message", errno);
		return 0;
	}
	return 1;
}

void
dd_deliver(struct dd_ctx *c, struct dd_result *r)
{
	struct local_target t;
	int lr;

	memset(&t, 0, sizeof t);
	if (!dd_prepare(c, r))
		return;
	lr = local_lookup(c->lm, c->rq->rcpt, &t);
	if (lr < 0)
		dd_set(r, 'Z', "4.3.0 cannot read the users or aliases map: %s",
		    strerror(errno));
	else if (lr == 0)
		dd_set(r, 'D', "5.1.1 <%s>: no such user here", c->rq->rcpt);
	else if (t.kind == LOCAL_USER || t.kind == LOCAL_SYSTEM)
		dd_mailbox(c, &t, c->rq->rcpt, r);
	else if (t.kind == LOCAL_ALIAS)
		dd_alias(c, &t, r);
	else  /* local.h: postmaster is accepted even when it goes nowhere */
		dd_set(r, 'Z', "4.3.0 <%s>: no mailbox or alias for the "
		    "postmaster; add one to the aliases map", c->rq->rcpt);
	local_target_free(&t);
}
