/*
 * peer: see peer.h.  TCPREMOTEIP is only as trustworthy as whoever set
 * the environment, so it is used only when it holds nothing but the
 * characters of an IPv4 or IPv6 address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/str.h"
#include "net/peer.h"

static int
ip_text_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= PEER_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == '.' || c == ':'))
			return 0;
	}
	return 1;
}

void
peer_addr(int fd, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const char *env = getenv("TCPREMOTEIP");
	const void *a = NULL;

	str_copy(out, "unknown", outsz);
	if (env != NULL && ip_text_ok(env)) {
		str_copy(out, env, outsz);
	} else if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else if (ss.ss_family == AF_INET6)
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (a != NULL && inet_ntop(ss.ss_family, a, out,
		    (socklen_t)outsz) == NULL)
			str_copy(out, "unknown", outsz);
	}
	if (str_casestart(out, "::ffff:") && strchr(out + 7, '.') != NULL &&
	    strchr(out + 7, ':') == NULL)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

int
peer_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
		return 1;
	if (errno == ENOTSOCK || errno == EOPNOTSUPP || errno == ENOPROTOOPT ||
	    errno == EINVAL)
		return 0;
	return -1;
}
