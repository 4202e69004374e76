/* 16550 UART model (register layout from the PC16550D data sheet). */
#include <hv/vuart.h>

#define REG_DATA 0 /* RBR/THR, or DLL with LCR.DLAB */
#define REG_IER 1  /* or DLM with LCR.DLAB */
#define REG_IIR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define LCR_DLAB 0x80
#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RX_DATA 0x01
#define IER_THRE 0x02
#define IIR_NO_INTERRUPT 0x01
#define IIR_THRE 0x02
#define IIR_RX_DATA 0x04
#define MCR_OUT2 0x08
#define IIR_FIFO_ENABLED 0xc0
#define MSR_DCD_DSR_CTS 0xb0
#define MCR_LOOPBACK 0x10
#define FCR_CLEAR_RX 0x02

void vuart_init(struct vuart *u, vuart_emit_t emit, void *ctx)
{
	*u = (struct vuart){ .lcr = 0x03, .dll = 1, .emit = emit, .ctx = ctx };
}

static bool vuart_access(struct vuart *u, uint16_t port, uint8_t bytes, bool in, uint32_t *value);

void vuart_connect_irq(struct vuart *u, vuart_irq_t irq, void *ctx)
{
	u->irq = irq;
	u->irq_ctx = ctx;
}

/* Interrupt sources by priority (PC16550D table 4): received data, then transmitter empty. */
static uint8_t vuart_iir(const struct vuart *u)
{
	if ((u->ier & IER_RX_DATA) && u->rx_count)
		return IIR_RX_DATA;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	return IIR_NO_INTERRUPT;
}

/* PC serial ports gate the interrupt line with MCR.OUT2. */
static void vuart_update_irq(struct vuart *u)
{
	bool level = vuart_iir(u) != IIR_NO_INTERRUPT && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOPBACK);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->irq)
		u->irq(u->irq_ctx, level);
}

static bool rx_push(struct vuart *u, uint8_t c)
{
	if (u->rx_count == VUART_RX_FIFO) {
		u->overrun = true;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count++) % VUART_RX_FIFO] = c;
	return true;
}

static uint8_t rx_pop(struct vuart *u)
{
	if (!u->rx_count) /* an empty FIFO: RBR still holds the last byte */
		return u->rx[(u->rx_head + VUART_RX_FIFO - 1) % VUART_RX_FIFO];
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (uint8_t)((u->rx_head + 1) % VUART_RX_FIFO);
	u->rx_count--;
	return c;
}

uint32_t vuart_receive(struct vuart *u, const char *buf, uint32_t len)
{
	uint32_t n = 0;

	/* In loopback the receiver is cut off from the line (PC16550D, MCR bit 4). */
	while (n < len && !(u->mcr & MCR_LOOPBACK) && rx_push(u, (uint8_t)buf[n]))
		n++;
	vuart_update_irq(u);
	return n;
}

void vuart_flush(struct vuart *u)
{
	if (u->len)
		u->emit(u->ctx, u->line, u->len);
	u->len = 0;
}

static void vuart_transmit(struct vuart *u, uint8_t c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		u->emit(u->ctx, u->line, u->len);
		u->len = 0;
		return;
	}
	if (u->len == VUART_LINE_MAX)
		vuart_flush(u); /* an over-long line continues on the next console line */
	/* Keep the console readable whatever the guest sends. */
	u->line[u->len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '.';
}

/* In loopback the modem outputs feed the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
static uint8_t loopback_msr(uint8_t mcr)
{
	return (uint8_t)(((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4));
}

static uint8_t vuart_read(struct vuart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:
		if (dlab)
			return u->dll;
		return rx_pop(u);
	case REG_IER:
		return dlab ? u->dlm : u->ier;
	case REG_IIR: {
		uint8_t iir = vuart_iir(u);
		if (iir == IIR_THRE)
			u->thre_pending = false; /* reading IIR acknowledges a THRE interrupt */
		return iir | IIR_FIFO_ENABLED;
	}
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR: {
		/* Output completes at once; reading LSR clears the error bits. */
		uint8_t lsr = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DATA_READY : 0) | (u->overrun ? LSR_OVERRUN : 0);
		u->overrun = false;
		return lsr;
	}
	case REG_MSR:
		return u->mcr & MCR_LOOPBACK ? loopback_msr(u->mcr) : MSR_DCD_DSR_CTS;
	default:
		return u->scr;
	}
}

static void vuart_write(struct vuart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:
		if (dlab) {
			u->dll = v;
		} else if (u->mcr & MCR_LOOPBACK) {
			rx_push(u, v); /* the transmitter feeds the receiver */
		} else {
			vuart_transmit(u, v);
		}
		u->thre_pending = true; /* the byte left at once: the holding register is empty again */
		break;
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else {
			/* Enabling the THRE interrupt with the transmitter empty raises it at once. */
			if ((v & IER_THRE) && !(u->ier & IER_THRE))
				u->thre_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case REG_IIR: /* FCR: only "clear the receive FIFO" matters to a model without timing */
		if (v & FCR_CLEAR_RX)
			u->rx_count = 0;
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & 0x1f;
		break;
	case REG_SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

bool vuart_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vuart *u = dev;
	bool done = vuart_access(u, port, bytes, in, value);

	vuart_update_irq(u);
	return done;
}

static bool vuart_access(struct vuart *u, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	/* Wider accesses reach consecutive registers, one byte each, as on an ISA bus. */
	for (unsigned i = 0; i < bytes; i++) {
		unsigned reg = (port + i) & 7;
		if (in) {
			*value &= ~(0xffu << (8 * i));
			*value |= (uint32_t)vuart_read(u, reg) << (8 * i);
		} else {
			vuart_write(u, reg, (uint8_t)(*value >> (8 * i)));
		}
	}
	return true;
}
