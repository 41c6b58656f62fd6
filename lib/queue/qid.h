/*
 * qid: queue ids and other unique names.
 *
 * A queue id is QID_LEN upper-case hex digits: 8 of seconds, 5 of
 * microseconds, 6 of pid, then 1 of a per-process counter.  It sorts by
 * arrival time, is the file name in every queue directory, and appears as
 * is in logs and in tern-queue.  Uniqueness is finally guaranteed by
 * tern-enqueue's O_EXCL create of mess/ID, which retries with the next
 * counter on EEXIST.
 */
#ifndef TERN_QID_H
#define TERN_QID_H

#include <stddef.h>

#define QID_LEN 20
#define QID_SIZE (QID_LEN + 1)

/* Make a new id into out (QID_SIZE bytes). */
void qid_new(char out[QID_SIZE]);
/* 1 if s is exactly a well-formed queue id (length and alphabet), else 0;
 * used on every name read from the queue directory. */
int qid_valid(const char *s);
/* Session ids for logs (12 hex digits).  */
#define SID_SIZE 13
void sid_new(char out[SID_SIZE]);

#endif
