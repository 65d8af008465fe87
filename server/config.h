/*
 * pinvmd's command line: argv -> a validated struct config. Nothing here
 * opens a socket or touches the state directory; the only I/O is reading
 * the token and TLS files the flags name (so a bad one is refused before
 * anything starts). Errors are returned with a message, never by exiting:
 * main() decides how to report them.
 *
 * Not thread-safe (getopt_long's globals); call it from main() only.
 */
#ifndef PINVM_SERVER_CONFIG_H
#define PINVM_SERVER_CONFIG_H

#include "listen.h"
#include "server.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What pinvmd was asked to do. */
enum config_action {
	CONFIG_RUN,     /* serve */
	CONFIG_HELP,    /* print config_usage() to stdout, exit 0 */
	CONFIG_VERSION, /* print the version, exit 0 */
	CONFIG_ROUTES,  /* print the route table, exit 0 */
};

/* The longest bearer token: server.token holds it and its NUL. */
#define CONFIG_TOKEN_MAX (sizeof(((struct server *)0)->token) - 1)
#define CONFIG_TOKEN_MIN 16

#define CONFIG_DEFAULT_CONSOLE_LIMIT (1024ull * 1024)

struct config {
	enum config_action action;
	/* --listen specs, borrowed from argv (or default_listen). */
	const char *listen[SERVER_MAX_LISTENERS];
	size_t nlisten;
	char default_listen[PATH_MAX + 8];
	char state_dir[PATH_MAX];  /* never empty after a successful parse */
	char image_dir[PATH_MAX];  /* "" when none */
	size_t body_limit;
	unsigned long long max_snapshot_bytes; /* POST /v1/snapshots uploads */
	struct listen_opts lopts;  /* group borrowed from argv */
	const char *token_file;    /* borrowed from argv, or NULL */
	const char *ready_file;    /* --ready-file, borrowed from argv, or NULL */
	char token[CONFIG_TOKEN_MAX + 1]; /* "" when no --token-file */
	const char *tls_cert_path, *tls_key_path; /* borrowed, or NULL */
	char *tls_cert;            /* PEM text, owned (config_free), or NULL */
	char *tls_key;             /* PEM text, owned and wiped, or NULL */
	const char *peer_ca_path;  /* --peer-ca, borrowed, or NULL */
	char *peer_ca;             /* its PEM text, owned, or NULL */
	unsigned max_vms;
	unsigned standby_vmms;     /* vm_core_config's */
	unsigned max_profiles;
	unsigned drain_seconds;
	/* Connections, per listener: at most max_connections, of which
	 * max_per_peer from one client address (TCP; 0: no per-peer cap). A
	 * connection must finish its headers header_timeout s after it
	 * opens (or after its previous response plus idle_timeout), and its
	 * body body_timeout s after its headers; idle_timeout s without a
	 * byte end a connection at any time. */
	unsigned max_connections;
	unsigned max_per_peer;
	unsigned header_timeout;
	unsigned body_timeout;
	unsigned idle_timeout;
	unsigned event_history;  /* events kept for Last-Event-ID (events.h) */
	unsigned long long console_limit; /* console bytes kept per VM; 0: all */
	bool allow_open_tcp;
	bool stop_vms_on_exit;
};

/*
 * Parses argv into *cfg (zeroed first; defaults from the environment:
 * $XDG_RUNTIME_DIR, $XDG_STATE_HOME, $HOME, the effective uid). Reads the
 * files --token-file, --tls-cert and --tls-key name. Returns 0, -EINVAL
 * for a bad value or combination, or -ENOTSUP for an unknown flag or one
 * missing its argument (worth showing the usage); both mean exit status 2.
 * err says which flag and why, without a "pinvmd: " prefix. On failure
 * nothing stays allocated; on success call config_free().
 */
int config_parse(int argc, char **argv, struct config *cfg, char *err,
		 size_t errlen);

/* Frees what config_parse allocated (the PEM texts, the key wiped first). */
void config_free(struct config *cfg);

/* The --help text. */
void config_usage(FILE *f);

#endif
