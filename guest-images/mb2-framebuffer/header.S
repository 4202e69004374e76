/* A Multiboot2 header with a required framebuffer tag (Multiboot2 spec 3.1.10): hv, which gives a
 * VM no framebuffer, must refuse to load this kernel and say why. */
#include "multiboot2.h"

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MULTIBOOT2_HEADER_MAGIC
	.long MULTIBOOT2_ARCHITECTURE_I386
	.long mb2_header_end - mb2_header
	.long -(MULTIBOOT2_HEADER_MAGIC + MULTIBOOT2_ARCHITECTURE_I386 + (mb2_header_end - mb2_header))

	.balign 8
	.short MULTIBOOT2_HEADER_TAG_FRAMEBUFFER, 0
	.long 20
	.long 1024, 768, 32

	.balign 8
	.short MULTIBOOT2_HEADER_TAG_END, 0
	.long 8
mb2_header_end:
