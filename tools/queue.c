/*
 * tern-queue: look at the queue and ask tern-queued to act on it.
 *
 * list, show and stats only read mess/, state/ and corrupt/ (a member of
 * the queue's group can run them; nothing is written, nothing locked).
 * flush, hold, release, delete and bounce never touch a message: they
 * leave a request in todo/ and wake tern-queued through the trigger FIFO,
 * because tern-queued is the one writer of state/ and mess/ removal
 * (doc/DESIGN.md "The queue"):
 *   flush ID     todo/ID          attempt ID's deferred recipients now
 *   flush        todo/ALL.flush   and a byte "F": every message now
 *   hold ID      todo/ID.hold     and release, delete, bounce likewise
 * The request commands take several ids, or ALL (every message in
 * mess/); ids are accepted in either case.  --json may stand anywhere.
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
#include "mail/hdr.h"
#include "daemon/cfg.h"
#include "daemon/startup.h"
#include "queue/qfile.h"
#include "queue/qid.h"

#define STATE_MAX (8 * 1024 * 1024)  /* > QFILE_RCPT_MAX full lines */
#define SHOW_HEADER_MAX 65536        /* header bytes shown by "show" */

struct msg {
	char id[QID_SIZE];
	struct qenv e;
	unsigned long long size;    /* message bytes, without the envelope */
	char err[160];              /* non-empty: the file is corrupt */
};

static int json;

static void die(int, const char *, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void
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
	    " | flush [ID... | ALL] | hold|release|delete|bounce ID... | ALL;"
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
static void
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
static const char *
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
static int
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
static char **
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

static void
rcpt_text(const struct qrcpt *r, int all)
{
	char a[1100], t[1700], w[32];

	printf("    %-9s <%s>", state_name(r), safe(r->addr, a, sizeof a));
	if (r->attempts)
		printf(" attempts=%u", r->attempts);
	if (r->st == RS_PENDING && r->next)
		printf(" next=%s", when(r->next, w, sizeof w));
	if (all && r->last)
		printf(" last=%s", when(r->last, w, sizeof w));
	putchar('\n');
	if (r->text[0])
		printf("              %s\n", safe(r->text, t, sizeof t));
}

static void
rcpt_json(const struct qrcpt *r)
{
	printf("{\"address\":");
	jstr(r->addr);
	printf(",\"state\":\"%s\",\"attempts\":%u,\"next\":%lld,\"last\":%lld,"
	    "\"result\":", state_name(r), r->attempts, (long long)r->next,
	    (long long)r->last);
	jstr(r->text);
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
	e->client_ip ? jstr(e->client_ip) : (void)printf("null");
	printf(",\"helo\":");
	e->helo ? jstr(e->helo) : (void)printf("null");
	printf(",\"held\":%s,\"recipients\":[", e->held ? "true" : "false");
	for (i = 0; i < e->nrcpt; i++) {
		if (!all && e->rcpt[i].st == RS_DONE)
			continue;
		if (!first)
			putchar(',');
		first = 0;
		rcpt_json(&e->rcpt[i]);
	}
	putchar(']');
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
		printf("held: %s\nrecipients:\n", m.e.held ? "yes" : "no");
		for (i = 0; i < m.e.nrcpt; i++)
			rcpt_text(&m.e.rcpt[i], 1);
		headers(&m, header_text, &first);
	}
	qenv_free(&m.e);
	return 0;
}

/* ---- stats ---- */

/* Entries of dir that are not hidden (corrupt/ may hold any name). */
static size_t
count_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL && errno == EACCES) {
		/* a member of the queue's group: corrupt/ is 0700 */
		fprintf(stderr, "tern-queue: %s/: %s: not counted\n", dir,
		    strerror(errno));
		return 0;
	}
	if (d == NULL)
		return 0;   /* an older spool without corrupt/ */
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
cmd_stats(void)
{
	size_t n, i, j, msgs = 0, held = 0, corrupt = count_in("corrupt");
	size_t pend = 0, defer = 0, failed = 0, done = 0;
	char **ids = ids_in("mess", &n), oldest[QID_SIZE] = "";
	time_t first = 0, now = time(NULL);
	struct msg m;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof m);
		if (load(ids[i], &m) == 0)
			goto next;
		msgs++;
		if (m.err[0]) {
			corrupt++;
			goto next;
		}
		held += m.e.held != 0;
		if (oldest[0] == '\0' || m.e.arrival < first)
			first = m.e.arrival, memcpy(oldest, m.id, QID_SIZE);
		for (j = 0; j < m.e.nrcpt; j++) {
			const struct qrcpt *r = &m.e.rcpt[j];

			if (r->st == RS_DONE)
				done++;
			else if (r->st == RS_FAILED || r->st == RS_BOUNCED)
				failed++;
			else if (r->attempts)
				defer++;
			else
				pend++;
		}
next:
		qenv_free(&m.e);
		free(ids[i]);
	}
	free(ids);
	if (json) {
		printf("{\"messages\":%zu,\"held\":%zu,\"corrupt\":%zu,"
		    "\"recipients\":{\"pending\":%zu,\"deferred\":%zu,"
		    "\"failed\":%zu,\"delivered\":%zu},\"oldest\":", msgs,
		    held, corrupt, pend, defer, failed, done);
		if (oldest[0])
			printf("{\"id\":\"%s\",\"arrival\":%lld,\"age\":%lld}}\n",
			    oldest, (long long)first, (long long)(now - first));
		else
			printf("null}\n");
		return 0;
	}
	printf("messages: %zu\nheld: %zu\ncorrupt: %zu\n"
	    "recipients pending: %zu\nrecipients deferred: %zu\n"
	    "recipients failed: %zu\nrecipients delivered: %zu\n", msgs, held,
	    corrupt, pend, defer, failed, done);
	if (oldest[0])
		printf("oldest: %s age=%llds\n", oldest,
		    (long long)(now - first));
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

/* todo/ID (flush) or todo/ID.WHAT for a message in the queue (a valid
 * id, upper case).  0 done, 1 not in the queue (said on stderr). */
static int
request(const char *id, const char *what)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "mess/%s", id);
	if (access(path, F_OK) < 0) {
		if (errno != ENOENT)
			die(111, "%s: %s", id, strerror(errno));
		fflush(stdout);
		fprintf(stderr, "tern-queue: %s: not in the queue\n", id);
		return 1;
	}
	snprintf(path, sizeof path, "todo/%s%s%s", id, what ? "." : "",
	    what ? what : "");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || close(fd) < 0)
		die(111, "%s: %s", path, strerror(errno));
	printf("%s: %s requested\n", id, what ? what : "flush");
	return 0;
}

/* One request for each id (ALL: every message in the queue), then one
 * wake-up.  0 done, 1 some id was not in the queue. */
static int
requests(char **ids, int n, const char *what)
{
	char **all = NULL;
	size_t nall = 0, i, made = 0;
	int r = 0, k;

	if (n == 1 && strcmp(ids[0], "ALL") == 0) {
		all = ids_in("mess", &nall);
		for (i = 0; i < nall; i++) {
			/* one that left since the listing is no error */
			made += request(all[i], what) == 0;
			free(all[i]);
		}
		free(all);
		if (nall == 0)
			printf("Mail queue is empty\n");
	} else
		for (k = 0; k < n; k++) {
			int q = request(ids[k], what);

			r |= q;
			made += q == 0;
		}
	if (made && !wake('N'))
		fprintf(stderr, "tern-queue: tern-queued is not running; "
		    "the requests wait in todo/\n");
	return r;
}

/* todo/ALL.flush and a byte "F": either alone asks for the flush; the
 * file keeps the request while tern-queued is not running. */
static int
flush_all(void)
{
	int fd = open("todo/ALL.flush", O_WRONLY | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0 || close(fd) < 0)
		die(111, "todo/ALL.flush: %s", strerror(errno));
	if (!wake('F'))
		fprintf(stderr, "tern-queue: tern-queued is not running; "
		    "the request waits in todo/\n");
	printf("flush requested\n");
	return 0;
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
	die(111, "%s: %s: reading the queue needs root or membership in "
	    "group %s (the group of queue_user %s); request commands need "
	    "root or queue_user", spool, strerror(EACCES), gname,
	    cfg_str(queue_user));
}

int
main(int argc, char **argv)
{
	static const char *const req[] = { "hold", "release", "delete",
	    "bounce", NULL };
	const char *dir = cfg_take_dir(&argc, argv), *cmd = NULL;
	char err[512], **ids;
	int i, n = 0, r = -1;

	log_init("tern-queue", LOG_TO_STDERR, 0);
	if (startup_want_version(argc, argv))
		startup_version("tern-queue");
	/* the command, its ids, and --json anywhere */
	if ((ids = calloc((size_t)argc, sizeof *ids)) == NULL)
		die(111, "out of memory");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-')
			usage();
		else if (cmd == NULL)
			cmd = argv[i];
		else
			ids[n++] = argv[i];
	}
	if (cmd == NULL)
		usage();
	for (i = 0; i < n; i++)
		check_id(ids[i]);
	/* ALL only alone, and not for show */
	for (i = 0; i < n; i++)
		if (strcmp(ids[i], "ALL") == 0 && (n > 1 ||
		    strcmp(cmd, "show") == 0))
			usage();
	if (cfg_load(dir, err, sizeof err) < 0)
		die(111, "%s", err);
	enter_spool();
	if (strcmp(cmd, "list") == 0 && n == 0)
		r = cmd_list();
	else if (strcmp(cmd, "show") == 0 && n == 1)
		r = cmd_show(ids[0]);
	else if (strcmp(cmd, "stats") == 0 && n == 0)
		r = cmd_stats();
	else if (strcmp(cmd, "flush") == 0 && !json)
		r = n == 0 || strcmp(ids[0], "ALL") == 0 ? flush_all() :
		    requests(ids, n, NULL);
	for (i = 0; r < 0 && req[i]; i++)
		if (strcmp(cmd, req[i]) == 0 && n > 0 && !json)
			r = requests(ids, n, req[i]);
	if (r < 0)
		usage();
	free(ids);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(111, "writing output: %s", strerror(errno));
	return r;
}
