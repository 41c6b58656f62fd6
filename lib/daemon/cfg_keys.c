/*
 * cfg_keys: every tern.conf key, declared once.  tern.conf(5) documents
 * the same rows in the same order; tern-config prints them.
 *
 * A row may name a check of its value beyond its type.  cfg_load runs it,
 * so every program that reads tern.conf (the daemons at start, tern-config
 * check, tern-start reload) refuses the same values with the same
 * file:line message; nothing is left for a daemon to discover later.
 */
#include <string.h>

#include "config.h"
#include "util/buf.h"
#include "util/str.h"
#include "mail/addr.h"
#include "daemon/cfg.h"

#define DAY 86400UL

static int
cfg_check_hostname(const char *v, const char **msg)
{
	return *v == '\0' || cfg_host_ok(v, msg);
}

/* Each word a domain as an address's domain would be ("x@WORD"). */
static int
cfg_check_domains(const char *v, const char **msg)
{
	struct buf a = BUF_INIT, out = BUF_INIT;
	const char *p = v, *w, *e;
	int ok = 1;

	while (ok && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (w = p; *p && *p != ' ' && *p != '\t' && *p != ','; p++)
			;
		if (p == w)
			break;
		buf_reset(&a);
		if (buf_cats(&a, "x@") < 0 || buf_cat(&a, w, (size_t)(p - w)) < 0 ||
		    addr_parse(a.s, a.len, ADDR_UTF8, &out, &e) != 1 ||
		    w[0] == '[') {
			*msg = "not a domain name";
			ok = 0;
		}
	}
	buf_free(&a);
	buf_free(&out);
	return ok;
}

static int
cfg_check_log(const char *v, const char **msg)
{
	*msg = "must be syslog or stderr";
	return strcmp(v, "syslog") == 0 || strcmp(v, "stderr") == 0;
}

static int
cfg_check_facility(const char *v, const char **msg)
{
	*msg = "unknown facility (mail, daemon, user, local0 ... local7)";
	return cfg_log_facility(v) >= 0;
}

static int
cfg_check_dnsbl_action(const char *v, const char **msg)
{
	*msg = "must be reject or mark";
	return str_caseeq(v, "reject") || str_caseeq(v, "mark");
}

static int
cfg_check_remote_tls(const char *v, const char **msg)
{
	*msg = "must be none, may, encrypt or verify";
	return strcmp(v, "none") == 0 || strcmp(v, "may") == 0 ||
	    strcmp(v, "encrypt") == 0 || strcmp(v, "verify") == 0;
}

static int
cfg_check_remote_family(const char *v, const char **msg)
{
	*msg = "must be both, ipv4, ipv6 or prefer-ipv6";
	return strcmp(v, "both") == 0 || strcmp(v, "ipv4") == 0 ||
	    strcmp(v, "ipv6") == 0 || strcmp(v, "prefer-ipv6") == 0;
}

const struct cfg_key cfg_keys[] = {
#define CFG_KEY(name, type, def, min, max, help, check) \
	{ #name, type, def, min, max, help, check },
#include "daemon/cfg_keys.def"
#undef CFG_KEY
	{ NULL, CFG_STR, NULL, 0, 0, NULL, NULL }
};
