/*
 * pinvm: the command-line client of pinvmd.
 *
 * Global options may stand anywhere on the line (before "--"), so
 * `pinvm vm list --json` works as well as `pinvm --json vm list`; they
 * are taken out first, and the rest goes to the command group.
 */
#include "commands.h"
#include "output.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: pinvm [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  host [registers]                 this host; its firmware registers\n"
	"  profile list|show|create|capture|check|delete\n"
	"                                   ABI profiles\n"
	"  baseline create NAME --host FILE...\n"
	"                                   the common ABI of several hosts\n"
	"  vm list|create|show|start|pause|resume|stop|delete|console|restore|migrate\n"
	"                                   microVMs\n"
	"  snapshot list|show|create|delete|download|upload|check\n"
	"                                   snapshots of VMs, as archives too\n"
	"  images                           kernels and initrds VMs may use\n"
	"  events [--vm ID] [--type T] [--since ID]\n"
	"                                   follow what happens\n"
	"`pinvm COMMAND --help` tells more.\n"
	"\n"
	"Options (anywhere on the line):\n"
	"  --url URL          pinvmd over HTTP(S), e.g. http://127.0.0.1:8080\n"
	"                     (default: $PINVM_URL)\n"
	"  --socket PATH      pinvmd's Unix socket (default, without --url or\n"
	"                     PINVM_URL: /run/pinvm/pinvmd.sock as root, else\n"
	"                     $XDG_RUNTIME_DIR/pinvm/pinvmd.sock)\n"
	"  --token-file FILE  bearer token for pinvmd's TCP listeners\n"
	"                     (default: $PINVM_TOKEN_FILE)\n"
	"  --cacert FILE      CA certificate(s) to verify an https:// pinvmd\n"
	"  --json             print the server's JSON instead of tables\n"
	"  --version          print pinvm's version\n"
	"\n"
	"Exit status:\n"
	"  0 ok                  5 refused: invalid request (400, 413, 415, 422),\n"
	"  1 local error             or `profile|snapshot check` found it incompatible\n"
	"  2 usage error         6 unauthorized (401, 403)\n"
	"  3 not found (404)     7 pinvmd unreachable (no answer, TLS failure, a\n"
	"  4 conflict (409)          download cut short)\n"
	"                        8 server error (500, 507 disk full, unexpected status)\n"
	"                        9 unavailable on this host (503: no arm64 KVM)\n"
	"Errors are printed on stderr as one line: the server's detail, then\n"
	"(HTTP status, code, field at fault, request id).\n";

struct global {
	const char *url, *socket, *token_file, *cacert;
	bool json, version;
};

/*
 * Takes the global options out of argv (in place); returns the new argc,
 * or -1 after a usage message.
 */
static int take_globals(int argc, char **argv, struct global *g)
{
	static const struct {
		const char *name;
		size_t off;
	} valued[] = {
		{ "--url", offsetof(struct global, url) },
		{ "--socket", offsetof(struct global, socket) },
		{ "--token-file", offsetof(struct global, token_file) },
		{ "--cacert", offsetof(struct global, cacert) },
	};
	int out = 1, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool taken = false;

		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--json") == 0) {
			g->json = taken = true;
		} else if (strcmp(a, "--version") == 0) {
			g->version = taken = true;
		}
		for (size_t k = 0; !taken && k < sizeof(valued) / sizeof(valued[0]); k++) {
			size_t n = strlen(valued[k].name);
			const char **slot = (const char **)((char *)g + valued[k].off);

			if (strncmp(a, valued[k].name, n) != 0)
				continue;
			if (a[n] == '=') {
				*slot = a + n + 1;
			} else if (a[n] == '\0') {
				if (i + 1 >= argc) {
					errorf("%s needs a value", valued[k].name);
					return -1;
				}
				*slot = argv[++i];
			} else {
				continue;
			}
			taken = true;
		}
		if (!taken)
			argv[out++] = argv[i];
	}
	for (; i < argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	return out;
}

static int run(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *, int, char **);
	} groups[] = {
		{ "host", cmd_host },         { "profile", cmd_profile },
		{ "profiles", cmd_profile },  { "baseline", cmd_baseline },
		{ "vm", cmd_vm },             { "vms", cmd_vm },
		{ "images", cmd_images },     { "events", cmd_events },
		{ "snapshot", cmd_snapshot }, { "snapshots", cmd_snapshot },
	};

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(argv[0], groups[i].name) == 0)
			return groups[i].fn(c, argc, argv);
	errorf("unknown command '%s'", argv[0]);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct global g = { 0 };
	struct cli c = { 0 };
	char sock[256], err[512];
	int rc;

	/* Commands print their own usage errors, naming the option. */
	opterr = 0;
	argc = take_globals(argc, argv, &g);
	if (argc < 0)
		return EXIT_USAGE;
	if (g.version) {
		printf("pinvm %s\n", PINVM_VERSION);
		return EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (g.url && g.socket) {
		errorf("--url and --socket exclude each other");
		return EXIT_USAGE;
	}
	/* An explicit --socket beats $PINVM_URL; the default socket comes last. */
	if (!g.url && !g.socket && getenv("PINVM_URL") && *getenv("PINVM_URL"))
		g.url = getenv("PINVM_URL");
	if (!g.url && !g.socket) {
		if (endpoint_default_socket(sock, sizeof(sock)) < 0) {
			errorf("$XDG_RUNTIME_DIR is too long for a socket path; use --socket");
			return EXIT_USAGE;
		}
		g.socket = sock;
	}
	if (g.url && strncmp(g.url, "http://", 7) != 0 && strncmp(g.url, "https://", 8) != 0) {
		errorf("--url %s: only http:// and https:// URLs", g.url);
		return EXIT_USAGE;
	}
	c.ep.url = g.url;
	c.ep.unix_path = g.url ? NULL : g.socket;
	c.ep.cacert = g.cacert;
	c.json = g.json;
	if (!g.token_file && getenv("PINVM_TOKEN_FILE") && *getenv("PINVM_TOKEN_FILE"))
		g.token_file = getenv("PINVM_TOKEN_FILE");
	if (g.token_file && endpoint_read_token(&c.ep, g.token_file, err, sizeof(err)) < 0) {
		errorf("%s", err);
		return EXIT_FAILURE_LOCAL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errorf("cannot start libcurl");
		return EXIT_FAILURE_LOCAL;
	}
	rc = run(&c, argc - 1, argv + 1);
	curl_global_cleanup();
	/* A table cut short by a full disk or a closed pipe is a failure. */
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_FAILURE_LOCAL;
	return rc;
}
