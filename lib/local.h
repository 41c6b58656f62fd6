/*
 * local: who is a local recipient.  Used by tern-smtpd (accept or 550 at
 * RCPT time) and tern-deliverd (where to deliver), so both agree.
 *
 * Resolution of a canonical address local@domain whose domain is in
 * local_domains, in this order:
 *   1. users map, exact address;
 *   2. aliases map, exact address;
 *   3. with recipient_delimiter: the base address (user+tag -> user),
 *      users then aliases;
 *   4. system accounts (getpwnam of the base local part) when
 *      system_users = yes;
 *   5. aliases map, "@domain" catch-all.
 * postmaster@ (any local domain) that is found nowhere resolves to the
 * system "postmaster" alias rule of RFC 5321 4.5.1: it must be accepted;
 * it is delivered per the aliases map or, failing that, kept in the queue
 * as undeliverable-temporarily with a log line.
 */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include "buf.h"
#include "map.h"
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

struct local_maps { struct map users, aliases; };

/* Open DIR/users.cdb and DIR/aliases.cdb (missing = empty).  1 or -1. */
int local_open(struct local_maps *lm);
void local_close(struct local_maps *lm);
/* 1 if domain is one of local_domains */
int local_domain(const char *domain);
/* Resolve addr as above.  1 found (t filled), 0 not local or unknown,
 * -1 error (map I/O: a temporary failure). */
int local_lookup(struct local_maps *lm, const char *addr,
    struct local_target *t);
void local_target_free(struct local_target *t);

#endif
