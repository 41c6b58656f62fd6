/*
 * queue.h: what the files of tern-queue share (tools/queue.c: reading
 * the queue, list, show, requests; tools/queue_stats.c: stats).
 */
#ifndef TERN_TOOLS_QUEUE_H
#define TERN_TOOLS_QUEUE_H

#include <stddef.h>

#include "queue/qfile.h"
#include "queue/qid.h"

struct msg {
	char id[QID_SIZE];
	struct qenv e;
	unsigned long long size;    /* message bytes, without the envelope */
	char err[160];              /* non-empty: the file is corrupt */
};

extern int json;                /* --json */

/* Print "tern-queue: ..." and exit with code. */
void die(int code, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* A JSON string (RFC 8259 7) on stdout. */
void jstr(const char *s);
/* s for a terminal: control characters shown as \xHH. */
const char *safe(const char *s, char *out, size_t outsz);
/* Load mess/ID and state/ID.  1 (m->err set when corrupt), 0 gone. */
int load(const char *id, struct msg *m);
/* The queue ids in dir, sorted; *n their count. */
char **ids_in(const char *dir, size_t *n);
/* stats [--json] */
int cmd_stats(void);

#endif
