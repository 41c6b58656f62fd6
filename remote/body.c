/*
 * body.c: the message as it goes on the wire.
 *
 * The queue keeps a message with LF line ends after its envelope
 * (lib/queue/qfile.h).  SMTP wants CRLF and a leading dot doubled on
 * every line (RFC 5321 4.5.2), ending with "CRLF.CRLF".  Before the
 * transaction the message is measured once: its size on the wire (for
 * SIZE=, RFC 1870) and whether it holds 8-bit bytes (for BODY=8BITMIME
 * and the check against a peer without 8BITMIME, RFC 6152).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "remote.h"

#define BODY_CHUNK 65536

/* The next chunk of the message at off: its length, 0 at the end, -1
 * error (EINTR retried). */
static ssize_t
body_chunk(const struct job *j, char *b, off_t off)
{
	ssize_t n;

	while ((n = pread(j->fd, b, BODY_CHUNK, off)) < 0 && errno == EINTR)
		;
	return n;
}

int
body_scan(struct job *j)
{
	static char b[BODY_CHUNK];
	off_t off = j->env.body_off;
	ssize_t n, i;

	j->body_len = 0;
	j->lines = 0;
	j->body8 = 0;
	for (;;) {
		if ((n = body_chunk(j, b, off)) <= 0)
			return n < 0 ? -1 : 1;
		for (i = 0; i < n; i++) {
			if (b[i] == '\n')
				j->lines++;
			else if ((unsigned char)b[i] >= 0x80)
				j->body8 = 1;
		}
		off += n;
		j->body_len += n;
	}
}

int
body_send(struct job *j, struct io *io)
{
	static char b[BODY_CHUNK];
	off_t off = j->env.body_off;
	int bol = 1;        /* at the beginning of a line */
	char prev = '\0';   /* the byte before b[i], across chunks */
	ssize_t n, i, from;

	for (;;) {
		if ((n = body_chunk(j, b, off)) < 0)
			return -1;
		if (n == 0)
			break;
		off += n;
		from = 0;
		for (i = 0; i < n; i++) {
			if (bol && b[i] == '.') {
				/* transparency: the dot is sent twice */
				if (io_put(io, b + from, (size_t)(i - from)) < 0 ||
				    io_put(io, ".", 1) < 0)
					return -1;
				from = i;
			}
			bol = 0;
			if (b[i] == '\n') {
				/* a CR already there (CRLF in the queue) is
				 * kept single */
				if (io_put(io, b + from, (size_t)(i - from)) < 0 ||
				    (prev != '\r' && io_put(io, "\r", 1) < 0))
					return -1;
				from = i;
				bol = 1;
			}
			prev = b[i];
		}
		if (io_put(io, b + from, (size_t)(n - from)) < 0)
			return -1;
	}
	/* a message without a final line end gets one */
	if (!bol && io_put(io, "\r\n", 2) < 0)
		return -1;
	if (io_put(io, ".\r\n", 3) < 0)
		return -1;
	return io_flush(io);
}
