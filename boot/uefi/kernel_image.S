/*
 * The kernel, embedded so BOOTX64.EFI is the only file firmware needs. HV_ELF_PATH comes from
 * build.mk; the object is rebuilt whenever build/hv.elf changes.
 */
	.section .rodata
	.balign 4096
	.globl hv_kernel_image
hv_kernel_image:
	.incbin HV_ELF_PATH
	.globl hv_kernel_image_end
hv_kernel_image_end:

	.section .note.GNU-stack, "", @progbits
