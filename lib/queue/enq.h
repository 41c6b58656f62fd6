/*
 * enq: the client side of tern-enqueue, used by tern-smtpd,
 * tern-sendmail and tern-deliverd (forwarding) and tern-queued (bounces).
 *
 * Protocol on tern-enqueue's stdin:
 *   envelope lines   "F<sender>\n" (once, empty for <>), "R<rcpt>\n" (1+),
 *                    and the other one-letter lines of lib/queue/qfile.h (I, H, E, W, S, B, N, O)
 *   an empty line    "\n"
 *   message chunks   "<hex length>\n<bytes>" with length 1..ENQ_CHUNK_MAX
 *   the end          "0\n"
 * An EOF anywhere before "0\n" means the client gave up: nothing is queued.
 * tern-enqueue prints the queue id and "\n" on stdout when the message is
 * committed, an error text on stderr otherwise, and exits 0 (queued),
 * 100 (permanent: bad envelope, too big) or 111 (temporary).
 *
 * The same protocol reaches tern-enqueued, the long-lived writer, over
 * the spool's UNIX socket (lib/queue/qwrite.h), which answers with one
 * line instead of an exit status.  enq_open uses it when the process
 * called enq_writer_setup and the writer answers; otherwise (it is not
 * running, queue_writer = no, a server with the wrong uid) it runs
 * tern-enqueue as before.  The caller sees no difference.
 */
#ifndef TERN_ENQ_H
#define TERN_ENQ_H

#include <stddef.h>
#include <sys/types.h>
#include "queue/qid.h"

#define ENQ_CHUNK_MAX 65536
#define ENQ_ERR_MAX 256

struct enq {
	pid_t pid;       /* tern-enqueue, or 0 when sock */
	int sock;        /* 1: in and out are one socket to tern-enqueued */
	int in;          /* write end: tern-enqueue's stdin */
	int out;         /* read end: its stdout */
	int err;         /* read end: its stderr */
	int failed;      /* a write failed; finish reports the error */
	int quiet;       /* 0 after enq_open; 1: enq_close drops the log
	                  * lines tern-enqueue wrote on stderr when it
	                  * succeeded (tern-sendmail is silent then) */
	char buf[ENQ_CHUNK_MAX];
	size_t len;      /* data buffered for the next chunk */
};

#define ENQ_CHUNK_DIGITS 8   /* hex digits of a chunk length, at most */

/* Parse the chunk length line s[0..n) (without its LF), as tern-enqueue
 * reads it from its client: 1 to ENQ_CHUNK_DIGITS hex digits (either case,
 * nothing else: no sign, space or "0x"), value at most max.  Pure: no I/O.
 * 1 ok (*len_r set; 0 is the end marker), 0 malformed or above max. */
int enq_chunk_len(const char *s, size_t n, size_t max, size_t *len_r);

/* The path of tern-enqueue: program_dir/tern-enqueue of the loaded
 * configuration, into out (outsz bytes, FS_PATH_MAX is enough).  1, or
 * -1/ENAMETOOLONG.  Every client finds it this one way. */
int enq_path(char *out, size_t outsz);
/* Remember, before a privilege drop, how to reach tern-enqueued for
 * spool_dir and which uid it must run as (queue_user when we are root,
 * else our own).  0 when queue_writer = no (enq_open always runs
 * tern-enqueue then), 1 otherwise. */
int enq_writer_setup(void);
/* Start prog (full path of tern-enqueue) with the -C DIR of this process
 * so both read the same configuration.  1 or -1.
 * A caller whose real uid is 0 never runs prog (a file queue_user owns)
 * as root: the child opens DIR and spool_dir as root, switches every id
 * (groups, group, user) to queue_user, and runs prog as that user with
 * "-C DIR -D 3 -S 4 -U 0": the two directories as fds 3 and 4 and the
 * caller's uid for the envelope (tern-enqueue(8) SECURITY).  A failure
 * there (unknown queue_user, a directory that cannot be opened) is
 * reported by enq_close as tern-enqueue's own error. */
int enq_open(struct enq *e, const char *prog);
/* Like enq_open, but only tern-enqueued: 1, or 0 when it cannot be
 * reached (not set up, not running, wrong uid). */
int enq_open_writer(struct enq *e);
/* One envelope line: type is 'F', 'R' or another letter; value must not
 * hold a newline.  1 or -1. */
int enq_env(struct enq *e, char type, const char *value);
/* End of envelope.  1 or -1. */
int enq_env_end(struct enq *e);
/* Message bytes (any size; chunked here).  1 or -1. */
int enq_write(struct enq *e, const void *p, size_t n);
/* Send the end marker, wait for tern-enqueue.  1 queued (qid set),
 * 0 permanent failure, -1 temporary failure; err gets the reason. */
int enq_close(struct enq *e, char qid[QID_SIZE], char *err, size_t errsz);
/* Give up: kill and reap tern-enqueue; nothing is queued. */
void enq_abort(struct enq *e);

#endif
