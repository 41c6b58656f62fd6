/*
 * test_dns: the pure parts of lib/net/dns (answer parsing with its bounds,
 * TXT text, DNSBL query names, server addresses).  No query is sent.
 */
#include <arpa/inet.h>
#include <string.h>

#include "net/dns.h"
#include "t.h"

/* An answer for 2.0.0.127.zen.test: one A (127.0.0.2), one TXT in two
 * character-strings, names compressed with a pointer to the question. */
static const unsigned char answer[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
	1, '2', 1, '0', 1, '0', 3, '1', '2', '7', 3, 'z', 'e', 'n',
	4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 127, 0, 0, 2,
	0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 12,
	5, 'h', 'e', 'l', 'l', 'o', 5, ' ', 'w', 'o', 'r', 0x01,
};

static void test_iter(void)
{
	struct dns_iter it;
	struct dns_rr rr;
	char txt[64];

	T_EQ_INT(dns_iter_init(&it, answer, sizeof answer), 1);
	T_EQ_INT(dns_iter_next(&it, &rr), 1);
	T_EQ_INT(rr.type, DNS_T_A);
	T_EQ_INT(rr.cls, DNS_C_IN);
	T_EQ_INT(rr.ttl, 3600);
	T_EQ_MEM(rr.rdata, rr.rdlen, "\x7f\0\0\x02", 4);
	T_EQ_INT(dns_iter_next(&it, &rr), 1);
	T_EQ_INT(rr.type, DNS_T_TXT);
	T_EQ_INT(dns_txt_text(&rr, txt, sizeof txt), 1);
	T_EQ_STR(txt, "hello wor?");
	/* cut to the buffer */
	T_EQ_INT(dns_txt_text(&rr, txt, 4), 1);
	T_EQ_STR(txt, "hel");
	T_EQ_INT(dns_iter_next(&it, &rr), 0);
}

static void test_bad(void)
{
	unsigned char m[sizeof answer];
	struct dns_iter it;
	struct dns_rr rr;
	size_t n;

	/* every truncation is an error or a clean end, never a read past */
	for (n = 0; n < sizeof answer; n++) {
		int r = dns_iter_init(&it, answer, n);

		while (r == 1)
			r = dns_iter_next(&it, &rr);
		T_EQ_INT(r, -1);   /* a short answer never looks complete */
	}
	/* an rdlength past the end */
	memcpy(m, answer, sizeof m);
	m[47] = 200;
	T_EQ_INT(dns_iter_init(&it, m, sizeof m), 1);
	T_EQ_INT(dns_iter_next(&it, &rr), -1);
	/* a reserved label type in the question */
	memcpy(m, answer, sizeof m);
	m[12] = 0x41;
	T_EQ_INT(dns_iter_init(&it, m, sizeof m), -1);
	/* a TXT string longer than its rdata */
	memcpy(m, answer, sizeof m);
	m[sizeof m - 6] = 9;
	T_EQ_INT(dns_iter_init(&it, m, sizeof m), 1);
	T_EQ_INT(dns_iter_next(&it, &rr), 1);
	T_EQ_INT(dns_iter_next(&it, &rr), 1);
	{
		char txt[64];

		T_EQ_INT(dns_txt_text(&rr, txt, sizeof txt), -1);
	}
}

static void test_rev(void)
{
	char out[DNS_NAME_MAX];

	T_EQ_INT(dns_rev_name("127.0.0.2", "zen.test", out, sizeof out), 1);
	T_EQ_STR(out, "2.0.0.127.zen.test");
	T_EQ_INT(dns_rev_name("::ffff:192.0.2.1", "bl.example", out,
	    sizeof out), 1);
	T_EQ_STR(out, "1.2.0.192.bl.example");
	T_EQ_INT(dns_rev_name("2001:db8::1", "bl", out, sizeof out), 1);
	T_EQ_STR(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "8.b.d.0.1.0.0.2.bl");
	T_EQ_INT(dns_rev_name("unknown", "bl", out, sizeof out), 0);
	T_EQ_INT(dns_rev_name("1.2.3.4", "bl", out, 8), -1);
}

static void test_server(void)
{
	struct sockaddr_in sa;

	T_EQ_INT(dns_server_parse("127.0.0.1", &sa), 1);
	T_EQ_INT(ntohs(sa.sin_port), 53);
	T_EQ_INT(dns_server_parse("127.0.0.1:5353", &sa), 1);
	T_EQ_INT(ntohs(sa.sin_port), 5353);
	T_EQ_INT(ntohl(sa.sin_addr.s_addr), 0x7f000001);
	T_EQ_INT(dns_server_parse("127.0.0.1:0", &sa), 0);
	T_EQ_INT(dns_server_parse("127.0.0.1:65536", &sa), 0);
	T_EQ_INT(dns_server_parse("127.0.0.1:", &sa), 0);
	T_EQ_INT(dns_server_parse("localhost", &sa), 0);
	T_EQ_INT(dns_server_parse("::1", &sa), 0);
	T_EQ_INT(dns_server_parse("", &sa), 0);
}

int main(void)
{
	test_iter();
	test_bad();
	test_rev();
	test_server();
	T_DONE();
}
