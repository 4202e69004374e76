/* Never runs: hv refuses the kernel for its required framebuffer tag (see header.S); the
 * integration case checks the refusal message. */
#include "guest.h"

const char guest_name[] = "mb2-framebuffer";

void test_main(void) { fail("a kernel that requires a framebuffer was started"); }
