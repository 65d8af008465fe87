/*
 * prefer_has() on arbitrary header text: it never reads past the end, and
 * agrees with a plain re-implementation (split at ',', trim, cut at '='
 * or ';', compare case-insensitively).
 */
#include "fuzz_common.h"

#include "prefer.h"

#include <ctype.h>
#include <stdlib.h>
#include <strings.h>

static bool oracle(const char *h, const char *token)
{
	char *copy = strdup(h), *save = NULL, *el;
	bool found = false;

	FUZZ_CHECK(copy);
	for (el = strtok_r(copy, ",", &save); el && !found; el = strtok_r(NULL, ",", &save)) {
		char *end;

		el[strcspn(el, "=;")] = '\0';
		while (*el == ' ' || *el == '\t')
			el++;
		end = el + strlen(el);
		while (end > el && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		found = !strcasecmp(el, token);
	}
	free(copy);
	return found;
}

int fuzz_run(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);

	FUZZ_CHECK(h);
	memcpy(h, data, size);
	h[size] = '\0';
	FUZZ_CHECK(prefer_has(h, "respond-async") == oracle(h, "respond-async"));
	FUZZ_CHECK(prefer_has(h, "wait") == oracle(h, "wait"));
	free(h);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
