#include "uart_16550.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Register bits, as in the 16550A data sheet (and Linux serial_reg.h). */
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_MASK 0x0f
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void uart_16550_init(struct uart_16550 *u, int out_fd,
		     void (*set_irq)(void *opaque, bool level), void *irq_opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->set_irq = set_irq;
	u->irq_opaque = irq_opaque;
	u->lcr = 0x03; /* 8N1 */
	u->mcr = MCR_OUT2;
}

void uart_16550_reset(struct uart_16550 *u)
{
	bool was_high;

	pthread_mutex_lock(&u->lock);
	was_high = u->irq_level;
	u->ier = u->scr = u->dll = u->dlm = u->fcr = 0;
	u->lcr = 0x03;
	u->mcr = MCR_OUT2;
	u->thre_pending = u->irq_level = false;
	/* A reset guest starts with nothing typed at the old one. */
	u->rx_head = u->rx_count = 0;
	u->bl_head = u->bl_count = 0;
	pthread_mutex_unlock(&u->lock);
	if (was_high && u->set_irq)
		u->set_irq(u->irq_opaque, false);
}

void uart_16550_destroy(struct uart_16550 *u)
{
	pthread_mutex_destroy(&u->lock);
}

/* The highest-priority pending interrupt, as IIR bits 0-3. */
static uint8_t pending_iir(const struct uart_16550 *u)
{
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	return IIR_NO_INT;
}

static void update_irq(struct uart_16550 *u)
{
	bool level = pending_iir(u) != IIR_NO_INT;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->set_irq)
		u->set_irq(u->irq_opaque, level);
}

static unsigned fifo_depth(const struct uart_16550 *u)
{
	return (u->fcr & FCR_ENABLE_FIFO) ? UART_16550_FIFO : 1;
}

/* Moves backlog bytes up while the FIFO has room. */
static void refill(struct uart_16550 *u)
{
	while (u->bl_count && u->rx_count < fifo_depth(u)) {
		u->rx_fifo[(u->rx_head + u->rx_count) % UART_16550_FIFO] = u->backlog[u->bl_head];
		u->rx_count++;
		u->bl_head = (u->bl_head + 1) % UART_16550_BACKLOG;
		u->bl_count--;
	}
}

static void transmit(struct uart_16550 *u, uint8_t c)
{
	ssize_t n;

	if (u->mcr & MCR_LOOP) {
		/* The shift register overwrites the newest byte of a full FIFO
		 * (an overrun); loopback is a driver's self-test only. */
		if (u->rx_count < fifo_depth(u))
			u->rx_count++;
		u->rx_fifo[(u->rx_head + u->rx_count - 1) % UART_16550_FIFO] = c;
		return;
	}
	if (u->out_fd < 0)
		return;
	do
		n = write(u->out_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1) {
		u->tx_bytes++;
		if (u->tx_hook)
			u->tx_hook(u->irq_opaque, u->tx_bytes);
	}
	else if (!u->tx_errno)
		u->tx_errno = n < 0 ? errno : EIO;
}

static uint8_t modem_status(const struct uart_16550 *u)
{
	uint8_t msr = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (u->mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

uint8_t uart_16550_read(struct uart_16550 *u, unsigned offset)
{
	uint8_t v = 0;

	pthread_mutex_lock(&u->lock);
	switch (offset) {
	case UART_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
		} else if (u->rx_count) {
			v = u->rx_fifo[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_16550_FIFO;
			u->rx_count--;
			refill(u);
		}
		break;
	case UART_IER_DLM:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR:
		v = pending_iir(u);
		/* Reading IIR while it names THRE acknowledges that interrupt. */
		if (v == IIR_THRI)
			u->thre_pending = false;
		if (u->fcr & FCR_ENABLE_FIFO)
			v |= IIR_FIFO_ENABLED;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		break;
	case UART_MSR:
		v = modem_status(u);
		break;
	case UART_SCR:
		v = u->scr;
		break;
	default:
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

void uart_16550_write(struct uart_16550 *u, unsigned offset, uint8_t value)
{
	pthread_mutex_lock(&u->lock);
	switch (offset) {
	case UART_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			u->dll = value;
			break;
		}
		transmit(u, value);
		/* The byte left at once: THR is empty again. */
		u->thre_pending = true;
		break;
	case UART_IER_DLM:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
			break;
		}
		/* Enabling the THRE interrupt with THR empty raises it. */
		if ((value & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		u->ier = value & IER_MASK;
		break;
	case UART_IIR_FCR:
		/* Reset bits self-clear. Clearing the receive FIFO drops what
		 * the guest was given, not the host's backlog behind it. */
		if ((value & FCR_CLEAR_RCVR) || ((value ^ u->fcr) & FCR_ENABLE_FIFO))
			u->rx_head = u->rx_count = 0;
		u->fcr = value & FCR_ENABLE_FIFO;
		refill(u);
		break;
	case UART_LCR:
		u->lcr = value;
		break;
	case UART_MCR:
		u->mcr = value & 0x1f;
		break;
	case UART_SCR:
		u->scr = value;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

void uart_16550_save(struct uart_16550 *u, struct uart_16550_state *st)
{
	pthread_mutex_lock(&u->lock);
	*st = (struct uart_16550_state){
		.ier = u->ier, .lcr = u->lcr, .mcr = u->mcr, .scr = u->scr,
		.dll = u->dll, .dlm = u->dlm, .fcr = u->fcr,
		.rbr = u->rx_count ? u->rx_fifo[u->rx_head] : 0,
		.thre_pending = u->thre_pending, .rx_ready = u->rx_count > 0,
		.irq_level = u->irq_level, .tx_bytes = u->tx_bytes,
	};
	pthread_mutex_unlock(&u->lock);
}

void uart_16550_restore(struct uart_16550 *u, const struct uart_16550_state *st)
{
	pthread_mutex_lock(&u->lock);
	u->ier = st->ier;
	u->lcr = st->lcr;
	u->mcr = st->mcr;
	u->scr = st->scr;
	u->dll = st->dll;
	u->dlm = st->dlm;
	u->fcr = st->fcr;
	u->rx_head = 0;
	u->rx_count = st->rx_ready ? 1 : 0;
	u->rx_fifo[0] = st->rbr;
	u->bl_head = u->bl_count = 0;
	u->thre_pending = st->thre_pending;
	u->irq_level = st->irq_level;
	u->tx_bytes = st->tx_bytes;
	pthread_mutex_unlock(&u->lock);
}

int uart_16550_receive(struct uart_16550 *u, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&u->lock);
	if (len > UART_16550_BACKLOG - u->bl_count) {
		pthread_mutex_unlock(&u->lock);
		return -EAGAIN;
	}
	for (size_t i = 0; i < len; i++) {
		u->backlog[(u->bl_head + u->bl_count) % UART_16550_BACKLOG] = data[i];
		u->bl_count++;
	}
	refill(u);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

size_t uart_16550_rx_pending(struct uart_16550 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->rx_count + u->bl_count;
	pthread_mutex_unlock(&u->lock);
	return n;
}
