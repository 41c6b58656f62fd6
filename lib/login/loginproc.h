/*
 * loginproc: the two halves of the login protocol that tern-pop3d and
 * tern-imapd share (doc/DESIGN.md, tern-pop3d(8) and tern-imapd(8)
 * SECURITY).  A session is three processes:
 *
 *   PARENT   root (CAP_SETUID, CAP_SETGID, CAP_DAC_READ_SEARCH): checks
 *            passwords for the login child, counts and delays failures,
 *            forks the mailbox process as the mailbox owner; never reads
 *            the network
 *   LOGIN    the server's pre-login user with no capabilities: the
 *            protocol before login, TLS, then a byte relay
 *   MAILBOX  the mailbox owner with no capabilities: the rest
 *
 * The socketpair between login child and parent carries per attempt one
 * netstring "LEN:user\0password," (login/creds.h) up; the parent answers
 * one byte: LOGIN_FAIL, LOGIN_FAIL_LAST (no more tries) or LOGIN_TEMP.
 * On success the mailbox process answers LOGIN_RELAY on the same socket
 * and from then on the socket carries the session in plaintext, relayed
 * by the login child.
 *
 * With become set (tern-imapd), the parent does not fork the mailbox
 * process: it drops to the owner itself and is the mailbox process, so
 * a session is two processes, or one.  After LOGIN_RELAY the login
 * child answers LOGIN_HANDOFF with the connection attached (SCM_RIGHTS)
 * and the bytes the client sent after its login command, and exits, on
 * a plaintext connection; under TLS it answers LOGIN_KEEP and relays as
 * above (login_pass_on, login_take).
 */
#ifndef TERN_LOGINPROC_H
#define TERN_LOGINPROC_H

#include <stddef.h>

#include "util/io.h"
#include "lookup/local.h"

#define LOGIN_FAIL 'F'
#define LOGIN_FAIL_LAST 'X'
#define LOGIN_TEMP 'T'
#define LOGIN_RELAY 'R'
#define LOGIN_HANDOFF 'P'
#define LOGIN_KEEP 'K'
#define LOGIN_RELAY_BUF 16384
#define LOGIN_REPLY_MAX 4096

struct login_parent {
	const char *sid;            /* session id for log lines */
	const char *ip;             /* the client's address */
	struct local_maps *maps;    /* users and aliases, open */
	/* Runs in the mailbox process (forked, or the parent itself when
	 * become), which is already the owner (uid, gid) with no
	 * capabilities and no maps; ctl is its end of the socketpair; canon
	 * the user's canonical address; quota the users map's quota in
	 * bytes (0 none).  Never returns. */
	void (*mailbox)(void *arg, int ctl, const char *canon,
	    const char *maildir, unsigned long quota);
	void *arg;
	int become;                 /* be the mailbox process, no fork */
};

/* The parent: answer the login child's attempts on ctl until one
 * succeeds (then the mailbox process runs) or the child goes away or
 * runs out of tries; then wait for every child and exit(0). */
void login_parent_run(struct login_parent *lp, int ctl)
	__attribute__((noreturn));

/* The login child: send one attempt to the parent on ctl and return
 * its answer byte (LOGIN_* above; LOGIN_TEMP with *gone_r = 1 when the
 * parent did not answer).  The fields must be non-empty, NUL-free and
 * within AUTH_USER_MAX / AUTH_PASS_MAX (lib/lookup/auth.h): 0 is
 * returned, and nothing sent, when they are not.  Fatal on a write
 * error or out of memory. */
int login_attempt(const char *sid, int ctl, const char *user, size_t ulen,
    const char *pass, size_t plen, int *gone_r);

/* The login child after LOGIN_RELAY: copy bytes both ways between the
 * client io (TLS underneath when on) and ctl until one side ends, then
 * exit(0).  Bytes the client pipelined after its login command go first.
 * The mailbox process keeps the timeouts: it ends the session by
 * closing its end.  A client that goes away makes the relay close ctl,
 * and the mailbox process then ends without committing anything the
 * protocol commits only at a clean end (POP3 UPDATE). */
void login_relay(const char *sid, struct io *io, int ctl)
	__attribute__((noreturn));

/* The login child after LOGIN_RELAY from a parent that is the mailbox
 * process (become), with the reply to the login (reply[0..n), at most
 * LOGIN_REPLY_MAX bytes) not sent yet: a plaintext connection (fd 0 and
 * 1 one socket) goes to it with LOGIN_HANDOFF, the reply (two bytes of
 * length, then it) and the pending bytes, and the child exits: the
 * mailbox process sends the reply when it is ready to serve, so the
 * client's next command does not wait for the handoff; otherwise (TLS)
 * the child sends the reply, LOGIN_KEEP, then login_relay. */
void login_pass_on(const char *sid, struct io *io, int ctl,
    const char *reply, size_t n) __attribute__((noreturn));

/* The mailbox process of a become parent: send LOGIN_RELAY on ctl and
 * set io up for the session as the login child answers: the connection
 * it passes (the login's reply sent on it, its pending bytes first; ctl
 * closed), or ctl itself,
 * relayed (the process then waits at exit for the relay to deliver the
 * last bytes).  1, or -1 with errno (EPROTO: not a valid answer). */
int login_take(struct io *io, int ctl, int timeout);

#endif
