/*
 * The console: a 16550 UART (uart_16550.c) at a fixed MMIO address, its
 * interrupt an SPI of the GIC driven with KVM_IRQ_LINE, described in the
 * device tree as "ns16550a" and chosen as /chosen/stdout-path. Transmitted
 * bytes go to out_fd (borrowed) as they are written.
 */
#ifndef PINVM_VMM_CONSOLE_UART_H
#define PINVM_VMM_CONSOLE_UART_H

#include "vmm_error.h"

#include <stdint.h>

struct vm;

int console_uart_create(struct vm *vm, uint64_t base, unsigned spi, int out_fd,
			struct vmm_error *err);

#endif
