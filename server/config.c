#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void config_usage(FILE *f)
{
	fprintf(f,
		"usage: pinvmd [--listen unix:PATH|tcp:HOST:PORT]... [--state-dir DIR]\n"
		"              [--image-dir DIR] [--body-limit BYTES]\n"
		"\n"
		"  --listen SPEC     where to serve the API; repeatable. Default:\n"
		"                    unix:$XDG_RUNTIME_DIR/pinvm/pinvmd.sock, or\n"
		"                    unix:/run/pinvm/pinvmd.sock as root. Port 0\n"
		"                    (tcp:127.0.0.1:0) takes a free port\n"
		"  --ready-file FILE once serving, write the addresses bound, one\n"
		"                    --listen SPEC a line (the port 0 took), to FILE\n"
		"                    (atomically: it exists only complete)\n"
		"  --state-dir DIR   persistent state (default /var/lib/pinvm as root,\n"
		"                    else $XDG_STATE_HOME/pinvm or ~/.local/state/pinvm)\n"
		"  --image-dir DIR   guest kernels and initrds VMs may name\n"
		"  --body-limit N    largest request body in bytes (default 1048576)\n"
		"  --max-snapshot-bytes N  largest snapshot archive POST /v1/snapshots\n"
		"                    takes, in bytes (default 68719476736, 64 GiB)\n"
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
		"  --peer-ca FILE    PEM CA bundle that verifies https peers (other\n"
		"                    pinvmd named by URL in a request) unless the\n"
		"                    request gives its own \"ca\"; default: the system's\n"
		"  --max-vms N       refuse more VMs than this (default 64)\n"
		"  --standby-vmms N  pinvm-vmm processes kept started ahead of the VMs\n"
		"                    that will need them, so that a create skips the\n"
		"                    process's start-up (default 1; 0: none; with KVM)\n"
		"  --max-profiles N  refuse more profiles than this (default 10000)\n"
		"  --max-connections N  connections per listener (default 256)\n"
		"  --max-connections-per-peer N  of those, from one client address\n"
		"                    (TCP; default 64, 0 for no cap)\n"
		"  --header-timeout S  seconds a connection has to send its request\n"
		"                    line and headers (default 10)\n"
		"  --body-timeout S  seconds a request has to send its body after the\n"
		"                    headers (default 60)\n"
		"  --idle-timeout S  seconds without a byte before a connection is\n"
		"                    closed (default 30)\n"
		"  --drain-seconds N on SIGTERM/SIGINT, stop accepting and wait up to N\n"
		"                    seconds for requests in flight (default 30; a\n"
		"                    second signal stops at once)\n"
		"  --event-history N  events kept for resumption with Last-Event-ID\n"
		"                    (default 10000; older ones answer 410)\n"
		"  --console-limit BYTES  console output kept per VM; older bytes are\n"
		"                    dropped (default 1048576; 0 keeps everything)\n"
		"  --stop-vms-on-exit  stop every VM when pinvmd stops (default: leave\n"
		"                    them running for the next pinvmd to take over)\n"
		"  --routes          print the route table and exit\n");
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
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

/*
 * Reads the bearer token: one line of CONFIG_TOKEN_MIN..CONFIG_TOKEN_MAX
 * characters from a private file, into out (CONFIG_TOKEN_MAX + 1 bytes).
 */
static int read_token(const char *path, char *out, char *err, size_t errlen)
{
	/* Room for one character too many and the newline: a longer line is
	 * seen as too long, not cut to fit. */
	char line[CONFIG_TOKEN_MAX + 3];
	struct stat st;
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st) < 0) {
		fail(err, errlen, 0, "--token-file %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -EINVAL;
	}
	if (st.st_mode & 0007) {
		fclose(f);
		return fail(err, errlen, -EINVAL,
			    "--token-file %s is readable by others (mode %o)", path,
			    st.st_mode & 0777);
	}
	if (!fgets(line, (int)sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n < CONFIG_TOKEN_MIN || n > CONFIG_TOKEN_MAX) {
		explicit_bzero(line, sizeof(line));
		return fail(err, errlen, -EINVAL,
			    "the token in %s must be %d..%zu characters (it has %s%zu)",
			    path, CONFIG_TOKEN_MIN, CONFIG_TOKEN_MAX,
			    n > CONFIG_TOKEN_MAX ? "more than " : "",
			    n > CONFIG_TOKEN_MAX ? CONFIG_TOKEN_MAX : n);
	}
	memcpy(out, line, n + 1);
	explicit_bzero(line, sizeof(line));
	return 0;
}

/*
 * Reads a PEM file named by flag into *out (caller frees). A private key must
 * be its owner's alone and unencrypted: nobody is there to type a passphrase.
 */
static int read_pem(const char *flag, const char *path, bool private_key,
		    char **out, char *err, size_t errlen)
{
	const size_t max = 1024 * 1024;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f || fstat(fileno(f), &st) < 0) {
		fail(err, errlen, 0, "%s %s: %s", flag, path, strerror(errno));
		goto fail;
	}
	if (private_key && (st.st_mode & 0077)) {
		fail(err, errlen, 0, "%s %s is open to group or others (mode %o); "
		     "chmod 600 it", flag, path, st.st_mode & 0777);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (size_t)st.st_size > max) {
		fail(err, errlen, 0, "%s %s is not a PEM file of 1 byte..1 MiB",
		     flag, path);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fail(err, errlen, 0, "%s %s: out of memory", flag, path);
		goto fail;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	buf[n] = '\0';
	if (ferror(f) || n != (size_t)st.st_size) {
		fail(err, errlen, 0, "%s %s: short read", flag, path);
		goto fail;
	}
	if (private_key && strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		fail(err, errlen, 0, "%s %s is encrypted; pinvmd needs it without a "
		     "passphrase", flag, path);
		goto fail;
	}
	/* Names the flag when the two files are swapped or not PEM at all;
	 * GnuTLS's own message would not say which file it choked on. */
	if (private_key ? !strstr(buf, "PRIVATE KEY-----")
			: !strstr(buf, "-----BEGIN CERTIFICATE-----")) {
		fail(err, errlen, 0, "%s %s holds no PEM %s", flag, path,
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
	return -EINVAL;
}

/* A decimal in [min, max] (no sign, no suffix) into *out. */
static bool parse_uint(const char *s, unsigned long long min,
		       unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

void config_free(struct config *cfg)
{
	if (cfg->tls_key) {
		explicit_bzero(cfg->tls_key, strlen(cfg->tls_key));
		free(cfg->tls_key);
		cfg->tls_key = NULL;
	}
	free(cfg->tls_cert);
	cfg->tls_cert = NULL;
	free(cfg->peer_ca);
	cfg->peer_ca = NULL;
	explicit_bzero(cfg->token, sizeof(cfg->token));
}

/* The flags that take a number: name, range, where it goes. */
struct num_flag {
	int opt;
	const char *name;
	unsigned long long min, max;
};

static const struct num_flag num_flags[] = {
	{ 'b', "--body-limit", 1024, 64ull * 1024 * 1024 },
	{ 'M', "--max-vms", 1, 4096 },
	{ 'W', "--standby-vmms", 0, 16 },
	{ 'D', "--drain-seconds", 0, 3600 },
	{ 'P', "--max-profiles", 1, 1000000 },
	{ 'c', "--max-connections", 1, 65536 },
	{ 'p', "--max-connections-per-peer", 0, 65536 },
	{ 'H', "--header-timeout", 1, 3600 },
	{ 'B', "--body-timeout", 1, 86400 },
	{ 'I', "--idle-timeout", 1, 86400 },
	{ 'E', "--event-history", 1, 10000000 },
	{ 'L', "--console-limit", 0, 1ull << 40 },
	{ 'X', "--max-snapshot-bytes", 1024 * 1024, 1ull << 50 },
};

static void set_num(struct config *cfg, int opt, unsigned long long v)
{
	switch (opt) {
	case 'b': cfg->body_limit = (size_t)v; break;
	case 'M': cfg->max_vms = (unsigned)v; break;
	case 'W': cfg->standby_vmms = (unsigned)v; break;
	case 'D': cfg->drain_seconds = (unsigned)v; break;
	case 'P': cfg->max_profiles = (unsigned)v; break;
	case 'c': cfg->max_connections = (unsigned)v; break;
	case 'p': cfg->max_per_peer = (unsigned)v; break;
	case 'H': cfg->header_timeout = (unsigned)v; break;
	case 'B': cfg->body_timeout = (unsigned)v; break;
	case 'I': cfg->idle_timeout = (unsigned)v; break;
	case 'E': cfg->event_history = (unsigned)v; break;
	case 'L': cfg->console_limit = v; break;
	case 'X': cfg->max_snapshot_bytes = v; break;
	}
}

static int parse_flags(int argc, char **argv, struct config *cfg, char *err,
		       size_t errlen)
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
		{ "standby-vmms", required_argument, NULL, 'W' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "peer-ca", required_argument, NULL, 'A' },
		{ "drain-seconds", required_argument, NULL, 'D' },
		{ "stop-vms-on-exit", no_argument, NULL, 'S' },
		{ "max-profiles", required_argument, NULL, 'P' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "max-connections-per-peer", required_argument, NULL, 'p' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "body-timeout", required_argument, NULL, 'B' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "event-history", required_argument, NULL, 'E' },
		{ "console-limit", required_argument, NULL, 'L' },
		{ "max-snapshot-bytes", required_argument, NULL, 'X' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	size_t i;
	int c;

	/* 0, not 1: glibc then starts over, so tests may parse repeatedly. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		for (i = 0; i < sizeof(num_flags) / sizeof(num_flags[0]); i++)
			if (num_flags[i].opt == c)
				break;
		if (i < sizeof(num_flags) / sizeof(num_flags[0])) {
			const struct num_flag *nf = &num_flags[i];

			if (!parse_uint(optarg, nf->min, nf->max, &v))
				return fail(err, errlen, -EINVAL, "%s wants %llu..%llu",
					    nf->name, nf->min, nf->max);
			set_num(cfg, c, v);
			continue;
		}
		switch (c) {
		case 'l':
			if (cfg->nlisten == SERVER_MAX_LISTENERS)
				return fail(err, errlen, -EINVAL, "at most %d --listen",
					    SERVER_MAX_LISTENERS);
			cfg->listen[cfg->nlisten++] = optarg;
			break;
		case 's':
		case 'i': {
			char *dst = c == 's' ? cfg->state_dir : cfg->image_dir;

			if (snprintf(dst, PATH_MAX, "%s", optarg) >= PATH_MAX)
				return fail(err, errlen, -EINVAL, "%s: path too long",
					    c == 's' ? "--state-dir" : "--image-dir");
			break;
		}
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (*end || !*optarg || m > 0777)
				return fail(err, errlen, -EINVAL,
					    "--socket-mode wants an octal mode like 0660");
			cfg->lopts.mode = (unsigned)m;
			break;
		}
		case 'g':
			cfg->lopts.group = optarg;
			break;
		case 't':
			cfg->token_file = optarg;
			break;
		case 'U':
			cfg->allow_open_tcp = true;
			break;
		case 'C':
			cfg->tls_cert_path = optarg;
			break;
		case 'K':
			cfg->tls_key_path = optarg;
			break;
		case 'A':
			cfg->peer_ca_path = optarg;
			break;
		case 'r':
			if (!*optarg)
				return fail(err, errlen, -EINVAL, "--ready-file wants a path");
			cfg->ready_file = optarg;
			break;
		case 'S':
			cfg->stop_vms_on_exit = true;
			break;
		case 'h':
			cfg->action = CONFIG_HELP;
			return 0;
		case 'V':
			cfg->action = CONFIG_VERSION;
			return 0;
		case 'R':
			cfg->action = CONFIG_ROUTES;
			return 0;
		case ':':
			return fail(err, errlen, -ENOTSUP, "option '%s' requires an argument",
				    argv[optind - 1]);
		default:
			return fail(err, errlen, -ENOTSUP, "unrecognized option '%s'",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, -EINVAL, "unexpected argument \"%s\"",
			    argv[optind]);
	return 0;
}

int config_parse(int argc, char **argv, struct config *cfg, char *err,
		 size_t errlen)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->action = CONFIG_RUN;
	cfg->body_limit = 1024 * 1024;
	cfg->max_snapshot_bytes = 64ull << 30;
	cfg->max_vms = 64;
	cfg->standby_vmms = 1;
	cfg->drain_seconds = 30;
	cfg->max_profiles = 10000;
	cfg->max_connections = 256;
	cfg->max_per_peer = 64;
	cfg->header_timeout = 10;
	cfg->body_timeout = 60;
	cfg->idle_timeout = 30;
	cfg->event_history = 10000;
	cfg->console_limit = CONFIG_DEFAULT_CONSOLE_LIMIT;
	cfg->lopts.mode = 0660;
	if (default_paths(cfg->default_listen, sizeof(cfg->default_listen),
			  cfg->state_dir, sizeof(cfg->state_dir)) < 0)
		cfg->state_dir[0] = '\0';
	ret = parse_flags(argc, argv, cfg, err, errlen);
	if (ret < 0 || cfg->action != CONFIG_RUN)
		return ret;
	if (!cfg->nlisten)
		cfg->listen[cfg->nlisten++] = cfg->default_listen;
	if (cfg->token_file) {
		ret = read_token(cfg->token_file, cfg->token, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (!cfg->tls_cert_path != !cfg->tls_key_path) {
		ret = fail(err, errlen, -EINVAL, "%s needs %s as well: give both or neither",
			   cfg->tls_cert_path ? "--tls-cert" : "--tls-key",
			   cfg->tls_cert_path ? "--tls-key" : "--tls-cert");
		goto fail;
	}
	if (cfg->tls_cert_path &&
	    (read_pem("--tls-cert", cfg->tls_cert_path, false, &cfg->tls_cert, err,
		      errlen) < 0 ||
	     read_pem("--tls-key", cfg->tls_key_path, true, &cfg->tls_key, err,
		      errlen) < 0)) {
		ret = -EINVAL;
		goto fail;
	}
	if (cfg->peer_ca_path &&
	    read_pem("--peer-ca", cfg->peer_ca_path, false, &cfg->peer_ca, err,
		     errlen) < 0) {
		ret = -EINVAL;
		goto fail;
	}
	if (!cfg->state_dir[0]) {
		ret = fail(err, errlen, -EINVAL, "no --state-dir and no HOME to derive one");
		goto fail;
	}
	if (cfg->max_per_peer > cfg->max_connections) {
		ret = fail(err, errlen, -EINVAL, "--max-connections-per-peer %u is more than "
			   "--max-connections %u", cfg->max_per_peer, cfg->max_connections);
		goto fail;
	}
	return 0;
fail:
	config_free(cfg);
	return ret;
}
