/*
 * qwrite: the steps that put a message into mess/, shared by the two queue
 * writers, tern-enqueue (one message per run, setuid entry point) and
 * tern-enqueued (the long-lived writer sessions reach over a UNIX socket),
 * so both write the same file the same way (doc/DESIGN.md "The queue").
 * Every path is relative to the current directory, which is spool_dir.
 *
 * The socket: an abstract UNIX-domain stream socket (no file, so it needs
 * no path a dropped process can reach), named after spool_dir, one per
 * spool.  Each side checks the other with SO_PEERCRED: tern-enqueued
 * takes connections only from the uids of qw_peer_ok, and a client talks
 * only to a server running as queue_user (or root).  On it, per
 * connection, one message in the protocol of lib/queue/enq.h, and one
 * reply line from the writer:
 *   "K <queue id>\n"   committed (fsynced)
 *   "D <text>\n"       refused for good (bad envelope, too big): 5xx
 *   "Z <text>\n"       temporary failure (disk full, I/O): 4xx
 * A connection closed without a reply is a temporary failure.
 */
#ifndef TERN_QWRITE_H
#define TERN_QWRITE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include "queue/qid.h"

#define QW_NAME_MAX 64          /* "mess/" or "todo/" + a queue id */
#define QW_REPLY_MAX 320        /* one reply line with its LF */

/* Create mess/ID exclusively with QFILE_MODE_WORK; a taken name gets the
 * next id (100 tries).  The fd (close-on-exec), id and name set; -1 with
 * errno on failure (name empty then). */
int qw_create(char id[QID_SIZE], char name[QW_NAME_MAX]);
/* todo/ID: "new message" for tern-queued.  1, or -1 with errno. */
int qw_todo(const char *id);
/* One byte on the trigger FIFO (non-blocking).  1 sent, 0 nobody reads
 * (tern-queued not running), -1 error. */
int qw_trigger(void);

/* The socket address for spool_dir spool: "@tern-enqueue:" and the path,
 * or a hash of it when the path is too long.  *len_r for bind/connect. */
void qw_sockaddr(const char *spool, struct sockaddr_un *sa, socklen_t *len_r);
/* The credentials of the peer of connected socket fd.  1 or -1. */
int qw_peer(int fd, uid_t *uid_r, pid_t *pid_r);

#endif
