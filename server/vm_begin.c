/*
 * The start every new VM shares (create, restore, incoming: vm_core_begin)
 * and its undoing (vm_core_abandon); see vm_core_internal.h.
 */
#include "cpu_features.h"
#include "store.h"
#include "uuid.h"
#include "vm_core_internal.h"
#include "vm_dir.h"
#include "vm_names.h"
#include "vm_registry.h"
#include "vm_supervisor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* vcpus, memory and cpu features against what this host has (as probed at start-up,
 * which /v1/ready reports too): 422 naming the field, 503 without KVM. */
int vm_core_check_host(const struct kvm_host_info *info, const struct vm_spec *b,
		       struct api_error *err)
{
	long max_vcpus = 0;
	uint64_t mem_mib;

	if (!info->hypervisor)
		return api_fail(err, 503, "no_hypervisor", "",
				"no arm64 KVM on this host: %s", info->reason);
	for (size_t i = 0; i < info->ncaps; i++)
		if (!strcmp(info->caps[i].name, "max_vcpus"))
			max_vcpus = info->caps[i].value;
	if (max_vcpus > (long)VM_SPEC_MAX_VCPUS)
		max_vcpus = VM_SPEC_MAX_VCPUS;
	if (b->vcpus > max_vcpus)
		return api_fail(err, 422, "exceeds_host", "vcpus",
				"vcpus %lld is more than this host's KVM allows (%ld)",
				(long long)b->vcpus, max_vcpus);
	mem_mib = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
	if ((uint64_t)b->memory_mib > mem_mib)
		return api_fail(err, 422, "exceeds_host", "memory_mib",
				"memory_mib %lld is more than this host has (%" PRIu64 " MiB)",
				(long long)b->memory_mib, mem_mib);
	return cpu_features_check_host(&b->cpu_features, &info->cpu, "cpu_features", err);
}

/* A new entry's identity: its creation order (list cursors), created_at
 * now, its profile name ("" none). */
static void entry_stamp(struct vm_core *c, struct vm_entry *e, const char *profile)
{
	time_t now = time(NULL);
	struct tm tm;

	e->seq = atomic_fetch_add(&c->seq, 1) + 1;
	gmtime_r(&now, &tm);
	strftime(e->created_at, sizeof(e->created_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(e->profile, sizeof(e->profile), "%s", profile ? profile : "");
}

/* Gives back what vm_core_begin took before its entry: the spec's name
 * (a no-op when id does not hold it) and the place under --max-vms. */
static void give_back(struct vm_core *c, const json_t *spec, const char *id)
{
	const char *name = json_string_value(json_object_get(spec, "name"));

	if (name)
		vm_names_release(c->names, name, id);
	vm_registry_unreserve(c->reg);
}

int vm_core_begin(struct vm_core *c, const struct vm_core_begin_args *a,
		  struct vm_entry **out, struct api_error *err)
{
	const char *name = json_string_value(json_object_get(a->spec, "name"));
	char serr[256], id[40];
	struct vm_entry *e;
	unsigned held;
	json_t *rec;
	int ret;

	*out = NULL;
	if (vm_registry_reserve(c->reg, &held) < 0) {
		json_decref(a->spec);
		return api_fail(err, 409, "too_many_vms", "",
				"this pinvmd holds %u VMs, its limit (--max-vms); delete one first",
				held);
	}
	/* The name first: a conflict is the client's to fix whatever else. */
	uuid_v4(id);
	if (name) {
		char owner[40];

		ret = vm_names_claim(c->names, name, id, owner);
		if (ret == -EEXIST)
			ret = api_fail(err, 409, "name_taken", "name",
				       "the name \"%s\" is VM %s's; names are unique", name, owner);
		else if (ret < 0)
			api_fail(err, 500, "out_of_memory", "", "out of memory");
		if (ret < 0)
			goto err_reserved;
	}
	ret = a->check_before_host ? a->check_before_host(a->arg, err) : 0;
	if (!ret)
		ret = vm_core_check_host(c->host, a->fit, err);
	if (!ret && a->check_after_host)
		ret = a->check_after_host(a->arg, err);
	if (ret < 0)
		goto err_reserved;

	e = vm_entry_new();
	if (!e) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto err_reserved;
	}
	memcpy(e->id, id, sizeof(e->id));
	entry_stamp(c, e, a->profile);
	e->spec = a->spec;
	if (!e->spec) {
		ret = api_fail(err, 500, "out_of_memory", "", "out of memory");
		goto err_entry;
	}
	if (vm_dir_path(c->state_dir, e->id, e->dir, sizeof(e->dir)) < 0) {
		e->dir[0] = '\0';
		ret = api_fail(err, 500, "state_error", "", "state directory path too long");
		goto err_entry;
	}
	ret = vm_dir_create(e->dir);
	if (ret < 0) {
		api_fail(err, 500, "state_error", "", "%s: %s", e->dir, strerror(-ret));
		e->dir[0] = '\0'; /* not ours to remove */
		goto err_entry;
	}
	/* Before pinvm-vmm exists: a pinvmd that dies from here on leaves a
	 * record its successor finds. */
	e->store = c->store;
	rec = vm_entry_record_json(e, "creating");
	if (!rec) {
		ret = api_fail(err, 500, "state_error", "", "cannot store the VM: out of memory");
		goto err_entry;
	}
	ret = store_vm_put(c->store, e->id, rec, serr, sizeof(serr));
	json_decref(rec);
	if (ret < 0) {
		api_fail(err, 500, "state_error", "", "cannot store the VM: %s", serr);
		goto err_entry;
	}
	*out = e;
	return 0;

err_entry:
	vm_core_abandon(c, e);
	return ret < 0 ? ret : -EIO;
err_reserved:
	give_back(c, a->spec, id);
	json_decref(a->spec);
	return ret < 0 ? ret : -EIO;
}

void vm_core_abandon(struct vm_core *c, struct vm_entry *e)
{
	vm_end(e);
	give_back(c, e->spec, e->id);
	vm_entry_put(e);
}
