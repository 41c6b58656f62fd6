/*
 * map_parse_net: the access and routes formats (tern-map(8)), whose keys
 * and values are network things: client addresses and networks, HELO
 * names, envelope addresses, relay hosts and ports.
 */
#include <arpa/inet.h>
#include <string.h>

#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "lookup/map_int.h"

#define ACCESS_TEXT_MAX 200
#define ROUTE_FIELDS 8       /* DOMAIN HOST and up to six options */  /* leaves room in a 512-octet reply line */

static const char *const actions[] = {
	"OK", "REJECT", "RELAY", "DEFER", "DISCARD", NULL
};

/* The key of an access line into key.  *forgeable_r: 1 when the client
 * chooses it freely (HELO, sender), so RELAY must not hang on it. */
static int
access_key(const char *s, size_t n, struct buf *key, int *forgeable_r,
    char *msg, size_t msgsz)
{
	struct buf a = BUF_INIT;
	const char *e;
	size_t pre;
	int r;

	*forgeable_r = 1;
	if (n > 5 && str_ncaseeq(s, "helo:", 5)) {
		if (buf_copy(key, s, n) < 0)
			return -1;
		str_lower(key->s, key->len);
		return 1;
	}
	pre = n >= 5 && str_ncaseeq(s, "from:", 5) ? 5 :
	    n >= 3 && str_ncaseeq(s, "to:", 3) ? 3 : 0;
	if (pre == 0) {
		*forgeable_r = 0;
		if ((r = mapp_cidr(s, n, key, &e)) == 0)
			return mapp_msgf(msg, msgsz, "bad key '%.*s': %s",
			    (int)(n > 60 ? 60 : n), s, e);
		return r;
	}
	*forgeable_r = pre == 5;
	if (pre == 5 && n == 7 && memcmp(s + 5, "<>", 2) == 0)
		r = buf_copys(&a, "") < 0 ? -1 : 1;
	else if (n > pre && s[pre] == '@')
		r = mapp_key_domain(s + pre + 1, n - pre - 1, 1, &a, msg,
		    msgsz);
	else
		r = mapp_key_addr(s + pre, n - pre, &a, msg, msgsz);
	if (r > 0 && (buf_copy(key, s, pre) < 0 || (s[pre] == '@' &&
	    buf_catc(key, '@') < 0) || buf_cat(key, a.s, a.len) < 0))
		r = -1;
	if (r > 0)
		str_lower(key->s, key->len);
	buf_free(&a);
	return r;
}

/* access: KEY ACTION [TEXT] -> "ACTION[ TEXT]" */
int
mapp_access(const char *s, const char *end, struct buf *key, struct buf *val,
    char *msg, size_t msgsz)
{
	struct fld f[2];
	const char *text, *te = end;
	size_t i;
	int forgeable, r;

	if (mapp_fields(s, end, f, 2) < 2)
		return mapp_msgf(msg, msgsz, "expected KEY ACTION [TEXT]");
	if ((r = access_key(f[0].s, f[0].n, key, &forgeable, msg, msgsz)) <= 0)
		return r;
	for (i = 0; actions[i]; i++)
		if (strlen(actions[i]) == f[1].n &&
		    str_ncaseeq(f[1].s, actions[i], f[1].n))
			break;
	if (actions[i] == NULL)
		return mapp_msgf(msg, msgsz, "bad action '%.*s' (OK, REJECT, "
		    "RELAY, DEFER or DISCARD)",
		    (int)(f[1].n > 20 ? 20 : f[1].n), f[1].s);
	if (i == MAP_RELAY && forgeable)
		return mapp_msgf(msg, msgsz, "RELAY keyed on HELO or sender "
		    "would make an open relay");
	text = f[1].s + f[1].n;
	mapp_trim(&text, &te);
	for (s = text; s < te; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return mapp_msgf(msg, msgsz,
			    "TEXT must be printable ASCII");
	if (te - text > ACCESS_TEXT_MAX)
		return mapp_msgf(msg, msgsz, "TEXT longer than %d bytes",
		    ACCESS_TEXT_MAX);
	if (buf_copys(val, actions[i]) < 0 || (te > text &&
	    (buf_catc(val, ' ') < 0 || buf_cat(val, text,
	    (size_t)(te - text)) < 0)))
		return -1;
	return 1;
}

/* HOST[:PORT] with HOST a name, an IPv4 address, [NAME] or [IP]
 * (brackets: no MX lookup) -> normalised into val */
static int
route_dest(const char *s, size_t n, struct buf *val, char *msg, size_t msgsz)
{
	const char *end = s + n, *he, *colon;
	unsigned char bin[16];
	unsigned long port;
	char ip[256];   /* an IP address or a [name] (RFC 1035 2.3.4) */
	int r;

	if (n > 0 && s[0] == '[') {
		he = memchr(s, ']', n);
		if (he == NULL || he == s + 1 || (size_t)(he - s - 1) >=
		    sizeof ip)
			return mapp_msgf(msg, msgsz, "bad [HOST]");
		memcpy(ip, s + 1, (size_t)(he - s - 1));
		ip[he - s - 1] = '\0';
		if (inet_pton(AF_INET, ip, bin) != 1 &&
		    inet_pton(AF_INET6, ip, bin) != 1) {
			/* [name]: a host name without MX lookup; digits
			 * and dots (or a colon) only are a bad address */
			if (ip[strspn(ip, "0123456789.")] == '\0' ||
			    strchr(ip, ':') != NULL)
				return mapp_msgf(msg, msgsz,
				    "bad IP address '%s'", ip);
			if (buf_copys(val, "[") < 0)
				return -1;
			if ((r = mapp_key_domain(ip, strlen(ip), 0, val, msg,
			    msgsz)) <= 0)
				return r;
			if (buf_copys(val, "[") < 0 || buf_cats(val, ip) < 0 ||
			    buf_catc(val, ']') < 0)
				return -1;
		} else if (buf_copy(val, s, (size_t)(he - s + 1)) < 0)
			return -1;
		str_lower(val->s, val->len);
		he++;
		colon = he < end ? he : NULL;
		if (colon && *colon != ':')
			return mapp_msgf(msg, msgsz, "garbage after [HOST]");
	} else {
		colon = memchr(s, ':', n);
		he = colon ? colon : end;
		if ((size_t)(he - s) < sizeof ip) {
			memcpy(ip, s, (size_t)(he - s));
			ip[he - s] = '\0';
		} else
			ip[0] = '\0';
		if (inet_pton(AF_INET, ip, bin) == 1) {
			if (buf_copys(val, ip) < 0)
				return -1;
		} else if ((r = mapp_key_domain(s, (size_t)(he - s), 0, val,
		    msg, msgsz)) <= 0)
			return r;
	}
	if (colon == NULL)
		return 1;
	if (!str_ulong(colon + 1, (size_t)(end - colon - 1), 65535, &port) ||
	    port == 0)
		return mapp_msgf(msg, msgsz, "bad port (1 to 65535)");
	if (buf_catc(val, ':') < 0 || buf_catu(val, port) < 0)
		return -1;
	return 1;
}

/* 1 if s[0..n) is a credentials name (auth=NAME) */
static int
route_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* One route option, checked, appended to val as " opt[=v]". */
static int
route_opt(const char *s, size_t n, struct buf *val, char *msg, size_t msgsz)
{
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n, vn = eq ? n - kn - 1 : 0;
	const char *v = eq ? eq + 1 : NULL;

	if (kn == 5 && memcmp(s, "smtps", 5) == 0 && !eq)
		;
	else if (kn == 3 && memcmp(s, "tls", 3) == 0 && eq) {
		if (!((vn == 4 && memcmp(v, "none", 4) == 0) ||
		    (vn == 3 && memcmp(v, "may", 3) == 0) ||
		    (vn == 7 && memcmp(v, "encrypt", 7) == 0) ||
		    (vn == 6 && memcmp(v, "verify", 6) == 0)))
			return mapp_msgf(msg, msgsz,
			    "tls= must be none, may, encrypt or verify");
	} else if (kn == 4 && memcmp(s, "auth", 4) == 0 && eq) {
		if (!route_name_ok(v, vn))
			return mapp_msgf(msg, msgsz, "auth= wants a name of "
			    "letters, digits, '.', '_' and '-'");
	} else if (kn == 6 && memcmp(s, "cafile", 6) == 0 && eq) {
		if (vn == 0 || v[0] != '/' || vn > 1024 ||
		    !str_printable(v, vn))
			return mapp_msgf(msg, msgsz, "cafile= wants an "
			    "absolute path");
	} else
		return mapp_msgf(msg, msgsz, "unknown route option '%.*s' "
		    "(tls=, auth=, cafile=, smtps)", (int)(n > 40 ? 40 : n),
		    s);
	if (buf_catc(val, ' ') < 0 || buf_cat(val, s, n) < 0)
		return -1;
	return 1;
}

/* routes: DOMAIN HOST[:PORT] [OPTION...] with DOMAIN, .DOMAIN or * */
int
mapp_routes(const char *s, const char *end, struct buf *key, struct buf *val,
    char *msg, size_t msgsz)
{
	struct fld f[ROUTE_FIELDS];
	size_t nf = mapp_fields(s, end, f, ROUTE_FIELDS), dot, i;
	int r;

	if (nf < 2)
		return mapp_msgf(msg, msgsz,
		    "expected DOMAIN HOST[:PORT] [OPTION...]");
	if (nf > ROUTE_FIELDS)
		return mapp_msgf(msg, msgsz, "too many fields");
	if (f[0].n == 1 && f[0].s[0] == '*') {
		if (buf_copys(key, "*") < 0)
			return -1;
	} else {
		dot = f[0].s[0] == '.';
		r = mapp_key_domain(f[0].s + dot, f[0].n - dot, 0, key, msg,
		    msgsz);
		if (r <= 0)
			return r;
		if (dot && (buf_copys(val, ".") < 0 || buf_cat(val, key->s,
		    key->len) < 0 || buf_copy(key, val->s, val->len) < 0))
			return -1;
	}
	if ((r = route_dest(f[1].s, f[1].n, val, msg, msgsz)) <= 0)
		return r;
	for (i = 2; i < nf; i++)
		if ((r = route_opt(f[i].s, f[i].n, val, msg, msgsz)) <= 0)
			return r;
	return 1;
}

int
mapp_cidr(const char *s, size_t n, struct buf *out, const char **msg)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	const char *slash = str_chr(s, n, '/');
	size_t an = slash ? (size_t)(slash - s) : n, i, bytes;
	unsigned long len;
	int af;

	*msg = "expected IP[/LEN], helo:NAME, from:ADDRESS or to:ADDRESS";
	if (an == 0 || an >= sizeof tmp)
		return 0;
	memcpy(tmp, s, an);
	tmp[an] = '\0';
	af = inet_pton(AF_INET, tmp, bin) == 1 ? AF_INET :
	    inet_pton(AF_INET6, tmp, bin) == 1 ? AF_INET6 : 0;
	if (af == 0)
		return 0;
	bytes = af == AF_INET ? 4 : 16;
	len = bytes * 8;
	if (slash && !str_ulong(slash + 1, n - an - 1, bytes * 8, &len)) {
		*msg = "bad prefix length";
		return 0;
	}
	for (i = 0; i < bytes; i++) {
		unsigned keep = len >= (i + 1) * 8 ? 8 :
		    len > i * 8 ? (unsigned)(len - i * 8) : 0;
		unsigned char mask = (unsigned char)(0xff00 >> keep);
		if (bin[i] & (unsigned char)~mask) {
			*msg = "host bits set in network";
			return 0;
		}
	}
	if (inet_ntop(af, bin, tmp, sizeof tmp) == NULL)
		return 0;
	if (buf_copys(out, tmp) < 0 || buf_catc(out, '/') < 0 ||
	    buf_catu(out, len) < 0)
		return -1;
	return 1;
}
