/*
 * alias: delivery to an aliases-map entry, in the delivery child.
 *
 * The targets are expanded recursively (at most DD_ALIAS_DEPTH levels,
 * DD_TARGETS_MAX addresses, each address once).  Local mailboxes are
 * written by one process per target that becomes the target's owner.
 * Remote targets, and local targets that failed temporarily, are
 * re-injected as one new message through tern-enqueue with the original
 * sender and "Delivered-To: ALIAS" in front: the queue then retries
 * exactly those targets, and a forwarding loop through other hosts comes
 * back and is caught by the loop check.  The result of the alias is
 * delivered when anything was delivered or re-injected, temporary when
 * the re-injection itself failed (the targets already delivered may then
 * get a second copy later: never a loss), and failed when every target
 * failed permanently (those are logged one by one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "queue/enq.h"
#include "deliverd.h"

/* bytes of the to= list of the alias log line (log lines are 2 KiB) */
#define ALIAS_LOG_TO 1200

struct dd_exp {
	struct buf seen;      /* "\n"-separated addresses met so far */
	struct buf inject;    /* "\n"-separated targets to re-inject */
	struct buf to;        /* "<a>,<b>": where copies went, for the log */
	size_t ninject, ndone, nfail, ntemp, count, nseen_again;
	struct dd_result first_fail, first_temp;
};

static void
exp_fail(struct dd_ctx *c, struct dd_exp *x, const struct dd_result *r)
{
	if (r->code == 'Z' && x->ntemp++ == 0)
		x->first_temp = *r;  /* only the re-injection's counts */
	if (r->code == 'D' && x->nfail++ == 0)
		x->first_fail = *r;
	if (r->code == 'K')
		x->ndone++;
	if (r->code != 'K') {
		char s[LOG_SAFE_MAX];

		log_warn("%s alias=<%s> target %s", c->rq->qid,
		    c->rq->rcpt, log_safe(s, sizeof s, r->text,
		    strlen(r->text)));
	}
}

/* 1 if addr was seen before (case-insensitive), else remembers it */
static int
exp_seen(struct dd_exp *x, const char *addr, size_t n)
{
	const char *p = x->seen.s, *e = x->seen.s + x->seen.len;

	while (p != NULL && p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));

		if (nl == NULL)
			break;
		if ((size_t)(nl - p) == n && str_ncaseeq(p, addr, n))
			return 1;
		p = nl + 1;
	}
	(void)buf_cat(&x->seen, addr, n);
	(void)buf_catc(&x->seen, '\n');
	return 0;
}

/* Note a for the alias log line: a copy went there (delivered or
 * re-injected). */
static void
exp_to(struct dd_exp *x, const char *a)
{
	if (x->to.len > 0)
		(void)buf_catc(&x->to, ',');
	(void)buf_catf(&x->to, "<%s>", a);
}

static void
exp_inject(struct dd_exp *x, const char *a)
{
	(void)buf_cats(&x->inject, a);
	(void)buf_catc(&x->inject, '\n');
	x->ninject++;
	exp_to(x, a);
}

static void exp_list(struct dd_ctx *, struct dd_exp *, const char *, int);

/* One target address (canonical, from the map). */
static void
exp_one(struct dd_ctx *c, struct dd_exp *x, const char *a, int depth)
{
	struct local_target t;
	struct dd_result r;
	int lr;

	if (strchr(a, '@') == NULL) {
		dd_set(&r, 'D', "5.1.3 <%s>: bad alias target", a);
		exp_fail(c, x, &r);
		return;
	}
	if (!local_domain(addr_domain(a))) {
		exp_inject(x, a);
		return;
	}
	memset(&t, 0, sizeof t);
	lr = local_lookup(c->lm, a, &t);
	if (lr < 0)
		dd_set(&r, 'Z', "4.3.0 <%s>: map lookup failed", a);
	else if (lr == 0)
		dd_set(&r, 'D', "5.1.1 <%s>: alias target unknown", a);
	else if (t.kind == LOCAL_USER || t.kind == LOCAL_SYSTEM)
		dd_mailbox_fork(c, &t, a, &r);
	else if (t.kind == LOCAL_ALIAS && depth + 1 >= DD_ALIAS_DEPTH)
		dd_set(&r, 'D', "5.4.6 <%s>: aliases nested too deep", a);
	else if (t.kind == LOCAL_ALIAS)
		r.code = 0;  /* expanded below */
	else
		dd_set(&r, 'Z', "4.3.0 <%s>: no mailbox", a);
	if (r.code == 0) {
		exp_list(c, x, buf_str(&t.targets), depth + 1);
	} else if (r.code == 'K') {
		exp_to(x, a);
		exp_fail(c, x, &r);
	} else if (r.code == 'Z') {
		/* the queue retries this target on its own */
		log_info("%s alias=<%s> target=<%s> deferred: %s", c->rq->qid,
		    c->rq->rcpt, a, r.text);
		exp_inject(x, a);
	} else {
		exp_fail(c, x, &r);
	}
	local_target_free(&t);
}

/* A comma-separated target list. */
static void
exp_list(struct dd_ctx *c, struct dd_exp *x, const char *list, int depth)
{
	char a[DLV_ADDR_MAX + 1];
	struct dd_result r;

	while (*list != '\0') {
		const char *e = strchr(list, ',');
		size_t n = e ? (size_t)(e - list) : strlen(list);
		const char *s = list;
		size_t k = n;

		list += e ? n + 1 : n;
		while (k > 0 && (*s == ' ' || *s == '\t'))
			s++, k--;
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		if (k == 0)
			continue;
		if (exp_seen(x, s, k)) {
			x->nseen_again++;  /* a duplicate, or a loop */
			continue;
		}
		if (k > DLV_ADDR_MAX || ++x->count > DD_TARGETS_MAX) {
			dd_set(&r, 'D', "5.3.4 alias target list too long");
			exp_fail(c, x, &r);
			return;
		}
		memcpy(a, s, k);
		a[k] = '\0';
		exp_one(c, x, a, depth);
	}
}

/* Copy the message from the queue file into tern-enqueue. */
static int
fw_copy(struct dd_ctx *c, struct enq *e)
{
	char b[16384];
	off_t off = c->rq->off;
	ssize_t n;

	for (;;) {
		n = pread(c->fd, b, sizeof b, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 1 : -1;
		if (enq_write(e, b, (size_t)n) < 0)
			return -1;
		off += n;
	}
}

/* Re-inject the message for x's targets: 'K' (the new queue id in id),
 * 'Z' or 'D'. */
static void
fw_remote(struct dd_ctx *c, struct dd_exp *x, struct dd_result *r,
    char id[QID_SIZE])
{
	static struct enq e;
	char err[ENQ_ERR_MAX];
	char *p = x->inject.s, *nl;
	int ok;

	/* the copy is injected as queue_user, with no capability, so that
	 * tern-enqueue needs no setuid bit for us */
	priv_drop_ids(dd_ids.quid, dd_ids.qgid);
	if (enq_open(&e, c->enqueue) < 0) {
		dd_set(r, 'Z', "4.3.0 cannot run tern-enqueue: %s",
		    strerror(errno));
		return;
	}
	ok = enq_env(&e, 'F', c->rq->sender) > 0;
	for (; ok && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		ok = enq_env(&e, 'R', p) > 0;
	}
	ok = ok && enq_env_end(&e) > 0 &&
	    enq_write(&e, "Delivered-To: ", 14) > 0 &&
	    enq_write(&e, c->rq->rcpt, strlen(c->rq->rcpt)) > 0 &&
	    enq_write(&e, "\n", 1) > 0 && fw_copy(c, &e) > 0;
	if (!ok) {
		dd_set(r, 'Z', "4.3.0 forwarding failed: %s", strerror(errno));
		enq_abort(&e);
		return;
	}
	err[0] = '\0';
	switch (enq_close(&e, id, err, sizeof err)) {
	case 1:
		dd_set(r, 'K', "2.0.0 forwarded as %s", id);
		break;
	case 0:
		dd_set(r, 'D', "5.3.0 forwarding refused: %s", err);
		break;
	default:
		dd_set(r, 'Z', "4.3.0 forwarding failed: %s", err);
		break;
	}
}

/* The one line about an alias: the alias, where its copies went and the
 * queue id of the re-injected copy, e.g.
 * "QID alias from=<a> to=<t1>,<t2> forward_qid=ID". */
static void
log_alias(struct dd_ctx *c, const struct dd_exp *x, const char *fwid)
{
	char from[LOG_SAFE_MAX], to[ALIAS_LOG_TO];

	log_info("%s alias from=<%s> to=%s%s%s", c->rq->qid,
	    log_safe(from, sizeof from, c->rq->rcpt, strlen(c->rq->rcpt)),
	    x->to.len ? log_safe(to, sizeof to, x->to.s, x->to.len) : "-",
	    fwid[0] ? " forward_qid=" : "", fwid);
}

void
dd_alias(struct dd_ctx *c, const struct local_target *t, struct dd_result *r)
{
	struct dd_exp x;
	struct dd_result fr;
	char fwid[QID_SIZE];

	if (dlv_delivered_to(c->hdr.s, c->hdr.len, c->rq->rcpt)) {
		dd_set(r, 'D', "5.4.6 mail loop: already delivered to %s",
		    c->rq->rcpt);
		return;
	}
	memset(&x, 0, sizeof x);
	fwid[0] = '\0';
	(void)exp_seen(&x, c->rq->rcpt, strlen(c->rq->rcpt));
	exp_list(c, &x, buf_str(&t->targets), 0);
	if (x.ninject > 0) {
		fw_remote(c, &x, &fr, fwid);
		if (fr.code != 'K')
			fwid[0] = '\0';
		exp_fail(c, &x, &fr);
	}
	log_alias(c, &x, fwid);
	if (x.ntemp > 0)
		*r = x.first_temp;
	else if (x.ndone > 0)
		dd_set(r, 'K', "2.0.0 alias %s: %zu delivered (%zu re-injected), "
		    "%zu failed", c->rq->rcpt, x.ndone, x.ninject, x.nfail);
	else if (x.nfail > 0)
		*r = x.first_fail;
	else if (x.nseen_again > 0)
		dd_set(r, 'D', "5.4.6 <%s>: alias loop", c->rq->rcpt);
	else
		dd_set(r, 'D', "5.1.1 <%s>: alias has no targets", c->rq->rcpt);
	buf_free(&x.seen);
	buf_free(&x.inject);
	buf_free(&x.to);
}
