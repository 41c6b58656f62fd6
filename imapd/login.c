/*
 * login: the login child of tern-imapd, the only process that reads the
 * network before authentication.  It runs as imapd_user with no
 * capabilities and holds nothing but the connection, the TLS state and
 * its end of the socketpair to the parent: no maps, no Maildir.  It
 * serves the not-authenticated state (RFC 9051 3.1, 6.2): STARTTLS,
 * LOGIN, AUTHENTICATE PLAIN with SASL-IR (RFC 4959), and CAPABILITY,
 * NOOP, LOGOUT, ID; each login attempt goes to the parent, which checks
 * the password.  After a successful login it passes the connection to
 * tern-imap-session, which sends the tagged OK (plaintext), or sends
 * the OK and becomes the byte relay to it (TLS; lib/login/loginproc).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "lookup/auth.h"
#include "net/tls.h"
#include "login/loginproc.h"
#include "imapd.h"

/* 1 if a password may be sent on this connection: TLS is on, or
 * allow_plaintext_auth (RFC 9051 6.2.3, 11.1; loopback is no exception) */
static int
may_login(struct imap *s)
{
	return tls_active(&s->io) || cfg_bool(allow_plaintext_auth);
}

static void
start_tls(struct imap *s)
{
	char err[512];

	if (tls_server_start(&s->io, err, sizeof err) < 0) {
		log_info("%s tls failed ip=%s error=%s", s->sid, s->ip, err);
		exit(0);
	}
	log_info("%s tls ip=%s %s", s->sid, s->ip, tls_info(&s->io));
}

static void cmd_starttls(struct imap *, struct imap_p *);
static void cmd_login(struct imap *, struct imap_p *);
static void cmd_authenticate(struct imap *, struct imap_p *);

static void
noauth_cmd(struct imap *s, struct imap_p *p)
{
	if (strcmp(s->verb, "STARTTLS") == 0)
		cmd_starttls(s, p);
	else if (strcmp(s->verb, "LOGIN") == 0)
		cmd_login(s, p);
	else
		cmd_authenticate(s, p);
}

static int
noauth_caps(struct imap *s, struct buf *out)
{
	int ok = 1;

	if (!tls_active(&s->io) && tls_server_ready())
		ok &= buf_cats(out, " STARTTLS") > 0;
	if (may_login(s))
		ok &= buf_cats(out, " AUTH=PLAIN") > 0;
	else
		ok &= buf_cats(out, " LOGINDISABLED") > 0;
	return ok ? 1 : -1;
}

static void
noauth_end(struct imap *s)
{
	if (tls_active(&s->io))
		tls_end(&s->io);
}

static const struct imap_noauth noauth = {
	noauth_cmd, noauth_caps, noauth_end,
};

void
login_run(struct imap *s)
{
	struct buf caps = BUF_INIT;

	s->noauth = &noauth;
	s->state = ST_NOAUTH;
	if (s->implicit_tls)
		start_tls(s);
	imap_capabilities(s, &caps);
	/* RFC 9051 7.1: the greeting may carry the capabilities */
	imap_untagged(s, "OK [CAPABILITY %s] %s IMAP server ready",
	    buf_str(&caps), s->host);
	buf_free(&caps);
	session_loop(s);
}

static void
cmd_starttls(struct imap *s, struct imap_p *p)
{
	char err[512];

	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "STARTTLS takes no arguments");
		return;
	}
	if (tls_active(&s->io)) {
		imap_tagged(s, "BAD", "TLS is already active");
		return;
	}
	if (!tls_server_ready()) {
		imap_tagged(s, "NO", "TLS not available");
		return;
	}
	if (tls_server_prepare(err, sizeof err) <= 0) {
		log_warn("%s tls unavailable ip=%s error=%s", s->sid, s->ip,
		    err);
		imap_tagged(s, "NO", "TLS not available");
		return;
	}
	/* RFC 9051 6.2.1: bytes the client pipelined after STARTTLS would
	 * be a plaintext injection into the TLS session (CVE-2011-0411):
	 * refuse the STARTTLS; those bytes then run as what they are,
	 * plaintext commands */
	if (io_pending(&s->io) > 0) {
		imap_tagged(s, "BAD", "Commands after STARTTLS before the "
		    "TLS negotiation");
		log_info("%s tls refused ip=%s error=pipelined bytes", s->sid,
		    s->ip);
		return;
	}
	imap_tagged(s, "OK", "Begin TLS negotiation now");
	imap_flush(s);
	start_tls(s);
}

/* Try user and password; returns only when the login failed (replied). */
static void
try_login(struct imap *s, const char *user, size_t ulen, const char *pass,
    size_t plen)
{
	struct buf caps = BUF_INIT, line = BUF_INIT;
	int c, gone;

	imap_flush(s);
	c = login_attempt(s->sid, s->ctl, user, ulen, pass, plen, &gone);
	switch (c) {
	case LOGIN_RELAY:
		/* the mailbox process runs: the capabilities change with
		 * the state (RFC 9051 7.1 CAPABILITY code) */
		s->state = ST_AUTH;
		s->append_limit = cfg_num(message_size_limit);
		imap_capabilities(s, &caps);
		/* sent by whoever serves the session next (login_pass_on) */
		if (buf_catf(&line, "%s OK [CAPABILITY %s] Logged in\r\n",
		    s->tag, buf_str(&caps)) < 0)
			session_fatal(s, "memory");
		buf_free(&caps);
		imap_flush(s);
		login_pass_on(s->sid, &s->io, s->ctl, line.s, line.len);
	case 0:
	case LOGIN_FAIL:
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
		    "failed");
		return;
	case LOGIN_FAIL_LAST:
		imap_untagged(s, "BYE Too many authentication failures");
		imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] Authentication "
		    "failed");
		session_exit(s, 0);
	default:
		imap_tagged(s, "NO", "[UNAVAILABLE] Temporary authentication "
		    "failure, try again later");
		if (gone)
			session_exit(s, 0);
		return;
	}
}

static void
cmd_login(struct imap *s, struct imap_p *p)
{
	struct buf user = BUF_INIT, pass = BUF_INIT;

	if (!imap_p_sp(p) || imap_p_astring(p, &user) != 1 ||
	    !imap_p_sp(p) || imap_p_astring(p, &pass) != 1 ||
	    !imap_p_end(p)) {
		buf_free(&user);
		buf_wipe(&pass);
		imap_bad_args(s, p);
		return;
	}
	if (!may_login(s))
		imap_tagged(s, "NO", "[PRIVACYREQUIRED] Plaintext "
		    "authentication disallowed without TLS (use STARTTLS)");
	else
		try_login(s, buf_str(&user), user.len, buf_str(&pass),
		    pass.len);
	buf_free(&user);
	buf_wipe(&pass);
	/* the literal with the password is in the command buffer */
	explicit_bzero(s->cmd.s, s->cmd.len);
}

/* AUTHENTICATE PLAIN (RFC 9051 6.2.2, RFC 4616, SASL-IR RFC 4959). */
static void
cmd_authenticate(struct imap *s, struct imap_p *p)
{
	static char line[2 * AUTH_PASS_MAX + 2 * AUTH_USER_MAX + 16];
	struct buf msg = BUF_INIT, authz = BUF_INIT,
	    user = BUF_INIT, pass = BUF_INIT;
	const char *ir = NULL;
	size_t irlen = 0, len;
	int r;

	if (!imap_p_sp(p) || imap_p_atom(p, &ir, &irlen) != 1) {
		imap_bad_args(s, p);
		return;
	}
	if (irlen != 5 || !str_ncaseeq(ir, "PLAIN", 5)) {
		imap_tagged(s, "NO", "Unsupported authentication mechanism");
		return;
	}
	ir = NULL;
	if (imap_p_sp(p)) {
		/* SASL-IR: the initial response, "=" for an empty one */
		if (imap_p_atom(p, &ir, &irlen) != 1 || !imap_p_end(p)) {
			imap_bad_args(s, p);
			return;
		}
	} else if (!imap_p_end(p)) {
		imap_bad_args(s, p);
		return;
	}
	if (!may_login(s)) {
		imap_tagged(s, "NO", "[PRIVACYREQUIRED] Plaintext "
		    "authentication disallowed without TLS (use STARTTLS)");
		return;
	}
	if (ir != NULL) {
		r = sasl_response(ir, irlen, 1, &msg);
	} else {
		imap_put(s, "+ \r\n", 4);
		if (!session_line(s, line, sizeof line - 1, &len))
			r = SASL_RESP_BAD;
		else
			r = sasl_response(line, len, 0, &msg);
		explicit_bzero(line, sizeof line);
	}
	if (r < 0)
		session_fatal(s, "memory");
	if (r == SASL_RESP_CANCEL) {
		imap_tagged(s, "BAD", "Authentication cancelled");
	} else if (r == SASL_RESP_BAD) {
		imap_tagged(s, "BAD", "Invalid base64 data");
	} else {
		r = sasl_plain(buf_str(&msg), msg.len, &authz, &user, &pass);
		if (r < 0)
			session_fatal(s, "memory");
		if (r == 0)
			imap_tagged(s, "NO", "[AUTHENTICATIONFAILED] "
			    "Authentication failed");
		else
			try_login(s, user.s, user.len, pass.s, pass.len);
	}
	buf_wipe(&msg);
	buf_free(&authz);
	buf_free(&user);
	buf_wipe(&pass);
	explicit_bzero(s->cmd.s, s->cmd.len);
}
