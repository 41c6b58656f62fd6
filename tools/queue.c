/*
 * tern-queue: look at the queue and ask tern-queued to act on it.
 *
 * list, show and stats only read mess/, state/ and corrupt/ (a member of
 * queue_admin_group can run them: those directories and their files have
 * that group; nothing is written, nothing locked).  flush, hold, release,
 * delete and bounce never touch a message: they leave one request file in
 * ctl/ (spool.h: lines "ACTION TARGET", written under a "." name and
 * linked into place, so tern-queued never reads half a file) and wake
 * tern-queued with a byte on the trigger FIFO; tern-queued checks who
 * owns the file (root, queue_user or a member of queue_admin_group), acts
 * and removes it, because it is the one writer of state/ and of mess/
 * removal (doc/DESIGN.md "Requests to tern-queued").  ctl/ is 1730, so
 * members may drop requests there without being able to read or remove
 * anyone else's.
 *   flush [ID... | ALL | -d DOMAIN]   hold|release ID... | ALL | -all
 *   delete ID... | ALL | -all-deferred   bounce ID... | ALL
 * ids are accepted in either case.  --json may stand anywhere.
 * Exit: 0 done, 1 no such message (for any of the ids), 100 usage,
 * 111 error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "util/fsutil.h"
#include "util/str.h"
#include "util/log.h"
#include "mail/addr.h"
#include "mail/hdr.h"
#include "mail/smtpparse.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "queue/qfile.h"
#include "queue/qid.h"
#include "queue/spool.h"
#include "queue.h"

#define STATE_MAX (8 * 1024 * 1024)  /* > QFILE_RCPT_MAX full lines */
#define SHOW_HEADER_MAX 65536        /* header bytes shown by "show" */

int json;

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("tern-queue: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	die(100, "usage: tern-queue [-C DIR] [--json] list | show ID | stats"
	    " | flush [ID... | ALL | -d DOMAIN] | hold|release ID... | ALL |"
	    " -all | delete ID... | ALL | -all-deferred | bounce ID... | ALL;"
	    " tern-queue --version");
}

/* ---- output ---- */

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned min, cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string (RFC 8259 7); bytes that are not UTF-8 become U+FFFD. */
void
jstr(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, k;

	putchar('"');
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\u%04x", p[i]);
		else if (p[i] < 0x80)
			putchar(p[i]);
		else if ((k = utf8_len(p + i, n - i)) > 0) {
			fwrite(p + i, 1, k, stdout);
			i += k - 1;
		} else
			fputs("\\ufffd", stdout);
	}
	putchar('"');
}

/* Text for a terminal: control characters shown as \xHH. */
const char *
safe(const char *s, char *out, size_t outsz)
{
	return log_safe(out, outsz, s, strlen(s));
}

static const char *
when(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outsz, "-");
	return out;
}

static const char *
state_name(const struct qrcpt *r)
{
	switch (r->st) {
	case RS_DONE: return "delivered";
	case RS_FAILED: return "failed";
	case RS_BOUNCED: return "bounced";
	default: return r->attempts ? "deferred" : "pending";
	}
}

/* ---- reading the queue ---- */

/* Load mess/ID and state/ID.  1 (m->err set when corrupt), 0 gone. */
int
load(const char *id, struct msg *m)
{
	struct stat st;
	char path[64], why[128], *data;
	size_t len;
	int fd, r;

	memset(m, 0, sizeof *m);
	memcpy(m->id, id, QID_SIZE);
	snprintf(path, sizeof path, "mess/%s", id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;   /* delivered since we listed it */
		die(111, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		die(111, "%s: %s", path, strerror(errno));
	if (!(st.st_mode & S_IXUSR)) {   /* not committed: not queued yet */
		close(fd);
		return 0;
	}
	if (qfile_read_env(fd, &m->e, m->err, sizeof m->err) < 0) {
		if (errno != EINVAL)
			die(111, "%s: %s", path, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	m->size = (unsigned long long)(st.st_size - m->e.body_off);
	snprintf(path, sizeof path, "state/%s", id);
	r = fs_read_file(path, STATE_MAX, &data, &len);
	if (r < 0)
		die(111, "%s: %s", path, strerror(errno));
	if (r > 0) {
		if (qstate_parse(&m->e, data, len, why, sizeof why) < 0)
			snprintf(m->err, sizeof m->err, "state: %s", why);
		free(data);
	}
	return 1;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The queue ids in dir, sorted (which is arrival order); *n set. */
char **
ids_in(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		die(111, "%s/%s: %s", cfg_str(spool_dir), dir, strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name))
			continue;
		if (*n == cap && (v = realloc(v, (cap = cap * 2 + 64) *
		    sizeof *v)) == NULL)
			die(111, "out of memory");
		if ((v[(*n)++] = strdup(de->d_name)) == NULL)
			die(111, "out of memory");
	}
	if (errno)
		die(111, "%s: %s", dir, strerror(errno));
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_id);
	return v;
}

/* ---- list and show ---- */

/* DSN NOTIFY as written in the envelope ("" when not given). */
static const char *
notify_text(unsigned f, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%s%s%s", f & SMTP_NOTIFY_NEVER ? "NEVER" : "",
	    f & SMTP_NOTIFY_SUCCESS ? "SUCCESS," : "",
	    f & SMTP_NOTIFY_FAILURE ? "FAILURE," : "",
	    f & SMTP_NOTIFY_DELAY ? "DELAY," : "");
	if (out[0] && out[strlen(out) - 1] == ',')
		out[strlen(out) - 1] = '\0';
	return out;
}

static const char *
code_name(char code)
{
	return code == 'K' ? "delivered" : code == 'Z' ? "deferred" :
	    code == 'D' ? "failed" : "unknown";
}

static void
rcpt_text(const struct qrcpt *r, int all)
{
	char a[1100], t[1700], w[32], n[40];

	printf("    %-9s <%s>", state_name(r), safe(r->addr, a, sizeof a));
	if (r->attempts)
		printf(" attempts=%u", r->attempts);
	if (r->st == RS_PENDING && r->next)
		printf(" next=%s", when(r->next, w, sizeof w));
	if (all && r->last)
		printf(" last=%s", when(r->last, w, sizeof w));
	if (r->relay[0])
		printf(" relay=%s", safe(r->relay, t, sizeof t));
	if (all && r->notify)
		printf(" notify=%s", notify_text(r->notify, n, sizeof n));
	if (all && r->orcpt)
		printf(" orcpt=%s", safe(r->orcpt, t, sizeof t));
	putchar('\n');
	if (r->text[0])
		printf("              %s\n", safe(r->text, t, sizeof t));
}

/* null or the string */
static void
jstr_or_null(const char *s)
{
	if (s == NULL)
		printf("null");
	else
		jstr(s);
}

static void
rcpt_json(const struct qrcpt *r, size_t idx)
{
	char n[40];

	printf("{\"index\":%zu,\"address\":", idx);
	jstr(r->addr);
	printf(",\"state\":\"%s\",\"attempts\":%u,\"next\":%lld,"
	    "\"last\":%lld,\"result\":", state_name(r), r->attempts,
	    (long long)r->next, (long long)r->last);
	jstr(r->text);
	printf(",\"relay\":");
	jstr_or_null(r->relay[0] ? r->relay : NULL);
	printf(",\"notify\":");
	jstr_or_null(r->notify ? notify_text(r->notify, n, sizeof n) : NULL);
	printf(",\"orcpt\":");
	jstr_or_null(r->orcpt);
	putchar('}');
}

/* The envelope of m as a JSON object, without its closing brace. */
static void
msg_json(const struct msg *m, int all)
{
	const struct qenv *e = &m->e;
	size_t i;
	int first = 1;

	printf("{\"id\":\"%s\"", m->id);
	if (m->err[0]) {
		printf(",\"corrupt\":true,\"error\":");
		jstr(m->err);
		return;
	}
	printf(",\"corrupt\":false,\"arrival\":%lld,\"size\":%llu,\"uid\":",
	    (long long)e->arrival, m->size);
	if (e->uid == (uid_t)-1)
		printf("null");
	else
		printf("%lu", (unsigned long)e->uid);
	printf(",\"sender\":");
	jstr(e->sender);
	printf(",\"client_ip\":");
	jstr_or_null(e->client_ip);
	printf(",\"helo\":");
	jstr_or_null(e->helo);
	printf(",\"envid\":");
	jstr_or_null(e->envid);
	printf(",\"ret\":%s,\"smtputf8\":%s,\"body_8bitmime\":%s",
	    e->ret == 'F' ? "\"FULL\"" : e->ret == 'H' ? "\"HDRS\"" : "null",
	    e->smtputf8 ? "true" : "false", e->body8 ? "true" : "false");
	printf(",\"held\":%s,\"recipients\":[", e->held ? "true" : "false");
	for (i = 0; i < e->nrcpt; i++) {
		if (!all && e->rcpt[i].st == RS_DONE)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		rcpt_json(&e->rcpt[i], i);
	}
	putchar(']');
}

/* show's history of attempts (state file a lines), oldest first. */
static void
hist_json(const struct qenv *e)
{
	size_t i;

	printf(",\"history\":[");
	for (i = 0; i < e->nhist; i++) {
		const struct qhist *h = &e->hist[i];

		printf("%s{\"time\":%lld,\"index\":%lu,\"address\":",
		    i ? "," : "", (long long)h->t, h->idx);
		jstr_or_null(h->idx < e->nrcpt ? e->rcpt[h->idx].addr : NULL);
		printf(",\"result\":\"%s\",\"relay\":", code_name(h->code));
		jstr_or_null(h->relay[0] ? h->relay : NULL);
		printf(",\"text\":");
		jstr(h->text);
		putchar('}');
	}
	putchar(']');
}

static void
hist_text(const struct qenv *e)
{
	char a[1100], t[1700], r[700], w[32];
	size_t i;

	if (e->nhist == 0) {
		printf("history: none\n");
		return;
	}
	printf("history:\n");
	for (i = 0; i < e->nhist; i++) {
		const struct qhist *h = &e->hist[i];

		printf("    %s %-9s <%s>%s%s\n              %s\n",
		    when(h->t, w, sizeof w), code_name(h->code),
		    h->idx < e->nrcpt ? safe(e->rcpt[h->idx].addr, a, sizeof a)
		    : "?", h->relay[0] ? " relay=" : "", h->relay[0] ?
		    safe(h->relay, r, sizeof r) : "", safe(h->text, t, sizeof t));
	}
}

static void
msg_text(const struct msg *m)
{
	char s[1100], w[32];

	if (m->err[0]) {
		printf("%s corrupt: %s\n", m->id, safe(m->err, s, sizeof s));
		return;
	}
	printf("%s %8llu %s <%s>%s\n", m->id, m->size,
	    when(m->e.arrival, w, sizeof w), safe(m->e.sender, s, sizeof s),
	    m->e.held ? " (held)" : "");
}

static int
cmd_list(void)
{
	size_t n, i, j, nmsg = 0, nrcpt = 0;
	char **ids = ids_in("mess", &n);
	struct msg m;

	if (json)
		printf("{\"messages\":[");
	else if (n)
		printf("%-20s %8s %-19s %s\n", "ID", "SIZE", "ARRIVAL",
		    "SENDER / RECIPIENTS");
	for (i = 0; i < n; i++) {
		if (load(ids[i], &m) == 0) {
			free(ids[i]);
			continue;
		}
		if (json) {
			printf(nmsg ? ",\n" : "\n");
			msg_json(&m, 0);
			putchar('}');
		} else {
			msg_text(&m);
			for (j = 0; !m.err[0] && j < m.e.nrcpt; j++)
				if (m.e.rcpt[j].st != RS_DONE)
					rcpt_text(&m.e.rcpt[j], 0);
		}
		for (j = 0; !m.err[0] && j < m.e.nrcpt; j++)
			nrcpt += m.e.rcpt[j].st != RS_DONE;
		nmsg++;
		qenv_free(&m.e);
		free(ids[i]);
	}
	free(ids);
	if (json)
		printf("\n]}\n");
	else if (nmsg == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %zu message%s, %zu recipient%s\n", nmsg,
		    nmsg == 1 ? "" : "s", nrcpt, nrcpt == 1 ? "" : "s");
	return 0;
}

/* The header fields of mess/ID, unfolded, one callback each. */
static void
headers(const struct msg *m, void (*fn)(const char *, int), int *first)
{
	static char h[SHOW_HEADER_MAX];
	struct buf line = BUF_INIT;
	struct hdr_field f;
	char path[64];
	size_t pos = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "mess/%s", m->id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = pread(fd, h, sizeof h, m->e.body_off);
	close(fd);
	while (n > 0 && hdr_next(h, (size_t)n, &pos, &f) == 1) {
		buf_reset(&line);
		if (buf_cat(&line, f.name, f.namelen) < 0 ||
		    buf_cats(&line, ": ") < 0 ||
		    hdr_unfold(&line, f.value, f.vlen) < 0)
			die(111, "out of memory");
		fn(line.s, *first);
		*first = 0;
	}
	buf_free(&line);
}

static void
header_text(const char *s, int first)
{
	char out[1024], tab[1024];
	size_t i;

	/* folding white space shows as a space, not as \x09 */
	for (i = 0; s[i] && i < sizeof tab - 1; i++)
		tab[i] = s[i] == '\t' ? ' ' : s[i];
	tab[i] = '\0';
	if (first)
		printf("headers:\n");
	printf("    %s\n", safe(tab, out, sizeof out));
}

static void
header_json(const char *s, int first)
{
	if (!first)
		putchar(',');
	jstr(s);
}

static int
cmd_show(const char *id)
{
	struct msg m;
	char s[1100], h[1100], w[32];
	size_t i;
	int first = 1;

	if (!qid_valid(id))
		die(100, "%s: not a queue id", id);
	if (load(id, &m) == 0)
		die(1, "%s: not in the queue", id);
	if (json) {
		msg_json(&m, 1);
		if (!m.err[0]) {
			hist_json(&m.e);
			printf(",\"headers\":[");
			headers(&m, header_json, &first);
			putchar(']');
		}
		printf("}\n");
	} else if (m.err[0]) {
		msg_text(&m);
	} else {
		printf("id: %s\narrival: %s\nsize: %llu\n", id,
		    when(m.e.arrival, w, sizeof w), m.size);
		if (m.e.uid != (uid_t)-1)
			printf("uid: %lu\n", (unsigned long)m.e.uid);
		printf("sender: <%s>\n", safe(m.e.sender, s, sizeof s));
		if (m.e.client_ip || m.e.helo)
			printf("client: %s helo=%s\n", m.e.client_ip ?
			    safe(m.e.client_ip, s, sizeof s) : "-", m.e.helo ?
			    safe(m.e.helo, h, sizeof h) : "-");
		if (m.e.envid || m.e.ret)
			printf("dsn: envid=%s ret=%s\n", m.e.envid ?
			    safe(m.e.envid, s, sizeof s) : "-", m.e.ret == 'F' ?
			    "FULL" : m.e.ret == 'H' ? "HDRS" : "-");
		if (m.e.smtputf8 || m.e.body8)
			printf("flags:%s%s\n", m.e.smtputf8 ? " SMTPUTF8" : "",
			    m.e.body8 ? " BODY=8BITMIME" : "");
		printf("held: %s\nrecipients:\n", m.e.held ? "yes" : "no");
		for (i = 0; i < m.e.nrcpt; i++)
			rcpt_text(&m.e.rcpt[i], 1);
		hist_text(&m.e);
		headers(&m, header_text, &first);
	}
	qenv_free(&m.e);
	return 0;
}

/* ---- requests to tern-queued ---- */

/* One byte on the trigger FIFO: 1 sent, 0 tern-queued is not running. */
static int
wake(char byte)
{
	int fd = open("trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENXIO)
		return 0;   /* no reader */
	if (fd < 0)
		die(111, "trigger: %s", strerror(errno));
	if (write(fd, &byte, 1) < 0 && errno != EAGAIN)
		die(111, "trigger: %s", strerror(errno));
	close(fd);
	return 1;
}

static void
write_all(int fd, const char *s, size_t n, const char *path)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die(111, "%s: %s", path, strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/*
 * The lines in b as one request file: ctl/.NAME written, given mode
 * SPOOL_CTL_FILE_MODE (tern-queued reads it whatever our group), then
 * linked to ctl/NAME (a name that exists already is never replaced, not
 * even our own) and the "." name removed; then one wake-up byte.
 */
static void
submit(const struct buf *b)
{
	char tmp[64], name[64];
	struct timespec ts;
	unsigned try;
	int fd;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		die(111, "clock_gettime: %s", strerror(errno));
	for (try = 0;; try++) {
		snprintf(name, sizeof name, "%s/%012lld.%09ld.%010ld", SPOOL_CTL,
		    (long long)ts.tv_sec, (long)ts.tv_nsec, (long)getpid());
		snprintf(tmp, sizeof tmp, "%s/.%012lld.%09ld.%010ld", SPOOL_CTL,
		    (long long)ts.tv_sec, (long)ts.tv_nsec, (long)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, SPOOL_CTL_FILE_MODE);
		if (fd >= 0)
			break;
		if (errno != EEXIST || try > 100)
			die(111, "%s: %s%s", tmp, strerror(errno), errno ==
			    EACCES ? " (requests need root, queue_user or "
			    "membership in queue_admin_group)" : errno == ENOENT ?
			    " (a spool from before ctl/: restart tern-start)" : "");
		ts.tv_nsec = (ts.tv_nsec + 1) % 1000000000L;
	}
	if (fchmod(fd, SPOOL_CTL_FILE_MODE) < 0)
		die(111, "%s: %s", tmp, strerror(errno));
	write_all(fd, b->s, b->len, tmp);
	if (close(fd) < 0)
		die(111, "%s: %s", tmp, strerror(errno));
	for (try = 0; link(tmp, name) < 0; try++) {
		if (errno != EEXIST || try > 100) {
			int saved = errno;

			(void)unlink(tmp);
			die(111, "%s: %s", name, strerror(saved));
		}
		ts.tv_nsec = (ts.tv_nsec + 1) % 1000000000L;
		snprintf(name, sizeof name, "%s/%012lld.%09ld.%010ld", SPOOL_CTL,
		    (long long)ts.tv_sec, (long)ts.tv_nsec, (long)getpid());
	}
	if (unlink(tmp) < 0)
		die(111, "%s: %s", tmp, strerror(errno));
	if (!wake('N'))
		fprintf(stderr, "tern-queue: tern-queued is not running; "
		    "the request waits in %s/\n", SPOOL_CTL);
}

/* 1 if mess/ID is there; else says so on stderr and 0. */
static int
in_queue(const char *id)
{
	char path[64];

	snprintf(path, sizeof path, "mess/%s", id);
	if (access(path, F_OK) == 0)
		return 1;
	if (errno != ENOENT)
		die(111, "%s: %s", id, strerror(errno));
	fflush(stdout);
	fprintf(stderr, "tern-queue: %s: not in the queue\n", id);
	return 0;
}

/*
 * One request file for the command: a line per id that is in the queue,
 * or one line for ALL, DEFERRED or @DOMAIN (tern-queued picks the
 * messages, so nothing it does not know is named).  0 done, 1 some id
 * was not in the queue.
 */
static int
requests(char **ids, int n, const char *what, const char *target)
{
	struct buf b = BUF_INIT;
	size_t nall, i;
	char **all;
	int r = 0, k, made = 0;

	if (target != NULL) {
		if (buf_catf(&b, "%s %s\n", what, target) < 0)
			die(111, "out of memory");
		/* an empty queue is said, as for the ids below */
		all = ids_in("mess", &nall);
		for (i = 0; i < nall; i++)
			free(all[i]);
		free(all);
		if (nall == 0 && target[0] != '@' && strcmp(what, "flush")) {
			printf("Mail queue is empty\n");
			buf_free(&b);
			return 0;
		}
		submit(&b);
		if (strcmp(target, "ALL") == 0 && strcmp(what, "flush") == 0)
			printf("flush requested\n");
		else if (strcmp(target, "ALL") == 0)
			printf("%s of all messages requested\n", what);
		else if (strcmp(target, "DEFERRED") == 0)
			printf("%s of all deferred messages requested\n", what);
		else
			printf("%s of domain %s requested\n", what, target + 1);
		buf_free(&b);
		return 0;
	}
	if (n > SPOOL_CTL_LINES_MAX)
		die(100, "at most %d ids at a time", SPOOL_CTL_LINES_MAX);
	for (k = 0; k < n; k++) {
		if (!in_queue(ids[k])) {
			r = 1;
			continue;
		}
		if (buf_catf(&b, "%s %s\n", what, ids[k]) < 0)
			die(111, "out of memory");
		made++;
	}
	if (made)
		submit(&b);
	for (k = 0; made && k < n; k++)
		if (strstr(b.s, ids[k]) != NULL)
			printf("%s: %s requested\n", ids[k], what);
	buf_free(&b);
	return r;
}

/* A queue id from the command line, in either case, made upper case in
 * place (the form of file names and logs); ALL is left alone. */
static void
check_id(char *id)
{
	size_t i;

	if (str_caseeq(id, "ALL")) {
		memcpy(id, "ALL", 3);
		return;
	}
	for (i = 0; id[i]; i++)
		if (id[i] >= 'a' && id[i] <= 'f')
			id[i] = (char)(id[i] - 'a' + 'A');
	if (!qid_valid(id))
		die(100, "%s: not a queue id", id);
}

/* chdir into the spool; when that is not allowed, say who may. */
static void
enter_spool(void)
{
	const char *spool = cfg_str(spool_dir);
	struct stat st;
	struct group *g;
	char gname[64];

	if (chdir(spool) == 0)
		return;
	if (errno != EACCES)
		die(111, "%s: %s", spool, strerror(errno));
	if (stat(spool, &st) < 0)
		die(111, "%s: %s", spool, strerror(errno));
	if ((g = getgrgid(st.st_gid)) != NULL)
		snprintf(gname, sizeof gname, "%s", g->gr_name);
	else
		snprintf(gname, sizeof gname, "%lu", (unsigned long)st.st_gid);
	die(111, "%s: %s: tern-queue needs root, queue_user %s or membership "
	    "in group %s (queue_admin_group %s%s)", spool, strerror(EACCES),
	    cfg_str(queue_user), gname, cfg_str(queue_admin_group),
	    getgrnam(cfg_str(queue_admin_group)) ? "" : ", which does not "
	    "exist: the spool has the group of queue_user");
}

/* A domain for flush -d: what spool_req_parse takes (checked there too). */
static const char *
domain_target(const char *d, char *out, size_t outsz)
{
	struct spool_req rq;
	const char *why;
	char line[SPOOL_CTL_LINE_MAX + 1];

	if (snprintf(line, sizeof line, "flush @%s", d) >= (int)sizeof line ||
	    spool_req_parse(line, strlen(line), &rq, &why) <= 0)
		die(100, "%s: not a domain name", d);
	snprintf(out, outsz, "@%s", rq.domain);
	return out;
}

int
main(int argc, char **argv)
{
	static const char *const req[] = { "flush", "hold", "release",
	    "delete", "bounce", NULL };
	const char *dir = cfg_take_dir(&argc, argv), *cmd = NULL;
	const char *target = NULL, *opt = NULL, *domain = NULL;
	char err[512], dom[SPOOL_DOMAIN_MAX + 2], **ids;
	int i, n = 0, r = -1, isreq = 0;

	log_init("tern-queue", LOG_TO_STDERR, 0);
	if (startup_want_version(argc, argv))
		startup_version("tern-queue");
	/* the command, its ids and options, and --json anywhere */
	if ((ids = calloc((size_t)argc, sizeof *ids)) == NULL)
		die(111, "out of memory");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc && !opt)
			opt = argv[i], domain = argv[++i];
		else if ((strcmp(argv[i], "-all") == 0 ||
		    strcmp(argv[i], "-all-deferred") == 0) && !opt)
			opt = argv[i];
		else if (argv[i][0] == '-')
			usage();
		else if (cmd == NULL)
			cmd = argv[i];
		else
			ids[n++] = argv[i];
	}
	if (cmd == NULL)
		usage();
	for (i = 0; req[i]; i++)
		isreq |= strcmp(cmd, req[i]) == 0;
	/* an option belongs to one command and stands alone */
	if (opt != NULL && (n > 0 || (strcmp(opt, "-d") == 0 ?
	    strcmp(cmd, "flush") : strcmp(opt, "-all") == 0 ?
	    strcmp(cmd, "hold") && strcmp(cmd, "release") :
	    strcmp(cmd, "delete"))))
		usage();
	for (i = 0; i < n; i++)
		check_id(ids[i]);
	/* ALL only alone, and not for show */
	for (i = 0; i < n; i++)
		if (strcmp(ids[i], "ALL") == 0 && (n > 1 || !isreq))
			usage();
	if (opt != NULL)
		target = domain ? domain_target(domain, dom, sizeof dom) :
		    strcmp(opt, "-all") == 0 ? "ALL" : "DEFERRED";
	else if (n == 1 && strcmp(ids[0], "ALL") == 0)
		target = "ALL";
	else if (n == 0 && strcmp(cmd, "flush") == 0)
		target = "ALL";
	if (cfg_load(dir, err, sizeof err) < 0)
		die(111, "%s", err);
	enter_spool();
	if (strcmp(cmd, "list") == 0 && n == 0 && !opt)
		r = cmd_list();
	else if (strcmp(cmd, "show") == 0 && n == 1 && !opt)
		r = cmd_show(ids[0]);
	else if (strcmp(cmd, "stats") == 0 && n == 0 && !opt)
		r = cmd_stats();
	else if (isreq && !json && (n > 0 || target != NULL))
		r = requests(ids, n, cmd, target);
	if (r < 0)
		usage();
	free(ids);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(111, "writing output: %s", strerror(errno));
	return r;
}
