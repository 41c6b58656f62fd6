/*
 * mbox_int.h: what lib/store/mbox.c and lib/store/mbox_uid.c share; not for programs.
 */
#ifndef TERN_MBOX_INT_H
#define TERN_MBOX_INT_H

#include <stddef.h>

/* Call fn(arg, name, len) for each entry of dir/sub that may be a message
 * (no leading '.', regular file or unknown type, no control character).
 * A missing directory has no entries.  1, or -1 (also when fn fails). */
int mbox_dir_each(const char *dir, const char *sub,
    int (*fn)(void *, const char *, size_t), void *arg);

/* Append a message named name (len bytes) in new/ (in_new) or cur/ to
 * the scan; uid 0, size unknown.  1 or -1. */
struct mbox;
int mbox_msg_add(struct mbox *mb, const char *name, size_t len, int in_new);

/* Open dir/file (created 0600 if missing; never through a symlink) and
 * take an exclusive flock(2) of it, retrying every 10 ms for up to
 * wait_s seconds (0: no wait).  1 with the fd in *fd_r; 0 someone else
 * holds it (wait_s 0 only); -1 error with errno (ETIMEDOUT when the
 * wait ran out).  The one lock routine of mbox_lock and the uidlist. */
int mbox_flock(const char *dir, const char *file, int wait_s, int *fd_r);

#endif
