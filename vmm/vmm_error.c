#include "vmm_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vmm_error_clear(struct vmm_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int vmm_error_set(struct vmm_error *err, const char *step, int errnum,
		  const char *fmt, ...)
{
	va_list ap;

	if (errnum <= 0)
		errnum = EIO;
	if (!err)
		return -errnum;
	memset(err, 0, sizeof(*err));
	snprintf(err->step, sizeof(err->step), "%s", step);
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -errnum;
}

int vmm_error_sys(struct vmm_error *err, const char *step)
{
	int e = errno > 0 ? errno : EIO;

	return vmm_error_set(err, step, e, "%s: %s", step, strerror(e));
}
