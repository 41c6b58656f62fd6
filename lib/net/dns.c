/*
 * dns: queries through glibc's resolver (res_nquery on our own resolver
 * state, so that dns_servers can replace the servers of resolv.conf),
 * and a pure, bounded parser of answer messages (RFC 1035 4.1).
 * Contracts in dns.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "util/str.h"
#include "daemon/cfg.h"
#include "net/dns.h"

static struct __res_state rs;
static int rs_ready;
static int dns_off;      /* dns_resolv_conf = no and no dns_servers */

int
dns_server_parse(const char *s, struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long port = 53;

	if (hl == 0 || hl >= sizeof host)
		return 0;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon && !str_ulong(colon + 1, strlen(colon + 1), 65535, &port))
		return 0;
	if (port == 0)
		return 0;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

int
dns_init(char *err, size_t errsz)
{
	const char *w;
	size_t i;

	if (rs_ready && !dns_off)
		res_nclose(&rs);
	rs_ready = 0;
	dns_off = 0;
	memset(&rs, 0, sizeof rs);
	/* no servers of our own and resolv.conf not wanted: DNS is off,
	 * and resolv.conf is not even read */
	if (cfg_list(dns_servers, 0) == NULL && !cfg_bool(dns_resolv_conf)) {
		dns_off = 1;
		rs_ready = 1;
		return 1;
	}
	if (res_ninit(&rs) < 0) {
		snprintf(err, errsz, "res_ninit failed");
		return -1;
	}
	/* our own queries are absolute names: no search list, no
	 * "ndots" guessing */
	rs.options &= ~(unsigned long)(RES_DEFNAMES | RES_DNSRCH);
	rs.retrans = (int)cfg_num(dns_timeout);
	rs.retry = 2;
	for (i = 0; (w = cfg_list(dns_servers, i)) != NULL; i++) {
		if (i >= DNS_SERVERS_MAX) {
			snprintf(err, errsz, "dns_servers: at most %d servers",
			    DNS_SERVERS_MAX);
			res_nclose(&rs);
			return -1;
		}
		if (!dns_server_parse(w, &rs.nsaddr_list[i])) {
			snprintf(err, errsz, "dns_servers: bad server %s (an "
			    "IPv4 address with an optional :port)", w);
			res_nclose(&rs);
			return -1;
		}
		/* get_nsaddr in glibc uses nsaddr_list[i] whenever its
		 * family is set, whatever resolv.conf had there */
	}
	if (i > 0)
		rs.nscount = (int)i;
	rs_ready = 1;
	return 1;
}

int
dns_enabled(void)
{
	return rs_ready && !dns_off;
}

int
dns_query(const char *name, int type, unsigned char *ans, size_t anssz,
    size_t *len_r)
{
	int n;

	if (!rs_ready || strlen(name) >= DNS_NAME_MAX || anssz < HFIXEDSZ) {
		errno = EINVAL;
		return -1;
	}
	if (dns_off) {
		errno = ENETUNREACH;
		return -1;
	}
	if (anssz > DNS_MSG_MAX)
		anssz = DNS_MSG_MAX;
	n = res_nquery(&rs, name, DNS_C_IN, type, ans, (int)anssz);
	if (n < 0) {
		/* HOST_NOT_FOUND is NXDOMAIN, NO_DATA an empty answer;
		 * TRY_AGAIN (SERVFAIL, timeout) and the rest are temporary */
		if (rs.res_h_errno == HOST_NOT_FOUND) {
			errno = ENOENT;
			return 0;
		}
		if (rs.res_h_errno == NO_DATA) {
			errno = ENODATA;
			return 0;
		}
		errno = EAGAIN;
		return -1;
	}
	/* a truncated answer longer than our buffer: what fits is used */
	*len_r = (size_t)n > anssz ? anssz : (size_t)n;
	return 1;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Skip the (possibly compressed) name at msg[*pos..len).  1 or -1. */
static int
skip_name(const unsigned char *msg, size_t len, size_t *pos)
{
	size_t p = *pos, total = 0;

	for (;;) {
		unsigned c;

		if (p >= len)
			return -1;
		c = msg[p];
		if (c == 0) {
			*pos = p + 1;
			return 1;
		}
		if ((c & 0xc0) == 0xc0) {
			/* a pointer ends the name here (RFC 1035 4.1.4) */
			if (p + 2 > len)
				return -1;
			*pos = p + 2;
			return 1;
		}
		if (c & 0xc0)
			return -1;      /* reserved label types */
		total += c + 1;
		if (total > 255)
			return -1;      /* RFC 1035 2.3.4 */
		p += c + 1;
	}
}

int
dns_iter_init(struct dns_iter *it, const unsigned char *msg, size_t len)
{
	unsigned qd, i;
	size_t pos = HFIXEDSZ;

	errno = EINVAL;
	if (len < HFIXEDSZ)
		return -1;
	qd = get16(msg + 4);
	for (i = 0; i < qd; i++) {
		if (skip_name(msg, len, &pos) < 0 || pos + 4 > len)
			return -1;
		pos += 4;            /* QTYPE, QCLASS */
	}
	it->msg = msg;
	it->len = len;
	it->pos = pos;
	it->left = get16(msg + 6);
	return 1;
}

int
dns_iter_next(struct dns_iter *it, struct dns_rr *rr)
{
	size_t pos = it->pos;

	if (it->left == 0)
		return 0;
	if (skip_name(it->msg, it->len, &pos) < 0 || pos + 10 > it->len) {
		errno = EINVAL;
		return -1;
	}
	rr->type = get16(it->msg + pos);
	rr->cls = get16(it->msg + pos + 2);
	rr->ttl = (unsigned long)get16(it->msg + pos + 4) << 16 |
	    get16(it->msg + pos + 6);
	rr->rdlen = get16(it->msg + pos + 8);
	pos += 10;
	if (rr->rdlen > it->len - pos) {
		errno = EINVAL;
		return -1;
	}
	rr->rdata = it->msg + pos;
	it->pos = pos + rr->rdlen;
	it->left--;
	return 1;
}

int
dns_txt_text(const struct dns_rr *rr, char *out, size_t outsz)
{
	size_t p = 0, o = 0;

	if (outsz == 0) {
		errno = EINVAL;
		return -1;
	}
	while (p < rr->rdlen) {
		size_t n = rr->rdata[p++], i;

		if (n > rr->rdlen - p) {
			errno = EINVAL;
			return -1;
		}
		for (i = 0; i < n && o + 1 < outsz; i++) {
			unsigned char c = rr->rdata[p + i];

			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		p += n;
	}
	out[o] = '\0';
	return 1;
}

int
dns_rev_name(const char *ip, const char *zone, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	char buf[DNS_NAME_MAX];
	size_t o = 0;
	int i, r;

	if (inet_pton(AF_INET, ip, a) == 1) {
		r = snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[3], a[2], a[1],
		    a[0]);
		o = r > 0 ? (size_t)r : 0;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0xff, 0xff };

		if (memcmp(a, mapped, sizeof mapped) == 0) {
			r = snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[15],
			    a[14], a[13], a[12]);
			o = r > 0 ? (size_t)r : 0;
		} else {
			for (i = 15; i >= 0; i--) {
				buf[o++] = hex[a[i] & 15];
				buf[o++] = '.';
				buf[o++] = hex[a[i] >> 4];
				buf[o++] = i ? '.' : '\0';
			}
			o--;
		}
	} else {
		return 0;
	}
	buf[o] = '\0';
	r = snprintf(out, outsz, "%s.%s", buf, zone);
	if (r < 0 || (size_t)r >= outsz || (size_t)r >= DNS_NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

/*
 * The name at msg[pos..len) (compression pointers followed, at most
 * DNS_PTR_MAX of them) in dotted text, lower case, no trailing dot ("" for
 * the root) into out (DNS_NAME_MAX bytes); *end_r is where the name ends
 * in place (after its first pointer, or its root label).  1 ok, 0 a
 * well-formed name that is no host name (a byte other than a letter, a
 * digit, '-' or '_' in a label), -1 malformed.
 */
#define DNS_PTR_MAX 64
static int
read_host(const unsigned char *msg, size_t len, size_t pos, char *out,
    size_t *end_r)
{
	size_t p = pos, o = 0, total = 0;
	unsigned jumps = 0;
	int host = 1, ended = 0;

	for (;;) {
		unsigned c, i;

		if (p >= len)
			return -1;
		c = msg[p];
		if (c == 0) {
			if (!ended)
				*end_r = p + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (p + 2 > len || ++jumps > DNS_PTR_MAX)
				return -1;
			if (!ended)
				*end_r = p + 2;
			ended = 1;
			p = (size_t)(c & 0x3f) << 8 | msg[p + 1];
			continue;
		}
		if (c & 0xc0)
			return -1;
		total += c + 1;
		if (total > 255 || p + 1 + c > len)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < c; i++) {
			unsigned char b = msg[p + 1 + i];

			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b - 'A' + 'a');
			else if (!((b >= 'a' && b <= 'z') ||
			    (b >= '0' && b <= '9') || b == '-' || b == '_'))
				host = 0;
			out[o++] = host ? (char)b : '?';
		}
		p += 1 + c;
	}
	/* total <= 255 keeps o below DNS_NAME_MAX */
	out[o] = '\0';
	return host;
}

/* Fisher-Yates on mx[0..n) with rnd. */
static void
mx_shuffle(struct dns_mx *mx, size_t n, unsigned long (*rnd)(void))
{
	struct dns_mx t;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = (size_t)(rnd() % i);
		if (j != i - 1) {
			t = mx[i - 1];
			mx[i - 1] = mx[j];
			mx[j] = t;
		}
	}
}

/*
 * RFC 7505 wants a null MX ("0 .") to be the domain's only MX record.
 * Here a record whose target is the root is left out when the domain has
 * other, usable records; when it has none, the domain has a null MX
 * (whatever the preference said).  A target that is no host name is
 * skipped; if every record was such, the answer counts as malformed
 * rather than as "no MX" (which would send mail to the domain's own
 * address, RFC 5321 5.1).
 */
int
dns_mx_parse(const unsigned char *msg, size_t len, struct dns_mx *mx,
    size_t max, unsigned long (*rnd)(void))
{
	struct dns_iter it;
	struct dns_rr rr;
	struct dns_mx cur;
	size_t n = 0, i, j, bad = 0, root = 0;
	int r;

	if (dns_iter_init(&it, msg, len) < 0)
		return -1;
	while ((r = dns_iter_next(&it, &rr)) == 1) {
		size_t start, end;

		if (rr.type != DNS_T_MX || rr.cls != DNS_C_IN)
			continue;
		if (rr.rdlen < 3) {
			errno = EINVAL;
			return -1;
		}
		cur.pref = get16(rr.rdata);
		start = (size_t)(rr.rdata - msg) + 2;
		r = read_host(msg, len, start, cur.host, &end);
		if (r < 0 || end != start + rr.rdlen - 2) {
			errno = EINVAL;
			return -1;
		}
		if (r == 0) {
			bad++;
			continue;
		}
		if (cur.host[0] == '\0') {
			root++;
			continue;
		}
		if (n < max) {
			mx[n++] = cur;
			continue;
		}
		/* full: the new one replaces the highest preference value
		 * kept, if its own is lower */
		for (i = 0, j = 0; i < n; i++)
			if (mx[i].pref > mx[j].pref)
				j = i;
		if (n > 0 && cur.pref < mx[j].pref)
			mx[j] = cur;
	}
	if (r < 0)
		return -1;
	if (n == 0 && root > 0) {
		if (max == 0)
			return 0;
		mx[0].pref = 0;
		mx[0].host[0] = '\0';
		return 1;
	}
	if (n == 0 && bad > 0) {
		errno = EINVAL;
		return -1;
	}
	/* insertion sort: stable, and n is small */
	for (i = 1; i < n; i++) {
		cur = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > cur.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = cur;
	}
	if (rnd != NULL) {
		for (i = 0; i < n; i = j) {
			for (j = i + 1; j < n && mx[j].pref == mx[i].pref; j++)
				;
			mx_shuffle(mx + i, j - i, rnd);
		}
	}
	return (int)n;
}

int
dns_mx(const char *domain, struct dns_mx *mx, size_t max,
    unsigned long (*rnd)(void))
{
	unsigned char ans[DNS_MSG_MAX];
	size_t len;
	int r;

	r = dns_query(domain, DNS_T_MX, ans, sizeof ans, &len);
	if (r <= 0)
		return r;
	r = dns_mx_parse(ans, len, mx, max, rnd);
	if (r == 0)
		errno = ENODATA;   /* e.g. only a CNAME */
	return r;
}

int
dns_addr_parse(const unsigned char *msg, size_t len, int type,
    struct dns_addr *out, size_t max)
{
	struct dns_iter it;
	struct dns_rr rr;
	size_t n = 0, alen;
	int r;

	if (type != DNS_T_A && type != DNS_T_AAAA) {
		errno = EINVAL;
		return -1;
	}
	alen = type == DNS_T_A ? 4 : 16;
	if (dns_iter_init(&it, msg, len) < 0)
		return -1;
	while ((r = dns_iter_next(&it, &rr)) == 1) {
		if (rr.type != (unsigned)type || rr.cls != DNS_C_IN)
			continue;
		if (rr.rdlen != alen) {
			errno = EINVAL;
			return -1;
		}
		if (n >= max)
			continue;   /* go on: the rest must be well-formed too */
		memset(&out[n], 0, sizeof out[n]);
		out[n].family = type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(out[n].a, rr.rdata, alen);
		n++;
	}
	if (r < 0)
		return -1;
	return (int)n;
}

/* One lookup of dns_addrs: count, 0 (errno ENOENT/ENODATA) or -1. */
static int
addrs_one(const char *host, int type, struct dns_addr *out, size_t max)
{
	unsigned char ans[DNS_MSG_MAX];
	size_t len;
	int r;

	r = dns_query(host, type, ans, sizeof ans, &len);
	if (r <= 0)
		return r;
	r = dns_addr_parse(ans, len, type, out, max);
	if (r == 0)
		errno = ENODATA;   /* e.g. only a CNAME */
	return r;
}

int
dns_addrs(const char *host, int family, struct dns_addr *out, size_t max)
{
	int r6, r4, e6, e4, n;

	if (family == AF_INET)
		return addrs_one(host, DNS_T_A, out, max);
	if (family == AF_INET6)
		return addrs_one(host, DNS_T_AAAA, out, max);
	if (family != AF_UNSPEC) {
		errno = EINVAL;
		return -1;
	}
	r6 = addrs_one(host, DNS_T_AAAA, out, max);
	e6 = errno;
	n = r6 > 0 ? r6 : 0;
	if ((size_t)n >= max && n > 0)
		return n;
	r4 = addrs_one(host, DNS_T_A, out + n, max - (size_t)n);
	e4 = errno;
	if (r4 > 0)
		return n + r4;
	if (n > 0)
		return n;
	if (r6 < 0 || r4 < 0) {
		errno = r6 < 0 ? e6 : e4;
		return -1;
	}
	errno = e6 == ENOENT && e4 == ENOENT ? ENOENT : ENODATA;
	return 0;
}
