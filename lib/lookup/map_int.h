/*
 * map_int: what map.c (reader, compiler) and map_parse.c (the text
 * formats) share.  Not for use outside lib/lookup/map*.c.
 */
#ifndef TERN_MAP_INT_H
#define TERN_MAP_INT_H

#include <stddef.h>
#include "util/buf.h"
#include "lookup/map.h"

/* Parse one text line (no newline, NUL-terminated at line[len], not a
 * comment or blank) of a table of type: the cdb key (lower case) into key,
 * the value into val.  1 ok, 0 syntax error (msg filled with a short
 * text, without file:line), -1 ENOMEM. */
int mapp_line(enum map_type type, const char *line, size_t len,
    struct buf *key, struct buf *val, char *msg, size_t msgsz);

/* Helpers of map_parse.c for map_parse_net.c. */
#define MAPP_FIELDS 5
struct fld { const char *s; size_t n; };
/* Format a message into msg; returns 0 (a syntax error). */
int mapp_msgf(char *msg, size_t msgsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Split [s, end) at blanks into at most max fields; the count, or max+1
 * when there are more. */
size_t mapp_fields(const char *s, const char *end, struct fld *f, size_t max);
/* Drop blanks at both ends of [*s, *e). */
void mapp_trim(const char **s, const char **e);
/* An address, canonical and lower-cased, into out.  1, 0 (msg), -1. */
int mapp_key_addr(const char *s, size_t n, struct buf *out, char *msg,
    size_t msgsz);
/* A domain (a literal only with allow_lit), canonical, into out. */
int mapp_key_domain(const char *s, size_t n, int allow_lit, struct buf *out,
    char *msg, size_t msgsz);
/* The access and routes lines: same contract as mapp_line. */
int mapp_access(const char *s, const char *end, struct buf *key,
    struct buf *val, char *msg, size_t msgsz);
int mapp_routes(const char *s, const char *end, struct buf *key,
    struct buf *val, char *msg, size_t msgsz);

/* Normalise an IP address or network "ADDR[/LEN]" into "ADDR/LEN" (LEN
 * 32 or 128 when absent).  1 ok, 0 malformed or host bits set (msg). */
int mapp_cidr(const char *s, size_t n, struct buf *out, const char **msg);

#endif
