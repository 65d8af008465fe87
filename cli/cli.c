#include "commands.h"
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pinvm_exit cli_call(const struct cli *c, const char *method, const char *path,
			 const json_t *body, struct response *r)
{
	char *text = NULL;
	enum pinvm_exit rc;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			memset(r, 0, sizeof(*r));
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
	}
	if (transport_request(&c->ep, method, path, text, r) < 0)
		rc = cli_unreachable(c, r);
	else if (r->status < 200 || r->status >= 300)
		rc = report_failure(r);
	else
		rc = EXIT_OK;
	free(text);
	return rc;
}

int cli_show(const struct cli *c, const json_t *v, int (*show)(const json_t *))
{
	if (!c->json)
		return show(v);
	print_json(v);
	return EXIT_OK;
}

enum pinvm_exit cli_read_json(const char *path, json_t **out)
{
	json_error_t e;

	if (strcmp(path, "-") == 0)
		*out = json_loadf(stdin, JSON_REJECT_DUPLICATES, &e);
	else
		*out = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (!*out) {
		/* jansson says "unable to open ..." itself when the file is missing. */
		if (e.line > 0)
			errorf("%s: line %d, column %d: %s", path, e.line, e.column, e.text);
		else
			errorf("%s: %s", path, e.text);
		return EXIT_FAILURE_LOCAL;
	}
	return EXIT_OK;
}

int cli_path(char *buf, size_t len, const char *prefix, const char *segment,
	     const char *suffix)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(prefix);

	if (n >= len)
		return -1;
	memcpy(buf, prefix, n);
	for (const unsigned char *s = (const unsigned char *)segment; *s; s++) {
		int plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || strchr("-._~", *s);

		if (n + (plain ? 1 : 3) >= len)
			return -1;
		if (plain) {
			buf[n++] = (char)*s;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*s >> 4];
			buf[n++] = hex[*s & 15];
		}
	}
	if (n + strlen(suffix) >= len)
		return -1;
	strcpy(buf + n, suffix);
	return 0;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("pinvm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

int cli_print_table(struct table *t)
{
	int rc = table_print(t, stdout) < 0 ? EXIT_FAILURE_LOCAL : EXIT_OK;

	if (rc != EXIT_OK)
		errorf("out of memory");
	table_free(t);
	return rc;
}

json_t *cli_load_host(const char *path)
{
	json_t *doc, *inner, *out;

	if (cli_read_json(path, &doc) != EXIT_OK)
		return NULL;
	inner = json_object_get(doc, "firmware_registers");
	if (!json_is_object(inner))
		return doc;
	out = json_deep_copy(inner);
	if (out && json_object_get(doc, "observed_abi") &&
	    json_object_set(out, "observed_abi", json_object_get(doc, "observed_abi")) < 0) {
		json_decref(out);
		out = NULL;
	}
	if (!out)
		errorf("out of memory");
	json_decref(doc);
	return out;
}

int cli_print_verdict(const json_t *v)
{
	static const char *const head[] = { "REGISTER", "PINNED", "HOST", "VERDICT", "WHY" };
	const json_t *e, *cpu;
	struct table *t;
	size_t i;

	t = table_new(5, head);
	json_array_foreach(json_object_get(v, "registers"), i, e) {
		char *why = NULL;
		const char *rule = json_str(e, "rule"), *reason = json_str(e, "reason");
		const char *row[5];

		if (rule && asprintf(&why, "%s (rule %s)", reason ? reason : "", rule) < 0)
			why = NULL;
		row[0] = json_str(e, "name") ? json_str(e, "name") : json_str(e, "id");
		row[1] = json_str(e, "pinned");
		row[2] = json_str(e, "host");
		row[3] = json_str(e, "verdict");
		row[4] = why ? why : reason;
		table_row(t, row);
		free(why);
	}
	if (cli_print_table(t) != EXIT_OK)
		return EXIT_FAILURE_LOCAL;
	cpu = json_object_get(v, "cpu_features");
	if (cpu) {
		const char *rule = json_str(cpu, "rule");

		printf("\ncpu features: %s%s%s%s: %s\n", json_text(cpu, "verdict"),
		       rule ? " (rule " : "", rule ? rule : "", rule ? ")" : "",
		       json_text(cpu, "reason"));
	}
	return EXIT_OK;
}

enum pinvm_exit cli_unreachable(const struct cli *c, const struct response *r)
{
	/* Where it tried is most of the answer to "why not". */
	errorf("cannot reach pinvmd at %s%s: %s", c->ep.unix_path ? "unix:" : "",
	       c->ep.unix_path ? c->ep.unix_path : c->ep.url, r->error);
	return EXIT_UNREACHABLE;
}

int cli_get_all(const struct cli *c, const char *path, const char *member, json_t **out)
{
	json_t *all = json_array();
	char page[512], first[512];
	int rc = EXIT_OK;

	*out = NULL;
	/* The cursor is an opaque token: encoded so that it stays one
	 * parameter. */
	if (!all || cli_path(first, sizeof(first), path, "", "?cursor=") < 0) {
		json_decref(all);
		errorf("out of memory");
		return EXIT_FAILURE_LOCAL;
	}
	snprintf(page, sizeof(page), "%s", path);
	while (rc == EXIT_OK) {
		struct response r;
		const char *next;
		bool more = false;

		rc = cli_call(c, "GET", page, NULL, &r);
		if (rc == EXIT_OK && json_array_extend(all, json_object_get(r.json, member)) < 0) {
			errorf("out of memory");
			rc = EXIT_FAILURE_LOCAL;
		}
		next = rc == EXIT_OK ? json_str(r.json, "next_cursor") : NULL;
		if (next && cli_path(page, sizeof(page), first, next, "") == 0) {
			more = true;
		} else if (next) {
			/* Asking for the same page again would never end. */
			errorf("pinvmd's next_cursor is too long to follow");
			rc = EXIT_SERVER;
		}
		response_free(&r);
		if (!more)
			break;
	}
	if (rc == EXIT_OK && !(*out = json_pack("{s:O}", member, all))) {
		errorf("out of memory");
		rc = EXIT_FAILURE_LOCAL;
	}
	json_decref(all);
	return rc;
}
