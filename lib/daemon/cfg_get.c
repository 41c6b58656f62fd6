/*
 * cfg_get: the typed getters of the loaded configuration, by compile-time
 * key (cfg.h), the file names in the configuration directory, and the -C
 * DIR of every command line.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "daemon/cfg.h"
#include "daemon/cfg_int.h"

struct cfg_filecache { char *name, *path; struct cfg_filecache *next; };
static struct cfg_filecache *files;

static struct cfg_val *
cfg_get(enum cfg_id id)
{
	cfg_defaults();
	if ((unsigned)id >= CFG_NKEYS)
		log_panic("no configuration key number %d", (int)id);
	return &cfg_vals[id];
}

int
cfg_id_of(const char *name, enum cfg_id *id_r)
{
	size_t i = cfg_index(name);

	if (i == (size_t)-1)
		return 0;
	*id_r = (enum cfg_id)i;
	return 1;
}

const char *
cfg_str_named(const char *name)
{
	enum cfg_id id;

	if (!cfg_id_of(name, &id))
		log_panic("no configuration key %s", name);
	return cfg_str_at(id);
}

const char *
cfg_str_at(enum cfg_id id)
{
	return cfg_get(id)->text;
}

unsigned long
cfg_num_at(enum cfg_id id)
{
	return cfg_get(id)->num;
}

int
cfg_bool_at(enum cfg_id id)
{
	return cfg_get(id)->num != 0;
}

const char *
cfg_list_at(enum cfg_id id, size_t n)
{
	struct cfg_val *cv = cfg_get(id);

	return cv->words && n < cv->nwords ? cv->words[n] : NULL;
}

int
cfg_inlist_at(enum cfg_id id, const char *word)
{
	struct cfg_val *cv = cfg_get(id);
	size_t i;

	size_t wl = strlen(word);

	/* a domain's trailing dot (the root) does not count: "Example.Test."
	 * in local_domains matches the canonical "example.test" and back */
	if (wl > 1 && word[wl - 1] == '.')
		wl--;
	for (i = 0; cv->words && i < cv->nwords; i++) {
		const char *w = cv->words[i];
		size_t l = strlen(w);

		if (l > 1 && w[l - 1] == '.')
			l--;
		if (l == wl && str_ncaseeq(w, word, l))
			return 1;
	}
	return 0;
}

int
cfg_isset_at(enum cfg_id id)
{
	return cfg_get(id)->set;
}

int
cfg_isdefault_at(enum cfg_id id)
{
	struct cfg_val *cv = cfg_get(id), def;
	size_t i = (size_t)id, j;
	const char *msg;
	int same;

	memset(&def, 0, sizeof def);
	/* the default parsed the same way (paths resolve against DIR) */
	if (!cfg_val_set(&cfg_keys[i], &def, cfg_keys[i].def, cfg_confdir, &msg))
		log_panic("default of %s: %s", cfg_keys[i].name, msg);
	switch (cfg_keys[i].type) {
	case CFG_NUM:
	case CFG_TIME:
	case CFG_BOOL:
		same = cv->num == def.num;
		break;
	case CFG_LIST:
		same = cv->nwords == def.nwords;
		for (j = 0; same && j < cv->nwords; j++)
			same = str_caseeq(cv->words[j], def.words[j]);
		break;
	default:
		same = strcmp(cv->text, def.text) == 0;
		break;
	}
	cfg_val_clear(&def);
	return same;
}

const char *
cfg_file(const char *name)
{
	struct cfg_filecache *f;
	struct buf b = BUF_INIT;

	cfg_defaults();
	for (f = files; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f->path;
	f = malloc(sizeof *f);
	if (f == NULL || buf_cats(&b, cfg_confdir) < 0 || buf_catc(&b, '/') < 0 ||
	    buf_cats(&b, name) < 0)
		log_fatal("out of memory");
	f->name = cfg_strndup(name, strlen(name));
	f->path = cfg_strndup(b.s, b.len);
	buf_free(&b);
	f->next = files;
	files = f;
	return f->path;
}

const char *
cfg_take_dir(int *argc, char **argv)
{
	const char *dir = NULL;
	int i, j;

	for (i = 1; i < *argc; i++) {
		int drop = 0;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-C") == 0 && i + 1 < *argc) {
			dir = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2]) {
			dir = argv[i] + 2;
			drop = 1;
		}
		if (drop) {
			for (j = i; j + drop <= *argc; j++)
				argv[j] = argv[j + drop];
			*argc -= drop;
			i--;
		}
	}
	return dir;
}
