/*
 * The saved state of a microVM: what pinvm-vmm writes as vm.json in a
 * snapshot directory and reads back to restore it (docs/snapshot-format.md
 * section 1 is the contract; guest RAM is the separate mem.raw).
 *
 * This file is the data model and its JSON form only: no KVM, builds
 * everywhere, so pinvmd, the unit tests and the fuzz target can parse it.
 * vm.json comes from outside (pinvmd imports archives), so the decoder
 * checks everything and names the offending key; it never trusts a size.
 *
 * Ownership: a struct vm_state owns every array it points to;
 * vm_state_free() releases them. Not locked: one thread at a time.
 */
#ifndef PINVM_VMM_VM_STATE_H
#define PINVM_VMM_VM_STATE_H

#include "fw_pin.h"
#include "smccc_filter.h"
#include "uart_16550.h"
#include "vmm_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define VM_STATE_FORMAT 1
#define VM_STATE_MAX_REGS 4096u     /* per vCPU; KVM lists a few hundred */
#define VM_STATE_MAX_REG_BYTES 256u /* SVE Z registers at 2048 bits */
#define VM_STATE_MAX_GIC_REGS 65536u
#define VM_STATE_RELEASE_LEN 65

/* The size of a register, from its KVM id (KVM_REG_SIZE_MASK); 0 if
 * larger than VM_STATE_MAX_REG_BYTES. */
size_t vm_state_reg_size(uint64_t id);

/* One KVM_GET_REG_LIST register: bytes at data + off, size from the id. */
struct vm_state_reg {
	uint64_t id;
	size_t off;
};

struct vm_state_vcpu {
	uint32_t mp_state;   /* KVM_MP_STATE_* */
	uint64_t mpidr;
	struct vm_state_reg *regs; /* ascending ids */
	size_t nregs;
	uint8_t *data;       /* the values, memory order, back to back */
	size_t data_len;
};

/* One vGIC device attribute access (KVM_{GET,SET}_DEVICE_ATTR), kept in
 * the order a restore must replay them (gic_state.c). */
struct vm_state_gic_reg {
	uint32_t group;
	uint64_t attr;
	uint64_t value; /* u32 or u64, as the group takes */
};

struct vm_state {
	char kernel_release[VM_STATE_RELEASE_LEN];
	unsigned vcpus;
	uint64_t memory_mib;
	uint64_t ram_base;
	uint64_t vcpu_features; /* features[0] of vCPU 0 */
	char gic_version[4];    /* "v3" or "v2" */
	unsigned gic_nr_irqs;
	struct vm_state_gic_reg *gic_regs;
	size_t ngic_regs;
	struct uart_16550_state uart; /* uart.tx_bytes is "console_offset" */
	uint64_t cntvct;        /* guest virtual counter when paused */
	uint64_t cntfrq;
	struct vm_state_vcpu *vcpu; /* vcpus entries */
	struct fw_pin *pins;        /* the VM's pins, as written */
	struct fw_pin *readback;    /* vCPU 0's readbacks, pins' order */
	size_t npins;
	struct smccc_range *smccc_deny;
	size_t nsmccc_deny;
};

void vm_state_free(struct vm_state *st);

/* Adds a register to v (copying size bytes of value); 0 or -ENOMEM. */
int vm_state_vcpu_add(struct vm_state_vcpu *v, uint64_t id, const void *value);
/* A pointer to the register's bytes, or NULL if v does not hold id. */
const uint8_t *vm_state_vcpu_find(const struct vm_state_vcpu *v, uint64_t id);

/* A new reference, or NULL when out of memory. */
json_t *vm_state_to_json(const struct vm_state *st);

/*
 * Fills *st (zeroed first) from obj. On failure returns -EINVAL (or
 * -ENOMEM), leaves nothing allocated, and err (step "vm.json") names the
 * key, e.g. "vcpu[1].regs[7].id: not ascending".
 */
int vm_state_from_json(const json_t *obj, struct vm_state *st,
		       struct vmm_error *err);

/* vm.json in dir: load (-ENOENT etc. with err) / save atomically. */
int vm_state_load(const char *dir, struct vm_state *st, struct vmm_error *err);
int vm_state_save(const struct vm_state *st, const char *dir,
		  struct vmm_error *err);

#endif
