/*
 * qid: queue ids (time-ordered, unique per host with the O_EXCL create in
 * tmp/) and session ids for logs.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "queue/qid.h"

static unsigned qid_counter;

void
qid_new(char out[QID_SIZE])
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	/* 8 + 5 + 6 + 1 = QID_LEN hex digits */
	snprintf(out, QID_SIZE, "%08lX%05lX%06lX%01X",
	    (unsigned long)tv.tv_sec & 0xffffffffUL,
	    (unsigned long)tv.tv_usec & 0xfffffUL,
	    (unsigned long)getpid() & 0xffffffUL, qid_counter++ & 0xfU);
}

int
qid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[QID_LEN] == '\0';
}

void
sid_new(char out[SID_SIZE])
{
	unsigned char r[6];
	size_t i;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timeval tv;
		unsigned long v;

		gettimeofday(&tv, NULL);
		v = (unsigned long)tv.tv_usec ^ ((unsigned long)getpid() << 20);
		for (i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)(v >> (8 * (i % 4)));
	}
	for (i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02X", r[i]);
}
