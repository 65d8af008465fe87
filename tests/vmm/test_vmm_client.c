/*
 * vmm_client: spawning pinvm-vmm (the real one where it cannot build a VM,
 * and fake-vmm for the rest), ops and events, timeouts, kill and reap.
 */
#include "vmm_client.h"
#include "vmm_config.h"
#include "vmm_control.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm_state.h"

static char dir[] = "/tmp/pinvm-test-client-XXXXXX";

static const char *path_in(const char *name)
{
	static char buf[16][256];
	static int i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A config whose cmdline steers fake-vmm. */
static const char *write_config(const char *name, const char *cmdline)
{
	struct fw_pin pins[1] = { { .id = 0x6030000000140000ULL, .value = 0x10000 } };
	struct vmm_config cfg = {
		.kernel = "/nonexistent/Image", .cmdline = (char *)cmdline,
		.console = (char *)path_in("console"), .vcpus = 2, .memory_mib = 64,
		.pins = pins, .npins = 1,
	};
	const char *path = path_in(name);
	struct vmm_error err;

	assert_int_equal(vmm_config_save(&cfg, path, &err), 0);
	return path;
}

static void spawn(struct vmm_client *c, const char *binary, const char *config,
		  int log_fd)
{
	struct vmm_spawn sp = { .binary = binary, .config_path = config,
				.log_fd = log_fd };
	struct vmm_error err;

	assert_int_equal(vmm_client_spawn(c, &sp, &err), 0);
	assert_true(c->pid > 0);
	assert_true(c->fd >= 0);
}

static void expect(struct vmm_client *c, enum vmm_event_type type)
{
	struct vmm_event ev;
	struct vmm_error err;

	assert_int_equal(vmm_client_recv(c, 5000, &ev, &err), 0);
	if (ev.type != type)
		fprintf(stderr, "unexpected %s: %s: %s\n", vmm_event_name(ev.type),
			ev.error.step, ev.error.detail);
	assert_string_equal(vmm_event_name(ev.type), vmm_event_name(type));
	vmm_event_clear(&ev);
}

static void test_exec_failure(void **state)
{
	struct vmm_spawn sp = { .binary = "/nonexistent/pinvm-vmm",
				.config_path = "/dev/null", .log_fd = -1 };
	struct vmm_client c;
	struct vmm_error err;

	(void)state;
	assert_int_equal(vmm_client_spawn(&c, &sp, &err), -ENOENT);
	assert_string_equal(err.step, "spawn");
	assert_int_equal(c.fd, -1);
	assert_true(c.reaped);
}

#ifndef __aarch64__
/* The real pinvm-vmm, built without KVM: "error", step "kvm", ENODEV. */
static void test_real_vmm_without_kvm(void **state)
{
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;
	const char *config = write_config("real.json", "console=ttyS0");
	struct vmm_spawn sp = { .binary = REAL_VMM, .config_path = config,
				.log_fd = -1, .control_socket = path_in("real.sock"),
				.exit_file = path_in("real.exit") };

	(void)state;
	assert_int_equal(vmm_client_spawn(&c, &sp, &err), 0);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "kvm");
	assert_int_equal(ev.error.errnum, ENODEV);
	assert_false(ev.error.has_register);
	assert_non_null(ev.json);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), -EPIPE);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1);
	vmm_client_close(&c);
	/* The failure is on disk and nothing listens for a VM that never was. */
	assert_int_equal(vmm_exit_file_read(path_in("real.exit"), &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "kvm");
	vmm_event_clear(&ev);
	assert_int_equal(access(path_in("real.sock"), F_OK), -1);
}
#endif

/* The real pinvm-vmm with a broken config: "error", step "config". */
static void test_real_vmm_bad_config(void **state)
{
	const char *config = path_in("bad.json");
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;
	FILE *f = fopen(config, "w");

	(void)state;
	fputs("{\"kernel\": \"/x\", \"vcpus\": 0}", f);
	fclose(f);
	spawn(&c, REAL_VMM, config, -1);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "config");
	assert_int_equal(ev.error.errnum, EINVAL);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	assert_int_equal(WEXITSTATUS(c.status), 1);
	vmm_client_close(&c);
}

static void test_life_cycle(void **state)
{
	const char *log = path_in("life.log");
	int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;
	char buf[256] = { 0 };
	FILE *f;

	(void)state;
	spawn(&c, FAKE_VMM, write_config("life.json", "console=ttyS0"), log_fd);
	close(log_fd);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_CREATED);
	assert_int_equal(ev.vcpus, 2);
	assert_string_equal(ev.gic, "v3");
	assert_int_equal(ev.npins, 1);
	assert_int_equal(ev.pins[0].id, 0x6030000000140000ULL);
	assert_int_equal(ev.readback[0].id, 0x6030000000140000ULL);
	assert_int_equal(ev.readback[0].value, 0x10000);
	vmm_event_clear(&ev);

	assert_int_equal(vmm_client_request(&c, VMM_OP_START, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_RUNNING);
	vmm_event_clear(&ev);
	/* A snapshot only while paused; fake-vmm writes vm.json and mem.raw. */
	assert_int_equal(vmm_client_snapshot(&c, dir, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_REJECTED);
	assert_string_equal(ev.op, "snapshot");
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_send(&c, VMM_OP_PAUSE, &err), 0);
	expect(&c, VMM_EVENT_PAUSED);
	assert_int_equal(mkdir(path_in("snap"), 0700), 0);
	assert_int_equal(vmm_client_snapshot(&c, path_in("snap"), 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_SNAPSHOTTED);
	vmm_event_clear(&ev);
	{
		struct vm_state st;

		assert_int_equal(vm_state_load(path_in("snap"), &st, &err), 0);
		assert_int_equal(st.vcpus, 2);
		assert_int_equal(st.memory_mib, 64);
		vm_state_free(&st);
		unlink(path_in("snap/vm.json"));
		unlink(path_in("snap/mem.raw"));
		rmdir(path_in("snap"));
	}
	assert_int_equal(vmm_client_send(&c, VMM_OP_RESUME, &err), 0);
	expect(&c, VMM_EVENT_RUNNING);
	assert_int_equal(vmm_client_request(&c, VMM_OP_STOP, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_EXITED);
	assert_int_equal(ev.reason, VMM_EXIT_STOPPED);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	assert_int_equal(vmm_client_send(&c, VMM_OP_START, &err), -EPIPE);
	vmm_client_close(&c);

	/* The child got stdio, the channel as fd 3, and nothing else of ours. */
	f = fopen(log, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "fds: 0 1 2 3\n");
}

static void test_poweroff(void **state)
{
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	spawn(&c, FAKE_VMM, write_config("off.json", "fake:poweroff"), -1);
	expect(&c, VMM_EVENT_CREATED);
	assert_int_equal(vmm_client_request(&c, VMM_OP_START, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_RUNNING);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_EXITED);
	assert_int_equal(ev.reason, VMM_EXIT_POWEROFF);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	vmm_client_close(&c);
}

static void test_fail_create(void **state)
{
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	spawn(&c, FAKE_VMM, write_config("fail.json", "fake:fail-create"), -1);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "pin");
	assert_true(ev.error.has_register);
	assert_int_equal(ev.error.reg, 0x6030000000160000ULL);
	assert_int_equal(ev.error.errnum, EINVAL);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	vmm_client_close(&c);
}

/* Timeouts, and SIGKILL seen as the end of the channel. */
static void test_timeout_and_kill(void **state)
{
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	spawn(&c, FAKE_VMM, write_config("silent.json", "fake:silent"), -1);
	assert_int_equal(vmm_client_recv(&c, 200, &ev, &err), -ETIMEDOUT);
	assert_string_equal(err.step, "recv");
	assert_int_equal(vmm_client_reap(&c, 100, &err), -ETIMEDOUT);
	assert_int_equal(vmm_client_signal(&c, SIGKILL), 0);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), -EPIPE);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	assert_true(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
	assert_int_equal(vmm_client_signal(&c, SIGKILL), -ESRCH);
	vmm_client_close(&c);
	assert_int_equal(vmm_client_recv(&c, 0, &ev, &err), -EBADF);
}

/* For processes that outlive a failed test: ctest would wait for them
 * if they held its output pipe. */
static int quiet_log(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open(path_in("attach.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0644);
	return fd;
}

/* pinvmd goes away and a new one takes the VM over through its socket. */
static void test_attach(void **state)
{
	struct vmm_spawn sp = { .binary = FAKE_VMM,
				.config_path = write_config("att.json", "console=ttyS0"),
				.log_fd = quiet_log(), .control_socket = path_in("att.sock"),
				.exit_file = path_in("att.exit") };
	struct vmm_client first, c, other;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	assert_int_equal(vmm_client_attach(&c, path_in("att.sock"), 1000, &ev, &err),
			 -ENOENT);
	assert_int_equal(c.fd, -1);
	assert_int_equal(vmm_client_spawn(&first, &sp, &err), 0);
	expect(&first, VMM_EVENT_CREATED);
	assert_int_equal(vmm_client_request(&first, VMM_OP_START, 5000, &ev, &err), 0);
	vmm_event_clear(&ev);
	vmm_client_close(&first); /* pinvmd died */

	assert_int_equal(vmm_client_attach(&c, path_in("att.sock"), 5000, &ev, &err), 0);
	assert_string_equal(ev.state, "running");
	vmm_event_clear(&ev);
	assert_true(c.adopted);
	assert_int_equal(c.pid, first.pid);
	/* One controller at a time. */
	assert_int_equal(vmm_client_attach(&other, path_in("att.sock"), 5000, &ev, &err),
			 -EBUSY);
	assert_int_equal(other.fd, -1);
	assert_int_equal(vmm_client_request(&c, VMM_OP_PAUSE, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_PAUSED);
	vmm_event_clear(&ev);
	vmm_client_close(&c);

	assert_int_equal(vmm_client_attach(&c, path_in("att.sock"), 5000, &ev, &err), 0);
	assert_string_equal(ev.state, "paused");
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 100, &err), -ETIMEDOUT);
	assert_int_equal(vmm_client_request(&c, VMM_OP_STOP, 5000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_EXITED);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	assert_false(c.status_known);
	assert_int_equal(vmm_client_signal(&c, SIGKILL), -ESRCH);
	vmm_client_close(&c);
	assert_int_equal(vmm_exit_file_read(path_in("att.exit"), &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_EXITED);
	assert_int_equal(ev.reason, VMM_EXIT_STOPPED);
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&first, 5000, &err), 0);
}

/* An adopted process killed through its pidfd leaves no exit file. */
static void test_attach_kill(void **state)
{
	struct vmm_spawn sp = { .binary = FAKE_VMM,
				.config_path = write_config("ak.json", "console=ttyS0"),
				.log_fd = quiet_log(), .control_socket = path_in("ak.sock"),
				.exit_file = path_in("ak.exit") };
	struct vmm_client first, c;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	assert_int_equal(vmm_client_spawn(&first, &sp, &err), 0);
	expect(&first, VMM_EVENT_CREATED);
	vmm_client_close(&first); /* before start: a created VM waits too */
	assert_int_equal(vmm_client_attach(&c, path_in("ak.sock"), 5000, &ev, &err), 0);
	assert_string_equal(ev.state, "created");
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_signal(&c, SIGKILL), 0);
	assert_int_equal(vmm_client_recv(&c, 5000, &ev, &err), -EPIPE);
	assert_int_equal(vmm_client_reap(&c, 5000, &err), 0);
	vmm_client_close(&c);
	assert_int_equal(vmm_exit_file_read(path_in("ak.exit"), &ev, &err), -ENOENT);
	assert_int_equal(vmm_client_reap(&first, 5000, &err), 0);
	assert_true(WIFSIGNALED(first.status) && WTERMSIG(first.status) == SIGKILL);
}

static void test_default_binary(void **state)
{
	char buf[4096];
	size_t n;

	(void)state;
	assert_int_equal(vmm_client_default_binary(buf, sizeof(buf)), 0);
	n = strlen(buf);
	assert_true(n > 10);
	assert_string_equal(buf + n - 10, "/pinvm-vmm");
	assert_int_equal(vmm_client_default_binary(buf, 4), -ENAMETOOLONG);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_failure),
#ifndef __aarch64__
		cmocka_unit_test(test_real_vmm_without_kvm),
#endif
		cmocka_unit_test(test_real_vmm_bad_config),
		cmocka_unit_test(test_life_cycle),
		cmocka_unit_test(test_poweroff),
		cmocka_unit_test(test_fail_create),
		cmocka_unit_test(test_timeout_and_kill),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_attach_kill),
		cmocka_unit_test(test_default_binary),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
