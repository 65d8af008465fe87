/*
 * The command groups of pinvm. Each takes the group's arguments
 * (argv[0] is the group's name, e.g. "vm") and returns an exit status
 * from exit_codes.h, having printed what the user should see.
 */
#ifndef PINVM_CLI_COMMANDS_H
#define PINVM_CLI_COMMANDS_H

#include "exit_codes.h"
#include "transport.h"

#include <jansson.h>
#include <stdbool.h>

struct cli {
	struct endpoint ep;
	bool json;        /* --json: print the server's JSON, not tables */
};

/*
 * Sends one request (body: borrowed, may be NULL) and fills *r (free it
 * with response_free, whatever the outcome). Returns EXIT_OK for a 2xx
 * answer; otherwise prints the one-line failure and returns its status.
 */
enum pinvm_exit cli_call(const struct cli *c, const char *method, const char *path,
			 const json_t *body, struct response *r);

/* Says that no answer came, naming where pinvm tried; EXIT_UNREACHABLE. */
enum pinvm_exit cli_unreachable(const struct cli *c, const struct response *r);

/*
 * GETs path and every page after it (following next_cursor), into *out:
 * a new {member: [every page's items]}. Returns EXIT_OK, or the failure's
 * status having said it (*out NULL).
 */
int cli_get_all(const struct cli *c, const char *path, const char *member, json_t **out);

/* Prints an answer: its JSON with --json, else show's table. Returns the
 * exit status (show's). */
int cli_show(const struct cli *c, const json_t *v, int (*show)(const json_t *));

/*
 * Reads a JSON file ("-" for stdin) into *out (a new reference).
 * Returns EXIT_OK, or prints why not and returns EXIT_FAILURE_LOCAL.
 */
enum pinvm_exit cli_read_json(const char *path, json_t **out);

/*
 * Appends a path segment to buf, percent-encoding all but unreserved
 * characters, so a name cannot reach another route. Returns 0 or -1
 * when it does not fit.
 */
int cli_path(char *buf, size_t len, const char *prefix, const char *segment,
	     const char *suffix);

struct table;

/* Prints the table on stdout and frees it; EXIT_OK, or EXIT_FAILURE_LOCAL
 * (said) when memory ran out. */
int cli_print_table(struct table *t);

/*
 * A host register set from FILE: a firmware-registers body as it is, or
 * a file holding one under "firmware_registers" (a lab fixture, whose
 * "observed_abi" then comes along). Returns a new reference, or NULL
 * having said why.
 */
json_t *cli_load_host(const char *path);

/*
 * Prints a compatibility report's register table and its vCPU-feature
 * verdict (a profile's or a snapshot's check). Returns EXIT_OK, or
 * EXIT_FAILURE_LOCAL when memory ran out; the verdict is the caller's.
 */
int cli_print_verdict(const json_t *v);

int cmd_host(struct cli *c, int argc, char **argv);
int cmd_profile(struct cli *c, int argc, char **argv);
int cmd_baseline(struct cli *c, int argc, char **argv);
int cmd_vm(struct cli *c, int argc, char **argv);
int cmd_images(struct cli *c, int argc, char **argv);
int cmd_events(struct cli *c, int argc, char **argv);
int cmd_snapshot(struct cli *c, int argc, char **argv);

/* Usage text of each group, for `pinvm GROUP --help` and usage errors. */
extern const char usage_host[], usage_profile[], usage_baseline[], usage_vm[],
	usage_images[], usage_events[], usage_snapshot[];

/* Prints "usage error" with the group's usage on stderr; EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
