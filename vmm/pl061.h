/*
 * An ARM PrimeCell PL061 GPIO controller (8 lines), the register model
 * only: what the guest reads and writes, the input lines the VMM drives,
 * and the interrupt line that results. No KVM and no device tree here
 * (gpio_pl061.c wires it to the VM), so it is unit-tested natively.
 *
 * Threading: none inside; the caller serialises every call on one model
 * (gpio_pl061.c holds its mutex around each).
 */
#ifndef PINVM_VMM_PL061_H
#define PINVM_VMM_PL061_H

#include <stdbool.h>
#include <stdint.h>

#define PL061_REGS 0x1000u
#define PL061_LINES 8u

struct pl061 {
	uint8_t data;  /* what the guest wrote to output lines */
	uint8_t in;    /* levels the VMM drives on the lines */
	uint8_t dir;   /* 1: output */
	uint8_t is;    /* 1: level-sensitive interrupt, 0: edge */
	uint8_t ibe;   /* edge: 1 both edges */
	uint8_t iev;   /* 1: rising edge / high level */
	uint8_t ie;    /* interrupt enabled */
	uint8_t ris;   /* raw interrupt status */
	uint8_t afsel;
};

/* Reset state: every line an input, low, no interrupt. */
void pl061_reset(struct pl061 *g);

/* offset within PL061_REGS (word registers; other bytes read 0). */
uint32_t pl061_read(struct pl061 *g, uint32_t offset);
void pl061_write(struct pl061 *g, uint32_t offset, uint32_t value);

/* Drives input line (0..7) to level; edges latch per IS/IBE/IEV. */
void pl061_set_input(struct pl061 *g, unsigned line, bool level);

/* The interrupt output: some enabled interrupt is pending. */
bool pl061_irq(const struct pl061 *g);

#endif
