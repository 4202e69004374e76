/* PIT programming through the mode/command register 0x43 and channel 0 data port 0x40. */
#include "pit.h"
#include "io.h"

#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
#define PIT_CMD_CHANNEL0 (0u << 6)
#define PIT_CMD_LATCH (0u << 4)
#define PIT_CMD_LOBYTE_HIBYTE (3u << 4)
#define PIT_CMD_MODE0_TERMINAL_COUNT (0u << 1)
#define PIT_CMD_MODE2_RATE_GENERATOR (2u << 1)

void pit_start_periodic(unsigned hz)
{
	uint16_t divisor = (uint16_t)(PIT_FREQUENCY_HZ / hz);

	outb(PIT_COMMAND, PIT_CMD_CHANNEL0 | PIT_CMD_LOBYTE_HIBYTE | PIT_CMD_MODE2_RATE_GENERATOR);
	outb(PIT_CHANNEL0, divisor & 0xff);
	outb(PIT_CHANNEL0, divisor >> 8);
}

void pit_stop(void) { outb(PIT_COMMAND, PIT_CMD_CHANNEL0 | PIT_CMD_LOBYTE_HIBYTE | PIT_CMD_MODE0_TERMINAL_COUNT); }

uint16_t pit_read_count(void)
{
	outb(PIT_COMMAND, PIT_CMD_CHANNEL0 | PIT_CMD_LATCH);
	uint8_t lo = inb(PIT_CHANNEL0);
	uint8_t hi = inb(PIT_CHANNEL0);
	return (uint16_t)(hi << 8 | lo);
}
