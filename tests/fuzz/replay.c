/*
 * Runs a fuzz target over files without libFuzzer, so the corpus is an
 * ordinary test under any compiler: replay_<target> FILE|DIR...
 * A seed named ok-* must be accepted and bad-* refused (other names, e.g.
 * libFuzzer's crash-*, only have to keep the invariants). Fails when no
 * input was found (a wrong path must not pass silently).
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	const char *base;
	int ret;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 4096;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	ret = fuzz_run(buf, len);
	free(buf);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "ok-", 3) == 0 && ret != 1) {
		fprintf(stderr, "%s: refused, but named ok-\n", path);
		return -1;
	}
	if (strncmp(base, "bad-", 4) == 0 && ret != 0) {
		fprintf(stderr, "%s: %s, but named bad-\n", path,
			ret < 0 ? "not JSON" : "accepted");
		return -1;
	}
	return 0;
}

static int run_path(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, ret = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];
		int len;

		if (names[i]->d_name[0] != '.' && ret == 0) {
			len = snprintf(full, sizeof(full), "%s/%s", path,
				       names[i]->d_name);
			if (len < 0 || (size_t)len >= sizeof(full))
				ret = -1;
			else
				ret = run_path(full, count);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count))
			return 1;
	printf("replayed %zu inputs\n", count);
	return count ? 0 : 1;
}
