/*
 * deliverd.h: the parts of tern-deliverd and what they share.
 *
 *   main.c     start-up, the poll loop, requests from tern-queued, one
 *              child process per delivery, replies
 *   deliver.c  in the child: resolve the recipient, deliver into its
 *              Maildir as its owner (loop check, folder, quota, headers)
 *   alias.c    in the child: expand aliases, deliver the local targets
 *              (a process per target, as its owner), re-inject the
 *              remote ones through tern-enqueue
 *   rules.c    in the child, as the mailbox owner: the per-user rules
 *              file (block, discard, safe) and the X-Tern-Spam mark
 *   worker.c   mailbox workers: long-lived children, already
 *              virtual_user, that deliver one users-map mailbox request
 *              after another (no fork per delivery); the job packet
 */
#ifndef TERN_DELIVERD_H
#define TERN_DELIVERD_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "queue/dlv.h"
#include "lookup/local.h"

#define DD_HDR_MAX (256 * 1024)  /* header bytes read for the loop check */
#define DD_ALIAS_DEPTH 10        /* nested aliases */
#define DD_TARGETS_MAX 1000      /* addresses one alias may expand to */
#define DD_TIMEOUT 600           /* seconds a delivery child may take */

/* What a delivery is about; built by the child from the request. */
struct dd_ctx {
	struct local_maps *lm;
	const struct dlv_req *rq;
	int fd;                  /* the queue file; message at rq->off */
	off_t size;              /* message bytes from rq->off */
	struct buf hdr;          /* its header section (loop check) */
	const char *enqueue;     /* program_dir/tern-enqueue */
	int dropped;             /* 1: a mailbox worker, already the owner */
};

/*
 * Ids looked up at start-up, while still root: a mailbox of the users
 * map belongs to virtual_user, and a forwarded copy is injected as
 * queue_user (tern-enqueue then needs no setuid bit).  Not root: all are
 * our own ids.
 */
struct dd_ids {
	uid_t vuid, quid;
	gid_t vgid, qgid;
};
extern struct dd_ids dd_ids;

/* The spool's file system, looked at once at start-up (main.c): its
 * device and whether it writes metadata to its journal in the order it
 * was made (ext3, ext4, xfs), which lets a delivery leave out the fsync
 * of new/ (deliver.c dd_sync_new). */
struct dd_spoolfs {
	dev_t dev;
	int ordered;
	char type[32];
};
extern struct dd_spoolfs dd_spoolfs;

/* A result: code 'K', 'Z' or 'D' and a text starting with an RFC 3463
 * status code. */
struct dd_result {
	char code;
	char text[DLV_TEXT_MAX + 1];
};

/* deliver.c */
/* Set r and return r->code. */
char dd_set(struct dd_result *r, char code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The size and header section of c's message (c->size, c->hdr).  1, or
 * 0 with r set. */
int dd_prepare(struct dd_ctx *c, struct dd_result *r);
/* Deliver the request in the (forked) child.  Never returns -1: every
 * outcome is a result. */
void dd_deliver(struct dd_ctx *c, struct dd_result *r);
/* Deliver to one mailbox t as addr, in this process: drops to t's owner
 * first, so call it only in a process made for this one mailbox. */
void dd_mailbox(struct dd_ctx *c, const struct local_target *t,
    const char *addr, struct dd_result *r);
/* Fork a process that runs dd_mailbox, wait for it. */
void dd_mailbox_fork(struct dd_ctx *c, const struct local_target *t,
    const char *addr, struct dd_result *r);

/* Write r to a result pipe ("C TEXT"). */
void dd_result_send(int fd, const struct dd_result *r);
/* Make r from what a child wrote (b[0..n)) and its wait status. */
void dd_result_parse(const char *b, size_t n, int status,
    struct dd_result *r);

/* rules.c */

#define DD_RULES_FILE "tern-rules"  /* in the Maildir, tern-deliverd(8) */
#define DD_JUNK "Junk"              /* the Maildir++ folder for spam */
#define DR_BLOCK   0x1              /* refuse (5.7.1) */
#define DR_DISCARD 0x2              /* accept and drop */
#define DR_SAFE    0x4              /* never into Junk */

/* The DR_* flags of the rules in maildir/tern-rules that match sender
 * (canonical, "" for <>) or an address of the From: field of the header
 * section hdr[0..hlen).  0 when there is no file or nothing matches.
 * Call as the mailbox owner; log lines about the file start with qid,
 * the message's queue id. */
unsigned dd_rules(const char *qid, const char *maildir, const char *sender,
    const char *hdr, size_t hlen);
/* 1 if the header section has "X-Tern-Spam: yes" (tern-smtpd's mark). */
int dd_is_spam(const char *hdr, size_t hlen);

/* worker.c */
#define DW_PKT_MAX (DLV_PKT_MAX + 3 * FS_PATH_MAX + 64)
/* A job for a worker: the request packet as tern-queued sent it and the
 * target the parent resolved.  1, or 0 when it does not fit. */
int dw_pack(char *out, size_t outsz, size_t *len_r, const char *req,
    size_t reqlen, const struct local_target *t);
/* The other way; t starts zeroed (local_target_free after).  1, 0
 * malformed, -1 ENOMEM. */
int dw_unpack(const char *p, size_t n, struct dlv_req *rq,
    struct local_target *t);
/* The worker's life on socket sock: a job (with the queue file's fd),
 * a delivery as dd_mailbox, a result packet "C TEXT", until EOF.  Never
 * returns. */
void dw_main(int sock, struct local_maps *lm, const char *enqueue)
    __attribute__((noreturn));

/* alias.c */
void dd_alias(struct dd_ctx *c, const struct local_target *t,
    struct dd_result *r);

#endif
