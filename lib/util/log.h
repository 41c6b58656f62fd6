/*
 * log: one line per event, to syslog or stderr.
 *
 * Lines about a message start with its queue id; lines about a session
 * with the session id; then an event word and key=value pairs.  Untrusted
 * text must go through log_safe() (no control characters, bounded).
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stddef.h>

enum log_dest { LOG_TO_STDERR, LOG_TO_SYSLOG };

/* Set the program name and destination; facility is a syslog LOG_* value.
 * May be called again (e.g. after reading the config). */
void log_init(const char *prog, enum log_dest dest, int facility);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warn + exit(111): the environment is broken */
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* For a server that cannot start a session: write reply (a whole
 * protocol line with CRLF, e.g. "421 ...") to fd, best effort since the
 * client may be gone, then log_fatal. */
void log_fatal_reply(int fd, const char *reply, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* warn + abort(): an invariant is broken */
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Copy at most n bytes of s into out (size outsz >= 4) with every byte
 * outside 0x20..0x7e shown as \xHH, truncated with "..." when it does not
 * fit.  Returns out. */
char *log_safe(char *out, size_t outsz, const char *s, size_t n);
#define LOG_SAFE_MAX 256

#endif
