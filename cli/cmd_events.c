/* pinvm events: follows pinvmd's event stream (GET /v1/events). */
#include "commands.h"
#include "event_text.h"
#include "output.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char usage_events[] =
	"usage: pinvm events [--vm ID] [--type TYPE] [--since ID] [--count N]\n"
	"       follows pinvmd's events until it ends the stream (or N came): one\n"
	"       line each (ID TIME TYPE VM WHAT), or with --json each event's JSON;\n"
	"       --type vm.state (vm.created, vm.deleted, vm.snapshot, vm.migration,\n"
	"       profile.refused), or a family (vm.); --since ID resumes after event ID\n";

/* The stream's bytes, cut into frames ("...\n\n"). */
struct follow {
	const struct cli *c;
	char *buf;
	size_t len, cap;
	unsigned long long last; /* the last event id printed */
	long long count;         /* stop after this many; 0: never */
	long long printed;
	bool failed;
};

static void print_event(struct follow *f, const char *frame)
{
	const char *data = strstr(frame, "data: ");
	json_t *ev;
	char what[512];

	if (!data || (data != frame && data[-1] != '\n'))
		return; /* a comment, or retry: */
	ev = json_loadb(data + 6, strcspn(data + 6, "\n"), 0, NULL);
	if (!ev)
		return;
	f->last = (unsigned long long)json_integer_value(json_object_get(ev, "id"));
	if (f->c->json) {
		char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		event_text(ev, what, sizeof(what));
		printf("%-6llu %-24s %-16s %-36s %s\n", f->last, json_text(ev, "time"),
		       json_text(ev, "type"), json_str(ev, "vm_id") ? json_str(ev, "vm_id") : "-",
		       what);
	}
	fflush(stdout);
	json_decref(ev);
	f->printed++;
}

static int on_data(const char *data, size_t n, void *arg)
{
	struct follow *f = arg;
	char *end;

	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		char *p;

		while (cap < f->len + n + 1)
			cap *= 2;
		p = realloc(f->buf, cap);
		if (!p) {
			f->failed = true;
			return -1;
		}
		f->buf = p;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	f->buf[f->len] = '\0';
	while ((end = strstr(f->buf, "\n\n"))) {
		*end = '\0';
		print_event(f, f->buf);
		f->len -= (size_t)(end + 2 - f->buf);
		memmove(f->buf, end + 2, f->len + 1);
		if (f->count && f->printed >= f->count)
			return 1;
	}
	return 0;
}

int cmd_events(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *vm = NULL, *type = NULL, *since = NULL;
	struct follow f = { .c = c };
	char path[512], header[64];
	struct response r;
	int o, rc;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'v': vm = optarg; break;
		case 't': type = optarg; break;
		case 's': since = optarg; break;
		case 'n':
			f.count = strtoll(optarg, NULL, 10);
			if (f.count < 1 || strspn(optarg, "0123456789") != strlen(optarg))
				return cli_usage_error(usage_events, "events: --count takes N >= 1");
			break;
		case 'h': fputs(usage_events, stdout); return EXIT_OK;
		default: return cli_usage_error(usage_events, "events: unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(usage_events, "events: unexpected argument '%s'", argv[optind]);
	/* The values go into the query as they are: pinvmd refuses what is
	 * not a VM id or a type name (400), so nothing can reach another
	 * parameter; '&', '#' and spaces are refused here. */
	if ((vm && strpbrk(vm, "&#? %+")) || (type && strpbrk(type, "&#? %+")) ||
	    (since && strspn(since, "0123456789") != strlen(since)))
		return cli_usage_error(usage_events, "events: a bad --vm, --type or --since");
	{
		char sep = '?';
		size_t n = (size_t)snprintf(path, sizeof(path), "/v1/events");

		if (vm) {
			n += (size_t)snprintf(path + n, sizeof(path) - n, "%cvm=%s", sep, vm);
			sep = '&';
		}
		if (type && n < sizeof(path))
			snprintf(path + n, sizeof(path) - n, "%ctype=%s", sep, type);
	}
	if (since)
		snprintf(header, sizeof(header), "Last-Event-ID: %s", since);
	if (transport_stream(&c->ep, path, since ? header : NULL, on_data, &f, &r) < 0) {
		rc = cli_unreachable(c, &r);
	} else if (r.status < 200 || r.status >= 300) {
		rc = report_failure(&r);
	} else {
		if (!c->json && !(f.count && f.printed >= f.count))
			fprintf(stderr, "pinvm: the stream ended%s%llu\n",
				f.last ? "; resume with --since " : " before any event", f.last);
		rc = f.failed ? EXIT_FAILURE_LOCAL : EXIT_OK;
	}
	response_free(&r);
	free(f.buf);
	return rc;
}
