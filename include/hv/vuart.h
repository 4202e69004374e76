/* A guest-visible 16550 with what guests use for a console: transmit, a 16-byte receive FIFO fed
 * by the operator's input, line status, scratch, interrupts, and the configuration registers kept
 * as written. Pure logic: output goes to a callback. */
#ifndef HV_VUART_H
#define HV_VUART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VUART_LINE_MAX 160
#define VUART_RX_FIFO 16

/* Receives one line of guest output, without its newline. */
typedef void (*vuart_emit_t)(void *ctx, const char *line, size_t len);
/* The UART's interrupt output (OUT2-gated as on PC serial ports) changed level. */
typedef void (*vuart_irq_t)(void *ctx, bool level);

struct vuart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t rx[VUART_RX_FIFO];
	uint8_t rx_head, rx_count;
	bool overrun; /* LSR.OE: a byte arrived with the FIFO full; cleared by reading LSR */
	bool thre_pending; /* transmitter-empty interrupt waiting to be seen in IIR */
	bool irq_level;
	vuart_irq_t irq;
	void *irq_ctx;
	char line[VUART_LINE_MAX];
	uint32_t len;
	vuart_emit_t emit;
	void *ctx;
};

void vuart_init(struct vuart *u, vuart_emit_t emit, void *ctx);
/* Connects the interrupt output (none until called). */
void vuart_connect_irq(struct vuart *u, vuart_irq_t irq, void *ctx);
/* ioport_handler_t for the 8 ports of COM1; the register is port & 7. */
bool vuart_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value);
/* Bytes arriving on the receive line; returns how many fit (the rest is an overrun, as on the wire). */
uint32_t vuart_receive(struct vuart *u, const char *buf, uint32_t len);
/* Emits a partial line (when the VM stops). */
void vuart_flush(struct vuart *u);

#endif
