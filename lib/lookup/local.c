/*
 * local: resolve a recipient of a local domain to a mailbox (users map or
 * system account) or to alias targets, in the order documented in
 * local.h.  tern-smtpd asks at RCPT time and tern-deliverd at delivery,
 * through this one function, so the two never disagree about who exists.
 */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/str.h"
#include "mail/addr.h"
#include "daemon/cfg.h"
#include "daemon/priv.h"
#include "lookup/local.h"
#include "lookup/map.h"

int
local_open(struct local_maps *lm)
{
	char path[FS_PATH_MAX];
	int saved;

	lm->users.fd = lm->aliases.fd = -1;
	lm->users.path = lm->aliases.path = NULL;
	lm->users.cdb = lm->aliases.cdb = NULL;
	lm->vuid = getuid();
	lm->vgid = getgid();
	lm->vids = 1;
	if (priv_is_root()) {
		int r = priv_user(cfg_str(virtual_user), &lm->vuid, &lm->vgid);

		if (r < 0)
			return -1;
		lm->vids = r;
	}
	if (fs_join(path, sizeof path, cfg_dir(), "users.cdb") < 0 ||
	    map_open(&lm->users, path) < 0)
		return -1;
	if (fs_join(path, sizeof path, cfg_dir(), "aliases.cdb") < 0 ||
	    map_open(&lm->aliases, path) < 0) {
		saved = errno;
		map_close(&lm->users);
		errno = saved;
		return -1;
	}
	return 1;
}

void
local_close(struct local_maps *lm)
{
	map_close(&lm->users);
	map_close(&lm->aliases);
}

int
local_domain(const char *domain)
{
	return *domain != '\0' && cfg_inlist(local_domains, domain);
}

int
local_canon(const char *name, int lower, struct buf *out)
{
	struct buf tmp = BUF_INIT;
	const char *msg, *dom, *at;
	int r;

	if (strchr(name, '@') == NULL) {
		dom = cfg_list(local_domains, 0);
		if (dom == NULL || name[0] == '\0')
			return 0;
		if (buf_copys(&tmp, name) < 0 || buf_catc(&tmp, '@') < 0 ||
		    buf_cats(&tmp, dom) < 0) {
			buf_free(&tmp);
			return -1;
		}
		name = tmp.s;
	}
	r = addr_parse(name, strlen(name), ADDR_UTF8, out, &msg);
	buf_free(&tmp);
	if (r != 1)
		return r;
	/* addr_parse lower-cased the domain and dropped its trailing dot */
	at = strrchr(out->s, '@');
	if (at == NULL || at == out->s || at[1] == '\0')
		return 0;
	if (lower)
		str_lower(out->s, (size_t)(at - out->s));
	return 1;
}

/* mail_dir/DOMAIN/LOCAL/Maildir, or the map's path (absolute, or
 * relative to mail_dir). */
static int
user_maildir(const char *key, const char *dir, struct buf *out)
{
	const char *at = strrchr(key, '@');
	size_t locallen = at ? (size_t)(at - key) : strlen(key);

	if (dir[0] == '/')
		return buf_copys(out, dir);
	if (buf_copys(out, cfg_str(mail_dir)) < 0 || buf_catc(out, '/') < 0)
		return -1;
	if (dir[0] != '\0')
		return buf_cats(out, dir);
	/* tern-map refuses such keys without a MAILDIR; checked again
	 * because a path is built from them */
	if (at == NULL || key[0] == '.' || memchr(key, '/', locallen)) {
		errno = EINVAL;
		return -1;
	}
	if (buf_cats(out, at + 1) < 0 || buf_catc(out, '/') < 0 ||
	    buf_cat(out, key, locallen) < 0 || buf_cats(out, "/Maildir") < 0)
		return -1;
	return 1;
}

/* The owner of virtual mailboxes: virtual_user as root, else ourselves. */
static int
virtual_ids(const struct local_maps *lm, uid_t *uid, gid_t *gid)
{
	if (!lm->vids) {
		errno = ENOENT;  /* virtual_user missing: a config error, defer */
		return -1;
	}
	*uid = lm->vuid;
	*gid = lm->vgid;
	return 1;
}

/* users map entry for key.  1, 0, -1. */
static int
try_user(struct local_maps *lm, const char *key, size_t keylen,
    struct local_target *t)
{
	struct buf v = BUF_INIT;
	const char *hash, *dir;
	int r;

	if ((r = map_get(&lm->users, key, keylen, &v)) <= 0) {
		buf_free(&v);
		return r;
	}
	r = -1;
	if (!map_user_parse(v.s, &hash, &dir, &t->quota)) {
		errno = EPROTO;
		goto done;
	}
	if (buf_copy(&t->user, key, keylen) < 0)
		goto done;
	/* the map key's form (map_get matched without regard to case): the
	 * default mailbox path is made from it, never from the spelling */
	str_lower(t->user.s, t->user.len);
	if (user_maildir(t->user.s, dir, &t->maildir) >= 0 &&
	    virtual_ids(lm, &t->uid, &t->gid) >= 0) {
		t->kind = LOCAL_USER;
		r = 1;
	}
done:
	buf_free(&v);
	return r;
}

/* The targets of an alias with a bare key ("root: demo"): a target
 * without '@' is in the domain of the address looked up, dom. */
static int
qualify(struct buf *targets, const char *dom)
{
	struct buf q = BUF_INIT;
	const char *p = buf_str(targets), *e;
	size_t n;
	int r = 1;

	while (r > 0 && *p != '\0') {
		e = strchr(p, ',');
		n = e ? (size_t)(e - p) : strlen(p);
		if ((q.len > 0 && buf_catc(&q, ',') < 0) ||
		    buf_cat(&q, p, n) < 0 ||
		    (memchr(p, '@', n) == NULL && (buf_catc(&q, '@') < 0 ||
		    buf_cats(&q, dom) < 0)))
			r = -1;
		p += e ? n + 1 : n;
	}
	if (r > 0 && buf_copy(targets, buf_str(&q), q.len) < 0)
		r = -1;
	buf_free(&q);
	return r;
}

/* users, then aliases, for key (local@domain, lower case): the address,
 * then the local part alone (the bare key of a classic aliases line,
 * "this local part in every local domain").  1, 0, -1. */
static int
try_maps(struct local_maps *lm, const char *key, size_t keylen,
    struct local_target *t)
{
	size_t n = keylen;
	int r;

	if ((r = try_user(lm, key, keylen, t)) != 0)
		return r;
	if ((r = map_get(&lm->aliases, key, keylen, &t->targets)) == 0) {
		/* the local part before the last '@' (a quoted local part
		 * may hold one too) */
		while (n > 0 && key[n - 1] != '@')
			n--;
		if (n <= 1)
			return 0;
		n--;
		r = map_get(&lm->aliases, key, n, &t->targets);
		if (r > 0 && qualify(&t->targets, key + n + 1) < 0)
			return -1;
	}
	if (r <= 0)
		return r;
	if (buf_copy(&t->user, key, n) < 0)
		return -1;
	str_lower(t->user.s, t->user.len);
	t->kind = LOCAL_ALIAS;
	return 1;
}

/* A system account named by the (base) local part.  1, 0, -1. */
static int
try_system(const char *local, size_t n, struct local_target *t)
{
	struct passwd *pw;

	if (n == 0 || local[0] == '"' || memchr(local, '/', n))
		return 0;
	if (buf_copy(&t->user, local, n) < 0)
		return -1;
	str_lower(t->user.s, t->user.len);
	errno = 0;
	pw = getpwnam(t->user.s);
	if (pw == NULL) {
		buf_reset(&t->user);
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			return 0;
		return -1;
	}
	/* root reads mail through an alias; never write as uid 0 */
	if (pw->pw_uid == 0) {
		buf_reset(&t->user);
		return 0;
	}
	if (buf_copys(&t->maildir, pw->pw_dir) < 0 ||
	    buf_cats(&t->maildir, "/Maildir") < 0)
		return -1;
	t->uid = pw->pw_uid;
	t->gid = pw->pw_gid;
	t->kind = LOCAL_SYSTEM;
	return 1;
}

static int
target_reset(struct local_target *t)
{
	t->kind = LOCAL_NONE;
	t->quota = 0;
	t->uid = 0;
	t->gid = 0;
	buf_reset(&t->user);
	buf_reset(&t->maildir);
	buf_reset(&t->targets);
	buf_reset(&t->tag);
	if (buf_copy(&t->user, "", 0) < 0 || buf_copy(&t->maildir, "", 0) < 0
	    || buf_copy(&t->targets, "", 0) < 0 || buf_copy(&t->tag, "", 0) < 0)
		return -1;
	return 1;
}

/* Steps 4 and 5 of local.h: the base address (user+tag -> user).  a is
 * local@domain in lookup form, spelt the same as written (for the tag),
 * base and local as from addr_base_local. */
static int
try_base(struct local_maps *lm, const char *a, const char *spelt,
    size_t base, size_t local, struct local_target *t)
{
	struct buf b = BUF_INIT;
	int r = 0;

	if (base < local) {
		if (buf_copy(&b, a, base) < 0 || buf_cats(&b, a + local) < 0)
			r = -1;
		else
			r = try_maps(lm, b.s, b.len, t);
		if (r > 0 && buf_copy(&t->tag, spelt + base + 1,
		    local - base - 1) < 0)
			r = -1;
	}
	if (r == 0 && cfg_bool(system_users)) {
		r = try_system(a, base, t);
		if (r > 0 && base < local && buf_copy(&t->tag,
		    spelt + base + 1, local - base - 1) < 0)
			r = -1;
	}
	buf_free(&b);
	return r;
}

/* The order of local.h for a (lookup form, alen bytes) and spelt (as
 * written, as long). */
static int
resolve(struct local_maps *lm, const char *a, const char *spelt, size_t alen,
    struct local_target *t)
{
	const char *dom = addr_domain(a);
	size_t base, local;
	int r;

	if ((r = try_maps(lm, a, alen, t)) != 0)
		return r;
	addr_base_local(a, cfg_str(recipient_delimiter), &base, &local);
	if ((r = try_base(lm, a, spelt, base, local, t)) != 0)
		return r;
	/* step 6: the catch-all "@domain" (dom - 1 is the '@') */
	if ((r = map_get(&lm->aliases, dom - 1, strlen(dom - 1),
	    &t->targets)) < 0)
		return -1;
	if (r > 0) {
		if (buf_copys(&t->user, dom - 1) < 0)
			return -1;
		str_lower(t->user.s, t->user.len);
		t->kind = LOCAL_ALIAS;
		return 1;
	}
	/* RFC 5321 4.5.1: postmaster must be accepted, found or not */
	if (base == 10 && str_ncaseeq(a, "postmaster", 10)) {
		if (buf_copy(&t->user, a, alen) < 0)
			return -1;
		str_lower(t->user.s, t->user.len);
		return 1;
	}
	return 0;
}

int
local_lookup(struct local_maps *lm, const char *addr, struct local_target *t)
{
	struct buf a = BUF_INIT, spelt = BUF_INIT;
	const char *at;
	int r = -1;

	if (target_reset(t) < 0)
		return -1;
	/* the bare "postmaster" (RCPT TO:<Postmaster>, 4.1.1.3) becomes the
	 * first local domain's; spelt keeps the case of the local part for
	 * the tag (it may name a Maildir++ folder), a is the lookup form:
	 * the same with the local part in lower case (local_canon's lower),
	 * made here rather than by parsing the address a second time */
	if ((r = local_canon(addr, 0, &spelt)) <= 0)
		goto done;
	r = -1;
	if (buf_copy(&a, spelt.s, spelt.len) < 0)
		goto done;
	r = 0;
	at = strrchr(a.s, '@');   /* local_canon always qualifies */
	if (at == NULL || !local_domain(at + 1))
		goto done;
	str_lower(a.s, (size_t)(at - a.s));
	r = -1;
	if (map_refresh(&lm->users) < 0 || map_refresh(&lm->aliases) < 0)
		goto done;
	r = resolve(lm, a.s, spelt.s, a.len, t);
done:
	if (r <= 0)
		t->kind = LOCAL_NONE;
	buf_free(&a);
	buf_free(&spelt);
	return r;
}

void
local_target_free(struct local_target *t)
{
	buf_free(&t->user);
	buf_free(&t->maildir);
	buf_free(&t->targets);
	buf_free(&t->tag);
}
