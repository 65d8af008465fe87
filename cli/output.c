#include "output.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum pinvm_exit exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return EXIT_OK;
	switch (status) {
	case 400:
	case 413:
	case 415:
	case 422:
		return EXIT_REFUSED;
	case 401:
	case 403:
		return EXIT_UNAUTHORIZED;
	case 404:
		return EXIT_NOT_FOUND;
	case 409:
		return EXIT_CONFLICT;
	case 503:
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_SERVER;
	}
}

void errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("pinvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *json_text(const json_t *obj, const char *key)
{
	const char *s = json_str(obj, key);

	return s ? s : "-";
}

const char *int_cell(char *buf, size_t len, const json_t *v)
{
	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

enum pinvm_exit report_failure(const struct response *r)
{
	const char *detail, *code, *field, *rid;

	if (r->status == 0) {
		errorf("cannot reach pinvmd: %s", r->error);
		return EXIT_UNREACHABLE;
	}
	detail = json_str(r->json, "detail");
	if (!detail) {
		/* Not ours (a proxy, or a very old pinvmd): show what came back
		 * on the one line, cut short. */
		size_t n = strcspn(r->body, "\r\n");

		errorf("HTTP %ld%s%.*s", r->status, n ? ": " : "",
		       (int)(n > 200 ? 200 : n), r->body);
		return exit_for_status(r->status);
	}
	code = json_str(r->json, "code");
	field = json_str(r->json, "field");
	rid = json_str(r->json, "request_id");
	fprintf(stderr, "pinvm: %s (HTTP %ld %s", detail, r->status, code ? code : "error");
	if (field)
		fprintf(stderr, ", field %s", field);
	if (rid)
		fprintf(stderr, ", request %s", rid);
	fputs(")\n", stderr);
	return exit_for_status(r->status);
}

void print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

struct table {
	int columns;
	size_t rows;      /* including the header row */
	size_t cap;
	char **cells;     /* rows * columns, each owned */
	bool failed;
};

static void table_add(struct table *t, const char *const *cells)
{
	char **grown;

	if (t->failed)
		return;
	if (t->rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		grown = realloc(t->cells, cap * (size_t)t->columns * sizeof(*grown));
		if (!grown) {
			t->failed = true;
			return;
		}
		t->cells = grown;
		t->cap = cap;
	}
	for (int c = 0; c < t->columns; c++) {
		char *s = strdup(cells[c] ? cells[c] : "-");

		/* A missing cell must not print as something else: the
		 * table is failed and table_print refuses it. */
		if (!s)
			t->failed = true;
		t->cells[t->rows * (size_t)t->columns + (size_t)c] = s;
	}
	t->rows++;
}

struct table *table_new(int columns, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->columns = columns;
	table_add(t, headers);
	return t;
}

void table_row(struct table *t, const char *const *cells)
{
	if (t)
		table_add(t, cells);
}

int table_print(struct table *t, FILE *f)
{
	size_t width[16] = { 0 };

	if (!t || t->failed || t->columns > 16)
		return -1;
	for (size_t r = 0; r < t->rows; r++)
		for (int c = 0; c < t->columns; c++) {
			size_t n = strlen(t->cells[r * (size_t)t->columns + (size_t)c]);

			if (n > width[c])
				width[c] = n;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->columns; c++) {
			const char *s = t->cells[r * (size_t)t->columns + (size_t)c];

			/* No padding after the last column: no trailing blanks. */
			if (c == t->columns - 1)
				fputs(s, f);
			else
				fprintf(f, "%-*s  ", (int)width[c], s);
		}
		fputc('\n', f);
	}
	return 0;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->rows * (size_t)t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

char *json_cell(const json_t *v)
{
	const char *key;
	json_t *value;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_object(v))
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	json_object_foreach((json_t *)v, key, value) {
		char *s = json_is_string(value) ? NULL
			: json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

		const char *text = s ? s : json_string_value(value);

		fprintf(f, "%s%s=%s", ftell(f) > 0 ? " " : "", key, text ? text : "?");
		free(s);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
