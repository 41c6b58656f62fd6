/*
 * log: one line per event to syslog or stderr.
 *
 * On stderr a line is "PROG[PID]: TEXT" (warnings "warning: TEXT").  When
 * stderr is a pipe, socket or terminal (multilog, journald, s6-log,
 * runit's svlogd: they time-stamp each line themselves) that is all; when
 * it is a regular file (2>>file, as the quickstart does) nobody else will
 * add the time, so the line starts with an RFC 3339 local time with
 * milliseconds and offset: "2024-05-01T12:34:56.789+02:00 PROG[PID]: ...".
 * Each line is written with one write(2) so lines of concurrent processes
 * sharing a log file do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define LOG_LINE_MAX 2048

static const char *log_prog = "tern";
static enum log_dest log_dest = LOG_TO_STDERR;
static int log_stamp = -1;  /* stamp stderr lines: -1 not yet known */

void
log_init(const char *prog, enum log_dest dest, int facility)
{
	const char *slash = strrchr(prog, '/');

	log_prog = slash ? slash + 1 : prog;
	if (log_dest == LOG_TO_SYSLOG && dest != LOG_TO_SYSLOG)
		closelog();
	log_dest = dest;
	log_stamp = -1;
	tzset();  /* before any chroot or privilege drop hides the zone file */
	if (dest == LOG_TO_SYSLOG)
		openlog(log_prog, LOG_PID | LOG_NDELAY, facility);
}

/* 1 if fd 2 is a regular file (decided once per log_init: the fd does
 * not change kind under a running program). */
static int
log_stamping(void)
{
	struct stat st;

	if (log_stamp < 0)
		log_stamp = fstat(2, &st) == 0 && S_ISREG(st.st_mode);
	return log_stamp;
}

/* "YYYY-MM-DDTHH:MM:SS.mmm+hh:mm " into out; its length, 0 on failure. */
static size_t
log_time(char *out, size_t outsz)
{
	struct timespec ts;
	struct tm tm;
	char zone[8];
	size_t n;
	int m;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 ||
	    localtime_r(&ts.tv_sec, &tm) == NULL ||
	    (n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm)) == 0 ||
	    strftime(zone, sizeof zone, "%z", &tm) != 5)
		return 0;
	/* RFC 3339 5.6 wants the offset as +hh:mm, strftime gives +hhmm */
	m = snprintf(out + n, outsz - n, ".%03ld%.3s:%.2s ",
	    ts.tv_nsec / 1000000L, zone, zone + 3);
	if (m < 0 || (size_t)m >= outsz - n)
		return 0;
	return n + (size_t)m;
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
	n = log_stamping() ? (int)log_time(line, sizeof line) : 0;
	m = snprintf(line + n, sizeof line - (size_t)n, "%s[%ld]: %s",
	    log_prog, (long)getpid(), tag);
	if (m < 0 || (size_t)m >= sizeof line - (size_t)n)
		m = 0;
	n += m;
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
