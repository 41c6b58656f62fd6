/*
 * log: one line per event to syslog or stderr.
 *
 * On stderr a line is "PROG[PID]: TEXT" (warnings "warning: TEXT"), which
 * multilog and journald time-stamp themselves.  Each line is written with
 * one write(2) so lines of concurrent processes sharing a log file do not
 * interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log.h"

#define LOG_LINE_MAX 2048

static const char *log_prog = "tern";
static enum log_dest log_dest = LOG_TO_STDERR;

void
log_init(const char *prog, enum log_dest dest, int facility)
{
	const char *slash = strrchr(prog, '/');

	log_prog = slash ? slash + 1 : prog;
	if (log_dest == LOG_TO_SYSLOG && dest != LOG_TO_SYSLOG)
		closelog();
	log_dest = dest;
	if (dest == LOG_TO_SYSLOG)
		openlog(log_prog, LOG_PID | LOG_NDELAY, facility);
}

static void log_emit(int, const char *, const char *, va_list)
	__attribute__((format(printf, 3, 0)));

static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int n, m;

	if (log_dest == LOG_TO_SYSLOG) {
		char text[LOG_LINE_MAX];

		if (vsnprintf(text, sizeof text, fmt, ap) < 0)
			text[0] = '\0';
		syslog(prio, "%s%s", tag, text);
		errno = saved;
		return;
	}
	n = snprintf(line, sizeof line, "%s[%ld]: %s", log_prog,
	    (long)getpid(), tag);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;  /* truncated: still one line */
	line[n++] = '\n';
	/* best effort: a log write that fails has nowhere to be reported */
	if (write(2, line, (size_t)n) < 0) {
		/* nowhere to report it */
	}
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(111);
}

void
log_fatal_reply(int fd, const char *reply, const char *fmt, ...)
{
	va_list ap;

	if (write(fd, reply, strlen(reply)) < 0) {
		/* the client is gone: the log line below still says why */
	}
	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(111);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}

char *
log_safe(char *out, size_t outsz, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (outsz < 4) {
		if (outsz)
			out[0] = '\0';
		return out;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;

		if (o + need > outsz - 4) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
