/*
 * priv: the single privilege-dropping path of every tern daemon.
 *
 * Order matters: supplementary groups, then the gid, then the uid (after
 * setuid we could no longer change groups), then the capability sets.  A
 * capability that must survive setuid (tern-deliverd's CAP_SETUID and
 * CAP_SETGID) is kept with SECBIT_KEEP_CAPS, which only preserves the
 * permitted set, and then raised into the effective set again.  Every
 * step is checked and any failure is fatal.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "util/log.h"
#include "daemon/priv.h"

int
priv_user(const char *name, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL)
		return errno ? -1 : 0;
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 1;
}

int
priv_is_root(void)
{
	return geteuid() == 0;
}

static void
priv_setcaps(const cap_value_t *caps, int ncaps)
{
	cap_t c = cap_init();  /* all sets empty */

	if (c == NULL)
		log_fatal("cap_init: %s", strerror(errno));
	if (ncaps > 0 &&
	    (cap_set_flag(c, CAP_PERMITTED, ncaps, caps, CAP_SET) < 0 ||
	    cap_set_flag(c, CAP_EFFECTIVE, ncaps, caps, CAP_SET) < 0))
		log_fatal("cap_set_flag: %s", strerror(errno));
	if (cap_set_proc(c) < 0)
		log_fatal("cap_set_proc: %s", strerror(errno));
	cap_free(c);
	/* no ambient capabilities may leak into anything we exec */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		log_fatal("clearing ambient capabilities: %s", strerror(errno));
}

static void
priv_setids(uid_t uid, gid_t gid, int keepcaps)
{
	if (keepcaps && prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0) < 0)
		log_fatal("prctl(SECBIT_KEEP_CAPS): %s", strerror(errno));
	if (setgroups(1, &gid) < 0)
		log_fatal("setgroups(%lu): %s", (unsigned long)gid,
		    strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		log_fatal("setresgid(%lu): %s", (unsigned long)gid,
		    strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		log_fatal("setresuid(%lu): %s", (unsigned long)uid,
		    strerror(errno));
}

/* Paranoia, once no capability is left: root cannot be regained. */
static void
priv_check(void)
{
	if (getuid() != 0 && (setuid(0) == 0 || geteuid() == 0))
		log_panic("setuid(0) succeeded after dropping privileges");
}

void
priv_drop(const char *name, const cap_value_t *caps, int ncaps)
{
	uid_t uid;
	gid_t gid;
	int r;

	if (priv_is_root()) {
		r = priv_user(name, &uid, &gid);
		if (r < 0)
			log_fatal("looking up user %s: %s", name, strerror(errno));
		if (r == 0)
			log_fatal("user %s does not exist (see tern.conf)", name);
		if (uid == 0)
			log_fatal("user %s is root: refusing to run as it", name);
		priv_setids(uid, gid, ncaps > 0);
	} else {
		ncaps = 0;  /* not root: there is nothing to keep */
	}
	priv_setcaps(caps, ncaps);
	if (ncaps == 0)
		priv_check();
}

void
priv_drop_ids(uid_t uid, gid_t gid)
{
	if (priv_is_root() || getuid() != uid) {
		if (uid == 0)
			log_fatal("refusing to switch to root (uid 0)");
		priv_setids(uid, gid, 0);
	}
	priv_setcaps(NULL, 0);
	priv_check();
}

void
priv_caps_only(const cap_value_t *caps, int ncaps)
{
	priv_setcaps(caps, priv_is_root() ? ncaps : 0);
}
