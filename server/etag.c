#include "etag.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool etag_applies(const char *method, const char *route)
{
	static const char *const routes[] = { "/v1/vms/{id}", "/v1/profiles/{name}" };

	if (!route || (strcmp(method, "GET") && strcmp(method, "HEAD")))
		return false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(route, routes[i]))
			return true;
	return false;
}

void etag_of(const char *body, size_t len, char out[ETAG_SIZE])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)body[i]) * 0x100000001b3ull;
	snprintf(out, ETAG_SIZE, "\"%016" PRIx64 "\"", h);
}

bool etag_matches(const char *inm, const char *tag)
{
	size_t tlen = strlen(tag);

	if (!inm)
		return false;
	while (*inm) {
		size_t n;

		inm += strspn(inm, " \t,");
		if (!strncmp(inm, "W/", 2))
			inm += 2;
		n = strcspn(inm, " \t,");
		if ((n == 1 && inm[0] == '*') || (n == tlen && !strncmp(inm, tag, tlen)))
			return true;
		inm += n;
	}
	return false;
}
