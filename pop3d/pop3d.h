/*
 * pop3d.h: what the files of tern-pop3d share.  One connection is three
 * processes (doc/DESIGN.md, tern-pop3d(8) SECURITY):
 *
 *   main.c     start-up, and the PARENT: root in production, it checks
 *              passwords (lib/lookup/auth) for the login child, counts and
 *              delays failures, and forks the mailbox process; it never
 *              reads the network
 *   login.c    the LOGIN child (pop3d_user, no capabilities): the
 *              AUTHORIZATION state on the client connection, TLS, and
 *              after login the byte relay between client and mailbox
 *   maildrop.c the MAILBOX process (the mailbox owner, no capabilities):
 *              TRANSACTION and UPDATE states over the socketpair
 *   session.c  the command table, the command loop, replies
 *
 * The parent's work and the login child's relay are shared with
 * tern-imapd (lib/login/loginproc.h, which also describes the
 * socketpair's protocol).
 *
 * Nothing outside pop3d/ includes this file (doc/CONVENTIONS.md rule 1).
 */
#ifndef TERN_POP3D_H
#define TERN_POP3D_H

#include <stddef.h>

#include "util/buf.h"
#include "util/io.h"
#include "queue/qid.h"
#include "lookup/local.h"
#include "net/peer.h"
#include "store/mbox.h"

/* RFC 2449 section 4: a command line is at most 255 octets with CRLF. */
#define POP3_CMD_MAX 255
/* PASS and SASL lines carry a password (lib/lookup/auth.h: AUTH_PASS_MAX) or
 * its base64 form: longer than 255 octets, still bounded. */
#define POP3_AUTH_LINE_MAX 2048
/* Bad commands before the session is closed. */
#define POP3_ERRORS_MAX 10
#define POP3_HOST_MAX 255
#define POP3_IP_MAX PEER_ADDR_MAX

/* Session states (bits, for the command table). */
enum pop3_state {
	ST_AUTH = 0x1,   /* RFC 1939 AUTHORIZATION: the login child */
	ST_TRANS = 0x2,  /* RFC 1939 TRANSACTION: the mailbox process */
};

struct pop3 {
	struct io io;               /* login: the client; mailbox: ctl */
	char sid[SID_SIZE];         /* session id, first word of log lines */
	char ip[POP3_IP_MAX];       /* peer address or "unknown" */
	char host[POP3_HOST_MAX + 1];
	enum pop3_state state;
	int implicit_tls;           /* -T: TLS from the first byte (995) */
	int ctl;                    /* the socketpair end */
	unsigned errors;            /* bad commands */
	struct local_maps maps;     /* parent only: users, aliases */

	/* login child */
	struct buf user;            /* the USER argument, until PASS */

	/* mailbox process */
	struct buf login;           /* canonical address of the user */
	struct mbox mb;
	unsigned char *del;         /* per message: marked by DELE */
	unsigned long nretr, ntop;  /* for the logout line */
};

/* session.c */

/* Serve commands in p->state until the session ends; never returns. */
void session_loop(struct pop3 *p) __attribute__((noreturn));
/* Queue one reply line (CRLF added; cut to 512 octets, RFC 2449 4). */
void pop3_reply(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Queue "-ERR ..." and count a client error. */
void pop3_error(struct pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Queue raw bytes (message text). */
void pop3_put(struct pop3 *p, const void *s, size_t n);
/* Flush and exit(status). */
void session_exit(struct pop3 *p, int status) __attribute__((noreturn));
/* After a read or write error or EOF at stage: log, exit (0). */
void session_lost(struct pop3 *p, const char *stage)
	__attribute__((noreturn));
/* Parse a message number argument (RFC 1939: decimal, 1..n).  1 ok,
 * 0 not a number. */
int pop3_number(const char *s, size_t n, unsigned long *r);

/* login.c: the AUTHORIZATION state (handlers called from session.c) */
void login_run(struct pop3 *p) __attribute__((noreturn));
void login_capa(struct pop3 *p);
void login_user(struct pop3 *p, const char *arg, size_t n);
void login_pass(struct pop3 *p, const char *arg, size_t n);
void login_auth(struct pop3 *p, const char *arg, size_t n);
void login_stls(struct pop3 *p, const char *arg, size_t n);
void login_quit(struct pop3 *p);

/* maildrop.c: the TRANSACTION and UPDATE states */
void maildrop_run(struct pop3 *p, const char *maildir)
	__attribute__((noreturn));
void md_stat(struct pop3 *p, const char *arg, size_t n);
void md_list(struct pop3 *p, const char *arg, size_t n);
void md_retr(struct pop3 *p, const char *arg, size_t n);
void md_top(struct pop3 *p, const char *arg, size_t n);
void md_dele(struct pop3 *p, const char *arg, size_t n);
void md_noop(struct pop3 *p, const char *arg, size_t n);
void md_rset(struct pop3 *p, const char *arg, size_t n);
void md_uidl(struct pop3 *p, const char *arg, size_t n);
void md_quit(struct pop3 *p);

#endif
