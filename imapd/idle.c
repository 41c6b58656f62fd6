/*
 * idle: IDLE (RFC 2177, RFC 9051 6.3.13).  The session waits for the
 * client's DONE and for inotify(7) events on the selected mailbox's
 * new/ and cur/: a delivery (a link into new/) or another session's
 * change wakes it at once, and the updates go out untagged, so new mail
 * is pushed without polling.  The idle time is bounded by imapd_timeout
 * (RFC 9051 5.4 autologout; clients re-issue IDLE well within 29
 * minutes, RFC 2177 3).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "imapd.h"

void
cmd_idle(struct imap *s, struct imap_p *p)
{
	char line[64];
	struct pollfd fds[2];
	size_t len;
	int n, r;

	if (!imap_p_end(p)) {
		imap_tagged(s, "BAD", "IDLE takes no arguments");
		return;
	}
	imap_put(s, "+ idling\r\n", 10);
	for (;;) {
		if (s->state == ST_SEL)
			sel_sync(s, 1);
		imap_flush(s);
		if (io_pending(&s->io) > 0)
			break;
		fds[0].fd = s->io.rfd;
		fds[0].events = POLLIN;
		n = 1;
		if (s->state == ST_SEL && s->sel.ino >= 0) {
			fds[1].fd = s->sel.ino;
			fds[1].events = POLLIN;
			n = 2;
		}
		r = poll(fds, (nfds_t)n, (int)cfg_num(imapd_timeout) * 1000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			session_fatal(s, "poll");
		}
		if (r == 0) {
			errno = ETIMEDOUT;
			session_lost(s, "idle");
		}
		if (fds[0].revents)
			break;
		/* else: inotify; sel_sync reads the events */
	}
	if (!session_line(s, line, sizeof line - 1, &len) || len != 4 ||
	    !str_ncaseeq(line, "DONE", 4)) {
		imap_tagged(s, "BAD", "Expected DONE");
		return;
	}
	imap_tagged(s, "OK", "IDLE terminated");
}
