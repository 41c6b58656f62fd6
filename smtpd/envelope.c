/*
 * envelope: MAIL and RCPT (RFC 5321 4.1.1.2, 4.1.1.3) and their ESMTP
 * parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531),
 * RET, ENVID, NOTIFY, ORCPT (RFC 3461), AUTH= (RFC 4954 5).
 *
 * Who may send to whom is decided here and in policy.c: a recipient in
 * a local domain must exist (550 5.1.1); any other only from a client
 * that may relay.  Addresses are canonical (lib/mail/addr) before anything
 * looks at them, so "%", "!", quoted "@", source routes, address
 * literals, mixed case and trailing dots cannot open a relay.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "daemon/cfg.h"
#include "smtpd.h"

void
trans_reset(struct session *s)
{
	size_t i;

	msg_abort(s);
	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i].addr);
		free(s->rcpt[i].orcpt);
	}
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = s->rcpt_cap = 0;
	free(s->rcpt_hash);
	s->rcpt_hash = NULL;
	s->rcpt_hcap = 0;
	s->rcpt_tries = 0;
	buf_reset(&s->from);
	buf_reset(&s->envid);
	s->body8 = s->utf8 = s->discard = s->spam = s->sender_ok = 0;
	s->ret = 0;
	if (s->state == ST_MAIL)
		s->state = ST_HELO;
}

/* ---- MAIL ------------------------------------------------------------ */

/* SIZE=n (RFC 1870 section 4): 1 ok, 0 refused (reply sent). */
static int
mail_size(struct session *s, const struct smtp_param *p)
{
	unsigned long size;
	size_t i;

	if (p->val == NULL) {
		smtpd_error(s, 501, "5.5.4", "Error: SIZE needs a value");
		return 0;
	}
	for (i = 0; i < p->vallen; i++)
		if (p->val[i] < '0' || p->val[i] > '9')
			break;
	if (i < p->vallen || p->vallen == 0) {
		smtpd_error(s, 501, "5.5.4", "Error: bad SIZE value");
		return 0;
	}
	/* all digits: a number too large for str_ulong is too large here */
	if (!str_ulong(p->val, p->vallen, s->max_size, &size)) {
		log_info("%s reject stage=mail ip=%s from=<%s> reply=552 "
		    "why=size", s->sid, s->ip, buf_str(&s->from));
		smtpd_reply(s, 552, "5.3.4", "Error: message size exceeds "
		    "fixed limit of %lu bytes", s->max_size);
		return 0;
	}
	return 1;
}

/* BODY=7BIT|8BITMIME (RFC 6152); 8-bit bytes pass unchanged either way. */
static int
mail_body(struct session *s, const struct smtp_param *p)
{
	if (p->val != NULL && p->vallen == 8 &&
	    str_ncaseeq(p->val, "8BITMIME", 8)) {
		s->body8 = 1;
		return 1;
	}
	if (p->val != NULL && p->vallen == 4 && str_ncaseeq(p->val, "7BIT", 4))
		return 1;
	smtpd_error(s, 501, "5.5.4", "Error: BODY must be 7BIT or 8BITMIME");
	return 0;
}

/* One MAIL parameter other than SIZE and BODY: 1 ok, 0 refused. */
static int
mail_param_ext(struct session *s, const struct smtp_param *p)
{
	if (smtp_param_is(p, "SMTPUTF8")) {
		/* RFC 6531 3.4: no value */
		if (p->val == NULL) {
			s->utf8 = 1;
			return 1;
		}
	} else if (smtp_param_is(p, "RET")) {
		if (p->val && (s->ret = smtp_dsn_ret(p->val, p->vallen)))
			return 1;
	} else if (smtp_param_is(p, "ENVID")) {
		/* RFC 3461 4.4: xtext, at most 100 characters */
		if (p->val && p->vallen <= SMTP_ENVID_MAX &&
		    smtp_xtext_ok(p->val, p->vallen)) {
			if (buf_copy(&s->envid, p->val, p->vallen) < 0)
				log_fatal("%s out of memory", s->sid);
			return 1;
		}
	} else if (smtp_param_is(p, "AUTH")) {
		/* RFC 4954 5: "<>" or an xtext mailbox; we record the
		 * identity we authenticated ourselves, so this is only
		 * checked for syntax and otherwise ignored */
		if (p->val && (smtp_xtext_ok(p->val, p->vallen) ||
		    (p->vallen == 2 && memcmp(p->val, "<>", 2) == 0)))
			return 1;
	} else {
		char key[SMTP_KEYWORD_MAX + 1];

		/* the keyword is validated text, but bound it */
		memcpy(key, p->key, p->keylen);
		key[p->keylen] = '\0';
		smtpd_error(s, 555, "5.5.4", "Error: unsupported parameter %s",
		    key);
		return 0;
	}
	smtpd_error(s, 501, "5.5.4", "Error: bad value of a MAIL parameter");
	return 0;
}

/* The ESMTP parameters of MAIL (RFC 5321 4.1.1.2, 4.1.1.11): 1 ok, 0
 * refused (reply sent). */
static int
mail_params(struct session *s, const char *p0, size_t n)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	size_t count, i;
	const char *msg;

	if (!smtp_params(p0, n, p, SMTP_PARAMS_MAX, &count, &msg)) {
		smtpd_error(s, 501, "5.5.4", "Error: %s", msg);
		return 0;
	}
	for (i = 0; i < count; i++) {
		int ok;

		if (!s->esmtp) {
			/* parameters exist only after EHLO (RFC 5321 4.1.1.11) */
			smtpd_error(s, 555, "5.5.4", "Error: MAIL parameters "
			    "need EHLO");
			return 0;
		}
		if (smtp_param_is(&p[i], "SIZE"))
			ok = mail_size(s, &p[i]);
		else if (smtp_param_is(&p[i], "BODY"))
			ok = mail_body(s, &p[i]);
		else
			ok = mail_param_ext(s, &p[i]);
		if (!ok)
			return 0;
	}
	return 1;
}

/* 1 if sender belongs to the authenticated user: the same address, or
 * the same with a recipient_delimiter tag (ASCII case-insensitive, as
 * the users map keys are lower case). */
static int
sender_owned(const struct session *s, const char *sender)
{
	const char *user = buf_str(&s->auth_user);
	const char *dom = addr_domain(sender), *udom = addr_domain(user);
	size_t base, local, ulocal;

	if (sender[0] == '\0' || str_caseeq(sender, user))
		return 1;
	if (!str_caseeq(dom, udom))
		return 0;
	addr_base_local(sender, cfg_str(recipient_delimiter), &base, &local);
	addr_base_local(user, "", &ulocal, &ulocal);
	return base == ulocal && str_ncaseeq(sender, user, base);
}

/* After the parameters: the SMTPUTF8 rule, the sender check of
 * authenticated sessions, the access map.  1 go on, 0 refused. */
static int
mail_checks(struct session *s)
{
	const char *from = buf_str(&s->from);

	if (str_8bit(from) && !s->utf8) {
		/* RFC 6531 3.5 */
		smtpd_error(s, 553, "5.6.7", "Error: non-ASCII address needs "
		    "SMTPUTF8");
		return 0;
	}
	if (s->authed && cfg_bool(smtpd_sender_check) &&
	    !sender_owned(s, from)) {
		log_info("%s reject stage=mail ip=%s from=<%s> user=%s "
		    "reply=553 why=sender", s->sid, s->ip, from,
		    buf_str(&s->auth_user));
		smtpd_error(s, 553, "5.7.1", "<%s>: Sender address rejected: "
		    "not owned by user %s", from, buf_str(&s->auth_user));
		return 0;
	}
	return policy_mail(s, from);
}

void
cmd_mail(struct session *s, const char *arg, size_t n)
{
	const char *rest, *after, *msg;
	size_t restlen;
	int r;

	if (!smtp_keyword_arg(arg, n, "FROM:", &rest, &restlen)) {
		smtpd_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	/* UTF-8 is parsed always and refused below without SMTPUTF8, which
	 * comes after the address (RFC 6531 3.4) */
	r = addr_parse_path(rest, restlen, ADDR_NULL_OK | ADDR_UTF8, &s->from,
	    &after, &msg);
	if (r < 0)
		log_fatal("%s out of memory", s->sid);
	if (r == 0) {
		char safe[LOG_SAFE_MAX];

		log_info("%s reject stage=mail ip=%s from=%s reply=501 "
		    "why=syntax",
		    s->sid, s->ip, log_safe(safe, sizeof safe, rest, restlen));
		trans_reset(s);
		smtpd_error(s, 501, "5.1.7", "Bad sender address syntax: %s",
		    msg);
		return;
	}
	if (!mail_params(s, after, (size_t)(rest + restlen - after)) ||
	    !mail_checks(s)) {
		trans_reset(s);
		return;
	}
	s->state = ST_MAIL;  /* nrcpt and rcpt_tries are 0: trans_reset */
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

/* ---- RCPT ------------------------------------------------------------ */

/* 1 if the local part of addr holds a routing character: "%", "!" or a
 * quoted "@" (user%remote@here, remote!user@here).  Such an address is
 * never a local mailbox, and letting it through is how open relays were
 * made (RFC 5321 3.6.1 and Appendix C). */
static int
local_routed(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	return str_chr(addr, n, '%') != NULL || str_chr(addr, n, '!') != NULL ||
	    str_chr(addr, n, '@') != NULL;
}

/* 1 if the local part of addr is "postmaster" (case-insensitive). */
static int
is_postmaster(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at - addr == 10 && str_ncaseeq(addr, "postmaster",
	    10);
}

/* A local recipient: 1 it exists, 0 refused (reply sent). */
static int
rcpt_local(struct session *s, const char *addr)
{
	struct local_target t;
	int r;

	if (local_routed(addr))
		r = 0;
	else {
		memset(&t, 0, sizeof t);
		r = local_lookup(&s->maps, addr, &t);
		local_target_free(&t);
	}
	if (r < 0) {
		log_warn("%s lookup to=<%s> error=%s", s->sid, addr,
		    strerror(errno));
		smtpd_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure, "
		    "try again later", addr);
		return 0;
	}
	if (r == 0) {
		log_info("%s reject stage=rcpt ip=%s from=<%s> to=<%s> "
		    "reply=550 why=unknown", s->sid, s->ip, buf_str(&s->from),
		    addr);
		smtpd_error(s, 550, "5.1.1", "<%s>: Recipient address "
		    "rejected: unknown user", addr);
		return 0;
	}
	return 1;
}

/* Decide on one recipient; replies.  1 accepted, 2 accepted but to be
 * dropped (access DISCARD), 0 refused. */
static int
rcpt_decide(struct session *s, const char *addr)
{
	const char *dom = addr_domain(addr);
	int local = !addr_is_literal(dom) && local_domain(dom), r;

	/* RFC 5321 4.5.1: postmaster of every local domain MUST be
	 * accepted, whatever the maps and the block lists say */
	if (local && is_postmaster(addr))
		r = 1;
	else if (local && !rcpt_local(s, addr))
		return 0;
	else
		r = policy_rcpt(s, addr, local);
	if (r > 0)
		smtpd_reply(s, 250, "2.1.5", "Ok");
	return r;
}

/* FNV-1a of the canonical address in ASCII lower case, for the
 * recipient index (lower case so that rcpt_same's spellings meet). */
static size_t
rcpt_hashof(const char *a)
{
	return str_hash(a, 1);
}

/* 1 if a and b are one recipient: the same canonical address, or, in a
 * local domain, the same but for case (they reach one mailbox,
 * lib/lookup/local.h local_canon, so they get one delivery). */
static int
rcpt_same(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return 1;
	return str_caseeq(a, b) && local_domain(addr_domain(a)) > 0;
}

/* Put recipient i into the index (open addressing; slots hold i + 1). */
static void
rcpt_index(struct session *s, size_t i)
{
	size_t mask = s->rcpt_hcap - 1, h = rcpt_hashof(s->rcpt[i].addr) & mask;

	while (s->rcpt_hash[h] != 0)
		h = (h + 1) & mask;
	s->rcpt_hash[h] = i + 1;
}

/* The accepted recipient addr, or NULL.  The index keeps a transaction
 * of up to smtpd_max_recipients (100000) RCPTs linear, not quadratic. */
static struct rcpt *
rcpt_find(struct session *s, const char *addr)
{
	size_t mask, h;

	if (s->rcpt_hcap == 0)
		return NULL;
	mask = s->rcpt_hcap - 1;
	for (h = rcpt_hashof(addr) & mask; s->rcpt_hash[h] != 0;
	    h = (h + 1) & mask) {
		struct rcpt *r = &s->rcpt[s->rcpt_hash[h] - 1];

		if (rcpt_same(r->addr, addr))
			return r;
	}
	return NULL;
}

/* Room for one more recipient: the array and the index (kept at most
 * half full) grow by doubling. */
static void
rcpt_grow(struct session *s)
{
	size_t i;

	if (s->nrcpt == s->rcpt_cap) {
		size_t cap = s->rcpt_cap ? 2 * s->rcpt_cap : 16;
		struct rcpt *v = reallocarray(s->rcpt, cap, sizeof *v);

		if (v == NULL)
			log_fatal("%s out of memory", s->sid);
		s->rcpt = v;
		s->rcpt_cap = cap;
	}
	if (2 * (s->nrcpt + 1) > s->rcpt_hcap) {
		size_t cap = s->rcpt_hcap ? 2 * s->rcpt_hcap : 32;

		free(s->rcpt_hash);
		if ((s->rcpt_hash = calloc(cap, sizeof *s->rcpt_hash)) == NULL)
			log_fatal("%s out of memory", s->sid);
		s->rcpt_hcap = cap;
		for (i = 0; i < s->nrcpt; i++)
			rcpt_index(s, i);
	}
}

/* Remember an accepted recipient (once: a repeated one is accepted again
 * but delivered once).  drop: an access DISCARD rule matched it; it is
 * kept so that DATA has a recipient, but never queued. */
static void
rcpt_add(struct session *s, const char *addr, unsigned notify,
    const struct smtp_param *orcpt, int drop)
{
	struct rcpt *r = rcpt_find(s, addr);

	if (r != NULL) {
		r->drop &= drop;
		return;
	}
	rcpt_grow(s);
	r = &s->rcpt[s->nrcpt];
	r->addr = strdup(addr);
	r->notify = notify;
	r->drop = drop;
	r->orcpt = orcpt ? strndup(orcpt->val, orcpt->vallen) : NULL;
	if (r->addr == NULL || (orcpt && r->orcpt == NULL))
		log_fatal("%s out of memory", s->sid);
	rcpt_index(s, s->nrcpt);
	s->nrcpt++;
}

/* NOTIFY and ORCPT (RFC 3461 4.1, 4.2); 1 ok, 0 refused (reply sent). */
static int
rcpt_params(struct session *s, const char *p0, size_t n, unsigned *notify_r,
    const struct smtp_param **orcpt_r, struct smtp_param *p)
{
	size_t count, i;
	const char *msg;

	*notify_r = 0;
	*orcpt_r = NULL;
	if (!smtp_params(p0, n, p, SMTP_PARAMS_MAX, &count, &msg)) {
		smtpd_error(s, 501, "5.5.4", "Error: %s", msg);
		return 0;
	}
	for (i = 0; i < count; i++) {
		if (!s->esmtp) {
			smtpd_error(s, 555, "5.5.4", "Error: RCPT parameters "
			    "need EHLO");
			return 0;
		}
		if (smtp_param_is(&p[i], "NOTIFY") && p[i].val &&
		    smtp_dsn_notify(p[i].val, p[i].vallen, notify_r))
			continue;
		if (smtp_param_is(&p[i], "ORCPT") && p[i].val &&
		    smtp_dsn_orcpt(p[i].val, p[i].vallen)) {
			*orcpt_r = &p[i];
			continue;
		}
		if (smtp_param_is(&p[i], "NOTIFY") ||
		    smtp_param_is(&p[i], "ORCPT"))
			smtpd_error(s, 501, "5.5.4", "Error: bad value of a "
			    "RCPT parameter");
		else
			smtpd_error(s, 555, "5.5.4", "Error: unsupported "
			    "parameter");
		return 0;
	}
	return 1;
}

/* The address part of RCPT: parsed, SMTPUTF8-checked, "<Postmaster>"
 * qualified.  1 ok, 0 refused (reply sent). */
static int
rcpt_addr(struct session *s, const char *rest, size_t restlen,
    struct buf *addr, const char **after)
{
	const char *msg;
	int r;

	r = addr_parse_path(rest, restlen, ADDR_POSTMASTER | ADDR_UTF8, addr,
	    after, &msg);
	if (r < 0)
		log_fatal("%s out of memory", s->sid);
	if (r == 0) {
		smtpd_error(s, 501, "5.1.3", "Bad recipient address syntax: %s",
		    msg);
		return 0;
	}
	if (str_8bit(buf_str(addr)) && !s->utf8) {
		smtpd_error(s, 553, "5.6.7", "Error: non-ASCII address needs "
		    "SMTPUTF8");
		return 0;
	}
	/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain is ours */
	if (addr_domain(buf_str(addr))[0] == '\0') {
		const char *dom = cfg_list(local_domains, 0);

		if (buf_catc(addr, '@') < 0 ||
		    buf_cats(addr, dom ? dom : s->host) < 0)
			log_fatal("%s out of memory", s->sid);
	}
	return 1;
}

void
cmd_rcpt(struct session *s, const char *arg, size_t n)
{
	struct smtp_param p[SMTP_PARAMS_MAX];
	const struct smtp_param *orcpt;
	struct buf addr = BUF_INIT;
	const char *rest, *after;
	size_t restlen;
	unsigned notify;
	int r;

	if (!smtp_keyword_arg(arg, n, "TO:", &rest, &restlen)) {
		smtpd_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	s->rcpt_tries++;
	if (!rcpt_addr(s, rest, restlen, &addr, &after) ||
	    !rcpt_params(s, after, (size_t)(rest + restlen - after), &notify,
	    &orcpt, p))
		goto out;
	/* RFC 5321 4.5.3.1.10: 452 (not 552) for too many recipients, so
	 * the client sends the rest in another transaction */
	if (s->nrcpt >= s->max_rcpt) {
		smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
		goto out;
	}
	r = rcpt_decide(s, buf_str(&addr));
	if (r == 2)
		log_info("%s discard stage=rcpt ip=%s from=<%s> to=<%s>",
		    s->sid, s->ip, buf_str(&s->from), buf_str(&addr));
	if (r > 0)
		rcpt_add(s, buf_str(&addr), notify, orcpt, r == 2);
out:
	buf_free(&addr);
}
