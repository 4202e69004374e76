/* From entry.S to the test: check we were booted by Multiboot (v1 or 2), install the IDT, run the test. */
#include "entry_state.h"
#include "guest.h"
#include "multiboot2.h"
#include "serial.h"
#include "trap.h"

const struct multiboot_info *boot_info;

void guest_main(void)
{
	static const struct multiboot_info no_info;

	boot_info = &no_info;
	serial_init();
	/* A Multiboot2 guest reads its information through multiboot2.h; boot_info stays empty. */
	if (entry_state.eax != MULTIBOOT_BOOTLOADER_MAGIC && !multiboot2_booted())
		fail("not booted by Multiboot: eax=%x", entry_state.eax);
	if (!multiboot2_booted())
		boot_info = (const struct multiboot_info *)entry_state.ebx;
	idt_init();
	test_main();
	pass();
}
