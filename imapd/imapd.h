/*
 * imapd.h: what the files of tern-imapd and tern-imap-session share
 * (lib/login/loginproc.h, doc/DESIGN.md, tern-imapd(8) SECURITY):
 *
 *   main.c     tern-imapd's start-up and PARENT (root in production):
 *              password checks for the login child through
 *              lib/login/loginproc; after a good one it becomes the owner
 *              and executes tern-imap-session; it never reads the network
 *   login.c    the LOGIN child (imapd_user, no capabilities): the
 *              not-authenticated state (RFC 9051 3.1), STARTTLS, and after
 *              login the connection passed on, or the byte relay (TLS)
 *   sessmain.c tern-imap-session's start-up: the MAILBOX side (the
 *              owner, no capabilities, no TLS linked)
 *   session.c  the command reader (lines and literals), the command
 *              table, replies; in both programs
 *   mailbox.c  the selected state's view of one Maildir, its sync with
 *              the disk and the untagged updates (RFC 3501 7, 5.2)
 *   folder.c   mailbox names and Maildir++ folders: LIST, LSUB, CREATE,
 *              DELETE, RENAME, SUBSCRIBE, STATUS, NAMESPACE
 *   fetch.c    FETCH
 *   store.c    STORE, COPY, MOVE, APPEND, EXPUNGE
 *   search.c   SEARCH
 *   idle.c     IDLE (RFC 2177), woken by inotify
 *
 * Nothing outside imapd/ includes this file (doc/CONVENTIONS.md rule 1).
 */
#ifndef TERN_IMAPD_H
#define TERN_IMAPD_H

#include <stddef.h>

struct stat;

#include "util/buf.h"
#include "util/io.h"
#include "queue/qid.h"
#include "lookup/local.h"
#include "net/peer.h"
#include "imap/parse.h"
#include "store/mdcache.h"
#include "store/mdindex.h"
#include "store/mdhdr.h"

/* RFC 7162 3: a server should accept lines of at least 8192 octets;
 * 64 KiB as Dovecot (a long ID, a UID set of thousands of ranges). */
#define IMAP_LINE_MAX 65536
/* A literal of a command other than APPEND (a password, a search
 * string, a mailbox name). */
#define IMAP_LITERAL_MAX 65536
/* Before login: a password literal (AUTH_PASS_MAX) and some room. */
#define IMAP_LOGIN_LITERAL_MAX 4096
/* A whole command without APPEND's message: lines and literals. */
#define IMAP_CMD_MAX (256 * 1024)
/* RFC 7888 4: LITERAL- allows non-synchronizing literals up to 4096. */
#define IMAP_TAG_MAX 64
#define IMAP_ERRORS_MAX 20       /* BAD replies before the session ends */
#define IMAP_HOST_MAX 255
#define IMAP_KEYWORDS 26         /* Maildir flag letters a..z */
#define IMAP_KEYWORD_MAX 100     /* octets in a keyword */
#define IMAP_NAME_MAX 255        /* a mailbox name on the wire */
#define IMAP_SEP '/'             /* the hierarchy separator we show */

/* Session states (bits, for the command table; RFC 9051 3). */
enum imap_state {
	ST_NOAUTH = 0x1,
	ST_AUTH = 0x2,
	ST_SEL = 0x4,
};

/* System flags (bits) and their Maildir letters. */
enum {
	IF_SEEN = 0x01,      /* S */
	IF_ANSWERED = 0x02,  /* R */
	IF_FLAGGED = 0x04,   /* F */
	IF_DELETED = 0x08,   /* T */
	IF_DRAFT = 0x10,     /* D */
	IF_FORWARDED = 0x20, /* P: $Forwarded (Dovecot: P is "passed") */
};

/* One message of the selected mailbox, in UID order. */
struct imsg {
	unsigned long uid;
	char *name;             /* file name in cur/ or new/ */
	size_t baselen;
	unsigned char name_shared;  /* name is in sel.names, not malloc'd */
	unsigned char in_new;   /* the file is in new/ */
	unsigned char recent;   /* \Recent for this session */
	unsigned char gone;     /* removed from disk, EXPUNGE not sent yet */
	unsigned char seen_sent;/* flags told to the client match */
	unsigned flags;         /* IF_* */
	unsigned long kw;       /* keyword bits, letter 'a' + bit */
	unsigned long long size;/* RFC822.SIZE, or MBOX_SIZE_UNKNOWN */
	unsigned long long modseq;  /* RFC 7162 MODSEQ (lib/store/mdindex) */
};

/* A folder's keyword names: letter 'a' + i is kw[i] (tern-keywords). */
struct kwtab {
	const char *dir;        /* the folder's Maildir */
	char *kw[IMAP_KEYWORDS];
	size_t n;               /* kw[n..] are all NULL */
};

/* The selected mailbox (RFC 9051 3.3). */
struct sel {
	char *dir;              /* its Maildir */
	struct buf name;        /* its name as the client sees it */
	int readonly;           /* EXAMINE */
	struct imsg *m;
	size_t n, cap;
	struct mdc_map cache;   /* tern-imapcache, when the view is from it
				 * (its names are the view's) */
	int lazy;               /* SELECT answered from cache's header; the
				 * view is built by sel_view */
	int save;               /* write the cache once the SELECT's
				 * reply is out (sel_idle), made at: */
	struct mdc_stamp save_pre;
	unsigned long uidvalidity, uidnext;
	unsigned long exists_sent;  /* the EXISTS count the client knows */
	unsigned long kw_told;  /* the keywords its FLAGS list had */
	unsigned long kw_missing;  /* letters tern-keywords did not name */
	size_t expunged;        /* by this command (EXPUNGE, CLOSE) */
	struct imap_seqset saved;  /* "$" (RFC 5182): UIDs, resolved */
	int ino;                /* inotify fd (the session's), -1 none */
	int wd[2];              /* its watches of new/ and cur/, -1 none */
	int dirty;              /* the disk may have changed */
	struct kwtab kwt;       /* its keywords */
	struct mdx idx;         /* its MODSEQs */
	struct mdh hdr;         /* cached header fields (ENVELOPE) */
};

struct imap;

/* The not-authenticated state, which only the login child serves
 * (login.c); NULL in tern-imap-session. */
struct imap_noauth {
	/* STARTTLS, LOGIN, AUTHENTICATE (s->verb says which) */
	void (*cmd)(struct imap *s, struct imap_p *p);
	/* the capabilities of this state after the common ones: 1 or -1 */
	int (*caps)(struct imap *s, struct buf *out);
	/* at the end of the session (the TLS close) */
	void (*end)(struct imap *s);
};

struct imap {
	struct io io;               /* login: the client; mailbox: the
	                             * connection, or ctl under TLS */
	const struct imap_noauth *noauth;
	char sid[SID_SIZE];
	char ip[PEER_ADDR_MAX];
	char host[IMAP_HOST_MAX + 1];
	enum imap_state state;
	int implicit_tls;           /* -T */
	int ctl;                    /* the socketpair end */
	int ino;                    /* inotify fd, kept across SELECTs (a
				     * close waits for the kernel: ms) */
	unsigned errors;
	struct local_maps maps;     /* parent only */

	/* the command being served */
	struct buf cmd;             /* assembled: lines and literals */
	char tag[IMAP_TAG_MAX + 1];
	const char *verb;           /* its name (upper case, static) */
	int uid;                    /* UID FETCH/STORE/...  */
	int tagged_sent;
	struct buf pend;            /* the tagged line, sent after the sync */

	/* mailbox process */
	struct buf login;           /* the user's canonical address */
	char *root;                 /* the user's Maildir (INBOX) */
	unsigned long quota;        /* bytes, from the users map; 0 none */
	struct sel sel;             /* valid in ST_SEL */
	unsigned long long append_limit;
	int utf8;                   /* ENABLE UTF8=ACCEPT or IMAP4rev2 */
	int rev2;                   /* ENABLE IMAP4rev2 (RFC 9051) */
	int utf8_enabled;           /* ENABLE UTF8=ACCEPT was given */
	int condstore;              /* RFC 7162 3.1: CONDSTORE enabled */
	int qresync;                /* ENABLE QRESYNC (implies condstore) */
	unsigned long nfetch, nstore, nappend, nexpunge;
};

/* ---- session.c ---------------------------------------------------------- */

/* Serve commands until the session ends; never returns. */
void session_loop(struct imap *s) __attribute__((noreturn));
/* Untagged "* ..." line (CRLF added). */
void imap_untagged(struct imap *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The tagged completion of the current command: status "OK", "NO" or
 * "BAD" and its text (a response code in brackets may start it).  BAD
 * counts as a client error. */
void imap_tagged(struct imap *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Syntax error in the arguments: BAD with the parser's reason. */
void imap_bad_args(struct imap *s, const struct imap_p *p);
/* Raw bytes (literals, built responses). */
void imap_put(struct imap *s, const void *p, size_t n);
void imap_flush(struct imap *s);
/* Flush and exit(status). */
void session_exit(struct imap *s, int status) __attribute__((noreturn));
/* After a read or write error or EOF at stage: log, exit(0). */
void session_lost(struct imap *s, const char *stage)
	__attribute__((noreturn));
/* Out of memory or a broken invariant: log, BYE, exit(111). */
void session_fatal(struct imap *s, const char *what)
	__attribute__((noreturn));
/* Read one line (for IDLE's DONE and AUTHENTICATE's responses) of at most
 * max bytes into line (max + 1 bytes), without the CRLF: 1, or 0 when it
 * was too long (read and dropped); EOF and errors end the session. */
int session_line(struct imap *s, char *line, size_t max, size_t *len_r);
/* The capability list after "CAPABILITY" (for the greeting, the command
 * and the login OK). */
void imap_capabilities(struct imap *s, struct buf *out);

/* The fds tern-imapd gives tern-imap-session (sessmain.c): its end of
 * the socketpair to the login child, and a pipe with the settings it
 * uses in tern.conf's format. */
#define SESSION_CTL_FD 3
#define SESSION_CONF_FD 4

/* ---- login.c: the not-authenticated state --------------------------------- */
void login_run(struct imap *s) __attribute__((noreturn));

/* ---- commands of every state (session.c) -------------------------------- */
void cmd_capability(struct imap *s, struct imap_p *p);
void cmd_noop(struct imap *s, struct imap_p *p);
void cmd_logout(struct imap *s, struct imap_p *p);
void cmd_id(struct imap *s, struct imap_p *p);
void cmd_enable(struct imap *s, struct imap_p *p);

/* ---- folder.c ------------------------------------------------------------ */
/* The Maildir of mailbox name (as on the wire, after imap_p_mailbox) into
 * a new string: 1, 0 not a valid name (NO sent), -1 ENOMEM. */
int folder_path(struct imap *s, const char *name, size_t n, char **dir_r);
/* A mailbox argument (list: a LIST pattern), in UTF-8 after ENABLE
 * UTF8=ACCEPT or IMAP4rev2, given back in modified UTF-7 as kept on
 * disk.  As imap_p_mailbox: 1, 0 bad (p->err), -1 ENOMEM. */
int mailbox_arg(struct imap *s, struct imap_p *p, struct buf *out, int list);
/* Append a mailbox name (modified UTF-7) as the client reads it: INBOX,
 * or a string, in UTF-8 once enabled.  1 or -1. */
int put_mailbox(const struct imap *s, struct buf *out, const char *name);
/* 1 if dir is a Maildir (has cur/). */
int folder_exists(const char *dir);
void cmd_list(struct imap *s, struct imap_p *p);
void cmd_lsub(struct imap *s, struct imap_p *p);
void cmd_create(struct imap *s, struct imap_p *p);
void cmd_delete(struct imap *s, struct imap_p *p);
void cmd_rename(struct imap *s, struct imap_p *p);
void cmd_subscribe(struct imap *s, struct imap_p *p);
void cmd_unsubscribe(struct imap *s, struct imap_p *p);
void cmd_status(struct imap *s, struct imap_p *p);
void cmd_namespace(struct imap *s, struct imap_p *p);

/* ---- quota.c (RFC 9208) -------------------------------------------------- */
void cmd_getquota(struct imap *s, struct imap_p *p);
void cmd_getquotaroot(struct imap *s, struct imap_p *p);
void cmd_setquota(struct imap *s, struct imap_p *p);
/* 1 if add more bytes stay within the user's quota (or there is none). */
int quota_allows(struct imap *s, unsigned long long add);

/* ---- mailbox.c ----------------------------------------------------------- */
void cmd_select(struct imap *s, struct imap_p *p);  /* SELECT, EXAMINE */
void cmd_check(struct imap *s, struct imap_p *p);
void cmd_close(struct imap *s, struct imap_p *p);   /* CLOSE, UNSELECT */
/* Bring the view up to date with the disk and tell the client: new
 * messages (EXISTS, RECENT), flag changes (FETCH FLAGS), and, when
 * expunges is 1, removed messages (EXPUNGE; RFC 3501 7.4.1 forbids them
 * during FETCH, STORE and SEARCH).  Errors are logged; the view stays. */
void sel_sync(struct imap *s, int expunges);
/* Hold the selected mailbox's MODSEQ index locked until the command
 * ends (sel_sync and sel_free release it): a command that changes flags
 * takes it before its first change, so its MODSEQ is above every other
 * session's.  1 or -1. */
int sel_hold_index(struct imap *s);
void sel_release_index(struct imap *s);
/* "* N FETCH (...)" of message i's state: UID when uid is 1 or QRESYNC
 * is on (RFC 7162 3.2.4), FLAGS when flags is 1, MODSEQ when CONDSTORE
 * is on.  1 or -1. */
int sel_tell_flags(struct imap *s, size_t i, int uid, int flags);
/* Append " MODSEQ (n)" of message i when CONDSTORE is enabled. */
int sel_modseq_item(const struct imap *s, size_t i, struct buf *out);
/* "* VANISHED (EARLIER) uids" of what was expunged after modseq, among
 * the UIDs of known (NULL: all); nothing when nothing was (RFC 7162
 * 3.2.5.1, 3.2.6). */
void sel_vanished_since(struct imap *s, unsigned long long modseq,
    struct imap_seqset *known);
/* Leave the selected state (no expunge). */
void sel_free(struct imap *s);
/* Build the view a SELECT of a cached folder left for later (nothing
 * when it is built): every command that uses the view calls it first
 * (session.c: all but those marked C_NOVIEW), and sel_sync when the
 * folder changed.  A cache that does not hold up ends the session. */
void sel_view(struct imap *s);
/* Work left for when the replies are sent and the next command is
 * awaited (read_command): the cache a SELECT's scan left to write. */
void sel_idle(struct imap *s);
/* Keyword letters kw known to the view (tern-keywords read again for
 * new ones); with tell, a FLAGS list that grew is sent now.  1 or -1. */
int kw_known(struct imap *s, unsigned long kw, int tell);
/* The system flags and keyword bits of a file name's ":2," letters. */
void sel_name_flags(const char *name, unsigned *flags_r, unsigned long *kw_r);
/* Maildir letters of a message's flags (system then keywords, sorted as
 * the Maildir spec asks) into out (at least 64 bytes). */
void sel_letters(const struct sel *sel, unsigned flags, unsigned long kw,
    char *out);
/* Append "(\Seen \Flagged kw1 ...)" of message i (plus \Recent). */
int sel_flag_list(const struct sel *sel, size_t i, struct buf *out);
/* A set that is "$" (RFC 5182 SEARCHRES) made into the saved result:
 * its UIDs for a UID command, else the sequence numbers of those still
 * here.  Other sets are left alone.  1 or -1 (ENOMEM). */
int sel_saved(struct imap *s, struct imap_seqset *set, int uid);
/* Append v to a set built in ascending order (ranges joined).  1 or -1. */
int seqset_push(struct imap_seqset *set, unsigned long v);
/* Rename message i to carry its flags as now on disk with flags/kw
 * added (op '+'), taken away ('-') or instead (0); *changed_r 1 when
 * the view's flags changed (the client is to hear of it).  1 done, 0
 * it is gone, -1 error. */
int sel_set_flags(struct imap *s, size_t i, int op, unsigned flags,
    unsigned long kw, int *changed_r);
/* Find message i again by its base name after another program renamed
 * it (a flag change): 1 found (name updated; its flags are told by the
 * next sync), 0 gone (the next sync expunges it), -1 error. */
int sel_relocate(struct imap *s, size_t i);
/* Open message i for reading, found again if renamed: fd, or -1
 * (ENOENT: it is gone). */
int sel_open(struct imap *s, size_t i);
/* Unlink message i (found again if renamed) and mark it gone; with
 * deleted_only, only if its file still has \Deleted.  1 removed, 2 kept
 * (no \Deleted now), 0 it was gone already, -1 error. */
int sel_unlink(struct imap *s, size_t i, int deleted_only);
/* fstat(2) of message i (found again if renamed).  1 or -1. */
int sel_stat(struct imap *s, size_t i, struct stat *st);
/* The path of message i into out. */
int sel_path(const struct sel *sel, size_t i, char *out, size_t outsz);
/* Parse a flag list "(...)", or flags separated by SP without the
 * parentheses (STORE), into system flags and keyword bits of the folder
 * of kt (new keywords get letters; tern-keywords is rewritten).  1, 0
 * syntax or a keyword we cannot keep (p->err set), -1 error. */
int sel_parse_flags(struct kwtab *kt, struct imap_p *p, unsigned *flags_r,
    unsigned long *kw_r, int *recent_r);
/* The bit of keyword name in kt, added when new.  1, 0 not keepable or
 * no letter left, -1 error. */
int kw_bit(struct kwtab *kt, const char *name, size_t n,
    unsigned long *bit_r);
void kw_free(struct kwtab *kt);
/* Message index by sequence number or UID set: calls fn for each
 * message in set (resolved), in order.  uid: the set names UIDs. */
int sel_each(struct imap *s, struct imap_seqset *set, int uid,
    int (*fn)(struct imap *, size_t, void *), void *arg);
/* Index of the message with this UID, or (size_t)-1. */
size_t sel_find_uid(const struct sel *sel, unsigned long uid);
/* Read the keywords of kt->dir into kt; 1 or -1. */
int keywords_load(struct kwtab *kt);

/* ---- fetch.c, store.c, search.c, idle.c ---------------------------------- */
void cmd_fetch(struct imap *s, struct imap_p *p);
void cmd_store(struct imap *s, struct imap_p *p);
void cmd_copy(struct imap *s, struct imap_p *p);    /* COPY, MOVE */
void cmd_expunge(struct imap *s, struct imap_p *p); /* EXPUNGE, UID EXPUNGE */
void cmd_append(struct imap *s, struct imap_p *p);
void cmd_search(struct imap *s, struct imap_p *p);
void cmd_idle(struct imap *s, struct imap_p *p);
/* Load message i as served (CRLF line ends) into out; 1, 0 gone, -1. */
int msg_load(struct imap *s, size_t i, struct buf *out);
/* The header fields of ENVELOPE and the common SEARCH keys of message i
 * (lib/store/mdhdr.h), from the folder's cache or else from the file's
 * header (then cached): 1, 0 the message is gone, -1 error. */
int msg_fields(struct imap *s, size_t i, struct buf *out);
/* Expunge the \Deleted messages (in set when set != NULL): unlink and
 * send EXPUNGE (send 0: silently, for CLOSE).  Count removed. */
size_t expunge_deleted(struct imap *s, struct imap_seqset *set, int send);

#endif
