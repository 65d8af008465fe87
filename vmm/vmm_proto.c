#include "vmm_proto.h"

#include "jsonutil.h"

#include "vmm_config.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const op_names[] = {
	[VMM_OP_START] = "start",
	[VMM_OP_PAUSE] = "pause",
	[VMM_OP_RESUME] = "resume",
	[VMM_OP_STOP] = "stop",
	[VMM_OP_SNAPSHOT] = "snapshot",
	[VMM_OP_MIGRATE_OUT] = "migrate_out",
	[VMM_OP_MIGRATE_COMMIT] = "migrate_commit",
	[VMM_OP_MIGRATE_ABORT] = "migrate_abort",
	[VMM_OP_SHUTDOWN] = "shutdown",
	[VMM_OP_REBOOT] = "reboot",
	[VMM_OP_CONSOLE_INPUT] = "console_input",
};

static const char *const event_names[] = {
	[VMM_EVENT_CREATED] = "created",
	[VMM_EVENT_RUNNING] = "running",
	[VMM_EVENT_PAUSED] = "paused",
	[VMM_EVENT_REJECTED] = "rejected",
	[VMM_EVENT_EXITED] = "exited",
	[VMM_EVENT_ERROR] = "error",
	[VMM_EVENT_ATTACHED] = "attached",
	[VMM_EVENT_SNAPSHOTTED] = "snapshotted",
	[VMM_EVENT_INCOMING] = "incoming",
	[VMM_EVENT_MIGRATE_PROGRESS] = "migrate_progress",
	[VMM_EVENT_MIGRATED] = "migrated",
	[VMM_EVENT_MIGRATE_FAILED] = "migrate_failed",
	[VMM_EVENT_SHUTTING_DOWN] = "shutting_down",
	[VMM_EVENT_REBOOTED] = "rebooted",
	[VMM_EVENT_INPUT_QUEUED] = "input_queued",
	[VMM_EVENT_STANDING_BY] = "standing_by",
};

static const char *const reason_names[] = {
	[VMM_EXIT_POWEROFF] = "poweroff",
	[VMM_EXIT_RESET] = "reset",
	[VMM_EXIT_STOPPED] = "stopped",
	[VMM_EXIT_ERROR] = "error",
	[VMM_EXIT_SHUTDOWN] = "shutdown",
	[VMM_EXIT_SHUTDOWN_TIMEOUT] = "shutdown_timeout",
};

#define NAME_OF(table, i) \
	((size_t)(i) < sizeof(table) / sizeof(table[0]) ? table[i] : "?")

const char *vmm_op_name(enum vmm_op op)
{
	return NAME_OF(op_names, op);
}

const char *vmm_event_name(enum vmm_event_type type)
{
	return NAME_OF(event_names, type);
}

const char *vmm_exit_reason_name(enum vmm_exit_reason reason)
{
	return NAME_OF(reason_names, reason);
}

static int index_of(const char *const *table, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(table[i], name))
			return (int)i;
	return -1;
}

int vmm_op_from_name(const char *name, enum vmm_op *op)
{
	int i = index_of(op_names, sizeof(op_names) / sizeof(op_names[0]), name);

	if (i < 0)
		return -EINVAL;
	*op = (enum vmm_op)i;
	return 0;
}

static json_t *hex(uint64_t v, bool wide)
{
	char buf[24];

	snprintf(buf, sizeof(buf), wide ? "0x%016" PRIx64 : "0x%" PRIx64, v);
	return json_string(buf);
}

json_t *vmm_event_to_json(const struct vmm_event *ev)
{
	json_t *obj = json_pack("{s:s}", "event", vmm_event_name(ev->type));
	json_t *pins;
	size_t i;

	if (!obj)
		return NULL;
	switch (ev->type) {
	case VMM_EVENT_CREATED:
		pins = json_array();
		if (!pins)
			goto oom;
		for (i = 0; i < ev->npins; i++)
			if (json_array_append_new(pins, json_pack("{s:o, s:o, s:o}",
					"id", hex(ev->pins[i].id, true),
					"value", hex(ev->pins[i].value, false),
					"readback", hex(ev->readback[i].value, false))) < 0) {
				json_decref(pins);
				goto oom;
			}
		if (json_object_set_new(obj, "pins", pins) < 0 ||
		    json_object_set_new(obj, "vcpus", json_integer(ev->vcpus)) < 0 ||
		    json_object_set_new(obj, "gic", json_string(ev->gic)) < 0)
			goto oom;
		break;
	case VMM_EVENT_RUNNING:
	case VMM_EVENT_PAUSED:
	case VMM_EVENT_STANDING_BY:
		break;
	case VMM_EVENT_SHUTTING_DOWN:
		if (json_object_set_new(obj, "timeout_s", json_integer(ev->timeout_s)) < 0)
			goto oom;
		break;
	case VMM_EVENT_REBOOTED:
		if (json_object_set_new(obj, "reboots", json_integer(ev->reboots)) < 0 ||
		    json_object_set_new(obj, "detail", json_string(ev->error.detail)) < 0)
			goto oom;
		break;
	case VMM_EVENT_REJECTED:
		if (json_object_set_new(obj, "op", json_string(ev->op)) < 0 ||
		    json_object_set_new(obj, "detail", json_string(ev->error.detail)) < 0)
			goto oom;
		if (ev->error.errnum &&
		    json_object_set_new(obj, "errno", json_integer(ev->error.errnum)) < 0)
			goto oom;
		break;
	case VMM_EVENT_INPUT_QUEUED:
		if (json_object_set_new(obj, "bytes", json_integer((json_int_t)ev->bytes)) < 0)
			goto oom;
		break;
	case VMM_EVENT_SNAPSHOTTED:
		if (json_object_set_new(obj, "bytes", json_integer((json_int_t)ev->bytes)) < 0 ||
		    json_object_set_new(obj, "data_pages",
					json_integer((json_int_t)ev->data_pages)) < 0)
			goto oom;
		break;
	case VMM_EVENT_INCOMING:
		break;
	case VMM_EVENT_MIGRATED:
	case VMM_EVENT_MIGRATE_PROGRESS:
		if ((ev->type == VMM_EVENT_MIGRATED &&
		     json_object_set_new(obj, "paused_ms",
					 json_integer((json_int_t)ev->paused_ms)) < 0) ||
		    json_object_set_new(obj, "round", json_integer(ev->round)) < 0 ||
		    json_object_set_new(obj, "bytes", json_integer((json_int_t)ev->bytes)) < 0 ||
		    json_object_set_new(obj, "data_pages",
					json_integer((json_int_t)ev->data_pages)) < 0 ||
		    json_object_set_new(obj, "dirty_pages",
					json_integer((json_int_t)ev->dirty_pages)) < 0)
			goto oom;
		break;
	case VMM_EVENT_MIGRATE_FAILED:
		if (json_object_set_new(obj, "detail", json_string(ev->error.detail)) < 0 ||
		    json_object_set_new(obj, "errno", json_integer(ev->error.errnum)) < 0)
			goto oom;
		break;
	case VMM_EVENT_EXITED:
		if (json_object_set_new(obj, "reason",
					json_string(vmm_exit_reason_name(ev->reason))) < 0 ||
		    json_object_set_new(obj, "detail", json_string(ev->error.detail)) < 0)
			goto oom;
		break;
	case VMM_EVENT_ERROR:
		if (json_object_set_new(obj, "step", json_string(ev->error.step)) < 0 ||
		    json_object_set_new(obj, "detail", json_string(ev->error.detail)) < 0 ||
		    json_object_set_new(obj, "errno", json_integer(ev->error.errnum)) < 0)
			goto oom;
		if (ev->error.has_register &&
		    json_object_set_new(obj, "register", hex(ev->error.reg, true)) < 0)
			goto oom;
		break;
	case VMM_EVENT_ATTACHED:
		if (json_object_set_new(obj, "state", json_string(ev->state)) < 0)
			goto oom;
		break;
	}
	return obj;
oom:
	json_decref(obj);
	return NULL;
}

void vmm_event_clear(struct vmm_event *ev)
{
	free((void *)ev->pins);
	free((void *)ev->readback);
	json_decref(ev->json);
	memset(ev, 0, sizeof(*ev));
}

static int proto_err(struct vmm_error *err, const char *what)
{
	return vmm_error_set(err, "protocol", EPROTO, "bad event: %s", what);
}

static void copy_str(char *dst, size_t len, const json_t *v)
{
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int decode_pins(const json_t *arr, struct vmm_event *ev,
		       struct vmm_error *err)
{
	size_t n = json_array_size(arr);
	struct fw_pin *pins, *back;

	if (!json_is_array(arr))
		return proto_err(err, "created without a pins array");
	if (!n)
		return 0;
	/* Owned by ev from here: vmm_event_clear() frees both. */
	ev->pins = pins = calloc(n, sizeof(*pins));
	ev->readback = back = calloc(n, sizeof(*back));
	if (!pins || !back)
		return vmm_error_set(err, "protocol", ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(arr, i);

		if (ju_parse_hex(json_string_value(json_object_get(p, "id")), &pins[i].id) < 0 ||
		    ju_parse_hex(json_string_value(json_object_get(p, "value")),
				 &pins[i].value) < 0 ||
		    ju_parse_hex(json_string_value(json_object_get(p, "readback")),
				 &back[i].value) < 0)
			return proto_err(err, "a pin without id, value and readback");
		back[i].id = pins[i].id;
		ev->npins++;
	}
	return 0;
}

/* A non-negative integer at key, or -EPROTO. */
static int get_count(json_t *obj, const char *key, uint64_t *out, struct vmm_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return vmm_error_set(err, "protocol", EPROTO,
				     "bad event: a migration event without a count \"%s\"", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int decode_counts(json_t *obj, struct vmm_event *ev, struct vmm_error *err)
{
	uint64_t round = 0;
	int ret;

	if ((ret = get_count(obj, "round", &round, err)) < 0 ||
	    (ret = get_count(obj, "bytes", &ev->bytes, err)) < 0 ||
	    (ret = get_count(obj, "data_pages", &ev->data_pages, err)) < 0 ||
	    (ret = get_count(obj, "dirty_pages", &ev->dirty_pages, err)) < 0)
		return ret;
	if (round > UINT32_MAX)
		return proto_err(err, "a migration event with a round past 2^32");
	ev->round = (unsigned)round;
	if (ev->type == VMM_EVENT_MIGRATED)
		return get_count(obj, "paused_ms", &ev->paused_ms, err);
	return 0;
}

int vmm_event_from_json(json_t *obj, struct vmm_event *ev,
			struct vmm_error *err)
{
	const json_t *v;
	int i, ret = 0;

	memset(ev, 0, sizeof(*ev));
	i = index_of(event_names, sizeof(event_names) / sizeof(event_names[0]),
		     json_string_value(json_object_get(obj, "event")));
	if (i < 0)
		return proto_err(err, "no known \"event\"");
	ev->type = (enum vmm_event_type)i;
	ev->json = json_incref(obj);
	copy_str(ev->error.detail, sizeof(ev->error.detail),
		 json_object_get(obj, "detail"));
	switch (ev->type) {
	case VMM_EVENT_CREATED:
		v = json_object_get(obj, "vcpus");
		ev->vcpus = json_is_integer(v) ? (unsigned)json_integer_value(v) : 0;
		copy_str(ev->gic, sizeof(ev->gic), json_object_get(obj, "gic"));
		ret = decode_pins(json_object_get(obj, "pins"), ev, err);
		break;
	case VMM_EVENT_RUNNING:
	case VMM_EVENT_PAUSED:
	case VMM_EVENT_STANDING_BY:
		break;
	case VMM_EVENT_SHUTTING_DOWN:
		v = json_object_get(obj, "timeout_s");
		ev->timeout_s = json_is_integer(v) && json_integer_value(v) > 0
					? (unsigned)json_integer_value(v) : 0;
		break;
	case VMM_EVENT_REBOOTED:
		v = json_object_get(obj, "reboots");
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			ret = proto_err(err, "rebooted without a reboot count");
		else
			ev->reboots = (unsigned)json_integer_value(v);
		break;
	case VMM_EVENT_REJECTED:
		copy_str(ev->op, sizeof(ev->op), json_object_get(obj, "op"));
		v = json_object_get(obj, "errno");
		ev->error.errnum = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		break;
	case VMM_EVENT_INPUT_QUEUED:
		v = json_object_get(obj, "bytes");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > VMM_PROTO_MAX_INPUT)
			ret = proto_err(err, "input_queued without a byte count");
		else
			ev->bytes = (uint64_t)json_integer_value(v);
		break;
	case VMM_EVENT_SNAPSHOTTED:
		v = json_object_get(obj, "bytes");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    !json_is_integer(json_object_get(obj, "data_pages")) ||
		    json_integer_value(json_object_get(obj, "data_pages")) < 0) {
			ret = proto_err(err, "snapshotted without bytes and data_pages");
			break;
		}
		ev->bytes = (uint64_t)json_integer_value(v);
		ev->data_pages = (uint64_t)json_integer_value(json_object_get(obj, "data_pages"));
		break;
	case VMM_EVENT_INCOMING:
		break;
	case VMM_EVENT_MIGRATED:
	case VMM_EVENT_MIGRATE_PROGRESS:
		ret = decode_counts(obj, ev, err);
		break;
	case VMM_EVENT_MIGRATE_FAILED:
		v = json_object_get(obj, "errno");
		ev->error.errnum = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		break;
	case VMM_EVENT_EXITED:
		i = index_of(reason_names, sizeof(reason_names) / sizeof(reason_names[0]),
			     json_string_value(json_object_get(obj, "reason")));
		if (i < 0)
			ret = proto_err(err, "exited without a known reason");
		else
			ev->reason = (enum vmm_exit_reason)i;
		break;
	case VMM_EVENT_ERROR:
		copy_str(ev->error.step, sizeof(ev->error.step),
			 json_object_get(obj, "step"));
		v = json_object_get(obj, "errno");
		ev->error.errnum = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		v = json_object_get(obj, "register");
		if (v) {
			if (ju_parse_hex(json_string_value(v), &ev->error.reg) < 0)
				ret = proto_err(err, "a register that is not a number");
			ev->error.has_register = true;
		}
		break;
	case VMM_EVENT_ATTACHED:
		copy_str(ev->state, sizeof(ev->state), json_object_get(obj, "state"));
		if (strcmp(ev->state, "created") && strcmp(ev->state, "running") &&
		    strcmp(ev->state, "paused"))
			ret = proto_err(err, "attached without a known state");
		break;
	}
	if (ret < 0)
		vmm_event_clear(ev);
	return ret;
}

static int send_json(int fd, json_t *obj)
{
	char *s;
	size_t len;
	ssize_t n;

	if (!obj)
		return -ENOMEM;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (len > VMM_PROTO_MAX_MSG) {
		free(s);
		return -EMSGSIZE;
	}
	do
		n = send(fd, s, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(s);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int vmm_proto_send_op(int fd, enum vmm_op op)
{
	return send_json(fd, json_pack("{s:s}", "op", vmm_op_name(op)));
}

int vmm_proto_send_snapshot(int fd, const char *path)
{
	if (strlen(path) >= VMM_PROTO_MAX_PATH)
		return -ENAMETOOLONG;
	return send_json(fd, json_pack("{s:s, s:s}", "op", "snapshot", "path", path));
}

int vmm_proto_send_op_path(int fd, enum vmm_op op, const char *path)
{
	if (op != VMM_OP_SNAPSHOT && op != VMM_OP_MIGRATE_OUT)
		return -EINVAL;
	if (strlen(path) >= VMM_PROTO_MAX_PATH)
		return -ENAMETOOLONG;
	return send_json(fd, json_pack("{s:s, s:s}", "op", vmm_op_name(op), "path", path));
}

int vmm_proto_send_shutdown(int fd, unsigned timeout_s)
{
	return send_json(fd, json_pack("{s:s, s:I}", "op", "shutdown", "timeout_s",
				       (json_int_t)timeout_s));
}

int vmm_proto_send_input(int fd, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * VMM_PROTO_MAX_INPUT + 1];
	const uint8_t *b = data;

	if (!len || len > VMM_PROTO_MAX_INPUT)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * len] = '\0';
	return send_json(fd, json_pack("{s:s, s:s}", "op", "console_input", "data", hex));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "data" of a console_input: 1..cap bytes as lower- or upper-case hex. */
static bool decode_hex(const json_t *v, uint8_t *out, size_t cap, size_t *len)
{
	const char *s = json_string_value(v);
	size_t n = json_is_string(v) ? json_string_length(v) : 0;

	if (!s || !n || n % 2 || n / 2 > cap || n / 2 > VMM_PROTO_MAX_INPUT)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

int vmm_proto_send_event(int fd, const struct vmm_event *ev)
{
	return send_json(fd, vmm_event_to_json(ev));
}

/* One message into a new JSON value. */
static int recv_json(int fd, json_t **out, struct vmm_error *err)
{
	char *buf = malloc(VMM_PROTO_MAX_MSG + 1);
	struct iovec iov = { .iov_base = buf, .iov_len = VMM_PROTO_MAX_MSG + 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_error_t jerr;
	ssize_t n;
	int ret = 0;

	*out = NULL;
	if (!buf)
		return vmm_error_set(err, "protocol", ENOMEM, "out of memory");
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		if (ret != -EAGAIN)
			vmm_error_sys(err, "recvmsg");
		if (ret == -ECONNRESET)
			ret = -EPIPE;
	} else if (n == 0) {
		ret = vmm_error_set(err, "protocol", EPIPE, "the peer closed the channel");
	} else if ((msg.msg_flags & MSG_TRUNC) || n > VMM_PROTO_MAX_MSG) {
		ret = vmm_error_set(err, "protocol", EPROTO,
				    "message longer than %d bytes", VMM_PROTO_MAX_MSG);
	} else {
		*out = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (!*out)
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "not JSON: %s", jerr.text);
		else if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "a message must be a JSON object");
		}
	}
	free(buf);
	return ret;
}

int vmm_proto_recv_op(int fd, enum vmm_op *op, char *bad_op, size_t bad_op_len,
		      struct vmm_error *err)
{
	return vmm_proto_recv_op_path(fd, op, NULL, 0, bad_op, bad_op_len, err);
}

int vmm_proto_recv_op_path(int fd, enum vmm_op *op, char *path, size_t path_len,
			   char *bad_op, size_t bad_op_len, struct vmm_error *err)
{
	return vmm_proto_recv_op_args(fd, op, path, path_len, NULL, bad_op, bad_op_len, err);
}

int vmm_proto_recv_op_args(int fd, enum vmm_op *op, char *path, size_t path_len,
			   unsigned *timeout_s, char *bad_op, size_t bad_op_len,
			   struct vmm_error *err)
{
	return vmm_proto_recv_op_data(fd, op, path, path_len, timeout_s, NULL, 0, NULL,
				      bad_op, bad_op_len, err);
}

int vmm_proto_recv_op_data(int fd, enum vmm_op *op, char *path, size_t path_len,
			   unsigned *timeout_s, uint8_t *data, size_t cap, size_t *len,
			   char *bad_op, size_t bad_op_len, struct vmm_error *err)
{
	const char *name;
	json_t *obj, *p;
	int ret;

	if (bad_op && bad_op_len)
		bad_op[0] = '\0';
	if (path && path_len)
		path[0] = '\0';
	if (timeout_s)
		*timeout_s = 0;
	ret = recv_json(fd, &obj, err);
	if (ret < 0)
		return ret;
	name = json_string_value(json_object_get(obj, "op"));
	p = json_object_get(obj, "path");
	if (vmm_op_from_name(name, op) == 0 &&
	    (*op == VMM_OP_SNAPSHOT || *op == VMM_OP_MIGRATE_OUT)) {
		if (!json_is_string(p) || json_string_length(p) >= VMM_PROTO_MAX_PATH ||
		    strlen(json_string_value(p)) != json_string_length(p) || !path ||
		    json_string_length(p) >= path_len) {
			if (bad_op && bad_op_len)
				snprintf(bad_op, bad_op_len, "%s", name);
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "\"%s\" needs a string \"path\" "
					    "shorter than %d bytes", name, VMM_PROTO_MAX_PATH);
		} else {
			snprintf(path, path_len, "%s", json_string_value(p));
		}
	} else if (vmm_op_from_name(name, op) == 0 && *op == VMM_OP_SHUTDOWN) {
		p = json_object_get(obj, "timeout_s");
		if (!json_is_integer(p) || json_integer_value(p) < 1 ||
		    json_integer_value(p) > VMM_PROTO_MAX_TIMEOUT_S || !timeout_s) {
			if (bad_op && bad_op_len)
				snprintf(bad_op, bad_op_len, "%s", name);
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "\"shutdown\" needs an integer \"timeout_s\" "
					    "of 1 to %d", VMM_PROTO_MAX_TIMEOUT_S);
		} else {
			*timeout_s = (unsigned)json_integer_value(p);
		}
	} else if (vmm_op_from_name(name, op) == 0 && *op == VMM_OP_CONSOLE_INPUT) {
		if (!data || !decode_hex(json_object_get(obj, "data"), data, cap, len)) {
			if (bad_op && bad_op_len)
				snprintf(bad_op, bad_op_len, "%s", name);
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "\"console_input\" needs \"data\": 1 to %d bytes "
					    "in hex", VMM_PROTO_MAX_INPUT);
		}
	} else if (vmm_op_from_name(name, op) < 0) {
		if (bad_op && bad_op_len && name)
			snprintf(bad_op, bad_op_len, "%s", name);
		if (name)
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "unknown op \"%s\"", name);
		else
			ret = vmm_error_set(err, "protocol", EPROTO,
					    "a message without a string \"op\"");
	}
	json_decref(obj);
	return ret;
}

int vmm_proto_recv_event(int fd, struct vmm_event *ev, struct vmm_error *err)
{
	json_t *obj;
	int ret;

	memset(ev, 0, sizeof(*ev));
	ret = recv_json(fd, &obj, err);
	if (ret < 0)
		return ret;
	ret = vmm_event_from_json(obj, ev, err);
	json_decref(obj);
	return ret;
}

/* The "become" message's paths: key, field, and whether it must be given. */
static const struct {
	const char *key;
	size_t off;
	bool required;
} become_paths[] = {
	{ "config", offsetof(struct vmm_become, config), true },
	{ "log", offsetof(struct vmm_become, log), true },
	{ "control_socket", offsetof(struct vmm_become, control_socket), false },
	{ "exit_file", offsetof(struct vmm_become, exit_file), false },
	{ "prerun_image", offsetof(struct vmm_become, prerun_image), false },
};

#define BECOME_NPATHS (sizeof(become_paths) / sizeof(become_paths[0]))

int vmm_proto_send_become(int fd, const struct vmm_become *b)
{
	json_t *obj = json_pack("{s:s}", "op", "become");

	for (size_t i = 0; obj && i < BECOME_NPATHS; i++) {
		const char *value = (const char *)b + become_paths[i].off;
		size_t n = strnlen(value, VMM_PROTO_MAX_PATH);
		int ret = 0;

		if (n == VMM_PROTO_MAX_PATH)
			ret = -ENAMETOOLONG;
		else if (!n && !become_paths[i].required)
			continue;
		else if (value[0] != '/')
			ret = -EINVAL;
		else if (json_object_set_new(obj, become_paths[i].key, json_string(value)) < 0)
			ret = -ENOMEM;
		if (ret < 0) {
			json_decref(obj);
			return ret;
		}
	}
	return send_json(fd, obj);
}

int vmm_proto_recv_become(int fd, struct vmm_become *b, struct vmm_error *err)
{
	const char *op;
	json_t *obj;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = recv_json(fd, &obj, err);
	if (ret < 0)
		return ret;
	op = json_string_value(json_object_get(obj, "op"));
	if (!op || strcmp(op, "become")) {
		json_decref(obj);
		return vmm_error_set(err, "protocol", EPROTO,
				     "a standby pinvm-vmm takes \"become\" first");
	}
	for (size_t i = 0; i < BECOME_NPATHS; i++) {
		const json_t *v = json_object_get(obj, become_paths[i].key);
		const char *str = json_string_value(v);

		if (!v && !become_paths[i].required)
			continue;
		if (!str || str[0] != '/' || strlen(str) != json_string_length(v) ||
		    json_string_length(v) >= VMM_PROTO_MAX_PATH) {
			json_decref(obj);
			memset(b, 0, sizeof(*b));
			return vmm_error_set(err, "protocol", EPROTO,
					     "\"become\" needs \"%s\": an absolute path shorter "
					     "than %d bytes", become_paths[i].key, VMM_PROTO_MAX_PATH);
		}
		memcpy((char *)b + become_paths[i].off, str, json_string_length(v) + 1);
	}
	json_decref(obj);
	return 0;
}
