/*
 * sasl: STARTTLS (RFC 3207), implicit TLS (RFC 8314) and AUTH PLAIN and
 * LOGIN (RFC 4954, RFC 4616) for tern-smtpd.  The TLS and password code
 * is lib/net/tls and lib/lookup/auth; this file is the SMTP dialogue around them.
 *
 * STARTTLS: the 220 goes out, then tls_server_start() throws away any
 * plaintext the client pipelined after the command (the CVE-2011-0411
 * command-injection class) and the session forgets all it was told
 * before (RFC 3207 4.2): the client must say EHLO again.
 *
 * AUTH: only over TLS unless allow_plaintext_auth = yes (538 5.7.11 as
 * RFC 4954 4 says); a failed attempt is answered after auth_fail_delay
 * seconds and auth_max_failures of them end the session.  Passwords are
 * never logged and are wiped from memory after the check.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/sig.h"
#include "daemon/cfg.h"
#include "lookup/auth.h"
#include "net/tls.h"
#include "smtpd.h"

/* "SID EVENT ip=IP version=V cipher=C bits=B" once TLS is on. */
static void
log_tls(const struct session *s, const char *event)
{
	char v[32] = "?", c[96] = "?", bits[16] = "?";

	if (sscanf(tls_info(&s->io), "%31s %95s %15s", v, c, bits) < 1)
		v[0] = '?';
	log_info("%s %s ip=%s version=%s cipher=%s bits=%s", s->sid, event,
	    s->ip, v, c, bits);
}

int
sasl_offer(const struct session *s)
{
	return !s->authed && (tls_active(&s->io) ||
	    cfg_bool(allow_plaintext_auth));
}

void
sasl_implicit_tls(struct session *s)
{
	char err[256];

	if (tls_server_start(&s->io, err, sizeof err) < 0) {
		log_info("%s tls failed ip=%s error=%s", s->sid, s->ip, err);
		s->io.wlen = 0;
		session_exit(s, 0);
	}
	log_tls(s, "tls");
}

void
cmd_starttls(struct session *s, const char *arg, size_t n)
{
	char err[256];
	size_t junk;

	(void)arg;
	(void)n;
	if (!s->tls_ready) {
		/* not offered: as if we did not know the command */
		smtpd_error(s, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (tls_active(&s->io)) {
		smtpd_error(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	/* the context is built lazily (lib/net/tls.h): a broken certificate or
	 * cipher list is found here, before we promise a handshake */
	if (tls_server_prepare(err, sizeof err) <= 0) {
		log_warn("%s tls unavailable ip=%s error=%s", s->sid, s->ip, err);
		s->tls_ready = 0;
		smtpd_error(s, 454, "4.7.0",
		    "TLS not available due to temporary reason");
		return;
	}
	smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (io_flush(&s->io) < 0)
		session_lost(s, "starttls");
	junk = io_pending(&s->io);
	if (tls_server_start(&s->io, err, sizeof err) < 0) {
		log_info("%s tls failed ip=%s error=%s", s->sid, s->ip, err);
		s->io.wlen = 0;
		session_exit(s, 0);
	}
	if (junk > 0)
		log_info("%s starttls ip=%s discarded=%zu why=pipelined "
		    "plaintext", s->sid, s->ip, junk);
	log_tls(s, "starttls");
	session_forget(s);
}

/* ---- AUTH ------------------------------------------------------------ */

/* The reply to a response that sasl_response gave r for.  1 go on, 0
 * refused or cancelled (reply sent). */
static int
sasl_answer(struct session *s, int r)
{
	if (r < 0)
		log_fatal("%s out of memory", s->sid);
	if (r == SASL_RESP_CANCEL) {
		smtpd_error(s, 501, "5.0.0", "Authentication cancelled");
		return 0;
	}
	if (r == SASL_RESP_BAD) {
		smtpd_error(s, 501, "5.5.2", "Error: cannot decode response");
		return 0;
	}
	return 1;
}

/* Read one SASL response line (RFC 4954 4) and base64-decode it into
 * out.  1 ok, 0 refused or cancelled (reply sent).  Ends the session on
 * EOF or timeout. */
static int
sasl_read(struct session *s, struct buf *out)
{
	static char line[SMTPD_AUTH_LINE_MAX + 1];
	size_t len, textlen;
	int r;

	session_clock(s, s->cmd_timeout);
	errno = 0;
	r = io_getline(&s->io, line, SMTPD_AUTH_LINE_MAX, &len);
	if (r < 0 && errno == EMSGSIZE) {
		explicit_bzero(line, sizeof line);  /* a partial response */
		smtpd_error(s, 500, "5.5.2", "Error: line too long");
		return 0;
	}
	if (r <= 0)
		session_lost(s, "auth");
	if (smtp_line_end(line, len, &textlen) & SMTP_EOL_NONE) {
		errno = 0;
		session_lost(s, "auth");
	}
	r = sasl_response(line, textlen, 0, out);
	explicit_bzero(line, len);
	return sasl_answer(s, r);
}

/* Send challenge (base64 text, may be "") and read the answer. */
static int
sasl_step(struct session *s, const char *challenge, struct buf *out)
{
	/* RFC 4954 4: "334" SP base64 challenge; RFC 2034: no enhanced
	 * code on 3xx */
	smtpd_reply(s, 334, NULL, "%s", challenge);
	return sasl_read(s, out);
}

/* The initial response of AUTH (RFC 4954 4: "=" is an empty one). */
static int
sasl_initial(struct session *s, const char *ir, size_t irlen,
    struct buf *out)
{
	return sasl_answer(s, sasl_response(ir, irlen, 1, out));
}

/* A user name or password as a C string: no NUL inside, bounded. */
static int
sasl_cstr(const struct buf *b, size_t max)
{
	return b->len > 0 && b->len <= max && memchr(b->s, '\0', b->len) ==
	    NULL;
}

/* The outcome of a password check, with the delay and limit. */
static void
sasl_result(struct session *s, const char *mech, struct buf *user,
    struct buf *pass)
{
	struct buf canon = BUF_INIT;
	char safe[LOG_SAFE_MAX];
	int r = 0;

	if (sasl_cstr(user, AUTH_USER_MAX) && sasl_cstr(pass, AUTH_PASS_MAX))
		r = auth_check(&s->maps, buf_str(user), buf_str(pass), &canon);
	if (pass->s)
		explicit_bzero(pass->s, pass->len);
	log_safe(safe, sizeof safe, user->s ? user->s : "", user->len);
	if (r > 0) {
		s->authed = 1;
		if (buf_copys(&s->auth_user, buf_str(&canon)) < 0)
			log_fatal("%s out of memory", s->sid);
		log_info("%s auth ip=%s mech=%s user=%s", s->sid, s->ip, mech,
		    buf_str(&canon));
		smtpd_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (r < 0) {
		log_warn("%s auth ip=%s mech=%s user=%s error=%s", s->sid,
		    s->ip, mech, safe, strerror(errno));
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication "
		    "failure");
	} else {
		s->auth_failures++;
		log_info("%s auth-fail ip=%s mech=%s user=%s failures=%u",
		    s->sid, s->ip, mech, safe, s->auth_failures);
		/* slow down guessing; the reply waits, not just the log */
		sig_sleep(cfg_num(auth_fail_delay));
		smtpd_error(s, 535, "5.7.8", "Authentication credentials "
		    "invalid");
		if (s->auth_failures >= cfg_num(auth_max_failures)) {
			log_info("%s close reason=auth ip=%s failures=%u",
			    s->sid, s->ip, s->auth_failures);
			smtpd_reply(s, 421, "4.7.0", "%s Error: too many "
			    "authentication failures", s->host);
			session_exit(s, 0);
		}
	}
	buf_free(&canon);
}

/* AUTH PLAIN (RFC 4616): one message "authzid NUL authcid NUL passwd". */
static void
auth_plain(struct session *s, const char *ir, size_t irlen)
{
	struct buf msg = BUF_INIT, authz = BUF_INIT, user = BUF_INIT,
	    pass = BUF_INIT;
	int r;

	r = ir ? sasl_initial(s, ir, irlen, &msg) : sasl_step(s, "", &msg);
	if (r > 0) {
		r = sasl_plain(msg.s ? msg.s : "", msg.len, &authz, &user,
		    &pass);
		if (r < 0)
			log_fatal("%s out of memory", s->sid);
		if (r == 0)
			smtpd_error(s, 501, "5.5.2", "Error: malformed PLAIN "
			    "message");
		else
			sasl_result(s, "PLAIN", &user, &pass);
	}
	buf_wipe(&msg);
	buf_free(&authz);
	buf_free(&user);
	buf_wipe(&pass);
}

/* AUTH LOGIN (draft-murchison-sasl-login): user name, then password,
 * each asked for with a base64 "Username:" / "Password:" prompt. */
static void
auth_login(struct session *s, const char *ir, size_t irlen)
{
	struct buf user = BUF_INIT, pass = BUF_INIT;
	int r;

	r = ir ? sasl_initial(s, ir, irlen, &user) :
	    sasl_step(s, "VXNlcm5hbWU6", &user);
	if (r > 0 && sasl_step(s, "UGFzc3dvcmQ6", &pass) > 0)
		sasl_result(s, "LOGIN", &user, &pass);
	if (pass.s)
		explicit_bzero(pass.s, pass.len);
	buf_free(&user);
	buf_free(&pass);
}

void
cmd_auth(struct session *s, const char *arg, size_t n)
{
	char mech[SMTP_MECH_MAX + 1];
	const char *ir;
	size_t irlen;

	if (s->authed) {
		smtpd_error(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (s->state == ST_MAIL) {
		/* RFC 4954 4: not during a mail transaction */
		smtpd_error(s, 503, "5.5.1", "Error: AUTH not permitted during "
		    "a mail transaction");
		return;
	}
	if (!tls_active(&s->io) && !cfg_bool(allow_plaintext_auth)) {
		smtpd_error(s, 538, "5.7.11", "Error: encryption required for "
		    "authentication (use STARTTLS)");
		return;
	}
	if (!smtp_auth_arg(arg, n, mech, &ir, &irlen)) {
		smtpd_error(s, 501, "5.5.4", "Syntax: AUTH mechanism "
		    "[initial-response]");
		return;
	}
	if (strcmp(mech, "PLAIN") == 0)
		auth_plain(s, ir, irlen);
	else if (strcmp(mech, "LOGIN") == 0)
		auth_login(s, ir, irlen);
	else
		smtpd_error(s, 504, "5.5.4", "Error: unrecognized "
		    "authentication type");
}
