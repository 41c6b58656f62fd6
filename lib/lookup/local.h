/*
 * local: who is a local recipient.  Used by tern-smtpd (accept or 550 at
 * RCPT time) and tern-deliverd (where to deliver), so both agree.
 *
 * Resolution of an address local@domain whose domain is in
 * local_domains, in its lookup form (local_canon, lower case), in this
 * order:
 *   1. users map, exact address;
 *   2. aliases map, exact address;
 *   3. aliases map, the bare local part (a classic /etc/aliases key:
 *      that local part in every local domain);
 *   4. with recipient_delimiter: the base address (user+tag -> user),
 *      users, aliases, then the bare base local part;
 *   5. system accounts (getpwnam of the base local part) when
 *      system_users = yes;
 *   6. aliases map, "@domain" catch-all.
 * postmaster@ (any local domain) that is found nowhere resolves to the
 * system "postmaster" alias rule of RFC 5321 4.5.1: it must be accepted;
 * it is delivered per the aliases map or, failing that, kept in the queue
 * as undeliverable-temporarily with a log line.
 */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include "util/buf.h"
#include "lookup/map.h"
#include <sys/types.h>

enum local_kind { LOCAL_NONE, LOCAL_USER, LOCAL_ALIAS, LOCAL_SYSTEM };

struct local_target {
	enum local_kind kind;
	struct buf user;     /* the matched key (address) or system login */
	struct buf maildir;  /* absolute Maildir path (USER, SYSTEM) */
	struct buf targets;  /* ALIAS: comma-separated target addresses */
	struct buf tag;      /* the +tag, without the delimiter, or empty */
	unsigned long quota; /* bytes, 0 = none */
	uid_t uid; gid_t gid;/* SYSTEM: the account; USER: virtual_user */
};

struct local_maps {
	struct map users, aliases;
	/* owner of users-map mailboxes, fixed at local_open: virtual_user
	 * when opened as root (before any privilege drop), else ourselves */
	uid_t vuid; gid_t vgid;
	int vids;              /* 1 known, 0 virtual_user missing */
};

/* Open DIR/users.cdb and DIR/aliases.cdb (missing = empty) and fix the
 * virtual mailbox owner.  Call before dropping privileges.  1 or -1. */
int local_open(struct local_maps *lm);
void local_close(struct local_maps *lm);
/* 1 if domain is one of local_domains */
int local_domain(const char *domain);
/*
 * The one canonical form of a local name, for recipients (smtpd at RCPT,
 * deliverd) and logins (SMTP AUTH, POP3, IMAP) alike: name is parsed as
 * an address (addr_parse: domain lower case without a trailing dot,
 * needless quotes dropped), a name without '@' is taken in the first of
 * local_domains, and with lower the local part is lower-cased too (ASCII):
 * the users and aliases maps match keys without regard to case, so
 * "DEMO@Example.Test.", "demo@example.test" and "Demo@EXAMPLE.TEST" are
 * one name, and a mailbox path is only ever made from this form.
 * 1 ok (out replaced), 0 malformed or empty, -1 ENOMEM.
 */
int local_canon(const char *name, int lower, struct buf *out);
/* Resolve addr as above.  1 found (t filled), 0 not local or unknown,
 * -1 error (map I/O: a temporary failure).
 * Details (maps helper):
 *   - t must be zeroed before its first use; it may be reused, and is
 *     released with local_target_free.  Every buf in t is a valid C
 *     string after a call, "" when unused.
 *   - addr is any spelling of the address: it is brought to the form
 *     of local_canon (so an address without a domain, the bare
 *     "postmaster" of RCPT TO:<Postmaster>, is in the first of
 *     local_domains) and looked up lower-cased.  The maps are refreshed
 *     (map_refresh) on each call.
 *   - the postmaster fallback returns 1 with kind LOCAL_NONE and user
 *     set: accept (smtpd), defer with a log line (deliverd).
 *   - USER: user is the map key (lower case); maildir is the map's
 *     MAILDIR if absolute, mail_dir/MAILDIR if relative, else
 *     mail_dir/DOMAIN/LOCAL/Maildir made from that key, never from the
 *     spelling of addr;
 *     uid/gid are virtual_user's when running as root (-1/ENOENT if that
 *     user does not exist), else the caller's.
 *   - SYSTEM: user is the login (lower case), maildir ~/Maildir; uid 0
 *     is never a target (root's mail goes through an alias).
 *   - ALIAS: user is the matched key ("@domain" for the catch-all,
 *     the local part alone for a bare key), targets the canonical
 *     addresses, comma-separated (a bare key's targets without a
 *     domain get the domain of addr).
 *   - tag is set when the match went through the base address; it keeps
 *     the case of addr (it may name a Maildir++ folder). */
int local_lookup(struct local_maps *lm, const char *addr,
    struct local_target *t);
void local_target_free(struct local_target *t);

#endif
