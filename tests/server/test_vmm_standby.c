/*
 * Standby pinvm-vmm processes (server/vmm_standby.c) with the real
 * pinvm-vmm, which on this host cannot build a VM: the pool fills and
 * refills, a taken standby becomes the VM's process ("become", then the
 * "error" a VM-less host gives, in the VM's log), one that died in the
 * pool is skipped, a bad first message is refused, and freeing the pool
 * ends every process it held.
 */
#include "vmm_client.h"
#include "vmm_standby.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/pinvm-test-standby-XXXXXX";

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits (up to 30 s: a loaded machine) until the pool has want ready. */
static bool wait_ready(struct vmm_standby *s, unsigned want)
{
	double t0 = now_s();

	while (vmm_standby_ready(s) != want) {
		if (now_s() - t0 > 30)
			return false;
		usleep(10000);
	}
	return true;
}

/* The process's name, "" when it is gone. */
static const char *comm_of(pid_t pid)
{
	static char buf[64];
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* The process's state letter (R, S, Z...), 0 when it is gone. */
static char state_of(pid_t pid)
{
	char path[64], stat[512], *p;
	char st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
	fclose(f);
	if (p && sscanf(p, ") %c", &st) != 1)
		st = 0;
	return st;
}

/* Our children named pinvm-standby (the pool's, not yet taken) into pids. */
static size_t standby_children(pid_t *pids, size_t cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) && n < cap) {
		char path[300], stat[512], *p;
		long ppid = 0;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(stat, sizeof(stat), f) ? strrchr(stat, ')') : NULL;
		fclose(f);
		/* ") S PPID ...": state, then the parent's pid */
		if (p && sscanf(p, ") %*c %ld", &ppid) == 1 && ppid == (long)getpid() &&
		    !strcmp(comm_of((pid_t)atol(de->d_name)), "pinvm-standby"))
			pids[n++] = (pid_t)atol(de->d_name);
	}
	closedir(d);
	return n;
}

static void test_become(void **state)
{
	struct vmm_standby *s;
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;
	char config[512], log[512], line[512] = "";
	struct vmm_spawn sp = { .config_path = config };
	FILE *f;

	(void)state;
	snprintf(config, sizeof(config), "%s/none.json", dir);
	snprintf(log, sizeof(log), "%s/vmm.log", dir);
	assert_int_equal(vmm_standby_new(2, REAL_VMM, &s), 0);
	assert_true(wait_ready(s, 2));
	assert_true(vmm_standby_take(s, &c));
	assert_string_equal(comm_of(c.pid), "pinvm-standby");
	/* The VM's turn: it reads its config (there is none here) and says
	 * why it cannot build, as a spawned pinvm-vmm would. */
	assert_int_equal(vmm_client_become(&c, &sp, log, &err), 0);
	assert_int_equal(vmm_client_recv(&c, 30000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "config");
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 30000, &err), 0);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1);
	vmm_client_close(&c);
	/* Its output went to the VM's log, from "become" on. */
	f = fopen(log, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "pinvm-vmm["));
	assert_non_null(strstr(line, "none.json"));
	/* The one taken is replaced. */
	assert_true(wait_ready(s, 2));
	vmm_standby_free(s);
}

static void test_dead_one_skipped(void **state)
{
	struct vmm_standby *s;
	struct vmm_client c;
	pid_t pids[4];

	(void)state;
	assert_int_equal(vmm_standby_new(1, REAL_VMM, &s), 0);
	assert_true(wait_ready(s, 1));
	assert_int_equal(standby_children(pids, 4), 1);
	kill(pids[0], SIGKILL);
	/* Gone (a zombie of ours): its channel has hung up. */
	for (double t0 = now_s(); state_of(pids[0]) != 'Z';) {
		assert_true(now_s() - t0 < 30);
		usleep(1000);
	}
	while (vmm_standby_take(s, &c)) {
		/* Taken before the kill reached it: never the dead one. */
		assert_int_not_equal(c.pid, pids[0]);
		vmm_client_close(&c);
		vmm_client_signal(&c, SIGKILL);
		assert_int_equal(vmm_client_reap(&c, 30000, NULL), 0);
	}
	/* Reaped by the take that skipped it (not a zombie of ours). */
	assert_int_equal(waitpid(pids[0], NULL, WNOHANG), -1);
	assert_true(wait_ready(s, 1));
	assert_true(vmm_standby_take(s, &c));
	assert_int_not_equal(c.pid, pids[0]);
	vmm_client_close(&c); /* a standby whose channel closes exits */
	assert_int_equal(vmm_client_reap(&c, 30000, NULL), 0);
	assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	vmm_standby_free(s);
}

static void test_bad_first_message(void **state)
{
	struct vmm_standby *s;
	struct vmm_client c;
	struct vmm_event ev;
	struct vmm_error err;

	(void)state;
	assert_int_equal(vmm_standby_new(1, REAL_VMM, &s), 0);
	assert_true(wait_ready(s, 1));
	assert_true(vmm_standby_take(s, &c));
	assert_int_equal(vmm_client_send(&c, VMM_OP_START, &err), 0);
	assert_int_equal(vmm_client_recv(&c, 30000, &ev, &err), 0);
	assert_int_equal(ev.type, VMM_EVENT_ERROR);
	assert_string_equal(ev.error.step, "protocol");
	assert_non_null(strstr(ev.error.detail, "become"));
	vmm_event_clear(&ev);
	assert_int_equal(vmm_client_reap(&c, 30000, &err), 0);
	vmm_client_close(&c);
	vmm_standby_free(s);
}

static void test_free_ends_all(void **state)
{
	struct vmm_standby *s;
	pid_t pids[8];
	size_t n;

	(void)state;
	assert_int_equal(vmm_standby_new(3, REAL_VMM, &s), 0);
	assert_true(wait_ready(s, 3));
	n = standby_children(pids, 8);
	assert_int_equal(n, 3);
	vmm_standby_free(s);
	for (size_t i = 0; i < n; i++) /* gone and reaped: no such child */
		assert_int_equal(waitpid(pids[i], NULL, WNOHANG), -1);
	/* An empty pool: nothing to take, nothing started. */
	assert_int_equal(vmm_standby_new(0, REAL_VMM, &s), 0);
	assert_false(vmm_standby_take(s, &(struct vmm_client){ 0 }));
	assert_int_equal(standby_children(pids, 8), 0);
	vmm_standby_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_become),
		cmocka_unit_test(test_dead_one_skipped),
		cmocka_unit_test(test_bad_first_message),
		cmocka_unit_test(test_free_ends_all),
	};
	char cmd[128];
	int ret;

	assert_non_null(mkdtemp(dir));
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
