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
#include "daemon/cfg.h"
#include "mail/addr.h"
#include "util/buf.h"
#include "util/str.h"

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

const struct cfg_key cfg_keys[] = {
	/* identity and layout */
	{ "hostname", CFG_STR, "", 0, 0,
	  "name used in greetings and Received lines; empty: the system host name",
	  cfg_check_hostname },
	{ "local_domains", CFG_LIST, "localhost", 0, 0,
	  "domains delivered here (users, aliases, system accounts)",
	  cfg_check_domains },
	{ "program_dir", CFG_PATH, TERN_LIBEXECDIR, 0, 0,
	  "directory of the internal programs (tern-enqueue, tern-deliverd, ...)",
	  NULL },
	{ "spool_dir", CFG_PATH, TERN_SPOOLDIR, 0, 0,
	  "the queue directory", NULL },
	{ "mail_dir", CFG_PATH, TERN_MAILDIR, 0, 0,
	  "base of relative Maildir paths in the users map", NULL },
	/* logging */
	{ "log", CFG_STR, "syslog", 0, 0, "syslog or stderr", cfg_check_log },
	{ "log_facility", CFG_STR, "mail", 0, 0,
	  "syslog facility: mail, daemon, local0 ... local7",
	  cfg_check_facility },
	/* users (used only when started as root) */
	{ "queue_user", CFG_STR, "ternq", 0, 0,
	  "owner of the queue; runs tern-queued and tern-enqueue", NULL },
	{ "smtpd_user", CFG_STR, "ternd", 0, 0, "runs tern-smtpd", NULL },
	{ "deliver_user", CFG_STR, "ternl", 0, 0,
	  "runs tern-deliverd (with CAP_SETUID and CAP_SETGID only)", NULL },
	{ "remote_user", CFG_STR, "ternr", 0, 0, "runs tern-remote", NULL },
	{ "virtual_user", CFG_STR, "ternv", 0, 0,
	  "owner of the virtual mailboxes of the users map", NULL },
	/* local delivery */
	{ "system_users", CFG_BOOL, "no", 0, 0,
	  "deliver to system accounts (getpwnam) of local domains, into ~/Maildir",
	  NULL },
	{ "recipient_delimiter", CFG_STR, "+", 0, 0,
	  "subaddress separators (user+tag); empty: none", NULL },
	/* smtpd */
	{ "smtpd_banner", CFG_STR, "", 0, 0,
	  "text after the host name in the 220 greeting; empty: ESMTP tern",
	  NULL },
	{ "message_size_limit", CFG_NUM, "25M", 1024, 2147483647UL,
	  "largest message accepted, bytes (SIZE)", NULL },
	{ "smtpd_max_recipients", CFG_NUM, "1000", 1, 100000,
	  "recipients per message (RFC 5321 4.5.3.1.8: at least 100)", NULL },
	{ "smtpd_max_line_length", CFG_NUM, "1000", 1000, 1048576,
	  "longest message line accepted, with CRLF (RFC 5321 4.5.3.1.6)",
	  NULL },
	{ "smtpd_timeout", CFG_TIME, "300", 1, DAY,
	  "seconds to wait for a command or a data block (RFC 5321 4.5.3.2)",
	  NULL },
	{ "smtpd_max_errors", CFG_NUM, "10", 1, 1000,
	  "bad commands before the session is closed with 421", NULL },
	{ "max_hops", CFG_NUM, "100", 10, 1000,
	  "Received headers before a message is refused as looping", NULL },
	{ "smtpd_data_timeout", CFG_TIME, "180", 1, DAY,
	  "seconds to wait for each block of DATA or BDAT (RFC 5321 4.5.3.2.5)",
	  NULL },
	{ "smtpd_max_session_time", CFG_TIME, "3600", 1, 7 * DAY,
	  "longest SMTP session; then 421", NULL },
	{ "smtpd_max_commands", CFG_NUM, "10000", 10, 10000000,
	  "commands per SMTP session; then 421", NULL },
	{ "smtpd_greet_pause", CFG_TIME, "0", 0, 60,
	  "seconds to wait before the greeting on an MX listener; a client "
	  "that talks first is refused", NULL },
	{ "smtpd_sender_check", CFG_BOOL, "yes", 0, 0,
	  "an authenticated client may only use its own address (or +tag) as sender",
	  NULL },
	{ "dnsbl_zones", CFG_LIST, "", 0, 0,
	  "DNS block lists asked about each unauthenticated client", NULL },
	{ "dnsbl_action", CFG_STR, "reject", 0, 0,
	  "for a listed client: reject (554 at RCPT) or mark (X-Tern-Spam: yes)",
	  cfg_check_dnsbl_action },
	{ "dns_servers", CFG_LIST, "", 0, 0,
	  "DNS servers (IPv4[:port]) used instead of /etc/resolv.conf", NULL },
	{ "dns_timeout", CFG_TIME, "5", 1, 60,
	  "seconds to wait for a DNS server per try", NULL },
	/* queue */
	{ "spool_sync_dirs", CFG_BOOL, "no", 0, 0,
	  "also fsync queue directories (file systems that need it for a new name)",
	  NULL },
	{ "queue_min_backoff", CFG_TIME, "300", 1, DAY,
	  "first retry delay after a temporary failure", NULL },
	{ "queue_max_backoff", CFG_TIME, "3600", 1, 7 * DAY,
	  "longest retry delay", NULL },
	{ "queue_backoff_factor", CFG_NUM, "2", 1, 16,
	  "each retry delay is the previous one times this", NULL },
	{ "queue_lifetime", CFG_TIME, "5d", 0, 365 * DAY,
	  "age after which a message that still fails temporarily is bounced",
	  NULL },
	{ "local_concurrency", CFG_NUM, "10", 1, 1000,
	  "local deliveries at once", NULL },
	{ "remote_concurrency", CFG_NUM, "20", 1, 1000,
	  "remote deliveries at once", NULL },
	{ "destination_concurrency", CFG_NUM, "5", 1, 1000,
	  "remote deliveries at once to one domain", NULL },
	{ "double_bounce_recipient", CFG_STR, "postmaster", 0, 0,
	  "where a bounce that cannot be delivered goes (local part or address)",
	  NULL },
	/* TLS, for every server and tern-remote */
	{ "tls_cert", CFG_PATH, "", 0, 0,
	  "PEM certificate (with chain) of the servers; empty: no TLS", NULL },
	{ "tls_key", CFG_PATH, "", 0, 0,
	  "PEM private key; empty: the key is in tls_cert", NULL },
	{ "tls_min_version", CFG_STR, "TLSv1.2", 0, 0,
	  "oldest protocol accepted: TLSv1.2 or TLSv1.3",
	  NULL },
	{ "tls_ciphers", CFG_STR, "", 0, 0,
	  "OpenSSL cipher list for TLS 1.2; empty: a secure built-in list",
	  NULL },
	{ "tls_ticket_key", CFG_PATH, "", 0, 0,
	  "file of 80 random bytes for session tickets shared by all processes",
	  NULL },
	/* authentication, for tern-smtpd, tern-pop3d and tern-imapd */
	{ "allow_plaintext_auth", CFG_BOOL, "no", 0, 0,
	  "allow passwords on connections without TLS", NULL },
	{ "auth_fail_delay", CFG_TIME, "2", 0, 60,
	  "seconds to wait before answering a failed login", NULL },
	{ "auth_max_failures", CFG_NUM, "3", 1, 100,
	  "failed logins before the session is closed", NULL },
	/* tern-pop3d */
	{ "pop3d_user", CFG_STR, "ternp", 0, 0,
	  "runs tern-pop3d before login (after login: the mailbox owner)",
	  NULL },
	{ "pop3d_timeout", CFG_TIME, "600", 1, 86400,
	  "idle time before a POP3 session is closed (RFC 1939: at least 10 min)",
	  NULL },
	{ NULL, CFG_STR, NULL, 0, 0, NULL, NULL }
};
