/*
 * queue_stats.c: tern-queue stats: counts per state and per destination
 * domain, the oldest message, the total size, and what could not be read
 * (never a silent 0).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/str.h"
#include "mail/addr.h"
#include "queue/qfile.h"
#include "queue.h"

/* Messages in corrupt/ (a message's state file there, ID.state, is not
 * counted again).  -1 when it cannot be read (errno set). */
static long
count_corrupt(void)
{
	DIR *d = opendir("corrupt");
	struct dirent *de;
	long n = 0;
	size_t len;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;  /* ENOENT: an older spool */
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || (len > 6 &&
		    strcmp(de->d_name + len - 6, ".state") == 0))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

struct dom {
	char *name;
	char st;        /* 'p' pending, 'd' deferred, 'f' failed */
};

static int
cmp_dom(const void *a, const void *b)
{
	return strcmp(((const struct dom *)a)->name,
	    ((const struct dom *)b)->name);
}

struct stats {
	size_t msgs, held, corrupt, pend, defer, failed, done;
	unsigned long long size;
	struct dom *dom;
	size_t ndom, domcap;
	char oldest[QID_SIZE];
	time_t first;
};

static void
stats_rcpt(struct stats *t, const struct qrcpt *r)
{
	char st;

	if (r->st == RS_DONE) {
		t->done++;
		return;
	}
	if (r->st == RS_FAILED || r->st == RS_BOUNCED)
		t->failed++, st = 'f';
	else if (r->attempts)
		t->defer++, st = 'd';
	else
		t->pend++, st = 'p';
	if (t->ndom == t->domcap && (t->dom = realloc(t->dom,
	    (t->domcap = t->domcap * 2 + 64) * sizeof *t->dom)) == NULL)
		die(111, "out of memory");
	if ((t->dom[t->ndom].name = strdup(addr_domain(r->addr))) == NULL)
		die(111, "out of memory");
	str_lower(t->dom[t->ndom].name, strlen(t->dom[t->ndom].name));
	t->dom[t->ndom++].st = st;
}

/* The per-domain counts, one callback per domain (sorted). */
static void
stats_domains(struct stats *t, void (*fn)(const char *, size_t[3], int))
{
	size_t i = 0, j, c[3];

	if (t->ndom)
		qsort(t->dom, t->ndom, sizeof *t->dom, cmp_dom);
	while (i < t->ndom) {
		c[0] = c[1] = c[2] = 0;
		for (j = i; j < t->ndom && strcmp(t->dom[j].name,
		    t->dom[i].name) == 0; j++)
			c[t->dom[j].st == 'p' ? 0 : t->dom[j].st == 'd' ? 1 : 2]++;
		fn(t->dom[i].name, c, i == 0);
		i = j;
	}
	for (i = 0; i < t->ndom; i++)
		free(t->dom[i].name);
	free(t->dom);
}

static void
dom_json(const char *d, size_t c[3], int first)
{
	if (!first)
		putchar(',');
	printf("{\"domain\":");
	jstr(d);
	printf(",\"pending\":%zu,\"deferred\":%zu,\"failed\":%zu}", c[0],
	    c[1], c[2]);
}

static void
dom_text(const char *d, size_t c[3], int first)
{
	char s[1100];

	if (first)
		printf("domains:\n");
	printf("    %s pending=%zu deferred=%zu failed=%zu\n",
	    d[0] ? safe(d, s, sizeof s) : "(none)", c[0], c[1], c[2]);
}

int
cmd_stats(void)
{
	struct stats t;
	size_t n, i, j;
	char **ids = ids_in("mess", &n);
	long cor = count_corrupt();
	int cor_errno = errno;
	time_t now = time(NULL);
	struct msg m;

	memset(&t, 0, sizeof t);
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof m);
		if (load(ids[i], &m) == 0)
			goto next;
		t.msgs++;
		if (m.err[0]) {
			t.corrupt++;
			goto next;
		}
		t.size += m.size;
		t.held += m.e.held != 0;
		if (t.oldest[0] == '\0' || m.e.arrival < t.first)
			t.first = m.e.arrival, memcpy(t.oldest, m.id, QID_SIZE);
		for (j = 0; j < m.e.nrcpt; j++)
			stats_rcpt(&t, &m.e.rcpt[j]);
next:
		qenv_free(&m.e);
		free(ids[i]);
	}
	free(ids);
	if (cor > 0)
		t.corrupt += (size_t)cor;
	if (cor < 0)
		fprintf(stderr, "tern-queue: corrupt/: %s: those files are not "
		    "counted\n", strerror(cor_errno));
	if (json) {
		printf("{\"messages\":%zu,\"held\":%zu,\"corrupt\":", t.msgs,
		    t.held);
		if (cor < 0)
			printf("null,\"corrupt_in_mess\":%zu", t.corrupt);
		else
			printf("%zu", t.corrupt);
		printf(",\"size\":%llu,\"recipients\":{\"pending\":%zu,"
		    "\"deferred\":%zu,\"failed\":%zu,\"delivered\":%zu},"
		    "\"domains\":[", t.size, t.pend, t.defer, t.failed, t.done);
		stats_domains(&t, dom_json);
		printf("],\"unreadable\":[%s],\"oldest\":", cor < 0 ?
		    "\"corrupt/\"" : "");
		if (t.oldest[0])
			printf("{\"id\":\"%s\",\"arrival\":%lld,\"age\":%lld}}\n",
			    t.oldest, (long long)t.first,
			    (long long)(now - t.first));
		else
			printf("null}\n");
		return 0;
	}
	printf("messages: %zu\nheld: %zu\n", t.msgs, t.held);
	if (cor < 0)
		printf("corrupt: unknown (corrupt/: %s; %zu in mess/)\n",
		    strerror(cor_errno), t.corrupt);
	else
		printf("corrupt: %zu\n", t.corrupt);
	printf("size: %llu\nrecipients pending: %zu\nrecipients deferred: %zu\n"
	    "recipients failed: %zu\nrecipients delivered: %zu\n", t.size,
	    t.pend, t.defer, t.failed, t.done);
	if (t.oldest[0])
		printf("oldest: %s age=%llds\n", t.oldest,
		    (long long)(now - t.first));
	stats_domains(&t, dom_text);
	return 0;
}

