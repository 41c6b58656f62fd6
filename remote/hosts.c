/*
 * hosts.c: which addresses a job tries, in which order (RFC 5321 5.1).
 *
 *   route to an IP or [HOST]   that address, or HOST's addresses
 *   route to HOST              HOST's MX records (else HOST itself)
 *   no route                   the domain's MX records; none: the
 *                              domain's own addresses (implicit MX)
 * MX hosts are taken in preference order, equal preferences shuffled
 * (lib/net/dns.c), each with its addresses (remote_address_family).  A
 * null MX (RFC 7505) fails the recipients at once; so does a domain that
 * does not exist.  An MX host that is this host (its name is
 * hostname): it and every MX of the same or a higher preference value is
 * dropped (RFC 5321 5.1); when that leaves nothing, the mail would loop,
 * which is a permanent failure with a clear text.  A temporary DNS
 * failure is remembered and, when no address answers, defers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/str.h"
#include "daemon/cfg.h"
#include "remote.h"

static unsigned long
rnd(void)
{
	unsigned long v = 0;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = (unsigned long)random();
	return v;
}

static int
is_ip(const char *h)
{
	unsigned char b[16];

	return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

static int
family_want(void)
{
	const char *f = cfg_str(remote_address_family);

	if (strcmp(f, "ipv4") == 0)
		return AF_INET;
	if (strcmp(f, "ipv6") == 0)
		return AF_INET6;
	return AF_UNSPEC;
}

static void
cand_set(struct cand *c, const char *host, int family, const void *a,
    unsigned port)
{
	memset(c, 0, sizeof *c);
	str_copy(c->host, host, sizeof c->host);
	c->port = port;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		memcpy(&s4->sin_addr, a, 4);
		c->salen = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		memcpy(&s6->sin6_addr, a, 16);
		c->salen = sizeof *s6;
	}
	if (inet_ntop(family, a, c->ip, sizeof c->ip) == NULL)
		str_copy(c->ip, "?", sizeof c->ip);
}

/* The addresses of one host name appended to c[*n..max). */
static void
host_addrs(struct job *j, const char *host, unsigned port, struct cand *c,
    size_t *n, size_t max)
{
	struct dns_addr a[DNS_ADDR_MAX];
	unsigned char bin[16];
	int want = family_want(), r, i, v6first;

	if (inet_pton(AF_INET, host, bin) == 1) {
		if (*n < max && want != AF_INET6)
			cand_set(&c[(*n)++], host, AF_INET, bin, port);
		return;
	}
	if (inet_pton(AF_INET6, host, bin) == 1) {
		if (*n < max && want != AF_INET)
			cand_set(&c[(*n)++], host, AF_INET6, bin, port);
		return;
	}
	r = dns_addrs(host, want, a, DNS_ADDR_MAX);
	if (r < 0) {
		job_fail(j, 0, "4.4.3 cannot look up the address of %s: "
		    "temporary DNS failure", host);
		return;
	}
	if (r == 0) {
		job_fail(j, 0, "4.4.4 host %s has no address", host);
		return;
	}
	/* dns_addrs gives AAAA first; "both" tries IPv4 first (the
	 * network of most hosts), "prefer-ipv6" keeps that order */
	v6first = strcmp(cfg_str(remote_address_family), "prefer-ipv6") == 0;
	for (i = 0; i < r && *n < max; i++)
		if ((a[i].family == AF_INET6) == v6first)
			cand_set(&c[(*n)++], host, a[i].family, a[i].a, port);
	for (i = 0; i < r && *n < max; i++)
		if ((a[i].family == AF_INET6) != v6first)
			cand_set(&c[(*n)++], host, a[i].family, a[i].a, port);
}

/* MX hosts of name into c.  0 when the job's recipients got a result. */
static int
mx_hosts(struct job *j, const char *name, unsigned port, int is_route,
    struct cand *c, size_t *n, size_t max)
{
	struct dns_mx mx[DNS_MX_MAX];
	const char *self = cfg_hostname();
	size_t i, nmx;
	unsigned cut = (unsigned)-1;
	int r;

	r = dns_mx(name, mx, DNS_MX_MAX, rnd);
	if (r < 0) {
		job_fail(j, 0, "4.4.3 cannot look up the MX records of %s: "
		    "temporary DNS failure", name);
		return 1;
	}
	if (r == 0 && errno == ENOENT) {
		if (is_route) {
			job_fail(j, 0, "4.4.4 route host %s does not exist "
			    "(see the routes map)", name);
			return 1;
		}
		job_set_rest(j, 'D', NULL, NULL, "5.1.2 domain does not "
		    "exist (DNS: NXDOMAIN)");
		return 0;
	}
	if (r == 0) {   /* no MX: the name itself (RFC 5321 5.1) */
		host_addrs(j, name, port, c, n, max);
		return 1;
	}
	nmx = (size_t)r;
	if (nmx == 1 && mx[0].host[0] == '\0') {
		job_set_rest(j, 'D', NULL, NULL, "5.1.10 the domain accepts no "
		    "mail (null MX, RFC 7505)");
		return 0;
	}
	for (i = 0; i < nmx; i++)
		if (str_caseeq(mx[i].host, self) && mx[i].pref < cut)
			cut = mx[i].pref;
	for (i = 0; i < nmx && mx[i].pref < cut; i++)
		if (mx[i].host[0] != '\0')
			host_addrs(j, mx[i].host, port, c, n, max);
	if (i == 0 && cut != (unsigned)-1) {
		job_set_rest(j, 'D', NULL, NULL, "5.4.6 mail for this domain "
		    "loops back to myself (I am its best MX host)");
		return 0;
	}
	return 1;
}

size_t
hosts_find(struct job *j, struct cand *c, size_t max)
{
	const struct route *rt = &j->route;
	unsigned dport = (unsigned)cfg_num(remote_port);
	size_t n = 0;

	if (!dns_enabled() && !(rt->found && is_ip(rt->host)) &&
	    !(!rt->found && j->domain[0] == '[')) {
		job_fail(j, 0, "4.4.3 no route for %s and DNS is off "
		    "(dns_servers is empty and dns_resolv_conf = no)",
		    rt->found ? rt->host : j->domain);
		return 0;
	}
	if (!rt->found && j->domain[0] == '[') {
		/* an address literal (RFC 5321 4.1.3, 5.1): that address */
		char ip[INET6_ADDRSTRLEN + 8];
		const char *a = j->domain + 1;
		size_t len = strlen(a);

		if (len > 5 && strncasecmp(a, "IPv6:", 5) == 0)
			a += 5, len -= 5;
		if (len < 2 || len > sizeof ip || a[len - 1] != ']') {
			job_set_rest(j, 'D', NULL, NULL, "5.1.2 bad address "
			    "literal");
			return 0;
		}
		memcpy(ip, a, len - 1);
		ip[len - 1] = '\0';
		if (!is_ip(ip)) {
			job_set_rest(j, 'D', NULL, NULL, "5.1.2 bad address "
			    "literal");
			return 0;
		}
		host_addrs(j, ip, dport, c, &n, max);
		return n;
	}
	if (rt->found && rt->literal)
		host_addrs(j, rt->host, rt->port, c, &n, max);
	else if (rt->found) {
		if (!mx_hosts(j, rt->host, rt->port, 1, c, &n, max))
			return 0;
	} else if (!mx_hosts(j, j->domain, dport, 0, c, &n, max))
		return 0;
	return n;
}

void
hosts_relay(const struct cand *c, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s[%s]:%u", c->host, c->ip, c->port);
}

int
hosts_connect(const struct cand *c)
{
	int fd, err = 0, r;
	socklen_t len = sizeof err;

	fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)&c->sa, c->salen);
	if (r < 0 && errno != EINPROGRESS)
		goto fail;
	if (r < 0) {
		if (fd_poll(fd, POLLOUT, (int)cfg_num(remote_connect_timeout) *
		    1000) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	/* io does its own polling with timeouts: blocking is fine */
	if (fcntl(fd, F_SETFL, 0) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}
