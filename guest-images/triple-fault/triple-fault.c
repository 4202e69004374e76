/* A triple fault: with an empty IDT, INT3 cannot be delivered (#GP), nor can that #GP (#DF), nor
 * the #DF, so the CPU shuts down. What follows is the platform's business: QEMU -no-reboot exits,
 * hv stops the VM and reports a triple fault. */
#include "guest.h"
#include "serial.h"

const char guest_name[] = "triple-fault";

void test_main(void)
{
	static const struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	printf("triple fault next\n");
	/* The shutdown may end the platform before a UART that models transmit time sent the line. */
	serial_flush();
	__asm__ volatile("lidt %0\n\tint3" ::"m"(empty_idt));
	fail("still running after a triple fault");
}
