/*
 * addrlist: an RFC 5322 3.4 address-list read item by item with the
 * parts IMAP's ENVELOPE wants (RFC 3501 7.4.2: display name, source
 * route, mailbox, host; group start and end).  Unlike hdr_addrlist (which
 * gives the addr-specs for delivery), this keeps the display name and the
 * obsolete route, and never fails on bad syntax: it skips what it cannot
 * read and gives what it could.  Pure, on (bytes, length); the items'
 * buffers are the only allocation.
 */
#ifndef TERN_ADDRLIST_H
#define TERN_ADDRLIST_H

#include <stddef.h>
#include "util/buf.h"

enum addrlist_kind {
	ADDRLIST_MAILBOX,    /* name, route, local, domain */
	ADDRLIST_GROUP,      /* "name:" starts a group (name in name) */
	ADDRLIST_GROUP_END   /* ";" ends it (also at the end of the list) */
};

struct addrlist_item {
	enum addrlist_kind kind;
	/* display name: quoted strings unquoted, words separated by one
	 * space where the header had white space; RFC 2047 words stay
	 * encoded.  For an addr-spec without one, the last comment after
	 * it (as Dovecot does: "a@b (Name)"). */
	struct buf name;
	struct buf route;    /* "@a,@b" of an obsolete route-addr */
	struct buf local;    /* as written (a quoted local part keeps quotes) */
	struct buf domain;
	int has_name, has_route, has_local, has_domain;
};

struct addrlist {
	const char *s;
	size_t n, pos;
	int in_group;
};

#define ADDRLIST_ITEM_INIT { ADDRLIST_MAILBOX, BUF_INIT, BUF_INIT, \
	BUF_INIT, BUF_INIT, 0, 0, 0, 0 }

/* Start reading the value v[0..n) (still folded is fine). */
void addrlist_init(struct addrlist *a, const char *v, size_t n);
/* The next item into it (its buffers are reset and reused): 1 an item,
 * 0 the end, -1 ENOMEM.  Each call moves on, so a loop ends. */
int addrlist_next(struct addrlist *a, struct addrlist_item *it);
/* Release the item's buffers. */
void addrlist_item_free(struct addrlist_item *it);

#endif
