/*
 * test_dns: the pure parts of lib/net/dns (answer parsing with its bounds,
 * TXT text, DNSBL query names, server addresses, MX and address records
 * from answers built by hand), dns_resolv_conf = no, and dns_query,
 * dns_mx and dns_addrs against a tiny DNS responder on 127.0.0.1 that
 * this test forks (never the machine's resolver).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/cfg.h"
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

/* --- answers built by hand */

struct msg {
	unsigned char b[DNS_MSG_MAX];
	size_t n;
	size_t an_at;        /* offset of the answer section */
};

static void
put8(struct msg *m, unsigned v)
{
	if (m->n < sizeof m->b)
		m->b[m->n++] = (unsigned char)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8 & 0xff);
	put8(m, v & 0xff);
}

/* "a.b.c" as labels; "" or "." is the root. */
static void
put_name(struct msg *m, const char *name)
{
	while (*name != '\0' && strcmp(name, ".") != 0) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name), i;

		put8(m, (unsigned)l);
		for (i = 0; i < l; i++)
			put8(m, (unsigned char)name[i]);
		name += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

/* A response header and question for qname/qtype, ancount records. */
static void
msg_start(struct msg *m, const char *qname, unsigned qtype, unsigned an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, DNS_C_IN);
	m->an_at = m->n;
}

/* An RR owned by the question's name (pointer to offset 12). */
static void
rr_start(struct msg *m, unsigned type, unsigned rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, DNS_C_IN);
	put16(m, 0);
	put16(m, 300);
	put16(m, rdlen);
}

static size_t
name_len(const char *name)
{
	struct msg t;

	t.n = 0;
	put_name(&t, name);
	return t.n;
}

static void
add_mx(struct msg *m, unsigned pref, const char *host)
{
	rr_start(m, DNS_T_MX, 2 + (unsigned)name_len(host));
	put16(m, pref);
	put_name(m, host);
}

static void
add_addr(struct msg *m, int type, const char *text)
{
	unsigned char a[16];
	size_t l = type == DNS_T_A ? 4 : 16, i;

	if (inet_pton(type == DNS_T_A ? AF_INET : AF_INET6, text, a) != 1)
		abort();
	rr_start(m, (unsigned)type, (unsigned)l);
	for (i = 0; i < l; i++)
		put8(m, a[i]);
}

static void
add_cname(struct msg *m, const char *target)
{
	rr_start(m, 5, (unsigned)name_len(target));
	put_name(m, target);
}

/* A deterministic "random" source: a fixed sequence. */
static unsigned long rnd_seq[8];
static size_t rnd_i;
static unsigned long
rnd_fixed(void)
{
	return rnd_seq[rnd_i++ % 8];
}

static void
test_mx(void)
{
	struct msg m;
	struct dns_mx mx[DNS_MX_MAX];
	size_t i;

	/* sorted by preference, lower case, CNAME skipped */
	msg_start(&m, "example.test", DNS_T_MX, 5);
	add_cname(&m, "other.test");
	add_mx(&m, 20, "MX3.Example.TEST");
	add_mx(&m, 10, "mx1.example.test");
	add_mx(&m, 10, "mx2.example.test");
	add_mx(&m, 5, "mx0.example.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), 4);
	T_EQ_INT(mx[0].pref, 5);
	T_EQ_STR(mx[0].host, "mx0.example.test");
	T_EQ_INT(mx[1].pref, 10);
	T_EQ_STR(mx[1].host, "mx1.example.test");   /* the answer's order */
	T_EQ_STR(mx[2].host, "mx2.example.test");
	T_EQ_INT(mx[3].pref, 20);
	T_EQ_STR(mx[3].host, "mx3.example.test");
	/* equal preferences shuffled by rnd: 0 swaps the two (j = 0 for
	 * i = 2), 1 keeps them */
	rnd_i = 0;
	memset(rnd_seq, 0, sizeof rnd_seq);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, rnd_fixed), 4);
	T_EQ_STR(mx[0].host, "mx0.example.test");
	T_EQ_STR(mx[1].host, "mx2.example.test");
	T_EQ_STR(mx[2].host, "mx1.example.test");
	T_EQ_STR(mx[3].host, "mx3.example.test");
	T_EQ_INT(rnd_i, 1);   /* one group of two: one draw */
	rnd_i = 0;
	rnd_seq[0] = 1;
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, rnd_fixed), 4);
	T_EQ_STR(mx[1].host, "mx1.example.test");
	T_EQ_STR(mx[2].host, "mx2.example.test");

	/* three equal: the shuffle is a permutation of the three */
	msg_start(&m, "example.test", DNS_T_MX, 3);
	add_mx(&m, 0, "a.test");
	add_mx(&m, 0, "b.test");
	add_mx(&m, 0, "c.test");
	rnd_i = 0;
	rnd_seq[0] = 0;   /* i = 3: j = 0, swap a and c: c b a */
	rnd_seq[1] = 0;   /* i = 2: j = 0, swap c and b: b c a */
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, rnd_fixed), 3);
	T_EQ_STR(mx[0].host, "b.test");
	T_EQ_STR(mx[1].host, "c.test");
	T_EQ_STR(mx[2].host, "a.test");

	/* trailing dot: an absolute name has none in text */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	add_mx(&m, 1, "mx.example.test.");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), 1);
	T_EQ_STR(mx[0].host, "mx.example.test");

	/* a target compressed against the question */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 2 + 5);
	put16(&m, 7);
	put8(&m, 2);
	put8(&m, 'm');
	put8(&m, 'x');
	put16(&m, 0xc00c);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), 1);
	T_EQ_INT(mx[0].pref, 7);
	T_EQ_STR(mx[0].host, "mx.example.test");

	/* more than max: the highest preference values are dropped */
	msg_start(&m, "example.test", DNS_T_MX, 5);
	add_mx(&m, 50, "e.test");
	add_mx(&m, 10, "a.test");
	add_mx(&m, 40, "d.test");
	add_mx(&m, 20, "b.test");
	add_mx(&m, 30, "c.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 2, NULL), 2);
	T_EQ_STR(mx[0].host, "a.test");
	T_EQ_STR(mx[1].host, "b.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 0, NULL), 0);

	/* no MX at all (only other types) */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	add_cname(&m, "x.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), 0);
	msg_start(&m, "example.test", DNS_T_MX, 0);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), 0);

	/* MX_MAX records kept, of more */
	msg_start(&m, "example.test", DNS_T_MX, DNS_MX_MAX + 3);
	for (i = 0; i < DNS_MX_MAX + 3; i++) {
		char h[32];

		snprintf(h, sizeof h, "h%zu.test", i);
		add_mx(&m, (unsigned)(DNS_MX_MAX + 3 - i), h);
	}
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, DNS_MX_MAX, NULL), DNS_MX_MAX);
	T_EQ_INT(mx[0].pref, 1);
	T_EQ_STR(mx[0].host, "h34.test");
	T_EQ_INT(mx[DNS_MX_MAX - 1].pref, DNS_MX_MAX);
}

static void
test_null_mx(void)
{
	struct msg m;
	struct dns_mx mx[4];

	mx[0].pref = 99;
	msg_start(&m, "nomail.test", DNS_T_MX, 1);
	add_mx(&m, 0, ".");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), 1);
	T_EQ_INT(mx[0].pref, 0);
	T_EQ_STR(mx[0].host, "");
	/* a root target among usable ones is left out */
	msg_start(&m, "nomail.test", DNS_T_MX, 2);
	add_mx(&m, 0, ".");
	add_mx(&m, 10, "mx.nomail.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), 1);
	T_EQ_STR(mx[0].host, "mx.nomail.test");
	/* only root targets, whatever the preference: null MX */
	msg_start(&m, "nomail.test", DNS_T_MX, 1);
	add_mx(&m, 10, ".");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), 1);
	T_EQ_STR(mx[0].host, "");
	T_EQ_INT(mx[0].pref, 0);
}

static void
test_mx_bad(void)
{
	struct msg m, t;
	struct dns_mx mx[4];
	size_t n;

	/* every truncation: -1, never a read past (ASan checks) */
	msg_start(&m, "example.test", DNS_T_MX, 2);
	add_mx(&m, 10, "mx1.example.test");
	add_mx(&m, 20, "mx2.example.test");
	for (n = 0; n < m.n; n++)
		T_EQ_INT(dns_mx_parse(m.b, n, mx, 4, NULL), -1);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), 2);

	/* rdata too short for a preference and a name */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 2);
	put16(&m, 10);
	errno = 0;
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	T_EQ_INT(errno, EINVAL);
	/* the name runs past its rdlength, or stops short of it */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 5);
	put16(&m, 10);
	put_name(&m, "mx.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 2 + 9 + 1);
	put16(&m, 10);
	put_name(&m, "mx.test");
	put8(&m, 0);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a pointer loop in the target */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 4);
	put16(&m, 10);
	put16(&m, 0xc000 | (unsigned)m.n);   /* points at itself */
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a pointer past the end */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 4);
	put16(&m, 10);
	put16(&m, 0xc000 | 0x3fff);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a reserved label type */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 4);
	put16(&m, 10);
	put8(&m, 0x41);
	put8(&m, 0);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a name that grows past 255 bytes through a pointer loop */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	{
		size_t first, j;

		rr_start(&m, DNS_T_MX, 2 + 64 + 2);
		put16(&m, 10);
		first = m.n;
		put8(&m, 63);
		for (j = 0; j < 63; j++)
			put8(&m, 'a');
		put16(&m, 0xc000 | (unsigned)first);   /* a loop that grows */
	}
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a target that is no host name is skipped ... */
	msg_start(&m, "example.test", DNS_T_MX, 2);
	add_mx(&m, 10, "b@d.test");
	add_mx(&m, 20, "good.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), 1);
	T_EQ_STR(mx[0].host, "good.test");
	/* ... but when all are such, that is no "no MX" */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	add_mx(&m, 10, "b d.test");
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a '.' inside a label, a NUL, a byte over 0x7f */
	msg_start(&m, "example.test", DNS_T_MX, 1);
	rr_start(&m, DNS_T_MX, 2 + 5);
	put16(&m, 10);
	put8(&m, 3);
	put8(&m, 'a');
	put8(&m, '.');
	put8(&m, 0xc3);
	put8(&m, 0);
	T_EQ_INT(dns_mx_parse(m.b, m.n, mx, 4, NULL), -1);
	/* a bad answer record elsewhere in the message */
	msg_start(&m, "example.test", DNS_T_MX, 2);
	add_mx(&m, 10, "mx.test");
	t = m;
	rr_start(&t, DNS_T_A, 200);
	T_EQ_INT(dns_mx_parse(t.b, t.n, mx, 4, NULL), -1);
}

static void
test_addr(void)
{
	struct msg m;
	struct dns_addr a[DNS_ADDR_MAX];
	char text[INET6_ADDRSTRLEN];
	size_t n;

	msg_start(&m, "mx.test", DNS_T_A, 4);
	add_cname(&m, "real.test");
	add_addr(&m, DNS_T_A, "192.0.2.1");
	add_addr(&m, DNS_T_AAAA, "2001:db8::1");   /* not the type asked */
	add_addr(&m, DNS_T_A, "192.0.2.2");
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_A, a, DNS_ADDR_MAX), 2);
	T_EQ_INT(a[0].family, AF_INET);
	T_EQ_STR(inet_ntop(AF_INET, a[0].a, text, sizeof text), "192.0.2.1");
	T_EQ_STR(inet_ntop(AF_INET, a[1].a, text, sizeof text), "192.0.2.2");
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_AAAA, a, DNS_ADDR_MAX), 1);
	T_EQ_INT(a[0].family, AF_INET6);
	T_EQ_STR(inet_ntop(AF_INET6, a[0].a, text, sizeof text),
	    "2001:db8::1");
	/* at most max */
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_A, a, 1), 1);
	T_EQ_STR(inet_ntop(AF_INET, a[0].a, text, sizeof text), "192.0.2.1");
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_A, a, 0), 0);
	/* other types are a bad argument */
	errno = 0;
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_MX, a, DNS_ADDR_MAX), -1);
	T_EQ_INT(errno, EINVAL);
	/* truncations */
	for (n = 0; n < m.n; n++)
		T_EQ_INT(dns_addr_parse(m.b, n, DNS_T_A, a, DNS_ADDR_MAX), -1);
	/* an A record of 5 bytes, an AAAA of 4 */
	msg_start(&m, "mx.test", DNS_T_A, 1);
	rr_start(&m, DNS_T_A, 5);
	put16(&m, 0);
	put16(&m, 0);
	put8(&m, 0);
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_A, a, DNS_ADDR_MAX), -1);
	msg_start(&m, "mx.test", DNS_T_AAAA, 1);
	rr_start(&m, DNS_T_AAAA, 4);
	put16(&m, 0);
	put16(&m, 0);
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_AAAA, a, DNS_ADDR_MAX), -1);
	/* a bad record after max was reached is still an error */
	msg_start(&m, "mx.test", DNS_T_A, 2);
	add_addr(&m, DNS_T_A, "192.0.2.1");
	rr_start(&m, DNS_T_A, 3);
	put16(&m, 0);
	put8(&m, 0);
	T_EQ_INT(dns_addr_parse(m.b, m.n, DNS_T_A, a, 1), -1);
}

/* --- configuration and queries */

static char confdir[64];

static int
load_conf(const char *text)
{
	char p[128], err[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/tern.conf", confdir);
	f = fopen(p, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(p);
		return 0;
	}
	if (cfg_load(confdir, err, sizeof err) != 1) {
		printf("cfg_load: %s\n", err);
		return 0;
	}
	return 1;
}

static void
test_off(void)
{
	char err[256];
	unsigned char ans[512];
	struct dns_mx mx[2];
	struct dns_addr a[2];
	size_t len;

	T_EQ_INT(dns_enabled(), 0);   /* before dns_init */
	if (!T_CHECK(load_conf("dns_resolv_conf = no\n")))
		return;
	T_EQ_INT(dns_init(err, sizeof err), 1);
	T_EQ_INT(dns_enabled(), 0);
	errno = 0;
	T_EQ_INT(dns_query("example.test", DNS_T_MX, ans, sizeof ans, &len),
	    -1);
	T_EQ_INT(errno, ENETUNREACH);
	errno = 0;
	T_EQ_INT(dns_mx("example.test", mx, 2, NULL), -1);
	T_EQ_INT(errno, ENETUNREACH);
	errno = 0;
	T_EQ_INT(dns_addrs("example.test", AF_UNSPEC, a, 2), -1);
	T_EQ_INT(errno, ENETUNREACH);
	errno = 0;
	T_EQ_INT(dns_addrs("example.test", AF_INET, a, 2), -1);
	T_EQ_INT(errno, ENETUNREACH);
	/* dns_servers wins over dns_resolv_conf = no */
	if (!T_CHECK(load_conf("dns_resolv_conf = no\n"
	    "dns_servers = 127.0.0.1:9\n")))
		return;
	T_EQ_INT(dns_init(err, sizeof err), 1);
	T_EQ_INT(dns_enabled(), 1);
	/* a bad server list is still an error */
	if (!T_CHECK(load_conf("dns_servers = 127.0.0.1:0\n")))
		return;
	T_EQ_INT(dns_init(err, sizeof err), -1);
	T_EQ_INT(dns_enabled(), 0);
}

/*
 * The responder: answers queries on its UDP socket from the table below
 * until it is killed.
 *   mx.test      MX   10 mx1.mx.test, 20 mx2.mx.test
 *   nullmx.test  MX   0 .
 *   mx1.mx.test  A 192.0.2.1, AAAA 2001:db8::1
 *   v4.test      A 192.0.2.4 (AAAA: no data)
 *   v6.test      AAAA 2001:db8::6 (A: no data)
 *   fail6.test   AAAA: SERVFAIL, A 192.0.2.7
 *   fail.test    SERVFAIL
 *   anything else: NXDOMAIN
 */
static void
respond(int s)
{
	unsigned char q[512];
	struct msg m;
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;

	for (;;) {
		char name[256];
		size_t p = 12, o = 0;
		unsigned qtype, rcode = 0, an = 0;

		fl = sizeof from;
		n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		if (n < 12)
			continue;
		while (p < (size_t)n && q[p] != 0 && o + q[p] + 1 < sizeof name) {
			if (o > 0)
				name[o++] = '.';
			memcpy(name + o, q + p + 1, q[p]);
			o += q[p];
			p += q[p] + 1;
		}
		name[o] = '\0';
		if (p + 5 > (size_t)n)
			continue;
		qtype = (unsigned)q[p + 1] << 8 | q[p + 2];
		/* the header and question copied, answers appended */
		memcpy(m.b, q, p + 5);
		m.n = p + 5;
		m.b[4] = 0;
		m.b[5] = 1;
		if (strcmp(name, "mx.test") == 0 && qtype == DNS_T_MX) {
			add_mx(&m, 20, "mx2.mx.test");
			add_mx(&m, 10, "mx1.mx.test");
			an = 2;
		} else if (strcmp(name, "nullmx.test") == 0 &&
		    qtype == DNS_T_MX) {
			add_mx(&m, 0, ".");
			an = 1;
		} else if (strcmp(name, "mx1.mx.test") == 0 &&
		    qtype == DNS_T_A) {
			add_addr(&m, DNS_T_A, "192.0.2.1");
			an = 1;
		} else if (strcmp(name, "mx1.mx.test") == 0 &&
		    qtype == DNS_T_AAAA) {
			add_addr(&m, DNS_T_AAAA, "2001:db8::1");
			an = 1;
		} else if (strcmp(name, "v4.test") == 0 && qtype == DNS_T_A) {
			add_addr(&m, DNS_T_A, "192.0.2.4");
			an = 1;
		} else if (strcmp(name, "v6.test") == 0 &&
		    qtype == DNS_T_AAAA) {
			add_addr(&m, DNS_T_AAAA, "2001:db8::6");
			an = 1;
		} else if (strcmp(name, "fail6.test") == 0 &&
		    qtype == DNS_T_A) {
			add_addr(&m, DNS_T_A, "192.0.2.7");
			an = 1;
		} else if (strcmp(name, "fail6.test") == 0 ||
		    strcmp(name, "fail.test") == 0) {
			rcode = 2;
		} else if (strcmp(name, "v4.test") != 0 &&
		    strcmp(name, "v6.test") != 0 &&
		    strcmp(name, "mx1.mx.test") != 0 &&
		    strcmp(name, "mx.test") != 0) {
			rcode = 3;
		}
		m.b[2] = 0x81;
		m.b[3] = (unsigned char)(0x80 | rcode);
		m.b[6] = (unsigned char)(an >> 8);
		m.b[7] = (unsigned char)an;
		memset(m.b + 8, 0, 4);
		if (sendto(s, m.b, m.n, 0, (struct sockaddr *)&from, fl) < 0)
			_exit(1);
	}
}

static void
test_queries(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	char conf[128], err[256], text[INET6_ADDRSTRLEN];
	unsigned char ans[DNS_MSG_MAX];
	struct dns_mx mx[4];
	struct dns_addr a[4];
	size_t len;
	pid_t pid;
	int s, st;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &sl) < 0) {
		printf("test_dns: no UDP socket on 127.0.0.1 (%s): queries "
		    "not tested\n", strerror(errno));
		if (s >= 0)
			close(s);
		return;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		T_CHECK(0);
		close(s);
		return;
	}
	if (pid == 0)
		respond(s);
	close(s);
	snprintf(conf, sizeof conf, "dns_servers = 127.0.0.1:%u\n"
	    "dns_timeout = 2\n", ntohs(sa.sin_port));
	if (T_CHECK(load_conf(conf)) &&
	    T_EQ_INT(dns_init(err, sizeof err), 1)) {
		T_EQ_INT(dns_enabled(), 1);
		T_EQ_INT(dns_query("mx.test", DNS_T_MX, ans, sizeof ans, &len),
		    1);
		errno = 0;
		T_EQ_INT(dns_query("none.test", DNS_T_MX, ans, sizeof ans,
		    &len), 0);
		T_EQ_INT(errno, ENOENT);
		errno = 0;
		T_EQ_INT(dns_query("v4.test", DNS_T_MX, ans, sizeof ans, &len),
		    0);
		T_EQ_INT(errno, ENODATA);
		errno = 0;
		T_EQ_INT(dns_query("fail.test", DNS_T_MX, ans, sizeof ans,
		    &len), -1);
		T_EQ_INT(errno, EAGAIN);

		T_EQ_INT(dns_mx("mx.test", mx, 4, NULL), 2);
		T_EQ_STR(mx[0].host, "mx1.mx.test");
		T_EQ_STR(mx[1].host, "mx2.mx.test");
		T_EQ_INT(dns_mx("nullmx.test", mx, 4, NULL), 1);
		T_EQ_STR(mx[0].host, "");
		errno = 0;
		T_EQ_INT(dns_mx("v4.test", mx, 4, NULL), 0);
		T_EQ_INT(errno, ENODATA);
		errno = 0;
		T_EQ_INT(dns_mx("none.test", mx, 4, NULL), 0);
		T_EQ_INT(errno, ENOENT);
		errno = 0;
		T_EQ_INT(dns_mx("fail.test", mx, 4, NULL), -1);
		T_EQ_INT(errno, EAGAIN);

		/* AAAA first, then A */
		T_EQ_INT(dns_addrs("mx1.mx.test", AF_UNSPEC, a, 4), 2);
		T_EQ_INT(a[0].family, AF_INET6);
		T_EQ_STR(inet_ntop(AF_INET6, a[0].a, text, sizeof text),
		    "2001:db8::1");
		T_EQ_INT(a[1].family, AF_INET);
		T_EQ_STR(inet_ntop(AF_INET, a[1].a, text, sizeof text),
		    "192.0.2.1");
		/* max reached by the AAAA records */
		T_EQ_INT(dns_addrs("mx1.mx.test", AF_UNSPEC, a, 1), 1);
		T_EQ_INT(a[0].family, AF_INET6);
		T_EQ_INT(dns_addrs("mx1.mx.test", AF_INET, a, 4), 1);
		T_EQ_INT(a[0].family, AF_INET);
		T_EQ_INT(dns_addrs("mx1.mx.test", AF_INET6, a, 4), 1);
		T_EQ_INT(a[0].family, AF_INET6);
		T_EQ_INT(dns_addrs("v4.test", AF_UNSPEC, a, 4), 1);
		T_EQ_INT(a[0].family, AF_INET);
		T_EQ_INT(dns_addrs("v6.test", AF_UNSPEC, a, 4), 1);
		T_EQ_INT(a[0].family, AF_INET6);
		errno = 0;
		T_EQ_INT(dns_addrs("v4.test", AF_INET6, a, 4), 0);
		T_EQ_INT(errno, ENODATA);
		errno = 0;
		T_EQ_INT(dns_addrs("none.test", AF_UNSPEC, a, 4), 0);
		T_EQ_INT(errno, ENOENT);
		/* one lookup failed but the other found addresses */
		T_EQ_INT(dns_addrs("fail6.test", AF_UNSPEC, a, 4), 1);
		T_EQ_STR(inet_ntop(AF_INET, a[0].a, text, sizeof text),
		    "192.0.2.7");
		errno = 0;
		T_EQ_INT(dns_addrs("fail.test", AF_UNSPEC, a, 4), -1);
		T_EQ_INT(errno, EAGAIN);
		errno = 0;
		T_EQ_INT(dns_addrs("x.test", AF_UNIX, a, 4), -1);
		T_EQ_INT(errno, EINVAL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int main(void)
{
	char p[128];

	test_iter();
	test_bad();
	test_rev();
	test_server();
	test_mx();
	test_null_mx();
	test_mx_bad();
	test_addr();
	snprintf(confdir, sizeof confdir, "/tmp/tern-test-dns.XXXXXX");
	if (mkdtemp(confdir) == NULL) {
		perror("mkdtemp");
		T_CHECK(0);
		T_DONE();
	}
	test_off();
	test_queries();
	snprintf(p, sizeof p, "%s/tern.conf", confdir);
	if (unlink(p) < 0 || rmdir(confdir) < 0)
		perror(confdir);
	T_DONE();
}
