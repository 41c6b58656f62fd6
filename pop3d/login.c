/*
 * login: the login child of tern-pop3d, the only process that reads the
 * network before authentication.  It runs as pop3d_user with no
 * capabilities and holds nothing but the client connection, the TLS
 * state and its end of the socketpair to the parent: no maps, no
 * Maildir.  It speaks the AUTHORIZATION state (RFC 1939 4, RFC 2449 CAPA,
 * RFC 2595 STLS, RFC 5034 AUTH PLAIN) and hands each login attempt to the
 * parent, which checks the password itself.  After a successful login it
 * becomes a byte relay between the client (and TLS) and the mailbox
 * process.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "lookup/auth.h"
#include "net/tls.h"
#include "login/loginproc.h"
#include "pop3d.h"

/* 1 if a password may be sent on this connection: TLS is on, or
 * allow_plaintext_auth (RFC 2595 section 2.1; loopback is no exception) */
static int
may_login(struct pop3 *p)
{
	return tls_active(&p->io) || cfg_bool(allow_plaintext_auth);
}

/* Refuse a password before TLS (RFC 3206 [AUTH]; RFC 2595 2.1). */
static int
need_tls(struct pop3 *p)
{
	if (may_login(p))
		return 0;
	pop3_error(p, "-ERR [AUTH] Plaintext authentication disallowed "
	    "without TLS (use STLS)");
	return 1;
}

static void
start_tls(struct pop3 *p)
{
	char err[512];

	if (tls_server_start(&p->io, err, sizeof err) < 0) {
		log_info("%s tls failed ip=%s error=%s", p->sid, p->ip, err);
		exit(0);
	}
	log_info("%s tls ip=%s %s", p->sid, p->ip, tls_info(&p->io));
}

void
login_run(struct pop3 *p)
{
	p->state = ST_AUTH;
	if (p->implicit_tls)
		start_tls(p);
	pop3_reply(p, "+OK %s POP3 server ready", p->host);
	session_loop(p);
}

void
login_capa(struct pop3 *p)
{
	pop3_reply(p, "+OK Capability list follows");
	pop3_reply(p, "TOP");
	pop3_reply(p, "UIDL");
	/* RFC 2595 2.1: no password mechanisms on a connection that may
	 * not carry passwords; STLS only before TLS and with a cert */
	if (may_login(p)) {
		pop3_reply(p, "USER");
		pop3_reply(p, "SASL PLAIN");
	}
	pop3_reply(p, "RESP-CODES");
	pop3_reply(p, "AUTH-RESP-CODE");
	pop3_reply(p, "PIPELINING");
	if (!tls_active(&p->io) && tls_server_ready())
		pop3_reply(p, "STLS");
	pop3_reply(p, "IMPLEMENTATION tern");
	pop3_reply(p, ".");
}

void
login_stls(struct pop3 *p, const char *arg, size_t n)
{
	char err[512];

	(void)arg;
	(void)n;
	if (tls_active(&p->io)) {
		pop3_error(p, "-ERR Command not permitted when TLS active");
		return;
	}
	if (!tls_server_ready()) {
		pop3_error(p, "-ERR TLS not available");
		return;
	}
	/* the context is built on first use: a bad one is refused here,
	 * before the client is told to go ahead */
	if (tls_server_prepare(err, sizeof err) <= 0) {
		log_warn("%s tls unavailable ip=%s error=%s", p->sid, p->ip,
		    err);
		pop3_error(p, "-ERR TLS not available");
		return;
	}
	pop3_reply(p, "+OK Begin TLS negotiation");
	if (io_flush(&p->io) < 0)
		session_lost(p, "stls");
	start_tls(p);
	/* RFC 2595 4: forget what the client said before TLS */
	buf_free(&p->user);
}

void
login_quit(struct pop3 *p)
{
	pop3_reply(p, "+OK %s POP3 server signing off", p->host);
	log_info("%s quit ip=%s", p->sid, p->ip);
	session_exit(p, 0);
}

/* ---- login attempts ---------------------------------------------------- */

/* Try user and password; returns only when the login failed. */
static void
try_login(struct pop3 *p, const char *user, size_t ulen, const char *pass,
    size_t plen)
{
	int c, gone;

	if (io_flush(&p->io) < 0)
		session_lost(p, "login");
	c = login_attempt(p->sid, p->ctl, user, ulen, pass, plen, &gone);
	buf_free(&p->user);
	switch (c) {
	case 0:
		pop3_error(p, "-ERR [AUTH] Authentication failed");
		return;
	case LOGIN_RELAY:
		login_relay(p->sid, &p->io, p->ctl);
	case LOGIN_FAIL:
		pop3_reply(p, "-ERR [AUTH] Authentication failed");
		return;
	case LOGIN_FAIL_LAST:
		pop3_reply(p, "-ERR [AUTH] Authentication failed, too many "
		    "failures; closing");
		session_exit(p, 0);
	default:
		pop3_reply(p, "-ERR [SYS/TEMP] Temporary authentication "
		    "failure, try again later");
		if (gone)
			session_exit(p, 0);
		return;
	}
}

void
login_user(struct pop3 *p, const char *arg, size_t n)
{
	buf_free(&p->user);
	if (need_tls(p))
		return;
	if (n > AUTH_USER_MAX) {
		pop3_error(p, "-ERR [AUTH] User name too long");
		return;
	}
	if (buf_copy(&p->user, arg, n) < 0)
		log_fatal("%s out of memory", p->sid);
	pop3_reply(p, "+OK Send your password");
}

void
login_pass(struct pop3 *p, const char *arg, size_t n)
{
	if (need_tls(p))
		return;
	/* RFC 1939 7: PASS only right after a successful USER */
	if (p->user.len == 0) {
		pop3_error(p, "-ERR Send USER first");
		return;
	}
	/* RFC 1939 7: the whole rest of the line is the password, spaces
	 * included */
	try_login(p, p->user.s, p->user.len, arg, n);
}

/* Read the client's SASL response line and decode it into out
 * (sasl_response: SASL_RESP_OK, _BAD or _CANCEL; an over-long line
 * counts as cancelled). */
static int
sasl_read(struct pop3 *p, struct buf *out)
{
	static char line[POP3_AUTH_LINE_MAX + 1];
	size_t len;
	int r;

	pop3_reply(p, "+ ");
	errno = 0;
	r = io_getline(&p->io, line, POP3_AUTH_LINE_MAX, &len);
	if (r < 0 && errno == EMSGSIZE) {
		explicit_bzero(line, sizeof line);
		return SASL_RESP_CANCEL;
	}
	if (r <= 0 || line[len - 1] != '\n')
		session_lost(p, "auth");
	len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	r = sasl_response(line, len, 0, out);
	explicit_bzero(line, sizeof line);
	if (r < 0)
		log_fatal("%s out of memory", p->sid);
	return r;
}

/* AUTH PLAIN with the decoded message msg (RFC 4616, RFC 5034). */
static void
auth_plain(struct pop3 *p, const struct buf *msg)
{
	struct buf authz = BUF_INIT, user = BUF_INIT, pass = BUF_INIT;
	int r;

	r = sasl_plain(buf_str(msg), msg->len, &authz, &user, &pass);
	if (r < 0)
		log_fatal("%s out of memory", p->sid);
	if (r == 0)
		pop3_error(p, "-ERR [AUTH] Authentication failed");
	else
		try_login(p, user.s, user.len, pass.s, pass.len);
	buf_free(&authz);
	buf_free(&user);
	buf_wipe(&pass);
}

void
login_auth(struct pop3 *p, const char *arg, size_t n)
{
	struct buf msg = BUF_INIT;
	const char *sp = str_chr(arg, n, ' ');
	size_t mlen = sp ? (size_t)(sp - arg) : n;
	int r;

	buf_free(&p->user);
	if (n == 0) {
		/* not in RFC 5034, but clients send it to list mechanisms */
		pop3_reply(p, "+OK");
		if (may_login(p))
			pop3_reply(p, "PLAIN");
		pop3_reply(p, ".");
		return;
	}
	if (mlen != 5 || !str_ncaseeq(arg, "PLAIN", 5)) {
		pop3_error(p, "-ERR Unsupported authentication mechanism");
		return;
	}
	if (need_tls(p))
		return;
	if (sp != NULL) {
		/* RFC 5034 4: an initial response, "=" for an empty one */
		r = sasl_response(sp + 1, n - mlen - 1, 1, &msg);
		if (r < 0)
			log_fatal("%s out of memory", p->sid);
	} else {
		r = sasl_read(p, &msg);
	}
	if (r == SASL_RESP_CANCEL)
		pop3_error(p, "-ERR Authentication cancelled");
	else if (r == SASL_RESP_BAD)
		pop3_error(p, "-ERR [AUTH] Invalid base64 data");
	else
		auth_plain(p, &msg);
	buf_wipe(&msg);
}
