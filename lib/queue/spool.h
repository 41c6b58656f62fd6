/*
 * spool: the layout of the queue directory, declared once.  tern-start
 * makes it (start/main.c), tern-config check checks it, doc/DESIGN.md
 * "The queue" says what each part is for.  Also the one grammar of the
 * request files that tern-queue leaves in ctl/ for tern-queued.
 */
#ifndef TERN_SPOOL_H
#define TERN_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

#include "queue/qid.h"

#define SPOOL_MODE 0750          /* spool_dir itself, group: admin */
#define SPOOL_TRIGGER "trigger"  /* the FIFO that wakes tern-queued */
#define SPOOL_TRIGGER_MODE 0622  /* anyone may write the wake-up byte */
#define SPOOL_CTL "ctl"          /* tern-queue's request files */

struct spool_dir {
	const char *name;   /* below spool_dir */
	mode_t mode;        /* exactly, owned by queue_user */
	int admin;          /* 1: group is the queue admin group, else
	                     * queue_user's group */
};

/* tmp, mess, todo, state, corrupt, ctl; the row after the last has name
 * NULL.  mess/ and state/ are set-group-id (2750) so that every message
 * and state file gets the admin group, whoever wrote it, and members can
 * read them (tern-queue list); corrupt/ likewise, for stats; ctl/ is
 * 1730: members may create files there but not list them, nor remove or
 * rename another's (sticky). */
extern const struct spool_dir spool_dirs[];

/*
 * The gid of the queue admin group (tern.conf queue_admin_group) into
 * *gid_r: 1 the group exists, 0 it does not and *gid_r is fallback
 * (queue_user's group: a fresh box, a non-root instance), -1 error
 * (errno, from getgrnam).
 */
int spool_admin_gid(const char *group, gid_t fallback, gid_t *gid_r);

/*
 * Request files (ctl/NAME, written by tern-queue, read and removed by
 * tern-queued; doc/DESIGN.md "Requests to tern-queued").  NAME is
 * SPOOL_CTL_NAME_LEN characters "SSSSSSSSSSSS.NNNNNNNNN.PPPPPPPPPP" (time,
 * nanoseconds, pid, decimal, zero-padded: names sort in the order they
 * were made); names starting with '.' are files being written.  The file
 * holds lines "ACTION TARGET\n":
 *   flush   ID | ALL | @DOMAIN
 *   hold    ID | ALL          release ID | ALL
 *   delete  ID | ALL | DEFERRED
 *   bounce  ID | ALL
 * ID is a queue id, DOMAIN 1 to SPOOL_DOMAIN_MAX letters, digits, '-',
 * '_' and '.'.  At most SPOOL_CTL_LINES_MAX lines, SPOOL_CTL_SIZE_MAX
 * bytes; the file's mode is SPOOL_CTL_FILE_MODE (tern-queued need not be
 * in the caller's group to read it).
 */
#define SPOOL_CTL_NAME_LEN 33
#define SPOOL_CTL_LINES_MAX 10000
#define SPOOL_CTL_LINE_MAX 300
#define SPOOL_CTL_SIZE_MAX (SPOOL_CTL_LINES_MAX * 40)
#define SPOOL_CTL_FILE_MODE 0644
#define SPOOL_DOMAIN_MAX 253     /* RFC 1035 2.3.4, without the dot */

enum spool_act { SA_FLUSH, SA_HOLD, SA_RELEASE, SA_DELETE, SA_BOUNCE };
enum spool_target { ST_ID, ST_ALL, ST_DOMAIN, ST_DEFERRED };

struct spool_req {
	enum spool_act act;
	enum spool_target target;
	char id[QID_SIZE];                    /* ST_ID */
	char domain[SPOOL_DOMAIN_MAX + 1];    /* ST_DOMAIN, lower case */
};

/* Parse one line s[0..n) (no LF).  Pure.  1 ok, 0 malformed (*why: a
 * static text). */
int spool_req_parse(const char *s, size_t n, struct spool_req *r,
    const char **why);
/* The action's name ("flush", ...). */
const char *spool_act_name(enum spool_act a);
/* 1 if name[0..] is a request file name as above. */
int spool_ctl_name(const char *name);

#endif
