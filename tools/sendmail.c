/*
 * tern-sendmail: the sendmail(8) command line in front of tern-enqueue.
 *
 * Installed as /usr/sbin/sendmail (and mailq, newaliases), so cron,
 * mail(1) and PHP's mail() hand their messages to tern.  It runs as its
 * caller with no privileges: the message goes through lib/queue/enq to
 * tern-enqueue, which records the caller's uid in the envelope.  It
 * prints nothing when all is well (cron mails whatever it prints).
 *
 * The message is read from stdin with LF or CRLF line ends and queued
 * with LF.  The header section is held in memory (bounded) because the
 * envelope, which may come from the To/Cc/Bcc fields (-t), must be sent
 * before the message; the body is streamed.  The header scan itself is
 * lib/mail/hdrscan.c (pure, unit-tested).  -bs is sendmail_smtp.c.
 * Exit codes follow <sysexits.h>, as callers of sendmail expect.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/fsutil.h"
#include "mail/dsn.h"
#include "mail/addr.h"
#include "mail/hdr.h"
#include "mail/hdrscan.h"
#include "mail/smtpparse.h"
#include "daemon/cfg.h"
#include "queue/enq.h"
#include "queue/qfile.h"
#include "sendmail.h"

#define SM_LINE_MAX 65536          /* read unit; longer lines are split */
#define SM_HEADER_MAX (1024 * 1024) /* the header section held in memory */

#define die sm_die
#define nomem sm_nomem

/* stdin, read in lines or pieces of lines, CRLF made LF */
struct rd {
	char buf[8192];
	size_t pos, len;
	int eof;
};

static const char *prog = "tern-sendmail";

void
sm_die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void
sm_nomem(int r)
{
	if (r < 0)
		sm_die(EX_TEMPFAIL, "out of memory");
}

static void __attribute__((noreturn))
usage(void)
{
	sm_die(EX_USAGE, "usage: tern-sendmail [-C DIR] [-ti] [-f sender] "
	    "[-F name] [-B type] [-N dsn] [-R ret] [-V envid] "
	    "[-bm|-bp|-bs|-bi|-q] [-oX] [--] [recipient ...] | --version");
}

/* -V: the envelope id as xtext (RFC 3461 4), at most SMTP_ENVID_MAX. */
static void
set_envid(struct opts *o, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 0x20 || c >= 0x7f)
			sm_die(EX_USAGE, "-V: envelope id must be printable ASCII");
		/* xtext: '+', '=' and ' ' take 3 bytes, the rest 1 */
		if (k + (c == '+' || c == '=' || c == ' ' ? 3 : 1) >
		    SMTP_ENVID_MAX)
			sm_die(EX_USAGE, "-V: envelope id too long");
		if (c == '+' || c == '=' || c == ' ') {
			o->envid[k++] = '+';
			o->envid[k++] = hex[c >> 4];
			o->envid[k++] = hex[c & 15];
		} else
			o->envid[k++] = (char)c;
	}
	o->envid[k] = '\0';
}

/* One option letter c with its value v (NULL for a flag). */
static void
option(struct opts *o, char c, const char *v)
{
	switch (c) {
	case 't': o->t = 1; break;
	case 'i': o->dot = 0; break;
	case 'I': o->mode = 'i'; break;   /* as newaliases */
	case 'f': case 'r': o->from = v; break;
	case 'F': o->name = v; break;
	case 'C': o->confdir = v; break;   /* among the options only */
	case 'b':
		if (v[0] == '\0' || v[1] || !strchr("mpsi", v[0]))
			sm_die(EX_USAGE, "-b%s: mode not supported", v);
		o->mode = v[0];
		break;
	case 'o':
		/* -oi; -od (delivery mode), -oe (error mode), -om and every
		 * other sendmail.cf option mean nothing here */
		if (strcmp(v, "i") == 0)
			o->dot = 0;
		break;
	case 'B':
		if (strcasecmp(v, "8BITMIME") == 0)
			o->body8 = 1;
		else if (strcasecmp(v, "7BIT") == 0)
			o->body8 = 0;
		else
			sm_die(EX_USAGE, "-B %s: not 7BIT or 8BITMIME", v);
		break;
	case 'N':
		if (!smtp_dsn_notify(v, strlen(v), &o->notify))
			sm_die(EX_USAGE, "-N %s: not \"never\" or a list of "
			    "success, failure, delay", v);
		break;
	case 'R':
		if ((o->ret = smtp_dsn_ret(v, strlen(v))) == 0)
			sm_die(EX_USAGE, "-R %s: not full or hdrs", v);
		break;
	case 'V': set_envid(o, v); break;
	default:
		/* the ones accepted and ignored (OPT_IGNORED below) */
		break;
	}
}

/* As getopt(3) with sendmail's option letters: flags combine ("-ti"),
 * a value is the rest of the word or the next argument ("-oi", "-f a",
 * "-tfa@b"). */
#define OPT_VALUE "BCFNRVbfor" "ALMOXdehp"   /* used, then ignored ones */
#define OPT_FLAG "Iit" "GUcmnsvx"            /* used, then ignored ones */

/* sendmail's options; returns the index of the first recipient. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t j;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strcmp(a, "--version") == 0) {
			printf("tern-sendmail %s\n", TERN_VERSION);
			exit(fflush(stdout) == EOF ? EX_IOERR : EX_OK);
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		for (j = 1; a[j]; j++) {
			char c = a[j];

			if (c == 'q') {   /* -q[time]: flush now; no next word */
				o->mode = 'q';
				break;
			}
			if (strchr(OPT_VALUE, c)) {
				const char *v = a + j + 1;

				if (*v == '\0') {
					if (i + 1 >= argc)
						usage();
					v = argv[++i];
				}
				option(o, c, v);
				break;
			}
			if (!strchr(OPT_FLAG, c))
				usage();
			option(o, c, NULL);
		}
	}
	return i;
}

/* Run a sibling program (same directory as ours: a build tree) or the
 * installed one; never returns. */
static void __attribute__((noreturn))
run(const char *dir, const char *name, char **args)
{
	char self[FS_PATH_MAX], path[FS_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (fs_join(path, sizeof path, self, name) > 0 &&
			    access(path, X_OK) == 0)
				execv(path, args);
		}
	}
	if (fs_join(path, sizeof path, dir, name) < 0)
		die(EX_SOFTWARE, "%s/%s: %s", dir, name, strerror(errno));
	execv(path, args);
	die(EX_UNAVAILABLE, "cannot run %s: %s", path, strerror(errno));
}

static void __attribute__((noreturn))
other_mode(const struct opts *o)
{
	char *dir = (char *)cfg_dir();
	char *list[] = { "tern-queue", "-C", dir, "list", NULL };
	char *flush[] = { "tern-queue", "-C", dir, "flush", NULL };
	char *aliases[] = { "tern-map", "-C", dir, (char *)cfg_file("aliases"),
	    NULL };
	struct passwd *pw;
	char host[SM_HOST_MAX];

	switch (o->mode) {
	case 'p': run(TERN_SBINDIR, "tern-queue", list);
	case 'q': run(TERN_SBINDIR, "tern-queue", flush);
	case 'i': run(TERN_SBINDIR, "tern-map", aliases);
	default:
		/* -bs: our own SMTP dialogue (sendmail_smtp.c), not
		 * tern-smtpd: that one needs the recipient maps, which an
		 * ordinary user cannot read */
		if ((pw = getpwuid(getuid())) == NULL)
			sm_die(EX_OSERR, "no user name for uid %lu",
			    (unsigned long)getuid());
		sm_host_name(host, sizeof host);
		sm_smtp(host, pw);
	}
}

/*
 * The next line of stdin into out, at most max bytes: 1 a whole line
 * (ending in LF, unless it is the last one), 2 a piece of a longer line,
 * 0 end of input.  "\r\n" becomes "\n"; a lone CR is refused (exit
 * EX_DATAERR).
 */
static int
rd_line(struct rd *r, struct buf *out, size_t max)
{
	buf_reset(out);
	for (;;) {
		const char *s = r->buf + r->pos, *nl;
		size_t k;
		ssize_t got;

		if (r->pos < r->len) {
			nl = memchr(s, '\n', r->len - r->pos);
			k = nl ? (size_t)(nl - s) + 1 : r->len - r->pos;
			if (k > max - out->len)
				k = max - out->len;
			nomem(buf_cat(out, s, k));
			r->pos += k;
			if (out->len >= 2 && out->s[out->len - 1] == '\n' &&
			    out->s[out->len - 2] == '\r') {
				out->s[out->len - 2] = '\n';
				buf_truncate(out, out->len - 1);
			}
			/* every CR left is bare: refused, as tern-smtpd refuses
			 * it, so that no next server can take it for a line
			 * end (doc/VIOLATIONS.md) */
			if (memchr(out->s, '\r', out->len - (out->len == max)) !=
			    NULL)
				die(EX_DATAERR, "the message holds a bare CR (a "
				    "CR not followed by LF): not queued");
			if (out->len && out->s[out->len - 1] == '\n')
				return 1;
			if (out->len == max) {
				/* keep a CR that may start a CRLF for the next
				 * piece: it was the last byte taken */
				if (out->s[out->len - 1] == '\r') {
					buf_truncate(out, out->len - 1);
					r->pos--;
				}
				return 2;
			}
			continue;
		}
		if (r->eof)
			return out->len ? 1 : 0;
		got = read(0, r->buf, sizeof r->buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			die(EX_IOERR, "reading the message: %s", strerror(errno));
		r->pos = 0;
		r->len = (size_t)got;
		r->eof = got == 0;
	}
}

static int
is_dot(const struct buf *l)
{
	return (l->len == 2 && memcmp(l->s, ".\n", 2) == 0) ||
	    (l->len == 1 && l->s[0] == '.');
}

/*
 * Read the header section into hdrs.  Ends at the empty line (consumed),
 * at a line that is no header field (left in first, the body's first
 * line), at "." (without -i) or at EOF.  Returns 1 when a body follows.
 */
static int
read_header(struct rd *r, const struct opts *o, struct buf *hdrs,
    struct buf *first)
{
	struct hdr_field f;
	size_t pos;
	int k;

	for (;;) {
		k = rd_line(r, first, SM_LINE_MAX);
		if (k == 0 || (k == 1 && o->dot && is_dot(first)))
			return 0;
		if (k == 1 && first->len == 1 && first->s[0] == '\n')
			return buf_reset(first), 1;
		pos = 0;
		if (k == 2 || !((hdrs->len && (first->s[0] == ' ' ||
		    first->s[0] == '\t')) ||
		    hdr_next(first->s, first->len, &pos, &f) == 1))
			return 1;   /* not a field: the body starts here */
		if (hdrs->len + first->len > SM_HEADER_MAX)
			die(EX_DATAERR, "header section too large");
		nomem(buf_cat(hdrs, first->s, first->len));
		if (first->s[first->len - 1] != '\n')
			nomem(buf_catc(hdrs, '\n'));
	}
}

/* A display name as a phrase, quoted when it holds specials (3.2.5). */
static void
cat_phrase(struct buf *b, const char *name)
{
	const char *p;
	int plain = 1;

	for (p = name; *p; p++)
		if (strchr("()<>[]:;@\\,.\"", *p) || (unsigned char)*p < 0x20)
			plain = 0;
	if (plain) {
		nomem(buf_cats(b, name));
		return;
	}
	nomem(buf_catc(b, '"'));
	for (p = name; *p; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			nomem((*p == '"' || *p == '\\' ? buf_catc(b, '\\') : 1) < 0 ?
			    -1 : buf_catc(b, *p));
	nomem(buf_catc(b, '"'));
}

/* The full name for From: -F, else the GECOS field up to its first ','. */
static void
full_name(struct buf *b, const struct opts *o, const struct passwd *pw)
{
	const char *g = o->name;
	size_t n;

	if (g == NULL && pw && pw->pw_gecos) {
		n = strcspn(pw->pw_gecos, ",");
		nomem(buf_cat(b, pw->pw_gecos, n));
		return;
	}
	if (g)
		nomem(buf_cats(b, g));
}

/* The fields tern-sendmail adds: Received first, then From, Date and
 * Message-ID at the end of the section when the message has none. */
static void
add_fields(struct buf *top, struct buf *end, const struct hdr_scan *hs,
    const struct opts *o, const struct passwd *pw, const char *from,
    const char *host)
{
	char date[DSN_DATE_SIZE], rnd[8];
	struct buf name = BUF_INIT;
	time_t now = time(NULL);
	size_t i;

	dsn_date(now, date);
	nomem(buf_catf(top, "Received: by %s (tern-sendmail, from userid "
	    "%lu);\n\t%s\n", host, (unsigned long)getuid(), date));
	if (!hs->has_from) {
		full_name(&name, o, pw);
		nomem(buf_cats(end, "From: "));
		if (name.len) {
			cat_phrase(end, name.s);
			nomem(buf_catf(end, " <%s>\n", from));
		} else
			nomem(buf_catf(end, "%s\n", from));
	}
	if (!hs->has_date)
		nomem(buf_catf(end, "Date: %s\n", date));
	if (!hs->has_msgid) {
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			die(EX_OSERR, "getrandom: %s", strerror(errno));
		nomem(buf_catf(end, "Message-ID: <%llu.%ld.", (unsigned long long)
		    now, (long)getpid()));
		for (i = 0; i < sizeof rnd; i++)
			nomem(buf_catf(end, "%02x", (unsigned char)rnd[i]));
		nomem(buf_catf(end, "@%s>\n", host));
	}
	buf_free(&name);
}

void
sm_host_name(char *host, size_t sz)
{
	/* the key hostname, else the system's name (lib/daemon/cfg.h) */
	if (str_copy(host, cfg_hostname(), sz) >= sz)
		die(EX_CONFIG, "hostname too long");
}

struct enq *
sm_enq_try(char *err, size_t errsz)
{
	char path[FS_PATH_MAX];
	struct enq *e;

	if (enq_path(path, sizeof path) < 0)
		die(EX_TEMPFAIL, "program_dir: %s", strerror(errno));
	if ((e = malloc(sizeof *e)) == NULL)
		die(EX_TEMPFAIL, "out of memory");
	if (enq_open(e, path) < 0) {
		snprintf(err, errsz, "cannot run %s: %s", path,
		    strerror(errno));
		free(e);
		e = NULL;
	} else
		e->quiet = 1;
	return e;
}

struct enq *
sm_enq_open(void)
{
	char err[ENQ_ERR_MAX + FS_PATH_MAX];
	struct enq *e = sm_enq_try(err, sizeof err);

	if (e == NULL)
		die(EX_TEMPFAIL, "%s", err);
	return e;
}

const char *
sm_notify_text(unsigned n, char out[40])
{
	/* the order lib/queue/qfile.h wants: NEVER, or SUCCESS,FAILURE,DELAY */
	snprintf(out, 40, "%s%s%s%s", (n & SMTP_NOTIFY_NEVER) ? ",NEVER" : "",
	    (n & SMTP_NOTIFY_SUCCESS) ? ",SUCCESS" : "",
	    (n & SMTP_NOTIFY_FAILURE) ? ",FAILURE" : "",
	    (n & SMTP_NOTIFY_DELAY) ? ",DELAY" : "");
	return out[0] ? out + 1 : out;
}

/* The envelope sender: -f (qualified; "" or "<>" is the null sender),
 * else login@host.  The From: address is the sender, or login@host for
 * a null sender. */
static void
sender(struct buf *env, struct buf *from, const struct opts *o,
    const char *login, const char *host)
{
	struct buf q = BUF_INIT;
	const char *msg, *f = o->from;

	nomem(buf_catf(from, "%s@%s", login, host));
	if (f && (strcmp(f, "") == 0 || strcmp(f, "<>") == 0)) {
		nomem(buf_copys(env, ""));
		return;
	}
	if (f == NULL)
		f = from->s;
	nomem(buf_cats(&q, f));
	if (f[0] != '<' && strchr(f, '@') == NULL)
		nomem(buf_catf(&q, "@%s", host));
	if (addr_parse(q.s, q.len, ADDR_UTF8, env, &msg) != 1)
		die(EX_DATAERR, "sender %s: %s", q.s, msg);
	nomem(buf_copy(from, env->s, env->len));
	buf_free(&q);
}

/* The body: first (already read) and the rest of stdin. */
static void
send_body(struct enq *e, struct rd *r, const struct opts *o, struct buf *l,
    int more)
{
	int k = 1, bol;

	if (l->len && enq_write(e, l->s, l->len) < 0)
		return;
	bol = l->len == 0 || l->s[l->len - 1] == '\n';
	while (more && (k = rd_line(r, l, SM_LINE_MAX)) != 0) {
		if (bol && k == 1 && o->dot && is_dot(l))
			break;
		if (enq_write(e, l->s, l->len) < 0)
			return;
		bol = l->s[l->len - 1] == '\n';
	}
	if (!bol)
		(void)enq_write(e, "\n", 1);   /* the last line ends too */
}

/* The envelope lines of the options: DSN and body type (lib/queue/qfile.h). */
static int
env_opts(struct enq *e, const struct opts *o)
{
	if (o->envid[0] && enq_env(e, 'E', o->envid) < 0)
		return -1;
	if (o->ret && enq_env(e, 'W', o->ret == 'F' ? "FULL" : "HDRS") < 0)
		return -1;
	if (o->body8 && enq_env(e, 'B', "8BITMIME") < 0)
		return -1;
	return 1;
}

static void __attribute__((noreturn))
send_message(const struct opts *o, char **args, int nargs)
{
	static struct rd r;
	struct buf hdrs = BUF_INIT, line = BUF_INIT, top = BUF_INIT,
	    end = BUF_INIT, env = BUF_INIT, from = BUF_INIT;
	struct hdr_scan hs = { BUF_INIT, 0, 0, 0 };
	struct hdr_rcpts rcpts;
	struct passwd *pw = getpwuid(getuid());
	char host[SM_HOST_MAX], qid[QID_SIZE], err[ENQ_ERR_MAX],
	    why[HDRSCAN_ERR_MAX], ntext[40];
	const char *p, *notify = sm_notify_text(o->notify, ntext);
	struct enq *e;
	int i, more, k;

	if (pw == NULL)
		die(EX_OSERR, "no user name for uid %lu", (unsigned long)getuid());
	sm_host_name(host, sizeof host);
	sender(&env, &from, o, pw->pw_name, host);
	hdr_rcpts_init(&rcpts, QFILE_RCPT_MAX);
	for (i = 0; i < nargs; i++)
		if ((k = hdr_rcpts_add(&rcpts, args[i], strlen(args[i]), host,
		    why)) != 1)
			die(k < 0 ? EX_TEMPFAIL : EX_DATAERR, "%s", k < 0 ?
			    "out of memory" : why);
	more = read_header(&r, o, &hdrs, &line);
	k = hdr_scan(hdrs.s ? hdrs.s : "", hdrs.len, SM_HEADER_MAX,
	    o->t ? HDRSCAN_RCPTS : 0, host, &rcpts, &hs, why);
	if (k != 1)
		die(k < 0 ? EX_TEMPFAIL : EX_DATAERR, "%s", k < 0 ?
		    "out of memory" : why);
	if (rcpts.n == 0)
		die(EX_USAGE, "no recipients");
	add_fields(&top, &end, &hs, o, pw, from.s, host);
	e = sm_enq_open();
	k = enq_env(e, 'F', env.s) == 1 && env_opts(e, o) == 1;
	for (p = rcpts.list.s; k && p < rcpts.list.s + rcpts.list.len;
	    p += strlen(p) + 1)
		k = enq_env(e, 'R', p) == 1 &&
		    (!notify[0] || enq_env(e, 'N', notify) == 1);
	if (k && enq_env_end(e) == 1 && enq_write(e, top.s, top.len) == 1 &&
	    enq_write(e, hs.keep.s, hs.keep.len) == 1 &&
	    enq_write(e, end.s, end.len) == 1 && enq_write(e, "\n", 1) == 1)
		send_body(e, &r, o, &line, more);
	switch (enq_close(e, qid, err, sizeof err)) {
	case 1:
		exit(EX_OK);   /* silent, as sendmail is */
	case 0:
		die(EX_DATAERR, "%s", err);
	default:
		die(EX_TEMPFAIL, "%s", err);
	}
}

int
main(int argc, char **argv)
{
	struct opts o = { 0, 1, 'm', NULL, NULL, 0, 0, 0, "", NULL };
	const char *base;
	char err[512];
	int first;

	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "mailq") == 0)
		o.mode = 'p';
	else if (strcmp(base, "newaliases") == 0)
		o.mode = 'i';
	/* -C DIR only among the options, so that a recipient that begins
	 * with "-C" is a recipient (not cfg_take_dir, which scans all) */
	first = parse_opts(argc, argv, &o);
	if (cfg_load(o.confdir, err, sizeof err) < 0)
		die(EX_CONFIG, "%s", err);
	if (o.mode != 'm')
		other_mode(&o);
	send_message(&o, argv + first, argc - first);
}
