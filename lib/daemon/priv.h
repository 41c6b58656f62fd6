/*
 * priv: the one start-up path that drops privileges.
 *
 * When running as root: setgroups(1, gid) -> setgid -> setuid, each
 * checked, then clear every capability except the ones listed (effective,
 * permitted; inheritable and ambient always empty; the bounding set is
 * left alone).  When not root, user switching is skipped (the whole
 * instance runs as one user) and the capability sets are still cleared.
 * Any failure is fatal (log_fatal, exit 111): a process that cannot drop
 * privileges must not go on.
 */
#ifndef TERN_PRIV_H
#define TERN_PRIV_H

#include <sys/types.h>
#include <sys/capability.h>

/* Look up a user: 1 found (uid/gid set), 0 not found, -1 error. */
int priv_user(const char *name, uid_t *uid_r, gid_t *gid_r);
/* Become user name (if root), keeping only the ncaps capabilities in caps.
 * For a kept capability across setuid, SECBIT_KEEP_CAPS is used and then
 * re-raised in the effective set. */
void priv_drop(const char *name, const cap_value_t *caps, int ncaps);
/* Become uid/gid (if root) with no capability at all. */
void priv_drop_ids(uid_t uid, gid_t gid);
/* Keep the user, but only the ncaps capabilities in caps (effective and
 * permitted): for a root process whose job needs a few of them (the
 * tern-pop3d parent).  Fatal on failure. */
void priv_caps_only(const cap_value_t *caps, int ncaps);
/* 1 if the process runs as root (euid 0). */
int priv_is_root(void);

#endif
