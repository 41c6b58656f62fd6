/*
 * map_lookup: typed lookups on top of map_get, so every reader of the
 * access, routes and users tables builds keys and splits values the same
 * way that tern-map (map_parse.c) wrote them.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "lookup/map.h"

int
map_user_parse(char *val, const char **hash_r, const char **maildir_r,
    unsigned long *quota_r)
{
	char *t1 = strchr(val, '\t'), *t2;

	if (t1 == NULL || (t2 = strchr(t1 + 1, '\t')) == NULL)
		return 0;
	*t1 = *t2 = '\0';
	if (!str_ulongs(t2 + 1, ULONG_MAX, quota_r))
		return 0;
	*hash_r = val;
	*maildir_r = strcmp(t1 + 1, "-") == 0 ? "" : t1 + 1;
	return 1;
}

static const char *const action_names[] = {
	"OK", "REJECT", "RELAY", "DEFER", "DISCARD", NULL
};

int
map_access_parse(const char *val, enum map_action *act_r, const char **text_r)
{
	size_t i, n;

	for (i = 0; action_names[i]; i++) {
		n = strlen(action_names[i]);
		if (strncmp(val, action_names[i], n) == 0 &&
		    (val[n] == '\0' || val[n] == ' ')) {
			*act_r = (enum map_action)i;
			*text_r = val[n] ? val + n + 1 : val + n;
			return 1;
		}
	}
	return 0;
}

/* Look up "ADDR/LEN" for every prefix of the address, longest first. */
int
map_access_ip(struct map *m, const char *ip, struct buf *val_r)
{
	unsigned char bin[16], masked[16];
	char text[INET6_ADDRSTRLEN], key[INET6_ADDRSTRLEN + 8];
	int af = AF_INET6, len, maxlen, i, r;
	size_t off = 0, bytes;

	if (inet_pton(AF_INET, ip, bin) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, ip, bin) != 1)
		return 0;
	else if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)bin)) {
		/* ::ffff:a.b.c.d arrives from dual-stack sockets */
		af = AF_INET;
		off = 12;
	}
	bytes = af == AF_INET ? 4 : 16;
	maxlen = (int)bytes * 8;
	for (len = maxlen; len >= 0; len--) {
		memcpy(masked, bin + off, bytes);
		for (i = 0; i < (int)bytes; i++) {
			int keep = len >= (i + 1) * 8 ? 8 :
			    len > i * 8 ? len - i * 8 : 0;
			masked[i] &= (unsigned char)(0xff00 >> keep);
		}
		if (inet_ntop(af, masked, text, sizeof text) == NULL)
			return -1;
		if (snprintf(key, sizeof key, "%s/%d", text, len) >=
		    (int)sizeof key)
			return 0;
		if ((r = map_get(m, key, strlen(key), val_r)) != 0)
			return r;
	}
	return 0;
}

/* map_get of prefix + s */
static int
get2(struct map *m, const char *prefix, const char *s, struct buf *val_r)
{
	struct buf k = BUF_INIT;
	int r;

	if (buf_copys(&k, prefix) < 0 || buf_cats(&k, s) < 0) {
		buf_free(&k);
		return -1;
	}
	r = map_get(m, k.s, k.len, val_r);
	buf_free(&k);
	return r;
}

int
map_access_helo(struct map *m, const char *helo, struct buf *val_r)
{
	if (*helo == '\0')
		return 0;
	return get2(m, "helo:", helo, val_r);
}

int
map_access_addr(struct map *m, const char *kind, const char *addr,
    struct buf *val_r)
{
	struct buf pre = BUF_INIT;
	const char *dom = addr_domain(addr);
	int r;

	if (buf_copys(&pre, kind) < 0 || buf_catc(&pre, ':') < 0) {
		buf_free(&pre);
		return -1;
	}
	r = get2(m, pre.s, addr, val_r);
	if (r == 0 && *dom != '\0') {
		if (buf_catc(&pre, '@') < 0)
			r = -1;
		else
			r = get2(m, pre.s, dom, val_r);
	}
	buf_free(&pre);
	return r;
}

int
map_route(struct map *m, const char *domain, struct buf *val_r)
{
	const char *p;
	int r;

	if (*domain != '\0' && (r = map_get(m, domain, strlen(domain),
	    val_r)) != 0)
		return r;
	/* ".parent" entries cover every subdomain of parent */
	p = addr_is_literal(domain) ? NULL : strchr(domain, '.');
	for (; p != NULL; p = strchr(p + 1, '.'))
		if (p[1] != '\0' && (r = map_get(m, p, strlen(p), val_r)) != 0)
			return r;
	return map_get(m, "*", 1, val_r);
}
