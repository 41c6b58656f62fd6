/*
 * quota: QUOTA (RFC 9208) over the users map's quota, the number
 * tern-deliverd enforces (lib/store/maildir.h maildir_usage: the bytes
 * of new/ and cur/ of the Maildir and of every folder).  A user with a
 * quota has one quota root, "", holding every mailbox, with the
 * resource STORAGE in units of 1024 octets (RFC 9208 5.1: the usage
 * rounded up); one without has no quota root.  The limit is the
 * administrator's: SETQUOTA is refused.  APPEND and COPY that would go
 * over it are refused with NO [OVERQUOTA] before a byte is written.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "store/maildir.h"
#include "imap/istr.h"
#include "imapd.h"

int
quota_allows(struct imap *s, unsigned long long add)
{
	unsigned long long used;
	unsigned long count;

	if (s->quota == 0)
		return 1;
	(void)maildir_usage(s->root, &used, &count);
	return used + add <= s->quota;
}

static void
quota_line(struct imap *s)
{
	unsigned long long used;
	unsigned long count;

	(void)maildir_usage(s->root, &used, &count);
	imap_untagged(s, "QUOTA \"\" (STORAGE %llu %lu)", (used + 1023) / 1024,
	    s->quota / 1024);
}

/* GETQUOTAROOT mailbox (RFC 9208 4.1.2) */
void
cmd_getquotaroot(struct imap *s, struct imap_p *p)
{
	struct buf name = BUF_INIT, out = BUF_INIT;
	char *dir = NULL;
	int r;

	if (!imap_p_sp(p) || mailbox_arg(s, p, &name, 0) != 1 ||
	    !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	r = folder_path(s, name.s, name.len, &dir);
	if (r < 0)
		session_fatal(s, "memory");
	if (r == 0)
		goto out;
	if (!folder_exists(dir) && strcmp(name.s, "INBOX") != 0) {
		imap_tagged(s, "NO", "[NONEXISTENT] Mailbox doesn't exist");
		goto out;
	}
	if (buf_cats(&out, "QUOTAROOT ") < 0 ||
	    put_mailbox(s, &out, name.s) < 0 ||
	    (s->quota > 0 && buf_cats(&out, " \"\"") < 0))
		session_fatal(s, "memory");
	imap_untagged(s, "%s", buf_str(&out));
	if (s->quota > 0)
		quota_line(s);
out:
	free(dir);
	buf_free(&name);
	buf_free(&out);
}

/* GETQUOTA root (RFC 9208 4.1.1) */
void
cmd_getquota(struct imap *s, struct imap_p *p)
{
	struct buf root = BUF_INIT;

	if (!imap_p_sp(p) || imap_p_astring(p, &root) != 1 ||
	    !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (root.len != 0 || s->quota == 0) {
		imap_tagged(s, "NO", "[NONEXISTENT] No such quota root");
		goto out;
	}
	quota_line(s);
out:
	buf_free(&root);
}

/* SETQUOTA root (list) (RFC 9208 4.1.3): the limit comes from the users
 * map, so a client cannot change it. */
void
cmd_setquota(struct imap *s, struct imap_p *p)
{
	struct buf root = BUF_INIT;
	const char *a;
	size_t n, k = 0;
	unsigned long long v;

	/* setquota = "SETQUOTA" SP astring SP setquota-list;
	 * setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")";
	 * setquota-resource = atom SP number64 */
	if (!imap_p_sp(p) || imap_p_astring(p, &root) != 1 ||
	    !imap_p_sp(p) || !imap_p_char(p, '('))
		goto bad;
	while (imap_p_peek(p) != ')') {
		if ((k++ > 0 && !imap_p_sp(p)) || k > 16 ||
		    imap_p_atom(p, &a, &n) != 1 || !imap_p_sp(p) ||
		    imap_p_number64(p, &v) != 1)
			goto bad;
	}
	p->pos++;  /* the ")" */
	if (!imap_p_end(p))
		goto bad;
	imap_tagged(s, "NO", "[CANNOT] The quota is set by the administrator");
	goto out;
bad:
	imap_bad_args(s, p);
out:
	buf_free(&root);
}
