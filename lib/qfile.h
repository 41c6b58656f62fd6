/*
 * qfile: the queue's on-disk formats (see doc/DESIGN.md, "The queue").
 *
 * mess/ID   immutable after commit: envelope lines, an empty line, then
 *           the message (LF line ends).  Envelope lines are one letter
 *           and a value:
 *             V1          format version (first line)
 *             T<secs>     arrival time, set by tern-enqueue
 *             U<uid>      real uid of the process that ran tern-enqueue
 *             F<sender>   envelope sender, empty for <>
 *             R<rcpt>     a recipient; indexes count R lines from 0
 *             I<ip>       client address (smtpd)
 *             H<helo>     client HELO/EHLO name (smtpd)
 *           Letters a reader does not know are skipped (forward
 *           compatibility); V, T, F and at least one R are required.
 * state/ID  written only by tern-queued, replaced atomically; missing
 *           means every recipient is pending with no attempt yet.
 *             V1
 *             H                   message is on hold (tern-queue hold)
 *             r IDX ST ATTEMPTS NEXT LAST TEXT
 *           ST is P (pending/deferred), D (delivered), F (failed
 *           permanently, bounce not yet sent), B (failed, bounced or no
 *           bounce needed); NEXT and LAST are unix times (0 = none);
 *           TEXT is the last result, sanitised, to the end of the line.
 *
 * All parsing is bounded; a malformed file gives -1/EINVAL with a message.
 */
#ifndef TERN_QFILE_H
#define TERN_QFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"

#define QFILE_ENV_MAX (1024 * 1024) /* envelope bytes */
#define QFILE_RCPT_MAX 10000         /* recipients per message */
#define QSTATE_TEXT_MAX 400          /* bytes of last-result text kept */

enum rstate { RS_PENDING = 'P', RS_DONE = 'D', RS_FAILED = 'F',
	RS_BOUNCED = 'B' };

struct qrcpt {
	char *addr;
	char st;               /* enum rstate */
	unsigned attempts;
	time_t next, last;
	char text[QSTATE_TEXT_MAX + 1];
};

struct qenv {
	time_t arrival;
	uid_t uid;
	char *sender;          /* "" for the null sender */
	char *client_ip;       /* may be NULL */
	char *helo;            /* may be NULL */
	size_t nrcpt;
	struct qrcpt *rcpt;
	off_t body_off;        /* offset of the message in mess/ID */
	int held;
};

/* Parse the envelope of an open mess/ID file from offset 0.
 * 1 ok, -1 error (errno EINVAL for a malformed file, err gets why). */
int qfile_read_env(int fd, struct qenv *e, char *err, size_t errsz);
/* Serialise an envelope (V,T,U,F,R,I,H lines and the empty line). 1/-1 */
int qfile_format_env(struct buf *out, const struct qenv *e);
/* Apply state/ID (text, len) onto e's recipients.  1 ok, -1 malformed. */
int qstate_parse(struct qenv *e, const char *text, size_t len, char *err,
    size_t errsz);
/* Serialise e's state (only what differs from fresh). 1/-1 */
int qstate_format(struct buf *out, const struct qenv *e);
void qenv_free(struct qenv *e);

#endif
