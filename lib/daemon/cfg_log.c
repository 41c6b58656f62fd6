/*
 * cfg_log: logging set up from tern.conf (keys log and log_facility), and
 * the host name, in one place for every program.
 */
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"
#include "mail/smtpparse.h"
#include "daemon/cfg.h"

static const struct { const char *name; int facility; } facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
cfg_log_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (str_caseeq(name, facilities[i].name))
			return facilities[i].facility;
	return -1;
}

void
cfg_log_init(const char *prog)
{
	int facility = cfg_log_facility(cfg_str(log_facility));

	/* cfg_load refused other values of both keys */
	log_init(prog, strcmp(cfg_str(log), "stderr") == 0 ?
	    LOG_TO_STDERR : LOG_TO_SYSLOG, facility < 0 ? LOG_MAIL : facility);
}

int
cfg_host_ok(const char *name, const char **why_r)
{
	size_t n = strlen(name);

	if (n == 0)
		*why_r = "empty";
	else if (n > CFG_HOST_MAX)
		*why_r = "longer than 253 characters";
	else if (name[0] == '[')
		*why_r = "an address literal is not a host name";
	else if (!smtp_helo_ok(name, n))
		*why_r = "not a host name (letters, digits, '-', '.', '_')";
	else
		return 1;
	return 0;
}

/*
 * No silent fallback: a configured name that does not fit was refused by
 * cfg_load already, so one here means the table check was bypassed - an
 * invariant, not an input, is broken.
 */
const char *
cfg_hostname(void)
{
	static char host[CFG_HOST_MAX + 2];
	static unsigned long gen;
	const char *conf;

	/* computed once per configuration (a reload may change it) */
	if (host[0] && gen == cfg_generation())
		return host;
	gen = cfg_generation();
	host[0] = '\0';
	conf = cfg_str(hostname);
	if (conf[0] != '\0') {
		if (str_copy(host, conf, sizeof host) > CFG_HOST_MAX)
			log_panic("hostname %.64s...: longer than %d characters",
			    conf, CFG_HOST_MAX);
		return host;
	}
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	if (host[0] == '\0')
		str_copy(host, "localhost", sizeof host);
	return host;
}
