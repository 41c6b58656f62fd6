/*
 * fuzz_dns: the answer parsers of lib/net/dns.c on arbitrary bytes:
 * dns_iter_init/dns_iter_next with dns_txt_text on every record,
 * dns_mx_parse (with and without a shuffle) and dns_addr_parse for A
 * and AAAA.  No query is sent.
 */
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned long seed;

static unsigned long
rnd(void)
{
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	return seed >> 17;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct dns_mx mx[DNS_MX_MAX];
	struct dns_addr a[DNS_ADDR_MAX];
	struct dns_iter it;
	struct dns_rr rr;
	char txt[300];
	unsigned count = 0;
	int r, i;

	if (dns_iter_init(&it, data, size) == 1) {
		while ((r = dns_iter_next(&it, &rr)) == 1) {
			if (rr.rdata < data || rr.rdata + rr.rdlen > data + size)
				abort();
			if (dns_txt_text(&rr, txt, sizeof txt) == 1 &&
			    strlen(txt) >= sizeof txt)
				abort();
			dns_txt_text(&rr, txt, 1);
			if (++count > 65535)
				abort();
		}
	}
	seed = size;
	for (i = 0; i < 2; i++) {
		r = dns_mx_parse(data, size, mx, i ? 3 : DNS_MX_MAX,
		    i ? rnd : NULL);
		if (r > (i ? 3 : DNS_MX_MAX))
			abort();
		while (r > 1) {
			r--;
			if (mx[r].pref < mx[r - 1].pref ||
			    strlen(mx[r].host) >= DNS_NAME_MAX)
				abort();
		}
	}
	r = dns_addr_parse(data, size, DNS_T_A, a, DNS_ADDR_MAX);
	if (r > DNS_ADDR_MAX)
		abort();
	r = dns_addr_parse(data, size, DNS_T_AAAA, a, 2);
	if (r > 2)
		abort();
	return 0;
}
