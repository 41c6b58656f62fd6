/*
 * qfile_int: what qfile.c (envelopes) and qfile_state.c (state files)
 * share; not for use outside them.
 */
#ifndef TERN_QFILE_INT_H
#define TERN_QFILE_INT_H

#include <limits.h>
#include <stddef.h>

#define QTIME_MAX ((unsigned long)LONG_MAX)

/* A malformed file: "line N: what" (or just what when lineno is 0) into
 * err, errno EINVAL, returns -1. */
int qfile_bad(char *err, size_t errsz, const char *what, unsigned lineno);

#endif
