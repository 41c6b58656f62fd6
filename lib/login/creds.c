/*
 * creds: the login child's netstring of user and password (creds.h).
 */
#include <string.h>

#include "util/buf.h"
#include "login/creds.h"

int
creds_encode(struct buf *out, const char *user, size_t ulen,
    const char *pass, size_t plen)
{
	if (ulen == 0 || plen == 0 || memchr(user, '\0', ulen) != NULL ||
	    memchr(pass, '\0', plen) != NULL)
		return 0;
	if (buf_catu(out, ulen + 1 + plen) < 0 || buf_catc(out, ':') < 0 ||
	    buf_cat(out, user, ulen) < 0 || buf_catc(out, '\0') < 0 ||
	    buf_cat(out, pass, plen) < 0 || buf_catc(out, ',') < 0)
		return -1;
	return 1;
}

int
creds_parse(const char *p, size_t n, size_t user_max, size_t pass_max,
    char *user, char *pass, size_t *used_r)
{
	size_t i, len = 0, ulen, plen;
	const char *msg, *z;

	user[0] = pass[0] = '\0';
	for (i = 0; i < n && p[i] != ':'; i++) {
		if (p[i] < '0' || p[i] > '9' || i >= 5 ||
		    (i == 1 && p[0] == '0'))
			return -1;
		len = len * 10 + (size_t)(p[i] - '0');
	}
	if (len > user_max + 1 + pass_max)
		return -1;
	if (i == n)
		return 0;
	if (i == 0)
		return -1;
	/* p[i] is ':'; the payload and ',' follow */
	if (n - i - 1 < len + 1)
		return 0;
	msg = p + i + 1;
	if (msg[len] != ',')
		return -1;
	z = memchr(msg, '\0', len);
	if (z == NULL)
		return -1;
	ulen = (size_t)(z - msg);
	plen = len - ulen - 1;
	if (ulen == 0 || ulen > user_max || plen == 0 || plen > pass_max ||
	    memchr(z + 1, '\0', plen) != NULL)
		return -1;
	memcpy(user, msg, ulen);
	user[ulen] = '\0';
	memcpy(pass, z + 1, plen);
	pass[plen] = '\0';
	*used_r = i + 1 + len + 1;
	return 1;
}
