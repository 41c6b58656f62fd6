/*
 * fuzz_mdstore: the parsers of tern-imapd's per-folder files in
 * lib/store, which any program with write access to a Maildir can
 * damage: mdc_check and mdc_name (tern-imapcache, binary) with the
 * stamp of the corpus (part k: 1+4k, 2+4k, 3+4k, 4+4k) and with
 * another, mdh_head at every offset (tern-imaphdr record heads) and
 * mdh_extract of the input as a
 * header, mdx_parse (tern-imapindex) from the top and as appended
 * records.  Invariants (entries in UID order below UIDNEXT, names
 * inside the buffer and without '/', a head's length bounded, used
 * bytes within the input) abort() when broken.
 */
#include <stdint.h>
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
	struct mdc_map m;
	uint64_t *copy;
	unsigned long prev;
	size_t i;
	int k, r;

	/* mmap'd at a page in real use: 8-byte aligned here */
	copy = malloc(n + 8);
	if (copy == NULL)
		return;
	memcpy(copy, t, n);
	for (k = 0; k < 2; k++) {
		memset(&st, 0, sizeof st);
		st.have = (1U << MDC_PARTS) - 1;
		if (k == 0)
			for (i = 0; i < MDC_PARTS; i++) {
				st.ino[i] = 1 + 4 * i;
				st.sec[i] = 2 + 4 * i;
				st.nsec[i] = 3 + 4 * i;
				st.size[i] = 4 + 4 * i;
			}
		r = mdc_check(copy, n, &st, &m);
		if (r != 0 && r != 1)
			abort();
		if (r == 0)
			continue;
		if ((const char *)m.names + m.h->names_len !=
		    (const char *)copy + n)
			abort();
		prev = 0;
		for (i = 0; i < m.h->n; i++) {
			const char *name = mdc_name(&m, i, prev);

			if (name == NULL)
				break;
			if (m.r[i].uid <= prev || m.r[i].uid >= m.h->uidnext ||
			    name < m.names ||
			    name + m.r[i].len >= m.names + m.h->names_len ||
			    name[m.r[i].len] != '\0' ||
			    strlen(name) != m.r[i].len ||
			    memchr(name, '/', m.r[i].len) != NULL ||
			    m.r[i].baselen > m.r[i].len)
				abort();
			prev = m.r[i].uid;
		}
	}
	free(copy);
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
