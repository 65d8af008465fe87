#include "problem.h"

#include <stdarg.h>
#include <stdio.h>

const char *problem_status_title(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

json_t *problem_new(unsigned status, const char *code, const char *field,
		    const char *fmt, ...)
{
	char detail[1024], type[128];
	json_t *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(type, sizeof(type), "urn:pinvm:problem:%s", code);
	p = json_pack("{s:s, s:s, s:I, s:s, s:s}", "type", type, "title",
		      problem_status_title(status), "status", (json_int_t)status,
		      "detail", detail, "code", code);
	if (p && field && json_object_set_new(p, "field", json_string(field))) {
		json_decref(p);
		return NULL;
	}
	return p;
}
