/* pinvm snapshot ...: stored snapshots, their archives and their verdicts. */
#include "commands.h"
#include "output.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char usage_snapshot[] =
	"usage: pinvm snapshot list\n"
	"       pinvm snapshot show ID\n"
	"       pinvm snapshot create VM [-q]     a running VM is paused for it, then\n"
	"                                         resumed; -q prints only the new id\n"
	"       pinvm snapshot delete ID\n"
	"       pinvm snapshot download ID FILE   the snapshot as one archive (a tar);\n"
	"                                         FILE appears only whole ('-': stdout)\n"
	"       pinvm snapshot upload FILE [-q]   stores an archive ('-': stdin)\n"
	"       pinvm snapshot check ID [--host FILE]\n"
	"                                         would it restore on this host, or on\n"
	"                                         the host whose firmware-registers FILE\n"
	"                                         holds; exit 5 when not\n"
	"       (`pinvm vm restore ID` makes a VM of it)\n";

/* "32.0 MiB": a byte count for people, into buf. */
static const char *size_text(char *buf, size_t len, const json_t *v)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double n;
	int u = -1;

	if (!json_is_integer(v))
		return NULL;
	n = (double)json_integer_value(v);
	while (n >= 1024 && u < 3) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%.0f bytes", n);
	else
		snprintf(buf, len, "%.1f %s", n, units[u]);
	return buf;
}

static int show_snapshot(const json_t *s)
{
	static const char *const head[] = { "FILE", "SIZE", "SHA256" };
	const json_t *f;
	const char *name;
	char n[32], human[32];
	struct table *t;

	printf("%-16s%s\n", "id", json_text(s, "id"));
	printf("%-16s%s\n", "vm", json_text(s, "vm"));
	printf("%-16s%s\n", "state", json_text(s, "state"));
	printf("%-16s%s\n", "created", json_text(s, "created"));
	printf("%-16s%s\n", "source kernel", json_text(s, "source_kernel"));
	printf("%-16s%s\n", "profile", json_text(s, "profile"));
	printf("%-16s%s\n", "vcpus", int_cell(n, sizeof(n), json_object_get(s, "vcpus")) ?: "-");
	printf("%-16s%s MiB\n", "memory",
	       int_cell(n, sizeof(n), json_object_get(s, "memory_mib")) ?: "-");
	printf("%-16s%s bytes (%s)\n", "size",
	       int_cell(n, sizeof(n), json_object_get(s, "size_bytes")) ?: "-",
	       size_text(human, sizeof(human), json_object_get(s, "size_bytes")) ?: "-");
	/* The manifest holds every other file's digest: one sum vouches for all. */
	printf("%-16s%s (of manifest.json)\n", "sha256", json_text(s, "sha256"));
	putchar('\n');
	t = table_new(3, head);
	json_object_foreach(json_object_get(s, "files"), name, f) {
		const char *plain = json_str(f, "sha256"), *pages = json_str(f, "sha256_pages");
		char *text = NULL;
		const char *row[3] = { name, int_cell(n, sizeof(n), json_object_get(f, "size")),
				       plain };

		/* mem.raw's is over its data pages only, so holes cost nothing. */
		if (!plain && pages && asprintf(&text, "%s (of its data pages)", pages) >= 0)
			row[2] = text;
		table_row(t, row);
		free(text);
	}
	return cli_print_table(t);
}

static int show_list(const json_t *list)
{
	static const char *const head[] = { "ID", "VM", "VCPUS", "MEMORY", "SIZE",
					    "SOURCE KERNEL", "PROFILE", "CREATED" };
	struct table *t = table_new(8, head);
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(list, "snapshots"), i, s) {
		char cpus[32], mem[40], size[32];
		const char *row[] = { json_str(s, "id"), json_str(s, "vm"),
				      int_cell(cpus, sizeof(cpus), json_object_get(s, "vcpus")),
				      mem, size_text(size, sizeof(size), json_object_get(s, "size_bytes")),
				      json_str(s, "source_kernel"), json_str(s, "profile"),
				      json_str(s, "created") };

		snprintf(mem, sizeof(mem), "%" JSON_INTEGER_FORMAT " MiB",
			 json_integer_value(json_object_get(s, "memory_mib")));
		table_row(t, row);
	}
	return cli_print_table(t);
}

/* One line a refused or accepted difference of the restore check. */
static void difference_row(struct table *t, const char *verdict, const json_t *d,
			   const char *here)
{
	const char *row[] = { verdict, json_str(d, "register"), json_str(d, "rule"),
			      json_str(d, "wanted"), json_str(d, here), json_str(d, "detail") };

	table_row(t, row);
}

/* pinvm-vmm's dry run on this host's KVM: every register beyond the
 * firmware's, the vGIC, the counter. */
static int print_restore_check(const json_t *rc)
{
	static const char *const head[] = { "VERDICT", "REGISTER", "RULE", "WANTED", "HERE",
					    "DETAIL" };
	const json_t *refused = json_object_get(rc, "refused"), *d;
	const json_t *accepted = json_object_get(rc, "accepted");
	struct table *t;
	size_t i;

	if (!json_is_object(rc)) {
		printf("\nrestore check: not run (the firmware verdict alone)\n");
		return EXIT_OK;
	}
	printf("\nrestore check: %s; %zu registers left at reset, %zu ID registers zeroed\n",
	       json_is_true(json_object_get(rc, "compatible")) ? "compatible" : "NOT compatible",
	       json_array_size(json_object_get(rc, "left_at_reset")),
	       json_array_size(json_object_get(rc, "id_registers_zeroed")));
	if (!json_array_size(refused) && !json_array_size(accepted))
		return EXIT_OK;
	putchar('\n');
	t = table_new(6, head);
	json_array_foreach(refused, i, d)
		difference_row(t, "refused", d, "offered");
	json_array_foreach(accepted, i, d)
		difference_row(t, "accepted", d, "kept");
	return cli_print_table(t);
}

static int show_verdict(const json_t *v)
{
	bool ok = json_is_true(json_object_get(v, "compatible"));

	printf("snapshot %s (taken on %s) on %s: %s\n\n", json_text(v, "snapshot"),
	       json_text(v, "source_kernel"), json_text(v, "kernel_release"),
	       ok ? "compatible" : "NOT compatible");
	if (cli_print_verdict(v) != EXIT_OK ||
	    print_restore_check(json_object_get(v, "restore_check")) != EXIT_OK)
		return EXIT_FAILURE_LOCAL;
	return ok ? EXIT_OK : EXIT_REFUSED;
}

/* The verdict on this host (its KVM too), or offline on another's set. */
static int snapshot_check(const struct cli *c, const char *id, const char *host_file)
{
	struct response r;
	char path[512];
	int rc;

	if (host_file) {
		json_t *host = cli_load_host(host_file), *body;

		if (!host)
			return EXIT_FAILURE_LOCAL;
		body = json_pack("{s:s, s:o}", "snapshot", id, "host", host);
		if (!body) {
			errorf("out of memory");
			return EXIT_FAILURE_LOCAL;
		}
		rc = cli_call(c, "POST", "/v1/compatibility", body, &r);
		json_decref(body);
	} else {
		if (cli_path(path, sizeof(path), "/v1/snapshots/", id, "/compatibility") < 0)
			return cli_usage_error(usage_snapshot, "snapshot id too long");
		rc = cli_call(c, "GET", path, NULL, &r);
	}
	if (rc == EXIT_OK && c->json) {
		print_json(r.json);
		rc = json_is_true(json_object_get(r.json, "compatible")) ? EXIT_OK : EXIT_REFUSED;
	} else if (rc == EXIT_OK) {
		rc = show_verdict(r.json);
	}
	response_free(&r);
	return rc;
}

/* Prints a snapshot record: JSON, the id alone (-q), or the table. */
static int print_record(const struct cli *c, const json_t *record, bool quiet)
{
	if (quiet && !c->json) {
		printf("%s\n", json_text(record, "id"));
		return EXIT_OK;
	}
	return cli_show(c, record, show_snapshot);
}

/* The archive's bytes on their way to a file. */
struct sink {
	FILE *f;
	long long bytes;
	int err;          /* a failed write's errno, else 0 */
};

static int on_archive(const char *data, size_t n, void *arg)
{
	struct sink *s = arg;

	errno = 0;
	if (fwrite(data, 1, n, s->f) != n) {
		s->err = errno ? errno : EIO;
		return 1;
	}
	s->bytes += (long long)n;
	return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* The signals that end a download early, caught while it runs: its
 * temporary file must go too, which dying at once would leave. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))

static void catch_stops(struct sigaction old[NSTOP])
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &sa, &old[i]);
}

static void release_stops(const struct sigaction old[NSTOP])
{
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &old[i], NULL);
}

/* GETs the archive into s->f; says what went wrong, if anything. */
static int fetch_archive(const struct cli *c, const char *path, const char *file,
			 struct sink *s)
{
	const struct transfer t = { .method = "GET",
				    .accept = "application/x-tar, application/problem+json",
				    .on_data = on_archive, .data_arg = s, .stop = &stop_signal };
	struct sigaction old[NSTOP];
	struct response r;
	int rc = EXIT_OK, got;

	catch_stops(old);
	got = transport_transfer(&c->ep, path, &t, &r);
	release_stops(old);
	if (stop_signal) {
		errorf("interrupted (signal %d)", (int)stop_signal);
		rc = EXIT_FAILURE_LOCAL;
	} else if (s->err) {
		errorf("writing %s: %s", file, strerror(s->err));
		rc = EXIT_FAILURE_LOCAL;
	} else if (got < 0 && s->bytes == 0) {
		rc = cli_unreachable(c, &r);
	} else if (got < 0) {
		errorf("the archive broke off after %lld bytes: %s", s->bytes, r.error);
		rc = EXIT_UNREACHABLE;
	} else if (r.status < 200 || r.status >= 300) {
		rc = report_failure(&r);
	}
	response_free(&r);
	return rc;
}

/*
 * Opens a new file beside file (same directory, so that a rename puts it
 * in place) into *f, its name in tmp. Mode 0600: it holds the guest's
 * memory. Returns EXIT_OK or EXIT_FAILURE_LOCAL, said.
 */
static int open_beside(const char *file, char *tmp, size_t len, FILE **f)
{
	const char *slash = strrchr(file, '/');
	const char *base = slash ? slash + 1 : file;
	struct stat st;
	int fd, n;

	if (!*base || (stat(file, &st) == 0 && S_ISDIR(st.st_mode))) {
		errorf("%s: %s", file, strerror(EISDIR));
		return EXIT_FAILURE_LOCAL;
	}
	/* "d/f" -> "d/.f.XXXXXX", "/f" -> "/.f.XXXXXX", "f" -> "./.f.XXXXXX" */
	n = snprintf(tmp, len, "%.*s/.%s.XXXXXX", slash ? (int)(slash - file) : 1,
		     slash ? file : ".", base);
	if (n < 0 || (size_t)n >= len) {
		errorf("%s: %s", file, strerror(ENAMETOOLONG));
		return EXIT_FAILURE_LOCAL;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(*f = fdopen(fd, "wb"))) {
		errorf("%s: %s", file, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return EXIT_FAILURE_LOCAL;
	}
	return EXIT_OK;
}

/* Writes the archive to tmp, then renames it to file: never half of it
 * under file's name, whatever breaks off. */
static int download_to_file(const struct cli *c, const char *path, const char *id,
			    const char *file)
{
	char tmp[PATH_MAX];
	struct sink s = { 0 };
	int rc = open_beside(file, tmp, sizeof(tmp), &s.f);

	if (rc != EXIT_OK)
		return rc;
	rc = fetch_archive(c, path, file, &s);
	/* Synced before the rename: after a crash, the name holds all or
	 * nothing. */
	if (rc == EXIT_OK && (fflush(s.f) != 0 || fsync(fileno(s.f)) != 0)) {
		errorf("writing %s: %s", file, strerror(errno));
		rc = EXIT_FAILURE_LOCAL;
	}
	if (fclose(s.f) != 0 && rc == EXIT_OK) {
		errorf("writing %s: %s", file, strerror(errno));
		rc = EXIT_FAILURE_LOCAL;
	}
	if (rc == EXIT_OK && rename(tmp, file) != 0) {
		errorf("%s: %s", file, strerror(errno));
		rc = EXIT_FAILURE_LOCAL;
	}
	if (rc != EXIT_OK)
		unlink(tmp);
	else if (!c->json)
		printf("snapshot %s saved to %s (%lld bytes)\n", id, file, s.bytes);
	return rc;
}

static int snapshot_download(const struct cli *c, const char *id, const char *file)
{
	struct sink s = { .f = stdout };
	char path[512];

	if (cli_path(path, sizeof(path), "/v1/snapshots/", id, "/archive") < 0)
		return cli_usage_error(usage_snapshot, "snapshot id too long");
	if (strcmp(file, "-") != 0)
		return download_to_file(c, path, id, file);
	if (isatty(STDOUT_FILENO))
		return cli_usage_error(usage_snapshot,
				       "snapshot download: an archive is no text for a terminal; "
				       "give a FILE or redirect stdout");
	return fetch_archive(c, path, "stdout", &s);
}

/* The archive's bytes on their way from a file. */
struct source {
	FILE *f;
	int err;          /* a failed read's errno, else 0 */
};

static long on_archive_read(char *buf, size_t n, void *arg)
{
	struct source *s = arg;
	size_t got;

	errno = 0;
	got = fread(buf, 1, n, s->f);

	if (got == 0 && ferror(s->f)) {
		s->err = errno ? errno : EIO;
		return -1;
	}
	return (long)got;
}

/* POSTs the archive in file ("-": stdin) as it is read. */
static int snapshot_upload(const struct cli *c, const char *file, bool quiet)
{
	struct source src = { .f = stdin };
	struct transfer t = { .method = "POST",
			      .accept = "application/json, application/problem+json",
			      .on_read = on_archive_read, .read_arg = &src, .size = -1,
			      .content_type = "application/octet-stream" };
	struct response r = { 0 };
	struct stat st;
	off_t at;
	int rc = EXIT_FAILURE_LOCAL, err = 0;

	if (strcmp(file, "-") != 0 && !(src.f = fopen(file, "rb"))) {
		errorf("%s: %s", file, strerror(errno));
		return EXIT_FAILURE_LOCAL;
	}
	if (fstat(fileno(src.f), &st) != 0)
		err = errno;
	else if (S_ISDIR(st.st_mode))
		err = EISDIR;
	if (err) {
		errorf("%s: %s", file, strerror(err));
		goto out;
	}
	/* A file's length is known (stdin's too when it is one); a pipe's is
	 * not, and goes chunked. */
	at = ftello(src.f);
	if (S_ISREG(st.st_mode) && at >= 0 && at <= st.st_size)
		t.size = (long long)(st.st_size - at);
	if (transport_transfer(&c->ep, "/v1/snapshots", &t, &r) < 0) {
		if (src.err) {
			errorf("reading %s: %s", file, strerror(src.err));
			rc = EXIT_FAILURE_LOCAL;
		} else {
			rc = cli_unreachable(c, &r);
		}
	} else if (r.status < 200 || r.status >= 300) {
		rc = report_failure(&r);
	} else {
		rc = print_record(c, r.json, quiet);
	}
	response_free(&r);
out:
	if (src.f != stdin)
		fclose(src.f);
	return rc;
}

/* Sends a request without a body whose 2xx answer is a snapshot record. */
static int send_record(const struct cli *c, const char *method, const char *path, bool quiet)
{
	struct response r;
	int rc = cli_call(c, method, path, NULL, &r);

	if (rc == EXIT_OK)
		rc = print_record(c, r.json, quiet);
	response_free(&r);
	return rc;
}

static int snapshot_list(const struct cli *c)
{
	json_t *doc;
	int rc = cli_get_all(c, "/v1/snapshots", "snapshots", &doc);

	if (rc == EXIT_OK)
		rc = cli_show(c, doc, show_list);
	json_decref(doc);
	return rc;
}

static int snapshot_delete(const struct cli *c, const char *path, const char *id)
{
	struct response r;
	int rc = cli_call(c, "DELETE", path, NULL, &r);

	if (rc == EXIT_OK && !c->json)
		printf("snapshot %s deleted\n", id);
	response_free(&r);
	return rc;
}

/* What each action takes: its arguments, and which options. */
static const struct {
	const char *verb;
	int args;
	bool quiet, host;
} actions[] = {
	{ "list", 0, false, false },   { "show", 1, false, false },
	{ "create", 1, true, false },  { "delete", 1, false, false },
	{ "download", 2, false, false }, { "upload", 1, true, false },
	{ "check", 1, false, true },
};

static int run(const struct cli *c, const char *verb, char **args, bool quiet,
	       const char *host)
{
	char path[512];

	if (strcmp(verb, "list") == 0)
		return snapshot_list(c);
	if (strcmp(verb, "upload") == 0)
		return snapshot_upload(c, args[0], quiet);
	if (strcmp(verb, "download") == 0)
		return snapshot_download(c, args[0], args[1]);
	if (strcmp(verb, "check") == 0)
		return snapshot_check(c, args[0], host);
	if (strcmp(verb, "create") == 0) {
		if (cli_path(path, sizeof(path), "/v1/vms/", args[0], "/snapshot") < 0)
			return cli_usage_error(usage_snapshot, "VM id too long");
		return send_record(c, "POST", path, quiet);
	}
	if (cli_path(path, sizeof(path), "/v1/snapshots/", args[0], "") < 0)
		return cli_usage_error(usage_snapshot, "snapshot id too long");
	if (strcmp(verb, "show") == 0)
		return send_record(c, "GET", path, false);
	return snapshot_delete(c, path, args[0]);
}

int cmd_snapshot(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *host = NULL, *verb;
	bool quiet = false;
	size_t a;
	int o;

	/* GNU getopt permutes: options may stand before or after the rest. */
	optind = 0;
	while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(usage_snapshot, stdout);
			return EXIT_OK;
		}
		if (o == 'q')
			quiet = true;
		else if (o == 'H')
			host = optarg;
		else
			return cli_usage_error(usage_snapshot,
					       "snapshot: unknown option or missing value: %s",
					       argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(usage_snapshot, "snapshot: which action?");
	verb = argv[optind++];
	for (a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
		if (strcmp(verb, actions[a].verb) == 0)
			break;
	if (a == sizeof(actions) / sizeof(actions[0]))
		return cli_usage_error(usage_snapshot, "snapshot: unknown action '%s'", verb);
	if (argc - optind != actions[a].args || (quiet && !actions[a].quiet) ||
	    (host && !actions[a].host))
		return cli_usage_error(usage_snapshot, "snapshot %s: wrong arguments", verb);
	return run(c, verb, argv + optind, quiet, host);
}
