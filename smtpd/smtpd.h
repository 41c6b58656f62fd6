/*
 * smtpd.h: what the files of tern-smtpd share (one session per process).
 *
 *   main.c     start-up: config, peer address, maps, privilege drop
 *   session.c  the command table, the command handlers, replies
 *   data.c     DATA: reading the message, Received header, tern-enqueue
 *
 * Nothing outside smtpd/ includes this file (STYLE.md rule 1).
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stddef.h>

#include "buf.h"
#include "enq.h"
#include "io.h"
#include "local.h"
#include "qid.h"
#include "smtpparse.h"

/*
 * RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF;
 * "SMTP extensions may be used to increase this limit".  SIZE adds 26
 * (RFC 1870 section 6) and BODY=8BITMIME 14 more to MAIL.
 */
#define SMTPD_CMD_MAX (512 + 26 + 14)
/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with CRLF. */
#define SMTPD_REPLY_MAX 512
/* NOOP, RSET, VRFY, EXPN, HELP accepted for free before each one counts
 * as an error (a client that only idles or probes is not sending mail). */
#define SMTPD_JUNK_MAX 100
/* Longest host name we announce (RFC 5321 4.5.3.1.2). */
#define SMTPD_HOST_MAX 255
/* Longest peer address text: an IPv6 address (INET6_ADDRSTRLEN is 46). */
#define SMTPD_IP_MAX 64

/* Session states (bits, so a command-table row lists where it is allowed).
 * RFC 5321 4.1.4 orders the commands: HELO/EHLO, then MAIL, RCPT..., DATA;
 * RSET or a new EHLO go back to ST_HELO. */
enum smtpd_state {
	ST_GREET = 0x1,   /* connected, no HELO/EHLO yet */
	ST_HELO = 0x2,    /* greeted, no transaction */
	ST_MAIL = 0x4,    /* MAIL accepted: RCPT and DATA allowed */
};
#define ST_ANY (ST_GREET | ST_HELO | ST_MAIL)

struct session {
	struct io io;                 /* fd 0 in, fd 1 out */
	char sid[SID_SIZE];           /* session id, first word of each log line */
	char ip[SMTPD_IP_MAX];        /* peer address or "unknown" */
	char host[SMTPD_HOST_MAX + 1];/* our name in replies and Received */
	char helo[SMTP_HELO_MAX + 1]; /* the client's HELO/EHLO argument */
	int esmtp;                    /* greeted with EHLO */
	int relayclient;              /* RELAYCLIENT set: may relay */
	enum smtpd_state state;
	struct local_maps maps;       /* users and aliases, opened before the drop */

	/* the current transaction (RFC 5321 3.3), cleared by trans_reset */
	struct buf from;              /* reverse-path, "" for <> */
	char **rcpt;                  /* accepted forward-paths */
	size_t nrcpt;
	size_t rcpt_tries;            /* RCPT commands, accepted or not */
	int body8;                    /* BODY=8BITMIME given */

	/* limits from tern.conf */
	unsigned long max_size, max_rcpt, max_line, max_errors, max_hops;
	unsigned errors;              /* counted bad commands */
	unsigned junk;                /* NOOP-like commands */
	unsigned long nqueued;        /* messages accepted in this session */
	int ending;                   /* session_lost is running */

	char *dline;                  /* DATA line buffer, max_line + 1 bytes */
	struct enq enq;               /* the tern-enqueue of the DATA in progress */
};

/* session.c */

/* Greet the client and serve commands until QUIT or the end; exits. */
void session_run(struct session *s) __attribute__((noreturn));
/* Forget the transaction (MAIL, RCPTs); the HELO name stays. */
void trans_reset(struct session *s);
/* Queue one reply line "CODE ESC TEXT" (esc NULL: none, RFC 2034 section
 * 3 for the greeting and HELO/EHLO; also for 3xx).  The line is cut to
 * SMTPD_REPLY_MAX.  smtpd_error also counts a client error. */
void smtpd_reply(struct session *s, int code, const char *esc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtpd_error(struct session *s, int code, const char *esc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Flush, log the end of the session and exit(status). */
void session_exit(struct session *s, int status) __attribute__((noreturn));
/* After a read error or EOF at stage (e.g. "command", "data"): send 421
 * on timeout, log, and end the session. */
void session_lost(struct session *s, const char *stage)
	__attribute__((noreturn));

/* data.c */

/* Handle DATA once the command was accepted in ST_MAIL with at least one
 * recipient: 354, read the message into tern-enqueue, final reply, and
 * reset the transaction.  Ends the session on timeout or EOF. */
void data_run(struct session *s);

#endif
