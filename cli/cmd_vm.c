/* pinvm vm ...: lifecycle and console of microVMs. */
#include "commands.h"
#include "event_text.h"
#include "output.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char usage_vm[] =
	"usage: pinvm vm list [--state STATE] [--name NAME] [--label K=V[,K...]]\n"
	"       pinvm vm create --kernel NAME [--initrd NAME] [--vcpus N] [--memory MIB]\n"
	"                       [--cmdline TEXT] [--profile NAME] [-f SPEC.json] [-q]\n"
	"                       (images by name from `pinvm images`; -f gives the whole\n"
	"                       spec, options override it; -q prints only the new id)\n"
	"       pinvm vm show ID\n"
	"       pinvm vm start|pause|resume|stop ID\n"
	"       pinvm vm delete ID\n"
	"       pinvm vm console ID [-f] [--offset N]\n"
	"                       the console output; -f streams it until the VM ends\n"
	"       pinvm vm console ID --input TEXT|-\n"
	"                       types TEXT and a newline at the console (- : stdin as\n"
	"                       is); the answer comes with `pinvm vm console ID -f`\n"
	"       pinvm vm restore SNAPSHOT [--accept RULE[,RULE...]] [-q]\n"
	"                       a new VM from a snapshot (`pinvm snapshot list`), paused:\n"
	"                       `vm resume` runs it on from where it was\n"
	"       pinvm vm migrate ID --to URL [--to-token-file FILE] [--to-cacert FILE]\n"
	"                       [--accept RULE[,RULE...]]\n"
	"                       moves a running VM live to the pinvmd at URL (its token\n"
	"                       and CA read here, sent along); follow it with\n"
	"                       `pinvm events --vm ID --type vm.migration`\n"
	"       pinvm vm migrate ID --cancel\n"
	"                       stops a migration under way; the guest runs on here\n"
	"       --accept: differences to keep at the new host's value instead of refusing:\n"
	"       cache_geometry_differs, el2_feature_differs, pmu_id_differs,\n"
	"       vgic_revision_differs, workaround_level_differs\n";

/* How often a followed console is asked again when it had nothing new. */
#define FOLLOW_INTERVAL_MS 250
/* Bytes one console POST takes at most (the server's bound). */
#define CONSOLE_INPUT_MAX 4096
/* A CA bundle for --to-cacert: a few certificates, far below this. */
#define PEM_MAX (256u << 10)

/* The answer to a restore or a migration that named rules to accept:
 * each difference they covered, kept at this host's value. */
static int show_accepted(const json_t *accepted)
{
	static const char *const head[] = { "ACCEPTED", "RULE", "WANTED", "KEPT" };
	const json_t *d;
	struct table *t;
	size_t i;

	if (!json_array_size(accepted))
		return EXIT_OK;
	putchar('\n');
	t = table_new(4, head);
	json_array_foreach(accepted, i, d) {
		const char *row[] = { json_str(d, "register"), json_str(d, "rule"),
				      json_str(d, "wanted"), json_str(d, "kept") };

		table_row(t, row);
	}
	return cli_print_table(t);
}

static int show_vm(const json_t *vm)
{
	static const char *const head[] = { "REGISTER", "VERDICT", "WRITE", "GUEST SEES" };
	const json_t *spec = json_object_get(vm, "spec"), *abi = json_object_get(vm, "abi"), *e;
	char buf[32];
	struct table *t;
	size_t i;

	printf("%-12s%s\n", "id", json_text(vm, "id"));
	printf("%-12s%s\n", "state", json_text(vm, "state"));
	if (json_str(vm, "reason"))
		printf("%-12s%s\n", "reason", json_text(vm, "reason"));
	printf("%-12s%s\n", "created", json_text(vm, "created_at"));
	/* A restored VM's spec names its snapshot, which holds the rest. */
	if (json_str(spec, "snapshot"))
		printf("%-12s%s\n", "snapshot", json_text(spec, "snapshot"));
	if (int_cell(buf, sizeof(buf), json_object_get(spec, "vcpus")))
		printf("%-12s%s\n", "vcpus", buf);
	if (int_cell(buf, sizeof(buf), json_object_get(spec, "memory_mib")))
		printf("%-12s%s MiB\n", "memory", buf);
	if (json_str(spec, "kernel"))
		printf("%-12s%s\n", "kernel", json_text(spec, "kernel"));
	if (json_str(spec, "initrd"))
		printf("%-12s%s\n", "initrd", json_text(spec, "initrd"));
	if (json_str(spec, "cmdline"))
		printf("%-12s%s\n", "cmdline", json_text(spec, "cmdline"));
	if (json_str(spec, "profile"))
		printf("%-12s%s\n", "profile", json_text(spec, "profile"));
	if (int_cell(buf, sizeof(buf), json_object_get(vm, "vmm_pid")))
		printf("%-12s%s\n", "vmm pid", buf);
	if (json_is_object(json_object_get(vm, "migration"))) {
		char what[512];

		migration_text(json_object_get(vm, "migration"), what, sizeof(what));
		printf("%-12s%s\n", "migration", what);
	}
	if (show_accepted(json_object_get(vm, "accepted")) != EXIT_OK)
		return EXIT_FAILURE_LOCAL;
	if (!json_is_array(abi))
		return EXIT_OK;
	putchar('\n');
	t = table_new(4, head);
	json_array_foreach(abi, i, e) {
		const char *row[] = { json_str(e, "name") ? json_str(e, "name") : json_str(e, "id"),
				      json_text(e, "verdict"), json_text(e, "write"),
				      json_text(e, "guest_sees") };

		table_row(t, row);
	}
	return cli_print_table(t);
}

static int show_list(const json_t *list)
{
	static const char *const head[] = { "ID", "STATE", "VCPUS", "MEMORY", "KERNEL",
					    "PROFILE", "CREATED" };
	struct table *t = table_new(7, head);
	const json_t *vm;
	size_t i;

	json_array_foreach(json_object_get(list, "vms"), i, vm) {
		const json_t *spec = json_object_get(vm, "spec");
		char cpus[32], mem[40];
		const char *row[] = { json_str(vm, "id"), json_str(vm, "state"),
				      int_cell(cpus, sizeof(cpus), json_object_get(spec, "vcpus")),
				      int_cell(mem, sizeof(mem) - 4, json_object_get(spec, "memory_mib")),
				      json_str(spec, "kernel"), json_str(spec, "profile"),
				      json_text(vm, "created_at") };

		/* A restored VM's size is its snapshot's: "-" here. */
		if (row[3])
			strcat(mem, " MiB");
		table_row(t, row);
	}
	return cli_print_table(t);
}

/* Parses a decimal in [min, max] into *out; 0 or -1. */
static int parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

/* value, percent-encoded but for unreserved characters, into out; 0 or -1. */
static int query_escape(char *out, size_t len, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			if (n + 1 >= len)
				return -1;
			out[n++] = (char)*p;
		} else {
			if (n + 3 >= len)
				return -1;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= len)
		return -1;
	out[n] = '\0';
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sets *ended when the VM is stopped or failed; returns the exit status
 * of asking (its failure printed). */
static int vm_ended(const struct cli *c, const char *vm_path, bool *ended)
{
	struct response r;
	const char *state;
	int rc = cli_call(c, "GET", vm_path, NULL, &r);

	state = json_str(r.json, "state");
	*ended = state && (strcmp(state, "stopped") == 0 || strcmp(state, "failed") == 0);
	response_free(&r);
	return rc;
}

struct follow {
	long long offset; /* of the next byte to come */
	bool failed;      /* stdout refused a write */
	bool started;     /* this stream's first bytes came */
	const struct response *r; /* this stream's headers */
};

static int on_console_data(const char *data, size_t n, void *arg)
{
	struct follow *f = arg;

	/* Where the stream starts: later than asked when the log's bound
	 * dropped the bytes between. */
	if (!f->started) {
		f->started = true;
		if (f->r->start_offset > f->offset) {
			fprintf(stderr, "pinvm: console bytes %lld..%lld were dropped (the log "
				"keeps the newest only)\n", f->offset, f->r->start_offset - 1);
			f->offset = f->r->start_offset;
		}
	}

	if (fwrite(data, 1, n, stdout) != n) {
		f->failed = true;
		return 1;
	}
	fflush(stdout);
	f->offset += (long long)n;
	return 0;
}

/* How often a cut stream is opened again before giving up. */
#define FOLLOW_RECONNECTS 5

static int console_poll(const struct cli *c, const char *vm_path, long long offset,
			bool follow);

/*
 * Streams the console from offset (GET ?follow=1) until the VM has ended
 * and its last bytes are out. A stream cut short (pinvmd restarting, or
 * bytes this reader was too slow for dropped by the log's bound) is
 * opened again at the next offset; a gap is said on stderr. A pinvmd
 * without streams (400 for follow) is polled instead.
 */
static int console_follow(const struct cli *c, const char *vm_path, long long offset)
{
	struct follow f = { .offset = offset };
	int tries = 0;

	for (;;) {
		char path[600];
		struct response r;
		bool ended;
		int rc;

		snprintf(path, sizeof(path), "%s/console?follow=1&offset=%lld", vm_path, f.offset);
		f.started = false;
		f.r = &r;
		if (transport_stream(&c->ep, path, NULL, on_console_data, &f, &r) < 0) {
			response_free(&r);
			/* A cut stream: its bytes so far were written. */
			if (++tries > FOLLOW_RECONNECTS) {
				errorf("the console stream broke %d times; resume with --offset %lld",
				       tries, f.offset);
				return EXIT_UNREACHABLE;
			}
			sleep_ms(FOLLOW_INTERVAL_MS);
			continue;
		}
		if (r.status == 400 && r.json &&
		    json_str(r.json, "field") && !strcmp(json_str(r.json, "field"), "follow")) {
			response_free(&r);
			return console_poll(c, vm_path, f.offset, true);
		}
		if (r.status < 200 || r.status >= 300) {
			rc = report_failure(&r);
			response_free(&r);
			return rc;
		}
		response_free(&r);
		if (f.failed) {
			errorf("writing the console to stdout failed");
			return EXIT_FAILURE_LOCAL;
		}
		/* The stream ended: the VM did, or the drain of a stopping pinvmd. */
		rc = vm_ended(c, vm_path, &ended);
		if (rc != EXIT_OK || ended)
			return rc;
		tries = 0;
	}
}

/* Types bytes at the console, 4 KiB a request, waiting while the guest
 * has not read earlier input (503 console_busy). */
static int console_type(const struct cli *c, const char *vm_path, const char *data,
			size_t len)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/console", vm_path);
	while (len) {
		size_t n = len < CONSOLE_INPUT_MAX ? len : CONSOLE_INPUT_MAX;
		struct response r;
		int rc, waited = 0;

		for (;;) {
			if (transport_request_raw(&c->ep, "POST", path, "application/octet-stream",
						  data, n, &r) < 0) {
				rc = cli_unreachable(c, &r);
				response_free(&r);
				return rc;
			}
			if (r.status != 503 || waited++ >= 40)
				break;
			response_free(&r);
			sleep_ms(FOLLOW_INTERVAL_MS);
		}
		if (r.status < 200 || r.status >= 300) {
			rc = report_failure(&r);
			response_free(&r);
			return rc;
		}
		response_free(&r);
		data += n;
		len -= n;
	}
	return EXIT_OK;
}

/* --input: TEXT and a newline, or with "-" stdin as it is. */
static int console_input(const struct cli *c, const char *vm_path, const char *text)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (strcmp(text, "-") != 0) {
		len = strlen(text);
		buf = malloc(len + 1);
		if (!buf) {
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
		memcpy(buf, text, len);
		buf[len++] = '\n';
	} else {
		size_t n;

		do {
			if (len == cap) {
				char *p = realloc(buf, cap = cap ? 2 * cap : 4096);

				if (!p) {
					free(buf);
					errorf("out of memory");
					return EXIT_FAILURE_LOCAL;
				}
				buf = p;
			}
			n = fread(buf + len, 1, cap - len, stdin);
			len += n;
		} while (n > 0);
		if (ferror(stdin)) {
			free(buf);
			errorf("reading stdin failed");
			return EXIT_FAILURE_LOCAL;
		}
	}
	rc = console_type(c, vm_path, buf, len);
	free(buf);
	return rc;
}

static int console(const struct cli *c, const char *vm_path, long long offset, bool follow)
{
	return follow ? console_follow(c, vm_path, offset) : console_poll(c, vm_path, offset, false);
}

/*
 * Copies console bytes from offset to stdout, up to what the VM has
 * written so far; with follow, asks again until the VM has ended and its
 * last bytes are out (for a pinvmd without ?follow=1 streams).
 */
static int console_poll(const struct cli *c, const char *vm_path, long long offset,
			bool follow)
{
	char path[600];
	bool last = false;

	for (;;) {
		struct response r;
		size_t got;
		int rc;

		snprintf(path, sizeof(path), "%s/console?offset=%lld", vm_path, offset);
		rc = cli_call(c, "GET", path, NULL, &r);
		if (rc != EXIT_OK) {
			response_free(&r);
			return rc;
		}
		if (r.len > 0 && fwrite(r.body, 1, r.len, stdout) != r.len) {
			response_free(&r);
			errorf("writing the console to stdout failed");
			return EXIT_FAILURE_LOCAL;
		}
		fflush(stdout);
		got = r.len;
		offset = r.next_offset >= 0 ? r.next_offset : offset + (long long)got;
		response_free(&r);
		/* One answer holds at most 1 MiB: read on until one is empty. */
		if (got > 0)
			continue;
		if (!follow || last)
			return EXIT_OK;
		/* Nothing new: a VM that ended gets one more pass, for what it
		 * wrote between the last read and its end. */
		rc = vm_ended(c, vm_path, &last);
		if (rc != EXIT_OK)
			return rc;
		if (!last)
			sleep_ms(FOLLOW_INTERVAL_MS);
	}
}

/* POSTs a VM spec or a restore; prints the new VM (its id alone with
 * quiet). */
static int create_vm(const struct cli *c, const json_t *body, bool quiet)
{
	struct response r;
	int rc = cli_call(c, "POST", "/v1/vms", body, &r);

	if (rc == EXIT_OK) {
		if (c->json)
			print_json(r.json);
		else if (quiet)
			printf("%s\n", json_text(r.json, "id"));
		else
			rc = show_vm(r.json);
	}
	response_free(&r);
	return rc;
}

static int vm_create(const struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, 'C' },
		{ "profile", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	json_t *spec = NULL, *set[8] = { 0 };
	const char *keys[8] = { 0 }, *file = NULL;
	bool quiet = false;
	int o, n = 0, rc = EXIT_OK;
	long long v;

	optind = 0;
	while (rc == EXIT_OK && (o = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		json_t *val = NULL;

		switch (o) {
		case 'f':
			file = optarg;
			continue;
		case 'q':
			quiet = true;
			continue;
		case 'c':
		case 'm':
			/* The server judges the range; only a number is required here. */
			if (parse_num(optarg, LLONG_MIN, LLONG_MAX, &v) < 0) {
				rc = cli_usage_error(usage_vm, "vm create: --%s wants a number, not '%s'",
						     o == 'c' ? "vcpus" : "memory", optarg);
				continue;
			}
			val = json_integer(v);
			break;
		case 'k':
		case 'i':
		case 'C':
		case 'p':
			val = json_string(optarg);
			break;
		default:
			rc = cli_usage_error(usage_vm, "vm create: unknown option or missing value: %s",
					     argv[optind - 1]);
			continue;
		}
		keys[n] = o == 'c' ? "vcpus" : o == 'm' ? "memory_mib" : o == 'k' ? "kernel"
			: o == 'i' ? "initrd" : o == 'C' ? "cmdline" : "profile";
		set[n++] = val;
		if (!val) {
			errorf("out of memory");
			rc = EXIT_FAILURE_LOCAL;
		}
		if (n == 8 && rc == EXIT_OK)
			rc = cli_usage_error(usage_vm, "vm create: too many options");
	}
	if (rc == EXIT_OK && optind < argc)
		rc = cli_usage_error(usage_vm, "vm create: unexpected argument '%s'", argv[optind]);
	if (rc == EXIT_OK && file)
		rc = cli_read_json(file, &spec);
	else if (rc == EXIT_OK && !(spec = json_pack("{s:i, s:i}", "vcpus", 1, "memory_mib", 256))) {
		errorf("out of memory");
		rc = EXIT_FAILURE_LOCAL;
	}
	if (rc == EXIT_OK && !json_is_object(spec)) {
		errorf("%s: a VM spec is a JSON object", file);
		rc = EXIT_FAILURE_LOCAL;
	}
	for (int i = 0; i < n; i++) {
		if (rc == EXIT_OK && json_object_set(spec, keys[i], set[i]) < 0) {
			errorf("out of memory");
			rc = EXIT_FAILURE_LOCAL;
		}
		json_decref(set[i]);
	}
	if (rc == EXIT_OK && !file && !json_object_get(spec, "kernel"))
		rc = cli_usage_error(usage_vm, "vm create: --kernel NAME (or -f SPEC.json) is needed");
	if (rc != EXIT_OK) {
		json_decref(spec);
		return rc;
	}
	rc = create_vm(c, spec, quiet);
	json_decref(spec);
	return rc;
}

/* Appends RULE[,RULE...] to *accept (made at the first); the server
 * judges the names. EXIT_OK, or EXIT_FAILURE_LOCAL (said). */
static int add_rules(json_t **accept, const char *list)
{
	char *copy = strdup(list), *save = NULL, *rule;
	int rc = EXIT_OK;

	if (!*accept)
		*accept = json_array();
	if (!copy || !*accept)
		rc = EXIT_FAILURE_LOCAL;
	for (rule = copy ? strtok_r(copy, ",", &save) : NULL; rule && rc == EXIT_OK;
	     rule = strtok_r(NULL, ",", &save))
		if (json_array_append_new(*accept, json_string(rule)) < 0)
			rc = EXIT_FAILURE_LOCAL;
	if (rc != EXIT_OK)
		errorf("out of memory");
	free(copy);
	return rc;
}

static int vm_restore(const struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "accept", required_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 }
	};
	json_t *accept = NULL, *body = NULL;
	bool quiet = false;
	int o, rc = EXIT_OK;

	optind = 0;
	while (rc == EXIT_OK && (o = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (o == 'q')
			quiet = true;
		else if (o == 'a')
			rc = add_rules(&accept, optarg);
		else
			rc = cli_usage_error(usage_vm, "vm restore: unknown option or missing value: %s",
					     argv[optind - 1]);
	}
	if (rc == EXIT_OK && argc - optind != 1)
		rc = cli_usage_error(usage_vm, "vm restore SNAPSHOT");
	if (rc == EXIT_OK &&
	    !(body = json_pack("{s:s, s:O*}", "snapshot", argv[optind], "accept", accept))) {
		errorf("out of memory");
		rc = EXIT_FAILURE_LOCAL;
	}
	if (rc == EXIT_OK)
		rc = create_vm(c, body, quiet);
	json_decref(body);
	json_decref(accept);
	return rc;
}

/* A PEM file's text, for the destination's CA (the server checks it);
 * *out is the caller's to free. EXIT_OK or EXIT_FAILURE_LOCAL (said). */
static int read_pem(const char *path, char **out)
{
	FILE *f = fopen(path, "r");
	size_t n;
	char *buf;

	*out = NULL;
	if (!f) {
		errorf("%s: %s", path, strerror(errno));
		return EXIT_FAILURE_LOCAL;
	}
	buf = malloc(PEM_MAX + 1);
	n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
	if (!buf || ferror(f) || n > PEM_MAX) {
		errorf("%s: %s", path, !buf ? "out of memory" : ferror(f) ? strerror(errno)
			: "larger than a CA bundle should be");
		free(buf);
		fclose(f);
		return EXIT_FAILURE_LOCAL;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	return EXIT_OK;
}

/*
 * The body of POST /v1/vms/{id}/migrate: the destination, its token and
 * CA as read here (pinvmd hands them to the destination; a path would be
 * read on pinvmd's host instead), the rules accepted.
 */
static int migrate_body(const char *to, const char *token_file, const char *ca_file,
			const json_t *accept, json_t **out)
{
	char token[256], err[512], *ca = NULL;
	int rc = EXIT_OK;

	*out = NULL;
	if (token_file && token_file_read(token_file, token, sizeof(token), err, sizeof(err)) < 0) {
		errorf("%s", err);
		return EXIT_FAILURE_LOCAL;
	}
	if (ca_file && (rc = read_pem(ca_file, &ca)) != EXIT_OK)
		return rc;
	*out = json_pack("{s:s, s:s*, s:s*, s:O*}", "destination", to, "token",
			 token_file ? token : NULL, "ca", ca, "accept", accept);
	free(ca);
	if (!*out) {
		errorf("out of memory");
		rc = EXIT_FAILURE_LOCAL;
	}
	return rc;
}

/* Starts the migration (or cancels it) and says how it stands. */
static int send_migrate(const struct cli *c, const char *id, const json_t *body)
{
	const json_t *m;
	struct response r;
	char path[512], what[512];
	int rc;

	if (cli_path(path, sizeof(path), "/v1/vms/", id, "/migrate") < 0)
		return cli_usage_error(usage_vm, "VM id too long");
	rc = cli_call(c, body ? "POST" : "DELETE", path, body, &r);
	m = json_object_get(r.json, "migration");
	if (rc == EXIT_OK && c->json) {
		print_json(r.json);
	} else if (rc == EXIT_OK && body) {
		migration_text(m, what, sizeof(what));
		printf("vm %s: %s\n", id, what);
		rc = show_accepted(json_object_get(r.json, "accepted"));
	} else if (rc == EXIT_OK) {
		printf("vm %s: cancelling its migration to %s; the guest runs on here\n", id,
		       json_text(m, "destination"));
	}
	response_free(&r);
	return rc;
}

static int vm_migrate(const struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "to-token-file", required_argument, NULL, 'T' },
		{ "to-cacert", required_argument, NULL, 'C' },
		{ "accept", required_argument, NULL, 'a' },
		{ "cancel", no_argument, NULL, 'x' },
		{ 0 }
	};
	const char *to = NULL, *token_file = NULL, *ca_file = NULL;
	json_t *accept = NULL, *body = NULL;
	bool cancel = false;
	int o, rc = EXIT_OK;

	optind = 0;
	while (rc == EXIT_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 't')
			to = optarg;
		else if (o == 'T')
			token_file = optarg;
		else if (o == 'C')
			ca_file = optarg;
		else if (o == 'a')
			rc = add_rules(&accept, optarg);
		else if (o == 'x')
			cancel = true;
		else
			rc = cli_usage_error(usage_vm, "vm migrate: unknown option or missing value: %s",
					     argv[optind - 1]);
	}
	if (rc == EXIT_OK && argc - optind != 1)
		rc = cli_usage_error(usage_vm, "vm migrate ID --to URL, or vm migrate ID --cancel");
	else if (rc == EXIT_OK && cancel && (to || token_file || ca_file || accept))
		rc = cli_usage_error(usage_vm, "vm migrate --cancel takes no other option");
	else if (rc == EXIT_OK && !cancel && !to)
		rc = cli_usage_error(usage_vm, "vm migrate: --to URL (the destination pinvmd)");
	if (rc == EXIT_OK && !cancel)
		rc = migrate_body(to, token_file, ca_file, accept, &body);
	if (rc == EXIT_OK)
		rc = send_migrate(c, argv[optind], body);
	json_decref(body);
	json_decref(accept);
	return rc;
}

int cmd_vm(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char *const actions[] = { "start", "pause", "resume", "stop" };
	const char *verb, *id;
	long long offset = 0;
	bool follow = false;
	const char *input = NULL;
	struct response r;
	char path[512];
	int o, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_vm, stdout);
			return EXIT_OK;
		}
	if (argc < 2)
		return cli_usage_error(usage_vm, "vm: which action?");
	verb = argv[1];
	if (strcmp(verb, "create") == 0)
		return vm_create(c, argc - 1, argv + 1);
	if (strcmp(verb, "restore") == 0)
		return vm_restore(c, argc - 1, argv + 1);
	if (strcmp(verb, "migrate") == 0)
		return vm_migrate(c, argc - 1, argv + 1);
	if (strcmp(verb, "list") == 0) {
		static const char *const flags[] = { "--state", "--name", "--label" };
		static const char *const keys[] = { "state", "name", "label" };
		size_t n = (size_t)snprintf(path, sizeof(path), "/v1/vms");
		char sep = '?';

		for (int i = 2; i < argc; i += 2) {
			size_t k;

			for (k = 0; k < 3 && strcmp(argv[i], flags[k]); k++)
				;
			if (k == 3 || i + 1 >= argc)
				return cli_usage_error(usage_vm, "vm list: unexpected argument '%s'",
						       argv[i]);
			n += (size_t)snprintf(path + n, n < sizeof(path) ? sizeof(path) - n : 0,
					      "%c%s=", sep, keys[k]);
			if (n >= sizeof(path) || query_escape(path + n, sizeof(path) - n,
							      argv[i + 1]) < 0)
				return cli_usage_error(usage_vm, "vm list: %s is too long", flags[k]);
			n += strlen(path + n);
			sep = '&';
		}
		rc = cli_call(c, "GET", path, NULL, &r);
		if (rc == EXIT_OK)
			rc = cli_show(c, r.json, show_list);
		response_free(&r);
		return rc;
	}

	optind = 0;
	while ((o = getopt_long(argc - 1, argv + 1, "f", opts, NULL)) != -1) {
		if (strcmp(verb, "console") != 0)
			return cli_usage_error(usage_vm, "vm %s takes no options", verb);
		if (o == 'f')
			follow = true;
		else if (o == 'o' && parse_num(optarg, 0, LLONG_MAX, &offset) == 0)
			continue;
		else if (o == 'i')
			input = optarg;
		else
			return cli_usage_error(usage_vm, "vm console: unknown option or bad value: %s",
					      argv[optind]);
	}
	if (argc - 1 - optind != 1)
		return cli_usage_error(usage_vm, "vm %s ID", verb);
	id = argv[1 + optind];
	if (cli_path(path, sizeof(path), "/v1/vms/", id, "") < 0)
		return cli_usage_error(usage_vm, "VM id too long");

	if (strcmp(verb, "console") == 0 && input && follow)
		return cli_usage_error(usage_vm, "vm console: --input and -f go in two commands");
	if (strcmp(verb, "console") == 0 && input)
		return console_input(c, path, input);
	if (strcmp(verb, "console") == 0)
		return console(c, path, offset, follow);
	if (strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0) {
		bool del = verb[0] == 'd';

		rc = cli_call(c, del ? "DELETE" : "GET", path, NULL, &r);
		if (rc == EXIT_OK && del && !c->json)
			printf("vm %s deleted\n", id);
		else if (rc == EXIT_OK && !del)
			rc = cli_show(c, r.json, show_vm);
		response_free(&r);
		return rc;
	}
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		json_t *body;

		if (strcmp(verb, actions[i]) != 0)
			continue;
		body = json_pack("{s:s}", "action", actions[i]);
		if (!body) {
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
		if (cli_path(path, sizeof(path), "/v1/vms/", id, "/actions") < 0) {
			json_decref(body);
			return cli_usage_error(usage_vm, "VM id too long");
		}
		rc = cli_call(c, "POST", path, body, &r);
		json_decref(body);
		if (rc == EXIT_OK) {
			if (c->json)
				print_json(r.json);
			else
				printf("%s %s\n", json_text(r.json, "id"), json_text(r.json, "state"));
		}
		response_free(&r);
		return rc;
	}
	return cli_usage_error(usage_vm, "vm: unknown action '%s'", verb);
}
