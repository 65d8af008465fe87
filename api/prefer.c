#include "prefer.h"

#include <string.h>
#include <strings.h>

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

bool prefer_has(const char *header, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = header;

	if (!header || !tlen)
		return false;
	while (*p) {
		size_t n = strcspn(p, ","), name;

		while (n && ows(*p)) {
			p++;
			n--;
		}
		name = strcspn(p, "=;,");
		if (name > n)
			name = n;
		while (name && ows(p[name - 1]))
			name--;
		if (name == tlen && !strncasecmp(p, token, tlen))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}
