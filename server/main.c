/* pinvmd: the pinvm daemon. Parses flags, opens listeners, serves until
 * SIGINT/SIGTERM. */
#include "http.h"
#include "host_view.h"
#include "listen.h"
#include "log.h"
#include "router.h"
#include "server.h"
#include "store.h"
#include "vm_core.h"

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

#define MAX_LISTEN SERVER_MAX_LISTENERS

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pinvmd [--listen unix:PATH|tcp:HOST:PORT]... [--state-dir DIR]\n"
		"              [--image-dir DIR] [--body-limit BYTES]\n"
		"\n"
		"  --listen SPEC     where to serve the API; repeatable. Default:\n"
		"                    unix:$XDG_RUNTIME_DIR/pinvm/pinvmd.sock, or\n"
		"                    unix:/run/pinvm/pinvmd.sock as root\n"
		"  --state-dir DIR   persistent state (default /var/lib/pinvm as root,\n"
		"                    else $XDG_STATE_HOME/pinvm or ~/.local/state/pinvm)\n"
		"  --image-dir DIR   guest kernels and initrds VMs may name\n"
		"  --body-limit N    largest request body in bytes (default 1048576)\n"
		"  --socket-mode M   Unix socket file mode, octal (default 0660)\n"
		"  --socket-group G  Unix socket group (default: pinvmd's)\n"
		"  --token-file F    bearer token every TCP request must carry (file\n"
		"                    not readable by others; 16..255 characters)\n"
		"  --allow-unauthenticated-tcp  serve a non-loopback TCP address without\n"
		"                    a token (only where that network is private, as in\n"
		"                    the lab's emulated host)\n"
		"  --tls-cert FILE   serve HTTPS on every TCP listener with this PEM\n"
		"                    certificate (chain); needs --tls-key. Unix sockets\n"
		"                    stay plain HTTP\n"
		"  --tls-key FILE    the certificate's PEM private key, unencrypted, in a\n"
		"                    file only its owner may read or write\n"
		"  --max-vms N       refuse more VMs than this (default 64)\n"
		"  --drain-seconds N on SIGTERM/SIGINT, stop accepting and wait up to N\n"
		"                    seconds for requests in flight (default 30; a\n"
		"                    second signal stops at once)\n"
		"  --stop-vms-on-exit  stop every VM when pinvmd stops (default: leave\n"
		"                    them running for the next pinvmd to take over)\n"
		"  --routes          print the route table and exit\n");
}

static int default_paths(char *sock, size_t socklen, char *state, size_t statelen)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	const char *st = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (geteuid() == 0) {
		snprintf(sock, socklen, "unix:/run/pinvm/pinvmd.sock");
		snprintf(state, statelen, "/var/lib/pinvm");
		return 0;
	}
	if (run && *run)
		snprintf(sock, socklen, "unix:%s/pinvm/pinvmd.sock", run);
	else
		snprintf(sock, socklen, "unix:/tmp/pinvm-%u/pinvmd.sock",
			 (unsigned)geteuid());
	if (st && *st)
		snprintf(state, statelen, "%s/pinvm", st);
	else if (home && *home)
		snprintf(state, statelen, "%s/.local/state/pinvm", home);
	else
		return -ENOENT;
	return 0;
}

/* Reads the bearer token: one line, 16..255 characters, a private file. */
static int read_token(const char *path, char *out, size_t len)
{
	struct stat st;
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "pinvmd: --token-file %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (st.st_mode & 0007) {
		fprintf(stderr, "pinvmd: --token-file %s is readable by others (mode %o)\n",
			path, st.st_mode & 0777);
		fclose(f);
		return -1;
	}
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	if (n < 16 || n >= len - 1) {
		fprintf(stderr, "pinvmd: the token in %s must be 16..255 characters\n", path);
		return -1;
	}
	return 0;
}

/*
 * Reads a PEM file named by flag into *out (caller frees). A private key must
 * be its owner's alone and unencrypted: nobody is there to type a passphrase.
 * Prints why on stderr and returns -1 on refusal.
 */
static int read_pem(const char *flag, const char *path, bool private_key,
		    char **out)
{
	const size_t max = 1024 * 1024;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "pinvmd: %s %s: %s\n", flag, path, strerror(errno));
		goto fail;
	}
	if (private_key && (st.st_mode & 0077)) {
		fprintf(stderr, "pinvmd: %s %s is open to group or others (mode %o); "
			"chmod 600 it\n", flag, path, st.st_mode & 0777);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (size_t)st.st_size > max) {
		fprintf(stderr, "pinvmd: %s %s is not a PEM file of 1 byte..1 MiB\n",
			flag, path);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fprintf(stderr, "pinvmd: %s %s: out of memory\n", flag, path);
		goto fail;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	buf[n] = '\0';
	if (ferror(f) || n != (size_t)st.st_size) {
		fprintf(stderr, "pinvmd: %s %s: short read\n", flag, path);
		goto fail;
	}
	if (private_key && strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		fprintf(stderr, "pinvmd: %s %s is encrypted; pinvmd needs it without a "
			"passphrase\n", flag, path);
		goto fail;
	}
	/* Names the flag when the two files are swapped or not PEM at all;
	 * GnuTLS's own message would not say which file it choked on. */
	if (private_key ? !strstr(buf, "PRIVATE KEY-----")
			: !strstr(buf, "-----BEGIN CERTIFICATE-----")) {
		fprintf(stderr, "pinvmd: %s %s holds no PEM %s\n", flag, path,
			private_key ? "private key" : "certificate");
		goto fail;
	}
	fclose(f);
	*out = buf;
	return 0;
fail:
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
	if (f)
		fclose(f);
	return -1;
}

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
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "image-dir", required_argument, NULL, 'i' },
		{ "body-limit", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "routes", no_argument, NULL, 'R' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "token-file", required_argument, NULL, 't' },
		{ "allow-unauthenticated-tcp", no_argument, NULL, 'U' },
		{ "max-vms", required_argument, NULL, 'M' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "drain-seconds", required_argument, NULL, 'D' },
		{ "stop-vms-on-exit", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static struct server srv;
	struct listen_opts lopts = { .mode = 0660 };
	const char *token_file = NULL;
	const char *tls_cert = NULL, *tls_key = NULL;
	unsigned drain_seconds = 30;
	bool allow_open_tcp = false, stop_vms_on_exit = false;
	int lock_fd;
	const char *listen_specs[MAX_LISTEN];
	char default_sock[PATH_MAX + 8], err[512];
	size_t nlisten = 0, i;
	struct stat st;
	sigset_t sigs;
	int c, sig, ret;

	srv.body_limit = 1024 * 1024;
	srv.max_vms = 64;
	take_notify_socket();
	if (default_paths(default_sock, sizeof(default_sock), srv.state_dir,
			  sizeof(srv.state_dir)) < 0)
		srv.state_dir[0] = '\0';
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (nlisten == MAX_LISTEN) {
				fprintf(stderr, "pinvmd: at most %d --listen\n", MAX_LISTEN);
				return 2;
			}
			listen_specs[nlisten++] = optarg;
			break;
		case 's':
			snprintf(srv.state_dir, sizeof(srv.state_dir), "%s", optarg);
			break;
		case 'i':
			snprintf(srv.image_dir, sizeof(srv.image_dir), "%s", optarg);
			break;
		case 'b': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || v < 1024 || v > 64ull * 1024 * 1024) {
				fprintf(stderr, "pinvmd: --body-limit wants 1024..67108864\n");
				return 2;
			}
			srv.body_limit = (size_t)v;
			break;
		}
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (*end || !*optarg || m > 0777) {
				fprintf(stderr, "pinvmd: --socket-mode wants an octal mode like 0660\n");
				return 2;
			}
			lopts.mode = (unsigned)m;
			break;
		}
		case 'g':
			lopts.group = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'U':
			allow_open_tcp = true;
			break;
		case 'C':
			tls_cert = optarg;
			break;
		case 'K':
			tls_key = optarg;
			break;
		case 'S':
			stop_vms_on_exit = true;
			break;
		case 'D': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || *optarg == '-' || v > 3600) {
				fprintf(stderr, "pinvmd: --drain-seconds wants 0..3600\n");
				return 2;
			}
			drain_seconds = (unsigned)v;
			break;
		}
		case 'M': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v < 1 || v > 4096) {
				fprintf(stderr, "pinvmd: --max-vms wants 1..4096\n");
				return 2;
			}
			srv.max_vms = (unsigned)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pinvmd %s\n", PINVM_VERSION);
			return 0;
		case 'R':
			/* The route table, for checking openapi.yaml against it. */
			for (i = 0; i < router_nroutes; i++)
				printf("%s %s\n", router_routes[i].method,
				       router_routes[i].pattern);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pinvmd: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!nlisten)
		listen_specs[nlisten++] = default_sock;
	if (token_file && read_token(token_file, srv.token, sizeof(srv.token)) < 0)
		return 2;
	if (!tls_cert != !tls_key) {
		fprintf(stderr, "pinvmd: %s needs %s as well: give both or neither\n",
			tls_cert ? "--tls-cert" : "--tls-key",
			tls_cert ? "--tls-key" : "--tls-cert");
		return 2;
	}
	if (tls_cert) {
		if (read_pem("--tls-cert", tls_cert, false, &srv.tls_cert) < 0 ||
		    read_pem("--tls-key", tls_key, true, &srv.tls_key) < 0)
			return 2;
		if (http_tls_check(srv.tls_cert, srv.tls_key, err, sizeof(err)) < 0) {
			fprintf(stderr, "pinvmd: --tls-cert %s with --tls-key %s: %s\n",
				tls_cert, tls_key, err);
			return 2;
		}
	}
	if (!srv.state_dir[0]) {
		fprintf(stderr, "pinvmd: no --state-dir and no HOME to derive one\n");
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
	if (srv.image_dir[0] && (stat(srv.image_dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "pinvmd: --image-dir %s is not a directory\n",
			srv.image_dir);
		store_close(srv.store);
		return 1;
	}

	/* Before any listener: handlers read it. */
	if (host_view_new(&srv.host_view) < 0) {
		fprintf(stderr, "pinvmd: out of memory\n");
		store_close(srv.store);
		return 1;
	}
	{
		const struct vm_core_config vc = {
			.store = srv.store, .host = host_view_info(srv.host_view), .state_dir = srv.state_dir,
			.image_dir = srv.image_dir, .max_vms = srv.max_vms,
			.stop_on_exit = stop_vms_on_exit,
		};

		if (vm_core_new(&srv.vms, &vc) < 0) {
			fprintf(stderr, "pinvmd: out of memory\n");
			host_view_free(srv.host_view);
			store_close(srv.store);
			return 1;
		}
	}
	/* Before any listener, so the first answer already knows every VM. */
	if (vm_core_load(srv.vms, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinvmd: vm records: %s\n", err);
		vm_core_free(srv.vms);
		host_view_free(srv.host_view);
		store_close(srv.store);
		return 1;
	}

	/* Signals are taken synchronously by sigwait below, not by handlers;
	 * block them before any thread starts so every thread inherits it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < nlisten; i++) {
		struct listen_info li;
		int fd = listen_open(listen_specs[i], &lopts, &li, err, sizeof(err));

		if (fd >= 0 && !li.is_unix && !li.is_loopback && !srv.token[0] &&
		    !allow_open_tcp) {
			close(fd);
			snprintf(err, sizeof(err),
				 "%s is not a loopback address: give --token-file (or, on a "
				 "private network only, --allow-unauthenticated-tcp)",
				 listen_specs[i]);
			fd = -EPERM;
		}
		/* TLS hides the token on the wire but proves nothing about the
		 * client, so the rule above holds with or without it. */
		if (fd >= 0 && !li.is_unix && !li.is_loopback && srv.token[0] &&
		    !srv.tls_cert)
			log_msg(LOG_WARN, "%s carries the bearer token in clear text; "
				"give --tls-cert and --tls-key", listen_specs[i]);
		if (fd < 0 || http_serve(&srv, fd, li.is_unix, !li.is_unix && srv.token[0],
					 !li.is_unix && srv.tls_cert, err, sizeof(err)) < 0) {
			fprintf(stderr, "pinvmd: %s\n", err);
			http_stop_all(&srv);
			vm_core_free(srv.vms);
			host_view_free(srv.host_view);
			store_close(srv.store);
			return 1;
		}
		log_msg(LOG_INFO, "listening on %s%s", listen_specs[i],
			!li.is_unix && srv.tls_cert ? " (https)" : "");
	}
	log_msg(LOG_INFO, "pinvmd %s ready, state in %s, hypervisor %s",
		PINVM_VERSION, srv.state_dir, host_view_info(srv.host_view)->hypervisor ? "kvm" : "none");
	sd_notify_msg("READY=1");

	if (sigwait(&sigs, &sig) == 0)
		log_msg(LOG_INFO, "stopping on signal %d", sig);
	sd_notify_msg("STOPPING=1");
	drain(&srv, &sigs, drain_seconds);
	http_stop_all(&srv);
	/* Our sockets only: a stale file would mislead the next client. */
	for (i = 0; i < nlisten; i++)
		if (!strncmp(listen_specs[i], "unix:", 5))
			unlink(listen_specs[i] + 5);
	vm_core_free(srv.vms);
	host_view_free(srv.host_view);
	store_close(srv.store);
	if (srv.tls_key)
		explicit_bzero(srv.tls_key, strlen(srv.tls_key));
	free(srv.tls_key);
	free(srv.tls_cert);
	return 0;
}
