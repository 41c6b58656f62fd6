/*
 * route.c: where tern-remote sends mail for a domain.
 *
 * The routes map (tern-routes(5), compiled by tern-map) is looked up for
 * the domain, then ".parent" for each parent, then "*" (lib/lookup/map.c
 * map_route).  Its value, normalised by tern-map, is parsed again here:
 * the map may be older than this program, so nothing in it is trusted.
 *   HOST         a host name: its MX records are looked up (as Postfix's
 *                relayhost without brackets)
 *   [HOST], IP   no MX lookup: HOST's own addresses, or the address
 *   :PORT        the port (default 25; remote_port is for DNS hosts)
 *   tls=none|may|encrypt|verify, smtps, auth=NAME, cafile=PATH
 * Without a route, MX records of the domain are used (RFC 5321 5.1) and
 * the TLS policy is remote_tls.
 *
 * Credentials (auth=NAME) are in remote_credentials, lines "NAME USER
 * PASSWORD", a file that must not be readable by group or others: a
 * password in a map would be world-readable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "lookup/map.h"
#include "remote.h"

#define CRED_FILE_MAX (256 * 1024)

static enum tls_policy
policy_of(const char *s, size_t n, int *ok)
{
	*ok = 1;
	if (n == 4 && memcmp(s, "none", 4) == 0)
		return TLS_NONE;
	if (n == 3 && memcmp(s, "may", 3) == 0)
		return TLS_MAY;
	if (n == 7 && memcmp(s, "encrypt", 7) == 0)
		return TLS_ENCRYPT;
	if (n == 6 && memcmp(s, "verify", 6) == 0)
		return TLS_VERIFY;
	*ok = 0;
	return TLS_MAY;
}

/* HOST[:PORT] of a routes value */
static int
route_dest(const char *s, size_t n, struct route *r, const char **why)
{
	const char *end = s + n, *he, *colon;
	unsigned char bin[16];
	unsigned long port;
	size_t hn;

	if (n > 0 && s[0] == '[') {
		he = memchr(s, ']', n);
		if (he == NULL || he == s + 1) {
			*why = "bad [HOST]";
			return 0;
		}
		r->literal = 1;
		hn = (size_t)(he - s - 1);
		s++;
		colon = he + 1 < end ? he + 1 : NULL;
		if (colon && *colon != ':') {
			*why = "garbage after [HOST]";
			return 0;
		}
	} else {
		colon = memchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
	}
	if (hn == 0 || hn > ROUTE_HOST_MAX || !str_printable(s, hn) ||
	    memchr(s, ' ', hn) != NULL) {
		*why = "bad host";
		return 0;
	}
	memcpy(r->host, s, hn);
	r->host[hn] = '\0';
	if (inet_pton(AF_INET, r->host, bin) == 1 ||
	    inet_pton(AF_INET6, r->host, bin) == 1)
		r->literal = 1;
	r->port = 25;
	if (colon) {
		if (!str_ulong(colon + 1, (size_t)(end - colon - 1), 65535,
		    &port) || port == 0) {
			*why = "bad port";
			return 0;
		}
		r->port = (unsigned)port;
	}
	return 1;
}

static int
route_opt(const char *s, size_t n, struct route *r, const char **why)
{
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n, vn = eq ? n - kn - 1 : 0;
	const char *v = eq ? eq + 1 : "";
	int ok;

	if (kn == 5 && memcmp(s, "smtps", 5) == 0 && !eq) {
		r->smtps = 1;
	} else if (kn == 3 && memcmp(s, "tls", 3) == 0) {
		r->tls = policy_of(v, vn, &ok);
		if (!ok) {
			*why = "bad tls= value";
			return 0;
		}
	} else if (kn == 4 && memcmp(s, "auth", 4) == 0 && vn > 0 &&
	    vn <= ROUTE_NAME_MAX) {
		memcpy(r->auth, v, vn);
		r->auth[vn] = '\0';
	} else if (kn == 6 && memcmp(s, "cafile", 6) == 0 && vn > 0 &&
	    vn <= ROUTE_PATH_MAX) {
		memcpy(r->cafile, v, vn);
		r->cafile[vn] = '\0';
	} else {
		*why = "unknown route option";
		return 0;
	}
	return 1;
}

int
route_parse(const char *v, size_t n, struct route *r, const char **why)
{
	const char *end = v + n, *w;

	while (v < end && *v == ' ')
		v++;
	for (w = v; w < end && *w != ' '; w++)
		;
	if (!route_dest(v, (size_t)(w - v), r, why))
		return 0;
	r->found = 1;
	while (w < end) {
		while (w < end && *w == ' ')
			w++;
		v = w;
		while (w < end && *w != ' ')
			w++;
		if (w > v && !route_opt(v, (size_t)(w - v), r, why))
			return 0;
	}
	return 1;
}

int
route_get(const char *domain, struct route *r, char *err, size_t errsz)
{
	static struct map routes;
	static int opened;
	struct buf val = BUF_INIT;
	char path[FS_PATH_MAX];
	const char *why;
	int ok, rc;

	memset(r, 0, sizeof *r);
	r->tls = policy_of(cfg_str(remote_tls), strlen(cfg_str(remote_tls)),
	    &ok);
	if (!opened) {
		if (fs_join(path, sizeof path, cfg_dir(), "routes.cdb") < 0 ||
		    map_open(&routes, path) < 0) {
			snprintf(err, errsz, "4.3.5 cannot open the routes "
			    "map: %s", strerror(errno));
			return -1;
		}
		opened = 1;
	} else if (map_refresh(&routes) < 0) {
		/* a child kept for the next job sees a recompiled map */
		snprintf(err, errsz, "4.3.5 cannot reopen the routes map: %s",
		    strerror(errno));
		return -1;
	}
	rc = map_route(&routes, domain, &val);
	if (rc < 0) {
		snprintf(err, errsz, "4.3.5 cannot read the routes map: %s",
		    strerror(errno));
		buf_free(&val);
		return -1;
	}
	if (rc > 0 && !route_parse(val.s, val.len, r, &why)) {
		snprintf(err, errsz, "4.3.5 bad routes entry for %s: %s "
		    "(recompile it with tern-map)", domain, why);
		buf_free(&val);
		return -1;
	}
	buf_free(&val);
	return 1;
}

/* One "NAME USER PASSWORD" line: 1 it is name's, 0 not. */
static int
cred_line(const char *s, size_t n, const char *name, char *user, char *pass,
    size_t sz)
{
	const char *f[3], *end = s + n;
	size_t fl[3], k = 0;

	while (k < 3) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s == end)
			break;
		f[k] = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		fl[k] = (size_t)(s - f[k]);
		k++;
	}
	if (k < 3 || f[0][0] == '#' || fl[0] != strlen(name) ||
	    memcmp(f[0], name, fl[0]) != 0 || fl[1] >= sz)
		return 0;
	/* the password is the rest of the line, trailing blanks cut */
	while (end > f[2] && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		end--;
	if ((size_t)(end - f[2]) >= sz)
		return 0;
	memcpy(user, f[1], fl[1]);
	user[fl[1]] = '\0';
	memcpy(pass, f[2], (size_t)(end - f[2]));
	pass[end - f[2]] = '\0';
	return 1;
}

int
route_creds(const char *name, char *user, char *pass, size_t sz, char *err,
    size_t errsz)
{
	const char *path = cfg_str(remote_credentials);
	char *data = NULL;
	size_t len = 0, pos = 0;
	struct stat st;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) < 0) {
		snprintf(err, errsz, "4.7.0 credentials %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errsz, "4.7.0 credentials %s are readable by "
		    "others (mode %03o): refused; chmod 600", path,
		    (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	if (fs_read_fd(fd, CRED_FILE_MAX, &data, &len) < 0) {
		snprintf(err, errsz, "4.7.0 credentials %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	while (pos < len && r == 0) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - data - pos) : len - pos;

		r = cred_line(data + pos, n, name, user, pass, sz);
		pos += n + 1;
	}
	explicit_bzero(data, len);
	free(data);
	if (r == 0)
		snprintf(err, errsz, "4.7.0 no credentials named %s in %s",
		    name, path);
	return r;
}
