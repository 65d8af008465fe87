/*
 * The console: a 16550 UART (uart_16550.c) at a fixed MMIO address, its
 * interrupt an SPI of the GIC driven with KVM_IRQ_LINE, described in the
 * device tree as "ns16550a" and chosen as /chosen/stdout-path. Transmitted
 * bytes go to out_fd (borrowed) as they are written; with log_limit, the
 * file is kept to about that many bytes on disk (console_log.h).
 */
#ifndef PINVM_VMM_CONSOLE_UART_H
#define PINVM_VMM_CONSOLE_UART_H

#include "uart_16550.h"
#include "vmm_error.h"

#include <stdint.h>

struct vm;

int console_uart_create(struct vm *vm, uint64_t base, unsigned spi, int out_fd,
			uint64_t log_limit, struct vmm_error *err);

/*
 * The UART model of vm's console for a snapshot, and back. restore also
 * drives the SPI to the saved level once (KVM_IRQ_LINE is idempotent), so
 * KVM's line and the model agree. Controlling thread, vCPUs not running.
 */
void console_uart_save(struct vm *vm, struct uart_16550_state *st);
int console_uart_restore(struct vm *vm, const struct uart_16550_state *st);

#endif
