/*
 * The microVMs pinvmd supervises, without HTTP: create, act, delete, read
 * the console, take VMs back after a restart. Handlers (handlers_vms.c)
 * parse requests with api/ (vm_spec, vm_action), call these, and turn the
 * struct api_error they fill into problem+json; nothing here writes a
 * reply.
 *
 * Each VM is a pinvm-vmm process (vm_supervisor.h), listed in the
 * registry (vm_registry.h) as a reference-counted entry (vm_entry.h), with
 * its files in STATE/vms/ID (vm_dir.h) and a record in the store from the
 * moment its directory exists ("creating") until DELETE. When pinvmd
 * stops, its VMs keep running (unless stop_on_exit), and the next pinvmd
 * takes them over with vm_core_load(); a VM that ended meanwhile is marked
 * stopped or failed with the reason its pinvm-vmm left, or failed with the
 * reason it left none.
 *
 * Thread-safe: every function may be called from any HTTP thread.
 */
#ifndef PINVM_SERVER_VM_CORE_H
#define PINVM_SERVER_VM_CORE_H

#include "api_error.h"
#include "kvm_host.h"
#include "vm_action.h"
#include "vm_entry.h"
#include "vm_spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct compat_report;
struct store;
struct vm_core;

struct vm_core_config {
	struct store *store;               /* borrowed; outlives the core */
	const struct kvm_host_info *host;  /* borrowed; probed at start-up */
	const char *state_dir;             /* copied */
	const char *image_dir;             /* copied; "" when none */
	unsigned max_vms;
	/* Each VM's console log keeps at least its newest console_limit
	 * bytes (older ones are dropped, vmm/console_log.h); 0: all. */
	uint64_t console_limit;
	bool stop_on_exit;
	/* pinvm-vmm processes kept started ahead of the VMs (vmm_standby.h);
	 * 0: none. Only with KVM. */
	unsigned standby_vmms;
};

/* 0 with *out set, or -ENOMEM / -ENAMETOOLONG. */
int vm_core_new(struct vm_core **out, const struct vm_core_config *cfg);

/*
 * Brings back every stored VM: re-adopts the live ones (waiting up to a
 * few seconds for each), and records why the others ended. Call once,
 * before serving. 0, or -errno with err when the store cannot be read.
 */
int vm_core_load(struct vm_core *c, char *err, size_t errlen);

/* Lets go of every VM, leaving them running, or with stop_on_exit stops
 * them first; frees the core. */
void vm_core_free(struct vm_core *c);

/*
 * Creates a VM from a parsed spec (borrowing doc, the request it came
 * from, which is kept as the VM's spec) with report's register writes
 * pinned (NULL: no profile; report is the profile's verdict on this
 * host, and must be compatible). Returns 0 with *out a new reference to
 * the created VM, or -errno with err filled (422 for images and host
 * limits, 409 too_many_vms, kvm_refused or profile_refused, 503 without
 * KVM, 500 otherwise). Nothing is left behind on failure.
 */
int vm_core_create(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
		   struct compat_report *report, struct vm_entry **out,
		   struct api_error *err);

/*
 * As vm_core_create, but returns once the VM is accepted (before pinvm-vmm
 * is started): *out is a new reference to the VM in state "creating"; a
 * thread of its own then builds it, and it becomes created, or failed with
 * the reason (events and vm_wait tell). On success report is the VM's
 * (freed by it); on failure it stays the caller's. DELETE of a creating
 * VM is 409 vm_creating.
 */
int vm_core_create_async(struct vm_core *c, const struct vm_spec *spec, const json_t *doc,
			 struct compat_report *report, struct vm_entry **out,
			 struct api_error *err);

/* A VM restored from a stored snapshot (issue 10); everything borrowed. */
struct vm_restore {
	const char *dir;                  /* STATE/snapshots/ID, complete */
	unsigned vcpus;                   /* vm.json's */
	uint64_t memory_mib;
	const struct fw_pin *pins;  /* extra firmware pins (zero bitmaps) */
	size_t npins;
	const struct smccc_range *deny;   /* the source profile's filter */
	size_t ndeny;
	const char *profile;              /* the source VM's profile, "" none */
	const json_t *abi;                /* the restore's register report, or NULL */
	unsigned accept;                  /* api/accept_rule.h rules its restore applies */
};

/*
 * Creates a VM from snapshot r (its checks passed: the caller judged the
 * firmware and ran restore-check) with doc (borrowed) as its spec. The VM
 * comes up paused, never run: its first "resume" runs it. Returns and
 * fails as vm_core_create().
 */
int vm_core_restore(struct vm_core *c, const struct vm_restore *r, const json_t *doc,
		    struct vm_entry **out, struct api_error *err);

/* The destination of a live migration (issue 11); everything borrowed. */
struct vm_incoming {
	unsigned vcpus;
	uint64_t memory_mib;
	const struct fw_pin *pins;  /* extra firmware pins (zero bitmaps) */
	size_t npins;
	const struct smccc_range *deny;   /* the guest's SMCCC filter */
	size_t ndeny;
	const char *profile;              /* the source VM's profile, NULL none */
	const json_t *abi;                /* the check's register report, or NULL */
	const char *source;               /* who sends it, for the log */
	unsigned accept;                  /* api/accept_rule.h rules its restore applies */
};

/*
 * Prepares to receive a guest (its checks passed: the caller judged the
 * firmware against this host): a new VM, state "creating", whose
 * pinvm-vmm listens for the stream, and a one-shot TCP port (*port) that
 * takes one connection carrying ticket (MIGRATE_TICKET_LEN hex characters,
 * migrate_relay.h) and then the stream. Returns once pinvm-vmm listens;
 * the VM then becomes paused and never run (its first "resume" runs it),
 * or, on any failure of the transfer, is ended and forgotten (vm.deleted).
 * spec (borrowed) is kept as its spec, without "name". *out is a new
 * reference. Errors as vm_core_restore().
 */
int vm_core_incoming(struct vm_core *c, const struct vm_incoming *in, const json_t *spec,
		     struct vm_entry **out, unsigned *port, char ticket[65],
		     struct api_error *err);

/* A new reference to VM id, or NULL with err filled (404 vm_not_found). */
struct vm_entry *vm_core_find(struct vm_core *c, const char *id, struct api_error *err);

/* Carries out an action on e (a reference the caller holds); waits for
 * pinvm-vmm's answer. 0, or -errno with err (409 illegal_transition or
 * action_failed, 500). */
/* With the request's arguments: shutdown's timeout_s. "shutdown" returns
 * once the button is pressed (the VM still running; it ends later with
 * exit_reason shutdown or shutdown_timeout); "reboot" once the guest is
 * booting again in the same pinvm-vmm. */
int vm_core_act_req(struct vm_core *c, struct vm_entry *e, const struct vm_action_req *req,
		    struct api_error *err);
int vm_core_act(struct vm_core *c, struct vm_entry *e, enum vm_action a,
		struct api_error *err);

/*
 * Boots a stopped or failed VM again from its stored spec (a cold boot: a
 * new pinvm-vmm on the same directory, console appended), with report the
 * profile's verdict on this host now (NULL: no profile), and starts it.
 * 0 with e running, or -errno with err (409 illegal_transition when it is
 * not stopped or failed, or already being restarted; the create errors
 * otherwise, the VM then staying as it was).
 */
int vm_core_restart(struct vm_core *c, struct vm_entry *e, struct compat_report *report,
		    struct api_error *err);

/* Ends VM id and forgets it (process, files, record). 0, or -ENOENT with
 * err (404 vm_not_found). */
int vm_core_delete(struct vm_core *c, const char *id, struct api_error *err);

/*
 * Up to max bytes of e's console from offset (clamped to its size) into
 * *buf (malloc'd, caller frees; also on an empty read). *start is the
 * offset of the first of them: greater than offset when the console's
 * bound dropped the bytes between (vmm/console_log.h). 0, or -errno with
 * err (500).
 */
int vm_core_console(const struct vm_entry *e, unsigned long long offset, size_t max,
		    char **buf, size_t *len, unsigned long long *start,
		    struct api_error *err);

/*
 * Types data[0..len) at e's console: the bytes go to the guest's UART
 * (vmm/uart_16550.h). 0, or -errno with err: 409 vm_not_running (not
 * running or paused), 503 console_busy (the guest has not read what was
 * typed before: nothing of this was taken), 500. Blocks until pinvm-vmm
 * answers (milliseconds).
 */
int vm_core_console_input(struct vm_entry *e, const void *data, size_t len,
			  struct api_error *err);

struct vm_query;

/*
 * The public JSON of the VMs q asks for, newest first (a new array), or
 * NULL without memory; with q->limit, *next is the seq to give as the next
 * page's cursor (0 on the last page).
 */
json_t *vm_core_select(struct vm_core *c, const struct vm_query *q, unsigned long long *next);

/* Every VM's public JSON, newest first (a new array), or NULL. */
json_t *vm_core_list(struct vm_core *c);

/* Counts VMs by enum vm_state into counts[VM_STATE_COUNT]. */
void vm_core_count_by_state(struct vm_core *c, unsigned counts[VM_STATE_COUNT]);

/* Standby pinvm-vmm processes ready for the next create now (0 without a
 * pool): /metrics, and benchmarks that time a create on a settled host. */
unsigned vm_core_standby_ready(struct vm_core *c);

/*
 * The VMs created from profile `name`, newest first: the first max of them
 * as [{"id", "name" when it has one}] (a new array; NULL when out of
 * memory), and how many there are in all in *total (0: none, the profile
 * may go).
 */
json_t *vm_core_profile_users(struct vm_core *c, const char *name, size_t max,
			      size_t *total);

/* The image directory's regular files inside it, as
 * {"image_dir", "images": [{"name", "size"}]}; NULL with err. */
json_t *vm_core_images(struct vm_core *c, struct api_error *err);

#endif
