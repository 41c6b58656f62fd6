/*
 * fuzz_rmt: lib/queue/rmt.c's parsers on arbitrary bytes.  Every input is
 * tried as a job and as a result; whatever parses is formatted again,
 * and the packet must parse back to the same values (a round trip).
 */
#include <stdlib.h>
#include <string.h>

#include "queue/rmt.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct rmt_job j, j2;
	static struct rmt_result r, r2;
	static char pkt[RMT_PKT_MAX];
	const char *s = (const char *)data;
	size_t len;

	if (rmt_job_parse(s, size, &j) == 1) {
		if (j.n == 0 || j.n > RMT_JOB_RCPT_MAX ||
		    rmt_job_format(pkt, &len, &j) != 1 || len > RMT_PKT_MAX ||
		    rmt_job_parse(pkt, len, &j2) != 1 || j2.n != j.n ||
		    strcmp(j.qid, j2.qid) != 0 ||
		    memcmp(j.idx, j2.idx, j.n * sizeof j.idx[0]) != 0)
			abort();
	}
	if (rmt_result_parse(s, size, &r) == 1) {
		if (rmt_result_format(pkt, &len, &r) != 1 ||
		    len > RMT_PKT_MAX || rmt_result_parse(pkt, len, &r2) != 1 ||
		    strcmp(r.qid, r2.qid) != 0 || r.idx != r2.idx ||
		    r.code != r2.code || r.dsn != r2.dsn ||
		    strcmp(r.relay, r2.relay) != 0 ||
		    strcmp(r.tls, r2.tls) != 0 || strcmp(r.text, r2.text) != 0)
			abort();
	}
	return 0;
}
