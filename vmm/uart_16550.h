/*
 * A 16550A UART as the guest sees it: eight byte-wide registers (reg-shift
 * 0), transmission that completes at once (THR is always empty again after
 * a write), and a receive path: bytes from the host (uart_16550_receive)
 * enter the receive FIFO (16 bytes when the guest enabled FIFOs with FCR,
 * else the one-byte holding register) and raise the received-data
 * interrupt; what does not fit waits in a backlog and moves up as the
 * guest reads RBR, so input is never dropped by the model. Loopback mode
 * feeds transmitted bytes to the same FIFO.
 *
 * This file is the register model only; it knows nothing of KVM or of the
 * device tree (console_uart.c wires it into a VM). The owner of the struct
 * supplies where transmitted bytes go and how the interrupt line is driven.
 *
 * Threading: every entry point takes the UART's own lock, so vCPU threads
 * may call it concurrently.
 */
#ifndef PINVM_VMM_UART_16550_H
#define PINVM_VMM_UART_16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define UART_16550_REGS 8
#define UART_16550_FIFO 16
/* Host input waiting for room in the FIFO: four full console POSTs. */
#define UART_16550_BACKLOG (16 * 1024)

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0 and 1). */
enum {
	UART_RBR_THR_DLL = 0,
	UART_IER_DLM = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

struct uart_16550 {
	pthread_mutex_t lock;
	int out_fd; /* borrowed; transmitted bytes are written here; -1 drops */
	void (*set_irq)(void *opaque, bool level); /* may be NULL */
	void *irq_opaque;                          /* borrowed */
	/* Called under the lock after each byte reached out_fd, with the new
	 * tx_bytes (the console log's bound, console_uart.c); may be NULL. */
	void (*tx_hook)(void *opaque, uint64_t tx_bytes);

	/* Everything below is guarded by lock. */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending; /* "transmitter holding register empty" interrupt */
	/* The receive FIFO (depth 1 without FCR's enable bit) and the host's
	 * input behind it, both rings. */
	uint8_t rx_fifo[UART_16550_FIFO];
	unsigned rx_head, rx_count;
	uint8_t backlog[UART_16550_BACKLOG];
	size_t bl_head, bl_count;
	bool irq_level;    /* what set_irq was last told */
	uint64_t tx_bytes; /* bytes written to out_fd */
	int tx_errno;      /* first write error, 0 if none */
};

/*
 * What a snapshot keeps of the model: the guest-visible registers, the
 * interrupt line and the console offset (tx_bytes). Not the fd, the
 * callback or tx_errno, which belong to the process, not the guest.
 */
struct uart_16550_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, rbr;
	bool thre_pending, rx_ready, irq_level;
	uint64_t tx_bytes;
};

/* Reset state. out_fd and the callback are borrowed, not closed later. */
void uart_16550_init(struct uart_16550 *u, int out_fd,
		     void (*set_irq)(void *opaque, bool level), void *irq_opaque);
void uart_16550_destroy(struct uart_16550 *u);
/* Power-on register values (a guest reset); the output fd and the byte
 * count stay, and a raised interrupt is lowered. */
void uart_16550_reset(struct uart_16550 *u);

/* One register access; offsets >= UART_16550_REGS read 0, writes vanish. */
uint8_t uart_16550_read(struct uart_16550 *u, unsigned offset);
void uart_16550_write(struct uart_16550 *u, unsigned offset, uint8_t value);

/*
 * Host input for the guest: all len bytes are queued (FIFO, then backlog)
 * and the received-data interrupt raised if enabled, or none is and
 * -EAGAIN says the backlog is too full (the guest has not read what it
 * was given; try later). 0 or -EAGAIN.
 */
int uart_16550_receive(struct uart_16550 *u, const uint8_t *data, size_t len);

/* Bytes received and not yet read by the guest (FIFO and backlog). */
size_t uart_16550_rx_pending(struct uart_16550 *u);

/*
 * Copies the model out / back in, under the lock. A snapshot keeps the
 * byte at the FIFO's head only (as the one-byte holding register it was
 * before FIFOs existed here); input typed and unread is not saved. restore does not call
 * set_irq: the interrupt controller's own state (restored separately)
 * already holds the line level; the caller re-asserts it once if needed.
 */
void uart_16550_save(struct uart_16550 *u, struct uart_16550_state *st);
void uart_16550_restore(struct uart_16550 *u, const struct uart_16550_state *st);

#endif
