#include "vmm_config.h"

#include "accept_rule.h"
#include "cpu_features.h"
#include "jsonutil.h"
#include "vm_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vmm_config_free(struct vmm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console);
	free(cfg->pins);
	free(cfg->smccc_deny);
	free(cfg->restore);
	free(cfg->incoming);
	memset(cfg, 0, sizeof(*cfg));
}

static int bad(struct vmm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(struct vmm_error *err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vmm_error_set(err, "config", EINVAL, "%s", what);
}

static int get_string(const json_t *obj, const char *key, bool nullable,
		      char **out, struct vmm_error *err)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (nullable && (!v || json_is_null(v)))
		return 0;
	if (!v || json_is_null(v))
		return bad(err, "\"%s\" is required", key);
	if (!json_is_string(v))
		return bad(err, "\"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, "\"%s\" holds a NUL character", key);
	*out = strdup(json_string_value(v));
	if (!*out)
		return vmm_error_set(err, "config", ENOMEM, "out of memory");
	return 0;
}

static int get_uint(const json_t *obj, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out, struct vmm_error *err)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!v)
		return bad(err, "\"%s\" is required", key);
	if (!json_is_integer(v))
		return bad(err, "\"%s\" must be an integer", key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return vmm_error_set(err, "config", EINVAL,
				     "\"%s\" is %" JSON_INTEGER_FORMAT
				     ", allowed %" PRIu64 "..%" PRIu64,
				     key, i, min, max);
	*out = (uint64_t)i;
	return 0;
}

static int get_pins(const json_t *obj, struct vmm_config *cfg,
		    struct vmm_error *err)
{
	const json_t *arr = json_object_get(obj, "pins");
	size_t i, j;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return bad(err, "\"%s\" must be an array", "pins");
	if (json_array_size(arr) > VMM_CONFIG_MAX_PINS)
		return vmm_error_set(err, "config", E2BIG,
				     "more than %u pins", VMM_CONFIG_MAX_PINS);
	if (!json_array_size(arr))
		return 0;
	cfg->pins = calloc(json_array_size(arr), sizeof(*cfg->pins));
	if (!cfg->pins)
		return vmm_error_set(err, "config", ENOMEM, "out of memory");
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *p = json_array_get(arr, i);
		const json_t *id = json_object_get(p, "id");
		const json_t *val = json_object_get(p, "value");

		if (!json_is_object(p) || json_object_size(p) != 2 ||
		    !json_is_string(id) || !json_is_string(val) ||
		    ju_parse_hex(json_string_value(id), &cfg->pins[i].id) < 0 ||
		    ju_parse_hex(json_string_value(val), &cfg->pins[i].value) < 0)
			return vmm_error_set(err, "config", EINVAL,
					     "pins[%zu] must be {\"id\": \"0x...\", "
					     "\"value\": \"0x...\"}", i);
		for (j = 0; j < i; j++)
			if (cfg->pins[j].id == cfg->pins[i].id)
				return vmm_error_set(err, "config", EINVAL,
						     "pins[%zu] repeats register 0x%016" PRIx64,
						     i, cfg->pins[i].id);
		cfg->npins++;
	}
	return 0;
}

static int get_smccc_deny(const json_t *obj, struct vmm_config *cfg,
			  struct vmm_error *err)
{
	const json_t *arr = json_object_get(obj, "smccc_deny");
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return bad(err, "\"%s\" must be an array", "smccc_deny");
	if (json_array_size(arr) > VMM_CONFIG_MAX_SMCCC_DENY)
		return vmm_error_set(err, "config", E2BIG, "more than %u smccc_deny ranges",
				     (unsigned)VMM_CONFIG_MAX_SMCCC_DENY);
	if (!json_array_size(arr))
		return 0;
	cfg->smccc_deny = calloc(json_array_size(arr), sizeof(*cfg->smccc_deny));
	if (!cfg->smccc_deny)
		return vmm_error_set(err, "config", ENOMEM, "out of memory");
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *r = json_array_get(arr, i);
		const json_t *base = json_object_get(r, "base");
		const json_t *count = json_object_get(r, "count");
		uint64_t b, c;

		/* Function ids are 32 bits; KVM takes nr_functions as a u32. */
		if (!json_is_object(r) || json_object_size(r) != 2 ||
		    !json_is_string(base) || !json_is_string(count) ||
		    ju_parse_hex(json_string_value(base), &b) < 0 ||
		    ju_parse_hex(json_string_value(count), &c) < 0 ||
		    b > UINT32_MAX || c == 0 || c > UINT32_MAX || b + c > UINT64_C(1) << 32)
			return vmm_error_set(err, "config", EINVAL,
					     "smccc_deny[%zu] must be {\"base\": \"0x...\", "
					     "\"count\": \"0x...\"} within 32-bit function ids", i);
		cfg->smccc_deny[i].base = (uint32_t)b;
		cfg->smccc_deny[i].count = c;
		cfg->nsmccc_deny++;
	}
	return 0;
}

static const char *const known_keys[] = {
	"kernel", "initrd", "cmdline", "vcpus", "memory_mib", "console", "pins",
	"smccc_deny", "restore", "incoming", "cpu_features", "console_limit", "accept",
	"id_registers",
};

int vmm_config_from_json(const json_t *obj, struct vmm_config *cfg,
			 struct vmm_error *err)
{
	const char *key;
	const json_t *v;
	uint64_t n;
	size_t i;
	bool rebuilt;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!json_is_object(obj))
		return vmm_error_set(err, "config", EINVAL,
				     "the configuration must be a JSON object");
	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
			if (!strcmp(key, known_keys[i]))
				break;
		if (i == sizeof(known_keys) / sizeof(known_keys[0]))
			return bad(err, "unknown key \"%s\"", key);
	}
	if ((ret = get_string(obj, "restore", true, &cfg->restore, err)) < 0)
		goto fail;
	if (cfg->restore && cfg->restore[0] != '/') {
		ret = bad(err, "\"restore\" must be an absolute path");
		goto fail;
	}
	if ((ret = get_string(obj, "incoming", true, &cfg->incoming, err)) < 0)
		goto fail;
	if (cfg->incoming && (cfg->incoming[0] != '/' || cfg->restore)) {
		ret = bad(err, "%s", cfg->restore ? "\"incoming\" and \"restore\" exclude "
						    "each other"
						  : "\"incoming\" must be an absolute path");
		goto fail;
	}
	/* A restore or a migration boots nothing: the guest's RAM holds its
	 * kernel. */
	rebuilt = cfg->restore || cfg->incoming;
	if ((ret = get_string(obj, "kernel", rebuilt, &cfg->kernel, err)) < 0 ||
	    (ret = get_string(obj, "initrd", true, &cfg->initrd, err)) < 0 ||
	    (ret = get_string(obj, "cmdline", rebuilt, &cfg->cmdline, err)) < 0 ||
	    (ret = get_string(obj, "console", false, &cfg->console, err)) < 0)
		goto fail;
	if (!cfg->cmdline && !(cfg->cmdline = strdup(""))) {
		ret = vmm_error_set(err, "config", ENOMEM, "out of memory");
		goto fail;
	}
	if ((!rebuilt && !cfg->kernel[0]) || !cfg->console[0] ||
	    (cfg->initrd && !cfg->initrd[0])) {
		ret = vmm_error_set(err, "config", EINVAL,
				    "\"kernel\", \"initrd\" and \"console\" must not be empty");
		goto fail;
	}
	if (strlen(cfg->cmdline) > VM_SPEC_MAX_CMDLINE) {
		ret = vmm_error_set(err, "config", E2BIG,
				    "\"cmdline\" is longer than %u bytes",
				    VM_SPEC_MAX_CMDLINE);
		goto fail;
	}
	ret = get_uint(obj, "vcpus", 1, VM_SPEC_MAX_VCPUS, &n, err);
	if (ret < 0)
		goto fail;
	cfg->vcpus = (unsigned)n;
	ret = get_uint(obj, "memory_mib", VM_SPEC_MIN_MEMORY_MIB, VM_SPEC_MAX_MEMORY_MIB,
		       &cfg->memory_mib, err);
	if (ret < 0)
		goto fail;
	if (json_object_get(obj, "console_limit") &&
	    (ret = get_uint(obj, "console_limit", 0, VMM_CONFIG_MAX_CONSOLE_LIMIT,
			    &cfg->console_limit, err)) < 0)
		goto fail;
	ret = get_pins(obj, cfg, err);
	if (ret < 0)
		goto fail;
	ret = get_smccc_deny(obj, cfg, err);
	if (ret < 0)
		goto fail;
	{
		struct api_error aerr;

		const json_t *idr = json_object_get(obj, "id_registers");

		if ((idr && id_pins_from_json(idr, "id_registers", cfg->id_pins,
					      &cfg->nid_pins, &aerr) < 0) ||
		    cpu_features_parse(json_object_get(obj, "cpu_features"), "cpu_features",
				       &cfg->cpu_features, &aerr) < 0 ||
		    accept_rules_parse(json_object_get(obj, "accept"), "accept", &cfg->accept,
				       &aerr) < 0) {
			ret = bad(err, "%s: %s", aerr.field, aerr.detail);
			goto fail;
		}
	}
	if (cfg->accept && !rebuilt) {
		ret = bad(err, "\"accept\" goes with \"restore\" or \"incoming\"");
		goto fail;
	}
	return 0;
fail:
	vmm_config_free(cfg);
	return ret;
}

static json_t *hex(uint64_t v, bool wide)
{
	char buf[24];

	snprintf(buf, sizeof(buf), wide ? "0x%016" PRIx64 : "0x%" PRIx64, v);
	return json_string(buf);
}

json_t *vmm_config_to_json(const struct vmm_config *cfg)
{
	json_t *pins = json_array();
	json_t *obj;
	size_t i;

	if (!pins)
		return NULL;
	for (i = 0; i < cfg->npins; i++)
		if (json_array_append_new(pins, json_pack("{s:o, s:o}",
				"id", hex(cfg->pins[i].id, true),
				"value", hex(cfg->pins[i].value, false))) < 0) {
			json_decref(pins);
			return NULL;
		}
	obj = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:s, s:o}",
			"kernel", cfg->kernel ? cfg->kernel : "",
			"initrd", cfg->initrd,
			"cmdline", cfg->cmdline ? cfg->cmdline : "",
			"vcpus", (json_int_t)cfg->vcpus,
			"memory_mib", (json_int_t)cfg->memory_mib,
			"console", cfg->console ? cfg->console : "",
			"pins", pins);
	if (obj && cfg->nsmccc_deny) {
		json_t *deny = json_array();

		/* deny belongs to obj from here on, even when this fails. */
		if (json_object_set_new(obj, "smccc_deny", deny) < 0) {
			json_decref(obj);
			return NULL;
		}
		for (i = 0; i < cfg->nsmccc_deny; i++)
			if (json_array_append_new(deny, json_pack("{s:o, s:o}",
					"base", hex(cfg->smccc_deny[i].base, false),
					"count", hex(cfg->smccc_deny[i].count, false))) < 0) {
				json_decref(obj);
				return NULL;
			}
	}
	if (obj && cfg->nid_pins &&
	    json_object_set_new(obj, "id_registers",
				id_pins_to_json(cfg->id_pins, cfg->nid_pins)) < 0) {
		json_decref(obj);
		return NULL;
	}
	/* Only when asked for: a config without features reads as before. */
	if (obj && cpu_features_any(&cfg->cpu_features) &&
	    json_object_set_new(obj, "cpu_features",
				cpu_features_to_json(&cfg->cpu_features)) < 0) {
		json_decref(obj);
		return NULL;
	}
	if (obj && cfg->accept &&
	    json_object_set_new(obj, "accept", accept_rules_to_json(cfg->accept)) < 0) {
		json_decref(obj);
		return NULL;
	}
	if (obj && cfg->console_limit &&
	    json_object_set_new(obj, "console_limit",
				json_integer((json_int_t)cfg->console_limit)) < 0) {
		json_decref(obj);
		return NULL;
	}
	if (obj && cfg->restore) {
		if (json_object_set_new(obj, "restore", json_string(cfg->restore)) < 0) {
			json_decref(obj);
			return NULL;
		}
		if (!cfg->kernel)
			json_object_del(obj, "kernel");
	}
	if (obj && cfg->incoming) {
		if (json_object_set_new(obj, "incoming", json_string(cfg->incoming)) < 0) {
			json_decref(obj);
			return NULL;
		}
		if (!cfg->kernel)
			json_object_del(obj, "kernel");
	}
	return obj; /* "s?" packs a NULL initrd as JSON null */
}

int vmm_config_load(const char *path, struct vmm_config *cfg,
		    struct vmm_error *err)
{
	json_error_t jerr;
	json_t *obj;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	obj = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return vmm_error_set(err, "config", EINVAL, "%s:%d:%d: %s", path,
				     jerr.line, jerr.column, jerr.text);
	ret = vmm_config_from_json(obj, cfg, err);
	json_decref(obj);
	return ret;
}

int vmm_json_save(const json_t *obj, size_t flags, const char *path,
		  const char *step, struct vmm_error *err)
{
	char tmp[4096];
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return vmm_error_set(err, step, ENAMETOOLONG, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmm_error_set(err, step, errno, "create %s: %s", tmp, strerror(errno));
	errno = 0;
	if (json_dumpfd(obj, fd, flags) < 0 || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		return vmm_error_set(err, step, e, "write %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		return vmm_error_set(err, step, e, "rename %s: %s", path, strerror(e));
	}
	return 0;
}

int vmm_config_save(const struct vmm_config *cfg, const char *path,
		    struct vmm_error *err)
{
	struct vmm_config check;
	json_t *obj;
	int ret;

	obj = vmm_config_to_json(cfg);
	if (!obj)
		return vmm_error_set(err, "config", ENOMEM, "out of memory");
	ret = vmm_config_from_json(obj, &check, err);
	if (ret < 0)
		goto out;
	vmm_config_free(&check);
	ret = vmm_json_save(obj, JSON_INDENT(1) | JSON_SORT_KEYS, path, "config", err);
out:
	json_decref(obj);
	return ret;
}
