/*
 * message: one message on its way into the queue, whether it comes by
 * DATA (data.c) or BDAT (bdat.c).
 *
 * msg_open starts tern-enqueue and sends it the envelope (with the DSN
 * and SMTPUTF8 lines of lib/queue/qfile.h) and the fields we add in front:
 * Received (RFC 5321 4.4, with the protocol names of RFC 3848 and RFC
 * 6531 3.7.3 and the TLS version and cipher) and, for mail that a check
 * in mark mode flagged, "X-Tern-Spam: yes".  Each line of the message
 * then goes through msg_line, which applies the checks (line ends,
 * length, size, hops) and drops any X-Tern-Spam field the client sent:
 * tern-deliverd believes that field, so only we may write it.  A failed
 * check stops tern-enqueue at once; nothing is queued, and msg_finish
 * gives the reply after the end of the data.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "daemon/cfg.h"
#include "net/tls.h"
#include "smtpd.h"

/* "ESMTP", "ESMTPSA", "UTF8SMTPS", ...: RFC 3848 and RFC 6531 3.7.3 */
static void
with_protocol(const struct session *s, char *out, size_t outsz)
{
	int tls = tls_active(&s->io);

	snprintf(out, outsz, "%s%s%s", s->utf8 ? "UTF8SMTP" :
	    s->esmtp ? "ESMTP" : "SMTP", tls ? "S" : "", s->authed ? "A" : "");
}

/* The TLS comment "(TLSv1.3 with cipher NAME (256 bits))", from
 * tls_info's "VERSION CIPHER BITS"; parentheses and backslashes are
 * kept out of the comment (RFC 5322 3.2.2). */
static int
tls_comment(const struct session *s, struct buf *b)
{
	char v[32], c[96], bits[16];
	const char *info = tls_info(&s->io);
	size_t i;

	if (!tls_active(&s->io) || info[0] == '\0')
		return 1;
	if (sscanf(info, "%31s %95s %15s", v, c, bits) != 3)
		return buf_cats(b, "\n\t(TLS)");
	for (i = 0; c[i]; i++)
		if (c[i] == '(' || c[i] == ')' || c[i] == '\\')
			c[i] = '_';
	return buf_catf(b, "\n\t(using %s with cipher %s (%s bits))", v, c,
	    bits);
}

/* Write the Received field (RFC 5321 4.4) into tern-enqueue. */
static int
msg_received(struct session *s)
{
	struct buf b = BUF_INIT;
	char date[64], proto[16];
	struct tm tm;
	time_t now = time(NULL);
	int r;

	/* RFC 5322 3.3 date-time with a numeric zone; the C locale gives
	 * English day and month names */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	with_protocol(s, proto, sizeof proto);
	/* From-domain: the HELO name (checked by smtp_helo_ok, so it cannot
	 * break the header) and the TCP-info address literal; the queue id
	 * is not known yet, the session id is what our logs carry */
	r = buf_catf(&b, "Received: from %s (", s->helo);
	if (r > 0 && strcmp(s->ip, "unknown") == 0)
		r = buf_cats(&b, "unknown");
	else if (r > 0)
		r = buf_catf(&b, "[%s%s]", strchr(s->ip, ':') ? "IPv6:" : "",
		    s->ip);
	if (r > 0)
		r = buf_cats(&b, ")");
	if (r > 0)
		r = tls_comment(s, &b);
	if (r > 0)
		r = buf_catf(&b, "\n\tby %s (tern) with %s id %s", s->host,
		    proto, s->sid);
	/* "for" only with one recipient: the others' addresses are not the
	 * business of each recipient (RFC 5321 7.2) */
	if (r > 0 && s->nrcpt == 1)
		r = buf_catf(&b, "\n\tfor <%s>", s->rcpt[0].addr);
	if (r > 0)
		r = buf_catf(&b, "; %s\n", date);
	if (r > 0 && s->spam) {
		/* the zone is the part of the DNSBL verdict before ";" */
		size_t zl = strcspn(s->v_dnsbl.why, ";");

		r = buf_catf(&b, "X-Tern-Spam: yes (client [%s] listed in "
		    "%.*s)\n", s->ip, (int)zl, s->v_dnsbl.why);
	}
	if (r > 0)
		r = enq_write(&s->enq, b.s, b.len);
	buf_free(&b);
	return r > 0 ? 1 : -1;
}

/* The envelope lines (lib/queue/qfile.h); recipients of DISCARD rules left
 * out. */
static int
msg_envelope(struct session *s)
{
	size_t i;

	if (enq_env(&s->enq, 'F', buf_str(&s->from)) < 0 ||
	    (s->envid.len && enq_env(&s->enq, 'E', buf_str(&s->envid)) < 0) ||
	    (s->ret && enq_env(&s->enq, 'W', s->ret == 'F' ? "FULL" :
	    "HDRS") < 0) || (s->utf8 && enq_env(&s->enq, 'S', "") < 0) ||
	    (s->body8 && enq_env(&s->enq, 'B', "8BITMIME") < 0))
		return -1;
	for (i = 0; i < s->nrcpt; i++) {
		const struct rcpt *r = &s->rcpt[i];
		char n[32];

		if (r->drop)
			continue;
		snprintf(n, sizeof n, "%s%s%s%s",
		    (r->notify & SMTP_NOTIFY_NEVER) ? ",NEVER" : "",
		    (r->notify & SMTP_NOTIFY_SUCCESS) ? ",SUCCESS" : "",
		    (r->notify & SMTP_NOTIFY_FAILURE) ? ",FAILURE" : "",
		    (r->notify & SMTP_NOTIFY_DELAY) ? ",DELAY" : "");
		if (enq_env(&s->enq, 'R', r->addr) < 0 ||
		    (n[0] && enq_env(&s->enq, 'N', n + 1) < 0) ||
		    (r->orcpt && enq_env(&s->enq, 'O', r->orcpt) < 0))
			return -1;
	}
	if (enq_env(&s->enq, 'I', s->ip) < 0 ||
	    enq_env(&s->enq, 'H', s->helo) < 0 || enq_env_end(&s->enq) < 0)
		return -1;
	return 1;
}

int
msg_open(struct session *s)
{
	char prog[FS_PATH_MAX];
	size_t i, keep = 0;

	memset(&s->ms, 0, sizeof s->ms);
	s->ms.in_header = 1;
	s->msg_open = 1;
	for (i = 0; i < s->nrcpt; i++)
		keep += !s->rcpt[i].drop;
	if (keep == 0)
		s->discard = 1;   /* every recipient had a DISCARD rule */
	if (s->discard)
		return 1;         /* read the message, queue nothing */
	if (enq_path(prog, sizeof prog) < 0 || enq_open(&s->enq, prog) < 0) {
		log_err("%s enqueue start error=%s", s->sid, strerror(errno));
		s->msg_open = 0;
		return -1;
	}
	if (msg_envelope(s) < 0 || msg_received(s) < 0) {
		log_err("%s enqueue write error=%s", s->sid, strerror(errno));
		enq_abort(&s->enq);
		s->msg_open = 0;
		return -1;
	}
	s->ms.queuing = 1;
	return 1;
}

void
msg_refuse(struct session *s, unsigned flag)
{
	s->ms.flags |= flag;
	if (s->ms.queuing) {
		enq_abort(&s->enq);
		s->ms.queuing = 0;
	}
}

void
msg_abort(struct session *s)
{
	if (s->ms.queuing)
		enq_abort(&s->enq);
	memset(&s->ms, 0, sizeof s->ms);
	s->msg_open = 0;
}

/* 1 if the header line t[0..n) is to be dropped: an X-Tern-Spam field
 * from the client, with its continuation lines (RFC 5322 2.2.3). */
static int
msg_strip(struct session *s, const char *t, size_t n)
{
	if (n > 0 && (t[0] == ' ' || t[0] == '\t'))
		return s->ms.skipping;
	s->ms.skipping = smtp_is_field(t, n, "X-Tern-Spam");
	return s->ms.skipping;
}

void
msg_line(struct session *s, const char *t, size_t n, unsigned eol)
{
	struct msgstate *ms = &s->ms;

	/* a bare LF is a line end (doc/VIOLATIONS.md); a bare CR is not,
	 * and is refused: kept in the text it would reach the next server,
	 * which might take it for a line end */
	if (eol & SMTP_BARE_CR)
		msg_refuse(s, DF_BARE);
	if (ms->flags & ~DF_ENQ)
		return;            /* refused already: only read the rest */
	/* RFC 1870 section 4: the size counts CRLF but no stuffing dots */
	ms->size += n + 2;
	if (ms->size > s->max_size) {
		msg_refuse(s, DF_SIZE);
		return;
	}
	if (ms->in_header) {
		if (n == 0)
			ms->in_header = 0;
		/* RFC 5321 6.3: count Received fields to catch loops; ours
		 * makes one more */
		else if (smtp_is_received(t, n) && ++ms->hops + 1 > s->max_hops) {
			msg_refuse(s, DF_HOPS);
			return;
		} else if (msg_strip(s, t, n))
			return;
	}
	if (ms->queuing && !(ms->flags & DF_ENQ) &&
	    (enq_write(&s->enq, t, n) < 0 || enq_write(&s->enq, "\n", 1) < 0)) {
		/* tern-enqueue died or refused: enq_close tells why */
		log_warn("%s enqueue write error=%s", s->sid, strerror(errno));
		ms->flags |= DF_ENQ;
	}
}

/* The reply for a message refused while reading it. */
static void
msg_refused(struct session *s)
{
	unsigned f = s->ms.flags;
	const char *why;
	int code = 554;

	if (f & DF_BARE) {
		why = "barecr";
		smtpd_reply(s, code, "5.6.0", "Error: message contains a bare "
		    "CR (RFC 5321 2.3.8)");
	} else if (f & DF_LONG) {
		why = "line";
		smtpd_reply(s, code, "5.6.0", "Error: message has a line "
		    "longer than %lu octets (RFC 5321 4.5.3.1.6)", s->max_line);
	} else if (f & DF_SIZE) {
		why = "size";
		code = 552;
		smtpd_reply(s, code, "5.3.4", "Error: message size exceeds "
		    "fixed limit of %lu bytes", s->max_size);
	} else {
		why = "hops";
		smtpd_reply(s, code, "5.4.6", "Error: too many hops (mail "
		    "loop?)");
	}
	log_info("%s reject stage=data ip=%s from=<%s> nrcpt=%zu reply=%d "
	    "why=%s", s->sid, s->ip, buf_str(&s->from), s->nrcpt, code, why);
}

/* Let tern-enqueue commit and answer for the message. */
static void
msg_commit(struct session *s)
{
	char qid[QID_SIZE], err[ENQ_ERR_MAX], safe[ENQ_ERR_MAX];
	int r;

	err[0] = '\0';
	r = enq_close(&s->enq, qid, err, sizeof err);
	s->ms.queuing = 0;
	log_safe(safe, sizeof safe, err, strlen(err));
	if (r > 0) {
		log_info("%s queued qid=%s from=<%s> nrcpt=%zu size=%lu%s%s",
		    s->sid, qid, buf_str(&s->from), s->nrcpt, s->ms.size,
		    s->spam ? " spam=1" : "", s->ms.bdat ? " bdat=1" : "");
		s->nqueued++;
		s->junk = 0;
		/* 250 only now: tern-enqueue has fsynced the commit */
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else if (r == 0) {
		log_info("%s reject stage=data ip=%s from=<%s> nrcpt=%zu "
		    "reply=554 why=enqueue error=%s", s->sid, s->ip,
		    buf_str(&s->from), s->nrcpt, safe);
		smtpd_reply(s, 554, "5.3.0", "Error: %s",
		    safe[0] ? safe : "message refused");
	} else {
		/* disk full, I/O error, a broken tern-enqueue: temporary */
		log_warn("%s defer stage=data ip=%s from=<%s> nrcpt=%zu "
		    "reply=451 error=%s", s->sid, s->ip, buf_str(&s->from),
		    s->nrcpt, safe);
		smtpd_reply(s, 451, "4.3.0", "Error: %s, try again later",
		    safe[0] ? safe : "queue write failed");
	}
}

void
msg_finish(struct session *s)
{
	if (s->ms.flags & ~DF_ENQ) {
		msg_refused(s);
	} else if (s->discard) {
		log_info("%s discard stage=data ip=%s from=<%s> nrcpt=%zu "
		    "size=%lu", s->sid, s->ip, buf_str(&s->from), s->nrcpt,
		    s->ms.size);
		s->junk = 0;
		smtpd_reply(s, 250, "2.0.0", "Ok: discarded");
	} else {
		msg_commit(s);
	}
	msg_abort(s);
}
