/*
 * smtpd.h: what the files of tern-smtpd share (one session per process).
 *
 *   main.c     start-up: mode, config, peer address, maps, TLS
 *              certificate, resolver, privilege drop
 *   session.c  the command table and loop, replies, limits, HELO/EHLO
 *              and the small commands
 *   envelope.c MAIL and RCPT: parameters (SIZE, BODY, SMTPUTF8, DSN,
 *              AUTH=), the relay decision, the submission sender check
 *   policy.c   the access map, DNS block lists, early talkers
 *   sasl.c     STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954)
 *   message.c  one message into tern-enqueue: envelope, Received and
 *              X-Tern-Spam fields, the checks, the final reply
 *   data.c     DATA (RFC 5321 4.1.1.4) on top of message.c
 *   bdat.c     BDAT (RFC 3030 CHUNKING) on top of message.c
 *   listen.c   -l: the standalone listener (bind, drop, accept, fork)
 *
 * Nothing outside smtpd/ includes this file (doc/CONVENTIONS.md rule 1).
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/io.h"
#include "mail/smtpparse.h"
#include "queue/enq.h"
#include "queue/qid.h"
#include "lookup/local.h"
#include "lookup/map.h"
#include "net/peer.h"

/*
 * RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF;
 * "SMTP extensions may be used to increase this limit", and ours do: SIZE
 * and BODY (RFC 1870 6, RFC 6152), RET, ENVID, NOTIFY and ORCPT (RFC 3461
 * 5: up to 500 more), SMTPUTF8 and AUTH= (up to 500).  2048 holds them
 * all with room to spare.
 */
#define SMTPD_CMD_MAX 2048
/* RFC 4954 4: AUTH command lines and SASL responses up to 12288 octets. */
#define SMTPD_AUTH_LINE_MAX 12288
/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with CRLF. */
#define SMTPD_REPLY_MAX 512
/* NOOP, RSET, VRFY, EXPN, HELP accepted for free before each one counts
 * as an error (a client that only idles or probes is not sending mail). */
#define SMTPD_JUNK_MAX 100
/* Longest host name we announce (RFC 5321 4.5.3.1.2). */
#define SMTPD_HOST_MAX 255
/* Longest peer address text: an IPv6 address (INET6_ADDRSTRLEN is 46). */
#define SMTPD_IP_MAX PEER_ADDR_MAX
/* Text kept from an access rule or a DNSBL TXT record for a reply. */
#define SMTPD_WHY_MAX 200

/* Session states (bits, so a command-table row lists where it is allowed).
 * RFC 5321 4.1.4 orders the commands: HELO/EHLO, then MAIL, RCPT...,
 * DATA or BDAT; RSET or a new EHLO go back to ST_HELO. */
enum smtpd_state {
	ST_GREET = 0x1,   /* connected, no HELO/EHLO yet */
	ST_HELO = 0x2,    /* greeted, no transaction */
	ST_MAIL = 0x4,    /* MAIL accepted: RCPT, DATA and BDAT allowed */
};
#define ST_ANY (ST_GREET | ST_HELO | ST_MAIL)

/* The listener's job, from -m (tern-smtpd(8)). */
enum smtpd_mode {
	MODE_MX,          /* port 25: mail for local users, relay control */
	MODE_SUBMISSION,  /* port 587: AUTH before MAIL (RFC 6409) */
	MODE_SMTPS,       /* port 465: submission over implicit TLS (RFC 8314) */
};

/* A verdict of the access map or of the DNSBL check. */
struct verdict {
	int found;                    /* a rule matched */
	enum map_action act;
	char why[SMTPD_WHY_MAX + 1];  /* the rule's text, sanitised, or "" */
};

/* One accepted recipient with its DSN parameters (RFC 3461). */
struct rcpt {
	char *addr;
	unsigned notify;              /* SMTP_NOTIFY_* or 0 */
	char *orcpt;                  /* "type;xtext" or NULL */
	int drop;                     /* access DISCARD: accepted, not queued */
};

/* What the message being received looks like so far (message.c). */
struct msgstate {
	unsigned flags;               /* DF_* of data.c: why it is refused */
	int queuing;                  /* tern-enqueue is running and fed */
	int in_header;                /* still in the header section */
	int skipping;                 /* dropping an X-Tern-Spam field */
	unsigned long hops;           /* Received: fields seen */
	unsigned long size;           /* octets with CRLF, unstuffed */
	size_t partial;               /* BDAT: bytes of a line in dline */
	int partial_over;             /* BDAT: that line was too long */
	int bdat;                     /* the message comes by BDAT */
};

struct session {
	struct io io;                 /* fd 0 in, fd 1 out */
	char sid[SID_SIZE];           /* session id, first word of each log line */
	char ip[SMTPD_IP_MAX];        /* peer address or "unknown" */
	char host[SMTPD_HOST_MAX + 1];/* our name in replies and Received */
	char helo[SMTP_HELO_MAX + 1]; /* the client's HELO/EHLO argument */
	enum smtpd_mode mode;
	int esmtp;                    /* greeted with EHLO */
	int relayclient;              /* RELAYCLIENT set: may relay */
	enum smtpd_state state;
	struct local_maps maps;       /* users and aliases, opened before the drop */
	struct map access;            /* the access map (may be empty) */
	time_t start;                 /* CLOCK_MONOTONIC at connect */

	/* TLS and AUTH (sasl.c) */
	int tls_ready;                /* a certificate is loaded */
	int authed;                   /* AUTH succeeded */
	struct buf auth_user;         /* the authenticated address */
	unsigned auth_failures;

	/* policy (policy.c): client and HELO verdicts, the DNSBL result */
	struct verdict v_client, v_helo;
	int dnsbl_done;               /* the lookup was made (once a session) */
	struct verdict v_dnsbl;       /* found: listed (why: zone and reason) */

	/* the current transaction (RFC 5321 3.3), cleared by trans_reset */
	struct buf from;              /* reverse-path, "" for <> */
	struct rcpt *rcpt;            /* accepted forward-paths */
	size_t nrcpt, rcpt_cap;       /* used and allocated */
	size_t *rcpt_hash;            /* index by address: i + 1, 0 free */
	size_t rcpt_hcap;             /* slots (a power of 2, or 0) */
	size_t rcpt_tries;            /* RCPT commands, accepted or not */
	int body8;                    /* BODY=8BITMIME given */
	int utf8;                     /* SMTPUTF8 given (RFC 6531) */
	char ret;                     /* DSN RET: 'F', 'H' or 0 */
	struct buf envid;             /* DSN ENVID (xtext) or "" */
	int discard;                  /* accept, but drop the message */
	int sender_ok;                /* an access OK rule for the sender */
	int spam;                     /* add X-Tern-Spam: yes */
	int msg_open;                 /* BDAT: a message is being received */
	struct msgstate ms;

	/* limits from tern.conf */
	unsigned long max_size, max_rcpt, max_line, max_errors, max_hops;
	unsigned long max_commands, cmd_timeout, data_timeout, max_time;
	unsigned errors;              /* counted bad commands */
	unsigned junk;                /* NOOP-like commands */
	unsigned long commands;       /* command lines read */
	unsigned long nqueued;        /* messages accepted in this session */
	int ending;                   /* session_lost is running */

	char *dline;                  /* message line buffer, max_line + 1 bytes */
	struct enq enq;               /* the tern-enqueue of the message */

	/* -l ADDR:PORT and -c MAXCONN (listen.c); NULL: one session on 0/1 */
	const char *listen_addr;
	unsigned long listen_max;
};

/* session.c */

/* Greet the client and serve commands until QUIT or the end; exits. */
void session_run(struct session *s) __attribute__((noreturn));
/* Queue one reply line "CODE ESC TEXT" (esc NULL: none, RFC 2034 section
 * 3 for the greeting and HELO/EHLO; also for 3xx).  The line is cut to
 * SMTPD_REPLY_MAX.  smtpd_error also counts a client error. */
void smtpd_reply(struct session *s, int code, const char *esc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtpd_error(struct session *s, int code, const char *esc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A continuation line of a multi-line reply (RFC 5321 4.2.1). */
void smtpd_reply_more(struct session *s, int code, const char *esc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Flush, log the end of the session and exit(status). */
void session_exit(struct session *s, int status) __attribute__((noreturn));
/* After a read error or EOF at stage (e.g. "command", "data"): send 421
 * on timeout, log, and end the session. */
void session_lost(struct session *s, const char *stage)
	__attribute__((noreturn));
/* End the session with 421 4.4.2 when smtpd_max_session_time is over;
 * else set the io timeout to the smaller of timeout and the time left. */
void session_clock(struct session *s, unsigned long timeout);
/* Forget everything the client told us (RFC 3207 4.2 after STARTTLS):
 * the transaction, the HELO name, the AUTH identity. */
void session_forget(struct session *s);

/* envelope.c */

/* Forget the transaction (MAIL, RCPTs, an open BDAT message); the HELO
 * name stays. */
void trans_reset(struct session *s);
void cmd_mail(struct session *s, const char *arg, size_t n);
void cmd_rcpt(struct session *s, const char *arg, size_t n);

/* policy.c */

/* At connect: the access verdict for the client address. */
void policy_connect(struct session *s);
/* At HELO/EHLO: the access verdict for the name. */
void policy_helo(struct session *s);
/* 1 if the client may relay: RELAYCLIENT, AUTH, or an access RELAY
 * rule for its address. */
int policy_relay_client(const struct session *s);
/* At MAIL, for the sender addr: 1 go on, 0 refused (reply sent).  Sets
 * s->discard for a DISCARD rule. */
int policy_mail(struct session *s, const char *addr);
/* At RCPT, for one recipient that exists if local is 1, or is in
 * another domain (local 0): the relay decision, the recipient's access
 * rule, the DNSBL.  1 accept, 2 accept but drop (DISCARD), 0 refused
 * (reply sent). */
int policy_rcpt(struct session *s, const char *addr, int local);
/* Before the greeting on an MX listener (smtpd_greet_pause): ends the
 * session when the client talks first. */
void policy_greet_pause(struct session *s);

/* sasl.c */
void cmd_starttls(struct session *s, const char *arg, size_t n);
void cmd_auth(struct session *s, const char *arg, size_t n);
/* 1 if AUTH may be offered and used now (TLS on or
 * allow_plaintext_auth, not yet authenticated). */
int sasl_offer(const struct session *s);
/* RFC 8314: the handshake of an implicit-TLS listener, before the
 * greeting; ends the session when it fails. */
void sasl_implicit_tls(struct session *s);

/* message.c and data.c */

/* DF_* reasons for refusing a message (msgstate.flags). */
#define DF_BARE  0x01  /* a bare CR (RFC 5321 2.3.8) */
#define DF_LONG  0x02  /* line over smtpd_max_line_length (4.5.3.1.6) */
#define DF_SIZE  0x04  /* over message_size_limit (RFC 1870) */
#define DF_HOPS  0x08  /* too many Received headers (RFC 5321 6.3) */
#define DF_ENQ   0x10  /* writing to tern-enqueue failed */

/* Handle DATA once the command was accepted in ST_MAIL with at least one
 * recipient: 354, read the message into tern-enqueue, final reply, and
 * reset the transaction.  Ends the session on timeout or EOF. */
void data_run(struct session *s);
/* Start receiving a message: tern-enqueue with the envelope, our
 * Received (and X-Tern-Spam) field.  1 ok, -1 (logged; nothing runs). */
int msg_open(struct session *s);
/* One line of the message, line end removed (and unstuffed for DATA);
 * eol holds the smtp_line_end flags of how it ended (a CR LF or a bare
 * LF is a line end; SMTP_BARE_CR refuses the message). */
void msg_line(struct session *s, const char *t, size_t n, unsigned eol);
/* Refuse the message for reason flag (DF_*): tern-enqueue is stopped. */
void msg_refuse(struct session *s, unsigned flag);
/* The end of the message: the final reply (queued, refused, deferred).
 * Leaves the transaction to the caller. */
void msg_finish(struct session *s);
/* Give up the message (RSET, EHLO, a lost client): nothing is queued. */
void msg_abort(struct session *s);

/* bdat.c */
void cmd_bdat(struct session *s, const char *arg, size_t n);

/* listen.c */

/* Default and upper bound of -c (sessions at once). */
#define LISTEN_MAXCONN_DEFAULT 100
#define LISTEN_MAXCONN_MAX 100000
/* The standalone listener for s->listen_addr.  Call as root (if at all)
 * after the config, the maps and tls_server_init: binds the socket, drops
 * to smtpd_user with no capabilities, and accepts and forks until SIGTERM
 * or SIGINT (then exits 0; running sessions go on).  Returns only in a
 * forked child, with the connection on fds 0 and 1, a fresh s->sid and
 * s->start, and TCPREMOTEIP and RELAYCLIENT unset (the peer comes from
 * getpeername).  A malformed address exits 100, any other failure 111. */
void listen_run(struct session *s);

/* main.c: the start-up path of the session and the listener */
struct startup;
extern const struct startup smtpd_startup;

#endif
