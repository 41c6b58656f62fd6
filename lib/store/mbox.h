/*
 * mbox: reading and changing one Maildir as a mailbox, for tern-pop3d and
 * tern-imapd (http://cr.yp.to/proto/maildir.html).
 *
 * A message is a file in new/ or cur/.  Its BASE name is the file name up
 * to the first ':' (the unique part; ":2,FLAGS" after it is the info that
 * changes with flags); the base never changes while the message lives, so
 * it is the message's identity for both servers:
 *
 *   - IMAP UIDs: the file tern-uidlist in the Maildir maps base names to
 *     UIDs (RFC 3501 2.3.1.1):
 *         tern-uidlist 1 UIDVALIDITY UIDNEXT\n
 *         UID BASE\n            (ascending UIDs, one line per message)
 *     It is changed only under an exclusive flock(2) of tern-uidlist.lock,
 *     and replaced atomically (tern-uidlist.tmp, fsync, rename).  New
 *     messages get UIDNEXT, UIDNEXT+1, ... in the order of their base
 *     names (delivery time first).  A missing or unreadable list starts
 *     again with a new UIDVALIDITY (the current time).
 *   - POP3 UIDLs (RFC 1939 7) are computed from the base name alone, so
 *     they stay the same even if tern-uidlist is lost: the base name
 *     itself when it is 1 to 70 characters of 0x21..0x7e, else "~" and
 *     the first 32 hex digits of the SHA-256 of the base name.
 *
 * Sizes are those of the message as served, with CRLF line ends (RFC 1939
 * LIST, RFC 3501 RFC822.SIZE): the ",W=" field of the base name written by
 * lib/store/mdname.h (and Dovecot), else counted by reading the file once: the
 * bytes plus one for each LF that is not preceded by CR.  A scan costs
 * one readdir(3) of new/ and one of cur/, and no stat(2).
 *
 * Return convention: 1 ok, 0 soft (not found, in use), -1 error + errno.
 */
#ifndef TERN_MBOX_H
#define TERN_MBOX_H

#include <stddef.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "store/mdname.h"

#define MBOX_UIDLIST "tern-uidlist"
#define MBOX_UIDLIST_LOCK "tern-uidlist.lock"
#define MBOX_POP3_LOCK "tern-pop3.lock"   /* tern-pop3d's session lock */
#define MBOX_UIDL_MAX 70                  /* RFC 1939 7: 1 to 70 octets */
#define MBOX_UID_MAX 4294967295UL         /* RFC 3501: 32-bit, nonzero */
#define MBOX_SIZE_UNKNOWN (~0ULL)
#define MBOX_LOCK_WAIT 10                 /* seconds for the uidlist lock */

struct mbox_msg {
	size_t name;            /* offset of the file name in mbox.names */
	size_t len;             /* length of the file name */
	size_t baselen;         /* length of its base (before ':') */
	int in_new;             /* 1: the file is in new/, 0: in cur/ */
	unsigned long uid;      /* IMAP UID after mbox_uids, else 0 */
	unsigned long long size;/* served size, or MBOX_SIZE_UNKNOWN */
};

struct mbox {
	char *dir;              /* the Maildir */
	struct buf names;       /* every file name, NUL-terminated */
	struct mbox_msg *msg;   /* the messages */
	size_t n, cap;
	unsigned long uidvalidity, uidnext;  /* after mbox_uids */
	int uid_reset;          /* mbox_uids made a new UIDVALIDITY: 1 there
				 * was no list, 2 it was unusable or the
				 * UIDs ran out; 0 kept */
	int lockfd;             /* mbox_lock's fd, or -1 */
};

/* Start with the Maildir dir (copied); no file is touched.  1 or -1. */
int mbox_open(struct mbox *mb, const char *dir);
/* Release everything, including the lock of mbox_lock. */
void mbox_close(struct mbox *mb);
/* Take an exclusive flock of dir/file (created 0600 if missing), held
 * until mbox_close.  1 locked, 0 someone else holds it, -1 error. */
int mbox_lock(struct mbox *mb, const char *file);
/* Read new/ then cur/ (a message moved between the two reads is seen
 * once).  to_cur: rename every new/NAME to cur/NAME:2, first (POP3 and
 * IMAP SELECT take delivery).  Names that start with '.' or hold control
 * characters are skipped.  The messages end up sorted by name.  1 or -1. */
int mbox_scan(struct mbox *mb, int to_cur);
/* Bring tern-uidlist up to date with the scanned messages (new ones get
 * UIDs, vanished ones are dropped), set uid, uidvalidity and uidnext, and
 * sort the messages by UID.  1, or -1 (messages unchanged; ETIMEDOUT when
 * the lock stays taken for MBOX_LOCK_WAIT seconds). */
int mbox_uids(struct mbox *mb);
/* A UIDVALIDITY for a new folder of the Maildir root: the time, but
 * above the last one given (root/tern-uidvalidity, under a lock), so a
 * folder deleted and created again within a second still gets a new one
 * (RFC 9051 2.3.1.1).  1 with *v_r, or -1. */
int mbox_validity_next(const char *root, unsigned long *v_r);
/* Write an empty tern-uidlist with that UIDVALIDITY into the new folder
 * dir.  1 or -1. */
int mbox_uid_start(const char *dir, unsigned long validity);
/* The UIDVALIDITY and UIDNEXT of dir's tern-uidlist, and its fstat(2)
 * (of the very file read: it is only replaced by rename).  1, 0 missing
 * or malformed, -1 error. */
int mbox_uidlist_head(const char *dir, unsigned long *validity_r,
    unsigned long *next_r, struct stat *st);
/* The file name of message i (valid until the next call that changes
 * the mailbox). */
const char *mbox_name(const struct mbox *mb, size_t i);
/* Served (CRLF) size of message i: from the name, else counted (once).
 * 1, 0 the file is gone, -1 error. */
int mbox_size(struct mbox *mb, size_t i, unsigned long long *size_r);
/* POP3 unique-id of message i into out (MBOX_UIDL_MAX + 1 bytes).  1 or
 * -1. */
int mbox_uidl(const struct mbox *mb, size_t i, char *out);
/* Open message i for reading (O_RDONLY).  When the file was renamed
 * meanwhile (another session changed its flags) it is looked up again by
 * its base name.  fd >= 0, or -1 (ENOENT: the message is gone). */
int mbox_msg_open(struct mbox *mb, size_t i);
/* Look in dir's cur/, then new/, for a file whose base name is base
 * (baselen bytes): 1 found, its name into name_r and *in_new_r set; 0
 * none; -1 error.  How a message renamed by another program (a flag
 * change) is found again. */
int mbox_find_base(const char *dir, const char *base, size_t baselen,
    struct buf *name_r, int *in_new_r);
/* Unlink message i (found again by base name if renamed).  1 removed,
 * 0 it was already gone, -1 error.  mbox_sync makes removals durable. */
int mbox_remove(struct mbox *mb, size_t i);
/* fsync cur/ and new/.  1 or -1. */
int mbox_sync(struct mbox *mb);

/* ---- pure helpers on names and bytes (unit-tested) -------------------- */

/* (Base names and their ",S=" / ",W=" fields: lib/store/mdname.h.) */
/* POP3 unique-id of a base name into out (MBOX_UIDL_MAX + 1 bytes), as
 * described above.  1 or -1. */
int mbox_uidl_of(const char *base, size_t n, char *out);
/* Served size of n bytes of message text; *cr carries "the last byte was
 * CR" across calls (start with 0). */
unsigned long long mbox_crlf_size(const char *p, size_t n, int *cr);

#endif
