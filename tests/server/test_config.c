/* pinvmd's command line: every flag, its default, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char err[512];
static struct config cfg;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pinvm-config-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* Defaults derive from these; pin them so the test is the same for
	 * every user (root gets /run and /var/lib, tested separately). */
	setenv("XDG_RUNTIME_DIR", "/run/user/test", 1);
	setenv("XDG_STATE_HOME", "/home/test/.state", 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Parses a NULL-terminated list of arguments (argv[0] added). */
static int parse(const char *first, ...)
{
	char *argv[48] = { "pinvmd" };
	int argc = 1;
	const char *a;
	va_list ap;

	va_start(ap, first);
	for (a = first; a && argc < 47; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	config_free(&cfg);
	err[0] = '\0';
	return config_parse(argc, argv, &cfg, err, sizeof(err));
}

static const char *file(const char *name, const char *text, mode_t mode)
{
	static char path[8][128];
	static int next;
	char *p = path[next++ % 8];
	FILE *f;

	snprintf(p, 128, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(cfg.action, CONFIG_RUN);
	assert_int_equal(cfg.nlisten, 1);
	if (geteuid() == 0) {
		assert_string_equal(cfg.listen[0], "unix:/run/pinvm/pinvmd.sock");
		assert_string_equal(cfg.state_dir, "/var/lib/pinvm");
	} else {
		assert_string_equal(cfg.listen[0], "unix:/run/user/test/pinvm/pinvmd.sock");
		assert_string_equal(cfg.state_dir, "/home/test/.state/pinvm");
	}
	assert_string_equal(cfg.image_dir, "");
	assert_int_equal(cfg.body_limit, 1024 * 1024);
	assert_int_equal(cfg.lopts.mode, 0660);
	assert_null(cfg.lopts.group);
	assert_null(cfg.token_file);
	assert_string_equal(cfg.token, "");
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_int_equal(cfg.max_vms, 64);
	assert_int_equal(cfg.standby_vmms, 1);
	assert_int_equal(cfg.drain_seconds, 30);
	assert_int_equal(cfg.max_profiles, 10000);
	assert_int_equal(cfg.max_connections, 256);
	assert_int_equal(cfg.max_per_peer, 64);
	assert_int_equal(cfg.header_timeout, 10);
	assert_int_equal(cfg.body_timeout, 60);
	assert_int_equal(cfg.idle_timeout, 30);
	assert_false(cfg.allow_open_tcp);
	assert_false(cfg.stop_vms_on_exit);
}

static void test_every_flag(void **state)
{
	const char *tok = file("token", "0123456789abcdef-token\n", 0600);
	const char *cert = file("cert.pem", "-----BEGIN CERTIFICATE-----\nx\n", 0644);
	const char *key = file("key.pem", "-----BEGIN PRIVATE KEY-----\nx\n", 0600);

	(void)state;
	assert_int_equal(parse("--listen", "unix:/tmp/a.sock", "--listen", "tcp:127.0.0.1:26001",
			       "--state-dir", "/s", "--image-dir", "/i", "--body-limit", "2048",
			       "--socket-mode", "0600", "--socket-group", "kvm",
			       "--token-file", tok, "--allow-unauthenticated-tcp",
			       "--tls-cert", cert, "--tls-key", key, "--max-vms", "3",
			       "--drain-seconds", "0", "--stop-vms-on-exit",
			       "--max-profiles", "7", "--max-connections", "100",
			       "--max-connections-per-peer", "0", "--header-timeout", "2",
			       "--body-timeout", "3", "--idle-timeout", "4",
			       "--ready-file", "/r/ready", NULL), 0);
	assert_string_equal(cfg.ready_file, "/r/ready");
	assert_int_equal(cfg.max_profiles, 7);
	assert_int_equal(cfg.max_connections, 100);
	assert_int_equal(cfg.max_per_peer, 0);
	assert_int_equal(cfg.header_timeout, 2);
	assert_int_equal(cfg.body_timeout, 3);
	assert_int_equal(cfg.idle_timeout, 4);
	assert_int_equal(cfg.action, CONFIG_RUN);
	assert_int_equal(cfg.nlisten, 2);
	assert_string_equal(cfg.listen[0], "unix:/tmp/a.sock");
	assert_string_equal(cfg.listen[1], "tcp:127.0.0.1:26001");
	assert_string_equal(cfg.state_dir, "/s");
	assert_string_equal(cfg.image_dir, "/i");
	assert_int_equal(cfg.body_limit, 2048);
	assert_int_equal(cfg.lopts.mode, 0600);
	assert_string_equal(cfg.lopts.group, "kvm");
	assert_string_equal(cfg.token, "0123456789abcdef-token");
	assert_non_null(strstr(cfg.tls_cert, "CERTIFICATE"));
	assert_non_null(strstr(cfg.tls_key, "PRIVATE KEY"));
	assert_string_equal(cfg.tls_cert_path, cert);
	assert_string_equal(cfg.tls_key_path, key);
	assert_int_equal(cfg.max_vms, 3);
	assert_int_equal(cfg.drain_seconds, 0);
	assert_true(cfg.allow_open_tcp);
	assert_true(cfg.stop_vms_on_exit);
}

static void test_actions(void **state)
{
	(void)state;
	assert_int_equal(parse("--help", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_HELP);
	assert_int_equal(parse("-h", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_HELP);
	assert_int_equal(parse("--version", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_VERSION);
	assert_int_equal(parse("--routes", NULL), 0);
	assert_int_equal(cfg.action, CONFIG_ROUTES);
}

static void test_limits_of_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse("--body-limit", "1024", NULL), 0);
	assert_int_equal(parse("--body-limit", "67108864", NULL), 0);
	assert_int_equal(parse("--max-vms", "4096", NULL), 0);
	assert_int_equal(parse("--standby-vmms", "0", NULL), 0);
	assert_int_equal(parse("--standby-vmms", "16", NULL), 0);
	assert_int_equal(parse("--drain-seconds", "3600", NULL), 0);
}

struct refusal {
	const char *args[6];
	int ret;
	const char *says;
};

static void test_refusals(void **state)
{
	const char *loose = file("loose", "0123456789abcdef-token\n", 0644);
	const char *shorttok = file("short", "0123456789abcde\n", 0600);
	const char *cert = file("c.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	const char *key = file("k.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
	const char *openkey = file("ok.pem", "-----BEGIN PRIVATE KEY-----\n", 0644);
	const char *enckey = file("ek.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0600);
	const char *notpem = file("np.pem", "hello\n", 0600);
	const struct refusal cases[] = {
		{ { "--bogus" }, -ENOTSUP, "unrecognized option '--bogus'" },
		{ { "--ready-file", "" }, -EINVAL, "--ready-file wants a path" },
		{ { "--listen" }, -ENOTSUP, "requires an argument" },
		{ { "extra" }, -EINVAL, "unexpected argument \"extra\"" },
		{ { "--body-limit", "1023" }, -EINVAL, "--body-limit wants 1024..67108864" },
		{ { "--body-limit", "67108865" }, -EINVAL, "--body-limit wants" },
		{ { "--body-limit", "1k" }, -EINVAL, "--body-limit wants" },
		{ { "--body-limit", "-5" }, -EINVAL, "--body-limit wants" },
		{ { "--max-vms", "0" }, -EINVAL, "--max-vms wants 1..4096" },
		{ { "--standby-vmms", "17" }, -EINVAL, "--standby-vmms wants 0..16" },
		{ { "--max-vms", "4097" }, -EINVAL, "--max-vms wants" },
		{ { "--max-vms", "" }, -EINVAL, "--max-vms wants" },
		{ { "--drain-seconds", "3601" }, -EINVAL, "--drain-seconds wants 0..3600" },
		{ { "--drain-seconds", "-1" }, -EINVAL, "--drain-seconds wants" },
		{ { "--max-profiles", "0" }, -EINVAL, "--max-profiles wants 1..1000000" },
		{ { "--max-connections", "0" }, -EINVAL, "--max-connections wants 1..65536" },
		{ { "--max-connections-per-peer", "65537" }, -EINVAL, "--max-connections-per-peer wants 0..65536" },
		{ { "--max-connections", "10", "--max-connections-per-peer", "11" }, -EINVAL,
		  "--max-connections-per-peer 11 is more than --max-connections 10" },
		{ { "--header-timeout", "0" }, -EINVAL, "--header-timeout wants 1..3600" },
		{ { "--body-timeout", "86401" }, -EINVAL, "--body-timeout wants 1..86400" },
		{ { "--idle-timeout", "x" }, -EINVAL, "--idle-timeout wants 1..86400" },
		{ { "--socket-mode", "0999" }, -EINVAL, "--socket-mode wants an octal mode" },
		{ { "--socket-mode", "01000" }, -EINVAL, "--socket-mode wants" },
		{ { "--socket-mode", "" }, -EINVAL, "--socket-mode wants" },
		{ { "--token-file", "/nonexistent/token" }, -EINVAL, "--token-file /nonexistent/token" },
		{ { "--token-file", loose }, -EINVAL, "readable by others" },
		{ { "--token-file", shorttok }, -EINVAL, "must be 16.." },
		{ { "--tls-cert", cert }, -EINVAL, "--tls-cert needs --tls-key as well" },
		{ { "--tls-key", key }, -EINVAL, "--tls-key needs --tls-cert as well" },
		{ { "--tls-cert", cert, "--tls-key", openkey }, -EINVAL, "open to group or others" },
		{ { "--tls-cert", cert, "--tls-key", enckey }, -EINVAL, "is encrypted" },
		{ { "--tls-cert", cert, "--tls-key", notpem }, -EINVAL, "holds no PEM private key" },
		{ { "--tls-cert", key, "--tls-key", key }, -EINVAL, "holds no PEM certificate" },
		{ { "--tls-cert", "/nonexistent.pem", "--tls-key", key }, -EINVAL, "--tls-cert /nonexistent.pem" },
	};
	char *argv[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc = 1;

		argv[0] = "pinvmd";
		for (size_t k = 0; k < 6 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		argv[argc] = NULL;
		config_free(&cfg);
		err[0] = '\0';
		if (config_parse(argc, argv, &cfg, err, sizeof(err)) != cases[i].ret ||
		    !strstr(err, cases[i].says))
			fail_msg("case %zu (%s): err \"%s\", wanted \"%s\"", i,
				 cases[i].args[0], err, cases[i].says);
		/* A refusal leaves nothing to free. */
		assert_null(cfg.tls_cert);
		assert_null(cfg.tls_key);
	}
}

/* The help says 16..255 characters; exactly those are taken. */
static void test_token_lengths(void **state)
{
	char tok[300];

	(void)state;
	for (size_t n = 15; n <= 257; n++) {
		int ret;

		memset(tok, 'k', n);
		tok[n] = '\n';
		tok[n + 1] = '\0';
		if (n > 17 && n < 253)
			continue;
		ret = parse("--token-file", file("tok", tok, 0600), NULL);
		if (n >= 16 && n <= 255) {
			assert_int_equal(ret, 0);
			assert_int_equal(strlen(cfg.token), n);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_non_null(strstr(err, "must be 16..255 characters"));
		}
	}
	/* Without a trailing newline too. */
	memset(tok, 'k', 255);
	tok[255] = '\0';
	assert_int_equal(parse("--token-file", file("tok", tok, 0600), NULL), 0);
	assert_int_equal(strlen(cfg.token), 255);
}

static void test_listen_cap(void **state)
{
	char *argv[2 + 2 * (SERVER_MAX_LISTENERS + 1)];
	int argc = 1;

	(void)state;
	argv[0] = "pinvmd";
	for (int i = 0; i <= SERVER_MAX_LISTENERS; i++) {
		argv[argc++] = "--listen";
		argv[argc++] = "tcp:127.0.0.1:26002";
	}
	argv[argc] = NULL;
	assert_int_equal(config_parse(argc, argv, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most 8 --listen"));
	assert_int_equal(config_parse(argc - 2, argv, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nlisten, SERVER_MAX_LISTENERS);
}

static void test_no_state_dir(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip();
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	assert_int_equal(parse(NULL), -EINVAL);
	assert_non_null(strstr(err, "no --state-dir and no HOME"));
	assert_int_equal(parse("--state-dir", "/s", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_of_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_state_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
