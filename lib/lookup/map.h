/*
 * map: lookup tables compiled from text files to cdb (tinycdb).
 *
 * FILE (text) is compiled by tern-map to FILE.cdb: the writer creates
 * FILE.cdb.tmp, fsyncs it and renames it over FILE.cdb, so a reader sees
 * either the old or the new table.  Readers reopen when the file changed
 * (inode or mtime), so long-running processes pick up new tables.
 *
 * Formats (one entry a line, '#' comments, blank lines ignored; every
 * error names file:line):
 *   users    ADDRESS HASH [MAILDIR [QUOTA]]   -> "HASH\tMAILDIR\tQUOTA"
 *   aliases  KEY: TARGET[, TARGET...]          -> "t1,t2,..."
 *            KEY is an address, @domain (catch-all) or a bare local
 *            part (that local part in every local domain, as in
 *            /etc/aliases); a TARGET without '@' is qualified with the
 *            key's domain, or for a bare key left bare (lib/lookup/local.c
 *            qualifies it with the domain looked up).
 *   access   KEY ACTION [TEXT]                 -> "ACTION TEXT"
 *   routes   DOMAIN HOST[:PORT] [OPTION...]   -> "HOST[:PORT][ OPTION...]"
 * Keys are stored in lower case; lookups lower-case the key too.
 */
#ifndef TERN_MAP_H
#define TERN_MAP_H

#include <stddef.h>
#include <sys/types.h>
#include "util/buf.h"

enum map_type { MAP_USERS, MAP_ALIASES, MAP_ACCESS, MAP_ROUTES };

struct map {
	char *path;      /* of the .cdb */
	int fd;          /* -1 when the table does not exist */
	void *cdb;       /* struct cdb *, opaque here */
	dev_t dev; ino_t ino; long mtime_ns;
	unsigned long period;  /* the refresh period of the last check */
};

/* Open the compiled table path (the ".cdb" name).  A missing table is an
 * empty map (returns 1 with fd -1).  1 or -1. */
int map_open(struct map *m, const char *cdbpath);
/* Reopen if the file was replaced.  1 or -1.  Within one refresh
 * period (map_refresh_period) the file is looked at (stat) only once per
 * map; the rest of the period's calls return 1 at once. */
int map_refresh(struct map *m);
/* Start a new refresh period (tern-smtpd: at each batch of commands,
 * when the client waits for our replies), so that a map rebuilt meanwhile
 * is seen by the next map_refresh.  A process that never calls this gets
 * a stat at every map_refresh. */
void map_refresh_period(void);
/* Look up key (lower-cased here); value into val_r.
 * 1 found, 0 not found, -1 error. */
int map_get(struct map *m, const char *key, size_t keylen, struct buf *val_r);
void map_close(struct map *m);

/* Guess the type from the file's base name ("users", "aliases",
 * "access", "routes"); 1 ok, 0 unknown. */
int map_type_of(const char *path, enum map_type *type_r);
/* Compile text file path to path.cdb atomically.  On a syntax error
 * writes "file:line: message" to err and returns 0 (nothing replaced);
 * -1 on a system error (err set too); 1 ok with *count_r entries. */
int map_compile(const char *path, enum map_type type, size_t *count_r,
    char *err, size_t errsz);

/* Additions (maps helper).  The text formats are documented in full in
 * tern-map(8). */

#define MAP_LINE_MAX 4096   /* bytes of a text line, without the newline */
#define MAP_ERRORS_MAX 20   /* syntax errors reported per file */

/* Parse path as map_compile does, without writing anything (for
 * tern-config check).  Same returns; err may hold several lines. */
int map_check(const char *path, enum map_type type, size_t *count_r,
    char *err, size_t errsz);
/* The type's name ("users", ...). */
const char *map_type_name(enum map_type type);

/* users: split a value "HASH\tMAILDIR\tQUOTA" in place (tabs become
 * NULs).  *maildir_r is "" for the default ("-" in the file), *quota_r
 * is bytes (0: none).  1 ok, 0 malformed. */
int map_user_parse(char *val, const char **hash_r, const char **maildir_r,
    unsigned long *quota_r);

/* access: keys in the table are "IP/LEN" (client address or network,
 * normalised), "helo:NAME", "from:ADDRESS", "from:@DOMAIN", "from:" (the
 * null sender <>), "to:ADDRESS", "to:@DOMAIN"; values "ACTION[ TEXT]". */
enum map_action { MAP_OK, MAP_REJECT, MAP_RELAY, MAP_DEFER, MAP_DISCARD };
/* Split a value: *text_r points into val ("" when there is none).
 * 1 ok, 0 malformed. */
int map_access_parse(const char *val, enum map_action *act_r,
    const char **text_r);
/* Client address ip (IPv4 or IPv6 text; IPv4-mapped IPv6 counts as
 * IPv4): the longest matching prefix.  1 found, 0 none (also for a
 * malformed ip), -1 error. */
int map_access_ip(struct map *m, const char *ip, struct buf *val_r);
/* HELO/EHLO argument, exact (case-insensitive).  1, 0, -1. */
int map_access_helo(struct map *m, const char *helo, struct buf *val_r);
/* kind "from" or "to"; addr canonical ("" = null sender): the exact
 * address, then "@domain".  1, 0, -1. */
int map_access_addr(struct map *m, const char *kind, const char *addr,
    struct buf *val_r);

/* routes: keys are a domain, ".domain" (any subdomain of it) or "*"
 * (every other domain); value "HOST[:PORT]" where HOST may be "[IP]"
 * (connect there, no MX lookup).  Lookup order: the domain, then
 * ".parent" for each parent domain, then "*".  1, 0, -1. */
int map_route(struct map *m, const char *domain, struct buf *val_r);

#endif
