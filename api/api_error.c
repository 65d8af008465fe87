#include "api_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int api_fail(struct api_error *err, unsigned status, const char *code,
	     const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void api_error_nest(struct api_error *e, const char *prefix)
{
	char inner[sizeof(e->field)];
	int n;

	memcpy(inner, e->field, sizeof(inner));
	n = snprintf(e->field, sizeof(e->field), "%s%s%s", prefix,
		     inner[0] && inner[0] != '[' ? "." : "", inner);
	if (n < 0 || (size_t)n >= sizeof(e->field))
		snprintf(e->field, sizeof(e->field), "%s", prefix);
}
