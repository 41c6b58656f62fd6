/*
 * client.c: one SMTP session of tern-remote, on a connected socket.
 *
 * The session goes through these steps; each names the RFC it follows
 * and what a failure at that point does (SESS_NEXT: try the next address,
 * the reason kept in the job; SESS_DONE: the recipients have results):
 *
 *   greeting   220 within remote_greeting_timeout (RFC 5321 4.5.3.2.1);
 *              anything else: NEXT (RFC 5321 5.1: try another MX)
 *   EHLO       hostname; a 5xx: HELO (an old server); else NEXT
 *   STARTTLS   when offered and the policy is not none (RFC 3207);
 *              a failed handshake: again in plaintext under tls=may
 *              (SESS_PLAIN), NEXT under encrypt/verify, which also
 *              refuse a server that does not offer it; EHLO again
 *   AUTH       auth=NAME in the route: PLAIN, else LOGIN, only over
 *              TLS (RFC 4954 4: never send a password in clear)
 *   limits     SIZE too small: permanent (RFC 1870 5.3.4); 8-bit data
 *              to a server without 8BITMIME: permanent 5.6.3 (no
 *              conversion to 7 bit is done; RFC 6152 3); a UTF-8
 *              address to a server without SMTPUTF8: permanent 5.6.7
 *              (RFC 6531 3.5)
 *   MAIL, RCPT, DATA
 *              pipelined when PIPELINING is offered (RFC 2920 3.1:
 *              DATA ends the group), else one at a time; DSN parameters
 *              when DSN is offered (RFC 3461); a 4xx to MAIL: NEXT; a
 *              5xx: every recipient fails; per recipient 2xx/4xx/5xx;
 *              the reply to the final dot decides for every accepted
 *              recipient
 *   QUIT
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/b64.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/smtpparse.h"
#include "mail/smtpreply.h"
#include "daemon/cfg.h"
#include "net/tls.h"
#include "remote.h"

struct sess {
	struct job *j;
	const struct cand *c;
	struct io *io;
	struct smtp_ext ext;
	struct smtp_reply r;
	char relay[RMT_RELAY_MAX + 1];
	char tls[RMT_TLS_MAX + 1];
	char rs[RMT_TEXT_MAX + 1];     /* the last reply as one line */
	const char *doing;             /* for "lost connection while ..." */
	int broken;                    /* lost, timed out or garbled */
};

static struct io sess_io;          /* large: not on the stack */

/* Send one command line (buffered). */
static int
cmd(struct sess *s, const char *line)
{
	return io_puts(s->io, line) < 0 || io_put(s->io, "\r\n", 2) < 0 ?
	    -1 : 1;
}

/*
 * Read one reply within timeout seconds into s->r and s->rs.  1 ok; -1
 * the connection broke, timed out or sent garbage (the job's last_err
 * says so).
 */
static int
reply(struct sess *s, int timeout)
{
	char line[SMTP_REPLY_LINE_MAX + 2];
	size_t n;
	int r = -1;

	if (io_flush(s->io) < 0)
		goto lost;
	s->io->timeout = timeout;
	smtp_reply_init(&s->r);
	for (;;) {
		r = io_getline(s->io, line, sizeof line - 1, &n);
		if (r < 0 && errno == EMSGSIZE) {
			job_fail(s->j, 0, "4.4.2 %s sent an over-long reply "
			    "line while %s", s->relay, s->doing);
			s->broken = 1;
			return -1;
		}
		if (r <= 0)
			goto lost;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		r = smtp_reply_line(&s->r, line, n);
		if (r == 0) {
			job_fail(s->j, 0, "4.4.2 %s sent a malformed reply "
			    "while %s", s->relay, s->doing);
			s->broken = 1;
			return -1;
		}
		if (r == 2)
			break;
	}
	smtp_reply_str(&s->r, s->rs, sizeof s->rs);
	return 1;
lost:
	s->broken = 1;
	job_fail(s->j, 0, "4.4.2 lost connection with %s while %s: %s",
	    s->relay, s->doing, errno == ETIMEDOUT ? "timed out" :
	    r == 0 ? "connection closed" : strerror(errno));
	return -1;
}

/* Send a command and read its reply: 1, or -1 as reply(). */
static int
say(struct sess *s, const char *line, const char *doing, int timeout)
{
	s->doing = doing;
	if (cmd(s, line) < 0) {
		job_fail(s->j, 0, "4.4.2 cannot write to %s while %s: %s",
		    s->relay, doing, strerror(errno));
		s->broken = 1;
		return -1;
	}
	return reply(s, timeout);
}

static void
quit(struct sess *s)
{
	static char keep_err[RMT_TEXT_MAX + 1];
	int keep_perm = s->j->last_perm;

	if (s->broken)
		return;
	/* a server that hangs up instead of answering QUIT is not worth a
	 * log line, and the reason of a failure before it is kept */
	str_copy(keep_err, s->j->last_err, sizeof keep_err);
	s->doing = "saying goodbye";
	s->j->quiet = 1;
	if (cmd(s, "QUIT") > 0)
		(void)reply(s, 10);
	s->j->quiet = 0;
	str_copy(s->j->last_err, keep_err, sizeof s->j->last_err);
	s->j->last_perm = keep_perm;
	s->broken = 1;   /* nothing more on this connection */
}

/* The reply as the reason to try the next host; if no host takes the
 * mail, it is a temporary failure (the mail waits, another host or a
 * later try may work). */
static enum sess_end
next_said(struct sess *s, const char *what)
{
	job_fail(s->j, 0, "%s (in reply to %s)", s->rs, what);
	quit(s);
	return SESS_NEXT;
}

static int
ehlo(struct sess *s)
{
	char line[DNS_NAME_MAX + 8];
	int t = (int)cfg_num(remote_command_timeout);

	memset(&s->ext, 0, sizeof s->ext);
	snprintf(line, sizeof line, "EHLO %s", cfg_hostname());
	if (say(s, line, "greeting with EHLO", t) < 0)
		return -1;
	if (s->r.code / 100 == 2) {
		(void)smtp_ehlo_parse(&s->r, &s->ext);
		return 1;
	}
	if (s->r.code / 100 != 5)
		return 0;
	snprintf(line, sizeof line, "HELO %s", cfg_hostname());
	if (say(s, line, "greeting with HELO", t) < 0)
		return -1;
	return s->r.code / 100 == 2 ? 1 : 0;
}

static void
tls_note(struct sess *s)
{
	const char *info = tls_info(s->io);
	size_t n = strcspn(info, " ");

	if (n > RMT_TLS_MAX)
		n = RMT_TLS_MAX;
	memcpy(s->tls, info, n);
	s->tls[n] = '\0';
	log_info("%s tls relay=%s %s", s->j->qid, s->relay, info);
}

static int
tls_go(struct sess *s, char *err, size_t errsz)
{
	const struct route *rt = &s->j->route;
	const char *ca = rt->cafile[0] ? rt->cafile : cfg_str(remote_ca_file);

	if (rt->tls == TLS_VERIFY && ca[0] != '\0' &&
	    tls_client_cafile(ca, err, errsz) < 0)
		return -1;
	if (tls_client_start(s->io, s->c->host, rt->tls == TLS_VERIFY, err,
	    errsz) < 0)
		return -1;
	tls_note(s);
	return 1;
}

/* STARTTLS as the policy says.  1 go on, else the session's end. */
static int
starttls(struct sess *s, int plain, enum sess_end *end)
{
	enum tls_policy p = s->j->route.tls;
	char err[256];
	int r;

	if (tls_active(s->io) || p == TLS_NONE || plain)
		return 1;
	if (!(s->ext.flags & SMTP_EXT_STARTTLS)) {
		if (p == TLS_MAY)
			return 1;
		job_fail(s->j, 0, "4.7.4 %s does not offer STARTTLS, and the "
		    "TLS policy is %s", s->relay, p == TLS_VERIFY ? "verify" :
		    "encrypt");
		quit(s);
		*end = SESS_NEXT;
		return 0;
	}
	if (say(s, "STARTTLS", "starting TLS",
	    (int)cfg_num(remote_command_timeout)) < 0) {
		*end = SESS_NEXT;
		return 0;
	}
	if (s->r.code != 220) {
		if (p == TLS_MAY)
			return 1;   /* RFC 3207 4: go on without */
		*end = next_said(s, "STARTTLS");
		return 0;
	}
	if ((r = tls_go(s, err, sizeof err)) < 0) {
		job_fail(s->j, 0, "4.7.5 TLS with %s failed: %s", s->relay,
		    err);
		log_info("%s tls relay=%s failed: %s", s->j->qid, s->relay,
		    err);
		/* never plaintext after a check the policy asked for */
		*end = p == TLS_MAY ? SESS_PLAIN : SESS_NEXT;
		return 0;
	}
	if ((r = ehlo(s)) <= 0) {
		if (r == 0)
			*end = next_said(s, "EHLO");
		else
			*end = SESS_NEXT;
		return 0;
	}
	return 1;
}

/* AUTH PLAIN (RFC 4616) or LOGIN.  1 go on, else the session's end. */
static int
auth(struct sess *s, enum sess_end *end)
{
	static char user[CRED_MAX], pass[CRED_MAX];
	struct buf raw = BUF_INIT, b = BUF_INIT;
	char err[300];
	int t = (int)cfg_num(remote_command_timeout), r, ok = -1;

	if (s->j->route.auth[0] == '\0')
		return 1;
	*end = SESS_NEXT;
	if (!tls_active(s->io)) {
		job_fail(s->j, 0, "4.7.0 no AUTH to %s without TLS (the route "
		    "needs tls=encrypt or verify, or smtps)", s->relay);
		quit(s);
		return 0;
	}
	if (!(s->ext.flags & SMTP_EXT_AUTH) ||
	    !(s->ext.auth & (SMTP_AUTH_PLAIN | SMTP_AUTH_LOGIN))) {
		job_fail(s->j, 0, "4.7.0 %s offers no AUTH PLAIN or LOGIN",
		    s->relay);
		quit(s);
		return 0;
	}
	r = route_creds(s->j->route.auth, user, pass, sizeof user, err,
	    sizeof err);
	if (r <= 0) {
		job_set_rest(s->j, 'Z', s->relay, s->tls, err);
		quit(s);
		*end = SESS_DONE;
		return 0;
	}
	s->doing = "authenticating";
	if (s->ext.auth & SMTP_AUTH_PLAIN) {
		if (buf_catc(&raw, '\0') < 0 || buf_cats(&raw, user) < 0 ||
		    buf_catc(&raw, '\0') < 0 || buf_cats(&raw, pass) < 0 ||
		    buf_cats(&b, "AUTH PLAIN ") < 0 ||
		    b64_encode(raw.s, raw.len, &b) < 0)
			goto out;
		ok = say(s, b.s, "authenticating", t);
	} else {
		ok = say(s, "AUTH LOGIN", "authenticating", t);
		if (ok > 0 && s->r.code == 334) {
			buf_reset(&b);
			ok = b64_encode(user, strlen(user), &b) < 0 ? -1 :
			    say(s, b.s, "authenticating", t);
		}
		if (ok > 0 && s->r.code == 334) {
			buf_reset(&b);
			ok = b64_encode(pass, strlen(pass), &b) < 0 ? -1 :
			    say(s, b.s, "authenticating", t);
		}
	}
out:
	explicit_bzero(pass, sizeof pass);
	if (raw.s)
		explicit_bzero(raw.s, raw.len);
	if (b.s)
		explicit_bzero(b.s, b.len);
	buf_free(&raw);
	buf_free(&b);
	if (ok < 0)
		return 0;
	if (s->r.code != 235) {
		job_fail(s->j, 0, "4.7.8 authentication with %s failed (%s)",
		    s->relay, s->rs);
		quit(s);
		return 0;
	}
	log_info("%s auth relay=%s user=%s", s->j->qid, s->relay, user);
	return 1;
}

/* SIZE, 8BITMIME and SMTPUTF8 against the message.  1 go on, 0 the
 * recipients failed. */
static int
limits(struct sess *s)
{
	struct job *j = s->j;
	char t[RMT_TEXT_MAX + 1];
	unsigned long long wire = (unsigned long long)j->body_len + j->lines;

	if (s->ext.size > 0 && wire > s->ext.size) {
		snprintf(t, sizeof t, "5.3.4 message of %llu bytes is larger "
		    "than %s accepts (%lu)", wire, s->relay, s->ext.size);
		job_set_rest(j, 'D', s->relay, s->tls, t);
		return 0;
	}
	if (j->body8 && !(s->ext.flags & SMTP_EXT_8BITMIME)) {
		snprintf(t, sizeof t, "5.6.3 the message has 8-bit data and %s "
		    "does not offer 8BITMIME (no conversion to 7 bit is done)",
		    s->relay);
		job_set_rest(j, 'D', s->relay, s->tls, t);
		return 0;
	}
	if (j->utf8_env && !(s->ext.flags & SMTP_EXT_SMTPUTF8)) {
		snprintf(t, sizeof t, "5.6.7 an address is UTF-8 and %s does "
		    "not offer SMTPUTF8 (RFC 6531 3.5)", s->relay);
		job_set_rest(j, 'D', s->relay, s->tls, t);
		return 0;
	}
	return 1;
}

static int
mail_cmd(struct sess *s, struct buf *b)
{
	const struct job *j = s->j;
	unsigned long long wire = (unsigned long long)j->body_len + j->lines;

	if (buf_cats(b, "MAIL FROM:<") < 0 || buf_cats(b, j->env.sender) < 0 ||
	    buf_catc(b, '>') < 0)
		return -1;
	if ((s->ext.flags & SMTP_EXT_SIZE) && (buf_cats(b, " SIZE=") < 0 ||
	    buf_catu(b, wire) < 0))
		return -1;
	if (j->body8 && (s->ext.flags & SMTP_EXT_8BITMIME) &&
	    buf_cats(b, " BODY=8BITMIME") < 0)
		return -1;
	if ((j->utf8_env || j->env.smtputf8) &&
	    (s->ext.flags & SMTP_EXT_SMTPUTF8) && buf_cats(b, " SMTPUTF8") < 0)
		return -1;
	if (s->ext.flags & SMTP_EXT_DSN) {
		if (j->env.ret && buf_cats(b, j->env.ret == 'F' ? " RET=FULL" :
		    " RET=HDRS") < 0)
			return -1;
		if (j->env.envid && (buf_cats(b, " ENVID=") < 0 ||
		    buf_cats(b, j->env.envid) < 0))
			return -1;
	}
	return 1;
}

static int
rcpt_cmd(struct sess *s, const struct qrcpt *q, struct buf *b)
{
	static const struct { unsigned f; const char *w; } nw[] = {
		{ SMTP_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" },
	};
	size_t i;
	int first = 1;

	buf_reset(b);
	if (buf_cats(b, "RCPT TO:<") < 0 || buf_cats(b, q->addr) < 0 ||
	    buf_catc(b, '>') < 0)
		return -1;
	if (!(s->ext.flags & SMTP_EXT_DSN))
		return 1;
	if (q->notify & SMTP_NOTIFY_NEVER) {
		if (buf_cats(b, " NOTIFY=NEVER") < 0)
			return -1;
	} else if (q->notify) {
		if (buf_cats(b, " NOTIFY=") < 0)
			return -1;
		for (i = 0; i < sizeof nw / sizeof nw[0]; i++)
			if (q->notify & nw[i].f) {
				if ((!first && buf_catc(b, ',') < 0) ||
				    buf_cats(b, nw[i].w) < 0)
					return -1;
				first = 0;
			}
	}
	if (q->orcpt && (buf_cats(b, " ORCPT=") < 0 ||
	    buf_cats(b, q->orcpt) < 0))
		return -1;
	return 1;
}

/* The reply to RCPT of job recipient k: 1 accepted, 0 not. */
static int
rcpt_result(struct sess *s, size_t k)
{
	if (s->r.code / 100 == 2)
		return 1;
	job_set(s->j, k, s->r.code / 100 == 5 ? 'D' : 'Z', s->relay, s->tls,
	    0, s->rs);
	return 0;
}

/*
 * MAIL, RCPT, DATA, the message.  With PIPELINING the commands go out
 * together and the replies are read in order afterwards.
 */
static enum sess_end
transaction(struct sess *s)
{
	struct job *j = s->j;
	struct buf b = BUF_INIT;
	int pipe = (s->ext.flags & SMTP_EXT_PIPELINING) != 0;
	int t = (int)cfg_num(remote_command_timeout), mail_ok, mail_code;
	char mail_rs[RMT_TEXT_MAX + 1];
	size_t k, accepted = 0;
	unsigned char acc[RMT_JOB_RCPT_MAX];
	enum sess_end end = SESS_NEXT;

	memset(acc, 0, sizeof acc);
	s->doing = "sending MAIL FROM";
	if (mail_cmd(s, &b) < 0 || cmd(s, b.s) < 0)
		goto oom;
	if (pipe) {
		for (k = 0; k < j->n; k++)
			if (j->res[k].code == 0 && (rcpt_cmd(s,
			    &j->env.rcpt[j->idx[k]], &b) < 0 || cmd(s, b.s) < 0))
				goto oom;
		if (cmd(s, "DATA") < 0)
			goto oom;
	}
	if (reply(s, t) < 0)
		goto out;
	mail_ok = s->r.code / 100 == 2;
	mail_code = s->r.code;
	str_copy(mail_rs, s->rs, sizeof mail_rs);
	if (!mail_ok && !pipe) {
		if (s->r.code / 100 == 5)
			job_set_rest(j, 'D', s->relay, s->tls, s->rs);
		end = s->r.code / 100 == 5 ? SESS_DONE : next_said(s, "MAIL");
		goto out;
	}
	for (k = 0; k < j->n; k++) {
		if (j->res[k].code != 0)
			continue;
		s->doing = "sending RCPT TO";
		if (!pipe && (rcpt_cmd(s, &j->env.rcpt[j->idx[k]], &b) < 0 ||
		    cmd(s, b.s) < 0))
			goto oom;
		if (reply(s, t) < 0)
			goto out;
		if (mail_ok && rcpt_result(s, k)) {
			acc[k] = 1;
			accepted++;
		}
	}
	s->doing = "sending DATA";
	if (!pipe && accepted > 0 && cmd(s, "DATA") < 0)
		goto oom;
	if ((pipe || accepted > 0) &&
	    reply(s, (int)cfg_num(remote_data_timeout)) < 0)
		goto out;
	if (!mail_ok) {
		/* pipelined: the MAIL reply decides; the RCPT and DATA
		 * replies were errors that follow from it */
		if (s->r.code == 354 && (cmd(s, ".") < 0 || reply(s, t) < 0))
			goto out;
		if (mail_code / 100 == 5) {
			job_set_rest(j, 'D', s->relay, s->tls, mail_rs);
			end = SESS_DONE;
		} else {
			job_fail(j, 0, "%s (in reply to MAIL FROM)", mail_rs);
			quit(s);
			end = SESS_NEXT;
		}
		goto out;
	}
	if (accepted == 0) {
		if (pipe && s->r.code == 354) {
			/* a server that took DATA without recipients gets
			 * an empty message it must refuse */
			if (cmd(s, ".") < 0 || reply(s, t) < 0)
				goto out;
		}
		end = SESS_DONE;
		goto out;
	}
	if (s->r.code != 354) {
		for (k = 0; k < j->n; k++)
			if (acc[k])
				job_set(j, k, s->r.code / 100 == 5 ? 'D' : 'Z',
				    s->relay, s->tls, 0, s->rs);
		end = SESS_DONE;
		goto out;
	}
	s->doing = "sending the message";
	s->io->timeout = (int)cfg_num(remote_data_timeout);
	if (body_send(j, s->io) < 0) {
		s->broken = 1;
		job_fail(j, 0, "4.4.2 lost connection with %s while sending "
		    "the message: %s", s->relay, errno == ETIMEDOUT ?
		    "timed out" : strerror(errno));
		goto out;
	}
	s->doing = "waiting for the reply to the end of the message";
	if (reply(s, (int)cfg_num(remote_final_timeout)) < 0) {
		/* it may have been delivered: retry later, not elsewhere
		 * now (a copy twice is better than none) */
		for (k = 0; k < j->n; k++)
			if (acc[k])
				job_set(j, k, 'Z', s->relay, s->tls, 0,
				    j->last_err);
		end = SESS_DONE;
		goto out;
	}
	for (k = 0; k < j->n; k++)
		if (acc[k])
			job_set(j, k, s->r.code / 100 == 2 ? 'K' :
			    s->r.code / 100 == 5 ? 'D' : 'Z', s->relay, s->tls,
			    (s->ext.flags & SMTP_EXT_DSN) != 0, s->rs);
	end = SESS_DONE;
out:
	buf_free(&b);
	return job_done(j) ? SESS_DONE : end;
oom:
	job_fail(j, 0, "4.3.0 out of memory or write error: %s",
	    strerror(errno));
	buf_free(&b);
	return SESS_NEXT;
}

/* The connection kept for the next job to the same destination
 * (remote_max_messages, remote_idle_time): its session, socket and
 * address. */
static struct sess live;
static struct cand live_cand;
static struct route live_route;   /* the route it was opened under */
static int live_fd = -1;

/* After a session or a reused one: keep the connection when asked and
 * it is at a clean point, else say goodbye and close it. */
static void
finish(struct sess *s, enum sess_end end, int fd, int keep, int *kept)
{
	*kept = 0;
	if (keep && end == SESS_DONE && !s->broken) {
		if (s != &live) {
			live_cand = *s->c;
			live_route = s->j->route;
			live = *s;
			live.c = &live_cand;
		}
		live_fd = fd;
		*kept = 1;
		return;
	}
	if (end == SESS_DONE)
		quit(s);
	if (tls_active(s->io))
		tls_end(s->io);
	if (s == &live) {
		close(live_fd);
		live_fd = -1;
	}
}

enum sess_end
client_session(struct job *j, const struct cand *c, int fd, int plain,
    int keep, int *kept)
{
	struct sess s;
	enum sess_end end = SESS_NEXT;
	char err[256];
	int r;

	memset(&s, 0, sizeof s);
	s.j = j;
	s.c = c;
	s.io = &sess_io;
	io_init(s.io, fd, fd, (int)cfg_num(remote_greeting_timeout));
	hosts_relay(c, s.relay, sizeof s.relay);
	s.doing = "waiting for the greeting";
	if (j->route.smtps) {
		if (tls_go(&s, err, sizeof err) < 0) {
			job_fail(j, 0, "4.7.5 TLS with %s failed: %s", s.relay,
			    err);
			goto out;
		}
	}
	if (reply(&s, (int)cfg_num(remote_greeting_timeout)) < 0)
		goto out;
	if (s.r.code != 220) {
		end = next_said(&s, "greeting");
		goto out;
	}
	if ((r = ehlo(&s)) <= 0) {
		if (r == 0)
			end = next_said(&s, "EHLO");
		goto out;
	}
	if (!starttls(&s, plain, &end) || !auth(&s, &end))
		goto out;
	end = limits(&s) ? transaction(&s) : SESS_DONE;
out:
	finish(&s, end, fd, keep, kept);
	return end;
}

int
client_live(void)
{
	return live_fd >= 0;
}

int
client_reuse(struct job *j, int keep, int *kept, enum sess_end *end_r)
{
	enum sess_end end;

	*kept = 0;
	if (live_fd < 0)
		return 0;
	live.j = j;
	/* a route or policy changed since the connection was opened: a new
	 * connection, under the new one (route_get zeroes the struct, so
	 * the bytes compare) */
	if (memcmp(&live_route, &j->route, sizeof live_route) != 0) {
		log_info("%s route of %s changed: new connection", j->qid,
		    j->domain);
		finish(&live, SESS_DONE, live_fd, 0, kept);
		return 0;
	}
	/* RSET (RFC 5321 4.1.1.5) checks that the connection still works
	 * and starts the next transaction clean; a failure here costs
	 * nothing, the job goes on with a new connection */
	if (say(&live, "RSET", "resetting for the next message",
	    (int)cfg_num(remote_command_timeout)) < 0 ||
	    live.r.code / 100 != 2) {
		log_info("%s reuse of %s failed: new connection", j->qid,
		    live.relay);
		j->last_err[0] = '\0';
		live.broken = 1;
		finish(&live, SESS_NEXT, live_fd, 0, kept);
		return 0;
	}
	end = limits(&live) ? transaction(&live) : SESS_DONE;
	finish(&live, end, live_fd, keep, kept);
	*end_r = end;
	return 1;
}

void
client_close(void)
{
	int kept;

	if (live_fd >= 0)
		finish(&live, SESS_DONE, live_fd, 0, &kept);
}
