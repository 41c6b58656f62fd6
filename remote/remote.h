/*
 * remote.h: the parts of tern-remote (the files of remote/) and what they
 * share.
 *
 * tern-remote takes jobs from tern-queued (lib/queue/rmt.h): one message
 * and those of its recipients that share a domain.  The parent process
 * (main.c) only passes packets: each job runs in a child of its own,
 * which finds where the mail goes, talks SMTP and sends one result per
 * recipient back through its socket to the parent, which forwards it.
 * A child that dies without a result for a recipient gets one written by
 * the parent (a temporary failure), so nothing is ever left in flight.
 *
 *   main.c    start-up, the poll loop, children, forwarding
 *   job.c     a child's work: the envelope, the route, the hosts in turn,
 *             the results
 *   route.c   the routes map value, TLS policy, credentials
 *   hosts.c   MX and address lookups, the candidate list, connecting
 *   client.c  the SMTP dialogue on one connection (RFC 5321, 2920, 3207,
 *             4954, 3461, 1870, 6152, 6531)
 *   body.c    the message: its size, 8-bit scan, dot-stuffed CRLF output
 */
#ifndef TERN_REMOTE_H
#define TERN_REMOTE_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "util/io.h"
#include "queue/qfile.h"
#include "queue/rmt.h"
#include "net/dns.h"

#define ROUTE_HOST_MAX 256      /* a host name of a route */
#define ROUTE_PATH_MAX 1024     /* cafile= */
#define ROUTE_NAME_MAX 64       /* auth= */
#define CRED_MAX 512            /* a user name or password */
#define CAND_MAX 64             /* addresses tried per job */

enum tls_policy { TLS_NONE, TLS_MAY, TLS_ENCRYPT, TLS_VERIFY };

/* Where mail for a domain goes: a route from the routes map, or MX. */
struct route {
	int found;                      /* a routes entry applied */
	char host[ROUTE_HOST_MAX + 1];  /* host name or IP, no brackets */
	int literal;                    /* [host] or an IP: no MX lookup */
	unsigned port;                  /* 0: remote_port (DNS hosts) */
	enum tls_policy tls;
	int smtps;                      /* implicit TLS (RFC 8314) */
	char auth[ROUTE_NAME_MAX + 1];  /* credentials name, "" none */
	char cafile[ROUTE_PATH_MAX + 1];
};

/* One address to try, in order. */
struct cand {
	char host[DNS_NAME_MAX];        /* the name (for TLS and logs) */
	struct sockaddr_storage sa;
	socklen_t salen;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
};

/* Outcome of one recipient of the job. */
struct res {
	char code;                      /* 0 none yet, 'K', 'Z', 'D' */
	int dsn;
	char relay[RMT_RELAY_MAX + 1];
	char tls[RMT_TLS_MAX + 1];
	char text[RMT_TEXT_MAX + 1];
};

struct job {
	char qid[QID_SIZE];
	int fd;                         /* mess/ID */
	struct qenv env;
	size_t n;
	unsigned long idx[RMT_JOB_RCPT_MAX];
	struct res res[RMT_JOB_RCPT_MAX];
	const char *domain;             /* of the recipients */
	struct route route;
	/* the message, measured once (body.c) */
	off_t body_len;                 /* bytes after the envelope */
	unsigned long lines;            /* LFs: each becomes CRLF */
	int body8;                      /* a byte >= 0x80 in the message */
	int utf8_env;                   /* a non-ASCII envelope address */
	/* the last failure that left recipients without a result */
	char last_err[RMT_TEXT_MAX + 1];
	int last_perm;                  /* last_err is permanent */
	int quiet;                      /* job_fail does not log (QUIT) */
	time_t started;
};

/* What one session did (client.c -> job.c). */
enum sess_end {
	SESS_DONE,      /* every recipient has a result */
	SESS_NEXT,      /* try the next address (last_err says why) */
	SESS_PLAIN,     /* STARTTLS failed where tls=may: again in plaintext */
};


/* job.c */
void job_run(struct job *j, int out);   /* in the child; never returns */
/* 1 if every recipient has a result */
int job_done(const struct job *j);
/* Result for recipient k unless it has one. */
void job_set(struct job *j, size_t k, char code, const char *relay,
    const char *tls, int dsn, const char *text);
/* Every recipient still without a result gets this one. */
void job_set_rest(struct job *j, char code, const char *relay,
    const char *tls, const char *text);
/* Remember why an address failed (4xx text, or 5xx when perm). */
void job_fail(struct job *j, int perm, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* route.c */
/* The route for domain (routes map, then remote_tls).  1 found or none
 * needed (r->found says), -1 the map could not be read (err). */
int route_get(const char *domain, struct route *r, char *err, size_t errsz);
/* Parse a routes value "HOST[:PORT][ OPTION...]" into r (pure).
 * 1 ok, 0 malformed (*why). */
int route_parse(const char *v, size_t n, struct route *r, const char **why);
/* The user and password of credentials name (remote_credentials).  1 ok,
 * 0 no such name, -1 the file is unreadable or not private (err). */
int route_creds(const char *name, char *user, char *pass, size_t sz,
    char *err, size_t errsz);

/* hosts.c */
/* The addresses to try for j, in order, into c (at most max).  count > 0;
 * 0 none (j's results or last_err say why). */
size_t hosts_find(struct job *j, struct cand *c, size_t max);
/* Connect to c within remote_connect_timeout: the fd, or -1 (errno). */
int hosts_connect(const struct cand *c);
/* "host[ip]:port" */
void hosts_relay(const struct cand *c, char *out, size_t outsz);

/* client.c */
/* One session on the connected fd.  With keep, a connection left at a
 * clean point stays open for the next job (*kept = 1, fd not to be
 * closed by the caller); else it is closed here (*kept = 0) unless it is
 * the caller's fd (SESS_NEXT/PLAIN: the caller closes it). */
enum sess_end client_session(struct job *j, const struct cand *c, int fd,
    int plain, int keep, int *kept);
/* 1 if a connection is kept open */
int client_live(void);
/* Run job j over the kept connection: 1 done (*end_r, *kept as above),
 * 0 there is none or it no longer works (it is closed; nothing of j was
 * sent). */
int client_reuse(struct job *j, int keep, int *kept, enum sess_end *end_r);
/* QUIT and close the kept connection, if any. */
void client_close(void);

/* body.c */
/* Measure the message (length, line count, 8-bit).  1 or -1 (errno). */
int body_scan(struct job *j);
/* Send the message dot-stuffed with CRLF line ends and the final dot.
 * 1 or -1 (errno). */
int body_send(struct job *j, struct io *io);

#endif
