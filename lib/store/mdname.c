/*
 * mdname: Maildir file names (mdname.h).
 */
#include <stdio.h>
#include <string.h>

#include "store/mdname.h"

size_t
mdname_base_len(const char *name, size_t n)
{
	const char *colon = memchr(name, ':', n);

	return colon != NULL ? (size_t)(colon - name) : n;
}

int
mdname_field(const char *base, size_t n, char key, unsigned long long *r)
{
	size_t i, j;

	for (i = 0; i + 3 < n; i++) {
		unsigned long long v = 0;
		int big = 0;

		if (base[i] != ',' || base[i + 1] != key || base[i + 2] != '=')
			continue;
		for (j = i + 3; j < n && base[j] >= '0' && base[j] <= '9'; j++) {
			unsigned d = (unsigned)(base[j] - '0');

			if (v > (~0ULL - d) / 10) {
				big = 1;  /* absurdly large: not ours */
				break;
			}
			v = v * 10 + d;
		}
		if (!big && j > i + 3 && (j == n || base[j] == ',')) {
			*r = v;
			return 1;
		}
	}
	return 0;
}

const char *
mdname_flags(const char *name, size_t n, size_t *len_r)
{
	size_t b = mdname_base_len(name, n);

	if (n - b < 3 || name[b + 1] != '2' || name[b + 2] != ',')
		return NULL;
	*len_r = n - b - 3;
	return name + b + 3;
}

int
mdname_make(char *out, size_t outsz, const char *unique,
    unsigned long long bytes, unsigned long long crlf_bytes)
{
	int n = snprintf(out, outsz, "%s,S=%llu,W=%llu", unique, bytes,
	    crlf_bytes);

	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	return 1;
}
