/* pinvm host, pinvm host registers, pinvm images. */
#include "commands.h"
#include "output.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char usage_host[] =
	"usage: pinvm host               this host: arch, kernel, hypervisor, KVM capabilities\n"
	"       pinvm host registers     its firmware pseudo-registers, decoded\n";

const char usage_images[] =
	"usage: pinvm images             the kernels and initrds pinvmd's --image-dir holds\n";

static void print_kv(const char *key, const char *value)
{
	printf("%-16s%s\n", key, value ? value : "-");
}

static int show_host(const json_t *h)
{
	const json_t *caps = json_object_get(h, "capabilities");
	const char *hv = json_str(h, "hypervisor");
	json_t *api = json_object_get(h, "kvm_api_version");

	print_kv("pinvm version", json_text(h, "pinvm_version"));
	print_kv("arch", json_text(h, "arch"));
	print_kv("kernel", json_text(h, "kernel_release"));
	if (hv && strcmp(hv, "none") == 0 && json_str(h, "reason"))
		printf("%-16s%s (%s)\n", "hypervisor", hv, json_text(h, "reason"));
	else
		print_kv("hypervisor", hv);
	if (json_is_integer(api))
		printf("%-16s%" JSON_INTEGER_FORMAT "\n", "kvm api", json_integer_value(api));
	if (json_is_object(caps)) {
		char *s = json_cell(caps);

		if (!s)
			return EXIT_FAILURE_LOCAL;
		print_kv("capabilities", s);
		free(s);
	}
	return EXIT_OK;
}

static int show_registers(const json_t *set)
{
	static const char *const head[] = { "NAME", "ID", "VALUE", "DECODED" };
	const json_t *regs = json_object_get(set, "registers"), *reg;
	struct table *t = table_new(4, head);
	size_t i;
	int rc = EXIT_OK;

	printf("kernel %s\n", json_text(set, "kernel_release"));
	json_array_foreach(regs, i, reg) {
		char *decoded = json_cell(json_object_get(reg, "decoded"));
		const char *row[] = { json_str(reg, "name"), json_str(reg, "id"),
				      json_text(reg, "value"), decoded };

		table_row(t, row);
		free(decoded);
	}
	if (table_print(t, stdout) < 0) {
		errorf("out of memory");
		rc = EXIT_FAILURE_LOCAL;
	}
	table_free(t);
	return rc;
}

int cmd_host(struct cli *c, int argc, char **argv)
{
	struct response r;
	const char *path;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_host, stdout);
		return EXIT_OK;
	}
	if (argc == 1)
		path = "/v1/host";
	else if (argc == 2 && strcmp(argv[1], "registers") == 0)
		path = "/v1/host/firmware-registers";
	else
		return cli_usage_error(usage_host, "host: unexpected argument '%s'", argv[1]);
	rc = cli_call(c, "GET", path, NULL, &r);
	if (rc == EXIT_OK) {
		if (c->json)
			print_json(r.json);
		else if (argc == 1)
			rc = show_host(r.json);
		else
			rc = show_registers(r.json);
	}
	response_free(&r);
	return rc;
}

int cmd_images(struct cli *c, int argc, char **argv)
{
	static const char *const head[] = { "NAME", "SIZE" };
	struct response r;
	const json_t *img;
	size_t i;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_images, stdout);
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error(usage_images, "images: unexpected argument '%s'", argv[1]);
	rc = cli_call(c, "GET", "/v1/images", NULL, &r);
	if (rc == EXIT_OK && c->json) {
		print_json(r.json);
	} else if (rc == EXIT_OK) {
		struct table *t = table_new(2, head);

		json_array_foreach(json_object_get(r.json, "images"), i, img) {
			char size[32];
			const char *row[] = { json_str(img, "name"), size };

			snprintf(size, sizeof(size), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(json_object_get(img, "size")));
			table_row(t, row);
		}
		if (table_print(t, stdout) < 0) {
			errorf("out of memory");
			rc = EXIT_FAILURE_LOCAL;
		}
		table_free(t);
	}
	response_free(&r);
	return rc;
}
