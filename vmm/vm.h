/*
 * The pinvm microVM engine: one arm64 Linux guest on KVM, built per the
 * arm64 boot protocol (Image + initrd + device tree), with an in-kernel
 * GIC (v3, else v2), PSCI 0.2+ vCPUs, the architected timer and a 16550
 * UART console. One thread per vCPU runs KVM_RUN.
 *
 * Life cycle, all from one controlling thread:
 *   vm_create()   builds everything, applies the pins on every vCPU after
 *                 KVM_ARM_VCPU_INIT; no vCPU has run when it returns.
 *                 With cfg->restore it rebuilds a snapshot instead of
 *                 booting: RAM mapped from its mem.raw, every register,
 *                 the time, the vGIC and the UART written back; the
 *                 guest continues where it stopped on vm_start().
 *   vm_start()    starts the vCPU threads (vCPU 0 enters the kernel; the
 *                 others wait powered off for the guest's PSCI CPU_ON).
 *   vm_pause() / vm_resume()
 *   vm_stop()     ends the VM (if the guest has not) and joins the threads.
 *   vm_destroy()  stops and frees everything.
 * The guest ending on its own (power off, a fatal exit) makes
 * vm_exit_fd() readable; the controller then calls vm_stop() and reads
 * vm_exit_reason(). A guest reset (PSCI SYSTEM_RESET or SYSTEM_RESET2)
 * makes it readable too, with vm_reset_pending() true: the controller
 * then calls vm_reboot(), which boots the guest again in this process.
 *
 * Errors: 0 or a negative errno, with *err filled (step, detail, errno,
 * and the register for a refused pin). Nothing here exits the process.
 * Only arm64 builds have the real engine (vm.c); elsewhere vm_create()
 * fails with -ENODEV (vm_none.c).
 */
#ifndef PINVM_VMM_VM_H
#define PINVM_VMM_VM_H

#include "fw_pin.h"
#include "vmm_config.h"
#include "vmm_error.h"
#include "vmm_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vm;

/*
 * cfg is read during the call only. console_fd is borrowed: UART output
 * is written to it until vm_destroy(); the caller closes it afterwards.
 */
int vm_create(const struct vmm_config *cfg, int console_fd, struct vm **out,
	      struct vmm_error *err);

struct vm_state;

/*
 * The destination of a live migration (migrate_stream.h): the VM rebuilt
 * from st as a restore does, over RAM already received into ram (from
 * guest_mem_alloc(): ram_alloc/ram_alloc_size is the mapping, which the
 * VM owns from this call on, freed by vm_destroy() or here on failure).
 * cfg's vcpus and memory_mib must match st. st is read during the call.
 */
int vm_create_incoming(const struct vmm_config *cfg, int console_fd, void *ram_alloc,
		       size_t ram_alloc_size, void *ram, const struct vm_state *st,
		       struct vm **out, struct vmm_error *err);

/* The pins written, in config order, and *readback vCPU 0's readbacks in
 * the same order (both arrays of *npins, owned by vm). */
const struct fw_pin *vm_pins(const struct vm *vm, size_t *npins,
			    const struct fw_pin **readback);
const char *vm_gic_name(const struct vm *vm); /* "v3" or "v2" */
unsigned vm_vcpu_count(const struct vm *vm);
/* How long each step of vm_create took, as "kvm MS ram MS ..." (borrowed). */
const char *vm_build_timing(const struct vm *vm);

int vm_start(struct vm *vm, struct vmm_error *err);

/*
 * Takes every vCPU out of KVM_RUN and holds it; returns once all are held.
 * -ESHUTDOWN if the VM ended meanwhile (vm_exit_fd() is then readable).
 */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/*
 * Saves a paused VM into dir, an existing empty directory: mem.raw (RAM,
 * zero pages as holes) and vm.json last (docs/snapshot-format.md). The VM
 * stays paused whatever happens; on failure the files written are removed
 * again (dir stays). *bytes is what was written, *data_pages the RAM
 * pages stored. -EBUSY when the VM is not paused. Controlling thread.
 */
int vm_snapshot(struct vm *vm, const char *dir, uint64_t *bytes,
		uint64_t *data_pages, struct vmm_error *err);

/*
 * The pre-run image (issue 11): what the restore dry run needs to judge a
 * migration of this VM before its guest is paused, a vm.json (vm_state.h)
 * of vCPU 0 and the vGIC as vCPU 0 sees it ("vcpus" 1, no RAM). In two
 * halves, so that the guest waits only for the first (issue 16: the
 * create path):
 *   vm_prerun_gather() reads them into *st (the caller frees it with
 *   vm_state_free). Only before the first KVM_RUN: a running vCPU cannot
 *   be read without kicking it, and what the dry run decides on (which
 *   registers exist, the ID registers, CCSIDR/CLIDR, GICD_IIDR) does not
 *   change once the guest runs. -EBUSY once the VM was started. The
 *   controlling thread, or a thread it waits for before vm_start().
 *   vm_prerun_write() writes *st to path, atomically (path.tmp renamed),
 *   not synced; *bytes is the file's size. Touches no VM: any thread,
 *   while the guest runs.
 */
int vm_prerun_gather(struct vm *vm, struct vm_state *st, struct vmm_error *err);
int vm_prerun_write(const struct vm_state *st, const char *path, uint64_t *bytes,
		    struct vmm_error *err);

/*
 * The restore dry run on this host (docs/snapshot-format.md section 3):
 * *answer (a new reference) is {"ok": true, "compatible", "source_kernel",
 * "refused": [...], "accepted": [...], "left_at_reset": [...]}: a
 * difference a rule in accept covers (api/accept_rule.h) is "accepted"
 * (register, rule, wanted, kept: this host's value), not refused. Fails
 * (err) only when the snapshot cannot be read or no scratch VM can be
 * built. Any thread; it builds and frees its own VM.
 */
int vm_restore_check(const char *dir, unsigned accept, json_t **answer,
		     struct vmm_error *err);

/* Idempotent. A VM still running ends with reason "stopped". */
void vm_stop(struct vm *vm);

/* An eventfd, readable once the VM has ended; owned by vm. */
int vm_exit_fd(const struct vm *vm);
bool vm_has_ended(struct vm *vm);
enum vmm_exit_reason vm_exit_reason(struct vm *vm, char *detail, size_t len);

void vm_destroy(struct vm *vm);

/*
 * Presses the power button (gpio_pl061.h): a guest that handles it powers
 * off by itself, which ends the VM as any power off does. Any thread.
 */
void vm_power_button(struct vm *vm);

/*
 * Bytes typed at the console (console_uart.h): into the UART's receive
 * FIFO with its interrupt raised, the rest queued until the guest reads.
 * 0, or -EAGAIN when the queue cannot take them all (none taken). Any
 * thread.
 */
int vm_console_input(struct vm *vm, const uint8_t *data, size_t len);
/* Bytes typed and not yet read by the guest. */
size_t vm_console_pending(struct vm *vm);

/*
 * Asks for a reset as the guest's SYSTEM_RESET does (the vCPU threads do
 * it for the guest; the controller for a "reboot" op): the vCPUs leave
 * KVM_RUN and vm_exit_fd() becomes readable. Ignored once the VM ended.
 * Any thread.
 */
void vm_request_reset(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A reset was asked for and vm_reboot() has not yet run. */
bool vm_reset_pending(struct vm *vm);

/*
 * The reset itself, in this process, controlling thread only: joins the
 * vCPU threads, KVM_ARM_VCPU_INIT on every vCPU again (secondaries
 * powered off), the pins written again and every readback compared with
 * the one at creation, every device back to power-on state, cfg's kernel,
 * initrd and a new device tree loaded, and the vCPUs started. Guest RAM
 * is not cleared (as on a real machine's warm reset); the vGIC is left
 * to the booting kernel, which initialises it. *reboots counts the
 * resets; *detail (len bytes) says who asked.
 * 0, or -errno when the VM cannot go on: it has then ended (reason
 * "error" for a failed step or a pin that reads back differently, with
 * err filled; "reset" when cfg has no kernel to boot; or whatever ended
 * it meanwhile), and the controller finishes it as any ended VM.
 */
int vm_reboot(struct vm *vm, const struct vmm_config *cfg, unsigned *reboots,
	      char *detail, size_t len, struct vmm_error *err);

/*
 * Debugging a hung guest: pauses the VM, prints each vCPU's PC, PSTATE,
 * stack, exception and timer registers and power state to out, resumes.
 * pinvm-vmm calls it on SIGQUIT. Controlling thread only.
 */
void vm_debug_dump(struct vm *vm, FILE *out);

#endif
