/*
 * The daemon's shared state. One instance lives in main(); everything
 * else borrows it through struct request.
 */
#ifndef PINVM_SERVER_SERVER_H
#define PINVM_SERVER_SERVER_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SERVER_MAX_LISTENERS 8

struct MHD_Daemon;
struct deadlines;
struct host_view;
struct profile_cache;
struct idempotency;
struct store;
struct vm_core;

/* One listening socket and who may use it. */
struct listener {
	struct server *srv;
	bool is_unix;       /* peers are identified by SO_PEERCRED */
	bool require_token; /* every request needs Authorization: Bearer */
	bool tls;           /* HTTPS with srv->tls_cert and srv->tls_key */
	int quiesced_fd;    /* listening socket taken back from libmicrohttpd
			     * while draining, else -1 */
};

struct server {
	char state_dir[PATH_MAX];
	char image_dir[PATH_MAX]; /* empty: no image directory */
	size_t body_limit;        /* bytes; larger bodies get 413 */
	/* Snapshot archives (POST /v1/snapshots) are streamed to a file in
	 * STATE/snapshots instead, up to this many bytes. */
	unsigned long long max_snapshot_bytes;
	struct store *store;      /* profiles; owned by main */
	struct profile_cache *profiles; /* stored profiles, parsed once; owned by main */
	struct vm_core *vms;      /* microVMs; owned by main */
	char token[256];          /* bearer token for TCP, "" when none */
	/* PEM text TCP listeners serve HTTPS with, NULL for plain HTTP; owned
	 * by main and kept until the daemons stop (libmicrohttpd borrows it). */
	char *tls_cert;
	char *tls_key;
	/* --peer-ca PEM text verifying https peers (server/peer.h), or NULL
	 * for the system's CAs; owned by main, constant while serving. */
	const char *peer_ca;
	unsigned max_vms;         /* more VMs than this are refused (409) */
	unsigned max_profiles;    /* more profiles than this are refused (409) */
	/* Connection limits, per listener (see config.h for each flag). */
	unsigned max_connections;
	unsigned max_per_peer;    /* per client address (TCP); 0: no limit */
	unsigned header_timeout;  /* s from connecting to the end of headers */
	unsigned body_timeout;    /* s from the headers to the end of the body */
	unsigned idle_timeout;    /* s a kept-alive connection may wait */
	struct deadlines *deadlines; /* watchdog, started with the first listener */
	struct host_view *host_view; /* this host, probed once at start-up; owned by main */
	struct idempotency *idem; /* Idempotency-Key answers (idempotency.h); owned by main */
	struct listener listeners[SERVER_MAX_LISTENERS];
	struct MHD_Daemon *daemons[SERVER_MAX_LISTENERS];
	size_t ndaemons;
	atomic_uint in_flight;    /* requests begun and not yet completed */
	atomic_bool draining;     /* shutting down: responses close connections */
};

#endif
