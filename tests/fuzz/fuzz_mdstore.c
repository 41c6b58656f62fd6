/*
 * fuzz_mdstore: the parsers of tern-imapd's per-folder files in
 * lib/store, which any program with write access to a Maildir can
 * damage: mdc_parse (tern-imapcache) with the stamp of the corpus
 * ("1.2.3.4 5.6.7.8 9.10.11.12") and with another, mdh_head at every
 * offset (tern-imaphdr record heads) and mdh_extract of the input as a
 * header, mdx_parse (tern-imapindex) from the top and as appended
 * records.  Invariants (entries in UID order below UIDNEXT, names
 * inside the buffer and without '/', a head's length bounded, used
 * bytes within the input) abort() when broken.
 */
#include <stdlib.h>
#include <string.h>

#include "store/mdcache.h"
#include "store/mdhdr.h"
#include "store/mdindex.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
cache(const char *t, size_t n)
{
	struct mdc_stamp st;
	struct mdc c = MDC_INIT;
	size_t i;
	int k, r;

	for (k = 0; k < 2; k++) {
		memset(&st, 0, sizeof st);
		if (k == 0) {
			st.ino[0] = 1; st.sec[0] = 2; st.nsec[0] = 3;
			st.size[0] = 4; st.ino[1] = 5; st.sec[1] = 6;
			st.nsec[1] = 7; st.size[1] = 8; st.ino[2] = 9;
			st.sec[2] = 10; st.nsec[2] = 11; st.size[2] = 12;
		}
		r = mdc_parse(t, n, &st, &c);
		if (r < 0)
			abort();
		if (r == 0 && c.n != 0)
			abort();
		for (i = 0; i < c.n; i++) {
			const struct mdc_ent *e = &c.e[i];

			if (e->uid == 0 || e->uid >= c.uidnext ||
			    (i > 0 && e->uid <= c.e[i - 1].uid))
				abort();
			if (e->name + e->len >= c.names.len ||
			    c.names.s[e->name + e->len] != '\0' ||
			    memchr(c.names.s + e->name, '/', e->len) != NULL ||
			    e->baselen > e->len)
				abort();
		}
		mdc_free(&c);
	}
}

static void
hdr(const char *t, size_t n)
{
	struct buf b = BUF_INIT;
	unsigned long uid;
	size_t k, len, hl;

	for (k = 0; k < n && k < 4096; k++) {
		int r = mdh_head(t + k, n - k, &uid, &len, &hl);

		if (r == 1 && (uid == 0 || len > MDH_REC_MAX || hl > n - k ||
		    t[k + hl - 1] != '\n'))
			abort();
	}
	if (mdh_extract(t, n, &b) < 0)
		abort();
	if (b.len < 2 || b.len > n + 2 + n)
		abort();
	buf_free(&b);
}

static void
index_(const char *t, size_t n)
{
	struct mdx x;
	size_t used = 0;
	int top;

	for (top = 0; top < 2; top++) {
		if (mdx_open(&x, "/nonexistent") < 0)
			abort();
		if (mdx_parse(&x, t, n, top, &used) < 0)
			abort();
		if (used > n)
			abort();
		mdx_close(&x);
	}
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *t = malloc(size + 1);

	if (t == NULL)
		return 0;
	memcpy(t, data, size);
	t[size] = '\0';
	cache(t, size);
	hdr(t, size);
	index_(t, size);
	free(t);
	return 0;
}
