/* The VM config file and the control protocol's messages. */
#include "vmm_config.h"
#include "jsonutil.h"
#include "vmm_proto.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static const char *good =
	"{\"kernel\": \"/images/k\", \"initrd\": null, \"cmdline\": \"console=ttyS0\","
	" \"vcpus\": 8, \"memory_mib\": 512, \"console\": \"/tmp/c.log\","
	" \"pins\": [{\"id\": \"0x6030000000140000\", \"value\": \"0x10000\"},"
	"            {\"id\": \"0x6030000000160000\", \"value\": \"0x0\"}]}";

static int parse(const char *text, struct vmm_config *cfg, struct vmm_error *err)
{
	json_t *obj = json_loads(text, 0, NULL);
	int ret;

	assert_non_null(obj);
	ret = vmm_config_from_json(obj, cfg, err);
	json_decref(obj);
	return ret;
}

static void test_config_good(void **state)
{
	struct vmm_config cfg;
	struct vmm_error err;

	(void)state;
	assert_int_equal(parse(good, &cfg, &err), 0);
	assert_string_equal(cfg.kernel, "/images/k");
	assert_null(cfg.initrd);
	assert_int_equal(cfg.vcpus, 8);
	assert_int_equal(cfg.memory_mib, 512);
	assert_int_equal(cfg.npins, 2);
	assert_int_equal(cfg.pins[0].id, 0x6030000000140000ULL);
	assert_int_equal(cfg.pins[0].value, 0x10000);
	assert_int_equal(cfg.pins[1].value, 0);
	assert_int_equal(cfg.nsmccc_deny, 0);
	vmm_config_free(&cfg);
	assert_null(cfg.kernel);
}

/* SMCCC filter ranges survive the config's JSON round trip. */
static void test_config_smccc_deny(void **state)
{
	struct vmm_config cfg, again;
	struct vmm_error err;
	json_t *obj;

	(void)state;
	assert_int_equal(parse("{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1,"
			       " \"memory_mib\": 64, \"console\": \"/c\", \"smccc_deny\":"
			       " [{\"base\": \"0x0\", \"count\": \"0x80000000\"},"
			       "  {\"base\": \"0xc4000020\", \"count\": \"0x3bffffe0\"}]}",
			       &cfg, &err),
			 0);
	assert_int_equal(cfg.nsmccc_deny, 2);
	assert_true(cfg.smccc_deny[1].base == 0xc4000020u);
	assert_true(cfg.smccc_deny[1].count == 0x3bffffe0u);
	obj = vmm_config_to_json(&cfg);
	assert_non_null(obj);
	assert_int_equal(vmm_config_from_json(obj, &again, &err), 0);
	assert_int_equal(again.nsmccc_deny, 2);
	assert_true(again.smccc_deny[0].count == 0x80000000u);
	json_decref(obj);
	vmm_config_free(&again);
	vmm_config_free(&cfg);
	assert_null(cfg.smccc_deny);
}

/* cpu_features survive the round trip; a config without them writes none. */
static void test_config_cpu_features(void **state)
{
	struct vmm_config cfg, again;
	struct vmm_error err;
	json_t *obj;

	(void)state;
	assert_int_equal(parse("{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1,"
			       " \"memory_mib\": 64, \"console\": \"/c\", \"cpu_features\":"
			       " {\"pmu\": true, \"sve\": {\"vector_length\": 512}}}",
			       &cfg, &err),
			 0);
	assert_true(cfg.cpu_features.pmu && cfg.cpu_features.sve && !cfg.cpu_features.pauth);
	assert_int_equal(cfg.cpu_features.sve_vector_length, 512);
	obj = vmm_config_to_json(&cfg);
	assert_non_null(obj);
	assert_int_equal(vmm_config_from_json(obj, &again, &err), 0);
	assert_memory_equal(&again.cpu_features, &cfg.cpu_features, sizeof(cfg.cpu_features));
	json_decref(obj);
	vmm_config_free(&again);
	vmm_config_free(&cfg);
	assert_int_equal(parse(good, &cfg, &err), 0);
	obj = vmm_config_to_json(&cfg);
	assert_null(json_object_get(obj, "cpu_features"));
	json_decref(obj);
	vmm_config_free(&cfg);
}

static void test_config_bad(void **state)
{
	static const struct {
		const char *json;
		const char *detail; /* a piece of the message */
	} bad[] = {
		{ "[]", "JSON object" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"extra\": 1}", "unknown key \"extra\"" },
		{ "{\"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64, \"console\": \"/c\"}",
		  "\"kernel\" is required" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 0, \"memory_mib\": 64,"
		  " \"console\": \"/c\"}", "\"vcpus\" is 0" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 513, \"memory_mib\": 64,"
		  " \"console\": \"/c\"}", "\"vcpus\"" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 16,"
		  " \"console\": \"/c\"}", "\"memory_mib\" is 16" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": \"1\", \"memory_mib\": 64,"
		  " \"console\": \"/c\"}", "must be an integer" },
		{ "{\"kernel\": \"\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\"}", "must not be empty" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"pins\": [{\"id\": \"0xzz\", \"value\": \"1\"}]}",
		  "pins[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"pins\": [{\"id\": 5, \"value\": \"1\"}]}", "pins[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"pins\": [{\"id\": \"0x01\", \"value\": \"0x1\"},"
		  " {\"id\": \"0x1\", \"value\": \"0x2\"}]}", "repeats register" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"pins\": [{\"id\": \"0x1\", \"value\": \"10\"}]}",
		  "pins[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"pins\": {}}", "must be an array" },
		/* SMCCC filter ranges: 32-bit ids, count 1 up to the end. */
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"smccc_deny\": [{\"base\": \"0xffffffff\","
		  " \"count\": \"0x2\"}]}", "smccc_deny[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"smccc_deny\": [{\"base\": \"0x0\","
		  " \"count\": \"0x0\"}]}", "smccc_deny[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"smccc_deny\": [{\"base\": 1, \"count\": \"0x1\"}]}",
		  "smccc_deny[0]" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"smccc_deny\": {}}", "must be an array" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"cpu_features\": {\"sve\": {\"vector_length\": 100}}}",
		  "cpu_features.sve.vector_length" },
		{ "{\"kernel\": \"/k\", \"cmdline\": \"\", \"vcpus\": 1, \"memory_mib\": 64,"
		  " \"console\": \"/c\", \"cpu_features\": {\"gic\": 3}}", "cpu_features.gic" },
	};
	struct vmm_config cfg;
	struct vmm_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].json, &cfg, &err), -EINVAL);
		assert_string_equal(err.step, "config");
		if (!strstr(err.detail, bad[i].detail))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.detail, bad[i].detail);
		assert_null(cfg.kernel);
		assert_null(cfg.pins);
	}
}

static void test_config_cmdline_limit(void **state)
{
	char *text = malloc(4096), *cmd = malloc(2100);
	struct vmm_config cfg;
	struct vmm_error err;

	(void)state;
	memset(cmd, 'a', 2048);
	cmd[2048] = '\0';
	snprintf(text, 4096, "{\"kernel\": \"/k\", \"cmdline\": \"%s\", \"vcpus\": 1,"
		 " \"memory_mib\": 64, \"console\": \"/c\"}", cmd);
	assert_int_equal(parse(text, &cfg, &err), -E2BIG);
	cmd[2047] = '\0';
	snprintf(text, 4096, "{\"kernel\": \"/k\", \"cmdline\": \"%s\", \"vcpus\": 1,"
		 " \"memory_mib\": 64, \"console\": \"/c\"}", cmd);
	assert_int_equal(parse(text, &cfg, &err), 0);
	vmm_config_free(&cfg);
	free(text);
	free(cmd);
}

static void test_config_save_load(void **state)
{
	char path[] = "/tmp/pinvm-test-config-XXXXXX";
	struct vmm_config cfg, back;
	struct vmm_error err;
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	assert_int_equal(parse(good, &cfg, &err), 0);
	cfg.initrd = strdup("/images/initrd");
	assert_int_equal(vmm_config_save(&cfg, path, &err), 0);
	assert_int_equal(vmm_config_load(path, &back, &err), 0);
	assert_string_equal(back.kernel, cfg.kernel);
	assert_string_equal(back.initrd, "/images/initrd");
	assert_string_equal(back.cmdline, cfg.cmdline);
	assert_int_equal(back.npins, 2);
	assert_memory_equal(back.pins, cfg.pins, 2 * sizeof(cfg.pins[0]));
	vmm_config_free(&back);
	/* An invalid config is not written. */
	cfg.vcpus = 0;
	assert_int_equal(vmm_config_save(&cfg, path, &err), -EINVAL);
	vmm_config_free(&cfg);
	assert_int_equal(vmm_config_load("/nonexistent.json", &cfg, &err), -EINVAL);
	unlink(path);
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	(void)state;
	/* The config and the protocol take the project's one hex rule. */
	assert_int_equal(ju_parse_hex("0x6030000000140000", &v), 0);
	assert_int_equal(v, 0x6030000000140000ULL);
	assert_int_equal(ju_parse_hex("0xffffffffffffffff", &v), 0);
	assert_int_equal(ju_parse_hex("0x10000000000000000", &v), -EINVAL);
	assert_int_equal(ju_parse_hex("65536", &v), -EINVAL);  /* no decimal */
	assert_int_equal(ju_parse_hex("010", &v), -EINVAL);    /* no octal */
	assert_int_equal(ju_parse_hex("-1", &v), -EINVAL);
	assert_int_equal(ju_parse_hex("", &v), -EINVAL);
	assert_int_equal(ju_parse_hex("0x12 ", &v), -EINVAL);
	assert_int_equal(ju_parse_hex(NULL, &v), -EINVAL);
}

static void roundtrip(const struct vmm_event *in, struct vmm_event *out)
{
	json_t *obj = vmm_event_to_json(in);
	struct vmm_error err;

	assert_non_null(obj);
	assert_int_equal(vmm_event_from_json(obj, out, &err), 0);
	json_decref(obj);
	assert_int_equal(out->type, in->type);
	assert_non_null(out->json);
}

static void test_events(void **state)
{
	struct fw_pin pins[2] = { { 0x6030000000140000ULL, 0x10000 },
				  { 0x6030000000140002ULL, 1 } };
	struct fw_pin back[2] = { { 0x6030000000140000ULL, 0x10000 },
				  { 0x6030000000140002ULL, 0 } };
	struct vmm_event in = { .type = VMM_EVENT_CREATED, .vcpus = 4, .gic = "v3",
				.pins = pins, .readback = back, .npins = 2 };
	struct vmm_event out;
	char *s;

	(void)state;
	roundtrip(&in, &out);
	assert_int_equal(out.vcpus, 4);
	assert_string_equal(out.gic, "v3");
	assert_int_equal(out.npins, 2);
	assert_memory_equal(out.pins, pins, sizeof(pins));
	assert_memory_equal(out.readback, back, sizeof(back));
	s = json_dumps(out.json, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"event\":\"created\",\"gic\":\"v3\",\"pins\":["
			    "{\"id\":\"0x6030000000140000\",\"readback\":\"0x10000\","
			    "\"value\":\"0x10000\"},{\"id\":\"0x6030000000140002\","
			    "\"readback\":\"0x0\",\"value\":\"0x1\"}],\"vcpus\":4}");
	free(s);
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_ERROR };
	vmm_error_set(&in.error, "pin", ENOENT, "refused");
	in.error.has_register = true;
	in.error.reg = 0x6030000000160000ULL;
	roundtrip(&in, &out);
	assert_string_equal(out.error.step, "pin");
	assert_string_equal(out.error.detail, "refused");
	assert_int_equal(out.error.errnum, ENOENT);
	assert_true(out.error.has_register);
	assert_int_equal(out.error.reg, 0x6030000000160000ULL);
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_ERROR };
	vmm_error_set(&in.error, "kernel", ENOEXEC, "not an Image");
	roundtrip(&in, &out);
	assert_false(out.error.has_register);
	assert_null(json_object_get(out.json, "register"));
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_EXITED, .reason = VMM_EXIT_RESET };
	snprintf(in.error.detail, sizeof(in.error.detail), "guest reset");
	roundtrip(&in, &out);
	assert_int_equal(out.reason, VMM_EXIT_RESET);
	assert_string_equal(out.error.detail, "guest reset");
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_REJECTED, .op = "pause" };
	roundtrip(&in, &out);
	assert_string_equal(out.op, "pause");
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_PAUSED };
	roundtrip(&in, &out);
	vmm_event_clear(&out);

	in = (struct vmm_event){ .type = VMM_EVENT_ATTACHED, .state = "paused" };
	roundtrip(&in, &out);
	assert_string_equal(out.state, "paused");
	vmm_event_clear(&out);
}

static void test_bad_events(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"event\": \"bogus\"}", "{\"event\": \"exited\", \"reason\": \"x\"}",
		"{\"event\": \"created\"}",
		"{\"event\": \"created\", \"pins\": [{\"id\": \"1\"}]}",
		"{\"event\": \"error\", \"register\": \"zz\"}",
		"{\"event\": \"attached\"}", "{\"event\": \"attached\", \"state\": \"stopped\"}",
	};
	struct vmm_event ev;
	struct vmm_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *obj = json_loads(bad[i], 0, NULL);

		assert_non_null(obj);
		assert_int_equal(vmm_event_from_json(obj, &ev, &err), -EPROTO);
		assert_null(ev.json);
		assert_null(ev.pins);
		json_decref(obj);
	}
}

static void test_socket(void **state)
{
	struct vmm_event ev = { .type = VMM_EVENT_RUNNING }, got;
	struct vmm_error err;
	enum vmm_op op;
	char bad[16];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(vmm_proto_send_op(sv[0], VMM_OP_PAUSE), 0);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_PAUSE);
	/* Not an op: consumed, reported, with its name. */
	assert_int_equal(send(sv[0], "{\"op\":\"jump\"}", 13, 0), 13);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), -EPROTO);
	assert_string_equal(bad, "jump");
	assert_int_equal(send(sv[0], "nonsense", 8, 0), 8);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), -EPROTO);
	assert_string_equal(bad, "");
	assert_int_equal(send(sv[0], "[1]", 3, 0), 3);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), -EPROTO);
	/* Events the other way. */
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_RUNNING);
	vmm_event_clear(&got);
	/* End of stream, and sending to a closed peer. */
	close(sv[1]);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), -EPIPE);
	assert_int_equal(vmm_proto_send_op(sv[0], VMM_OP_STOP), -EPIPE);
	close(sv[0]);
}

/* "restore": kernel and cmdline become optional; the path must be absolute. */
static void test_config_restore(void **state)
{
	char path[] = "/tmp/pinvm-test-config-XXXXXX";
	struct vmm_config cfg, back;
	struct vmm_error err;
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	assert_int_equal(parse("{\"restore\": \"/snap/1\", \"vcpus\": 2, \"memory_mib\": 128,"
			       " \"console\": \"/tmp/c.log\"}", &cfg, &err), 0);
	assert_string_equal(cfg.restore, "/snap/1");
	assert_null(cfg.kernel);
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(vmm_config_save(&cfg, path, &err), 0);
	assert_int_equal(vmm_config_load(path, &back, &err), 0);
	assert_string_equal(back.restore, "/snap/1");
	assert_null(back.kernel);
	vmm_config_free(&back);
	vmm_config_free(&cfg);
	assert_int_equal(parse("{\"restore\": \"snap\", \"vcpus\": 2, \"memory_mib\": 128,"
			       " \"console\": \"/tmp/c.log\"}", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "restore"));
	/* Without it the kernel is required, as before. */
	assert_int_equal(parse("{\"vcpus\": 2, \"memory_mib\": 128, \"cmdline\": \"\","
			       " \"console\": \"/tmp/c.log\"}", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "kernel"));
	unlink(path);
}

/* The snapshot op carries its path; its answers carry sizes and errno. */
static void test_snapshot_messages(void **state)
{
	struct vmm_event ev = { .type = VMM_EVENT_SNAPSHOTTED, .bytes = 123456789012ULL,
				.data_pages = 42 }, got;
	struct vmm_error err;
	enum vmm_op op;
	char bad[16], path[VMM_PROTO_MAX_PATH];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(vmm_proto_send_snapshot(sv[0], "/var/lib/pinvm/snapshots/.tmp-1"), 0);
	assert_int_equal(vmm_proto_recv_op_path(sv[1], &op, path, sizeof(path), bad,
						sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_SNAPSHOT);
	assert_string_equal(path, "/var/lib/pinvm/snapshots/.tmp-1");
	/* Without a path: refused, named. */
	assert_int_equal(send(sv[0], "{\"op\":\"snapshot\"}", 17, 0), 17);
	assert_int_equal(vmm_proto_recv_op_path(sv[1], &op, path, sizeof(path), bad,
						sizeof(bad), &err), -EPROTO);
	assert_string_equal(bad, "snapshot");
	/* The old receiver cannot take a path: refused too. */
	assert_int_equal(vmm_proto_send_snapshot(sv[0], "/x"), 0);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), -EPROTO);
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_SNAPSHOTTED);
	assert_int_equal(got.bytes, 123456789012ULL);
	assert_int_equal(got.data_pages, 42);
	vmm_event_clear(&got);
	ev = (struct vmm_event){ .type = VMM_EVENT_REJECTED, .op = "snapshot" };
	ev.error.errnum = ENOSPC;
	snprintf(ev.error.detail, sizeof(ev.error.detail), "disk full");
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_REJECTED);
	assert_string_equal(got.op, "snapshot");
	assert_int_equal(got.error.errnum, ENOSPC);
	vmm_event_clear(&got);
	/* snapshotted without its sizes is not an event. */
	assert_int_equal(send(sv[1], "{\"event\":\"snapshotted\"}", 24, 0), 24);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), -EPROTO);
	close(sv[0]);
	close(sv[1]);
}

/* "incoming": like "restore" (kernel optional), absolute, not with it. */
static void test_config_incoming(void **state)
{
	char path[] = "/tmp/pinvm-test-config-XXXXXX";
	struct vmm_config cfg, back;
	struct vmm_error err;
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	assert_int_equal(parse("{\"incoming\": \"/run/m.sock\", \"vcpus\": 1, "
			       "\"memory_mib\": 64, \"console\": \"/tmp/c.log\"}", &cfg, &err), 0);
	assert_string_equal(cfg.incoming, "/run/m.sock");
	assert_null(cfg.kernel);
	assert_int_equal(vmm_config_save(&cfg, path, &err), 0);
	assert_int_equal(vmm_config_load(path, &back, &err), 0);
	assert_string_equal(back.incoming, "/run/m.sock");
	vmm_config_free(&back);
	vmm_config_free(&cfg);
	assert_int_equal(parse("{\"incoming\": \"m.sock\", \"vcpus\": 1, \"memory_mib\": 64,"
			       " \"console\": \"/tmp/c.log\"}", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "incoming"));
	assert_int_equal(parse("{\"incoming\": \"/m.sock\", \"restore\": \"/s\", \"vcpus\": 1,"
			       " \"memory_mib\": 64, \"console\": \"/tmp/c.log\"}", &cfg, &err),
			 -EINVAL);
	assert_non_null(strstr(err.detail, "exclude"));
	unlink(path);
}

/* migrate_out carries its path; the migration events carry their figures. */
static void test_migrate_messages(void **state)
{
	struct vmm_event ev = { .type = VMM_EVENT_MIGRATED, .round = 7, .bytes = 1ULL << 33,
				.data_pages = 300, .dirty_pages = 12, .paused_ms = 250 }, got;
	struct vmm_error err;
	enum vmm_op op;
	char bad[16], path[VMM_PROTO_MAX_PATH];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(vmm_proto_send_op_path(sv[0], VMM_OP_MIGRATE_OUT, "/run/r.sock"), 0);
	assert_int_equal(vmm_proto_recv_op_path(sv[1], &op, path, sizeof(path), bad,
						sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_MIGRATE_OUT);
	assert_string_equal(path, "/run/r.sock");
	assert_int_equal(vmm_proto_send_op_path(sv[0], VMM_OP_STOP, "/x"), -EINVAL);
	assert_int_equal(send(sv[0], "{\"op\":\"migrate_out\"}", 20, 0), 20);
	assert_int_equal(vmm_proto_recv_op_path(sv[1], &op, path, sizeof(path), bad,
						sizeof(bad), &err), -EPROTO);
	assert_string_equal(bad, "migrate_out");
	assert_int_equal(vmm_proto_send_op(sv[0], VMM_OP_MIGRATE_COMMIT), 0);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_MIGRATE_COMMIT);
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_MIGRATED);
	assert_int_equal(got.round, 7);
	assert_int_equal(got.bytes, 1ULL << 33);
	assert_int_equal(got.dirty_pages, 12);
	assert_int_equal(got.paused_ms, 250);
	vmm_event_clear(&got);
	ev = (struct vmm_event){ .type = VMM_EVENT_MIGRATE_FAILED };
	ev.error.errnum = EPIPE;
	snprintf(ev.error.detail, sizeof(ev.error.detail), "sending pages: Broken pipe");
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_MIGRATE_FAILED);
	assert_int_equal(got.error.errnum, EPIPE);
	assert_string_equal(got.error.detail, "sending pages: Broken pipe");
	vmm_event_clear(&got);
	ev = (struct vmm_event){ .type = VMM_EVENT_INCOMING };
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_INCOMING);
	vmm_event_clear(&got);
	/* A progress event without its figures is not one. */
	assert_int_equal(send(sv[1], "{\"event\":\"migrate_progress\",\"round\":1}", 39, 0), 39);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), -EPROTO);
	close(sv[0]);
	close(sv[1]);
}

static void test_names(void **state)
{
	enum vmm_op op;

	(void)state;
	assert_string_equal(vmm_op_name(VMM_OP_RESUME), "resume");
	assert_int_equal(vmm_op_from_name("stop", &op), 0);
	assert_int_equal(op, VMM_OP_STOP);
	assert_int_equal(vmm_op_from_name("Stop", &op), -EINVAL);
	assert_int_equal(vmm_op_from_name(NULL, &op), -EINVAL);
	assert_string_equal(vmm_exit_reason_name(VMM_EXIT_POWEROFF), "poweroff");
	assert_string_equal(vmm_event_name((enum vmm_event_type)99), "?");
}

static void test_lifecycle_messages(void **state)
{
	struct vmm_event ev = { .type = VMM_EVENT_SHUTTING_DOWN, .timeout_s = 30 }, got;
	struct vmm_error err;
	enum vmm_op op;
	char bad[16], path[64];
	unsigned timeout_s;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(vmm_proto_send_shutdown(sv[0], 45), 0);
	assert_int_equal(vmm_proto_recv_op_args(sv[1], &op, path, sizeof(path), &timeout_s, bad,
						sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_SHUTDOWN);
	assert_int_equal(timeout_s, 45);
	/* Without a timeout, or a zero one: refused, named. */
	assert_int_equal(send(sv[0], "{\"op\":\"shutdown\"}", 17, 0), 17);
	assert_int_equal(vmm_proto_recv_op_args(sv[1], &op, path, sizeof(path), &timeout_s, bad,
						sizeof(bad), &err), -EPROTO);
	assert_string_equal(bad, "shutdown");
	assert_int_equal(send(sv[0], "{\"op\":\"shutdown\",\"timeout_s\":0}", 31, 0), 31);
	assert_int_equal(vmm_proto_recv_op_args(sv[1], &op, path, sizeof(path), &timeout_s, bad,
						sizeof(bad), &err), -EPROTO);
	/* A receiver that takes no timeout refuses a shutdown. */
	assert_int_equal(vmm_proto_send_shutdown(sv[0], 5), 0);
	assert_int_equal(vmm_proto_recv_op_path(sv[1], &op, path, sizeof(path), bad, sizeof(bad),
						&err), -EPROTO);
	assert_int_equal(vmm_proto_send_op(sv[0], VMM_OP_REBOOT), 0);
	assert_int_equal(vmm_proto_recv_op(sv[1], &op, bad, sizeof(bad), &err), 0);
	assert_int_equal(op, VMM_OP_REBOOT);

	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_SHUTTING_DOWN);
	assert_int_equal(got.timeout_s, 30);
	vmm_event_clear(&got);
	ev = (struct vmm_event){ .type = VMM_EVENT_REBOOTED, .reboots = 3 };
	snprintf(ev.error.detail, sizeof(ev.error.detail), "PSCI SYSTEM_RESET2 on vCPU 1");
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.type, VMM_EVENT_REBOOTED);
	assert_int_equal(got.reboots, 3);
	assert_string_equal(got.error.detail, "PSCI SYSTEM_RESET2 on vCPU 1");
	vmm_event_clear(&got);
	assert_int_equal(send(sv[1], "{\"event\":\"rebooted\"}", 20, 0), 20);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), -EPROTO);
	ev = (struct vmm_event){ .type = VMM_EVENT_EXITED, .reason = VMM_EXIT_SHUTDOWN_TIMEOUT };
	assert_int_equal(vmm_proto_send_event(sv[1], &ev), 0);
	assert_int_equal(vmm_proto_recv_event(sv[0], &got, &err), 0);
	assert_int_equal(got.reason, VMM_EXIT_SHUTDOWN_TIMEOUT);
	assert_string_equal(vmm_exit_reason_name(got.reason), "shutdown_timeout");
	vmm_event_clear(&got);
	close(sv[0]);
	close(sv[1]);
}

/* A standby's first message: the paths given, "" for the optional ones
 * not given; anything else refused naming what is wrong. */
static void test_become_messages(void **state)
{
	static struct vmm_become b, got;
	struct vmm_error err;
	int sv[2];
	const char *raw;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	snprintf(b.config, sizeof(b.config), "/s/vms/1/config.json");
	snprintf(b.log, sizeof(b.log), "/s/vms/1/vmm.log");
	snprintf(b.exit_file, sizeof(b.exit_file), "/s/vms/1/exit.json");
	assert_int_equal(vmm_proto_send_become(sv[0], &b), 0);
	assert_int_equal(vmm_proto_recv_become(sv[1], &got, &err), 0);
	assert_string_equal(got.config, b.config);
	assert_string_equal(got.log, b.log);
	assert_string_equal(got.exit_file, b.exit_file);
	assert_string_equal(got.control_socket, "");
	assert_string_equal(got.prerun_image, "");
	/* Not sent: a relative path, a missing log. */
	snprintf(b.prerun_image, sizeof(b.prerun_image), "prerun.json");
	assert_int_equal(vmm_proto_send_become(sv[0], &b), -EINVAL);
	b.prerun_image[0] = '\0';
	b.log[0] = '\0';
	assert_int_equal(vmm_proto_send_become(sv[0], &b), -EINVAL);
	/* Refused on receipt: another op first, no config, a relative one. */
	raw = "{\"op\": \"start\"}";
	assert_int_equal(send(sv[0], raw, strlen(raw), 0), (ssize_t)strlen(raw));
	assert_int_equal(vmm_proto_recv_become(sv[1], &got, &err), -EPROTO);
	assert_non_null(strstr(err.detail, "become"));
	raw = "{\"op\": \"become\", \"log\": \"/l\"}";
	assert_int_equal(send(sv[0], raw, strlen(raw), 0), (ssize_t)strlen(raw));
	assert_int_equal(vmm_proto_recv_become(sv[1], &got, &err), -EPROTO);
	assert_non_null(strstr(err.detail, "\"config\""));
	raw = "{\"op\": \"become\", \"config\": \"c.json\", \"log\": \"/l\"}";
	assert_int_equal(send(sv[0], raw, strlen(raw), 0), (ssize_t)strlen(raw));
	assert_int_equal(vmm_proto_recv_become(sv[1], &got, &err), -EPROTO);
	assert_string_equal(got.config, "");
	/* The channel closed first: EPIPE, as for any message. */
	close(sv[0]);
	assert_int_equal(vmm_proto_recv_become(sv[1], &got, &err), -EPIPE);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_smccc_deny),
		cmocka_unit_test(test_config_cpu_features),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_config_cmdline_limit),
		cmocka_unit_test(test_config_save_load),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_bad_events),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_config_restore),
		cmocka_unit_test(test_snapshot_messages),
		cmocka_unit_test(test_config_incoming),
		cmocka_unit_test(test_migrate_messages),
		cmocka_unit_test(test_lifecycle_messages),
		cmocka_unit_test(test_become_messages),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
