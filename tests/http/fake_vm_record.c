#include "fake_vm_record.h"

#include "check.h"
#include "fake_vm.h"

#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>

bool fake_vm_left_running(const char *fake, const char *state, const char *id,
			  const char *cmdline, struct store *s, struct vmm_client *vc)
{
	char dir[256], err[256];
	json_t *doc = json_pack("{s:s, s:s, s:{s:i, s:i, s:s}, s:n, s:s, s:s, s:s, s:i}",
				"id", id, "created_at", "2026-11-25T00:00:00Z", "spec",
				"vcpus", 1, "memory_mib", 64, "kernel", "guest.Image", "abi",
				"profile", "", "state", "running", "reason", "", "pid", 4242);

	snprintf(dir, sizeof(dir), "%s/vms/%s", state, id);
	mkdir(dir, 0700);
	check(store_vm_put(s, id, doc, err, sizeof(err)) == 0, "seed a record", "%s", err);
	json_decref(doc);
	return fake_vm_spawn_running_cmdline(fake, dir, cmdline, vc);
}
