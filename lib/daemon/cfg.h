/*
 * cfg: tern.conf, declared once.
 *
 * Every key is one row of the table in cfg_keys.c: name, type, default,
 * for numbers a minimum and maximum, and optionally a check of the value.
 * The file is "key = value" lines; a "#" at the start of a line, at the
 * start of a value or after a space or tab begins a comment that runs to
 * the end of the line (so "hostname = mx.example # main" is
 * "mx.example").  Unknown keys, repeated keys and bad values are errors
 * that name file:line.  Relative paths in path-typed keys are resolved against
 * the configuration directory, so one directory can hold a whole instance.
 *
 * The configuration directory is -C DIR, else $TERN_CONFDIR, else the
 * configure-time sysconfdir (TERN_SYSCONFDIR).
 */
#ifndef TERN_CFG_H
#define TERN_CFG_H

#include <stddef.h>
#include <sys/types.h>

enum cfg_type {
	CFG_STR,   /* free text */
	CFG_PATH,  /* a path; relative ones are made absolute against DIR */
	CFG_LIST,  /* words separated by spaces or commas */
	CFG_BOOL,  /* yes/no, true/false, on/off, 1/0 */
	CFG_NUM,   /* unsigned number, optional k/M/G suffix (x1024) */
	CFG_TIME,  /* seconds, optional s/m/h/d/w suffix */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;       /* default in config-file syntax */
	unsigned long min, max;/* for CFG_NUM and CFG_TIME */
	const char *help;      /* one line, for tern-config and the man page */
	/* NULL, or: 1 if the value (comment and blanks removed, before path
	 * resolution) is good, else 0 with *msg_r set to why */
	int (*check)(const char *value, const char **msg_r);
};

#define CFG_FILE_MAX (1024 * 1024)   /* tern.conf is read up to this */

/* The table, terminated by a row with name NULL. */
extern const struct cfg_key cfg_keys[];

/* Resolve the directory (dir may be NULL: environment, then default),
 * read DIR/tern.conf (a missing file means all defaults) and keep the
 * result.  On error writes "file:line: message" into err (size errsz) and
 * returns -1, and the configuration loaded before (if any) stays in
 * effect, so a daemon that re-reads a broken file keeps working; 1 on
 * success. */
int cfg_load(const char *dir, char *err, size_t errsz);
/* Go back to the configuration that the last successful cfg_load
 * replaced (a reload that a later check refused).  1 done, 0 there is
 * none (the first load, or already reverted). */
int cfg_revert(void);
/* A number that changes whenever the configuration in use changes
 * (cfg_load, cfg_revert): for values computed from it and cached. */
unsigned long cfg_generation(void);
/* cfg_load, but tern.conf is read from the open directory dirfd, and
 * both are first held to the trust rules of a set-id reader (tern-enqueue,
 * tern-enqueue(8) SECURITY): dirfd a directory and tern.conf a regular
 * file (a symbolic link is refused, not followed), each owned by root or
 * by owner and writable by neither group nor others; each is checked with
 * fstat on what is then read, never again by name.  A missing tern.conf
 * means all defaults, as in cfg_load.  dir names the directory (NULL:
 * environment, then default, as in cfg_load): it is what cfg_dir returns,
 * what relative path-typed keys resolve against, and what messages say;
 * it is not opened.  1 ok; 0 not trusted, -1 error, both with err set
 * ("DIR: reason" or "DIR/tern.conf: reason") and the configuration loaded
 * before (if any) kept.  dirfd stays open. */
int cfg_load_fd(int dirfd, const char *dir, uid_t owner, char *err,
    size_t errsz);
/* cfg_load from the text text[0..len) in tern.conf's format instead of
 * DIR/tern.conf (a configuration another process read and passed on);
 * name is what messages call it.  dir as for cfg_load.  1, or -1 with err
 * set and the configuration before kept. */
int cfg_load_text(const char *dir, const char *name, const char *text,
    size_t len, char *err, size_t errsz);
/* The configuration directory in use (absolute). */
const char *cfg_dir(void);

/* The keys by compile-time name: CFG_ID_spool_dir is spool_dir's row in
 * cfg_keys[].  A key that is not in cfg_keys.def does not compile. */
enum cfg_id {
#define CFG_KEY(name, type, def, min, max, help, check) CFG_ID_##name,
#include "daemon/cfg_keys.def"
#undef CFG_KEY
	CFG_NKEYS
};

/* Typed getters, by compile-time name: cfg_str(spool_dir),
 * cfg_num(smtpd_timeout), cfg_list(local_domains, 0) ...  Strings stay
 * valid until the next cfg_load.  The _at functions take the row. */
#define cfg_str(key) cfg_str_at(CFG_ID_##key)
#define cfg_num(key) cfg_num_at(CFG_ID_##key)
#define cfg_bool(key) cfg_bool_at(CFG_ID_##key)
#define cfg_list(key, n) cfg_list_at(CFG_ID_##key, n)
#define cfg_inlist(key, word) cfg_inlist_at(CFG_ID_##key, word)
#define cfg_isset(key) cfg_isset_at(CFG_ID_##key)
#define cfg_isdefault(key) cfg_isdefault_at(CFG_ID_##key)
const char *cfg_str_at(enum cfg_id id);
unsigned long cfg_num_at(enum cfg_id id);  /* CFG_NUM, CFG_TIME */
int cfg_bool_at(enum cfg_id id);
/* CFG_LIST: the n-th word or NULL past the end */
const char *cfg_list_at(enum cfg_id id, size_t n);
/* 1 if word (ASCII case-insensitive) is in the list, else 0 */
int cfg_inlist_at(enum cfg_id id, const char *word);
/* 1 if the key was set in the file, else 0 */
int cfg_isset_at(enum cfg_id id);
/* 1 if the key's effective value equals its default's (numbers, times
 * and yes/no compared by value, lists word by word ignoring ASCII case,
 * paths after resolution), else 0: tern-config -n prints the keys where
 * this is 0. */
int cfg_isdefault_at(enum cfg_id id);
/* The row of a key named at run time (tern-config NAME, tern-start's
 * list of users): 1 found (*id_r set), 0 no such key. */
int cfg_id_of(const char *name, enum cfg_id *id_r);
/* cfg_str_at of a key named at run time; log_panic if there is none (the
 * names come from our own tables, so that is a bug). */
const char *cfg_str_named(const char *name);
/* 1 if the key's value differs from the one in the configuration that
 * the last successful cfg_load replaced, else 0 (also when there is
 * none). */
int cfg_changed(enum cfg_id id);
/* Re-read tern.conf when it has changed on disk, so that a long-running
 * program sees an edit as soon as tern-smtpd (which reads it at every
 * connection) does.  The file is looked at (stat) at most once every
 * interval seconds (0: at every call); cfg_refresh_pending says whether a
 * call was skipped for that, so that the caller can come back in time.
 * A file that does not load is logged with file:line and the running
 * configuration stays.  The keys the queue side (tern-queued and
 * tern-deliverd alike, one list in cfg_refresh.c) applies at start and
 * cannot change while it runs (the users, spool_dir, program_dir,
 * local_concurrency, log): a new file that changes one of them is not
 * taken, by either (logged: tern-start reload restarts the queue side).  1 a new configuration is in effect,
 * 0 not. */
int cfg_refresh(unsigned interval);
/* 1 if the last cfg_refresh did not look because of its interval. */
int cfg_refresh_pending(void);
/* An inotify fd that becomes readable when a file of the configuration
 * directory is written, replaced or created (made once; -1 when the
 * directory cannot be watched: then only the calls of cfg_refresh that
 * other events cause look at the file).  Poll it, then call
 * cfg_refresh_event. */
int cfg_watch_fd(void);
/* Drain cfg_watch_fd and look at tern.conf now (cfg_refresh with no
 * interval).  Same result as cfg_refresh. */
int cfg_refresh_event(void);
/* Remember tern.conf as it is now as what cfg_refresh compares with;
 * call right after the start-up load. */
void cfg_refresh_mark(void);
/* Path of a file in the configuration directory, e.g. cfg_file("users")
 * -> "/etc/tern/users".  Static storage per call site is not needed: the
 * result is malloc'ed once per name and kept. */
const char *cfg_file(const char *name);

/* Parse the common command line of every program: -C DIR.  Scans argv
 * for "-C DIR" / "-CDIR" before any other option parsing and removes it;
 * returns the DIR or NULL. */
const char *cfg_take_dir(int *argc, char **argv);

/* Point the log (lib/util/log.h) where the keys log and log_facility say, for
 * program prog.  Call after cfg_load (which has refused unknown values). */
void cfg_log_init(const char *prog);
/* The syslog facility named (mail, daemon, user, local0..local7, any
 * case), or -1 for an unknown name. */
int cfg_log_facility(const char *name);
/* 1 if name can be our host name (greetings, Received, HELO): at most
 * CFG_HOST_MAX bytes of letters, digits, '-', '.' and '_' (the syntax
 * tern-smtpd accepts in HELO, lib/mail/smtpparse.h), no address literal; else
 * 0 with *why_r saying what is wrong. */
#define CFG_HOST_MAX 253  /* RFC 1035 2.3.4: 255 octets on the wire */
int cfg_host_ok(const char *name, const char **why_r);
/* The key hostname, or the system host name when it is empty ("localhost"
 * if even that fails).  Static storage, computed once.  A configured name
 * was checked by cfg_load (cfg_host_ok); the system's name is not, so
 * callers that need a valid one check it (tern-config check does). */
const char *cfg_hostname(void);

#endif
