/* From entry.S to the test: check we were booted by Multiboot, install the IDT, run the test. */
#include "entry_state.h"
#include "guest.h"
#include "serial.h"
#include "trap.h"

const struct multiboot_info *boot_info;

void guest_main(void)
{
	static const struct multiboot_info no_info;

	boot_info = &no_info;
	serial_init();
	if (entry_state.eax != MULTIBOOT_BOOTLOADER_MAGIC)
		fail("not booted by Multiboot: eax=%x", entry_state.eax);
	boot_info = (const struct multiboot_info *)entry_state.ebx;
	idt_init();
	test_main();
	pass();
}
