/*
 * The error buffer of the microVM engine and of the pinvm-vmm process.
 *
 * Functions that can fail return 0 or a negative errno and, on failure,
 * fill a caller-owned struct vmm_error: which step failed, a one-line
 * detail, the errno, and the firmware register to blame when there is one.
 * The struct holds no pointers, so it can be copied, zeroed, or ignored.
 */
#ifndef PINVM_VMM_ERROR_H
#define PINVM_VMM_ERROR_H

#include <stdbool.h>
#include <stdint.h>

struct vmm_error {
	char step[48];     /* e.g. "KVM_CREATE_VM", "config", "pin" */
	char detail[384];  /* one line, for humans */
	int errnum;        /* positive errno */
	bool has_register; /* reg names the register KVM refused */
	uint64_t reg;
};

/* Fills err (which may be NULL) and returns -errnum (-EIO if errnum is 0). */
int vmm_error_set(struct vmm_error *err, const char *step, int errnum,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * For a failed system call: takes errno (EIO if it is 0), writes
 * "<step>: <strerror>" as the detail and returns -errno.
 */
int vmm_error_sys(struct vmm_error *err, const char *step);

void vmm_error_clear(struct vmm_error *err);

#endif
