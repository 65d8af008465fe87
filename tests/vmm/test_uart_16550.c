/* The 16550 register model: what Linux's 8250 driver relies on. */
#include "uart_16550.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_bits_and_loopback, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
