/*
 * queued.h: the parts of tern-queued (the files of queued/) and what they share.
 *
 * Every message of the queue has one compact struct msg in memory (id,
 * arrival, next due time, flags) in a hash table by id and, when it has
 * something to attempt, in a min-heap on its due time.  The envelope and
 * per-recipient state (struct qenv) are loaded from mess/ID and state/ID
 * only while the message is being attempted ("loaded"), so 100,000 queued
 * messages cost a few megabytes, and the scheduler never rescans mess/
 * after start-up.
 *
 *   main.c     start-up, signals, the poll loop, the trigger FIFO
 *   queue.c    message table, heap, load/settle, todo/
 *   scan.c     crash recovery at start-up (sq_recover), scans of todo/
 *   deliver.c  the dispatch loop, requests to tern-deliverd, results,
 *              backoff
 *   relay.c    jobs to tern-remote: destinations, their concurrency and
 *              wait lists, results
 *   bounce.c   DSNs for failed recipients, double bounces
 *   req.c      tern-queue requests: hold, release, delete, bounce, flush
 */
#ifndef TERN_QUEUED_H
#define TERN_QUEUED_H

#include <stddef.h>
#include <time.h>

#include "queue/qfile.h"
#include "queue/qid.h"

/* struct msg flags */
#define M_HELD      0x01  /* on hold: no attempts (state file H) */
#define M_FLUSH     0x02  /* attempt every pending recipient now */
#define M_DELETE    0x04  /* delete when no attempt is in flight */
#define M_BOUNCE    0x08  /* fail all pending recipients, then bounce */
#define M_REMOTE    0x10  /* has remote recipients (for a config change) */
#define M_RECHECK   0x20  /* config changed: local recipients due now */

/* per-recipient flags of a loaded message */
#define RF_LOCAL    0x01  /* domain is a local domain */
#define RF_INFLIGHT 0x02  /* a request is at tern-deliverd or tern-remote */
#define RF_BLOCKED  0x04  /* due, but its destination is at its limit */

#define HPOS_NONE ((size_t)-1)
#define SCHED_RETRY_LOAD 60    /* seconds before a failed load is retried */
#define SCHED_PERSIST_EVERY 64 /* results before state is written anyway */
/* DESIGN.md: age of stale tmp/ and uncommitted mess/ files */
#define SCHED_TMP_MAX_AGE (36 * 3600)

struct msg;
struct rjob;

/* Messages waiting for a remote slot: of a destination, or any (the
 * remote_concurrency limit).  woken counts messages taken off the list
 * and put in the heap that have not been looked at yet, so that no more
 * are woken than slots are free. */
struct waitq {
	struct msg *head, *tail;
	unsigned woken;
};

/* A destination (a recipient domain, lower case) with jobs in flight or
 * messages waiting. */
struct dest {
	char *name;
	unsigned inflight;       /* jobs at tern-remote */
	unsigned pins;           /* loaded messages blocked on it (ld->blocked) */
	struct waitq wq;
	struct dest *next;       /* hash chain */
};

/* A job at tern-remote: results left, and where it counts. */
struct rjob {
	struct dest *d;
	unsigned left;
};

struct load {
	struct qenv env;
	int fd;                  /* mess/ID, read-only */
	unsigned char *rf;       /* RF_* per recipient */
	struct rjob **rj;        /* per recipient: its job at tern-remote */
	struct dest *blocked;    /* a due recipient waits for this one */
	int gblocked;            /* one waits for remote_concurrency */
	size_t cursor;           /* next recipient to consider */
	unsigned dirty;          /* results not yet in state/ID */
	int flush;               /* M_FLUSH was set when loaded */
	int ready;               /* on the ready list */
	struct msg *rnext;       /* ready list */
	struct msg *lnext, *lprev; /* list of loaded messages */
};

struct msg {
	char id[QID_SIZE];
	unsigned char flags;     /* M_* */
	unsigned inflight;       /* requests at tern-deliverd */
	time_t arrival;
	time_t due;              /* heap key */
	size_t hpos;             /* index in the heap or HPOS_NONE */
	struct msg *hnext;       /* hash chain */
	struct load *ld;         /* non-NULL while loaded */
	struct waitq *wq;        /* the wait list it is on, or NULL */
	struct waitq *woken;     /* the wait list that woke it */
	struct msg *wnext, *wprev;
};

struct sched {
	int fifo;                /* spool/trigger, O_RDWR | O_NONBLOCK */
	int lockfd;              /* spool_dir, flock()ed: one scheduler */
	int sock;                /* to tern-deliverd (DLV_FD) */
	int sock_blocked;        /* a send would block: wait for POLLOUT */
	unsigned long conc;      /* local_concurrency */
	unsigned long inflight;  /* requests out, all messages */
	int local_blocked;       /* local_concurrency reached: wait for one */
	int rsock;               /* to tern-remote (RMT_FD_QUEUED) */
	int rsock_blocked;
	unsigned long rconc;     /* remote_concurrency */
	unsigned long dconc;     /* destination_concurrency */
	unsigned long rmax;      /* remote_max_recipients */
	unsigned long rinflight; /* jobs out */
	struct waitq gwait;      /* waiting for remote_concurrency */
	struct dest **dtab;      /* destinations by name */
	size_t dtabsz, ndest;
	time_t min_backoff, max_backoff, lifetime;
	time_t bounce_lifetime;  /* lifetime of mail with the null sender */
	time_t delay_warning;    /* delay_warning_time, 0 off */
	unsigned long factor;
	int stopping;            /* SIGTERM: no new attempts */
	time_t now;              /* refreshed once per loop turn */
	const char *enqueue;     /* program_dir/tern-enqueue */
	const char *host;        /* hostname for DSNs */
	/* the message table */
	struct msg **tab;
	size_t tabsz, nmsg;
	struct msg **heap;
	size_t nheap, heapcap;
	struct msg *ready, *ready_tail;
	struct msg *loaded;
};

extern struct sched sched;

/* queue.c, scan.c */
struct msg *sq_find(const char *id);
struct msg *sq_add(const char *id);
void sq_forget(struct msg *m);
void heap_set(struct msg *m, time_t due);
void heap_del(struct msg *m);
struct msg *heap_top(void);
void heap_all_due(time_t now);
int sq_load(struct msg *m);
void sq_unload(struct msg *m);
int sq_persist(struct msg *m);
void sq_settle(struct msg *m);
void sq_remove_files(const char *id);
void sq_corrupt(const char *id, const char *why);
void sq_recover(void);
int sq_scan_todo(void);
void sq_housekeeping(void);
void sq_recheck_local(void);
void sq_persist_all(void);
/* s made safe for a log line, into out (LOG_SAFE_MAX bytes) */
const char *sq_safe(char *out, const char *s);

/* deliver.c */
void sd_dispatch(void);
void sd_ready_add(struct msg *m);
int sd_replies(void);
time_t sd_backoff(unsigned attempts);

/* relay.c */
/* Send a job for recipient i of m (loaded) and the other due recipients
 * of its domain: 1 sent, 0 it must wait (RF_BLOCKED set, the message
 * will be on a wait list when it settles), -1 the socket is full. */
int sy_send(struct msg *m, size_t i);
/* Read every result from tern-remote: 1 ok, 0 it is gone, -1 error. */
int sy_replies(void);
/* At settle: put m on the wait list it is blocked on (or in the heap
 * when a slot is free meanwhile).  1 it waits, 0 it was not blocked. */
int sy_park(struct msg *m);
/* m leaves memory or gets loaded: off its wait list. */
void sy_unwait(struct msg *m);
/* m is unloaded: its ld->blocked no longer keeps the destination. */
void sy_unpin(struct load *ld);
/* Wake waiting messages while slots are free. */
void sy_wake_all(void);

/* deliver.c, the common part of a result */
void sd_outcome(struct msg *m, size_t idx, char code, const char *text,
    const char *relay, const char *tls, int dsn);

/* bounce.c: the DSNs of a loaded message (RFC 3461, 3464).  Each
 * returns 1 done (or nothing to do), 0 try again later (the notice could
 * not be queued; the recipients keep their state). */
/* No recipient pending, some RS_FAILED: the failure DSN (honouring
 * NOTIFY), then every failed recipient is RS_BOUNCED. */
int sb_finish_failed(struct msg *m);
/* RS_DONE recipients with NOTIFY=SUCCESS, not QR_NOTIFIED and not
 * QR_NEXTHOP_DSN: a "delivered" (local) or "relayed" (QR_RELAYED)
 * notice; sets QR_NOTIFIED. */
int sb_success(struct msg *m);
/* When delay_warning_time has passed since arrival: a "delayed" notice
 * for the pending recipients that want it and are not QR_WARNED; sets
 * QR_WARNED. */
int sb_delay(struct msg *m);

/* req.c */
void sr_request(const char *id, const char *action);
void sr_flush_all(void);

#endif
