/*
 * spool: the layout of the queue directory, declared once.  tern-start
 * makes it (start/main.c), tern-config check checks it, doc/DESIGN.md
 * "The queue" says what each part is for.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <sys/types.h>

#define SPOOL_MODE 0750          /* spool_dir itself */
#define SPOOL_TRIGGER "trigger"  /* the FIFO that wakes tern-queued */
#define SPOOL_TRIGGER_MODE 0622  /* anyone may write the wake-up byte */

struct spool_dir {
	const char *name;   /* below spool_dir */
	mode_t mode;        /* exactly, owned by queue_user */
};

/* tmp, mess (set-group-id: each message gets queue_user's group, so
 * the queue admin group can read it), todo, state, corrupt; the row
 * after the last has name NULL. */
extern const struct spool_dir spool_dirs[];

#endif
