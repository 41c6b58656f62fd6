/*
 * spool: the queue directory's layout (spool.h).
 */
#include <stddef.h>

#include "queue/spool.h"

const struct spool_dir spool_dirs[] = {
	{ "tmp", 0700 },
	{ "mess", 02750 },
	{ "todo", 0700 },
	{ "state", 0750 },
	{ "corrupt", 0700 },
	{ NULL, 0 },
};
