/*
 * map_parse: the four text formats of the lookup tables (tern-map(8)),
 * one line at a time, into a cdb key and value: users and aliases here,
 * access and routes in map_parse_net.c.
 *
 * Map files are written by the administrator, but they decide who may
 * relay and where mail goes, so every field is validated here rather
 * than trusted at lookup time: addresses go through addr_parse, actions
 * and ports are checked, and constructs that would be dangerous (pipe
 * and file targets, RELAY keyed on something a client can forge) are
 * refused with a message.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "lookup/map_int.h"

#define HASH_MAX 512
/* the stand-in domain a bare local part is checked in (RFC 2606) */
#define BARE_DOMAIN "bare.invalid"

int
mapp_msgf(char *msg, size_t msgsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, msgsz, fmt, ap);  /* truncation is harmless */
	va_end(ap);
	return 0;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Split [s, end) at blanks into at most max fields; returns how many
 * there are (max + 1 meaning "more"). */
size_t
mapp_fields(const char *s, const char *end, struct fld *f, size_t max)
{
	size_t nf = 0;

	for (;;) {
		while (s < end && is_ws(*s))
			s++;
		if (s == end)
			return nf;
		if (nf == max)
			return max + 1;
		f[nf].s = s;
		while (s < end && !is_ws(*s))
			s++;
		f[nf].n = (size_t)(s - f[nf].s);
		nf++;
	}
}

/* Parse an address into out, canonical; the message shows the first
 * shown bytes of s.  1, 0 (msg), -1. */
static int
parse_shown(const char *s, size_t n, size_t shown, struct buf *out,
    char *msg, size_t msgsz)
{
	const char *e;
	int r = addr_parse(s, n, ADDR_UTF8, out, &e);

	if (r == 0)
		return mapp_msgf(msg, msgsz, "bad address '%.*s': %s",
		    (int)(shown > 80 ? 80 : shown), s, e);
	return r;
}

static int
parse_addr(const char *s, size_t n, struct buf *out, char *msg, size_t msgsz)
{
	return parse_shown(s, n, n, out, msg, msgsz);
}

/* The same, lower-cased as a key. */
int
mapp_key_addr(const char *s, size_t n, struct buf *out, char *msg, size_t msgsz)
{
	int r = parse_addr(s, n, out, msg, msgsz);

	if (r > 0)
		str_lower(out->s, out->len);
	return r;
}

/* A domain alone (no literal unless allow_lit), canonical into out. */
int
mapp_key_domain(const char *s, size_t n, int allow_lit, struct buf *out,
    char *msg, size_t msgsz)
{
	struct buf tmp = BUF_INIT;
	const char *e;
	int r;

	if (buf_cats(&tmp, "x@") < 0 || buf_cat(&tmp, s, n) < 0)
		return -1;
	r = addr_parse(tmp.s, tmp.len, ADDR_UTF8, out, &e);
	buf_free(&tmp);
	if (r == 0)
		return mapp_msgf(msg, msgsz, "bad domain '%.*s': %s",
		    (int)(n > 80 ? 80 : n), s, e);
	if (r < 0)
		return -1;
	buf_consume(out, 2);
	if (!allow_lit && addr_is_literal(out->s))
		return mapp_msgf(msg, msgsz,
		    "address literal not allowed here");
	return 1;
}

/* N[k|M|G] (x1024) */
static int
parse_size(const char *s, size_t n, unsigned long *r)
{
	unsigned long mul = 1, v;

	if (n > 1) {
		switch (s[n - 1]) {
		case 'k': case 'K': mul = 1024UL; break;
		case 'm': case 'M': mul = 1024UL * 1024; break;
		case 'g': case 'G': mul = 1024UL * 1024 * 1024; break;
		}
		if (mul > 1)
			n--;
	}
	if (!str_ulong(s, n, ULONG_MAX / mul, &v))
		return 0;
	*r = v * mul;
	return 1;
}

/* A Maildir path may not climb out of mail_dir with "..". */
static int
path_ok(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j < n && s[j] != '/'; j++)
			;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
			return 0;
		i = j + 1;
	}
	return 1;
}

/* users: ADDRESS HASH [MAILDIR [QUOTA]] -> "HASH\tMAILDIR\tQUOTA" */
static int
p_users(const char *s, const char *end, struct buf *key, struct buf *val,
    char *msg, size_t msgsz)
{
	struct fld f[MAPP_FIELDS];
	size_t nf = mapp_fields(s, end, f, 4);
	unsigned long quota = 0;
	const char *dir = "-", *at;
	size_t dirn = 1;
	int r;

	if (nf < 2 || nf > 4)
		return mapp_msgf(msg, msgsz, nf < 2 ? "expected ADDRESS HASH "
		    "[MAILDIR [QUOTA]]" : "too many fields");
	if ((r = mapp_key_addr(f[0].s, f[0].n, key, msg, msgsz)) <= 0)
		return r;
	if (f[1].n > HASH_MAX || !(f[1].s[0] == '$' || f[1].s[0] == '!' ||
	    (f[1].n == 1 && f[1].s[0] == '*')))
		return mapp_msgf(msg, msgsz, "bad password hash (crypt(3) "
		    "'$...', or '*' or '!' for no login)");
	if (nf >= 3) {
		dir = f[2].s, dirn = f[2].n;
		if (!path_ok(dir, dirn))
			return mapp_msgf(msg, msgsz, "'..' in Maildir path");
	}
	if (dirn == 1 && dir[0] == '-') {
		/* default mail_dir/DOMAIN/LOCAL/Maildir: LOCAL must be a
		 * harmless directory name */
		at = strrchr(key->s, '@');
		if (key->s[0] == '.' || memchr(key->s, '/',
		    (size_t)(at - key->s)) != NULL)
			return mapp_msgf(msg, msgsz, "local part unusable as a "
			    "directory name: give a MAILDIR");
	}
	if (nf == 4 && !parse_size(f[3].s, f[3].n, &quota))
		return mapp_msgf(msg, msgsz, "bad quota '%.*s' (bytes, k, M "
		    "or G)", (int)(f[3].n > 40 ? 40 : f[3].n), f[3].s);
	if (buf_copy(val, f[1].s, f[1].n) < 0 || buf_catc(val, '\t') < 0 ||
	    buf_cat(val, dir, dirn) < 0 || buf_catc(val, '\t') < 0 ||
	    buf_catu(val, quota) < 0)
		return -1;
	return 1;
}

/* The end of a key or a target: the first byte of stop outside quotes. */
static const char *
scan_to(const char *s, const char *end, const char *stop)
{
	int q = 0;

	for (; s < end; s++) {
		if (q && *s == '\\' && s + 1 < end)
			s++;
		else if (*s == '"')
			q = !q;
		else if (!q && strchr(stop, *s) != NULL)
			return s;
	}
	return end;
}

void
mapp_trim(const char **s, const char **e)
{
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

/* A bare local part [s, e), canonical and lower-cased, into out: checked
 * as the local part of an address in a stand-in domain.  1, 0 (msg),
 * -1. */
static int
bare_local(const char *s, const char *e, struct buf *out, char *msg,
    size_t msgsz)
{
	struct buf t = BUF_INIT;
	int r = -1;

	if (buf_cat(&t, s, (size_t)(e - s)) >= 0 &&
	    buf_cats(&t, "@" BARE_DOMAIN) >= 0)
		r = parse_shown(t.s, t.len, (size_t)(e - s), out, msg, msgsz);
	buf_free(&t);
	if (r > 0) {
		/* sizeof counts the NUL: as long as the '@' */
		buf_truncate(out, out->len - sizeof BARE_DOMAIN);
		str_lower(out->s, out->len);
	}
	return r;
}

/* One alias target, qualified with domain when it has no '@'; domain
 * NULL (a bare key): such a target stays a bare local part, qualified
 * at lookup time with the domain looked up (lib/lookup/local.c). */
static int
alias_target(const char *s, const char *e, const char *domain,
    struct buf *val, char *msg, size_t msgsz)
{
	struct buf t = BUF_INIT, a = BUF_INIT;
	int r, bare = 0;

	mapp_trim(&s, &e);
	if (s == e)
		return mapp_msgf(msg, msgsz, "empty target");
	if (*s == '|' || *s == '/' || str_ncaseeq(s, ":include:", 9))
		return mapp_msgf(msg, msgsz, "%s targets are not supported",
		    *s == '|' ? "pipe" : *s == '/' ? "file" : "include");
	if (buf_cat(&t, s, (size_t)(e - s)) < 0)
		return -1;
	if (scan_to(s, e, "@") == e) {
		bare = domain == NULL;
		if (buf_catc(&t, '@') < 0 || buf_cats(&t, bare ? BARE_DOMAIN :
		    domain) < 0) {
			buf_free(&t);
			return -1;
		}
	}
	/* the local part keeps its case: it may matter to a remote host
	 * (RFC 5321 2.4) */
	r = parse_shown(t.s, t.len, (size_t)(e - s), &a, msg, msgsz);
	if (r > 0 && bare)
		buf_truncate(&a, a.len - sizeof BARE_DOMAIN);
	/* a bare target is qualified at lookup time after its last '@' */
	if (r > 0 && bare && memchr(a.s, '@', a.len) != NULL)
		r = mapp_msgf(msg, msgsz, "'@' in a local part without domain");
	if (r > 0 && memchr(a.s, ',', a.len) != NULL)
		r = mapp_msgf(msg, msgsz, "comma in target address");
	if (r > 0 && ((val->len > 0 && buf_catc(val, ',') < 0) ||
	    buf_cat(val, a.s, a.len) < 0))
		r = -1;
	buf_free(&t);
	buf_free(&a);
	return r;
}

/* aliases: KEY: TARGET[, TARGET...] -> "t1,t2,..." */
static int
p_aliases(const char *s, const char *end, struct buf *key, struct buf *val,
    char *msg, size_t msgsz)
{
	const char *colon = scan_to(s, end, ":"), *ks = s, *ke = colon, *t;
	int r, bare = 0;

	mapp_trim(&ks, &ke);
	if (colon == end || ks == ke)
		return mapp_msgf(msg, msgsz,
		    "expected KEY: TARGET[, TARGET...]");
	if (*ks == '@') {
		r = mapp_key_domain(ks + 1, (size_t)(ke - ks - 1), 1, key,
		    msg, msgsz);
		if (r <= 0)
			return r;
		if (buf_copys(val, "@") < 0 || buf_cat(val, key->s,
		    key->len) < 0 || buf_copy(key, val->s, val->len) < 0)
			return -1;
	} else if (scan_to(ks, ke, "@") == ke) {
		/* a bare local part, as in /etc/aliases: that local part in
		 * every local domain */
		if ((r = bare_local(ks, ke, key, msg, msgsz)) <= 0)
			return r;
		bare = 1;
	} else {
		r = mapp_key_addr(ks, (size_t)(ke - ks), key, msg, msgsz);
		if (r <= 0)
			return r;
	}
	buf_reset(val);
	for (s = colon + 1; ; s = t + 1) {
		t = scan_to(s, end, ",");
		if ((r = alias_target(s, t, bare ? NULL : addr_domain(key->s),
		    val, msg, msgsz)) <= 0)
			return r;
		if (t == end)
			break;
	}
	return 1;
}

int
mapp_line(enum map_type type, const char *line, size_t len, struct buf *key,
    struct buf *val, char *msg, size_t msgsz)
{
	const char *end = line + len;

	buf_reset(key);
	buf_reset(val);
	if (buf_copy(val, "", 0) < 0)
		return -1;
	switch (type) {
	case MAP_USERS:
		return p_users(line, end, key, val, msg, msgsz);
	case MAP_ALIASES:
		return p_aliases(line, end, key, val, msg, msgsz);
	case MAP_ACCESS:
		return mapp_access(line, end, key, val, msg, msgsz);
	case MAP_ROUTES:
		return mapp_routes(line, end, key, val, msg, msgsz);
	}
	return mapp_msgf(msg, msgsz, "unknown map type");
}

