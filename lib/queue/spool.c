/*
 * spool: the queue directory's layout and the grammar of tern-queue's
 * request files (spool.h).
 */
#include <errno.h>
#include <grp.h>
#include <stddef.h>
#include <string.h>

#include "util/str.h"
#include "queue/qid.h"
#include "queue/spool.h"

const struct spool_dir spool_dirs[] = {
	{ "tmp", 0700, 0 },
	{ "mess", 02750, 1 },
	{ "todo", 0700, 0 },
	{ "state", 02750, 1 },
	{ "corrupt", 02750, 1 },
	{ SPOOL_CTL, 01730, 1 },
	{ NULL, 0, 0 },
};

int
spool_admin_gid(const char *group, gid_t fallback, gid_t *gid_r)
{
	struct group *g;

	errno = 0;
	if ((g = getgrnam(group)) != NULL) {
		*gid_r = g->gr_gid;
		return 1;
	}
	/* glibc: 0 or ENOENT (and, for some NSS modules, ESRCH, EBADF or
	 * EPERM) mean "no such group" */
	if (errno != 0 && errno != ENOENT && errno != ESRCH &&
	    errno != EBADF && errno != EPERM)
		return -1;
	*gid_r = fallback;
	return 0;
}

static const char *const act_names[] = {
	[SA_FLUSH] = "flush", [SA_HOLD] = "hold", [SA_RELEASE] = "release",
	[SA_DELETE] = "delete", [SA_BOUNCE] = "bounce",
};

const char *
spool_act_name(enum spool_act a)
{
	return (size_t)a < sizeof act_names / sizeof act_names[0] ?
	    act_names[a] : "?";
}

static int
domain_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SPOOL_DOMAIN_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

int
spool_req_parse(const char *s, size_t n, struct spool_req *r,
    const char **why)
{
	const char *sp = str_chr(s, n, ' '), *t;
	size_t an, tn, i;

	memset(r, 0, sizeof *r);
	if (n > SPOOL_CTL_LINE_MAX) {
		*why = "line too long";
		return 0;
	}
	if (sp == NULL) {
		*why = "no target";
		return 0;
	}
	an = (size_t)(sp - s);
	t = sp + 1;
	tn = n - an - 1;
	for (i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
		if (strlen(act_names[i]) == an &&
		    memcmp(act_names[i], s, an) == 0)
			break;
	if (i == sizeof act_names / sizeof act_names[0]) {
		*why = "unknown action";
		return 0;
	}
	r->act = (enum spool_act)i;
	if (tn == 3 && memcmp(t, "ALL", 3) == 0) {
		r->target = ST_ALL;
	} else if (tn == 8 && memcmp(t, "DEFERRED", 8) == 0) {
		if (r->act != SA_DELETE) {
			*why = "DEFERRED is only for delete";
			return 0;
		}
		r->target = ST_DEFERRED;
	} else if (tn > 0 && t[0] == '@') {
		if (r->act != SA_FLUSH) {
			*why = "a domain is only for flush";
			return 0;
		}
		if (!domain_ok(t + 1, tn - 1)) {
			*why = "bad domain";
			return 0;
		}
		memcpy(r->domain, t + 1, tn - 1);
		r->domain[tn - 1] = '\0';
		str_lower(r->domain, tn - 1);
		r->target = ST_DOMAIN;
	} else {
		if (tn != QID_LEN) {
			*why = "bad queue id";
			return 0;
		}
		memcpy(r->id, t, QID_LEN);
		r->id[QID_LEN] = '\0';
		if (!qid_valid(r->id)) {
			*why = "bad queue id";
			return 0;
		}
		r->target = ST_ID;
	}
	return 1;
}

int
spool_ctl_name(const char *name)
{
	size_t i;

	if (strlen(name) != SPOOL_CTL_NAME_LEN)
		return 0;
	for (i = 0; i < SPOOL_CTL_NAME_LEN; i++) {
		int dot = i == 12 || i == 22;

		if (dot ? name[i] != '.' : !(name[i] >= '0' && name[i] <= '9'))
			return 0;
	}
	return 1;
}
