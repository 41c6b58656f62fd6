/*
 * cfg_value: one tern.conf value parsed into its slot, by the key's type
 * (cfg_int.h).  Pure: the text and the key in, the slot out; only
 * relative paths need the configuration directory, which is passed in.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/cfg_int.h"

char *
cfg_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		log_fatal("out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Multiplier suffixes: k/M/G for sizes, s/m/h/d/w for times. */
static int
cfg_parse_num(const struct cfg_key *k, const char *v, unsigned long *r)
{
	size_t n = strlen(v);
	unsigned long mul = 1, x;

	if (n > 1 && k->type == CFG_NUM) {
		switch (v[n - 1]) {
		case 'k': case 'K': mul = 1024UL; n--; break;
		case 'm': case 'M': mul = 1024UL * 1024; n--; break;
		case 'g': case 'G': mul = 1024UL * 1024 * 1024; n--; break;
		}
	} else if (n > 1 && k->type == CFG_TIME) {
		switch (v[n - 1]) {
		case 's': n--; break;
		case 'm': mul = 60; n--; break;
		case 'h': mul = 3600; n--; break;
		case 'd': mul = 86400; n--; break;
		case 'w': mul = 7 * 86400UL; n--; break;
		}
	}
	if (!str_ulong(v, n, ULONG_MAX / mul, &x))
		return 0;
	x *= mul;
	if (x < k->min || x > k->max)
		return -1;
	*r = x;
	return 1;
}

static int
cfg_parse_bool(const char *v, unsigned long *r)
{
	if (str_caseeq(v, "yes") || str_caseeq(v, "true") ||
	    str_caseeq(v, "on") || strcmp(v, "1") == 0)
		*r = 1;
	else if (str_caseeq(v, "no") || str_caseeq(v, "false") ||
	    str_caseeq(v, "off") || strcmp(v, "0") == 0)
		*r = 0;
	else
		return 0;
	return 1;
}

/* The words of a CFG_LIST value; 1, or 0 when there are more than
 * CFG_WORDS_MAX - 1 (an error for the caller to name, never a silent
 * cut).  The array is sized to the words there are. */
static int
cfg_split(struct cfg_val *cv)
{
	char *p = cv->text;
	size_t n = 0;
	const char *q;

	for (q = p; *q; ) {
		while (*q == ' ' || *q == '\t' || *q == ',')
			q++;
		if (*q == '\0')
			break;
		n++;
		while (*q && *q != ' ' && *q != '\t' && *q != ',')
			q++;
	}
	if (n >= CFG_WORDS_MAX)
		return 0;
	cv->words = calloc(n + 1, sizeof *cv->words);
	if (cv->words == NULL)
		log_fatal("out of memory");
	cv->nwords = 0;
	while (*p) {
		char *w;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		cv->words[cv->nwords++] = cfg_strndup(w, (size_t)(p - w));
	}
	return 1;
}

void
cfg_val_clear(struct cfg_val *cv)
{
	size_t i;

	for (i = 0; i < cv->nwords; i++)
		free(cv->words[i]);
	free(cv->words);
	free(cv->text);
	cv->words = NULL;
	cv->nwords = 0;
	cv->text = NULL;
}

int
cfg_val_set(const struct cfg_key *k, struct cfg_val *cv, const char *v,
    const char *dir, const char **msg)
{
	struct buf b = BUF_INIT;
	int r;

	if (k->check != NULL && !k->check(v, msg))
		return 0;
	switch (k->type) {
	case CFG_NUM:
	case CFG_TIME:
		r = cfg_parse_num(k, v, &cv->num);
		if (r <= 0) {
			*msg = r == 0 ? "not a number" : "out of range";
			return 0;
		}
		break;
	case CFG_BOOL:
		if (!cfg_parse_bool(v, &cv->num)) {
			*msg = "not yes or no";
			return 0;
		}
		break;
	case CFG_PATH:
		if (v[0] != '/' && v[0] != '\0') {
			if (buf_cats(&b, dir) < 0 || buf_catc(&b, '/') < 0 ||
			    buf_cats(&b, v) < 0)
				log_fatal("out of memory");
			v = b.s;
		}
		break;
	default:
		break;
	}
	cfg_val_clear(cv);
	cv->text = cfg_strndup(v, strlen(v));
	buf_free(&b);
	if (k->type == CFG_LIST && !cfg_split(cv)) {
		*msg = "too many words";
		return 0;
	}
	return 1;
}

