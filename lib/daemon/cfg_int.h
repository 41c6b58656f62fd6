/*
 * cfg_int.h: what cfg.c and cfg_value.c share; nothing outside
 * lib/daemon/cfg*.c includes it.
 */
#ifndef TERN_CFG_INT_H
#define TERN_CFG_INT_H

#include <stddef.h>

#include "daemon/cfg.h"

#define CFG_WORDS_MAX 1024   /* words of one CFG_LIST value */

/* One key's value as loaded. */
struct cfg_val {
	char *text;            /* resolved text (absolute path for CFG_PATH) */
	unsigned long num;
	char **words;          /* CFG_LIST */
	size_t nwords;
	int set;
};

/* The loaded values, one slot per row of cfg_keys[] (cfg.c). */
extern struct cfg_val *cfg_vals;
/* The configuration directory in use, absolute (cfg.c). */
extern char *cfg_confdir;
/* Make sure a configuration is loaded: all defaults when none was. */
void cfg_defaults(void);
/* The row of name in cfg_keys[], or (size_t)-1. */
size_t cfg_index(const char *name);
/* A malloc'ed copy of s[0..n) with a NUL; fatal when out of memory. */
char *cfg_strndup(const char *s, size_t n);
/* Free what cv holds and empty it. */
void cfg_val_clear(struct cfg_val *cv);
/* Set cv, a slot of key k, from the text v (a relative CFG_PATH is made
 * absolute against dir): 1 ok, 0 a bad value (*msg says why). */
int cfg_val_set(const struct cfg_key *k, struct cfg_val *cv, const char *v,
    const char *dir, const char **msg);

#endif
