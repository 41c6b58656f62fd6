/*
 * dns: DNS queries through glibc's resolver (res_nquery) and a bounded
 * parser for the answers, for DNS block lists (tern-smtpd) and MX, A and
 * AAAA lookups (tern-remote).
 *
 * The servers are those of /etc/resolv.conf unless tern.conf's
 * dns_servers names some: then only those are asked (tests point this at
 * a DNS server on loopback so that the machine's resolver is never used).
 * Nothing here opens a socket before the first dns_query.
 *
 * Return convention: 1 ok, 0 not found (NXDOMAIN, or no record of that
 * type), -1 error with errno (ETIMEDOUT or EAGAIN for a temporary DNS
 * failure, EINVAL for a malformed answer or argument).
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <netinet/in.h>
#include <stddef.h>

#define DNS_MSG_MAX 8192    /* answer bytes kept (UDP 512, EDNS, TCP) */
#define DNS_NAME_MAX 1025   /* NS_MAXDNAME: a name in dotted text + NUL */
#define DNS_SERVERS_MAX 3   /* MAXNS of glibc */

/* RR types and class used here (RFC 1035 3.2.2, RFC 3596) */
#define DNS_T_A 1
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_C_IN 1

/*
 * Set the resolver up from tern.conf: dns_servers (each "IPv4[:PORT]";
 * empty: /etc/resolv.conf) and dns_timeout (seconds per try, two tries
 * per server).  Call once after cfg_load.  1 ok, -1 with a reason in
 * err (a bad dns_servers entry, res_ninit failure).
 */
int dns_init(char *err, size_t errsz);

/*
 * Ask for name (dotted text, no search list applied) and type, class
 * IN.  The answer message goes into ans (anssz bytes, at most
 * DNS_MSG_MAX used); *len_r is its length.  1 an answer with records,
 * 0 NXDOMAIN or no data, -1 temporary failure (errno EAGAIN) or a bad
 * argument (EINVAL).  dns_init must have succeeded.
 */
int dns_query(const char *name, int type, unsigned char *ans, size_t anssz,
    size_t *len_r);

/* One resource record of an answer; rdata points into the message. */
struct dns_rr {
	unsigned type, cls;
	unsigned long ttl;
	const unsigned char *rdata;
	size_t rdlen;
};

/* Walks the answer section of a message. */
struct dns_iter {
	const unsigned char *msg;
	size_t len, pos;
	unsigned left;        /* answer records not yet returned */
};

/*
 * Pure parser: check the header of msg[0..len) and skip its question
 * section.  1 ok (it set up), -1 EINVAL when malformed.
 */
int dns_iter_init(struct dns_iter *it, const unsigned char *msg, size_t len);
/* The next answer record: 1 (rr set), 0 no more, -1 EINVAL malformed. */
int dns_iter_next(struct dns_iter *it, struct dns_rr *rr);

/*
 * The text of a TXT record (RFC 1035 3.3.14: one or more
 * character-strings), concatenated into out (outsz bytes with the NUL,
 * cut when longer), non-printable bytes made '?'.  1 ok, -1 EINVAL when
 * the rdata is malformed.
 */
int dns_txt_text(const struct dns_rr *rr, char *out, size_t outsz);

/*
 * The DNSBL query name of address ip under zone: "4.3.2.1.zone" for
 * IPv4 1.2.3.4, 32 reversed nibbles for IPv6 (RFC 5782 2.1, 2.4).  An
 * IPv4-mapped IPv6 address counts as IPv4.  1 ok, 0 ip is not an
 * address, -1 ENAMETOOLONG.
 */
int dns_rev_name(const char *ip, const char *zone, char *out, size_t outsz);

/*
 * MX (RFC 5321 5.1, RFC 7505) and address lookups for tern-remote.
 * dns_query's 0 ("not found") sets errno: ENOENT for NXDOMAIN, ENODATA
 * for a name without records of the type asked.
 */
#define DNS_MX_MAX 32     /* MX records kept per domain */
#define DNS_ADDR_MAX 16   /* addresses kept per host name */

struct dns_mx {
	unsigned pref;
	char host[DNS_NAME_MAX];   /* lower case, no trailing dot; "" null MX */
};

struct dns_addr {
	int family;                /* AF_INET or AF_INET6 */
	unsigned char a[16];       /* 4 or 16 bytes, network order */
};

/*
 * Pure: the MX records of answer msg[0..len) (other types, e.g. CNAME,
 * skipped) into mx (at most max; more are dropped, highest preference
 * values first), sorted by preference, records of equal preference in
 * an order shuffled with rnd (a function returning random numbers; NULL:
 * keep the answer's order).  A null MX (RFC 7505: one record "0 .")
 * gives one entry with host "".  count (0: no MX records), -1 EINVAL
 * when malformed.
 */
int dns_mx_parse(const unsigned char *msg, size_t len, struct dns_mx *mx,
    size_t max, unsigned long (*rnd)(void));
/*
 * Look up the MX records of domain.  count > 0, 0 none (errno ENOENT:
 * the domain does not exist; ENODATA: no MX, use the domain's own
 * addresses), -1 temporary failure (EAGAIN) or EINVAL.
 */
int dns_mx(const char *domain, struct dns_mx *mx, size_t max,
    unsigned long (*rnd)(void));
/* Pure: the A (type DNS_T_A) or AAAA (DNS_T_AAAA) records of an answer
 * into out (at most max).  count, -1 EINVAL when malformed. */
int dns_addr_parse(const unsigned char *msg, size_t len, int type,
    struct dns_addr *out, size_t max);
/*
 * The addresses of host: family AF_INET (A), AF_INET6 (AAAA) or
 * AF_UNSPEC (both: AAAA first, then A).  count > 0, 0 none (errno ENOENT
 * or ENODATA as for dns_mx; for AF_UNSPEC ENOENT only when both say
 * NXDOMAIN), -1 temporary failure (EAGAIN) when no address was found and
 * a lookup failed.
 */
int dns_addrs(const char *host, int family, struct dns_addr *out,
    size_t max);
/* 1 if DNS is usable (dns_servers set, or dns_resolv_conf on), 0 if
 * lookups are off: then dns_query fails with ENETUNREACH. */
int dns_enabled(void);

/* "192.0.2.53" or "192.0.2.53:5353" -> sa (port 53 by default).
 * 1 ok, 0 malformed. */
int dns_server_parse(const char *s, struct sockaddr_in *sa);

#endif
