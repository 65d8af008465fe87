/* pinvm profile ..., pinvm baseline create. */
#include "commands.h"
#include "output.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

const char usage_profile[] =
	"usage: pinvm profile list\n"
	"       pinvm profile show NAME\n"
	"       pinvm profile create -f FILE       a profile document ('-' for stdin)\n"
	"       pinvm profile capture NAME [--cpu-features host|none|JSON]\n"
	"                                          every register at this host's value, and\n"
	"                                          the vCPU features pinned (default none)\n"
	"       pinvm profile check NAME [--host FILE]\n"
	"                                          the verdict on this host, or on the host\n"
	"                                          whose firmware-registers FILE holds;\n"
	"                                          exit 5 when incompatible\n"
	"       pinvm profile delete NAME\n";

const char usage_baseline[] =
	"usage: pinvm baseline create NAME --host FILE... [--description TEXT]\n"
	"                             [--cpu-features none|common]\n"
	"       stores, as profile NAME, the greatest ABI every host (each FILE a\n"
	"       GET /v1/host/firmware-registers body) can honour; its vCPU features\n"
	"       all off (none, the default) or what every host offers (common)\n";

/* "pmu, sve (longest 512 bits), pauth", "none (all off)", or NULL when the
 * object is absent; into buf. */
static const char *features_text(const json_t *f, char *buf, size_t size)
{
	const json_t *sve = json_object_get(f, "sve");
	size_t n = 0;

	if (!json_is_object(f))
		return NULL;
	buf[0] = '\0';
	if (json_is_true(json_object_get(f, "pmu")))
		n += (size_t)snprintf(buf + n, size - n, "pmu");
	if (n < size && json_is_object(sve))
		n += (size_t)snprintf(buf + n, size - n, "%ssve (longest %lld bits)", n ? ", " : "",
				      (long long)json_integer_value(
					      json_object_get(sve, "vector_length")));
	else if (n < size && json_is_true(sve))
		n += (size_t)snprintf(buf + n, size - n, "%ssve", n ? ", " : "");
	if (n < size && json_is_true(json_object_get(f, "pauth")))
		n += (size_t)snprintf(buf + n, size - n, "%spauth", n ? ", " : "");
	if (!n)
		snprintf(buf, size, "none (all off)");
	return buf;
}

static int show_profile(const json_t *p)
{
	char feats[128];
	static const char *const head[] = { "REGISTER", "ID", "PIN", "VALUE", "DECODED" };
	const json_t *reg, *obs = json_object_get(p, "observed_abi");
	struct table *t;
	size_t i;

	printf("%-20s%s\n", "name", json_text(p, "name"));
	if (json_str(p, "description"))
		printf("%-20s%s\n", "description", json_text(p, "description"));
	printf("%-20s%s\n", "unknown registers", json_text(p, "unknown_registers"));
	printf("%-20s%s\n", "source", json_text(json_object_get(p, "source"), "kind"));
	printf("%-20s%s\n", "created", json_text(p, "created_at"));
	if (obs)
		printf("%-20s%zu calls\n", "observed abi",
		       json_array_size(json_object_get(obs, "calls")));
	printf("%-20s%s\n", "cpu features",
	       features_text(json_object_get(p, "cpu_features"), feats, sizeof(feats))
		       ?: "not pinned (each VM's own)");
	putchar('\n');
	t = table_new(5, head);
	json_array_foreach(json_object_get(p, "registers"), i, reg) {
		char *decoded = json_cell(json_object_get(reg, "decoded"));
		const char *row[] = { json_str(reg, "name"), json_str(reg, "id"),
				      json_text(reg, "pin"), json_text(reg, "value"), decoded };

		table_row(t, row);
		free(decoded);
	}
	return cli_print_table(t);
}

static int show_list(const json_t *list)
{
	static const char *const head[] = { "NAME", "REGISTERS", "UNKNOWN", "SOURCE", "CREATED" };
	struct table *t = table_new(5, head);
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(list, "profiles"), i, p) {
		char n[24];
		const char *row[] = { json_str(p, "name"), n, json_str(p, "unknown_registers"),
				      json_text(json_object_get(p, "source"), "kind"),
				      json_text(p, "created_at") };

		snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(p, "registers")));
		table_row(t, row);
	}
	return cli_print_table(t);
}

static int show_verdict(const json_t *v)
{
	bool ok = json_is_true(json_object_get(v, "compatible"));

	printf("profile %s on %s: %s\n\n", json_text(v, "profile"),
	       json_text(v, "kernel_release"), ok ? "compatible" : "NOT compatible");
	if (cli_print_verdict(v) != EXIT_OK)
		return EXIT_FAILURE_LOCAL;
	return ok ? EXIT_OK : EXIT_REFUSED;
}

/* Sends a request whose 2xx answer is a profile; prints it. */
static int send_profile(const struct cli *c, const char *method, const char *path,
			const json_t *body)
{
	struct response r;
	int rc = cli_call(c, method, path, body, &r);

	if (rc == EXIT_OK)
		rc = cli_show(c, r.json, show_profile);
	response_free(&r);
	return rc;
}

static int profile_check(const struct cli *c, const char *name, const char *host_file)
{
	struct response r;
	json_t *body = NULL, *host;
	char path[512];
	int rc;

	if (host_file) {
		host = cli_load_host(host_file);
		if (!host)
			return EXIT_FAILURE_LOCAL;
		body = json_pack("{s:s, s:o}", "profile", name, "host", host);
		if (!body) {
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
		rc = cli_call(c, "POST", "/v1/compatibility", body, &r);
		json_decref(body);
	} else {
		if (cli_path(path, sizeof(path), "/v1/profiles/", name, "/compatibility") < 0)
			return cli_usage_error(usage_profile, "profile name too long");
		rc = cli_call(c, "GET", path, NULL, &r);
	}
	if (rc == EXIT_OK) {
		if (c->json) {
			print_json(r.json);
			rc = json_is_true(json_object_get(r.json, "compatible")) ? EXIT_OK
										  : EXIT_REFUSED;
		} else {
			rc = show_verdict(r.json);
		}
	}
	response_free(&r);
	return rc;
}

/* Every profile, page after page, shown as one list. */
static int list_all(const struct cli *c)
{
	json_t *doc;
	int rc = cli_get_all(c, "/v1/profiles", "profiles", &doc);

	if (rc == EXIT_OK)
		rc = cli_show(c, doc, show_list);
	json_decref(doc);
	return rc;
}

int cmd_profile(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "host", required_argument, NULL, 'H' },
		{ "cpu-features", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *file = NULL, *host = NULL, *cpu = NULL, *verb, *name;
	char path[512];
	int o;

	/* GNU getopt permutes: options may come before or after the action
	 * and its name, as users type them. */
	optind = 0;
	while ((o = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(usage_profile, stdout);
			return EXIT_OK;
		}
		if (o == 'f')
			file = optarg;
		else if (o == 'H')
			host = optarg;
		else if (o == 'c')
			cpu = optarg;
		else
			return cli_usage_error(usage_profile, "profile: unknown option or missing value: %s",
					      argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(usage_profile, "profile: which action?");
	verb = argv[optind++];
	name = optind < argc ? argv[optind++] : NULL;
	if (optind < argc)
		return cli_usage_error(usage_profile, "profile: unexpected argument '%s'",
				       argv[optind]);

	if (strcmp(verb, "list") == 0 && !name && !file && !host)
		return list_all(c);
	if (strcmp(verb, "create") == 0 && file && !name && !host) {
		json_t *doc;
		int rc = cli_read_json(file, &doc);

		if (rc != EXIT_OK)
			return rc;
		rc = send_profile(c, "POST", "/v1/profiles", doc);
		json_decref(doc);
		return rc;
	}
	if (!name || file || (host && strcmp(verb, "check") != 0) ||
	    (cpu && strcmp(verb, "capture") != 0))
		return cli_usage_error(usage_profile, "profile %s: wrong arguments", verb);
	if (strcmp(verb, "check") == 0)
		return profile_check(c, name, host);
	if (strcmp(verb, "capture") == 0) {
		json_t *body = json_pack("{s:s, s:s}", "capture", "host", "name", name), *f = NULL;
		int rc;

		if (!body) {
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
		/* "host", "none" or an object; the server judges either. */
		if (cpu) {
			f = cpu[0] == '{' ? json_loads(cpu, 0, NULL) : json_string(cpu);
			if (!f) {
				json_decref(body);
				return cli_usage_error(usage_profile,
						       "profile capture: --cpu-features is host, "
						       "none or a JSON object");
			}
			json_object_set_new(body, "cpu_features", f);
		}
		rc = send_profile(c, "POST", "/v1/profiles", body);
		json_decref(body);
		return rc;
	}
	if (cli_path(path, sizeof(path), "/v1/profiles/", name, "") < 0)
		return cli_usage_error(usage_profile, "profile name too long");
	if (strcmp(verb, "show") == 0)
		return send_profile(c, "GET", path, NULL);
	if (strcmp(verb, "delete") == 0) {
		struct response r;
		int rc = cli_call(c, "DELETE", path, NULL, &r);

		if (rc == EXIT_OK && !c->json)
			printf("profile %s deleted\n", name);
		response_free(&r);
		return rc;
	}
	return cli_usage_error(usage_profile, "profile: unknown action '%s'", verb);
}

int cmd_baseline(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "description", required_argument, NULL, 'd' },
		{ "cpu-features", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	json_t *hosts = json_array(), *body = NULL;
	const char *desc = NULL, *name = NULL, *cpu = NULL;
	int o, rc = EXIT_OK;

	if (!hosts) {
		errorf("out of memory");
		return EXIT_FAILURE_LOCAL;
	}
	/* GNU getopt permutes: NAME may come before, between or after. */
	optind = 0;
	while (rc == EXIT_OK && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		json_t *h;

		switch (o) {
		case 'h':
			fputs(usage_baseline, stdout);
			json_decref(hosts);
			return EXIT_OK;
		case 'd':
			desc = optarg;
			break;
		case 'c':
			cpu = optarg;
			break;
		case 'H':
			h = cli_load_host(optarg);
			if (!h || json_array_append_new(hosts, h) < 0)
				rc = EXIT_FAILURE_LOCAL;
			break;
		default:
			rc = cli_usage_error(usage_baseline, "baseline: unknown option or missing value: %s",
					     argv[optind - 1]);
		}
	}
	if (rc == EXIT_OK) {
		if (argc - optind != 2 || strcmp(argv[optind], "create") != 0 ||
		    json_array_size(hosts) == 0) {
			rc = cli_usage_error(usage_baseline,
					     "baseline: create NAME and at least one --host");
		} else {
			name = argv[optind + 1];
			body = json_pack("{s:s, s:O}", "name", name, "hosts", hosts);
			if (body && ((desc && json_object_set_new(body, "description",
								   json_string(desc)) < 0) ||
				     (cpu && json_object_set_new(body, "cpu_features",
								 json_string(cpu)) < 0))) {
				json_decref(body);
				body = NULL;
			}
			if (!body) {
				errorf("out of memory");
				rc = EXIT_FAILURE_LOCAL;
			}
		}
	}
	if (rc == EXIT_OK)
		rc = send_profile(c, "POST", "/v1/baselines", body);
	json_decref(body);
	json_decref(hosts);
	return rc;
}
