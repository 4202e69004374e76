/* Layout of the AP trampoline page (trampoline.S): code, then parameters the BSP fills in. */
#ifndef SMP_TRAMPOLINE_H
#define SMP_TRAMPOLINE_H

#define TRAMPOLINE_BASE 0x8000 /* startup IPI vector 0x08 */
#define TRAMP_PARAMS 0x80      /* offset of the parameter block in the page */
#define TRAMP_GDTR (TRAMP_PARAMS + 0)  /* 6 bytes: the BSP's SGDT */
#define TRAMP_STACK (TRAMP_PARAMS + 8) /* initial ESP */
#define TRAMP_ENTRY (TRAMP_PARAMS + 12) /* 32-bit entry point */
#define TRAMP_PARAMS_SIZE 16

#endif
