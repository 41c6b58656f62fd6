/*
 * sendmail.h: what the files of tern-sendmail share.
 *
 *   sendmail.c       options, modes, -bm (a message on stdin)
 *   sendmail_smtp.c  -bs (an SMTP dialogue on stdin and stdout)
 *
 * Nothing outside tools/sendmail*.c includes this file.
 */
#ifndef TERN_SENDMAIL_H
#define TERN_SENDMAIL_H

#include <pwd.h>
#include <stddef.h>

#include "util/buf.h"
#include "mail/smtpparse.h"
#include "queue/enq.h"

#define SM_HOST_MAX 256

struct opts {
	int t;              /* -t: recipients from the header fields */
	int dot;            /* a line "." ends the message (no -i / -oi) */
	char mode;          /* -b: m (send), p (list), s (SMTP), i (aliases);
	                     * q (-q: flush) */
	const char *from;   /* -f / -r */
	const char *name;   /* -F */
	int body8;          /* -B 8BITMIME */
	unsigned notify;    /* -N: SMTP_NOTIFY_* flags, 0 not given */
	char ret;           /* -R: 'F' full, 'H' hdrs, 0 not given */
	char envid[SMTP_ENVID_MAX + 1];   /* -V, as xtext; "" not given */
	const char *confdir; /* -C DIR (tern's, not sendmail's -C FILE) */
};

/* Print "tern-sendmail: ..." on stderr and exit with code. */
void sm_die(int code, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* sm_die(EX_TEMPFAIL) when r < 0 (a failed allocation). */
void sm_nomem(int r);
/* The host name for unqualified addresses, Received and Message-ID:
 * hostname from tern.conf, else the system's. */
void sm_host_name(char *host, size_t sz);
/* Start tern-enqueue (program_dir) with its log lines on success
 * dropped: tern-sendmail is silent when all is well.  Never NULL. */
struct enq *sm_enq_open(void);
/* The same, but NULL with the reason in err when it cannot start. */
struct enq *sm_enq_try(char *err, size_t errsz);
/* The DSN NOTIFY flags as an N envelope line value ("" for none). */
const char *sm_notify_text(unsigned notify, char out[40]);

/* -bs: speak SMTP on fd 0 and 1 until QUIT or EOF; exits (0 after QUIT
 * or EOF, EX_* when stdin or stdout fails). */
void sm_smtp(const char *host, const struct passwd *pw)
	__attribute__((noreturn));

#endif
