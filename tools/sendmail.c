/*
 * tern-sendmail: the sendmail(8) command line in front of tern-enqueue.
 *
 * Installed as /usr/sbin/sendmail (and mailq, newaliases), so cron,
 * mail(1) and PHP's mail() hand their messages to tern.  It runs as its
 * caller with no privileges: the message goes through lib/enq to
 * tern-enqueue, which records the caller's uid in the envelope.
 *
 * The message is read from stdin with LF or CRLF line ends and queued
 * with LF.  The header section is held in memory (bounded) because the
 * envelope, which may come from the To/Cc/Bcc fields (-t), must be sent
 * before the message; the body is streamed.  Exit codes follow
 * <sysexits.h>, as callers of sendmail expect.
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
#include "mail/addr.h"
#include "util/buf.h"
#include "daemon/cfg.h"
#include "queue/enq.h"
#include "mail/hdr.h"
#include "util/io.h"
#include "util/log.h"
#include "queue/qfile.h"

#define SM_LINE_MAX 65536          /* read unit; longer lines are split */
#define SM_HEADER_MAX (1024 * 1024) /* the header section held in memory */

struct opts {
	int t;              /* -t: recipients from the header fields */
	int dot;            /* a line "." ends the message (no -i / -oi) */
	char mode;          /* -b: m (send), p (list), s (SMTP), i (aliases) */
	const char *from;   /* -f / -r */
	const char *name;   /* -F */
};

/* stdin, read in lines or pieces of lines, CRLF made LF */
struct rd {
	char buf[8192];
	size_t pos, len;
	int eof;
};

static const char *prog = "tern-sendmail";

static void die(int, const char *, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
nomem(int r)
{
	if (r < 0)
		die(EX_TEMPFAIL, "out of memory");
}

static void __attribute__((noreturn))
usage(void)
{
	die(EX_USAGE, "usage: tern-sendmail [-C DIR] [-t] [-i] [-f sender] "
	    "[-F name] [-bm|-bp|-bs|-bi] [-oX] [--] [recipient ...]");
}

/* The value of an option: attached ("-fa@b") or the next argument. */
static const char *
optval(int argc, char **argv, int *i)
{
	if (argv[*i][2])
		return argv[*i] + 2;
	if (*i + 1 >= argc)
		usage();
	return argv[++*i];
}

/* sendmail's options; returns the index of the first recipient. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0)
			return i + 1;
		switch (a[1]) {
		case 't':
		case 'i':
			if (a[2])
				usage();
			if (a[1] == 't')
				o->t = 1;
			else
				o->dot = 0;
			break;
		case 'o':   /* -oi; every other -oX is a sendmail.cf option */
			if (strcmp(a, "-oi") == 0)
				o->dot = 0;
			else if (a[2] == '\0')
				(void)optval(argc, argv, &i);
			break;
		case 'f': case 'r': o->from = optval(argc, argv, &i); break;
		case 'F': o->name = optval(argc, argv, &i); break;
		case 'b':
			if (a[2] == '\0' || a[3] || !strchr("mpsi", a[2]))
				die(EX_USAGE, "%s: mode not supported", a);
			o->mode = a[2];
			break;
		case 'q': o->mode = 'q'; break;   /* -q[time]: flush now */
		/* accepted and ignored, with a value */
		case 'B': case 'h': case 'L': case 'N': case 'O': case 'R':
		case 'V': case 'X': case 'p':
			(void)optval(argc, argv, &i);
			break;
		/* accepted and ignored */
		case 'A': case 'd': case 'e': case 'G': case 'm': case 'n':
		case 'U': case 'v': case 'x':
			break;
		default:
			usage();
		}
	}
	return i;
}

/* Run a sibling program (same directory as ours: a build tree) or the
 * installed one; never returns. */
static void __attribute__((noreturn))
run(const char *dir, const char *name, char **args)
{
	char self[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof path, "%s/%s", self, name);
			if (access(path, X_OK) == 0)
				execv(path, args);
		}
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
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
	char *smtpd[] = { "tern-smtpd", "-C", dir, NULL };

	switch (o->mode) {
	case 'p': run(TERN_SBINDIR, "tern-queue", list);
	case 'q': run(TERN_SBINDIR, "tern-queue", flush);
	case 'i': run(TERN_SBINDIR, "tern-map", aliases);
	default:
		/* -bs: an SMTP session on stdin from a local user, who may
		 * relay as with qmail's RELAYCLIENT */
		if (setenv("RELAYCLIENT", "", 1) < 0)
			die(EX_OSERR, "setenv: %s", strerror(errno));
		run(cfg_str("program_dir"), "tern-smtpd", smtpd);
	}
}

/*
 * The next line of stdin into out, at most max bytes: 1 a whole line
 * (ending in LF, unless it is the last one), 2 a piece of a longer line,
 * 0 end of input.  "\r\n" becomes "\n"; a lone CR stays.
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

/* Qualify, check and canonicalise one address; add it unless a duplicate
 * (kept as NUL-separated strings in list). */
static void
add_rcpt(struct buf *list, size_t *n, const char *a, size_t len,
    const char *host)
{
	struct buf q = BUF_INIT, c = BUF_INIT;
	const char *msg, *p;

	nomem(buf_cat(&q, a, len));
	if (memchr(a, '@', len) == NULL)
		nomem(buf_catf(&q, "@%s", host));
	if (addr_parse(q.s, q.len, ADDR_UTF8, &c, &msg) != 1)
		die(EX_DATAERR, "%s: %s", q.s, msg);
	for (p = list->s; p && p < list->s + list->len; p += strlen(p) + 1)
		if (strcmp(p, c.s) == 0)
			goto out;
	if (++*n > QFILE_RCPT_MAX)
		die(EX_DATAERR, "too many recipients");
	nomem(buf_cat(list, c.s, c.len + 1));
out:
	buf_free(&q);
	buf_free(&c);
}

/* Every address of an address-list text goes to add_rcpt. */
static void
add_list(struct buf *list, size_t *n, const char *v, size_t len,
    const char *host)
{
	struct buf out = BUF_INIT;
	const char *msg, *p, *nl;

	if (hdr_addrlist(v, len, QFILE_RCPT_MAX, &out, &msg) < 0)
		die(errno == ENOMEM ? EX_TEMPFAIL : EX_DATAERR,
		    "bad address list \"%.*s\": %s", (int)(len > 80 ? 80 : len),
		    v, msg);
	for (p = out.s; p && p < out.s + out.len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(out.s + out.len - p));
		add_rcpt(list, n, p, (size_t)(nl - p), host);
	}
	buf_free(&out);
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
add_fields(struct buf *top, struct buf *end, const struct buf *hdrs,
    const struct opts *o, const struct passwd *pw, const char *from,
    const char *host)
{
	char date[64], rnd[8];
	struct buf name = BUF_INIT;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		die(EX_SOFTWARE, "cannot format the date");
	nomem(buf_catf(top, "Received: by %s (tern-sendmail, from userid "
	    "%lu);\n\t%s\n", host, (unsigned long)getuid(), date));
	if (!hdr_has(hdrs->s, hdrs->len, "From")) {
		full_name(&name, o, pw);
		nomem(buf_cats(end, "From: "));
		if (name.len) {
			cat_phrase(end, name.s);
			nomem(buf_catf(end, " <%s>\n", from));
		} else
			nomem(buf_catf(end, "%s\n", from));
	}
	if (!hdr_has(hdrs->s, hdrs->len, "Date"))
		nomem(buf_catf(end, "Date: %s\n", date));
	if (!hdr_has(hdrs->s, hdrs->len, "Message-ID")) {
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

/* The host name for unqualified addresses, Received and Message-ID. */
static void
host_name(char *host, size_t sz)
{
	const char *h = cfg_str("hostname");

	if (h[0]) {
		if (snprintf(host, sz, "%s", h) >= (int)sz)
			die(EX_CONFIG, "hostname too long");
		return;
	}
	if (gethostname(host, sz) < 0 || host[0] == '\0')
		die(EX_OSERR, "gethostname: %s", strerror(errno));
	host[sz - 1] = '\0';
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

/* Header fields to pass on (Bcc never: it is the point of Bcc); with -t
 * the recipients of To, Cc and Bcc are added to rcpts. */
static void
filter_header(const struct buf *hdrs, struct buf *keep, const struct opts *o,
    struct buf *rcpts, size_t *n, const char *host)
{
	struct hdr_field f;
	size_t pos = 0;

	while (hdr_next(hdrs->s, hdrs->len, &pos, &f) == 1) {
		int bcc = hdr_is(&f, "Bcc");

		if (o->t && (bcc || hdr_is(&f, "To") || hdr_is(&f, "Cc")))
			add_list(rcpts, n, f.value, f.vlen, host);
		if (!bcc)
			nomem(buf_cat(keep, f.start, f.len));
	}
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

static void __attribute__((noreturn))
send_message(const struct opts *o, char **args, int nargs)
{
	static struct rd r;
	struct buf hdrs = BUF_INIT, line = BUF_INIT, keep = BUF_INIT,
	    top = BUF_INIT, end = BUF_INIT, rcpts = BUF_INIT,
	    env = BUF_INIT, from = BUF_INIT, prog_path = BUF_INIT;
	struct passwd *pw = getpwuid(getuid());
	char host[256], qid[QID_SIZE], err[ENQ_ERR_MAX];
	const char *p;
	struct enq *e;
	size_t nrcpt = 0;
	int i, more, k;

	if (pw == NULL)
		die(EX_OSERR, "no user name for uid %lu", (unsigned long)getuid());
	host_name(host, sizeof host);
	sender(&env, &from, o, pw->pw_name, host);
	for (i = 0; i < nargs; i++)
		add_list(&rcpts, &nrcpt, args[i], strlen(args[i]), host);
	more = read_header(&r, o, &hdrs, &line);
	filter_header(&hdrs, &keep, o, &rcpts, &nrcpt, host);
	if (nrcpt == 0)
		die(EX_USAGE, "no recipients");
	add_fields(&top, &end, &hdrs, o, pw, from.s, host);
	nomem(buf_catf(&prog_path, "%s/tern-enqueue", cfg_str("program_dir")));
	if ((e = malloc(sizeof *e)) == NULL)
		die(EX_TEMPFAIL, "out of memory");
	if (enq_open(e, prog_path.s) < 0)
		die(EX_TEMPFAIL, "cannot run %s: %s", prog_path.s,
		    strerror(errno));
	k = enq_env(e, 'F', env.s);
	for (p = rcpts.s; k == 1 && p < rcpts.s + rcpts.len; p += strlen(p) + 1)
		k = enq_env(e, 'R', p);
	if (k == 1 && enq_env_end(e) == 1 && enq_write(e, top.s, top.len) == 1
	    && enq_write(e, keep.s, keep.len) == 1 &&
	    enq_write(e, end.s, end.len) == 1 && enq_write(e, "\n", 1) == 1)
		send_body(e, &r, o, &line, more);
	switch (enq_close(e, qid, err, sizeof err)) {
	case 1:
		exit(EX_OK);
	case 0:
		die(EX_DATAERR, "%s", err);
	default:
		die(EX_TEMPFAIL, "%s", err);
	}
}

int
main(int argc, char **argv)
{
	struct opts o = { 0, 1, 'm', NULL, NULL };
	const char *dir = cfg_take_dir(&argc, argv), *base;
	char err[512];
	int first;

	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "mailq") == 0)
		o.mode = 'p';
	else if (strcmp(base, "newaliases") == 0)
		o.mode = 'i';
	first = parse_opts(argc, argv, &o);
	log_init(prog, LOG_TO_STDERR, 0);
	if (cfg_load(dir, err, sizeof err) < 0)
		die(EX_CONFIG, "%s", err);
	if (o.mode != 'm')
		other_mode(&o);
	send_message(&o, argv + first, argc - first);
}
