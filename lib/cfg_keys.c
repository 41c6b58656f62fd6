/*
 * cfg_keys: every tern.conf key, declared once.  tern.conf(5) documents
 * the same rows in the same order; tern-config prints them.
 */
#include "config.h"
#include "cfg.h"

#define DAY 86400UL

const struct cfg_key cfg_keys[] = {
	/* identity and layout */
	{ "hostname", CFG_STR, "", 0, 0,
	  "name used in greetings and Received lines; empty: the system host name" },
	{ "local_domains", CFG_LIST, "localhost", 0, 0,
	  "domains delivered here (users, aliases, system accounts)" },
	{ "program_dir", CFG_PATH, TERN_LIBEXECDIR, 0, 0,
	  "directory of the internal programs (tern-enqueue, tern-deliverd, ...)" },
	{ "spool_dir", CFG_PATH, TERN_SPOOLDIR, 0, 0,
	  "the queue directory" },
	{ "mail_dir", CFG_PATH, TERN_MAILDIR, 0, 0,
	  "base of relative Maildir paths in the users map" },
	/* logging */
	{ "log", CFG_STR, "syslog", 0, 0, "syslog or stderr" },
	{ "log_facility", CFG_STR, "mail", 0, 0,
	  "syslog facility: mail, daemon, local0 ... local7" },
	/* users (used only when started as root) */
	{ "queue_user", CFG_STR, "ternq", 0, 0,
	  "owner of the queue; runs tern-queued and tern-enqueue" },
	{ "smtpd_user", CFG_STR, "ternd", 0, 0, "runs tern-smtpd" },
	{ "deliver_user", CFG_STR, "ternl", 0, 0,
	  "runs tern-deliverd (with CAP_SETUID and CAP_SETGID only)" },
	{ "remote_user", CFG_STR, "ternr", 0, 0, "runs tern-remote" },
	{ "virtual_user", CFG_STR, "ternv", 0, 0,
	  "owner of the virtual mailboxes of the users map" },
	/* local delivery */
	{ "system_users", CFG_BOOL, "no", 0, 0,
	  "deliver to system accounts (getpwnam) of local domains, into ~/Maildir" },
	{ "recipient_delimiter", CFG_STR, "+", 0, 0,
	  "subaddress separators (user+tag); empty: none" },
	/* smtpd */
	{ "smtpd_banner", CFG_STR, "", 0, 0,
	  "text after the host name in the 220 greeting; empty: ESMTP tern" },
	{ "message_size_limit", CFG_NUM, "25M", 1024, 2147483647UL,
	  "largest message accepted, bytes (SIZE)" },
	{ "smtpd_max_recipients", CFG_NUM, "1000", 1, 100000,
	  "recipients per message (RFC 5321 4.5.3.1.8: at least 100)" },
	{ "smtpd_max_line_length", CFG_NUM, "1000", 1000, 1048576,
	  "longest message line accepted, with CRLF (RFC 5321 4.5.3.1.6)" },
	{ "smtpd_timeout", CFG_TIME, "300", 1, DAY,
	  "seconds to wait for a command or a data block (RFC 5321 4.5.3.2)" },
	{ "smtpd_max_errors", CFG_NUM, "10", 1, 1000,
	  "bad commands before the session is closed with 421" },
	{ "max_hops", CFG_NUM, "100", 10, 1000,
	  "Received headers before a message is refused as looping" },
	/* queue */
	{ "queue_min_backoff", CFG_TIME, "300", 1, DAY,
	  "first retry delay after a temporary failure" },
	{ "queue_max_backoff", CFG_TIME, "3600", 1, 7 * DAY,
	  "longest retry delay" },
	{ "queue_backoff_factor", CFG_NUM, "2", 1, 16,
	  "each retry delay is the previous one times this" },
	{ "queue_lifetime", CFG_TIME, "5d", 0, 365 * DAY,
	  "age after which a message that still fails temporarily is bounced" },
	{ "local_concurrency", CFG_NUM, "10", 1, 1000,
	  "local deliveries at once" },
	{ "remote_concurrency", CFG_NUM, "20", 1, 1000,
	  "remote deliveries at once" },
	{ "destination_concurrency", CFG_NUM, "5", 1, 1000,
	  "remote deliveries at once to one domain" },
	{ "double_bounce_recipient", CFG_STR, "postmaster", 0, 0,
	  "where a bounce that cannot be delivered goes (local part or address)" },
	{ NULL, CFG_STR, NULL, 0, 0, NULL }
};
