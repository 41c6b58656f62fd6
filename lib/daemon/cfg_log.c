/*
 * cfg_log: logging set up from tern.conf (keys log and log_facility), and
 * the host name, in one place for every program.
 */
#include <unistd.h>

#include <syslog.h>

#include "daemon/cfg.h"
#include "util/log.h"
#include "util/str.h"

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
	const char *f = cfg_str("log_facility");
	int facility = cfg_log_facility(f);
	log_init(prog, str_caseeq(cfg_str("log"), "stderr") ?
	    LOG_TO_STDERR : LOG_TO_SYSLOG, facility < 0 ? LOG_MAIL : facility);
	if (facility < 0)
		log_warn("unknown log_facility %s: using mail", f);
}

const char *
cfg_hostname(void)
{
	static char host[256];

	if (host[0])
		return host;
	if (str_copy(host, cfg_str("hostname"), sizeof host) >= sizeof host)
		host[0] = '\0';
	if (host[0] == '\0' && gethostname(host, sizeof host - 1) < 0)
		str_copy(host, "localhost", sizeof host);
	host[sizeof host - 1] = '\0';
	if (host[0] == '\0')
		str_copy(host, "localhost", sizeof host);
	return host;
}
