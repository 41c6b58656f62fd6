/*
 * mbox_int.h: what lib/mbox.c and lib/mbox_uid.c share; not for programs.
 */
#ifndef TERN_MBOX_INT_H
#define TERN_MBOX_INT_H

#include <stddef.h>

/* Call fn(arg, name, len) for each entry of dir/sub that may be a message
 * (no leading '.', regular file or unknown type, no control character).
 * A missing directory has no entries.  1, or -1 (also when fn fails). */
int mbox_dir_each(const char *dir, const char *sub,
    int (*fn)(void *, const char *, size_t), void *arg);

#endif
