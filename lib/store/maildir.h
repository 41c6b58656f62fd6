/*
 * maildir: delivery into a Maildir (http://cr.yp.to/proto/maildir.html)
 * and Maildir++ folders.
 *
 * A delivery writes tmp/NAME, fsyncs it, links it to new/NAME (rename when
 * link is not possible), removes tmp/NAME and (syncdir) fsyncs new/.
 * Only then is the delivery reported done.  NAME is
 *   SECONDS.M<usec>P<pid>Q<counter>.HOST,S=<bytes on disk>,W=<bytes with CRLF>
 * The ,S= and ,W= fields let POP3/IMAP size messages without reading them.
 * Names are built and parsed only by lib/store/mdname.h.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#define MAILDIR_NAME_MAX 255

/* Create dir/{cur,new,tmp} (and dir) with mode 0700 if missing.  1 or -1 */
int maildir_make(const char *dir);
/*
 * Deliver: the bytes hdr[0..hlen) (headers tern adds, LF line ends)
 * followed by the rest of fd from offset off to EOF, into dir/new.
 * name_r (MAILDIR_NAME_MAX+1 bytes) receives the file name.  syncdir 0
 * leaves out the fsync of new/: only for a caller whose later durable
 * step orders after the link (tern-deliverd, maildir_sync_dirs in
 * tern.conf(5)).  1 done, -1 error with errno (ENOSPC/EDQUOT: temporary).
 */
int maildir_deliver(const char *dir, const char *hdr, size_t hlen, int fd,
    off_t off, char *name_r, int syncdir);
/* A new unique part SECONDS.M<usec>P<pid>Q<counter>.HOST (usec six
 * digits: names sort by time) into out.  1 or -1 (ENAMETOOLONG). */
int maildir_unique(char *out, size_t outsz);
/* The folder path for Maildir++ folder name (e.g. "Junk") inside dir:
 * dir/.Junk.  1 ok, 0 bad folder name, -1 ENAMETOOLONG. */
int maildir_folder(char *out, size_t outsz, const char *dir,
    const char *folder);
/* Maildir++ usage (the quota of tern-deliverd and IMAP QUOTA): the bytes
 * (each file's ,S= or its size) and the count of the messages in new/
 * and cur/ of dir and of its folders (.NAME).  Unreadable parts count
 * nothing.  1. */
int maildir_usage(const char *dir, unsigned long long *bytes_r,
    unsigned long *count_r);

#endif
