#include "console_uart.h"

#include "console_log.h"
#include "fdt_build.h"
#include "gic.h"
#include "machine_layout.h"
#include "uart_16550.h"
#include "vm_internal.h"

#include <errno.h>
#include <libfdt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UART_CLOCK_HZ 1843200

struct console_uart {
	struct vm_device dev;
	struct uart_16550 uart;
	struct vm *vm;
	uint64_t base;
	unsigned spi;
	atomic_bool irq_error_logged;
	int out_fd;            /* borrowed */
	uint64_t log_limit;    /* console_log_trim's bound; 0: none */
	uint64_t trimmed_at;   /* tx_bytes at the last trim */
	bool trim_failed;      /* said once; the log then grows */
};

static void set_irq(void *opaque, bool level)
{
	struct console_uart *c = opaque;
	int ret = gic_set_spi(c->vm, c->spi, level);

	if (ret < 0 && !atomic_exchange(&c->irq_error_logged, true))
		fprintf(stderr, "pinvm-vmm: console: KVM_IRQ_LINE: %s\n",
			strerror(-ret));
}

/* Under the UART's lock: bounds the log once per grain written. */
static void tx_hook(void *opaque, uint64_t tx_bytes)
{
	struct console_uart *c = opaque;
	int ret;

	if (!c->log_limit || c->trim_failed || tx_bytes - c->trimmed_at < CONSOLE_LOG_GRAIN)
		return;
	c->trimmed_at = tx_bytes;
	ret = console_log_trim(c->out_fd, c->log_limit);
	if (ret < 0) {
		c->trim_failed = true;
		fprintf(stderr, "pinvm-vmm: console: the log cannot be bounded (%s); "
			"it grows\n", strerror(-ret));
	}
}

/* Byte-wide registers: the low byte of a wider access counts. */
static void mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct console_uart *c = opaque;

	memset(data, 0, len);
	*(uint8_t *)data = uart_16550_read(&c->uart, (unsigned)offset);
}

static void mmio_write(void *opaque, uint64_t offset, const void *data,
		       unsigned len)
{
	struct console_uart *c = opaque;

	(void)len;
	uart_16550_write(&c->uart, (unsigned)offset, *(const uint8_t *)data);
}

static const struct mmio_ops uart_ops = { .read = mmio_read, .write = mmio_write };

static int uart_fdt_node(struct vm_device *dev, struct fdt_ctx *ctx)
{
	struct console_uart *c = (struct console_uart *)dev;
	uint64_t reg[2] = { cpu_to_fdt64(c->base), cpu_to_fdt64(UART_16550_REGS) };
	char name[32];
	int ret;

	snprintf(name, sizeof(name), "uart@%llx", (unsigned long long)c->base);
	if ((ret = fdt_begin_node(ctx->fdt, name)) < 0 ||
	    (ret = fdt_property_string(ctx->fdt, "compatible", "ns16550a")) < 0 ||
	    (ret = fdt_property(ctx->fdt, "reg", reg, sizeof(reg))) < 0 ||
	    (ret = fdt_ctx_irq_spi(ctx, c->spi, FDT_IRQ_TYPE_LEVEL_HIGH)) < 0 ||
	    (ret = fdt_property_cell(ctx->fdt, "clock-frequency", UART_CLOCK_HZ)) < 0)
		return ret;
	if (!ctx->stdout_path[0])
		snprintf(ctx->stdout_path, sizeof(ctx->stdout_path), "/%s", name);
	return fdt_end_node(ctx->fdt);
}

static void uart_reset(struct vm_device *dev)
{
	uart_16550_reset(&((struct console_uart *)dev)->uart);
}

static void uart_destroy(struct vm_device *dev)
{
	struct console_uart *c = (struct console_uart *)dev;

	uart_16550_destroy(&c->uart);
	free(c);
}

int console_uart_create(struct vm *vm, uint64_t base, unsigned spi, int out_fd,
			uint64_t log_limit, struct vmm_error *err)
{
	struct console_uart *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return vmm_error_set(err, "console", ENOMEM, "out of memory");
	c->vm = vm;
	c->base = base;
	c->spi = spi;
	c->out_fd = out_fd;
	c->log_limit = log_limit;
	uart_16550_init(&c->uart, out_fd, set_irq, c);
	c->uart.tx_hook = tx_hook;
	if (log_limit && out_fd >= 0)
		(void)console_log_trim(out_fd, log_limit); /* a restored, longer log */
	ret = mmio_bus_register(&vm->bus, base, MACHINE_UART_SIZE, &uart_ops, c);
	if (ret < 0) {
		uart_destroy(&c->dev);
		return vmm_error_set(err, "console", -ret,
				     "MMIO range at 0x%llx: %s",
				     (unsigned long long)base, strerror(-ret));
	}
	c->dev.name = "console";
	c->dev.fdt_node = uart_fdt_node;
	c->dev.destroy = uart_destroy;
	c->dev.reset = uart_reset;
	vm_add_device(vm, &c->dev);
	vm->console = c;
	return 0;
}

void console_uart_save(struct vm *vm, struct uart_16550_state *st)
{
	uart_16550_save(&vm->console->uart, st);
}

int console_uart_restore(struct vm *vm, const struct uart_16550_state *st)
{
	struct console_uart *c = vm->console;

	uart_16550_restore(&c->uart, st);
	return gic_set_spi(vm, c->spi, st->irq_level);
}

int vm_console_input(struct vm *vm, const uint8_t *data, size_t len)
{
	return uart_16550_receive(&vm->console->uart, data, len);
}

size_t vm_console_pending(struct vm *vm)
{
	return uart_16550_rx_pending(&vm->console->uart);
}
