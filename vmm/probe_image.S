/*
 * The periodic probe guest: an arm64 Image (the boot protocol's 64-byte
 * header) that pinvm-vmm boots like a Linux kernel, so it can be paused,
 * snapshotted and restored like one. On vCPU 0 it makes the SMCCC calls of
 * the table at probe_image_table ({u64 count; {u64 x0, x1}[count]}, filled
 * by probe_image_write()) once a second, forever, and prints each round on
 * the 16550 console:
 *
 *   pinvm-probe-round R
 *   pinvm-probe R I 0xFUNCTION_ID 0xX0      (one line per call I)
 *   pinvm-probe-end R
 *
 * R counts from 1; the second is measured on the guest's virtual counter
 * (CNTVCT_EL0 against CNTFRQ_EL0), so a restored probe keeps its pace.
 * Between rounds it sleeps in WFI until its virtual timer fires (the timer's
 * PPI enabled in vCPU 0's GICv3 redistributor, PSTATE.I still masked: WFI
 * wakes for the pending interrupt, which is never taken). A probe that spun
 * instead kept a host CPU busy for nothing, and in the emulated lab starved
 * the guests beside it. Where the CPU has no GIC system registers it spins.
 * MMU off, no interrupts taken, position independent. State lives in
 * x19-x28, which SMCCC calls preserve.
 *
 * With probe_image_wmem (a u64 before the table) set to N bytes, the
 * guest also writes memory while it waits between rounds: one u64 per
 * 4 KiB page, page after page, over [RAM + 16 MiB, RAM + 16 MiB + N),
 * round and round: a working set of N bytes that stays dirty, for the
 * live-migration benchmark.
 *
 * With probe_image_tlat_rounds (two u64s before probe_image_wmem:
 * period in microseconds, then rounds) set to N, the guest first measures
 * how late its virtual timer wakes it, N times (issue 16):
 *
 *   pinvm-timer-start FREQ PERIOD_TICKS    (counter Hz, the period armed)
 *   pinvm-timer I LATE_TICKS               (one line per round)
 *   pinvm-timer-end
 *
 * Each round reads CNTVCT_EL0, arms CNTV_CVAL_EL0 a period later, waits
 * in WFI until the counter passed it, and prints how far past it was on
 * waking: the interrupt's delivery and the vCPU's return to the guest,
 * whatever runs it (pinvm-vmm, or the floor, tests/bench/kvm_timer_floor.c).
 * The printing comes after the reading, outside the measured interval.
 */
#include "probe_layout.h"

	.text
	.balign 8
	.global probe_image_start
	.global probe_image_end
	.global probe_image_table
probe_image_start:
	b	entry			/* code0 */
	.word	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	probe_image_end - probe_image_start	/* image_size */
	.quad	0xa			/* flags: LE, 4 KiB pages, anywhere */
	.quad	0, 0, 0			/* res2..res4 */
	.ascii	"ARM\x64"		/* magic */
	.word	0			/* res5 */

entry:
	movz	x28, #0x0100, lsl #16	/* MACHINE_UART_BASE (probe.c checks) */
	mrs	x27, cntfrq_el0
	bl	timer_irq_setup
	bl	timer_latency
	mov	x26, #1			/* round */
round:
	adr	x0, s_round
	bl	puts
	mov	x0, x26
	bl	putdec
	bl	newline
	adr	x19, probe_image_table
	ldr	x20, [x19], #8		/* count */
	mov	x21, #0			/* index */
call:
	cmp	x21, x20
	b.hs	done
	ldp	x0, x1, [x19], #16
	mov	x22, x0
	mov	x2, xzr
	mov	x3, xzr
	hvc	#0
	mov	x23, x0
	adr	x0, s_call
	bl	puts
	mov	x0, x26
	bl	putdec
	mov	x0, #' '
	bl	putc
	mov	x0, x21
	bl	putdec
	mov	x0, #' '
	bl	putc
	mov	x0, x22
	bl	puthex
	mov	x0, #' '
	bl	putc
	mov	x0, x23
	bl	puthex
	bl	newline
	add	x21, x21, #1
	b	call
done:
	adr	x0, s_end
	bl	puts
	mov	x0, x26
	bl	putdec
	bl	newline
	/* The writer's registers: x19-x21 are free until the next round. */
	movz	x19, #0x8100, lsl #16	/* PROBE_RAM_BASE + 16 MiB */
	adr	x20, probe_image_wmem
	ldr	x20, [x20]
	mov	x21, #0			/* the next page to write */
	isb
	mrs	x24, cntvct_el0
	/* No writer and a timer interrupt that wakes WFI: sleep a second. */
	cbnz	x20, 1f
	cbz	x18, 1f
	add	x0, x24, x27
	msr	cntv_cval_el0, x0
	mov	x0, #1			/* CNTV_CTL: ENABLE, IMASK clear */
	msr	cntv_ctl_el0, x0
	isb
3:	wfi
	isb
	mrs	x25, cntvct_el0
	sub	x25, x25, x24
	cmp	x25, x27
	b.lo	3b
	/* The line stays high until the next round moves CVAL: mask it. */
	mov	x0, #3			/* ENABLE, IMASK */
	msr	cntv_ctl_el0, x0
	isb
	add	x26, x26, #1
	b	round
1:	isb
	mrs	x25, cntvct_el0
	cbz	x20, 2f
	str	x25, [x19, x21]
	add	x21, x21, #4096
	cmp	x21, x20
	csel	x21, xzr, x21, hs
2:	sub	x25, x25, x24
	cmp	x25, x27
	b.lo	1b
	add	x26, x26, #1
	b	round

/*
 * timer_latency: the rounds described above, when asked for and the timer
 * can wake WFI (x18). Clobbers x0-x5, x19-x25.
 */
timer_latency:
	mov	x25, x30
	adr	x0, probe_image_tlat_us
	ldp	x19, x20, [x0]		/* period (us), rounds */
	cbz	x20, 9f
	cbz	x18, 9f
	mul	x19, x19, x27		/* period in counter ticks */
	movz	x0, #0x4240
	movk	x0, #0xf, lsl #16	/* 1000000 */
	udiv	x19, x19, x0
	adr	x0, s_tlat_start
	bl	puts
	mov	x0, x27
	bl	putdec
	mov	x0, #' '
	bl	putc
	mov	x0, x19
	bl	putdec
	bl	newline
	mov	x21, #0			/* round */
1:	isb
	mrs	x22, cntvct_el0
	add	x22, x22, x19		/* the deadline */
	msr	cntv_cval_el0, x22
	mov	x0, #1			/* ENABLE, IMASK clear */
	msr	cntv_ctl_el0, x0
	isb
2:	wfi
	isb
	mrs	x23, cntvct_el0
	cmp	x23, x22
	b.lo	2b
	mov	x0, #3			/* ENABLE, IMASK: the line stays high */
	msr	cntv_ctl_el0, x0
	isb
	sub	x24, x23, x22
	adr	x0, s_tlat
	bl	puts
	mov	x0, x21
	bl	putdec
	mov	x0, #' '
	bl	putc
	mov	x0, x24
	bl	putdec
	bl	newline
	add	x21, x21, #1
	cmp	x21, x20
	b.lo	1b
	adr	x0, s_tlat_end
	bl	puts
	bl	newline
9:	mov	x30, x25
	ret

/*
 * timer_irq_setup: lets the virtual timer's interrupt (PPI 27) wake WFI.
 * Sets x18 to 1 when it did, 0 where the CPU has no GIC system registers
 * (ID_AA64PFR0_EL1.GIC). The distributor forwards group 1; vCPU 0's
 * redistributor (the lowest frame below the distributor, found by its
 * GICR_TYPER processor number, scanning down so that no access leaves the
 * region pinvm-vmm gave KVM) enables the PPI in group 1; the CPU interface
 * lets every priority through. Clobbers x0-x3.
 */
timer_irq_setup:
	mov	x18, #0
	mrs	x0, id_aa64pfr0_el1
	ubfx	x0, x0, #24, #4
	cbz	x0, 9f
	mrs	x0, icc_sre_el1
	orr	x0, x0, #1		/* SRE: the system register interface */
	msr	icc_sre_el1, x0
	isb
	mrs	x0, icc_sre_el1
	tbz	x0, #0, 9f
	movz	x1, #0x3fff, lsl #16	/* MACHINE_GIC_DIST_BASE (probe.c checks) */
	mov	w0, #0x12		/* GICD_CTLR: ARE, EnableGrp1 */
	str	w0, [x1]
	mov	x2, x1
1:	sub	x2, x2, #0x20000	/* MACHINE_GIC_REDIST_SIZE (probe.c checks) */
	ldr	x0, [x2, #8]		/* GICR_TYPER */
	ubfx	x0, x0, #8, #16		/* Processor_Number */
	cbnz	x0, 1b
	add	x2, x2, #0x10000	/* the SGI/PPI frame */
	mov	w0, #0xffffffff
	str	w0, [x2, #0x80]		/* GICR_IGROUPR0: group 1 */
	mov	w0, #(1 << 27)
	str	w0, [x2, #0x100]	/* GICR_ISENABLER0: the virtual timer */
	mov	x0, #0xff
	msr	icc_pmr_el1, x0
	mov	x0, #1
	msr	icc_igrpen1_el1, x0
	isb
	mov	x18, #1
9:	ret

/* putc(x0): one byte to the UART's THR. Clobbers nothing else. */
putc:
	strb	w0, [x28]
	ret

newline:
	mov	x0, #'\n'
	strb	w0, [x28]
	ret

/* puts(x0): a NUL-terminated string. Clobbers x0, x1. */
puts:
	mov	x1, x0
1:	ldrb	w0, [x1], #1
	cbz	w0, 2f
	strb	w0, [x28]
	b	1b
2:	ret

/* puthex(x0): "0x" and the value, no leading zeros. Clobbers x0-x4. */
puthex:
	mov	x1, x0
	mov	x0, #'0'
	strb	w0, [x28]
	mov	x0, #'x'
	strb	w0, [x28]
	mov	x2, #60			/* shift */
	mov	x3, #0			/* printed anything yet */
1:	lsr	x4, x1, x2
	and	x4, x4, #0xf
	cbnz	x4, 2f
	cbnz	x3, 2f
	cbz	x2, 2f			/* the last digit always prints */
	b	3f
2:	mov	x3, #1
	cmp	x4, #10
	add	x0, x4, #'0'
	add	x4, x4, #('a' - 10)
	csel	x0, x4, x0, hs
	strb	w0, [x28]
3:	cbz	x2, 4f
	sub	x2, x2, #4
	b	1b
4:	ret

/* putdec(x0): unsigned decimal, up to 16 digits (collected 4 bits each
 * in x2, last digit first). Clobbers x0-x5. */
putdec:
	mov	x1, x0
	mov	x2, #0			/* digits, 4 bits each, reversed */
	mov	x3, #0			/* count */
	mov	x5, #10
1:	udiv	x4, x1, x5
	msub	x0, x4, x5, x1		/* x0 = x1 % 10 */
	lsl	x2, x2, #4
	orr	x2, x2, x0
	add	x3, x3, #1
	mov	x1, x4
	cbnz	x1, 1b
2:	and	x0, x2, #0xf		/* most significant digit first */
	add	x0, x0, #'0'
	strb	w0, [x28]
	lsr	x2, x2, #4
	sub	x3, x3, #1
	cbnz	x3, 2b
	ret

s_round:
	.asciz	"pinvm-probe-round "
s_call:
	.asciz	"pinvm-probe "
s_end:
	.asciz	"pinvm-probe-end "
s_tlat_start:
	.asciz	"pinvm-timer-start "
s_tlat:
	.asciz	"pinvm-timer "
s_tlat_end:
	.asciz	"pinvm-timer-end"

	.balign 8
	.global probe_image_tlat_us
probe_image_tlat_us:
	.quad	0
probe_image_tlat_rounds:
	.quad	0
	.global probe_image_wmem
probe_image_wmem:
	.quad	0
probe_image_table:
	.quad	0
	.fill	2 * PROBE_MAX_CALLS, 8, 0
probe_image_end:
	.section .note.GNU-stack,"",%progbits
