/*
 * prerun_image_check() (vmm/prerun_image.c) on arbitrary JSON: the pre-run
 * image a migration's source sends in POST /v1/vms/incoming comes from
 * another host. The VM's memory size is the document's own "memory_mib"
 * when it is an integer (so images can be accepted), else 64. A refusal
 * is -EINVAL or -ENOMEM under step "prerun" whose detail starts with a key
 * path (empty for an empty key) and ": " (the destination makes that the
 * problem's field); an
 * acceptance is a one-vCPU vm.json of that size within the byte bound.
 */
#include "fuzz.h"

#include "prerun_image.h"
#include "vm_state.h"

#include <errno.h>
#include <string.h>

int fuzz_run(const uint8_t *data, size_t size)
{
	struct vmm_error err;
	struct vm_state st;
	json_t *doc, *m;
	uint64_t memory_mib = 64;
	char *text;
	int ret;

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!doc)
		return -1;
	m = json_object_get(doc, "memory_mib");
	if (json_is_integer(m) && json_integer_value(m) >= 0)
		memory_mib = (uint64_t)json_integer_value(m);
	memset(&err, 0, sizeof(err));
	ret = prerun_image_check(doc, memory_mib, &err);
	FUZZ_CHECK(prerun_image_check(doc, memory_mib, NULL) == ret);
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		FUZZ_CHECK(!strcmp(err.step, "prerun"));
		/* (An empty key's path is empty: the detail then starts with ": ".) */
		FUZZ_CHECK(ret == -ENOMEM || strstr(err.detail, ": ") != NULL);
		json_decref(doc);
		return 0;
	}
	FUZZ_CHECK(vm_state_from_json(doc, &st, NULL) == 0);
	FUZZ_CHECK(st.vcpus == 1 && st.memory_mib == memory_mib);
	vm_state_free(&st);
	text = json_dumps(doc, JSON_COMPACT);
	FUZZ_CHECK(!text || strlen(text) <= PRERUN_IMAGE_MAX_BYTES);
	free(text);
	json_decref(doc);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
