/* The 16550 register model: what Linux's 8250 driver relies on. */
#include "uart_16550.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct irq_log {
	bool level;
	int changes;
};

static void set_irq(void *opaque, bool level)
{
	struct irq_log *l = opaque;

	l->level = level;
	l->changes++;
}

struct fixture {
	struct uart_16550 u;
	struct irq_log irq;
	int pipe[2];
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (pipe(f.pipe) < 0)
		return -1;
	uart_16550_init(&f.u, f.pipe[1], set_irq, &f.irq);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart_16550_destroy(&f->u);
	close(f->pipe[0]);
	close(f->pipe[1]);
	return 0;
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	char buf[8] = { 0 };

	assert_int_equal(uart_16550_read(&f->u, UART_LSR) & 0x60, 0x60);
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 'o');
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 'k');
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ok");
	assert_int_equal(f->u.tx_bytes, 2);
	/* No interrupt enabled: the line never rose. */
	assert_int_equal(f->irq.changes, 0);
}

static void test_divisor_latch(void **state)
{
	struct fixture *f = *state;
	char c;

	uart_16550_write(&f->u, UART_LCR, 0x83); /* DLAB */
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 0x01);
	uart_16550_write(&f->u, UART_IER_DLM, 0x00);
	assert_int_equal(uart_16550_read(&f->u, UART_RBR_THR_DLL), 0x01);
	uart_16550_write(&f->u, UART_LCR, 0x03);
	assert_int_equal(uart_16550_read(&f->u, UART_IER_DLM), 0);
	assert_int_equal(f->u.tx_bytes, 0); /* the DLL write was no byte */
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 'x');
	assert_int_equal(read(f->pipe[0], &c, 1), 1);
	assert_int_equal(c, 'x');
}

/* Linux's THRE test in serial8250_do_startup(): enabling THRI with THR
 * empty must raise the interrupt, each time it is enabled. */
static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;

	uart_16550_write(&f->u, UART_IER_DLM, 0x02);
	assert_true(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x02);
	/* Reading IIR acknowledged it. */
	assert_false(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x01);
	uart_16550_write(&f->u, UART_IER_DLM, 0x00);
	uart_16550_write(&f->u, UART_IER_DLM, 0x02);
	assert_true(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x02);
	/* A byte written empties THR at once: the interrupt comes back. */
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 'a');
	assert_true(f->irq.level);
	/* Disabling THRI drops the line. */
	uart_16550_write(&f->u, UART_IER_DLM, 0x00);
	assert_false(f->irq.level);
}

static void test_fifo_bits_and_loopback(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0xc0, 0);
	uart_16550_write(&f->u, UART_IIR_FCR, 0x07);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0xc0, 0xc0);
	/* Loopback: THR goes to RBR, MCR bits show in MSR. */
	uart_16550_write(&f->u, UART_MCR, 0x1f);
	assert_int_equal(uart_16550_read(&f->u, UART_MSR) & 0xf0, 0xf0);
	uart_16550_write(&f->u, UART_IER_DLM, 0x01);
	uart_16550_write(&f->u, UART_RBR_THR_DLL, 0x5a);
	assert_int_equal(uart_16550_read(&f->u, UART_LSR) & 0x01, 0x01);
	assert_true(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x04);
	assert_int_equal(uart_16550_read(&f->u, UART_RBR_THR_DLL), 0x5a);
	assert_int_equal(uart_16550_read(&f->u, UART_LSR) & 0x01, 0);
	assert_false(f->irq.level);
	assert_int_equal(f->u.tx_bytes, 0);
	uart_16550_write(&f->u, UART_MCR, 0x08);
	assert_int_equal(uart_16550_read(&f->u, UART_MSR), 0xb0);
	uart_16550_write(&f->u, UART_SCR, 0x77);
	assert_int_equal(uart_16550_read(&f->u, UART_SCR), 0x77);
	assert_int_equal(uart_16550_read(&f->u, 9), 0);
}

/* Reads RBR while LSR says data is ready, as 8250's receive loop does. */
static size_t drain(struct uart_16550 *u, char *out, size_t max)
{
	size_t n = 0;

	while (n < max && (uart_16550_read(u, UART_LSR) & 0x01))
		out[n++] = (char)uart_16550_read(u, UART_RBR_THR_DLL);
	return n;
}

static void test_receive_without_fifo(void **state)
{
	struct fixture *f = *state;
	char got[8];

	/* No FIFO: one byte in RBR, the rest waits and moves up as it is read. */
	assert_int_equal(uart_16550_receive(&f->u, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(uart_16550_rx_pending(&f->u), 3);
	/* Data ready, but RDI is not enabled: no interrupt yet. */
	assert_int_equal(uart_16550_read(&f->u, UART_LSR) & 0x01, 0x01);
	assert_false(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x01);
	/* Enabling it with data waiting raises the line at once. */
	uart_16550_write(&f->u, UART_IER_DLM, 0x01);
	assert_true(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_IIR_FCR) & 0x0f, 0x04);
	assert_int_equal(uart_16550_read(&f->u, UART_RBR_THR_DLL), 'a');
	assert_true(f->irq.level); /* 'b' moved up */
	assert_int_equal(drain(&f->u, got, sizeof(got)), 2);
	assert_memory_equal(got, "bc", 2);
	assert_false(f->irq.level);
	assert_int_equal(uart_16550_read(&f->u, UART_LSR) & 0x01, 0);
	assert_int_equal(uart_16550_rx_pending(&f->u), 0);
	/* Nothing was transmitted by receiving. */
	assert_int_equal(f->u.tx_bytes, 0);
}

static void test_receive_fifo_depth_and_backlog(void **state)
{
	struct fixture *f = *state;
	uint8_t in[40], got[64];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i);
	uart_16550_write(&f->u, UART_IIR_FCR, 0x01); /* FIFO on */
	uart_16550_write(&f->u, UART_IER_DLM, 0x01);
	assert_int_equal(uart_16550_receive(&f->u, in, sizeof(in)), 0);
	assert_true(f->irq.level);
	/* The FIFO holds 16; the other 24 wait behind it. */
	assert_int_equal(f->u.rx_count, UART_16550_FIFO);
	assert_int_equal(f->u.bl_count, sizeof(in) - UART_16550_FIFO);
	/* A receiver reset drops the FIFO's bytes, not the host's backlog. */
	uart_16550_write(&f->u, UART_IIR_FCR, 0x03);
	assert_int_equal(uart_16550_rx_pending(&f->u), sizeof(in) - UART_16550_FIFO);
	assert_int_equal(drain(&f->u, (char *)got, sizeof(got)), sizeof(in) - UART_16550_FIFO);
	assert_memory_equal(got, in + UART_16550_FIFO, sizeof(in) - UART_16550_FIFO);
	assert_false(f->irq.level);

	/* In order, across FIFO and backlog, nothing lost. */
	assert_int_equal(uart_16550_receive(&f->u, in, sizeof(in)), 0);
	assert_int_equal(drain(&f->u, (char *)got, sizeof(got)), sizeof(in));
	assert_memory_equal(got, in, sizeof(in));
}

static void test_receive_full_backlog_refuses_whole(void **state)
{
	static uint8_t big[UART_16550_BACKLOG];
	struct fixture *f = *state;
	char c;

	memset(big, 'x', sizeof(big));
	/* One byte goes to RBR, so the backlog has room for exactly this. */
	assert_int_equal(uart_16550_receive(&f->u, big, sizeof(big)), 0);
	assert_int_equal(uart_16550_receive(&f->u, (const uint8_t *)"yz", 2), -EAGAIN);
	/* Refused means none of it: the pending count did not move. */
	assert_int_equal(uart_16550_rx_pending(&f->u), sizeof(big));
	assert_int_equal(uart_16550_receive(&f->u, (const uint8_t *)"y", 1), 0);
	/* The guest reads: room again. */
	c = (char)uart_16550_read(&f->u, UART_RBR_THR_DLL);
	assert_int_equal(c, 'x');
	assert_int_equal(uart_16550_receive(&f->u, (const uint8_t *)"z", 1), 0);
	/* A guest reset forgets what was typed at the old guest. */
	uart_16550_reset(&f->u);
	assert_int_equal(uart_16550_rx_pending(&f->u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_bits_and_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_without_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo_depth_and_backlog, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_receive_full_backlog_refuses_whole, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
