/*
 * The probe guest: bare-metal aarch64 code, copied by the VMM to the start
 * of guest RAM and entered at EL1 with the MMU off.
 *
 * It makes one SMCCC call per entry of a table the VMM placed at
 * RAM + PROBE_TABLE_OFFSET ({u64 count; {u64 x0, x1}[count]}) and reports
 * each call's x0 by a 64-bit store to PROBE_REPORT_BASE + 8 * index, which
 * reaches the VMM as a KVM_EXIT_MMIO. Then it asks PSCI for SYSTEM_OFF.
 * Position independent: only PC-relative and immediate addressing.
 */
#include "probe_layout.h"

	.text
	.balign 8
	.global probe_guest_start
	.global probe_guest_end
probe_guest_start:
	adr	x19, probe_guest_start
	add	x19, x19, #PROBE_TABLE_OFFSET
	ldr	x20, [x19], #8
	movz	x21, #(PROBE_REPORT_BASE >> 16), lsl #16
1:	cbz	x20, 2f
	ldp	x0, x1, [x19], #16
	mov	x2, xzr
	mov	x3, xzr
	hvc	#0
	str	x0, [x21]		/* no writeback: MMIO needs a valid syndrome */
	add	x21, x21, #8
	sub	x20, x20, #1
	b	1b
2:	movz	x0, #0x8400, lsl #16
	movk	x0, #0x0008		/* PSCI SYSTEM_OFF */
	hvc	#0
3:	wfi
	b	3b
probe_guest_end:
	.section .note.GNU-stack,"",%progbits
