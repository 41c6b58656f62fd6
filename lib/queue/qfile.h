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
 *           and, when the client gave them (tern-smtpd):
 *             E<envid>    DSN envelope id, xtext as received (RFC 3461
 *                         4.4), at most 100 characters
 *             W<ret>      DSN RET: FULL or HDRS (RFC 3461 4.3)
 *             S           SMTPUTF8 was given (RFC 6531): the envelope
 *                         or the header may hold UTF-8
 *             B8BITMIME   BODY=8BITMIME was given (RFC 6152)
 *             N<notify>   after an R line, for that recipient: DSN
 *                         NOTIFY, "NEVER" or a comma list of SUCCESS,
 *                         FAILURE, DELAY in that order (RFC 3461 4.1)
 *             O<orcpt>    after an R line: DSN ORCPT, "type;xtext" as
 *                         received (RFC 3461 4.2)
 *           Letters a reader does not know are skipped (forward
 *           compatibility); V, T, F and at least one R are required.
 *           An N or O line before any R line, or twice after one, is
 *           an error; values are checked with lib/smtpparse.
 * state/ID  written only by tern-queued, replaced atomically; missing
 *           means every recipient is pending with no attempt yet.
 *             V1
 *             H                   message is on hold (tern-queue hold)
 *             r IDX ST ATTEMPTS NEXT LAST TEXT
 *           ST is P (pending/deferred), D (delivered), F (failed
 *           permanently, bounce not yet sent), B (failed, bounced or no
 *           bounce needed); NEXT and LAST are unix times (0 = none);
 *           TEXT is the last result, sanitised, to the end of the line.
 *             m IDX FLAGS RELAY   after its r line, when either is set:
 *                                 FLAGS the QR_* bits in decimal, RELAY
 *                                 the next hop of the last remote
 *                                 attempt ("host[ip]:port") or "-"
 *             a IDX TIME C RELAY TEXT
 *                                 one attempt of the history (oldest
 *                                 first, at most QSTATE_HIST_MAX lines a
 *                                 message): C is K, Z or D as in the
 *                                 delivery replies, RELAY "-" for local
 *           A reader skips letters it does not know, so older readers
 *           take newer files.
 *
 * All parsing is bounded; a malformed file gives -1/EINVAL with a message.
 */
#ifndef TERN_QFILE_H
#define TERN_QFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "util/buf.h"

#define QFILE_ENV_MAX (1024 * 1024) /* envelope bytes */
/* tern-enqueue creates mess/ID with QFILE_MODE_WORK and, once it is
 * complete, sets QFILE_MODE_DONE (the owner-execute bit) before its one
 * fsync; readers take only files with that bit (doc/DESIGN.md). */
#define QFILE_MODE_WORK 0640
#define QFILE_MODE_DONE 0740
#define QFILE_RCPT_MAX 10000         /* recipients per message */
#define QSTATE_TEXT_MAX 400          /* bytes of last-result text kept */
#define QSTATE_RELAY_MAX 300         /* "host[ip]:port" (RMT_RELAY_MAX) */
#define QSTATE_HIST_MAX 32           /* attempts remembered per message */

/* struct qrcpt flags (state line m) */
#define QR_NEXTHOP_DSN 0x01  /* the next hop took NOTIFY: its notice, not ours */
#define QR_RELAYED     0x02  /* accepted by a next hop without DSN */
#define QR_NOTIFIED    0x04  /* our success notice was queued */
#define QR_WARNED      0x08  /* our delay warning was queued */

enum rstate { RS_PENDING = 'P', RS_DONE = 'D', RS_FAILED = 'F',
	RS_BOUNCED = 'B' };

struct qrcpt {
	char *addr;
	unsigned notify;       /* SMTP_NOTIFY_* flags; 0: not given */
	char *orcpt;           /* DSN ORCPT "type;xtext" or NULL */
	char st;               /* enum rstate */
	unsigned attempts;
	time_t next, last;
	char text[QSTATE_TEXT_MAX + 1];
	unsigned flags;        /* QR_* */
	char relay[QSTATE_RELAY_MAX + 1];  /* "" for none / local */
};

/* One attempt of the history (state line a). */
struct qhist {
	unsigned long idx;
	time_t t;
	char code;             /* 'K', 'Z' or 'D' */
	char relay[QSTATE_RELAY_MAX + 1];
	char text[QSTATE_TEXT_MAX + 1];
};

struct qenv {
	time_t arrival;
	uid_t uid;
	char *sender;          /* "" for the null sender */
	char *client_ip;       /* may be NULL */
	char *helo;            /* may be NULL */
	char *envid;           /* DSN ENVID (xtext) or NULL */
	char ret;              /* DSN RET: 'F' FULL, 'H' HDRS, 0 not given */
	int smtputf8;          /* SMTPUTF8 given */
	int body8;             /* BODY=8BITMIME given */
	size_t nrcpt;
	struct qrcpt *rcpt;
	off_t body_off;        /* offset of the message in mess/ID */
	int held;
	struct qhist *hist;    /* state/ID's history, oldest first */
	size_t nhist;
};

/*
 * The envelope grammar, one for both directions: tern-enqueue checks its
 * client's lines with it (QENV_INPUT) and qfile_read_env parses mess/ID
 * with it (QENV_FILE), so nothing queued is later called corrupt.  The two
 * modes differ only where the format says so: V, T and U are set by
 * tern-enqueue (a client's are skipped; in a file V1 is the first line and
 * T is required), and a letter this version does not know is skipped in a
 * file (forward compatibility) but refused from a client.  Everything
 * else (lengths, control characters, repeated lines, N and O after their
 * R, the DSN values checked with lib/mail/smtpparse) is the same.
 */
#define QENV_LINE_MAX 1024   /* bytes of one line, without its LF */
#define QENV_ADDR_MAX 256    /* F and R values (RFC 5321 4.5.3.1.3) */
#define QENV_HOST_MAX 256    /* I and H values */
/* V T U F E W S B I H and a few later fields, then R N O per recipient */
#define QENV_LINES_MAX (3 * QFILE_RCPT_MAX + 64)

struct qenv_limits {
	size_t line_max, addr_max, host_max, lines_max;
};
/* The limits above: what tern-enqueue accepts and the reader takes. */
extern const struct qenv_limits qenv_limits_std;

enum qenv_mode { QENV_INPUT, QENV_FILE };

struct qenv_parse {          /* set up with qenv_parse_init */
	enum qenv_mode mode;
	const struct qenv_limits *lim;
	unsigned lineno;       /* lines seen, the current one included */
	int seen_t;
};

void qenv_parse_init(struct qenv_parse *p, enum qenv_mode mode,
    const struct qenv_limits *lim);
/* One envelope line s[0..n) (no LF; n 0 is an error, not the end) into e,
 * which starts zeroed.  No I/O.  1 ok, 0 malformed (*why: a static text
 * saying which rule), -1 out of memory (errno ENOMEM). */
int qenv_line(struct qenv_parse *p, struct qenv *e, const char *s, size_t n,
    const char **why);
/* After the last line: 1 complete, 0 a required line is missing (*why). */
int qenv_end(const struct qenv_parse *p, const struct qenv *e,
    const char **why);

/* Parse the envelope of an open mess/ID file from offset 0.
 * 1 ok, -1 error (errno EINVAL for a malformed file, err gets why). */
int qfile_read_env(int fd, struct qenv *e, char *err, size_t errsz);
/* Serialise an envelope (the lines above and the empty line). 1/-1 */
int qfile_format_env(struct buf *out, const struct qenv *e);
/* Apply state/ID (text, len) onto e's recipients.  1 ok, -1 malformed. */
int qstate_parse(struct qenv *e, const char *text, size_t len, char *err,
    size_t errsz);
/* Serialise e's state (only what differs from fresh). 1/-1 */
int qstate_format(struct buf *out, const struct qenv *e);
/* Append an attempt to e's history, dropping the oldest beyond
 * QSTATE_HIST_MAX; relay may be NULL, texts are cut and cleaned.  1 or
 * -1 (ENOMEM). */
int qstate_hist_add(struct qenv *e, unsigned long idx, time_t t, char code,
    const char *relay, const char *text);
void qenv_free(struct qenv *e);
/* 1 if the open mess/ID file is committed (QFILE_MODE_DONE), 0 if it is
 * still being written (or was left by a crash), -1 error. */
int qfile_committed(int fd);

#endif
