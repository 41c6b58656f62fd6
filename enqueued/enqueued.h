/*
 * tern-enqueued: the long-lived queue writer (tern-enqueued(8)).
 * main.c: start-up, the epoll loop, the group commit; conn.c: one client
 * connection, the protocol of lib/queue/enq.h parsed as bytes arrive.
 */
#ifndef TERN_ENQUEUED_H
#define TERN_ENQUEUED_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/qwrite.h"

#define ENQD_CHUNK_LINE 16     /* "<hex length>\n" */

enum conn_state {
	C_ENV,     /* envelope lines, up to the empty one */
	C_LEN,     /* a chunk length line */
	C_DATA,    /* inside a chunk: c->left bytes to come */
	C_DONE,    /* "0\n" read: waits for the group commit */
	C_DRAIN    /* answered with a failure: input read and dropped */
};

struct conn {
	int sock;              /* the client */
	int fd;                /* mess/ID while it is written, else -1 */
	uid_t uid;             /* SO_PEERCRED: the U envelope line */
	pid_t pid;
	enum conn_state st;
	char id[QID_SIZE];
	char name[QW_NAME_MAX];   /* mess/ID to remove on failure, or "" */
	struct qenv env;
	struct qenv_parse p;
	char line[QENV_LINE_MAX + 2];
	size_t llen;
	size_t left;           /* C_DATA: bytes of this chunk still to come */
	unsigned long size;    /* message bytes so far */
	size_t envbytes;       /* envelope bytes so far (QFILE_ENV_MAX) */
	unsigned long limit;   /* message_size_limit */
	time_t last;           /* last byte received (idle limit) */
	int gone;              /* EOF or error: dropped after the round */
	struct conn *next;     /* the list of all connections */
	struct conn *batch;    /* the commit batch (C_DONE) */
};

/* A new connection in state C_ENV. */
void conn_init(struct conn *c, int sock, uid_t uid, pid_t pid,
    unsigned long limit);
/* Bytes p[0..n) from the client.  Moves the state on; a protocol or write
 * error answers the client (conn_fail) and puts it in C_DRAIN.  Bytes
 * after "0\n" are ignored. */
void conn_input(struct conn *c, const char *p, size_t n);
/* Answer code ('D' permanent, 'Z' temporary) and text, remove the work
 * file, drop what else the client sends (C_DRAIN). */
void conn_fail(struct conn *c, char code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Send one reply line "CODE TEXT\n"; 1 or -1 (the client is gone). */
int conn_reply(struct conn *c, char code, const char *text);
/* Close the client and the work file (removed unless committed). */
void conn_free(struct conn *c);

#endif
