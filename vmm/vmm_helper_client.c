#include "vmm_helper.h"

#include "accept_rule.h"

#include "jsonutil.h"
#include "vmm_client.h"
#include "mono_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define HELPER_ANSWER_MAX (1 << 20)
/*
 * Beyond the guest's own timeout: process start-up and teardown. Wide,
 * because it only bounds a helper that hangs: an ASan+UBSan pinvm-vmm in
 * the emulated lab spends ~20 s in LeakSanitizer's check at exit alone
 * (measured: --help 20.7 s with detect_leaks=1, 0.4 s without), so the 20 s
 * this once was killed every helper of the loaded run's ASan boot.
 */
#define HELPER_MARGIN_MS 90000

/*
 * Runs `pinvm-vmm --helper what` with request on its stdin and returns its
 * answer (a new reference) in *out. 0, or -errno with err filled.
 */
static int run_helper(const char *what, const json_t *request, unsigned timeout_ms,
		      json_t **out, char *err, size_t errlen)
{
	char bin[PATH_MAX], *text = NULL, *buf = NULL;
	char *argv[] = { bin, "--helper", (char *)what, NULL };
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, ret, status;
	posix_spawn_file_actions_t fa;
	int64_t deadline;
	size_t len = 0, sent = 0, tlen;
	json_error_t jerr;
	bool killed = false;
	pid_t pid;

	*out = NULL;
	ret = vmm_client_default_binary(bin, sizeof(bin));
	if (ret < 0) {
		snprintf(err, errlen, "cannot locate pinvm-vmm: %s", strerror(-ret));
		return ret;
	}
	text = json_dumps(request, JSON_COMPACT);
	buf = malloc(HELPER_ANSWER_MAX + 1);
	if (!text || !buf) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	tlen = strlen(text);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	ret = -posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	in[0] = outp[1] = -1;
	if (ret < 0) {
		snprintf(err, errlen, "cannot start %s: %s", bin, strerror(-ret));
		goto out;
	}
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	deadline = mono_ms() + timeout_ms + HELPER_MARGIN_MS;
	/* Feed the request and collect the answer until EOF or the deadline. */
	for (;;) {
		struct pollfd p[2] = { { .fd = outp[0], .events = POLLIN },
				       { .fd = in[1], .events = POLLOUT } };
		int64_t left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(p, in[1] >= 0 ? 2 : 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (in[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(in[1], text + sent, tlen - sent);
			if (n > 0)
				sent += (size_t)n;
			if (n < 0 || sent == tlen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(outp[0], buf + len, HELPER_ANSWER_MAX - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			if (len == HELPER_ANSWER_MAX) {
				kill(pid, SIGKILL);
				break;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed) {
		snprintf(err, errlen, "pinvm-vmm --helper %s did not finish in %u ms; killed",
			 what, timeout_ms + HELPER_MARGIN_MS);
		ret = -ETIMEDOUT;
		goto out;
	}
	buf[len] = '\0';
	*out = json_loadb(buf, len, 0, &jerr);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		if (WIFSIGNALED(status))
			snprintf(err, errlen, "pinvm-vmm --helper %s was killed by signal %d",
				 what, WTERMSIG(status));
		else
			snprintf(err, errlen, "pinvm-vmm --helper %s answered no JSON "
				 "(exit status %d)", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		ret = -ECHILD;
		goto out;
	}
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	free(text);
	free(buf);
	return ret;
}

/* A failure the helper reported: its errno (negative) with err filled. */
static int answered_error(const json_t *ans, char *err, size_t errlen)
{
	json_int_t e = json_integer_value(json_object_get(ans, "errno"));
	const char *msg = json_string_value(json_object_get(ans, "error"));

	snprintf(err, errlen, "%s", msg ? msg : "pinvm-vmm --helper failed");
	return e > 0 && e < 4096 ? -(int)e : -EIO;
}

/* Hex member i of array key, or false. */
static bool hex_at(const json_t *ans, const char *key, size_t i, uint64_t *v)
{
	const char *s = json_string_value(json_array_get(json_object_get(ans, key), i));

	return s && ju_parse_hex(s, v) == 0;
}

int vmm_helper_fwregs(struct kvm_fwreg **regs, size_t *nregs, struct id_regs *idregs,
		      char *err, size_t errlen)
{
	json_t *req = json_object(), *ans = NULL, *list;
	struct api_error aerr;
	int ret;

	*regs = NULL;
	*nregs = 0;
	memset(idregs, 0, sizeof(*idregs));
	ret = req ? run_helper("fwregs", req, 0, &ans, err, errlen) : -ENOMEM;
	json_decref(req);
	if (ret < 0)
		return ret;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		ret = answered_error(ans, err, errlen);
		goto out;
	}
	list = json_object_get(ans, "ids");
	*regs = calloc(json_array_size(list) + 1, sizeof(**regs));
	if (!*regs) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		if (!hex_at(ans, "ids", i, &(*regs)[i].id) ||
		    !hex_at(ans, "values", i, &(*regs)[i].value)) {
			free(*regs);
			*regs = NULL;
			snprintf(err, errlen, "pinvm-vmm --helper fwregs: bad register %zu", i);
			ret = -ECHILD;
			goto out;
		}
	}
	*nregs = json_array_size(list);
	if (id_regs_from_json(json_object_get(ans, "id_registers"), "id_registers", idregs,
			      &aerr) < 0 || !idregs->known) {
		free(*regs);
		*regs = NULL;
		*nregs = 0;
		snprintf(err, errlen, "pinvm-vmm --helper fwregs: %s",
			 idregs->known ? aerr.detail : "no id_registers");
		ret = -ECHILD;
	}
out:
	json_decref(ans);
	return ret;
}

int vmm_helper_probe(const struct fw_pin *pins, struct fw_pin *readback, size_t npins,
		     bool pvtime,
		     const struct smccc_range *deny, size_t ndeny, unsigned timeout_ms,
		     struct probe_result *res, size_t *failed_pin, char *err, size_t errlen)
{
	json_t *req, *ids = json_array(), *values = json_array(), *ans = NULL, *fp;
	json_t *bases = json_array(), *counts = json_array();
	size_t n;
	int ret;

	memset(res, 0, sizeof(*res));
	*failed_pin = SIZE_MAX;
	for (size_t i = 0; ids && values && i < npins; i++) {
		json_array_append_new(ids, ju_hex(pins[i].id));
		json_array_append_new(values, ju_hex(pins[i].value));
	}
	for (size_t i = 0; bases && counts && i < ndeny; i++) {
		json_array_append_new(bases, ju_hex(deny[i].base));
		json_array_append_new(counts, ju_hex(deny[i].count));
	}
	req = json_pack("{s:o, s:o, s:o, s:o, s:b, s:I}", "ids", ids, "values", values,
			"deny_bases", bases, "deny_counts", counts, "pvtime", pvtime,
			"timeout_ms", (json_int_t)timeout_ms);
	ret = req ? run_helper("probe", req, timeout_ms, &ans, err, errlen) : -ENOMEM;
	json_decref(req);
	if (ret < 0)
		return ret;
	/* Readbacks come with failures too: a refused pin's neighbours. */
	for (size_t i = 0; i < npins; i++) {
		readback[i].id = pins[i].id;
		if (!hex_at(ans, "readback", i, &readback[i].value))
			readback[i].value = 0;
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		fp = json_object_get(ans, "failed_pin");
		if (json_is_integer(fp) && json_integer_value(fp) >= 0 &&
		    (size_t)json_integer_value(fp) < npins)
			*failed_pin = (size_t)json_integer_value(fp);
		ret = answered_error(ans, err, errlen);
		goto out;
	}
	n = json_array_size(json_object_get(ans, "x0"));
	if (n > PROBE_MAX_CALLS) {
		snprintf(err, errlen, "pinvm-vmm --helper probe: %zu calls, at most %d", n,
			 PROBE_MAX_CALLS);
		ret = -ECHILD;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!hex_at(ans, "x0", i, &res->x0[i])) {
			snprintf(err, errlen, "pinvm-vmm --helper probe: bad x0 %zu", i);
			ret = -ECHILD;
			goto out;
		}
	}
	res->ncalls = n;
	res->pvtime_ipa_set = json_is_true(json_object_get(ans, "pvtime_ipa_set"));
out:
	json_decref(ans);
	return ret;
}

int vmm_helper_restore_check(const char *path, unsigned accept, unsigned timeout_ms,
			     json_t **answer, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s, s:o}", "path", path, "accept",
				accept_rules_to_json(accept)), *ans = NULL;
	int ret;

	*answer = NULL;
	ret = req ? run_helper("restore-check", req, timeout_ms, &ans, err, errlen) : -ENOMEM;
	json_decref(req);
	if (ret < 0)
		return ret;
	if (!json_is_boolean(json_object_get(ans, "compatible"))) {
		ret = json_object_get(ans, "errno") || json_object_get(ans, "error")
			      ? answered_error(ans, err, errlen)
			      : -EPROTO;
		if (ret == -EPROTO)
			snprintf(err, errlen, "pinvm-vmm --helper restore-check answered "
				 "without \"compatible\"");
		json_decref(ans);
		return ret;
	}
	*answer = ans;
	return 0;
}
