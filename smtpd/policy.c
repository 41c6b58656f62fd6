/*
 * policy: who may send what through tern-smtpd, besides "is the
 * recipient local" (envelope.c): the access map, the relay decision, DNS
 * block lists and the early-talker check.  See tern-smtpd(8), "POLICY".
 *
 * Access rules are looked up where their key is known (client address at
 * connect, HELO name at HELO/EHLO, sender at MAIL, recipient at RCPT)
 * and applied at MAIL and RCPT, so the client sees a reply to a command
 * it sent (RFC 5321 3.1 allows a 554 greeting, but clients retry those
 * blindly).  A client that authenticated, has RELAYCLIENT, or matches an
 * OK or RELAY rule skips the client, HELO, sender and DNSBL checks;
 * recipient rules apply to everyone.  RELAY is honoured only for the
 * client address and the recipient: never for a HELO name or a sender,
 * which the client chooses freely.
 *
 * DNSBL (RFC 5782): the client address is looked up (A) in each of
 * dnsbl_zones once per session, at the first RCPT that needs it; an
 * answer in 127.0.0.0/8 means listed, except 127.255.255.0/24, which
 * block lists use for errors (e.g. a query through a public resolver).
 * The TXT record gives the reason.  A DNS failure counts as not listed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "net/dns.h"
#include "smtpd.h"

/* Copy rule text into v->why: printable ASCII only, bounded; a '%'
 * stays (replies are formatted with "%s"). */
static void
why_set(struct verdict *v, const char *t, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < SMTPD_WHY_MAX; i++) {
		unsigned char c = (unsigned char)t[i];

		v->why[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	v->why[o] = '\0';
}

/* Turn the result r of an access lookup with value val into v. */
static void
verdict_of(struct session *s, int r, const struct buf *val,
    struct verdict *v, const char *what)
{
	const char *text;

	memset(v, 0, sizeof *v);
	if (r == 0)
		return;
	v->found = 1;
	if (r < 0 || !map_access_parse(buf_str(val), &v->act, &text)) {
		/* a broken table must not let mail through unchecked */
		log_warn("%s access lookup %s error=%s", s->sid, what,
		    r < 0 ? strerror(errno) : "malformed value");
		v->act = MAP_DEFER;
		why_set(v, "temporary lookup failure", 24);
		return;
	}
	why_set(v, text, strlen(text));
}

void
policy_connect(struct session *s)
{
	struct buf val = BUF_INIT;
	int r = map_access_ip(&s->access, s->ip, &val);

	verdict_of(s, r, &val, &s->v_client, "client");
	buf_free(&val);
}

void
policy_helo(struct session *s)
{
	struct buf val = BUF_INIT;
	int r = map_access_helo(&s->access, s->helo, &val);

	verdict_of(s, r, &val, &s->v_helo, "helo");
	buf_free(&val);
}

int
policy_relay_client(const struct session *s)
{
	return s->relayclient || s->authed ||
	    (s->v_client.found && s->v_client.act == MAP_RELAY);
}

/* 1 if the client is trusted: no client, HELO, sender or DNSBL checks. */
static int
trusted(const struct session *s)
{
	return policy_relay_client(s) ||
	    (s->v_client.found && s->v_client.act == MAP_OK);
}

/* Apply verdict v at stage; 1 go on, 0 refused (reply sent).  what is
 * the reply's subject, e.g. "Client host". */
static int
apply(struct session *s, const struct verdict *v, const char *stage,
    const char *what, const char *subject)
{
	const char *why = v->why[0] ? v->why : "Access denied";

	if (!v->found || v->act == MAP_OK || v->act == MAP_RELAY)
		return 1;
	if (v->act == MAP_DISCARD) {
		s->discard = 1;
		return 1;
	}
	log_info("%s reject stage=%s ip=%s from=<%s> %s reply=%d why=access",
	    s->sid, stage, s->ip, buf_str(&s->from), subject,
	    v->act == MAP_DEFER ? 450 : 554);
	if (v->act == MAP_DEFER)
		smtpd_error(s, 450, "4.7.1", "%s rejected: %s", what, why);
	else
		smtpd_error(s, 554, "5.7.1", "%s rejected: %s", what, why);
	return 0;
}

int
policy_mail(struct session *s, const char *addr)
{
	struct verdict v;
	struct buf val = BUF_INIT;
	char subj[SMTPD_HOST_MAX + 16];
	int r;

	if (trusted(s))
		return 1;
	snprintf(subj, sizeof subj, "client=%s", s->ip);
	if (!apply(s, &s->v_client, "mail", "Client host", subj))
		return 0;
	snprintf(subj, sizeof subj, "helo=%s", s->helo);
	if (!apply(s, &s->v_helo, "mail", "Helo command", subj))
		return 0;
	r = map_access_addr(&s->access, "from", addr, &val);
	verdict_of(s, r, &val, &v, "sender");
	buf_free(&val);
	if (v.found && (v.act == MAP_OK || v.act == MAP_RELAY))
		s->sender_ok = 1;   /* whitelisted: no DNSBL */
	return apply(s, &v, "mail", "Sender address", "sender");
}

/* Look the client up in the block lists, once a session. */
static void
dnsbl_lookup(struct session *s)
{
	static unsigned char ans[DNS_MSG_MAX];
	char name[DNS_NAME_MAX], txt[SMTPD_WHY_MAX + 1];
	const char *zone;
	size_t i, len;

	s->dnsbl_done = 1;
	for (i = 0; (zone = cfg_list(dnsbl_zones, i)) != NULL; i++) {
		struct dns_iter it;
		struct dns_rr rr;
		int r, listed = 0;

		if (dns_rev_name(s->ip, zone, name, sizeof name) <= 0)
			continue;
		r = dns_query(name, DNS_T_A, ans, sizeof ans, &len);
		if (r < 0)
			log_warn("%s dnsbl zone=%s ip=%s error=%s", s->sid, zone,
			    s->ip, strerror(errno));
		if (r <= 0 || dns_iter_init(&it, ans, len) < 0)
			continue;
		while (dns_iter_next(&it, &rr) > 0)
			if (rr.type == DNS_T_A && rr.rdlen == 4 &&
			    rr.rdata[0] == 127 && !(rr.rdata[1] == 255 &&
			    rr.rdata[2] == 255))
				listed = 1;
		if (!listed)
			continue;
		str_copy(txt, "listed", sizeof txt);
		if (dns_query(name, DNS_T_TXT, ans, sizeof ans, &len) > 0 &&
		    dns_iter_init(&it, ans, len) > 0)
			while (dns_iter_next(&it, &rr) > 0)
				if (rr.type == DNS_T_TXT &&
				    dns_txt_text(&rr, txt, sizeof txt) > 0)
					break;
		s->v_dnsbl.found = 1;
		/* "zone; reason", cut to fit a reply */
		str_copy(name, zone, sizeof name);
		if (strlen(name) + 2 < sizeof name)
			memcpy(name + strlen(name), "; ", 3);
		str_copy(name + strlen(name), txt, sizeof name - strlen(name));
		str_copy(s->v_dnsbl.why, name, sizeof s->v_dnsbl.why);
		log_info("%s dnsbl ip=%s zone=%s action=%s", s->sid, s->ip,
		    zone, cfg_str(dnsbl_action));
		return;
	}
}

/* The DNSBL step of RCPT: 1 go on, 0 refused (reply sent). */
static int
dnsbl_rcpt(struct session *s, const char *addr)
{
	if (cfg_list(dnsbl_zones, 0) == NULL || trusted(s) || s->sender_ok)
		return 1;
	if (!s->dnsbl_done)
		dnsbl_lookup(s);
	if (!s->v_dnsbl.found)
		return 1;
	if (str_caseeq(cfg_str(dnsbl_action), "mark")) {
		s->spam = 1;
		return 1;
	}
	log_info("%s reject stage=rcpt ip=%s from=<%s> to=<%s> reply=554 "
	    "why=dnsbl", s->sid, s->ip, buf_str(&s->from), addr);
	smtpd_error(s, 554, "5.7.1", "Service unavailable; client [%s] "
	    "blocked using %s", s->ip, s->v_dnsbl.why);
	return 0;
}

int
policy_rcpt(struct session *s, const char *addr, int local)
{
	struct verdict v;
	struct buf val = BUF_INIT;
	char subj[300];
	int r = map_access_addr(&s->access, "to", addr, &val);

	verdict_of(s, r, &val, &v, "recipient");
	buf_free(&val);
	/* the relay rule: RFC 5321 3.6.1 and SPEC "never an open relay" */
	if (!local && !policy_relay_client(s) &&
	    !(v.found && v.act == MAP_RELAY)) {
		log_info("%s reject stage=rcpt ip=%s from=<%s> to=<%s> "
		    "reply=554 why=relay", s->sid, s->ip, buf_str(&s->from),
		    addr);
		smtpd_error(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		return 0;
	}
	if (v.found && v.act == MAP_DISCARD)
		return 2;
	snprintf(subj, sizeof subj, "to=<%s>", addr);
	if (!apply(s, &v, "rcpt", "Recipient address", subj))
		return 0;
	/* an OK or RELAY rule for the recipient skips the block lists
	 * (abuse@ must hear from listed hosts) */
	if (v.found)
		return 1;
	return dnsbl_rcpt(s, addr) ? 1 : 0;
}

void
policy_greet_pause(struct session *s)
{
	unsigned long pause = cfg_num(smtpd_greet_pause);

	if (pause == 0)
		return;
	/* RFC 5321 4.3.1: the client waits for the greeting; spam engines
	 * often do not.  io_wait also returns 1 for a client that left. */
	if (io_wait(&s->io, (int)(pause * 1000)) == 0)
		return;
	log_info("%s reject stage=connect ip=%s reply=554 why=early", s->sid,
	    s->ip);
	/* RFC 2034 3: no enhanced code in the place of the greeting */
	smtpd_reply(s, 554, NULL, "%s Error: SMTP protocol violation: you "
	    "talked before the greeting", s->host);
	session_exit(s, 0);
}
