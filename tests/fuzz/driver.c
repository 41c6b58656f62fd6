/*
 * driver: a main() for the fuzz targets without libFuzzer, so that
 * `make check` runs each target over its committed seed corpus with the
 * normal compiler (and, under `make sanitize`, with ASan and UBSan).
 *
 *   tests/fuzz/smoke_NAME DIR|FILE...
 *
 * Feeds every regular file (each in a buffer of exactly its size, so an
 * over-read is caught by ASan) to LLVMFuzzerTestOneInput, then prints
 * "unit fuzz_NAME: N passed, 0 failed", N the number of inputs.  A
 * crash is the failure; a missing or empty corpus is one too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define INPUT_MAX (1 << 20)

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    n > INPUT_MAX || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: %s\n", path, f ? "cannot size it or too "
		    "large" : strerror(errno));
		if (f != NULL)
			fclose(f);
		return 0;
	}
	b = malloc(n > 0 ? (size_t)n : 1);
	if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: read failed\n", path);
		free(b);
		fclose(f);
		return 0;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(b, (size_t)n);
	free(b);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	int i, ran = 0, bad = 0;

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "smoke_", 6) == 0)
		name += 6;
	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]))
				ran++;
			else
				bad++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			bad++;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			char p[4096];

			if (e->d_name[0] == '.')
				continue;
			if (snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name) >=
			    (int)sizeof p || stat(p, &st) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			if (run_file(p))
				ran++;
			else
				bad++;
		}
		closedir(d);
	}
	if (ran == 0 && bad == 0) {
		fprintf(stderr, "fuzz_%s: no input (give a corpus directory)\n",
		    name);
		bad = 1;
	}
	printf("unit fuzz_%s: %d passed, %d failed\n", name, ran, bad);
	return bad > 0;
}
