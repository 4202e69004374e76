/* Virtual and physical layout of the kernel image; shared by C, assembly and the linker script. */
#ifndef HV_LAYOUT_H
#define HV_LAYOUT_H

/* The image is linked at KERNEL_VMA + KERNEL_LINK_PHYS; GRUB loads it at KERNEL_LINK_PHYS, the UEFI
 * loader anywhere 2 MiB aligned and maps it there. */
#define KERNEL_VMA 0xffffffff80000000
#define KERNEL_LINK_PHYS 0x200000
#define KERNEL_LINK_VMA (KERNEL_VMA + KERNEL_LINK_PHYS)

/* All of RAM is mapped write-back here; device registers are mapped uncached in the MMIO window. */
#define PHYS_MAP_BASE 0xffff800000000000
#define MMIO_MAP_BASE 0xffffc00000000000

#define PAGE_SIZE 4096
#define KERNEL_STACK_SIZE (16 * 1024)
#define IST_STACK_SIZE (8 * 1024)

#endif
