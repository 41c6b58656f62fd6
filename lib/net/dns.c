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

	memset(&rs, 0, sizeof rs);
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
			return -1;
		}
		if (!dns_server_parse(w, &rs.nsaddr_list[i])) {
			snprintf(err, errsz, "dns_servers: bad server %s (an "
			    "IPv4 address with an optional :port)", w);
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
dns_query(const char *name, int type, unsigned char *ans, size_t anssz,
    size_t *len_r)
{
	int n;

	if (!rs_ready || strlen(name) >= DNS_NAME_MAX || anssz < HFIXEDSZ) {
		errno = EINVAL;
		return -1;
	}
	if (anssz > DNS_MSG_MAX)
		anssz = DNS_MSG_MAX;
	n = res_nquery(&rs, name, DNS_C_IN, type, ans, (int)anssz);
	if (n < 0) {
		/* HOST_NOT_FOUND is NXDOMAIN, NO_DATA an empty answer;
		 * TRY_AGAIN (SERVFAIL, timeout) and the rest are temporary */
		if (rs.res_h_errno == HOST_NOT_FOUND ||
		    rs.res_h_errno == NO_DATA)
			return 0;
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
