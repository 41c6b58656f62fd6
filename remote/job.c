/*
 * job.c: what one child of tern-remote does with one job.
 *
 * The child reads the envelope from the queue file it was given (the
 * sender, the DSN values, the recipients the job names), finds the route
 * and the addresses to try, and tries them in order until every
 * recipient has a result (RFC 5321 5.1: the next address on a
 * connection failure, a greeting refused, a 4xx to MAIL).  Recipients
 * still without a result get the last reason as a temporary failure, or
 * a permanent one when that reason was permanent (a null MX, a domain
 * that does not exist).  Then one result per recipient goes to the
 * parent, and the child exits.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/io.h"
#include "util/log.h"
#include "util/str.h"
#include "mail/addr.h"
#include "daemon/cfg.h"
#include "queue/dlv.h"
#include "remote.h"

static char last_relay[RMT_RELAY_MAX + 1];

int
job_done(const struct job *j)
{
	size_t k;

	for (k = 0; k < j->n; k++)
		if (j->res[k].code == 0)
			return 0;
	return 1;
}

void
job_set(struct job *j, size_t k, char code, const char *relay,
    const char *tls, int dsn, const char *text)
{
	struct res *r = &j->res[k];

	if (r->code != 0)
		return;
	r->code = code;
	r->dsn = dsn;
	str_copy(r->relay, relay ? relay : "", sizeof r->relay);
	str_copy(r->tls, tls ? tls : "", sizeof r->tls);
	str_copy(r->text, text, sizeof r->text);
}

void
job_set_rest(struct job *j, char code, const char *relay, const char *tls,
    const char *text)
{
	size_t k;

	for (k = 0; k < j->n; k++)
		job_set(j, k, code, relay, tls, 0, text);
}

void
job_fail(struct job *j, int perm, const char *fmt, ...)
{
	char s[LOG_SAFE_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->last_err, sizeof j->last_err, fmt, ap);
	va_end(ap);
	j->last_perm = perm;
	if (!j->quiet)
		log_info("%s attempt failed: %s", j->qid,
		    log_safe(s, sizeof s, j->last_err, strlen(j->last_err)));
}

/* The envelope and the job's recipients: 1, or 0 with every result set. */
static int
job_load(struct job *j)
{
	char err[256], t[RMT_TEXT_MAX + 1];
	size_t k;

	if (qfile_read_env(j->fd, &j->env, err, sizeof err) < 0) {
		snprintf(t, sizeof t, "4.3.0 cannot read the queue file: %s",
		    errno == EINVAL ? err : strerror(errno));
		job_set_rest(j, 'Z', NULL, NULL, t);
		return 0;
	}
	for (k = 0; k < j->n; k++)
		if (j->idx[k] >= j->env.nrcpt) {
			job_set_rest(j, 'Z', NULL, NULL, "4.3.0 job names a "
			    "recipient the message does not have");
			return 0;
		}
	j->domain = addr_domain(j->env.rcpt[j->idx[0]].addr);
	j->utf8_env = str_8bit(j->env.sender);
	for (k = 0; k < j->n; k++) {
		const char *a = j->env.rcpt[j->idx[k]].addr;

		if (!str_caseeq(addr_domain(a), j->domain))
			job_set(j, k, 'Z', NULL, NULL, 0, "4.3.0 job mixes "
			    "domains (retried on its own)");
		if (str_8bit(a))
			j->utf8_env = 1;
	}
	if (j->domain[0] == '\0') {
		job_set_rest(j, 'D', NULL, NULL, "5.1.3 recipient without a "
		    "domain cannot be relayed");
		return 0;
	}
	if (body_scan(j) < 0) {
		snprintf(t, sizeof t, "4.3.0 cannot read the queue file: %s",
		    strerror(errno));
		job_set_rest(j, 'Z', NULL, NULL, t);
		return 0;
	}
	return 1;
}

/* Try the kept connection, then each address in turn, until every
 * recipient has a result.  keep: leave the connection open after. */
static void
job_try(struct job *j, int keep)
{
	static struct cand c[CAND_MAX];
	char err[RMT_TEXT_MAX + 1];
	size_t n, i;
	enum sess_end e;
	int fd, plain, kept = 0;

	if (route_get(j->domain, &j->route, err, sizeof err) < 0) {
		job_set_rest(j, 'Z', NULL, NULL, err);
		client_close();
		return;
	}
	if (client_reuse(j, keep, &kept, &e) && job_done(j))
		return;
	n = hosts_find(j, c, CAND_MAX);
	for (i = 0; i < n && !job_done(j); i++) {
		hosts_relay(&c[i], last_relay, sizeof last_relay);
		plain = 0;
		do {
			if ((fd = hosts_connect(&c[i])) < 0) {
				job_fail(j, 0, "4.4.1 cannot connect to %s: "
				    "%s", last_relay, errno == ETIMEDOUT ?
				    "timed out" : strerror(errno));
				break;
			}
			e = client_session(j, &c[i], fd, plain, keep, &kept);
			if (!kept)
				close(fd);
			/* tls=may and a failed handshake: once more
			 * without TLS on the same address */
			plain = e == SESS_PLAIN && !plain;
		} while (plain);
	}
	if (!job_done(j))
		job_set_rest(j, j->last_perm ? 'D' : 'Z', n ? last_relay : NULL,
		    NULL, j->last_err[0] ? j->last_err :
		    "4.4.1 no host to deliver to");
}

static void
job_results(struct job *j, int out)
{
	char pkt[RMT_PKT_MAX];
	struct rmt_result r;
	size_t k, len;

	for (k = 0; k < j->n; k++) {
		memset(&r, 0, sizeof r);
		memcpy(r.qid, j->qid, QID_SIZE);
		r.idx = j->idx[k];
		r.code = j->res[k].code;
		r.dsn = j->res[k].dsn;
		str_copy(r.relay, j->res[k].relay, sizeof r.relay);
		str_copy(r.tls, j->res[k].tls, sizeof r.tls);
		str_copy(r.text, j->res[k].text, sizeof r.text);
		if (!rmt_result_format(pkt, &len, &r) ||
		    dlv_send(out, pkt, len, -1, 0) < 0)
			log_fatal("%s cannot send a result: %s", j->qid,
			    strerror(errno));
	}
}

/* Wait for the parent's next job for this destination: 1 (j set up), 0
 * the parent closed our socket (or sent nothing in time). */
static int
job_next(struct job *j, int in)
{
	char pkt[RMT_PKT_MAX];
	struct rmt_job rj;
	ssize_t n;
	int fd;

	/* the parent decides when an idle connection ends; the timeout
	 * only guards against a parent that forgot us */
	if (fd_poll(in, POLLIN, ((int)cfg_num(remote_idle_time) + 60) *
	    1000) < 0)
		return 0;
	n = dlv_recv(in, pkt, sizeof pkt, &fd);
	if (n <= 0 || fd < 0 || !rmt_job_parse(pkt, (size_t)n, &rj)) {
		if (n > 0)
			log_warn("malformed job from the parent");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	qenv_free(&j->env);
	close(j->fd);
	memset(j, 0, sizeof *j);
	memcpy(j->qid, rj.qid, QID_SIZE);
	j->n = rj.n;
	memcpy(j->idx, rj.idx, rj.n * sizeof rj.idx[0]);
	j->fd = fd;
	return 1;
}

void
job_run(struct job *j, int out)
{
	unsigned long sent = 0, max = cfg_num(remote_max_messages);
	int keep;

	for (;;) {
		j->started = time(NULL);
		keep = ++sent < max && cfg_num(remote_idle_time) > 0;
		if (job_load(j))
			job_try(j, keep);
		/* "I" first: the parent marks us idle once the results are
		 * in, before the next job of this destination arrives */
		if (client_live() && dlv_send(out, "I", 1, -1, 0) < 0)
			log_fatal("%s cannot reach the parent: %s", j->qid,
			    strerror(errno));
		job_results(j, out);
		if (!client_live() || !job_next(j, out))
			break;
	}
	client_close();
	_exit(0);
}
