#include "api_error.h"

#include <errno.h>
#include <stdio.h>

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
