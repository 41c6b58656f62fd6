/*
 * peer: the client address of a session on fd 0/1, the same way for
 * every server: TCPREMOTEIP (tcpserver) when it looks like an address,
 * else getpeername() (inetd, systemd, tern-smtpd -l), else "unknown" (a
 * pipe, e.g. in tests).  An IPv4 client on an IPv6 socket
 * ("::ffff:192.0.2.1") is shown as "192.0.2.1".
 */
#ifndef TERN_PEER_H
#define TERN_PEER_H

#include <stddef.h>

#define PEER_ADDR_MAX 64   /* INET6_ADDRSTRLEN (46) and then some */

/* Write the peer address of fd into out (outsz >= PEER_ADDR_MAX). */
void peer_addr(int fd, char *out, size_t outsz);
/* TCP_NODELAY on fd when it is a TCP socket: a server writes whole
 * responses from its buffer, so the last segment of a big one must not
 * wait for the client's (delayed, up to 40 ms) ACK.  1 set, 0 not a TCP
 * socket (a pipe, a unix socket), -1 error. */
int peer_nodelay(int fd);

#endif
