/* pinvmd: the pinvm daemon. Parses flags, opens listeners, serves until
 * SIGINT/SIGTERM. */
#include "config.h"
#include "console_follow.h"
#include "events.h"
#include "vm_wait.h"
#include "idempotency.h"
#include "http.h"
#include "host_view.h"
#include "httpc.h"
#include "listen.h"
#include "ready_file.h"
#include "log.h"
#include "log_sink.h"
#include "router.h"
#include "profile_cache.h"
#include "server.h"
#include "snapshot_store.h"
#include "store.h"
#include "vm_core.h"
#include "vm_entry.h"
#include "vm_events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Stored profiles kept parsed (server/profile_cache.h); others are read
 * again from the store when used. */
#define PROFILE_CACHE_ENTRIES 256

/* $NOTIFY_SOCKET, taken out of the environment so pinvm-vmm children do
 * not inherit it. */
static char notify_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void take_notify_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	if (path && strlen(path) < sizeof(notify_socket))
		memcpy(notify_socket, path, strlen(path) + 1);
	unsetenv("NOTIFY_SOCKET");
}

/* systemd's readiness protocol, by hand: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_msg(const char *msg)
{
	const char *path = notify_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		log_msg(LOG_WARN, "sd_notify: %s", strerror(errno));
	close(fd);
}

/*
 * A graceful stop: no new connections, then up to seconds for the requests
 * in flight to be answered. A second signal from sigs ends the wait, for an
 * operator who does not want to wait.
 */
static void drain(struct server *srv, const sigset_t *sigs, unsigned seconds)
{
	struct timespec now, end, tick = { .tv_nsec = 20 * 1000 * 1000 };
	unsigned n = http_quiesce_all(srv);
	int sig;

	/* Event streams never end by themselves: end them, so the drain
	 * waits only for what they still have queued. */
	events_end_streams();
	vm_wait_end_all();
	console_follow_end_all();
	log_msg(LOG_INFO, "draining %u requests", n);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	while ((n = http_in_flight(srv)) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) {
			log_msg(LOG_WARN, "drain timed out after %u s, cutting off %u "
				"requests", seconds, n);
			return;
		}
		/* Polls: completions come from libmicrohttpd's threads, and this
		 * wait doubles as the watch for a second signal. */
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig > 0) {
			log_msg(LOG_WARN, "signal %d while draining, cutting off %u "
				"requests", sig, n);
			return;
		}
	}
	log_msg(LOG_INFO, "drained");
}

/* An exclusive lock on STATE/pinvmd.lock, held (fd left open) for life. */
static int lock_state_dir(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/pinvmd.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		snprintf(err, errlen, "%.400s: %s", dir,
			 e == EWOULDBLOCK ? "another pinvmd uses this state directory"
					  : strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	static struct config cfg;
	int lock_fd;
	char err[512];
	size_t i;
	/* What each listener bound (port 0 resolved), for --ready-file. */
	char bound[SERVER_MAX_LISTENERS][LISTEN_BOUND_MAX];
	const char *bound_lines[SERVER_MAX_LISTENERS];
	struct stat st;
	sigset_t sigs;
	int sig, ret;

	take_notify_socket();
	ret = config_parse(argc, argv, &cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		if (ret == -ENOTSUP)
			config_usage(stderr);
		return 2;
	}
	switch (cfg.action) {
	case CONFIG_HELP:
		config_usage(stdout);
		return 0;
	case CONFIG_VERSION:
		printf("pinvmd %s\n", PINVM_VERSION);
		return 0;
	case CONFIG_ROUTES:
		/* The route table, for checking openapi.yaml against it. */
		for (i = 0; i < router_nroutes; i++)
			printf("%s %s\n", router_routes[i].method,
			       router_routes[i].pattern);
		return 0;
	case CONFIG_RUN:
		break;
	}
	/* Signals are taken synchronously by sigwait below, not by handlers.
	 * Blocked before any thread starts (adopting a VM starts its
	 * supervisor), so that every thread inherits the mask: a SIGTERM that
	 * found one thread without it would end the process at once, leaving
	 * VMs that --stop-vms-on-exit promised to stop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* libcurl (server/peer.c) before any thread exists; the process
	 * ends with it, so early exits below need not undo it. */
	if (httpc_global_init() < 0) {
		fprintf(stderr, "pinvmd: cannot start libcurl\n");
		config_free(&cfg);
		return 1;
	}
	/* With the signals above blocked, as every thread. Whatever way the
	 * process exits from here, the buffered lines are written out. */
	if (log_sink_start() == 0)
		atexit(log_sink_stop);
	memcpy(srv.state_dir, cfg.state_dir, sizeof(srv.state_dir));
	memcpy(srv.image_dir, cfg.image_dir, sizeof(srv.image_dir));
	memcpy(srv.token, cfg.token, sizeof(srv.token));
	srv.body_limit = cfg.body_limit;
	srv.max_snapshot_bytes = cfg.max_snapshot_bytes;
	srv.max_vms = cfg.max_vms;
	srv.max_profiles = cfg.max_profiles;
	srv.max_connections = cfg.max_connections;
	srv.max_per_peer = cfg.max_per_peer;
	srv.header_timeout = cfg.header_timeout;
	srv.body_timeout = cfg.body_timeout;
	srv.idle_timeout = cfg.idle_timeout;
	srv.tls_cert = cfg.tls_cert;
	srv.tls_key = cfg.tls_key;
	srv.peer_ca = cfg.peer_ca;
	if (cfg.tls_cert &&
	    http_tls_check(srv.tls_cert, srv.tls_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinvmd: --tls-cert %s with --tls-key %s: %s\n",
			cfg.tls_cert_path, cfg.tls_key_path, err);
		config_free(&cfg);
		return 2;
	}
	ret = mkdirs(srv.state_dir, 0700);
	if (ret < 0) {
		fprintf(stderr, "pinvmd: state directory %s: %s\n", srv.state_dir,
			strerror(-ret));
		return 1;
	}
	/* Two daemons on one state directory would both adopt its VMs. */
	lock_fd = lock_state_dir(srv.state_dir, err, sizeof(err));
	if (lock_fd < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		return 1;
	}
	ret = store_open(srv.state_dir, &srv.store, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		return 1;
	}
	store_set_max_profiles(srv.store, srv.max_profiles);
	/* Before the VMs are loaded: what happened to them while no pinvmd
	 * watched is published. A heartbeat within the idle timeout keeps
	 * quiet subscribers' connections open. */
	ret = events_open(srv.state_dir, cfg.event_history,
			  cfg.idle_timeout > 3 ? (cfg.idle_timeout / 3 < 15 ? cfg.idle_timeout / 3 : 15) : 1,
			  err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		goto fail_store;
	}
	ret = idem_open(srv.state_dir, IDEMPOTENCY_DEFAULT_TTL, &srv.idem, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		goto fail_events;
	}
	/* Every persisted VM state is published and wakes long-polls. */
	vm_entry_set_observer(vm_events_observe);
	if (vm_wait_open() < 0) {
		fprintf(stderr, "pinvmd: cannot start the long-poll timer\n");
		goto fail_idem;
	}
	if (console_follow_open() < 0) {
		fprintf(stderr, "pinvmd: cannot start the console watcher\n");
		goto fail_wait;
	}
	if (srv.image_dir[0] && (stat(srv.image_dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "pinvmd: --image-dir %s is not a directory\n",
			srv.image_dir);
		goto fail_follow;
	}

	/* Before any listener: handlers read it. */
	srv.profiles = profile_cache_new(PROFILE_CACHE_ENTRIES);
	if (!srv.profiles || host_view_new(&srv.host_view) < 0) {
		fprintf(stderr, "pinvmd: out of memory\n");
		goto fail_views;
	}
	{
		const struct vm_core_config vc = {
			.store = srv.store, .host = host_view_info(srv.host_view), .state_dir = srv.state_dir,
			.image_dir = srv.image_dir, .max_vms = srv.max_vms,
			.console_limit = cfg.console_limit,
			.stop_on_exit = cfg.stop_vms_on_exit,
			.standby_vmms = cfg.standby_vmms,
		};

		if (vm_core_new(&srv.vms, &vc) < 0) {
			fprintf(stderr, "pinvmd: out of memory\n");
			goto fail_views;
		}
	}
	/* Before any listener, so the first answer already knows every VM. */
	ret = vm_core_load(srv.vms, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "pinvmd: vm records: %s\n", err);
	/* Half-made snapshots of a pinvmd that died: never listed, now gone.
	 * After the VMs are taken back: a pinvm-vmm that was still writing
	 * one is answered only once it is done, so nothing writes there. */
	if (ret == 0) {
		ret = snapshot_sweep(srv.state_dir, srv.store);
		if (ret < 0)
			fprintf(stderr, "pinvmd: %s/snapshots: %s\n", srv.state_dir,
				strerror(-ret));
	}
	if (ret < 0)
		goto fail_core;

	/* A killed pinvmd's ready file would name its addresses, not ours:
	 * whoever waits for the file must only ever see this one's. */
	if (cfg.ready_file && unlink(cfg.ready_file) < 0 && errno != ENOENT) {
		fprintf(stderr, "pinvmd: --ready-file %s: %s\n", cfg.ready_file, strerror(errno));
		goto fail_core;
	}
	for (i = 0; i < cfg.nlisten; i++) {
		struct listen_info li;
		int fd = listen_open(cfg.listen[i], &cfg.lopts, &li, err, sizeof(err));

		if (fd >= 0 && !li.is_unix && !li.is_loopback && !srv.token[0] &&
		    !cfg.allow_open_tcp) {
			close(fd);
			snprintf(err, sizeof(err),
				 "%s is not a loopback address: give --token-file (or, on a "
				 "private network only, --allow-unauthenticated-tcp)",
				 cfg.listen[i]);
			fd = -EPERM;
		}
		/* TLS hides the token on the wire but proves nothing about the
		 * client, so the rule above holds with or without it. */
		if (fd >= 0 && !li.is_unix && !li.is_loopback && srv.token[0] &&
		    !srv.tls_cert)
			log_msg(LOG_WARN, "%s carries the bearer token in clear text; "
				"give --tls-cert and --tls-key", cfg.listen[i]);
		if (fd < 0 || http_serve(&srv, fd, li.is_unix, !li.is_unix && srv.token[0],
					 !li.is_unix && srv.tls_cert, err, sizeof(err)) < 0) {
			fprintf(stderr, "pinvmd: %s\n", err);
			goto fail_listen;
		}
		snprintf(bound[i], sizeof(bound[i]), "%s", li.bound);
		bound_lines[i] = bound[i];
		log_msg(LOG_INFO, "listening on %s%s", li.bound,
			!li.is_unix && srv.tls_cert ? " (https)" : "");
		/* Where a port 0 landed, for whoever started us. */
		printf("listening on %s\n", li.bound);
	}
	fflush(stdout);
	if (cfg.ready_file &&
	    ready_file_write(cfg.ready_file, bound_lines, cfg.nlisten, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinvmd: %s\n", err);
		goto fail_listen;
	}
	log_msg(LOG_INFO, "pinvmd %s ready, state in %s, hypervisor %s",
		PINVM_VERSION, srv.state_dir, host_view_info(srv.host_view)->hypervisor ? "kvm" : "none");
	sd_notify_msg("READY=1");

	if (sigwait(&sigs, &sig) == 0)
		log_msg(LOG_INFO, "stopping on signal %d", sig);
	sd_notify_msg("STOPPING=1");
	drain(&srv, &sigs, cfg.drain_seconds);
	/* libmicrohttpd must not stop with a connection suspended. */
	events_end_streams();
	vm_wait_end_all();
	console_follow_end_all();
	http_stop_all(&srv);
	vm_wait_close();
	console_follow_close();
	events_close();
	idem_close(srv.idem);
	/* Our sockets and ready file only: a stale one would mislead the
	 * next client. */
	if (cfg.ready_file)
		unlink(cfg.ready_file);
	for (i = 0; i < cfg.nlisten; i++)
		if (!strncmp(cfg.listen[i], "unix:", 5))
			unlink(cfg.listen[i] + 5);
	vm_core_free(srv.vms);
	host_view_free(srv.host_view);
	profile_cache_free(srv.profiles);
	store_close(srv.store);
	httpc_global_cleanup();
	config_free(&cfg);
	return 0;

	/* A start-up that fails undoes what it did, latest first. */
fail_listen:
	http_stop_all(&srv);
fail_core:
	vm_core_free(srv.vms);
fail_views:
	host_view_free(srv.host_view);
	profile_cache_free(srv.profiles);
fail_follow:
	console_follow_close();
fail_wait:
	vm_wait_close();
fail_idem:
	idem_close(srv.idem);
fail_events:
	events_close();
fail_store:
	store_close(srv.store);
	return 1;
}
